//! Durable replacement of a small file: the one way the client writes state it keeps on
//! this machine (drafts, the last server and user, the theme). The new contents go to a
//! temporary file in the same directory, are flushed to disk (`fsync`), and replace the old
//! file by a rename, and then the directory itself is flushed so the rename survives a
//! power cut. A reader therefore sees the old file or the new one, never half of one, and
//! a crash at any point loses at most the change being written.

use std::io::Write;
use std::path::Path;

/// Replaces `path` with `contents` durably, creating its directory if needed. On error the
/// old file (if any) is untouched and no temporary file is left behind.
pub fn write(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    // In the same directory, so the rename stays on one file system (and so is atomic).
    let mut tmp = tempfile::Builder::new()
        .prefix(".bbs-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Flushes a directory's entries (the rename) to disk. Only Unix can open a directory for
/// this; elsewhere the rename is as durable as the platform makes it.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn creates_replaces_and_leaves_no_temporary_file() {
        let root = tempfile::tempdir().expect("temp dir");
        let path = root.path().join("a/b/state.toml");
        write(&path, b"first").expect("first write");
        assert_eq!(std::fs::read(&path).expect("read"), b"first");
        write(&path, "第二 second".as_bytes()).expect("second write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "第二 second");
        assert_eq!(names(&root.path().join("a/b")), ["state.toml"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let root = tempfile::tempdir().expect("temp dir");
        let path = root.path().join("state.toml");
        write(&path, b"old").expect("first write");
        // A directory where the file should go: the rename fails.
        let blocked = root.path().join("blocked");
        std::fs::create_dir(&blocked).expect("mkdir");
        std::fs::write(blocked.join("x"), b"keep").expect("fill");
        assert!(write(&blocked, b"new").is_err());
        assert_eq!(std::fs::read(&path).expect("read"), b"old");
        assert_eq!(std::fs::read(blocked.join("x")).expect("read"), b"keep");
        assert_eq!(names(root.path()), ["blocked", "state.toml"]);
    }
}
