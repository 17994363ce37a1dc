//! Producer settings: acknowledgements, idempotence, batching, buffering, timeouts and
//! compression, with defaults close to the Java client's (acks=all, idempotent).

use std::time::Duration;

use crate::error::{Error, Result};
use crate::records::Compression;

/// How many acknowledgements a produce request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// Fire and forget: no response (offsets are unknown, -1).
    None,
    /// The leader wrote it.
    Leader,
    /// Every in-sync replica has it (and, on our broker, it is durable).
    All,
}

impl Acks {
    pub(crate) fn wire(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

/// Producer settings. `ProducerConfig::default()` is acks=all with idempotence.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    /// Acknowledgements to wait for.
    pub acks: Acks,
    /// Sequence numbers so retries never duplicate or reorder (needs acks=all).
    pub idempotence: bool,
    /// Largest batch per partition, bytes.
    pub batch_size: usize,
    /// How long a batch may wait for more records before it is sent.
    pub linger: Duration,
    /// Bytes of records the producer may hold before `send` blocks (or fails).
    pub buffer_memory: usize,
    /// How long `send` waits for buffer space or metadata; `None` = fail at once when full.
    pub max_block: Option<Duration>,
    /// Largest produce request, bytes.
    pub max_request_size: usize,
    /// Batches in flight per partition (at most 5 with idempotence).
    pub max_in_flight: usize,
    /// How long a record may take from `send` to acknowledgement, retries included.
    pub delivery_timeout: Duration,
    /// Wait before a retry.
    pub retry_backoff: Duration,
    /// Codec for batches.
    pub compression: Compression,
    /// Ask the broker to create topics that do not exist (if it allows it).
    pub auto_create_topics: bool,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            idempotence: true,
            batch_size: 256 * 1024,
            linger: Duration::from_millis(5),
            buffer_memory: 64 << 20,
            max_block: Some(Duration::from_secs(60)),
            max_request_size: 4 << 20,
            max_in_flight: 5,
            delivery_timeout: Duration::from_secs(120),
            retry_backoff: Duration::from_millis(100),
            compression: Compression::None,
            auto_create_topics: true,
        }
    }
}

impl ProducerConfig {
    /// Sets acks (turning idempotence off unless acks=all).
    pub fn acks(mut self, acks: Acks) -> Self {
        self.acks = acks;
        if acks != Acks::All {
            self.idempotence = false;
        }
        self
    }
    /// Turns idempotence on or off.
    pub fn idempotence(mut self, on: bool) -> Self {
        self.idempotence = on;
        self
    }
    /// Sets the compression codec.
    pub fn compression(mut self, c: Compression) -> Self {
        self.compression = c;
        self
    }
    /// Sets linger.
    pub fn linger(mut self, d: Duration) -> Self {
        self.linger = d;
        self
    }
    /// Sets batch size.
    pub fn batch_size(mut self, bytes: usize) -> Self {
        self.batch_size = bytes;
        self
    }
    /// Sets buffer memory and what `send` does when it is full (`None`: fail at once with
    /// [`Error::BufferFull`]; `Some(t)`: wait up to `t`).
    pub fn buffer(mut self, bytes: usize, max_block: Option<Duration>) -> Self {
        self.buffer_memory = bytes;
        self.max_block = max_block;
        self
    }
    /// Sets the delivery timeout.
    pub fn delivery_timeout(mut self, d: Duration) -> Self {
        self.delivery_timeout = d;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.idempotence && self.acks != Acks::All {
            return Err(Error::Config("idempotence needs acks=all".into()));
        }
        if self.idempotence && !(1..=5).contains(&self.max_in_flight) {
            return Err(Error::Config(
                "idempotence allows 1-5 requests in flight".into(),
            ));
        }
        if self.batch_size < 1024 || self.max_in_flight == 0 {
            return Err(Error::Config(
                "batch_size >= 1024 and max_in_flight >= 1".into(),
            ));
        }
        Ok(())
    }
}
