"""A kafka-python consumer in a group: polls until its assignment has been stable for 3 s,
prints it with the number of records read per partition, then leaves the group."""
import json
import sys
import time

from kafka import KafkaConsumer

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
c = KafkaConsumer(
    topic,
    bootstrap_servers=bootstrap,
    group_id=group,
    auto_offset_reset="earliest",
    enable_auto_commit=False,
    session_timeout_ms=10000,
    heartbeat_interval_ms=1000,
)
got = {}
last = None
since = time.time()
deadline = time.time() + 45
while time.time() < deadline:
    for tp, recs in c.poll(timeout_ms=200).items():
        got[tp.partition] = got.get(tp.partition, 0) + len(recs)
    a = sorted(p.partition for p in c.assignment())
    if a != last:
        last, since = a, time.time()
    if a and time.time() - since > 3:
        break
print(json.dumps({"assigned": last, "records": got}))
sys.stdout.flush()
c.close()
