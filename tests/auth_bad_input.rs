//! Bad SASL input against the real server binary: an unknown mechanism, SASL out of order,
//! a huge or malformed token, a v0 handshake, other requests mid-exchange. Each gets its
//! Kafka error code and a closed connection, and the server keeps serving. Failed logins
//! are slowed down per address and, past the limit, refused even with the right password.
mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use client::{Client, ClientConfig, ErrorCode};

/// A request frame (correlation id 7, client id "x") around a raw body.
fn frame(key: i16, version: i16, body: &[u8]) -> Vec<u8> {
    raw::request(key, version, 7, Some("x"), body)
}

/// A SCRAM-SHA-256 login with the client (connect, authenticate, read metadata).
fn login(addr: &str, user: &str, password: &str) -> client::Result<()> {
    Client::connect(ClientConfig::new(addr).sasl_scram(user, password)).map(drop)
}

fn handshake(mech: &str) -> Vec<u8> {
    let mut b = (mech.len() as i16).to_be_bytes().to_vec();
    b.extend_from_slice(mech.as_bytes());
    frame(17, 1, &b)
}

fn authenticate(token: &[u8]) -> Vec<u8> {
    let mut b = (token.len() as i32).to_be_bytes().to_vec();
    b.extend_from_slice(token);
    frame(36, 1, &b)
}

/// Sends frames and returns each response's first error code (after the correlation id),
/// then whether the server closed the connection.
fn exchange(addr: &str, frames: &[Vec<u8>]) -> (Vec<ErrorCode>, bool) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut codes = Vec::new();
    for f in frames {
        if s.write_all(f).is_err() {
            break;
        }
        let Ok(body) = read_frame(&mut s) else {
            return (codes, true);
        };
        codes.push(ErrorCode(i16::from_be_bytes([body[4], body[5]])));
    }
    // A closed (or closing) connection answers nothing more: send ApiVersions, hang up
    // our side as real clients do, and see whether a response comes back.
    let _ = s.write_all(&frame(18, 0, &[]));
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut rest = [0u8; 1];
    let closed = matches!(s.read(&mut rest), Ok(0) | Err(_));
    (codes, closed)
}

const CONFIG: &str = r#"
[auth]
login_failure_delay_ms = 150
max_login_failures = 4
limit_loopback = true
"#;

#[test]
fn bad_sasl_input_gets_errors_and_closes() {
    let s = TestServer::start(&[]);
    let a = s.addr.as_str();
    assert_eq!(
        exchange(a, &[handshake("GSSAPI")]),
        (vec![ErrorCode::UNSUPPORTED_SASL_MECHANISM], true)
    );
    assert_eq!(
        exchange(a, &[handshake("PLAIN")]),
        (vec![ErrorCode::UNSUPPORTED_SASL_MECHANISM], true),
        "PLAIN is off by default"
    );
    assert_eq!(
        exchange(a, &[authenticate(b"n,,n=a,r=b")]),
        (vec![ErrorCode::ILLEGAL_SASL_STATE], true)
    );
    assert_eq!(
        exchange(
            a,
            &[
                handshake("SCRAM-SHA-256"),
                authenticate(&vec![b'A'; 100_000])
            ]
        ),
        (
            vec![ErrorCode::NONE, ErrorCode::SASL_AUTHENTICATION_FAILED],
            true
        )
    );
    assert_eq!(
        exchange(
            a,
            &[handshake("SCRAM-SHA-256"), authenticate(b"\xff\x00garbage")]
        ),
        (
            vec![ErrorCode::NONE, ErrorCode::SASL_AUTHENTICATION_FAILED],
            true
        )
    );
    assert_eq!(
        exchange(a, &[handshake("SCRAM-SHA-256"), handshake("SCRAM-SHA-256")]),
        (vec![ErrorCode::NONE], true),
        "a second handshake mid-exchange closes the connection"
    );
    // Requests answered without waiting (`handle_at_once`) get the same check: a
    // heartbeat in the middle of the exchange closes the connection unanswered.
    let heartbeat_v0 = frame(12, 0, &[0, 1, b'g', 0, 0, 0, 1, 0, 1, b'm']);
    assert_eq!(
        exchange(a, &[handshake("SCRAM-SHA-256"), heartbeat_v0]),
        (vec![ErrorCode::NONE], true),
        "a heartbeat mid-exchange closes the connection"
    );
    let metadata_v1 = frame(3, 1, &(-1i32).to_be_bytes());
    assert_eq!(
        exchange(a, &[handshake("SCRAM-SHA-256"), metadata_v1.clone()]),
        (vec![ErrorCode::NONE], true)
    );
    let v0 = {
        let mut b = 13i16.to_be_bytes().to_vec();
        b.extend_from_slice(b"SCRAM-SHA-256");
        frame(17, 0, &b)
    };
    assert_eq!(
        exchange(a, &[v0]),
        (vec![ErrorCode::UNSUPPORTED_VERSION], true)
    );
    // A connection that never starts SASL is served (anonymous), and the server lives.
    let (codes, closed) = exchange(a, &[metadata_v1]);
    assert_eq!((codes.len(), closed), (1, false));
    ok(
        kcat(&["-b", a, "-L"], None, Duration::from_secs(30)),
        "kcat -L",
    );
    assert!(s.wait_for_log("failed login", Duration::from_secs(5)));
}

#[test]
fn failed_logins_are_slowed_down_then_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, CONFIG).expect("cfg");
    let s = TestServer::start(&["--config", cfg.to_str().expect("utf8")]);
    {
        let c = Client::connect(ClientConfig::new(&s.addr)).expect("connect");
        c.admin()
            .set_scram_password("frank", "right")
            .expect("register");
        let mut waits = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            let err = login(&s.addr, "frank", "wrong").expect_err("wrong password");
            waits.push(t.elapsed());
            assert!(
                matches!(
                    err,
                    client::Error::Auth {
                        code: Some(ErrorCode::SASL_AUTHENTICATION_FAILED),
                        ..
                    }
                ),
                "{err}"
            );
        }
        assert!(waits[0] >= Duration::from_millis(150), "{waits:?}");
        assert!(waits[1] >= Duration::from_millis(300), "{waits:?}");
        assert!(waits[2] >= Duration::from_millis(600), "{waits:?}");
        login(&s.addr, "frank", "right").expect("right password, under the limit");
        // A success clears the count; four more failures reach the limit.
        for _ in 0..4 {
            assert!(login(&s.addr, "frank", "wrong").is_err());
        }
        let err = login(&s.addr, "frank", "right").expect_err("blocked address");
        assert!(err.to_string().contains("too many failed logins"), "{err}");
    }
}
