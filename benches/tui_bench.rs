//! TUI benchmark (run with `cargo bench --bench tui_bench`): frame render time on a
//! 120x40 TestBackend for a board of 100,000 posts and a post with 10,000 comments (p50 and
//! p99 over frames that scroll), client memory with 100,000 posts loaded (RSS from
//! /proc/self/statm), and the time from a post made by another client to its appearance in
//! the app state: in process, and over a real `bbs-server` (release binary, Kafka backend
//! on both sides). Goals: p99 render < 2 ms, < 100 MB, < 20 ms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bbs::backend::memory::MemoryBackend;
use bbs::backend::Backend;
use bbs::session::Session;
use bbs::tui::msg::Reply;
use bbs::tui::testing::Harness;

const POSTS: usize = 100_000;
const COMMENTS: usize = 10_000;
const FRAMES: usize = 2_000;

fn rss_mb() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / 1_048_576.0
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>, goal: Duration) {
    samples.sort();
    let (p50, p99) = (pct(&samples, 0.50), pct(&samples, 0.99));
    let ok = if p99 < goal { "ok" } else { "OVER GOAL" };
    println!(
        "{name}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms over {} samples (goal p99 < {} ms: {ok})",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        samples.len(),
        goal.as_millis()
    );
}

fn session(b: &MemoryBackend, user: &str) -> Session {
    let mut s = Session::new(b.connect().expect("connect"));
    s.register(user, "x@y", user).expect("register");
    s.login(user, user).expect("login");
    s
}

fn main() {
    let b = MemoryBackend::new();
    let mut writer = session(&b, "writer");
    let _reader = session(&b, "reader");
    writer.create_board("big").expect("board");
    writer.create_board("talk").expect("board");
    let t = Instant::now();
    for i in 0..POSTS {
        writer
            .create_post("big", &format!("第 {i} 篇 post title number {i}"), "body")
            .expect("post");
    }
    let hot = writer
        .create_post("talk", "a hot post", "with many comments")
        .expect("post");
    for i in 0..COMMENTS {
        writer
            .comment(&hot.to_string(), &format!("comment {i} 留言"))
            .expect("comment");
    }
    println!(
        "setup: {POSTS} posts + {COMMENTS} comments in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let rss_before = rss_mb();
    let mut h = Harness::new(Arc::new(b.clone()), 120, 40);
    h.type_text("reader");
    h.key("Tab");
    h.type_text("reader");
    h.key("Enter");
    let t = Instant::now();
    h.key("Enter"); // open "big"
    let load = t.elapsed();
    assert_eq!(h.app.posts.len(), POSTS, "board loaded");
    let rss_after = rss_mb();
    println!(
        "open a {POSTS}-post board: {:.1} ms; RSS {:.1} MB total, {:.1} MB before the client (server-side store), client share {:.1} MB (goal < 100 MB: {})",
        load.as_secs_f64() * 1e3,
        rss_after,
        rss_before,
        rss_after - rss_before,
        if rss_after - rss_before < 100.0 { "ok" } else { "OVER GOAL" }
    );

    // Render frames while paging through the board (both directions).
    let mut samples = Vec::with_capacity(FRAMES);
    h.key("g");
    for i in 0..FRAMES {
        let k = if (i / 500) % 2 == 0 { "PageDown" } else { "k" };
        h.press(k);
        let t = Instant::now();
        h.draw();
        samples.push(t.elapsed());
    }
    report(
        "render 120x40, board of 100,000 posts",
        samples,
        Duration::from_millis(2),
    );

    // A post with 10,000 comments.
    h.keys(&["q", "j", "Enter", "Enter"]);
    let lines = h.app.reader.lines().len();
    assert!(lines > COMMENTS, "post laid out: {lines} lines");
    let mut samples = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        let k = if (i / 500) % 2 == 0 { "PageDown" } else { "k" };
        h.press(k);
        let t = Instant::now();
        h.draw();
        samples.push(t.elapsed());
    }
    report(
        "render 120x40, post with 10,000 comments",
        samples,
        Duration::from_millis(2),
    );
    h.keys(&["q", "q"]);

    // Latency: another thread posts; time until the app state has the row.
    h.keys(&["k", "Enter"]); // back on "big"
    let mut samples = Vec::new();
    for i in 0..300 {
        let b2 = b.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let poster = std::thread::spawn(move || {
            let mut s = Session::new(b2.connect().expect("connect"));
            s.login("writer", "writer").expect("login");
            let t0 = Instant::now();
            let id = s
                .create_post("big", &format!("live {i}"), "x")
                .expect("post");
            let _ = tx.send((t0, id));
        });
        let mut seen = None;
        let came = h.wait_for(Duration::from_secs(5), |r| {
            if let Reply::NewPost { row, .. } = r {
                seen = Some((Instant::now(), row.id));
                true
            } else {
                false
            }
        });
        poster.join().expect("poster");
        let (t0, id) = rx.recv().expect("posted");
        assert!(came, "post {id} never arrived");
        let (t1, got) = seen.expect("seen");
        assert_eq!(got, id);
        assert!(h.app.posts.position(id).is_some());
        samples.push(t1.saturating_duration_since(t0));
    }
    report(
        "post by another thread → in app state",
        samples,
        Duration::from_millis(20),
    );

    drop(h);
    over_kafka();
}

/// The same latency through a real server: a writer client posts, the TUI client (its own
/// Kafka feed) shows the row.
fn over_kafka() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = std::env::temp_dir().join(format!("bbs-tui-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut server = Command::new(env!("CARGO_BIN_EXE_bbs-server"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .env("RUST_LOG", "warn,bbs_server=info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start bbs-server");
    let stderr = server.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listen=").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("server address");
    let backend = Arc::new(bbs::backend::kafka::KafkaBackend::new(&addr));
    for user in ["reader", "writer"] {
        let mut s = Session::new(backend.connect().expect("connect"));
        s.register(user, "x@y", user).expect("register");
    }
    let mut writer = Session::new(backend.connect().expect("connect"));
    writer.login("writer", "writer").expect("login");
    writer.create_board("bench").expect("board");
    writer.create_post("bench", "first", "x").expect("post");
    let mut h = Harness::new(backend.clone(), 120, 40);
    h.type_text("reader");
    h.key("Tab");
    h.type_text("reader");
    h.key("Enter");
    h.settle();
    h.keys(&["G", "Enter"]);
    h.settle();
    let mut samples = Vec::new();
    for i in 0..100 {
        let t0 = Instant::now();
        let id = writer
            .create_post("bench", &format!("live {i}"), "x")
            .expect("post");
        let mut seen = None;
        let came = h.wait_for(Duration::from_secs(5), |r| {
            if let Reply::NewPost { row, .. } = r {
                seen = Some((Instant::now(), row.id));
                row.id == id
            } else {
                false
            }
        });
        assert!(came, "post {id} never reached the TUI client");
        let (t1, _) = seen.expect("seen");
        samples.push(t1.saturating_duration_since(t0));
    }
    report(
        "post by another client over bbs-server → in app state",
        samples,
        Duration::from_millis(20),
    );
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
