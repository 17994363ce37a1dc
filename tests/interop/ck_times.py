"""ListOffsets by timestamp with confluent-kafka's Consumer.offsets_for_times: records with
known create times map each probe time to the first offset at or after it; past the end
gives -1 (OFFSET_END).

usage: ck_times.py BOOTSTRAP TOPIC
"""
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from interop_common import create_topic, fail

if len(sys.argv) != 3:
    fail("usage: ck_times.py BOOTSTRAP TOPIC")
bootstrap, topic = sys.argv[1], sys.argv[2]
create_topic(bootstrap, topic, 1)
base = int(time.time() * 1000) - 7_200_000
p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "acks": "all"})
for i in range(30):
    p.produce(topic, value=f"r{i}".encode(), partition=0, timestamp=base + 1000 * i)
    if i % 5 == 4:
        if p.flush(20):
            fail("produce did not finish")
if p.flush(20):
    fail("produce did not finish")

c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{topic}-times", "enable.auto.commit": False})
for probe, want in [(0, 0), (1, 1), (1000, 1), (12_345, 13), (29_000, 29), (29_001, -1), (-10**9, 0)]:
    res = c.offsets_for_times([TopicPartition(topic, 0, base + probe)], 20)
    if res[0].error or res[0].offset != want:
        fail(f"time {probe:+}: expected offset {want}, got {res[0].offset} ({res[0].error})")
lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), 20)
if (lo, hi) != (0, 30):
    fail(f"watermarks {(lo, hi)}")
c.close()
print("OK confluent-kafka offsets_for_times", flush=True)
