//! Splitting a per-partition request by partition leader and merging the leaders' answers
//! back in the request's order: one shape for Produce, ListOffsets and
//! OffsetForLeaderEpoch, whose kafka-protocol types share no trait, so the callers name
//! their topic and partition lists.

use std::collections::HashMap;

use wire::ErrorCode;

use crate::upstream::Upstream;

/// A partition's place: its leader, or why it has none for this client.
pub(super) type Place = std::result::Result<i32, ErrorCode>;

/// For each leader, a copy of `req` holding only the partitions it leads
/// (`places[topic][partition]`), in the request's order; `topics` and `parts` name the
/// request's topic list and a topic's partition list.
pub(super) fn by_leader<R: Clone, T: Clone, P>(
    req: &R,
    places: &[Vec<Place>],
    topics: fn(&mut R) -> &mut Vec<T>,
    parts: fn(&mut T) -> &mut Vec<P>,
) -> HashMap<i32, R> {
    let mut empty = req.clone();
    let all = std::mem::take(topics(&mut empty));
    let mut split: HashMap<i32, R> = HashMap::new();
    // The request topic each leader's copy holds last.
    let mut last: HashMap<i32, usize> = HashMap::new();
    for (ti, mut topic) in all.into_iter().enumerate() {
        let partitions = std::mem::take(parts(&mut topic));
        for (pi, p) in partitions.into_iter().enumerate() {
            let Some(Ok(leader)) = places.get(ti).and_then(|t| t.get(pi)) else {
                continue;
            };
            let sub = topics(split.entry(*leader).or_insert_with(|| empty.clone()));
            if last.insert(*leader, ti) != Some(ti) {
                sub.push(topic.clone());
            }
            if let Some(t) = sub.last_mut() {
                parts(t).push(p);
            }
        }
    }
    split
}

/// The leaders' per-partition answers by (topic, partition); a partition whose leader
/// moved (NOT_LEADER_OR_FOLLOWER) is forgotten, so the next request looks it up again.
pub(super) fn gather<P>(
    up: &Upstream,
    answers: impl IntoIterator<Item = (String, i32, i16, P)>,
) -> HashMap<(String, i32), P> {
    let mut got = HashMap::new();
    for (topic, partition, error, p) in answers {
        if error == ErrorCode::NOT_LEADER_OR_FOLLOWER.code() {
            up.forget_leader(&topic, partition);
        }
        got.insert((topic, partition), p);
    }
    got
}

/// The answer for one partition of the request: its leader's, or `none` of why there is
/// none (refused before sending, or no answer: the client retries as after a move).
pub(super) fn answer<P>(
    got: &mut HashMap<(String, i32), P>,
    place: Place,
    topic: &str,
    partition: i32,
    none: impl FnOnce(ErrorCode) -> P,
) -> P {
    match (place, got.remove(&(topic.to_string(), partition))) {
        (Ok(_), Some(p)) => p,
        (place, _) => none(place.err().unwrap_or(ErrorCode::NOT_LEADER_OR_FOLLOWER)),
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::messages::{ListOffsetsRequest, TopicName};
    use kafka_protocol::protocol::StrBytes;

    use super::*;

    fn topic(name: &'static str, parts: &[i32]) -> ListOffsetsTopic {
        let mut t = ListOffsetsTopic::default();
        t.name = TopicName(StrBytes::from_static_str(name));
        t.partitions = parts
            .iter()
            .map(|i| {
                let mut p = ListOffsetsPartition::default();
                p.partition_index = *i;
                p
            })
            .collect();
        t
    }

    fn shape(r: &ListOffsetsRequest) -> Vec<(String, Vec<i32>)> {
        r.topics
            .iter()
            .map(|t| {
                let parts = t.partitions.iter().map(|p| p.partition_index).collect();
                (t.name.0.to_string(), parts)
            })
            .collect()
    }

    /// Each leader's copy holds its own partitions in the request's order, grouped under
    /// their topics; a refused partition goes nowhere, and its answer says why.
    #[test]
    fn a_request_splits_by_leader_and_answers_merge_back_in_order() {
        let mut r = ListOffsetsRequest::default();
        r.replica_id = kafka_protocol::messages::BrokerId(-1);
        r.topics = vec![topic("a", &[0, 1, 2]), topic("b", &[0, 1])];
        let refused = Err(ErrorCode::TOPIC_AUTHORIZATION_FAILED);
        let places = vec![vec![Ok(1), Ok(2), Ok(1)], vec![Ok(2), refused]];
        let split = by_leader(&r, &places, |r| &mut r.topics, |t| &mut t.partitions);
        assert_eq!(split.len(), 2);
        assert_eq!(shape(&split[&1]), vec![("a".to_string(), vec![0, 2])]);
        assert_eq!(
            shape(&split[&2]),
            vec![("a".to_string(), vec![1]), ("b".to_string(), vec![0])]
        );
        assert_eq!(split[&1].replica_id, r.replica_id);

        let mut got: HashMap<(String, i32), i16> =
            HashMap::from([(("a".to_string(), 0), 0), (("b".to_string(), 0), 0)]);
        let none = |e: ErrorCode| e.code();
        assert_eq!(answer(&mut got, Ok(1), "a", 0, none), 0);
        assert_eq!(
            answer(&mut got, Ok(2), "a", 1, none),
            ErrorCode::NOT_LEADER_OR_FOLLOWER.code(),
            "no answer from the leader: the client retries"
        );
        assert_eq!(
            answer(&mut got, refused, "b", 1, none),
            ErrorCode::TOPIC_AUTHORIZATION_FAILED.code()
        );
    }
}
