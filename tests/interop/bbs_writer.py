"""A student's BBS client in kafka-python, written from docs/data-model.md: registers two
users over the Kafka protocol, then, authenticated with SCRAM-SHA-256 as each, writes
profiles, boards, posts, a comment, edits and a delete. It also tries to cheat (post as
someone else, edit someone else's post) and prints what the server answered.

usage: bbs_writer.py BOOTSTRAP [again]
"""
import re
import sys

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient
from kafka.admin._users import ScramMechanism, UserScramCredentialUpsertion
from kafka.errors import KafkaError

server = sys.argv[1]


def suffix(name):
    if re.fullmatch(r"[A-Za-z0-9._-]+", name) and not name.startswith("_"):
        return name
    return "_" + name.encode("utf-8").hex()


def register(name, password):
    admin = KafkaAdminClient(bootstrap_servers=server)
    up = UserScramCredentialUpsertion(name, ScramMechanism.SCRAM_SHA_256, password)
    admin.alter_user_scram_credentials([up])
    admin.close()


producers = {}


def as_user(name):
    if name not in producers:
        producers[name] = KafkaProducer(
            bootstrap_servers=server, acks="all",
            security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256",
            sasl_plain_username=name, sasl_plain_password="pw-" + name)
    return producers[name]


def send(user, t, key, value, **headers):
    hs = [("bbs." + k, str(v).encode("utf-8")) for k, v in headers.items()]
    fut = as_user(user).send(t, key=key.encode() if key else None,
                             value=value.encode("utf-8"), headers=hs)
    return fut.get(timeout=30)


def post_id_of(board, title):
    c = KafkaConsumer("board." + suffix(board), bootstrap_servers=server,
                      auto_offset_reset="earliest", consumer_timeout_ms=3000)
    found = None
    for m in c:
        h = {k: v.decode() for k, v in m.headers}
        if h.get("bbs.kind") == "post" and h.get("bbs.title") == title:
            found = h["bbs.id"]
    c.close()
    return found


if len(sys.argv) > 2 and sys.argv[2] == "again":
    # After a restart: one more post by amy; print the id the server gave it.
    send("amy", "board.NP_HW", None, "still here", kind="post", author="amy", title="after restart")
    print("new id", post_id_of("NP_HW", "after restart"))
    sys.exit(0)

for u in ("amy", "bob"):
    register(u, "pw-" + u)
    send(u, "bbs.users", u, u + "@x", kind="user", author=u)
for user, board in (("amy", "NP_HW"), ("bob", "測試 版")):
    send(user, "bbs.boards", board, "", kind="board", author=user, topic="board." + suffix(board))

send("amy", "board.NP_HW", None, "Help!\nI have some problem!", kind="post", author="amy", title="About NP HW_2")
send("bob", "board." + suffix("測試 版"), None, "你好\n世界", kind="post", author="bob", title="中文")
send("bob", "board.NP_HW", None, "x", kind="post", author="bob", title="gone")
p1, p3 = post_id_of("NP_HW", "About NP HW_2"), post_id_of("NP_HW", "gone")
send("bob", "board.NP_HW", p1, "Ask the TA.", kind="comment", author="bob", post=p1)
send("amy", "board.NP_HW", p1, "", kind="edit", author="amy", post=p1, field="title", title="About NP HW_2 (solved)")
send("amy", "board.NP_HW", p1, "Solved.", kind="edit", author="amy", post=p1, field="content")
send("bob", "board.NP_HW", p3, "", kind="delete", author="bob", post=p3)


def attempt(label, *args, **kw):
    try:
        send(*args, **kw)
        print(f"{label}: ACCEPTED")
    except KafkaError as e:
        print(f"{label}: {type(e).__name__}: {getattr(e, 'description', '') or e}")


# bob pretends to be amy, then edits amy's post as himself, then as amy.
attempt("forged post", "bob", "board.NP_HW", None, "spam", kind="post", author="amy", title="free grades")
attempt("edit others", "bob", "board.NP_HW", p1, "mine now", kind="edit", author="bob", post=p1, field="content")
attempt("forged edit", "bob", "board.NP_HW", p1, "mine now", kind="edit", author="amy", post=p1, field="content")
for p in producers.values():
    p.close()
print("ids", p1, p3)
