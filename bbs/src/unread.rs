//! The unread rule, in one place: a post is unread for a user unless they wrote it or
//! their read mark for its board covers it. The board list's counts (worker), the post
//! list's markers and jumps, and the count bump when a post arrives all ask this, so they
//! can never disagree.

use crate::model::PostId;
use crate::prefs::ReadMark;

/// Whether post `id` by `author` is unread for `me`, whose read mark on the board is
/// `mark` (`None`: nothing read there yet). Your own posts are always read.
pub fn is_unread(me: &str, author: &str, id: PostId, mark: Option<&ReadMark>) -> bool {
    author != me && !mark.is_some_and(|m| m.is_read(id))
}

/// How many of `posts` (author, id) are unread for `me` under `mark`.
pub fn count<'a>(
    me: &str,
    mark: Option<&ReadMark>,
    posts: impl IntoIterator<Item = (&'a str, PostId)>,
) -> usize {
    posts
        .into_iter()
        .filter(|&(author, id)| is_unread(me, author, id, mark))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(upto: PostId, extra: &[PostId]) -> ReadMark {
        ReadMark {
            upto,
            extra: extra.iter().copied().collect(),
        }
    }

    #[test]
    fn own_posts_are_read_and_the_mark_covers_the_rest() {
        let m = mark(5, &[8]);
        // Someone else's posts: read up to the mark and the out-of-order extras.
        assert!(!is_unread("me", "amy", 3, Some(&m)));
        assert!(!is_unread("me", "amy", 5, Some(&m)));
        assert!(is_unread("me", "amy", 6, Some(&m)));
        assert!(!is_unread("me", "amy", 8, Some(&m)));
        assert!(is_unread("me", "amy", 9, Some(&m)));
        // No mark at all: everything of others is unread.
        assert!(is_unread("me", "amy", 1, None));
        // Your own posts never count, mark or not.
        assert!(!is_unread("me", "me", 9, Some(&m)));
        assert!(!is_unread("me", "me", 1, None));
    }

    #[test]
    fn count_applies_the_rule_to_each_post() {
        let posts = [("amy", 1), ("me", 2), ("bob", 3), ("amy", 4), ("bob", 6)];
        assert_eq!(count("me", None, posts), 4);
        assert_eq!(count("me", Some(&mark(3, &[6])), posts), 1);
        assert_eq!(count("amy", Some(&mark(0, &[])), posts), 3);
    }
}
