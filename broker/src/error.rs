//! The broker crate's one error type.
//!
//! Storage, protocol and configuration failures all land here. Errors that are ordinary
//! control flow (an incomplete frame) are not errors: they are `Option`s in the codec.

use std::path::PathBuf;

/// Everything that can go wrong inside the broker crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O failure, with what we were doing when it happened.
    #[error("{context}: {source}")]
    Io {
        /// What the broker was doing.
        context: String,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
    /// A record batch that is not a valid v2 batch (bad length, magic or CRC).
    #[error("corrupt record batch: {0}")]
    CorruptBatch(String),
    /// A frame or message that could not be decoded.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// A frame larger than the configured limit.
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// Announced size of the frame.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A configuration value that is missing, unknown or out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A file whose contents make no sense (and could not be repaired).
    #[error("bad data file {path}: {reason}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Encoding a response failed (a field set on a version that lacks it).
    #[error("encoding failed: {0}")]
    Encode(String),
    /// An internal state record could not be (de)serialized.
    #[error("state record: {0}")]
    State(#[from] postcard::Error),
    /// A request the broker refuses, with the Kafka error code to answer and why.
    #[error("refused ({code}): {message}")]
    Refused {
        /// The Kafka error code.
        code: i16,
        /// Why, for the client and the log.
        message: String,
    },
    /// The data directory is in use by another process (a running server or CLI).
    #[error("data directory {0} is locked by another process")]
    Locked(PathBuf),
    /// A Kafka error code returned by a remote broker (client side).
    #[error("kafka error {code} ({name}){}", .message.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
    Kafka {
        /// The numeric Kafka error code.
        code: i16,
        /// Its symbolic name.
        name: &'static str,
        /// The server's message, when it sent one.
        message: Option<String>,
    },
    /// A network connection to a broker could not be made or was lost (client side).
    #[error("connection to {addr}: {reason}")]
    Connection {
        /// The broker's `host:port`.
        addr: String,
        /// What happened.
        reason: String,
    },
    /// A client operation did not complete in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The server does not speak an API (or any version of it) that the client needs.
    #[error("the broker does not support {api}: {detail}")]
    Unsupported {
        /// The API that is missing.
        api: String,
        /// Which versions were offered.
        detail: String,
    },
    /// A server response that could not be decoded or makes no sense (client side).
    #[error("bad response from {addr}: {reason}")]
    BadResponse {
        /// The broker that sent it.
        addr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// SASL authentication failed (client side).
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The producer's buffer is full and the configuration says not to wait.
    #[error("producer buffer full ({0} bytes buffered)")]
    BufferFull(usize),
    /// The producer, consumer or client was closed.
    #[error("{0} is closed")]
    Closed(&'static str),
    /// An operation that the current state does not allow (a seek on an unassigned partition).
    #[error("invalid state: {0}")]
    InvalidState(String),
    /// A record could not be delivered to `topic`/`partition`; `source` says why.
    #[error("delivery to {topic}/{partition} failed: {source}")]
    Delivery {
        /// The record's topic.
        topic: String,
        /// The record's partition (-1 if none was chosen).
        partition: i32,
        /// The failure shared by every record of the batch.
        #[source]
        source: std::sync::Arc<Error>,
    },
}

/// The crate's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with a description of the operation.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// A Kafka error for `code`, with its symbolic name and the server's message.
    pub fn kafka(code: i16, message: Option<String>) -> Self {
        Error::Kafka {
            code,
            name: kafka_error_name(code),
            message: message.filter(|m| !m.is_empty()),
        }
    }

    /// The Kafka error code carried by this error, looking through delivery failures.
    pub fn kafka_code(&self) -> Option<i16> {
        match self {
            Error::Kafka { code, .. } => Some(*code),
            Error::Delivery { source, .. } => source.kafka_code(),
            _ => None,
        }
    }

    /// True when retrying the same operation may succeed (a lost connection, a timeout, a
    /// retriable Kafka error such as NOT_LEADER_OR_FOLLOWER).
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Connection { .. } | Error::Timeout(_) => true,
            Error::Kafka { code, .. } => wire::codes::is_retriable(*code),
            Error::Delivery { source, .. } => source.is_retriable(),
            _ => false,
        }
    }

    /// True when the error means the disk is out of space.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::Io { source, .. } => {
                source.raw_os_error() == Some(28)
                    || source.kind() == std::io::ErrorKind::StorageFull
            }
            _ => false,
        }
    }
}

/// Extension to attach context to I/O results.
pub trait IoContext<T> {
    /// Adds what we were doing to an I/O error.
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(context(), e))
    }
}

/// The symbolic name of a Kafka error code (the wire crate's one table).
pub use wire::codes::name as kafka_error_name;

impl From<wire::Error> for Error {
    fn from(e: wire::Error) -> Self {
        match e {
            wire::Error::Malformed(m) => Error::Malformed(m),
            wire::Error::FrameTooLarge { size, limit } => Error::FrameTooLarge { size, limit },
            wire::Error::Encode(m) => Error::Encode(m),
            wire::Error::CorruptBatch(m) => Error::CorruptBatch(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_error_names() {
        assert_eq!(kafka_error_name(6), "NOT_LEADER_OR_FOLLOWER");
        assert_eq!(kafka_error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(kafka_error_name(0), "NONE");
        assert_eq!(kafka_error_name(-999), "UNKNOWN");
        assert!(Error::kafka(6, None).is_retriable());
        assert!(!Error::kafka(87, None).is_retriable());
    }
}
