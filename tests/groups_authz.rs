//! The authorizer guards consumer groups too: an ACL that denies a group makes a real
//! client's JoinGroup fail with GROUP_AUTHORIZATION_FAILED, while other groups work.
mod common;
use common::*;
use std::time::Duration;

#[test]
fn denied_group_gets_group_authorization_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("server.toml");
    std::fs::write(
        &cfg,
        "[[auth.acl]]\nprincipal = \"*\"\nresource = \"group:teachers*\"\nallow = false\n",
    )
    .expect("config");
    let s = TestServer::start(&["--config", cfg.to_str().expect("path")]);
    let t = Duration::from_secs(60);
    ok(
        kcat(&["-b", &s.addr, "-P", "-t", "gtopic"], Some(b"v1\n"), t),
        "produce",
    );
    let out = ok(
        python(
            "group_denied.py",
            &[&s.addr, "teachers-only", "students", "gtopic"],
            t,
        ),
        "group_denied.py",
    );
    assert!(
        out.contains("denied: GroupAuthorizationFailedError"),
        "{out}"
    );
    assert!(out.contains("allowed: read 1"), "{out}");
}
