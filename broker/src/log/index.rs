//! Sparse indexes of one segment: the offset index (relative offset → file position) and the
//! time index (max timestamp so far → relative offset). Entries live in memory and are
//! appended to their files; files are checked when a segment is opened and rebuilt from the
//! segment when they are missing or do not agree with it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

/// One offset-index entry: the batch starting at `position` has base `base + rel_offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetEntry {
    /// Offset relative to the segment base.
    pub rel_offset: u32,
    /// Byte position of the batch in the segment file.
    pub position: u32,
}

/// One time-index entry: every batch up to and including the one at `rel_offset` has a
/// timestamp no greater than `timestamp`, and that batch is the first to reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    /// Largest timestamp seen so far in the segment.
    pub timestamp: i64,
    /// Relative base offset of the batch that first reached it.
    pub rel_offset: u32,
}

/// Which index file.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Offset,
    Time,
}

/// Both indexes of one segment.
#[derive(Debug)]
pub struct Indexes {
    /// Offset index entries, increasing.
    pub offsets: Vec<OffsetEntry>,
    /// Time index entries, increasing in both fields.
    pub times: Vec<TimeEntry>,
    offset_path: PathBuf,
    time_path: PathBuf,
    offset_file: Option<File>,
    time_file: Option<File>,
    /// Set when an append to a file failed (a full disk): later entries are kept in memory
    /// only, so a torn entry is never followed by misaligned ones. A torn or short file is
    /// rebuilt or merely sparser when loaded; `rewrite` clears this.
    broken: bool,
}

impl Indexes {
    /// Paths of the index files that belong to a segment file.
    pub fn paths(segment: &Path) -> (PathBuf, PathBuf) {
        (
            segment.with_extension("index"),
            segment.with_extension("timeindex"),
        )
    }

    /// An empty index whose files are (re)written from scratch.
    pub fn create(segment: &Path) -> Result<Self> {
        let (offset_path, time_path) = Self::paths(segment);
        let offset_file = Some(truncate_open(&offset_path)?);
        let time_file = Some(truncate_open(&time_path)?);
        Ok(Indexes {
            offsets: Vec::new(),
            times: Vec::new(),
            offset_path,
            time_path,
            offset_file,
            time_file,
            broken: false,
        })
    }

    /// Loads the index files of a segment, returning `None` when either is missing or is not a
    /// whole number of well-ordered entries within `segment_len` (then rebuild instead).
    pub fn load(segment: &Path, segment_len: u64) -> Result<Option<Self>> {
        let (offset_path, time_path) = Self::paths(segment);
        let (Ok(ob), Ok(tb)) = (std::fs::read(&offset_path), std::fs::read(&time_path)) else {
            return Ok(None);
        };
        if ob.len() % 8 != 0 || tb.len() % 12 != 0 {
            return Ok(None);
        }
        let offsets: Vec<OffsetEntry> = ob
            .chunks_exact(8)
            .map(|c| OffsetEntry {
                rel_offset: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                position: u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        let times: Vec<TimeEntry> = tb
            .chunks_exact(12)
            .map(|c| TimeEntry {
                timestamp: i64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
                rel_offset: u32::from_be_bytes([c[8], c[9], c[10], c[11]]),
            })
            .collect();
        let ordered = offsets
            .windows(2)
            .all(|w| w[0].rel_offset < w[1].rel_offset && w[0].position < w[1].position)
            && times
                .windows(2)
                .all(|w| w[0].timestamp <= w[1].timestamp && w[0].rel_offset <= w[1].rel_offset)
            && offsets
                .iter()
                .all(|e| u64::from(e.position) < segment_len.max(1));
        if !ordered {
            return Ok(None);
        }
        Ok(Some(Indexes {
            offsets,
            times,
            offset_path,
            time_path,
            offset_file: None,
            time_file: None,
            broken: false,
        }))
    }

    /// Appends an offset entry (in memory, and on disk unless a write failed before).
    pub fn push_offset(&mut self, entry: OffsetEntry) -> Result<()> {
        self.offsets.push(entry);
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&entry.rel_offset.to_be_bytes());
        bytes[4..].copy_from_slice(&entry.position.to_be_bytes());
        if self.broken {
            return Ok(());
        }
        let written = open_append(&mut self.offset_file, &self.offset_path)
            .and_then(|f| f.write_all(&bytes).ctx(|| "writing".to_string()));
        written.map_err(|e| self.fail(e, Kind::Offset))
    }

    fn fail(&mut self, e: crate::error::Error, kind: Kind) -> crate::error::Error {
        self.broken = true;
        let path = match kind {
            Kind::Offset => &self.offset_path,
            Kind::Time => &self.time_path,
        };
        crate::error::Error::BadFile {
            path: path.clone(),
            reason: format!("index append failed: {e}"),
        }
    }

    /// Appends a time entry if it raises the largest timestamp.
    pub fn push_time(&mut self, entry: TimeEntry) -> Result<()> {
        if self
            .times
            .last()
            .is_some_and(|last| last.timestamp >= entry.timestamp)
        {
            return Ok(());
        }
        self.times.push(entry);
        let mut bytes = [0u8; 12];
        bytes[..8].copy_from_slice(&entry.timestamp.to_be_bytes());
        bytes[8..].copy_from_slice(&entry.rel_offset.to_be_bytes());
        if self.broken {
            return Ok(());
        }
        let written = open_append(&mut self.time_file, &self.time_path)
            .and_then(|f| f.write_all(&bytes).ctx(|| "writing".to_string()));
        written.map_err(|e| self.fail(e, Kind::Time))
    }

    /// The position of the last indexed batch whose base is at or before `rel_offset`.
    pub fn position_for(&self, rel_offset: u32) -> u32 {
        let i = self.offsets.partition_point(|e| e.rel_offset <= rel_offset);
        if i == 0 {
            0
        } else {
            self.offsets[i - 1].position
        }
    }

    /// The relative offset of the first indexed batch that may hold a timestamp >= `ts`.
    pub fn rel_offset_for_time(&self, ts: i64) -> Option<u32> {
        let i = self.times.partition_point(|e| e.timestamp < ts);
        // The batch that first reached a timestamp >= ts is at entry i; every batch before
        // the previous entry is below ts.
        if i >= self.times.len() {
            return None;
        }
        Some(if i == 0 {
            0
        } else {
            self.times[i - 1].rel_offset
        })
    }

    /// Drops entries at or beyond `position` (after a tail was cut) and rewrites the files.
    pub fn truncate_to(&mut self, position: u32, first_rel_beyond: u32) -> Result<()> {
        self.offsets.retain(|e| e.position < position);
        self.times.retain(|e| e.rel_offset < first_rel_beyond);
        self.rewrite()
    }

    /// Rewrites both files from the in-memory entries.
    pub fn rewrite(&mut self) -> Result<()> {
        let mut ob = Vec::with_capacity(self.offsets.len() * 8);
        for e in &self.offsets {
            ob.extend_from_slice(&e.rel_offset.to_be_bytes());
            ob.extend_from_slice(&e.position.to_be_bytes());
        }
        let mut tb = Vec::with_capacity(self.times.len() * 12);
        for e in &self.times {
            tb.extend_from_slice(&e.timestamp.to_be_bytes());
            tb.extend_from_slice(&e.rel_offset.to_be_bytes());
        }
        std::fs::write(&self.offset_path, ob)
            .ctx(|| format!("writing {}", self.offset_path.display()))?;
        std::fs::write(&self.time_path, tb)
            .ctx(|| format!("writing {}", self.time_path.display()))?;
        self.offset_file = None;
        self.time_file = None;
        self.broken = false;
        Ok(())
    }

    /// Deletes the index files.
    pub fn remove_files(&self) {
        let _ = std::fs::remove_file(&self.offset_path);
        let _ = std::fs::remove_file(&self.time_path);
    }
}

fn truncate_open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .ctx(|| format!("creating {}", path.display()))
}

fn open_append<'a>(slot: &'a mut Option<File>, path: &Path) -> Result<&'a mut File> {
    let file = match slot.take() {
        Some(f) => f,
        None => OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ctx(|| format!("opening {}", path.display()))?,
    };
    Ok(slot.insert(file))
}
