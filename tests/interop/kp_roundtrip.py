"""kafka-python: for every codec it supports (none, gzip, snappy, lz4, zstd) produce records
with keys, binary values and headers to a 3-partition topic with the default (idempotent)
producer, then read them back and compare byte for byte, offsets included.

usage: kp_roundtrip.py BOOTSTRAP TOPIC_PREFIX
"""
import sys

from kafka import KafkaProducer
from kafka.codec import has_lz4, has_snappy, has_zstd

from interop_common import compare, create_topic, fail, gen_records, read_topic, to_manifest

if len(sys.argv) != 3:
    fail("usage: kp_roundtrip.py BOOTSTRAP TOPIC_PREFIX")
bootstrap, prefix = sys.argv[1], sys.argv[2]

codecs = [None, "gzip", "snappy", "lz4", "zstd"]
if not (has_snappy() and has_lz4() and has_zstd()):
    fail("kafka-python lacks snappy/lz4/zstd support: run scripts/test-deps.sh")

for n, codec in enumerate(codecs):
    name = codec or "none"
    topic = f"{prefix}-{name}"
    create_topic(bootstrap, topic, 3)
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        compression_type=codec,
        linger_ms=20,
        request_timeout_ms=20000,
        max_block_ms=20000,
    )
    if not producer.config.get("enable_idempotence"):
        fail("expected kafka-python's producer to be idempotent by default")
    recs = gen_records(1000 + n, 120, 3)
    futures = [
        producer.send(topic, key=r["k"], value=r["v"], headers=r["h"], partition=r["p"])
        for r in recs
    ]
    producer.flush(timeout=30)
    expected = []
    for r, f in zip(recs, futures):
        md = f.get(timeout=30)
        if md.partition != r["p"]:
            fail(f"{name}: sent to partition {r['p']} but acknowledged on {md.partition}")
        expected.append(to_manifest(r, md.offset))
    producer.close(timeout=10)
    got = read_topic(bootstrap, topic, len(expected))
    compare(expected, got, f"kafka-python {name}")
    print(f"OK kafka-python codec={name} records={len(expected)}", flush=True)
