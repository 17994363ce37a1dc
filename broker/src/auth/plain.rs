//! SASL PLAIN (RFC 4616) token parsing, free of I/O: `[authzid] NUL authcid NUL passwd`.

/// Splits a PLAIN token into (user, password); the authorization id must be empty or the
/// user itself (no acting on behalf of others).
pub fn parse(token: &[u8]) -> Result<(String, Vec<u8>), String> {
    let mut parts = token.split(|b| *b == 0);
    let (Some(authzid), Some(user), Some(pass), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("PLAIN token must be authzid NUL user NUL password".into());
    };
    let user = std::str::from_utf8(user).map_err(|_| "PLAIN user name is not UTF-8".to_string())?;
    if user.is_empty() || pass.is_empty() {
        return Err("PLAIN user name or password is empty".into());
    }
    if !authzid.is_empty() && authzid != user.as_bytes() {
        return Err("PLAIN authorization id differs from the user name".into());
    }
    Ok((user.to_string(), pass.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(
            parse(b"\0alice\0secret").expect("ok"),
            ("alice".to_string(), b"secret".to_vec())
        );
        assert!(parse(b"alice\0alice\0pw").is_ok());
        for bad in [
            &b""[..],
            b"alice",
            b"\0alice",
            b"\0\0pw",
            b"\0a\0",
            b"bob\0alice\0pw",
            b"\0a\0b\0c",
            b"\0\xff\0pw",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
