"""A confluent-kafka group member for tests/groups_interop.rs.

Usage: group_member_ck.py BOOTSTRAP GROUP TOPIC SESSION_MS
Prints "assigned P,P,..." after every rebalance and "rec PARTITION OFFSET VALUE" per
record; auto-commits every 200 ms; on SIGTERM closes cleanly (commit + LeaveGroup).
"""
import signal
import sys

from confluent_kafka import Consumer

bootstrap, group, topic, session = sys.argv[1:5]
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
consumer = Consumer(
    {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "client.id": "ck-member",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 200,
        "session.timeout.ms": int(session),
        "heartbeat.interval.ms": 1000,
        "fetch.wait.max.ms": 200,
    }
)


def on_assign(c, parts):
    print("assigned " + ",".join(str(p.partition) for p in sorted(parts, key=lambda p: p.partition)), flush=True)


def on_revoke(c, parts):
    print("assigned ", flush=True)


consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
while not stop:
    m = consumer.poll(0.2)
    if m is None or m.error():
        continue
    print(f"rec {m.partition()} {m.offset()} {m.value().decode()}", flush=True)
consumer.close()
print("closed", flush=True)
