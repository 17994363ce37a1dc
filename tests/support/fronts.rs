//! Two front servers over one upstream, for the tests of front mode: an upstream
//! `bbs-server --plain` whose only account is the service account `svc`, and front
//! servers A and B logging in to it with SCRAM-SHA-256, each with a classic port and dates
//! in UTC. A starts first and is waited for until it holds the BBS's order (the
//! sequencer), so tests know which front that is.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{ok, TestServer};

/// The service account's password on the upstream.
pub(crate) const SVC_PASSWORD: &str = "svc-pw-1";
/// What a front server logs when it becomes the sequencer.
pub(crate) const SEQUENCER: &str = "this server now puts the BBS's writes in order";

/// Adds account `name` to the (stopped) server data directory `data`.
pub(crate) fn add_user(data: &Path, name: &str, password: &str) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bbs-server"))
        .arg("--data-dir")
        .arg(data)
        .args(["users", "add", name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn users add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("password");
    let out = child.wait_with_output().expect("users add");
    ok(out, "users add");
}

/// The upstream and the two fronts.
pub(crate) struct Fronts {
    pub(crate) upstream: TestServer,
    pub(crate) a: TestServer,
    pub(crate) b: TestServer,
    pub(crate) dirs: tempfile::TempDir,
}

impl Fronts {
    /// Starts the upstream, then A (waiting until it is the sequencer), then B.
    pub(crate) fn start() -> Fronts {
        let dirs = tempfile::tempdir().expect("tempdir");
        let up_data = dirs.path().join("upstream");
        std::fs::create_dir_all(&up_data).expect("mkdir");
        add_user(&up_data, "svc", SVC_PASSWORD);
        let upstream = TestServer::start_with_data(&up_data, &["--plain"]);
        let props = dirs.path().join("upstream.properties");
        std::fs::write(
            &props,
            format!(
                "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n\
                 sasl.username=svc\nsasl.password={SVC_PASSWORD}\n"
            ),
        )
        .expect("write properties");
        let conf = dirs.path().join("front.toml");
        std::fs::write(
            &conf,
            "[bbs]\nclassic_listen = \"127.0.0.1:0\"\ntimezone = \"UTC\"\n",
        )
        .expect("write config");
        let front = |name: &str| -> TestServer {
            let data: PathBuf = dirs.path().join(name);
            std::fs::create_dir_all(&data).expect("mkdir");
            TestServer::start_with_data(
                &data,
                &[
                    "--kafka",
                    &upstream.addr,
                    "--kafka-config",
                    props.to_str().expect("utf8"),
                    "--config",
                    conf.to_str().expect("utf8"),
                ],
            )
        };
        let a = front("front-a");
        assert!(
            a.wait_for_log(SEQUENCER, Duration::from_secs(30)),
            "front A never became the sequencer:\n{}",
            a.log_text()
        );
        let b = front("front-b");
        Fronts {
            upstream,
            a,
            b,
            dirs,
        }
    }

    /// kcat arguments that log in to the upstream as the service account.
    pub(crate) fn svc_args(&self) -> Vec<String> {
        [
            "-b",
            &self.upstream.addr,
            "-X",
            "security.protocol=SASL_PLAINTEXT",
            "-X",
            "sasl.mechanisms=SCRAM-SHA-256",
            "-X",
            "sasl.username=svc",
            "-X",
            &format!("sasl.password={SVC_PASSWORD}"),
        ]
        .map(String::from)
        .to_vec()
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
