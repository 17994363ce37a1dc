use super::*;
use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

pub(crate) fn batch(n: usize, compression: Compression) -> BytesMut {
    let records: Vec<Record> = (0..n)
        .map(|i| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32,
            timestamp: 1_000 + i as i64,
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(format!("value {i}"))),
            headers: Default::default(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let opts = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &opts).expect("encode");
    buf
}

#[test]
fn parses_and_validates_a_batch() {
    for c in [
        Compression::None,
        Compression::Gzip,
        Compression::Lz4,
        Compression::Zstd,
        Compression::Snappy,
    ] {
        let b = batch(5, c);
        let h = validate(&b).expect("valid");
        assert_eq!(h.record_count, 5);
        assert_eq!(h.last_offset_delta, 4);
        assert_eq!(h.size, b.len());
        assert_eq!(h.max_timestamp, 1_004);
        assert_eq!(h.compression(), c as i16);
    }
}

#[test]
fn flipped_byte_fails_crc() {
    let mut b = batch(3, Compression::None);
    let last = b.len() - 1;
    b[last] ^= 0x40;
    assert!(matches!(validate(&b), Err(Error::CorruptBatch(_))));
}

#[test]
fn base_offset_rewrite_keeps_crc() {
    let mut b = batch(3, Compression::None);
    set_base_offset(&mut b, 77);
    set_leader_epoch(&mut b, 0);
    let h = validate(&b).expect("still valid");
    assert_eq!(h.base_offset, 77);
    assert_eq!(h.last_offset(), 79);
}

#[test]
fn log_append_time_recomputes_crc() {
    let mut b = batch(3, Compression::Gzip);
    set_log_append_time(&mut b, 123_456);
    let h = validate(&b).expect("valid after restamp");
    assert_eq!(h.max_timestamp, 123_456);
    assert_ne!(h.attributes & (1 << 3), 0);
}

#[test]
fn split_finds_every_batch_and_rejects_truncation() {
    let mut all = batch(2, Compression::None);
    all.extend_from_slice(&batch(4, Compression::Gzip));
    let parts = split_batches(&all).expect("two batches");
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[1].1.record_count, 4);
    assert!(split_batches(&all[..all.len() - 3]).is_err());
}

proptest::proptest! {
    #[test]
    fn split_never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        let _ = split_batches(&data);
    }
}
