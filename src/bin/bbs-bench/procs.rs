//! Child processes of a suite run: a fresh `bbs-server` (started, SIGKILLed, restarted on
//! the same data directory) and what `/proc` says about any process (RSS, threads,
//! established TCP connections).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A binary of this workspace: next to `bbs-bench` itself, unless `explicit` names one.
pub(crate) fn sibling_binary(name: &str, explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let me = std::env::current_exe().context("locating bbs-bench")?;
    let p = me.with_file_name(name);
    if p.exists() {
        Ok(p)
    } else {
        bail!(
            "{} not found next to bbs-bench; build it (cargo build --release)",
            p.display()
        )
    }
}

/// A `bbs-server` this run owns, on its own data directory.
pub(crate) struct Server {
    bin: PathBuf,
    pub data: PathBuf,
    pub addr: String,
    /// The classic line-protocol port, when started with one.
    pub classic: Option<String>,
    extra: Vec<String>,
    child: Option<Child>,
}

impl Server {
    /// Starts a server on `data` with `extra` arguments; returns it and how long it took from
    /// spawn to its first answered request (`ready`).
    pub(crate) fn start(bin: &Path, data: &Path, extra: &[&str]) -> Result<(Server, Duration)> {
        let mut s = Server {
            bin: bin.to_path_buf(),
            data: data.to_path_buf(),
            addr: String::new(),
            classic: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        };
        let took = s.spawn("127.0.0.1:0")?;
        Ok((s, took))
    }

    fn spawn(&mut self, listen: &str) -> Result<Duration> {
        let t0 = Instant::now();
        let mut child = Command::new(&self.bin)
            .args(["--listen", listen, "--data-dir"])
            .arg(&self.data)
            .args(&self.extra)
            .env("RUST_LOG", "warn,bbs_server=info,broker=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        let stderr = child.stderr.take().context("server stderr")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                for key in ["listen=", "classic="] {
                    if let Some(rest) = line.split(key).nth(1) {
                        let v = rest.split_whitespace().next().unwrap_or("").to_string();
                        let _ = tx.send((key, v));
                    }
                }
            }
        });
        let addr = loop {
            match rx.recv_timeout(Duration::from_secs(120)) {
                Ok(("listen=", a)) => break a,
                Ok((_, c)) => self.classic = Some(c),
                Err(_) => {
                    let _ = child.kill();
                    bail!("bbs-server did not report its address within 120 s")
                }
            }
        };
        // The classic port is logged on the same line or just after; wait briefly for it.
        if self.extra.iter().any(|a| a == "--classic") && self.classic.is_none() {
            if let Ok((_, c)) = rx.recv_timeout(Duration::from_secs(10)) {
                self.classic = Some(c);
            }
        }
        self.addr = addr;
        self.child = Some(child);
        wait_answering(&self.addr, Duration::from_secs(120))?;
        Ok(t0.elapsed())
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// SIGKILL, as a power cut would (the data directory stays).
    pub(crate) fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same data directory and port; returns the time to first answer.
    pub(crate) fn restart(&mut self) -> Result<Duration> {
        self.kill9();
        let listen = self.addr.clone();
        self.spawn(&listen)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Waits until `addr` answers an ApiVersions request.
pub(crate) fn wait_answering(addr: &str, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    loop {
        if crate::rawkafka::api_versions_ok(addr) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{addr} did not answer ApiVersions within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Resident set size of `pid` in KiB (`VmRSS`), 0 when unreadable.
pub(crate) fn rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmRSS:")
}

/// Threads of `pid`.
pub(crate) fn threads(pid: u32) -> u64 {
    status_field(pid, "Threads:")
}

fn status_field(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Established TCP connections that `pid` holds (its socket inodes matched against
/// `/proc/net/tcp` and `tcp6`).
pub(crate) fn tcp_connections(pid: u32) -> usize {
    let mut inodes = HashSet::new();
    if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for e in dir.flatten() {
            if let Ok(target) = std::fs::read_link(e.path()) {
                let t = target.to_string_lossy();
                if let Some(n) = t.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) {
                    inodes.insert(n.to_string());
                }
            }
        }
    }
    let mut n = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // cols[3] is the state (01 = ESTABLISHED), cols[9] the inode.
            if cols.len() > 9 && cols[3] == "01" && inodes.contains(cols[9]) {
                n += 1;
            }
        }
    }
    n
}
