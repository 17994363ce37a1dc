//! W5: what one BBS user costs and how fast commands answer. Drives a real `bbs-client`
//! in line mode (the classic language on stdin/stdout) against the server: times each
//! command from the line sent to the next `% ` prompt (the first write separately, as it
//! used to stall), then reads the logged-in client's threads, established TCP connections
//! and RSS from `/proc`.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::procs::{rss_kib, tcp_connections, threads};
use crate::stats::Samples;

/// Command latencies and the cost of one logged-in session.
#[derive(Debug, Default)]
pub(crate) struct SessionCost {
    pub login_ms: f64,
    pub first_write_ms: f64,
    pub write: Samples,
    pub read: Samples,
    pub threads: u64,
    pub connections: usize,
    pub rss_kib: u64,
}

/// One `bbs-client --line` process.
pub(crate) struct Line {
    child: Child,
    stdin: ChildStdin,
    stdout: ChildStdout,
}

impl Line {
    /// Starts the client on `addr` with `home` as its home, and waits for its first prompt.
    pub(crate) fn start(bin: &Path, addr: &str, home: &Path) -> Result<Line> {
        let mut child = Command::new(bin)
            .args(["--line", "--server", addr])
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_STATE_HOME", home.join("state"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdin = child.stdin.take().context("client stdin")?;
        let stdout = child.stdout.take().context("client stdout")?;
        let mut l = Line {
            child,
            stdin,
            stdout,
        };
        l.until_prompt()?;
        Ok(l)
    }

    /// Reads output up to and including the next prompt.
    fn until_prompt(&mut self) -> Result<String> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while !out.ends_with(b"% ") {
            let n = self.stdout.read(&mut buf)?;
            if n == 0 {
                bail!(
                    "bbs-client exited; it printed: {}",
                    String::from_utf8_lossy(&out)
                );
            }
            out.extend_from_slice(&buf[..n]);
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// The client's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one command; returns its output and how long the answer took.
    pub(crate) fn cmd(&mut self, line: &str) -> Result<(String, Duration)> {
        let t = Instant::now();
        self.stdin.write_all(format!("{line}\n").as_bytes())?;
        self.stdin.flush()?;
        let out = self.until_prompt()?;
        Ok((out, t.elapsed()))
    }

    /// Sends one command and checks its output contains `want`.
    pub(crate) fn expect(&mut self, line: &str, want: &str) -> Result<Duration> {
        let (out, d) = self.cmd(line)?;
        if !out.contains(want) {
            bail!("`{line}` answered {out:?}, expected {want:?}");
        }
        Ok(d)
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        let _ = self.stdin.write_all(b"exit\n");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Registers a user, logs in, runs `rounds` writes and reads, and reads the session cost.
pub(crate) fn measure(
    client_bin: &Path,
    addr: &str,
    rounds: usize,
    scratch: &Path,
) -> Result<SessionCost> {
    let home = scratch.join("client-home");
    std::fs::create_dir_all(&home)?;
    let user = format!("bench{}", std::process::id());
    let mut l = Line::start(client_bin, addr, &home)?;
    l.expect(
        &format!("register {user} {user}@example.com pw{user}"),
        "Register successfully.",
    )?;
    let mut cost = SessionCost {
        login_ms: ms(l.expect(&format!("login {user} pw{user}"), "Welcome")?),
        ..SessionCost::default()
    };
    let board = format!("b{user}");
    cost.first_write_ms = ms(l.expect(
        &format!("create-board {board}"),
        "Create board successfully.",
    )?);
    for i in 0..rounds {
        let d = l.expect(
            &format!("create-post {board} --title post {i} --content hello {i}"),
            "Create post successfully.",
        )?;
        cost.write.push(d);
        let (_, d) = l.cmd(&format!("list-post {board}"))?;
        cost.read.push(d);
        let (_, d) = l.cmd("list-board")?;
        cost.read.push(d);
    }
    // Let the session settle (background fetches, heartbeats) before reading its cost.
    std::thread::sleep(Duration::from_secs(1));
    let pid = l.child.id();
    cost.threads = threads(pid);
    cost.connections = tcp_connections(pid);
    cost.rss_kib = rss_kib(pid);
    Ok(cost)
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
