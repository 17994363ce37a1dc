//! `wire`: the Kafka wire layer, once, for the broker, the client and the tests. Pure
//! functions over buffers, no I/O and no runtime: whoever owns the socket reads bytes and
//! hands them here.
//!
//! - [`frame`]: the 4-byte length prefix around every request and response, with a limit.
//! - [`header`]: request and response headers (flexible or not, per kafka-protocol's
//!   header versions) around an encoded body.
//! - [`fetch`]: the consumer's Fetch (versions 4 to 12), encoded and read by hand: the
//!   one request every consumer sends once per answer.
//! - [`batch`]: v2 record-batch headers: size, validation, CRC, the fields a broker owns.
//! - [`codes`]: [`ErrorCode`], the typed Kafka error code, with names and groups.
//! - [`proxy`]: the token of the in-process `BBS-PROXY` mechanism (both sides build or
//!   read it here).

pub mod batch;
pub mod codes;
pub mod fetch;
pub mod frame;
pub mod header;
pub mod proxy;

pub use codes::ErrorCode;

/// What can be wrong with bytes on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A frame or header that could not be decoded (or encoded).
    #[error("malformed request: {0}")]
    Malformed(String),
    /// A frame larger than the caller's limit.
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// Announced size of the frame.
        size: usize,
        /// The caller's limit.
        limit: usize,
    },
    /// A header or body that could not be encoded (a field set on a version that lacks it).
    #[error("encoding failed: {0}")]
    Encode(String),
    /// A record batch that is not a valid v2 batch (bad length, magic or CRC).
    #[error("corrupt record batch: {0}")]
    CorruptBatch(String),
}

/// The crate's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
