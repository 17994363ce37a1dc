"""kafka-python idempotent producer and reader for tests/security_producers.rs.

usage: sec_idem.py BOOTSTRAP USER PASSWORD TOPIC produce N PREFIX
           sends PREFIX-0 .. PREFIX-(N-1) to partition 0 one at a time (one batch each,
           sequences 0..N-1) and prints "PID <producer id> <epoch>"
       sec_idem.py BOOTSTRAP USER PASSWORD TOPIC read
           prints every value of partition 0, one per line, up to the end offset
USER "-" connects anonymously. Exits non-zero on any error.
"""
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

bootstrap, user, password, topic, mode = sys.argv[1:6]
common = dict(bootstrap_servers=bootstrap)
if user != "-":
    common.update(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256",
                  sasl_plain_username=user, sasl_plain_password=password)

if mode == "produce":
    n, prefix = int(sys.argv[6]), sys.argv[7]
    p = KafkaProducer(**common, enable_idempotence=True, acks="all", linger_ms=0)
    for i in range(n):
        p.send(topic, f"{prefix}-{i}".encode(), partition=0).get(timeout=30)
    pe = p._transaction_manager.producer_id_and_epoch
    print("PID", pe.producer_id, pe.epoch, flush=True)
    p.close()
elif mode == "read":
    c = KafkaConsumer(**common, enable_auto_commit=False, group_id=None)
    tp = TopicPartition(topic, 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
    end = c.end_offsets([tp])[tp]
    while c.position(tp) < end:
        for records in c.poll(timeout_ms=1000).values():
            for r in records:
                print(r.value.decode(), flush=True)
    c.close()
else:
    raise SystemExit(f"unknown mode {mode}")
