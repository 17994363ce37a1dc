//! Translating the Kafka client's errors into the BBS's: the policy's refusal text back to
//! a [`Failure`], authentication errors to `LoginFailed`, the server's limit sentences, and
//! why a registration was refused (used by [`super::accounts`]).

use client::ErrorCode;

use crate::error::{Error, Failure};

/// The failure whose `Display` is `line` (the policy sends `failure.to_string()`).
pub(super) fn failure_from_line(line: &str) -> Failure {
    let fixed = [
        Failure::NotLoggedIn,
        Failure::AlreadyLoggedIn,
        Failure::LoginFailed,
        Failure::UsernameTaken,
        Failure::BoardExists,
        Failure::NoSuchBoard,
        Failure::NoSuchPost,
        Failure::NotOwner,
        Failure::NoSuchMail,
        Failure::AlreadySubscribed,
        Failure::NotModerator,
        Failure::NoSuchComment,
        Failure::NotOperator,
    ];
    if let Some(f) = fixed.into_iter().find(|f| f.to_string() == line) {
        return f;
    }
    if let Some(name) = line
        .strip_prefix("You haven't subscribed ")
        .and_then(|r| r.strip_suffix('.'))
    {
        return Failure::NotSubscribed(name.to_string());
    }
    if let Some(what) = line
        .strip_prefix("Invalid name: ")
        .and_then(|r| r.strip_suffix('.'))
    {
        return Failure::BadName(what.to_string());
    }
    if let Some(user) = line.strip_suffix(" does not exist.") {
        return Failure::NoSuchUser(user.to_string());
    }
    Failure::Policy(line.to_string())
}

/// Finds the Kafka error (code, message) inside a client error.
fn kafka_parts(e: &client::Error) -> Option<(ErrorCode, Option<String>)> {
    match e {
        client::Error::Kafka { code, message, .. } => Some((*code, message.clone())),
        client::Error::Delivery { source, .. } => kafka_parts(source),
        _ => None,
    }
}

/// A failed produce: a policy refusal becomes `Error::Refused` with the same line.
/// A refused login on the producer's connection (the operator disabled the account since
/// the session logged in) is the server's sentence too.
pub(super) fn append_error(e: client::Error) -> Error {
    match kafka_parts(&e) {
        Some((ErrorCode::POLICY_VIOLATION, Some(msg))) => Error::Refused(failure_from_line(&msg)),
        _ => match limit_message(&e) {
            Some(m) => Error::Refused(Failure::Policy(m)),
            None => Error::Backend(e.to_string()),
        },
    }
}

/// The server's text for a refusal by the login/registration limits, or of a login to an
/// account the operator disabled, if `e` is one (shown as it is, so the user learns when
/// to try again, or that a wrong password is not the problem).
fn limit_message(e: &client::Error) -> Option<String> {
    let text = match e {
        client::Error::Auth { message, .. } => Some(message.clone()),
        client::Error::Delivery { source, .. } => return limit_message(source),
        _ => kafka_parts(e).and_then(|(_, m)| m),
    }?;
    let at = text
        .find("too many failed logins")
        .or_else(|| text.find("too many registrations"))
        .or_else(|| {
            text.find("The account ")
                .filter(|_| text.contains("disabled"))
        })?;
    Some(text[at..].to_string())
}

/// A failed connect: with credentials, an authentication error is `LoginFailed`, or the
/// server's "too many failed logins …; try again in N s" when the limits refused it.
pub(super) fn connect_error(e: client::Error, creds: Option<(&str, &str)>) -> Error {
    let auth = matches!(e, client::Error::Auth { .. })
        || kafka_parts(&e).is_some_and(|(c, _)| c == ErrorCode::SASL_AUTHENTICATION_FAILED);
    if let (Some(_), true, Some(m)) = (creds, auth, limit_message(&e)) {
        return Failure::Policy(m).into();
    }
    if creds.is_some() && auth {
        Failure::LoginFailed.into()
    } else {
        Error::Backend(e.to_string())
    }
}

/// Why the server refused a registration, as the user should read it: rate limited
/// (the server's "too many registrations …"), an invalid name (`Invalid name: …`), a
/// name that looks like or once was another user's (the server's sentence), or simply
/// taken (`Username is already used.`).
pub(super) fn registration_refusal(e: &client::Error) -> Failure {
    if let Some(m) = limit_message(e) {
        return Failure::Policy(m);
    }
    match kafka_parts(e) {
        Some((ErrorCode::UNACCEPTABLE_CREDENTIAL, Some(m))) => {
            Failure::BadName(m.trim_end_matches('.').to_string())
        }
        Some((ErrorCode::DUPLICATE_RESOURCE, Some(m))) if !m.ends_with("already exists") => {
            Failure::Policy(m)
        }
        Some((code, Some(m))) if code != ErrorCode::DUPLICATE_RESOURCE && !m.is_empty() => {
            Failure::Policy(m)
        }
        _ => Failure::UsernameTaken,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_lines_round_trip() {
        for f in [
            Failure::NoSuchBoard,
            Failure::NoSuchPost,
            Failure::NotOwner,
            Failure::NoSuchUser("bob".into()),
            Failure::NotSubscribed("NP".into()),
            Failure::BadName("'x' is too long".into()),
            Failure::BoardExists,
            Failure::Policy("author must be the principal".into()),
        ] {
            assert_eq!(failure_from_line(&f.to_string()), f);
        }
    }
}
