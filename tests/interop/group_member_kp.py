"""A kafka-python group member for tests/groups_interop.rs.

Usage: group_member_kp.py BOOTSTRAP GROUP TOPIC SESSION_MS
Prints "assigned P,P,..." after every rebalance and "rec PARTITION OFFSET VALUE" per
record; auto-commits every 200 ms; on SIGTERM closes cleanly (commit + LeaveGroup).
"""
import signal
import sys

from kafka import ConsumerRebalanceListener, KafkaConsumer

bootstrap, group, topic, session = sys.argv[1:5]
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
consumer = KafkaConsumer(
    bootstrap_servers=bootstrap,
    group_id=group,
    client_id="kp-member",
    auto_offset_reset="earliest",
    enable_auto_commit=True,
    auto_commit_interval_ms=200,
    session_timeout_ms=int(session),
    heartbeat_interval_ms=1000,
    max_poll_interval_ms=30000,
)


class Listener(ConsumerRebalanceListener):
    def on_partitions_revoked(self, revoked):
        print("assigned ", flush=True)

    def on_partitions_assigned(self, assigned):
        parts = sorted(tp.partition for tp in consumer.assignment())
        print("assigned " + ",".join(map(str, parts)), flush=True)


consumer.subscribe([topic], listener=Listener())
while not stop:
    for tp, msgs in consumer.poll(timeout_ms=200).items():
        for m in msgs:
            print(f"rec {m.partition} {m.offset} {m.value.decode()}", flush=True)
consumer.close()
print("closed", flush=True)
