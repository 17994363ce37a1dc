"""A student's kafka-python program posting to a BBS board through one front server for
a while, for tests/front_bbs.rs: posts in bursts of ten in flight, each titled PREFIX-N,
and one line per post saying what the server answered: "ACK PREFIX-N" once acknowledged,
"FAIL PREFIX-N <error>" otherwise. It never resends a post (retries=0): a post is either
acknowledged once or reported failed. Keeps going through errors (the front may be
killed and started again meanwhile).

usage: front_bbs_writer.py BOOTSTRAP USER PASSWORD BOARD PREFIX SECONDS
"""
import sys
import time

from kafka import KafkaProducer
from kafka.errors import KafkaError

server, user, password, board, prefix, seconds = sys.argv[1:7]


def producer():
    return KafkaProducer(bootstrap_servers=server, acks="all", retries=0,
                         request_timeout_ms=15000, max_block_ms=5000,
                         reconnect_backoff_max_ms=500,
                         security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256",
                         sasl_plain_username=user, sasl_plain_password=password)


p = None
end = time.time() + float(seconds)
n = 0
while time.time() < end:
    # Bursts of posts in flight at once, so the entries of both writers reach the ledger
    # back to back (and some travel together in one batch).
    burst = []
    try:
        if p is None:
            p = producer()
        for _ in range(10):
            n += 1
            title = f"{prefix}-{n}"
            headers = [("bbs.kind", b"post"), ("bbs.author", user.encode()),
                       ("bbs.title", title.encode())]
            burst.append((title, p.send(f"board.{board}", value=f"body of {title}".encode(),
                                        headers=headers)))
    except Exception as e:  # could not even queue it: report it and start afresh
        print(f"FAIL {prefix}-{n} {type(e).__name__}", flush=True)
    broken = False
    for title, future in burst:
        try:
            future.get(timeout=20)
            print(f"ACK {title}", flush=True)
        except Exception as e:  # any failure: report it and go on with a fresh producer
            print(f"FAIL {title} {type(e).__name__}", flush=True)
            broken = True
    if broken or not burst:
        try:
            if p is not None:
                p.close(timeout=1)
        except KafkaError:
            pass
        p = None
        time.sleep(0.2)
if p is not None:
    p.close()
