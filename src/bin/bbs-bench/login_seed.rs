//! W8's history: a fresh server gets `boards` small boards (a few posts and comments each,
//! written through a BBS session as an ordinary user would) and one big board of `posts`
//! posts, produced in large batches by one logged-in user through our Kafka client. The
//! server's policy checks and stamps every post (id, time) and keeps its views, exactly as
//! for posts written one at a time; only the client side is batched.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bbs::backend::kafka::KafkaBackend;
use bbs::backend::Backend;
use bbs::codec::{self, BbsRecord, Entry};
use bbs::session::Session;
use client::{Client, ClientConfig, ProducerConfig, Record};

/// The board every reader opens.
pub(crate) const BIG: &str = "big";
/// The user who writes the history.
pub(crate) const WRITER: &str = "writer";
/// The user whose sessions are measured (has read nothing).
pub(crate) const READER: &str = "reader";
/// Posts (and comments on each of the first two) per small board.
const SMALL_POSTS: usize = 3;

/// Every password is the user's name with this prefix.
pub(crate) fn password(user: &str) -> String {
    format!("pw-{user}")
}

/// What seeding took.
pub(crate) struct Seeded {
    /// Posts on the big board.
    pub posts: usize,
    /// Posts per second while producing the big board.
    pub rate: f64,
}

/// Name of small board `i`.
fn small_board(i: usize) -> String {
    format!("b{i:03}")
}

/// Registers both users, writes the small boards and the big board's `posts` posts.
pub(crate) fn seed(addr: &str, boards: usize, posts: usize) -> Result<Seeded> {
    let backend = KafkaBackend::new(addr);
    for user in [WRITER, READER] {
        let mut s = Session::new(backend.connect()?);
        s.register(user, &format!("{user}@example.com"), &password(user))
            .with_context(|| format!("registering {user}"))?;
    }
    {
        let mut s = Session::new(backend.connect()?);
        s.login(WRITER, &password(WRITER))?;
        s.create_board(BIG)?;
        for b in 0..boards {
            let name = small_board(b);
            s.create_board(&name)?;
            for p in 0..SMALL_POSTS {
                let id = s.create_post(&name, &format!("{name} post {p}"), "hello")?;
                if p < 2 {
                    s.comment(&id.to_string(), "a comment")?;
                }
            }
        }
        s.close();
    }
    let start = Instant::now();
    produce_posts(addr, posts)?;
    let secs = start.elapsed().as_secs_f64();
    Ok(Seeded {
        posts,
        rate: posts as f64 / secs.max(1e-9),
    })
}

/// Produces `n` posts to the big board as the writer, in batches, and checks the last one
/// landed where `n` posts end.
fn produce_posts(addr: &str, n: usize) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let client = Client::connect(
        ClientConfig::new(addr)
            .client_id("bbs-bench-seed")
            .sasl_scram(WRITER, &password(WRITER)),
    )?;
    let producer = client.producer(
        ProducerConfig::default()
            .linger(Duration::from_millis(5))
            .batch_size(256 * 1024),
    )?;
    let mut first = None;
    let mut last = None;
    for i in 0..n {
        let entry = Entry::new(BbsRecord::Post {
            board: BIG.into(),
            id: None,
            author: WRITER.into(),
            title: format!("post {i} of the big board"),
            body: "seeded".into(),
        });
        let (topic, wire) = codec::encode(&entry)?;
        let mut r = Record::new(&topic);
        if let Some(k) = wire.key {
            r = r.key(k);
        }
        if let Some(v) = wire.value {
            r = r.value(v);
        }
        for (k, v) in wire.headers {
            if let Some(v) = v {
                r = r.header(&k, v);
            }
        }
        let h = producer.send(r)?;
        if i == 0 {
            first = Some(h);
        } else {
            last = Some(h);
        }
    }
    producer.flush()?;
    let first = first.context("no first post")?.wait()?.offset;
    let end = match last {
        Some(h) => h.wait()?.offset,
        None => first,
    };
    if end - first != n as i64 - 1 {
        bail!("the big board's posts span offsets {first}..={end}, expected {n} records");
    }
    producer.close()?;
    Ok(())
}
