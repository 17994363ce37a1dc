//! Property tests of the partition log against a simple in-memory model, on a real temporary
//! directory: random appends (batch sizes, keys, tombstones, compression), reads from random
//! offsets with random byte limits, small segments (so it rolls), retention by bytes,
//! reopening (recovery) and compaction are applied in random order, and after every step the
//! log must read back exactly what the model says.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use proptest::prelude::*;

use super::partition::Partition;
use super::topic_config::TopicConfig;
use crate::record;

/// One record as the model knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rec {
    key: Option<Bytes>,
    value: Option<Bytes>,
}

#[derive(Debug, Clone)]
enum Op {
    /// Append one batch: (key id or none, value length or tombstone) per record.
    Append(Vec<(Option<u8>, Option<u16>)>, bool),
    /// Read everything from a point given as a fraction of the log, in chunks of this size.
    Read(u8, u16),
    /// Close and reopen the partition (recovery).
    Reopen,
    /// Retention by bytes with this limit.
    Retain(u16),
    /// Compaction (tombstones expire at once).
    Compact,
}

fn op() -> impl Strategy<Value = Op> {
    let rec = (
        proptest::option::weighted(0.8, 0u8..6),
        proptest::option::weighted(0.9, 0u16..300),
    );
    prop_oneof![
        6 => (proptest::collection::vec(rec, 1..12), any::<bool>()).prop_map(|(r, gz)| Op::Append(r, gz)),
        3 => (any::<u8>(), 1u16..3000).prop_map(|(f, m)| Op::Read(f, m)),
        1 => Just(Op::Reopen),
        1 => (500u16..8000).prop_map(Op::Retain),
        1 => Just(Op::Compact),
    ]
}

fn encode(recs: &[Rec], gzip: bool) -> bytes::BytesMut {
    let records: Vec<Record> = recs
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: i as i32,
            timestamp: 1_000 + i as i64,
            key: r.key.clone(),
            value: r.value.clone(),
            headers: Default::default(),
        })
        .collect();
    let mut buf = bytes::BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: if gzip {
            Compression::Gzip
        } else {
            Compression::None
        },
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).expect("encode");
    buf
}

/// Reads every record from `from` to the high watermark, `chunk` bytes per read.
fn read_from(p: &Partition, from: i64, chunk: usize) -> BTreeMap<i64, Rec> {
    let mut out = BTreeMap::new();
    let mut offset = from;
    let hw = p.high_watermark();
    let mut guard = 0;
    while offset < hw {
        guard += 1;
        assert!(guard < 100_000, "read loop does not advance at {offset}");
        let bytes = p.read(offset, chunk).expect("read");
        if bytes.is_empty() {
            break;
        }
        let batches = record::split_batches(&bytes).expect("whole, valid batches");
        let first = batches.first().expect("a batch").1;
        assert!(
            first.base_offset <= offset.max(p.log_start()) || first.base_offset > offset,
            "first batch starts at {} for a read at {offset}",
            first.base_offset
        );
        assert!(
            first.last_offset() >= offset,
            "batch ends before the read offset"
        );
        let next = batches.last().expect("a batch").1.next_offset();
        for r in record::decode_records(bytes).expect("decode") {
            if r.offset >= offset {
                out.insert(
                    r.offset,
                    Rec {
                        key: r.key,
                        value: r.value,
                    },
                );
            }
        }
        offset = next;
    }
    out
}

fn segment_bases(dir: &std::path::Path) -> Vec<i64> {
    let mut v: Vec<i64> = std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| {
            let n = e.ok()?.file_name().to_string_lossy().to_string();
            n.strip_suffix(".log")?.parse().ok()
        })
        .collect();
    v.sort_unstable();
    v
}

fn run(ops: Vec<Op>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("t-0");
    let open = || {
        Partition::open(&dir, "t", 0, Arc::default())
            .expect("open")
            .0
    };
    let mut p = open();
    let cfg = TopicConfig {
        segment_bytes: 1024,
        retention_ms: -1,
        ..TopicConfig::default()
    };
    // The model: offset → record, and the next offset to assign.
    let mut model: BTreeMap<i64, Rec> = BTreeMap::new();
    let mut next = 0i64;
    for op in ops {
        match op {
            Op::Append(spec, gzip) => {
                let recs: Vec<Rec> = spec
                    .iter()
                    .enumerate()
                    .map(|(i, (k, v))| Rec {
                        key: k.map(|k| Bytes::from(format!("key{k}"))),
                        value: match (k, v) {
                            (Some(_), None) => None,
                            (_, v) => Some(Bytes::from(
                                format!("{next}.{i}:").repeat(v.unwrap_or(1) as usize / 6 + 1),
                            )),
                        },
                    })
                    .collect();
                let a = p.append(&encode(&recs, gzip), &cfg).expect("append");
                assert_eq!(a.base_offset, next);
                assert_eq!(a.end_offset, next + recs.len() as i64);
                for r in recs {
                    model.insert(next, r);
                    next += 1;
                }
            }
            Op::Read(frac, chunk) => {
                let start = p.log_start();
                let span = (next - start).max(0);
                let from = start + span * i64::from(frac) / 255;
                let got = read_from(&p, from, usize::from(chunk));
                let want: BTreeMap<i64, Rec> =
                    model.range(from..).map(|(o, r)| (*o, r.clone())).collect();
                assert_eq!(got, want, "read from {from}");
            }
            Op::Reopen => {
                drop(p);
                p = open();
                assert_eq!(p.log_end(), next, "log end after reopen");
                assert_eq!(p.high_watermark(), next);
            }
            Op::Retain(limit) => {
                let rcfg = TopicConfig {
                    retention_bytes: i64::from(limit),
                    ..cfg.clone()
                };
                p.apply_retention(&rcfg, crate::now_ms())
                    .expect("retention");
                let start = p.log_start();
                assert!(start <= next);
                let bases = segment_bases(&dir);
                assert_eq!(
                    bases.first().copied(),
                    Some(start),
                    "log start is the first segment"
                );
                model = model.split_off(&start);
            }
            Op::Compact => {
                let ccfg = TopicConfig {
                    cleanup_compact: true,
                    delete_retention_ms: 0,
                    ..cfg.clone()
                };
                let before = read_from(&p, p.log_start(), 1 << 20);
                assert_eq!(before, model);
                p.compact(&ccfg, crate::now_ms() + 10).expect("compact");
                let active = segment_bases(&dir).last().copied().unwrap_or(0);
                let after = read_from(&p, p.log_start(), 1 << 20);
                // Latest offset of every key in the model.
                let mut latest: BTreeMap<Bytes, i64> = BTreeMap::new();
                for (o, r) in &model {
                    if let Some(k) = &r.key {
                        latest.insert(k.clone(), *o);
                    }
                }
                for (o, r) in &after {
                    assert_eq!(model.get(o), Some(r), "compaction changed offset {o}");
                }
                for (o, r) in &model {
                    let kept = after.contains_key(o);
                    let in_active = *o >= active;
                    match &r.key {
                        None => assert!(kept, "keyless record {o} removed"),
                        Some(k) => {
                            let is_latest = latest.get(k) == Some(o);
                            if in_active || (is_latest && r.value.is_some()) {
                                assert!(kept, "record {o} removed (latest {is_latest})");
                            }
                            if !in_active && !is_latest {
                                assert!(!kept, "obsolete record {o} kept in a closed segment");
                            }
                        }
                    }
                }
                model = after;
            }
        }
        let (_, _, problems) = p.verify().expect("verify");
        assert!(problems.is_empty(), "{problems:?}");
    }
    // Whatever happened, a final reopen reads back the model.
    drop(p);
    let p = open();
    assert_eq!(
        read_from(&p, p.log_start(), 4096),
        model.split_off(&p.log_start())
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn log_matches_model(ops in proptest::collection::vec(op(), 1..40)) {
        run(ops);
    }
}

/// Valid batches followed by arbitrary damage (cut, flipped bytes, garbage) never stop a
/// partition from opening: recovery keeps a prefix of whole valid batches and new appends
/// continue right after it.
fn damaged_open(batches: Vec<u8>, cut: u16, flips: Vec<(u16, u8)>, garbage: Vec<u8>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("t-0");
    let cfg = TopicConfig::default();
    let p = Partition::open(&dir, "t", 0, Arc::default())
        .expect("open")
        .0;
    let mut ends = Vec::new();
    for (i, n) in batches.iter().enumerate() {
        let recs: Vec<Rec> = (0..=*n % 5)
            .map(|j| Rec {
                key: Some(Bytes::from(format!("k{i}.{j}"))),
                value: Some(Bytes::from(format!("value {i}.{j}"))),
            })
            .collect();
        p.append(&encode(&recs, i % 3 == 0), &cfg).expect("append");
        ends.push(p.log_end());
    }
    drop(p);
    let seg = dir.join(super::segment::file_name(0));
    let mut data = std::fs::read(&seg).expect("read");
    let cut = usize::from(cut).min(data.len());
    data.truncate(data.len() - cut);
    let len = data.len();
    for (at, x) in flips {
        if len > 0 {
            data[usize::from(at) % len] ^= x | 1;
        }
    }
    data.extend_from_slice(&garbage);
    std::fs::write(&seg, &data).expect("write");
    let p = Partition::open(&dir, "t", 0, Arc::default())
        .expect("open after damage")
        .0;
    let end = p.log_end();
    assert!(
        end == 0 || ends.contains(&end),
        "log end {end} is not a batch end"
    );
    let (_, _, problems) = p.verify().expect("verify");
    assert!(problems.is_empty(), "{problems:?}");
    let got = read_from(&p, 0, 1 << 20);
    assert_eq!(
        got.len() as i64,
        end,
        "every offset below the end is readable"
    );
    let a = p
        .append(
            &encode(
                &[Rec {
                    key: None,
                    value: Some(Bytes::from_static(b"new")),
                }],
                false,
            ),
            &cfg,
        )
        .expect("append after recovery");
    assert_eq!(a.base_offset, end);
    assert_eq!(read_from(&p, end, 100).len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn damaged_segments_recover_to_a_valid_prefix(
        batches in proptest::collection::vec(any::<u8>(), 1..8),
        cut in 0u16..400,
        flips in proptest::collection::vec((any::<u16>(), any::<u8>()), 0..3),
        garbage in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        damaged_open(batches, cut, flips, garbage);
    }
}
