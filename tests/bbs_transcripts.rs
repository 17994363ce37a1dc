//! The transcript scenarios of `bbs/tests/transcripts/*.txt` (same file format as the
//! in-process test `bbs/tests/transcripts.rs`) run against the REAL server binary through
//! real front ends: each scripted user is a `bbs-client --line --server ADDR` process, or
//! a TCP connection to the server's classic port, or (mixed) some of each. The server is
//! restarted (SIGTERM, same data directory) between scenario files, so boards, posts, ids,
//! mail and subscriptions must survive it. Notifications must arrive within one second.
//! The classic port is opened with `--classic-listen 127.0.0.1:0` (the mixed run: with
//! `classic_listen` in the config file's `[bbs]` table) and found in the server's log.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;

#[path = "../bbs/tests/support/script.rs"]
mod script;
#[path = "support/transcripts.rs"]
mod transcripts;
use transcripts::*;

fn scenarios(mode: &str) {
    let files = transcripts::scenario_files();
    // The mixed run opens the classic port from the config file's `[bbs]` table.
    let conf = tempfile::tempdir().expect("tempdir");
    let conf_path = conf.path().join("bbs-server.toml");
    std::fs::write(
        &conf_path,
        "[bbs]\nclassic_listen = \"127.0.0.1:0\"\ntimezone = \"UTC\"\n",
    )
    .expect("config");
    let conf_arg = conf_path.to_string_lossy().to_string();
    let args: Vec<&str> = if mode == "mixed" {
        vec!["--config", &conf_arg]
    } else {
        vec!["--classic-listen", "127.0.0.1:0"]
    };
    let mut server = TestServer::start(&args);
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            // Restart between scenario files: everything must come back from the log.
            let port = server.port();
            assert_eq!(server.terminate(), Some(0), "clean shutdown");
            server.spawn(Some(port));
        }
        let text = std::fs::read_to_string(f).expect("read scenario");
        let name = f.file_name().expect("name").to_string_lossy().to_string();
        let started = Instant::now();
        run_file(&[&server], &name, &text, mode);
        eprintln!("[{mode}] {name}: {:?}", started.elapsed());
    }
}

#[test]
fn transcripts_through_line_clients() {
    scenarios("line");
}

#[test]
fn transcripts_through_the_classic_port() {
    scenarios("classic");
}

#[test]
fn transcripts_mixed_line_and_classic() {
    scenarios("mixed");
}

/// One command on `c`: its output lines.
fn ask(c: &mut Conn, line: &str) -> Vec<String> {
    c.send(line);
    reply(c, line)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Issue 11 item 9: `timezone` in the client's config (line mode) and in the server's
/// `[bbs]` table (classic port) decide the dates printed; the record stays UTC. +14:00 and
/// -12:00 are 26 hours apart, so their calendar dates differ at every instant: before the
/// setting existed both front ends printed the same (UTC) date.
#[test]
fn dates_follow_the_timezone_settings() {
    use bbs::time::{full_date, month_day, Zone};
    let dir = tempfile::tempdir().expect("tempdir");
    let server_conf = dir.path().join("bbs-server.toml");
    std::fs::write(
        &server_conf,
        "[bbs]\nclassic_listen = \"127.0.0.1:0\"\ntimezone = \"+14:00\"\n",
    )
    .expect("server config");
    let client_conf = dir.path().join("bbs-client.toml");
    std::fs::write(&client_conf, "[ui]\ntimezone = \"-12:00\"\n").expect("client config");
    let server = TestServer::start(&["--config", &server_conf.to_string_lossy()]);
    let client_arg = client_conf.to_string_lossy().to_string();
    let mut line = Conn::open_with(Via::Line, &server, &["--config", &client_arg]);
    let mut classic = Conn::open(Via::Classic, &server);
    for c in [&line, &classic] {
        let got = c.take_when(WAIT, |t, eof| t.len() >= banner().len() || eof);
        assert_eq!(got.as_deref(), Some(banner().as_str()));
    }
    assert_eq!(
        ask(&mut line, "register tz tz@example.com tzpw"),
        ["Register successfully."]
    );
    assert_eq!(ask(&mut line, "login tz tzpw"), ["Welcome, tz."]);
    assert_eq!(
        ask(&mut line, "create-board TZ"),
        ["Create board successfully."]
    );
    let before = now_ms();
    assert_eq!(
        ask(&mut line, "create-post TZ --title when --content now"),
        ["Create post successfully."]
    );
    let line_rows = ask(&mut line, "list-post TZ");
    let line_read = ask(&mut line, "read 1");
    let classic_rows = ask(&mut classic, "list-post TZ");
    let classic_read = ask(&mut classic, "read 1");
    let after = now_ms();
    // The post's stamp lies between `before` and `after`: its date is one of theirs.
    let check = |zone: &str, rows: &[String], read: &[String]| {
        let z = Zone::parse(zone).expect("zone");
        let days: Vec<String> = [before, after].iter().map(|&t| month_day(t, &z)).collect();
        let dates: Vec<String> = [before, after].iter().map(|&t| full_date(t, &z)).collect();
        let row = rows.get(1).cloned().unwrap_or_default();
        assert!(
            days.iter().any(|d| row == format!("\t1\twhen\ttz\t{d}")),
            "{zone}: {rows:?}, want a date in {days:?}"
        );
        let date = read.get(2).cloned().unwrap_or_default();
        assert!(
            dates.iter().any(|d| date == format!("\tDate\t:{d}")),
            "{zone}: {read:?}, want a date in {dates:?}"
        );
    };
    check("-12:00", &line_rows, &line_read);
    check("+14:00", &classic_rows, &classic_read);
    assert_ne!(
        line_rows[1], classic_rows[1],
        "the two zones show different days"
    );
}

/// A `timezone` nobody knows stops the program at start with the setting's name, instead
/// of silently showing another zone.
#[test]
fn an_unknown_timezone_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server_conf = dir.path().join("bbs-server.toml");
    std::fs::write(&server_conf, "[bbs]\ntimezone = \"Mars/Olympus\"\n").expect("config");
    let data = dir.path().join("data");
    let out = run_to_end(Command::new(env!("CARGO_BIN_EXE_bbs-server")).args([
        "--config",
        &server_conf.to_string_lossy(),
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        &data.to_string_lossy(),
    ]));
    assert!(!out.status.success(), "the server started with a bad zone");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[bbs] timezone") && err.contains("Mars/Olympus"),
        "server said: {err}"
    );
    let client_conf = dir.path().join("bbs-client.toml");
    std::fs::write(&client_conf, "[ui]\ntimezone = \"Mars/Olympus\"\n").expect("config");
    let out = run_to_end(Command::new(env!("CARGO_BIN_EXE_bbs-client")).args([
        "--line",
        "--server",
        "127.0.0.1:1",
        "--config",
        &client_conf.to_string_lossy(),
    ]));
    assert!(!out.status.success(), "the client started with a bad zone");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[ui] timezone") && err.contains("Mars/Olympus"),
        "client said: {err}"
    );
}

/// Runs `cmd` with empty stdin until it exits (killed after a deadline: a program that
/// does not stop fails the assertion on its status instead of hanging the test).
fn run_to_end(cmd: &mut Command) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait_with_output().expect("output")
}
