//! The client crate's one error type: only the client's world (connections, timeouts,
//! Kafka error codes with the server's message, bad responses, SASL, configuration, the
//! producer's buffer, delivery). The broker has its own enum for storage and serving.

use wire::ErrorCode;

/// Everything that can go wrong talking to a Kafka cluster.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A local I/O failure (spawning a thread), with what we were doing.
    #[error("{context}: {source}")]
    Io {
        /// What the client was doing.
        context: String,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
    /// A record batch that is not a valid v2 batch (bad length, magic or CRC).
    #[error("corrupt record batch: {0}")]
    CorruptBatch(String),
    /// Bytes that could not be decoded (a record inside a batch, a frame).
    #[error("malformed: {0}")]
    Malformed(String),
    /// Encoding a request failed (a field set on a version that lacks it).
    #[error("encoding failed: {0}")]
    Encode(String),
    /// A configuration value that is missing or out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A Kafka error code returned by a broker.
    #[error("kafka error {} ({}){}", .code.code(), .code.name(), .message.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
    Kafka {
        /// The Kafka error code (its symbolic name is `code.name()`).
        code: ErrorCode,
        /// The server's message, when it sent one.
        message: Option<String>,
    },
    /// A network connection to a broker could not be made or was lost.
    #[error("connection to {addr}: {reason}")]
    Connection {
        /// The broker's `host:port`.
        addr: String,
        /// What happened.
        reason: String,
    },
    /// An operation did not complete in time.
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
    /// A server response that could not be decoded or makes no sense.
    #[error("bad response from {addr}: {reason}")]
    BadResponse {
        /// The broker that sent it.
        addr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// SASL authentication failed: refused by the broker (`code` is its Kafka error code,
    /// SASL_AUTHENTICATION_FAILED for a wrong password) or failed on our side (`None`:
    /// a bad server signature, a malformed challenge).
    #[error("authentication failed: {message}")]
    Auth {
        /// The broker's error code, when the broker refused.
        code: Option<ErrorCode>,
        /// The broker's message, or what we found wrong.
        message: String,
    },
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

    /// An authentication failure found on our side (no broker error code).
    pub fn auth(message: impl Into<String>) -> Self {
        Error::Auth {
            code: None,
            message: message.into(),
        }
    }

    /// A Kafka error for `code`, with its symbolic name and the server's message.
    pub fn kafka(code: impl Into<ErrorCode>, message: Option<String>) -> Self {
        Error::Kafka {
            code: code.into(),
            message: message.filter(|m| !m.is_empty()),
        }
    }

    /// The Kafka error code carried by this error, looking through delivery failures.
    pub fn kafka_code(&self) -> Option<ErrorCode> {
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
            Error::Kafka { code, .. } => code.is_retriable(),
            Error::Delivery { source, .. } => source.is_retriable(),
            _ => false,
        }
    }
}

impl From<wire::Error> for Error {
    fn from(e: wire::Error) -> Self {
        match e {
            wire::Error::CorruptBatch(m) => Error::CorruptBatch(m),
            wire::Error::Encode(m) => Error::Encode(m),
            wire::Error::Malformed(m) => Error::Malformed(m),
            e @ wire::Error::FrameTooLarge { .. } => Error::Malformed(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_errors_carry_names() {
        assert!(Error::kafka(ErrorCode::NOT_LEADER_OR_FOLLOWER, None).is_retriable());
        assert!(!Error::kafka(ErrorCode::INVALID_RECORD, None).is_retriable());
        assert_eq!(
            Error::kafka(ErrorCode::SASL_AUTHENTICATION_FAILED, Some("bad".into())).to_string(),
            "kafka error 58 (SASL_AUTHENTICATION_FAILED): bad"
        );
    }
}
