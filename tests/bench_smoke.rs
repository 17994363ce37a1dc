//! `bbs-bench suite --smoke`: every workload of the benchmark tool runs end to end in
//! seconds against a fresh server (tiny sizes; no figure is asserted, only that each
//! workload completed and printed its row, with every fan-out message delivered).

use std::process::Command;

#[test]
fn the_benchmark_suite_runs_every_workload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_bbs-bench"))
        .args(["suite", "--smoke", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run bbs-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bbs-bench failed:\n{stdout}\n{stderr}"
    );
    for row in [
        "| machine: loopback TCP round trip",
        "| W1 durable produce",
        "| W2 consume",
        "| W3 fan-out N=5",
        "| W4 server memory per idle connection",
        "| W5 BBS write",
        "| W5 logged-in line-mode session",
        "| W6 start",
        "| W7 TUI frame",
    ] {
        assert!(stdout.contains(row), "no row {row:?} in:\n{stdout}");
    }
    assert!(
        stdout.contains("(5/5)"),
        "a fan-out consumer missed messages:\n{stdout}"
    );
}

/// `bbs-bench class --smoke`: five simulated students on a fresh server for a few seconds,
/// with one SIGSTOP and one SIGKILL of the server; the read-back finds every acknowledged
/// write exactly once and the students did act (no timing is asserted).
#[test]
fn a_class_with_faults_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_bbs-bench"))
        .args(["class", "--smoke", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run bbs-bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bbs-bench class failed:\n{stdout}\n{stderr}"
    );
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
