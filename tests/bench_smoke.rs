//! `bbs-bench suite --smoke`: every workload of the benchmark tool runs end to end in
//! seconds against a fresh server (tiny sizes; no figure is asserted, only that each
//! workload completed and printed its row, with every fan-out message delivered).

use std::process::Command;

mod common;

/// Runs `bbs-bench <workload> --smoke` in a fresh directory; its stdout, once it succeeded.
fn smoke(workload: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_bbs-bench"))
        .args([workload, "--smoke", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run bbs-bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bbs-bench {workload} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

#[test]
fn the_benchmark_suite_runs_every_workload() {
    let stdout = smoke("suite");
    for row in [
        "| machine: loopback TCP round trip",
        "| W1 durable produce",
        "| W2 consume",
        "| W3 fan-out N=5,",
        "| W3 fan-out N=5, bare Fetch consumers",
        "| W4 server memory per idle connection",
        "| W5 BBS write",
        "| W5 logged-in line-mode session",
        "| W6 start",
        "| W7 TUI frame",
        "| W8 line mode: start + login",
    ] {
        assert!(stdout.contains(row), "no row {row:?} in:\n{stdout}");
    }
    let fanout_rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("| W3 fan-out") && l.contains("(complete)"))
        .collect();
    assert_eq!(fanout_rows.len(), 2, "two W3 latency rows in:\n{stdout}");
    for row in fanout_rows {
        assert!(
            row.contains("(5/5)"),
            "a fan-out consumer missed messages: {row}"
        );
    }
    // The latency split per message: to the first consumer, then to the last; for ours
    // and, where redis-server is installed, the peer's.
    let split = stdout
        .lines()
        .find(|l| l.starts_with("| W3 fan-out N=5: to the first consumer"))
        .unwrap_or_else(|| panic!("no split row in:\n{stdout}"));
    let cells: Vec<&str> = split.split('|').map(str::trim).collect();
    assert!(
        cells[2].contains(" ms, then ") && !cells[2].contains('-'),
        "our split is not four figures: {split}"
    );
}

/// `bbs-bench fanout` with its consumers spread over helper processes (as runs past the
/// open-file limit are): every message reaches every consumer, and the helpers' per-message
/// figures reach the parent (the split to the first consumer and on to the last). No
/// figure is asserted beyond being there.
#[test]
fn a_fan_out_over_helper_processes_reports_every_delivery() {
    let server = common::TestServer::start(&[]);
    let out = Command::new(env!("CARGO_BIN_EXE_bbs-bench"))
        .args(["fanout", "--bootstrap", &server.addr])
        .args([
            "--consumers",
            "6",
            "--per-process",
            "1",
            "--seconds",
            "1",
            "--rate",
            "20",
        ])
        .output()
        .expect("run bbs-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "fanout failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("delivered=120/120 complete=6/6"),
        "a delivery is missing:\n{stdout}"
    );
    let field = |name: &str| -> Vec<f64> {
        let value = stdout
            .split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {stdout}"));
        value
            .trim_end_matches("ms")
            .split('/')
            .map(|x| x.parse().unwrap_or(f64::NAN))
            .collect()
    };
    for name in ["to-first=", "first-to-last="] {
        let v = field(name);
        assert!(
            v.len() == 2 && v.iter().all(|x| x.is_finite() && *x >= 0.0),
            "{name} is not two figures: {stdout}"
        );
    }
    // The parent hosts one consumer and the helpers the other five: a spread of zero at
    // every message would mean the helpers' deliveries never reached the per-message
    // figures.
    assert!(
        field("first-to-last=")[1] > 0.0,
        "the helpers' deliveries are missing from the split: {stdout}"
    );
}

/// `bbs-bench class --smoke`: five simulated students on a fresh server for a few seconds,
/// with one SIGSTOP and one SIGKILL of the server; the read-back finds every acknowledged
/// write exactly once and the students did act (no timing is asserted).
#[test]
fn a_class_with_faults_loses_nothing_acknowledged() {
    let stdout = smoke("class");
    assert!(
        stdout.contains("| verdict | nothing acknowledged lost"),
        "bad verdict:\n{stdout}"
    );
    assert!(
        stdout.contains("| faults | 1 SIGSTOP") && stdout.contains("1 SIGKILL + restart"),
        "faults not injected:\n{stdout}"
    );
    let figure = |row: &str| -> u64 {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(row))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {row:?} row in:\n{stdout}"))
    };
    assert!(figure("| actions | ") > 0, "no actions:\n{stdout}");
    assert!(
        figure("| appends ok / failed | ") > 0,
        "no appends:\n{stdout}"
    );
}

/// `bbs-bench login --smoke`: W8 seeds a small and a big (tiny) history on fresh servers and
/// measures line-mode and TUI-worker sessions on both; every row is printed, and the board
/// list and the opened board saw the seeded posts (no timing is asserted).
#[test]
fn the_login_workload_measures_both_histories() {
    let stdout = smoke("login");
    for row in [
        "| W8 seeding 3 boards + one of 300 posts |",
        "| W8 line mode: start + login p50 / p99 (20 → 300 posts) |",
        "| W8 line mode: list-board p50 / p99 (20 → 300 posts) |",
        "| W8 TUI worker: login + board list with unread p50 / p99 (20 → 300 posts) |",
        "| W8 TUI worker: open the big board p50 / p99 (20 → 300 posts) |",
        "| W8 line-mode client RSS after login; after list-board (20 → 300 posts) |",
    ] {
        assert!(stdout.contains(row), "no row {row:?} in:\n{stdout}");
    }
    // The reader has read nothing: the board list counts every seeded post as unread
    // (whether from the history or from the server's views), and the board opens with posts.
    for unread in ["shows 20 unread on big", "shows 300 unread on big"] {
        assert!(stdout.contains(unread), "no {unread:?} in:\n{stdout}");
    }
    assert!(
        !stdout.contains("opened with 0 rows"),
        "a board opened empty:\n{stdout}"
    );
}

/// `bbs-bench scaleout --smoke`: an upstream `--plain` with a service account and two front
/// servers over it; W1/W2 run with one client directly and through one front, and with two
/// clients directly and through both fronts (no figure is asserted: every cell of the table
/// is a rate, none failed).
#[test]
fn the_scaleout_workload_measures_every_shape() {
    let stdout = smoke("scaleout");
    assert!(
        stdout.contains(
            "| records/s (median) | 1 client, upstream directly | 1 client, one front \
             | 2 clients, upstream directly | 2 clients, two fronts |"
        ),
        "no table header in:\n{stdout}"
    );
    for row in [
        "| W1 durable produce, ours (acks=all) |",
        "| W1 durable produce, kcat (acks=all) |",
        "| W2 consume, ours |",
        "| W2 consume, kcat |",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no row {row:?} in:\n{stdout}"));
        assert_eq!(
            line.matches(" rec/s").count(),
            4,
            "a shape has no rate in {line:?}"
        );
    }
}
