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
    #[error("refused ({}): {message}", code.code())]
    Refused {
        /// The Kafka error code.
        code: wire::ErrorCode,
        /// Why, for the client and the log.
        message: String,
    },
    /// The upstream cluster (front mode) could not be reached or answered nonsense.
    #[error("upstream: {0}")]
    Upstream(String),
    /// The data directory is in use by another process (a running server or CLI).
    #[error("data directory {0} is locked by another process")]
    Locked(PathBuf),
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
