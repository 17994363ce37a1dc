//! The Kafka backend's `Link` scenario for what the transcripts do not show, run by
//! tests/bbs_kafka_backend.rs against one server and by tests/front_bbs.rs with two
//! links' servers being two front servers: registration, a name taken, a login refused,
//! a post reaching another session within a second, the policy's refusals as the same
//! `Failure`, read marks and favourites following a user to a new link, who is online.

use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bbs::backend::kafka::KafkaBackend;
use bbs::backend::Backend;
use bbs::codec::{BbsRecord, Entry};
use bbs::error::{Error, Failure};
use bbs::model::PostEvent;
use bbs::prefs::ReadMark;

fn post(board: &str, author: &str, title: &str) -> Entry {
    Entry::new(BbsRecord::Post {
        board: board.into(),
        id: None,
        author: author.into(),
        title: title.into(),
        body: "body".into(),
    })
}

/// ana works through `first`, bo through `second` (read marks set there are read back
/// through `first`).
pub(crate) fn links_scenario(first: &KafkaBackend, second: &KafkaBackend) {
    let mut ana = first.connect().expect("connect");
    ana.register("ana", "ana@example.com", "apw")
        .expect("register ana");
    ana.register("bo", "bo@example.com", "bpw")
        .expect("register bo");
    // A name taken is taken through the other link's server too.
    let mut other = second.connect().expect("connect");
    assert!(matches!(
        other.register("ana", "x@example.com", "zz"),
        Err(Error::Refused(Failure::UsernameTaken))
    ));
    assert!(matches!(
        other.login("ana", "wrong"),
        Err(Error::Refused(Failure::LoginFailed))
    ));
    ana.login("ana", "apw").expect("login ana");
    ana.append(Entry::new(BbsRecord::Board {
        name: "NP".into(),
        creator: "ana".into(),
    }))
    .expect("board");

    let mut bo = second.connect().expect("connect");
    bo.login("bo", "bpw").expect("login bo");
    let (tx, rx) = channel();
    bo.set_event_sink(Arc::new(move |ev: &PostEvent| {
        let _ = tx.send(ev.clone());
    }));
    let a = ana.append(post("NP", "ana", "hello")).expect("post");
    let id = match &a.entry.record {
        BbsRecord::Post { id: Some(id), .. } => *id,
        other => panic!("not stamped: {other:?}"),
    };
    assert!(a.entry.time.is_some(), "server time stamped");
    let ev = rx
        .recv_timeout(Duration::from_secs(1))
        .expect("bo sees ana's post within a second");
    assert_eq!((ev.id, ev.author.as_str()), (id, "ana"));

    // Someone else's post cannot be deleted: the policy's refusal, same failure.
    let del = bo.append(Entry::new(BbsRecord::Delete {
        board: "NP".into(),
        post: id,
        author: "bo".into(),
    }));
    assert!(
        matches!(del, Err(Error::Refused(Failure::NotOwner))),
        "{del:?}"
    );

    // Prefs: stored through one link, read by a new one on the other server.
    let mark = ReadMark {
        upto: 0,
        extra: [id].into_iter().collect(),
    };
    bo.put_read_mark("NP", &mark).expect("read mark");
    bo.put_favourites(&["NP".to_string()]).expect("favourites");
    let mut bo2 = first.connect().expect("connect");
    bo2.login("bo", "bpw").expect("login again");
    let prefs = bo2.prefs().expect("prefs");
    assert_eq!(prefs.read.get("NP"), Some(&mark));
    assert_eq!(prefs.favourites, vec!["NP".to_string()]);

    assert_eq!(
        ana.online().expect("online"),
        vec!["ana".to_string(), "bo".to_string()]
    );
    drop(bo);
    bo2.logout().expect("logout");
    let deadline = Instant::now() + Duration::from_secs(15);
    while ana.online().expect("online") != vec!["ana".to_string()] {
        assert!(
            Instant::now() < deadline,
            "bo still online after logging out"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
