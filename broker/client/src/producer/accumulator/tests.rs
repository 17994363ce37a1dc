use super::*;
use crate::cluster::{PartitionInfo, TopicInfo};
use wire::ErrorCode;

fn view(leaders: &[i32]) -> ClusterView {
    let mut v = ClusterView::default();
    v.topics.insert(
        "t".into(),
        TopicInfo {
            error: ErrorCode::NONE,
            internal: false,
            partitions: leaders
                .iter()
                .enumerate()
                .map(|(i, l)| PartitionInfo {
                    id: i as i32,
                    leader: *l,
                    leader_epoch: 0,
                    error: ErrorCode::NONE,
                })
                .collect(),
        },
    );
    v
}

fn cfg() -> ProducerConfig {
    ProducerConfig {
        linger: Duration::from_millis(50),
        batch_size: 2048,
        ..Default::default()
    }
}

#[test]
fn linger_full_and_sequences() {
    let mut acc = Accumulator::new();
    acc.reset_producer_id(9, 0);
    let tp = TopicPartition::new("t", 0);
    let now = Instant::now();
    for _ in 0..3 {
        acc.append(&tp, 0, None, Some(&[0u8; 100]), &[], 120, 2048);
    }
    let (ready, next, unknown) = acc.drain(&view(&[1]), &cfg(), now);
    assert!(ready.is_empty() && !unknown);
    assert!(next.is_some());
    let later = now + Duration::from_millis(60);
    let (ready, _, _) = acc.drain(&view(&[1]), &cfg(), later);
    let batches = &ready[&1];
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].seq(), Some(0));
    assert_eq!(acc.parts[&tp].next_seq, 3);
    // A second batch gets the next sequence; filling past batch_size makes it ready at once.
    for _ in 0..20 {
        acc.append(&tp, 0, None, Some(&[0u8; 100]), &[], 120, 2048);
    }
    let (ready, _, _) = acc.drain(&view(&[1]), &cfg(), now);
    assert_eq!(ready[&1][0].seq(), Some(3));
}

#[test]
fn retries_go_first_alone_and_in_order() {
    let mut acc = Accumulator::new();
    acc.reset_producer_id(9, 0);
    let tp = TopicPartition::new("t", 0);
    let mut c = cfg();
    c.linger = Duration::ZERO;
    let mut sent = Vec::new();
    for _ in 0..3 {
        acc.append(&tp, 0, None, Some(b"x"), &[], 20, 2048);
        let (mut ready, _, _) = acc.drain(&view(&[1]), &c, Instant::now());
        sent.extend(ready.remove(&1).unwrap_or_default());
    }
    assert_eq!(
        sent.iter().map(|b| b.seq()).collect::<Vec<_>>(),
        vec![Some(0), Some(1), Some(2)]
    );
    assert_eq!(acc.parts[&tp].inflight, 3);
    // Batch 1 fails first, then 0 and 2: the queue holds them by sequence.
    let mut it = sent.into_iter();
    let (b0, b1, b2) = (
        it.next().expect("b0"),
        it.next().expect("b1"),
        it.next().expect("b2"),
    );
    acc.requeue(b1, Duration::ZERO);
    assert!(acc.has_earlier_retry(&tp, 2));
    acc.requeue(b2, Duration::ZERO);
    acc.requeue(b0, Duration::ZERO);
    acc.append(&tp, 0, None, Some(b"new"), &[], 20, 2048);
    let order: Vec<_> = acc.parts[&tp].queue.iter().map(|b| b.seq()).collect();
    assert_eq!(order, vec![Some(0), Some(1), Some(2), None]);
    // Only the first retry goes, alone; the next waits for it.
    let (ready, _, _) = acc.drain(&view(&[1]), &c, Instant::now() + Duration::from_millis(1));
    assert_eq!(ready[&1].len(), 1);
    assert_eq!(ready[&1][0].seq(), Some(0));
    let (ready, _, _) = acc.drain(&view(&[1]), &c, Instant::now() + Duration::from_millis(1));
    assert!(ready.is_empty());
}

#[test]
fn unknown_leader_is_reported_and_expiry_fails_unsent() {
    let mut acc = Accumulator::new();
    acc.reset_producer_id(1, 0);
    let tp = TopicPartition::new("t", 0);
    let (outcome, _, _) = acc.append(&tp, 0, None, Some(b"x"), &[], 20, 2048);
    let (ready, _, unknown) = acc.drain(
        &view(&[-1]),
        &cfg(),
        Instant::now() + Duration::from_secs(1),
    );
    assert!(ready.is_empty() && unknown);
    acc.expire(
        Duration::from_millis(1),
        Instant::now() + Duration::from_secs(1),
    );
    assert!(matches!(outcome.wait(Some(Duration::ZERO)), Some(Err(_))));
    assert_eq!(acc.buffered, 0);
    assert!(acc.is_idle());
}
