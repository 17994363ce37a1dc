// A kafkajs group member for tests/groups_interop.rs.
// Usage: node group_member.js BOOTSTRAP GROUP TOPIC SESSION_MS
// Prints "assigned P,P,..." after every rebalance and "rec PARTITION OFFSET VALUE" per
// record; commits after every batch; on SIGTERM disconnects cleanly (LeaveGroup).
const { Kafka, logLevel } = require('kafkajs');

const [bootstrap, group, topic, session] = process.argv.slice(2);
const kafka = new Kafka({ brokers: [bootstrap], clientId: 'kjs-member', logLevel: logLevel.NOTHING });
const consumer = kafka.consumer({
  groupId: group,
  sessionTimeout: Number(session),
  heartbeatInterval: 1000,
  rebalanceTimeout: 10000,
  maxWaitTimeInMs: 200,
});

consumer.on(consumer.events.GROUP_JOIN, (e) => {
  const parts = (e.payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b);
  console.log('assigned ' + parts.join(','));
});

async function main() {
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommitInterval: 200,
    autoCommitThreshold: 1,
    eachMessage: async ({ partition, message }) => {
      console.log(`rec ${partition} ${message.offset} ${message.value.toString()}`);
    },
  });
}

let stopping = false;
process.on('SIGTERM', async () => {
  if (stopping) return;
  stopping = true;
  await consumer.disconnect();
  console.log('closed');
  process.exit(0);
});

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
