//! The data directory lock: an exclusive advisory lock (`flock`) on `<data>/lock`, held
//! by the server for its lifetime, by the offline `users` CLI while it edits the
//! credential log and by `check` while it reads the logs, so two writers never run at
//! once and nothing is checked while being written. The OS drops it when the process
//! dies, so a `kill -9` leaves no stale lock.

use std::fs::{File, OpenOptions};
use std::path::Path;

use crate::error::{Error, IoContext, Result};

/// Holds the lock until dropped.
#[derive(Debug)]
pub struct DirLock {
    /// The locked file; closing it releases the lock.
    _file: File,
}

impl DirLock {
    /// Takes the lock, or fails with [`Error::Locked`] when another process holds it.
    pub fn acquire(data_dir: &Path) -> Result<DirLock> {
        let path = data_dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .ctx(|| format!("opening {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked(data_dir.to_path_buf())),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(Error::io(format!("locking {}", path.display()), e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_the_first_drops() {
        let dir = tempfile::tempdir().expect("tmp");
        let first = DirLock::acquire(dir.path()).expect("first");
        assert!(matches!(
            DirLock::acquire(dir.path()),
            Err(Error::Locked(_))
        ));
        drop(first);
        DirLock::acquire(dir.path()).expect("again");
    }
}
