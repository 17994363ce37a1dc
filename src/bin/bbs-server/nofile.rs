//! The open-file limit: every client connection is a file descriptor, so a server allowed
//! `max_connections` connections needs a soft `RLIMIT_NOFILE` of at least that plus
//! headroom for segment and index files. At start the soft limit is raised toward the hard
//! limit when it is too low ([`decide`] is the pure decision, [`ensure`] applies it), with
//! one INFO line giving the old and new limits, or a WARN naming the setting and the
//! command (`ulimit -n`) when the hard limit is too low.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Descriptors kept for everything that is not a client connection: segment, index and
/// state files, the listener, the runtime.
pub(crate) const HEADROOM: u64 = 1024;

/// What to do about the soft limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// The soft limit already fits.
    Keep,
    /// Raise the soft limit to this (fits within the hard limit).
    Raise(u64),
    /// Raise to the hard limit, which is still short of what is needed.
    RaiseShort(u64),
    /// The soft limit is already at the hard limit and short of what is needed.
    Short,
}

/// Descriptors `max_connections` connections need, with [`HEADROOM`].
pub(crate) fn needed(max_connections: usize) -> u64 {
    (max_connections as u64).saturating_add(HEADROOM)
}

/// Decides from `needed` descriptors and the current `soft` / `hard` limits.
pub(crate) fn decide(needed: u64, soft: u64, hard: u64) -> Action {
    if soft >= needed {
        Action::Keep
    } else if hard >= needed {
        Action::Raise(needed)
    } else if hard > soft {
        Action::RaiseShort(hard)
    } else {
        Action::Short
    }
}

fn get() -> (u64, u64) {
    let lim = getrlimit(Resource::Nofile);
    (
        lim.current.unwrap_or(u64::MAX),
        lim.maximum.unwrap_or(u64::MAX),
    )
}

fn set_soft(soft: u64, hard: u64) -> std::io::Result<()> {
    let lim = Rlimit {
        current: Some(soft),
        maximum: (hard != u64::MAX).then_some(hard),
    };
    setrlimit(Resource::Nofile, lim).map_err(std::io::Error::from)
}

/// Raises the soft open-file limit to fit `max_connections` when needed, and says so.
pub(crate) fn ensure(max_connections: usize) {
    let need = needed(max_connections);
    let (soft, hard) = get();
    let short = |have: u64| {
        tracing::warn!(
            limit = have,
            needed = need,
            max_connections,
            "the open-file limit is below what max_connections needs: connections past it will fail; raise it (ulimit -n {need}, or LimitNOFILE= in a systemd unit) or lower max_connections"
        );
    };
    match decide(need, soft, hard) {
        Action::Keep => {}
        Action::Short => short(soft),
        Action::Raise(to) | Action::RaiseShort(to) => match set_soft(to, hard) {
            Ok(()) => {
                tracing::info!(
                    old = soft,
                    new = to,
                    hard,
                    max_connections,
                    "raised the open-file limit (ulimit -n) to fit max_connections"
                );
                if to < need {
                    short(to);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not raise the open-file limit");
                short(soft);
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{decide, needed, Action, HEADROOM};

    #[test]
    fn decision_from_needed_and_limits() {
        assert_eq!(needed(16384), 16384 + HEADROOM);
        assert_eq!(decide(100, 100, 200), Action::Keep);
        assert_eq!(decide(100, 1000, 1000), Action::Keep);
        assert_eq!(decide(150, 100, 200), Action::Raise(150));
        assert_eq!(decide(150, 100, 150), Action::Raise(150));
        assert_eq!(decide(300, 100, 200), Action::RaiseShort(200));
        assert_eq!(decide(300, 200, 200), Action::Short);
        assert_eq!(decide(300, 100, u64::MAX), Action::Raise(300));
    }
}
