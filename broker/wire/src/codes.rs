//! Kafka error codes by name: the one table the broker, the client and the tools print
//! (`NOT_LEADER_OR_FOLLOWER` style, as the Java client does), built from kafka-protocol's
//! `ResponseError`.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The symbolic name of a Kafka error code, or `UNKNOWN` for codes this version does not
/// know.
pub fn name(code: i16) -> &'static str {
    static NAMES: OnceLock<HashMap<i16, &'static str>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        (-1i16..=200)
            .filter_map(|c| {
                let e = kafka_protocol::ResponseError::try_from_code(c)?;
                if matches!(e, kafka_protocol::ResponseError::Unknown(_)) {
                    return None;
                }
                // Built once for a bounded set of codes, so leaking is fine.
                let name: &'static str =
                    Box::leak(screaming_snake(&e.to_string()).into_boxed_str());
                Some((c, name))
            })
            .collect()
    });
    match code {
        0 => "NONE",
        c => names.get(&c).copied().unwrap_or("UNKNOWN"),
    }
}

/// Whether a client may retry after `code` (NOT_LEADER_OR_FOLLOWER and the like).
pub fn is_retriable(code: i16) -> bool {
    kafka_protocol::ResponseError::try_from_code(code).is_some_and(|e| e.is_retriable())
}

/// `NotLeaderOrFollower` → `NOT_LEADER_OR_FOLLOWER`.
fn screaming_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 8);
    for (i, ch) in camel.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_error_names() {
        assert_eq!(name(6), "NOT_LEADER_OR_FOLLOWER");
        assert_eq!(name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(name(58), "SASL_AUTHENTICATION_FAILED");
        assert_eq!(name(0), "NONE");
        assert_eq!(name(-999), "UNKNOWN");
        assert!(is_retriable(6));
        assert!(!is_retriable(87));
    }
}
