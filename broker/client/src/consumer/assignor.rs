//! Client-side partition assignors for classic consumer groups, computed by the group
//! leader: `range` (per topic, consecutive runs, like the Java RangeAssignor) and
//! `roundrobin` (all partitions dealt in turn, like the Java RoundRobinAssignor). Members and
//! partitions are sorted first so every client computes the same answer. No I/O.

use std::collections::{BTreeMap, BTreeSet};

use super::TopicPartition;

/// The assignment strategies this client offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignor {
    /// Consecutive partitions of each topic per member.
    Range,
    /// Partitions dealt out one at a time.
    RoundRobin,
}

impl Assignor {
    /// The protocol name used in JoinGroup.
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
        }
    }

    /// The assignor called `name`.
    pub fn from_name(name: &str) -> Option<Assignor> {
        match name {
            "range" => Some(Assignor::Range),
            "roundrobin" => Some(Assignor::RoundRobin),
            _ => None,
        }
    }

    /// Assigns the partitions of `partition_counts` to `members` (member id → subscribed
    /// topics). Every member gets an entry, possibly empty.
    pub fn assign(
        self,
        members: &BTreeMap<String, Vec<String>>,
        partition_counts: &BTreeMap<String, usize>,
    ) -> BTreeMap<String, Vec<TopicPartition>> {
        let mut out: BTreeMap<String, Vec<TopicPartition>> =
            members.keys().map(|m| (m.clone(), Vec::new())).collect();
        match self {
            Assignor::Range => {
                let mut by_topic: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
                for (m, topics) in members {
                    for t in topics {
                        by_topic.entry(t).or_default().push(m);
                    }
                }
                for (topic, mut subs) in by_topic {
                    let Some(&n) = partition_counts.get(topic) else {
                        continue;
                    };
                    subs.sort();
                    subs.dedup();
                    let per = n / subs.len();
                    let extra = n % subs.len();
                    let mut next = 0;
                    for (i, m) in subs.iter().enumerate() {
                        let take = per + usize::from(i < extra);
                        if let Some(list) = out.get_mut(*m) {
                            list.extend(
                                (next..next + take).map(|p| TopicPartition::new(topic, p as i32)),
                            );
                        }
                        next += take;
                    }
                }
            }
            Assignor::RoundRobin => {
                let subs: BTreeMap<&str, BTreeSet<&str>> = members
                    .iter()
                    .map(|(m, ts)| (m.as_str(), ts.iter().map(String::as_str).collect()))
                    .collect();
                let ids: Vec<&str> = subs.keys().copied().collect();
                let all_topics: BTreeSet<&str> =
                    subs.values().flat_map(|s| s.iter().copied()).collect();
                let mut i = 0usize;
                for topic in all_topics {
                    let Some(&n) = partition_counts.get(topic) else {
                        continue;
                    };
                    for p in 0..n {
                        // Next member (cyclically) subscribed to this topic.
                        for _ in 0..ids.len() {
                            let m = ids[i % ids.len()];
                            i += 1;
                            if subs.get(m).is_some_and(|s| s.contains(topic)) {
                                if let Some(list) = out.get_mut(m) {
                                    list.push(TopicPartition::new(topic, p as i32));
                                }
                                break;
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(list: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        list.iter()
            .map(|(m, ts)| (m.to_string(), ts.iter().map(|t| t.to_string()).collect()))
            .collect()
    }

    fn names(v: &[TopicPartition]) -> Vec<String> {
        v.iter()
            .map(|tp| format!("{}{}", tp.topic, tp.partition))
            .collect()
    }

    #[test]
    fn range_like_java() {
        let m = members(&[("c1", &["t0", "t1"]), ("c0", &["t0", "t1"])]);
        let counts = BTreeMap::from([("t0".to_string(), 3), ("t1".to_string(), 3)]);
        let a = Assignor::Range.assign(&m, &counts);
        assert_eq!(names(&a["c0"]), vec!["t00", "t01", "t10", "t11"]);
        assert_eq!(names(&a["c1"]), vec!["t02", "t12"]);
    }

    #[test]
    fn roundrobin_like_java() {
        let m = members(&[("c0", &["t0", "t1"]), ("c1", &["t0", "t1"])]);
        let counts = BTreeMap::from([("t0".to_string(), 3), ("t1".to_string(), 3)]);
        let a = Assignor::RoundRobin.assign(&m, &counts);
        assert_eq!(names(&a["c0"]), vec!["t00", "t02", "t11"]);
        assert_eq!(names(&a["c1"]), vec!["t01", "t10", "t12"]);
    }

    #[test]
    fn unsubscribed_members_get_nothing_and_everyone_has_an_entry() {
        let m = members(&[("a", &["x"]), ("b", &["y"]), ("c", &[])]);
        let counts = BTreeMap::from([("x".to_string(), 2), ("y".to_string(), 1)]);
        for asg in [Assignor::Range, Assignor::RoundRobin] {
            let a = asg.assign(&m, &counts);
            assert_eq!(names(&a["a"]), vec!["x0", "x1"], "{asg:?}");
            assert_eq!(names(&a["b"]), vec!["y0"], "{asg:?}");
            assert!(a["c"].is_empty());
        }
    }
}
