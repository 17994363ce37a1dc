//! Reaching a node of the cluster: a new connection to a node (by the address the latest
//! metadata gave it, or any bootstrap address before any is known), logged in as the
//! service account; and when a known node cannot be reached, asking the `--kafka` list who
//! is where now and trying once more at the node's new address (a broker that came back
//! elsewhere), as Kafka's clients do, instead of dialling the old address forever.

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, MetadataRequest, MetadataResponse};

use super::{UpConn, Upstream, OWN_METADATA_VERSION};
use crate::error::{Error, Result};

impl Upstream {
    /// [`Upstream::open`] sending a client's own client id (empty: the front's), so the
    /// cluster's logs, quotas and group member ids name the real client.
    pub async fn open_as(&self, node: i32, client_id: &str) -> Result<Arc<UpConn>> {
        let client_id = if client_id.is_empty() {
            self.config.client_id.as_str()
        } else {
            client_id
        };
        let known = self.nodes.lock().get(&node).cloned().filter(|_| node >= 0);
        let addrs = match &known {
            Some(a) => vec![a.clone()],
            None => self.config.bootstrap.clone(),
        };
        match self.try_open(&addrs, node, client_id).await {
            Ok(conn) => Ok(conn),
            Err(e) => {
                // The node may have moved (restarted elsewhere, or the cluster renamed it):
                // ask the bootstrap list who is where now, as Kafka's clients do, and try
                // once more if its address changed.
                let Some(old) = known else { return Err(e) };
                self.rediscover(client_id).await;
                match self.nodes.lock().get(&node).cloned() {
                    Some(new) if new != old => {}
                    _ => return Err(e),
                }
                let addr = self.nodes.lock().get(&node).cloned();
                self.try_open(&addr.into_iter().collect::<Vec<_>>(), node, client_id)
                    .await
            }
        }
    }

    async fn try_open(&self, addrs: &[String], node: i32, client_id: &str) -> Result<Arc<UpConn>> {
        let mut last = Error::Upstream("no bootstrap address".into());
        for addr in addrs {
            match UpConn::open(addr, node, client_id, self.config.sasl.as_ref()).await {
                Ok((conn, ranges)) => {
                    self.learn_versions(&ranges);
                    return Ok(conn);
                }
                Err(e) => {
                    tracing::warn!(upstream = %addr, error = %e, "cannot reach an upstream broker");
                    last = e;
                }
            }
        }
        Err(last)
    }

    /// Learns the cluster's nodes again from the first bootstrap address that answers
    /// (a node this server knows is unreachable).
    async fn rediscover(&self, client_id: &str) {
        let Ok(conn) = self.try_open(&self.config.bootstrap, -1, client_id).await else {
            return;
        };
        let mut req = MetadataRequest::default();
        req.topics = Some(Vec::new());
        let version = self
            .versions(ApiKey::Metadata)
            .map_or(OWN_METADATA_VERSION, |(_, hi)| hi.min(OWN_METADATA_VERSION));
        match conn
            .call::<_, MetadataResponse>(ApiKey::Metadata, version, &req)
            .await
        {
            Ok(resp) => {
                let moved: Vec<String> = {
                    let nodes = self.nodes.lock();
                    resp.brokers
                        .iter()
                        .filter(|b| {
                            nodes.get(&b.node_id.0)
                                != Some(&format!("{}:{}", b.host.as_str(), b.port))
                        })
                        .map(|b| format!("{}={}:{}", b.node_id.0, b.host.as_str(), b.port))
                        .collect()
                };
                if !moved.is_empty() {
                    // (Shared connections to the old addresses are dead: `shared` opens
                    // new ones.)
                    tracing::info!(?moved, "upstream brokers found at new addresses");
                }
                self.record(&resp);
            }
            Err(e) => {
                tracing::warn!(error = %e, "asking the bootstrap list for the cluster's nodes")
            }
        }
    }
}
