//! `bbs-server admin backup DIR`: a consistent copy of a data directory, taken while the
//! server runs or while it is stopped.
//!
//! How the copy stays consistent without stopping writers:
//! - every file is opened first and copied only up to the size it had when opened (read
//!   from the open handle, so a segment that compaction replaces by rename is copied
//!   whole, old or new, never a mix); data appended later is simply not in the copy;
//! - files are copied in an order in which what refers to something comes before what it
//!   refers to, so the later copy always holds the referenced data: the broker's internal
//!   state (topic list, committed offsets, credentials) first, then the board, mail and
//!   subscription topics, and the BBS directories `bbs.boards` and `bbs.users` last (a
//!   post names its board, a mail its recipient);
//! - a file removed during the copy (retention deleted a segment) is skipped, not an error;
//!   offset and time indexes are not copied (recovery rebuilds them from the segments);
//! - the copy is then opened once with the same recovery the server runs after `kill -9`
//!   (a torn batch at the end of an active segment, caught mid-write, is cut off), and
//!   every log of it is verified.
//!
//! Every record acknowledged before the backup started is in the copy: an acknowledged
//! batch is on disk before its answer, so it lies within the size read at open.
//! With the server stopped the backup holds the data directory's lock during the copy.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use broker::config::BrokerConfig;
use broker::data_lock::DirLock;

/// What a backup copied.
#[derive(Default)]
struct Copied {
    /// Files copied.
    files: u64,
    /// Bytes copied.
    bytes: u64,
    /// Files that disappeared between listing and copying (retention).
    vanished: u64,
}

/// Files never copied: the lock, this run's operator secret, indexes (rebuilt) and a
/// compaction's or a rename's temporary files.
fn skipped(name: &str) -> bool {
    name == "lock"
        || name == "operator.secret"
        || name.ends_with(".index")
        || name.ends_with(".timeindex")
        || name.ends_with(".cleaned")
        || name.ends_with(".tmp")
}

/// Copies the data directory `from` to `to` (see the module doc) and recovers the copy.
pub(crate) fn run(from: &Path, to: &Path, config: &BrokerConfig) -> Result<()> {
    if to.exists() {
        bail!("{} already exists: give a new directory", to.display());
    }
    let lock = match DirLock::acquire(from) {
        Ok(lock) => Some(lock),
        Err(broker::Error::Locked(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let live = lock.is_none();
    let mut copied = Copied::default();
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    // Top-level files (cluster.id, pending e-mails), then the internal state.
    for entry in sorted_entries(from)? {
        let name = entry.file_name().to_string_lossy().to_string();
        if !entry.path().is_dir() && !skipped(&name) {
            copy_prefix(&entry.path(), &to.join(&name), &mut copied)?;
        }
    }
    copy_dir(&from.join("internal"), &to.join("internal"), &mut copied)?;
    // Topics: everything that refers to the directories, then the directories.
    let topics = from.join("topics");
    let directory = |name: &str| name.starts_with("bbs.boards-") || name.starts_with("bbs.users-");
    let mut parts: Vec<(bool, String)> = sorted_entries(&topics)?
        .into_iter()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .map(|n| (directory(&n), n))
        .collect();
    parts.sort();
    std::fs::create_dir_all(to.join("topics"))?;
    for (_, name) in parts {
        copy_dir(
            &topics.join(&name),
            &to.join("topics").join(&name),
            &mut copied,
        )?;
    }
    drop(lock);
    let (repairs, checked) = recover(to, config)?;
    println!(
        "backup ({}): {} files, {} bytes to {}{}",
        if live {
            "server running: each file copied up to its size when opened"
        } else {
            "server stopped"
        },
        copied.files,
        copied.bytes,
        to.display(),
        if copied.vanished > 0 {
            format!(
                " ({} files removed by retention during the copy)",
                copied.vanished
            )
        } else {
            String::new()
        }
    );
    // Indexes are not copied, so rebuilding them is expected: count those, show the rest
    // (a torn tail cut off, caught mid-write).
    let (indexes, others): (Vec<&String>, Vec<&String>) = repairs
        .iter()
        .partition(|r| r.ends_with("rebuilt missing or stale index"));
    if !indexes.is_empty() {
        println!("recovery: {} indexes rebuilt", indexes.len());
    }
    for r in others {
        println!("recovery: {r}");
    }
    println!("verified: {checked}");
    Ok(())
}

/// A directory's entries sorted by name (segments are named by zero-padded base offset,
/// so this is log order); a directory that vanished is empty.
fn sorted_entries(dir: &Path) -> Result<Vec<std::fs::DirEntry>> {
    let mut out = match std::fs::read_dir(dir) {
        Ok(rd) => rd.collect::<std::io::Result<Vec<_>>>()?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    out.sort_by_key(std::fs::DirEntry::file_name);
    Ok(out)
}

/// Copies a directory tree, each file up to its size when opened.
fn copy_dir(from: &Path, to: &Path, copied: &mut Copied) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in sorted_entries(from)? {
        let name = entry.file_name().to_string_lossy().to_string();
        if skipped(&name) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if src.is_dir() {
            copy_dir(&src, &dst, copied)?;
        } else {
            copy_prefix(&src, &dst, copied)?;
        }
    }
    Ok(())
}

/// Copies the first `len` bytes of `from`, `len` being its size once opened.
fn copy_prefix(from: &Path, to: &Path, copied: &mut Copied) -> Result<()> {
    let file = match File::open(from) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            copied.vanished += 1;
            return Ok(());
        }
        Err(e) => return Err(e).with_context(|| format!("opening {}", from.display())),
    };
    let len = file
        .metadata()
        .with_context(|| format!("reading the size of {}", from.display()))?
        .len();
    let mut out = File::create(to).with_context(|| format!("creating {}", to.display()))?;
    let n = std::io::copy(&mut file.take(len), &mut out)
        .with_context(|| format!("copying {}", from.display()))?;
    out.flush()?;
    out.sync_all()
        .with_context(|| format!("syncing {}", to.display()))?;
    copied.files += 1;
    copied.bytes += n;
    Ok(())
}

/// Opens the copy the way the server opens its data directory after a crash (cutting torn
/// tails, rebuilding indexes), then verifies every log. Returns the repairs made and a
/// one-line summary of the verification.
fn recover(dir: &Path, config: &BrokerConfig) -> Result<(Vec<String>, String)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let config = config.clone();
    let result = runtime.block_on(async {
        let (broker, repairs) = broker::Broker::open(config, dir)
            .with_context(|| format!("recovering the copy in {}", dir.display()))?;
        let (mut logs, mut batches, mut records) = (0u64, 0u64, 0u64);
        for topic in broker.logs().topics() {
            for p in &topic.partitions {
                let (b, r, problems) = p.verify()?;
                if !problems.is_empty() {
                    bail!(
                        "the copy of {}-{} has problems: {}",
                        topic.name,
                        p.index,
                        problems.join("; ")
                    );
                }
                logs += 1;
                batches += b;
                records += r;
            }
        }
        Ok((
            repairs,
            format!("{logs} logs, {batches} batches, {records} records, no problems"),
        ))
    });
    // The copy is not running: it keeps no operator secret of its own.
    let _ = std::fs::remove_file(dir.join("operator.secret"));
    result
}
