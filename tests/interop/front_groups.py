"""Group administration through a front server (kafka-python's KafkaAdminClient), for
tests/front_server.rs. Commits an offset for GROUP on TOPIC as USER, then prints
`name=value` lines: whether GROUP is listed, its state, an anonymous client's attempt to
delete it (refused), USER's deletion, and whether GROUP is listed afterwards.

usage: front_groups.py BOOTSTRAP TOPIC GROUP USER PASSWORD
"""
import sys

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

bootstrap, topic, group, user, password = sys.argv[1:6]
auth = dict(
    security_protocol="SASL_PLAINTEXT",
    sasl_mechanism="SCRAM-SHA-256",
    sasl_plain_username=user,
    sasl_plain_password=password,
)
c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, **auth)
tp = TopicPartition(topic, 0)
c.assign([tp])
c.commit({tp: OffsetAndMetadata(1, "", -1)})
c.close()


def listed(admin):
    return group in [g["group_id"] for g in admin.list_groups()]


def outcome(results):
    """The error's name for GROUP (kafka-python 3 answers {group: name})."""
    err = dict(results)[group]
    if isinstance(err, str):
        return err
    return err.__name__ if isinstance(err, type) else type(err).__name__


admin = KafkaAdminClient(bootstrap_servers=bootstrap, **auth)
print(f"listed_before={listed(admin)}")
print(f"state={admin.describe_groups([group])[group]['group_state']}")
anon = KafkaAdminClient(bootstrap_servers=bootstrap)
print(f"anonymous_delete={outcome(anon.delete_groups([group]))}")
anon.close()
print(f"delete={outcome(admin.delete_groups([group]))}")
print(f"listed_after={listed(admin)}")
admin.close()
