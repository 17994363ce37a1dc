//! Offsets and coordinators: finding a group's coordinator, committing and fetching a
//! group's offsets, and asking partition leaders for their earliest or latest offsets.
//! Shared by the consumer and the admin client (which commits for a group without joining
//! it, with generation -1).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::ErrorCode;

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::{
    ApiKey, BrokerId, FindCoordinatorRequest, FindCoordinatorResponse, GroupId, ListOffsetsRequest,
    ListOffsetsResponse, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest,
    OffsetFetchResponse,
};

use super::TopicPartition;
use crate::cluster::Cluster;
use crate::conn::{decode_body, Connection};
use crate::error::{Error, Result};
use crate::pool::Pool;
use crate::util::{sb, tn};

/// Finds the coordinator of `group` and connects to it through `pool` (`None`: the
/// cluster's own pool, whose connection to that broker is shared with everything else).
pub fn find_coordinator(
    cluster: &Cluster,
    pool: Option<&Pool>,
    group: &str,
) -> Result<Arc<Connection>> {
    let deadline = Instant::now() + cluster.config.request_timeout;
    let mut wait = Duration::from_millis(50);
    loop {
        let err = match find_coordinator_node(cluster, group) {
            Ok((id, addr)) => match pool.unwrap_or(cluster.pool()).get(id, &addr) {
                Ok(c) => return Ok(c),
                Err(e) => e,
            },
            Err(e) => e,
        };
        let retriable = err.is_retriable()
            || err
                .kafka_code()
                .is_some_and(ErrorCode::is_coordinator_moved);
        if !retriable || Instant::now() + wait > deadline {
            return Err(err);
        }
        std::thread::sleep(wait);
        wait = (wait * 2).min(Duration::from_millis(500));
    }
}

/// Asks any broker (once) which node coordinates `group`: `(node id, host:port)`.
pub fn find_coordinator_node(cluster: &Cluster, group: &str) -> Result<(i32, String)> {
    cluster.with_any_conn(|conn| {
        let mut req = FindCoordinatorRequest::default();
        req.key = sb(group);
        let (_, resp): (_, FindCoordinatorResponse) =
            conn.request(ApiKey::FindCoordinator, &req)?;
        if resp.error_code != 0 {
            return Err(Error::kafka(
                resp.error_code,
                resp.error_message.map(|m| m.to_string()),
            ));
        }
        Ok((
            resp.node_id.0,
            format!("{}:{}", resp.host.as_str(), resp.port),
        ))
    })
}

/// Commits `offsets` for `group` as member `member_id` of `generation` (-1 and "" for an
/// admin commit outside the group). Returns the first partition error.
pub fn commit(
    conn: &Connection,
    group: &str,
    generation: i32,
    member_id: &str,
    offsets: &BTreeMap<TopicPartition, i64>,
) -> Result<()> {
    commit_with_metadata(
        conn,
        group,
        generation,
        member_id,
        &without_metadata(offsets),
    )
}

/// `offsets` with an empty metadata string each.
fn without_metadata(
    offsets: &BTreeMap<TopicPartition, i64>,
) -> BTreeMap<TopicPartition, (i64, String)> {
    offsets
        .iter()
        .map(|(tp, off)| (tp.clone(), (*off, String::new())))
        .collect()
}

/// Like [`commit`], with each offset's metadata string (what a client keeps beside it).
pub fn commit_with_metadata(
    conn: &Connection,
    group: &str,
    generation: i32,
    member_id: &str,
    offsets: &BTreeMap<TopicPartition, (i64, String)>,
) -> Result<()> {
    let req = commit_request(group, generation, member_id, offsets);
    let (_, resp): (_, OffsetCommitResponse) = conn.request(ApiKey::OffsetCommit, &req)?;
    commit_outcome(&resp)
}

/// Sends the commit of `offsets` without waiting: `done` gets the outcome, on the thread
/// that reads `conn` (it must not block), or on this one when the send fails.
pub fn commit_async(
    conn: &Connection,
    group: &str,
    generation: i32,
    member_id: &str,
    offsets: &BTreeMap<TopicPartition, i64>,
    done: impl FnOnce(Result<()>) + Send + 'static,
) {
    let version = match conn.version(ApiKey::OffsetCommit) {
        Ok(v) => v,
        Err(e) => return done(Err(e)),
    };
    let req = commit_request(group, generation, member_id, &without_metadata(offsets));
    let addr = conn.addr_shared();
    let callback = move |res: Result<bytes::Bytes>| {
        let outcome = res
            .and_then(|body| {
                decode_body::<OffsetCommitResponse>(&addr, ApiKey::OffsetCommit, version, body)
            })
            .and_then(|resp| commit_outcome(&resp));
        done(outcome);
    };
    conn.send(ApiKey::OffsetCommit, version, &req, Box::new(callback));
}

/// The OffsetCommit request for `offsets`, grouped by topic.
fn commit_request(
    group: &str,
    generation: i32,
    member_id: &str,
    offsets: &BTreeMap<TopicPartition, (i64, String)>,
) -> OffsetCommitRequest {
    let mut by_topic: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
    for (tp, (off, meta)) in offsets {
        let mut p = OffsetCommitRequestPartition::default();
        p.partition_index = tp.partition;
        p.committed_offset = *off;
        p.committed_metadata = Some(sb(meta));
        by_topic.entry(tp.topic.as_str()).or_default().push(p);
    }
    let mut req = OffsetCommitRequest::default();
    req.group_id = GroupId(sb(group));
    req.generation_id_or_member_epoch = generation;
    req.member_id = sb(member_id);
    req.topics = by_topic
        .into_iter()
        .map(|(t, parts)| {
            let mut rt = OffsetCommitRequestTopic::default();
            rt.name = tn(t);
            rt.partitions = parts;
            rt
        })
        .collect();
    req
}

/// The first partition error of an OffsetCommit answer.
fn commit_outcome(resp: &OffsetCommitResponse) -> Result<()> {
    for t in &resp.topics {
        for p in &t.partitions {
            if p.error_code != 0 {
                return Err(Error::kafka(
                    p.error_code,
                    Some(format!(
                        "committing {}/{}",
                        t.name.as_str(),
                        p.partition_index
                    )),
                ));
            }
        }
    }
    Ok(())
}

/// The committed offsets of `group` for `partitions` (`None` where nothing is committed).
pub fn fetch(
    conn: &Connection,
    group: &str,
    partitions: &[TopicPartition],
) -> Result<HashMap<TopicPartition, Option<i64>>> {
    Ok(fetch_with_metadata(conn, group, partitions)?
        .into_iter()
        .map(|(tp, v)| (tp, v.map(|(off, _)| off)))
        .collect())
}

/// Like [`fetch`], with each committed offset's metadata string.
pub fn fetch_with_metadata(
    conn: &Connection,
    group: &str,
    partitions: &[TopicPartition],
) -> Result<HashMap<TopicPartition, Option<(i64, String)>>> {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        by_topic
            .entry(tp.topic.as_str())
            .or_default()
            .push(tp.partition);
    }
    let mut req = OffsetFetchRequest::default();
    req.group_id = GroupId(sb(group));
    req.topics = Some(
        by_topic
            .into_iter()
            .map(|(t, ps)| {
                let mut rt = OffsetFetchRequestTopic::default();
                rt.name = tn(t);
                rt.partition_indexes = ps;
                rt
            })
            .collect(),
    );
    let (_, resp): (_, OffsetFetchResponse) = conn.request(ApiKey::OffsetFetch, &req)?;
    if resp.error_code != 0 {
        return Err(Error::kafka(
            resp.error_code,
            Some(format!("fetching offsets of {group}")),
        ));
    }
    let mut out = HashMap::new();
    for t in resp.topics {
        for p in t.partitions {
            if p.error_code != 0 && p.error_code != ErrorCode::UNKNOWN_TOPIC_OR_PARTITION {
                return Err(Error::kafka(
                    p.error_code,
                    Some(format!(
                        "offset of {}/{}",
                        t.name.as_str(),
                        p.partition_index
                    )),
                ));
            }
            let tp = TopicPartition::new(t.name.as_str(), p.partition_index);
            let meta = p
                .metadata
                .as_ref()
                .map(|m| m.to_string())
                .unwrap_or_default();
            out.insert(
                tp,
                (p.committed_offset >= 0).then_some((p.committed_offset, meta)),
            );
        }
    }
    Ok(out)
}

/// Asks each partition's leader for the offset at `timestamp` (-2 earliest, -1 latest).
/// Partitions whose leader is unknown or failed are left out (and metadata is invalidated).
pub fn list_offsets(
    cluster: &Cluster,
    partitions: &[TopicPartition],
    timestamp: i64,
) -> Result<HashMap<TopicPartition, i64>> {
    let view = cluster.view();
    let mut by_leader: BTreeMap<i32, BTreeMap<&str, Vec<i32>>> = BTreeMap::new();
    for tp in partitions {
        match view.leader(&tp.topic, tp.partition) {
            Some(l) => by_leader
                .entry(l)
                .or_default()
                .entry(tp.topic.as_str())
                .or_default()
                .push(tp.partition),
            None => cluster.invalidate(),
        }
    }
    let mut out = HashMap::new();
    let mut last_err = None;
    for (leader, topics) in by_leader {
        let mut req = ListOffsetsRequest::default();
        req.replica_id = BrokerId(-1);
        req.topics = topics
            .into_iter()
            .map(|(t, ps)| {
                let mut lt = ListOffsetsTopic::default();
                lt.name = tn(t);
                lt.partitions = ps
                    .into_iter()
                    .map(|p| {
                        let mut lp = ListOffsetsPartition::default();
                        lp.partition_index = p;
                        lp.timestamp = timestamp;
                        lp
                    })
                    .collect();
                lt
            })
            .collect();
        let resp: Result<(i16, ListOffsetsResponse)> = cluster
            .conn(leader)
            .and_then(|c| c.request(ApiKey::ListOffsets, &req));
        match resp {
            Ok((_, resp)) => {
                for t in resp.topics {
                    for p in t.partitions {
                        if p.error_code == 0 {
                            out.insert(
                                TopicPartition::new(t.name.as_str(), p.partition_index),
                                p.offset,
                            );
                        } else {
                            cluster.invalidate();
                            last_err = Some(Error::kafka(p.error_code, None));
                        }
                    }
                }
            }
            Err(e) => {
                cluster.invalidate();
                last_err = Some(e);
            }
        }
    }
    if out.is_empty() && !partitions.is_empty() {
        if let Some(e) = last_err {
            return Err(e);
        }
    }
    Ok(out)
}
