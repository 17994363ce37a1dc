"""A student's attacks on the front servers' own machinery through a front, for
tests/front_bbs.rs: forge a ledger entry, read the ledger (`read=OK <records read>`: a
refused fetch reads nothing), join the sequencer's group (to take the ledger from the
sequencer), list groups. Prints `name=value` lines; a refusal's value is the error's
class name.

usage: front_ledger_attack.py BOOTSTRAP USER PASSWORD    (USER "-": anonymous)
"""
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient

bootstrap, user, password = sys.argv[1:4]
auth = dict(bootstrap_servers=bootstrap)
if user != "-":
    auth.update(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256",
                sasl_plain_username=user, sasl_plain_password=password)


def outcome(name, f):
    try:
        print(f"{name}={f()}", flush=True)
    except Exception as e:  # the refusal's name is the outcome
        print(f"{name}={type(e).__name__}", flush=True)


def forge():
    p = KafkaProducer(max_block_ms=10000, retries=0, **auth)
    try:
        headers = [("bbs-front.front", b"x"), ("bbs-front.principal", b"user:victim"),
                   ("bbs-front.topic", b"board.NP"), ("bbs-front.partition", b"0")]
        p.send("bbs-front-ledger", key=b"entry", value=b"forged", headers=headers,
               partition=0).get(timeout=15)
        return "OK"
    finally:
        p.close()


def read():
    c = KafkaConsumer(enable_auto_commit=False, consumer_timeout_ms=3000, **auth)
    try:
        tp = TopicPartition("bbs-front-ledger", 0)
        c.assign([tp])
        c.seek_to_beginning(tp)
        got = sum(len(v) for v in c.poll(timeout_ms=3000).values())
        return f"OK {got}"
    finally:
        c.close()


def join():
    c = KafkaConsumer("bbs-front-ledger", group_id="bbs-front-sequencer",
                      enable_auto_commit=False, **auth)
    try:
        c.poll(timeout_ms=8000)
        return f"OK {sorted(tp.partition for tp in c.assignment())}"
    finally:
        c.close()


def groups():
    a = KafkaAdminClient(**auth)
    try:
        names = [g["group_id"] for g in a.list_groups()]
        return "listed" if "bbs-front-sequencer" in names else "hidden"
    finally:
        a.close()


outcome("forge", forge)
outcome("read", read)
outcome("join", join)
outcome("groups", groups)
