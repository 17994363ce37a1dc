//! Creating an account on the server: open registration through the client's admin SCRAM
//! calls (blocking like the rest of the client), with the server's refusals translated by
//! [`super::errors`].

use client::{Client, ClientConfig};

use super::errors::registration_refusal;
use crate::error::{Error, Failure, Result};

/// Creates the account `user` anonymously (open registration). The server refuses a name
/// that exists: `UsernameTaken`.
/// With `proxy` (secret, real client) the server counts the registration against the
/// real client's address (the broker's `BBS-PROXY` mechanism).
pub(super) fn create_account(
    bootstrap: &str,
    proxy: Option<(&str, std::net::SocketAddr)>,
    user: &str,
    password: &str,
) -> Result<()> {
    let mut config = ClientConfig::new(bootstrap).client_id("bbs-users");
    if let Some((secret, peer)) = proxy {
        config = config.proxied_for(secret, peer);
    }
    let accounts = Client::connect(config).map_err(|e| Error::Backend(e.to_string()))?;
    let admin = accounts.admin();
    if admin.scram_user_exists(user).unwrap_or(false) {
        return Err(Failure::UsernameTaken.into());
    }
    match admin.set_scram_password(user, password) {
        Ok(()) => Ok(()),
        Err(
            e @ (client::Error::Io { .. }
            | client::Error::Connection { .. }
            | client::Error::Timeout(_)),
        ) => Err(Error::Backend(e.to_string())),
        Err(e) => {
            tracing::info!(error = %e, user, "registration refused");
            Err(registration_refusal(&e).into())
        }
    }
}
