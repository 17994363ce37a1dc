//! The server side of `bbs-bench class`: what the server costs during the run (CPU from
//! `/proc/<pid>/stat`, summed over every incarnation after restarts; RSS, its peak and at
//! the end), the faults injected with `--faults` (SIGSTOP then SIGCONT, SIGKILL then a
//! restart on the same data directory and port, alternating and spaced evenly over the run)
//! and the clock that says whether a fault is in progress, so failed appends can be
//! attributed to it. Also raises the bench's own file-descriptor limit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use parking_lot::Mutex;
use rustix::process::{kill_process, Pid, Resource, Rlimit, Signal};

use crate::procs::{rss_kib, Server};

/// Raises the soft limit on open files to the hard limit; returns the limit in force.
pub(crate) fn raise_nofile() -> u64 {
    let lim = rustix::process::getrlimit(Resource::Nofile);
    if lim.current != lim.maximum {
        let want = Rlimit {
            current: lim.maximum,
            maximum: lim.maximum,
        };
        if let Err(e) = rustix::process::setrlimit(Resource::Nofile, want) {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
        }
    }
    rustix::process::getrlimit(Resource::Nofile)
        .current
        .unwrap_or(u64::MAX)
}

/// CPU ticks (user + system) of `pid`, from `/proc/<pid>/stat`.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start at field 3 (state);
    // utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// What the monitor measured.
#[derive(Debug, Default, Clone)]
pub(crate) struct Usage {
    /// CPU seconds the server used during the run.
    pub cpu_s: f64,
    /// Peak and last RSS sampled, KiB.
    pub rss_max_kib: u64,
    pub rss_end_kib: u64,
}

/// Samples the server's CPU and RSS every 250 ms until stopped.
pub(crate) struct Monitor {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Usage>,
}

impl Monitor {
    /// Starts sampling `server` (whichever process it is at each sample).
    pub(crate) fn start(server: Arc<Mutex<Server>>) -> Result<Monitor> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("class monitor".into())
            .spawn(move || {
                // pid → (ticks at first sight, ticks last seen); the first process counts
                // from the start of the run, later ones (restarts) from their birth.
                let mut seen: HashMap<u32, (u64, u64)> = HashMap::new();
                let mut usage = Usage::default();
                let mut first = true;
                loop {
                    let pid = server.lock().pid();
                    if pid != 0 {
                        if let Some(t) = cpu_ticks(pid) {
                            let base = if first { t } else { 0 };
                            seen.entry(pid).or_insert((base, t)).1 = t;
                            first = false;
                        }
                        let rss = rss_kib(pid);
                        if rss > 0 {
                            usage.rss_end_kib = rss;
                            usage.rss_max_kib = usage.rss_max_kib.max(rss);
                        }
                    }
                    if flag.load(Ordering::SeqCst) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
                let ticks: u64 = seen.values().map(|(a, b)| b.saturating_sub(*a)).sum();
                usage.cpu_s = ticks as f64 / ticks_per_second();
                usage
            })?;
        Ok(Monitor { stop, thread })
    }

    /// Stops sampling (after one last sample) and returns the figures.
    pub(crate) fn finish(self) -> Usage {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap_or_default()
    }
}

fn ticks_per_second() -> f64 {
    rustix::param::clock_ticks_per_second() as f64
}

/// Whether a fault is in progress, or ended less than `grace` ago (clients notice a
/// restarted server on their next request).
pub(crate) struct FaultClock {
    active: AtomicBool,
    last_end: Mutex<Option<Instant>>,
    grace: Duration,
}

impl FaultClock {
    pub(crate) fn new(grace: Duration) -> FaultClock {
        FaultClock {
            active: AtomicBool::new(false),
            last_end: Mutex::new(None),
            grace,
        }
    }

    pub(crate) fn in_fault(&self) -> bool {
        self.active.load(Ordering::SeqCst)
            || self
                .last_end
                .lock()
                .is_some_and(|t| t.elapsed() < self.grace)
    }

    fn begin(&self) {
        self.active.store(true, Ordering::SeqCst);
    }

    fn end(&self) {
        *self.last_end.lock() = Some(Instant::now());
        self.active.store(false, Ordering::SeqCst);
    }
}

/// The faults of a run, as planned.
#[derive(Debug, Clone)]
pub(crate) struct FaultPlan {
    /// Faults of each kind.
    pub rounds: usize,
    /// How long the server stays stopped (SIGSTOP) and dead (SIGKILL) before it goes on.
    pub stopped: Duration,
    pub down: Duration,
}

/// Counts of faults actually injected.
#[derive(Debug, Default, Clone)]
pub(crate) struct Injected {
    pub stops: usize,
    pub kills: usize,
}

fn signal(pid: u32, sig: Signal) -> Result<()> {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .context("no server process")?;
    kill_process(pid, sig).context("signalling the server")
}

/// Injects `plan`'s faults spaced evenly over `run_for` from now: stop, kill, stop, kill...
pub(crate) fn inject(
    server: &Mutex<Server>,
    clock: &FaultClock,
    plan: &FaultPlan,
    run_for: Duration,
) -> Result<Injected> {
    let t0 = Instant::now();
    let n = plan.rounds * 2;
    let mut done = Injected::default();
    for i in 0..n {
        let at = t0 + run_for.mul_f64((i + 1) as f64 / (n + 1) as f64);
        std::thread::sleep(at.saturating_duration_since(Instant::now()));
        clock.begin();
        if i % 2 == 0 {
            let pid = server.lock().pid();
            tracing::info!(pid, "fault: SIGSTOP");
            signal(pid, Signal::STOP)?;
            std::thread::sleep(plan.stopped);
            signal(pid, Signal::CONT)?;
            done.stops += 1;
        } else {
            tracing::info!("fault: SIGKILL");
            server.lock().kill9();
            std::thread::sleep(plan.down);
            server.lock().restart().context("restarting the server")?;
            done.kills += 1;
        }
        clock.end();
    }
    Ok(done)
}
