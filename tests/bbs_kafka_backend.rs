//! The Kafka backend's `Link` against the real server, for what the transcripts do not
//! show: per-user prefs (read marks, favourites) round-trip through the server and follow
//! the user to a new link; the online list; policy refusals come back as the same
//! `Failure`; a wrong password is `LoginFailed`; appends return the server-stamped entry;
//! another link's post arrives at this link's event sink.

mod common;
#[path = "support/links.rs"]
mod links;

use bbs::backend::kafka::KafkaBackend;
use bbs::backend::Backend;

#[test]
fn links_keep_prefs_list_online_users_and_map_refusals() {
    let server = common::TestServer::start(&[]);
    let backend = KafkaBackend::new(&server.addr);
    links::links_scenario(&backend, &backend);
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
