//! `bbs-bench fanout`: one producer at a fixed rate, N consumers each in its own group with
//! its own poll-loop thread (the BBS's shape: every client session is a group). Reports how
//! many messages each consumer got and the produce-to-poll latency p50/p99/max over all
//! deliveries. Runs against any Kafka-compatible broker.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use client::{Client, ClientConfig, ConsumerConfig, NewTopic, OffsetReset, ProducerConfig, Record};

/// Options of `bbs-bench fanout`.
#[derive(clap::Args, Debug)]
pub struct FanoutArgs {
    /// The broker (`host:port`).
    #[arg(long)]
    bootstrap: String,
    /// Consumers, each in its own group.
    #[arg(long, default_value_t = 50)]
    consumers: usize,
    /// Messages per second.
    #[arg(long, default_value_t = 100)]
    rate: u32,
    /// How long the producer runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The topic (one partition; created when missing).
    #[arg(long, default_value = "bbs-fanout")]
    topic: String,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Runs the fan-out and prints one summary line; fails when a message was not delivered.
pub fn run(args: FanoutArgs) -> Result<()> {
    let config = ClientConfig::new(&args.bootstrap).client_id("bbs-bench");
    let client = Client::connect(config.clone()).context("connecting")?;
    match client
        .admin()
        .create_topics(&[NewTopic::new(&args.topic, 1)])
    {
        Ok(()) => {}
        Err(e) if e.kafka_code() == Some(client::ErrorCode::TOPIC_ALREADY_EXISTS) => {}
        Err(e) => return Err(e).context("creating the topic"),
    }
    let total = (u64::from(args.rate) * args.seconds) as usize;
    let ready = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<Result<Vec<u64>, String>>();
    let run_id = std::process::id();
    let horizon = Duration::from_secs(args.seconds + 30);
    for i in 0..args.consumers {
        let (config, topic, ready, tx) = (
            config.clone(),
            args.topic.clone(),
            ready.clone(),
            tx.clone(),
        );
        thread::spawn(move || {
            let got = consume(
                config,
                &topic,
                &format!("bbs-fanout-{run_id}-{i}"),
                total,
                &ready,
                horizon,
            );
            let _ = tx.send(got.map_err(|e| format!("{e:#}")));
        });
    }
    drop(tx);
    let start = Instant::now();
    while ready.load(Ordering::SeqCst) < args.consumers {
        if start.elapsed() > Duration::from_secs(60) {
            bail!(
                "only {} of {} consumers were positioned after 60 s",
                ready.load(Ordering::SeqCst),
                args.consumers
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
    let producer = client.producer(ProducerConfig::default())?;
    let period = Duration::from_secs(1) / args.rate.max(1);
    let t0 = Instant::now();
    for seq in 0..total {
        let due = t0 + period * seq as u32;
        if let Some(d) = due.checked_duration_since(Instant::now()) {
            thread::sleep(d);
        }
        producer.send(Record::new(&args.topic).value(format!("{} {seq}", now_us())))?;
    }
    producer.flush()?;
    let mut lat = Vec::new();
    let (mut complete, mut failed) = (0usize, Vec::new());
    for got in rx {
        match got {
            Ok(v) => {
                if v.len() == total {
                    complete += 1;
                }
                lat.extend(v);
            }
            Err(e) => failed.push(e),
        }
    }
    lat.sort_unstable();
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i] as f64 / 1000.0
    };
    println!(
        "fanout consumers={} rate={}/s messages={total} delivered={}/{} complete={}/{} \
         p50={:.2}ms p99={:.2}ms max={:.2}ms",
        args.consumers,
        args.rate,
        lat.len(),
        total * args.consumers,
        complete,
        args.consumers,
        pct(0.50),
        pct(0.99),
        pct(1.0),
    );
    if let Some(e) = failed.first() {
        bail!("{} consumers failed; the first: {e}", failed.len());
    }
    if complete < args.consumers {
        bail!("{} consumers missed messages", args.consumers - complete);
    }
    Ok(())
}

/// One consumer's life: join its own group at the latest offset, say it is positioned,
/// then collect the latency of each of `total` messages.
fn consume(
    config: ClientConfig,
    topic: &str,
    group: &str,
    total: usize,
    ready: &AtomicUsize,
    horizon: Duration,
) -> Result<Vec<u64>> {
    let client = Client::connect(config)?;
    let mut consumer = client.consumer(
        ConsumerConfig::group(group)
            .subscribe(&[topic])
            .offset_reset(OffsetReset::Latest),
    )?;
    let deadline = Instant::now() + horizon;
    let mut positioned = false;
    let mut lat = Vec::with_capacity(total);
    while lat.len() < total && Instant::now() < deadline {
        for r in consumer.poll(Duration::from_millis(100))? {
            let sent = r
                .value_str()
                .split(' ')
                .next()
                .and_then(|s| s.parse::<u64>().ok());
            if let Some(sent) = sent {
                lat.push(now_us().saturating_sub(sent));
            }
        }
        if !positioned {
            let a = consumer.assignment();
            if !a.is_empty() && a.iter().all(|tp| consumer.position(tp).is_some()) {
                positioned = true;
                ready.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    let _ = consumer.close();
    Ok(lat)
}
