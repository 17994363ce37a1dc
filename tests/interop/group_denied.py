"""A kafka-python consumer whose group the authorizer denies gets a group authorization
error; an allowed group on the same server works. Args: bootstrap denied_group allowed_group topic."""
import sys
from kafka import KafkaConsumer
from kafka.errors import GroupAuthorizationFailedError

bootstrap, denied, allowed, topic = sys.argv[1:5]

c = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=denied,
                  auto_offset_reset="earliest", consumer_timeout_ms=8000)
try:
    for _ in c:
        break
    print("FAIL: denied group consumed or timed out without an authorization error")
    sys.exit(1)
except GroupAuthorizationFailedError as e:
    print("denied:", type(e).__name__)
finally:
    c.close()

ok = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=allowed,
                   auto_offset_reset="earliest", consumer_timeout_ms=15000)
values = [m.value for m in ok]
ok.close()
if values != [b"v1"]:
    print("FAIL: allowed group read", values)
    sys.exit(1)
print("allowed: read", len(values))
