"""A LogAppendTime topic: kafka-python (which checks CRCs by default) produces records with
old create times and reads back broker timestamps: timestamp type 1 (LogAppendTime),
times within the produce window, values intact. Runs for each codec kafka-python has, since
compressed batches are re-stamped too.

usage: kp_log_append_time.py BOOTSTRAP TOPIC
"""
import sys
import time

from kafka import KafkaProducer

from interop_common import create_topic, fail, read_topic

if len(sys.argv) != 3:
    fail("usage: kp_log_append_time.py BOOTSTRAP TOPIC")
bootstrap, topic = sys.argv[1], sys.argv[2]
create_topic(bootstrap, topic, 1, {"message.timestamp.type": "LogAppendTime"})
before = int(time.time() * 1000)
sent = []
for codec in [None, "gzip", "snappy", "lz4", "zstd"]:
    p = KafkaProducer(bootstrap_servers=bootstrap, compression_type=codec, linger_ms=10,
                      request_timeout_ms=20000)
    for i in range(10):
        v = f"{codec}-{i}".encode()
        md = p.send(topic, value=v, timestamp_ms=1000 + i).get(timeout=20)
        if md.timestamp < before:
            fail(f"produce response timestamp {md.timestamp} is not the broker's time")
        sent.append(v)
    p.close(timeout=10)
after = int(time.time() * 1000)
got = read_topic(bootstrap, topic, len(sent))
if [bytes.fromhex(g["v"]) for g in got] != sent:
    fail("values differ")
for g in got:
    if g.get("tstype") != 1:
        fail(f"offset {g['o']}: timestamp type {g.get('tstype')} is not LogAppendTime")
    if not before - 1000 <= g["ts"] <= after + 1000:
        fail(f"offset {g['o']}: timestamp {g['ts']} outside [{before}, {after}]")
print(f"OK kafka-python LogAppendTime records={len(got)} (CRCs checked)", flush=True)
