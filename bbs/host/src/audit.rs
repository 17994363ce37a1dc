//! The server's account of what users did, at INFO, for a TA reading the log: who
//! (the authenticated user), from where (the real client address; for the classic port,
//! the student's address the port passes on, not its own loopback one) and what (a
//! board, post, comment, edit, delete, push, profile or mail). Bodies are never logged.
//! [`audit`] is also the entry point for moderation actions.

use std::net::SocketAddr;

use bbs::codec::{BbsRecord, Entry};

/// Logs one user action at INFO: `action` is a short verb ("post", "remove post"),
/// `detail` names what it touched ("board=Test post=12"). Moderation calls this too.
pub fn audit(user: &str, peer: SocketAddr, action: &str, detail: &str) {
    tracing::info!(target: "bbs::audit", user, %peer, action, detail, "user action");
}

/// Logs an accepted record (see [`audit`]); mail only says who wrote to whom.
pub(super) fn record(user: &str, peer: SocketAddr, entry: &Entry) {
    let (action, detail) = match &entry.record {
        BbsRecord::Board { name, .. } => ("create board", format!("board={name}")),
        BbsRecord::User { name, .. } => ("profile", format!("user={name}")),
        BbsRecord::Post {
            board, id, title, ..
        } => (
            "post",
            format!(
                "board={board} post={} title={title:?}",
                id.map_or_else(|| "?".to_string(), |i| i.to_string())
            ),
        ),
        BbsRecord::Comment { board, post, .. } => ("comment", format!("board={board} post={post}")),
        BbsRecord::Edit { board, post, .. } => ("edit", format!("board={board} post={post}")),
        BbsRecord::Delete { board, post, .. } => ("delete", format!("board={board} post={post}")),
        BbsRecord::Push { board, post, .. } => ("push", format!("board={board} post={post}")),
        BbsRecord::Remove {
            board,
            post,
            comment: None,
            ..
        } => ("remove post", format!("board={board} post={post}")),
        BbsRecord::Remove {
            board,
            post,
            comment: Some(n),
            ..
        } => (
            "remove comment",
            format!("board={board} post={post} comment={n}"),
        ),
        BbsRecord::BoardDelete { name, .. } => ("delete board", format!("board={name}")),
        BbsRecord::UserStatus {
            name,
            disabled: true,
            ..
        } => ("disable user", format!("user={name}")),
        BbsRecord::UserStatus { name, .. } => ("enable user", format!("user={name}")),
        BbsRecord::Mail { to, .. } => ("mail", format!("to={to}")),
        BbsRecord::MailDelete { mail, .. } => ("delete mail", format!("mail={mail}")),
        // Subscription-list changes are preferences, not actions a TA follows.
        BbsRecord::Subscribe { .. } | BbsRecord::Unsubscribe { .. } => return,
    };
    audit(user, peer, action, &detail);
}
