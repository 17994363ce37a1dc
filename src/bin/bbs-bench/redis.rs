//! The fan-out peer: a private `redis-server` (no persistence, loopback only), a minimal
//! RESP client, and W3's shape on Redis Streams ([`fanout`]: pipelined `XADD`, one
//! connection and one thread per consumer in `XREAD BLOCK`); W4 uses its idle connections.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::delivered::Delivered;
use crate::fanout::{gather, now_us, paced, start_all, Fanout};

/// A `redis-server` this run owns.
pub(crate) struct Redis {
    child: Child,
    pub addr: String,
}

impl Redis {
    /// Starts one, or `None` when `redis-server` is not installed.
    pub(crate) fn start() -> Result<Option<Redis>> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = match Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--maxclients", "12000"])
            .args(["--protected-mode", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).context("starting redis-server"),
        };
        let r = Redis {
            child,
            addr: format!("127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(mut c) = Resp::connect(&r.addr) {
                if c.call(&["PING"]).is_ok() {
                    return Ok(Some(r));
                }
            }
            if Instant::now() > deadline {
                bail!("redis-server did not answer PING within 20 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One reply, as much of RESP2 as the suite needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    Simple(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The bulk or simple string as text.
    pub(crate) fn text(&self) -> Option<String> {
        match self {
            Reply::Simple(s) => Some(s.clone()),
            Reply::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    /// The elements of an array reply (empty for a nil array).
    pub(crate) fn items(&self) -> &[Reply] {
        match self {
            Reply::Array(Some(v)) => v,
            _ => &[],
        }
    }
}

/// A blocking RESP connection.
pub(crate) struct Resp {
    /// The one socket (one file descriptor per connection, as Redis's own clients use:
    /// W4 holds 10,000 of them), read through a buffer and written directly.
    r: BufReader<TcpStream>,
}

impl Resp {
    /// Connects to `addr`.
    pub(crate) fn connect(addr: &str) -> Result<Resp> {
        let s = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
        s.set_nodelay(true)?;
        Ok(Resp {
            r: BufReader::new(s),
        })
    }

    /// Sends one command and reads its reply; a Redis error becomes an `Err`.
    pub(crate) fn call(&mut self, args: &[&str]) -> Result<Reply> {
        self.send(args)?;
        self.read()
    }

    /// Sends one command without reading its reply (pipelining: the replies come back in
    /// order, for [`Resp::reply`] or a [`Resp::replies`] reader).
    pub(crate) fn send(&mut self, args: &[&str]) -> Result<()> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        self.r.get_mut().write_all(&out)?;
        Ok(())
    }

    /// Reads the next reply of a pipelined command.
    pub(crate) fn reply(&mut self) -> Result<Reply> {
        self.read()
    }

    /// A second handle on the same connection that reads its replies, for a thread that
    /// drains them while this one goes on sending.
    pub(crate) fn replies(&self) -> Result<Resp> {
        let s = self.r.get_ref().try_clone().context("cloning the socket")?;
        Ok(Resp {
            r: BufReader::new(s),
        })
    }

    fn line(&mut self) -> Result<String> {
        let mut l = String::new();
        if self.r.read_line(&mut l)? == 0 {
            bail!("redis closed the connection");
        }
        Ok(l.trim_end_matches(['\r', '\n']).to_string())
    }

    fn read(&mut self) -> Result<Reply> {
        let l = self.line()?;
        let (kind, rest) = l.split_at(1.min(l.len()));
        let num = || {
            rest.parse::<i64>()
                .map_err(|_| anyhow!("bad RESP line {l:?}"))
        };
        Ok(match kind {
            "+" => Reply::Simple(rest.to_string()),
            "-" => bail!("redis: {rest}"),
            ":" => Reply::Int(num()?),
            "$" => {
                let n = num()?;
                if n < 0 {
                    Reply::Bulk(None)
                } else {
                    let mut b = vec![0u8; n as usize + 2];
                    std::io::Read::read_exact(&mut self.r, &mut b)?;
                    b.truncate(n as usize);
                    Reply::Bulk(Some(b))
                }
            }
            "*" => {
                let n = num()?;
                if n < 0 {
                    Reply::Array(None)
                } else {
                    let mut v = Vec::with_capacity(n as usize);
                    for _ in 0..n {
                        v.push(self.read()?);
                    }
                    Reply::Array(Some(v))
                }
            }
            _ => bail!("bad RESP line {l:?}"),
        })
    }
}

/// Entries of an `XREAD` reply on one stream: `(id, fields)`.
pub(crate) fn xread_entries(reply: &Reply) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for stream in reply.items() {
        let Some(entries) = stream.items().get(1) else {
            continue;
        };
        for e in entries.items() {
            let items = e.items();
            let id = items.first().and_then(Reply::text).unwrap_or_default();
            let fields = items
                .get(1)
                .map(|f| f.items().iter().filter_map(Reply::text).collect())
                .unwrap_or_default();
            out.push((id, fields));
        }
    }
    out
}

/// The same shape on Redis Streams: one `XADD` producer, N consumers each with its own
/// connection and thread in `XREAD BLOCK` from a marker entry written before they start.
pub(crate) fn fanout(addr: &str, consumers: usize, rate: u32, seconds: u64) -> Result<Fanout> {
    let stream = format!("bbs-fanout-{}-{consumers}", std::process::id());
    let mut producer = Resp::connect(addr)?;
    let marker = producer
        .call(&["XADD", &stream, "*", "m", "start"])?
        .text()
        .context("XADD returned no id")?;
    let total = (u64::from(rate) * seconds) as usize;
    let rx = start_all(0..consumers, |_, ready| {
        let (addr, stream, marker) = (addr.to_string(), stream.clone(), marker.clone());
        move || consume(&addr, &stream, marker, total, &ready)
    })?;
    // Pipelined, as our producer is: each XADD goes out on time and a second thread reads
    // the replies. Waiting for each reply would let a saturated server slow the producer
    // down, and the consumers would be offered less than `rate`.
    let mut replies = producer.replies()?;
    let acks = thread::spawn(move || -> Result<()> {
        for _ in 0..total {
            replies.reply().context("an XADD failed")?;
        }
        Ok(())
    });
    tracing::info!(consumers, "fan-out: producing");
    let produced_in = paced(rate, total, |seq| {
        producer.send(&["XADD", &stream, "*", "v", &format!("{} {seq}", now_us())])
    })?;
    acks.join()
        .map_err(|_| anyhow::anyhow!("the XADD reply reader panicked"))??;
    tracing::info!(consumers, "fan-out: produced");
    let f = Fanout {
        produced_in,
        ..gather(rx, consumers, total)
    };
    let _ = producer.call(&["DEL", &stream]);
    Ok(f)
}

fn consume(
    addr: &str,
    stream: &str,
    mut last: String,
    total: usize,
    ready: &AtomicUsize,
) -> Result<(Delivered, usize)> {
    let mut c = Resp::connect(addr)?;
    // Reading from the marker's id needs no positioning: nothing can be missed.
    ready.fetch_add(1, Ordering::SeqCst);
    let mut lat = Delivered::new(total);
    let mut reads = 0;
    while lat.len() < total {
        reads += 1;
        let reply = c.call(&["XREAD", "BLOCK", "30000", "STREAMS", stream, &last])?;
        let entries = xread_entries(&reply);
        if entries.is_empty() {
            bail!("no message for 30 s after {} of {total}", lat.len());
        }
        let now = now_us();
        for (id, fields) in entries {
            if let Some(v) = fields.get(1) {
                lat.note(v, now);
            }
            last = id;
        }
    }
    Ok((lat, reads))
}
