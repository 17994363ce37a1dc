//! Read-only verification of a data directory (`bbs-server check`): every segment of every
//! topic partition is scanned batch by batch (length, offsets, CRC) and its indexes are
//! loaded, and what is wrong is reported without touching a byte. Opening the broker
//! ([`crate::Broker::open`]) is what repairs; this module only says what that start would
//! repair (a torn tail it cuts, an index it rebuilds) and what it would not (a corrupt
//! batch inside the log, offsets that go backwards).
//!
//! The checks mirror [`super::segment::Segment`]'s recovery: the last (active) segment
//! must be whole, CRC-valid, contiguous batches to its end; an earlier segment's batch
//! headers must chain to its end, and a batch whose CRC fails there is a problem.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::index::Indexes;
use super::segment::{self, MAX_RELATIVE_OFFSET};
use crate::error::{IoContext, Result};
use crate::record::{self, HEADER_LEN};

/// What [`check_dir`] found in one partition.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PartitionCheck {
    /// `topic-index`, as the partition's directory is named.
    pub name: String,
    /// Whole valid batches (up to where a start would cut).
    pub batches: u64,
    /// Records in those batches.
    pub records: u64,
    /// What the next start would repair by itself (torn tails, stale indexes): reported,
    /// not failures, since a crash leaves these behind in normal operation.
    pub repairs: Vec<String>,
    /// Damage a start would not repair (corrupt batches, offsets going backwards).
    pub problems: Vec<String>,
}

/// Checks every partition under `data_dir/topics`, in topic and partition order, without
/// writing any data. It holds the data-directory lock while it runs (failing when a
/// server holds it), so no writer appends meanwhile and a half-written batch is not
/// mistaken for a torn tail.
pub fn check_dir(data_dir: &Path) -> Result<Vec<PartitionCheck>> {
    let _lock = crate::data_lock::DirLock::acquire(data_dir)?;
    let topics = data_dir.join("topics");
    let mut dirs: Vec<(String, i32, PathBuf)> = Vec::new();
    if topics.is_dir() {
        for entry in std::fs::read_dir(&topics).ctx(|| format!("listing {}", topics.display()))? {
            let entry = entry.ctx(|| format!("listing {}", topics.display()))?;
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some((topic, index)) = name
                .rsplit_once('-')
                .and_then(|(t, i)| Some((t.to_string(), i.parse::<i32>().ok()?)))
            {
                dirs.push((topic, index, entry.path()));
            }
        }
    }
    dirs.sort();
    dirs.into_iter()
        .map(|(topic, index, dir)| check_partition(&format!("{topic}-{index}"), &dir))
        .collect()
}

/// Checks one partition directory's segments in offset order.
fn check_partition(name: &str, dir: &Path) -> Result<PartitionCheck> {
    let mut bases: Vec<i64> = Vec::new();
    for entry in std::fs::read_dir(dir).ctx(|| format!("listing {}", dir.display()))? {
        let entry = entry.ctx(|| format!("listing {}", dir.display()))?;
        let file = entry.file_name();
        if let Some(base) = file
            .to_string_lossy()
            .strip_suffix(".log")
            .and_then(|s| s.parse::<i64>().ok())
        {
            bases.push(base);
        }
    }
    bases.sort_unstable();
    let mut out = PartitionCheck {
        name: name.to_string(),
        ..PartitionCheck::default()
    };
    let mut expect = bases.first().copied().unwrap_or(0);
    let last = bases.last().copied();
    for base in bases {
        let path = dir.join(segment::file_name(base));
        check_segment(&path, base, Some(base) == last, &mut expect, &mut out)?;
    }
    Ok(out)
}

/// Scans one segment, adding to `out`; `expect` is the offset the next batch may not go
/// below (carried across segments).
fn check_segment(
    path: &Path,
    base: i64,
    active: bool,
    expect: &mut i64,
    out: &mut PartitionCheck,
) -> Result<()> {
    let file = File::open(path).ctx(|| format!("opening segment {}", path.display()))?;
    let len = file
        .metadata()
        .ctx(|| format!("stat {}", path.display()))?
        .len();
    let (offset_index, time_index) = Indexes::paths(path);
    let stale = if active {
        len > 0 && !(offset_index.exists() && time_index.exists())
    } else {
        Indexes::load(path, len)?.is_none()
    };
    if stale {
        out.repairs.push(format!(
            "{}: missing or stale index (a start rebuilds it)",
            path.display()
        ));
    }
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut next = base;
    let mut pos = 0u64;
    let mut buf = vec![0u8; HEADER_LEN];
    while pos < len {
        let header = if len - pos >= HEADER_LEN as u64 {
            buf.resize(HEADER_LEN, 0);
            reader
                .read_exact(&mut buf)
                .ctx(|| format!("reading {}", path.display()))?;
            record::parse_header(&buf).ok().filter(|h| {
                h.base_offset >= next
                    && (!active || h.base_offset == next)
                    && h.last_offset() - base <= MAX_RELATIVE_OFFSET
                    && pos + h.size as u64 <= len
            })
        } else {
            None
        };
        let Some(h) = header else {
            out.repairs.push(format!(
                "{}: {} bytes of torn or corrupt tail after offset {next} (a start cuts them)",
                path.display(),
                len - pos
            ));
            break;
        };
        buf.resize(h.size, 0);
        reader
            .read_exact(&mut buf[HEADER_LEN..])
            .ctx(|| format!("reading {}", path.display()))?;
        match record::validate(&buf) {
            Err(_) if active => {
                out.repairs.push(format!(
                    "{}: {} bytes of torn or corrupt tail after offset {next} (a start cuts them)",
                    path.display(),
                    len - pos
                ));
                break;
            }
            Err(e) => out
                .problems
                .push(format!("{} at {pos}: {e}", path.display())),
            Ok(_) => {
                if h.base_offset < *expect {
                    out.problems.push(format!(
                        "{} at {pos}: offset {} goes backwards",
                        path.display(),
                        h.base_offset
                    ));
                }
                out.batches += 1;
                out.records += h.record_count as u64;
            }
        }
        *expect = h.next_offset();
        next = h.next_offset();
        pos += h.size as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::log::{Partition, TopicConfig};

    /// A torn tail is reported, not cut: the files are byte-for-byte unchanged, and the
    /// next open (a normal start) repairs what the check reported.
    #[test]
    fn check_reports_a_torn_tail_without_repairing_it() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("topics").join("t-0");
        let p = Partition::open(&dir, "t", 0, Arc::default())
            .expect("open")
            .0;
        for i in 0..3 {
            let batch = record::encode_simple(&[(None, Some(Bytes::from(format!("v{i}"))))], 1)
                .expect("encode");
            p.append(&batch, &TopicConfig::default()).expect("append");
        }
        drop(p);
        let seg = dir.join(segment::file_name(0));
        let mut data = std::fs::read(&seg).expect("read");
        let whole = data.len();
        data.extend_from_within(..40);
        std::fs::write(&seg, &data).expect("tear");
        let snapshot = |d: &Path| {
            let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(d)
                .expect("list")
                .map(|e| {
                    let path = e.expect("entry").path();
                    let bytes = std::fs::read(&path).expect("read");
                    (path, bytes)
                })
                .collect();
            files.sort();
            files
        };
        let before = snapshot(&dir);

        let report = check_dir(tmp.path()).expect("check");
        assert_eq!(report.len(), 1);
        assert_eq!(report[0].name, "t-0");
        assert_eq!((report[0].batches, report[0].records), (3, 3));
        assert!(report[0].problems.is_empty(), "{report:?}");
        assert!(
            report[0]
                .repairs
                .iter()
                .any(|r| r.contains("40 bytes of torn or corrupt tail after offset 3")),
            "{report:?}"
        );
        assert_eq!(snapshot(&dir), before, "check changed the files");

        let (p, repairs) = Partition::open(&dir, "t", 0, Arc::default()).expect("start");
        assert!(
            repairs.iter().any(|r| r.contains("cut 40 bytes")),
            "{repairs:?}"
        );
        assert_eq!(p.log_end(), 3);
        drop(p);
        assert_eq!(std::fs::read(&seg).expect("read").len(), whole);
        let again = check_dir(tmp.path()).expect("check again");
        assert!(
            again[0].repairs.is_empty() && again[0].problems.is_empty(),
            "{again:?}"
        );
    }
}
