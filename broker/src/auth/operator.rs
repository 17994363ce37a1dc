//! The operator principal: at start the server makes a random secret, writes it to
//! `<data>/operator.secret` (mode 0600, readable only by the account running the server)
//! and accepts it as the SCRAM password of the reserved user `__operator`. The file's
//! second line is the address the server listens on (loopback for a wildcard listener).
//! The `users` CLI reads the file and logs in with it to manage accounts while the server
//! runs.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::scram::{random_bytes, ScramKeys, DEFAULT_ITERATIONS};
use crate::error::{IoContext, Result};

pub use safe_text::names::OPERATOR_USER;
/// The secret file's name inside the data directory.
pub const SECRET_FILE: &str = "operator.secret";

/// Where the secret lives.
pub fn secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SECRET_FILE)
}

/// Makes a fresh secret, writes it and the server's address `listen` (0600, atomically)
/// and returns the secret's SCRAM keys.
pub fn create_secret(data_dir: &Path, listen: SocketAddr) -> Result<ScramKeys> {
    let secret: String = random_bytes(32)?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = secret_path(data_dir);
    let tmp = data_dir.join(format!("{SECRET_FILE}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .ctx(|| format!("creating {}", tmp.display()))?;
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    f.write_all(format!("{secret}\n{addr}\n").as_bytes())
        .and_then(|()| f.sync_all())
        .ctx(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).ctx(|| format!("renaming to {}", path.display()))?;
    ScramKeys::from_password(secret.as_bytes(), DEFAULT_ITERATIONS)
}

/// Reads the secret and address a running server wrote.
pub fn read_secret(data_dir: &Path) -> Result<(String, String)> {
    let path = secret_path(data_dir);
    let s = std::fs::read_to_string(&path).ctx(|| format!("reading {}", path.display()))?;
    let mut lines = s.lines();
    match (lines.next(), lines.next()) {
        (Some(secret), Some(addr)) if !secret.is_empty() => {
            Ok((secret.trim().to_string(), addr.trim().to_string()))
        }
        _ => Err(crate::Error::BadFile {
            path,
            reason: "expected the secret and the address on two lines".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn secret_file_is_private_and_matches_the_keys() {
        let dir = tempfile::tempdir().expect("tmp");
        let listen: SocketAddr = "0.0.0.0:9092".parse().expect("addr");
        let keys = create_secret(dir.path(), listen).expect("create");
        let meta = std::fs::metadata(secret_path(dir.path())).expect("meta");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let (secret, addr) = read_secret(dir.path()).expect("read");
        assert!(keys.verify_password(secret.as_bytes()));
        assert_eq!(addr, "127.0.0.1:9092");
        let again = create_secret(dir.path(), listen).expect("again");
        assert_ne!(again, keys);
    }
}
