//! The upstream cluster's client settings for front mode (`bbs-server --kafka BOOTSTRAP
//! --kafka-config FILE`): the bootstrap list and how the front server logs in (its
//! service account). The file is in Kafka's property-file style, so the same file works
//! with `kafka-console-producer --producer.config` and kcat's `-F`:
//!
//! ```text
//! # comments and blank lines are skipped
//! bootstrap.servers=kafka-1:9092,kafka-2:9092   # --kafka overrides it
//! security.protocol=SASL_PLAINTEXT               # or PLAINTEXT (the default)
//! sasl.mechanism=SCRAM-SHA-256                   # or PLAIN
//! sasl.username=bbs-front
//! sasl.password=...
//! client.id=bbs-front                            # optional
//! ```
//!
//! Unknown keys are refused (a typo must not silently connect without SASL); TLS
//! (`SSL`, `SASL_SSL`) is not supported yet and is refused too.

use client::Sasl;

use crate::error::{Error, Result};

/// How the front server reaches and logs in to the upstream cluster.
#[derive(Clone)]
pub struct UpstreamConfig {
    /// `host:port` of the brokers to ask for metadata first.
    pub bootstrap: Vec<String>,
    /// The service account's login, when the cluster wants one.
    pub sasl: Option<Sasl>,
    /// The client id the front server sends upstream.
    pub client_id: String,
}

impl UpstreamConfig {
    /// Settings with only a bootstrap list (no SASL).
    pub fn new(bootstrap: &str) -> Self {
        UpstreamConfig {
            bootstrap: split_list(bootstrap),
            sasl: None,
            client_id: "bbs-front".to_string(),
        }
    }

    /// Parses a property file's text; `bootstrap` (from `--kafka`), when given, replaces
    /// the file's `bootstrap.servers`.
    pub fn parse(text: &str, bootstrap: Option<&str>) -> Result<Self> {
        let mut cfg = UpstreamConfig::new("");
        let (mut protocol, mut mechanism) = (String::from("PLAINTEXT"), None);
        let (mut username, mut password) = (None, None);
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                continue;
            }
            let Some((key, value)) = line.split_once(['=', ':']) else {
                return Err(Error::Config(format!(
                    "kafka config line {}: expected key=value",
                    n + 1
                )));
            };
            let value = value.trim().to_string();
            match key.trim() {
                "bootstrap.servers" => cfg.bootstrap = split_list(&value),
                "security.protocol" => protocol = value.to_ascii_uppercase(),
                "sasl.mechanism" | "sasl.mechanisms" => mechanism = Some(value),
                "sasl.username" => username = Some(value),
                "sasl.password" => password = Some(value),
                "client.id" => cfg.client_id = value,
                other => {
                    return Err(Error::Config(format!(
                        "kafka config line {}: unknown setting {other:?}",
                        n + 1
                    )))
                }
            }
        }
        if let Some(b) = bootstrap {
            cfg.bootstrap = split_list(b);
        }
        cfg.sasl = match protocol.as_str() {
            "PLAINTEXT" => None,
            "SASL_PLAINTEXT" => {
                let (Some(username), Some(password)) = (username, password) else {
                    return Err(Error::Config(
                        "security.protocol=SASL_PLAINTEXT needs sasl.username and sasl.password"
                            .into(),
                    ));
                };
                match mechanism.as_deref().unwrap_or("PLAIN") {
                    "PLAIN" => Some(Sasl::Plain { username, password }),
                    "SCRAM-SHA-256" => Some(Sasl::ScramSha256 { username, password }),
                    m => {
                        return Err(Error::Config(format!(
                            "sasl.mechanism {m:?}: only PLAIN and SCRAM-SHA-256 are supported"
                        )))
                    }
                }
            }
            p => {
                return Err(Error::Config(format!(
                    "security.protocol {p:?}: only PLAINTEXT and SASL_PLAINTEXT are supported (no TLS yet)"
                )))
            }
        };
        if cfg.bootstrap.is_empty() {
            return Err(Error::Config(
                "no upstream bootstrap servers (--kafka or bootstrap.servers)".into(),
            ));
        }
        Ok(cfg)
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_account_file_parses_and_the_flag_wins() {
        let text = "# front\nbootstrap.servers=a:1, b:2\nsecurity.protocol=SASL_PLAINTEXT\n\
                    sasl.mechanism=SCRAM-SHA-256\nsasl.username=svc\nsasl.password=p=w\n";
        let cfg = UpstreamConfig::parse(text, None).expect("parses");
        assert_eq!(cfg.bootstrap, vec!["a:1", "b:2"]);
        assert!(matches!(
            &cfg.sasl,
            Some(Sasl::ScramSha256 { username, password }) if username == "svc" && password == "p=w"
        ));
        let cfg = UpstreamConfig::parse(text, Some("c:3")).expect("parses");
        assert_eq!(cfg.bootstrap, vec!["c:3"]);
    }

    #[test]
    fn typos_tls_and_missing_passwords_are_refused() {
        for bad in [
            "bootstrap.servers=a:1\nsasl.usernme=x\n",
            "bootstrap.servers=a:1\nsecurity.protocol=SASL_SSL\n",
            "bootstrap.servers=a:1\nsecurity.protocol=SASL_PLAINTEXT\nsasl.username=x\n",
            "bootstrap.servers=a:1\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanism=GSSAPI\nsasl.username=x\nsasl.password=y\n",
            "security.protocol=PLAINTEXT\n",
        ] {
            assert!(UpstreamConfig::parse(bad, None).is_err(), "{bad}");
        }
        for good in ["bootstrap.servers=a:1\n", "security.protocol=plaintext\n"] {
            assert!(UpstreamConfig::parse(good, Some("a:1")).is_ok(), "{good}");
        }
    }
}
