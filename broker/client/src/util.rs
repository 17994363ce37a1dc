//! Small helpers shared by the client modules: poison-tolerant locking and protocol string
//! constructors.

use std::sync::{Mutex, MutexGuard};

use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::StrBytes;

/// Locks `m`, recovering the data if a thread panicked while holding it (the client's
/// state stays usable; a panic elsewhere is reported there).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// A protocol string.
pub fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// A topic name.
pub fn tn(s: &str) -> TopicName {
    TopicName(sb(s))
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
