"""A hostile student's kafka-python client for the text, name and account rules
(tests/security_text.rs, tests/security_names.rs). One JSON argument (so control
characters survive the command line) describes the steps; each prints one line:

  {"op": "register", "name": N, "password": P}          -> "register: OK" | "register: <message>"
  {"op": "delete_self", "name": N, "password": P}       -> "delete_self: OK" | "delete_self: <message>"
  {"op": "produce", "user": U, "topic": T, "key": K|null, "value": V,
   "headers": [[name, value], ...]}                      -> "produce: ACCEPTED" | "produce: <Error>: <message>"
  {"op": "dump", "user": U, "topic": T}                  -> "dump: " + JSON list of records
  {"op": "login", "name": N, "password": P}              -> "login: OK" | "login: <Error>"

usage: security_bbs.py BOOTSTRAP JSON_LIST_OF_STEPS
"""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient
from kafka.admin._users import (ScramMechanism, UserScramCredentialDeletion,
                                UserScramCredentialUpsertion)
from kafka.errors import KafkaError

server = sys.argv[1]
steps = json.loads(sys.argv[2])


def sasl(name, password):
    return dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256",
                sasl_plain_username=name, sasl_plain_password=password)


def password_of(user):
    return "pw-" + user


def out(label, text):
    # ASCII only, so the Rust side sees exactly what the server said.
    print(label + ": " + json.dumps(text)[1:-1], flush=True)


def register(s):
    admin = KafkaAdminClient(bootstrap_servers=server)
    up = UserScramCredentialUpsertion(s["name"], ScramMechanism.SCRAM_SHA_256, s["password"])
    err = admin.alter_user_scram_credentials([up]).get(s["name"])
    admin.close()
    out("register", "OK" if err is None else str(err))


def delete_self(s):
    admin = KafkaAdminClient(bootstrap_servers=server, **sasl(s["name"], s["password"]))
    d = UserScramCredentialDeletion(s["name"], ScramMechanism.SCRAM_SHA_256)
    err = admin.alter_user_scram_credentials([d]).get(s["name"])
    admin.close()
    out("delete_self", "OK" if err is None else str(err))


def login(s):
    try:
        # A refused login fails the bootstrap; bound it instead of waiting the default 30 s.
        a = KafkaAdminClient(bootstrap_servers=server, bootstrap_timeout_ms=5000,
                             **sasl(s["name"], s["password"]))
        a.describe_cluster()
        a.close()
        out("login", "OK")
    except KafkaError as e:
        out("login", type(e).__name__)


def produce(s):
    p = KafkaProducer(bootstrap_servers=server, acks="all", retries=0,
                      **sasl(s["user"], password_of(s["user"])))
    key = s.get("key")
    hs = [(k, v.encode("utf-8")) for k, v in s.get("headers", [])]
    try:
        p.send(s["topic"], key=key.encode("utf-8") if key is not None else None,
               value=s["value"].encode("utf-8"), headers=hs).get(timeout=30)
        out("produce", "ACCEPTED")
    except KafkaError as e:
        out("produce", f"{type(e).__name__}: {e}")
    finally:
        p.close()


def dump(s):
    try:
        dump_records(s)
    except KafkaError as e:
        out("dump", "ERROR " + type(e).__name__)


def dump_records(s):
    c = KafkaConsumer(bootstrap_servers=server, auto_offset_reset="earliest",
                      enable_auto_commit=False, **sasl(s["user"], password_of(s["user"])))
    records = []
    parts = c.partitions_for_topic(s["topic"]) or set()
    tps = [TopicPartition(s["topic"], p) for p in parts]
    if tps:
        c.assign(tps)
        end = c.end_offsets(tps)
        c.seek_to_beginning(*tps)
        while any(c.position(tp) < end[tp] for tp in tps):
            for msgs in c.poll(timeout_ms=1000).values():
                for m in msgs:
                    records.append({
                        "key": m.key.decode("utf-8", "replace") if m.key is not None else None,
                        "value": m.value.decode("utf-8", "replace") if m.value is not None else None,
                        "headers": {k: v.decode("utf-8", "replace") for k, v in m.headers},
                    })
    c.close()
    print("dump: " + json.dumps(records), flush=True)


for step in steps:
    {"register": register, "delete_self": delete_self, "produce": produce,
     "dump": dump, "login": login}[step["op"]](step)
