//! client consumer groups against the real server: two of our consumers split and
//! rebalance, one of ours shares a group with a kafka-python consumer, pattern subscriptions
//! pick up new topics, and the admin commits offsets for a group without joining it.
mod common;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use client::*;
use common::*;

fn client(s: &TestServer) -> Client {
    Client::connect(ClientConfig::new(&s.addr).metadata_max_age(Duration::from_millis(300)))
        .expect("connect")
}

fn produce(client: &Client, topic: &str, n: usize, tag: &str) {
    let p = client
        .producer(ProducerConfig::default())
        .expect("producer");
    for i in 0..n {
        p.send(
            Record::new(topic)
                .key(format!("{tag}{i}"))
                .value(format!("{tag}{i}")),
        )
        .expect("send");
    }
    p.flush().expect("flush");
}

/// Records every assignment the listener sees.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Vec<i32>>>>);
impl RebalanceListener for Log {
    fn on_assigned(&mut self, partitions: &[TopicPartition]) {
        let mut v: Vec<i32> = partitions.iter().map(|p| p.partition).collect();
        v.sort();
        self.0.lock().expect("log").push(v);
    }
}
impl Log {
    fn last(&self) -> Option<Vec<i32>> {
        self.0.lock().expect("log").last().cloned()
    }
}

/// A consumer polling on its own thread until `stop`; collects record values.
struct Runner {
    stop: Arc<AtomicBool>,
    log: Log,
    seen: Arc<Mutex<Vec<String>>>,
    handle: Option<thread::JoinHandle<()>>,
    /// Set for a consumer that polls long and is stopped through its waker.
    waker: Option<ConsumerWaker>,
}

impl Runner {
    fn start(client: &Client, config: ConsumerConfig) -> Runner {
        Runner::start_polling(client, config, Duration::from_millis(100), false)
    }

    /// A consumer whose polls last `poll`; with `belled`, it has a waker (and so sleeps
    /// in `poll` until something happens) and `stop` wakes it.
    fn start_polling(
        client: &Client,
        config: ConsumerConfig,
        poll: Duration,
        belled: bool,
    ) -> Runner {
        let mut c = client.consumer(config).expect("consumer");
        let waker = belled.then(|| c.waker().expect("waker"));
        let log = Log::default();
        c.set_rebalance_listener(Box::new(log.clone()));
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (s2, seen2) = (stop.clone(), seen.clone());
        let handle = thread::spawn(move || {
            while !s2.load(Ordering::SeqCst) {
                for r in c.poll(poll).expect("poll") {
                    seen2.lock().expect("seen").push(r.value_str().into_owned());
                }
            }
            c.close().expect("close");
        });
        Runner {
            stop,
            log,
            seen,
            handle: Some(handle),
            waker,
        }
    }
    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(w) = &self.waker {
            w.wake();
        }
        if let Some(h) = self.handle.take() {
            h.join().expect("consumer thread");
        }
    }
    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("seen").clone()
    }
}

#[test]
fn two_consumers_split_and_rebalance() {
    let s = TestServer::start(&[]);
    let client = client(&s);
    client
        .admin()
        .create_topics(&[NewTopic::new("g", 4)])
        .expect("create");
    let cfg = || {
        ConsumerConfig::group("split")
            .subscribe(&["g"])
            .offset_reset(OffsetReset::Earliest)
    };
    let mut a = Runner::start(&client, cfg());
    eventually("a owns all", Duration::from_secs(20), || {
        a.log.last() == Some(vec![0, 1, 2, 3])
    });
    let mut b = Runner::start(
        &client,
        cfg().assignors(&[Assignor::RoundRobin, Assignor::Range]),
    );
    eventually("a 2/2 split", Duration::from_secs(30), || {
        let (la, lb) = (a.log.last(), b.log.last());
        match (la, lb) {
            (Some(x), Some(y)) if x.len() == 2 && y.len() == 2 => {
                let all: BTreeSet<i32> = x.iter().chain(y.iter()).copied().collect();
                all.len() == 4
            }
            _ => false,
        }
    });
    produce(&client, "g", 100, "r");
    eventually("all 100 records", Duration::from_secs(20), || {
        let mut all: Vec<String> = a.seen().into_iter().chain(b.seen()).collect();
        all.sort();
        all.dedup();
        all.len() == 100
    });
    assert!(!a.seen().is_empty() && !b.seen().is_empty(), "both read");
    // b leaves cleanly: a gets everything back quickly.
    b.stop();
    eventually("a owns all again", Duration::from_secs(20), || {
        a.log.last() == Some(vec![0, 1, 2, 3])
    });
    produce(&client, "g", 20, "s");
    eventually("a reads new records", Duration::from_secs(20), || {
        a.seen().iter().filter(|v| v.starts_with('s')).count() == 20
    });
    a.stop();
    // Positions were committed on close; the admin sees them.
    let parts: Vec<_> = (0..4).map(|p| TopicPartition::new("g", p)).collect();
    let committed = client
        .admin()
        .fetch_offsets("split", &parts)
        .expect("offsets");
    let total: i64 = committed.values().map(|o| o.unwrap_or(0)).sum();
    assert_eq!(total, 120);
}

/// Consumers with wakers poll for minutes at a time: records still reach them as they
/// come, a rebalance still happens (heartbeat answers ring their bell), and a waker ends
/// a poll at once: stopping both returns long before one poll's timeout.
#[test]
fn belled_consumers_sleep_in_poll_yet_rebalance_read_and_stop_when_woken() {
    let s = TestServer::start(&[]);
    let client = client(&s);
    client
        .admin()
        .create_topics(&[NewTopic::new("belled", 2)])
        .expect("create");
    let cfg = || {
        ConsumerConfig::group("belled")
            .subscribe(&["belled"])
            .offset_reset(OffsetReset::Earliest)
    };
    let long = Duration::from_secs(600);
    let mut a = Runner::start_polling(&client, cfg(), long, true);
    eventually("a owns both", Duration::from_secs(20), || {
        a.log.last() == Some(vec![0, 1])
    });
    let mut b = Runner::start_polling(&client, cfg(), long, true);
    eventually("a 1/1 split", Duration::from_secs(30), || {
        a.log.last().is_some_and(|x| x.len() == 1) && b.log.last().is_some_and(|y| y.len() == 1)
    });
    produce(&client, "belled", 40, "w");
    eventually("all 40 records", Duration::from_secs(20), || {
        a.seen().len() + b.seen().len() == 40
    });
    let (done, finished) = std::sync::mpsc::channel();
    thread::spawn(move || {
        a.stop();
        b.stop();
        let _ = done.send(());
    });
    finished
        .recv_timeout(Duration::from_secs(120))
        .expect("woken consumers stop without waiting out their 600 s polls");
}

#[test]
fn shares_a_group_with_kafka_python() {
    let s = TestServer::start(&[]);
    let client = client(&s);
    client
        .admin()
        .create_topics(&[NewTopic::new("mix", 4)])
        .expect("create");
    produce(&client, "mix", 80, "m");
    let mut ours = Runner::start(
        &client,
        ConsumerConfig::group("mixed")
            .subscribe(&["mix"])
            .auto_commit(false)
            .offset_reset(OffsetReset::Earliest),
    );
    eventually("ours owns all", Duration::from_secs(20), || {
        ours.log.last() == Some(vec![0, 1, 2, 3])
    });
    let out = ok(
        python(
            "client_group_member.py",
            &[&s.addr, "mix", "mixed"],
            Duration::from_secs(90),
        ),
        "kafka-python group member",
    );
    // {"assigned": [..], "records": {"p": n}}
    let assigned: Vec<i32> = out
        .split("\"assigned\": [")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .expect("assigned")
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    assert!(
        !assigned.is_empty() && assigned.len() < 4,
        "python got {assigned:?}: {out}"
    );
    let complement: Vec<i32> = (0..4).filter(|p| !assigned.contains(p)).collect();
    let history = ours.log.0.lock().expect("log").clone();
    assert!(
        history.contains(&complement),
        "ours {history:?} vs python {assigned:?}"
    );
    // Python read every record of its partitions (keys spread evenly enough: > 0 each).
    for p in &assigned {
        assert!(
            out.contains(&format!("\"{p}\": ")),
            "python read nothing from {p}: {out}"
        );
    }
    // Python left: ours takes everything back.
    eventually("ours owns all again", Duration::from_secs(20), || {
        ours.log.last() == Some(vec![0, 1, 2, 3])
    });
    ours.stop();
}

#[test]
fn pattern_picks_up_new_topics_and_admin_commits() {
    let s = TestServer::start(&[]);
    let client = client(&s);
    let admin = client.admin();
    admin
        .create_topics(&[NewTopic::new("chat.a", 1), NewTopic::new("other", 1)])
        .expect("create");
    let mut r = Runner::start(
        &client,
        ConsumerConfig::group("pat")
            .subscribe_pattern("^chat\\.")
            .offset_reset(OffsetReset::Earliest),
    );
    eventually("chat.a assigned", Duration::from_secs(20), || {
        r.log.last() == Some(vec![0])
    });
    produce(&client, "other", 5, "o");
    admin
        .create_topics(&[NewTopic::new("chat.b", 1)])
        .expect("create b");
    produce(&client, "chat.b", 5, "b");
    eventually("chat.b records", Duration::from_secs(20), || {
        r.seen().len() == 5
    });
    assert!(r.seen().iter().all(|v| v.starts_with('b')));
    let groups = admin.list_groups().expect("groups");
    assert!(groups
        .iter()
        .any(|g| g.group_id == "pat" && g.protocol_type == "consumer"));
    let desc = admin.describe_groups(&["pat"]).expect("describe");
    assert_eq!(desc[0].members.len(), 1);
    assert_eq!(desc[0].members[0].assignment.len(), 2, "{desc:?}");
    r.stop();

    // Commit for a user-level group nobody joins ("what has this user read").
    let tp = TopicPartition::new("chat.a", 0);
    admin
        .commit_offsets("bbs-read-ana", &[(tp.clone(), 3)])
        .expect("commit");
    let got = admin
        .fetch_offsets(
            "bbs-read-ana",
            &[tp.clone(), TopicPartition::new("chat.b", 0)],
        )
        .expect("fetch");
    assert_eq!(got[&tp], Some(3));
    assert_eq!(got[&TopicPartition::new("chat.b", 0)], None);
}

/// The example at the top of `client`'s documentation, run for real.
#[test]
fn module_example_runs() {
    let s = TestServer::start(&[]);
    Client::connect(ClientConfig::new(&s.addr))
        .expect("connect")
        .admin()
        .create_topics(&[NewTopic::new("chat.general", 1)])
        .expect("create");
    let run = || -> client::Result<Vec<String>> {
        let client = Client::connect(ClientConfig::new(&s.addr))?;
        let producer = client.producer(ProducerConfig::default())?; // acks=all, idempotent
        let delivery = producer.send(
            Record::new("chat.general")
                .key("42")
                .value("hi")
                .header("bbs.kind", "post"),
        )?;
        let meta = delivery.wait()?; // where it landed
        println!(
            "stored at {}/{}@{}",
            meta.topic, meta.partition, meta.offset
        );

        let mut consumer = client.consumer(
            ConsumerConfig::group("bbs-ana-1")
                .subscribe_pattern("^chat\\.")
                .offset_reset(OffsetReset::Earliest),
        )?;
        let mut seen = Vec::new();
        let start = Instant::now();
        while seen.is_empty() && start.elapsed() < Duration::from_secs(20) {
            for rec in consumer.poll(Duration::from_millis(100))? {
                seen.push(format!("{}: {}", rec.offset, rec.value_str()));
            }
        }
        Ok(seen)
    };
    assert_eq!(run().expect("example"), vec!["0: hi"]);
}
