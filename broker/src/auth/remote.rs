//! A minimal account-management client over the Kafka protocol: connect, optionally log
//! in with SCRAM-SHA-256, then list, create, change, disable and remove accounts. The
//! operator CLI uses it against a running server (logging in as `__operator` with the
//! secret file); tests use it to register anonymously.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    alter_client_quotas_request, alter_user_scram_credentials_request,
    describe_client_quotas_request, describe_user_scram_credentials_request,
    AlterClientQuotasRequest, AlterClientQuotasResponse, AlterUserScramCredentialsRequest,
    AlterUserScramCredentialsResponse, ApiKey, DescribeClientQuotasRequest,
    DescribeClientQuotasResponse, DescribeUserScramCredentialsRequest,
    DescribeUserScramCredentialsResponse, RequestHeader, ResponseHeader, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::scram::{self, random_bytes, salted_password, DEFAULT_ITERATIONS};
use crate::error::{Error, IoContext, Result};
use crate::handlers::quotas::{DISABLED_KEY, RETIRED_KEY};

/// Largest response accepted.
const MAX_RESPONSE: usize = 16 << 20;

/// One account as listed remotely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteAccount {
    /// The name.
    pub name: String,
    /// PBKDF2 iterations of its credential.
    pub iterations: i32,
    /// Whether it is disabled.
    pub disabled: bool,
}

/// A connection to a broker for account management.
pub struct AccountClient {
    /// The socket.
    stream: TcpStream,
    /// Next correlation id.
    correlation: i32,
}

fn kafka_error(code: i16, message: Option<&StrBytes>) -> Error {
    let name = match code {
        31 => "CLUSTER_AUTHORIZATION_FAILED",
        33 => "UNSUPPORTED_SASL_MECHANISM",
        34 => "ILLEGAL_SASL_STATE",
        58 => "SASL_AUTHENTICATION_FAILED",
        89 => "THROTTLING_QUOTA_EXCEEDED",
        91 => "RESOURCE_NOT_FOUND",
        92 => "DUPLICATE_RESOURCE",
        93 => "UNACCEPTABLE_CREDENTIAL",
        _ => "KAFKA_ERROR",
    };
    Error::Kafka {
        code,
        name,
        message: message.map(|m| m.to_string()),
    }
}

fn check(code: i16, message: Option<&StrBytes>) -> Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(kafka_error(code, message))
    }
}

impl AccountClient {
    /// Connects without logging in (anonymous).
    pub async fn connect(addr: &str) -> Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .ctx(|| format!("connecting to {addr}"))?;
        Ok(AccountClient {
            stream,
            correlation: 0,
        })
    }

    /// Connects anonymously from the local address `local` (a test or a multi-homed host
    /// choosing which of its addresses the server sees).
    pub async fn connect_from(addr: &str, local: std::net::IpAddr) -> Result<Self> {
        let target: std::net::SocketAddr = tokio::net::lookup_host(addr)
            .await
            .ctx(|| format!("resolving {addr}"))?
            .next()
            .ok_or_else(|| Error::Malformed(format!("{addr} resolves to nothing")))?;
        let socket = if target.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        }
        .ctx(|| "opening a socket".to_string())?;
        socket
            .bind(std::net::SocketAddr::new(local, 0))
            .ctx(|| format!("binding {local}"))?;
        let stream = socket
            .connect(target)
            .await
            .ctx(|| format!("connecting to {addr}"))?;
        Ok(AccountClient {
            stream,
            correlation: 0,
        })
    }

    /// Vouches, as the in-process proxy holding `secret`, for the real client at `peer`
    /// (see [`crate::auth::proxy`]): what follows is limited and logged as from `peer`.
    pub async fn proxy(&mut self, secret: &str, peer: std::net::SocketAddr) -> Result<()> {
        let mut hs = SaslHandshakeRequest::default();
        hs.mechanism = StrBytes::from_static_str(super::proxy::MECHANISM);
        let r: SaslHandshakeResponse = self.call(ApiKey::SaslHandshake, 1, &hs).await?;
        check(r.error_code, None)?;
        let mut a = SaslAuthenticateRequest::default();
        a.auth_bytes = Bytes::from(super::proxy::token(secret, peer));
        let r: SaslAuthenticateResponse = self.call(ApiKey::SaslAuthenticate, 1, &a).await?;
        check(r.error_code, r.error_message.as_ref())
    }

    async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        req: &Req,
    ) -> Result<Resp> {
        self.correlation += 1;
        let mut header = RequestHeader::default();
        header.request_api_key = key as i16;
        header.request_api_version = version;
        header.correlation_id = self.correlation;
        header.client_id = Some(StrBytes::from_static_str("bbs-users"));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, key.request_header_version(version))
            .and_then(|()| req.encode(&mut body, version))
            .map_err(|e| Error::Encode(format!("{key:?}: {e}")))?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_u32(body.len() as u32);
        frame.extend_from_slice(&body);
        self.stream
            .write_all(&frame)
            .await
            .ctx(|| format!("sending {key:?}"))?;
        let len = self
            .stream
            .read_u32()
            .await
            .ctx(|| format!("reading the {key:?} response"))? as usize;
        if len > MAX_RESPONSE {
            return Err(Error::Malformed(format!("{len}-byte response")));
        }
        let mut buf = vec![0u8; len];
        self.stream
            .read_exact(&mut buf)
            .await
            .ctx(|| format!("reading the {key:?} response"))?;
        let mut buf = Bytes::from(buf);
        let h = ResponseHeader::decode(&mut buf, key.response_header_version(version))
            .map_err(|e| Error::Malformed(format!("{key:?} response header: {e}")))?;
        if h.correlation_id != self.correlation {
            return Err(Error::Malformed("response out of order".into()));
        }
        let resp = Resp::decode(&mut buf, version)
            .map_err(|e| Error::Malformed(format!("{key:?} response: {e}")))?;
        if buf.has_remaining() {
            tracing::debug!(?key, "trailing bytes in response");
        }
        Ok(resp)
    }

    /// Logs in with SCRAM-SHA-256, checking the server's signature.
    pub async fn login_scram(&mut self, user: &str, password: &str) -> Result<()> {
        let mut hs = SaslHandshakeRequest::default();
        hs.mechanism = StrBytes::from_static_str(scram::MECHANISM);
        let r: SaslHandshakeResponse = self.call(ApiKey::SaslHandshake, 1, &hs).await?;
        check(r.error_code, None)?;
        let nonce: String = random_bytes(18)?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let escaped = user.replace('=', "=3D").replace(',', "=2C");
        let bare = format!("n={escaped},r={nonce}");
        let mut a = SaslAuthenticateRequest::default();
        a.auth_bytes = Bytes::from(format!("n,,{bare}"));
        let r: SaslAuthenticateResponse = self.call(ApiKey::SaslAuthenticate, 1, &a).await?;
        check(r.error_code, r.error_message.as_ref())?;
        let server_first = String::from_utf8_lossy(&r.auth_bytes).into_owned();
        let (client_final, expected) =
            scram::client_final(&bare, &server_first, password.as_bytes())
                .map_err(|e| Error::Malformed(e.0))?;
        let mut a = SaslAuthenticateRequest::default();
        a.auth_bytes = Bytes::from(client_final);
        let r: SaslAuthenticateResponse = self.call(ApiKey::SaslAuthenticate, 1, &a).await?;
        check(r.error_code, r.error_message.as_ref())?;
        if r.auth_bytes.as_ref() != expected.as_bytes() {
            return Err(Error::Malformed(
                "the server's SCRAM signature is wrong".into(),
            ));
        }
        Ok(())
    }

    /// Sets `name`'s password (creating the account if the server allows).
    pub async fn set_password(&mut self, name: &str, password: &str) -> Result<()> {
        let salt = random_bytes(24)?;
        let mut u = alter_user_scram_credentials_request::ScramCredentialUpsertion::default();
        u.name = StrBytes::from_string(name.to_string());
        u.mechanism = 1;
        u.iterations = DEFAULT_ITERATIONS as i32;
        u.salted_password = Bytes::from(salted_password(
            password.as_bytes(),
            &salt,
            DEFAULT_ITERATIONS,
        ));
        u.salt = Bytes::from(salt);
        let mut req = AlterUserScramCredentialsRequest::default();
        req.upsertions = vec![u];
        let r: AlterUserScramCredentialsResponse = self
            .call(ApiKey::AlterUserScramCredentials, 0, &req)
            .await?;
        for res in &r.results {
            check(res.error_code, res.error_message.as_ref())?;
        }
        Ok(())
    }

    /// Removes an account.
    pub async fn remove(&mut self, name: &str) -> Result<()> {
        let mut d = alter_user_scram_credentials_request::ScramCredentialDeletion::default();
        d.name = StrBytes::from_string(name.to_string());
        d.mechanism = 1;
        let mut req = AlterUserScramCredentialsRequest::default();
        req.deletions = vec![d];
        let r: AlterUserScramCredentialsResponse = self
            .call(ApiKey::AlterUserScramCredentials, 0, &req)
            .await?;
        for res in &r.results {
            check(res.error_code, res.error_message.as_ref())?;
        }
        Ok(())
    }

    /// Disables or enables an account (operator only).
    pub async fn set_disabled(&mut self, name: &str, disabled: bool) -> Result<()> {
        let mut ent = alter_client_quotas_request::EntityData::default();
        ent.entity_type = StrBytes::from_static_str("user");
        ent.entity_name = Some(StrBytes::from_string(name.to_string()));
        let mut op = alter_client_quotas_request::OpData::default();
        op.key = StrBytes::from_static_str(DISABLED_KEY);
        op.value = if disabled { 1.0 } else { 0.0 };
        op.remove = !disabled;
        let mut entry = alter_client_quotas_request::EntryData::default();
        entry.entity = vec![ent];
        entry.ops = vec![op];
        let mut req = AlterClientQuotasRequest::default();
        req.entries = vec![entry];
        let r: AlterClientQuotasResponse = self.call(ApiKey::AlterClientQuotas, 0, &req).await?;
        for e in &r.entries {
            check(e.error_code, e.error_message.as_ref())?;
        }
        Ok(())
    }

    /// Releases a retired name so it can be registered again (operator only).
    pub async fn release(&mut self, name: &str) -> Result<()> {
        let mut ent = alter_client_quotas_request::EntityData::default();
        ent.entity_type = StrBytes::from_static_str("user");
        ent.entity_name = Some(StrBytes::from_string(name.to_string()));
        let mut op = alter_client_quotas_request::OpData::default();
        op.key = StrBytes::from_static_str(RETIRED_KEY);
        op.remove = true;
        let mut entry = alter_client_quotas_request::EntryData::default();
        entry.entity = vec![ent];
        entry.ops = vec![op];
        let mut req = AlterClientQuotasRequest::default();
        req.entries = vec![entry];
        let r: AlterClientQuotasResponse = self.call(ApiKey::AlterClientQuotas, 0, &req).await?;
        for e in &r.entries {
            check(e.error_code, e.error_message.as_ref())?;
        }
        Ok(())
    }

    /// Every account the principal may see (all of them for the operator).
    pub async fn list(&mut self) -> Result<Vec<RemoteAccount>> {
        let mut req = DescribeUserScramCredentialsRequest::default();
        req.users = None;
        let r: DescribeUserScramCredentialsResponse = self
            .call(ApiKey::DescribeUserScramCredentials, 0, &req)
            .await?;
        check(r.error_code, r.error_message.as_ref())?;
        let mut c = describe_client_quotas_request::ComponentData::default();
        c.entity_type = StrBytes::from_static_str("user");
        c.match_type = 2; // any user
        let mut q = DescribeClientQuotasRequest::default();
        q.components = vec![c];
        let d: DescribeClientQuotasResponse =
            self.call(ApiKey::DescribeClientQuotas, 0, &q).await?;
        check(d.error_code, d.error_message.as_ref())?;
        let disabled: Vec<String> = d
            .entries
            .unwrap_or_default()
            .iter()
            .filter_map(|e| {
                e.entity
                    .first()
                    .and_then(|x| x.entity_name.as_ref())
                    .map(|n| n.to_string())
            })
            .collect();
        Ok(r.results
            .iter()
            .filter(|u| u.error_code == 0)
            .map(|u| RemoteAccount {
                name: u.user.to_string(),
                iterations: u
                    .credential_infos
                    .first()
                    .map(|c| c.iterations)
                    .unwrap_or(0),
                disabled: disabled.iter().any(|d| d == u.user.as_str()),
            })
            .collect())
    }

    /// Whether `name` exists (as far as the principal may see).
    pub async fn exists(&mut self, name: &str) -> Result<bool> {
        let mut u = describe_user_scram_credentials_request::UserName::default();
        u.name = StrBytes::from_string(name.to_string());
        let mut req = DescribeUserScramCredentialsRequest::default();
        req.users = Some(vec![u]);
        let r: DescribeUserScramCredentialsResponse = self
            .call(ApiKey::DescribeUserScramCredentials, 0, &req)
            .await?;
        check(r.error_code, r.error_message.as_ref())?;
        match r.results.first() {
            Some(res) if res.error_code == 0 => Ok(true),
            Some(res) if res.error_code == super::store::codes::RESOURCE_NOT_FOUND => Ok(false),
            Some(res) => Err(kafka_error(res.error_code, res.error_message.as_ref())),
            None => Ok(false),
        }
    }
}
