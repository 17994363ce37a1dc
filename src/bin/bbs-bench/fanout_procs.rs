//! Fan-out consumers beyond one process's open-file limit. A consumer's `Client` holds
//! five descriptors (its two sockets, its network thread's epoll and the duplicate its
//! registry holds, the waker's eventfd: counted in /proc at 100 consumers), so at 5,000
//! consumers one bench process would need 25,000 of them; where the limit is lower, the
//! fan-out run hosts the consumers that fit itself and starts helper processes
//! (`bbs-bench fanout-part`, hidden) for the rest. Each helper starts its share, says
//! `ready` once every one of them is positioned, and after the run writes its results to
//! its standard output: one `result` line, the first failure, one latency per line, then
//! one line per message with its first and last latency among the helper's consumers.
//! The parent produces only after every helper is ready, so no consumer misses a message.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};

use anyhow::{bail, Context, Result};
use client::ClientConfig;

use crate::class_faults::raise_nofile;
use crate::fanout::{self, Fanout};

/// Descriptors one consumer's `Client` holds.
const FDS_PER_CONSUMER: u64 = 5;
/// Descriptors kept free for everything else in the process.
const SPARE_FDS: u64 = 512;

/// How many consumers fit in one process under its open-file limit (raised first).
pub(crate) fn per_process() -> usize {
    let limit = raise_nofile();
    (limit.saturating_sub(SPARE_FDS) / FDS_PER_CONSUMER).max(1) as usize
}

/// Options of `bbs-bench fanout-part` (started by a fan-out run, not by hand).
#[derive(clap::Args, Debug)]
pub(crate) struct PartArgs {
    #[arg(long)]
    bootstrap: String,
    #[arg(long)]
    topic: String,
    /// Index of this part's first consumer.
    #[arg(long)]
    first: usize,
    /// Consumers in this part.
    #[arg(long)]
    count: usize,
    /// Consumers in the whole run (part of every group's name).
    #[arg(long)]
    consumers: usize,
    /// Messages the run produces.
    #[arg(long)]
    total: usize,
    #[arg(long)]
    run_id: u32,
    #[arg(long)]
    seconds: u64,
}

/// The helper processes of one run.
pub(crate) struct Parts {
    children: Vec<(Child, BufReader<ChildStdout>)>,
}

/// One Kafka fan-out run, as its helpers need to know it.
pub(crate) struct Run<'a> {
    pub bootstrap: &'a str,
    pub topic: &'a str,
    pub consumers: usize,
    pub total: usize,
    pub run_id: u32,
    pub seconds: u64,
}

/// Starts helpers for consumers `first..run.consumers`, `per_proc` each.
pub(crate) fn spawn(run: &Run, first: usize, per_proc: usize) -> Result<Parts> {
    let exe = std::env::current_exe().context("finding bbs-bench itself")?;
    let mut parts = Parts {
        children: Vec::new(),
    };
    let mut at = first;
    while at < run.consumers {
        let count = per_proc.min(run.consumers - at);
        let mut child = Command::new(&exe)
            .arg("fanout-part")
            .args(["--bootstrap", run.bootstrap, "--topic", run.topic])
            .args(["--first", &at.to_string(), "--count", &count.to_string()])
            .args(["--consumers", &run.consumers.to_string()])
            .args(["--total", &run.total.to_string()])
            .args(["--run-id", &run.run_id.to_string()])
            .args(["--seconds", &run.seconds.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .context("starting a fan-out helper process")?;
        let out = child.stdout.take().context("the helper's output")?;
        parts.children.push((child, BufReader::new(out)));
        at += count;
    }
    Ok(parts)
}

impl Drop for Parts {
    /// Helpers of a run that failed are not left behind.
    fn drop(&mut self) {
        for (child, _) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Parts {
    /// Waits until every helper says its consumers are positioned.
    pub(crate) fn wait_ready(&mut self) -> Result<()> {
        for (_, out) in &mut self.children {
            let mut line = String::new();
            out.read_line(&mut line)?;
            if line.trim() != "ready" {
                bail!(
                    "a fan-out helper failed before it was ready ({:?})",
                    line.trim()
                );
            }
        }
        Ok(())
    }

    /// Adds every helper's results to `f`.
    pub(crate) fn gather_into(&mut self, f: &mut Fanout) -> Result<()> {
        for (mut child, mut out) in std::mem::take(&mut self.children) {
            let mut line = String::new();
            out.read_line(&mut line)?;
            let nums: Vec<usize> = line
                .strip_prefix("result ")
                .context("a fan-out helper ended without its results")?
                .split_whitespace()
                .map(str::parse)
                .collect::<std::result::Result<_, _>>()
                .context("a fan-out helper's result line")?;
            let [count, complete, failed, reads, samples, messages] = nums[..] else {
                bail!("a fan-out helper's result line: {line:?}");
            };
            let mut first_failure = String::new();
            out.read_line(&mut first_failure)?;
            for _ in 0..samples {
                line.clear();
                out.read_line(&mut line)?;
                f.latency
                    .push_us(line.trim().parse().context("a helper's latency")?);
            }
            for _ in 0..messages {
                line.clear();
                out.read_line(&mut line)?;
                let nums: Vec<u64> = line
                    .split_whitespace()
                    .map(str::parse)
                    .collect::<std::result::Result<_, _>>()
                    .context("a helper's message line")?;
                let [seq, first, last] = nums[..] else {
                    bail!("a helper's message line: {line:?}");
                };
                if seq as usize >= f.messages {
                    bail!("a helper reported message {seq} of {}", f.messages);
                }
                f.per_message.add(seq as usize, first);
                f.per_message.add(seq as usize, last);
            }
            f.consumers += count;
            f.complete += complete;
            f.failed += failed;
            f.reads += reads;
            if !first_failure.trim().is_empty() {
                f.first_failure
                    .get_or_insert(first_failure.trim().to_string());
            }
            let _ = child.wait();
        }
        Ok(())
    }
}

/// `bbs-bench fanout-part`: one helper's share of a fan-out run.
pub(crate) fn run_part(a: PartArgs) -> Result<()> {
    raise_nofile();
    let run = Run {
        bootstrap: &a.bootstrap,
        topic: &a.topic,
        consumers: a.consumers,
        total: a.total,
        run_id: a.run_id,
        seconds: a.seconds,
    };
    let config = ClientConfig::new(&a.bootstrap).client_id("bbs-bench");
    let rx = fanout::start_consumers(&run, config, a.first..a.first + a.count)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "ready")?;
    stdout.flush()?;
    let mut f = fanout::gather(rx, a.count, a.total);
    let mut out = std::io::BufWriter::new(stdout);
    writeln!(
        out,
        "result {} {} {} {} {} {}",
        a.count,
        f.complete,
        f.failed,
        f.reads,
        f.latency.len(),
        f.per_message.iter().count()
    )?;
    writeln!(
        out,
        "{}",
        f.first_failure
            .take()
            .unwrap_or_default()
            .replace('\n', " ")
    )?;
    for us in f.latency.values() {
        writeln!(out, "{us}")?;
    }
    for (seq, first, last) in f.per_message.iter() {
        writeln!(out, "{seq} {first} {last}")?;
    }
    out.flush()?;
    Ok(())
}
