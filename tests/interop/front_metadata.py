"""What a Metadata request naming one topic gets back through a front, for
tests/front_server.rs: confluent-kafka's admin client asks for TOPIC alone, as USER
(`-` for an anonymous client), and prints one `topic=NAME error=CODE` line per topic the
answer names.

usage: front_metadata.py BOOTSTRAP USER PASSWORD TOPIC
"""
import sys

from confluent_kafka.admin import AdminClient

bootstrap, user, password, topic = sys.argv[1:5]
conf = {"bootstrap.servers": bootstrap}
if user != "-":
    conf.update(
        {
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "SCRAM-SHA-256",
            "sasl.username": user,
            "sasl.password": password,
        }
    )
md = AdminClient(conf).list_topics(topic=topic, timeout=20)
for name, t in sorted(md.topics.items()):
    print(f"topic={name} error={t.error.name() if t.error else 'NONE'}")
