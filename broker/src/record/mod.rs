//! Record batches on the server side. The batch-header layout, validation and the fields
//! the broker rewrites live in the wire crate ([`wire::batch`], re-exported here); this
//! module adds what only the broker needs: bounded decompression ([`bounded`]) and the
//! simple batches of its internal state records.
//!
//! The broker's record type is kafka-protocol's `Record` (`Bytes`-based, with the batch
//! fields the log needs); hosts see records as [`crate::auth::PolicyRecord`] instead
//! (see [`crate::auth::policy`] for why).

use crate::error::{Error, Result};

pub use wire::batch::*;

pub mod bounded;

/// Encodes key/value pairs as one uncompressed v2 batch with base offset 0 (the log assigns
/// the real one). Used for the broker's internal state records.
pub fn encode_simple(
    entries: &[(Option<bytes::Bytes>, Option<bytes::Bytes>)],
    timestamp: i64,
) -> Result<bytes::BytesMut> {
    use kafka_protocol::records::{
        Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    };
    let records: Vec<Record> = entries
        .iter()
        .enumerate()
        .map(|(i, (k, v))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // offset - sequence must stay constant or the encoder splits the batch.
            sequence: i as i32,
            timestamp,
            key: k.clone(),
            value: v.clone(),
            headers: Default::default(),
        })
        .collect();
    let mut buf = bytes::BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options)
        .map_err(|e| Error::Encode(e.to_string()))?;
    Ok(buf)
}

/// Decodes every record of a run of whole batches, decompressing each batch to at most
/// the server-wide cap ([`bounded::server_cap`]).
pub fn decode_records(data: bytes::Bytes) -> Result<Vec<kafka_protocol::records::Record>> {
    bounded::decode_records(data, bounded::server_cap())
}
