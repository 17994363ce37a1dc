//! Membership in a classic consumer group: find the coordinator, JoinGroup (answering
//! MEMBER_ID_REQUIRED), compute the assignment when we are the leader, SyncGroup, keep the
//! membership alive with heartbeats, and LeaveGroup on close. The consumer drives
//! rebalances from `poll`; heartbeats only report that one is needed.
//!
//! Heartbeats are a timer task on the client's network thread (no thread per member): each
//! tick sends one on the cluster's shared connection to the coordinator and settles the
//! answer in a callback. That thread must never block, so it never connects: when the
//! coordinator is unknown or its connection is gone, the consumer's `poll` finds it again
//! ([`Group::keep_alive`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use wire::ErrorCode;

use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, GroupId, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse,
    LeaveGroupRequest, LeaveGroupResponse, SyncGroupRequest, SyncGroupResponse,
};
use parking_lot::{Condvar, Mutex};

use super::assignor::Assignor;
use super::offsets;
use super::protocol;
use super::TopicPartition;
use crate::cluster::Cluster;
use crate::conn::{decode_body, Connection};
use crate::error::{Error, Result};
use crate::pool::Pool;
use crate::util::{jittered, sb};

/// Timing and strategy settings of a group member.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    /// The coordinator drops us after this long without a heartbeat.
    pub session_timeout: Duration,
    /// How long the coordinator waits for members to rejoin during a rebalance.
    pub rebalance_timeout: Duration,
    /// Longest time between heartbeats (each is 0-25% sooner, see `util::jittered`);
    /// 3 s by default, the Java client's, a third of the default session timeout.
    pub heartbeat_interval: Duration,
    /// Strategies offered, in order of preference.
    pub assignors: Vec<Assignor>,
}

/// How often a consumer's `poll` looks at the known coordinator's connection (a lost one
/// is also noticed by the next heartbeat, which forgets the coordinator).
const COORDINATOR_CHECK: Duration = Duration::from_millis(100);

/// Membership state shared with the heartbeat task.
#[derive(Debug, Default)]
struct State {
    /// Our member id ("" before the first join or after UNKNOWN_MEMBER_ID).
    member_id: String,
    /// Current generation (-1 when not a member).
    generation: i32,
    /// The coordinator's node id and address, when known.
    coordinator: Option<(i32, String)>,
    /// Set by a heartbeat answer: the consumer must rejoin at its next poll.
    rejoin_needed: bool,
    /// Heartbeats are sent only while stable (between SyncGroup and the next rejoin).
    stable: bool,
    /// Ends the heartbeat task.
    closed: bool,
    /// When the heartbeat in flight was sent (one at a time).
    heartbeat_sent: Option<Instant>,
    /// When `keep_alive` last looked at the known coordinator's connection.
    coordinator_checked: Option<Instant>,
    /// Tells the consumer's `poll` that a heartbeat's answer needs it.
    nudge: Nudge,
}

/// What a heartbeat's answer calls when the consumer must act on it (rejoin, find the
/// coordinator again): a consumer whose `poll` sleeps long installs it
/// ([`Group::set_nudge`]); others look at the state at their next upkeep (a second).
#[derive(Default)]
struct Nudge(Option<Box<dyn Fn() + Send + Sync>>);

impl std::fmt::Debug for Nudge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Nudge(set)"
        } else {
            "Nudge(none)"
        })
    }
}

/// One membership of one group.
pub struct Group {
    /// Group id.
    pub group_id: String,
    /// Metadata and connections.
    cluster: Arc<Cluster>,
    /// Settings.
    config: GroupConfig,
    /// Shared with the heartbeat task.
    state: Arc<(Mutex<State>, Condvar)>,
    /// The consumer's own pool: JoinGroup and SyncGroup go there, next to its fetches;
    /// heartbeats, commits and LeaveGroup use the cluster's shared connection (see `pool`).
    pool: Arc<Pool>,
}

impl Group {
    /// A member of `group_id` that has not joined yet.
    pub fn new(
        cluster: Arc<Cluster>,
        group_id: &str,
        config: GroupConfig,
        pool: Arc<Pool>,
    ) -> Result<Group> {
        let state = Arc::new((
            Mutex::new(State {
                generation: -1,
                ..Default::default()
            }),
            Condvar::new(),
        ));
        let hb_state = Arc::downgrade(&state);
        let hb_cluster = Arc::downgrade(&cluster);
        let hb_group = group_id.to_string();
        let interval = config.heartbeat_interval;
        cluster.net().schedule(
            jittered(interval),
            Box::new(move || {
                heartbeat(&hb_cluster, &hb_group, &hb_state)?;
                Some(jittered(interval))
            }),
        );
        Ok(Group {
            group_id: group_id.to_string(),
            cluster,
            config,
            state,
            pool,
        })
    }

    /// True when the group needs (re)joining.
    pub fn needs_join(&self) -> bool {
        let s = self.state.0.lock();
        !s.stable || s.rejoin_needed
    }

    /// Installs what a heartbeat's answer calls when the consumer must act on it.
    pub fn set_nudge(&self, nudge: Box<dyn Fn() + Send + Sync>) {
        self.state.0.lock().nudge = Nudge(Some(nudge));
    }

    /// Asks for a rejoin at the next poll (subscription changed).
    pub fn request_rejoin(&self) {
        self.state.0.lock().rejoin_needed = true;
    }

    /// `(generation, member id)`.
    pub fn generation(&self) -> (i32, String) {
        let s = self.state.0.lock();
        (s.generation, s.member_id.clone())
    }

    /// The coordinator's node id and address, found if needed.
    fn coordinator_node(&self) -> Result<(i32, String)> {
        if let Some(c) = self.state.0.lock().coordinator.clone() {
            return Ok(c);
        }
        let c = offsets::find_coordinator(&self.cluster, None, &self.group_id)?;
        let node = (c.node_id(), c.addr().to_string());
        self.state.0.lock().coordinator = Some(node.clone());
        Ok(node)
    }

    /// The coordinator on the cluster's shared connection (commits, offset fetches).
    pub fn coordinator(&self) -> Result<Arc<Connection>> {
        let (id, addr) = self.coordinator_node()?;
        self.cluster
            .pool()
            .get(id, &addr)
            .inspect_err(|_| self.forget_coordinator())
    }

    /// The coordinator on the consumer's own connection (join, sync, leave: requests the
    /// broker may hold).
    fn member_coordinator(&self) -> Result<Arc<Connection>> {
        let (id, addr) = self.coordinator_node()?;
        self.pool
            .get(id, &addr)
            .inspect_err(|_| self.forget_coordinator())
    }

    /// Called from `poll`: while the membership is stable, makes sure heartbeats have a
    /// connection to the coordinator (finding it again if it moved or the connection
    /// dropped), which the network thread cannot open itself.
    pub fn keep_alive(&self) {
        let live = {
            let mut s = self.state.0.lock();
            if !s.stable || s.rejoin_needed {
                return;
            }
            match &s.coordinator {
                // Forgotten (a heartbeat failed): found again at once.
                None => false,
                Some((_, addr)) => {
                    // Every poll asks; the connection is looked at every so often.
                    let now = Instant::now();
                    if s.coordinator_checked
                        .is_some_and(|at| now.duration_since(at) < COORDINATOR_CHECK)
                    {
                        return;
                    }
                    let live = self.cluster.pool().has_live(addr);
                    s.coordinator_checked = Some(now);
                    live
                }
            }
        };
        if !live {
            if let Err(e) = self.coordinator() {
                tracing::debug!(group = %self.group_id, error = %e, "no coordinator for heartbeats");
            }
        }
    }

    fn forget_coordinator(&self) {
        self.state.0.lock().coordinator = None;
    }

    /// Joins (or rejoins) with a subscription to `topics`; returns our assignment.
    pub fn join(&self, topics: &[String]) -> Result<Vec<TopicPartition>> {
        self.state.0.lock().stable = false;
        let deadline = Instant::now() + self.config.rebalance_timeout * 3;
        let mut wait = Duration::from_millis(50);
        loop {
            match self.join_once(topics) {
                Ok(Some(assignment)) => return Ok(assignment),
                Ok(None) => {}
                Err(e) => {
                    let retry = e.is_retriable()
                        || e.kafka_code().is_some_and(ErrorCode::is_coordinator_moved);
                    if !retry || Instant::now() > deadline {
                        return Err(e);
                    }
                    self.forget_coordinator();
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(1));
                }
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout(format!("joining group {}", self.group_id)));
            }
        }
    }

    /// One JoinGroup + SyncGroup round; `Ok(None)` means "go again at once".
    fn join_once(&self, topics: &[String]) -> Result<Option<Vec<TopicPartition>>> {
        let conn = self.member_coordinator()?;
        let member_id = self.state.0.lock().member_id.clone();
        let metadata = protocol::encode_subscription(topics)?;
        let mut req = JoinGroupRequest::default();
        req.group_id = GroupId(sb(&self.group_id));
        req.session_timeout_ms = self.config.session_timeout.as_millis() as i32;
        req.rebalance_timeout_ms = self.config.rebalance_timeout.as_millis() as i32;
        req.member_id = sb(&member_id);
        req.protocol_type = sb("consumer");
        req.protocols = self
            .config
            .assignors
            .iter()
            .map(|a| {
                let mut p = JoinGroupRequestProtocol::default();
                p.name = sb(a.name());
                p.metadata = metadata.clone();
                p
            })
            .collect();
        let version = conn.version(ApiKey::JoinGroup)?;
        let resp: JoinGroupResponse = conn.call_timeout(
            ApiKey::JoinGroup,
            version,
            &req,
            self.config.rebalance_timeout,
        )?;
        match ErrorCode::from(resp.error_code) {
            ErrorCode::NONE => {}
            ErrorCode::MEMBER_ID_REQUIRED => {
                self.state.0.lock().member_id = resp.member_id.to_string();
                return Ok(None);
            }
            ErrorCode::UNKNOWN_MEMBER_ID => {
                self.state.0.lock().member_id.clear();
                return Ok(None);
            }
            ErrorCode::REBALANCE_IN_PROGRESS => return Ok(None),
            code => {
                return Err(Error::kafka(
                    code,
                    Some(format!("joining {}", self.group_id)),
                ))
            }
        }
        let member_id = resp.member_id.to_string();
        let generation = resp.generation_id;
        let protocol_name = resp
            .protocol_name
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default();
        {
            let mut s = self.state.0.lock();
            s.member_id = member_id.clone();
            s.generation = generation;
        }
        let assignments = if resp.leader.as_str() == member_id {
            self.lead(&resp, &protocol_name)?
        } else {
            Vec::new()
        };
        tracing::debug!(group = %self.group_id, generation, %member_id, leader = %resp.leader, "joined");
        let mut sync = SyncGroupRequest::default();
        sync.group_id = GroupId(sb(&self.group_id));
        sync.generation_id = generation;
        sync.member_id = sb(&member_id);
        sync.assignments = assignments;
        let version = conn.version(ApiKey::SyncGroup)?;
        if version >= 5 {
            sync.protocol_type = Some(sb("consumer"));
            sync.protocol_name = Some(sb(&protocol_name));
        }
        let resp: SyncGroupResponse = conn.call_timeout(
            ApiKey::SyncGroup,
            version,
            &sync,
            self.config.rebalance_timeout,
        )?;
        match ErrorCode::from(resp.error_code) {
            ErrorCode::NONE => {}
            ErrorCode::REBALANCE_IN_PROGRESS | ErrorCode::ILLEGAL_GENERATION => return Ok(None),
            ErrorCode::UNKNOWN_MEMBER_ID => {
                self.state.0.lock().member_id.clear();
                return Ok(None);
            }
            code => {
                return Err(Error::kafka(
                    code,
                    Some(format!("syncing {}", self.group_id)),
                ))
            }
        }
        let assignment = protocol::decode_assignment(&resp.assignment)?;
        {
            let mut s = self.state.0.lock();
            s.stable = true;
            s.rejoin_needed = false;
        }
        self.state.1.notify_all();
        Ok(Some(assignment.partitions))
    }

    /// As leader: assign every member's subscription with the chosen strategy.
    fn lead(
        &self,
        resp: &JoinGroupResponse,
        protocol_name: &str,
    ) -> Result<Vec<SyncGroupRequestAssignment>> {
        let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for m in &resp.members {
            let topics = match protocol::decode_subscription(&m.metadata) {
                Ok(s) => s.topics,
                Err(e) => {
                    tracing::warn!(member = %m.member_id, error = %e, "unreadable subscription");
                    Vec::new()
                }
            };
            members.insert(m.member_id.to_string(), topics);
        }
        let all: BTreeSet<&str> = members.values().flatten().map(String::as_str).collect();
        self.cluster.want_topics(all.iter().copied());
        // The metadata at hand serves unless it lacks a subscribed topic (asking again
        // costs an all-topics request for a pattern subscription).
        let mut view = self.cluster.view();
        if all.iter().any(|t| view.partition_count(t).is_none()) {
            self.cluster.refresh()?;
            view = self.cluster.view();
        }
        let counts: BTreeMap<String, usize> = all
            .iter()
            .filter_map(|t| view.partition_count(t).map(|n| (t.to_string(), n)))
            .collect();
        let assignor = Assignor::from_name(protocol_name).unwrap_or(Assignor::Range);
        let plan = assignor.assign(&members, &counts);
        tracing::debug!(group = %self.group_id, ?plan, "assigned as leader");
        plan.into_iter()
            .map(|(member, parts)| {
                let mut a = SyncGroupRequestAssignment::default();
                a.member_id = sb(&member);
                a.assignment = protocol::encode_assignment(&parts)?;
                Ok(a)
            })
            .collect()
    }

    /// Commits offsets as the current generation.
    pub fn commit(&self, offsets: &BTreeMap<TopicPartition, i64>) -> Result<()> {
        let (generation, member) = self.generation();
        let conn = self.coordinator()?;
        let r = offsets::commit(&conn, &self.group_id, generation, &member, offsets);
        if let Err(e) = &r {
            self.commit_failed(e);
        }
        r
    }

    /// Sends the commit of `offsets` without waiting (auto-commit); `done` gets the
    /// outcome on the network thread, and the consumer hands a failure to
    /// [`Group::commit_failed`].
    pub fn commit_async(
        &self,
        offsets: &BTreeMap<TopicPartition, i64>,
        done: impl FnOnce(Result<()>) + Send + 'static,
    ) {
        let (generation, member) = self.generation();
        match self.coordinator() {
            Ok(conn) => {
                offsets::commit_async(&conn, &self.group_id, generation, &member, offsets, done)
            }
            Err(e) => done(Err(e)),
        }
    }

    /// What a failed commit says about the membership: the coordinator moved or is gone
    /// (found again), or the generation is over (rejoin).
    pub fn commit_failed(&self, e: &Error) {
        match e.kafka_code() {
            Some(c) if c.is_coordinator_moved() => self.forget_coordinator(),
            Some(c) if c.is_rejoin() => self.request_rejoin(),
            _ if e.is_retriable() => self.forget_coordinator(),
            _ => {}
        }
    }

    /// The group's committed offsets for `partitions`.
    pub fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<HashMap<TopicPartition, Option<i64>>> {
        let conn = self.coordinator()?;
        offsets::fetch(&conn, &self.group_id, partitions).inspect_err(|_| self.forget_coordinator())
    }

    /// Leaves the group (best effort) and stops heartbeating.
    pub fn leave(&self) {
        let (member, node) = {
            let mut s = self.state.0.lock();
            s.stable = false;
            let m = std::mem::take(&mut s.member_id);
            s.generation = -1;
            (m, s.coordinator.clone())
        };
        if member.is_empty() {
            return;
        }
        let Some((id, addr)) = node else { return };
        // On the shared connection: the broker answers LeaveGroup at once, and on the
        // consumer's own it would wait behind a fetch the broker holds (up to max_wait).
        let Ok(conn) = self.cluster.pool().get(id, &addr) else {
            return;
        };
        let Ok(version) = conn.version(ApiKey::LeaveGroup) else {
            return;
        };
        let mut req = LeaveGroupRequest::default();
        req.group_id = GroupId(sb(&self.group_id));
        if version >= 3 {
            let mut m = MemberIdentity::default();
            m.member_id = sb(&member);
            req.members = vec![m];
        } else {
            req.member_id = sb(&member);
        }
        match conn.call::<_, LeaveGroupResponse>(ApiKey::LeaveGroup, version, &req) {
            Ok(r) if r.error_code == 0 => tracing::debug!(group = %self.group_id, "left"),
            Ok(r) => tracing::debug!(group = %self.group_id, code = r.error_code, "leave refused"),
            Err(e) => tracing::debug!(group = %self.group_id, error = %e, "leave failed"),
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        // The heartbeat task sees this (or the state gone) and stops.
        self.state.0.lock().closed = true;
        self.state.1.notify_all();
    }
}

/// One heartbeat tick on the network thread: sends a heartbeat if the membership is stable,
/// the coordinator's shared connection is up and no heartbeat is in flight. `None` once
/// the group is gone (the task stops).
fn heartbeat(
    cluster: &Weak<Cluster>,
    group: &str,
    state: &Weak<(Mutex<State>, Condvar)>,
) -> Option<()> {
    let cluster = cluster.upgrade()?;
    let state = state.upgrade()?;
    let (generation, member, addr) = {
        let mut s = state.0.lock();
        if s.closed {
            return None;
        }
        if !s.stable || s.rejoin_needed {
            return Some(());
        }
        if let Some(at) = s.heartbeat_sent {
            if at.elapsed() < cluster.config.request_timeout {
                return Some(());
            }
            // No answer in time: the connection is presumably dead.
            s.heartbeat_sent = None;
            s.coordinator = None;
            return Some(());
        }
        let Some((_, addr)) = s.coordinator.clone() else {
            return Some(());
        };
        (s.generation, s.member_id.clone(), addr)
    };
    // Never connect here (it would block the network thread): `keep_alive` does.
    let conn = cluster.pool().live(&addr)?;
    let Ok(version) = conn.version(ApiKey::Heartbeat) else {
        return Some(());
    };
    let mut req = HeartbeatRequest::default();
    req.group_id = GroupId(sb(group));
    req.generation_id = generation;
    req.member_id = sb(&member);
    state.0.lock().heartbeat_sent = Some(Instant::now());
    let weak = Arc::downgrade(&state);
    let group_name = group.to_string();
    let addr = conn.addr_shared();
    conn.send(
        ApiKey::Heartbeat,
        version,
        &req,
        Box::new(move |res| {
            let Some(state) = weak.upgrade() else { return };
            let code = res
                .and_then(|b| {
                    decode_body::<HeartbeatResponse>(&addr, ApiKey::Heartbeat, version, b)
                })
                .map(|r| ErrorCode::from(r.error_code));
            settle(&mut state.0.lock(), &group_name, generation, code);
        }),
    );
    Some(())
}

/// Applies a heartbeat's answer to the membership: flags a rejoin when the coordinator
/// says so, forgets the coordinator when it moved or the connection failed.
fn settle(s: &mut State, group: &str, generation: i32, code: Result<ErrorCode>) {
    s.heartbeat_sent = None;
    if s.generation != generation {
        return;
    }
    if !matches!(code, Ok(ErrorCode::NONE)) {
        if let Some(nudge) = &s.nudge.0 {
            nudge();
        }
    }
    match code {
        Ok(ErrorCode::NONE) => {}
        Ok(ErrorCode::REBALANCE_IN_PROGRESS | ErrorCode::ILLEGAL_GENERATION) => {
            s.rejoin_needed = true
        }
        Ok(ErrorCode::UNKNOWN_MEMBER_ID) => {
            s.member_id.clear();
            s.rejoin_needed = true;
        }
        Ok(c) if c.is_coordinator_moved() => s.coordinator = None,
        Ok(c) => tracing::warn!(%group, code = c.code(), "heartbeat error"),
        Err(e) => {
            tracing::debug!(%group, error = %e, "heartbeat failed");
            s.coordinator = None;
        }
    }
}
