//! The OpenSearch sink: documents batched into `_bulk` requests bounded by bytes
//! ([`BULK_BYTES`]; less while many requests may be under way, and once the cluster has found
//! a body too large), each written with `create` under its deterministic `_id`, so a retry finds
//! it already there (409, counted, not an error); requests under way while parsing goes on
//! ([`super::bulk`] sends and retries them), as many as the process's bulk concurrency lets
//! through ([`super::concurrency`]). A document OpenSearch refuses for
//! good is dead-lettered with OpenSearch's reason. `flush` returns only when every document
//! given is indexed, already there, or dead-lettered, so an input counts as done (or a
//! checkpoint of it taken) only then. A document indexed without fields its mappings could
//! not take (`ignore_malformed`, [`super::ignored`]) is counted, and the fields named in a
//! warning.

use super::bulk::{self, Outcome, Pending, Sent};
use super::cluster::Cluster;
use super::concurrency;
use super::ignored::{self, CHECK_EVERY, Unchecked};
use crate::sink::{DeadLetter, DeadLetters, Document, Origin, Sink, SinkError};
use crate::source::SourceRef;
use bytes::Bytes;
use std::collections::VecDeque;
use std::time::Instant;
use tokio::task::JoinHandle;

/// A `_bulk` request is sent once its body reaches this size, unless the cluster takes less.
pub const BULK_BYTES: usize = 5 << 20;
/// How much of a refused document its dead letter keeps.
const EXCERPT_BYTES: usize = 256;

/// What the sink did with the documents it was given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BulkStats {
    pub indexed: u64,
    /// Documents whose `_id` was already there: a retry of an input indexed before.
    pub already_indexed: u64,
    /// Documents OpenSearch refused for good (a mapping error), dead-lettered.
    pub refused: u64,
    /// Requests and item batches sent again after a retryable failure.
    pub retries: u64,
    /// Bodies the cluster found too large (413), sent again in halves.
    pub splits: u64,
    /// Fields OpenSearch left out of the documents it indexed, as their mappings could not
    /// take the values (`ignore_malformed`): one per field of each document.
    pub ignored_fields: u64,
}

impl BulkStats {
    /// Adds what another sink did (the sinks of the workers of one run).
    pub fn add(&mut self, other: &BulkStats) {
        self.indexed += other.indexed;
        self.already_indexed += other.already_indexed;
        self.refused += other.refused;
        self.retries += other.retries;
        self.splits += other.splits;
        self.ignored_fields += other.ignored_fields;
    }
}

/// The input begun last, owned: its documents' dead letters name it.
struct Current {
    source: SourceRef,
    plugin: String,
    plugin_sha256: String,
}

/// Documents into an OpenSearch cluster.
pub struct BulkSink {
    cluster: Cluster,
    current: Option<Current>,
    body: Vec<Pending>,
    body_bytes: usize,
    /// The body size sent at: [`BULK_BYTES`], or half the smallest body the cluster refused
    /// as too large (413), for the life of the sink.
    body_limit: usize,
    /// The size the body being filled is sent at: `body_limit`, or smaller while many
    /// requests may be under way ([`concurrency::body_bytes`]).
    body_target: usize,
    in_flight: VecDeque<JoinHandle<Sent>>,
    /// When every request must have been answered, if ever.
    answer_by: Option<Instant>,
    stats: BulkStats,
    /// Documents settled, not yet looked at for fields OpenSearch ignored.
    unchecked: Unchecked,
}

impl BulkSink {
    /// A sink writing to `cluster`.
    pub fn new(cluster: Cluster) -> Self {
        BulkSink {
            cluster,
            current: None,
            body: Vec::new(),
            body_bytes: 0,
            body_limit: BULK_BYTES,
            body_target: BULK_BYTES,
            in_flight: VecDeque::new(),
            answer_by: None,
            stats: BulkStats::default(),
            unchecked: Unchecked::default(),
        }
    }

    /// What the sink did so far.
    pub fn stats(&self) -> BulkStats {
        self.stats
    }

    /// The stats so far, starting them again from zero.
    pub fn take_stats(&mut self) -> BulkStats {
        std::mem::take(&mut self.stats)
    }

    /// Sends nothing, and waits for no answer, past `answer_by` (a Lambda invocation's
    /// deadline): what is unanswered then fails its input, for a retry.
    pub fn answer_by(&mut self, answer_by: Option<Instant>) {
        self.answer_by = answer_by;
    }

    /// The cluster written to.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Sends the body so far once the process's bulk concurrency lets one more request through
    /// (the requests under way finish on their own meanwhile), then waits for the oldest while
    /// this sink has more than the limit under way or answered and not accounted for: memory
    /// stays within (1 + the limit) bodies.
    fn dispatch(&mut self, refused: &mut dyn DeadLetters) -> Result<(), SinkError> {
        if self.body.is_empty() {
            return Ok(());
        }
        let items = std::mem::take(&mut self.body);
        self.body_bytes = 0;
        let permit = self.cluster.block_on(self.cluster.limiter().acquire());
        self.body_target = self.body_limit.min(concurrency::body_bytes(self.cluster.bulk_concurrency()));
        let request = bulk::send(self.cluster.client().clone(), permit, items, self.answer_by);
        self.in_flight.push_back(self.cluster.spawn(request));
        while self.in_flight.len() > self.cluster.bulk_concurrency() {
            self.settle_oldest(refused)?;
        }
        Ok(())
    }

    /// Waits for the oldest request under way and accounts for each of its documents.
    fn settle_oldest(&mut self, refused: &mut dyn DeadLetters) -> Result<(), SinkError> {
        let Some(handle) = self.in_flight.pop_front() else { return Ok(()) };
        let sent = self.cluster.block_on(handle).map_err(|e| SinkError::Fatal(e.to_string()))?;
        self.stats.retries += sent.retries;
        self.stats.splits += sent.splits;
        if let Some(refused) = sent.too_large.filter(|&bytes| bytes / 2 < self.body_limit) {
            self.body_limit = (refused / 2).max(1);
            tracing::warn!(
                refused,
                now = self.body_limit,
                "OpenSearch found a bulk body too large: sending smaller ones"
            );
        }
        self.unchecked.extend(sent.held);
        // Every item is accounted for, then the first that could not be delivered fails the input.
        let mut undelivered = None;
        for (item, outcome) in sent.items.iter().zip(sent.outcomes?) {
            match outcome {
                Outcome::Indexed => self.stats.indexed += 1,
                Outcome::AlreadyThere => self.stats.already_indexed += 1,
                Outcome::Refused(reason) => {
                    self.stats.refused += 1;
                    let current = self.current.as_ref().expect("documents come between begin and end");
                    refused.dead_letter(&DeadLetter {
                        reason: &reason,
                        origin: Origin {
                            source: &current.source,
                            plugin: &current.plugin,
                            plugin_sha256: &current.plugin_sha256,
                        },
                        record_number: item.record_number,
                        offset: item.offset,
                        excerpt: &item.source[..item.source.len().min(EXCERPT_BYTES)],
                    })?;
                }
                Outcome::GaveUp(reason) => {
                    undelivered.get_or_insert(reason);
                }
            }
        }
        match undelivered {
            None if self.unchecked.len() >= CHECK_EVERY => self.check_ignored(),
            None => Ok(()),
            Some(reason) => Err(SinkError::Retryable(format!(
                "OpenSearch kept refusing documents for a passing reason, after every attempt: {reason}"
            ))),
        }
    }

    /// Counts the fields OpenSearch ignored of the documents settled since the last look, and
    /// names them in a warning.
    fn check_ignored(&mut self) -> Result<(), SinkError> {
        let unchecked = std::mem::take(&mut self.unchecked);
        if unchecked.is_empty() {
            return Ok(());
        }
        let found = self.cluster.block_on(ignored::check(self.cluster.client(), unchecked, self.answer_by))?;
        self.stats.ignored_fields += found.fields.values().sum::<u64>();
        if let Some(example) = found.example {
            let source = self.current.as_ref().map(|c| c.source.to_string()).unwrap_or_default();
            tracing::warn!(
                %source,
                documents = found.documents,
                fields = ?found.fields,
                %example,
                "OpenSearch indexed documents without fields their mappings could not take (ignore_malformed)"
            );
        }
        Ok(())
    }
}

impl Sink for BulkSink {
    fn begin(&mut self, origin: Origin<'_>) -> Result<(), SinkError> {
        self.current = Some(Current {
            source: origin.source.clone(),
            plugin: origin.plugin.into(),
            plugin_sha256: origin.plugin_sha256.into(),
        });
        Ok(())
    }

    fn document(&mut self, doc: &Document<'_>, refused: &mut dyn DeadLetters) -> Result<(), SinkError> {
        let action = serde_json::to_vec(&serde_json::json!({"create": {"_index": doc.index, "_id": doc.id}}))
            .map_err(|e| SinkError::Fatal(e.to_string()))?;
        self.body_bytes += action.len() + doc.source.len() + 2;
        self.body.push(Pending {
            action: Bytes::from(action),
            source: Bytes::copy_from_slice(doc.source),
            record_number: doc.record_number,
            offset: doc.offset,
        });
        if self.body_bytes >= self.body_target.min(self.body_limit) { self.dispatch(refused) } else { Ok(()) }
    }

    /// Returns once every document so far is indexed, already there, or dead-lettered; the
    /// first failure is returned after every request under way has been waited for.
    fn flush(&mut self, refused: &mut dyn DeadLetters) -> Result<(), SinkError> {
        let mut result = self.dispatch(refused);
        while !self.in_flight.is_empty() {
            let settled = self.settle_oldest(refused);
            result = result.and(settled);
        }
        self.body.clear();
        self.body_bytes = 0;
        match result {
            Ok(()) => self.check_ignored(),
            // The retry of a failed input settles its documents again, and looks at them then.
            Err(error) => {
                self.unchecked = Unchecked::default();
                Err(error)
            }
        }
    }
}
