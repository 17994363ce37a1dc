//! `bbs-bench fanout --raw`: the fan-out with bare consumers, to tell the broker's share of
//! the latency from our client's. Each consumer is what the Redis peer's is: one thread,
//! one blocking socket, a loop of one Fetch (v12, `wire::fetch`) and one read of its
//! answer, no group and no client library. It starts at the partition's end, asked once
//! through the client's admin before the consumers start.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};

use std::time::Duration;

use anyhow::{bail, Context, Result};
use bytes::{Bytes, BytesMut};
use client::{Client, ClientConfig, TopicPartition};
use kafka_protocol::messages::ApiKey;
use wire::fetch::{FetchParams, FetchPart};

use crate::delivered::Delivered;
use crate::fanout::Fanout;
use crate::fanout::{gather, now_us, start_all};

/// The Fetch version the bare consumers speak (the newest with topic names).
const VERSION: i16 = wire::fetch::MAX_VERSION;

/// Runs the fan-out with `consumers` bare consumers against `bootstrap`.
pub(crate) fn run(
    bootstrap: &str,
    topic: &str,
    consumers: usize,
    rate: u32,
    seconds: u64,
) -> Result<Fanout> {
    let client = Client::connect(ClientConfig::new(bootstrap).client_id("bbs-bench"))
        .context("connecting")?;
    crate::fanout::ensure_topic(&client, topic)?;
    let tp = TopicPartition::new(topic, 0);
    let start = client
        .admin()
        .end_offsets(std::slice::from_ref(&tp))
        .context("finding the partition's end")?
        .get(&tp)
        .copied()
        .context("no end offset for the partition")?;
    let total = (u64::from(rate) * seconds) as usize;
    let rx = start_all(0..consumers, |_, ready| {
        let (addr, topic) = (bootstrap.to_string(), topic.to_string());
        move || consume(&addr, &topic, start, total, &ready)
    })?;
    let produced_in = crate::fanout::produce(&client, topic, rate, total, consumers)?;
    Ok(Fanout {
        produced_in,
        ..gather(rx, consumers, total)
    })
}

/// One bare consumer: fetch from `offset` until `total` records came.
fn consume(
    addr: &str,
    topic: &str,
    mut offset: i64,
    total: usize,
    ready: &AtomicUsize,
) -> Result<(Delivered, usize)> {
    let mut stream = TcpStream::connect(addr).context("connecting")?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    ready.fetch_add(1, Ordering::SeqCst);
    let params = FetchParams {
        max_wait_ms: 500,
        min_bytes: 1,
        max_bytes: 50 << 20,
        isolation_level: 0,
    };
    let mut lat = Delivered::new(total);
    let (mut reads, mut id) = (0, 0);
    let mut out = BytesMut::new();
    while lat.len() < total {
        id += 1;
        out.clear();
        let part = FetchPart {
            topic,
            partition: 0,
            offset,
            max_bytes: 1 << 20,
        };
        wire::fetch::put_request(&mut out, VERSION, id, "raw", &params, &[part])?;
        stream.write_all(&out)?;
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).context("reading an answer")?;
        let n = wire::frame::body_len(len, 64 << 20)?;
        let mut body = vec![0u8; n];
        stream.read_exact(&mut body)?;
        let mut frame = Bytes::from(body);
        wire::header::skip_response_header(&mut frame, ApiKey::Fetch, VERSION)?;
        let mut batches = None;
        let top = wire::fetch::read_response(&frame, VERSION, |p| {
            if p.error_code == 0 {
                batches = p.records;
            }
        })?;
        if top != 0 {
            bail!("fetch error {top}");
        }
        let Some(data) = batches.filter(|b| !b.is_empty()) else {
            continue;
        };
        let mut records = Vec::new();
        offset = client::records::decode_batches(topic, 0, data, offset, &mut records)?;
        reads += usize::from(!records.is_empty());
        let now = now_us();
        for r in records {
            lat.note(&r.value_str(), now);
        }
    }
    Ok((lat, reads))
}
