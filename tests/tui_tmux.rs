//! End-to-end test of the TUI in a real terminal: tmux runs `bbs-client --demo` (an
//! in-process BBS; the multi-client version against a real `bbs-server` needs the Kafka
//! backend), keys are sent with `send-keys`, and the screen is read with `capture-pane`.
//! Covers login, the board list, a post list, writing a post with CJK text, reading it,
//! pushing it, quitting, and that logs went to the rolling file (not the screen).
//!
//! The harness ([`Tmux`]) is written to be reused for the three-client test: start more
//! panes with other commands and the same `wait_screen` assertions.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// One tmux server (own socket) with one session running a command.
struct Tmux {
    /// `-L` socket name, unique per test.
    socket: String,
    /// Session name.
    session: String,
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .expect("tmux must be installed (apt-get install tmux)")
}

impl Tmux {
    /// Starts `command` in a detached `w`×`h` session with `env` set.
    fn start(name: &str, command: &[&str], env: &[(&str, &Path)], w: u16, h: u16) -> Tmux {
        let t = Tmux {
            socket: format!("bbs-test-{name}-{}", std::process::id()),
            session: name.to_string(),
        };
        let mut cmd = Command::new("tmux");
        cmd.args([
            "-L",
            &t.socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            name,
        ])
        .args(["-x", &w.to_string(), "-y", &h.to_string()]);
        for (k, v) in env {
            cmd.arg("-e").arg(format!("{k}={}", v.display()));
        }
        cmd.args(command);
        let out = run(&mut cmd);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    /// Sends keys (tmux key names: `Enter`, `Tab`, `C-s`, or plain words).
    fn keys(&self, keys: &[&str]) {
        let out = run(Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", &self.session])
            .args(keys));
        assert!(
            out.status.success(),
            "send-keys: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Types text literally (CJK included).
    fn text(&self, text: &str) {
        let out = run(Command::new("tmux").args([
            "-L",
            &self.socket,
            "send-keys",
            "-t",
            &self.session,
            "-l",
            text,
        ]));
        assert!(
            out.status.success(),
            "send-keys -l: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The screen now.
    fn screen(&self) -> String {
        let out = run(Command::new("tmux").args([
            "-L",
            &self.socket,
            "capture-pane",
            "-p",
            "-t",
            &self.session,
        ]));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits until the screen contains `needle`; panics with the screen after `timeout`.
    fn wait_screen(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("{needle:?} did not appear within {timeout:?}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// Whether the session (its command) is still running.
    fn alive(&self) -> bool {
        run(Command::new("tmux").args(["-L", &self.socket, "has-session", "-t", &self.session]))
            .status
            .success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn temp_home(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("bbs-tmux-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp home");
    d
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn demo_client_in_tmux_logs_in_posts_reads_and_pushes() {
    let home = temp_home("demo");
    let bin = env!("CARGO_BIN_EXE_bbs-client");
    let wait = Duration::from_secs(10);
    let t = Tmux::start(
        "demo",
        &[bin, "--demo"],
        &[
            ("HOME", &home),
            ("XDG_DATA_HOME", &home.join("data")),
            ("XDG_CONFIG_HOME", &home.join("config")),
        ],
        100,
        30,
    );
    t.wait_screen("guest / guest", wait);
    t.text("guest");
    t.keys(&["Tab"]);
    t.text("guest");
    t.keys(&["Enter"]);
    let s = t.wait_screen("看板列表", wait);
    assert!(s.contains("閒聊") && s.contains("NTU_CSIE"), "{s}");

    t.keys(&["j", "j", "Enter"]);
    t.wait_screen("有沒有宵夜的八卦", wait);

    t.keys(&["p"]);
    t.wait_screen("New post on 閒聊", wait);
    t.text("tmux 測試標題");
    t.keys(&["Enter"]);
    t.text("hello from tmux，你好");
    t.keys(&["C-j"]);
    t.text("second line");
    t.keys(&["Enter"]);
    let s = t.wait_screen("tmux 測試標題", wait);
    assert!(s.contains("guest"), "{s}");

    t.keys(&["G", "Enter"]);
    let s = t.wait_screen("hello from tmux，你好", wait);
    assert!(s.contains("second line"), "{s}");

    t.keys(&["+"]);
    t.text("讚");
    t.keys(&["Enter"]);
    let s = t.wait_screen("推 guest", wait);
    assert!(s.contains("score +1"), "{s}");

    t.keys(&["Q"]);
    let deadline = Instant::now() + wait;
    while t.alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(30));
    }
    assert!(!t.alive(), "the client did not quit:\n{}", t.screen());

    let logs: Vec<PathBuf> = files_under(&home)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("bbs-client.log"))
        .collect();
    assert!(!logs.is_empty(), "no log file under {}", home.display());
    let text = std::fs::read_to_string(&logs[0]).unwrap_or_default();
    assert!(text.contains("bbs-client starting"), "log: {text}");
    let _ = std::fs::remove_dir_all(&home);
}
