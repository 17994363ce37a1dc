//! `bbs-bench capture`: a recording Kafka-protocol proxy. Clients connect to `--listen`; each
//! connection is forwarded to `--upstream` frame by frame, and every frame is appended to
//! the capture file as one text line, so an exchange with an independent broker (Tansu,
//! Redpanda, Apache Kafka) can be replayed later by a scripted fake broker in a test
//! (`tests/client_replay.rs`).
//!
//! File format (one line per frame, in the order the proxy saw them):
//! `# comment`, `> <conn> <hex>` for a request (the frame without its length prefix) and
//! `< <conn> <hex>` for a response. `<conn>` numbers connections from 1. Start the
//! upstream broker with its advertised address set to the proxy's, so that the clients'
//! follow-up connections (metadata, coordinators) come through the proxy too.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;

use anyhow::{Context, Result};
use parking_lot::Mutex;

/// Largest frame the proxy forwards (a bigger length prefix means the stream is not Kafka).
const MAX_FRAME: usize = 256 << 20;

/// Options of `bbs-bench capture`.
#[derive(clap::Args, Debug)]
pub(crate) struct CaptureArgs {
    /// Where clients connect (`host:port`).
    #[arg(long)]
    listen: String,
    /// The broker the frames go to (`host:port`).
    #[arg(long)]
    upstream: String,
    /// The capture file (created or truncated).
    #[arg(long)]
    out: PathBuf,
}

/// The capture file, shared by every connection's two directions.
type Sink = Arc<Mutex<BufWriter<File>>>;

/// Runs the proxy until killed.
pub(crate) fn run(args: CaptureArgs) -> Result<()> {
    let listener =
        TcpListener::bind(&args.listen).with_context(|| format!("binding {}", args.listen))?;
    let file =
        File::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let sink: Sink = Arc::new(Mutex::new(BufWriter::new(file)));
    write_line(&sink, &format!("# upstream {}", args.upstream));
    eprintln!(
        "capture: {} -> {}, writing {}",
        args.listen,
        args.upstream,
        args.out.display()
    );
    let mut conn = 0u64;
    for client in listener.incoming() {
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                eprintln!("capture: accept: {e}");
                continue;
            }
        };
        conn += 1;
        let server = match TcpStream::connect(&args.upstream) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("capture: connecting to {}: {e}", args.upstream);
                continue;
            }
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        spawn_pump(conn, '>', &client, &server, &sink)?;
        spawn_pump(conn, '<', &server, &client, &sink)?;
    }
    Ok(())
}

/// Starts a thread copying frames from `from` to `to`, recording each with `mark`.
fn spawn_pump(conn: u64, mark: char, from: &TcpStream, to: &TcpStream, sink: &Sink) -> Result<()> {
    let (mut from, mut to, sink) = (from.try_clone()?, to.try_clone()?, sink.clone());
    thread::spawn(move || {
        while let Some(frame) = read_frame(&mut from) {
            write_line(&sink, &format!("{mark} {conn} {}", hex(&frame)));
            if to.write_all(&wire::frame::frame(&frame)).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
        let _ = from.shutdown(Shutdown::Read);
    });
    Ok(())
}

/// One length-prefixed frame, or `None` at the end of the stream or on a bad length.
fn read_frame(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).ok()?;
    let len = match wire::frame::body_len(len, MAX_FRAME) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("capture: {e}: not Kafka, closing");
            return None;
        }
    };
    let mut frame = vec![0u8; len];
    stream.read_exact(&mut frame).ok()?;
    Some(frame)
}

fn write_line(sink: &Sink, line: &str) {
    let mut out = sink.lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}
