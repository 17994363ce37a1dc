"""Produces 2 KB values (acks=all, no retries) to TOPIC until the broker refuses one, and
requires that refusal to be KAFKA_STORAGE_ERROR (56). Prints "acked N" (the number of
values acknowledged, which are "v0", "v1", ... in order) and "refused CODE".

usage: fill_disk.py BOOTSTRAP TOPIC
"""
import sys
import time

from confluent_kafka import KafkaError, Producer

if len(sys.argv) != 3:
    print("usage: fill_disk.py BOOTSTRAP TOPIC", file=sys.stderr)
    sys.exit(2)
bootstrap, topic = sys.argv[1], sys.argv[2]
p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "retries": 0, "linger.ms": 0,
              "max.in.flight.requests.per.connection": 1, "message.timeout.ms": 20000})
acked = 0
refused = None


def cb(err, msg):
    global acked, refused
    if err is None:
        if refused is None:
            acked += 1
    elif refused is None:
        refused = err


pad = b"x" * 2048
deadline = time.time() + 60
i = 0
while refused is None and time.time() < deadline:
    p.produce(topic, value=f"v{i}".encode() + pad, partition=0, on_delivery=cb)
    i += 1
    p.flush(20)
p.flush(20)
print(f"acked {acked}", flush=True)
if refused is None:
    print("FAIL: the disk never filled up", file=sys.stderr)
    sys.exit(1)
print(f"refused {refused.code()} {refused.str()}", flush=True)
if refused.code() != KafkaError.KAFKA_STORAGE_ERROR:
    print(f"FAIL: refused with {refused.code()} ({refused.str()}), not KAFKA_STORAGE_ERROR (56)",
          file=sys.stderr)
    sys.exit(1)
