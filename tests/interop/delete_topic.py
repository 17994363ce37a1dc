"""Deletes a topic with kafka-python's admin client.

usage: delete_topic.py BOOTSTRAP TOPIC [USER PASSWORD]   (SCRAM-SHA-256 with a user)
"""
import sys

from kafka.admin import KafkaAdminClient

from interop_common import fail

if len(sys.argv) not in (3, 5):
    fail("usage: delete_topic.py BOOTSTRAP TOPIC [USER PASSWORD]")
auth = {}
if len(sys.argv) == 5:
    auth = dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256",
                sasl_plain_username=sys.argv[3], sasl_plain_password=sys.argv[4])
admin = KafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=20000, **auth)
try:
    admin.delete_topics([sys.argv[2]])
finally:
    admin.close()
print(f"OK deleted {sys.argv[2]}", flush=True)
