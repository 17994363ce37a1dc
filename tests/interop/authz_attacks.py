"""What a curious student tries against topics and groups that are not theirs, for
tests/security_authz.rs. Admin requests go through confluent-kafka's AdminClient (DeleteTopics
through kafka-python's, which shows the broker's message), group membership and commits through
kafka-python's consumer.

usage: authz_attacks.py MODE BOOTSTRAP USER PASSWORD ARGS...
USER "-" connects anonymously. Every mode prints lines of three tab-separated fields:
an attack as `KEY CODE MESSAGE` (CODE the Kafka error code, 0 when it worked), a topic's
state as `TOPIC FIELD VALUE`, the groups attacked as `groups N LIST`, members as
`member CLIENT_ID HOST`.

  topics BOARD_TOPIC VICTIM_TOPIC   the topic attacks on a board, the directories, new
                                    BBS topics and another user's ordinary topic
  own TOPIC                         create TOPIC, alter it, add a partition, delete
                                    records, then delete it (the owner's rights)
  state TOPIC...                    retention.ms, cleanup.policy, partitions and the
                                    earliest/latest offsets of partition 0
  groups GROUP...                   describe, fetch offsets, delete, join and commit
                                    each group; "SESSION:<user>" stands for that user's
                                    live session groups (found with ListGroups)
  hosts GROUP                       the described members' (client_id, client_host)
"""
import sys
import time

mode, bootstrap, user, password = sys.argv[1:5]
args = sys.argv[5:]


def ck_conf():
    conf = {"bootstrap.servers": bootstrap}
    if user != "-":
        conf.update({"security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "SCRAM-SHA-256",
                     "sasl.username": user, "sasl.password": password})
    return conf


def kp_conf():
    conf = {"bootstrap_servers": bootstrap}
    if user != "-":
        conf.update(security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256",
                    sasl_plain_username=user, sasl_plain_password=password)
    return conf


def admin():
    from confluent_kafka.admin import AdminClient
    return AdminClient(ck_conf())


def outcome(future):
    """{"code", "msg"} of one admin future."""
    from confluent_kafka import KafkaException
    try:
        future.result(timeout=20)
        return {"code": 0, "msg": ""}
    except KafkaException as e:
        err = e.args[0]
        return {"code": err.code(), "msg": err.str()}


def one(futures):
    return outcome(next(iter(futures.values())))


def kp_delete_topic(topic):
    """DeleteTopics with kafka-python, which shows the broker's message (confluent-kafka
    shows only the code's name)."""
    from kafka import KafkaAdminClient
    import kafka.errors as E
    a = KafkaAdminClient(**kp_conf())
    try:
        a.delete_topics([topic], timeout_ms=10000)
        return {"code": 0, "msg": ""}
    except E.KafkaError as e:
        return {"code": getattr(e, "errno", -1), "msg": str(e)}
    finally:
        a.close()


def topic_attacks(board, victim):
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource,
                                       NewPartitions, NewTopic, ResourceType)
    a = admin()
    out = {}
    for t in (board, "bbs.boards", "bbs.users", victim):
        out["delete " + t] = kp_delete_topic(t)
    for t in ("board.Y", "mail.carol", "bbs.boards"):
        nt = NewTopic(t, num_partitions=1, replication_factor=1, config={"retention.ms": "1"})
        out["create " + t] = one(a.create_topics([nt]))
    res = ConfigResource(ResourceType.TOPIC, board, set_config={"retention.ms": "1"})
    out["alter " + board] = one(a.alter_configs([res]))
    entry = ConfigEntry("retention.ms", "1", incremental_operation=AlterConfigOpType.SET)
    res = ConfigResource(ResourceType.TOPIC, board, incremental_configs=[entry])
    out["incremental " + board] = one(a.incremental_alter_configs([res]))
    res = ConfigResource(ResourceType.TOPIC, "bbs.users", incremental_configs=[
        ConfigEntry("cleanup.policy", "delete", incremental_operation=AlterConfigOpType.SET)])
    out["incremental bbs.users"] = one(a.incremental_alter_configs([res]))
    out["partitions " + board] = one(a.create_partitions([NewPartitions(board, 3)]))
    out["records " + board] = one(a.delete_records([TopicPartition(board, 0, -1)]))
    out["records " + victim] = one(a.delete_records([TopicPartition(victim, 0, -1)]))
    out["alter " + victim] = one(a.alter_configs(
        [ConfigResource(ResourceType.TOPIC, victim, set_config={"retention.ms": "1"})]))
    return out


def own(topic):
    from confluent_kafka import Producer, TopicPartition
    from confluent_kafka.admin import (AlterConfigOpType, ConfigEntry, ConfigResource,
                                       NewPartitions, NewTopic, ResourceType)
    a = admin()
    out = {"create": one(a.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]))}
    p = Producer(ck_conf())
    for i in range(5):
        p.produce(topic, f"r{i}".encode(), partition=0)
    p.flush(20)
    entry = ConfigEntry("retention.ms", "60000", incremental_operation=AlterConfigOpType.SET)
    out["incremental"] = one(a.incremental_alter_configs(
        [ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[entry])]))
    out["partitions"] = one(a.create_partitions([NewPartitions(topic, 2)]))
    out["records"] = one(a.delete_records([TopicPartition(topic, 0, 3)]))
    out["state"] = state([topic])[topic]
    out["delete"] = one(a.delete_topics([topic], operation_timeout=10))
    return out


def state(topics):
    from confluent_kafka import Consumer, TopicPartition
    from confluent_kafka.admin import ConfigResource, ResourceType
    a = admin()
    md = a.list_topics(timeout=20)
    c = Consumer({**ck_conf(), "group.id": "authz-state-reader", "enable.auto.commit": False})
    out = {}
    for t in topics:
        cfg = a.describe_configs([ConfigResource(ResourceType.TOPIC, t)])
        entries = next(iter(cfg.values())).result(timeout=20)
        low, high = c.get_watermark_offsets(TopicPartition(t, 0), timeout=20)
        out[t] = {"retention.ms": entries["retention.ms"].value,
                  "cleanup.policy": entries["cleanup.policy"].value,
                  "partitions": len(md.topics[t].partitions) if t in md.topics else -1,
                  "earliest": low, "latest": high}
    c.close()
    return out


def session_groups(owner):
    from confluent_kafka import ConsumerGroupState
    live = {ConsumerGroupState.STABLE, ConsumerGroupState.PREPARING_REBALANCING,
            ConsumerGroupState.COMPLETING_REBALANCING}
    a = admin()  # kept alive until the future completes
    listed = a.list_consumer_groups(states=live).result(timeout=20)
    return sorted(g.group_id for g in listed.valid
                  if g.group_id.startswith("bbs-session-") and g.group_id.endswith(":" + owner))


def group_attacks(groups):
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition as CkTp
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata
    import kafka.errors as E
    a = admin()
    wanted = []
    for g in groups:
        wanted.extend(session_groups(g.split(":", 1)[1]) if g.startswith("SESSION:") else [g])
    out = {"groups": wanted}
    for g in wanted:
        try:
            d = a.describe_consumer_groups([g])[g].result(timeout=20)
            # Refused descriptions come back as an error; anything else is a leak.
            out["describe " + g] = {"code": 0, "msg": "", "members": len(d.members)}
        except Exception as e:  # KafkaException
            err = e.args[0]
            out["describe " + g] = {"code": err.code(), "msg": err.str()}
        try:
            r = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions(g)])[g].result(timeout=20)
            out["offsets " + g] = {"code": 0, "msg": "",
                                   "seen": [[tp.topic, tp.offset] for tp in r.topic_partitions]}
        except Exception as e:
            err = e.args[0]
            out["offsets " + g] = {"code": err.code(), "msg": err.str()}
        out["delete " + g] = outcome(a.delete_consumer_groups([g])[g])
        # Commit a read mark as if it were the owner's (kafka-python, generation -1).
        c = KafkaConsumer(**kp_conf(), group_id=g, enable_auto_commit=False)
        tp = TopicPartition("bbs.boards", 0)
        c.assign([tp])
        try:
            c.commit({tp: OffsetAndMetadata(0, "hijacked", -1)})
            out["commit " + g] = {"code": 0, "msg": ""}
        except E.KafkaError as e:
            out["commit " + g] = {"code": getattr(e, "errno", -1), "msg": str(e)}
        c.close()
        # Join the group as a member.
        c = KafkaConsumer(**kp_conf(), group_id=g, enable_auto_commit=False,
                          session_timeout_ms=6000, heartbeat_interval_ms=1000)
        c.subscribe(["bbs.boards"])
        res = {"code": 0, "msg": "joined"}
        deadline = time.time() + 15
        try:
            while time.time() < deadline and not c.assignment():
                c.poll(timeout_ms=500)
            if not c.assignment():
                res = {"code": -1, "msg": "neither joined nor refused"}
        except E.KafkaError as e:
            res = {"code": getattr(e, "errno", -1), "msg": str(e)}
        c.close()
        out["join " + g] = res
    return out


def hosts(group):
    from kafka import KafkaAdminClient
    a = KafkaAdminClient(**kp_conf())
    d = a.describe_groups([group])[group]
    a.close()
    return {"members": sorted([m["client_id"], m["client_host"]] for m in d["members"])}


def clean(v):
    return str(v).replace("\t", " ").replace("\n", " ")


def emit(report, prefix=""):
    for key, v in report.items():
        if key == "groups":
            print(f"groups\t{len(v)}\t{','.join(v)}")
        elif key == "members":
            for cid, host in v:
                print(f"member\t{clean(cid)}\t{clean(host)}")
        elif isinstance(v, dict) and "code" in v:
            print(f"{prefix}{key}\t{v['code']}\t{clean(v['msg'])}")
        elif isinstance(v, dict):
            for field, value in v.items():
                print(f"{prefix}{key}\t{field}\t{clean(value)}")


if mode == "topics":
    emit(topic_attacks(*args))
elif mode == "own":
    emit(own(*args))
elif mode == "state":
    emit(state(args))
elif mode == "groups":
    emit(group_attacks(args))
elif mode == "hosts":
    emit(hosts(*args))
else:
    raise SystemExit(f"unknown mode {mode}")
