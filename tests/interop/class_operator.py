"""Operator-moderation attacks and a live writer, with kafka-python (docs/data-model.md).

usage:
  class_operator.py BOOTSTRAP USER PASSWORD forge-delete BOARD
      writes a `board-delete` record for BOARD to bbs.boards as USER
  class_operator.py BOOTSTRAP USER PASSWORD forge-disable VICTIM
      writes a `disable` record for VICTIM to bbs.users as USER
  class_operator.py BOOTSTRAP USER PASSWORD live BOARD
      posts once, prints "FIRST: ...", waits for a line on stdin, posts again and prints
      "SECOND: ..." (a session that stays connected while the operator acts)
  class_operator.py BOOTSTRAP USER PASSWORD writer BOARD
      posts "w-1", "w-2", ... until killed, printing "ACK <n>" after each acknowledgement
Prints what the server answered.
"""
import re
import sys

from kafka import KafkaProducer
from kafka.errors import KafkaError

server, user, password, mode, arg = sys.argv[1:6]


def suffix(name):
    if re.fullmatch(r"[A-Za-z0-9._-]+", name) and not name.startswith("_"):
        return name
    return "_" + name.encode("utf-8").hex()


p = KafkaProducer(bootstrap_servers=server, acks="all",
                  security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256",
                  sasl_plain_username=user, sasl_plain_password=password)


def send(label, topic, key, headers, value=b""):
    try:
        p.send(topic, key=key, value=value, headers=headers).get(timeout=30)
        print(f"{label}: ACCEPTED", flush=True)
    except KafkaError as e:
        print(f"{label}: {type(e).__name__}: {getattr(e, 'description', '') or e}", flush=True)


def post(label, title):
    send(label, "board." + suffix(arg), None,
         [("bbs.kind", b"post"), ("bbs.author", user.encode()), ("bbs.title", title.encode())],
         b"body of " + title.encode())


if mode == "forge-delete":
    send("board-delete", "bbs.boards", arg.encode(),
         [("bbs.kind", b"board-delete"), ("bbs.author", user.encode())])
elif mode == "forge-disable":
    send("disable", "bbs.users", ("status:" + arg).encode(),
         [("bbs.kind", b"disable"), ("bbs.author", user.encode())])
elif mode == "live":
    post("FIRST", "live-1")
    sys.stdin.readline()
    post("SECOND", "live-2")
elif mode == "writer":
    i = 0
    while True:
        i += 1
        p.send("board." + suffix(arg), value=b"w",
               headers=[("bbs.kind", b"post"), ("bbs.author", user.encode()),
                        ("bbs.title", f"w-{i}".encode())]).get(timeout=30)
        print(f"ACK {i}", flush=True)
p.close()
