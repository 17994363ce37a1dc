//! W8: login and memory independent of history (issue 13, goal 3). For a small and a big
//! history (fresh server each, seeded by [`crate::login_seed`]), fresh sessions of a user
//! who has read nothing measure, `reps` times each:
//! - a real `bbs-client --line`: start (connect) + `login` until the prompt returns, its
//!   RSS (`VmRSS`) right after login and after `list-board`, and the `list-board` round trip;
//! - the TUI's worker (`bbs::tui::worker`, the Kafka backend, as `bbs-client` runs it):
//!   connect + login until the board list with unread counts arrives, then opening the big
//!   board until its posts arrive (what the TUI's open-board does).
//!
//! The table gives both histories and the ratio big/small of the medians: 1.0 means the
//! cost does not follow history.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bbs::backend::kafka::KafkaBackend;
use bbs::tui::msg::{Reply, Request};
use bbs::tui::worker;

use crate::login_seed::{password, seed, BIG, READER};
use crate::procs::{rss_kib, sibling_binary, Server};
use crate::session::Line;
use crate::stats::{fmt_ms, fmt_rate, median, Samples};
use crate::suite::{bench_config, Table};

/// How long one measured step may take before the run fails (today's client reads the
/// whole history at login).
const PATIENCE: Duration = Duration::from_secs(1800);

/// Options of `bbs-bench login`.
#[derive(clap::Args, Debug)]
pub(crate) struct LoginArgs {
    /// Tiny sizes: checks that the workload works, in seconds (figures meaningless).
    #[arg(long)]
    pub smoke: bool,
    /// Small boards beside the big one (each with a few posts and comments).
    #[arg(long, default_value_t = 100)]
    pub boards: usize,
    /// Posts on the big board for the big history.
    #[arg(long, default_value_t = 1_000_000)]
    pub posts: usize,
    /// Posts on the big board for the small history.
    #[arg(long, default_value_t = 100)]
    pub small: usize,
    /// Fresh sessions measured per history and path.
    #[arg(long, default_value_t = 5)]
    pub reps: usize,
    /// Where data directories go (default: the system temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The server binary (default: next to bbs-bench).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// The client binary (default: next to bbs-bench).
    #[arg(long)]
    pub client_bin: Option<PathBuf>,
}

impl LoginArgs {
    /// Sizes for `--smoke`.
    pub(crate) fn shrink(&mut self) {
        self.boards = self.boards.min(3);
        self.posts = self.posts.min(300);
        self.small = self.small.min(20);
        self.reps = self.reps.min(2);
    }
}

/// What one history measured.
#[derive(Default)]
pub(crate) struct History {
    posts: usize,
    seed_rate: f64,
    line_login: Samples,
    list_board: Samples,
    rss_login_mb: Vec<f64>,
    rss_list_mb: Vec<f64>,
    tui_login: Samples,
    tui_open: Samples,
    /// Rows the big board opened with, and its unread count in the board list.
    open_rows: usize,
    big_unread: usize,
}

/// `bbs-bench login`: both histories, printed as a table.
pub(crate) fn run(mut args: LoginArgs) -> Result<()> {
    if args.smoke {
        args.shrink();
    }
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let scratch = tempfile::Builder::new()
        .prefix("bbs-bench-login-")
        .tempdir_in(&base)
        .with_context(|| format!("creating a scratch directory in {}", base.display()))?;
    let mut t = Table::default();
    measure(&args, scratch.path(), &mut t)?;
    println!("\n{}", t.markdown());
    Ok(())
}

/// Measures the small then the big history and adds W8's rows to `t`.
pub(crate) fn measure(args: &LoginArgs, dir: &Path, t: &mut Table) -> Result<()> {
    let server_bin = sibling_binary("bbs-server", args.server_bin.as_deref())?;
    let client_bin = sibling_binary("bbs-client", args.client_bin.as_deref())?;
    let config = bench_config(dir)?;
    let mut runs = Vec::new();
    for (name, posts) in [("small", args.small), ("big", args.posts)] {
        println!(
            "W8: {} boards + one of {posts} posts, {} fresh sessions per path",
            args.boards, args.reps
        );
        let (server, _) = Server::start(
            &server_bin,
            &dir.join(format!("w8-{name}")),
            &["--config", &config.to_string_lossy()],
        )?;
        let h = history(&server.addr, &client_bin, dir, args, posts)?;
        println!(
            "  seeded at {}; board list shows {} unread on {BIG}; it opened with {} rows",
            fmt_rate(h.seed_rate, "post"),
            h.big_unread,
            h.open_rows
        );
        runs.push(h);
    }
    let (mut small, mut big) = match (runs.pop(), runs.pop()) {
        (Some(big), Some(small)) => (small, big),
        _ => bail!("W8 measured fewer than two histories"),
    };
    rows(args.boards, &mut small, &mut big, t);
    Ok(())
}

fn history(
    addr: &str,
    client_bin: &Path,
    dir: &Path,
    args: &LoginArgs,
    posts: usize,
) -> Result<History> {
    let seeded = seed(addr, args.boards, posts)?;
    let mut h = History {
        posts: seeded.posts,
        seed_rate: seeded.rate,
        ..History::default()
    };
    for rep in 0..args.reps.max(1) {
        line_session(
            addr,
            client_bin,
            &dir.join(format!("home-{posts}-{rep}")),
            &mut h,
        )?;
        tui_session(addr, args.boards, &mut h)?;
    }
    Ok(h)
}

/// One `bbs-client --line`: start + login, RSS, `list-board`, RSS.
fn line_session(addr: &str, bin: &Path, home: &Path, h: &mut History) -> Result<()> {
    std::fs::create_dir_all(home)?;
    let t = Instant::now();
    let mut l = Line::start(bin, addr, home)?;
    l.expect(&format!("login {READER} {}", password(READER)), "Welcome")?;
    h.line_login.push(t.elapsed());
    h.rss_login_mb.push(rss_kib(l.pid()) as f64 / 1024.0);
    let (out, d) = l.cmd("list-board")?;
    if !out.contains(BIG) {
        bail!("list-board did not list {BIG}: {out:?}");
    }
    h.list_board.push(d);
    h.rss_list_mb.push(rss_kib(l.pid()) as f64 / 1024.0);
    Ok(())
}

/// Waits for the first reply `want` accepts; a failure reply ends the wait with an error.
fn wait_for<T>(rx: &Receiver<Reply>, mut want: impl FnMut(Reply) -> Option<T>) -> Result<T> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let reply = rx
            .recv_timeout(left)
            .context("the TUI worker did not answer in time")?;
        if let Reply::Failed(op, msg) = &reply {
            bail!("the TUI worker failed {op:?}: {msg}");
        }
        if let Some(v) = want(reply) {
            return Ok(v);
        }
    }
}

/// One TUI worker: connect + login until the board list, then open the big board.
fn tui_session(addr: &str, boards: usize, h: &mut History) -> Result<()> {
    let (tx, rx) = channel();
    let t = Instant::now();
    let w = worker::spawn(
        Arc::new(KafkaBackend::new(addr)),
        Box::new(move |r| {
            let _ = tx.send(r);
        }),
    );
    w.send(Request::Login {
        user: READER.into(),
        password: password(READER),
    });
    let infos = wait_for(&rx, |r| match r {
        Reply::Boards(b) => Some(b),
        _ => None,
    })?;
    h.tui_login.push(t.elapsed());
    if infos.len() != boards + 1 {
        bail!(
            "the board list has {} boards, not {}",
            infos.len(),
            boards + 1
        );
    }
    h.big_unread = infos.iter().find(|b| b.name == BIG).map_or(0, |b| b.unread);
    let t = Instant::now();
    w.send(Request::OpenBoard(BIG.into()));
    let rows = wait_for(&rx, |r| match r {
        Reply::Posts { board, rows, .. } if board == BIG => Some(rows.len()),
        _ => None,
    })?;
    h.tui_open.push(t.elapsed());
    if rows == 0 && h.posts > 0 {
        bail!("{BIG} opened with no posts");
    }
    h.open_rows = rows;
    drop(w);
    Ok(())
}

/// "p50 / p99" of `s`, and its median in ms for the ratio.
fn p50_p99(s: &mut Samples) -> (String, f64) {
    let p50 = s.ms(0.5);
    (format!("{} / {}", fmt_ms(p50), fmt_ms(s.ms(0.99))), p50)
}

fn ratio(big: f64, small: f64) -> String {
    if small > 0.0 && big.is_finite() {
        format!("big/small {:.2}x", big / small)
    } else {
        "-".into()
    }
}

fn rows(boards: usize, small: &mut History, big: &mut History, t: &mut Table) {
    let sizes = format!("{} → {} posts", small.posts, big.posts);
    t.add(
        format!("W8 seeding {boards} boards + one of {} posts", big.posts),
        fmt_rate(big.seed_rate, "post"),
        "-".into(),
        format!(
            "{} at {} posts",
            fmt_rate(small.seed_rate, "post"),
            small.posts
        ),
    );
    let mut timed = |what: &str, f: fn(&mut History) -> &mut Samples| {
        let (s, s50) = p50_p99(f(small));
        let (b, b50) = p50_p99(f(big));
        t.add(
            format!("W8 {what} p50 / p99 ({sizes})"),
            format!("{s} → {b}"),
            "-".into(),
            ratio(b50, s50),
        );
    };
    timed("line mode: start + login", |h| &mut h.line_login);
    timed("line mode: list-board", |h| &mut h.list_board);
    timed("TUI worker: login + board list with unread", |h| {
        &mut h.tui_login
    });
    timed("TUI worker: open the big board", |h| &mut h.tui_open);
    let rss = |h: &History| {
        format!(
            "{:.1} MB; {:.1} MB",
            median(h.rss_login_mb.clone()),
            median(h.rss_list_mb.clone())
        )
    };
    t.add(
        format!("W8 line-mode client RSS after login; after list-board ({sizes})"),
        format!("{} → {}", rss(small), rss(big)),
        "-".into(),
        ratio(
            median(big.rss_list_mb.clone()),
            median(small.rss_list_mb.clone()),
        ),
    );
    t.add(
        format!("W8 rows the big board opens with ({sizes})"),
        format!("{} → {}", small.open_rows, big.open_rows),
        "-".into(),
        "-".into(),
    );
}
