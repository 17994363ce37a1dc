//! The machine's own limits, measured in the same run as the workloads so every figure can
//! be read against them: loopback TCP round trip and throughput (a plain socket pair, no
//! Kafka), sequential write speed and fsync latency on the file system the server uses.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::stats::Samples;

/// What the machine can do at best.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    /// 1-byte ping-pong over loopback TCP, p50 and p99 in ms.
    pub tcp_rtt_p50_ms: f64,
    pub tcp_rtt_p99_ms: f64,
    /// One-way loopback TCP throughput, MB/s.
    pub tcp_mb_s: f64,
    /// Sequential write then fsync, MB/s.
    pub write_mb_s: f64,
    /// 4 KiB write + fdatasync, p50 in ms.
    pub fsync_p50_ms: f64,
}

/// Measures every limit; `scale` shrinks the work for a smoke run (1.0 = full).
pub(crate) fn measure(dir: &Path, scale: f64) -> Result<Limits> {
    let rounds = ((10_000.0 * scale) as usize).max(100);
    let (p50, p99) = tcp_rtt(rounds)?;
    let tcp_mb_s = tcp_throughput(((512.0 * scale) as usize).max(8))?;
    let write_mb_s = seq_write(dir, ((256.0 * scale) as usize).max(4))?;
    let fsync_p50_ms = fsync_latency(dir, ((200.0 * scale) as usize).max(20))?;
    Ok(Limits {
        tcp_rtt_p50_ms: p50,
        tcp_rtt_p99_ms: p99,
        tcp_mb_s,
        write_mb_s,
        fsync_p50_ms,
    })
}

fn pair() -> Result<(TcpStream, TcpStream)> {
    let l = TcpListener::bind("127.0.0.1:0").context("binding loopback")?;
    let a = TcpStream::connect(l.local_addr()?)?;
    let (b, _) = l.accept()?;
    a.set_nodelay(true)?;
    b.set_nodelay(true)?;
    Ok((a, b))
}

fn tcp_rtt(rounds: usize) -> Result<(f64, f64)> {
    let (mut a, mut b) = pair()?;
    let echo = std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        while b.read_exact(&mut byte).is_ok() {
            if b.write_all(&byte).is_err() {
                break;
            }
        }
    });
    let mut s = Samples::with_capacity(rounds);
    let mut byte = [7u8; 1];
    for _ in 0..rounds {
        let t = Instant::now();
        a.write_all(&byte)?;
        a.read_exact(&mut byte)?;
        s.push(t.elapsed());
    }
    drop(a);
    let _ = echo.join();
    Ok((s.ms(0.5), s.ms(0.99)))
}

fn tcp_throughput(mib: usize) -> Result<f64> {
    let (mut a, mut b) = pair()?;
    let total = mib << 20;
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut got = 0usize;
        while got < total {
            match b.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        got
    });
    let chunk = vec![1u8; 1 << 16];
    let t = Instant::now();
    let mut sent = 0;
    while sent < total {
        a.write_all(&chunk)?;
        sent += chunk.len();
    }
    let got = reader.join().unwrap_or(0);
    Ok(got as f64 / 1e6 / t.elapsed().as_secs_f64())
}

/// A new empty file for a measurement (removed by the caller).
fn scratch_file(path: &Path) -> Result<std::fs::File> {
    OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

fn seq_write(dir: &Path, mib: usize) -> Result<f64> {
    let path = dir.join("bbs-bench-seq-write");
    let mut f = scratch_file(&path)?;
    let chunk = vec![0x5au8; 1 << 20];
    let t = Instant::now();
    for _ in 0..mib {
        f.write_all(&chunk)?;
    }
    f.sync_all()?;
    let secs = t.elapsed().as_secs_f64();
    drop(f);
    let _ = std::fs::remove_file(&path);
    Ok((mib << 20) as f64 / 1e6 / secs)
}

fn fsync_latency(dir: &Path, rounds: usize) -> Result<f64> {
    let path = dir.join("bbs-bench-fsync");
    let mut f = scratch_file(&path)?;
    let block = vec![0xa5u8; 4096];
    let mut s = Samples::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        f.write_all(&block)?;
        f.sync_data()?;
        s.push(t.elapsed());
    }
    drop(f);
    let _ = std::fs::remove_file(&path);
    Ok(s.ms(0.5))
}
