"""Crash-test producer: confluent-kafka, acks=all, idempotent, writing the increasing
integers START, START+1, ... as values to partition 0 of TOPIC as fast as the broker takes
them (kept to a few thousand a second), retrying through broker crashes. Prints each value
the broker ACKNOWLEDGED on stdout, one per line, flushed. Stops producing when stdin closes,
waits for outstanding deliveries, and exits non-zero if any delivery failed.

usage: crash_producer.py BOOTSTRAP TOPIC START
"""
import sys
import threading
import time

from confluent_kafka import KafkaException, Producer

if len(sys.argv) != 4:
    print("usage: crash_producer.py BOOTSTRAP TOPIC START", file=sys.stderr)
    sys.exit(2)
bootstrap, topic, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
stop = threading.Event()


def watch_stdin():
    sys.stdin.read()
    stop.set()


threading.Thread(target=watch_stdin, daemon=True).start()
failures = []


def fatal(err):
    failures.append(f"fatal producer error: {err}")
    stop.set()


p = Producer(
    {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 2,
        "message.timeout.ms": 120000,
        "request.timeout.ms": 10000,
        "reconnect.backoff.ms": 20,
        "reconnect.backoff.max.ms": 200,
        "retry.backoff.ms": 20,
        "topic.metadata.refresh.interval.ms": 1000,
        "error_cb": lambda e: fatal(e) if e.fatal() else None,
    }
)


def report(err, msg):
    if err is not None:
        failures.append(f"value {msg.value()!r}: {err}")
        return
    sys.stdout.write(msg.value().decode() + "\n")
    sys.stdout.flush()


i = start
while not stop.is_set():
    try:
        p.produce(topic, value=str(i).encode(), partition=0, on_delivery=report)
        i += 1
    except BufferError:
        p.poll(0.05)
        continue
    except KafkaException as e:
        failures.append(f"produce: {e}")
        break
    p.poll(0)
    if i % 20 == 0:
        time.sleep(0.004)
left = p.flush(60)
if left:
    failures.append(f"{left} messages never delivered")
if failures:
    for f in failures[:20]:
        print(f"FAIL: {f}", file=sys.stderr)
    sys.exit(1)
print(f"producer done: sent {i - start}", file=sys.stderr)
