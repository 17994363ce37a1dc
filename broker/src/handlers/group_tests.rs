//! Group handlers through the real dispatch on a real broker: every group API answers at
//! its lowest and highest advertised version (the encoder is strict), bad input gets the
//! Kafka error, and simple commits round-trip through OffsetFetch.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable};

use super::{handle, sb, tn, Reply};
use crate::broker::{Broker, Session};
use crate::protocol::{parse_request, Parsed};
use crate::BrokerConfig;
use wire::ErrorCode;

async fn broker() -> (Arc<Broker>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let (b, _) = Broker::open(BrokerConfig::default(), dir.path()).expect("open");
    b.logs
        .create_topic("t", 2, Default::default(), false)
        .await
        .expect("topic");
    (b, dir)
}

async fn call<Q: Encodable, R: Decodable>(b: &Arc<Broker>, key: ApiKey, v: i16, body: &Q) -> R {
    let mut h = RequestHeader::default();
    h.request_api_key = key as i16;
    h.request_api_version = v;
    h.correlation_id = 7;
    h.client_id = Some(sb("unit"));
    let mut buf = BytesMut::new();
    h.encode(&mut buf, key.request_header_version(v))
        .expect("header");
    body.encode(&mut buf, v).expect("body");
    let Ok(Parsed::Request(req)) = parse_request(buf.freeze()) else {
        panic!("{key:?} v{v} not accepted");
    };
    let mut session = Session::new("127.0.0.1:5000".parse().expect("addr"));
    session.principal = crate::auth::Principal::User("unit".into());
    let frame = match handle(b, &mut session, req).await.expect("handled") {
        Reply::Now(f) => f,
        Reply::Later(fut) | Reply::Held(fut, _) => {
            fut.await.expect("answered").expect("a response")
        }
        Reply::Nothing => panic!("no response"),
    };
    let mut body: Bytes = frame.slice(4..);
    ResponseHeader::decode(&mut body, key.response_header_version(v)).expect("resp header");
    R::decode(&mut body, v).unwrap_or_else(|e| panic!("{key:?} v{v} response: {e}"))
}

fn join(group: &str, member: &str, session_ms: i32, ptype: &str, meta: Bytes) -> JoinGroupRequest {
    let mut p = JoinGroupRequestProtocol::default();
    p.name = sb("range");
    p.metadata = meta;
    let mut j = JoinGroupRequest::default();
    j.group_id = GroupId(sb(group));
    j.session_timeout_ms = session_ms;
    j.rebalance_timeout_ms = 10_000;
    j.member_id = sb(member);
    j.protocol_type = sb(ptype);
    j.protocols = vec![p];
    j
}

fn commit(
    group: &str,
    generation: i32,
    member: &str,
    topics: &[(&str, i32, i64)],
) -> OffsetCommitRequest {
    let mut r = OffsetCommitRequest::default();
    r.group_id = GroupId(sb(group));
    r.generation_id_or_member_epoch = generation;
    r.member_id = sb(member);
    for (t, p, o) in topics {
        let mut part = OffsetCommitRequestPartition::default();
        part.partition_index = *p;
        part.committed_offset = *o;
        part.committed_metadata = Some(sb("note"));
        let mut topic = OffsetCommitRequestTopic::default();
        topic.name = tn(t);
        topic.partitions = vec![part];
        r.topics.push(topic);
    }
    r
}

#[tokio::test]
async fn every_group_api_answers_at_its_lowest_and_highest_version() {
    let (b, _dir) = broker().await;
    for v in [0, 3] {
        let r: FindCoordinatorResponse = call(
            &b,
            ApiKey::FindCoordinator,
            v,
            &FindCoordinatorRequest::default(),
        )
        .await;
        assert_eq!((r.error_code, r.port), (0, 9092));
    }
    for (v, group) in [(0i16, "g0"), (7, "g7")] {
        let j: JoinGroupResponse = call(
            &b,
            ApiKey::JoinGroup,
            v,
            &join(group, "", 10_000, "consumer", Bytes::new()),
        )
        .await;
        assert_eq!(j.error_code, ErrorCode::NONE, "JoinGroup v{v}");
        let sv = if v == 0 { 0 } else { 5 };
        let mut s = SyncGroupRequest::default();
        s.group_id = GroupId(sb(group));
        s.generation_id = j.generation_id;
        s.member_id = j.member_id.clone();
        if sv == 5 {
            s.protocol_type = Some(sb("consumer"));
            s.protocol_name = Some(sb("range"));
        }
        let r: SyncGroupResponse = call(&b, ApiKey::SyncGroup, sv, &s).await;
        assert_eq!(r.error_code, ErrorCode::NONE, "SyncGroup v{sv}");
        let hv = if v == 0 { 0 } else { 4 };
        let mut h = HeartbeatRequest::default();
        h.group_id = GroupId(sb(group));
        h.generation_id = j.generation_id;
        h.member_id = j.member_id.clone();
        let r: HeartbeatResponse = call(&b, ApiKey::Heartbeat, hv, &h).await;
        assert_eq!(r.error_code, ErrorCode::NONE, "Heartbeat v{hv}");
        let (cv, fv) = if v == 0 { (2, 1) } else { (8, 7) };
        let r: OffsetCommitResponse = call(
            &b,
            ApiKey::OffsetCommit,
            cv,
            &commit(group, j.generation_id, &j.member_id, &[("t", 0, 5)]),
        )
        .await;
        assert_eq!(
            r.topics[0].partitions[0].error_code,
            ErrorCode::NONE,
            "OffsetCommit v{cv}"
        );
        let mut f = OffsetFetchRequest::default();
        f.group_id = GroupId(sb(group));
        let mut ft = OffsetFetchRequestTopic::default();
        ft.name = tn("t");
        ft.partition_indexes = vec![0, 1];
        f.topics = Some(vec![ft]);
        let r: OffsetFetchResponse = call(&b, ApiKey::OffsetFetch, fv, &f).await;
        let offsets: Vec<i64> = r.topics[0]
            .partitions
            .iter()
            .map(|p| p.committed_offset)
            .collect();
        assert_eq!(offsets, vec![5, -1], "OffsetFetch v{fv}");
    }
    for v in [0, 6] {
        let mut d = DescribeGroupsRequest::default();
        d.groups = vec![GroupId(sb("g7")), GroupId(sb("none"))];
        let r: DescribeGroupsResponse = call(&b, ApiKey::DescribeGroups, v, &d).await;
        assert_eq!(r.groups[0].group_state.as_str(), "Stable");
        assert_eq!(r.groups[0].members.len(), 1);
        assert_eq!(r.groups[1].group_state.as_str(), "Dead");
    }
    for v in [0, 5] {
        let r: ListGroupsResponse =
            call(&b, ApiKey::ListGroups, v, &ListGroupsRequest::default()).await;
        assert_eq!(r.groups.len(), 2, "ListGroups v{v}");
    }
    for (v, group) in [(0i16, "g0"), (4, "g7")] {
        let d: DescribeGroupsResponse = {
            let mut d = DescribeGroupsRequest::default();
            d.groups = vec![GroupId(sb(group))];
            call(&b, ApiKey::DescribeGroups, 0, &d).await
        };
        let member = d.groups[0].members[0].member_id.clone();
        let mut l = LeaveGroupRequest::default();
        l.group_id = GroupId(sb(group));
        if v >= 3 {
            let mut m = kafka_protocol::messages::leave_group_request::MemberIdentity::default();
            m.member_id = member;
            l.members = vec![m];
        } else {
            l.member_id = member;
        }
        let r: LeaveGroupResponse = call(&b, ApiKey::LeaveGroup, v, &l).await;
        assert_eq!(r.error_code, ErrorCode::NONE, "LeaveGroup v{v}");
    }
    for (v, group) in [(0i16, "g0"), (2, "g7")] {
        let mut d = DeleteGroupsRequest::default();
        d.groups_names = vec![GroupId(sb(group)), GroupId(sb("none"))];
        let r: DeleteGroupsResponse = call(&b, ApiKey::DeleteGroups, v, &d).await;
        let codes: Vec<i16> = r.results.iter().map(|x| x.error_code).collect();
        assert_eq!(
            codes,
            vec![ErrorCode::NONE, ErrorCode::GROUP_ID_NOT_FOUND],
            "DeleteGroups v{v}"
        );
    }
}

#[tokio::test]
async fn bad_input_gets_kafka_errors() {
    let (b, _dir) = broker().await;
    let r: OffsetCommitResponse = call(
        &b,
        ApiKey::OffsetCommit,
        8,
        &commit(
            "reader",
            -1,
            "",
            &[("nope", 0, 1), ("t", 9, 1), ("t", 1, 4)],
        ),
    )
    .await;
    let codes: Vec<i16> = r
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
        .collect();
    assert_eq!(
        codes,
        vec![
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
            ErrorCode::NONE
        ]
    );
    let j: JoinGroupResponse = call(
        &b,
        ApiKey::JoinGroup,
        5,
        &join("g", "", 1, "consumer", Bytes::new()),
    )
    .await;
    assert_eq!(j.error_code, ErrorCode::INVALID_SESSION_TIMEOUT);
    let j: JoinGroupResponse = call(
        &b,
        ApiKey::JoinGroup,
        5,
        &join("g", "", 10_000, "", Bytes::new()),
    )
    .await;
    assert_eq!(j.error_code, ErrorCode::INCONSISTENT_GROUP_PROTOCOL);
    let big = Bytes::from(vec![1u8; b.config.group_max_member_metadata_bytes + 1]);
    let j: JoinGroupResponse = call(
        &b,
        ApiKey::JoinGroup,
        5,
        &join("g", "", 10_000, "consumer", big),
    )
    .await;
    assert_eq!(j.error_code, ErrorCode::INVALID_REQUEST);
    let j: JoinGroupResponse = call(
        &b,
        ApiKey::JoinGroup,
        5,
        &join("", "", 10_000, "consumer", Bytes::new()),
    )
    .await;
    assert_eq!(j.error_code, ErrorCode::INVALID_GROUP_ID);
    // The simple commit went through despite its bad neighbours.
    let mut f = OffsetFetchRequest::default();
    f.group_id = GroupId(sb("reader"));
    f.topics = None; // every committed partition
    let r: OffsetFetchResponse = call(&b, ApiKey::OffsetFetch, 7, &f).await;
    assert_eq!(r.topics.len(), 1);
    assert_eq!(r.topics[0].partitions[0].committed_offset, 4);
    assert_eq!(
        r.topics[0].partitions[0]
            .metadata
            .as_ref()
            .map(|m| m.as_str()),
        Some("note")
    );
}
