"""A student who tries to write the server's views (docs/data-model.md, "Views"), for
tests/bbs_views.rs, with kafka-python: forge an index row, a board's statistics, a page and
a post's place on bbs.ids, create a view topic, change a view's settings, delete its
records, delete it. Prints one line per attempt, `KEY<TAB>CODE<TAB>MESSAGE` (CODE the Kafka
error code, 0 when it worked). USER `-` attacks anonymously (no SASL).

usage: view_attacks.py BOOTSTRAP USER PASSWORD BOARD_SUFFIX
"""
import sys

from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import KafkaError

bootstrap, user, password, board = sys.argv[1:5]
anonymous = user == "-"
conf = dict(bootstrap_servers=bootstrap)
ck_conf = {"bootstrap.servers": bootstrap}
if not anonymous:
    conf.update(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256",
                sasl_plain_username=user, sasl_plain_password=password)
    ck_conf.update({"security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "SCRAM-SHA-256",
                    "sasl.username": user, "sasl.password": password})
index, pages = "index." + board, "pages." + board


def clean(v):
    return str(v).replace("\t", " ").replace("\n", " ")


def report(key, fn):
    try:
        fn()
        print(f"{key}\t0\t", flush=True)
    except KafkaError as e:
        print(f"{key}\t{getattr(e, 'errno', -1)}\t{clean(e)}", flush=True)


def produce(topic, key, headers):
    p = KafkaProducer(acks="all", retries=0, **conf)
    try:
        hs = [(k, v.encode()) for k, v in headers]
        p.send(topic, key=key.encode(), value=b"", headers=hs).get(timeout=30)
    finally:
        p.close()


row = [("bbs.kind", "index"), ("bbs.id", "1"), ("bbs.author", user), ("bbs.title", "HACKED"),
       ("bbs.time", "0"), ("bbs.state", "live"), ("bbs.score", "999"), ("bbs.comments", "0"),
       ("bbs.offset", "0"), ("bbs.ordinal", "0")]
stats = [("bbs.kind", "stats"), ("bbs.posts", "0"), ("bbs.live", "0"), ("bbs.last", "0"),
         ("bbs.time", "0")]
report("produce " + index, lambda: produce(index, "1", row))
report("produce bbs.stats", lambda: produce("bbs.stats", board, stats))
report("produce " + pages, lambda: produce(pages, "0", [("bbs.kind", "page")]))
place = [("bbs.kind", "id"), ("bbs.id", "1"), ("bbs.board", "Evil"), ("bbs.offset", "0"),
         ("bbs.ordinal", "0")]
report("produce bbs.ids", lambda: produce("bbs.ids", "1", place))

a = KafkaAdminClient(**conf)


def first_error(result):
    """kafka-python's admin answers: raise the first per-resource error."""
    for err in getattr(result, "topic_errors", []) or []:
        code = err[1]
        if code:
            from kafka.errors import for_code
            raise for_code(code)(err[2] if len(err) > 2 else "")


report("create pages.Evil", lambda: first_error(
    a.create_topics([NewTopic("pages.Evil", 1, 1)], timeout_ms=10000)))


def alter():
    """AlterConfigs through confluent-kafka (kafka-python 3 does not raise on a
    per-resource error); printed as the other attempts."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, ConfigResource as CR, ResourceType
    ck = AdminClient(ck_conf)
    for topic in [index, "bbs.ids"]:
        res = CR(ResourceType.TOPIC, topic, set_config={"retention.ms": "1"})
        try:
            next(iter(ck.alter_configs([res]).values())).result(timeout=20)
            print(f"alter {topic}\t0\t", flush=True)
        except KafkaException as e:
            print(f"alter {topic}\t{e.args[0].code()}\t{clean(e.args[0].str())}", flush=True)


alter()
for topic in [index, "bbs.ids"]:
    report("records " + topic, lambda: a.delete_records({TopicPartition(topic, 0): -1},
                                                       timeout_ms=10000))
    report("delete " + topic, lambda: a.delete_topics([topic], timeout_ms=10000))
a.close()
