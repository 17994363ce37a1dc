//! The record policy: a pure function that decides whether a batch of records produced by
//! a principal to a topic may be written, given the current [`State`]. The server installs
//! it into the broker (`bbs_host::BbsPolicy` in `bbs/host`, an adapter over the broker's
//! `RecordPolicy` hook: decode the batch into [`WireRecord`]s, call [`check`] under the
//! lock that also applies accepted records to the state, answer with the verdict); the
//! in-process backend ([`crate::backend::memory`]) calls [`check`] directly.
//!
//! Rules: the author header must equal the principal; only a post's author edits or deletes
//! it; comments, edits, deletes and pushes must reference a live post on the same board;
//! posts go only to existing boards; mail goes only to existing users; only the owner
//! deletes mail or changes subscriptions; board names are unique; only a board's moderator
//! (its creator) or the operator removes a post or comment there (`remove`), and a removed
//! post can no longer be edited; only the operator deletes a board (`board-delete`, whose
//! name is then never used again) or disables and enables a user (`disable`/`enable`),
//! and a disabled user writes nothing at all. Accepted BBS records are
//! always replaced by stamped copies: `bbs.time` = server time, and posts get the next
//! global id (the counter is `state.max_post_id() + 1`, so it survives restarts because the
//! server rebuilds the state from the topics before it accepts writes). The whole batch is
//! accepted or rejected: a violation writes nothing. Topics outside the BBS namespaces are
//! accepted untouched.
//!
//! Every field is also bounded and may hold no control or bidi character (content may
//! hold `\n` and `\t`), and new board names must not look like existing ones: see
//! [`fields`].

use std::collections::{HashMap, HashSet};

use crate::codec::{self, BbsRecord, Entry, WireRecord};
use crate::error::{Error, Failure};
use crate::model::{Millis, PostId, SubTarget};
use crate::names;
use crate::state::State;

pub mod fields;

/// Who is writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal<'a> {
    /// A connection that did not authenticate.
    Anonymous,
    /// An authenticated user.
    User(&'a str),
    /// The server itself (registration, maintenance): may act for anyone, but existence
    /// and uniqueness rules still hold.
    Server,
}

/// The policy's answer for one produce to one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Write the records as sent (topics outside the BBS).
    Accept,
    /// Write nothing; tell the producer why.
    Reject(Failure),
    /// Write these stamped records instead (same count and order).
    Replace(Vec<WireRecord>),
}

/// What earlier records of the same batch changed, so later ones see it.
#[derive(Default)]
struct Pending {
    /// Boards created in this batch.
    boards: HashSet<String>,
    /// Boards the operator deleted in this batch.
    boards_deleted: HashSet<String>,
    /// Users created in this batch.
    users: HashSet<String>,
    /// Posts created in this batch: id → (board, author).
    posts: HashMap<PostId, (String, String)>,
    /// Posts deleted in this batch.
    deleted: HashSet<PostId>,
    /// Mails deleted in this batch (offsets).
    mails_deleted: HashSet<i64>,
    /// Subscriptions added in this batch.
    subs: HashSet<(SubTarget, String)>,
    /// Targets unsubscribed in this batch.
    unsubs: HashSet<SubTarget>,
}

/// Decides on a batch of `records` that `principal` produces to `topic` at server time
/// `now`.
pub fn check(
    principal: Principal<'_>,
    topic: &str,
    records: &[WireRecord],
    state: &State,
    now: Millis,
) -> Verdict {
    if !names::is_bbs_namespace(topic) {
        return Verdict::Accept;
    }
    let user = match principal {
        Principal::Anonymous => return Verdict::Reject(Failure::NotLoggedIn),
        Principal::User(u) => Some(u),
        Principal::Server => None,
    };
    if let Some(u) = user.filter(|u| state.is_disabled(u)) {
        return Verdict::Reject(Failure::Policy(disabled_message(u)));
    }
    let mut pending = Pending::default();
    let mut next_id = state.max_post_id() + 1;
    let mut out = Vec::with_capacity(records.len());
    for wire in records {
        if let Err(f) = fields::check_headers(wire) {
            return Verdict::Reject(f);
        }
        let mut entry = match codec::decode(topic, wire) {
            Ok(e) => e,
            Err(e) => return Verdict::Reject(Failure::Policy(e.to_string())),
        };
        if let Err(f) = fields::check_record(&entry.record) {
            return Verdict::Reject(f);
        }
        if let Some(u) = user {
            let actor = entry.record.actor();
            if actor != u {
                return Verdict::Reject(Failure::Policy(format!(
                    "{} {actor:?} is not the authenticated user {u:?}",
                    codec::H_AUTHOR
                )));
            }
        }
        if let Err(f) = rule(
            &mut entry,
            state,
            &mut pending,
            user.is_none(),
            &mut next_id,
        ) {
            return Verdict::Reject(f);
        }
        entry.time = Some(now);
        match codec::encode(&entry) {
            Ok((_, stamped)) => out.push(stamped),
            Err(Error::Refused(f)) => return Verdict::Reject(f),
            Err(e) => return Verdict::Reject(Failure::Policy(e.to_string())),
        }
    }
    Verdict::Replace(out)
}

/// What a disabled user is told when they try to log in or write.
pub fn disabled_message(user: &str) -> String {
    format!("The account {user} is disabled by the operator.")
}

/// Checks one record against the state and the batch so far; stamps post ids.
fn rule(
    entry: &mut Entry,
    state: &State,
    p: &mut Pending,
    server: bool,
    next_id: &mut PostId,
) -> Result<(), Failure> {
    // A live post on `board`, and its author.
    let live = |p: &Pending, board: &str, id: PostId| -> Result<String, Failure> {
        if p.deleted.contains(&id) {
            return Err(Failure::NoSuchPost);
        }
        if let Some((b, a)) = p.posts.get(&id) {
            return if b == board {
                Ok(a.clone())
            } else {
                Err(Failure::NoSuchPost)
            };
        }
        match state.live_post(id) {
            Some(post) if post.board == board => Ok(post.author.clone()),
            _ => Err(Failure::NoSuchPost),
        }
    };
    let board_exists = |p: &Pending, b: &str| {
        (state.board(b).is_some() || p.boards.contains(b)) && !p.boards_deleted.contains(b)
    };
    let user_exists = |p: &Pending, u: &str| state.user(u).is_some() || p.users.contains(u);
    match &mut entry.record {
        BbsRecord::Board { name, .. } => {
            if board_exists(p, name) {
                return Err(Failure::BoardExists);
            }
            if state.board_deleted(name) || p.boards_deleted.contains(name) {
                return Err(Failure::Policy(format!(
                    "The board name {name} belonged to a deleted board and cannot be used again."
                )));
            }
            fields::check_new_board(name, state, p.boards.iter())?;
            names::board_topic(name)?;
            p.boards.insert(name.clone());
        }
        BbsRecord::User { name, .. } => {
            if server && user_exists(p, name) {
                return Err(Failure::UsernameTaken);
            }
            p.users.insert(name.clone());
        }
        BbsRecord::Post {
            board, id, author, ..
        } => {
            if !board_exists(p, board) {
                return Err(Failure::NoSuchBoard);
            }
            *id = Some(*next_id);
            p.posts.insert(*next_id, (board.clone(), author.clone()));
            *next_id += 1;
        }
        BbsRecord::Comment { board, post, .. } | BbsRecord::Push { board, post, .. } => {
            live(p, board, *post)?;
        }
        BbsRecord::Edit {
            board,
            post,
            author,
            ..
        } => {
            if live(p, board, *post)? != *author && !server {
                return Err(Failure::NotOwner);
            }
            if state
                .live_post(*post)
                .is_some_and(|x| x.removed_by.is_some())
            {
                return Err(Failure::Policy(
                    "The post was removed by the moderator.".to_string(),
                ));
            }
        }
        BbsRecord::Remove {
            board,
            post,
            comment,
            author,
        } => {
            let moderator = state.board(board).map(|b| b.creator.as_str());
            if !server && moderator != Some(author.as_str()) {
                return Err(Failure::NotModerator);
            }
            live(p, board, *post)?;
            if let Some(n) = comment {
                let count = state.live_post(*post).map_or(0, |x| x.comments.len());
                if *n == 0 || *n as usize > count {
                    return Err(Failure::NoSuchComment);
                }
            }
        }
        BbsRecord::Delete {
            board,
            post,
            author,
        } => {
            if live(p, board, *post)? != *author && !server {
                return Err(Failure::NotOwner);
            }
            p.deleted.insert(*post);
        }
        BbsRecord::BoardDelete { name, .. } => {
            if !server {
                return Err(Failure::NotOperator);
            }
            if !board_exists(p, name) {
                return Err(Failure::NoSuchBoard);
            }
            p.boards_deleted.insert(name.clone());
        }
        BbsRecord::UserStatus { name, .. } => {
            if !server {
                return Err(Failure::NotOperator);
            }
            if !user_exists(p, name) {
                return Err(Failure::NoSuchUser(name.clone()));
            }
        }
        BbsRecord::Mail { to, .. } => {
            if !user_exists(p, to) {
                return Err(Failure::NoSuchUser(to.clone()));
            }
        }
        BbsRecord::MailDelete { owner, mail } => {
            let present = state.mailbox(owner).iter().any(|m| m.offset == *mail);
            if !present || !p.mails_deleted.insert(*mail) {
                return Err(Failure::NoSuchMail);
            }
        }
        BbsRecord::Subscribe {
            owner,
            target,
            keyword,
        } => {
            let known = !p.unsubs.contains(target)
                && state
                    .subscriptions(owner)
                    .iter()
                    .any(|s| s.target == *target && s.keywords.contains(keyword));
            if known || !p.subs.insert((target.clone(), keyword.clone())) {
                return Err(Failure::AlreadySubscribed);
            }
        }
        BbsRecord::Unsubscribe { owner, target } => {
            let known = (!p.unsubs.contains(target)
                && state
                    .subscriptions(owner)
                    .iter()
                    .any(|s| s.target == *target))
                || p.subs.iter().any(|(t, _)| t == target);
            if !known {
                return Err(Failure::NotSubscribed(target.name.clone()));
            }
            p.subs.retain(|(t, _)| t != target);
            p.unsubs.insert(target.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
