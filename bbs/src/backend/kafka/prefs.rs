//! Per-user prefs on the server, so they follow the user to another machine: committed
//! offsets of the user's own group `bbs-prefs:<user>`, written with the admin client
//! (generation -1, the group never has members).
//!
//! - A read mark of a board is a commit on the board's topic, partition 0: the offset is
//!   the mark's `upto` post id (informational), the metadata the mark's text form
//!   ([`ReadMark::encode`], `upto,extra,extra…`).
//! - Favourites are a commit on `bbs.boards`, partition 0, offset 0, with the favourite
//!   board names as metadata: each encoded with [`names::encode_name`], comma separated.

use client::{Client, TopicPartition};

use crate::error::{Error, Result};
use crate::names;
use crate::prefs::{ReadMark, UserPrefs};

/// The topic whose commit holds the favourites.
const FAVOURITES_TOPIC: &str = "bbs.boards";

fn group(user: &str) -> String {
    names::prefs_group(user)
}

fn backend(e: client::Error) -> Error {
    Error::Backend(e.to_string())
}

/// The user's prefs; `boards` are the boards to look up read marks for.
pub(super) fn load(client: &Client, user: &str, boards: &[String]) -> Result<UserPrefs> {
    let mut parts = vec![TopicPartition::new(FAVOURITES_TOPIC, 0)];
    let mut topics = Vec::new();
    for b in boards {
        if let Ok(t) = names::board_topic(b) {
            parts.push(TopicPartition::new(&t, 0));
            topics.push((t, b.clone()));
        }
    }
    let got = client
        .admin()
        .fetch_offsets_with_metadata(&group(user), &parts)
        .map_err(backend)?;
    let mut prefs = UserPrefs::default();
    if let Some(Some((_, meta))) = got.get(&TopicPartition::new(FAVOURITES_TOPIC, 0)) {
        prefs.favourites = meta
            .split(',')
            .filter(|s| !s.is_empty())
            .filter_map(names::decode_name)
            .collect();
    }
    for (t, b) in topics {
        if let Some(Some((_, meta))) = got.get(&TopicPartition::new(&t, 0)) {
            if let Some(mark) = ReadMark::decode(meta) {
                prefs.read.insert(b, mark);
            }
        }
    }
    Ok(prefs)
}

/// Stores the read mark of `board`.
pub(super) fn put_read_mark(
    client: &Client,
    user: &str,
    board: &str,
    mark: &ReadMark,
) -> Result<()> {
    let topic = names::board_topic(board)?;
    client
        .admin()
        .commit_offsets_with_metadata(
            &group(user),
            &[(
                TopicPartition::new(&topic, 0),
                mark.upto as i64,
                mark.encode(),
            )],
        )
        .map_err(backend)
}

/// Stores the favourite boards, in order.
pub(super) fn put_favourites(client: &Client, user: &str, boards: &[String]) -> Result<()> {
    let meta: Vec<String> = boards.iter().map(|b| names::encode_name(b)).collect();
    client
        .admin()
        .commit_offsets_with_metadata(
            &group(user),
            &[(TopicPartition::new(FAVOURITES_TOPIC, 0), 0, meta.join(","))],
        )
        .map_err(backend)
}
