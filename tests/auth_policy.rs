//! The record policy hook, installed the way a host does (`Broker::open_with`, then
//! `Broker::start`): a policy that requires each record's `author` header to be the
//! logged-in user and stamps an `id` header on accepted records. kafka-python sees the rejection's message, and a
//! rejected record never reaches the log.
mod common;
use common::*;
use std::sync::Arc;
use std::time::Duration;
use wire::ErrorCode;

use broker::auth::{Hooks, PolicyRecord, Principal, RecordPolicy, Verdict};

struct AuthorIsPrincipal;

impl RecordPolicy for AuthorIsPrincipal {
    fn check(&self, who: &Principal, _topic: &str, _p: i32, records: &[PolicyRecord]) -> Verdict {
        let mut out = Vec::new();
        for (i, r) in records.iter().enumerate() {
            if r.header("author") != who.user() {
                return Verdict::Reject {
                    code: ErrorCode::POLICY_VIOLATION,
                    message: format!("author header must be your user name ({who})"),
                };
            }
            let mut r = r.clone();
            r.headers
                .push(("id".into(), Some(bytes::Bytes::from(format!("post-{i}")))));
            out.push(r);
        }
        Verdict::Replace(out)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_rejects_forged_author_and_stamps_accepted_records() {
    let dir = tempfile::tempdir().expect("tmp");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let cfg = broker::BrokerConfig {
        listen: listener.local_addr().expect("addr"),
        ..Default::default()
    };
    let hooks = Hooks {
        authorizer: None,
        policy: Some(Arc::new(AuthorIsPrincipal)),
    };
    let (b, _) = broker::Broker::open_with(cfg.clone(), dir.path(), hooks).expect("open");
    let server = b.start(listener).expect("start");
    let addr = cfg.listen.to_string();
    // Register over the protocol, anonymously.
    let reg_addr = addr.clone();
    tokio::task::spawn_blocking(move || {
        let c = client::Client::connect(client::ClientConfig::new(&reg_addr)).expect("connect");
        c.admin()
            .set_scram_password("alice", "pw-alice")
            .expect("register");
    })
    .await
    .expect("join");
    let run = |author: &'static str| {
        let addr = addr.clone();
        tokio::task::spawn_blocking(move || {
            ok(
                python(
                    "auth_policy.py",
                    &[&addr, "alice", "pw-alice", "posts", author],
                    Duration::from_secs(60),
                ),
                "auth_policy.py",
            )
        })
    };
    let forged = run("mallory").await.expect("join");
    assert!(forged.starts_with("ERROR"), "{forged}");
    assert!(
        forged.contains("author header must be your user name (user:alice)"),
        "{forged}"
    );
    let topic = b.logs().topic("posts").expect("topic exists");
    assert_eq!(
        topic.partitions[0].high_watermark(),
        0,
        "nothing was written"
    );
    let good = run("alice").await.expect("join");
    assert_eq!(good.trim(), "OK 0");
    let bytes = topic.partitions[0].read(0, 1 << 20).expect("read");
    let recs = broker::record::decode_records(bytes).expect("decode");
    assert_eq!(recs.len(), 1);
    let id = recs[0]
        .headers
        .iter()
        .find(|(k, _)| k.as_str() == "id")
        .and_then(|(_, v)| v.clone());
    assert_eq!(id.as_deref(), Some(&b"post-0"[..]));
    server.shutdown().await;
}
