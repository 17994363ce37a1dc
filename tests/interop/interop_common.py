"""Shared helpers for the Python interop scripts: a deterministic record generator (keys,
binary values, headers, partitions), a JSON manifest format for what was produced, and a
kafka-python reader that fetches a whole topic and compares it byte for byte with a manifest.

Manifest entries: {"p": partition, "o": offset, "k": hex or null, "v": hex or null,
"h": [[header key, hex value], ...]}.
"""
import json
import random
import sys
import time


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def gen_records(seed, n, partitions):
    """n records spread over partitions: null/empty/binary keys, empty, null, random and
    highly compressible values of several sizes, zero to three headers."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        if i % 7 == 3:
            key = None
        elif i % 11 == 5:
            key = b""
        else:
            key = f"key-{i}-".encode() + bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 6)))
        size = rnd.choice([0, 1, 17, 100, 1000, 4000])
        if i % 13 == 9 and key is not None:
            value = None
        elif i % 2 == 0:
            value = bytes(rnd.randrange(256) for _ in range(size))
        else:
            value = (f"compressible {i} " * (size // 16 + 1)).encode()[:size]
        headers = []
        for j in range(i % 4):
            hv = b"" if j == 2 else f"hv{i}.{j}\u00e9".encode() + bytes([rnd.randrange(256)])
            headers.append((f"hdr-{j}", hv))
        out.append({"p": i % partitions, "k": key, "v": value, "h": headers})
    return out


def hx(b):
    return None if b is None else b.hex()


def to_manifest(rec, offset):
    return {
        "p": rec["p"],
        "o": offset,
        "k": hx(rec["k"]),
        "v": hx(rec["v"]),
        "h": [[k, v.hex()] for k, v in rec["h"]],
    }


def read_topic(bootstrap, topic, expected_count, timeout_s=30):
    """Reads every record of every partition of `topic` with kafka-python (assigned
    partitions, no group) until `expected_count` arrived; returns manifest-shaped entries."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        request_timeout_ms=20000,
    )
    deadline = time.time() + timeout_s
    parts = None
    while parts is None and time.time() < deadline:
        parts = consumer.partitions_for_topic(topic)
        if parts is None:
            time.sleep(0.2)
    if not parts:
        fail(f"topic {topic} has no partitions")
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    got = []
    while len(got) < expected_count and time.time() < deadline:
        for _tp, records in consumer.poll(timeout_ms=500).items():
            for r in records:
                got.append(
                    {
                        "p": r.partition,
                        "o": r.offset,
                        "k": hx(r.key),
                        "v": hx(r.value),
                        "h": [[k, v.hex()] for k, v in (r.headers or [])],
                        "ts": r.timestamp,
                        "tstype": r.timestamp_type,
                    }
                )
    # Give a moment for anything extra (duplicates) to show up.
    for _tp, records in consumer.poll(timeout_ms=300).items():
        for r in records:
            got.append({"p": r.partition, "o": r.offset, "k": hx(r.key), "v": hx(r.value),
                        "h": [[k, v.hex()] for k, v in (r.headers or [])]})
    consumer.close()
    return got


def compare(expected, got, what):
    """Exact comparison by (partition, offset): same set, same key, value and headers."""
    exp = {(e["p"], e["o"]): e for e in expected}
    seen = {}
    for g in got:
        pos = (g["p"], g["o"])
        if pos in seen:
            fail(f"{what}: offset {pos} delivered twice")
        seen[pos] = g
    if len(exp) != len(expected):
        fail(f"{what}: producer reported duplicate offsets")
    missing = sorted(set(exp) - set(seen))
    extra = sorted(set(seen) - set(exp))
    if missing or extra:
        fail(f"{what}: missing {missing[:10]} extra {extra[:10]} (expected {len(exp)}, got {len(seen)})")
    for pos, e in exp.items():
        g = seen[pos]
        for field in ("k", "v", "h"):
            if e[field] != g[field]:
                fail(f"{what}: at {pos} field {field}: expected {str(e[field])[:80]} got {str(g[field])[:80]}")
    # Offsets per partition are dense and increasing from the first.
    by_p = {}
    for p, o in sorted(exp):
        by_p.setdefault(p, []).append(o)
    for p, offs in by_p.items():
        if offs != list(range(offs[0], offs[0] + len(offs))):
            fail(f"{what}: partition {p} offsets are not contiguous: {offs[:20]}")


def create_topic(bootstrap, topic, partitions, configs=None):
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=20000)
    try:
        admin.create_topics([NewTopic(topic, partitions, 1, topic_configs=configs or {})])
    finally:
        admin.close()


def load_manifest(path):
    with open(path) as f:
        return json.load(f)
