use super::*;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, EpochEndOffset, FetchableTopicResponse, LeaderIdAndEpoch, PartitionData,
};
use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use proptest::prelude::*;

fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

/// The same request through kafka-protocol's codec.
fn generated(
    version: i16,
    id: i32,
    client: &str,
    params: &FetchParams,
    parts: &[FetchPart<'_>],
) -> BytesMut {
    let mut req = FetchRequest::default();
    req.replica_id = BrokerId(-1);
    req.max_wait_ms = params.max_wait_ms;
    req.min_bytes = params.min_bytes;
    req.max_bytes = params.max_bytes;
    req.isolation_level = params.isolation_level;
    for run in parts.chunk_by(|a, b| a.topic == b.topic) {
        let mut t = FetchTopic::default();
        t.topic = name(run[0].topic);
        for p in run {
            let mut fp = FetchPartition::default();
            fp.partition = p.partition;
            fp.fetch_offset = p.offset;
            fp.partition_max_bytes = p.max_bytes;
            t.partitions.push(fp);
        }
        req.topics.push(t);
    }
    let mut out = BytesMut::new();
    crate::header::put_request(
        &mut out,
        ApiKey::Fetch,
        version,
        id,
        Some(StrBytes::from_string(client.to_string())),
        &req,
    )
    .expect("encodes");
    out
}

fn topic() -> impl Strategy<Value = String> {
    // Some longer than the encoder's staging buffer (256 bytes).
    prop_oneof![
        Just("bbs.board".to_string()),
        "[a-z.é]{0,12}",
        "[a-z]{250,300}"
    ]
}

fn params() -> impl Strategy<Value = FetchParams> {
    (any::<i32>(), any::<i32>(), any::<i32>(), 0i8..2).prop_map(|(w, min, max, iso)| FetchParams {
        max_wait_ms: w,
        min_bytes: min,
        max_bytes: max,
        isolation_level: iso,
    })
}

proptest! {
    #[test]
    fn requests_are_byte_for_byte_kafka_protocols(
        version in MIN_VERSION..=MAX_VERSION,
        id in any::<i32>(),
        client in "[a-z-]{0,10}",
        params in params(),
        parts in proptest::collection::vec((topic(), any::<i32>(), any::<i64>(), any::<i32>()), 0..12),
        before in proptest::collection::vec(any::<u8>(), 0..3),
    ) {
        let parts: Vec<FetchPart<'_>> = parts
            .iter()
            .map(|(t, p, o, m)| FetchPart { topic: t, partition: *p, offset: *o, max_bytes: *m })
            .collect();
        // Appended after what the buffer already holds.
        let mut ours = BytesMut::from(&before[..]);
        put_request(&mut ours, version, id, &client, &params, &parts).expect("encodes");
        let theirs = generated(version, id, &client, &params, &parts);
        prop_assert_eq!(&ours[..before.len()], &before[..]);
        prop_assert_eq!(&ours[before.len()..], &theirs[..]);
    }

    #[test]
    fn responses_read_as_kafka_protocol_wrote_them(
        version in MIN_VERSION..=MAX_VERSION,
        error in any::<i16>(),
        topics in proptest::collection::vec((topic(), proptest::collection::vec(
            (any::<i32>(), any::<i16>(), any::<i64>(), 0usize..3, proptest::option::of(
                proptest::collection::vec(any::<u8>(), 0..40)), any::<bool>()), 0..4)), 0..4),
    ) {
        let mut resp = FetchResponse::default();
        if version >= 7 {
            resp.error_code = error;
            resp.session_id = 17;
        }
        resp.throttle_time_ms = 3;
        let mut want = Vec::new();
        for (t, ps) in &topics {
            let mut ft = FetchableTopicResponse::default();
            ft.topic = name(t);
            for (p, code, hw, aborted, records, tagged) in ps {
                let mut pd = PartitionData::default();
                pd.partition_index = *p;
                pd.error_code = *code;
                pd.high_watermark = *hw;
                pd.last_stable_offset = hw.wrapping_sub(1);
                pd.log_start_offset = 5;
                pd.aborted_transactions = Some(
                    (0..*aborted)
                        .map(|i| {
                            let mut a = AbortedTransaction::default();
                            a.producer_id = kafka_protocol::messages::ProducerId(i as i64);
                            a.first_offset = 100;
                            a
                        })
                        .collect(),
                );
                if version >= 11 {
                    pd.preferred_read_replica = BrokerId(2);
                }
                if *tagged && version >= 12 {
                    // Tagged fields a reader that does not know them must step over.
                    let mut d = EpochEndOffset::default();
                    d.epoch = 4;
                    d.end_offset = 9;
                    pd.diverging_epoch = d;
                    let mut l = LeaderIdAndEpoch::default();
                    l.leader_id = BrokerId(1);
                    l.leader_epoch = 2;
                    pd.current_leader = l;
                }
                pd.records = records.clone().map(Bytes::from);
                want.push((t.clone(), *p, *code, *hw, pd.records.clone()));
                ft.partitions.push(pd);
            }
            resp.responses.push(ft);
        }
        let mut body = BytesMut::new();
        resp.encode(&mut body, version).expect("encodes");
        let body = body.freeze();
        let mut got = Vec::new();
        let top = read_response(&body, version, |p| {
            got.push((p.topic.to_string(), p.partition, p.error_code, p.high_watermark, p.records));
        })
        .expect("reads");
        prop_assert_eq!(top, if version >= 7 { error } else { 0 });
        prop_assert_eq!(got, want);
    }

    #[test]
    fn any_bytes_are_an_answer_or_an_error(
        version in MIN_VERSION..=MAX_VERSION,
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let body = Bytes::from(bytes);
        let _ = read_response(&body, version, |_| {});
    }
}

/// A response with one partition holding `records`, at `version`.
fn one_partition(version: i16, records: &[u8]) -> Bytes {
    let mut pd = PartitionData::default();
    pd.high_watermark = 7;
    pd.records = Some(Bytes::copy_from_slice(records));
    let mut ft = FetchableTopicResponse::default();
    ft.topic = name("t");
    ft.partitions.push(pd);
    let mut resp = FetchResponse::default();
    resp.responses.push(ft);
    let mut body = BytesMut::new();
    resp.encode(&mut body, version).expect("encodes");
    body.freeze()
}

#[test]
fn every_cut_short_response_is_an_error() {
    for version in MIN_VERSION..=MAX_VERSION {
        let body = one_partition(version, b"some batches");
        let mut whole = 0;
        read_response(&body, version, |_| whole += 1).expect("the whole body reads");
        assert_eq!(whole, 1);
        for cut in 0..body.len() {
            let short = body.slice(..cut);
            assert!(
                read_response(&short, version, |_| {}).is_err(),
                "v{version} cut at {cut} of {} read as whole",
                body.len()
            );
        }
    }
}

#[test]
fn a_record_length_beyond_the_body_is_refused_not_allocated() {
    let mut body = BytesMut::from(&one_partition(4, b"abc")[..]);
    // The records' i32 length sits just before the last three bytes.
    let at = body.len() - 3 - 4;
    body[at..at + 4].copy_from_slice(&i32::MAX.to_be_bytes());
    let err = read_response(&body.freeze(), 4, |_| {}).expect_err("refused");
    assert!(err.to_string().contains("bytes left"), "{err}");
}

#[test]
fn versions_outside_the_range_are_refused() {
    let mut out = BytesMut::new();
    let params = FetchParams {
        max_wait_ms: 1,
        min_bytes: 1,
        max_bytes: 1,
        isolation_level: 0,
    };
    assert!(put_request(&mut out, 13, 1, "c", &params, &[]).is_err());
    assert!(put_request(&mut out, 3, 1, "c", &params, &[]).is_err());
    assert!(read_response(&Bytes::new(), 13, |_| {}).is_err());
    // And decoding our v12 request with the generated decoder gives the fields back.
    let parts = [FetchPart {
        topic: "t",
        partition: 2,
        offset: 40,
        max_bytes: 1024,
    }];
    put_request(&mut out, 12, 9, "c", &params, &parts).expect("encodes");
    let mut frame = out.freeze().slice(4..);
    crate::header::decode_request_header(&mut frame, ApiKey::Fetch, 12).expect("header");
    let req = FetchRequest::decode(&mut frame, 12).expect("decodes");
    assert_eq!(req.topics[0].partitions[0].fetch_offset, 40);
    assert_eq!(req.topics[0].topic.0.as_str(), "t");
}
