//! How a front server copes with what clusters do. Real processes: an upstream
//! `bbs-server --plain` and one front over it; kcat and kafka-python as clients.
//!
//! - A cluster that does not create topics on first use (Apache Kafka with
//!   `auto.create.topics.enable=false`, Tansu): a front whose own rules allow it creates
//!   the topic itself (CreateTopics), for a produce to a new topic and for a Metadata
//!   request that asks for creation; a topic the client may not create is still not made.
//! - A broker that comes back at another address of the `--kafka` list: the front asks the
//!   list again and goes on, instead of dialling the old address forever.
mod common;
#[path = "support/upstream.rs"]
mod upstream;

use std::time::Duration;

use common::{kcat, ok, python, TestServer};

/// A front over `bootstrap` (the service account svc), its data under `dir`.
fn start_front(dir: &std::path::Path, bootstrap: &str) -> TestServer {
    let props = dir.join("front.properties");
    std::fs::write(
        &props,
        format!(
            "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n\
             sasl.username=svc\nsasl.password={}\n",
            upstream::SVC_PASSWORD
        ),
    )
    .expect("properties");
    let data = dir.join("front");
    std::fs::create_dir_all(&data).expect("mkdir");
    TestServer::start_with_data(
        &data,
        &[
            "--kafka",
            bootstrap,
            "--kafka-config",
            props.to_str().expect("utf8"),
        ],
    )
}

/// A port nobody listens on now.
/// Everything in `topic` from the beginning, read with kcat through `addr`.
fn read_all(addr: &str, topic: &str, what: &str) -> String {
    let args = ["-b", addr, "-C", "-t", topic, "-o", "beginning", "-e", "-q"];
    ok(kcat(&args, None, Duration::from_secs(60)), what)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn a_front_creates_topics_the_cluster_does_not() {
    let dirs = tempfile::tempdir().expect("tempdir");
    let up_data = dirs.path().join("upstream");
    std::fs::create_dir_all(&up_data).expect("mkdir");
    upstream::add_user(&up_data, "svc", upstream::SVC_PASSWORD);
    let up_conf = dirs.path().join("upstream.toml");
    std::fs::write(&up_conf, "[broker]\nauto_create_topics = false\n").expect("config");
    let upstream = TestServer::start_with_data(
        &up_data,
        &["--plain", "--config", up_conf.to_str().expect("utf8")],
    );
    let front = start_front(dirs.path(), &upstream.addr);
    // The upstream alone refuses to make a topic on first use.
    let direct = kcat(
        &[
            "-b",
            &upstream.addr,
            "-P",
            "-t",
            "straight",
            "-p",
            "0",
            "-X",
            "message.timeout.ms=5000",
        ],
        Some(b"x\n"),
        Duration::from_secs(30),
    );
    assert!(
        !direct.status.success(),
        "the upstream created a topic on first use"
    );
    // A produce to a new topic through the front (kcat asks Metadata, then produces).
    ok(
        kcat(
            &["-b", &front.addr, "-P", "-t", "made.by.front", "-p", "0"],
            Some(b"one\ntwo\n"),
            Duration::from_secs(60),
        ),
        "kcat -P through the front",
    );
    let read = read_all(&front.addr, "made.by.front", "kcat -C through the front");
    assert_eq!(read, "one\ntwo\n");
    // kafka-python's producer (Metadata v4+ asking for creation) to another new topic,
    // read back.
    let py = |args: &[&str]| {
        let mut all = vec![front.addr.as_str(), "-", "-", "made.by.python"];
        all.extend_from_slice(args);
        ok(
            python("sec_idem.py", &all, Duration::from_secs(90)),
            "sec_idem.py",
        )
    };
    py(&["produce", "2", "py"]);
    assert_eq!(py(&["read"]), "py-0\npy-1\n");
    // The upstream holds both; a name the front keeps for itself was not made.
    let listing = ok(
        kcat(&["-b", &upstream.addr, "-L"], None, Duration::from_secs(30)),
        "kcat -L upstream",
    );
    for topic in ["made.by.front", "made.by.python"] {
        assert!(listing.contains(&format!("\"{topic}\"")), "{listing}");
    }
    let refused = kcat(
        &[
            "-b",
            &front.addr,
            "-P",
            "-t",
            "__not_yours",
            "-p",
            "0",
            "-X",
            "message.timeout.ms=5000",
        ],
        Some(b"x\n"),
        Duration::from_secs(30),
    );
    assert!(!refused.status.success(), "a reserved name was produced to");
    let listing = ok(
        kcat(&["-b", &upstream.addr, "-L"], None, Duration::from_secs(30)),
        "kcat -L upstream",
    );
    assert!(!listing.contains("__not_yours"), "{listing}");
}

#[test]
fn a_front_finds_a_broker_that_came_back_elsewhere_in_its_list() {
    let dirs = tempfile::tempdir().expect("tempdir");
    let up_data = dirs.path().join("upstream");
    std::fs::create_dir_all(&up_data).expect("mkdir");
    upstream::add_user(&up_data, "svc", upstream::SVC_PASSWORD);
    let mut upstream = TestServer::start_with_data(&up_data, &["--plain"]);
    let elsewhere = free_port();
    let front = start_front(
        dirs.path(),
        &format!("{},127.0.0.1:{elsewhere}", upstream.addr),
    );
    let produce = |text: &[u8]| {
        kcat(
            &[
                "-b",
                &front.addr,
                "-P",
                "-t",
                "moves",
                "-p",
                "0",
                "-X",
                "message.timeout.ms=20000",
            ],
            Some(text),
            Duration::from_secs(60),
        )
    };
    ok(produce(b"before\n"), "kcat -P before the move");
    // The broker dies and comes back, same data, at the list's other address.
    upstream.kill9();
    upstream.spawn(Some(elsewhere));
    ok(produce(b"after\n"), "kcat -P after the move");
    let read = read_all(&front.addr, "moves", "kcat -C after the move");
    assert_eq!(read, "before\nafter\n");
    assert!(
        front.wait_for_log(
            "upstream brokers found at new addresses",
            Duration::from_secs(5)
        ),
        "{}",
        front.log_text()
    );
}
