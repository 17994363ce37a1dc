"""Reads every record of a topic with kafka-python (manual assignment, from the beginning)
and prints one JSON line per record: key, value, partition, headers, and the partition the
Java client's partitioner would choose for the key (kafka-python's murmur2 port)."""
import json
import sys
import time

from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner.default import murmur2

bootstrap, topic, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
parts = sorted(c.partitions_for_topic(topic) or [])
assert parts, "no partitions"
c.assign([TopicPartition(topic, p) for p in parts])
c.seek_to_beginning()
seen = 0
deadline = time.time() + 30
while seen < expected and time.time() < deadline:
    for tp, recs in c.poll(timeout_ms=500).items():
        for r in recs:
            key = r.key.decode() if r.key is not None else None
            java = (murmur2(r.key) & 0x7FFFFFFF) % len(parts) if r.key is not None else None
            print(json.dumps({
                "key": key,
                "value": r.value.decode() if r.value is not None else None,
                "partition": tp.partition,
                "java_partition": java,
                "headers": {k: v.decode() for k, v in (r.headers or [])},
            }))
            seen += 1
c.close()
