//! Raw v2 record batches: parsing and validating batch headers, rewriting the fields the
//! broker owns (base offset, leader epoch, log-append time), all without I/O and without
//! decompressing records. The server's log and the client's fetch parser both read
//! batches through here.
//!
//! Batch layout (magic 2), byte offsets from the start of the batch:
//! `0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 | 16 magic i8 |
//! 17 crc u32 | 21 attributes i16 | 23 lastOffsetDelta i32 | 27 baseTimestamp i64 |
//! 35 maxTimestamp i64 | 43 producerId i64 | 51 producerEpoch i16 | 53 baseSequence i32 |
//! 57 recordCount i32 | 61 records`. The CRC32C covers bytes 21 to the end.

use crate::{Error, Result};

/// Size of the fixed batch header.
pub const HEADER_LEN: usize = 61;
/// Bytes before `batchLength`'s payload begins (base offset + length).
pub const LOG_OVERHEAD: usize = 12;
const CRC_START: usize = 21;
const TIMESTAMP_TYPE_BIT: i16 = 1 << 3;
const TRANSACTIONAL_BIT: i16 = 1 << 4;
const CONTROL_BIT: i16 = 1 << 5;

/// The fields of a batch header the broker reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    /// Offset of the first record.
    pub base_offset: i64,
    /// Total size of the batch in bytes, including the 12-byte log overhead.
    pub size: usize,
    /// Attributes (compression, timestamp type, transactional, control).
    pub attributes: i16,
    /// Offset of the last record relative to the base.
    pub last_offset_delta: i32,
    /// First timestamp.
    pub base_timestamp: i64,
    /// Largest timestamp in the batch.
    pub max_timestamp: i64,
    /// Idempotent producer id, or -1.
    pub producer_id: i64,
    /// Producer epoch, or -1.
    pub producer_epoch: i16,
    /// Sequence of the first record, or -1.
    pub base_sequence: i32,
    /// Number of records.
    pub record_count: i32,
}

impl BatchHeader {
    /// Offset of the last record in the batch.
    pub fn last_offset(&self) -> i64 {
        self.base_offset + i64::from(self.last_offset_delta)
    }
    /// Offset after the batch.
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }
    /// Whether the batch is part of a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }
    /// Whether the batch holds control records.
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }
    /// Sequence of the last record (wrapping as Kafka does).
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence < 0 {
            return -1;
        }
        let last = i64::from(self.base_sequence) + i64::from(self.last_offset_delta);
        (last % (i64::from(i32::MAX) + 1)) as i32
    }
    /// Compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn compression(&self) -> i16 {
        self.attributes & 0x7
    }
}

fn be_i64(b: &[u8], at: usize) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    i64::from_be_bytes(a)
}
fn be_i32(b: &[u8], at: usize) -> i32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    i32::from_be_bytes(a)
}
fn be_i16(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([b[at], b[at + 1]])
}

/// Reads the total size of the batch starting at `buf` from its first 12 bytes, or `None`
/// when fewer than 12 bytes are there. Errors on a length that cannot be a v2 batch.
pub fn peek_size(buf: &[u8]) -> Result<Option<usize>> {
    if buf.len() < LOG_OVERHEAD {
        return Ok(None);
    }
    let len = be_i32(buf, 8);
    if len < (HEADER_LEN - LOG_OVERHEAD) as i32 {
        return Err(Error::CorruptBatch(format!(
            "batch length {len} is too small"
        )));
    }
    Ok(Some(LOG_OVERHEAD + len as usize))
}

/// Parses a header from at least [`HEADER_LEN`] bytes, checking length and magic but not the
/// CRC (use [`validate`] for that).
pub fn parse_header(buf: &[u8]) -> Result<BatchHeader> {
    if buf.len() < HEADER_LEN {
        return Err(Error::CorruptBatch(format!(
            "{} bytes is shorter than a batch header",
            buf.len()
        )));
    }
    let size = peek_size(buf)?.unwrap_or(0);
    let magic = buf[16] as i8;
    if magic != 2 {
        return Err(Error::CorruptBatch(format!("unsupported magic {magic}")));
    }
    let last_offset_delta = be_i32(buf, 23);
    let record_count = be_i32(buf, 57);
    if last_offset_delta < 0 || record_count < 0 {
        return Err(Error::CorruptBatch(
            "negative offset delta or record count".into(),
        ));
    }
    Ok(BatchHeader {
        base_offset: be_i64(buf, 0),
        size,
        attributes: be_i16(buf, 21),
        last_offset_delta,
        base_timestamp: be_i64(buf, 27),
        max_timestamp: be_i64(buf, 35),
        producer_id: be_i64(buf, 43),
        producer_epoch: be_i16(buf, 51),
        base_sequence: be_i32(buf, 53),
        record_count,
    })
}

/// Checks that `batch` is exactly one whole v2 batch with a correct CRC32C.
pub fn validate(batch: &[u8]) -> Result<BatchHeader> {
    let header = parse_header(batch)?;
    if header.size != batch.len() {
        return Err(Error::CorruptBatch(format!(
            "batch says {} bytes but {} are present",
            header.size,
            batch.len()
        )));
    }
    let stored = be_i32(batch, 17) as u32;
    let actual = crc32c::crc32c(&batch[CRC_START..]);
    if stored != actual {
        return Err(Error::CorruptBatch(format!(
            "CRC mismatch (stored {stored:#010x}, computed {actual:#010x})"
        )));
    }
    Ok(header)
}

/// Splits a produce request's record set into whole, CRC-checked batches.
pub fn split_batches(records: &[u8]) -> Result<Vec<(std::ops::Range<usize>, BatchHeader)>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < records.len() {
        let size = peek_size(&records[at..])?
            .ok_or_else(|| Error::CorruptBatch("truncated batch length".into()))?;
        let end = at
            .checked_add(size)
            .filter(|end| *end <= records.len())
            .ok_or_else(|| Error::CorruptBatch("batch runs past the end of the records".into()))?;
        let header = validate(&records[at..end])?;
        out.push((at..end, header));
        at = end;
    }
    Ok(out)
}

/// Sets the base offset (not covered by the CRC).
pub fn set_base_offset(batch: &mut [u8], base_offset: i64) {
    batch[0..8].copy_from_slice(&base_offset.to_be_bytes());
}

/// Sets the partition leader epoch (not covered by the CRC).
pub fn set_leader_epoch(batch: &mut [u8], epoch: i32) {
    batch[12..16].copy_from_slice(&epoch.to_be_bytes());
}

/// Stamps log-append time: sets the timestamp-type bit and the max timestamp (and the base
/// timestamp, as Kafka does) then recomputes the CRC.
pub fn set_log_append_time(batch: &mut [u8], now_ms: i64) {
    let attrs = be_i16(batch, 21) | TIMESTAMP_TYPE_BIT;
    batch[21..23].copy_from_slice(&attrs.to_be_bytes());
    batch[27..35].copy_from_slice(&now_ms.to_be_bytes());
    batch[35..43].copy_from_slice(&now_ms.to_be_bytes());
    let crc = crc32c::crc32c(&batch[CRC_START..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
