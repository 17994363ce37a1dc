//! The consumer's steady-state Fetch, encoded and read by hand for the versions the client
//! speaks (4 to 12, topics by name): a fetch goes out and comes back once per answer of
//! every consumer, and the generated codec (every field of every version, a tree of `Vec`s
//! per response) was a third of a fan-out consumer's work. Same bytes as kafka-protocol's
//! codec (the tests compare them), fields the client never sets at their defaults: no
//! fetch session (id 0, epoch -1: full fetches), no rack, epochs -1.
//!
//! Reading walks the response once and hands each partition to a callback, its records as
//! a slice of the frame: nothing is copied or collected. Every length is checked against
//! what is left, so a malformed answer is an error, never a panic or a huge allocation.

use bytes::{Bytes, BytesMut};

use crate::{Error, Result};

mod cursor;
mod serve;
use cursor::{Reader, Staged};
pub use serve::{encode_response, read_request, FetchAsk, PartitionAsk, ServedPartition};

/// Oldest version handled here (isolation level, last stable offset, aborted transactions).
pub const MIN_VERSION: i16 = 4;
/// Newest (the last with topic names; 13 names topics by id). 12 is flexible.
pub const MAX_VERSION: i16 = 12;
/// The Fetch API key.
const API_KEY: i16 = 1;
/// First flexible version (compact arrays and strings, tagged fields).
const FLEXIBLE: i16 = 12;

/// A fetch's request-wide settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchParams {
    /// Longest time the broker may hold the fetch.
    pub max_wait_ms: i32,
    /// Bytes the broker should gather before answering early.
    pub min_bytes: i32,
    /// Largest response.
    pub max_bytes: i32,
    /// 0 read uncommitted, 1 read committed.
    pub isolation_level: i8,
}

/// One partition to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchPart<'a> {
    /// Topic name.
    pub topic: &'a str,
    /// Partition index.
    pub partition: i32,
    /// First offset wanted.
    pub offset: i64,
    /// Largest share of the response for this partition.
    pub max_bytes: i32,
}

/// Appends one whole Fetch request frame (length prefix, header, body) at `version`.
/// Partitions of one topic that follow each other go under one topic entry.
pub fn put_request(
    out: &mut BytesMut,
    version: i16,
    correlation_id: i32,
    client_id: &str,
    params: &FetchParams,
    parts: &[FetchPart<'_>],
) -> Result<()> {
    put_request_with(
        out,
        version,
        correlation_id,
        client_id,
        params,
        parts,
        |p| *p,
    )
}

/// [`put_request`] for partitions kept in the caller's own form, each seen through `part`
/// (a consumer need not build a second list per fetch).
pub fn put_request_with<T>(
    out: &mut BytesMut,
    version: i16,
    correlation_id: i32,
    client_id: &str,
    params: &FetchParams,
    parts: &[T],
    part: impl Fn(&T) -> FetchPart<'_>,
) -> Result<()> {
    if !(MIN_VERSION..=MAX_VERSION).contains(&version) {
        return Err(Error::Encode(format!(
            "Fetch v{version} is not handled here"
        )));
    }
    let flexible = version >= FLEXIBLE;
    let topics = parts.chunk_by(|a, b| part(a).topic == part(b).topic);
    let start = out.len();
    let mut w = Staged::new(out);
    w.i32(0); // the length, filled in at the end
              // Request header v1, or v2 (v1 and tagged fields) for flexible versions; the client id
              // stays a classic nullable string in both.
    w.i16(API_KEY);
    w.i16(version);
    w.i32(correlation_id);
    w.string(client_id, false)?;
    if flexible {
        w.u8(0);
    }
    w.i32(-1); // replica id: a consumer
    w.i32(params.max_wait_ms);
    w.i32(params.min_bytes);
    w.i32(params.max_bytes);
    w.u8(params.isolation_level as u8);
    if version >= 7 {
        w.i32(0); // session id: none
        w.i32(-1); // session epoch: a full fetch
    }
    w.len(topics.clone().count(), flexible)?;
    for run in topics {
        w.string(part(&run[0]).topic, flexible)?;
        w.len(run.len(), flexible)?;
        for p in run.iter().map(&part) {
            w.i32(p.partition);
            if version >= 9 {
                w.i32(-1); // current leader epoch: unknown
            }
            w.i64(p.offset);
            if version >= 12 {
                w.i32(-1); // last fetched epoch: unknown
            }
            if version >= 5 {
                w.i64(-1); // log start offset: a consumer has none
            }
            w.i32(p.max_bytes);
            if flexible {
                w.u8(0);
            }
        }
        if flexible {
            w.u8(0);
        }
    }
    if version >= 7 {
        // Forgotten topics: none (an empty array, compact or not).
        if flexible {
            w.u8(1);
        } else {
            w.i32(0);
        }
    }
    if version >= 11 {
        // Rack id: empty.
        if flexible {
            w.u8(1);
        } else {
            w.i16(0);
        }
    }
    if flexible {
        w.u8(0);
    }
    w.flush();
    let len = u32::try_from(out.len() - start - 4)
        .map_err(|_| Error::Encode("Fetch request over 4 GiB".into()))?;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// One partition of a Fetch response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedPartition<'a> {
    /// Topic name.
    pub topic: &'a str,
    /// Partition index.
    pub partition: i32,
    /// Kafka error code.
    pub error_code: i16,
    /// High watermark.
    pub high_watermark: i64,
    /// The record batches (a slice of the response), `None` when the broker sent null.
    pub records: Option<Bytes>,
}

/// Reads a Fetch response body (header removed) at `version`, calling `each` for every
/// partition in order; returns the response's top-level error code (0 before v7).
pub fn read_response(
    body: &Bytes,
    version: i16,
    mut each: impl FnMut(FetchedPartition<'_>),
) -> Result<i16> {
    if !(MIN_VERSION..=MAX_VERSION).contains(&version) {
        return Err(Error::Malformed(format!(
            "Fetch v{version} is not handled here"
        )));
    }
    let flexible = version >= FLEXIBLE;
    let mut r = Reader { buf: body, at: 0 };
    r.skip(4)?; // throttle time
    let mut error_code = 0;
    if version >= 7 {
        error_code = r.i16()?;
        r.skip(4)?; // session id
    }
    let topics = r.len(flexible)?;
    for _ in 0..topics {
        let topic = r.string(flexible)?;
        let partitions = r.len(flexible)?;
        for _ in 0..partitions {
            let partition = r.i32()?;
            let error = r.i16()?;
            let high_watermark = r.i64()?;
            r.skip(8)?; // last stable offset
            if version >= 5 {
                r.skip(8)?; // log start offset
            }
            // Aborted transactions (nullable): producer id and first offset each.
            if let Some(n) = r.nullable_len(flexible)? {
                for _ in 0..n {
                    r.skip(16)?;
                    if flexible {
                        r.skip_tags()?;
                    }
                }
            }
            if version >= 11 {
                r.skip(4)?; // preferred read replica
            }
            let records = r.nullable_bytes(flexible)?;
            if flexible {
                r.skip_tags()?;
            }
            each(FetchedPartition {
                topic,
                partition,
                error_code: error,
                high_watermark,
                records,
            });
        }
        if flexible {
            r.skip_tags()?;
        }
    }
    if flexible {
        r.skip_tags()?;
    }
    Ok(error_code)
}

#[cfg(test)]
mod tests;
