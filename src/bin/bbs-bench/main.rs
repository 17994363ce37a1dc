//! `bbs-bench`: measurement and interoperability tools that run against any
//! Kafka-compatible broker (our `bbs-server`, Tansu, Apache Kafka).
//!
//! - `interop`: our client's produce and consume paths, with a verdict;
//! - `fanout`: one producer, N consumers each in its own group, latency percentiles;
//! - `capture`: a recording proxy whose files `tests/client_replay.rs` replays;
//! - `suite`: every performance workload against a fresh `bbs-server`, with the peers and
//!   the machine's limits, as one table (`docs/performance.md`);
//! - `class`: simulated students on a fresh `bbs-server`, with faults and a read-back;
//! - `login`: W8, login, board list and opening a board with a small and a big history;
//! - `scaleout`: W1/W2 against a `--plain` upstream directly and through one and two
//!   `--kafka` front servers (`docs/scale-out.md`).

mod capture;
mod class;
mod class_driver;
mod class_faults;
mod class_session;
mod class_verify;
mod delivered;
mod fanout;
mod fanout_cells;
mod fanout_procs;
mod idle;
mod interop;
mod limits;
mod login;
mod login_seed;
mod procs;
mod rawfan;
mod rawkafka;
mod redis;
mod restart;
mod scaleout;
mod session;
mod stats;
mod suite;
mod throughput;
mod tui;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "bbs-bench",
    about = "Benchmarks and interop checks for bbs and any Kafka broker"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Produce and consume (manual, group from earliest, group from latest) with a verdict.
    Interop(interop::InteropArgs),
    /// Fan-out latency: one producer, N consumers each in its own group.
    Fanout(fanout::FanoutArgs),
    /// A share of a fan-out run's consumers in a helper process (started by `fanout`).
    #[command(hide = true)]
    FanoutPart(fanout_procs::PartArgs),
    /// A recording proxy: forwards Kafka frames and writes them to a capture file.
    Capture(capture::CaptureArgs),
    /// Every performance workload (W1-W8) with peers and machine limits, as one table.
    Suite(suite::SuiteArgs),
    /// A day of class: simulated students on a fresh server, with faults and a read-back.
    Class(class::ClassArgs),
    /// W8: login, board list and a big board's newest posts, small vs big history.
    Login(login::LoginArgs),
    /// W1/W2 against an upstream directly and through one and two front servers.
    Scaleout(scaleout::ScaleoutArgs),
}

fn main() {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Interop(a) => interop::run(a),
        Command::Fanout(a) => fanout::run(a),
        Command::FanoutPart(a) => fanout_procs::run_part(a),
        Command::Capture(a) => capture::run(a),
        Command::Suite(a) => suite::run(a),
        Command::Class(a) => class::run(a),
        Command::Login(a) => login::run(a),
        Command::Scaleout(a) => scaleout::run(a),
    };
    if let Err(e) = result {
        eprintln!("bbs-bench: {e:#}");
        std::process::exit(1);
    }
}
