// SASL interop check for kafkajs.
// usage: node auth_kafkajs.js BOOTSTRAP MECHANISM USER PASSWORD TOPIC MODE
// MODE ok: produce three records and check the topic's end offset, print "OK <n>";
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
  // Consuming needs the group APIs (another branch); check the records landed instead.
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const high = offsets.reduce((n, o) => n + Number(o.high), 0);
  if (high < 3) throw new Error(`only ${high} records in ${topic}`);
  console.log('OK', high);
}

main().catch((e) => { console.error(e); process.exit(1); });
