//! Client-wide settings: where to bootstrap, how to authenticate, timeouts and backoff.
//! Producer and consumer settings live next to the producer and the consumer.

use std::time::Duration;

/// A SASL mechanism and credentials.
#[derive(Clone)]
pub enum Sasl {
    /// SASL/PLAIN: the password travels as is (use it only on trusted networks).
    Plain {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// SASL/SCRAM-SHA-256: a challenge-response that never sends the password.
    ScramSha256 {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
}

impl std::fmt::Debug for Sasl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sasl::Plain { username, .. } => write!(f, "Plain({username})"),
            Sasl::ScramSha256 { username, .. } => write!(f, "ScramSha256({username})"),
        }
    }
}

/// How to reach and talk to a cluster. Build with [`ClientConfig::new`] and the `with`-style
/// setters:
///
/// ```
/// use std::time::Duration;
/// use client::ClientConfig;
/// let cfg = ClientConfig::new("127.0.0.1:9092,127.0.0.1:9093")
///     .sasl_scram("ana", "pw")
///     .client_id("bbs-client")
///     .request_timeout(Duration::from_secs(10));
/// assert_eq!(cfg.bootstrap, vec!["127.0.0.1:9092", "127.0.0.1:9093"]);
/// ```
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `host:port` addresses to ask for the cluster's metadata; any live one is enough.
    pub bootstrap: Vec<String>,
    /// Sent in every request header; brokers log it.
    pub client_id: String,
    /// Credentials, or `None` to connect anonymously.
    pub sasl: Option<Sasl>,
    /// How long to wait for a TCP connection.
    pub connect_timeout: Duration,
    /// How long to wait for any one response (long polls add their own wait to this).
    pub request_timeout: Duration,
    /// First wait before reconnecting to a broker that failed; doubles up to the maximum.
    pub reconnect_backoff: Duration,
    /// Longest wait between reconnection attempts.
    pub reconnect_backoff_max: Duration,
    /// Shortest time between two metadata refreshes triggered by errors.
    pub metadata_refresh_backoff: Duration,
    /// How often metadata is refreshed even without errors (new topics for patterns).
    pub metadata_max_age: Duration,
    /// Largest response frame accepted; larger ones close the connection.
    pub max_response_size: usize,
    /// In-process proxy: (secret, real client address) sent with the `BBS-PROXY`
    /// mechanism before any login, so the broker limits and logs the real client (the
    /// classic port sets it; see the broker's `auth::proxy`).
    pub proxy: Option<(String, std::net::SocketAddr)>,
    /// Local address to connect from (a multi-homed host, or a test choosing which of its
    /// loopback addresses the broker sees); `None` lets the system choose.
    pub local_addr: Option<std::net::IpAddr>,
}

impl ClientConfig {
    /// A configuration bootstrapping from a comma-separated list of `host:port`.
    pub fn new(bootstrap: &str) -> Self {
        ClientConfig {
            bootstrap: bootstrap
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            client_id: "bbs".into(),
            sasl: None,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            reconnect_backoff: Duration::from_millis(50),
            reconnect_backoff_max: Duration::from_secs(1),
            metadata_refresh_backoff: Duration::from_millis(100),
            metadata_max_age: Duration::from_secs(5),
            max_response_size: 256 << 20,
            proxy: None,
            local_addr: None,
        }
    }

    /// Authenticates with SASL/SCRAM-SHA-256.
    pub fn sasl_scram(mut self, username: &str, password: &str) -> Self {
        self.sasl = Some(Sasl::ScramSha256 {
            username: username.into(),
            password: password.into(),
        });
        self
    }

    /// Authenticates with SASL/PLAIN.
    pub fn sasl_plain(mut self, username: &str, password: &str) -> Self {
        self.sasl = Some(Sasl::Plain {
            username: username.into(),
            password: password.into(),
        });
        self
    }

    /// Vouches, as the in-process proxy holding `secret`, for a real client at `peer`.
    pub fn proxied_for(mut self, secret: &str, peer: std::net::SocketAddr) -> Self {
        self.proxy = Some((secret.to_string(), peer));
        self
    }

    /// Connects from the local address `ip`.
    pub fn local_addr(mut self, ip: std::net::IpAddr) -> Self {
        self.local_addr = Some(ip);
        self
    }

    /// Sets the client id.
    pub fn client_id(mut self, id: &str) -> Self {
        self.client_id = id.into();
        self
    }

    /// Sets the per-request timeout.
    pub fn request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
        self
    }

    /// Sets the reconnect backoff (first and maximum).
    pub fn reconnect_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.reconnect_backoff = first;
        self.reconnect_backoff_max = max;
        self
    }

    /// Sets how often metadata is refreshed without errors (pattern subscriptions see new
    /// topics this often).
    pub fn metadata_max_age(mut self, age: Duration) -> Self {
        self.metadata_max_age = age;
        self
    }
}
