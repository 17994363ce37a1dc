"""Another user's attacks through a front server, for tests/front_server.rs. The victim
commits offset 1 for its read-mark group `bbs-prefs:VICTIM` on TOPIC; the attacker then
writes to the victim's mailbox and commits offset 99 in the victim's group; the victim
reads its committed offset back. Prints `name=value` lines.

usage: front_attack.py BOOTSTRAP TOPIC VICTIM VICTIM_PW ATTACKER ATTACKER_PW
"""
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

bootstrap, topic, victim, victim_pw, attacker, attacker_pw = sys.argv[1:7]


def auth(user, password):
    return dict(
        bootstrap_servers=bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_plain_username=user,
        sasl_plain_password=password,
    )


group = f"bbs-prefs:{victim}"
tp = TopicPartition(topic, 0)


def commit(user, password, offset):
    c = KafkaConsumer(group_id=group, enable_auto_commit=False, **auth(user, password))
    c.assign([tp])
    try:
        c.commit({tp: OffsetAndMetadata(offset, "", -1)})
        return "OK"
    except Exception as e:  # the refusal's name is the outcome
        return type(e).__name__
    finally:
        c.close()


print(f"victim_commit={commit(victim, victim_pw, 1)}")
p = KafkaProducer(max_block_ms=10000, **auth(attacker, attacker_pw))
try:
    p.send(f"mail.{victim}", b"forged").get(timeout=15)
    print("mail_write=OK")
except Exception as e:
    print(f"mail_write={type(e).__name__}")
p.close()
print(f"attacker_commit={commit(attacker, attacker_pw, 99)}")
c = KafkaConsumer(group_id=group, enable_auto_commit=False, **auth(victim, victim_pw))
print(f"victim_offset={c.committed(tp)}")
c.close()
