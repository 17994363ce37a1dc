//! `bbs-server`: runs the Kafka-compatible broker with the BBS hooks (`bbs_host`)
//! installed and (if asked) the classic port, on the embedded defaults, a config file and
//! flags; and the operator's offline and online commands: `users` ([`users`],
//! [`users_import`], [`pending_emails`]), `admin` ([`admin`], [`backup`]) and `check`.
//! [`net`] picks the address to advertise; [`nofile`] fits the open-file limit to
//! `max_connections`; [`modes`] runs the broker alone (`--plain`) or as a front server
//! over a Kafka cluster (`--kafka`).

mod admin;
mod backup;
mod modes;
mod net;
mod nofile;
mod pending_emails;
mod users;
mod users_import;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use broker::BrokerConfig;
use clap::{Parser, Subcommand};
use serde::Deserialize;

/// The bbs server: a bulletin board on a built-in Kafka-compatible broker.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Args {
    /// Address to listen on for Kafka clients [default: 127.0.0.1:9092].
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// host:port to advertise in Metadata (what clients connect to) [default: the listen address].
    #[arg(long, value_name = "HOST:PORT")]
    advertise: Option<String>,
    /// Directory for logs and state [default: the platform data directory].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Also serve the classic command language (for nc/telnet) on ADDR; port 0 picks a
    /// free port (logged as `classic=ADDR`).
    #[arg(long, value_name = "ADDR")]
    classic_listen: Option<std::net::SocketAddr>,
    /// TOML config file (see assets/bbs-server.toml); flags override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Run the broker alone: no BBS policy, no BBS authorizer, no classic port (an
    /// ordinary Kafka-protocol broker, e.g. the upstream of front servers).
    #[arg(long)]
    plain: bool,
    /// Run as a front server over the Kafka-compatible cluster at BOOTSTRAP
    /// (host:port[,host:port...]): no topic log here, everything forwarded there.
    #[arg(long, value_name = "BOOTSTRAP")]
    kafka: Option<String>,
    /// The cluster's client settings for --kafka (Kafka property file: security.protocol,
    /// sasl.mechanism, sasl.username, sasl.password; see docs/scale-out.md).
    #[arg(long, value_name = "FILE")]
    kafka_config: Option<PathBuf>,
    /// Also append the log to FILE (created if missing), without colours.
    #[arg(long, value_name = "FILE")]
    log_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check every record batch of every log (CRC and offsets) and report; the server
    /// must not be running.
    Check,
    /// Manage accounts: list, add, disable, enable, remove, reset-password. Works with
    /// the server stopped (edits the data directory) or running (talks to it as the
    /// operator).
    Users {
        #[command(subcommand)]
        action: users::UsersAction,
    },
    /// Moderate the running server as the operator (online, remove-post, remove-comment,
    /// export-board, delete-board, disable-user, enable-user) and back up the data
    /// directory (running or stopped).
    Admin {
        #[command(subcommand)]
        action: admin::AdminAction,
    },
}

/// The config file: one table per part of the server.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FileConfig {
    broker: BrokerConfig,
    auth: broker::auth::AuthConfig,
    bbs: BbsTable,
}

/// The `[bbs]` table: the BBS front ends the server hosts.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct BbsTable {
    /// Where the classic port listens (none: no classic port).
    classic_listen: Option<std::net::SocketAddr>,
    /// Zone of the dates the classic port prints (none: the server's local zone).
    timezone: Option<String>,
}

fn load_config(
    args: &Args,
) -> Result<(BrokerConfig, Option<std::net::SocketAddr>, bbs::time::Zone)> {
    let mut classic = None;
    let mut zone = bbs::time::Zone::local();
    let mut cfg = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config file {}", path.display()))?;
            let file: FileConfig = toml::from_str(&text)
                .with_context(|| format!("in config file {}", path.display()))?;
            let mut broker = file.broker;
            broker.auth = file.auth;
            classic = file.bbs.classic_listen;
            if let Some(tz) = &file.bbs.timezone {
                zone = bbs::time::Zone::parse(tz)
                    .map_err(anyhow::Error::msg)
                    .with_context(|| {
                        format!("in config file {}: [bbs] timezone", path.display())
                    })?;
            }
            broker
        }
        None => BrokerConfig::default(),
    };
    if let Some(l) = args.listen {
        cfg.listen = l;
    }
    if let Some(a) = &args.advertise {
        cfg.advertise = Some(a.clone());
    }
    if let Some(d) = &args.data_dir {
        cfg.data_dir = Some(d.clone());
    }
    cfg.validate().context("invalid settings")?;
    Ok((cfg, args.classic_listen.or(classic), zone))
}

fn data_dir(cfg: &BrokerConfig) -> Result<PathBuf> {
    if let Some(d) = &cfg.data_dir {
        return Ok(d.clone());
    }
    match bbs::dirs::server_data_dir() {
        Some(d) => Ok(d),
        None => bail!("no home directory to put data in: pass --data-dir"),
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    init_logging(args.log_file.as_deref())?;
    let (cfg, classic_listen, zone) = load_config(&args)?;
    let dir = data_dir(&cfg)?;
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating data directory {}", dir.display()))?;
    if let Some(Command::Admin { action }) = args.command {
        return admin::run(&dir, action, &cfg);
    }
    if let Some(Command::Check) = args.command {
        return check(&dir);
    }
    let mode = modes::Mode::from_flags(
        args.plain,
        args.kafka.as_deref(),
        args.kafka_config.as_deref(),
        classic_listen.is_some(),
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        if let Some(Command::Users { action }) = args.command {
            return users::run(&dir, action).await;
        }
        nofile::ensure(cfg.max_connections);
        let listener =
            net::listen(cfg.listen).with_context(|| format!("listening on {}", cfg.listen))?;
        let local = listener.local_addr()?;
        // With port 0 the advertised address must be the port we actually got.
        let mut cfg = cfg;
        cfg.listen = local;
        if cfg.advertise.is_none() && local.ip().is_unspecified() {
            let host = net::primary_address(local.ip())?;
            println!("advertising {host}:{} (listening on {local}); pass --advertise HOST:PORT to choose", local.port());
            cfg.advertise = Some(std::net::SocketAddr::new(host, local.port()).to_string());
        }
        // A random secret per run that only the in-process classic port knows: with it,
        // its loopback connections tell the broker each person's real address.
        let proxy_secret = classic_listen
            .map(|_| broker::auth::scram::random_bytes(24))
            .transpose()?
            .map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>());
        cfg.auth.proxy_token = proxy_secret.clone();
        let broker = match mode {
            modes::Mode::Bbs => None,
            modes::Mode::Plain => Some(modes::open_plain(&cfg, &dir)?),
            modes::Mode::Front(up) => Some(modes::open_front(&cfg, &dir, up).await?),
        };
        if let Some(broker) = broker {
            tracing::info!(listen = %local, advertise = %format!("{}:{}", broker.advertised().0, broker.advertised().1), data_dir = %dir.display(), "bbs-server ready");
            let _classic = match classic_listen {
                Some(addr) => Some(start_classic(addr, local, proxy_secret, zone)?),
                None => None,
            };
            let server = broker.start(listener).context("starting the broker")?;
            server.run_until(shutdown_signal()).await;
            return Ok(());
        }
        // The BBS rules: the record policy over the server's view, and private mailboxes.
        let policy = bbs_host::BbsPolicy::new();
        let hooks = broker::auth::Hooks {
            authorizer: Some(Arc::new(bbs_host::BbsAuthorizer {
                inner: Arc::new(broker::auth::authorizer::DefaultAuthorizer::new(&cfg.auth)),
            })),
            policy: Some(policy.clone()),
        };
        let (broker, repairs) = broker::Broker::open_with(cfg.clone(), &dir, hooks)
            .with_context(|| format!("opening data directory {}", dir.display()))?;
        for r in &repairs {
            tracing::warn!("recovery: {r}");
        }
        broker.logs().set_name_defaults(Arc::new(bbs_host::topic_defaults));
        let folded = policy.load(&broker).context("loading the BBS state from the log")?;
        tracing::info!(records = folded, last_post_id = policy.max_post_id(), "BBS state loaded");
        // BBS topics are the server's: the directories exist from the start, and boards
        // and mailboxes of records written before the server created them are made now.
        let created = policy.create_topics(&broker).await.context("creating the BBS topics")?;
        if created > 0 {
            tracing::info!(created, "created BBS topics");
        }
        // Accounts made while the server was stopped (or by older versions) get their
        // profile and private topics now: one notion of "a user exists".
        let emails = pending_emails::load(&dir);
        let mut complete = true;
        for (name, _) in broker.accounts() {
            let email = emails.get(&name).map_or("", String::as_str);
            if let Err(e) = policy.ensure_profile(&broker, &name, email).await {
                complete = false;
                tracing::error!(user = %name, error = %e, "could not complete the account");
            }
        }
        if complete {
            pending_emails::clear(&dir);
        }
        tracing::info!(listen = %local, advertise = %format!("{}:{}", broker.advertised().0, broker.advertised().1), data_dir = %dir.display(), "bbs-server ready");
        // The classic port's sessions are ordinary clients of this server; they connect
        // lazily, and the listener above is already bound, so starting it here is safe.
        let _classic = match classic_listen {
            Some(addr) => Some(start_classic(addr, local, proxy_secret, zone)?),
            None => None,
        };
        let server = broker.start(listener).context("starting the broker")?;
        server.run_until(shutdown_signal()).await;
        Ok(())
    })
}

/// Logs to stderr and, with `--log-file`, also appends to that file (no colours there).
fn init_logging(file: Option<&std::path::Path>) -> Result<()> {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
    };
    match file {
        None => tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_env_filter(filter())
            .init(),
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening the log file {}", path.display()))?;
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr.and(std::sync::Mutex::new(f)))
                .with_ansi(false)
                .with_env_filter(filter())
                .init()
        }
    }
    Ok(())
}

/// Opens the classic port on `addr`, its sessions connecting to this server at `kafka`.
fn start_classic(
    addr: std::net::SocketAddr,
    kafka: std::net::SocketAddr,
    proxy_secret: Option<String>,
    zone: bbs::time::Zone,
) -> Result<bbs::line::classic::ClassicHandle> {
    let mut target = kafka;
    if target.ip().is_unspecified() {
        target.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let listener = std::net::TcpListener::bind(addr)
        .with_context(|| format!("classic port: listening on {addr}"))?;
    let mut backend = bbs::backend::kafka::KafkaBackend::new(&target.to_string());
    backend.proxy_secret = proxy_secret;
    let backend = Arc::new(backend);
    let handle = bbs::line::classic::spawn(
        listener,
        backend,
        bbs::line::classic::ClassicConfig {
            zone,
            ..bbs::line::classic::ClassicConfig::default()
        },
    )
    .context("starting the classic port")?;
    tracing::info!(classic = %handle.addr, "classic port ready");
    Ok(handle)
}

/// Verifies every log without repairing anything (a start repairs what it reports as
/// "recovery needed").
fn check(dir: &std::path::Path) -> Result<()> {
    let report = broker::log::check::check_dir(dir)
        .with_context(|| format!("checking data directory {}", dir.display()))?;
    let mut bad = 0;
    for p in &report {
        for r in &p.repairs {
            println!("recovery needed: {r}");
        }
    }
    for p in &report {
        println!(
            "{}: {} batches, {} records, {} problems",
            p.name,
            p.batches,
            p.records,
            p.problems.len()
        );
        for pr in &p.problems {
            println!("  {pr}");
        }
        bad += p.problems.len();
    }
    if bad > 0 {
        bail!("{bad} problems found");
    }
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        _ = term.recv() => tracing::info!("SIGTERM received"),
    }
}
