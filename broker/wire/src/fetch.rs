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

use bytes::{BufMut, Bytes, BytesMut};

use crate::{Error, Result};

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
    if !(MIN_VERSION..=MAX_VERSION).contains(&version) {
        return Err(Error::Encode(format!(
            "Fetch v{version} is not handled here"
        )));
    }
    let flexible = version >= FLEXIBLE;
    let topics = runs(parts);
    // Fixed-size stretches are laid out in arrays and appended whole: one capacity check
    // each instead of one per field.
    let start = out.len();
    let mut head = Fixed::default();
    head.i32(0); // the length, filled in at the end
                 // Request header v1, or v2 (v1 and tagged fields) for flexible versions; the client
                 // id stays a classic nullable string in both.
    head.i16(API_KEY);
    head.i16(version);
    head.i32(correlation_id);
    out.put_slice(head.bytes());
    put_string(out, client_id, false)?;
    let mut body = Fixed::default();
    if flexible {
        body.u8(0);
    }
    body.i32(-1); // replica id: a consumer
    body.i32(params.max_wait_ms);
    body.i32(params.min_bytes);
    body.i32(params.max_bytes);
    body.u8(params.isolation_level as u8);
    if version >= 7 {
        body.i32(0); // session id: none
        body.i32(-1); // session epoch: a full fetch
    }
    out.put_slice(body.bytes());
    put_len(out, topics.clone().count(), flexible)?;
    for run in topics {
        put_string(out, run[0].topic, flexible)?;
        put_len(out, run.len(), flexible)?;
        for p in run {
            let mut f = Fixed::default();
            f.i32(p.partition);
            if version >= 9 {
                f.i32(-1); // current leader epoch: unknown
            }
            f.i64(p.offset);
            if version >= 12 {
                f.i32(-1); // last fetched epoch: unknown
            }
            if version >= 5 {
                f.i64(-1); // log start offset: a consumer has none
            }
            f.i32(p.max_bytes);
            if flexible {
                f.u8(0);
            }
            out.put_slice(f.bytes());
        }
        if flexible {
            out.put_u8(0);
        }
    }
    let mut tail = Fixed::default();
    if version >= 7 {
        // Forgotten topics: none (an empty array, compact or not).
        if flexible {
            tail.u8(1);
        } else {
            tail.i32(0);
        }
    }
    if version >= 11 {
        // Rack id: empty.
        if flexible {
            tail.u8(1);
        } else {
            tail.i16(0);
        }
    }
    if flexible {
        tail.u8(0);
    }
    out.put_slice(tail.bytes());
    let len = u32::try_from(out.len() - start - 4)
        .map_err(|_| Error::Encode("Fetch request over 4 GiB".into()))?;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Up to 40 bytes of fixed-size fields (the most any stretch here has: a v12 partition
/// takes 33), written big-endian in order.
struct Fixed {
    buf: [u8; 40],
    len: usize,
}

impl Default for Fixed {
    fn default() -> Self {
        Fixed {
            buf: [0; 40],
            len: 0,
        }
    }
}

impl Fixed {
    fn put<const N: usize>(&mut self, bytes: [u8; N]) {
        self.buf[self.len..self.len + N].copy_from_slice(&bytes);
        self.len += N;
    }
    fn u8(&mut self, v: u8) {
        self.put([v]);
    }
    fn i16(&mut self, v: i16) {
        self.put(v.to_be_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.put(v.to_be_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.put(v.to_be_bytes());
    }
    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The runs of `parts` that share a topic.
fn runs<'p, 'a>(parts: &'p [FetchPart<'a>]) -> impl Iterator<Item = &'p [FetchPart<'a>]> + Clone {
    parts.chunk_by(|a, b| a.topic == b.topic)
}

fn put_len(out: &mut BytesMut, n: usize, flexible: bool) -> Result<()> {
    if flexible {
        put_uvarint(out, n as u64 + 1);
    } else {
        let n = i32::try_from(n).map_err(|_| Error::Encode("array too long".into()))?;
        out.put_i32(n);
    }
    Ok(())
}

fn put_string(out: &mut BytesMut, s: &str, compact: bool) -> Result<()> {
    if compact {
        put_uvarint(out, s.len() as u64 + 1);
    } else {
        let n = i16::try_from(s.len()).map_err(|_| Error::Encode("string too long".into()))?;
        out.put_i16(n);
    }
    out.put_slice(s.as_bytes());
    Ok(())
}

fn put_uvarint(out: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        out.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
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

/// A cursor over a response body; every read checks what is left.
struct Reader<'a> {
    buf: &'a Bytes,
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.buf.len())
            .ok_or_else(|| Error::Malformed("Fetch response cut short".into()))?;
        let bytes = &self.buf[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn skip(&mut self, n: usize) -> Result<()> {
        self.take(n).map(|_| ())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn i16(&mut self) -> Result<i16> {
        self.array().map(i16::from_be_bytes)
    }

    fn i32(&mut self) -> Result<i32> {
        self.array().map(i32::from_be_bytes)
    }

    fn i64(&mut self) -> Result<i64> {
        self.array().map(i64::from_be_bytes)
    }

    fn uvarint(&mut self) -> Result<u64> {
        crate::header::uvarint(self.buf, &mut self.at)
    }

    /// A length (array or bytes) that may be null: `None` for null.
    fn nullable_len(&mut self, compact: bool) -> Result<Option<usize>> {
        let n = if compact {
            match self.uvarint()? {
                0 => return Ok(None),
                n => n - 1,
            }
        } else {
            match self.i32()? {
                -1 => return Ok(None),
                n => u64::try_from(n)
                    .map_err(|_| Error::Malformed(format!("negative length {n}")))?,
            }
        };
        // Every element takes at least a byte: a count beyond what is left is a lie.
        let left = (self.buf.len() - self.at) as u64;
        if n > left {
            return Err(Error::Malformed(format!(
                "length {n} with {left} bytes left"
            )));
        }
        Ok(Some(n as usize))
    }

    fn len(&mut self, compact: bool) -> Result<usize> {
        self.nullable_len(compact)?
            .ok_or_else(|| Error::Malformed("null array".into()))
    }

    fn string(&mut self, compact: bool) -> Result<&'a str> {
        let n = if compact {
            self.len(true)?
        } else {
            let n = self.i16()?;
            usize::try_from(n).map_err(|_| Error::Malformed(format!("string length {n}")))?
        };
        std::str::from_utf8(self.take(n)?)
            .map_err(|_| Error::Malformed("topic name is not UTF-8".into()))
    }

    fn nullable_bytes(&mut self, compact: bool) -> Result<Option<Bytes>> {
        let Some(n) = self.nullable_len(compact)? else {
            return Ok(None);
        };
        self.take(n)?;
        Ok(Some(self.buf.slice(self.at - n..self.at)))
    }

    fn skip_tags(&mut self) -> Result<()> {
        let len = crate::header::tagged_fields_len(&self.buf[self.at..])?;
        self.skip(len)
    }
}

#[cfg(test)]
mod tests;
