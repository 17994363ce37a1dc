//! Shared helpers for integration tests: start the real `bbs-server` binary on a free port
//! with its own data directory, kill or restart it, and run the peer clients (kcat,
//! kafka-python / confluent-kafka from the test venv, kafkajs from the test node_modules).
#![allow(dead_code)]

pub mod eventually;
pub(crate) mod raw;

#[allow(unused_imports)]
pub(crate) use eventually::{eventually, eventually_some};

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Where scripts/test-deps.sh installed the peer clients.
pub(crate) fn test_home() -> PathBuf {
    std::env::var_os("BBS_TEST_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/bbs-test")
        })
}

/// The repository root.
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running bbs-server owned by the test.
pub(crate) struct TestServer {
    pub addr: String,
    pub data: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    child: Option<Child>,
    pub extra: Vec<String>,
    pub log: PathBuf,
    /// Length of the log when the current process was spawned (see [`TestServer::log_value`]).
    pub log_mark: u64,
}

impl TestServer {
    /// Starts a server on a fresh data directory.
    pub(crate) fn start(extra: &[&str]) -> TestServer {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let mut s = TestServer {
            addr: String::new(),
            log: tmp.path().join("server.log"),
            data,
            _tmp: Some(tmp),
            child: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            log_mark: 0,
        };
        s.spawn(None);
        s
    }

    /// Starts a server whose data directory is `data` (for example on a small mounted file
    /// system); the log still goes to a fresh temporary directory.
    pub(crate) fn start_with_data(data: &Path, extra: &[&str]) -> TestServer {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = TestServer {
            addr: String::new(),
            log: tmp.path().join("server.log"),
            data: data.to_path_buf(),
            _tmp: Some(tmp),
            child: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            log_mark: 0,
        };
        s.spawn(None);
        s
    }

    /// Starts (again) on the same data directory; reuses the port when given.
    pub(crate) fn spawn(&mut self, port: Option<u16>) {
        let listen = format!("127.0.0.1:{}", port.unwrap_or(0));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        self.log_mark = log.metadata().map(|m| m.len()).unwrap_or(0);
        let mut child = Command::new(env!("CARGO_BIN_EXE_bbs-server"))
            .args(["--listen", &listen, "--data-dir"])
            .arg(&self.data)
            .args(&self.extra)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn bbs-server");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut log = log;
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = writeln!(log, "{line}");
                if !sent {
                    if let Some(rest) = line.split("listen=").nth(1) {
                        let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                        let _ = tx.send(addr);
                        sent = true;
                    }
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                panic!(
                    "server did not start; log:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                )
            });
        self.addr = addr;
        self.child = Some(child);
    }

    /// The server process's id, while it runs (for reading `/proc/<pid>/status`).
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// The port the server listens on.
    pub(crate) fn port(&self) -> u16 {
        self.addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port")
    }

    /// SIGKILL, no cleanup.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait; returns the exit status code.
    pub(crate) fn terminate(&mut self) -> Option<i32> {
        let c = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let out = c.wait_with_output().ok()?;
        out.status.code()
    }

    /// Kill -9 and start again on the same port and data.
    pub(crate) fn restart_after_kill(&mut self) {
        let port = self.port();
        self.kill9();
        self.spawn(Some(port));
    }

    /// The value of the first `key=VALUE` field the current server process has logged
    /// (for example `classic` for the classic port's address), waiting up to 20 s for it.
    pub(crate) fn log_value(&self, key: &str) -> String {
        let needle = format!("{key}=");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.log_text();
            let since = text.get(self.log_mark as usize..).unwrap_or("");
            if let Some(rest) = since.split(needle.as_str()).nth(1) {
                return rest.split_whitespace().next().unwrap_or("").to_string();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server never logged {needle}; log:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server log so far.
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle` (log lines reach the file through a thread,
    /// a moment after the server wrote them).
    pub(crate) fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log_text().contains(needle) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            // A failing test shows what its servers logged last (libtest prints this
            // with the failure), so a failure seen only in CI can be read there.
            let text = self.log_text();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(LOG_TAIL)..];
            eprintln!(
                "--- the last {} lines of {} (server {}) ---\n{}",
                tail.len(),
                self.log.display(),
                self.addr,
                tail.join("\n")
            );
        }
    }
}

/// How many of a server's last log lines a failing test prints.
const LOG_TAIL: usize = 60;

/// Runs `cmd` with `stdin` (or none), draining its output; kills it and fails the test
/// after `timeout`.
pub(crate) fn run(mut cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    // Drain stdout and stderr while waiting: a child whose output fills the pipe buffer
    // (64 KiB) would otherwise block forever.
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out_t = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let err_t = drain(child.stderr.take().map(|p| Box::new(p) as _));
    if let Some(input) = stdin {
        let mut si = child.stdin.take().expect("stdin");
        si.write_all(input).expect("write stdin");
    }
    let start = Instant::now();
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            let stdout = out_t.join().unwrap_or_default();
            let stderr = err_t.join().unwrap_or_default();
            let tail =
                |b: &[u8]| String::from_utf8_lossy(&b[b.len().saturating_sub(4000)..]).into_owned();
            panic!(
                "{cmd:?} timed out after {timeout:?}\nstdout (tail):\n{}\nstderr (tail):\n{}",
                tail(&stdout),
                tail(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

/// Asserts success and returns stdout.
pub(crate) fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a Python script from tests/interop with the test venv.
pub(crate) fn python(script: &str, args: &[&str], timeout: Duration) -> Output {
    let py = test_home().join("venv/bin/python");
    assert!(
        py.exists(),
        "{} missing: run scripts/test-deps.sh",
        py.display()
    );
    let mut cmd = Command::new(py);
    cmd.arg(repo().join("tests/interop").join(script))
        .args(args);
    run(cmd, None, timeout)
}

/// Runs a Node script from tests/interop with kafkajs on NODE_PATH.
pub(crate) fn node(script: &str, args: &[&str], timeout: Duration) -> Output {
    let modules = test_home().join("node/node_modules");
    assert!(
        modules.join("kafkajs").exists(),
        "kafkajs missing: run scripts/test-deps.sh"
    );
    let mut cmd = Command::new("node");
    cmd.arg(repo().join("tests/interop").join(script))
        .args(args)
        .env("NODE_PATH", modules);
    run(cmd, None, timeout)
}

/// Runs kcat with the given arguments and optional stdin.
pub(crate) fn kcat(args: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> Output {
    let mut cmd = Command::new("kcat");
    cmd.args(args);
    run(cmd, stdin, timeout)
}

/// Runs `bbs-server` with arguments (for subcommands such as `check`).
pub(crate) fn server_cmd(args: &[&str], data: &Path) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bbs-server"));
    cmd.args(["--data-dir"]).arg(data).args(args);
    run(cmd, None, Duration::from_secs(120))
}

/// Reads one length-prefixed frame from a blocking stream (the prefix checked by the wire
/// crate, up to 256 MiB) and returns it without its prefix.
pub(crate) fn read_frame(s: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let n = wire::frame::body_len(len, 256 << 20).map_err(std::io::Error::other)?;
    let mut body = vec![0u8; n];
    s.read_exact(&mut body)?;
    Ok(body)
}
