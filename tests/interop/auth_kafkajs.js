// SASL interop check for kafkajs.
// usage: node auth_kafkajs.js BOOTSTRAP MECHANISM USER PASSWORD TOPIC MODE
// MODE ok: produce three records, check the end offset, read them back in a consumer
// group, print "OK <n>";
// MODE badpass: expect an authentication error, print "AUTHFAIL <message>".
const { Kafka, logLevel } = require('kafkajs');
const [bootstrap, mech, user, password, topic, mode] = process.argv.slice(2);
const kafka = new Kafka({
  clientId: 'auth-test', brokers: [bootstrap], logLevel: logLevel.NOTHING,
  sasl: { mechanism: mech.toLowerCase(), username: user, password },
  retry: { retries: mode === 'badpass' ? 0 : 5 },
});

async function main() {
  const producer = kafka.producer();
  if (mode === 'badpass') {
    try {
      await producer.connect();
    } catch (e) {
      if (/auth/i.test(`${e.name} ${e.message}`)) {
        console.log('AUTHFAIL', e.name, e.message);
        return;
      }
      throw e;
    }
    throw new Error('login with a wrong password succeeded');
  }
  await producer.connect();
  for (let i = 0; i < 3; i++) {
    await producer.send({ topic, messages: [{ value: `js-${i}`, headers: { author: user } }] });
  }
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const high = offsets.reduce((n, o) => n + Number(o.high), 0);
  if (high < 3) throw new Error(`only ${high} records in ${topic}`);
  // Read them back in a consumer group over the same authenticated connection kind.
  const consumer = kafka.consumer({ groupId: `auth-js-${user}-${Date.now()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`consumed only ${seen.length} of ${high}`)), 30000);
    consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value.toString());
        if (seen.length >= high) { clearTimeout(timer); resolve(); }
      },
    }).catch(reject);
  });
  await consumer.disconnect();
  if (!seen.includes('js-0')) throw new Error(`did not read back js-0: ${seen}`);
  console.log('OK', high);
}

main().catch((e) => { console.error(e); process.exit(1); });
