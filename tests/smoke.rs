//! The server starts on the embedded defaults and a plain kcat round trip works.
mod common;
use common::*;
use std::time::Duration;

#[test]
fn kcat_round_trip_and_metadata() {
    let s = TestServer::start(&[]);
    let t = Duration::from_secs(30);
    ok(
        kcat(
            &["-b", &s.addr, "-P", "-t", "smoke", "-K:"],
            Some(b"k1:hello\nk2:world\n"),
            t,
        ),
        "produce",
    );
    let out = ok(
        kcat(
            &[
                "-b",
                &s.addr,
                "-C",
                "-t",
                "smoke",
                "-o",
                "beginning",
                "-e",
                "-f",
                "%k=%s@%o\n",
            ],
            None,
            t,
        ),
        "consume",
    );
    assert_eq!(out, "k1=hello@0\nk2=world@1\n");
    let meta = ok(kcat(&["-b", &s.addr, "-L"], None, t), "metadata");
    assert!(meta.contains(&format!("broker 0 at {}", s.addr)), "{meta}");
    assert!(meta.contains("topic \"smoke\" with 1 partitions"), "{meta}");
}
