//! Account management over the Kafka protocol, as `Admin` methods: SCRAM credentials
//! (AlterUserScramCredentials, DescribeUserScramCredentials) and per-user quota entries
//! (AlterClientQuotas, DescribeClientQuotas). A Kafka cluster manages its SCRAM users this
//! way; a bbs server also takes anonymous registrations and its operator's `users`
//! commands through the same calls (its `bbs.disabled` / `bbs.retired` quota keys are
//! ordinary quota entries here).

use bytes::Bytes;
use kafka_protocol::messages::{
    alter_client_quotas_request, alter_user_scram_credentials_request,
    describe_client_quotas_request, describe_user_scram_credentials_request,
    AlterClientQuotasRequest, AlterClientQuotasResponse, AlterUserScramCredentialsRequest,
    AlterUserScramCredentialsResponse, ApiKey, DescribeClientQuotasRequest,
    DescribeClientQuotasResponse, DescribeUserScramCredentialsRequest,
    DescribeUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;
use wire::ErrorCode;

use super::Admin;
use crate::error::{Error, Result};
use crate::sasl::salted_password;

/// PBKDF2 iterations for credentials this client sets (Kafka's minimum for SCRAM-SHA-256).
pub const SCRAM_ITERATIONS: u32 = 4096;
/// The SCRAM-SHA-256 mechanism's number in the credential APIs.
const SCRAM_SHA_256: i8 = 1;

/// A SCRAM user as DescribeUserScramCredentials lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramUser {
    /// The user name.
    pub name: String,
    /// PBKDF2 iterations of its (first) credential.
    pub iterations: i32,
}

/// A user's quota entry as DescribeClientQuotas lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserQuotas {
    /// The user name.
    pub user: String,
    /// Its `(key, value)` pairs (on a bbs server, `bbs.disabled` for a disabled account).
    pub values: Vec<(String, f64)>,
}

fn check(code: i16, message: Option<&StrBytes>) -> Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(Error::kafka(code, message.map(|m| m.to_string())))
    }
}

fn user_entity(name: &str) -> alter_client_quotas_request::EntityData {
    let mut ent = alter_client_quotas_request::EntityData::default();
    ent.entity_type = StrBytes::from_static_str("user");
    ent.entity_name = Some(StrBytes::from_string(name.to_string()));
    ent
}

fn random_salt() -> Result<Vec<u8>> {
    let mut salt = vec![0u8; 24];
    getrandom::fill(&mut salt).map_err(|e| Error::Config(format!("no randomness: {e}")))?;
    Ok(salt)
}

impl Admin {
    /// Runs `f` on any live connection (the bootstrap one when it is still open), so a
    /// one-off registration uses one connection; any broker forwards these APIs.
    fn any_conn<T>(&self, f: impl FnMut(&crate::conn::Connection) -> Result<T>) -> Result<T> {
        self.cluster.with_any_conn(f)
    }

    /// Sets `user`'s SCRAM-SHA-256 password (the broker creates the user if it allows).
    pub fn set_scram_password(&self, user: &str, password: &str) -> Result<()> {
        let salt = random_salt()?;
        let mut u = alter_user_scram_credentials_request::ScramCredentialUpsertion::default();
        u.name = StrBytes::from_string(user.to_string());
        u.mechanism = SCRAM_SHA_256;
        u.iterations = SCRAM_ITERATIONS as i32;
        u.salted_password = Bytes::from(salted_password(
            password.as_bytes(),
            &salt,
            SCRAM_ITERATIONS,
        ));
        u.salt = Bytes::from(salt);
        let mut req = AlterUserScramCredentialsRequest::default();
        req.upsertions = vec![u];
        self.alter_scram(&req)
    }

    /// Deletes `user`'s SCRAM-SHA-256 credential (on a bbs server: removes the account).
    pub fn delete_scram_credential(&self, user: &str) -> Result<()> {
        let mut d = alter_user_scram_credentials_request::ScramCredentialDeletion::default();
        d.name = StrBytes::from_string(user.to_string());
        d.mechanism = SCRAM_SHA_256;
        let mut req = AlterUserScramCredentialsRequest::default();
        req.deletions = vec![d];
        self.alter_scram(&req)
    }

    fn alter_scram(&self, req: &AlterUserScramCredentialsRequest) -> Result<()> {
        let r: AlterUserScramCredentialsResponse =
            self.any_conn(|c| c.call(ApiKey::AlterUserScramCredentials, 0, req))?;
        for res in &r.results {
            check(res.error_code, res.error_message.as_ref())?;
        }
        Ok(())
    }

    /// Every SCRAM user the principal may see.
    pub fn describe_scram_users(&self) -> Result<Vec<ScramUser>> {
        let mut req = DescribeUserScramCredentialsRequest::default();
        req.users = None;
        let r: DescribeUserScramCredentialsResponse =
            self.any_conn(|c| c.call(ApiKey::DescribeUserScramCredentials, 0, &req))?;
        check(r.error_code, r.error_message.as_ref())?;
        Ok(r.results
            .iter()
            .filter(|u| u.error_code == 0)
            .map(|u| ScramUser {
                name: u.user.to_string(),
                iterations: u
                    .credential_infos
                    .first()
                    .map(|c| c.iterations)
                    .unwrap_or(0),
            })
            .collect())
    }

    /// Whether `user` has a SCRAM credential (as far as the principal may see).
    pub fn scram_user_exists(&self, user: &str) -> Result<bool> {
        let mut u = describe_user_scram_credentials_request::UserName::default();
        u.name = StrBytes::from_string(user.to_string());
        let mut req = DescribeUserScramCredentialsRequest::default();
        req.users = Some(vec![u]);
        let r: DescribeUserScramCredentialsResponse =
            self.any_conn(|c| c.call(ApiKey::DescribeUserScramCredentials, 0, &req))?;
        check(r.error_code, r.error_message.as_ref())?;
        match r.results.first() {
            Some(res) if res.error_code == 0 => Ok(true),
            Some(res) if res.error_code == ErrorCode::RESOURCE_NOT_FOUND => Ok(false),
            Some(res) => Err(Error::kafka(
                res.error_code,
                res.error_message.as_ref().map(|m| m.to_string()),
            )),
            None => Ok(false),
        }
    }

    /// Sets (`Some(value)`) or removes (`None`) the quota `key` of `user`.
    pub fn alter_user_quota(&self, user: &str, key: &str, value: Option<f64>) -> Result<()> {
        let mut op = alter_client_quotas_request::OpData::default();
        op.key = StrBytes::from_string(key.to_string());
        op.value = value.unwrap_or(0.0);
        op.remove = value.is_none();
        let mut entry = alter_client_quotas_request::EntryData::default();
        entry.entity = vec![user_entity(user)];
        entry.ops = vec![op];
        let mut req = AlterClientQuotasRequest::default();
        req.entries = vec![entry];
        let r: AlterClientQuotasResponse =
            self.any_conn(|c| c.call(ApiKey::AlterClientQuotas, 0, &req))?;
        for e in &r.entries {
            check(e.error_code, e.error_message.as_ref())?;
        }
        Ok(())
    }

    /// The users that have any quota entry, with their `(key, value)` pairs.
    pub fn describe_user_quotas(&self) -> Result<Vec<UserQuotas>> {
        let mut c = describe_client_quotas_request::ComponentData::default();
        c.entity_type = StrBytes::from_static_str("user");
        c.match_type = 2; // any user
        let mut q = DescribeClientQuotasRequest::default();
        q.components = vec![c];
        let d: DescribeClientQuotasResponse =
            self.any_conn(|c| c.call(ApiKey::DescribeClientQuotas, 0, &q))?;
        check(d.error_code, d.error_message.as_ref())?;
        Ok(d.entries
            .unwrap_or_default()
            .iter()
            .filter_map(|e| {
                let user = e.entity.first()?.entity_name.as_ref()?.to_string();
                let values = e
                    .values
                    .iter()
                    .map(|v| (v.key.to_string(), v.value))
                    .collect();
                Some(UserQuotas { user, values })
            })
            .collect())
    }
}
