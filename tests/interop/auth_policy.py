"""Produces one record with an `author` header as a SASL user with kafka-python and
prints "OK <offset>" or "ERROR <class>: <message>".

usage: auth_policy.py BOOTSTRAP USER PASSWORD TOPIC AUTHOR
"""
import sys

from kafka import KafkaProducer
import kafka.errors as E

bootstrap, user, password, topic, author = sys.argv[1:6]
p = KafkaProducer(bootstrap_servers=bootstrap, security_protocol="SASL_PLAINTEXT",
                  sasl_mechanism="SCRAM-SHA-256", sasl_plain_username=user,
                  sasl_plain_password=password, retries=0)
try:
    md = p.send(topic, b"a post", headers=[("author", author.encode())]).get(timeout=20)
    print("OK", md.offset)
except E.KafkaError as e:
    print(f"ERROR {type(e).__name__}: {e}")
p.close()
