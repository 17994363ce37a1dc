//! Storage: topics → partitions → segments of raw v2 batches, with sparse indexes, crash
//! recovery, retention, compaction and group-committed fsync.

pub mod check;
pub mod compact;
pub mod flusher;
pub mod index;
pub mod manager;
#[cfg(test)]
mod model_tests;
pub mod owners;
pub mod partition;
pub mod producers;
pub mod segment;
pub mod state;
pub mod tail;
pub mod topic_config;

pub use flusher::{FlushPolicy, Flusher};
pub use manager::{LogManager, Topic, TopicError};
pub use partition::{Appended, Partition, Rejected};
pub use state::StateLog;
pub use topic_config::TopicConfig;
