"""Reads a whole topic with kafka-python and compares it byte for byte (partition, offset,
key, value, headers) with a JSON manifest written by another client's producer script.

usage: verify_manifest.py BOOTSTRAP TOPIC MANIFEST.json
"""
import sys

from interop_common import compare, fail, load_manifest, read_topic

if len(sys.argv) != 4:
    fail("usage: verify_manifest.py BOOTSTRAP TOPIC MANIFEST.json")
bootstrap, topic, path = sys.argv[1:]
expected = load_manifest(path)
got = read_topic(bootstrap, topic, len(expected))
compare(expected, got, f"{topic} read by kafka-python")
print(f"OK verified topic={topic} records={len(expected)}", flush=True)
