"""A student (not the board's moderator) tries to remove a post with kafka-python by
writing a `remove` record (docs/data-model.md) to the board topic; prints what the server
answered.

usage: class_remove.py BOOTSTRAP USER PASSWORD TOPIC POST_ID
"""
import sys

from kafka import KafkaProducer
from kafka.errors import KafkaError

server, user, password, topic, post = sys.argv[1:6]
p = KafkaProducer(bootstrap_servers=server, acks="all",
                  security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256",
                  sasl_plain_username=user, sasl_plain_password=password)
headers = [("bbs.kind", b"remove"), ("bbs.author", user.encode()), ("bbs.post", post.encode())]
try:
    p.send(topic, key=post.encode(), value=b"", headers=headers).get(timeout=30)
    print("remove: ACCEPTED")
except KafkaError as e:
    print(f"remove: {type(e).__name__}: {getattr(e, 'description', '') or e}")
p.close()
