//! The ledger: the single-partition upstream topic [`TOPIC`] through which the front
//! servers of one cluster put every BBS write in one order. A front server does not write
//! a client's BBS records itself: it appends them, with who sent them and where to, as one
//! [`Entry`] record; the sequencer (`super::sequencer`) takes entries in ledger order,
//! decides on each with the record policy, writes the stamped records and appends a
//! [`Verdict`] record, which the front that asked is waiting for. The ledger is the
//! order; post ids and times come from the sequencer's fold of what it wrote in that
//! order, so they stay unique and ordered whichever front a post came through.
//!
//! Encoding only (no I/O): an entry's records travel as one Kafka v2 batch in its value
//! (the broker's own policy encoding), its routing in headers.

use bytes::Bytes;

use broker::auth::policy::{self as broker_policy, ErrorCode, PolicyRecord};
use broker::auth::Principal;

/// The ledger topic (one partition; created by the first front server that starts).
pub const TOPIC: &str = "bbs-front-ledger";
/// The header marking a record the sequencer wrote with the ledger offset of its entry
/// (so a sequencer that takes over knows which entries were written already).
pub const H_SEQ: &str = "bbs-front.seq";

const KEY_ENTRY: &[u8] = b"entry";
const KEY_VERDICT: &[u8] = b"verdict";
const H_FRONT: &str = "bbs-front.front";
const H_PRINCIPAL: &str = "bbs-front.principal";
const H_TOPIC: &str = "bbs-front.topic";
const H_PARTITION: &str = "bbs-front.partition";
const H_ENTRY: &str = "bbs-front.entry";
const H_OFFSET: &str = "bbs-front.offset";
const H_CODE: &str = "bbs-front.code";

/// Most bytes an entry's records may decompress to (the broker's own cap).
const LIMIT: usize = 8 * 1024 * 1024;

/// A ledger record as key, value and headers.
pub type Parts = (Bytes, Bytes, Vec<(String, Option<Bytes>)>);

/// One client write, as the sequencer sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The front server that asked (its instance id).
    pub front: String,
    /// Who wrote.
    pub principal: Principal,
    /// Where to.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The records as the client sent them.
    pub records: Vec<PolicyRecord>,
}

/// What became of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The entry's ledger offset.
    pub entry: i64,
    /// The front server that asked.
    pub front: String,
    /// The offset of the first record written, or the refusal.
    pub outcome: Result<i64, (i16, String)>,
}

/// A ledger record: an entry or a verdict (anything else is skipped).
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A write to decide on.
    Entry(Entry),
    /// A decision.
    Verdict(Verdict),
}

fn header<'a>(headers: &'a [(String, Option<Bytes>)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.as_deref())
        .and_then(|v| std::str::from_utf8(v).ok())
}

fn text(s: &str) -> Option<Bytes> {
    Some(Bytes::copy_from_slice(s.as_bytes()))
}

fn principal_text(p: &Principal) -> String {
    match p {
        Principal::Anonymous => "anonymous".into(),
        Principal::Operator => "operator".into(),
        Principal::User(u) => format!("user:{u}"),
    }
}

fn principal_from(s: &str) -> Option<Principal> {
    match s {
        "anonymous" => Some(Principal::Anonymous),
        "operator" => Some(Principal::Operator),
        _ => s.strip_prefix("user:").map(|u| Principal::User(u.into())),
    }
}

/// A ledger record, ready to send to the ledger's one partition.
pub fn record((key, value, headers): Parts) -> client::Record {
    client::Record {
        topic: TOPIC.into(),
        partition: Some(0),
        key: Some(key),
        value: Some(value),
        headers,
        timestamp: None,
    }
}

/// An entry as a ledger record: (key, value, headers).
pub fn encode_entry(e: &Entry) -> broker::Result<Parts> {
    let value = broker_policy::encode(&e.records, &[])?.freeze();
    let headers = vec![
        (H_FRONT.to_string(), text(&e.front)),
        (H_PRINCIPAL.to_string(), text(&principal_text(&e.principal))),
        (H_TOPIC.to_string(), text(&e.topic)),
        (H_PARTITION.to_string(), text(&e.partition.to_string())),
    ];
    Ok((Bytes::from_static(KEY_ENTRY), value, headers))
}

/// A verdict as a ledger record: (key, value, headers).
pub fn encode_verdict(v: &Verdict) -> Parts {
    let (offset, code, message) = match &v.outcome {
        Ok(base) => (*base, 0, String::new()),
        Err((code, message)) => (-1, *code, message.clone()),
    };
    let headers = vec![
        (H_FRONT.to_string(), text(&v.front)),
        (H_ENTRY.to_string(), text(&v.entry.to_string())),
        (H_OFFSET.to_string(), text(&offset.to_string())),
        (H_CODE.to_string(), text(&code.to_string())),
    ];
    (
        Bytes::from_static(KEY_VERDICT),
        Bytes::from(message.into_bytes()),
        headers,
    )
}

/// Reads a ledger record; `None` for anything that is not a well-formed entry or verdict
/// (logged by the caller; the ledger is written only by front servers, but a bad record
/// must not stop the BBS).
pub fn decode(
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[(String, Option<Bytes>)],
) -> Option<Item> {
    let front = header(headers, H_FRONT)?.to_string();
    match key? {
        KEY_ENTRY => {
            let (records, _) = broker_policy::decode(value?, LIMIT).ok()?;
            Some(Item::Entry(Entry {
                front,
                principal: principal_from(header(headers, H_PRINCIPAL)?)?,
                topic: header(headers, H_TOPIC)?.to_string(),
                partition: header(headers, H_PARTITION)?.parse().ok()?,
                records,
            }))
        }
        KEY_VERDICT => {
            let entry = header(headers, H_ENTRY)?.parse().ok()?;
            let offset: i64 = header(headers, H_OFFSET)?.parse().ok()?;
            let code: i16 = header(headers, H_CODE)?.parse().ok()?;
            let outcome = if code == 0 {
                Ok(offset)
            } else {
                let message = String::from_utf8_lossy(value.unwrap_or_default()).into_owned();
                Err((code, message))
            };
            Some(Item::Verdict(Verdict {
                entry,
                front,
                outcome,
            }))
        }
        _ => None,
    }
}

/// The Kafka error code of a refused verdict's code, for the client's answer.
pub fn error_code(code: i16) -> ErrorCode {
    ErrorCode(code)
}

/// A new instance id for this front server's entries (no randomness crate: the clock and
/// the process id are unique enough to tell this run's entries from another front's).
pub(crate) fn new_front_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_verdicts_read_back_as_written() {
        let e = Entry {
            front: "f1".into(),
            principal: Principal::User("測試".into()),
            topic: "board.NP".into(),
            partition: 0,
            records: vec![PolicyRecord {
                key: None,
                value: Some(Bytes::from_static(b"body")),
                headers: vec![("bbs.kind".into(), Some(Bytes::from_static(b"post")))],
                timestamp: 5,
            }],
        };
        let (k, v, h) = encode_entry(&e).expect("encode");
        assert_eq!(decode(Some(&k), Some(&v), &h), Some(Item::Entry(e)));
        for outcome in [Ok(42), Err((87, "no such board".to_string()))] {
            let verdict = Verdict {
                entry: 7,
                front: "f2".into(),
                outcome,
            };
            let (k, v, h) = encode_verdict(&verdict);
            assert_eq!(decode(Some(&k), Some(&v), &h), Some(Item::Verdict(verdict)));
        }
        assert_eq!(decode(Some(b"other"), None, &h), None);
        assert_eq!(decode(Some(KEY_ENTRY), Some(b"not a batch"), &h), None);
    }
}
