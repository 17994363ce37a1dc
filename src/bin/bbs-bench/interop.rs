//! `bbs-bench interop`: our client against any Kafka-compatible broker, with a verdict.
//! It creates a topic, produces with acks=all, then reads everything back three ways: a
//! manually assigned consumer from the earliest offset, a group consumer from the earliest
//! offset, and a group consumer from the latest offset that must see records produced after
//! it joined. It also checks that producing to a topic the broker does not have fails with
//! a clear message instead of hanging. Used by `scripts/interop-tansu.sh` and, through
//! `bbs-bench capture`, to record the exchanges `tests/client_replay.rs` replays.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use client::{
    Client, ClientConfig, ConsumerConfig, NewTopic, OffsetReset, ProducerConfig, Record,
    TopicPartition,
};

/// Options of `bbs-bench interop`.
#[derive(clap::Args, Debug)]
pub(crate) struct InteropArgs {
    /// The broker (`host:port`).
    #[arg(long)]
    bootstrap: String,
    /// The topic to create and use.
    #[arg(long, default_value = "bbs-interop")]
    topic: String,
    /// Partitions of the topic.
    #[arg(long, default_value_t = 3)]
    partitions: i32,
    /// Records produced before reading.
    #[arg(long, default_value_t = 100)]
    records: usize,
    /// Longest wait for each reading step.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
    /// Names this run's groups and its missing topic (default: the process id). A replay
    /// of a capture passes the captured run's id so the requests match byte for byte.
    #[arg(long)]
    run_id: Option<u32>,
}

/// Runs every step; fails (exit code 1) naming the first one that did not work.
pub(crate) fn run(args: InteropArgs) -> Result<()> {
    let client = Client::connect(ClientConfig::new(&args.bootstrap).client_id("bbs-bench"))
        .with_context(|| format!("connecting to {}", args.bootstrap))?;
    let wait = Duration::from_secs(args.timeout_secs);
    let admin = client.admin();
    match admin.create_topics(&[NewTopic::new(&args.topic, args.partitions)]) {
        Ok(()) => println!("create topic {}: ok", args.topic),
        Err(e) if e.kafka_code() == Some(client::ErrorCode::TOPIC_ALREADY_EXISTS) => {
            println!("create topic {}: exists", args.topic)
        }
        Err(e) => return Err(e).context("creating the topic"),
    }
    let first = produce(&client, &args.topic, "early", args.records)?;
    println!("produce {} records (acks=all): ok", args.records);

    let meta = client.refresh_metadata(&[&args.topic])?;
    let n = meta.partition_count(&args.topic).unwrap_or(0);
    let parts: Vec<TopicPartition> = (0..n as i32)
        .map(|p| TopicPartition::new(&args.topic, p))
        .collect();
    let manual = ConsumerConfig::manual()
        .assign(&parts)
        .offset_reset(OffsetReset::Earliest);
    check(
        "manual assignment, earliest",
        &client,
        manual,
        &first,
        wait,
        None,
    )?;

    let run_id = args.run_id.unwrap_or_else(std::process::id);
    println!("run id {run_id}");
    let group = format!("bbs-bench-interop-{run_id}");
    let grouped = ConsumerConfig::group(&format!("{group}-a"))
        .subscribe(&[&args.topic])
        .offset_reset(OffsetReset::Earliest);
    check("group, earliest", &client, grouped, &first, wait, None)?;

    let latest = ConsumerConfig::group(&format!("{group}-b"))
        .subscribe(&[&args.topic])
        .offset_reset(OffsetReset::Latest);
    let later: BTreeSet<String> = (0..args.records).map(|i| format!("late-{i}")).collect();
    check(
        "group, latest",
        &client,
        latest,
        &later,
        wait,
        Some((&args.topic, args.records)),
    )?;

    let missing = format!("{}-missing-{run_id}", args.topic);
    let producer = client.producer(ProducerConfig {
        max_block: Some(Duration::from_secs(3)),
        ..ProducerConfig::default()
    })?;
    match producer
        .send(Record::new(&missing).value("x"))
        .and_then(|d| d.wait())
    {
        Ok(_) => println!("produce to a missing topic: the broker created {missing}"),
        Err(e) => println!("produce to a missing topic: refused: {e}"),
    }
    println!("verdict: ok");
    Ok(())
}

/// Produces `n` records `<tag>-<i>` and waits for every acknowledgement.
fn produce(client: &Client, topic: &str, tag: &str, n: usize) -> Result<BTreeSet<String>> {
    let producer = client.producer(ProducerConfig::default())?;
    let mut handles = Vec::with_capacity(n);
    let mut values = BTreeSet::new();
    for i in 0..n {
        let value = format!("{tag}-{i}");
        handles.push(producer.send(Record::new(topic).key(i.to_string()).value(value.clone()))?);
        values.insert(value);
    }
    for h in handles {
        h.wait().context("an acknowledgement")?;
    }
    producer.close()?;
    Ok(values)
}

/// Polls a consumer made from `config` until it has read every value of `want`, or fails
/// after `wait`. With `then_produce`, the records are produced once the consumer is
/// positioned (for a consumer that starts at the latest offset).
fn check(
    what: &str,
    client: &Client,
    config: ConsumerConfig,
    want: &BTreeSet<String>,
    wait: Duration,
    then_produce: Option<(&str, usize)>,
) -> Result<()> {
    let mut consumer = client.consumer(config)?;
    let deadline = Instant::now() + wait;
    let mut produced = then_produce.is_none();
    let mut seen = BTreeSet::new();
    while seen.len() < want.len() && Instant::now() < deadline {
        for r in consumer.poll(Duration::from_millis(200))? {
            let v = r.value_str().into_owned();
            if want.contains(&v) {
                seen.insert(v);
            }
        }
        if !produced {
            let assigned = consumer.assignment();
            if !assigned.is_empty() && assigned.iter().all(|tp| consumer.position(tp).is_some()) {
                if let Some((topic, n)) = then_produce {
                    produce(client, topic, "late", n)?;
                }
                produced = true;
            }
        }
    }
    let _ = consumer.close();
    if seen.len() < want.len() {
        bail!(
            "{what}: read {} of {} records in {wait:?}",
            seen.len(),
            want.len()
        );
    }
    println!(
        "consume ({what}): {} of {} records: ok",
        seen.len(),
        want.len()
    );
    Ok(())
}
