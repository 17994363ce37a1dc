//! Topic names of the data model, and the reversible mapping from BBS names (boards, users)
//! to legal Kafka topic names.
//!
//! Kafka topic names are 1-249 characters of `[a-zA-Z0-9._-]`. A BBS name that uses only
//! those characters and does not start with `_` is used as-is after its prefix
//! (`board.NP_HW`). Any other name (CJK, spaces, punctuation, a leading `_`) becomes `_`
//! followed by the lowercase hex of its UTF-8 bytes (`測試` → `board._e6b8ace8a9a6`). Decoding
//! accepts only canonical encodings, so the mapping is a bijection between names and the
//! topic names it produces: no two names share a topic.

use crate::error::Failure;

/// Prefix of every board topic.
pub const BOARD_PREFIX: &str = "board.";
/// Prefix of each user's private mailbox topic.
pub const MAIL_PREFIX: &str = "mail.";
/// Prefix of each user's private subscription topic.
pub const SUBS_PREFIX: &str = "subs.";
/// The compacted topic of board metadata (key = board name).
pub const BOARDS_TOPIC: &str = "bbs.boards";
/// The compacted topic of user profiles (key = username).
pub const USERS_TOPIC: &str = "bbs.users";
/// The compacted view of per-board statistics (key = board name), kept by the server.
pub const STATS_TOPIC: &str = "bbs.stats";
/// The view locating every post by id (key = post id, one record per post in id order),
/// kept by the server.
pub const IDS_TOPIC: &str = "bbs.ids";
/// Prefix of each board's post index view (key = post id), kept by the server. As long
/// as [`BOARD_PREFIX`], so every board's views fit Kafka's name limit when its topic does.
pub const INDEX_PREFIX: &str = "index.";
/// Prefix of each board's page view (page `k` at offset `k`), kept by the server.
pub const PAGES_PREFIX: &str = "pages.";
/// Kafka's limit on topic name length.
pub const MAX_TOPIC_LEN: usize = 249;
/// Marks an escaped (hex-encoded) name.
const ESCAPE: char = '_';

/// What a topic holds in the data model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicKind {
    /// `board.<name>`: posts, comments, edits, deletes and pushes of one board.
    Board(String),
    /// `bbs.boards`: board metadata.
    Boards,
    /// `bbs.users`: user profiles.
    Users,
    /// `mail.<user>`: that user's mailbox.
    Mail(String),
    /// `subs.<user>`: that user's subscriptions.
    Subs(String),
    /// Anything else: an ordinary topic outside the BBS namespaces.
    Other,
}

fn is_plain(name: &str) -> bool {
    !name.starts_with(ESCAPE)
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Encodes `name` as a legal topic suffix (without checking the length).
pub fn encode_name(name: &str) -> String {
    if is_plain(name) && !name.is_empty() {
        return name.to_string();
    }
    let mut out = String::with_capacity(1 + 2 * name.len());
    out.push(ESCAPE);
    for b in name.bytes() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Decodes a topic suffix made by [`encode_name`]; `None` for anything non-canonical.
pub fn decode_name(suffix: &str) -> Option<String> {
    let name = match suffix.strip_prefix(ESCAPE) {
        None => suffix.to_string(),
        Some(hex) => {
            if hex.len() % 2 != 0 {
                return None;
            }
            let mut bytes = Vec::with_capacity(hex.len() / 2);
            for pair in hex.as_bytes().chunks(2) {
                let digit = |c: u8| match c {
                    b'0'..=b'9' => Some(c - b'0'),
                    b'a'..=b'f' => Some(c - b'a' + 10),
                    _ => None,
                };
                bytes.push(digit(pair[0])? << 4 | digit(pair[1])?);
            }
            String::from_utf8(bytes).ok()?
        }
    };
    (!name.is_empty() && encode_name(&name) == suffix).then_some(name)
}

fn topic(prefix: &str, name: &str) -> Result<String, Failure> {
    if name.is_empty() {
        return Err(Failure::BadName("empty name".into()));
    }
    let topic = format!("{prefix}{}", encode_name(name));
    if topic.len() > MAX_TOPIC_LEN {
        return Err(Failure::BadName(format!("'{name}' is too long")));
    }
    Ok(topic)
}

/// The topic of a board.
pub fn board_topic(board: &str) -> Result<String, Failure> {
    topic(BOARD_PREFIX, board)
}

/// The mailbox topic of a user.
pub fn mail_topic(user: &str) -> Result<String, Failure> {
    topic(MAIL_PREFIX, user)
}

/// The subscription topic of a user.
pub fn subs_topic(user: &str) -> Result<String, Failure> {
    topic(SUBS_PREFIX, user)
}

/// Says what a topic holds.
pub fn classify(topic: &str) -> TopicKind {
    let named = |prefix: &str| {
        topic
            .strip_prefix(prefix)
            .and_then(decode_name)
            .filter(|_| topic.len() <= MAX_TOPIC_LEN)
    };
    match topic {
        BOARDS_TOPIC => TopicKind::Boards,
        USERS_TOPIC => TopicKind::Users,
        _ => {
            if let Some(n) = named(BOARD_PREFIX) {
                TopicKind::Board(n)
            } else if let Some(n) = named(MAIL_PREFIX) {
                TopicKind::Mail(n)
            } else if let Some(n) = named(SUBS_PREFIX) {
                TopicKind::Subs(n)
            } else {
                TopicKind::Other
            }
        }
    }
}

/// Whether a topic is in a namespace the BBS owns (even if its suffix is malformed), so
/// that writes to it must follow the data model.
pub fn is_bbs_namespace(topic: &str) -> bool {
    topic == BOARDS_TOPIC
        || topic == USERS_TOPIC
        || [BOARD_PREFIX, MAIL_PREFIX, SUBS_PREFIX]
            .iter()
            .any(|p| topic.starts_with(p))
}

/// The post index view of a board.
pub fn index_topic(board: &str) -> Result<String, Failure> {
    topic(INDEX_PREFIX, board)
}

/// The page view of a board.
pub fn pages_topic(board: &str) -> Result<String, Failure> {
    topic(PAGES_PREFIX, board)
}

/// Whether a topic is one of the views the server derives from the boards
/// (`docs/data-model.md`, "Views"): only the server writes them.
pub fn is_view_topic(topic: &str) -> bool {
    topic == STATS_TOPIC
        || topic == IDS_TOPIC
        || topic.starts_with(INDEX_PREFIX)
        || topic.starts_with(PAGES_PREFIX)
}

/// Prefix of the consumer groups the BBS owns: `bbs-…:<user>` belongs to `<user>`.
pub const GROUP_PREFIX: &str = "bbs-";
/// Prefix of a link's feed group (`bbs-session-…`, with `:<user>` when logged in); their
/// names and states are public (the online list), their members and offsets are not.
pub const SESSION_GROUP_PREFIX: &str = "bbs-session-";

/// The user a BBS group belongs to: the part after the first `:` of a `bbs-` group id
/// (`bbs-prefs:<user>` holds read marks and favourites, `bbs-session-…:<user>` is a
/// logged-in feed). `None` for groups nobody owns (anonymous feeds, ordinary groups).
pub fn group_owner(group: &str) -> Option<&str> {
    let rest = group.strip_prefix(GROUP_PREFIX)?;
    let (_, owner) = rest.split_once(':')?;
    (!owner.is_empty()).then_some(owner)
}

/// The prefs group of `user`.
pub fn prefs_group(user: &str) -> String {
    format!("{GROUP_PREFIX}prefs:{user}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn legal_names_stay_and_others_escape() {
        assert_eq!(board_topic("NP_HW").as_deref(), Ok("board.NP_HW"));
        assert_eq!(board_topic("測試").as_deref(), Ok("board._e6b8ace8a9a6"));
        assert_eq!(board_topic("a b").as_deref(), Ok("board._612062"));
        assert_eq!(board_topic("_x").as_deref(), Ok("board._5f78"));
        assert!(board_topic("").is_err());
        assert!(board_topic(&"a".repeat(243)).is_ok());
        assert!(board_topic(&"a".repeat(244)).is_err());
        assert!(board_topic(&"測".repeat(40)).is_ok());
        assert!(board_topic(&"測".repeat(41)).is_err());
    }

    #[test]
    fn non_canonical_suffixes_do_not_decode() {
        assert_eq!(
            decode_name("_41"),
            None,
            "A is plain, so _41 is not canonical"
        );
        assert_eq!(decode_name("_E6B8ACE8A9A6"), None, "uppercase hex");
        assert_eq!(decode_name("_6"), None);
        assert_eq!(decode_name("_ff"), None, "not UTF-8");
        assert_eq!(decode_name("_"), None);
        assert_eq!(decode_name(""), None);
        assert_eq!(classify("board._41"), TopicKind::Other);
        assert!(is_bbs_namespace("board._41"));
    }

    #[test]
    fn classify_topics() {
        assert_eq!(classify("board.NP"), TopicKind::Board("NP".into()));
        assert_eq!(classify("mail.bob"), TopicKind::Mail("bob".into()));
        assert_eq!(classify("subs._e6b8ac"), TopicKind::Subs("測".into()));
        assert_eq!(classify("bbs.boards"), TopicKind::Boards);
        assert_eq!(classify("bbs.users"), TopicKind::Users);
        assert_eq!(classify("homework"), TopicKind::Other);
    }

    #[test]
    fn bbs_groups_name_their_owner() {
        assert_eq!(group_owner(&prefs_group("ana")), Some("ana"));
        assert_eq!(group_owner("bbs-session-12-3-0000abcd:測試"), Some("測試"));
        assert_eq!(group_owner("bbs-session-12-3-0000abcd"), None);
        assert_eq!(group_owner("bbs-prefs:"), None);
        assert_eq!(group_owner("hw4"), None);
        assert_eq!(group_owner("x-bbs-prefs:ana"), None);
    }

    proptest! {
        #[test]
        fn mapping_is_reversible_and_legal(name in "\\PC{1,30}") {
            let t = board_topic(&name).expect("30 chars of at most 4 bytes fit");
            prop_assert!(broker::log::manager::validate_topic_name(&t).is_ok(), "{t}");
            prop_assert_eq!(classify(&t), TopicKind::Board(name.clone()));
        }

        #[test]
        fn too_long_names_are_refused(name in "\\PC{1,200}") {
            let fits = 6 + encode_name(&name).len() <= MAX_TOPIC_LEN;
            prop_assert_eq!(board_topic(&name).is_ok(), fits);
        }

        #[test]
        fn mapping_is_collision_free(a in "[a-z_ 測.]{1,8}", b in "[a-z_ 測.]{1,8}") {
            prop_assert_eq!(a == b, encode_name(&a) == encode_name(&b));
        }

        #[test]
        fn any_decodable_suffix_round_trips(s in "[a-f0-9_.A-Z-]{1,12}") {
            if let Some(n) = decode_name(&s) {
                prop_assert_eq!(encode_name(&n), s);
            }
        }
    }
}
