"""ListOffsets by timestamp with kafka-python's offsets_for_times: records with known
create times (several batches, several records per batch) must map each probe time to the
first offset whose timestamp is >= it; a time past the end gives None; beginning and end
offsets are right.

usage: kp_times.py BOOTSTRAP TOPIC
"""
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from interop_common import create_topic, fail

if len(sys.argv) != 3:
    fail("usage: kp_times.py BOOTSTRAP TOPIC")
bootstrap, topic = sys.argv[1], sys.argv[2]
create_topic(bootstrap, topic, 2)
base = int(time.time() * 1000) - 3_600_000
# Partition 0: timestamps base + 1000*i, sent in batches of 4.
# Partition 1: the same but one record goes back in time (offset 5 has base + 500).
producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=50, request_timeout_ms=20000)
stamps = {0: [base + 1000 * i for i in range(20)], 1: [base + 1000 * i for i in range(20)]}
stamps[1][5] = base + 500
for p, ts_list in stamps.items():
    for i, ts in enumerate(ts_list):
        producer.send(topic, value=f"p{p}-r{i}".encode(), partition=p, timestamp_ms=ts)
        if i % 4 == 3:
            producer.flush(timeout=20)
producer.flush(timeout=20)
producer.close(timeout=10)

consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                         request_timeout_ms=20000)
tp0, tp1 = TopicPartition(topic, 0), TopicPartition(topic, 1)


def expect(tp, ts, offset, stamp):
    got = consumer.offsets_for_times({tp: ts})[tp]
    if offset is None:
        if got is not None:
            fail(f"partition {tp.partition} time {ts - base:+}: expected none, got {got}")
        return
    if got is None or got.offset != offset or got.timestamp != stamp:
        fail(f"partition {tp.partition} time {ts - base:+}: expected offset {offset} ts {stamp - base:+}, got {got}")


for probe, off in [(0, 0), (1, 1), (999, 1), (1000, 1), (2500, 3), (7001, 8), (19000, 19)]:
    expect(tp0, base + probe, off, base + 1000 * off)
expect(tp0, base + 19001, None, None)
expect(tp0, base - 10**9, 0, base)
# Partition 1: 500 first appears at offset 1 (ts 1000); offset 5's 500 is later in the log.
expect(tp1, base + 400, 1, base + 1000)
expect(tp1, base + 4500, 6, base + 6000)
expect(tp1, base + 5000, 6, base + 6000)
b = consumer.beginning_offsets([tp0, tp1])
e = consumer.end_offsets([tp0, tp1])
if b != {tp0: 0, tp1: 0} or e != {tp0: 20, tp1: 20}:
    fail(f"beginning {b} end {e}")
consumer.close()
print("OK kafka-python offsets_for_times", flush=True)
