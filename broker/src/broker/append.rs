//! Writing and reading the log on behalf of a host's record policy: [`Broker::append_checked`]
//! (check, append and fold as one step, in log order), [`Broker::wait_durable`] and
//! [`Broker::replay`] (a host rebuilding its state from the log at start). Produce and the
//! host's own writes (the BBS's profiles) both go through `append_checked`, so nothing
//! outside this module takes the policy lock.

use std::borrow::Cow;
use std::sync::Arc;

use kafka_protocol::records::Record;

use super::Broker;
use crate::auth::policy::{PolicyRecord, RecordPolicy};
use crate::error::{Error, Result};
use crate::log::{Appended, Partition, Rejected, TopicConfig};

/// A batch ready to append: the bytes to write and the records they hold, as the policy
/// will be told about them ([`RecordPolicy::appended`]).
pub type Checked<'a> = (Cow<'a, [u8]>, Vec<PolicyRecord>);

impl Broker {
    /// Appends to `log` a batch that `policy` governs, as one step in log order:
    ///
    /// 1. take the policy lock (one such append at a time, across all partitions);
    /// 2. run `check`, which consults the policy's state and returns the bytes to write
    ///    and the records they hold, or a refusal (or whatever `E` says "write nothing");
    /// 3. append the bytes (a refusal of the log becomes `E` through `rejected`);
    /// 4. unless the log recognised a duplicate, tell the policy
    ///    ([`RecordPolicy::appended`]) so it folds the records into its state;
    /// 5. release the lock, and mark the partition for the flusher.
    ///
    /// Holding the lock from 2 to 4 is what makes the host's state follow the log
    /// exactly: no two batches are checked against the same state, and the state never
    /// holds records the log refused. Work that needs no such order (auditing, creating
    /// implied topics, waiting for the fsync) is the caller's, after this returns.
    /// Returns what was appended and the records written.
    pub fn append_checked<'a, E>(
        &self,
        policy: &dyn RecordPolicy,
        log: &Arc<Partition>,
        cfg: &TopicConfig,
        check: impl FnOnce() -> Result<Checked<'a>, E>,
        rejected: impl FnOnce(Rejected) -> E,
    ) -> Result<(Appended, Vec<PolicyRecord>), E> {
        let out = {
            let _serial = self.auth.policy_lock.lock();
            let (bytes, written) = check()?;
            let appended = log.append(&bytes, cfg).map_err(rejected)?;
            if !appended.duplicate {
                policy.appended(&log.topic, log.index, appended.base_offset, &written);
            }
            (appended, written)
        };
        self.logs.flusher.mark_dirty(log);
        Ok(out)
    }

    /// Waits until `log` is durable up to `end_offset` (see [`Partition::wait_durable`]);
    /// returns at once when the flush policy acknowledges before the fsync.
    pub async fn wait_durable(
        &self,
        log: &Partition,
        end_offset: i64,
        failures_before: u64,
    ) -> Result<(), Rejected> {
        if self.logs.flusher.relaxed() {
            return Ok(());
        }
        log.wait_durable(end_offset, failures_before).await
    }

    /// Hands every record below the high watermark of every partition of the topics
    /// `wanted` selects to `visit`, with its topic name, in offset order per partition:
    /// how a host rebuilds its state from the log before the broker serves clients.
    pub fn replay(
        &self,
        wanted: impl Fn(&str) -> bool,
        mut visit: impl FnMut(&str, Record),
    ) -> Result<()> {
        for topic in self.logs.topics() {
            if !wanted(&topic.name) {
                continue;
            }
            for p in &topic.partitions {
                let mut offset = p.log_start();
                let hw = p.high_watermark();
                while offset < hw {
                    let bytes = p.read(offset, 1 << 20).map_err(|r| Error::Refused {
                        code: r.code,
                        message: format!("reading {}: {}", topic.name, r.message),
                    })?;
                    if bytes.is_empty() {
                        break;
                    }
                    let records = crate::record::decode_records(bytes).map_err(|e| {
                        Error::CorruptBatch(format!("decoding {}: {e}", topic.name))
                    })?;
                    for rec in records {
                        offset = rec.offset + 1;
                        visit(&topic.name, rec);
                    }
                }
            }
        }
        Ok(())
    }
}
