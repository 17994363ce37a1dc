"""Reads one BBS board with kafka-python and prints it like `list-post` and `read`.

Usage: read_board.py BOOTSTRAP BOARD [USER PASSWORD]
Prints, for each live post in id order: "<id>\t<title>\t<author>", the content lines
prefixed by a tab, then "\t<user>: <comment>" per comment. With USER and PASSWORD it
authenticates with SASL/SCRAM-SHA-256. This is the example of docs/data-model.md.
"""
import re
import sys

from kafka import KafkaConsumer


def topic_suffix(name):
    """The topic suffix of a board or user name (see docs/data-model.md)."""
    if re.fullmatch(r"[A-Za-z0-9._-]+", name) and not name.startswith("_"):
        return name
    return "_" + name.encode("utf-8").hex()


def read_board(server, board, user=None, password=None):
    extra = {}
    if user is not None:
        extra = dict(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256",
                     sasl_plain_username=user, sasl_plain_password=password)
    consumer = KafkaConsumer("board." + topic_suffix(board), bootstrap_servers=server,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             group_id=None, consumer_timeout_ms=3000, **extra)
    posts = {}
    for msg in consumer:
        h = {k: (v or b"").decode("utf-8") for k, v in msg.headers}
        kind, body = h.get("bbs.kind"), (msg.value or b"").decode("utf-8")
        if kind == "post" and "bbs.id" in h:
            posts.setdefault(int(h["bbs.id"]), {"author": h["bbs.author"],
                                                "title": h["bbs.title"],
                                                "body": body, "comments": []})
        elif kind in ("comment", "edit", "delete") and "bbs.post" in h:
            pid = int(h["bbs.post"])
            p = posts.get(pid)
            if p is None:
                continue
            if kind == "comment":
                p["comments"].append((h["bbs.author"], body))
            elif h["bbs.author"] != p["author"]:
                continue
            elif kind == "edit":
                if h.get("bbs.field") == "title":
                    p["title"] = h["bbs.title"]
                else:
                    p["body"] = body
            else:
                del posts[pid]
    consumer.close()
    return posts


def main():
    if len(sys.argv) not in (3, 5):
        sys.exit(__doc__)
    posts = read_board(*sys.argv[1:])
    for pid in sorted(posts):
        p = posts[pid]
        print(f"{pid}\t{p['title']}\t{p['author']}")
        for line in p["body"].split("\n"):
            print(f"\t{line}")
        for who, text in p["comments"]:
            print(f"\t{who}: {text}")


if __name__ == "__main__":
    main()
