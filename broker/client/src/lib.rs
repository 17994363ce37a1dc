//! `client` (package `kafka-client`): a Kafka client (producer, group consumer, admin) built
//! on the kafka-protocol crate and the wire crate (`wire`: frames, headers, batch headers,
//! error-code names). It does not depend on the broker crate. It works against the bbs
//! broker and, unchanged, against any Kafka cluster: it bootstraps from a list, routes
//! every partition's requests to its leader, refreshes metadata when leadership moves and
//! reconnects with backoff.
//!
//! # Threads, not an async runtime
//! The API is blocking, made for "one poll-loop thread per consumer" in a TUI. Internally a
//! [`Client`] has one network thread ([`net`]) that reads all its sockets (non-blocking,
//! polled with `mio`) and dispatches answers by correlation id, so many requests are in
//! flight on one socket; it also runs the group heartbeats as timers. Callers write their
//! own requests and wait for their answers; a producer with linger 0 sends from the
//! caller's thread and starts a sender thread only while records wait (linger, retries).
//! Connections are few ([`pool`]): per broker one shared by everything that is answered at
//! once, plus one per consumer for the requests a broker holds (fetch, join). A hidden
//! tokio runtime would buy nothing here, and a blocking facade over one panics when called
//! from inside an async context, which a library cannot rule out; threads work in every
//! host program.
//!
//! # Example
//! ```no_run
//! use std::time::Duration;
//! use client::{Client, ClientConfig, ConsumerConfig, ProducerConfig, Record};
//!
//! # fn main() -> client::Result<()> {
//! let client = Client::connect(ClientConfig::new("127.0.0.1:9092"))?;
//! let producer = client.producer(ProducerConfig::default())?; // acks=all, idempotent
//! let delivery = producer.send(
//!     Record::new("chat.general").key("42").value("hi").header("bbs.kind", "post"),
//! )?;
//! let meta = delivery.wait()?; // where it landed
//! println!("stored at {}/{}@{}", meta.topic, meta.partition, meta.offset);
//!
//! let mut consumer =
//!     client.consumer(ConsumerConfig::group("bbs-ana-1").subscribe_pattern("^chat\\."))?;
//! for rec in consumer.poll(Duration::from_millis(100))? {
//!     println!("{}: {}", rec.offset, rec.value_str());
//! }
//! # Ok(()) }
//! ```
//! (On a bbs server, `board.*` topics also need a login and the BBS headers; `chat.*` here
//! is an ordinary topic.) The same code runs against the real server in `tests/client_groups.rs`
//! (`module_example_runs`); the pieces are exercised in depth by the other `tests/client_*`.

pub mod admin;
pub mod backoff;
pub mod cluster;
pub mod config;
pub mod conn;
pub mod consumer;
pub mod error;
pub mod net;
pub mod partitioner;
pub mod pool;
pub mod producer;
pub mod records;
pub mod sasl;
pub mod util;
pub mod versions;

use std::sync::Arc;

pub use admin::{Admin, GroupDescription, GroupListing, NewTopic, ReadOutcome};
pub use cluster::{ClusterView, PartitionInfo, TopicInfo};
pub use config::{ClientConfig, Sasl};
pub use consumer::{
    Assignor, Consumer, ConsumerConfig, ConsumerWaker, OffsetReset, RebalanceListener,
    TopicPartition,
};
pub use producer::{Acks, DeliveryHandle, Producer, ProducerConfig, Record, RecordMetadata};
pub use records::{Compression, ConsumerRecord};

pub use error::{Error, Result};
/// The typed Kafka error code, re-exported so users of the client need not name the wire crate.
pub use wire::ErrorCode;

/// A handle to a cluster. Cheap to clone; producers, consumers and the admin made from it
/// share its metadata and connections.
#[derive(Clone)]
pub struct Client {
    /// Metadata and connection pool.
    cluster: Arc<cluster::Cluster>,
}

impl Client {
    /// Connects to the cluster: fetches metadata from the first reachable bootstrap address.
    pub fn connect(config: ClientConfig) -> Result<Client> {
        if config.bootstrap.is_empty() {
            return Err(Error::Config("no bootstrap address".into()));
        }
        let cluster = Arc::new(cluster::Cluster::new(config)?);
        cluster.refresh()?;
        Ok(Client { cluster })
    }

    /// A producer.
    pub fn producer(&self, config: ProducerConfig) -> Result<Producer> {
        Producer::new(self.cluster.clone(), config)
    }

    /// A consumer (group member or manually assigned).
    pub fn consumer(&self, config: ConsumerConfig) -> Result<Consumer> {
        Consumer::new(self.cluster.clone(), config)
    }

    /// The admin client.
    pub fn admin(&self) -> Admin {
        Admin::new(self.cluster.clone())
    }

    /// The latest metadata snapshot.
    pub fn metadata(&self) -> Arc<ClusterView> {
        self.cluster.view()
    }

    /// Fetches metadata for `topics` now and returns the new snapshot.
    pub fn refresh_metadata(&self, topics: &[&str]) -> Result<Arc<ClusterView>> {
        self.cluster.want_topics(topics.iter().copied());
        self.cluster.refresh()?;
        Ok(self.cluster.view())
    }

    /// The shared cluster state (for the producer, consumer and admin modules).
    pub fn cluster(&self) -> &Arc<cluster::Cluster> {
        &self.cluster
    }
}
