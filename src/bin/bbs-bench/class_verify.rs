//! The read-back of `bbs-bench class`: after the run, fresh sessions read everything the
//! students wrote (every post and its comments on every board; the mailbox of every mail
//! recipient, logged in as them), count each nonce found, and judge: an acknowledged write
//! must be present exactly once; one whose append failed at most once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bbs::backend::Backend;
use bbs::session::Session;
use parking_lot::Mutex;

use crate::class_session::{password, Kind, Ledger};

/// The outcome of the read-back.
#[derive(Debug, Default, Clone)]
pub(crate) struct Verdict {
    /// Acknowledged writes: found once, missing, found more than once.
    pub acked: usize,
    pub acked_lost: usize,
    pub acked_duplicated: usize,
    /// Writes whose append failed: found anyway (allowed once), found more than once.
    pub failed: usize,
    pub failed_present: usize,
    pub failed_duplicated: usize,
    /// Nonces found that the ledger does not know.
    pub unknown: usize,
}

impl Verdict {
    /// Whether nothing acknowledged was lost and nothing was stored twice.
    pub(crate) fn good(&self) -> bool {
        self.acked_lost == 0
            && self.acked_duplicated == 0
            && self.failed_duplicated == 0
            && self.unknown == 0
    }

    /// One line for the table.
    pub(crate) fn line(&self) -> String {
        let mut s = if self.good() {
            format!(
                "nothing acknowledged lost: {} acknowledged writes each present exactly once",
                self.acked
            )
        } else {
            format!(
                "FAILED: {} acknowledged writes lost, {} duplicated; {} failed writes duplicated; {} unknown",
                self.acked_lost, self.acked_duplicated, self.failed_duplicated, self.unknown
            )
        };
        if self.failed > 0 {
            s.push_str(&format!(
                "; {} of {} failed appends were stored anyway (once)",
                self.failed_present, self.failed
            ));
        }
        s
    }
}

/// Every `#n<digits>-<digits>#` in `text`.
pub(crate) fn nonces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("#n") {
        let tail = &rest[i..];
        let end = tail[2..].find('#').map(|j| j + 3);
        match end {
            Some(e)
                if tail[2..e - 1]
                    .split_once('-')
                    .is_some_and(|(a, b)| digits(a) && digits(b)) =>
            {
                out.push(&tail[..e]);
                rest = &tail[e..];
            }
            _ => rest = &tail[2..],
        }
    }
    out
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A session that has caught up with everything stored (retrying while the server settles
/// after a restart).
fn caught_up(backend: &dyn Backend, login: Option<(&str, &str)>) -> Result<Session> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let attempt = (|| -> bbs::Result<Session> {
            let mut s = Session::new(backend.connect()?);
            if let Some((u, p)) = login {
                s.login(u, p)?;
            }
            s.check_link()?;
            Ok(s)
        })();
        match attempt {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() > deadline => {
                return Err(e).context("reader could not catch up")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

/// Reads everything back and judges the ledger.
pub(crate) fn verify(
    backend: Arc<dyn Backend>,
    boards: &[String],
    ledger: &Ledger,
    threads: usize,
) -> Result<Verdict> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let reader = caught_up(backend.as_ref(), None)?;
    for b in boards {
        for p in reader.posts(b, None).unwrap_or_default() {
            let full = reader.read(&p.id.to_string()).unwrap_or(p);
            let mut texts = vec![full.body.clone()];
            texts.extend(full.comments.iter().map(|c| c.body.clone()));
            for t in &texts {
                for n in nonces(t) {
                    *seen.entry(n.to_string()).or_default() += 1;
                }
            }
        }
    }
    drop(reader);
    let writes = ledger.writes.lock().clone();
    let mut recipients: Vec<String> = writes
        .values()
        .filter(|(k, _, _)| *k == Kind::Mail)
        .filter_map(|(_, _, to)| to.clone())
        .collect();
    recipients.sort();
    recipients.dedup();
    let queue = Mutex::new(recipients);
    let found = Mutex::new(HashMap::<String, usize>::new());
    let errors = Mutex::new(Vec::<String>::new());
    std::thread::scope(|sc| {
        for _ in 0..threads.max(1) {
            sc.spawn(|| loop {
                let Some(user) = queue.lock().pop() else {
                    return;
                };
                let pw = password(&user);
                match caught_up(backend.as_ref(), Some((&user, &pw)))
                    .and_then(|s| s.mails().map_err(|e| anyhow::anyhow!("{user}'s mail: {e}")))
                {
                    Ok(rows) => {
                        let mut f = found.lock();
                        for r in rows {
                            for n in nonces(&r.mail.body) {
                                *f.entry(n.to_string()).or_default() += 1;
                            }
                        }
                    }
                    Err(e) => errors.lock().push(format!("{user}: {e:#}")),
                }
            });
        }
    });
    if let Some(e) = errors.lock().first() {
        bail!("reading mailboxes back: {e}");
    }
    for (n, c) in found.into_inner() {
        *seen.entry(n).or_default() += c;
    }
    let mut v = Verdict::default();
    for (n, (_, acked, _)) in &writes {
        let c = seen.remove(n).unwrap_or(0);
        if *acked {
            v.acked += 1;
            v.acked_lost += usize::from(c == 0);
            v.acked_duplicated += usize::from(c > 1);
        } else {
            v.failed += 1;
            v.failed_present += usize::from(c == 1);
            v.failed_duplicated += usize::from(c > 1);
        }
    }
    v.unknown = seen.len();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_nonce_and_nothing_else() {
        assert_eq!(
            nonces("a #n1-2# b #n#x #n3-# #n10-20##n4-5#"),
            vec!["#n1-2#", "#n10-20#", "#n4-5#"]
        );
        assert!(nonces("no nonce here #").is_empty());
    }

    #[test]
    fn a_failed_write_may_be_present_once_never_twice() {
        let v = Verdict {
            failed: 2,
            failed_present: 1,
            ..Verdict::default()
        };
        assert!(v.good());
        let v = Verdict {
            failed_duplicated: 1,
            ..v
        };
        assert!(!v.good());
    }
}
