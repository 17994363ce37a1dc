//! Rule 9 of the security model (one address cannot starve others), attacked for real
//! against the `bbs-server` binary with its default connection limits: 1,300 hostile
//! connections from 127.0.0.2 (half frames, slow-loris trickles, garbage, 2 GiB length
//! prefixes, truncated bodies announcing 8 MiB, silent connections, SASL exchanges
//! started and abandoned). Those beyond `max_connections_per_ip` are closed at once; while
//! the rest are open, kcat and a produce/consume round trip from 127.0.0.1 keep working;
//! the slow ones are closed by their deadlines. The normal client's latency with and
//! without the attack is printed, not asserted.
mod common;
use common::*;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, SaslHandshakeRequest};
use kafka_protocol::protocol::{Encodable, StrBytes};

const T: Duration = Duration::from_secs(30);
const HOSTILE: usize = 1300;
/// The default `max_connections_per_ip` (the test relies on the default).
const PER_IP: usize = 256;
/// Deadlines shortened from the defaults (10 / 30 / 15 s) to keep the test short.
const CONFIG: &str = "[broker]\nfirst_request_timeout_secs = 10\nrequest_timeout_secs = 15\nsasl_timeout_secs = 12\n";

/// The kinds of hostile connection, in the order they are opened (round robin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    HalfFrame,
    Trickle,
    Garbage,
    Huge,
    Truncated,
    Silent,
    SaslStarted,
}

const KINDS: [Kind; 7] = [
    Kind::HalfFrame,
    Kind::Trickle,
    Kind::Garbage,
    Kind::Huge,
    Kind::Truncated,
    Kind::Silent,
    Kind::SaslStarted,
];

fn request<B: Encodable>(key: ApiKey, version: i16, body: &B) -> Vec<u8> {
    raw::encode_with(key, version, 7, Some("hostile"), body)
}

/// What a hostile connection of `kind` sends right after connecting.
fn opening(kind: Kind, i: usize) -> Vec<u8> {
    let api_versions = request(ApiKey::ApiVersions, 0, &ApiVersionsRequest::default());
    // Half frames and truncated bodies follow one complete request, so it is the request
    // deadline (not the first-request one) that must close them.
    let mut v = match kind {
        Kind::HalfFrame | Kind::Trickle | Kind::Truncated => api_versions.clone(),
        _ => Vec::new(),
    };
    v.extend(match kind {
        Kind::HalfFrame | Kind::Trickle => api_versions[..api_versions.len() / 2].to_vec(),
        Kind::Garbage => {
            let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            (0..48)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        }
        Kind::Huge => {
            let mut v = 0x7fff_ffffu32.to_be_bytes().to_vec();
            v.extend_from_slice(&[0u8; 64]);
            v
        }
        Kind::Truncated => {
            let mut v = (8 * 1024 * 1024 - 1u32).to_be_bytes().to_vec();
            v.extend_from_slice(&[0x11u8; 1000]);
            v
        }
        Kind::Silent => Vec::new(),
        Kind::SaslStarted => {
            let mut h = SaslHandshakeRequest::default();
            h.mechanism = StrBytes::from_static_str("SCRAM-SHA-256");
            request(ApiKey::SaslHandshake, 1, &h)
        }
    });
    v
}

/// Connects from `local` (any 127/8 address works on Linux loopback), non-blocking.
fn connect_from(
    rt: &tokio::runtime::Runtime,
    local: &str,
    to: SocketAddr,
) -> std::io::Result<TcpStream> {
    rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4()?;
        sock.bind(format!("{local}:0").parse().expect("address"))?;
        let s = sock.connect(to).await?;
        s.into_std()
    })
}

/// True once the server has closed `s` (EOF or reset). `s` is non-blocking.
fn is_closed(mut s: &TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return true,
        }
    }
}

/// One normal client session from 127.0.0.1: kcat -L, a raw ApiVersions round trip, and a
/// kcat produce/consume round trip of `value`. Returns (kcat -L time, ApiVersions time).
fn normal_client(addr: &str, value: &str) -> (Duration, Duration) {
    let start = Instant::now();
    let meta = ok(kcat(&["-b", addr, "-L", "-m", "10"], None, T), "kcat -L");
    let kcat_l = start.elapsed();
    assert!(meta.contains("1 brokers"), "kcat -L output:\n{meta}");
    let mut s = TcpStream::connect(addr).expect("connect from 127.0.0.1");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let start = Instant::now();
    s.write_all(&request(
        ApiKey::ApiVersions,
        0,
        &ApiVersionsRequest::default(),
    ))
    .expect("send");
    read_frame(&mut s).expect("ApiVersions answer");
    let raw = start.elapsed();
    ok(
        kcat(
            &["-b", addr, "-P", "-t", "normal", "-p", "0"],
            Some(format!("{value}\n").as_bytes()),
            T,
        ),
        "kcat produce",
    );
    let got = ok(
        kcat(
            &[
                "-b",
                addr,
                "-C",
                "-t",
                "normal",
                "-p",
                "0",
                "-o",
                "beginning",
                "-e",
                "-q",
            ],
            None,
            T,
        ),
        "kcat consume",
    );
    assert!(
        got.lines().any(|l| l == value),
        "consumed {got:?}, wanted {value}"
    );
    (kcat_l, raw)
}

/// The server's resident and virtual memory (from /proc), for the printed figures.
fn server_memory(data: &std::path::Path) -> String {
    let needle = data.to_string_lossy().to_string();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains(&needle) {
            let status = std::fs::read_to_string(e.path().join("status")).unwrap_or_default();
            return status
                .lines()
                .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmSize"))
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join(", ");
        }
    }
    "unknown".into()
}

#[test]
fn one_address_cannot_starve_the_others() {
    let (_dir, cfg) = {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bbs-server.toml");
        std::fs::write(&path, CONFIG).expect("config");
        let p = path.to_str().expect("utf-8").to_string();
        (dir, p)
    };
    let s = TestServer::start(&["--config", &cfg]);
    let to: SocketAddr = s.addr.parse().expect("server address");
    let (base_l, base_raw) = normal_client(&s.addr, "before");
    let mem_before = server_memory(&s.data);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut hostile: Vec<(Kind, TcpStream)> = Vec::with_capacity(HOSTILE);
    let mut connect_failures = 0;
    for i in 0..HOSTILE {
        let kind = KINDS[i % KINDS.len()];
        match connect_from(&rt, "127.0.0.2", to) {
            Ok(mut c) => {
                // A refused connection may already be closed: ignore write errors.
                let _ = c.write_all(&opening(kind, i));
                hostile.push((kind, c));
            }
            Err(_) => connect_failures += 1,
        }
    }
    // Those beyond the per-address limit are closed at once: poll until at most the limit
    // are open.
    let open = eventually_some(
        &format!("at most {PER_IP} hostile connections from one address open"),
        Duration::from_secs(10),
        || {
            let open = hostile.iter().filter(|(_, c)| !is_closed(c)).count();
            (open <= PER_IP).then_some(open)
        },
    );
    let refused = hostile.len() - open;
    assert!(
        refused + connect_failures >= HOSTILE - PER_IP,
        "only {refused} of {HOSTILE} hostile connections were refused"
    );
    assert!(
        s.wait_for_log(
            "too many connections from this address",
            Duration::from_secs(5)
        ),
        "no refusal logged"
    );
    let mem_attack = server_memory(&s.data);

    // While the attack holds its slots, a client from 127.0.0.1 is served.
    let (attack_l, attack_raw) = normal_client(&s.addr, "during");
    let still_open = hostile.iter().filter(|(_, c)| !is_closed(c)).count();
    assert!(
        still_open > 0,
        "the normal client was checked after the attack was over"
    );

    // The slow ones are closed by their deadlines; tricklers keep sending a byte a tick.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let mut left = Vec::new();
        for (kind, c) in hostile.iter() {
            if *kind == Kind::Trickle {
                let _ = (&*c).write_all(&[0]);
            }
            if !is_closed(c) {
                left.push(*kind);
            }
        }
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} slow connections never closed: {:?}",
            left.len(),
            &left[..left.len().min(10)]
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for reason in [
        "no complete request within first_request_timeout_secs",
        "request not completed within request_timeout_secs",
        "login not completed within sasl_timeout_secs",
    ] {
        assert!(
            s.wait_for_log(reason, Duration::from_secs(5)),
            "no '{reason}' in the log"
        );
    }
    // And the server is fine afterwards.
    normal_client(&s.addr, "after");
    println!(
        "hostile: {HOSTILE} from 127.0.0.2, {refused} refused at once, {open} held (limit {PER_IP}), {connect_failures} connect failures"
    );
    println!(
        "normal client from 127.0.0.1: kcat -L {base_l:?} / ApiVersions {base_raw:?} without the attack, kcat -L {attack_l:?} / ApiVersions {attack_raw:?} during it"
    );
    println!("server memory: before {mem_before}; during the attack {mem_attack}");
}
