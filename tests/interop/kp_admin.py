"""kafka-python admin client: create a topic with 3 partitions and configs (retention.ms,
retention.bytes, segment.bytes, cleanup.policy, message.timestamp.type), check Metadata
shows 3 partitions, describe its configs (values and that they are topic overrides), delete
it, and check that it is gone. A bad config value must be refused.

usage: kp_admin.py BOOTSTRAP TOPIC
"""
import sys
import time

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import InvalidConfigurationError, KafkaError

from interop_common import fail

if len(sys.argv) != 3:
    fail("usage: kp_admin.py BOOTSTRAP TOPIC")
bootstrap, topic = sys.argv[1], sys.argv[2]
configs = {
    "retention.ms": "3600000",
    "retention.bytes": "1048576",
    "segment.bytes": "65536",
    "cleanup.policy": "compact",
    "message.timestamp.type": "LogAppendTime",
}
admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=20000)
admin.create_topics([NewTopic(topic, 3, 1, topic_configs=configs)])
if topic not in admin.list_topics():
    fail(f"{topic} not listed after create")
desc = admin.describe_topics([topic])
parts = desc[0]["partitions"]
if len(parts) != 3 or desc[0]["error_code"] != 0:
    fail(f"describe_topics: {desc}")

# Default filter: only the values that differ from the defaults (the topic overrides).
modified = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
modified = modified.get("topic", {}).get(topic)
if modified is None:
    fail(f"describe_configs returned nothing for {topic}")
for name, value in configs.items():
    entry = modified.get(name)
    if entry is None:
        fail(f"describe_configs lacks {name}: {sorted(modified)}")
    if entry["value"] != value:
        fail(f"{name}: described as {entry['value']!r}, created with {value!r}")
    if entry["config_source"] != "DYNAMIC_TOPIC_CONFIG":
        fail(f"{name}: config_source {entry['config_source']} is not a topic override")
extra = set(modified) - set(configs)
if extra:
    fail(f"describe_configs calls {sorted(extra)} modified, but they were not set")
everything = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all")
everything = everything["topic"][topic]
for name in ("max.message.bytes", "segment.ms", "delete.retention.ms"):
    if name not in everything:
        fail(f"describe_configs (all) lacks default {name}: {sorted(everything)}")

try:
    admin.create_topics([NewTopic(topic + "-bad", 1, 1, topic_configs={"retention.ms": "soon"})])
    fail("a bad config value was accepted")
except InvalidConfigurationError:
    pass
except KafkaError as e:
    fail(f"bad config refused with the wrong error: {e!r}")

admin.delete_topics([topic])
deadline = time.time() + 10
while topic in admin.list_topics():
    if time.time() > deadline:
        fail(f"{topic} still listed after delete")
    time.sleep(0.2)
admin.close()
print("OK kafka-python admin create/describe/delete", flush=True)
