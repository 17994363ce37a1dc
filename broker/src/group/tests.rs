//! Coordinator state-machine tests on paused Tokio time: joins, generations, session and
//! rebalance timeouts, members that never sync, leaders that leave mid-rebalance, stale
//! members, protocol selection, simple commits, and persistence across a reopen.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::{sleep, Duration};

use super::*;
use wire::ErrorCode;

fn req(group: &str, member: &str, protocols: &[&str]) -> JoinRequest {
    JoinRequest {
        group_id: group.into(),
        member_id: member.into(),
        instance_id: None,
        client_id: "test".into(),
        client_host: "/127.0.0.1".into(),
        principal: crate::auth::Principal::Anonymous,
        session_timeout_ms: 6_000,
        rebalance_timeout_ms: 10_000,
        protocol_type: "consumer".into(),
        protocols: protocols
            .iter()
            .map(|p| (p.to_string(), Bytes::from(format!("meta-{p}"))))
            .collect(),
    }
}

fn done<T>(rx: &mut oneshot::Receiver<T>) -> Option<T> {
    rx.try_recv().ok()
}

async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

/// Joins a fresh member and syncs it alone; returns its id and generation.
async fn stable_single(c: &GroupCoordinator, group: &str) -> (String, i32) {
    let j = c.join(req(group, "", &["range"])).await.expect("join");
    assert_eq!(j.error, ErrorCode::NONE);
    assert_eq!(j.leader, j.member_id);
    let s = c
        .sync(
            group,
            &j.member_id,
            None,
            j.generation,
            None,
            None,
            vec![(j.member_id.clone(), Bytes::from_static(b"all"))],
        )
        .await
        .expect("sync");
    assert_eq!(s.error, ErrorCode::NONE);
    assert_eq!(&s.assignment[..], b"all");
    (j.member_id, j.generation)
}

/// A second member joins a stable group of one; both end up in the next generation.
async fn stable_pair(c: &GroupCoordinator, group: &str) -> (String, String, i32) {
    let (a, gen) = stable_single(c, group).await;
    let mut jb = c.join(req(group, "", &["range"]));
    settle().await;
    assert!(done(&mut jb).is_none(), "B waits for A to rejoin");
    assert_eq!(
        c.heartbeat(group, &a, None, gen),
        ErrorCode::REBALANCE_IN_PROGRESS
    );
    let ja = c.join(req(group, &a, &["range"])).await.expect("A rejoins");
    let jb = jb.await.expect("B joined");
    assert_eq!(ja.generation, gen + 1);
    assert_eq!(jb.generation, gen + 1);
    assert_eq!(ja.leader, a, "the old leader stays leader");
    assert_eq!(ja.members.len(), 2);
    assert!(jb.members.is_empty(), "only the leader sees the members");
    let mut sb = c.sync(
        group,
        &jb.member_id,
        None,
        jb.generation,
        None,
        None,
        vec![],
    );
    settle().await;
    assert!(
        done(&mut sb).is_none(),
        "B waits for the leader's assignment"
    );
    let assignments = vec![
        (a.clone(), Bytes::from_static(b"p0,p1")),
        (jb.member_id.clone(), Bytes::from_static(b"p2,p3")),
    ];
    let sa = c
        .sync(group, &a, None, ja.generation, None, None, assignments)
        .await
        .expect("sync A");
    assert_eq!(&sa.assignment[..], b"p0,p1");
    let sb = sb.await.expect("sync B");
    assert_eq!(&sb.assignment[..], b"p2,p3");
    assert_eq!(c.describe(group).expect("group").state, "Stable");
    (a, jb.member_id, ja.generation)
}

fn coordinator() -> Arc<GroupCoordinator> {
    GroupCoordinator::in_memory(GroupConfig::default())
}

#[tokio::test(start_paused = true)]
async fn first_member_gets_partitions_without_delay() {
    let c = coordinator();
    let before = tokio::time::Instant::now();
    let (a, gen) = stable_single(&c, "g").await;
    assert_eq!(gen, 1);
    assert_eq!(
        before.elapsed(),
        Duration::ZERO,
        "no initial rebalance delay"
    );
    assert_eq!(c.heartbeat("g", &a, None, gen), ErrorCode::NONE);
}

#[tokio::test(start_paused = true)]
async fn generations_increase_with_each_rebalance() {
    let c = coordinator();
    let (a, b, gen) = stable_pair(&c, "g").await;
    assert_eq!(gen, 2);
    assert_eq!(c.leave("g", &[(b, None)]), vec![ErrorCode::NONE]);
    assert_eq!(
        c.heartbeat("g", &a, None, gen),
        ErrorCode::REBALANCE_IN_PROGRESS
    );
    let j = c.join(req("g", &a, &["range"])).await.expect("rejoin");
    assert_eq!(j.generation, 3);
    assert_eq!(j.members.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn silent_member_expires_after_its_session_timeout() {
    let c = coordinator();
    let (a, b, gen) = stable_pair(&c, "g").await;
    // B heartbeats every second; A says nothing.
    for _ in 0..5 {
        sleep(Duration::from_secs(1)).await;
        assert_eq!(c.heartbeat("g", &b, None, gen), ErrorCode::NONE);
    }
    sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        c.heartbeat("g", &b, None, gen),
        ErrorCode::REBALANCE_IN_PROGRESS
    );
    let j = c.join(req("g", &b, &["range"])).await.expect("rejoin");
    assert_eq!(j.generation, gen + 1);
    assert_eq!(j.leader, b, "the survivor leads");
    assert_eq!(j.members.len(), 1);
    assert_eq!(
        c.heartbeat("g", &a, None, gen),
        ErrorCode::UNKNOWN_MEMBER_ID
    );
}

#[tokio::test(start_paused = true)]
async fn last_member_expiring_empties_the_group() {
    let c = coordinator();
    let (a, gen) = stable_single(&c, "g").await;
    sleep(Duration::from_millis(6_100)).await;
    assert_eq!(c.describe("g").expect("group").state, "Empty");
    assert_eq!(
        c.heartbeat("g", &a, None, gen),
        ErrorCode::UNKNOWN_MEMBER_ID
    );
}

#[tokio::test(start_paused = true)]
async fn member_that_never_syncs_is_removed_and_the_group_rebalances() {
    let c = coordinator();
    let (a, gen) = stable_single(&c, "g").await;
    let jb = c.join(req("g", "", &["range"]));
    let ja = c.join(req("g", &a, &["range"])).await.expect("A");
    let jb = jb.await.expect("B");
    // The leader syncs; B got its join answer but never syncs nor heartbeats.
    let s = c
        .sync(
            "g",
            &a,
            None,
            ja.generation,
            None,
            None,
            vec![(a.clone(), Bytes::from_static(b"x"))],
        )
        .await
        .expect("sync");
    assert_eq!(s.error, ErrorCode::NONE);
    for _ in 0..7 {
        sleep(Duration::from_secs(1)).await;
        let _ = c.heartbeat("g", &a, None, ja.generation);
    }
    assert_eq!(
        c.heartbeat("g", &a, None, ja.generation),
        ErrorCode::REBALANCE_IN_PROGRESS
    );
    let j = c.join(req("g", &a, &["range"])).await.expect("rejoin");
    assert_eq!(j.generation, gen + 2);
    assert_eq!(j.members.len(), 1);
    assert_eq!(
        c.heartbeat("g", &jb.member_id, None, jb.generation),
        ErrorCode::UNKNOWN_MEMBER_ID
    );
}

#[tokio::test(start_paused = true)]
async fn leader_that_never_syncs_releases_waiting_followers() {
    let c = coordinator();
    let (a, gen) = stable_single(&c, "g").await;
    let jb = c.join(req("g", "", &["range"]));
    let _ja = c.join(req("g", &a, &["range"])).await.expect("A");
    let jb = jb.await.expect("B");
    let mut sb = c.sync("g", &jb.member_id, None, jb.generation, None, None, vec![]);
    sleep(Duration::from_secs(5)).await;
    assert!(
        done(&mut sb).is_none(),
        "B waits while the leader's session runs"
    );
    sleep(Duration::from_millis(1_100)).await;
    let sb = sb.await.expect("answered");
    assert_eq!(sb.error, ErrorCode::REBALANCE_IN_PROGRESS);
    let j = c
        .join(req("g", &jb.member_id, &["range"]))
        .await
        .expect("rejoin");
    assert_eq!(j.generation, gen + 2);
    assert_eq!(j.leader, jb.member_id);
}

#[tokio::test(start_paused = true)]
async fn leader_leaving_mid_rebalance_hands_leadership_on() {
    let c = coordinator();
    let (a, b, gen) = stable_pair(&c, "g").await;
    let mut jc = c.join(req("g", "", &["range"]));
    let mut jb = c.join(req("g", &b, &["range"]));
    settle().await;
    assert!(
        done(&mut jc).is_none() && done(&mut jb).is_none(),
        "A has not rejoined"
    );
    assert_eq!(c.leave("g", &[(a.clone(), None)]), vec![ErrorCode::NONE]);
    let jb = jb.await.expect("B");
    let jc = jc.await.expect("C");
    assert_eq!(jb.generation, gen + 1);
    assert_eq!(jb.leader, b, "the first remaining member leads");
    assert_eq!(jb.members.len(), 2);
    assert_eq!(jc.leader, b);
    assert_eq!(
        c.heartbeat("g", &a, None, gen),
        ErrorCode::UNKNOWN_MEMBER_ID
    );
}

#[tokio::test(start_paused = true)]
async fn leader_leaving_while_followers_wait_in_sync_restarts_the_rebalance() {
    let c = coordinator();
    let (a, gen) = stable_single(&c, "g").await;
    let jb = c.join(req("g", "", &["range"]));
    let _ = c.join(req("g", &a, &["range"])).await.expect("A");
    let jb = jb.await.expect("B");
    let sb = c.sync("g", &jb.member_id, None, jb.generation, None, None, vec![]);
    assert_eq!(c.leave("g", &[(a, None)]), vec![ErrorCode::NONE]);
    assert_eq!(
        sb.await.expect("answered").error,
        ErrorCode::REBALANCE_IN_PROGRESS
    );
    let j = c
        .join(req("g", &jb.member_id, &["range"]))
        .await
        .expect("rejoin");
    assert_eq!(j.generation, gen + 2);
}

#[tokio::test(start_paused = true)]
async fn rebalance_timeout_drops_members_that_do_not_rejoin() {
    let c = coordinator();
    let (a, b, gen) = stable_pair(&c, "g").await;
    let mut jc = c.join(req("g", "", &["range"]));
    let mut ja = c.join(req("g", &a, &["range"]));
    // B keeps heartbeating (so its session lives) but never rejoins.
    for _ in 0..9 {
        sleep(Duration::from_secs(1)).await;
        assert_eq!(
            c.heartbeat("g", &b, None, gen),
            ErrorCode::REBALANCE_IN_PROGRESS
        );
    }
    assert!(done(&mut ja).is_none() && done(&mut jc).is_none());
    sleep(Duration::from_millis(1_100)).await;
    let ja = done(&mut ja).expect("join phase ended at the rebalance timeout");
    assert_eq!(ja.generation, gen + 1);
    assert_eq!(ja.members.len(), 2);
    assert!(ja.members.iter().all(|m| m.member_id != b));
    assert_eq!(
        c.heartbeat("g", &b, None, gen),
        ErrorCode::UNKNOWN_MEMBER_ID
    );
}

#[tokio::test(start_paused = true)]
async fn stale_members_get_illegal_generation_or_unknown_member() {
    let c = coordinator();
    let (a, b, gen) = stable_pair(&c, "g").await;
    assert_eq!(
        c.heartbeat("g", &a, None, gen - 1),
        ErrorCode::ILLEGAL_GENERATION
    );
    assert_eq!(
        c.heartbeat("g", "nobody", None, gen),
        ErrorCode::UNKNOWN_MEMBER_ID
    );
    assert_eq!(
        c.heartbeat("nogroup", &a, None, gen),
        ErrorCode::UNKNOWN_MEMBER_ID
    );
    let s = c
        .sync("g", &b, None, gen - 1, None, None, vec![])
        .await
        .expect("sync");
    assert_eq!(s.error, ErrorCode::ILLEGAL_GENERATION);
    let s = c
        .sync("g", "nobody", None, gen, None, None, vec![])
        .await
        .expect("sync");
    assert_eq!(s.error, ErrorCode::UNKNOWN_MEMBER_ID);
    let j = c.join(req("g", "nobody", &["range"])).await.expect("join");
    assert_eq!(j.error, ErrorCode::UNKNOWN_MEMBER_ID);
    let commit = |member: &str, generation| {
        c.commit(
            "g",
            Committer {
                member_id: member,
                instance_id: None,
                generation,
            },
            vec![("t".into(), 0, entry(5))],
        )
        .err()
    };
    assert_eq!(commit(&a, gen - 1), Some(ErrorCode::ILLEGAL_GENERATION));
    assert_eq!(commit("nobody", gen), Some(ErrorCode::UNKNOWN_MEMBER_ID));
    assert_eq!(
        commit("", -1),
        Some(ErrorCode::UNKNOWN_MEMBER_ID),
        "no simple commits while members are in"
    );
    assert_eq!(commit(&a, gen), None);
    assert_eq!(
        c.leave("g", &[("nobody".into(), None)]),
        vec![ErrorCode::UNKNOWN_MEMBER_ID]
    );
}

#[tokio::test(start_paused = true)]
async fn protocol_every_member_supports_is_chosen() {
    let c = coordinator();
    let ja = c
        .join(req("g", "", &["range", "roundrobin"]))
        .await
        .expect("A");
    assert_eq!(ja.protocol_name.as_deref(), Some("range"));
    let jb = c.join(req("g", "", &["roundrobin", "sticky"]));
    let jc = c.join(req("g", "", &["roundrobin"]));
    let bad = c.join(req("g", "", &["sticky"])).await.expect("bad");
    assert_eq!(
        bad.error,
        ErrorCode::INCONSISTENT_GROUP_PROTOCOL,
        "no protocol in common"
    );
    let mut other_type = req("g", "", &["range"]);
    other_type.protocol_type = "connect".into();
    assert_eq!(
        c.join(other_type).await.expect("join").error,
        ErrorCode::INCONSISTENT_GROUP_PROTOCOL
    );
    let ja = c
        .join(req("g", &ja.member_id, &["range", "roundrobin"]))
        .await
        .expect("A");
    let (jb, jc) = (jb.await.expect("B"), jc.await.expect("C"));
    for j in [&ja, &jb, &jc] {
        assert_eq!(j.protocol_name.as_deref(), Some("roundrobin"));
    }
    let leader = ja
        .members
        .iter()
        .find(|m| m.member_id == jb.member_id)
        .expect("B listed");
    assert_eq!(&leader.metadata[..], b"meta-roundrobin");
}

#[tokio::test(start_paused = true)]
async fn bad_joins_get_kafka_errors_and_leave_other_groups_alone() {
    let c = coordinator();
    let (a, gen) = stable_single(&c, "good").await;
    let mut r = req("bad", "", &["range"]);
    r.session_timeout_ms = 10;
    assert_eq!(
        c.join(r).await.expect("join").error,
        ErrorCode::INVALID_SESSION_TIMEOUT
    );
    let mut r = req("bad", "", &["range"]);
    r.protocol_type = String::new();
    assert_eq!(
        c.join(r).await.expect("join").error,
        ErrorCode::INCONSISTENT_GROUP_PROTOCOL
    );
    let mut r = req("bad", "", &[]);
    r.protocols.clear();
    assert_eq!(
        c.join(r).await.expect("join").error,
        ErrorCode::INCONSISTENT_GROUP_PROTOCOL
    );
    let mut r = req("bad", "", &["range"]);
    r.protocols[0].1 = Bytes::from(vec![0u8; c.config.max_member_metadata_bytes + 1]);
    assert_eq!(
        c.join(r).await.expect("join").error,
        ErrorCode::INVALID_REQUEST
    );
    assert_eq!(c.heartbeat("good", &a, None, gen), ErrorCode::NONE);
}

#[tokio::test(start_paused = true)]
async fn non_leader_assignments_are_ignored() {
    let c = coordinator();
    let (a, gen) = stable_single(&c, "g").await;
    let jb = c.join(req("g", "", &["range"]));
    let ja = c.join(req("g", &a, &["range"])).await.expect("A");
    let jb = jb.await.expect("B");
    let sb = c.sync(
        "g",
        &jb.member_id,
        None,
        jb.generation,
        None,
        None,
        vec![(a.clone(), Bytes::from_static(b"forged"))],
    );
    let sa = c
        .sync(
            "g",
            &a,
            None,
            ja.generation,
            None,
            None,
            vec![(jb.member_id.clone(), Bytes::from_static(b"real"))],
        )
        .await
        .expect("A");
    assert!(
        sa.assignment.is_empty(),
        "the forged assignment was ignored"
    );
    assert_eq!(&sb.await.expect("B").assignment[..], b"real");
    assert_eq!(ja.generation, gen + 1);
}

#[tokio::test(start_paused = true)]
async fn initial_delay_holds_a_new_groups_first_rebalance() {
    let cfg = GroupConfig {
        initial_rebalance_delay: Duration::from_secs(3),
        ..GroupConfig::default()
    };
    let c = GroupCoordinator::in_memory(cfg);
    let mut ja = c.join(req("g", "", &["range"]));
    sleep(Duration::from_secs(1)).await;
    let jb = c.join(req("g", "", &["range"]));
    sleep(Duration::from_millis(1_500)).await;
    assert!(done(&mut ja).is_none());
    let ja = ja.await.expect("A");
    assert_eq!(ja.members.len(), 2, "B made it into the first generation");
    assert_eq!(jb.await.expect("B").generation, 1);
}

#[tokio::test(start_paused = true)]
async fn static_member_restart_takes_its_old_place() {
    let c = coordinator();
    let mut r = req("g", "", &["range"]);
    r.instance_id = Some("inst-1".into());
    let j1 = c.join(r.clone()).await.expect("first");
    let j2 = c.join(r).await.expect("restart");
    assert_ne!(j1.member_id, j2.member_id);
    assert_eq!(j2.leader, j2.member_id);
    assert_eq!(
        c.heartbeat("g", &j1.member_id, None, j2.generation),
        ErrorCode::UNKNOWN_MEMBER_ID
    );
    let d = c.describe("g").expect("group");
    assert_eq!(d.members.len(), 1);
    assert_eq!(
        c.leave("g", &[(String::new(), Some("inst-1".into()))]),
        vec![ErrorCode::NONE]
    );
}

fn entry(offset: i64) -> OffsetEntry {
    OffsetEntry {
        offset,
        leader_epoch: -1,
        metadata: "m".into(),
        commit_ms: 0,
    }
}

#[tokio::test(start_paused = true)]
async fn simple_commits_work_without_members() {
    let c = coordinator();
    let who = Committer {
        member_id: "",
        instance_id: None,
        generation: -1,
    };
    c.commit("reader", who, vec![("t".into(), 0, entry(7))])
        .expect("commit")
        .durable()
        .await
        .expect("durable");
    let got = c.fetch("reader", Some(vec![("t".into(), 0), ("t".into(), 1)]));
    assert_eq!(got[0].2.as_ref().map(|e| e.offset), Some(7));
    assert!(got[1].2.is_none(), "nothing committed: -1 on the wire");
    assert!(c.fetch("nobody", None).is_empty());
    let listed = c.list();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, "Empty");
    assert_eq!(c.delete("reader").map(|_| ()), Ok(()));
    assert!(c.list().is_empty());
    assert_eq!(
        c.delete("reader").err(),
        Some(ErrorCode::GROUP_ID_NOT_FOUND)
    );
}

#[test]
fn offsets_and_group_metadata_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("tmp");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let member = rt.block_on(async {
        let flusher = crate::log::Flusher::start(crate::log::FlushPolicy::Always).expect("flusher");
        let c = GroupCoordinator::open(GroupConfig::default(), dir.path(), flusher).expect("open");
        let (a, gen) = stable_single(&c, "g").await;
        let who = Committer {
            member_id: &a,
            instance_id: None,
            generation: gen,
        };
        c.commit("g", who, vec![("t".into(), 3, entry(42))])
            .expect("commit")
            .durable()
            .await
            .expect("durable");
        let simple = Committer {
            member_id: "",
            instance_id: None,
            generation: -1,
        };
        c.commit("s", simple, vec![("t".into(), 0, entry(1))])
            .expect("commit")
            .durable()
            .await
            .expect("durable");
        sleep(Duration::from_millis(100)).await; // the metadata write is not awaited
        a
    });
    drop(rt);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(async {
        let flusher = crate::log::Flusher::start(crate::log::FlushPolicy::Always).expect("flusher");
        let c =
            GroupCoordinator::open(GroupConfig::default(), dir.path(), flusher).expect("reopen");
        let got = c.fetch("g", Some(vec![("t".into(), 3)]));
        assert_eq!(got[0].2, Some(entry(42)));
        let d = c.describe("g").expect("group");
        assert_eq!(d.state, "Stable");
        assert_eq!(d.members[0].member_id, member);
        assert_eq!(&d.members[0].assignment[..], b"all");
        assert_eq!(
            c.heartbeat("g", &member, None, 1),
            ErrorCode::NONE,
            "the member carries on"
        );
        assert_eq!(c.fetch("s", None).len(), 1);
    });
}

#[tokio::test(start_paused = true)]
async fn joiner_whose_connection_closed_does_not_hold_up_the_rebalance() {
    let c = coordinator();
    let (a, gen) = stable_single(&c, "g").await;
    drop(c.join(req("g", "", &["range"]))); // B's connection dies while it waits
    assert_eq!(
        c.heartbeat("g", &a, None, gen),
        ErrorCode::REBALANCE_IN_PROGRESS
    );
    let start = tokio::time::Instant::now();
    let j = c.join(req("g", &a, &["range"])).await.expect("A");
    assert!(
        start.elapsed() <= Duration::from_millis(7_500),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(j.members.len(), 1, "the dead joiner was dropped");
}

/// A current-thread runtime and a coordinator over `dir` opened in it.
fn reopen(dir: &std::path::Path) -> (tokio::runtime::Runtime, Arc<GroupCoordinator>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let c = rt.block_on(async {
        let flusher = crate::log::Flusher::start(crate::log::FlushPolicy::Always).expect("flusher");
        GroupCoordinator::open(GroupConfig::default(), dir, flusher).expect("open")
    });
    (rt, c)
}

#[test]
fn a_group_without_offsets_is_forgotten_when_its_last_member_leaves() {
    let dir = tempfile::tempdir().expect("tmp");
    let (rt, c) = reopen(dir.path());
    rt.block_on(async {
        // A session's feed: joins, never commits, leaves.
        let (a, _) = stable_single(&c, "session").await;
        assert_eq!(c.leave("session", &[(a, None)]), vec![ErrorCode::NONE]);
        assert!(c.list().iter().all(|g| g.group_id != "session"), "listed");
        assert!(c.describe("session").is_none_or(|d| d.state == "Dead"));
        // A reader that committed stays, empty, with its offsets.
        let (b, gen) = stable_single(&c, "reader").await;
        let who = Committer {
            member_id: &b,
            instance_id: None,
            generation: gen,
        };
        c.commit("reader", who, vec![("t".into(), 0, entry(5))])
            .expect("commit")
            .durable()
            .await
            .expect("durable");
        assert_eq!(c.leave("reader", &[(b, None)]), vec![ErrorCode::NONE]);
        assert_eq!(c.describe("reader").expect("kept").state, "Empty");
        sleep(Duration::from_millis(100)).await; // the metadata writes are not awaited
    });
    drop((c, rt));
    // What a restart replays: the reader, not the session.
    let (rt, c) = reopen(dir.path());
    rt.block_on(async {
        let listed: Vec<String> = c.list().into_iter().map(|g| g.group_id).collect();
        assert_eq!(listed, vec!["reader".to_string()]);
    });
}
