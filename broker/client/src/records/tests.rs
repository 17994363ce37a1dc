use super::*;

fn build(n: usize, compression: Compression) -> Bytes {
    let mut b = BatchBuilder::new(1024);
    for i in 0..n {
        let key = format!("k{i}");
        let headers = vec![("bbs.kind".to_string(), Some(Bytes::from_static(b"post")))];
        b.append(
            1_000 + i as i64,
            Some(key.as_bytes()),
            (i % 5 != 4).then_some(format!("value {i}").as_bytes()),
            &headers,
        );
    }
    b.seal(7, 1, 100, compression).expect("seal")
}

#[test]
fn round_trip_every_codec() {
    for c in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let batch = build(10, c);
        let h = record::validate(&batch).expect("valid batch");
        assert_eq!(h.record_count, 10);
        assert_eq!(h.base_sequence, 100);
        assert_eq!(h.producer_id, 7);
        assert_eq!(h.compression(), c.id());
        let mut out = Vec::new();
        let next = decode_batches("t", 0, batch.clone(), 0, &mut out).expect("decode");
        assert_eq!(next, 10);
        assert_eq!(out.len(), 10, "{c:?}");
        assert_eq!(out[3].key_str().as_deref(), Some("k3"));
        assert_eq!(out[3].value_str(), "value 3");
        assert_eq!(out[4].value, None);
        assert_eq!(out[3].timestamp, 1003);
        assert_eq!(out[3].header("bbs.kind"), Some(&b"post"[..]));
        // kafka-protocol's own decoder agrees.
        let mut buf = batch;
        let set =
            kafka_protocol::records::RecordBatchDecoder::decode(&mut buf).expect("crate decode");
        assert_eq!(set.records.len(), 10);
        assert_eq!(set.records[2].key.as_deref(), Some(&b"k2"[..]));
        assert_eq!(set.records[2].sequence, 102);
    }
}

#[test]
fn skips_earlier_records_and_partial_tail() {
    let mut data = BytesMut::new();
    data.extend_from_slice(&build(5, Compression::None));
    let mut second = BytesMut::from(&build(5, Compression::None)[..]);
    record::set_base_offset(&mut second, 5);
    data.extend_from_slice(&second);
    let third = build(3, Compression::None);
    data.extend_from_slice(&third[..third.len() - 4]);
    let mut out = Vec::new();
    let next = decode_batches("t", 1, data.freeze(), 3, &mut out).expect("decode");
    assert_eq!(next, 10);
    let offsets: Vec<i64> = out.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![3, 4, 5, 6, 7, 8, 9]);
}

#[test]
fn empty_builder_and_sizes() {
    let mut b = BatchBuilder::new(0);
    assert!(b.is_empty());
    let est = BatchBuilder::record_size(Some(b"k"), Some(b"v"), &[]);
    b.append(0, Some(b"k"), Some(b"v"), &[]);
    assert!(b.size() - HEADER_LEN <= est);
    assert_eq!(b.len(), 1);
}

#[test]
fn corrupt_crc_is_an_error() {
    let mut bad = BytesMut::from(&build(3, Compression::None)[..]);
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    assert!(decode_batches("t", 0, bad.freeze(), 0, &mut Vec::new()).is_err());
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
        let _ = decode_batches("t", 0, Bytes::from(data), 0, &mut Vec::new());
    }

    #[test]
    fn truncations_never_panic(cut in 0usize..400) {
        let batch = build(6, Compression::None);
        let cut = cut.min(batch.len());
        let _ = decode_batches("t", 0, batch.slice(..cut), 0, &mut Vec::new());
    }

    #[test]
    fn corrupted_records_with_valid_crc_never_panic(pos in 61usize..200, byte in proptest::num::u8::ANY) {
        let mut b = BytesMut::from(&build(6, Compression::None)[..]);
        if pos < b.len() {
            b[pos] = byte;
            let crc = crc32c::crc32c(&b[21..]);
            b[17..21].copy_from_slice(&crc.to_be_bytes());
        }
        let _ = decode_batches("t", 0, b.freeze(), 0, &mut Vec::new());
    }
}
