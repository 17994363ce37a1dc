//! The Kafka backend's `Link` against the real server, for what the transcripts do not
//! show: per-user prefs (read marks, favourites) round-trip through the server and follow
//! the user to a new link; the online list; policy refusals come back as the same
//! `Failure`; a wrong password is `LoginFailed`; appends return the server-stamped entry;
//! another link's post arrives at this link's event sink.

mod common;

use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::Duration;

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

#[test]
fn links_keep_prefs_list_online_users_and_map_refusals() {
    let server = common::TestServer::start(&[]);
    let backend = KafkaBackend::new(&server.addr);

    let mut ana = backend.connect().expect("connect");
    ana.register("ana", "ana@example.com", "apw")
        .expect("register ana");
    ana.register("bo", "bo@example.com", "bpw")
        .expect("register bo");
    assert!(matches!(
        ana.register("ana", "x@example.com", "zz"),
        Err(Error::Refused(Failure::UsernameTaken))
    ));
    assert!(matches!(
        ana.login("ana", "wrong"),
        Err(Error::Refused(Failure::LoginFailed))
    ));
    ana.login("ana", "apw").expect("login ana");
    ana.append(Entry::new(BbsRecord::Board {
        name: "NP".into(),
        creator: "ana".into(),
    }))
    .expect("board");

    let mut bo = backend.connect().expect("connect");
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

    // Prefs: stored by one link, read by a new one.
    let mark = ReadMark {
        upto: 0,
        extra: [id].into_iter().collect(),
    };
    bo.put_read_mark("NP", &mark).expect("read mark");
    bo.put_favourites(&["NP".to_string()]).expect("favourites");
    let mut bo2 = backend.connect().expect("connect");
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
    assert_eq!(ana.online().expect("online"), vec!["ana".to_string()]);
}

/// The server's `bbs-session-` groups, as a logged-in user sees them.
fn session_groups(addr: &str, user: &str, password: &str) -> Vec<String> {
    let client =
        client::Client::connect(client::ClientConfig::new(addr).sasl_scram(user, password))
            .expect("client");
    let mut ids: Vec<String> = client
        .admin()
        .list_groups()
        .expect("list groups")
        .into_iter()
        .map(|g| g.group_id)
        .filter(|g| g.starts_with(bbs::backend::kafka::SESSION_GROUP_PREFIX))
        .collect();
    ids.sort();
    ids
}

/// A link that registers and logs in at once reads nothing as anonymous: no anonymous
/// feed (consumer group) reaches the server before the login's. An anonymous link whose
/// view is read does start one.
#[test]
fn an_anonymous_link_starts_its_feed_only_when_its_view_is_read() {
    let server = common::TestServer::start(&[]);
    let backend = KafkaBackend::new(&server.addr);
    let mut cy = backend.connect().expect("connect");
    cy.register("cy", "cy@example.com", "cpw")
        .expect("register");
    cy.login("cy", "cpw").expect("login");
    let groups = session_groups(&server.addr, "cy", "cpw");
    assert_eq!(groups.len(), 1, "only the login's feed: {groups:?}");
    assert!(groups[0].ends_with(":cy"), "{groups:?}");

    let anon = backend.connect().expect("connect");
    assert_eq!(session_groups(&server.addr, "cy", "cpw").len(), 1);
    anon.sync().expect("the view catches up");
    let groups = session_groups(&server.addr, "cy", "cpw");
    assert_eq!(groups.len(), 2, "the anonymous view's feed: {groups:?}");
    assert!(groups.iter().any(|g| !g.contains(':')), "{groups:?}");
}
