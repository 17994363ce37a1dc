//! SCRAM-SHA-256 (RFC 5802 / RFC 7677), server side, free of I/O: key derivation from a
//! password, the stored form of a credential, and the two-round exchange
//! (client-first → server-first, client-final → server-final) with its nonce, channel
//! binding and proof checks. Kafka's extensions (`tokenauth`) are refused.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The mechanism name as clients spell it.
pub const MECHANISM: &str = "SCRAM-SHA-256";
/// Fewest PBKDF2 iterations accepted (kafkajs refuses fewer; so does RFC 7677's advice).
pub const MIN_ITERATIONS: u32 = 4096;
/// Most iterations accepted from a registering client (Kafka's own cap), bounding the
/// work a PLAIN login or a registration may cost the server.
pub const MAX_ITERATIONS: u32 = 16384;
/// Iterations used for credentials the server derives itself.
pub const DEFAULT_ITERATIONS: u32 = 4096;

type HmacSha256 = Hmac<Sha256>;

/// The salted, iterated form of a password: all the server keeps (never the password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramKeys {
    /// Random salt given to clients in server-first.
    pub salt: Vec<u8>,
    /// PBKDF2 iteration count.
    pub iterations: u32,
    /// H(ClientKey): verifies a client's proof.
    pub stored_key: Vec<u8>,
    /// HMAC(SaltedPassword, "Server Key"): signs server-final so the client knows us.
    pub server_key: Vec<u8>,
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// PBKDF2-HMAC-SHA-256 of `password`: the SaltedPassword of RFC 5802.
pub fn salted_password(password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
    out.to_vec()
}

impl ScramKeys {
    /// Derives the stored keys from a SaltedPassword (as AlterUserScramCredentials sends it).
    pub fn from_salted(salt: Vec<u8>, iterations: u32, salted: &[u8]) -> Self {
        let client_key = hmac(salted, b"Client Key");
        ScramKeys {
            salt,
            iterations,
            stored_key: Sha256::digest(&client_key).to_vec(),
            server_key: hmac(salted, b"Server Key"),
        }
    }

    /// Derives keys from a clear password with a fresh random salt.
    pub fn from_password(password: &[u8], iterations: u32) -> crate::Result<Self> {
        let salt = random_bytes(24)?;
        let salted = salted_password(password, &salt, iterations);
        Ok(Self::from_salted(salt, iterations, &salted))
    }

    /// Checks a clear password (SASL PLAIN) against the stored keys, in constant time.
    pub fn verify_password(&self, password: &[u8]) -> bool {
        let salted = salted_password(password, &self.salt, self.iterations);
        let stored = Sha256::digest(hmac(&salted, b"Client Key"));
        ct_eq(&stored, &self.stored_key)
    }
}

/// Random bytes from the operating system.
pub fn random_bytes(n: usize) -> crate::Result<Vec<u8>> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).map_err(|e| {
        crate::Error::io("reading random bytes", std::io::Error::other(e.to_string()))
    })?;
    Ok(b)
}

/// Constant-time equality of two byte strings (length is not secret), from `subtle`.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    subtle::ConstantTimeEq::ct_eq(a, b).into()
}

/// Why a SCRAM message was refused; the text goes back to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScramError(pub String);

fn bad(msg: impl Into<String>) -> ScramError {
    ScramError(msg.into())
}

/// The parsed client-first message.
#[derive(Debug, Clone)]
pub struct ClientFirst {
    /// The user name (with `=2C`/`=3D` decoded).
    pub user: String,
    /// The client's nonce.
    pub nonce: String,
    /// The GS2 header, echoed (base64) in client-final's `c=`.
    gs2_header: String,
    /// client-first-message-bare, part of the AuthMessage.
    bare: String,
}

fn decode_saslname(s: &str) -> Result<String, ScramError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        let esc = rest
            .get(i..i + 3)
            .ok_or_else(|| bad("bad escape in user name"))?;
        match esc {
            "=2C" => out.push(','),
            "=3D" => out.push('='),
            _ => return Err(bad("bad escape in user name")),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

fn printable_nonce(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',')
}

/// Parses client-first-message (`n,,n=user,r=nonce[,ext]`).
pub fn parse_client_first(msg: &[u8]) -> Result<ClientFirst, ScramError> {
    let text = std::str::from_utf8(msg).map_err(|_| bad("client-first is not UTF-8"))?;
    let mut parts = text.splitn(3, ',');
    let cbind = parts.next().unwrap_or("");
    let authzid = parts
        .next()
        .ok_or_else(|| bad("client-first has no GS2 header"))?;
    let bare = parts
        .next()
        .ok_or_else(|| bad("client-first has no body"))?;
    match cbind {
        "n" | "y" => {}
        c if c.starts_with("p=") => return Err(bad("channel binding is not supported")),
        _ => return Err(bad("client-first has a bad GS2 header")),
    }
    if !authzid.is_empty() && !authzid.starts_with("a=") {
        return Err(bad("client-first has a bad authzid"));
    }
    let mut attrs = bare.split(',');
    let user = attrs
        .next()
        .and_then(|a| a.strip_prefix("n="))
        .ok_or_else(|| bad("client-first has no user name"))?;
    let nonce = attrs
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .ok_or_else(|| bad("client-first has no nonce"))?;
    if !printable_nonce(nonce) {
        return Err(bad("client nonce is empty or not printable"));
    }
    for ext in attrs {
        if ext.starts_with("m=") {
            return Err(bad("mandatory extensions are not supported"));
        }
        if ext.starts_with("tokenauth=") && ext != "tokenauth=false" {
            return Err(bad("delegation tokens are not supported"));
        }
    }
    let user = decode_saslname(user)?;
    if let Some(z) = authzid.strip_prefix("a=") {
        if decode_saslname(z)? != user {
            return Err(bad("authorization id differs from the user name"));
        }
    }
    Ok(ClientFirst {
        user,
        nonce: nonce.to_string(),
        gs2_header: format!("{cbind},{authzid},"),
        bare: bare.to_string(),
    })
}

/// The server's half-way state after sending server-first.
#[derive(Debug, Clone)]
pub struct ServerFirst {
    /// Who the client claims to be.
    pub user: String,
    /// The keys to check against (fake ones for an unknown user, so that the exchange
    /// does not reveal which names exist).
    keys: ScramKeys,
    /// Whether the user exists and may log in; a proof never succeeds otherwise.
    genuine: bool,
    /// The combined nonce (client's + ours).
    nonce: String,
    /// GS2 header from client-first.
    gs2_header: String,
    /// client-first-bare + "," + server-first: the start of the AuthMessage.
    transcript: String,
    /// The message we send.
    pub message: String,
}

/// Builds server-first for `first` with `keys` (None for an unknown or disabled user:
/// fake keys derived from `fake_seed` keep the answer looking normal).
pub fn server_first(
    first: ClientFirst,
    keys: Option<ScramKeys>,
    fake_seed: &[u8],
) -> crate::Result<ServerFirst> {
    let ours = B64.encode(random_bytes(18)?);
    let nonce = format!("{}{}", first.nonce, ours);
    let genuine = keys.is_some();
    let keys = keys.unwrap_or_else(|| ScramKeys {
        salt: hmac(fake_seed, first.user.as_bytes())[..24].to_vec(),
        iterations: DEFAULT_ITERATIONS,
        stored_key: vec![0; 32],
        server_key: vec![0; 32],
    });
    let message = format!(
        "r={nonce},s={},i={}",
        B64.encode(&keys.salt),
        keys.iterations
    );
    Ok(ServerFirst {
        user: first.user,
        transcript: format!("{},{}", first.bare, message),
        keys,
        genuine,
        nonce,
        gs2_header: first.gs2_header,
        message,
    })
}

impl ServerFirst {
    /// Checks client-final (`c=..,r=..,p=..`); on success returns server-final (`v=..`).
    pub fn finish(&self, msg: &[u8]) -> Result<String, ScramError> {
        let text = std::str::from_utf8(msg).map_err(|_| bad("client-final is not UTF-8"))?;
        let (without_proof, proof) = text
            .rsplit_once(",p=")
            .ok_or_else(|| bad("client-final has no proof"))?;
        let mut attrs = without_proof.split(',');
        let cbind = attrs
            .next()
            .and_then(|a| a.strip_prefix("c="))
            .ok_or_else(|| bad("client-final has no channel binding"))?;
        let nonce = attrs
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .ok_or_else(|| bad("client-final has no nonce"))?;
        if cbind != B64.encode(&self.gs2_header) {
            return Err(bad("channel binding does not match client-first"));
        }
        // librdkafka sends its own nonce again in front of the combined one; Kafka accepts
        // any nonce that ends with the combined nonce, and so do we (the proof covers it).
        if !nonce.ends_with(&self.nonce) {
            return Err(bad("nonce does not match"));
        }
        let proof = B64.decode(proof).map_err(|_| bad("proof is not base64"))?;
        let auth_message = format!("{},{}", self.transcript, without_proof);
        let client_signature = hmac(&self.keys.stored_key, auth_message.as_bytes());
        if proof.len() != client_signature.len() {
            return Err(bad("proof has the wrong length"));
        }
        let client_key: Vec<u8> = proof
            .iter()
            .zip(&client_signature)
            .map(|(p, s)| p ^ s)
            .collect();
        let ok = ct_eq(&Sha256::digest(&client_key), &self.keys.stored_key);
        if !(ok && self.genuine) {
            return Err(bad("invalid credentials"));
        }
        let server_signature = hmac(&self.keys.server_key, auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(server_signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// client-final for `bare` (`n=user,r=nonce`) from the workspace's one SCRAM client,
    /// and that client (to check server-final with).
    fn client_final(
        bare: &str,
        server_first: &str,
        password: &[u8],
    ) -> client::Result<(String, client::sasl::ScramClient)> {
        let (user, nonce) = bare
            .strip_prefix("n=")
            .and_then(|b| b.split_once(",r="))
            .expect("a client-first-bare");
        let password = std::str::from_utf8(password).expect("a UTF-8 password");
        let mut c = client::sasl::ScramClient::new(user, password, nonce);
        let cf = c.client_final(server_first.as_bytes())?;
        Ok((cf, c))
    }

    // RFC 7677 section 3: user "user", password "pencil".
    const CLIENT_FIRST: &str = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    const SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    fn rfc_state() -> ServerFirst {
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").expect("b64");
        let keys =
            ScramKeys::from_salted(salt.clone(), 4096, &salted_password(b"pencil", &salt, 4096));
        let first = parse_client_first(CLIENT_FIRST.as_bytes()).expect("first");
        let mut sf = server_first(first, Some(keys), b"seed").expect("sf");
        // Replace our random nonce with the RFC's so the transcript matches.
        let bare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
        sf.nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into();
        sf.message = SERVER_FIRST.into();
        sf.transcript = format!("{bare},{SERVER_FIRST}");
        sf
    }

    #[test]
    fn rfc7677_test_vector() {
        let sf = rfc_state();
        assert_eq!(
            sf.finish(CLIENT_FINAL.as_bytes()).expect("proof ok"),
            SERVER_FINAL
        );
        let (cf, client) =
            client_final("n=user,r=rOprNGfwEbeRWgbNEkqO", SERVER_FIRST, b"pencil").expect("cf");
        assert_eq!(cf, CLIENT_FINAL);
        client
            .verify_server_final(SERVER_FINAL.as_bytes())
            .expect("the client accepts the server's signature");
    }

    #[test]
    fn wrong_proof_nonce_or_binding_fails() {
        let sf = rfc_state();
        let (wrong, _) =
            client_final("n=user,r=rOprNGfwEbeRWgbNEkqO", SERVER_FIRST, b"pencil2").expect("cf");
        assert!(sf.finish(wrong.as_bytes()).is_err());
        let other_nonce = CLIENT_FINAL.replace("k0,p=", "k1,p=");
        assert!(sf.finish(other_nonce.as_bytes()).is_err());
        let other_binding = CLIENT_FINAL.replace("c=biws", "c=eSws");
        assert!(sf.finish(other_binding.as_bytes()).is_err());
        assert!(sf.finish(b"garbage").is_err());
        assert!(sf.finish(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn unknown_user_never_authenticates() {
        let first = parse_client_first(b"n,,n=ghost,r=abc").expect("first");
        let sf = server_first(first, None, b"seed").expect("sf");
        assert!(sf.message.contains(",i=4096"));
        let bare = "n=ghost,r=abc";
        let (cf, _) = client_final(bare, &sf.message, b"").expect("cf");
        assert!(sf.finish(cf.as_bytes()).is_err());
    }

    #[test]
    fn client_first_parsing() {
        let f = parse_client_first(b"n,,n=a=2Cb=3Dc,r=xyz,tokenauth=false").expect("ok");
        assert_eq!(f.user, "a,b=c");
        for bad in [
            &b""[..],
            b"n,,",
            b"p=tls-unique,,n=u,r=x",
            b"n,,n=u",
            b"n,,r=x,n=u",
            b"n,,n=u,r=",
            b"n,,n=u,r=x,m=ext",
            b"n,,n=u,r=x,tokenauth=true",
            b"n,,n=u=ZZ,r=x",
            b"n,a=other,n=u,r=x",
            b"q,,n=u,r=x",
            &[0xff, 0, 1],
        ] {
            assert!(parse_client_first(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn plain_password_check_and_keys_never_hold_the_password() {
        let k = ScramKeys::from_password(b"hunter2", 4096).expect("keys");
        assert!(k.verify_password(b"hunter2"));
        assert!(!k.verify_password(b"hunter3"));
        let bytes = postcard::to_allocvec(&k).expect("enc");
        assert!(!bytes.windows(7).any(|w| w == b"hunter2"));
    }
}
