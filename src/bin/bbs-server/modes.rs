//! The server's two modes besides the BBS: `--plain`, our broker with no BBS hooks (an
//! ordinary Kafka-protocol broker: the upstream of front servers in tests, and a broker
//! for class exercises), and `--kafka BOOTSTRAP`, a front server that keeps no topic log
//! and forwards its clients' requests to a Kafka-compatible cluster (`broker::upstream`).
//! See docs/scale-out.md.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use broker::upstream::{Upstream, UpstreamConfig};
use broker::{Broker, BrokerConfig};

/// Which server runs.
pub(crate) enum Mode {
    /// The BBS on the built-in broker (the default).
    Bbs,
    /// The built-in broker alone.
    Plain,
    /// A front server over the cluster these settings reach.
    Front(UpstreamConfig),
}

impl Mode {
    /// The mode the flags ask for.
    pub(crate) fn from_flags(
        plain: bool,
        kafka: Option<&str>,
        kafka_config: Option<&Path>,
        classic: bool,
    ) -> Result<Mode> {
        let mode = match (plain, kafka, kafka_config) {
            (true, None, None) => Mode::Plain,
            (true, _, _) => bail!("--plain runs the broker alone: it takes no --kafka"),
            (false, None, Some(_)) => bail!("--kafka-config needs --kafka BOOTSTRAP"),
            (false, None, None) => return Ok(Mode::Bbs),
            (false, Some(bootstrap), None) => {
                Mode::Front(UpstreamConfig::parse("", Some(bootstrap)).context("--kafka")?)
            }
            (false, Some(bootstrap), Some(file)) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?;
                Mode::Front(
                    UpstreamConfig::parse(&text, Some(bootstrap))
                        .with_context(|| format!("in {}", file.display()))?,
                )
            }
        };
        if classic && matches!(mode, Mode::Plain) {
            bail!("the classic port needs the BBS: it is not served with --plain");
        }
        Ok(mode)
    }
}

/// Opens the broker with no BBS hooks (`--plain`).
pub(crate) fn open_plain(cfg: &BrokerConfig, dir: &Path) -> Result<Arc<Broker>> {
    let (broker, repairs) = Broker::open(cfg.clone(), dir)
        .with_context(|| format!("opening data directory {}", dir.display()))?;
    for r in &repairs {
        tracing::warn!("recovery: {r}");
    }
    tracing::info!("plain broker: no BBS policy, no BBS authorizer, no classic port");
    Ok(broker)
}

/// Opens a front server over the cluster `up` reaches (`--kafka`). The data directory
/// holds only this server's credential store, shared with the other front servers through
/// the cluster; the BBS authorizer decides as on a single server, and the BBS record
/// policy runs through the cluster (`bbs_host::FrontBbs`: every write goes through the
/// ledger and one sequencer, docs/scale-out.md).
pub(crate) async fn open_front(
    cfg: &BrokerConfig,
    dir: &Path,
    up: UpstreamConfig,
) -> Result<Arc<Broker>> {
    let bootstrap = up.bootstrap.join(",");
    let mut client_cfg = client::ClientConfig::new(&bootstrap).client_id(&up.client_id);
    client_cfg.sasl = up.sasl.clone();
    let upstream = Upstream::connect(up)
        .await
        .with_context(|| format!("reaching the upstream cluster at {bootstrap}"))?;
    let bbs = tokio::task::spawn_blocking(move || bbs_host::FrontBbs::start(client_cfg))
        .await
        .context("starting the BBS")?
        .context("reading the BBS from the upstream cluster")?;
    let hooks = broker::auth::Hooks {
        authorizer: Some(Arc::new(bbs_host::BbsAuthorizer {
            inner: Arc::new(broker::auth::authorizer::DefaultAuthorizer::new(&cfg.auth)),
        })),
        policy: Some(bbs.clone()),
    };
    let (broker, _) = Broker::open_with(cfg.clone(), dir, hooks)
        .with_context(|| format!("opening data directory {}", dir.display()))?;
    broker.set_upstream(Arc::clone(&upstream))?;
    broker::upstream::credentials::share(&broker, &upstream)
        .await
        .context("sharing the accounts through the upstream cluster")?;
    // Accounts made while no front ran (`users add` on a data directory) get their
    // profile and private topics now, as on a single server.
    for (name, _) in broker.accounts() {
        bbs.ensure_profile(&name).await;
    }
    tracing::info!(upstream = %bootstrap, "front server: forwarding to the upstream cluster");
    Ok(broker)
}
