//! Bounded decompression of record batches: every place the broker looks inside a
//! compressed batch (the append check, the record policy, compaction, state replay, the
//! BBS host's load) goes through here, so a tiny compressed request (a "bomb") can never
//! make the server produce more than `limit` bytes of records, whatever the codec.
//!
//! Each codec is streamed (gzip, lz4, zstd) or its declared block lengths are checked
//! before anything is allocated (snappy, whose blocks state their uncompressed size up
//! front). The limit is the topic's `max.message.bytes` capped by the server-wide
//! [`server_cap`] (`broker.max_uncompressed_batch_bytes`). Going over it is a
//! [`Error::Refused`] with MESSAGE_TOO_LARGE (10); a damaged stream is
//! [`Error::CorruptBatch`].

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use wire::ErrorCode;

use bytes::Bytes;
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder};

use super::BatchHeader;
use crate::error::{Error, Result};

/// The server-wide cap's default (8 MiB of uncompressed records per batch).
pub const DEFAULT_SERVER_CAP: usize = 8 * 1024 * 1024;
/// Largest zstd window accepted (2^23 = 8 MiB): producers at ordinary levels use far
/// less, and the decoder allocates the window a frame asks for before any output.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;
/// The xerial framing Kafka's Java client puts around snappy blocks.
const SNAPPY_XERIAL_MAGIC: &[u8] = b"\x82SNAPPY\x00";
/// Length of the xerial header (magic, version, compatible version).
const SNAPPY_XERIAL_HEADER: usize = 16;

static SERVER_CAP: AtomicUsize = AtomicUsize::new(DEFAULT_SERVER_CAP);

/// Sets the server-wide cap on uncompressed batch size (set once at broker start from
/// `broker.max_uncompressed_batch_bytes`; process-wide because every log path uses it).
pub fn set_server_cap(bytes: usize) {
    SERVER_CAP.store(bytes.max(1), Ordering::Relaxed);
}

/// The server-wide cap on the uncompressed records of one batch.
pub fn server_cap() -> usize {
    SERVER_CAP.load(Ordering::Relaxed)
}

/// The limit for a topic: its `max.message.bytes`, never above the server cap.
pub fn limit_for(max_message_bytes: usize) -> usize {
    max_message_bytes.min(server_cap())
}

fn too_large(limit: usize) -> Error {
    Error::Refused {
        code: ErrorCode::MESSAGE_TOO_LARGE,
        message: format!(
            "batch records decompress to more than {limit} bytes (max.message.bytes / \
             max_uncompressed_batch_bytes)"
        ),
    }
}

fn corrupt(codec: &str, e: impl std::fmt::Display) -> Error {
    Error::CorruptBatch(format!("bad {codec} data: {e}"))
}

/// Copies at most `limit` bytes from `r` to `w`; more is [`too_large`].
fn copy_bounded(r: impl Read, w: &mut impl Write, limit: usize, codec: &str) -> Result<usize> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let n = std::io::copy(&mut r.take(cap), w).map_err(|e| corrupt(codec, e))?;
    if n > limit as u64 {
        return Err(too_large(limit));
    }
    Ok(n as usize)
}

/// Decompresses snappy data (xerial-framed as Java writes it, or one raw block), checking
/// each block's declared length against what is left of `limit` before allocating it.
fn snappy(data: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<()> {
    let block = |raw: &[u8], out: &mut Vec<u8>| -> Result<()> {
        let len = snap::raw::decompress_len(raw).map_err(|e| corrupt("snappy", e))?;
        if out.len().saturating_add(len) > limit {
            return Err(too_large(limit));
        }
        let start = out.len();
        out.resize(start + len, 0);
        snap::raw::Decoder::new()
            .decompress(raw, &mut out[start..])
            .map_err(|e| corrupt("snappy", e))?;
        Ok(())
    };
    if !data.starts_with(SNAPPY_XERIAL_MAGIC) {
        return block(data, out);
    }
    let mut rest = data
        .get(SNAPPY_XERIAL_HEADER..)
        .ok_or_else(|| corrupt("snappy", "truncated xerial header"))?;
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt("snappy", "truncated block length"))?;
        let len = u32::from_be_bytes(*len) as usize;
        let raw = tail
            .get(..len)
            .ok_or_else(|| corrupt("snappy", "block runs past the end"))?;
        block(raw, out)?;
        rest = &tail[len..];
    }
    Ok(())
}

/// Decompresses `data` of `codec` into `out`, never letting it grow past `limit`.
fn decompress_into(codec: Compression, data: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<()> {
    match codec {
        // Uncompressed records are already in memory, bounded by the batch's own size.
        Compression::None => out.extend_from_slice(data),
        Compression::Gzip => {
            copy_bounded(flate2::read::MultiGzDecoder::new(data), out, limit, "gzip")?;
        }
        Compression::Lz4 => {
            let d = lz4::Decoder::new(data).map_err(|e| corrupt("lz4", e))?;
            copy_bounded(d, out, limit, "lz4")?;
        }
        Compression::Zstd => {
            let mut d = zstd::stream::read::Decoder::new(data).map_err(|e| corrupt("zstd", e))?;
            d.window_log_max(ZSTD_WINDOW_LOG_MAX)
                .map_err(|e| corrupt("zstd", e))?;
            copy_bounded(d, out, limit, "zstd")?;
        }
        Compression::Snappy => snappy(data, limit, out)?,
    }
    Ok(())
}

fn codec_of(header: &BatchHeader) -> Result<Compression> {
    Ok(match header.compression() {
        0 => Compression::None,
        1 => Compression::Gzip,
        2 => Compression::Snappy,
        3 => Compression::Lz4,
        4 => Compression::Zstd,
        c => {
            return Err(Error::CorruptBatch(format!(
                "unknown compression codec {c}"
            )))
        }
    })
}

/// Checks that one whole batch's records decompress cleanly to at most `limit` bytes,
/// keeping nothing: gzip, lz4 and zstd stream into a counter, snappy checks declared
/// lengths first. Uncompressed batches are already bounded by their own size.
pub fn check_batch(batch: &[u8], header: &BatchHeader, limit: usize) -> Result<()> {
    let codec = codec_of(header)?;
    let body = batch.get(super::HEADER_LEN..).unwrap_or(&[]);
    match codec {
        Compression::None => Ok(()),
        Compression::Snappy => snappy(body, limit, &mut Vec::new()),
        Compression::Gzip => copy_bounded(
            flate2::read::MultiGzDecoder::new(body),
            &mut std::io::sink(),
            limit,
            "gzip",
        )
        .map(drop),
        Compression::Lz4 => {
            let d = lz4::Decoder::new(body).map_err(|e| corrupt("lz4", e))?;
            copy_bounded(d, &mut std::io::sink(), limit, "lz4").map(drop)
        }
        Compression::Zstd => {
            let mut d = zstd::stream::read::Decoder::new(body).map_err(|e| corrupt("zstd", e))?;
            d.window_log_max(ZSTD_WINDOW_LOG_MAX)
                .map_err(|e| corrupt("zstd", e))?;
            copy_bounded(d, &mut std::io::sink(), limit, "zstd").map(drop)
        }
    }
}

/// Decodes every record of a run of whole batches, each batch's records decompressed to
/// at most `limit` bytes.
pub fn decode_records(data: Bytes, limit: usize) -> Result<Vec<Record>> {
    let mut buf = data;
    let mut out = Vec::new();
    // The decoder's callback error type is opaque; keep our own error to return it as is.
    let failure = std::cell::RefCell::new(None::<Error>);
    let decompress = |body: &mut Bytes, codec: Compression| -> anyhow::Result<Bytes> {
        let mut v = Vec::new();
        match decompress_into(codec, body, limit, &mut v) {
            Ok(()) => Ok(Bytes::from(v)),
            Err(e) => {
                let text = e.to_string();
                *failure.borrow_mut() = Some(e);
                Err(anyhow::anyhow!(text))
            }
        }
    };
    while !buf.is_empty() {
        match RecordBatchDecoder::decode_with_custom_compression(&mut buf, Some(&decompress)) {
            Ok(set) => out.extend(set.records),
            Err(e) => {
                return Err(failure
                    .borrow_mut()
                    .take()
                    .unwrap_or_else(|| Error::CorruptBatch(e.to_string())))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::{RecordBatchEncoder, RecordEncodeOptions, TimestampType};

    fn batch(codec: Compression, value_len: usize) -> bytes::BytesMut {
        let rec = Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: 0,
            sequence: 0,
            timestamp: 1,
            key: None,
            value: Some(Bytes::from(vec![0u8; value_len])),
            headers: Default::default(),
        };
        let mut out = bytes::BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: codec,
        };
        RecordBatchEncoder::encode(&mut out, [&rec], &options).expect("encode");
        out
    }

    #[test]
    fn every_codec_round_trips_under_the_limit_and_is_refused_over_it() {
        for codec in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let b = batch(codec, 100_000);
            let h = super::super::parse_header(&b).expect("header");
            check_batch(&b, &h, 200_000).expect("fits");
            let recs = decode_records(b.clone().freeze(), 200_000).expect("decode");
            assert_eq!(recs[0].value.as_ref().map(|v| v.len()), Some(100_000));
            if codec != Compression::None {
                let err = check_batch(&b, &h, 50_000).expect_err("too large");
                assert!(
                    matches!(
                        err,
                        Error::Refused {
                            code: ErrorCode::MESSAGE_TOO_LARGE,
                            ..
                        }
                    ),
                    "{codec:?}"
                );
                let err = decode_records(b.freeze(), 50_000).expect_err("too large");
                assert!(
                    matches!(
                        err,
                        Error::Refused {
                            code: ErrorCode::MESSAGE_TOO_LARGE,
                            ..
                        }
                    ),
                    "{codec:?}: {err}"
                );
            }
        }
    }

    #[test]
    fn a_snappy_block_claiming_4_gib_is_refused_before_allocating() {
        // Varint 0xFFFFFFFF as the declared length, then nothing.
        let raw = [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00];
        let err = decompress_into(Compression::Snappy, &raw, 1 << 20, &mut Vec::new())
            .expect_err("refused");
        assert!(matches!(
            err,
            Error::Refused {
                code: ErrorCode::MESSAGE_TOO_LARGE,
                ..
            }
        ));
    }
}
