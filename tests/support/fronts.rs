//! Two front servers over one upstream, for the tests of front mode (tests/front_bbs.rs,
//! tests/front_server.rs): the upstream of tests/support/upstream.rs (our own
//! `bbs-server --plain` whose only account is the service account, or the external
//! cluster `BBS_FRONT_UPSTREAM` names), and front servers A and B logging in to it with
//! the service account's settings. For the BBS scenarios each front has a classic port
//! and dates in UTC, and A starts first and is waited for until it holds the BBS's order
//! (the sequencer), so tests know which front that is. With `BBS_FRONT_LOGS=DIR` the
//! fronts' logs are copied into DIR when the test ends (scripts/scaleout-tansu.sh keeps
//! them).
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use crate::common::TestServer;
use crate::upstream::{add_user, Upstream};

/// What a front server logs when it becomes the sequencer.
pub(crate) const SEQUENCER: &str = "this server now puts the BBS's writes in order";

/// How the fronts start.
pub(crate) struct Setup<'a> {
    /// A classic port on each front and dates in UTC (the BBS scenarios).
    pub(crate) bbs: bool,
    /// Accounts added to A's data directory before it starts (A seeds the shared
    /// credential topic with them, B learns them from it).
    pub(crate) a_users: &'a [(&'a str, &'a str)],
    /// Wait until A is the sequencer before starting B.
    pub(crate) a_sequences: bool,
}

/// The upstream and the two fronts.
pub(crate) struct Fronts {
    pub(crate) upstream: Upstream,
    pub(crate) a: TestServer,
    pub(crate) b: TestServer,
    pub(crate) dirs: tempfile::TempDir,
}

impl Fronts {
    /// The BBS scenarios' setup: the upstream, then A with a classic port (waiting until
    /// it is the sequencer), then B.
    pub(crate) fn start() -> Fronts {
        Fronts::start_with(&Setup {
            bbs: true,
            a_users: &[],
            a_sequences: true,
        })
    }

    /// The upstream, then A, then B, as `setup` says.
    pub(crate) fn start_with(setup: &Setup) -> Fronts {
        let dirs = tempfile::tempdir().expect("tempdir");
        let upstream = Upstream::start(dirs.path());
        let mut extra = upstream.front_args();
        if setup.bbs {
            let conf = dirs.path().join("front.toml");
            std::fs::write(
                &conf,
                "[bbs]\nclassic_listen = \"127.0.0.1:0\"\ntimezone = \"UTC\"\n",
            )
            .expect("write config");
            extra.push("--config".into());
            extra.push(conf.to_str().expect("utf8").into());
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let front = |name: &str, users: &[(&str, &str)]| -> TestServer {
            let data: PathBuf = dirs.path().join(name);
            std::fs::create_dir_all(&data).expect("mkdir");
            for (user, password) in users {
                add_user(&data, user, password);
            }
            TestServer::start_with_data(&data, &extra)
        };
        let a = front("front-a", setup.a_users);
        if setup.a_sequences {
            assert!(
                a.wait_for_log(SEQUENCER, Duration::from_secs(30)),
                "front A never became the sequencer:\n{}",
                a.log_text()
            );
        }
        let b = front("front-b", &[]);
        Fronts {
            upstream,
            a,
            b,
            dirs,
        }
    }
}

impl Drop for Fronts {
    fn drop(&mut self) {
        let Some(dir) = std::env::var_os("BBS_FRONT_LOGS").map(PathBuf::from) else {
            return;
        };
        let _ = std::fs::create_dir_all(&dir);
        for (name, front) in [("front-a.log", &self.a), ("front-b.log", &self.b)] {
            let _ = std::fs::copy(&front.log, dir.join(name));
        }
    }
}

/// What a front server logs when it stops being the sequencer.
pub(crate) const NOT_SEQUENCER: &str = "another server puts the BBS's writes in order now";

/// Whether `s`'s current process is the sequencer, by what it logged last.
pub(crate) fn leads(s: &TestServer) -> bool {
    let text = s.log_text();
    let since = text.get(s.log_mark as usize..).unwrap_or("");
    match (since.rfind(SEQUENCER), since.rfind(NOT_SEQUENCER)) {
        (Some(won), Some(lost)) => won > lost,
        (Some(_), None) => true,
        _ => false,
    }
}

impl Fronts {
    /// Which front is the sequencer (`true`: A), once exactly one of them says it is.
    pub(crate) fn sequencer_is_a(&self) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            match (leads(&self.a), leads(&self.b)) {
                (true, false) => return true,
                (false, true) => return false,
                _ => {}
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no single sequencer:\nA:\n{}\nB:\n{}",
                self.a.log_text(),
                self.b.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
