//! Our client against recorded exchanges with independent Kafka-compatible brokers.
//!
//! `scripts/interop-tansu.sh` runs `bbs-bench interop` (produce with acks=all, then read back
//! by a manually assigned consumer, a group consumer from the earliest offset and a group
//! consumer from the latest offset, then produce to a topic the broker lacks) against a real
//! Tansu broker through `bbs-bench capture`, which writes every frame of the exchange to
//! `tests/fixtures/<broker>/interop.cap`. Here a scripted fake broker (`replay/mod.rs`)
//! answers the same program with Tansu's recorded responses, so the regression runs in CI
//! without Tansu: the consumer must read every record in every mode (it once read nothing
//! from Tansu, silently), and the producer must explain a missing topic.

mod common;
mod replay;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The run id the capture was made with (`scripts/interop-tansu.sh` passes it).
const RUN_ID: &str = "4242";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Runs `bbs-bench interop` against a replay of `capture` and returns its output.
fn interop_against(capture: &str, topic: &str, records: &str) -> (bool, String) {
    let fake = replay::Replay::start(&fixture(capture));
    let mut child = Command::new(env!("CARGO_BIN_EXE_bbs-bench"))
        .args(["interop", "--bootstrap", &fake.addr, "--run-id", RUN_ID])
        .args([
            "--topic",
            topic,
            "--records",
            records,
            "--timeout-secs",
            "20",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bbs-bench");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while child.try_wait().ok().flatten().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("output");
    let text = format!(
        "{}{}\nunmatched requests: {:?}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        fake.unmatched()
    );
    (out.status.success(), text)
}

#[test]
fn client_reads_and_writes_a_tansu_broker() {
    let (ok, out) = interop_against("tansu-0.6.0/interop.cap", "interop", "100");
    assert!(ok, "bbs-bench interop failed on the Tansu replay:\n{out}");
    for step in [
        "produce 100 records (acks=all): ok",
        "consume (manual assignment, earliest): 100 of 100 records: ok",
        "consume (group, earliest): 100 of 100 records: ok",
        "consume (group, latest): 100 of 100 records: ok",
        "verdict: ok",
    ] {
        assert!(out.contains(step), "missing {step:?} in:\n{out}");
    }
    // Tansu does not create topics on first use: the producer says so and what to do.
    assert!(
        out.contains("produce to a missing topic: refused")
            && out.contains("does not auto-create topics")
            && out.contains("create it first"),
        "no clear missing-topic error in:\n{out}"
    );
}

/// The harness itself: a capture of the same program against our own server replays to the
/// same verdict (so a failure of the Tansu replay is about Tansu's answers, not the fake).
#[test]
fn replay_of_a_bbs_server_capture_gives_the_same_verdict() {
    let (ok, out) = interop_against("bbs-server/interop.cap", "bbs-interop", "100");
    assert!(
        ok,
        "bbs-bench interop failed on the bbs-server replay:\n{out}"
    );
    assert!(
        out.contains("consume (group, latest): 100 of 100 records: ok"),
        "{out}"
    );
    assert!(
        out.contains("the broker created bbs-interop-missing-4242"),
        "{out}"
    );
}
