//! Corruption evidence: damage the files of a stopped server (a tail cut mid-batch, flipped
//! bytes in the last batch, garbage appended, deleted index files, including those of older
//! segments of a topic that rolled several times) and restart it. The server must start,
//! say in its log what it repaired, keep the valid prefix intact and readable by kcat, pass
//! `bbs-server check`, and accept new produces at the right offsets.
mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

/// Produces `batches` kcat runs of 10 records each ("b{j}-{i}") to partition 0 (usually one
/// batch per run; a loaded machine may split one, so tests count batches in the file).
fn produce_batches(addr: &str, topic: &str, batches: usize) {
    for j in 0..batches {
        let input: String = (0..10).map(|i| format!("b{j}-{i}\n")).collect();
        ok(
            kcat(
                &[
                    "-b",
                    addr,
                    "-P",
                    "-t",
                    topic,
                    "-p",
                    "0",
                    "-X",
                    "linger.ms=200",
                ],
                Some(input.as_bytes()),
                T,
            ),
            "kcat produce",
        );
    }
}

/// Every value of partition 0, read with kcat to the end.
fn read_values(addr: &str, topic: &str) -> Vec<String> {
    let out = ok(
        kcat(
            &[
                "-b",
                addr,
                "-C",
                "-t",
                topic,
                "-p",
                "0",
                "-o",
                "beginning",
                "-e",
                "-f",
                "%o:%s\n",
            ],
            None,
            T,
        ),
        "kcat consume",
    );
    out.lines().map(str::to_string).collect()
}

/// The first `records` records `produce_batches` wrote.
fn expected(records: usize) -> Vec<String> {
    (0..)
        .flat_map(|j| (0..10).map(move |i| (j, i)))
        .take(records)
        .enumerate()
        .map(|(o, (j, i))| format!("{o}:b{j}-{i}"))
        .collect()
}

fn partition_dir(s: &TestServer, topic: &str) -> PathBuf {
    s.data.join("topics").join(format!("{topic}-0"))
}

/// Segment files of a partition, by base offset.
fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("partition dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("log"))
        .collect();
    v.sort();
    v
}

/// (position, size, record count) of every batch in a segment file.
fn batches(path: &Path) -> Vec<(usize, usize, usize)> {
    let data = std::fs::read(path).expect("segment");
    let mut out = Vec::new();
    let mut at = 0;
    while at + 61 <= data.len() {
        let be = |i: usize| i32::from_be_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
        let size = 12 + be(at + 8) as usize;
        out.push((at, size, be(at + 57) as usize));
        at += size;
    }
    out
}

/// Restarts, checks the repair was logged, the prefix is intact, `check` passes, and a new
/// produce lands right after the prefix.
fn restart_and_verify(
    s: &mut TestServer,
    topic: &str,
    keep_records: usize,
    keep_batches: usize,
    repaired: &str,
) {
    let port = s.port();
    let before = s.log_text().len();
    s.spawn(Some(port));
    let log = s.log_text()[before..].to_string();
    assert!(
        log.contains("recovery:") && log.contains(repaired),
        "no '{repaired}' repair in the log:\n{log}"
    );
    assert_eq!(read_values(&s.addr, topic), expected(keep_records));
    let next = keep_records;
    ok(
        kcat(
            &["-b", &s.addr, "-P", "-t", topic, "-p", "0"],
            Some(b"after-repair\n"),
            T,
        ),
        "produce after repair",
    );
    let values = read_values(&s.addr, topic);
    assert_eq!(
        values.last().map(String::as_str),
        Some(format!("{next}:after-repair").as_str())
    );
    s.kill9();
    let report = ok(server_cmd(&["check"], &s.data), "bbs-server check");
    assert!(
        report.contains(&format!("{topic}-0: {} batches", keep_batches + 1)),
        "{report}"
    );
}

/// Damages the last batch of a 50-record log; everything before it must survive.
fn damaged_tail(damage: impl FnOnce(&Path, (usize, usize)), repaired: &str) {
    let mut s = TestServer::start(&[]);
    produce_batches(&s.addr, "t", 5);
    assert_eq!(read_values(&s.addr, "t"), expected(50));
    s.kill9();
    let seg = segments(&partition_dir(&s, "t")).pop().expect("a segment");
    let b = batches(&seg);
    let (pos, size, count) = *b.last().expect("batches");
    damage(&seg, (pos, size));
    restart_and_verify(&mut s, "t", 50 - count, b.len() - 1, repaired);
}

#[test]
fn truncated_tail_is_cut_back_to_the_last_whole_batch() {
    damaged_tail(
        |seg, (pos, size)| {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(seg)
                .expect("open");
            f.set_len((pos + size / 2) as u64).expect("truncate");
        },
        "torn or corrupt tail",
    );
}

/// `bbs-server check` reports a torn tail without repairing it: it names the tail and
/// what a start will do, every file of the partition keeps its bytes, and the next start
/// is what cuts it.
#[test]
fn check_reports_a_torn_tail_and_changes_nothing() {
    let mut s = TestServer::start(&[]);
    produce_batches(&s.addr, "t", 5);
    s.kill9();
    let dir = partition_dir(&s, "t");
    let seg = segments(&dir).pop().expect("a segment");
    let b = batches(&seg);
    let (pos, size, count) = *b.last().expect("batches");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .expect("open");
    f.set_len((pos + size / 2) as u64).expect("truncate");
    drop(f);
    let snapshot = || {
        let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
            .expect("partition dir")
            .map(|e| {
                let path = e.expect("entry").path();
                let bytes = std::fs::read(&path).expect("read");
                (path, bytes)
            })
            .collect();
        files.sort();
        files
    };
    let before = snapshot();
    let report = ok(server_cmd(&["check"], &s.data), "bbs-server check");
    assert!(
        report.contains("recovery needed:")
            && report.contains(&format!("{} bytes of torn or corrupt tail", size / 2)),
        "{report}"
    );
    assert!(
        report.contains(&format!("t-0: {} batches", b.len() - 1)),
        "{report}"
    );
    assert!(snapshot() == before, "check changed the partition's files");
    restart_and_verify(&mut s, "t", 50 - count, b.len() - 1, "torn or corrupt tail");
}

#[test]
fn flipped_bytes_in_the_last_batch_are_cut() {
    damaged_tail(
        |seg, (pos, size)| {
            let mut data = std::fs::read(seg).expect("read");
            data[pos + size - 5] ^= 0x55;
            data[pos + 70] ^= 0x01;
            std::fs::write(seg, data).expect("write");
        },
        "torn or corrupt tail",
    );
}

#[test]
fn garbage_appended_is_cut() {
    let mut s = TestServer::start(&[]);
    produce_batches(&s.addr, "t", 5);
    s.kill9();
    let seg = segments(&partition_dir(&s, "t")).pop().expect("a segment");
    let n = batches(&seg).len();
    let mut data = std::fs::read(&seg).expect("read");
    data.extend((0..777u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&seg, data).expect("write");
    restart_and_verify(&mut s, "t", 50, n, "cut 777 bytes");
}

#[test]
fn deleted_index_files_of_the_active_segment_are_rebuilt() {
    let mut s = TestServer::start(&[]);
    produce_batches(&s.addr, "t", 5);
    s.kill9();
    let seg = segments(&partition_dir(&s, "t")).pop().expect("a segment");
    std::fs::remove_file(seg.with_extension("index")).expect("rm index");
    std::fs::remove_file(seg.with_extension("timeindex")).expect("rm timeindex");
    let n = batches(&seg).len();
    restart_and_verify(&mut s, "t", 50, n, "rebuilt missing or stale index");
    assert!(seg.with_extension("index").exists());
    assert!(seg.with_extension("timeindex").exists());
}

#[test]
fn deleted_indexes_of_older_segments_are_rebuilt_and_reads_work() {
    let mut s = TestServer::start(&[]);
    ok(
        python(
            "create_topic.py",
            &[&s.addr, "rolled", "1", "segment.bytes=2048"],
            T,
        ),
        "create topic",
    );
    // 40 batches of 10 records of ~100 bytes: about 40 KB, so about 20 segments.
    for j in 0..40 {
        let input: String = (0..10)
            .map(|i| format!("r{:04}-{}\n", j * 10 + i, "x".repeat(90)))
            .collect();
        ok(
            kcat(
                &["-b", &s.addr, "-P", "-t", "rolled", "-p", "0"],
                Some(input.as_bytes()),
                T,
            ),
            "kcat produce",
        );
    }
    s.kill9();
    // What the intact log holds: 400 records in about 40 batches (kcat may split a run on
    // a loaded machine, so the batches are counted, not assumed).
    let intact = ok(server_cmd(&["check"], &s.data), "bbs-server check");
    let rolled = intact
        .lines()
        .find(|l| l.starts_with("rolled-0: "))
        .unwrap_or_else(|| panic!("no rolled-0 line:\n{intact}"))
        .to_string();
    assert!(
        rolled.ends_with(" batches, 400 records, 0 problems"),
        "{intact}"
    );
    let dir = partition_dir(&s, "rolled");
    let segs = segments(&dir);
    assert!(
        segs.len() >= 5,
        "expected several segments, got {}",
        segs.len()
    );
    for seg in &segs[..segs.len() - 1] {
        std::fs::remove_file(seg.with_extension("index")).expect("rm index");
        if seg == &segs[1] {
            // A stale (garbage) time index instead of a missing one.
            std::fs::write(seg.with_extension("timeindex"), [7u8; 13]).expect("write");
        } else {
            std::fs::remove_file(seg.with_extension("timeindex")).expect("rm timeindex");
        }
    }
    let port = s.port();
    s.spawn(Some(port));
    let log = s.log_text();
    let rebuilt = log.matches("rebuilt missing or stale index").count();
    assert!(
        rebuilt >= segs.len() - 1,
        "{rebuilt} rebuilds logged for {} older segments:\n{log}",
        segs.len() - 1
    );
    // Reads starting in the middle of old segments find the right records.
    for start in [0usize, 37, 155, 288, 399] {
        let o = start.to_string();
        let out = ok(
            kcat(
                &[
                    "-b", &s.addr, "-C", "-t", "rolled", "-p", "0", "-o", &o, "-c", "1", "-f",
                    "%o:%s\n",
                ],
                None,
                T,
            ),
            "kcat read from an offset",
        );
        assert!(
            out.starts_with(&format!("{start}:r{start:04}-")),
            "offset {start}: {out}"
        );
    }
    let all = ok(
        kcat(
            &[
                "-b",
                &s.addr,
                "-C",
                "-t",
                "rolled",
                "-p",
                "0",
                "-o",
                "beginning",
                "-e",
                "-f",
                "%o\n",
            ],
            None,
            T,
        ),
        "kcat read all",
    );
    assert_eq!(all.lines().count(), 400);
    s.kill9();
    let report = ok(server_cmd(&["check"], &s.data), "bbs-server check");
    // The same batches and records as before the indexes went, and no problem.
    assert!(
        report.contains(&rolled),
        "before: {rolled}\nafter:\n{report}"
    );
    // And the index files are back.
    for seg in &segs {
        assert!(seg.with_extension("index").exists(), "{}", seg.display());
    }
}
