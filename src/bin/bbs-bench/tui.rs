//! W7: TUI frame time. The real app (`bbs::tui`) on an in-memory BBS with a board of
//! `posts` posts, drawn on a 120x40 test backend while paging through the board; p50/p99 of
//! the draw calls (the terminal's own write time is not included).

use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Result};
use bbs::backend::memory::MemoryBackend;
use bbs::backend::Backend;
use bbs::session::Session;
use bbs::tui::testing::Harness;

use crate::stats::Samples;

/// Draw times while paging through a board.
pub(crate) fn measure(posts: usize, frames: usize) -> Result<Samples> {
    let b = MemoryBackend::new();
    for user in ["writer", "reader"] {
        let mut s = Session::new(b.connect()?);
        s.register(user, "x@y", user)?;
    }
    let mut writer = Session::new(b.connect()?);
    writer.login("writer", "writer")?;
    writer.create_board("big")?;
    for i in 0..posts {
        writer.create_post("big", &format!("第 {i} 篇 post title number {i}"), "body")?;
    }
    let mut h = Harness::new(Arc::new(b.clone()), 120, 40);
    h.type_text("reader");
    h.key("Tab");
    h.type_text("reader");
    h.key("Enter");
    h.key("Enter"); // open "big"
    if h.app.posts.len() != posts {
        bail!(
            "the board opened with {} of {posts} posts",
            h.app.posts.len()
        );
    }
    h.key("g");
    let mut s = Samples::with_capacity(frames);
    for i in 0..frames {
        h.press(if (i / 250) % 2 == 0 { "PageDown" } else { "k" });
        let t = Instant::now();
        h.draw();
        s.push(t.elapsed());
    }
    Ok(s)
}
