//! Multiplexing against a scripted fake broker: answers routed by correlation id whatever
//! their order, and a request the broker holds on one connection not delaying another.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, HeartbeatRequest, HeartbeatResponse,
    JoinGroupRequest,
};

use super::*;
use crate::net::Net;
use crate::pool::Pool;

/// One request as the fake broker read it.
struct Req {
    api: i16,
    id: i32,
}

fn read_req(s: &mut TcpStream) -> Option<Req> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).ok()?;
    Some(Req {
        api: i16::from_be_bytes([body[0], body[1]]),
        id: i32::from_be_bytes([body[4], body[5], body[6], body[7]]),
    })
}

/// ApiVersions v3 answer; `throttle` tells answers apart.
fn versions(id: i32, throttle: i32) -> Bytes {
    let mut r = ApiVersionsResponse::default();
    r.throttle_time_ms = throttle;
    for (key, hi) in [
        (ApiKey::ApiVersions, 3),
        (ApiKey::Heartbeat, 4),
        (ApiKey::JoinGroup, 7),
    ] {
        let mut v = ApiVersion::default();
        v.api_key = key as i16;
        v.max_version = hi;
        r.api_keys.push(v);
    }
    wire::header::response(id, ApiKey::ApiVersions, 3, &r).expect("encode")
}

/// A broker on its own thread: answers each connection's handshake, then hands the
/// connection to `script`.
fn fake_broker(script: impl Fn(TcpStream) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let script = std::sync::Arc::new(script);
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            let script = script.clone();
            std::thread::spawn(move || {
                let Some(hello) = read_req(&mut s) else {
                    return;
                };
                assert_eq!(hello.api, ApiKey::ApiVersions as i16);
                s.write_all(&versions(hello.id, 0))
                    .expect("answer handshake");
                script(s);
            });
        }
    });
    addr
}

fn config(addr: &str) -> ClientConfig {
    ClientConfig::new(addr).request_timeout(Duration::from_secs(10))
}

#[test]
fn answers_out_of_call_order_reach_their_callers() {
    let addr = fake_broker(|mut s| {
        let first = read_req(&mut s).expect("first request");
        let second = read_req(&mut s).expect("second request");
        // The second is answered first; each answer names its request in the throttle.
        s.write_all(&versions(second.id, 2)).expect("write");
        s.write_all(&versions(first.id, 1)).expect("write");
        std::thread::sleep(Duration::from_secs(5));
    });
    let conn = Connection::open(&addr, 0, &config(&addr)).expect("connect");
    let (tx, rx) = mpsc::channel();
    for n in 1..=2 {
        let tx = tx.clone();
        let req = ApiVersionsRequest::default();
        conn.send(
            ApiKey::ApiVersions,
            0,
            &req,
            Box::new(move |res| {
                let body = res.expect("answer");
                let r: ApiVersionsResponse =
                    decode_body("fake", ApiKey::ApiVersions, 3, body).expect("decode");
                tx.send((n, r.throttle_time_ms)).expect("report");
            }),
        );
    }
    let got: Vec<(i32, i32)> = (0..2)
        .map(|_| rx.recv_timeout(Duration::from_secs(10)).expect("callback"))
        .collect();
    assert_eq!(
        got,
        vec![(2, 2), (1, 1)],
        "each callback got its own answer"
    );
}

#[test]
fn a_held_request_on_the_consumer_connection_does_not_delay_the_shared_one() {
    // The broker never answers JoinGroup (a rebalance that waits for other members) and
    // answers heartbeats at once.
    let addr = fake_broker(|mut s| {
        while let Some(req) = read_req(&mut s) {
            if req.api == ApiKey::Heartbeat as i16 {
                let r = HeartbeatResponse::default();
                let frame = wire::header::response(req.id, ApiKey::Heartbeat, 4, &r);
                s.write_all(&frame.expect("encode")).expect("write");
            }
        }
    });
    let net = Net::start().expect("net");
    let shared = Pool::new(config(&addr), net.clone());
    let consumer = Pool::new(config(&addr), net.clone());
    let bootstrap = shared.get(-1, &addr).expect("bootstrap connection");
    let shared_conn = shared.get(0, &addr).expect("shared connection");
    assert!(
        Arc::ptr_eq(&bootstrap, &shared_conn),
        "the bootstrap connection is that broker's shared one"
    );
    let member_conn = consumer.get(0, &addr).expect("consumer connection");
    assert!(!Arc::ptr_eq(&shared_conn, &member_conn));
    assert_eq!(net.sockets(), 2, "one network thread reads both");

    let (held_tx, held_rx) = mpsc::channel();
    member_conn.send(
        ApiKey::JoinGroup,
        7,
        &JoinGroupRequest::default(),
        Box::new(move |r| {
            let _ = held_tx.send(r.is_ok());
        }),
    );
    let (_, hb): (i16, HeartbeatResponse) = shared_conn
        .request(ApiKey::Heartbeat, &HeartbeatRequest::default())
        .expect("heartbeat answered while the join is held");
    assert_eq!(hb.error_code, 0);
    assert!(
        held_rx.try_recv().is_err(),
        "the join is still held when the heartbeat is answered"
    );
}

/// A broker that answers every heartbeat at once.
fn heartbeat_broker() -> String {
    fake_broker(|mut s| {
        while let Some(req) = read_req(&mut s) {
            let r = HeartbeatResponse::default();
            let frame = wire::header::response(req.id, ApiKey::Heartbeat, 4, &r);
            if s.write_all(&frame.expect("encode")).is_err() {
                return;
            }
        }
    })
}

/// Sends a heartbeat on `conn`; its callback sends `(tag, answered)` on `tx`.
fn tagged_heartbeat<T: Send + 'static>(conn: &Connection, tag: T, tx: mpsc::Sender<(T, bool)>) {
    conn.send(
        ApiKey::Heartbeat,
        4,
        &HeartbeatRequest::default(),
        Box::new(move |r| {
            let _ = tx.send((tag, r.is_ok()));
        }),
    );
}

#[test]
fn a_pumped_connection_is_read_by_the_thread_that_waits() {
    let addr = heartbeat_broker();
    let net = Net::pumped();
    let pool = Pool::new(config(&addr), net.clone());
    // The handshake itself is read by this thread while it waits.
    let conn = pool.get(0, &addr).expect("connect through a pumped poller");
    let (tx, rx) = mpsc::channel();
    conn.send(
        ApiKey::Heartbeat,
        4,
        &HeartbeatRequest::default(),
        Box::new(move |r| {
            let _ = tx.send((std::thread::current().id(), r.is_ok()));
        }),
    );
    // Nobody pumps, so nobody reads: the answer waits in the socket.
    std::thread::sleep(Duration::from_millis(200));
    assert!(rx.try_recv().is_err(), "answer read without a waiter");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (reader, ok) = net.wait_for(&rx, deadline).expect("answer while waiting");
    assert!(ok);
    assert_eq!(
        reader,
        std::thread::current().id(),
        "the callback ran on the waiting thread: one wake-up, no hand-off"
    );
    let (_, hb): (i16, HeartbeatResponse) = conn
        .request(ApiKey::Heartbeat, &HeartbeatRequest::default())
        .expect("a blocking call pumps too");
    assert_eq!(hb.error_code, 0);
}

#[test]
fn threads_waiting_on_one_pumped_poller_all_get_their_answers() {
    let addr = heartbeat_broker();
    let net = Net::pumped();
    let pool = Arc::new(Pool::new(config(&addr), net));
    let conn = pool.get(0, &addr).expect("connect");
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let conn = conn.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let (_, hb): (i16, HeartbeatResponse) = conn
                        .request(ApiKey::Heartbeat, &HeartbeatRequest::default())
                        .expect("answered");
                    assert_eq!(hb.error_code, 0);
                }
            })
        })
        .collect();
    for c in callers {
        c.join().expect("caller");
    }
}

#[test]
fn an_answer_followed_by_the_brokers_close_is_read_and_the_close_noticed() {
    // One answer and the FIN right behind it: the reader must not stop at the short read
    // of the answer, or the close would go unnoticed until the next request timed out.
    let addr = fake_broker(|mut s| {
        if let Some(req) = read_req(&mut s) {
            let r = HeartbeatResponse::default();
            let frame = wire::header::response(req.id, ApiKey::Heartbeat, 4, &r);
            let _ = s.write_all(&frame.expect("encode"));
        }
    });
    for net in [Net::start().expect("thread"), Net::pumped()] {
        let pool = Pool::new(config(&addr), net.clone());
        let conn = pool.get(0, &addr).expect("connect");
        let (_, hb): (i16, HeartbeatResponse) = conn
            .request(ApiKey::Heartbeat, &HeartbeatRequest::default())
            .expect("the answer before the close");
        assert_eq!(hb.error_code, 0);
        let (_never, rx) = mpsc::channel::<()>();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while conn.is_alive() && std::time::Instant::now() < deadline {
            let _ = net.wait_for(&rx, std::time::Instant::now() + Duration::from_millis(20));
        }
        assert!(!conn.is_alive(), "the broker's close was noticed");
    }
}

#[test]
fn a_send_that_cannot_go_out_tells_its_callback() {
    let addr = heartbeat_broker();
    let pool = Pool::new(config(&addr), Net::start().expect("thread"));
    let conn = pool.get(0, &addr).expect("connect");
    conn.close();
    let (tx, rx) = mpsc::channel();
    conn.send(
        ApiKey::Heartbeat,
        4,
        &HeartbeatRequest::default(),
        Box::new(move |r| {
            let _ = tx.send(r.is_err());
        }),
    );
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)),
        Ok(true),
        "the callback heard the failure (it is not dropped unheard)"
    );
}

#[test]
fn a_pumped_poller_with_more_sockets_than_fit_on_its_stack_reads_them_all() {
    // Five brokers behind one pumped poller (and a bell): six descriptors per poll, more
    // than the poller's stack array holds, so the poll list is built on the heap.
    let net = Net::pumped();
    net.add_bell().expect("bell");
    let addrs: Vec<String> = (0..5).map(|_| heartbeat_broker()).collect();
    let pool = Pool::new(config(&addrs[0]), net.clone());
    let conns: Vec<_> = (0..5)
        .map(|i| pool.get(i, &addrs[i as usize]).expect("connect"))
        .collect();
    assert_eq!(net.sockets(), 5);
    for round in 0..3 {
        let (tx, rx) = mpsc::channel();
        for (i, conn) in conns.iter().enumerate() {
            tagged_heartbeat(conn, i, tx.clone());
        }
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while got.len() < conns.len() {
            let (i, ok) = net.wait_for(&rx, deadline).expect("every broker answers");
            assert!(ok, "round {round}: broker {i} answered with an error");
            got.push(i);
        }
        got.sort_unstable();
        assert_eq!(got, vec![0, 1, 2, 3, 4], "round {round}");
    }
}

/// A connection to `addr` read by a pumped poller of its own (one socket, no bell: its
/// waiter sleeps in `recv`), with one heartbeat sent whose callback says whether it was
/// answered. The pool is returned to keep the connection open.
fn one_pumped_heartbeat(addr: &str) -> (Arc<Net>, Pool, Arc<Connection>, mpsc::Receiver<bool>) {
    let net = Net::pumped();
    let pool = Pool::new(config(addr), net.clone());
    let conn = pool.get(0, addr).expect("connect");
    let (tx, rx) = mpsc::channel();
    conn.send(
        ApiKey::Heartbeat,
        4,
        &HeartbeatRequest::default(),
        Box::new(move |r| {
            let _ = tx.send(r.is_ok());
        }),
    );
    (net, pool, conn, rx)
}

#[test]
fn a_waiter_asleep_in_recv_times_out_keeps_the_connection_and_gets_a_late_answer() {
    // One socket, no bell: the waiter sleeps in `recv` (see `net::pump`). The broker
    // answers 400 ms late, after a first wait of 150 ms has ended empty-handed.
    let addr = fake_broker(|mut s| {
        while let Some(req) = read_req(&mut s) {
            std::thread::sleep(Duration::from_millis(400));
            let frame =
                wire::header::response(req.id, ApiKey::Heartbeat, 4, &HeartbeatResponse::default());
            if s.write_all(&frame.expect("encode")).is_err() {
                return;
            }
        }
    });
    let (net, _pool, conn, rx) = one_pumped_heartbeat(&addr);
    let started = std::time::Instant::now();
    assert_eq!(
        net.wait_for(&rx, started + Duration::from_millis(150)),
        None
    );
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_millis(350),
        "the wait ended near its deadline, not at the answer ({waited:?})"
    );
    assert!(conn.is_alive(), "a receive timeout is not a failure");
    let got = net.wait_for(&rx, std::time::Instant::now() + Duration::from_secs(10));
    assert_eq!(
        got,
        Some(true),
        "the late answer arrived on the same connection"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "and was read when it came, not at the end of the wait"
    );
}

/// The calling thread's context switches so far (voluntary: it blocked), from /proc.
fn voluntary_switches() -> u64 {
    let status = std::fs::read_to_string("/proc/thread-self/status").expect("thread status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("voluntary_ctxt_switches in /proc/thread-self/status")
}

#[test]
fn a_waiter_asleep_in_recv_wakes_once_for_a_wait_that_ends_empty_handed() {
    // A broker that reads the request and never answers: the waiter sleeps through the
    // whole wait. Thousands of consumers waiting for late answers must not wake to look
    // meanwhile (a 25 ms step of `recv` then `poll(2)` for the rest, in 100 ms slices,
    // woke it about 20 times a second).
    let addr = fake_broker(|mut s| {
        let _ = read_req(&mut s);
        std::thread::sleep(Duration::from_secs(30));
    });
    let (net, _pool, conn, rx) = one_pumped_heartbeat(&addr);
    // The first round registers the socket and sets its receive timeout.
    assert_eq!(
        net.wait_for(&rx, std::time::Instant::now() + Duration::from_millis(20)),
        None
    );
    let before = voluntary_switches();
    let started = std::time::Instant::now();
    assert_eq!(
        net.wait_for(&rx, started + Duration::from_millis(900)),
        None
    );
    let waited = started.elapsed();
    let woke = voluntary_switches() - before;
    assert!(
        waited >= Duration::from_millis(900),
        "the wait lasted until its deadline ({waited:?})"
    );
    assert!(
        waited < Duration::from_millis(1500),
        "and ended near it ({waited:?})"
    );
    assert!(woke <= 3, "the waiter woke {woke} times in one wait");
    assert!(conn.is_alive());
}

#[test]
fn a_broker_that_hangs_up_wakes_a_waiter_asleep_in_recv() {
    let addr = fake_broker(|mut s| {
        let _ = read_req(&mut s); // then close without answering
    });
    let (net, _pool, conn, rx) = one_pumped_heartbeat(&addr);
    let started = std::time::Instant::now();
    let got = net.wait_for(&rx, started + Duration::from_secs(20));
    assert_eq!(got, Some(false), "the waiter heard of the failure");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "at the close, not at the end of its wait ({:?})",
        started.elapsed()
    );
    assert!(!conn.is_alive());
}

#[test]
fn answers_read_in_pieces_or_together_by_a_waiter_asleep_in_recv_all_arrive() {
    // Three heartbeats, answered as: the first answer's head alone, then its rest, then
    // the other two answers in one write. A read that holds a whole frame and more, one
    // that holds part of a frame, and one that ends a frame begun earlier.
    let addr = fake_broker(|mut s| {
        let ids: Vec<i32> = (0..3)
            .filter_map(|_| read_req(&mut s))
            .map(|r| r.id)
            .collect();
        let frame = |id| {
            wire::header::response(id, ApiKey::Heartbeat, 4, &HeartbeatResponse::default())
                .expect("encode")
        };
        let first = frame(ids[0]);
        let mut rest = first.slice(6..).to_vec();
        let mut both = frame(ids[1]).to_vec();
        both.extend_from_slice(&frame(ids[2]));
        for piece in [first.slice(..6).to_vec(), std::mem::take(&mut rest), both] {
            if s.write_all(&piece).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = read_req(&mut s); // hold the connection open
    });
    let net = Net::pumped();
    let pool = Pool::new(config(&addr), net.clone());
    let conn = pool.get(0, &addr).expect("connect");
    let (tx, rx) = mpsc::channel();
    for i in 0..3 {
        tagged_heartbeat(&conn, i, tx.clone());
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut got: Vec<(i32, bool)> = (0..3).filter_map(|_| net.wait_for(&rx, deadline)).collect();
    got.sort_unstable();
    assert_eq!(got, vec![(0, true), (1, true), (2, true)]);
    assert!(conn.is_alive());
}
