"""Deletes a topic with kafka-python's admin client.

usage: delete_topic.py BOOTSTRAP TOPIC
"""
import sys

from kafka.admin import KafkaAdminClient

from interop_common import fail

if len(sys.argv) != 3:
    fail("usage: delete_topic.py BOOTSTRAP TOPIC")
admin = KafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=20000)
try:
    admin.delete_topics([sys.argv[2]])
finally:
    admin.close()
print(f"OK deleted {sys.argv[2]}", flush=True)
