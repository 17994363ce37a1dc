//! W6: start-up time, empty and after SIGKILL with a large log. Starts the server on an empty
//! data directory (time to its first answered request), writes `megabytes` of acknowledged
//! 1 KB records with our client, kills the server with SIGKILL, starts it again on the same
//! directory, and checks that every acknowledged record is still there (the high watermark
//! is past the last acknowledged offset).

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};
use client::{Client, ClientConfig, NewTopic, ProducerConfig, Record, TopicPartition};

use crate::procs::Server;

/// Start-up times and the recovered log.
#[derive(Debug, Default)]
pub(crate) struct Restart {
    pub empty_ms: f64,
    pub after_kill_ms: f64,
    pub megabytes: usize,
    pub acknowledged: i64,
    pub recovered: i64,
}

/// Runs W6 with its own server on `data`.
pub(crate) fn measure(server_bin: &Path, data: &Path, megabytes: usize) -> Result<Restart> {
    let (mut server, empty) = Server::start(server_bin, data, &[])?;
    let client = Client::connect(ClientConfig::new(&server.addr).client_id("bbs-bench"))?;
    client
        .admin()
        .create_topics(&[NewTopic::new("bench-restart", 1)])?;
    let producer = client.producer(ProducerConfig::default())?;
    let value = bytes::Bytes::from(vec![b'r'; 1000]);
    let n = megabytes * 1000;
    let mut last = None;
    for _ in 0..n {
        last = Some(producer.send(Record::new("bench-restart").value(value.clone()))?);
    }
    producer.flush()?;
    let acknowledged = match last {
        Some(h) => h.wait()?.offset,
        None => -1,
    };
    drop(producer);
    drop(client);
    server.kill9();
    let after = server.restart()?;
    let client = Client::connect(ClientConfig::new(&server.addr).client_id("bbs-bench"))?;
    let tp = TopicPartition::new("bench-restart", 0);
    let ends = client.admin().end_offsets(std::slice::from_ref(&tp))?;
    let recovered = ends.get(&tp).copied().unwrap_or(-1);
    if recovered <= acknowledged {
        bail!("after SIGKILL the log ends at {recovered}; offset {acknowledged} was acknowledged");
    }
    Ok(Restart {
        empty_ms: ms(empty),
        after_kill_ms: ms(after),
        megabytes,
        acknowledged,
        recovered,
    })
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
