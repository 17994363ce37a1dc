//! The v2 record-batch codec on the client side, free of I/O.
//!
//! [`BatchBuilder`] appends records straight into the bytes of a batch (no per-record
//! allocation) and seals them with the producer id, epoch and base sequence, compressing
//! with kafka-protocol's codecs. [`decode_batches`] turns fetched bytes into
//! [`ConsumerRecord`]s whose keys and values are slices of the response (no copy unless
//! compressed), skipping records before the fetch offset, control batches and a partial
//! batch at the end. Every length is bounds-checked: bad bytes give an error, never a panic.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::compression::{Compressor, Decompressor};

use crate::error::{Error, Result};
use wire::batch::{self as record, HEADER_LEN, LOG_OVERHEAD};

/// Compression codecs a producer may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// Records as they are.
    #[default]
    None,
    /// gzip (pure Rust).
    Gzip,
    /// Snappy (pure Rust).
    Snappy,
    /// LZ4 frames.
    Lz4,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// The codec id in a batch's attributes.
    pub fn id(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }
}

/// A record as a consumer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset in the partition.
    pub offset: i64,
    /// Milliseconds since the epoch (creation or log-append time, see `log_append_time`).
    pub timestamp: i64,
    /// True when the broker stamped the time (log-append time).
    pub log_append_time: bool,
    /// Key, if any.
    pub key: Option<Bytes>,
    /// Value, if any (`None` is a tombstone).
    pub value: Option<Bytes>,
    /// Headers in order.
    pub headers: Vec<(String, Option<Bytes>)>,
}

impl ConsumerRecord {
    /// The value as UTF-8 text (lossy), or "" for a tombstone.
    pub fn value_str(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.value.as_deref().unwrap_or_default())
    }
    /// The key as UTF-8 text (lossy), if any.
    pub fn key_str(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.key.as_deref().map(String::from_utf8_lossy)
    }
    /// The first header called `name`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
    }
}

fn zigzag32(n: i32) -> u64 {
    ((n << 1) ^ (n >> 31)) as u32 as u64
}
fn zigzag64(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}
fn uvarint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}
fn put_uvarint(buf: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}
fn bytes_len(b: Option<&[u8]>) -> usize {
    match b {
        None => uvarint_len(zigzag32(-1)),
        Some(b) => uvarint_len(zigzag32(b.len() as i32)) + b.len(),
    }
}
fn put_bytes(buf: &mut BytesMut, b: Option<&[u8]>) {
    match b {
        None => put_uvarint(buf, zigzag32(-1)),
        Some(b) => {
            put_uvarint(buf, zigzag32(b.len() as i32));
            buf.put_slice(b);
        }
    }
}

/// Accumulates records for one batch of one partition.
///
/// ```
/// use client::records::{decode_batches, BatchBuilder, Compression};
/// let mut b = BatchBuilder::new(1024);
/// b.append(1_700_000_000_000, Some(b"42"), Some(b"hi"), &[]);
/// let batch = b.seal(-1, -1, -1, Compression::Gzip).unwrap();
/// let mut out = Vec::new();
/// assert_eq!(decode_batches("chat.general", 0, batch, 0, &mut out).unwrap(), 1);
/// assert_eq!(out[0].value_str(), "hi");
/// ```
#[derive(Debug)]
pub struct BatchBuilder {
    /// Encoded records (uncompressed).
    records: BytesMut,
    /// How many records so far.
    count: i32,
    /// Timestamp of the first record (deltas are relative to it).
    base_ts: i64,
    /// Largest timestamp so far.
    max_ts: i64,
}

impl BatchBuilder {
    /// An empty batch with room for `capacity` bytes of records.
    pub fn new(capacity: usize) -> Self {
        BatchBuilder {
            records: BytesMut::with_capacity(capacity),
            count: 0,
            base_ts: 0,
            max_ts: 0,
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// True when no record was appended.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Size of the batch once sealed without compression.
    pub fn size(&self) -> usize {
        HEADER_LEN + self.records.len()
    }

    /// Bytes a record will take (an upper bound, used for size limits and buffer memory).
    pub fn record_size(
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(String, Option<Bytes>)],
    ) -> usize {
        let body = 1 + 10 + 5 + bytes_len(key) + bytes_len(value) + 5 + headers_len(headers);
        body + uvarint_len(body as u64)
    }

    /// Appends a record with timestamp `ts` (ms).
    pub fn append(
        &mut self,
        ts: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(String, Option<Bytes>)],
    ) {
        if self.count == 0 {
            self.base_ts = ts;
            self.max_ts = ts;
        }
        self.max_ts = self.max_ts.max(ts);
        let ts_delta = zigzag64(ts - self.base_ts);
        let off_delta = zigzag32(self.count);
        let body = 1
            + uvarint_len(ts_delta)
            + uvarint_len(off_delta)
            + bytes_len(key)
            + bytes_len(value)
            + uvarint_len(zigzag32(headers.len() as i32))
            + headers_len(headers);
        let r = &mut self.records;
        put_uvarint(r, zigzag32(body as i32));
        r.put_i8(0);
        put_uvarint(r, ts_delta);
        put_uvarint(r, off_delta);
        put_bytes(r, key);
        put_bytes(r, value);
        put_uvarint(r, zigzag32(headers.len() as i32));
        for (k, v) in headers {
            put_bytes(r, Some(k.as_bytes()));
            put_bytes(r, v.as_deref());
        }
        self.count += 1;
    }

    /// Encodes the whole batch (base offset 0) for `producer_id`/`epoch` starting at
    /// `base_sequence` (-1 values when not idempotent).
    pub fn seal(
        &self,
        producer_id: i64,
        producer_epoch: i16,
        base_sequence: i32,
        compression: Compression,
    ) -> Result<Bytes> {
        let mut out = BytesMut::with_capacity(HEADER_LEN + self.records.len());
        out.put_i64(0);
        out.put_i32(0); // length, filled below
        out.put_i32(-1); // partition leader epoch
        out.put_i8(2);
        out.put_u32(0); // crc, filled below
        out.put_i16(compression.id());
        out.put_i32((self.count - 1).max(0));
        out.put_i64(self.base_ts);
        out.put_i64(self.max_ts);
        out.put_i64(producer_id);
        out.put_i16(producer_epoch);
        out.put_i32(base_sequence);
        out.put_i32(self.count);
        let records = &self.records;
        let fill = |tmp: &mut BytesMut| -> anyhow::Result<()> {
            tmp.extend_from_slice(records);
            Ok(())
        };
        let done = match compression {
            Compression::None => {
                out.extend_from_slice(records);
                Ok(())
            }
            Compression::Gzip => kafka_protocol::compression::Gzip::compress(&mut out, fill),
            Compression::Snappy => kafka_protocol::compression::Snappy::compress(&mut out, fill),
            Compression::Lz4 => kafka_protocol::compression::Lz4::compress(&mut out, fill),
            Compression::Zstd => kafka_protocol::compression::Zstd::compress(&mut out, fill),
        };
        done.map_err(|e| Error::Encode(format!("compressing a batch: {e}")))?;
        let len = (out.len() - LOG_OVERHEAD) as i32;
        out[8..12].copy_from_slice(&len.to_be_bytes());
        let crc = crc32c::crc32c(&out[21..]);
        out[17..21].copy_from_slice(&crc.to_be_bytes());
        Ok(out.freeze())
    }
}

fn headers_len(headers: &[(String, Option<Bytes>)]) -> usize {
    headers
        .iter()
        .map(|(k, v)| bytes_len(Some(k.as_bytes())) + bytes_len(v.as_deref()))
        .sum()
}

/// A cursor over record bytes that fails instead of panicking.
struct Cursor {
    buf: Bytes,
}

impl Cursor {
    fn err(what: &str) -> Error {
        Error::CorruptBatch(format!("truncated record ({what})"))
    }
    fn uvarint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            if !self.buf.has_remaining() {
                return Err(Self::err("varint"));
            }
            let b = self.buf.get_u8();
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Error::CorruptBatch("varint too long".into()))
    }
    fn varint(&mut self) -> Result<i64> {
        let v = self.uvarint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }
    fn bytes(&mut self) -> Result<Option<Bytes>> {
        let len = self.varint()?;
        if len < 0 {
            return Ok(None);
        }
        let len = len as usize;
        if len > self.buf.len() {
            return Err(Self::err("bytes"));
        }
        Ok(Some(self.buf.split_to(len)))
    }
    fn i8(&mut self) -> Result<i8> {
        if !self.buf.has_remaining() {
            return Err(Self::err("attributes"));
        }
        Ok(self.buf.get_i8())
    }
}

/// Decodes every whole batch in `data` (fetched from `topic`/`partition`), appending records
/// at or after `from` to `out`. Returns the offset to fetch next: after the last whole batch,
/// or `from` when there was none.
pub fn decode_batches(
    topic: &str,
    partition: i32,
    mut data: Bytes,
    from: i64,
    out: &mut Vec<ConsumerRecord>,
) -> Result<i64> {
    let mut next = from;
    while data.len() >= LOG_OVERHEAD {
        let Some(size) = record::peek_size(&data)? else {
            break;
        };
        if size > data.len() {
            break; // a partial batch cut off by max_bytes
        }
        let batch = data.split_to(size);
        let header = record::validate(&batch)?;
        next = next.max(header.next_offset());
        if header.last_offset() < from || header.is_control() {
            continue;
        }
        let body = batch.slice(HEADER_LEN..);
        let body = match header.compression() {
            0 => body,
            c => decompress(c, body)?,
        };
        let log_append = header.attributes & (1 << 3) != 0;
        let mut cur = Cursor { buf: body };
        for _ in 0..header.record_count {
            let len = cur.varint()?;
            if len < 0 || len as usize > cur.buf.len() {
                return Err(Cursor::err("length"));
            }
            let mut rec = Cursor {
                buf: cur.buf.split_to(len as usize),
            };
            let _attributes = rec.i8()?;
            let ts_delta = rec.varint()?;
            let off_delta = rec.varint()?;
            let key = rec.bytes()?;
            let value = rec.bytes()?;
            let n_headers = rec.varint()?;
            if n_headers < 0 || n_headers as usize > rec.buf.len() {
                return Err(Cursor::err("header count"));
            }
            let mut headers = Vec::with_capacity(n_headers as usize);
            for _ in 0..n_headers {
                let k = rec.bytes()?.unwrap_or_default();
                let v = rec.bytes()?;
                headers.push((String::from_utf8_lossy(&k).into_owned(), v));
            }
            let offset = header.base_offset + off_delta;
            if offset < from {
                continue;
            }
            out.push(ConsumerRecord {
                topic: topic.to_string(),
                partition,
                offset,
                timestamp: if log_append {
                    header.max_timestamp
                } else {
                    header.base_timestamp.saturating_add(ts_delta)
                },
                log_append_time: log_append,
                key,
                value,
                headers,
            });
        }
    }
    Ok(next)
}

fn decompress(codec: i16, mut body: Bytes) -> Result<Bytes> {
    let take = |b: &mut Bytes| -> anyhow::Result<Bytes> { Ok(b.split_to(b.len())) };
    let r = match codec {
        1 => kafka_protocol::compression::Gzip::decompress(&mut body, take),
        2 => kafka_protocol::compression::Snappy::decompress(&mut body, take),
        3 => kafka_protocol::compression::Lz4::decompress(&mut body, take),
        4 => kafka_protocol::compression::Zstd::decompress(&mut body, take),
        other => {
            return Err(Error::CorruptBatch(format!(
                "unknown compression codec {other}"
            )))
        }
    };
    r.map_err(|e| Error::CorruptBatch(format!("decompressing: {e}")))
}

#[cfg(test)]
mod tests;
