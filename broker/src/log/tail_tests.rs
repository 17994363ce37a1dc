//! Unit tests of the tail cache: hits, misses below it, the high-watermark limit, eviction
//! by both budgets, and that the partition clears it when the log changes other than by
//! an append (truncation after a failed flush, DeleteRecords, compaction); and that an
//! append wakes only the waiters of its own partition, once it is visible.

use std::sync::Arc;

use bytes::Bytes;

use super::{TailBudget, TailCache};
use crate::log::partition::Partition;
use crate::log::topic_config::TopicConfig;
use crate::record;

/// One batch of `n` records of `size` value bytes each, at offset 0.
fn batch(n: usize, size: usize) -> Vec<u8> {
    let entries: Vec<_> = (0..n)
        .map(|i| {
            (
                Some(Bytes::from(format!("k{i}"))),
                Some(Bytes::from(vec![b'v'; size])),
            )
        })
        .collect();
    record::encode_simple(&entries, 1_000)
        .expect("encode")
        .to_vec()
}

/// Appends `data` (placed at `base`) into `cache` as one append would.
fn push(cache: &mut TailCache, mut data: Vec<u8>, base: i64) -> i64 {
    let batches = record::split_batches(&data).expect("split");
    let mut placed = Vec::new();
    let mut offset = base;
    for (range, h) in &batches {
        record::set_base_offset(&mut data[range.clone()], offset);
        let mut h = *h;
        h.base_offset = offset;
        offset = h.next_offset();
        placed.push((range.clone(), h));
    }
    cache.push(&Bytes::from(data), &placed);
    offset
}

fn partition(dir: &std::path::Path, budget: Arc<TailBudget>) -> Partition {
    Partition::open(dir, "t", 0, budget).expect("open").0
}

#[test]
fn hit_returns_a_zero_copy_slice_and_miss_below_falls_back() {
    let budget = Arc::new(TailBudget::new(1 << 20, 1 << 20));
    let mut cache = TailCache::new(Arc::clone(&budget));
    let mut two = batch(1, 10);
    two.extend(batch(2, 10));
    let end = push(&mut cache, two.clone(), 5);
    assert_eq!(end, 8);
    let got = cache.read(5, 1 << 20, 8).expect("hit");
    assert_eq!(got.len(), two.len());
    assert_eq!(record::parse_header(&got).expect("header").base_offset, 5);
    // The batch holding offset 7 (base 6) is returned whole.
    let tail = cache.read(7, 1, 8).expect("hit");
    assert_eq!(record::parse_header(&tail).expect("header").base_offset, 6);
    assert!(
        cache.read(4, 1 << 20, 8).is_none(),
        "below the cache is a miss"
    );
    assert_eq!(budget.used(), two.len());
}

#[test]
fn reads_stop_at_the_limit_offset_and_max_bytes_and_join_appends() {
    let mut cache = TailCache::new(Arc::new(TailBudget::default()));
    let a = batch(1, 10);
    let b = batch(1, 10);
    push(&mut cache, a.clone(), 0);
    push(&mut cache, b.clone(), 1);
    // Not yet durable past offset 1: only the first batch.
    assert_eq!(cache.read(0, 1 << 20, 1).expect("hit").len(), a.len());
    assert_eq!(cache.read(1, 1 << 20, 1).expect("hit").len(), 0);
    // max_bytes smaller than both: still one whole batch.
    assert_eq!(cache.read(0, 1, 2).expect("hit").len(), a.len());
    // Both appends, copied together.
    let both = cache.read(0, 1 << 20, 2).expect("hit");
    assert_eq!(&both[..a.len()], &a[..]);
    assert_eq!(both.len(), a.len() + b.len());
}

#[test]
fn eviction_keeps_both_budgets() {
    let one = batch(1, 100).len();
    let budget = Arc::new(TailBudget::new(2 * one, 3 * one));
    let mut p1 = TailCache::new(Arc::clone(&budget));
    let mut p2 = TailCache::new(Arc::clone(&budget));
    let mut end = 0;
    for _ in 0..3 {
        end = push(&mut p1, batch(1, 100), end);
    }
    assert_eq!(p1.bytes(), 2 * one, "per-partition budget");
    assert!(p1.read(0, 1 << 20, end).is_none(), "oldest evicted");
    assert!(p1.read(1, 1 << 20, end).is_some());
    let mut e2 = 0;
    for _ in 0..2 {
        e2 = push(&mut p2, batch(1, 100), e2);
    }
    // 2 + 2 would pass the total of 3: p2 evicts its own oldest to fit.
    assert_eq!(budget.used(), 3 * one);
    assert_eq!(p2.bytes(), one);
    assert!(p2.read(1, 1 << 20, e2).is_some());
    drop(p1);
    assert_eq!(
        budget.used(),
        one,
        "a dropped partition gives its bytes back"
    );
    // A batch bigger than the partition budget empties the cache instead.
    push(&mut p2, batch(1, 1000), e2);
    assert_eq!(p2.bytes(), 0);
    assert_eq!(budget.used(), 0);
}

#[test]
fn a_gap_clears_the_cache() {
    let mut cache = TailCache::new(Arc::new(TailBudget::default()));
    push(&mut cache, batch(1, 10), 0);
    push(&mut cache, batch(1, 10), 5);
    assert_eq!(cache.bytes(), 0);
    assert!(cache.read(5, 1 << 20, 6).is_none());
}

#[test]
fn partition_serves_the_tail_from_cache_and_clears_it_on_truncation_and_delete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let budget = Arc::new(TailBudget::default());
    let p = partition(dir.path(), Arc::clone(&budget));
    let cfg = TopicConfig::default();
    let first = batch(2, 10);
    p.append(&first, &cfg).expect("append");
    p.synced(p.log_end());
    assert_eq!(p.tail_cache_bytes(), first.len());
    let cached = p.read(0, 1 << 20).expect("read");
    assert_eq!(cached.len(), first.len());
    // An append that is not yet durable, then a failed flush cuts it off.
    p.append(&batch(1, 10), &cfg).expect("append");
    p.flush_failed();
    assert_eq!(p.tail_cache_bytes(), 0, "truncation clears the cache");
    assert_eq!(p.read(0, 1 << 20).expect("read"), cached, "the disk agrees");
    p.append(&batch(1, 10), &cfg).expect("append");
    assert!(p.tail_cache_bytes() > 0);
    p.delete_records_before(1).expect("delete");
    assert_eq!(p.tail_cache_bytes(), 0, "DeleteRecords clears the cache");
    assert_eq!(budget.used(), 0);
}

#[test]
fn compaction_clears_the_cache_and_reads_match_the_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let budget = Arc::new(TailBudget::default());
    let p = partition(dir.path(), Arc::clone(&budget));
    let cfg = TopicConfig::default();
    for _ in 0..3 {
        p.append(&batch(1, 10), &cfg).expect("append");
    }
    let cached = p.read(0, 1 << 20).expect("read");
    p.compact(&cfg, crate::now_ms()).expect("compact");
    assert_eq!(p.tail_cache_bytes(), 0);
    assert_eq!(p.read(0, 1 << 20).expect("read"), cached, "disk agrees");
    // Reopened, the cache starts empty and the disk answers the same bytes.
    drop(p);
    let p = partition(dir.path(), budget);
    assert_eq!(p.tail_cache_bytes(), 0);
    assert_eq!(p.read(0, 1 << 20).expect("read"), cached);
}

#[test]
fn an_append_wakes_only_the_fetches_of_its_own_partition() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let dir = tempfile::tempdir().expect("tempdir");
    let budget = Arc::new(TailBudget::default());
    let a = partition(&dir.path().join("a-0"), Arc::clone(&budget));
    let b = partition(&dir.path().join("b-0"), budget);
    let cfg = TopicConfig::default();
    let mut cx = Context::from_waker(Waker::noop());
    let mut waiting_on_a = std::pin::pin!(a.data_arrived());
    waiting_on_a.as_mut().enable();
    b.append(&batch(1, 10), &cfg).expect("append to b");
    assert!(
        waiting_on_a.as_mut().poll(&mut cx).is_pending(),
        "an append to another partition woke the waiter"
    );
    // Its own partition's append wakes it at once, before any fsync: the record is
    // visible when written (a `flush = "always"` produce is answered after the fsync).
    a.append(&batch(1, 10), &cfg).expect("append to a");
    assert_eq!(waiting_on_a.as_mut().poll(&mut cx), Poll::Ready(()));
    assert_eq!(a.high_watermark(), a.log_end());
    assert_eq!(a.watch_durable().borrow().synced, 0, "not synced yet");
}

#[test]
fn compaction_is_due_again_only_when_half_the_log_is_new() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = partition(dir.path(), Arc::new(TailBudget::default()));
    let cfg = TopicConfig::default();
    assert!(!p.compaction_due(), "an empty log");
    for _ in 0..10 {
        p.append(&batch(1, 10), &cfg).expect("append");
    }
    assert!(p.compaction_due(), "never compacted");
    p.compact(&cfg, crate::now_ms()).expect("compact");
    assert!(!p.compaction_due(), "nothing new");
    for _ in 0..9 {
        p.append(&batch(1, 10), &cfg).expect("append");
    }
    assert!(!p.compaction_due(), "9 new of 19");
    p.append(&batch(1, 10), &cfg).expect("append");
    assert!(p.compaction_due(), "10 new of 20");
}

#[test]
fn a_produce_waits_for_the_fsync_that_visibility_does_not() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let dir = tempfile::tempdir().expect("tempdir");
    let p = partition(dir.path(), Arc::new(TailBudget::default()));
    let cfg = TopicConfig::default();
    let failures = p.failures();
    let appended = p.append(&batch(2, 10), &cfg).expect("append");
    // Fetches see it at once...
    assert_eq!(p.read(0, 1 << 20).map(|b| b.is_empty()), Ok(false));
    // ...its produce is not answered until the flusher says it is on disk.
    let mut cx = Context::from_waker(Waker::noop());
    let mut durable = std::pin::pin!(p.wait_durable(appended.end_offset, failures));
    assert!(durable.as_mut().poll(&mut cx).is_pending());
    p.synced(appended.end_offset - 1);
    assert!(durable.as_mut().poll(&mut cx).is_pending(), "half synced");
    p.synced(appended.end_offset);
    assert_eq!(durable.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    // A failed flush of a later append fails its produce and takes it back from fetches.
    let failures = p.failures();
    let later = p.append(&batch(1, 10), &cfg).expect("append");
    let mut failed = std::pin::pin!(p.wait_durable(later.end_offset, failures));
    assert!(failed.as_mut().poll(&mut cx).is_pending());
    p.flush_failed();
    assert!(matches!(failed.as_mut().poll(&mut cx), Poll::Ready(Err(_))));
    assert_eq!(p.high_watermark(), appended.end_offset);
}
