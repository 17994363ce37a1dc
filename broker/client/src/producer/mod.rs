//! The producer: [`Producer::send`] partitions a record (murmur2 on the key, like the Java
//! client), appends it to its partition's batch in the accumulator and returns a
//! [`DeliveryHandle`]; ready batches (full, lingered long enough, or flushed) go to each
//! partition's leader on the client's shared connection, several requests in flight, and
//! the handles complete from the responses (on the client's network thread).
//!
//! With linger 0 the caller's thread sends its record itself. A sender thread runs only
//! while something waits (lingering records, retries after a backoff, batches behind the
//! in-flight limit, closing) and ends when nothing is queued, so an idle or interactive
//! producer costs no thread. Defaults are acks=all and idempotence on.
//!
//! ```no_run
//! # use client::*;
//! # fn main() -> client::Result<()> {
//! let client = Client::connect(ClientConfig::new("127.0.0.1:9092"))?;
//! let producer = client.producer(ProducerConfig::default().compression(Compression::Gzip))?;
//! let handle = producer.send(Record::new("chat.general").key("42").value("hi"))?;
//! producer.flush()?;
//! assert!(handle.wait()?.offset >= 0);
//! # Ok(()) }
//! ```

mod accumulator;
mod config;
mod sender;

pub use config::{Acks, ProducerConfig};

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use wire::ErrorCode;

use bytes::Bytes;
use parking_lot::{Condvar, Mutex};

use super::cluster::Cluster;
use super::consumer::TopicPartition;
use super::partitioner::partition_for_key;
use super::records::BatchBuilder;
use super::util::now_ms;
use crate::error::{Error, Result};
use accumulator::{Accumulator, BatchOutcome};

/// A record to send.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// Topic.
    pub topic: String,
    /// Explicit partition; otherwise chosen by key (murmur2) or sticky for keyless records.
    pub partition: Option<i32>,
    /// Key.
    pub key: Option<Bytes>,
    /// Value (`None` is a tombstone).
    pub value: Option<Bytes>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Bytes>)>,
    /// Creation time in ms; now when unset.
    pub timestamp: Option<i64>,
}

impl Record {
    /// A record for `topic` with no key and no value yet.
    pub fn new(topic: &str) -> Self {
        Record {
            topic: topic.into(),
            ..Default::default()
        }
    }
    /// Sets the key.
    pub fn key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }
    /// Sets the value.
    pub fn value(mut self, value: impl Into<Bytes>) -> Self {
        self.value = Some(value.into());
        self
    }
    /// Adds a header.
    pub fn header(mut self, name: &str, value: impl Into<Bytes>) -> Self {
        self.headers.push((name.into(), Some(value.into())));
        self
    }
    /// Sends to this partition.
    pub fn partition(mut self, p: i32) -> Self {
        self.partition = Some(p);
        self
    }
}

/// Where a record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset (-1 with acks=0 or when the broker reported a duplicate).
    pub offset: i64,
    /// Log-append time if the topic uses it, else -1.
    pub log_append_time: i64,
}

/// The pending result of one [`Producer::send`].
#[derive(Debug)]
pub struct DeliveryHandle {
    /// Shared by the records of one batch.
    outcome: Arc<BatchOutcome>,
    /// Index of the record in its batch.
    index: usize,
    /// Where it was sent.
    tp: TopicPartition,
}

impl DeliveryHandle {
    /// Blocks until the record is acknowledged or failed.
    pub fn wait(&self) -> Result<RecordMetadata> {
        self.result(self.outcome.wait(None))
    }

    /// Waits up to `timeout`; `None` if there is no answer yet.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<RecordMetadata>> {
        self.outcome
            .wait(Some(timeout))
            .map(|r| self.result(Some(r)))
    }

    /// The result if it is already known (never blocks).
    pub fn try_result(&self) -> Option<Result<RecordMetadata>> {
        self.wait_timeout(Duration::ZERO)
    }

    /// The partition the record was sent to.
    pub fn partition(&self) -> i32 {
        self.tp.partition
    }

    fn result(&self, r: Option<accumulator::BatchResult>) -> Result<RecordMetadata> {
        match r {
            Some(Ok((base, ts))) => Ok(RecordMetadata {
                topic: self.tp.topic.clone(),
                partition: self.tp.partition,
                offset: if base < 0 {
                    -1
                } else {
                    base + self.index as i64
                },
                log_append_time: ts,
            }),
            Some(Err(e)) => Err(Error::Delivery {
                topic: self.tp.topic.clone(),
                partition: self.tp.partition,
                source: e,
            }),
            None => Err(Error::Closed("producer")),
        }
    }
}

/// State shared by the producer handle and its sender thread.
pub(crate) struct Shared {
    /// Metadata.
    cluster: Arc<Cluster>,
    /// Settings.
    config: ProducerConfig,
    /// Queues, guarded.
    acc: Mutex<Accumulator>,
    /// Wakes the sender (new batch, full batch, flush, close, response).
    wake: Condvar,
    /// Wakes `send` callers waiting for buffer space.
    space: Condvar,
    /// Batches re-sent after a retriable failure (a statistic).
    retries: std::sync::atomic::AtomicU64,
    /// Held while draining and sending, so batches of one partition leave in sequence
    /// order whichever thread sends them.
    send_lock: Mutex<()>,
    /// The latest sender thread, joined by close.
    sender: Mutex<Option<JoinHandle<()>>>,
}

impl Shared {
    /// Starts a sender thread unless one runs (called with the accumulator locked, so a
    /// sender deciding to stop cannot miss what was just queued).
    fn ensure_sender(self: &Arc<Self>, acc: &mut Accumulator) {
        if acc.sender_running {
            self.wake.notify_all();
            return;
        }
        let s = self.clone();
        match std::thread::Builder::new()
            .name("kafka-producer".into())
            .spawn(move || sender::run(s))
        {
            Ok(h) => {
                acc.sender_running = true;
                *self.sender.lock() = Some(h);
            }
            Err(e) => tracing::error!(error = %e, "cannot start the producer's sender thread"),
        }
    }
}

/// A producer. Thread-safe: share it with `Arc` to send from several threads.
pub struct Producer {
    /// Shared with the sender thread and response callbacks.
    shared: Arc<Shared>,
}

impl Producer {
    /// Starts a producer (idempotent ones get a producer id first).
    pub(crate) fn new(cluster: Arc<Cluster>, config: ProducerConfig) -> Result<Producer> {
        config.validate()?;
        if config.auto_create_topics {
            cluster
                .auto_create
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        let mut acc = Accumulator::new();
        if config.idempotence {
            let (id, epoch) = sender::init_producer_id(&cluster)?;
            acc.reset_producer_id(id, epoch);
        }
        let shared = Arc::new(Shared {
            cluster,
            config,
            acc: Mutex::new(acc),
            wake: Condvar::new(),
            space: Condvar::new(),
            retries: Default::default(),
            send_lock: Mutex::new(()),
            sender: Mutex::new(None),
        });
        Ok(Producer { shared })
    }

    /// Queues a record and returns its delivery handle. Blocks while the buffer is full
    /// (up to `max_block`) or while the topic's metadata is unknown.
    pub fn send(&self, record: Record) -> Result<DeliveryHandle> {
        let cfg = &self.shared.config;
        let partitions = self.partition_count(&record.topic)?;
        let size = BatchBuilder::record_size(
            record.key.as_deref(),
            record.value.as_deref(),
            &record.headers,
        );
        if size + wire::batch::HEADER_LEN > cfg.max_request_size {
            return Err(Error::Config(format!(
                "record of {size} bytes exceeds max_request_size"
            )));
        }
        let mut acc = self.shared.acc.lock();
        let deadline = cfg.max_block.map(|d| Instant::now() + d);
        while acc.buffered > 0 && acc.buffered + size > cfg.buffer_memory {
            if acc.closing {
                return Err(Error::Closed("producer"));
            }
            let Some(deadline) = deadline else {
                return Err(Error::BufferFull(acc.buffered));
            };
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::BufferFull(acc.buffered));
            }
            self.shared.space.wait_for(&mut acc, deadline - now);
        }
        if acc.closing {
            return Err(Error::Closed("producer"));
        }
        let partition = match (record.partition, &record.key) {
            (Some(p), _) => {
                if p < 0 || p as usize >= partitions {
                    return Err(Error::Config(format!(
                        "{} has no partition {p}",
                        record.topic
                    )));
                }
                p
            }
            (None, Some(k)) => partition_for_key(k, partitions),
            (None, None) => acc.sticky.partition(&record.topic, partitions),
        };
        let tp = TopicPartition::new(&record.topic, partition);
        let ts = record.timestamp.unwrap_or_else(now_ms);
        let (outcome, index, new_batch) = acc.append(
            &tp,
            ts,
            record.key.as_deref(),
            record.value.as_deref(),
            &record.headers,
            size,
            cfg.batch_size,
        );
        if new_batch && record.key.is_none() && record.partition.is_none() && index == 0 {
            // The sticky partition's previous batch is full: spread keyless records.
            let queued = acc.parts.get(&tp).map_or(0, |q| q.queue.len());
            if queued > 1 {
                acc.sticky.next(&record.topic);
            }
        }
        if cfg.linger.is_zero() && !acc.sender_running {
            drop(acc);
            sender::send_now(&self.shared);
        } else if new_batch || acc.sender_running {
            self.shared.ensure_sender(&mut acc);
        }
        Ok(DeliveryHandle { outcome, index, tp })
    }

    /// Turns "the broker still has no metadata for `topic`" into an error that says what to
    /// do: brokers that do not create topics on first use (Tansu, Kafka with
    /// `auto.create.topics.enable=false`) answer UNKNOWN_TOPIC_OR_PARTITION for ever.
    fn missing_topic(&self, topic: &str, err: Error) -> Error {
        if err.kafka_code() != Some(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION) {
            return err;
        }
        let why = if self.shared.config.auto_create_topics {
            "and the broker did not create it on first use (it does not auto-create topics)"
        } else {
            "(auto_create_topics is off)"
        };
        Error::kafka(
            3,
            Some(format!(
                "topic {topic} does not exist {why}: create it first, e.g. with \
                 Admin::create_topics"
            )),
        )
    }

    /// Number of partitions of `topic`, fetching metadata if needed (up to `max_block`).
    fn partition_count(&self, topic: &str) -> Result<usize> {
        let cluster = &self.shared.cluster;
        if let Some(n) = cluster.view().partition_count(topic) {
            return Ok(n);
        }
        cluster.want_topics([topic]);
        let deadline = Instant::now()
            + self
                .shared
                .config
                .max_block
                .unwrap_or(Duration::from_secs(5));
        let mut wait = Duration::from_millis(20);
        loop {
            let refreshed = cluster.refresh();
            let view = cluster.view();
            if let Some(n) = view.partition_count(topic) {
                return Ok(n);
            }
            let err = match view.topics.get(topic) {
                Some(t) if t.error.is_err() && !t.error.is_retriable() => {
                    return Err(Error::kafka(t.error, Some(format!("metadata for {topic}"))));
                }
                Some(t) if t.error.is_err() => {
                    Error::kafka(t.error, Some(format!("metadata for {topic}")))
                }
                _ => match refreshed {
                    Err(e) => e,
                    Ok(()) => Error::kafka(3, Some(format!("metadata for {topic}"))),
                },
            };
            if Instant::now() + wait > deadline {
                return Err(self.missing_topic(topic, err));
            }
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_millis(500));
        }
    }

    /// Sends every queued record now and waits until each is acknowledged or failed.
    pub fn flush(&self) -> Result<()> {
        let outcomes = {
            let mut acc = self.shared.acc.lock();
            acc.flushing += 1;
            if !acc.nothing_queued() {
                self.shared.ensure_sender(&mut acc);
            }
            acc.queued_outcomes()
        };
        self.shared.wake.notify_all();
        for o in &outcomes {
            o.wait(None);
        }
        let mut acc = self.shared.acc.lock();
        acc.flushing = acc.flushing.saturating_sub(1);
        Ok(())
    }

    /// Sends what is queued, waits for it, and stops the sender thread.
    pub fn close(&self) -> Result<()> {
        self.close_within(None)
    }

    /// Like [`Producer::close`], but records still unsent after `timeout` fail with
    /// [`Error::Closed`]. Dropping a producer closes it within 30 seconds.
    pub fn close_timeout(&self, timeout: Duration) -> Result<()> {
        self.close_within(Some(timeout))
    }

    fn close_within(&self, timeout: Option<Duration>) -> Result<()> {
        {
            let mut acc = self.shared.acc.lock();
            acc.closing = true;
            if let Some(t) = timeout {
                acc.abandon_at = Some(Instant::now() + t);
            }
            if !acc.is_idle() {
                self.shared.ensure_sender(&mut acc);
            }
        }
        self.shared.wake.notify_all();
        self.shared.space.notify_all();
        // Joins whichever sender thread is the latest; one that started before ended first.
        loop {
            let handle = self.shared.sender.lock().take();
            match handle {
                Some(h) => {
                    let _ = h.join();
                }
                None => break,
            }
        }
        Ok(())
    }

    /// How many batch sends failed retriably and were queued again so far.
    pub fn retries(&self) -> u64 {
        self.shared
            .retries
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Bytes currently buffered (queued or in flight).
    pub fn buffered_bytes(&self) -> usize {
        self.shared.acc.lock().buffered
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        let _ = self.close_timeout(Duration::from_secs(30));
    }
}
