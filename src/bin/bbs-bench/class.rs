//! `bbs-bench class`: a day of class in a box. Starts a fresh `bbs-server`, logs in
//! `--sessions` simulated students (real [`bbs::session::Session`]s over the Kafka backend,
//! each with its own feed), lets them browse, post, comment, mail and subscribe at
//! classroom rates for `--minutes`, optionally killing and stopping the server meanwhile
//! (`--faults`), then reads everything back and prints one table: sessions, duration,
//! actions, appends acknowledged and failed, post-to-screen latency, server CPU and RSS,
//! and the verdict (every acknowledged write present exactly once). The parts:
//! [`crate::class_session`] (a student), [`crate::class_driver`] (the scheduler),
//! [`crate::class_faults`] (server usage and faults), [`crate::class_verify`] (read-back).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bbs::backend::kafka::KafkaBackend;
use bbs::backend::Backend;
use bbs::session::Session;
use parking_lot::Mutex;

use crate::class_driver::{drive, Behaviour, DriverReport};
use crate::class_faults::{inject, raise_nofile, FaultClock, FaultPlan, Injected, Monitor};
use crate::class_session::{password, Class, Ledger};
use crate::class_verify::verify;
use crate::procs::{sibling_binary, Server};
use crate::stats::{fmt_ms, Samples};

/// Options of `bbs-bench class`.
#[derive(clap::Args, Debug)]
pub(crate) struct ClassArgs {
    /// Simulated logged-in students.
    #[arg(long, default_value_t = 200)]
    sessions: usize,
    /// Minutes of class (after everyone has logged in).
    #[arg(long, default_value_t = 3.0)]
    minutes: f64,
    /// Minutes the login phase may take at most: students not logged in by then stay out
    /// (the table says how many got in).
    #[arg(long, default_value_t = 10.0)]
    join_minutes: f64,
    /// Boards of the class.
    #[arg(long, default_value_t = 4)]
    boards: usize,
    /// Seconds a student thinks between actions: at least this...
    #[arg(long, default_value_t = 10.0)]
    think_min: f64,
    /// ...and at most this (uniformly distributed).
    #[arg(long, default_value_t = 60.0)]
    think_max: f64,
    /// Weights of the actions: browse, post, comment, mail, subscribe.
    #[arg(long, value_delimiter = ',', default_value = "60,10,15,10,5")]
    mix: Vec<u32>,
    /// Driver threads taking the students' turns (and logging them in at the start).
    #[arg(long, default_value_t = 4)]
    drivers: usize,
    /// Kill (SIGKILL, then restart) and stop (SIGSTOP, then SIGCONT) the server during the run.
    #[arg(long)]
    faults: bool,
    /// Faults of each kind with `--faults`, spaced evenly over the run.
    #[arg(long, default_value_t = 2)]
    fault_rounds: usize,
    /// Seconds the server stays stopped, and dead before its restart.
    #[arg(long, default_value_t = 5.0)]
    fault_secs: f64,
    /// A few seconds, 5 students, one fault of each kind (CI's check that it works).
    #[arg(long)]
    smoke: bool,
    /// Where the data directory goes (default: the system temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The server binary (default: next to bbs-bench).
    #[arg(long)]
    server_bin: Option<PathBuf>,
}

impl ClassArgs {
    fn shrink(&mut self) {
        self.sessions = self.sessions.min(5);
        self.minutes = self.minutes.min(0.2);
        self.boards = self.boards.min(2);
        self.think_min = self.think_min.min(0.2);
        self.think_max = self.think_max.min(1.0);
        self.drivers = self.drivers.min(2);
        self.faults = true;
        self.fault_rounds = 1;
        self.fault_secs = self.fault_secs.min(1.0);
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// Runs the class and prints the table; fails when the verdict is bad.
pub(crate) fn run(mut args: ClassArgs) -> Result<()> {
    if args.smoke {
        args.shrink();
    }
    if args.sessions < 2 || args.boards == 0 || args.mix.len() != 5 {
        bail!("need at least 2 sessions, 1 board and 5 weights in --mix");
    }
    let nofile = raise_nofile();
    let scratch = match &args.dir {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    let server_bin = sibling_binary("bbs-server", args.server_bin.as_deref())?;
    let config = crate::suite::bench_config(scratch.path())?;
    let config = config.to_string_lossy().into_owned();
    let (server, _) = Server::start(
        &server_bin,
        &scratch.path().join("data"),
        &["--config", &config],
    )?;
    let addr = server.addr.clone();
    let server = Arc::new(Mutex::new(server));
    let backend: Arc<dyn Backend> = Arc::new(KafkaBackend::new(&addr));
    let run_id = std::process::id().to_string();
    let boards: Vec<String> = (0..args.boards)
        .map(|i| format!("class{run_id}b{i}"))
        .collect();
    make_boards(backend.as_ref(), &run_id, &boards)?;

    let clock = Arc::new(FaultClock::new(Duration::from_secs(10)));
    let in_fault = {
        let c = clock.clone();
        Arc::new(move || c.in_fault())
    };
    let class = Class {
        run: run_id,
        boards: boards.clone(),
        students: args.sessions,
        backend: backend.clone(),
        ledger: Arc::new(Ledger::default()),
        in_fault,
        present: (0..args.sessions).map(|_| AtomicBool::new(false)).collect(),
    };
    let mut weights = [0u32; 5];
    weights.copy_from_slice(&args.mix);
    let behaviour = Behaviour {
        think_min: secs(args.think_min),
        think_max: secs(args.think_max.max(args.think_min)),
        weights,
    };
    let run_for = secs(args.minutes * 60.0);
    let drivers = args.drivers.clamp(1, args.sessions);
    let start = Barrier::new(drivers + 1);
    let plan = FaultPlan {
        rounds: if args.faults { args.fault_rounds } else { 0 },
        stopped: secs(args.fault_secs),
        down: secs(args.fault_secs),
    };
    let t_setup = Instant::now();
    let join_by = t_setup + secs(args.join_minutes * 60.0);
    eprintln!(
        "class: logging in {} students ({drivers} drivers, open-file limit {nofile})",
        args.sessions
    );
    let (reports, injected, usage, setup, ran, cost) = std::thread::scope(|sc| -> Result<_> {
        let handles: Vec<_> = (0..drivers)
            .map(|me| {
                let (class, behaviour, start) = (&class, &behaviour, &start);
                sc.spawn(move || drive(class, behaviour, me, drivers, start, join_by, run_for))
            })
            .collect();
        start.wait();
        let setup = t_setup.elapsed();
        eprintln!(
            "class: {:.1} s to log in; class runs for {run_for:?}",
            setup.as_secs_f64()
        );
        let t_run = Instant::now();
        let me = std::process::id();
        let cost = (
            crate::procs::threads(me),
            crate::procs::tcp_connections(me),
            crate::procs::rss_kib(me),
        );
        let monitor = Monitor::start(server.clone())?;
        let injected = inject(&server, &clock, &plan, run_for);
        let mut reports = Vec::new();
        for h in handles {
            match h.join() {
                Ok(r) => reports.push(r?),
                Err(_) => bail!("a driver thread panicked"),
            }
        }
        let ran = t_run.elapsed();
        Ok((reports, injected?, monitor.finish(), setup, ran, cost))
    })?;
    crate::procs::wait_answering(&addr, Duration::from_secs(60))?;
    eprintln!("class: reading everything back");
    let t_verify = Instant::now();
    let verdict = verify(backend, &boards, &class.ledger, drivers)?;
    let verify_took = t_verify.elapsed();

    let joined: usize = reports.iter().map(|r| r.joined).sum();
    let skipped: usize = reports.iter().map(|r| r.join_skipped).sum();
    let c = class.ledger.counts.lock().clone();
    let (mut from_send, mut from_ack) = latencies(&class.ledger);
    let cpu_pct = usage.cpu_s / ran.as_secs_f64() * 100.0;
    let rows = [
        (
            "sessions",
            format!(
                "{joined} of {} logged in ({:.1} s to log in; {skipped} left out by --join-minutes)",
                args.sessions,
                setup.as_secs_f64()
            ),
        ),
        (
            "bench process at the start",
            format!(
                "{} threads, {} TCP connections, {:.1} MB RSS",
                cost.0,
                cost.1,
                cost.2 as f64 / 1024.0
            ),
        ),
        (
            "duration",
            format!(
                "{:.1} s of class, read-back {:.1} s",
                ran.as_secs_f64(),
                verify_took.as_secs_f64()
            ),
        ),
        (
            "actions",
            format!(
                "{} ({} browse; {} refused by the command's checks)",
                c.actions, c.browse, c.refused
            ),
        ),
        (
            "appends ok / failed",
            format!(
                "{} / {} ({} during faults)",
                c.appends_ok, c.appends_failed, c.failed_in_faults
            ),
        ),
        (
            "reconnects",
            format!(
                "{} (failed attempts {})",
                c.reconnects, c.reconnect_failures
            ),
        ),
        (
            "post-to-screen p50 / p99 (from send)",
            format!(
                "{} / {} ({} deliveries)",
                fmt_ms(from_send.ms(0.5)),
                fmt_ms(from_send.ms(0.99)),
                from_send.len()
            ),
        ),
        (
            "post-to-screen p50 / p99 (from ack)",
            format!(
                "{} / {}",
                fmt_ms(from_ack.ms(0.5)),
                fmt_ms(from_ack.ms(0.99))
            ),
        ),
        (
            "server CPU",
            format!("{cpu_pct:.1} % of one core ({:.1} s)", usage.cpu_s),
        ),
        (
            "server RSS",
            format!(
                "{:.1} MB peak, {:.1} MB at the end",
                usage.rss_max_kib as f64 / 1024.0,
                usage.rss_end_kib as f64 / 1024.0
            ),
        ),
        ("faults", faults_line(&injected, &plan)),
        ("verdict", verdict.line()),
    ];
    print_table(&rows);
    if let Some(e) = reports
        .iter()
        .find_map(|r: &DriverReport| r.first_error.clone())
    {
        eprintln!("class: first login failure: {e}");
    }
    if joined == 0 || !verdict.good() {
        bail!("class run failed: {}", verdict.line());
    }
    Ok(())
}

/// The teacher registers and creates the boards.
fn make_boards(backend: &dyn Backend, run: &str, boards: &[String]) -> Result<()> {
    let teacher = format!("t{run}");
    let pw = password(&teacher);
    let mut s = Session::new(backend.connect().context("teacher link")?);
    s.register(&teacher, &format!("{teacher}@school.example"), &pw)?;
    s.login(&teacher, &pw)?;
    for b in boards {
        s.create_board(b)
            .with_context(|| format!("creating board {b}"))?;
    }
    s.close();
    Ok(())
}

/// Post-to-screen latencies of every delivery of an acknowledged post to another student:
/// from the post's send, and from its acknowledgement (0 when it arrived before the poster
/// got the answer).
fn latencies(ledger: &Ledger) -> (Samples, Samples) {
    let posted = ledger.posted.lock();
    let arrivals = ledger.arrivals.lock();
    let (mut send, mut ack) = (Samples::default(), Samples::default());
    for (id, (t0, t1)) in posted.iter() {
        for a in arrivals.get(id).into_iter().flatten() {
            send.push(a.saturating_duration_since(*t0));
            ack.push(a.saturating_duration_since(*t1));
        }
    }
    (send, ack)
}

fn faults_line(injected: &Injected, plan: &FaultPlan) -> String {
    if plan.rounds == 0 {
        return "none".into();
    }
    format!(
        "{} SIGSTOP ({:?} each), {} SIGKILL + restart ({:?} down)",
        injected.stops, plan.stopped, injected.kills, plan.down
    )
}

fn print_table(rows: &[(&str, String)]) {
    println!("| class | figure |\n|---|---|");
    for (what, v) in rows {
        println!("| {what} | {v} |");
    }
}
