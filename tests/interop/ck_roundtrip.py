"""confluent-kafka (librdkafka 2.16): for every codec (none, gzip, snappy, lz4, zstd)
produce records with keys, binary values and headers to a 3-partition topic (idempotence on
for half of the codecs), then read them back with a confluent Consumer on assigned partitions
and compare byte for byte, offsets included.

usage: ck_roundtrip.py BOOTSTRAP TOPIC_PREFIX
"""
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition

from interop_common import compare, create_topic, fail, gen_records, hx, to_manifest

if len(sys.argv) != 3:
    fail("usage: ck_roundtrip.py BOOTSTRAP TOPIC_PREFIX")
bootstrap, prefix = sys.argv[1], sys.argv[2]


def consume_all(topic, partitions, expected_count, timeout_s=30):
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{topic}-reader",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
            "auto.offset.reset": "earliest",
        }
    )
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    got = []
    deadline = time.time() + timeout_s
    while len(got) < expected_count and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            fail(f"consume {topic}: {m.error()}")
        got.append(
            {
                "p": m.partition(),
                "o": m.offset(),
                "k": hx(m.key()),
                "v": hx(m.value()),
                "h": [[k, (v or b"").hex()] for k, v in (m.headers() or [])],
            }
        )
    end = time.time() + 0.3
    while time.time() < end:
        m = c.poll(0.1)
        if m is not None and not m.error():
            got.append({"p": m.partition(), "o": m.offset(), "k": hx(m.key()), "v": hx(m.value()),
                        "h": [[k, (v or b"").hex()] for k, v in (m.headers() or [])]})
    c.close()
    return got


for n, codec in enumerate(["none", "gzip", "snappy", "lz4", "zstd"]):
    topic = f"{prefix}-{codec}"
    create_topic(bootstrap, topic, 3)
    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "compression.type": codec,
            "linger.ms": 20,
            "acks": "all",
            "enable.idempotence": n % 2 == 0,
            "message.timeout.ms": 30000,
        }
    )
    recs = gen_records(2000 + n, 120, 3)
    expected = [None] * len(recs)
    errors = []

    def report(i):
        def cb(err, msg):
            if err is not None:
                errors.append(f"record {i}: {err}")
            elif msg.partition() != recs[i]["p"]:
                errors.append(f"record {i}: acknowledged on partition {msg.partition()}")
            else:
                expected[i] = to_manifest(recs[i], msg.offset())
        return cb

    for i, r in enumerate(recs):
        p.produce(topic, key=r["k"], value=r["v"], headers=r["h"], partition=r["p"], on_delivery=report(i))
        p.poll(0)
    left = p.flush(30)
    if left or errors or any(e is None for e in expected):
        fail(f"{codec}: {left} undelivered, errors {errors[:5]}")
    got = consume_all(topic, 3, len(expected))
    compare(expected, got, f"confluent-kafka {codec}")
    print(f"OK confluent-kafka codec={codec} records={len(expected)}", flush=True)
