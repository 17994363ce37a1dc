"""Straight at a front server's upstream cluster, with confluent-kafka, as the service
account when a property file is given (the fronts' --kafka-config: security.protocol,
sasl.mechanism, sasl.username, sasl.password are librdkafka's names too; "-" = PLAINTEXT).
Used by tests/front_server.rs and tests/front_bbs.rs (tests/support/upstream.rs) for what
they check upstream, on our --plain upstream and on
external ones (Tansu, for which kcat's librdkafka 2.0.2 cannot parse ApiVersions).

usage: upstream_tool.py CONFIG BOOTSTRAP list
         prints the topic names, one per line, sorted
       upstream_tool.py CONFIG BOOTSTRAP read TOPIC
         prints every record of partition 0 as KEY:VALUE, one per line, in order
       upstream_tool.py CONFIG BOOTSTRAP count TOPIC
         prints how many records partition 0 holds (read, not computed from offsets)
       upstream_tool.py CONFIG BOOTSTRAP delete TOPIC
         deletes TOPIC
       upstream_tool.py CONFIG BOOTSTRAP write TOPIC
         creates TOPIC (one partition) if missing, writes each stdin line as a value to
         partition 0, acks=all
"""
import sys

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def settings(path, bootstrap):
    conf = {"bootstrap.servers": bootstrap}
    if path != "-":
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    key, value = line.split("=", 1)
                    conf[key.strip()] = value.strip()
    return conf


def records(conf, topic):
    """Every record of the topic's partition 0, from its first offset to its end."""
    c = Consumer({**conf, "group.id": "upstream-tool", "enable.auto.commit": False})
    low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
    c.assign([TopicPartition(topic, 0, low)])
    out = []
    position = low
    while position < high:
        m = c.poll(30)
        if m is None:
            sys.exit(f"read {topic}: nothing more after offset {position} of {high}")
        if m.error():
            sys.exit(f"read {topic}: {m.error()}")
        out.append(m)
        position = m.offset() + 1
    c.close()
    return out


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    conf = settings(sys.argv[1], sys.argv[2])
    action = sys.argv[3]
    if action == "list":
        topics = AdminClient(conf).list_topics(timeout=30).topics
        for name in sorted(topics):
            print(name)
    elif action == "read":
        for m in records(conf, sys.argv[4]):
            print(f"{(m.key() or b'').decode()}:{(m.value() or b'').decode()}")
    elif action == "count":
        print(len(records(conf, sys.argv[4])))
    elif action == "delete":
        topic = sys.argv[4]
        admin = AdminClient(conf)  # kept: the futures fail when it is destroyed
        for f in admin.delete_topics([topic]).values():
            try:
                f.result(30)
            except Exception as e:
                sys.exit(f"delete {topic}: {e}")
    elif action == "write":
        topic = sys.argv[4]
        admin = AdminClient(conf)
        for f in admin.create_topics([NewTopic(topic, 1, 1)]).values():
            try:
                f.result(30)
            except Exception as e:  # an existing topic is fine
                if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    sys.exit(f"create {topic}: {e}")
        failures = []
        p = Producer({**conf, "acks": "all"})
        for line in sys.stdin.read().splitlines():
            p.produce(topic, value=line.encode(), partition=0,
                      on_delivery=lambda err, _m: err and failures.append(err))
        if p.flush(30) or failures:
            sys.exit(f"write {topic}: {failures or 'not delivered'}")
    else:
        sys.exit(f"unknown action {action}")


main()
