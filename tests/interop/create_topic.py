"""Creates a topic with kafka-python's admin client.

usage: create_topic.py BOOTSTRAP TOPIC PARTITIONS [name=value ...]
"""
import sys

from interop_common import create_topic, fail

if len(sys.argv) < 4:
    fail("usage: create_topic.py BOOTSTRAP TOPIC PARTITIONS [name=value ...]")
configs = dict(arg.split("=", 1) for arg in sys.argv[4:])
create_topic(sys.argv[1], sys.argv[2], int(sys.argv[3]), configs)
print(f"OK created {sys.argv[2]}", flush=True)
