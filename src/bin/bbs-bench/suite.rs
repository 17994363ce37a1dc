//! `bbs-bench suite`: every workload of the performance issue in one run, each against a
//! freshly started `bbs-server`, with the peers (kcat, Redis Streams) and the machine's own
//! limits measured in the same run, printed as one table (figure, bbs, peer, limit). The
//! workloads: W1 durable produce, W2 consume, W3 fan-out, W4 idle connections, W5 BBS
//! session (command latency, connections, threads, RSS), W6 start-up empty and after
//! SIGKILL, W7 TUI frame time, W8 login with a small and a big history. `--smoke` shrinks everything to seconds (CI runs it).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::procs::{sibling_binary, Server};
use crate::stats::{fmt_ms, fmt_rate};
use crate::{fanout, fanout_cells, idle, limits, login, redis, restart, session, throughput, tui};

/// Options of `bbs-bench suite`.
#[derive(clap::Args, Debug)]
pub(crate) struct SuiteArgs {
    /// Tiny sizes: checks that every workload works, in seconds (figures meaningless).
    #[arg(long)]
    smoke: bool,
    /// Workloads to run (comma-separated: limits,w1,w3,w4,w5,w6,w7,w8; w1 includes w2).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "limits,w1,w3,w4,w5,w6,w7,w8"
    )]
    only: Vec<String>,
    /// W1/W2 records of 100 bytes.
    #[arg(long, default_value_t = 1_000_000)]
    records: usize,
    /// Repetitions of W1/W2 and of W3's bbs and Redis runs, alternating (the median is
    /// reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// W3 consumer counts.
    #[arg(long, value_delimiter = ',', default_value = "50,200,500,1000")]
    fanout: Vec<usize>,
    /// W3 messages per second.
    #[arg(long, default_value_t = 100)]
    rate: u32,
    /// W3 seconds of producing per consumer count.
    #[arg(long, default_value_t = 10)]
    fanout_seconds: u64,
    /// W3 consumers per bench process (default: as many as its open-file limit fits).
    #[arg(long)]
    fanout_per_process: Option<usize>,
    /// W4 idle connections.
    #[arg(long, default_value_t = 10_000)]
    idle: usize,
    /// W5 rounds of (create-post, list-post, list-board).
    #[arg(long, default_value_t = 50)]
    commands: usize,
    /// W6 megabytes written before the SIGKILL.
    #[arg(long, default_value_t = 1000)]
    restart_mb: usize,
    /// W7 posts on the board and frames drawn.
    #[arg(long, default_value_t = 100_000)]
    tui_posts: usize,
    #[arg(long, default_value_t = 2000)]
    tui_frames: usize,
    /// W8 small boards, posts on the big board, and fresh sessions per history.
    #[arg(long, default_value_t = 100)]
    w8_boards: usize,
    #[arg(long, default_value_t = 1_000_000)]
    w8_posts: usize,
    #[arg(long, default_value_t = 5)]
    w8_reps: usize,
    /// Where data directories go (default: the system temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The server binary (default: next to bbs-bench).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// The client binary (default: next to bbs-bench).
    #[arg(long)]
    client_bin: Option<PathBuf>,
    /// Also write the table (Markdown) to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

impl SuiteArgs {
    fn shrink(&mut self) {
        self.records = self.records.min(20_000);
        self.runs = 1;
        self.fanout = vec![5];
        self.fanout_seconds = self.fanout_seconds.min(2);
        // Three processes for five consumers: the helper processes get run too.
        self.fanout_per_process = Some(2);
        self.rate = self.rate.min(50);
        self.idle = self.idle.min(100);
        self.commands = self.commands.min(3);
        self.restart_mb = self.restart_mb.min(5);
        self.tui_posts = self.tui_posts.min(500);
        self.tui_frames = self.tui_frames.min(50);
        self.w8_boards = self.w8_boards.min(3);
        self.w8_posts = self.w8_posts.min(300);
        self.w8_reps = self.w8_reps.min(2);
    }

    fn wants(&self, w: &str) -> bool {
        self.only.iter().any(|o| o.eq_ignore_ascii_case(w))
    }
}

/// One line of the table.
pub(crate) struct Row {
    what: String,
    bbs: String,
    peer: String,
    limit: String,
}

/// The table a run prints (and writes with `--out`).
#[derive(Default)]
pub(crate) struct Table(Vec<Row>);

impl Table {
    /// Adds a row and prints it at once.
    pub(crate) fn add(
        &mut self,
        what: impl Into<String>,
        bbs: String,
        peer: String,
        limit: String,
    ) {
        let row = Row {
            what: what.into(),
            bbs,
            peer,
            limit,
        };
        println!(
            "  {} | {} | {} | {}",
            row.what, row.bbs, row.peer, row.limit
        );
        self.0.push(row);
    }

    /// The table in Markdown.
    pub(crate) fn markdown(&self) -> String {
        let mut s = String::from("| figure | bbs | peer | machine limit |\n|---|---|---|---|\n");
        for r in &self.0 {
            let _ = writeln!(s, "| {} | {} | {} | {} |", r.what, r.bbs, r.peer, r.limit);
        }
        s
    }
}

/// A server config for benchmarking on loopback: room for 20,000 connections from 127.0.0.1.
pub(crate) fn bench_config(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("bench-server.toml");
    std::fs::write(
        &path,
        "[broker]\nmax_connections = 20000\n\n\
         [broker.max_connections_per_ip_overrides]\n\"127.0.0.1\" = 20000\n",
    )?;
    Ok(path)
}

/// Runs the suite and prints the table.
pub(crate) fn run(mut args: SuiteArgs) -> Result<()> {
    if args.smoke {
        args.shrink();
    }
    let server_bin = sibling_binary("bbs-server", args.server_bin.as_deref())?;
    let base = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir(),
    };
    let scratch = tempfile::Builder::new()
        .prefix("bbs-bench-")
        .tempdir_in(&base)
        .with_context(|| format!("creating a scratch directory in {}", base.display()))?;
    let dir = scratch.path();
    let config = bench_config(dir)?;
    let config_arg = config.to_string_lossy().into_owned();
    let fresh = |name: &str| -> Result<Server> {
        let data = dir.join(name);
        Ok(Server::start(&server_bin, &data, &["--config", &config_arg])?.0)
    };
    let mut t = Table::default();
    let lim = if args.wants("limits") {
        println!("limits: loopback TCP, sequential write, fsync");
        let l = limits::measure(dir, if args.smoke { 0.02 } else { 1.0 })?;
        t.add(
            "machine: loopback TCP round trip p50 / p99",
            format!(
                "{} / {}",
                fmt_ms(l.tcp_rtt_p50_ms),
                fmt_ms(l.tcp_rtt_p99_ms)
            ),
            "-".into(),
            format!("{:.0} MB/s one way", l.tcp_mb_s),
        );
        t.add(
            "machine: sequential write + fsync; fdatasync of 4 KiB p50",
            format!("{:.0} MB/s; {}", l.write_mb_s, fmt_ms(l.fsync_p50_ms)),
            "-".into(),
            "-".into(),
        );
        Some(l)
    } else {
        None
    };
    if args.wants("w1") {
        println!(
            "W1/W2: {} records of 100 bytes, acks=all, median of {}",
            args.records, args.runs
        );
        let s = fresh("w1")?;
        let w = throughput::measure(&s.addr, args.records, args.runs, dir)?;
        let disk = lim.as_ref().map_or("-".into(), |l| {
            format!(
                "{} of 100 B at the disk's write speed",
                fmt_rate(l.write_mb_s * 1e6 / 100.0, "rec")
            )
        });
        t.add(
            "W1 durable produce (ours; peer kcat)",
            fmt_rate(w.ours_produce, "rec"),
            w.kcat_produce.map_or("kcat not installed".into(), |k| {
                format!("{} ({:.2}x)", fmt_rate(k, "rec"), w.ours_produce / k)
            }),
            disk,
        );
        t.add(
            "W2 consume (ours; peer kcat)",
            fmt_rate(w.ours_consume, "rec"),
            w.kcat_consume.map_or("kcat not installed".into(), |k| {
                format!("{} ({:.2}x)", fmt_rate(k, "rec"), w.ours_consume / k)
            }),
            lim.as_ref()
                .map_or("-".into(), |l| format!("{:.0} MB/s loopback", l.tcp_mb_s)),
        );
    }
    let redis = if args.wants("w3") || args.wants("w4") {
        let r = redis::Redis::start()?;
        if r.is_none() {
            println!("redis-server is not installed: the Redis columns are skipped");
        }
        r
    } else {
        None
    };
    if args.wants("w3") {
        for &n in &args.fanout {
            println!(
                "W3: fan-out to {n} consumers at {}/s for {} s",
                args.rate, args.fanout_seconds
            );
            // Ours and the peer alternate, `runs` times each: one 10-second p99 moves by
            // half on this machine from run to run (Redis's too), so the cells are medians.
            let (mut ours, mut peer) = (Vec::new(), Vec::new());
            for run in 0..args.runs.max(1) {
                let s = fresh(&format!("w3-{n}-{run}"))?;
                let mut f = fanout::kafka(
                    &s.addr,
                    "bench-fanout",
                    n,
                    args.rate,
                    args.fanout_seconds,
                    args.fanout_per_process,
                )?;
                println!("  bbs   {}", f.line());
                drop(s);
                ours.push(f);
                if let Some(r) = &redis {
                    let mut p = crate::redis::fanout(&r.addr, n, args.rate, args.fanout_seconds)?;
                    println!("  redis {}", p.line());
                    peer.push(p);
                }
            }
            let peer_split = if redis.is_some() {
                format!("Redis Streams {}", fanout_cells::split_cell(&peer))
            } else {
                "-".into()
            };
            let peer = if redis.is_some() {
                fanout_cells::peer_cell(&mut peer, args.rate)
            } else {
                "redis-server not installed".into()
            };
            t.add(
                format!("W3 fan-out N={n}, {}/s: p50 / p99 (complete)", args.rate),
                fanout_cells::cell(&mut ours, args.rate),
                peer,
                lim.as_ref().map_or("-".into(), |l| {
                    format!("TCP RTT p99 {}", fmt_ms(l.tcp_rtt_p99_ms))
                }),
            );
            // Where the latency goes: the produce path (to the first consumer) and the
            // fan-out itself (from the first consumer to the last).
            t.add(
                format!("W3 fan-out N={n}: to the first consumer p50 / p99, then to the last"),
                fanout_cells::split_cell(&ours),
                peer_split,
                "-".into(),
            );
            // The same shape with bare consumers, as the Redis peer's are: the broker's
            // share of the latency without our client's.
            let s = fresh(&format!("w3-raw-{n}"))?;
            let mut bare =
                crate::rawfan::run(&s.addr, "bench-fanout", n, args.rate, args.fanout_seconds)?;
            println!("  bare  {}", bare.line());
            drop(s);
            t.add(
                format!("W3 fan-out N={n}, bare Fetch consumers: p50 / p99 (complete)"),
                fanout_cells::cell(std::slice::from_mut(&mut bare), args.rate),
                "-".into(),
                "-".into(),
            );
        }
    }
    if args.wants("w4") {
        println!("W4: {} idle connections", args.idle);
        let s = fresh("w4")?;
        let ours = idle::kafka(&s.addr, s.pid(), args.idle)?;
        drop(s);
        let peer = match &redis {
            Some(r) => {
                let p = idle::redis(&r.addr, r.pid(), args.idle)?;
                format!("Redis {:.1} KB", p.kb_per_connection)
            }
            None => "redis-server not installed".into(),
        };
        t.add(
            format!(
                "W4 server memory per idle connection ({})",
                ours.connections
            ),
            format!("{:.1} KB", ours.kb_per_connection),
            peer,
            "-".into(),
        );
    }
    drop(redis);
    if args.wants("w5") {
        println!("W5: line-mode session, {} rounds", args.commands);
        let client_bin = sibling_binary("bbs-client", args.client_bin.as_deref())?;
        let s = fresh("w5")?;
        let mut c = session::measure(&client_bin, &s.addr, args.commands, dir)?;
        let fsync = lim.as_ref().map_or("-".into(), |l| {
            format!("fdatasync p50 {}", fmt_ms(l.fsync_p50_ms))
        });
        t.add(
            "W5 BBS write (create-post) p50 / p99; first write; login",
            format!(
                "{} / {}; {}; {}",
                fmt_ms(c.write.ms(0.5)),
                fmt_ms(c.write.ms(0.99)),
                fmt_ms(c.first_write_ms),
                fmt_ms(c.login_ms)
            ),
            "-".into(),
            fsync,
        );
        t.add(
            "W5 BBS read (list-post, list-board) p50 / p99",
            format!("{} / {}", fmt_ms(c.read.ms(0.5)), fmt_ms(c.read.ms(0.99))),
            "-".into(),
            lim.as_ref().map_or("-".into(), |l| {
                format!("TCP RTT p50 {}", fmt_ms(l.tcp_rtt_p50_ms))
            }),
        );
        t.add(
            "W5 logged-in line-mode session: connections, threads, RSS",
            format!(
                "{}, {}, {:.1} MB",
                c.connections,
                c.threads,
                c.rss_kib as f64 / 1024.0
            ),
            "-".into(),
            "-".into(),
        );
    }
    if args.wants("w6") {
        println!(
            "W6: start empty, write {} MB, SIGKILL, start again",
            args.restart_mb
        );
        let r = restart::measure(&server_bin, &dir.join("w6"), args.restart_mb)?;
        t.add(
            format!("W6 start: empty; after SIGKILL with {} MB", r.megabytes),
            format!("{}; {}", fmt_ms(r.empty_ms), fmt_ms(r.after_kill_ms)),
            "-".into(),
            format!(
                "{} records acknowledged, log ends at {} after recovery",
                r.acknowledged + 1,
                r.recovered
            ),
        );
    }
    if args.wants("w7") {
        println!("W7: TUI frames, board of {} posts", args.tui_posts);
        let mut f = tui::measure(args.tui_posts, args.tui_frames)?;
        t.add(
            format!(
                "W7 TUI frame 120x40, board of {} posts: p50 / p99",
                args.tui_posts
            ),
            format!("{} / {}", fmt_ms(f.ms(0.5)), fmt_ms(f.ms(0.99))),
            "-".into(),
            "-".into(),
        );
    }
    if args.wants("w8") {
        let w8 = login::LoginArgs {
            smoke: args.smoke,
            boards: args.w8_boards,
            posts: args.w8_posts,
            small: if args.smoke { 20 } else { 100 },
            reps: args.w8_reps,
            dir: None,
            server_bin: args.server_bin.clone(),
            client_bin: args.client_bin.clone(),
        };
        login::measure(&w8, dir, &mut t)?;
    }
    let md = t.markdown();
    println!("\n{md}");
    if let Some(out) = &args.out {
        std::fs::write(out, &md).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}
