//! `bbs-bench scaleout`: what throughput a front server adds in front of a cluster (issue
//! 14). Starts a fresh `bbs-server --plain` upstream whose only account is a service
//! account, and two `bbs-server --kafka` fronts logging in to it with SCRAM-SHA-256, then
//! measures W1 durable produce and W2 consume (the suite's paths in `throughput`: our
//! client, and kcat when installed) in four shapes: one client against the upstream directly
//! and through one front; two clients at once (half the records each, on their own topics)
//! against the upstream directly and through two fronts, one client per front. Each front
//! shape is compared with the direct shape of the same load. Every repetition measures all
//! four shapes in turn, so they share the machine's noise; the table quotes medians.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Barrier;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use client::{Client, ClientConfig, NewTopic};

use crate::procs::{sibling_binary, Server};
use crate::stats::{fmt_rate, median};
use crate::suite::bench_config;
use crate::throughput::{self, have_kcat};

const SERVICE: &str = "bbs-front";
const SERVICE_PASSWORD: &str = "scaleout-bench-pw";

/// Options of `bbs-bench scaleout`.
#[derive(clap::Args, Debug)]
pub(crate) struct ScaleoutArgs {
    /// Tiny sizes: checks that every shape works, in seconds (figures meaningless).
    #[arg(long)]
    smoke: bool,
    /// Records of 100 bytes per measurement (split over the fronts in the two-front shape).
    #[arg(long, default_value_t = 200_000)]
    records: usize,
    /// Repetitions (the median is reported).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Where data directories go (default: the system temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The server binary (default: next to bbs-bench).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Also write the table (Markdown) to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The four shapes, in the table's column order: a name, and the column it is compared
/// with (the direct shape of the same load).
const SHAPES: [(&str, Option<usize>); 4] = [
    ("1 client, upstream directly", None),
    ("1 client, one front", Some(0)),
    ("2 clients, upstream directly", None),
    ("2 clients, two fronts", Some(2)),
];

/// The four paths, in the table's row order.
const PATHS: [&str; 4] = [
    "W1 durable produce, ours (acks=all)",
    "W1 durable produce, kcat (acks=all)",
    "W2 consume, ours",
    "W2 consume, kcat",
];

/// Runs the measurement and prints the table.
pub(crate) fn run(mut args: ScaleoutArgs) -> Result<()> {
    if args.smoke {
        args.records = args.records.min(2_000);
        args.reps = 1;
    }
    let bin = sibling_binary("bbs-server", args.server_bin.as_deref())?;
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let scratch = tempfile::Builder::new()
        .prefix("bbs-scaleout-")
        .tempdir_in(&base)
        .with_context(|| format!("creating a scratch directory in {}", base.display()))?;
    let dir = scratch.path();
    let config = bench_config(dir)?;
    let config = config.to_string_lossy().into_owned();
    let up_data = dir.join("upstream");
    add_service_account(&bin, &up_data)?;
    let upstream = Server::start(&bin, &up_data, &["--plain", "--config", &config])?.0;
    let props = dir.join("front.properties");
    std::fs::write(
        &props,
        format!(
            "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n\
             sasl.username={SERVICE}\nsasl.password={SERVICE_PASSWORD}\n"
        ),
    )?;
    let props = props.to_string_lossy().into_owned();
    let front = |name: &str| -> Result<Server> {
        let args = ["--kafka", &upstream.addr, "--kafka-config", &props];
        let args = [&args[..], &["--config", &config]].concat();
        Ok(Server::start(&bin, &dir.join(name), &args)?.0)
    };
    let (a, b) = (front("front-a")?, front("front-b")?);
    let shapes: [Vec<String>; 4] = [
        vec![upstream.addr.clone()],
        vec![a.addr.clone()],
        vec![upstream.addr.clone(), upstream.addr.clone()],
        vec![a.addr.clone(), b.addr.clone()],
    ];
    let kcat = have_kcat();
    let inputs = kcat_inputs(dir, args.records, kcat)?;
    println!(
        "scaleout: {} records of 100 bytes, median of {}, {} cores; upstream {}, fronts {} {}",
        args.records,
        args.reps,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        upstream.addr,
        a.addr,
        b.addr
    );
    // rates[path][shape]: records per second, one per repetition.
    let mut rates = vec![vec![Vec::new(); SHAPES.len()]; PATHS.len()];
    for rep in 0..args.reps.max(1) {
        for (s, addrs) in shapes.iter().enumerate() {
            let r = measure_shape(addrs, &format!("s{s}-r{rep}"), args.records, &inputs)
                .with_context(|| format!("{} (repetition {})", SHAPES[s].0, rep + 1))?;
            for (p, rate) in r.into_iter().enumerate() {
                if let Some(rate) = rate {
                    rates[p][s].push(rate);
                }
            }
            println!("  repetition {} {}: done", rep + 1, SHAPES[s].0);
        }
    }
    let md = table(&rates, kcat);
    println!("\n{md}");
    if let Some(out) = &args.out {
        std::fs::write(out, &md).with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(())
}

/// `bbs-server --data-dir DATA users add bbs-front` (server not yet started), the password
/// on standard input.
fn add_service_account(bin: &Path, data: &Path) -> Result<()> {
    std::fs::create_dir_all(data)?;
    let mut child = Command::new(bin)
        .arg("--data-dir")
        .arg(data)
        .args(["users", "add", SERVICE])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    child
        .stdin
        .take()
        .context("users add: stdin")?
        .write_all(format!("{SERVICE_PASSWORD}\n").as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("users add: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// kcat's input files: all the records (one producer) and half of them (one of two).
fn kcat_inputs(dir: &Path, records: usize, kcat: bool) -> Result<Vec<PathBuf>> {
    if !kcat {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for parts in 1..=2 {
        let path = dir.join(format!("kcat-input-{parts}"));
        throughput::write_kcat_input(&path, records / parts)?;
        files.push(path);
    }
    Ok(files)
}

/// One repetition of the four paths in one shape: `addrs` are the addresses the load is
/// split over (one producer or consumer on each, at once). Returns records per second per
/// path (kcat's `None` when it is not installed).
fn measure_shape(
    addrs: &[String],
    tag: &str,
    records: usize,
    inputs: &[PathBuf],
) -> Result<[Option<f64>; 4]> {
    let parts = addrs.len();
    let each = records / parts;
    let total = (each * parts) as f64;
    let clients = addrs
        .iter()
        .map(|a| Client::connect(ClientConfig::new(a.as_str()).client_id("bbs-bench")))
        .collect::<Result<Vec<_>, _>>()
        .context("connecting")?;
    let ours = |i: usize| format!("scaleout-ours-{tag}-{i}");
    let theirs = |i: usize| format!("scaleout-kcat-{tag}-{i}");
    for (i, c) in clients.iter().enumerate() {
        c.admin()
            .create_topics(&[NewTopic::new(&ours(i), 1), NewTopic::new(&theirs(i), 1)])
            .context("creating the topics")?;
    }
    let mut out = [None; 4];
    out[0] = Some(total / at_once(parts, |i| throughput::produce(&clients[i], &ours(i), each))?);
    if let Some(input) = inputs.get(parts - 1) {
        let d = at_once(parts, |i| {
            throughput::kcat_produce(&addrs[i], &theirs(i), input)
        })?;
        out[1] = Some(total / d);
    }
    out[2] = Some(total / at_once(parts, |i| throughput::consume(&clients[i], &ours(i), each))?);
    if !inputs.is_empty() {
        let d = at_once(parts, |i| {
            throughput::kcat_consume(&addrs[i], &ours(i), each)
        })?;
        out[3] = Some(total / d);
    }
    Ok(out)
}

/// Runs `job(0..parts)` on as many threads, released together; the seconds the slowest took
/// (each job times itself from its release).
fn at_once(parts: usize, job: impl Fn(usize) -> Result<Duration> + Sync) -> Result<f64> {
    let barrier = Barrier::new(parts);
    let results: Vec<Result<Duration>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..parts)
            .map(|i| {
                let (job, barrier) = (&job, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    job(i)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("a worker panicked")))
            })
            .collect()
    });
    let mut slowest = Duration::ZERO;
    for r in results {
        slowest = slowest.max(r?);
    }
    Ok(slowest.as_secs_f64())
}

/// The table in Markdown: one row per path, one column per shape (the median, and for a
/// front shape its ratio to the direct shape of the same load).
fn table(rates: &[Vec<Vec<f64>>], kcat: bool) -> String {
    let mut s = String::from("| records/s (median) |");
    for (name, _) in SHAPES {
        let _ = write!(s, " {name} |");
    }
    s.push_str(&format!("\n|---|{}\n", "---|".repeat(SHAPES.len())));
    for (p, path) in PATHS.iter().enumerate() {
        let _ = write!(s, "| {path} |");
        if path.contains("kcat") && !kcat {
            s.push_str(&" kcat not installed |".repeat(SHAPES.len()));
            s.push('\n');
            continue;
        }
        let medians: Vec<f64> = rates[p].iter().map(|r| median(r.clone())).collect();
        for (m, (_, base)) in medians.iter().zip(SHAPES) {
            match base {
                None => {
                    let _ = write!(s, " {} |", fmt_rate(*m, "rec"));
                }
                Some(b) => {
                    let ratio = m / medians[b];
                    let _ = write!(s, " {} ({ratio:.2}x) |", fmt_rate(*m, "rec"));
                }
            }
        }
        s.push('\n');
    }
    s
}
