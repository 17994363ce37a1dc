//! Choosing a partition for a record, compatible with the Java client: a keyed record goes
//! to `toPositive(murmur2(key)) % partitions` (so the same key lands on the same partition
//! whichever client produced it); a keyless record sticks to one partition until that
//! partition's batch is full (the producer calls [`Sticky::next`]), which keeps batches big.

use std::collections::HashMap;

/// Kafka's murmur2 (the Java client's `Utils.murmur2`), on the key's bytes.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= u32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= u32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= u32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition the Java client's default partitioner picks for `key`.
///
/// ```
/// use client::partitioner::{murmur2, partition_for_key};
/// assert_eq!(murmur2(b"foobar"), -790_332_482); // Java's Utils.murmur2
/// assert_eq!(partition_for_key(b"foo", 7), 1);
/// assert_eq!(partition_for_key(b"a", 3), 1);
/// ```
pub fn partition_for_key(key: &[u8], partitions: usize) -> i32 {
    if partitions == 0 {
        return 0;
    }
    ((murmur2(key) & 0x7fff_ffff) as u32 % partitions as u32) as i32
}

/// The sticky choice for keyless records, per topic.
#[derive(Debug, Default)]
pub struct Sticky {
    /// Current partition per topic.
    current: HashMap<String, i32>,
    /// Moves the choice around.
    counter: u32,
}

impl Sticky {
    /// The current sticky partition for `topic`.
    pub fn partition(&mut self, topic: &str, partitions: usize) -> i32 {
        if partitions == 0 {
            return 0;
        }
        if let Some(p) = self.current.get(topic) {
            if (*p as usize) < partitions {
                return *p;
            }
        }
        self.counter = self.counter.wrapping_add(1);
        let p = (self.counter % partitions as u32) as i32;
        self.current.insert(topic.to_string(), p);
        p
    }

    /// Moves `topic` to another partition (its batch filled up).
    pub fn next(&mut self, topic: &str) {
        self.current.remove(topic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors from the Java client's UtilsTest (`Utils.murmur2`).
    #[test]
    fn java_murmur2_vectors() {
        assert_eq!(murmur2(b"21"), -973_932_308);
        assert_eq!(murmur2(b"foobar"), -790_332_482);
        assert_eq!(murmur2(b"a-little-bit-long-string"), -985_981_536);
        assert_eq!(murmur2(b"a-little-bit-longer-string"), -1_486_304_829);
        assert_eq!(
            murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"),
            -58_897_971
        );
        assert_eq!(murmur2(b"abc"), 479_470_107);
    }

    #[test]
    fn partitions_match_the_java_client() {
        // toPositive(murmur2(key)) % n, computed by kafka-python's port of the Java code.
        for (key, n, expect) in PARTITION_VECTORS {
            assert_eq!(
                partition_for_key(key.as_bytes(), *n),
                *expect,
                "{key} % {n}"
            );
        }
    }

    /// (key, partitions, partition) cross-checked with kafka-python's
    /// `kafka.partitioner.default.murmur2`.
    pub(super) const PARTITION_VECTORS: &[(&str, usize, i32)] = &[
        ("a", 3, 1),
        ("a", 7, 5),
        ("a", 16, 12),
        ("foo", 3, 2),
        ("foo", 7, 1),
        ("foo", 16, 0),
        ("42", 3, 1),
        ("42", 7, 3),
        ("42", 16, 12),
        ("bbs", 3, 2),
        ("bbs", 7, 1),
        ("bbs", 16, 0),
        ("hello world", 3, 1),
        ("hello world", 7, 2),
        ("hello world", 16, 3),
        ("ana", 3, 1),
        ("ana", 7, 6),
        ("ana", 16, 8),
        ("board.general", 3, 1),
        ("board.general", 7, 4),
        ("board.general", 16, 13),
        ("ключ", 3, 2),
        ("ключ", 7, 4),
        ("ключ", 16, 0),
        ("xxxxxxxxxxxxxxxxx", 3, 1),
        ("xxxxxxxxxxxxxxxxx", 7, 3),
        ("xxxxxxxxxxxxxxxxx", 16, 13),
        ("", 3, 0),
        ("", 7, 2),
        ("", 16, 9),
    ];

    #[test]
    fn sticky_changes_on_next() {
        let mut s = Sticky::default();
        let a = s.partition("t", 3);
        assert_eq!(s.partition("t", 3), a);
        s.next("t");
        assert_ne!(s.partition("t", 3), a);
        assert_eq!(s.partition("t", 0), 0);
    }
}
