//! End-to-end tests of the TUI in real terminals: tmux runs `bbs-client`, keys are sent
//! with `send-keys`, and the screen is read with `capture-pane`.
//!
//! - On the in-process demo BBS: login, the board list, a post list, writing a post with
//!   CJK text, reading it, pushing it, quitting, and that logs went to the rolling file.
//! - Against a real `bbs-server` (in its own tmux session) with three clients: user A
//!   posts, B and C see the post on screen within one second, B (subscribed to the board
//!   with a matching keyword) gets the notification toast, and A quits, restarts and sees
//!   the same unread counts (read marks are kept on the server).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

#[allow(dead_code)]
#[path = "common/eventually.rs"]
mod eventually;
use eventually::eventually;

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
        self.wait_screen_where(&format!("{needle:?} to appear"), timeout, |s| {
            s.contains(needle)
        })
    }

    /// Waits until `cond` holds for the screen; panics with `what` and the screen after
    /// `timeout`.
    fn wait_screen_where(
        &self,
        what: &str,
        timeout: Duration,
        cond: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.screen();
            if cond(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("waited {timeout:?} for {what}; screen:\n{s}");
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
    // The title shows in the composer too: wait for the list, where the post is listed.
    let s = t.wait_screen_where("the new post in the board's list", wait, |s| {
        s.contains("tmux 測試標題") && !s.contains("New post on 閒聊")
    });
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
    eventually("the client to quit", wait, || !t.alive());
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

/// Runs `bbs-client --line` against `addr` with `script` on stdin; returns its output.
fn line_client(addr: &str, script: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_bbs-client"))
        .args(["--line", "--server", addr])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn bbs-client");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write script");
    let out = child.wait_with_output().expect("bbs-client");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The screen line of board `name` in the board list.
fn board_row(screen: &str, name: &str) -> String {
    screen
        .lines()
        .find(|l| l.split_whitespace().any(|w| w == name))
        .unwrap_or_else(|| panic!("no row for {name}:\n{screen}"))
        .trim_start_matches(['>', ' '])
        .to_string()
}

fn start_client(name: &str, addr: &str, home: &Path) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_bbs-client");
    Tmux::start(
        name,
        &[bin, "--server", addr],
        &[
            ("HOME", home),
            ("XDG_DATA_HOME", &home.join("data")),
            ("XDG_CONFIG_HOME", &home.join("config")),
        ],
        100,
        30,
    )
}

fn login(t: &Tmux, user: &str, password: &str) -> String {
    let wait = Duration::from_secs(10);
    t.wait_screen("Password", wait);
    t.text(user);
    t.keys(&["Tab"]);
    t.text(password);
    t.keys(&["Enter"]);
    t.wait_screen("看板列表", wait)
}

#[test]
fn three_clients_on_a_real_server_see_posts_live_and_keep_unread_state() {
    // tmux runs the server too, on a port that was free a moment ago.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let server_home = temp_home("server");
    let data = server_home.join("data");
    let server_bin = env!("CARGO_BIN_EXE_bbs-server");
    let data_arg = data.to_string_lossy().to_string();
    let server = Tmux::start(
        "server",
        &[server_bin, "--listen", &addr, "--data-dir", &data_arg],
        &[("HOME", &server_home)],
        120,
        20,
    );
    let wait = Duration::from_secs(10);
    let deadline = Instant::now() + wait;
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            Instant::now() < deadline,
            "the server did not start:\n{}",
            server.screen()
        );
        std::thread::sleep(Duration::from_millis(30));
    }
    let out = line_client(
        &addr,
        "register alice a@example.com apw\nregister bob b@example.com bpw\n\
         register carol c@example.com cpw\nlogin carol cpw\ncreate-board NP\n\
         create-post NP --title first post --content one\n\
         create-post NP --title second post --content two\nlogout\n\
         login bob bpw\nsubscribe --board NP --keyword exam\nexit\n",
    );
    assert_eq!(out.matches("Create post successfully.").count(), 2, "{out}");
    assert!(out.contains("Subscribe successfully."), "{out}");

    let homes: Vec<PathBuf> = ["a", "b", "c"].iter().map(|n| temp_home(n)).collect();
    let a = start_client("a", &addr, &homes[0]);
    let b = start_client("b", &addr, &homes[1]);
    let c = start_client("c", &addr, &homes[2]);
    for (t, u, p) in [
        (&a, "alice", "apw"),
        (&b, "bob", "bpw"),
        (&c, "carol", "cpw"),
    ] {
        let s = login(t, u, p);
        assert!(s.contains("NP"), "{s}");
        t.keys(&["Enter"]);
        t.wait_screen("second post", wait);
    }

    // A reads one post (a read mark on the server), then writes one.
    a.keys(&["Enter"]);
    a.wait_screen("Author", wait);
    a.keys(&["q"]);
    a.wait_screen("second post", wait);
    a.keys(&["p"]);
    a.wait_screen("New post on NP", wait);
    a.text("final exam tips");
    a.keys(&["Enter"]);
    a.text("bring a pen");
    a.keys(&["Enter"]);
    a.wait_screen("Posted #3", wait);
    let posted = Instant::now();
    b.wait_screen("final exam tips", Duration::from_secs(1));
    c.wait_screen("final exam tips", Duration::from_secs(1));
    b.wait_screen("[NP] #3 final exam tips", Duration::from_secs(1));
    eprintln!("B and C showed the post {:?} after A", posted.elapsed());
    assert!(
        !c.screen().contains("[NP] #3"),
        "C is not subscribed:\n{}",
        c.screen()
    );

    // A's unread counts survive a restart of the client.
    a.keys(&["q"]);
    let before = board_row(&a.wait_screen("看板列表", wait), "NP");
    a.keys(&["Q"]);
    eventually("the client to quit", wait, || !a.alive());
    assert!(!a.alive(), "A did not quit:\n{}", a.screen());
    let a2 = start_client("a2", &addr, &homes[0]);
    a2.wait_screen("alice", wait);
    // The login form remembers the user and focuses the password.
    a2.text("apw");
    a2.keys(&["Enter"]);
    let after = board_row(&a2.wait_screen("看板列表", wait), "NP");
    assert_eq!(before, after, "unread state after a restart");
    // 3 posts, 1 unread (A read one and wrote one).
    let cols: Vec<&str> = after.split_whitespace().collect();
    assert!(cols.windows(2).any(|w| w == ["3", "1"]), "{after}");
    assert!(server.alive(), "the server is still running");
    drop(server);
    for h in homes.into_iter().chain([server_home]) {
        let _ = std::fs::remove_dir_all(h);
    }
}
