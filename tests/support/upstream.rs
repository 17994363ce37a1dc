//! The front servers' upstream cluster in tests (tests/front_server.rs, tests/front_bbs.rs,
//! through tests/support/fronts.rs): which cluster it is, the service account's client
//! settings, and reading or changing it directly, not through a front.
//!
//! By default a `bbs-server --plain` the test starts, whose only account is the service
//! account `svc`. With `BBS_FRONT_UPSTREAM=host:port[,host:port...]` an external cluster
//! instead (scripts/scaleout-tansu.sh points it at Tansu brokers); then
//! `BBS_FRONT_UPSTREAM_CONFIG=FILE` is the fronts' `--kafka-config` for it (the service
//! account's client settings; unset: PLAINTEXT, no account). Every test expects an empty
//! cluster, as its own upstream is: give each test a fresh one (the script does). Direct
//! reads and writes go through tests/interop/upstream_tool.py (confluent-kafka), which
//! works on both.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::common::{self, ok, TestServer};

/// The service account's password on our own upstream.
pub(crate) const SVC_PASSWORD: &str = "svc-secret-1";

/// `bbs-server --data-dir DATA users add NAME` (server stopped) with the password on stdin.
pub(crate) fn add_user(data: &Path, name: &str, password: &str) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bbs-server"));
    cmd.arg("--data-dir").arg(data).args(["users", "add", name]);
    let stdin = format!("{password}\n");
    ok(
        common::run(cmd, Some(stdin.as_bytes()), Duration::from_secs(60)),
        "users add",
    );
}

/// The fronts' upstream: our own `--plain` or an external cluster (see the module docs).
pub(crate) struct Upstream {
    /// The bootstrap list.
    pub(crate) addr: String,
    /// The service account's client settings (a Kafka property file kcat reads with -F).
    pub(crate) config: Option<PathBuf>,
    /// Our own upstream; `None` for an external one.
    pub(crate) own: Option<TestServer>,
}

impl Upstream {
    /// The external upstream the environment names, or our own `--plain` with its data
    /// and property file in `dir`.
    pub(crate) fn start(dir: &Path) -> Upstream {
        if let Ok(addr) = std::env::var("BBS_FRONT_UPSTREAM") {
            let config = std::env::var_os("BBS_FRONT_UPSTREAM_CONFIG").map(PathBuf::from);
            eprintln!("fronts: external upstream {addr} (config {config:?})");
            return Upstream {
                addr,
                config,
                own: None,
            };
        }
        let data = dir.join("upstream");
        std::fs::create_dir_all(&data).expect("mkdir");
        add_user(&data, "svc", SVC_PASSWORD);
        let own = TestServer::start_with_data(&data, &["--plain"]);
        let config = dir.join("upstream.properties");
        std::fs::write(
            &config,
            format!(
                "# the front servers' service account\nsecurity.protocol=SASL_PLAINTEXT\n\
                 sasl.mechanism=SCRAM-SHA-256\nsasl.username=svc\nsasl.password={SVC_PASSWORD}\n"
            ),
        )
        .expect("write config");
        Upstream {
            addr: own.addr.clone(),
            config: Some(config),
            own: Some(own),
        }
    }

    /// A front server's arguments for this upstream: `--kafka` and `--kafka-config`.
    pub(crate) fn front_args(&self) -> Vec<String> {
        let mut args = vec!["--kafka".to_string(), self.addr.clone()];
        if let Some(config) = &self.config {
            args.push("--kafka-config".into());
            args.push(config.to_str().expect("utf8").into());
        }
        args
    }

    /// The service account's settings with a wrong password, written in `dir`; `None`
    /// when the fronts log in to no account upstream.
    pub(crate) fn wrong_password(&self, dir: &Path) -> Option<PathBuf> {
        let text = std::fs::read_to_string(self.config.as_ref()?).expect("read config");
        let wrong: String = text
            .lines()
            .map(|l| match l.split_once('=') {
                Some((k, _)) if k.trim() == "sasl.password" => "sasl.password=wrong\n".into(),
                _ => format!("{l}\n"),
            })
            .collect();
        let path = dir.join("wrong.properties");
        std::fs::write(&path, wrong).expect("write");
        Some(path)
    }

    /// tests/interop/upstream_tool.py straight at the upstream (confluent-kafka, as the
    /// service account when there is one): `list`, `read TOPIC` (KEY:VALUE lines),
    /// `count TOPIC`, `write TOPIC` (stdin's lines) or `delete TOPIC`; asserts success
    /// and returns stdout.
    pub(crate) fn tool(&self, args: &[&str], stdin: &[u8]) -> String {
        let config = self
            .config
            .as_ref()
            .map_or("-", |p| p.to_str().expect("utf8"));
        let mut cmd = Command::new(common::test_home().join("venv/bin/python"));
        cmd.arg(common::repo().join("tests/interop/upstream_tool.py"))
            .args([config, self.addr.as_str()])
            .args(args);
        ok(
            common::run(cmd, Some(stdin), Duration::from_secs(120)),
            &format!("upstream_tool.py {args:?}"),
        )
    }

    /// How many records partition 0 of `topic` holds upstream.
    pub(crate) fn count(&self, topic: &str) -> usize {
        let out = self.tool(&["count", topic], b"");
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("count {topic}: {out}"))
    }

    /// Whether the upstream is an external cluster (not our own `--plain`).
    pub(crate) fn is_external(&self) -> bool {
        self.own.is_none()
    }

    /// Whether the upstream is external and the front at `front` does not offer `api`
    /// (it offers only what every upstream node speaks); says so, for a test to skip.
    pub(crate) fn lacks(&self, front: &str, api: kafka_protocol::messages::ApiKey) -> bool {
        use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
        if !self.is_external() {
            return false;
        }
        let mut s = std::net::TcpStream::connect(front).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let req = ApiVersionsRequest::default();
        s.write_all(&common::raw::encode_with(
            ApiKey::ApiVersions,
            0,
            1,
            None,
            &req,
        ))
        .expect("send");
        let body = common::read_frame(&mut s).expect("answered");
        let (_, resp): (_, ApiVersionsResponse) =
            wire::header::decode_response(bytes::Bytes::from(body), ApiKey::ApiVersions, 0)
                .expect("decodes");
        let offered = resp.api_keys.iter().any(|k| k.api_key == api as i16);
        if !offered {
            eprintln!(
                "skipped: the external upstream does not offer {api:?}, so neither does the front"
            );
        }
        !offered
    }

    /// Whether `text` names any upstream address.
    pub(crate) fn named_in(&self, text: &str) -> bool {
        self.addr.split(',').any(|a| text.contains(a))
    }
}
