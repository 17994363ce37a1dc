//! W4: server memory per idle connection. Opens N connections that each make one request
//! (ApiVersions; PING for Redis) and then stay silent, and divides the growth of the
//! server's resident set by N.

use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::procs::rss_kib;
use crate::redis::Resp;

/// KB of server RSS per idle connection, and how many connections were held.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Idle {
    pub connections: usize,
    pub kb_per_connection: f64,
}

/// Idle connections to our server at `addr` (process `pid`).
pub(crate) fn kafka(addr: &str, pid: u32, n: usize) -> Result<Idle> {
    let before = settled_rss(pid);
    let mut held = Vec::with_capacity(n);
    for i in 0..n {
        let mut s = TcpStream::connect(addr).with_context(|| format!("connection {i} of {n}"))?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        if !crate::rawkafka::api_versions(&mut s) {
            anyhow::bail!("connection {i} of {n}: no ApiVersions answer (refused?)");
        }
        held.push(s);
    }
    let after = settled_rss(pid);
    drop(held);
    Ok(per(n, before, after))
}

/// Idle connections to Redis at `addr` (process `pid`).
pub(crate) fn redis(addr: &str, pid: u32, n: usize) -> Result<Idle> {
    let before = settled_rss(pid);
    let mut held = Vec::with_capacity(n);
    for i in 0..n {
        let mut c = Resp::connect(addr).with_context(|| format!("connection {i} of {n}"))?;
        c.call(&["PING"])?;
        held.push(c);
    }
    let after = settled_rss(pid);
    drop(held);
    Ok(per(n, before, after))
}

fn settled_rss(pid: u32) -> u64 {
    std::thread::sleep(Duration::from_millis(500));
    rss_kib(pid)
}

fn per(n: usize, before: u64, after: u64) -> Idle {
    Idle {
        connections: n,
        kb_per_connection: after.saturating_sub(before) as f64 * 1.024 / n.max(1) as f64,
    }
}
