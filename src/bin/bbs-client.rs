//! `bbs-client`: the terminal BBS client. On a terminal it opens the TUI; with `--line`, or
//! when stdin is not a terminal, it speaks the classic command language on stdin/stdout.
//! `--demo` runs either on an in-process BBS (no server needed). Logs go to a daily
//! rolling file in the platform data directory, never to the screen.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bbs::backend::Backend;
use bbs::tui::{self, config::Config, local::LocalStore};
use clap::Parser;

/// The bbs client: a terminal bulletin board on a Kafka-compatible server.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Args {
    /// Server host (with PORT; same as --server HOST:PORT).
    host: Option<String>,
    /// Server port.
    port: Option<u16>,
    /// Server address HOST:PORT [default: the config file's, then the last one used,
    /// then 127.0.0.1:9092].
    #[arg(long, value_name = "HOST:PORT")]
    server: Option<String>,
    /// Line mode: the classic command language on stdin/stdout (the default when stdin is
    /// not a terminal).
    #[arg(long, conflicts_with = "tui")]
    line: bool,
    /// Full-screen mode even when stdin is not a terminal.
    #[arg(long)]
    tui: bool,
    /// Config file [default: bbs-client.toml in the platform config directory].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run on an in-process demo BBS instead of a server (log in as guest / guest).
    #[arg(long)]
    demo: bool,
    /// Print the key bindings (after the config file's overrides) and exit.
    #[arg(long)]
    keys: bool,
}

/// Sets up the rolling log file. Written from the logging thread itself (the client logs a
/// few lines, at info level), not through a background writer: one thread fewer per client.
/// `RUST_LOG` takes levels per target (`debug`, `info,client=debug`); the filter is
/// `Targets`, not `EnvFilter`, whose directive parser compiles regular expressions at start
/// (a quarter of a megabyte of code and heap a line session would keep resident).
fn init_logging() -> Option<()> {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let dir = tui::config::log_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::daily(dir, "bbs-client.log");
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|s| s.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(appender)
                .with_ansi(false),
        )
        .with(filter)
        .init();
    Some(())
}

fn server_of(args: &Args, config: &Config, local: &LocalStore) -> Result<String> {
    if let Some(s) = &args.server {
        return Ok(s.clone());
    }
    match (&args.host, args.port) {
        (Some(h), Some(p)) => return Ok(format!("{h}:{p}")),
        (Some(h), None) if h.contains(':') => return Ok(h.clone()),
        (Some(_), None) => bail!("give the port too: bbs-client HOST PORT"),
        _ => {}
    }
    Ok(config
        .server
        .clone()
        .or_else(|| local.load().last_server)
        .unwrap_or_else(|| "127.0.0.1:9092".into()))
}

fn backend_for(args: &Args, server: &str) -> Result<Arc<dyn Backend>> {
    if args.demo {
        let b = tui::demo::backend().context("seeding the demo BBS")?;
        tui::demo::start_bot(b.clone(), Duration::from_secs(20), 100);
        return Ok(Arc::new(b));
    }
    Ok(Arc::new(bbs::backend::kafka::KafkaBackend::new(server)))
}

fn main() -> Result<()> {
    let args = Args::parse();
    init_logging();
    let config = Config::load(args.config.as_deref()).map_err(anyhow::Error::msg)?;
    if args.keys {
        let (keymap, warnings) = tui::keymap::KeyMap::new(&config.keys);
        for w in warnings {
            eprintln!("warning: {w}");
        }
        for (_, line) in tui::view::help_lines(&keymap) {
            println!("{line}");
        }
        return Ok(());
    }
    let local = LocalStore::default_location();
    let server = server_of(&args, &config, &local)?;
    let line = args.line || (!args.tui && !std::io::stdin().is_terminal());
    tracing::info!(%server, line, demo = args.demo, "bbs-client starting");
    let backend = backend_for(&args, &server)?;
    if line {
        let style = if std::io::stdout().is_terminal() {
            bbs::line::interp::NoticeStyle::Ansi
        } else {
            bbs::line::interp::NoticeStyle::Newline
        };
        // Config::load already checked the setting.
        let zone = bbs::time::Zone::parse(&config.ui.timezone).map_err(anyhow::Error::msg)?;
        bbs::line::driver::serve(
            backend.as_ref(),
            std::io::stdin(),
            std::io::stdout(),
            style,
            zone,
        )?;
        return Ok(());
    }
    if !args.demo {
        let mut state = local.load();
        state.last_server = Some(server.clone());
        let _ = local.save(&state);
    }
    let label = if args.demo {
        "demo".to_string()
    } else {
        server
    };
    tui::run(tui::Options {
        backend,
        server: label,
        config,
        local,
        login_hint: args.demo.then(|| {
            format!(
                "Demo: log in as {} / {}",
                tui::demo::GUEST.0,
                tui::demo::GUEST.1
            )
        }),
    })?;
    Ok(())
}
