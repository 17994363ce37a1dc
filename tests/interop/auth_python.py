"""SASL interop check for kafka-python and confluent-kafka.

usage: auth_python.py CLIENT BOOTSTRAP MECHANISM USER PASSWORD TOPIC MODE
CLIENT is kp (kafka-python) or ck (confluent-kafka); MODE is ok (produce three records,
consume them back, print "OK 3") or badpass (expect an authentication error, print
"AUTHFAIL <message>"). Exits non-zero on anything else.
"""
import sys
import time

client, bootstrap, mech, user, password, topic, mode = sys.argv[1:8]


def kp():
    from kafka import KafkaConsumer, KafkaProducer
    import kafka.errors as E
    common = dict(bootstrap_servers=bootstrap, security_protocol="SASL_PLAINTEXT",
                  sasl_mechanism=mech, sasl_plain_username=user, sasl_plain_password=password)
    if mode == "badpass":
        # kafka-python reports the broker's SaslAuthenticationFailedError in its log and
        # then gives up bootstrapping with a timeout: capture both.
        import logging
        seen = []

        class Grab(logging.Handler):
            def emit(self, record):
                seen.append(record.getMessage())

        logging.getLogger("kafka").addHandler(Grab())
        logging.getLogger("kafka").setLevel(logging.WARNING)
        try:
            p = KafkaProducer(**common, max_block_ms=5000, bootstrap_timeout_ms=4000)
            p.send(topic, b"x").get(timeout=5)
        except E.KafkaError as e:
            auth = [m for m in seen if "SaslAuthenticationFailedError" in m]
            if isinstance(e, E.SaslAuthenticationFailedError) or auth:
                print("AUTHFAIL", auth[0] if auth else e)
                return
            raise
        raise SystemExit("login with a wrong password succeeded")
    p = KafkaProducer(**common)
    for i in range(3):
        p.send(topic, f"kp-{i}".encode(), headers=[("author", user.encode())]).get(timeout=20)
    p.close()
    c = KafkaConsumer(topic, **common, auto_offset_reset="earliest", consumer_timeout_ms=10000)
    got = []
    for m in c:
        if m.value.startswith(b"kp-"):
            got.append(m.value)
        if len(got) >= 3:
            break
    c.close()
    assert len(got) >= 3, got
    print("OK", len(got))


def ck():
    from confluent_kafka import Consumer, KafkaException, Producer
    common = {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT",
              "sasl.mechanisms": mech, "sasl.username": user, "sasl.password": password}
    if mode == "badpass":
        errors = []
        p = Producer({**common, "error_cb": lambda e: errors.append(e)})
        deadline = time.time() + 15
        while time.time() < deadline and not errors:
            p.poll(0.2)
        auth = [e for e in errors if "auth" in e.str().lower()]
        if auth:
            print("AUTHFAIL", auth[0].str())
            return
        raise SystemExit(f"no authentication error: {errors}")
    p = Producer(common)
    failures = []
    for i in range(3):
        p.produce(topic, f"ck-{i}".encode(), headers=[("author", user.encode())],
                  on_delivery=lambda err, msg: err and failures.append(err))
    assert p.flush(20) == 0 and not failures, failures
    from confluent_kafka import TopicPartition
    c = Consumer({**common, "group.id": f"g-{user}", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.time() + 20
    while time.time() < deadline and len(got) < 3:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            raise KafkaException(m.error())
        if m.value().startswith(b"ck-"):
            got.append(m.value())
    c.close()
    assert len(got) >= 3, got
    print("OK", len(got))


{"kp": kp, "ck": ck}[client]()
