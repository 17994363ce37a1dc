"""Prints `topic retention.ms cleanup.policy` for each topic named, from DescribeConfigs.
usage: topic_configs.py BOOTSTRAP TOPIC..."""
import sys
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

admin = KafkaAdminClient(bootstrap_servers=sys.argv[1])
for topic in sys.argv[2:]:
    res = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    cfg = res["topic"][topic] if isinstance(res, dict) and "topic" in res else None
    if cfg is None:
        # Older result shapes: a list of responses with resources.
        entries = {}
        for r in res:
            for resource in r.resources:
                for c in resource[4]:
                    entries[c[0]] = c[1]
        print(topic, entries.get("retention.ms"), entries.get("cleanup.policy"))
    else:
        # kafka-python lists only non-default settings here; absent means the default.
        get = lambda k, d: cfg[k]["value"] if k in cfg else d
        print(topic, get("retention.ms", "default"), get("cleanup.policy", "delete"))
admin.close()
