//! API version negotiation: the versions this client can speak for each API, intersected
//! with what a broker advertised in ApiVersions. Pure data, no I/O.

use kafka_protocol::messages::ApiKey;

use crate::error::{Error, Result};

/// `(api, lowest, highest)` versions the client knows how to build and read. The highest
/// versions stop before the topic-id and batched forms (Fetch 13, OffsetFetch 8,
/// FindCoordinator 4) that need more than a name.
pub const CLIENT_VERSIONS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 9),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 1, 12),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 7),
    (ApiKey::FindCoordinator, 1, 3),
    (ApiKey::JoinGroup, 1, 7),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 4),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::SaslHandshake, 1, 1),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::SaslAuthenticate, 0, 2),
    (ApiKey::DescribeUserScramCredentials, 0, 0),
    (ApiKey::AlterUserScramCredentials, 0, 0),
    (ApiKey::DescribeClientQuotas, 0, 0),
    (ApiKey::AlterClientQuotas, 0, 0),
];

/// What one broker advertised: its `(min, max)` per API key.
#[derive(Debug, Clone, Default)]
pub struct Versions {
    /// The broker's ranges, indexed by API key (every request asks, so no hashing).
    ranges: Vec<Option<(i16, i16)>>,
}

/// API keys above this are not ones the client speaks, whatever a broker advertises.
const MAX_KEY: i16 = 1024;

impl Versions {
    /// Builds from the `(key, min, max)` triples of an ApiVersions response.
    pub fn from_ranges(ranges: impl IntoIterator<Item = (i16, i16, i16)>) -> Self {
        let mut v = Versions::default();
        for (key, lo, hi) in ranges {
            let Ok(i) = usize::try_from(key) else {
                continue;
            };
            if key > MAX_KEY {
                continue;
            }
            if v.ranges.len() <= i {
                v.ranges.resize(i + 1, None);
            }
            v.ranges[i] = Some((lo, hi));
        }
        v
    }

    /// The broker's range for `api`, if it advertised one.
    fn range(&self, api: ApiKey) -> Option<(i16, i16)> {
        let i = usize::try_from(api as i16).ok()?;
        self.ranges.get(i).copied().flatten()
    }

    /// The highest version of `api` both sides speak, or an [`Error::Unsupported`].
    pub fn pick(&self, api: ApiKey) -> Result<i16> {
        let (ours_lo, ours_hi) = CLIENT_VERSIONS
            .iter()
            .find(|(k, _, _)| *k == api)
            .map(|(_, lo, hi)| (*lo, *hi))
            .ok_or_else(|| Error::Unsupported {
                api: format!("{api:?}"),
                detail: "the client does not implement it".into(),
            })?;
        let Some((lo, hi)) = self.range(api) else {
            return Err(Error::Unsupported {
                api: format!("{api:?}"),
                detail: "not advertised in ApiVersions".into(),
            });
        };
        let best = hi.min(ours_hi);
        if best < lo.max(ours_lo) {
            return Err(Error::Unsupported {
                api: format!("{api:?}"),
                detail: format!("broker speaks v{lo}-{hi}, client v{ours_lo}-{ours_hi}"),
            });
        }
        Ok(best)
    }

    /// True when the broker advertised `api` at all.
    pub fn has(&self, api: ApiKey) -> bool {
        self.range(api).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_highest_common_version() {
        let v = Versions::from_ranges([(0, 0, 11), (1, 4, 17), (3, 0, 5), (9, 8, 9)]);
        assert_eq!(v.pick(ApiKey::Produce).ok(), Some(9));
        assert_eq!(v.pick(ApiKey::Fetch).ok(), Some(12));
        assert_eq!(v.pick(ApiKey::Metadata).ok(), Some(5));
        assert!(matches!(
            v.pick(ApiKey::OffsetFetch),
            Err(Error::Unsupported { .. })
        ));
        assert!(matches!(
            v.pick(ApiKey::JoinGroup),
            Err(Error::Unsupported { .. })
        ));
    }

    #[test]
    fn keys_no_client_speaks_are_ignored() {
        let v = Versions::from_ranges([(-1, 0, 3), (i16::MAX, 0, 1), (1, 4, 12)]);
        assert_eq!(v.pick(ApiKey::Fetch).ok(), Some(12));
        assert!(v.has(ApiKey::Fetch));
        assert!(!v.has(ApiKey::Produce));
        assert!(
            v.ranges.len() <= 2,
            "no table sized by a broker's made-up key"
        );
    }

    #[test]
    fn client_versions_are_within_the_crate_range() {
        for (key, lo, hi) in CLIENT_VERSIONS {
            let r = key.valid_versions();
            assert!(r.min <= *lo && *hi <= r.max, "{key:?}");
        }
    }
}
