//! SASL authentication on a fresh connection, client side: SaslHandshake v1 names the
//! mechanism, then SaslAuthenticate carries the exchange. PLAIN sends `\0user\0password`;
//! SCRAM-SHA-256 (RFC 5802 / RFC 7677) proves knowledge of the password and checks the
//! server's signature (compared in constant time). The SCRAM arithmetic is in
//! [`ScramClient`], free of I/O: the one SCRAM client of the workspace (the broker's tests
//! drive its server side with it). The exchange runs over any [`Channel`]; the connection
//! implements it and runs the exchange when it opens, so this module does not import the
//! connection.

use base64::Engine;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use kafka_protocol::messages::{
    ApiKey, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable};
use sha2::{Digest, Sha256};

use super::config::Sasl;
use super::util::sb;
use crate::error::{Error, Result};

type HmacSha256 = Hmac<Sha256>;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The one thing the exchange needs from a connection: a request answered at the version
/// the connection negotiated. [`crate::conn::Connection`] implements it (and runs the
/// exchange when it opens), so this module does not depend on the connection.
pub trait Channel {
    /// Sends `req` at the negotiated version of `api`; returns that version and the answer.
    fn request<Req: Encodable, Resp: Decodable>(
        &self,
        api: ApiKey,
        req: &Req,
    ) -> Result<(i16, Resp)>;
}

/// Runs the SASL exchange for `sasl` on `conn`.
pub fn authenticate(conn: &impl Channel, sasl: &Sasl) -> Result<()> {
    let mechanism = match sasl {
        Sasl::Plain { .. } => "PLAIN",
        Sasl::ScramSha256 { .. } => "SCRAM-SHA-256",
    };
    let mut hs = SaslHandshakeRequest::default();
    hs.mechanism = sb(mechanism);
    let (_, resp): (_, SaslHandshakeResponse) = conn.request(ApiKey::SaslHandshake, &hs)?;
    if resp.error_code != 0 {
        let offered: Vec<&str> = resp.mechanisms.iter().map(|m| m.as_str()).collect();
        return Err(Error::Auth {
            code: Some(resp.error_code.into()),
            message: format!(
                "broker refused {mechanism} (error {}); it offers {offered:?}",
                resp.error_code
            ),
        });
    }
    match sasl {
        Sasl::Plain { username, password } => {
            let token = format!("\0{username}\0{password}");
            step(conn, token.into_bytes())?;
            Ok(())
        }
        Sasl::ScramSha256 { username, password } => {
            let mut scram = ScramClient::new(username, password, &nonce()?);
            let server_first = step(conn, scram.client_first().into_bytes())?;
            let client_final = scram.client_final(&server_first)?;
            let server_final = step(conn, client_final.into_bytes())?;
            scram.verify_server_final(&server_final)
        }
    }
}

/// Vouches for the real client at `peer` with the in-process `BBS-PROXY` mechanism
/// (the broker's `auth::proxy`; the token is `wire::proxy`'s); the connection stays
/// anonymous until a login follows.
pub fn proxy(conn: &impl Channel, secret: &str, peer: std::net::SocketAddr) -> Result<()> {
    let mut hs = SaslHandshakeRequest::default();
    hs.mechanism = sb(wire::proxy::MECHANISM);
    let (_, resp): (_, SaslHandshakeResponse) = conn.request(ApiKey::SaslHandshake, &hs)?;
    if resp.error_code != 0 {
        return Err(Error::Auth {
            code: Some(resp.error_code.into()),
            message: format!(
                "broker refused the proxy mechanism (error {})",
                resp.error_code
            ),
        });
    }
    step(conn, wire::proxy::token(secret, peer))?;
    Ok(())
}

/// One SaslAuthenticate round trip; returns the server's bytes.
fn step(conn: &impl Channel, token: Vec<u8>) -> Result<Vec<u8>> {
    let mut req = SaslAuthenticateRequest::default();
    req.auth_bytes = Bytes::from(token);
    let (_, resp): (_, SaslAuthenticateResponse) = conn.request(ApiKey::SaslAuthenticate, &req)?;
    if resp.error_code != 0 {
        return Err(Error::Auth {
            code: Some(resp.error_code.into()),
            message: resp
                .error_message
                .map(|m| m.to_string())
                .unwrap_or_else(|| format!("error code {}", resp.error_code)),
        });
    }
    Ok(resp.auth_bytes.to_vec())
}

/// A random printable nonce.
fn nonce() -> Result<String> {
    let mut raw = [0u8; 24];
    getrandom::fill(&mut raw).map_err(|e| Error::auth(format!("no randomness: {e}")))?;
    Ok(B64.encode(raw))
}

/// The client side of one SCRAM-SHA-256 exchange.
pub struct ScramClient {
    /// The password (needed for the salted key once the salt is known).
    password: String,
    /// `n=user,r=nonce`.
    first_bare: String,
    /// Our nonce.
    nonce: String,
    /// The signature we expect in server-final (set by `client_final`).
    expected_server_signature: Option<Vec<u8>>,
}

impl ScramClient {
    /// Starts an exchange for `username` with our `nonce`.
    pub fn new(username: &str, password: &str, nonce: &str) -> Self {
        let name = username.replace('=', "=3D").replace(',', "=2C");
        ScramClient {
            password: password.to_string(),
            first_bare: format!("n={name},r={nonce}"),
            nonce: nonce.to_string(),
            expected_server_signature: None,
        }
    }

    /// The client-first message.
    pub fn client_first(&self) -> String {
        format!("n,,{}", self.first_bare)
    }

    /// Answers server-first with client-final.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<String> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| Error::auth("server-first is not UTF-8"))?;
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for part in server_first.split(',') {
            if let Some(v) = part.strip_prefix("r=") {
                nonce = Some(v);
            } else if let Some(v) = part.strip_prefix("s=") {
                salt = Some(
                    B64.decode(v)
                        .map_err(|_| Error::auth("bad salt in server-first"))?,
                );
            } else if let Some(v) = part.strip_prefix("i=") {
                iterations = v.parse::<u32>().ok();
            } else if let Some(v) = part.strip_prefix("e=") {
                return Err(Error::auth(format!("server error: {v}")));
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(Error::auth(format!(
                "malformed server-first {server_first:?}"
            )));
        };
        if !nonce.starts_with(&self.nonce) || iterations == 0 {
            return Err(Error::auth("server-first nonce or iterations invalid"));
        }
        let salted = salted_password(self.password.as_bytes(), &salt, iterations);
        let client_key = hmac(&salted, b"Client Key")?;
        let stored_key = Sha256::digest(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.first_bare);
        let signature = hmac(&stored_key, auth_message.as_bytes())?;
        let proof: Vec<u8> = client_key
            .iter()
            .zip(signature.iter())
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = hmac(&salted, b"Server Key")?;
        self.expected_server_signature = Some(hmac(&server_key, auth_message.as_bytes())?);
        Ok(format!("{without_proof},p={}", B64.encode(proof)))
    }

    /// Checks server-final's signature.
    pub fn verify_server_final(&self, server_final: &[u8]) -> Result<()> {
        let text = std::str::from_utf8(server_final)
            .map_err(|_| Error::auth("server-final is not UTF-8"))?;
        if let Some(e) = text.strip_prefix("e=") {
            return Err(Error::auth(format!("server error: {e}")));
        }
        let sig = text
            .split(',')
            .find_map(|p| p.strip_prefix("v="))
            .and_then(|v| B64.decode(v).ok())
            .ok_or_else(|| Error::auth(format!("malformed server-final {text:?}")))?;
        match &self.expected_server_signature {
            Some(expected)
                if bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], &sig[..])) =>
            {
                Ok(())
            }
            _ => Err(Error::auth("server signature mismatch")),
        }
    }
}

/// SCRAM's SaltedPassword: PBKDF2-HMAC-SHA-256 of the password (what a credential stores
/// derived keys from, and what AlterUserScramCredentials carries).
pub fn salted_password(password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
    out.to_vec()
}

fn hmac(key: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    let mut mac =
        HmacSha256::new_from_slice(key).map_err(|e| Error::auth(format!("hmac key: {e}")))?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example exchange of RFC 7677 section 3.
    #[test]
    fn rfc7677_vector() {
        let mut c = ScramClient::new("user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(c.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first =
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let fin = c.client_final(server_first).expect("final");
        assert_eq!(
            fin,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        c.verify_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .expect("server signature");
        assert!(c.verify_server_final(b"v=AAAA").is_err());
        assert!(c.verify_server_final(b"e=invalid-proof").is_err());
    }

    #[test]
    fn rejects_bad_server_first() {
        let mut c = ScramClient::new("u", "p", "abc");
        assert!(c.client_final(b"r=zzz,s=AAAA,i=4096").is_err());
        assert!(c.client_final(b"garbage").is_err());
        assert!(c.client_final(&[0xff, 0xfe]).is_err());
        assert!(c.client_final(b"r=abcd,s=!!,i=1").is_err());
        assert_eq!(
            ScramClient::new("a=b,c", "p", "n").client_first(),
            "n,,n=a=3Db=2Cc,r=n"
        );
    }
}
