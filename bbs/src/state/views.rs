//! What the views (`docs/data-model.md`, "Views") say about a [`State`]: a post's index
//! row, a board's statistics and its pages, computed from the fold alone. The server
//! writes these records (`bbs-host`), and anything that wants to check a view against
//! the boards (tests, a rebuild) computes the same rows here.

use super::{Post, State};
use crate::codec::view::{BoardStats, IdRow, IndexRow, PageRow, PostState, PAGE_SIZE};
use crate::model::{Millis, PostId};

/// What a list shows of post `p`.
pub fn post_state(state: &State, p: &Post) -> PostState {
    if p.deleted {
        PostState::Deleted
    } else if state.board_deleted(&p.board) || state.is_disabled(&p.author) {
        PostState::Hidden
    } else if p.removed_by.is_some() {
        PostState::Removed
    } else {
        PostState::Live
    }
}

/// Whether post `id` is listed on its board now.
pub fn listed(state: &State, id: PostId) -> bool {
    state
        .any_post(id)
        .is_some_and(|p| post_state(state, p).listed())
}

/// Post `id`'s row on its board's index (`None` for an unknown id).
pub fn index_row(state: &State, id: PostId) -> Option<IndexRow> {
    let p = state.any_post(id)?;
    let ordinal = state.board_post_ids(&p.board).binary_search(&id).ok()?;
    let shown = |author: &String| !state.is_disabled(author);
    Some(IndexRow {
        id,
        author: p.author.clone(),
        title: p.title.clone(),
        time: p.time,
        state: post_state(state, p),
        score: p
            .pushes
            .iter()
            .filter(|x| shown(&x.author))
            .map(|x| x.push.score())
            .sum(),
        comments: p.comments.iter().filter(|c| shown(&c.author)).count() as u64,
        offset: p.offset,
        ordinal: ordinal as u64,
    })
}

/// Post `id`'s record on `bbs.ids` (`None` for an unknown id).
pub fn id_row(state: &State, id: PostId) -> Option<IdRow> {
    let p = state.any_post(id)?;
    let ordinal = state.board_post_ids(&p.board).binary_search(&id).ok()?;
    Some(IdRow {
        id,
        board: p.board.clone(),
        offset: p.offset,
        ordinal: ordinal as u64,
    })
}

/// The newest listed post of `board`: its id and time, `(0, 0)` when none. Walks back
/// from the newest post, so it costs the number of unlisted posts at the end.
pub fn last_listed(state: &State, board: &str) -> (PostId, Millis) {
    state
        .board_post_ids(board)
        .iter()
        .rev()
        .filter_map(|id| state.any_post(*id))
        .find(|p| post_state(state, p).listed())
        .map_or((0, 0), |p| (p.id, p.time))
}

/// `board`'s statistics, counted over all its posts.
pub fn board_stats(state: &State, board: &str) -> BoardStats {
    let ids = state.board_post_ids(board);
    let (last, time) = last_listed(state, board);
    BoardStats {
        posts: ids.len() as u64,
        live: ids.iter().filter(|id| listed(state, **id)).count() as u64,
        last,
        time,
    }
}

/// Page `page` of `board`, when it has a first post.
pub fn page_row(state: &State, board: &str, page: u64) -> Option<PageRow> {
    let at = usize::try_from(page.checked_mul(PAGE_SIZE)?).ok()?;
    let id = *state.board_post_ids(board).get(at)?;
    let p = state.any_post(id)?;
    Some(PageRow {
        page,
        id,
        offset: p.offset,
    })
}

/// How many pages a board of `posts` posts has.
pub fn page_count(posts: u64) -> u64 {
    posts.div_ceil(PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{BbsRecord, Entry, OPERATOR};
    use crate::model::Push;
    use crate::state::Position;

    fn fold(s: &mut State, offset: i64, r: BbsRecord) {
        s.apply(
            Position {
                offset,
                timestamp: offset * 10,
            },
            &Entry::new(r),
        );
    }

    fn post(id: PostId, author: &str) -> BbsRecord {
        BbsRecord::Post {
            board: "NP".into(),
            id: Some(id),
            author: author.into(),
            title: format!("t{id}"),
            body: "b".into(),
        }
    }

    #[test]
    fn rows_stats_and_pages_follow_the_fold() {
        let mut s = State::new();
        fold(
            &mut s,
            0,
            BbsRecord::Board {
                name: "NP".into(),
                creator: "ta".into(),
            },
        );
        for i in 1..=60 {
            fold(
                &mut s,
                i as i64 * 2,
                post(i, if i % 2 == 0 { "bo" } else { "amy" }),
            );
        }
        fold(
            &mut s,
            200,
            BbsRecord::Push {
                board: "NP".into(),
                post: 3,
                author: "bo".into(),
                push: Push::Up,
                body: "nice".into(),
            },
        );
        fold(
            &mut s,
            201,
            BbsRecord::Delete {
                board: "NP".into(),
                post: 60,
                author: "bo".into(),
            },
        );
        fold(
            &mut s,
            202,
            BbsRecord::Remove {
                board: "NP".into(),
                post: 1,
                comment: None,
                author: "ta".into(),
            },
        );
        let row = index_row(&s, 3).expect("row");
        assert_eq!((row.score, row.offset, row.ordinal), (1, 6, 2));
        assert_eq!(row.state, PostState::Live);
        assert_eq!(index_row(&s, 60).map(|r| r.state), Some(PostState::Deleted));
        assert_eq!(index_row(&s, 1).map(|r| r.state), Some(PostState::Removed));
        let stats = board_stats(&s, "NP");
        assert_eq!((stats.posts, stats.live, stats.last), (60, 59, 59));
        assert_eq!(page_count(stats.posts), 2);
        assert_eq!(
            page_row(&s, "NP", 1),
            Some(PageRow {
                page: 1,
                id: 51,
                offset: 102
            })
        );
        assert_eq!(page_row(&s, "NP", 2), None);
        assert_eq!(
            id_row(&s, 51),
            Some(IdRow {
                id: 51,
                board: "NP".into(),
                offset: 102,
                ordinal: 50
            })
        );
        assert_eq!(id_row(&s, 61), None);

        // Disabling bo hides his posts and his push.
        fold(
            &mut s,
            203,
            BbsRecord::UserStatus {
                name: "bo".into(),
                disabled: true,
                author: OPERATOR.into(),
            },
        );
        assert_eq!(index_row(&s, 3).map(|r| r.score), Some(0));
        assert_eq!(index_row(&s, 2).map(|r| r.state), Some(PostState::Hidden));
        let stats = board_stats(&s, "NP");
        assert_eq!((stats.live, stats.last), (30, 59));
    }
}
