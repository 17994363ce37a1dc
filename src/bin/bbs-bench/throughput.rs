//! W1 durable produce and W2 consume: N records of 100 bytes, acks=all (acknowledged after
//! fsync), through our client and through kcat (librdkafka) against the same server in the
//! same run; each figure is the median of `runs` repetitions on fresh topics. The single
//! paths (`produce`, `consume`, `kcat_produce`, `kcat_consume`) are also what
//! `bbs-bench scaleout` runs against the upstream and through front servers.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use client::{
    Client, ClientConfig, ConsumerConfig, NewTopic, OffsetReset, ProducerConfig, Record,
    TopicPartition,
};

use crate::stats::median;

const VALUE: usize = 100;

/// Records per second of each path; `None` for kcat when it is not installed.
#[derive(Debug, Default)]
pub(crate) struct Throughput {
    pub ours_produce: f64,
    pub kcat_produce: Option<f64>,
    pub ours_consume: f64,
    pub kcat_consume: Option<f64>,
}

/// Whether kcat is on PATH.
pub(crate) fn have_kcat() -> bool {
    Command::new("kcat")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs W1 and W2 `runs` times against `addr`; `scratch` holds kcat's input file.
pub(crate) fn measure(
    addr: &str,
    records: usize,
    runs: usize,
    scratch: &Path,
) -> Result<Throughput> {
    let client = Client::connect(ClientConfig::new(addr).client_id("bbs-bench"))?;
    let kcat = have_kcat();
    let input = scratch.join("kcat-input");
    if kcat {
        write_kcat_input(&input, records)?;
    }
    let (mut op, mut kp, mut oc, mut kc) = (vec![], vec![], vec![], vec![]);
    for run in 0..runs.max(1) {
        let ours = format!("bench-ours-{run}");
        let theirs = format!("bench-kcat-{run}");
        client
            .admin()
            .create_topics(&[NewTopic::new(&ours, 1), NewTopic::new(&theirs, 1)])
            .context("creating the topics")?;
        op.push(records as f64 / produce(&client, &ours, records)?.as_secs_f64());
        oc.push(records as f64 / consume(&client, &ours, records)?.as_secs_f64());
        if kcat {
            kp.push(records as f64 / kcat_produce(addr, &theirs, &input)?.as_secs_f64());
            kc.push(records as f64 / kcat_consume(addr, &ours, records)?.as_secs_f64());
        }
    }
    let _ = std::fs::remove_file(&input);
    Ok(Throughput {
        ours_produce: median(op),
        kcat_produce: kcat.then(|| median(kp)),
        ours_consume: median(oc),
        kcat_consume: kcat.then(|| median(kc)),
    })
}

/// Writes kcat's input for `records` records: one line of `VALUE` bytes each.
pub(crate) fn write_kcat_input(path: &Path, records: usize) -> Result<()> {
    let mut f = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    let line = vec![b'x'; VALUE];
    for _ in 0..records {
        f.write_all(&line)?;
        f.write_all(b"\n")?;
    }
    f.flush()?;
    Ok(())
}

/// W1 through our client: `n` records of `VALUE` bytes to partition 0 of `topic` (which
/// starts empty), acks=all; the time from the first send to the last acknowledgement.
pub(crate) fn produce(client: &Client, topic: &str, n: usize) -> Result<Duration> {
    let producer = client.producer(ProducerConfig::default())?;
    let value = bytes::Bytes::from(vec![b'y'; VALUE]);
    let start = Instant::now();
    let mut last = None;
    for _ in 0..n {
        last = Some(producer.send(Record::new(topic).value(value.clone()))?);
    }
    producer.flush()?;
    let d = start.elapsed();
    if let Some(h) = last {
        let offset = h.wait()?.offset;
        if offset != n as i64 - 1 {
            bail!(
                "the last record landed at offset {offset}, expected {}",
                n - 1
            );
        }
    }
    producer.close()?;
    Ok(d)
}

/// W2 through our client: reads the `n` records of `topic` from the start.
pub(crate) fn consume(client: &Client, topic: &str, n: usize) -> Result<Duration> {
    let mut consumer = client.consumer(
        ConsumerConfig::manual()
            .assign(&[TopicPartition::new(topic, 0)])
            .offset_reset(OffsetReset::Earliest)
            .max_poll_records(10_000),
    )?;
    let start = Instant::now();
    let mut got = 0usize;
    while got < n {
        got += consumer.poll(Duration::from_secs(5))?.len();
        if start.elapsed() > Duration::from_secs(300) {
            bail!("our consumer stalled at {got} of {n}");
        }
    }
    Ok(start.elapsed())
}

/// W1 through kcat: the lines of `input` to `topic`, acks=all.
pub(crate) fn kcat_produce(addr: &str, topic: &str, input: &Path) -> Result<Duration> {
    let start = Instant::now();
    let out = Command::new("kcat")
        .args(["-P", "-b", addr, "-t", topic, "-X", "acks=all", "-l"])
        .arg(input)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("running kcat")?;
    if !out.status.success() {
        bail!("kcat -P: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(start.elapsed())
}

/// W2 through kcat: the first `n` records of `topic`, checked by their total size.
pub(crate) fn kcat_consume(addr: &str, topic: &str, n: usize) -> Result<Duration> {
    let start = Instant::now();
    let out = Command::new("kcat")
        .args(["-C", "-b", addr, "-t", topic, "-o", "beginning", "-e", "-q"])
        .args(["-c", &n.to_string(), "-f", "%s\n"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .context("running kcat")?;
    if !out.status.success() || out.stdout.len() != n * (VALUE + 1) {
        bail!(
            "kcat -C read {} bytes of {}: {}",
            out.stdout.len(),
            n * (VALUE + 1),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(start.elapsed())
}
