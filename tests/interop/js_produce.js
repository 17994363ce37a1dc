// kafkajs 2.2.4: produce records with keys, binary values and headers to a 3-partition topic
// with each codec kafkajs has built in (none, gzip; snappy/lz4/zstd need add-on packages),
// and write a JSON manifest of what was acknowledged (partition, offset, key, value, headers)
// for verify_manifest.py to read back byte for byte.
//
// usage: node js_produce.js BOOTSTRAP TOPIC_PREFIX MANIFEST_DIR
const fs = require('fs');
const path = require('path');
const { Kafka, CompressionTypes, logLevel } = require('kafkajs');

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}

if (process.argv.length !== 5) fail('usage: js_produce.js BOOTSTRAP TOPIC_PREFIX MANIFEST_DIR');
const [bootstrap, prefix, outDir] = process.argv.slice(2);

// A small deterministic generator (xorshift) so runs are repeatable.
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

function records(seed, n, partitions) {
  const r = rng(seed);
  const out = [];
  for (let i = 0; i < n; i++) {
    const key = i % 7 === 3 ? null : Buffer.concat([Buffer.from(`js-key-${i}-`), Buffer.from([r() & 255, r() & 255])]);
    const sizes = [0, 1, 17, 100, 1000, 4000];
    const size = sizes[r() % sizes.length];
    let value;
    if (i % 13 === 9 && key !== null) value = null;
    else if (i % 2 === 0) value = Buffer.from(Array.from({ length: size }, () => r() & 255));
    else value = Buffer.from(`compressible ${i} `.repeat(Math.floor(size / 16) + 1)).subarray(0, size);
    const headers = {};
    for (let j = 0; j < i % 4; j++) headers[`hdr-${j}`] = Buffer.from(`hv${i}.${j}\u00e9`);
    out.push({ partition: i % partitions, key, value, headers });
  }
  return out;
}

const hex = (b) => (b === null ? null : b.toString('hex'));

async function main() {
  const kafka = new Kafka({ clientId: 'bbs-interop-js', brokers: [bootstrap], logLevel: logLevel.NOTHING,
    retry: { retries: 5 } });
  const admin = kafka.admin();
  await admin.connect();
  const codecs = [['none', CompressionTypes.None], ['gzip', CompressionTypes.GZIP]];
  for (const [name] of codecs) {
    const ok = await admin.createTopics({ topics: [{ topic: `${prefix}-${name}`, numPartitions: 3 }], waitForLeaders: true });
    if (!ok) fail(`topic ${prefix}-${name} was not created`);
  }
  await admin.disconnect();
  for (const [idx, [name, codec]] of codecs.entries()) {
    const topic = `${prefix}-${name}`;
    const producer = kafka.producer({ idempotent: idx === 0, maxInFlightRequests: 1 });
    await producer.connect();
    const recs = records(3000 + idx, 120, 3);
    const manifest = [];
    // Several sends of 30 messages each; offsets are the partition's base offset plus the
    // message's position among that send's messages for the partition.
    for (let start = 0; start < recs.length; start += 30) {
      const chunk = recs.slice(start, start + 30);
      const meta = await producer.send({
        topic, acks: -1, compression: codec,
        messages: chunk.map((m) => ({ partition: m.partition, key: m.key, value: m.value, headers: m.headers })),
      });
      const base = {};
      for (const m of meta) {
        if (m.errorCode !== 0) fail(`${topic}: partition ${m.partition} error ${m.errorCode}`);
        base[m.partition] = BigInt(m.baseOffset);
      }
      const seen = {};
      for (const m of chunk) {
        const k = seen[m.partition] || 0n;
        seen[m.partition] = k + 1n;
        if (base[m.partition] === undefined) fail(`${topic}: no ack for partition ${m.partition}`);
        manifest.push({
          p: m.partition, o: Number(base[m.partition] + k), k: hex(m.key), v: hex(m.value),
          h: Object.entries(m.headers).map(([hk, hv]) => [hk, hv.toString('hex')]),
        });
      }
    }
    await producer.disconnect();
    fs.writeFileSync(path.join(outDir, `${topic}.json`), JSON.stringify(manifest));
    console.log(`OK kafkajs produced codec=${name} records=${manifest.length}`);
  }
}

const timer = setTimeout(() => fail('timed out after 60 s'), 60000);
main().then(() => { clearTimeout(timer); }).catch((e) => fail(e && e.stack ? e.stack : String(e)));
