"""Admin view of groups with kafka-python's KafkaAdminClient, for tests/groups_interop.rs.

Usage: group_admin.py BOOTSTRAP GROUP SIMPLE_GROUP TOPIC
First makes a "simple" commit (generation -1, no members) for SIMPLE_GROUP on TOPIC
partition 0, then prints one JSON object: the listed groups, GROUP's description (state,
protocol, members with their assigned partitions) and both groups' committed offsets.
"""
import json
import sys

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

bootstrap, group, simple, topic = sys.argv[1:5]

c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=simple, enable_auto_commit=False)
tp = TopicPartition(topic, 0)
c.assign([tp])
c.commit({tp: OffsetAndMetadata(3, "read-up-to-3", -1)})
c.close()

admin = KafkaAdminClient(bootstrap_servers=bootstrap)
out = {"listed": sorted([g["group_id"], g["protocol_type"], g["group_state"]] for g in admin.list_groups())}
desc = admin.describe_groups([group])[group]
members = []
for m in desc["members"]:
    assignment = m.get("member_assignment") or {}
    parts = []
    for t in assignment.get("assigned_partitions", []) if isinstance(assignment, dict) else []:
        parts.extend(t.get("partitions", []))
    members.append({"id": m["member_id"], "client_id": m["client_id"], "partitions": sorted(parts)})
out["describe"] = {
    "state": desc["group_state"],
    "protocol": desc["protocol_data"],
    "protocol_type": desc["protocol_type"],
    "members": members,
}
for g in (group, simple):
    offs = admin.list_group_offsets(g)[g]
    out["offsets_" + g] = {f"{k.topic}:{k.partition}": [v.offset, v.metadata] for k, v in offs.items()}
admin.close()
print(json.dumps(out))
