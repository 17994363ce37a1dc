"""Front-mode round trip (kafka-python): produces N records with arbitrary bytes in keys,
values and headers through one front server, then consumes them through another in a
consumer group with a manual commit. Prints digests of what was sent and
what came back (in order), the count, the committed offset, and the brokers each client
was told about in Metadata, as `name=value` lines.

usage: front_roundtrip.py PRODUCE_ADDR CONSUME_ADDR TOPIC N GROUP USER PASSWORD
"""
import hashlib
import random
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

produce_addr, consume_addr, topic, n, group, user, password = sys.argv[1:8]
n = int(n)
auth = dict(
    security_protocol="SASL_PLAINTEXT",
    sasl_mechanism="SCRAM-SHA-256",
    sasl_plain_username=user,
    sasl_plain_password=password,
)


def record(i):
    rnd = random.Random(i)
    key = b"k%d" % i
    value = bytes(rnd.getrandbits(8) for _ in range(1 + i % 300))
    headers = [("h", bytes(rnd.getrandbits(8) for _ in range(i % 5)))]
    return key, value, headers


def digest(records):
    h = hashlib.sha256()
    for key, value, headers in records:
        h.update(repr((key, value, [(k, bytes(v)) for k, v in headers])).encode())
    return h.hexdigest()


def brokers(client):
    cluster = getattr(client, "_metadata", None) or client._client.cluster
    return sorted(f"{b.host}:{b.port}" for b in cluster.brokers())


p = KafkaProducer(bootstrap_servers=produce_addr, acks="all", **auth)
sent = [record(i) for i in range(n)]
for key, value, headers in sent:
    p.send(topic, key=key, value=value, headers=headers, partition=0)
p.flush(30)
producer_brokers = brokers(p)
p.close()

c = KafkaConsumer(
    bootstrap_servers=consume_addr,
    group_id=group,
    auto_offset_reset="earliest",
    enable_auto_commit=False,
    consumer_timeout_ms=8000,
    **auth,
)
c.subscribe([topic])
got = []
for m in c:
    got.append((m.key, m.value, list(m.headers)))
    if len(got) >= n:
        break
c.commit()
committed = c.committed(TopicPartition(topic, 0))
consumer_brokers = brokers(c)
c.close()
print(f"sent={digest(sent)}")
print(f"got={digest(got)}")
print(f"count={len(got)}")
print(f"committed={committed}")
print(f"producer_brokers={','.join(producer_brokers)}")
print(f"consumer_brokers={','.join(consumer_brokers)}")
