//! The broker's side of the Fetch, for the same versions (4 to 12): its request read and
//! its response written by hand. A held fetch is answered once per record for every
//! consumer waiting on the partition, and the generated codec's request and response
//! (trees of `Vec`s and tagged-field maps, built, sized, encoded and dropped each time)
//! were a third of the broker's instructions per answer. The request gives the broker what
//! it uses, flat; the response is the same bytes as kafka-protocol's encoding of the one
//! the broker used to build (the tests compare both): no throttle, no session, no aborted
//! transactions, no preferred replica, no tagged fields.

use bytes::{Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;

use super::{Reader, Staged, FLEXIBLE, MAX_VERSION, MIN_VERSION};
use crate::{Error, Result};

/// One partition of a Fetch response, as the broker answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedPartition {
    /// Which of the request's topics it belongs to (partitions of one topic follow each
    /// other; each run becomes one topic entry).
    pub topic: usize,
    /// Partition index.
    pub partition: i32,
    /// Kafka error code.
    pub error_code: i16,
    /// High watermark (-1 when unknown).
    pub high_watermark: i64,
    /// Last stable offset (-1 when unknown).
    pub last_stable_offset: i64,
    /// Log start offset (-1 when unknown; sent from v5).
    pub log_start_offset: i64,
    /// The record batches, `None` for null.
    pub records: Option<Bytes>,
}

/// The whole response frame (length prefix, header, body) at `version`; `name` gives the
/// name of the request's topic at an index.
pub fn encode_response<'n>(
    correlation_id: i32,
    version: i16,
    parts: &[ServedPartition],
    name: impl Fn(usize) -> &'n str,
) -> Result<Bytes> {
    if !(MIN_VERSION..=MAX_VERSION).contains(&version) {
        return Err(Error::Encode(format!(
            "Fetch v{version} is not handled here"
        )));
    }
    let flexible = version >= FLEXIBLE;
    let records: usize = parts
        .iter()
        .map(|p| p.records.as_ref().map_or(0, Bytes::len))
        .sum();
    let mut out = BytesMut::with_capacity(64 + parts.len() * 64 + records);
    let topics = parts.chunk_by(|a, b| a.topic == b.topic);
    let mut w = Staged::new(&mut out);
    w.i32(0); // the length, filled in at the end
    w.i32(correlation_id);
    if flexible {
        w.u8(0); // response header v1: no tagged fields
    }
    w.i32(0); // throttle time
    if version >= 7 {
        w.i16(0); // error code
        w.i32(0); // session id: none
    }
    w.len(topics.clone().count(), flexible)?;
    for run in topics {
        w.string(name(run[0].topic), flexible)?;
        w.len(run.len(), flexible)?;
        for p in run {
            w.i32(p.partition);
            w.i16(p.error_code);
            w.i64(p.high_watermark);
            w.i64(p.last_stable_offset);
            if version >= 5 {
                w.i64(p.log_start_offset);
            }
            w.len(0, flexible)?; // aborted transactions: none
            if version >= 11 {
                w.i32(-1); // preferred read replica: none
            }
            match &p.records {
                Some(data) => {
                    w.len(data.len(), flexible)?;
                    w.put(data);
                }
                None if flexible => w.u8(0),
                None => w.i32(-1),
            }
            if flexible {
                w.u8(0);
            }
        }
        if flexible {
            w.u8(0);
        }
    }
    if flexible {
        w.u8(0);
    }
    w.flush();
    let len = u32::try_from(out.len() - 4)
        .map_err(|_| Error::Encode("Fetch response over 4 GiB".into()))?;
    out[..4].copy_from_slice(&len.to_be_bytes());
    Ok(out.freeze())
}

/// A Fetch request as the broker reads it: the settings it uses and the partitions asked
/// for, flat (each names its topic by index). Fetch sessions, replica fields, epochs,
/// forgotten topics and the rack are read past: the broker answers every fetch in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchAsk {
    /// Longest time the broker may hold the fetch.
    pub max_wait_ms: i32,
    /// Bytes to gather before answering early.
    pub min_bytes: i32,
    /// Largest response.
    pub max_bytes: i32,
    /// 0 read uncommitted, 1 read committed.
    pub isolation_level: i8,
    /// The topics' names, in the request's order (a name may repeat).
    pub topics: Vec<StrBytes>,
    /// The partitions, topic by topic in the request's order.
    pub partitions: Vec<PartitionAsk>,
}

/// One partition of a [`FetchAsk`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionAsk {
    /// Index of its topic in [`FetchAsk::topics`].
    pub topic: usize,
    /// Partition index.
    pub partition: i32,
    /// First offset wanted.
    pub fetch_offset: i64,
    /// Largest share of the response for it.
    pub max_bytes: i32,
}

/// Reads a Fetch request body (header removed) at `version`. Every length is checked
/// against what is left, so a malformed request is an error, never a panic or a huge
/// allocation; bytes after the request are left alone, as the generated decoder does.
pub fn read_request(body: &Bytes, version: i16) -> Result<FetchAsk> {
    if !(MIN_VERSION..=MAX_VERSION).contains(&version) {
        return Err(Error::Malformed(format!(
            "Fetch v{version} is not handled here"
        )));
    }
    let flexible = version >= FLEXIBLE;
    let mut r = Reader { buf: body, at: 0 };
    r.skip(4)?; // replica id
    let max_wait_ms = r.i32()?;
    let min_bytes = r.i32()?;
    let max_bytes = r.i32()?;
    let isolation_level = r.array::<1>()?[0] as i8;
    if version >= 7 {
        r.skip(8)?; // session id and epoch
    }
    let n_topics = r.len(flexible)?;
    let mut ask = FetchAsk {
        max_wait_ms,
        min_bytes,
        max_bytes,
        isolation_level,
        topics: Vec::with_capacity(n_topics),
        partitions: Vec::new(),
    };
    for topic in 0..n_topics {
        ask.topics.push(r.str_bytes(flexible)?);
        let n = r.len(flexible)?;
        ask.partitions.reserve(n);
        for _ in 0..n {
            let partition = r.i32()?;
            if version >= 9 {
                r.skip(4)?; // current leader epoch
            }
            let fetch_offset = r.i64()?;
            if version >= 12 {
                r.skip(4)?; // last fetched epoch
            }
            if version >= 5 {
                r.skip(8)?; // log start offset
            }
            let max_bytes = r.i32()?;
            if flexible {
                r.skip_tags()?;
            }
            ask.partitions.push(PartitionAsk {
                topic,
                partition,
                fetch_offset,
                max_bytes,
            });
        }
        if flexible {
            r.skip_tags()?;
        }
    }
    if version >= 7 {
        // Forgotten topics: a name and partition indexes each.
        for _ in 0..r.len(flexible)? {
            r.str_bytes(flexible)?;
            let n = r.len(flexible)?;
            r.skip(
                n.checked_mul(4)
                    .ok_or_else(|| Error::Malformed("length".into()))?,
            )?;
            if flexible {
                r.skip_tags()?;
            }
        }
    }
    if version >= 11 {
        r.str_bytes(flexible)?; // rack id
    }
    if flexible {
        r.skip_tags()?;
    }
    Ok(ask)
}

#[cfg(test)]
mod tests;
