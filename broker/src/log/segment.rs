//! One segment of a partition log: a file `<base offset, 20 digits>.log` holding raw v2
//! batches back to back, plus its sparse indexes. Opening a segment recovers it: a torn or
//! corrupt tail is cut off and indexes that are missing or stale are rebuilt.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use super::index::{Indexes, OffsetEntry, TimeEntry};
use crate::error::{Error, IoContext, Result};
use crate::record::{self, BatchHeader, HEADER_LEN, LOG_OVERHEAD};

/// Bytes of batch data between two offset-index entries.
pub const INDEX_INTERVAL: u64 = 4096;

/// Largest offset relative to the segment base that a batch may reach (indexes store
/// relative offsets as u32; partitions roll well before this).
pub const MAX_RELATIVE_OFFSET: i64 = u32::MAX as i64 / 2;

/// A segment file and what the broker knows about it.
#[derive(Debug)]
pub struct Segment {
    /// Offset of the first batch this segment may hold; names the file.
    pub base: i64,
    /// Offset after the last batch (== `base` when empty).
    pub next_offset: i64,
    /// Bytes of whole batches in the file.
    pub size: u64,
    /// Largest batch timestamp, for retention and time lookups (-1 when empty).
    pub max_timestamp: i64,
    /// Wall-clock ms when the segment was created or opened, for rolling by age.
    pub created_ms: i64,
    /// The file, shared with the flusher (fsync) and readers (pread).
    pub file: Arc<File>,
    /// Sparse offset and time indexes.
    pub indexes: Indexes,
    /// Path of the `.log` file.
    pub path: PathBuf,
    bytes_since_index: u64,
}

/// What opening a segment had to repair.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Repair {
    /// Bytes cut off the end because they were not whole, valid batches.
    pub truncated_bytes: u64,
    /// Whether the indexes had to be rebuilt.
    pub rebuilt_index: bool,
}

/// The file name of the segment with this base offset.
pub fn file_name(base: i64) -> String {
    format!("{base:020}.log")
}

impl Segment {
    /// Creates a new empty segment.
    pub fn create(dir: &Path, base: i64, now_ms: i64) -> Result<Self> {
        let path = dir.join(file_name(base));
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(true)
            .open(&path)
            .ctx(|| format!("creating segment {}", path.display()))?;
        let indexes = Indexes::create(&path)?;
        Ok(Segment {
            base,
            next_offset: base,
            size: 0,
            max_timestamp: -1,
            created_ms: now_ms,
            file: Arc::new(file),
            indexes,
            path,
            bytes_since_index: 0,
        })
    }

    /// Opens and recovers an existing segment. `verify` scans every batch with its CRC (done
    /// for the last segment, where a crash can leave a torn tail); otherwise trusted indexes
    /// are used when they agree with the file.
    pub fn open(path: &Path, base: i64, verify: bool, now_ms: i64) -> Result<(Self, Repair)> {
        Self::open_inner(path, base, verify, false, now_ms)
    }

    /// Opens and recovers the last (active) segment of a partition: every batch is checked
    /// with its CRC and must continue exactly where the previous one ended. Only appends
    /// write this segment (compaction never touches it), so a gap can only be a damaged
    /// base offset, which the CRC does not cover.
    pub fn open_active(path: &Path, base: i64, now_ms: i64) -> Result<(Self, Repair)> {
        Self::open_inner(path, base, true, true, now_ms)
    }

    fn open_inner(
        path: &Path,
        base: i64,
        verify: bool,
        contiguous: bool,
        now_ms: i64,
    ) -> Result<(Self, Repair)> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .ctx(|| format!("opening segment {}", path.display()))?;
        let len = file
            .metadata()
            .ctx(|| format!("stat {}", path.display()))?
            .len();
        let mut repair = Repair::default();
        let (offset_index, time_index) = Indexes::paths(path);
        let index_missing = len > 0 && !(offset_index.exists() && time_index.exists());
        let loaded = if verify {
            None
        } else {
            Indexes::load(path, len)?
        };
        let mut seg = Segment {
            base,
            next_offset: base,
            size: len,
            max_timestamp: -1,
            created_ms: now_ms,
            file: Arc::new(file),
            indexes: match loaded {
                Some(ix) => ix,
                None => {
                    // The last segment is always re-indexed by its full scan; report that
                    // only when its index files were missing.
                    repair.rebuilt_index = !verify || index_missing;
                    Indexes::create(path)?
                }
            },
            path: path.to_path_buf(),
            bytes_since_index: 0,
        };
        if seg.indexes.offsets.is_empty() && len > 0 || verify {
            // Scan the whole file, rebuilding both indexes.
            seg.indexes = Indexes::create(path)?;
            let valid_end = seg.scan_from(0, verify, contiguous, true)?;
            if valid_end < len {
                seg.cut_tail(valid_end)?;
                repair.truncated_bytes = len - valid_end;
            }
        } else {
            // Trust the index up to its last entry, then walk the remaining headers.
            let from = seg
                .indexes
                .offsets
                .last()
                .map(|e| u64::from(e.position))
                .unwrap_or(0);
            seg.max_timestamp = seg.indexes.times.last().map(|t| t.timestamp).unwrap_or(-1);
            let valid_end = seg.scan_from(from, false, false, false)?;
            if valid_end < len {
                seg.cut_tail(valid_end)?;
                repair.truncated_bytes = len - valid_end;
            }
        }
        Ok((seg, repair))
    }

    /// Walks batch headers from `pos` to the end of the file, updating `next_offset`,
    /// `max_timestamp` and (when `index` is set) the indexes. Returns where valid data ends.
    fn scan_from(
        &mut self,
        mut pos: u64,
        check_crc: bool,
        contiguous: bool,
        index: bool,
    ) -> Result<u64> {
        let file = Arc::clone(&self.file);
        let mut reader = BufReader::with_capacity(1 << 16, file.as_ref());
        reader
            .seek(SeekFrom::Start(pos))
            .ctx(|| format!("seeking in {}", self.path.display()))?;
        let mut buf = vec![0u8; HEADER_LEN];
        loop {
            buf.resize(HEADER_LEN, 0);
            if !read_full(&mut reader, &mut buf[..])? {
                return Ok(pos);
            }
            // Neither the base offset nor the length is covered by the CRC: a batch must
            // lie within the file, start at or after the previous one's end (exactly there
            // when `contiguous`), and stay within the relative-offset range of the index.
            let header = match record::parse_header(&buf) {
                Ok(h)
                    if h.base_offset >= self.next_offset
                        && (!contiguous || h.base_offset == self.next_offset)
                        && h.last_offset() - self.base <= MAX_RELATIVE_OFFSET
                        && pos + h.size as u64 <= self.size =>
                {
                    h
                }
                _ => return Ok(pos),
            };
            if check_crc {
                buf.resize(header.size, 0);
                if !read_full(&mut reader, &mut buf[HEADER_LEN..])? {
                    return Ok(pos);
                }
                if record::validate(&buf).is_err() {
                    return Ok(pos);
                }
            } else {
                let rest = (header.size - HEADER_LEN) as i64;
                let end = pos + header.size as u64;
                if end > self.size {
                    return Ok(pos);
                }
                reader
                    .seek_relative(rest)
                    .ctx(|| format!("seeking in {}", self.path.display()))?;
            }
            if index {
                self.index_batch(&header, pos);
            } else {
                self.max_timestamp = self.max_timestamp.max(header.max_timestamp);
            }
            self.next_offset = header.next_offset();
            pos += header.size as u64;
        }
    }

    fn cut_tail(&mut self, valid_end: u64) -> Result<()> {
        self.file
            .set_len(valid_end)
            .ctx(|| format!("truncating {}", self.path.display()))?;
        self.file
            .sync_all()
            .ctx(|| format!("syncing {}", self.path.display()))?;
        self.size = valid_end;
        let rel = (self.next_offset - self.base).max(0) as u32;
        self.indexes
            .truncate_to(valid_end as u32, rel.saturating_add(1))
    }

    /// Indexes one batch. Index files are only an accelerator, rebuilt from the segment when
    /// missing or inconsistent, so a failed index write (a full disk) is logged and the
    /// append still counts: the in-memory index stays right.
    fn index_batch(&mut self, header: &BatchHeader, pos: u64) {
        let rel = (header.base_offset - self.base) as u32;
        if self.indexes.offsets.is_empty() || self.bytes_since_index >= INDEX_INTERVAL {
            if let Err(e) = self.indexes.push_offset(OffsetEntry {
                rel_offset: rel,
                position: pos as u32,
            }) {
                tracing::warn!(error = %e, "offset index write failed; it will be rebuilt");
            }
            self.bytes_since_index = 0;
        }
        self.bytes_since_index += header.size as u64;
        if header.max_timestamp > self.max_timestamp {
            self.max_timestamp = header.max_timestamp;
            if let Err(e) = self.indexes.push_time(TimeEntry {
                timestamp: header.max_timestamp,
                rel_offset: rel,
            }) {
                tracing::warn!(error = %e, "time index write failed; it will be rebuilt");
            }
        }
    }

    /// Appends already-validated batches (offsets assigned) in one write. On failure the
    /// file is cut back to where it was, so the log stays consistent.
    pub fn append(&mut self, data: &[u8], headers: &[BatchHeader]) -> Result<()> {
        let start = self.size;
        // Positional write at the logical end: the file cursor is not trustworthy (recovery
        // scans move it, and cutting a torn tail does not move it back), and a cursor write
        // after a cut would leave a hole of zeros before the new batch.
        if let Err(e) = self.file.write_all_at(data, start) {
            let _ = self.file.set_len(start);
            return Err(Error::io(
                format!("appending to {}", self.path.display()),
                e,
            ));
        }
        let mut pos = start;
        for h in headers {
            self.index_batch(h, pos);
            pos += h.size as u64;
            self.next_offset = h.next_offset();
        }
        self.size = pos;
        Ok(())
    }

    /// Reads `len` bytes at `pos`.
    pub fn read_at(&self, pos: u64, len: usize) -> Result<Bytes> {
        let mut buf = BytesMut::zeroed(len);
        self.file
            .read_exact_at(&mut buf, pos)
            .ctx(|| format!("reading {}", self.path.display()))?;
        Ok(buf.freeze())
    }

    /// Finds the first batch whose last offset is >= `offset`, returning its position and
    /// header, or `None` if the segment has nothing at or after it.
    pub fn find(&self, offset: i64) -> Result<Option<(u64, BatchHeader)>> {
        let rel = (offset - self.base).clamp(0, i64::from(u32::MAX)) as u32;
        let mut pos = u64::from(self.indexes.position_for(rel));
        let mut head = [0u8; HEADER_LEN];
        while pos + HEADER_LEN as u64 <= self.size {
            self.file
                .read_exact_at(&mut head, pos)
                .ctx(|| format!("reading {}", self.path.display()))?;
            let header = record::parse_header(&head)?;
            if header.last_offset() >= offset {
                return Ok(Some((pos, header)));
            }
            pos += header.size as u64;
        }
        Ok(None)
    }

    /// Reads whole batches starting at the one holding `offset`, stopping before a batch that
    /// reaches `limit_offset` or would pass `max_bytes` (the first batch is always whole).
    pub fn read(&self, offset: i64, max_bytes: usize, limit_offset: i64) -> Result<Option<Bytes>> {
        let Some((pos, first)) = self.find(offset)? else {
            return Ok(None);
        };
        if first.next_offset() > limit_offset {
            return Ok(None);
        }
        let want = (max_bytes.max(first.size) as u64).min(self.size - pos) as usize;
        let chunk = self.read_at(pos, want)?;
        let mut end = 0usize;
        while end + LOG_OVERHEAD <= chunk.len() {
            let Some(size) = record::peek_size(&chunk[end..])? else {
                break;
            };
            if end + size > chunk.len() || end + HEADER_LEN > chunk.len() {
                break;
            }
            let h = record::parse_header(&chunk[end..])?;
            if h.next_offset() > limit_offset {
                break;
            }
            end += size;
        }
        Ok(Some(chunk.slice(..end)))
    }

    /// Flushes the file's data to disk.
    pub fn sync(&self) -> Result<()> {
        self.file
            .sync_data()
            .ctx(|| format!("fsync {}", self.path.display()))
    }

    /// Deletes the segment's files.
    pub fn remove_files(&self) -> Result<()> {
        self.indexes.remove_files();
        std::fs::remove_file(&self.path).ctx(|| format!("deleting {}", self.path.display()))
    }
}

/// Reads exactly `buf.len()` bytes, or returns `false` at end of file.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]) {
            Ok(0) => return Ok(false),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("reading segment", e)),
        }
    }
    Ok(true)
}

/// Fsyncs a directory so a new or renamed file in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx(|| format!("fsync directory {}", dir.display()))
}
