//! `bbs-bench fanout`: one producer at a fixed rate, N consumers each in its own group with
//! its own poll-loop thread (the BBS's shape: every client session is a group). Reports how
//! many messages each consumer got, the produce-to-poll latency p50/p99/max over all
//! deliveries, and that latency split per message into the time to its first consumer and
//! from there to its last (see `delivered`). Runs against any Kafka-compatible broker; the
//! suite also runs the same shape on Redis Streams ([`crate::redis::fanout`]: `XREAD
//! BLOCK`, one connection and thread per consumer) as the peer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use client::{Client, ClientConfig, ConsumerConfig, NewTopic, OffsetReset, ProducerConfig, Record};

use crate::delivered::{Delivered, PerMessage};
use crate::fanout_procs;
use crate::stats::Samples;

/// Options of `bbs-bench fanout`.
#[derive(clap::Args, Debug)]
pub(crate) struct FanoutArgs {
    /// The broker (`host:port`).
    #[arg(long, required_unless_present = "redis")]
    bootstrap: Option<String>,
    /// Run the same shape on this Redis server (`host:port`) instead of a broker, as the
    /// suite's peer does (for profiling either side on its own).
    #[arg(long, conflicts_with = "bootstrap")]
    redis: Option<String>,
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
    /// Consumers per bench process; the rest run in helper processes (default: as many
    /// as the open-file limit fits, five descriptors each).
    #[arg(long)]
    per_process: Option<usize>,
    /// Bare consumers instead of our client's: one blocking socket and a Fetch loop
    /// each, no group (the broker's share of the latency alone, as the Redis peer's
    /// consumers are bare).
    #[arg(long, conflicts_with = "redis")]
    raw: bool,
}

/// What one fan-out run saw.
#[derive(Debug, Default)]
pub(crate) struct Fanout {
    pub consumers: usize,
    /// Messages produced.
    pub messages: usize,
    /// Consumers that received every message.
    pub complete: usize,
    /// Consumers that could not even start (refused connection, …), with the first reason.
    pub failed: usize,
    pub first_failure: Option<String>,
    /// One latency per delivery.
    pub latency: Samples,
    /// Each message's first and last delivery.
    pub per_message: PerMessage,
    /// Reads that brought records (polls that returned some, `XREAD`s): deliveries per
    /// read say how much the consumers batch, i.e. how far behind the stream they run.
    pub reads: usize,
    /// How long the producer took to send every message: the rate the consumers were
    /// really offered is `messages / produced_in` (a producer that waits for each reply
    /// falls behind the asked rate when the server is saturated, and offers less).
    pub produced_in: Duration,
}

impl Fanout {
    /// Messages per second the producer actually sent.
    pub(crate) fn offered_rate(&self) -> f64 {
        self.messages as f64 / self.produced_in.as_secs_f64().max(1e-9)
    }

    /// Says what rate the run really offered when its producer fell behind the asked one
    /// (a figure at a lower rate is not the asked workload's); empty otherwise.
    pub(crate) fn behind(&self, rate: u32) -> String {
        let offered = self.offered_rate();
        if offered < 0.98 * f64::from(rate) {
            format!(" at {offered:.0}/s offered")
        } else {
            String::new()
        }
    }

    /// One summary line.
    pub(crate) fn line(&mut self) -> String {
        let mut line = format!(
            "offered={:.1}/s consumers={} messages={} delivered={}/{} complete={}/{} p50={:.2}ms p99={:.2}ms max={:.2}ms",
            self.offered_rate(),
            self.consumers,
            self.messages,
            self.latency.len(),
            self.messages * self.consumers,
            self.complete,
            self.consumers,
            self.latency.ms(0.5),
            self.latency.ms(0.99),
            self.latency.ms(1.0),
        );
        line += &format!(
            " per-read={:.2}",
            self.latency.len() as f64 / self.reads.max(1) as f64
        );
        let (mut first, mut spread) = self.per_message.first_and_spread();
        line += &format!(
            " to-first={:.2}/{:.2}ms first-to-last={:.2}/{:.2}ms",
            first.ms(0.5),
            first.ms(0.99),
            spread.ms(0.5),
            spread.ms(0.99)
        );
        if let Some(first) = &self.first_failure {
            line += &format!(" failed={} (the first: {first})", self.failed);
        }
        line
    }
}

pub(crate) fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Runs the fan-out and prints one summary line; fails when a message was not delivered.
pub(crate) fn run(args: FanoutArgs) -> Result<()> {
    let mut f = match (&args.bootstrap, &args.redis) {
        (_, Some(addr)) => crate::redis::fanout(addr, args.consumers, args.rate, args.seconds)?,
        (Some(b), None) if args.raw => {
            crate::rawfan::run(b, &args.topic, args.consumers, args.rate, args.seconds)?
        }
        (Some(b), None) => kafka(
            b,
            &args.topic,
            args.consumers,
            args.rate,
            args.seconds,
            args.per_process,
        )?,
        (None, None) => bail!("give --bootstrap or --redis"),
    };
    println!("fanout rate={}/s {}", args.rate, f.line());
    if let Some(e) = &f.first_failure {
        bail!("{} consumers failed; the first: {e}", f.failed);
    }
    if f.complete < args.consumers {
        bail!("{} consumers missed messages", args.consumers - f.complete);
    }
    Ok(())
}

/// Paces `total` sends at `rate` per second; returns how long sending them took.
pub(crate) fn paced(
    rate: u32,
    total: usize,
    mut send: impl FnMut(usize) -> Result<()>,
) -> Result<Duration> {
    let period = Duration::from_secs(1) / rate.max(1);
    let t0 = Instant::now();
    for seq in 0..total {
        let due = t0 + period * seq as u32;
        if let Some(d) = due.checked_duration_since(Instant::now()) {
            thread::sleep(d);
        }
        send(seq)?;
    }
    // The last send is due at (total - 1) periods: count one more so that an on-time run
    // reads as exactly `rate`.
    Ok(t0.elapsed() + period)
}

/// Gathers the consumers' results.
pub(crate) fn gather(rx: mpsc::Receiver<Consumed>, consumers: usize, total: usize) -> Fanout {
    let mut f = Fanout {
        consumers,
        messages: total,
        ..Fanout::default()
    };
    for got in rx {
        match got {
            Ok((d, reads)) => {
                if d.len() == total {
                    f.complete += 1;
                }
                for (seq, us) in d.iter() {
                    f.latency.push_us(us);
                    f.per_message.add(seq, us);
                }
                f.reads += reads;
            }
            Err(e) => {
                f.failed += 1;
                f.first_failure.get_or_insert(e);
            }
        }
    }
    f
}

/// What one consumer reports: its deliveries and how many reads brought them, or why it
/// failed.
pub(crate) type Consumed = Result<(Delivered, usize), String>;

/// Starts the consumers `which`, each on its own thread running the body `make(i, ready)`
/// returns (the body counts itself in `ready` once positioned), and waits until every one
/// that did not fail is positioned; their results come on the receiver. Shared by our
/// client's, the bare and the Redis consumers.
pub(crate) fn start_all<B>(
    which: std::ops::Range<usize>,
    mut make: impl FnMut(usize, Arc<AtomicUsize>) -> B,
) -> Result<mpsc::Receiver<Consumed>>
where
    B: FnOnce() -> Result<(Delivered, usize)> + Send + 'static,
{
    let ready = Arc::new(AtomicUsize::new(0));
    let gone = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<Consumed>();
    let count = which.len();
    for i in which {
        spawn_consumer(tx.clone(), gone.clone(), make(i, ready.clone()))?;
    }
    drop(tx);
    wait_ready(&ready, &gone, count)?;
    Ok(rx)
}

/// Runs one consumer on its own small-stack thread; its result goes to `tx`, and a
/// consumer that failed counts as `gone` so the producer does not wait for it.
fn spawn_consumer(
    tx: mpsc::Sender<Consumed>,
    gone: Arc<AtomicUsize>,
    body: impl FnOnce() -> Result<(Delivered, usize)> + Send + 'static,
) -> Result<()> {
    thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(move || {
            let got = body();
            if got.is_err() {
                gone.fetch_add(1, Ordering::SeqCst);
            }
            let _ = tx.send(got.map_err(|e| format!("{e:#}")));
        })
        .context("spawning a consumer thread")?;
    Ok(())
}

/// Waits until `ready` consumers (or every consumer that has not failed) are positioned.
fn wait_ready(ready: &AtomicUsize, gone: &AtomicUsize, consumers: usize) -> Result<()> {
    let start = Instant::now();
    while ready.load(Ordering::SeqCst) + gone.load(Ordering::SeqCst) < consumers {
        if start.elapsed() > Duration::from_secs(300) {
            bail!(
                "only {} of {consumers} consumers were positioned after 300 s",
                ready.load(Ordering::SeqCst)
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Fan-out through a Kafka-protocol broker with our client.
pub(crate) fn kafka(
    bootstrap: &str,
    topic: &str,
    consumers: usize,
    rate: u32,
    seconds: u64,
    per_process: Option<usize>,
) -> Result<Fanout> {
    let config = ClientConfig::new(bootstrap).client_id("bbs-bench");
    let client = Client::connect(config.clone()).context("connecting")?;
    ensure_topic(&client, topic)?;
    let total = (u64::from(rate) * seconds) as usize;
    let run_id = std::process::id();
    // Consumers beyond this process's open-file limit run in helper processes.
    let per_proc = per_process.unwrap_or_else(fanout_procs::per_process).max(1);
    let own = consumers.min(per_proc);
    let run = fanout_procs::Run {
        bootstrap,
        topic,
        consumers,
        total,
        run_id,
        seconds,
    };
    let mut parts = fanout_procs::spawn(&run, own, per_proc)?;
    let rx = start_consumers(&run, config, 0..own)?;
    parts.wait_ready()?;
    let produced_in = produce(&client, topic, rate, total, consumers)?;
    let mut f = Fanout {
        produced_in,
        ..gather(rx, own, total)
    };
    parts.gather_into(&mut f)?;
    Ok(f)
}

/// Creates the one-partition `topic` unless it exists.
pub(crate) fn ensure_topic(client: &Client, topic: &str) -> Result<()> {
    match client.admin().create_topics(&[NewTopic::new(topic, 1)]) {
        Ok(()) => Ok(()),
        Err(e) if e.kafka_code() == Some(client::ErrorCode::TOPIC_ALREADY_EXISTS) => Ok(()),
        Err(e) => Err(e).context("creating the topic"),
    }
}

/// Produces `total` messages stamped with their send time to `topic` at `rate`; returns
/// how long sending took. No linger: each message goes out at once, as Redis's XADD does;
/// the figure is the broker's fan-out, not the producer's batching delay.
pub(crate) fn produce(
    client: &Client,
    topic: &str,
    rate: u32,
    total: usize,
    consumers: usize,
) -> Result<Duration> {
    let producer = client.producer(ProducerConfig::default().linger(Duration::ZERO))?;
    tracing::info!(consumers, "fan-out: producing");
    let produced_in = paced(rate, total, |seq| {
        producer.send(Record::new(topic).value(format!("{} {seq}", now_us())))?;
        Ok(())
    })?;
    producer.flush()?;
    tracing::info!(consumers, "fan-out: produced");
    Ok(produced_in)
}

/// Starts consumers `which` of `run`, each in its own group on its own thread, and waits
/// until every one that did not fail is positioned; their results come on the receiver.
pub(crate) fn start_consumers(
    run: &fanout_procs::Run,
    config: ClientConfig,
    which: std::ops::Range<usize>,
) -> Result<mpsc::Receiver<Consumed>> {
    let (total, horizon) = (run.total, Duration::from_secs(run.seconds + 60));
    start_all(which, |i, ready| {
        let (config, topic) = (config.clone(), run.topic.to_string());
        let group = format!("bbs-fanout-{}-{i}-{}", run.run_id, run.consumers);
        move || consume(config, &topic, &group, total, &ready, horizon)
    })
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
) -> Result<(Delivered, usize)> {
    let client = Client::connect(config)?;
    let mut consumer = client.consumer(
        ConsumerConfig::group(group)
            .subscribe(&[topic])
            .offset_reset(OffsetReset::Latest),
    )?;
    let deadline = Instant::now() + horizon;
    let mut positioned = false;
    let mut lat = Delivered::new(total);
    let mut reads = 0;
    while lat.len() < total && Instant::now() < deadline {
        // Long polls, as the Redis peer's consumers block in XREAD for 30 s: a consumer
        // waiting for a late answer does not wake to look meanwhile.
        let got = consumer.poll(Duration::from_secs(1))?;
        reads += usize::from(!got.is_empty());
        let now = now_us();
        for r in got {
            lat.note(&r.value_str(), now);
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
    Ok((lat, reads))
}
