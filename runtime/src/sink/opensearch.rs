//! The OpenSearch sink: `_bulk` requests bounded by bytes, each document written with `create`
//! under its deterministic `_id`, so a retry finds it already there (409, counted, not an
//! error). Requests that fail as a whole (connection errors, 429, 5xx) and items refused with
//! 429 are retried with exponential backoff and jitter; an item OpenSearch refuses for good (a
//! mapping error) is dead-lettered with OpenSearch's reason. Up to [`IN_FLIGHT`] requests are
//! under way while parsing goes on. `flush` returns only when every document so far is indexed
//! or dead-lettered, so an object counts as done only then.

use super::{DeadLetter, Document, Origin, Sink};
use crate::cluster::{Cluster, truncate};
use crate::document::ObjectRef;
use bytes::Bytes;
use opensearch::BulkParts;
use opensearch::OpenSearch as Client;
use opensearch::http::StatusCode;
use rand::Rng;
use std::collections::VecDeque;
use std::io;
use std::time::Duration;
use tokio::task::JoinHandle;

/// A `_bulk` request is sent once its body reaches this size.
pub const BULK_BYTES: usize = 5 << 20;
/// Bulk requests under way at once, while the pipeline goes on parsing: parsing and indexing
/// overlap, and memory stays within (1 + this) bodies.
pub const IN_FLIGHT: usize = 2;
/// How much of a refused document its dead letter keeps.
const EXCERPT_BYTES: usize = 256;
/// Attempts at a request, or at the items OpenSearch answered 429 for, before giving up.
const ATTEMPTS: u32 = 6;

/// What the sink did with the documents it was given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct BulkStats {
    pub indexed: u64,
    /// Documents whose `_id` was already there: a retry of an object indexed before.
    pub already_indexed: u64,
    /// Documents OpenSearch refused for good (a mapping error), dead-lettered.
    pub refused: u64,
    /// Requests and item batches sent again after a retryable failure.
    pub retries: u64,
}

/// A document waiting in a bulk body.
struct Pending {
    action: Bytes,
    source: Bytes,
    record_number: u64,
    offset: u64,
    origin: usize,
}

/// Who a pending document came from, owned.
struct OwnedOrigin {
    object: ObjectRef,
    plugin: String,
    plugin_sha256: String,
}

/// The documents of one bulk request, and their origins.
#[derive(Default)]
struct Batch {
    items: Vec<Pending>,
    origins: Vec<OwnedOrigin>,
    bytes: usize,
}

/// A batch back from OpenSearch: each item's final outcome, or why the request failed.
struct Sent {
    batch: Batch,
    outcomes: Result<Vec<Result<(), ItemError>>, String>,
    retries: u64,
}

pub struct OpenSearch {
    cluster: Cluster,
    batch: Batch,
    in_flight: VecDeque<JoinHandle<Sent>>,
    dead_letters: Box<dyn Sink + Send>,
    stats: BulkStats,
}

impl OpenSearch {
    /// A sink writing to `cluster`, dead-lettering into `dead_letters`.
    pub fn new(cluster: Cluster, dead_letters: Box<dyn Sink + Send>) -> Self {
        OpenSearch {
            cluster,
            batch: Batch::default(),
            in_flight: VecDeque::new(),
            dead_letters,
            stats: BulkStats::default(),
        }
    }

    pub fn stats(&self) -> BulkStats {
        self.stats
    }

    /// The stats so far, starting them again from zero.
    pub fn take_stats(&mut self) -> BulkStats {
        std::mem::take(&mut self.stats)
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Sends the current batch, waiting first for the oldest request if too many are under way.
    fn dispatch(&mut self) -> io::Result<()> {
        let batch = std::mem::take(&mut self.batch);
        if batch.items.is_empty() {
            return Ok(());
        }
        self.in_flight.push_back(self.cluster.spawn(send(self.cluster.client().clone(), batch)));
        while self.in_flight.len() > IN_FLIGHT {
            self.settle_oldest()?;
        }
        Ok(())
    }

    /// Waits for the oldest request under way and accounts for each of its documents.
    fn settle_oldest(&mut self) -> io::Result<()> {
        let Some(handle) = self.in_flight.pop_front() else { return Ok(()) };
        let sent = self.cluster.block_on(handle).map_err(io::Error::other)?;
        self.stats.retries += sent.retries;
        let outcomes =
            sent.outcomes.map_err(|message| io::Error::other(format!("OpenSearch bulk request failed: {message}")))?;
        for (item, outcome) in sent.batch.items.iter().zip(outcomes) {
            match outcome {
                Ok(()) => self.stats.indexed += 1,
                Err(ItemError::Conflict) => self.stats.already_indexed += 1,
                Err(ItemError::Refused(reason)) => {
                    self.stats.refused += 1;
                    let o = &sent.batch.origins[item.origin];
                    let origin = Origin { object: &o.object, plugin: &o.plugin, plugin_sha256: &o.plugin_sha256 };
                    self.dead_letters.dead_letter(&DeadLetter {
                        reason: &reason,
                        origin,
                        record_number: item.record_number,
                        offset: item.offset,
                        excerpt: &item.source[..item.source.len().min(EXCERPT_BYTES)],
                    })?;
                }
                Err(ItemError::Retry) => {
                    return Err(io::Error::other(format!(
                        "OpenSearch kept refusing documents with 429 (too many requests) after {ATTEMPTS} attempts"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Sends a batch until each item is indexed, already there or refused for good, retrying the
/// request on connection errors, 429 and 5xx, and the items OpenSearch answered 429 (or 5xx) for.
async fn send(client: Client, batch: Batch) -> Sent {
    let mut outcomes: Vec<Option<Result<(), ItemError>>> = (0..batch.items.len()).map(|_| None).collect();
    let mut todo: Vec<usize> = (0..batch.items.len()).collect();
    let mut retries = 0;
    for attempt in 0..ATTEMPTS {
        if todo.is_empty() {
            break;
        }
        if attempt > 0 {
            retries += 1;
            tokio::time::sleep(backoff(attempt)).await;
        }
        let items: Vec<&Pending> = todo.iter().map(|&i| &batch.items[i]).collect();
        let statuses = match bulk(&client, &items).await {
            Ok(statuses) => statuses,
            Err(Failure::Retryable(message)) if attempt + 1 == ATTEMPTS => {
                return Sent { batch, outcomes: Err(message), retries };
            }
            Err(Failure::Retryable(_)) => continue,
            Err(Failure::Fatal(message)) => return Sent { batch, outcomes: Err(message), retries },
        };
        let mut again = Vec::new();
        for (i, status) in todo.into_iter().zip(statuses) {
            match status {
                Err(ItemError::Retry) => again.push(i),
                done => outcomes[i] = Some(done),
            }
        }
        todo = again;
    }
    let outcomes = outcomes.into_iter().map(|o| o.unwrap_or(Err(ItemError::Retry))).collect();
    Sent { batch, outcomes: Ok(outcomes), retries }
}

/// How a whole bulk request failed.
enum Failure {
    Retryable(String),
    Fatal(String),
}

/// How one item failed.
enum ItemError {
    Conflict,
    Retry,
    Refused(String),
}

/// Exponential backoff with jitter: between half and all of 100 ms · 2^attempt, at most 10 s.
fn backoff(attempt: u32) -> Duration {
    let cap = (100u64 << attempt.min(7)).min(10_000);
    Duration::from_millis(rand::rng().random_range(cap / 2..=cap))
}

/// Sends one `_bulk` request; the outcome of each item, in order.
async fn bulk(client: &Client, batch: &[&Pending]) -> Result<Vec<Result<(), ItemError>>, Failure> {
    let body: Vec<Bytes> = batch.iter().flat_map(|p| [p.action.clone(), p.source.clone()]).collect();
    let response =
        client.bulk(BulkParts::None).body(body).send().await.map_err(|e| Failure::Retryable(e.to_string()))?;
    let status = response.status_code();
    let text = response.text().await.map_err(|e| Failure::Retryable(e.to_string()))?;
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Err(Failure::Retryable(format!("{status}: {}", truncate(&text))));
    }
    if !status.is_success() {
        return Err(Failure::Fatal(format!("{status}: {}", truncate(&text))));
    }
    let answer: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Failure::Fatal(format!("unreadable bulk response: {e}")))?;
    let items = answer["items"].as_array().filter(|items| items.len() == batch.len());
    let items =
        items.ok_or_else(|| Failure::Fatal(format!("the bulk response does not answer {} items", batch.len())))?;
    Ok(items
        .iter()
        .map(|item| {
            let result = &item["create"];
            match result["status"].as_u64().unwrap_or(0) {
                200..=299 => Ok(()),
                409 => Err(ItemError::Conflict),
                429 | 500..=599 => Err(ItemError::Retry),
                status => Err(ItemError::Refused(format!(
                    "OpenSearch refused the document ({status}) for index {}: {}: {}",
                    result["_index"].as_str().unwrap_or("?"),
                    result["error"]["type"].as_str().unwrap_or("error"),
                    result["error"]["reason"].as_str().unwrap_or("no reason given"),
                ))),
            }
        })
        .collect())
}

impl Sink for OpenSearch {
    fn document(&mut self, doc: &Document) -> io::Result<()> {
        let batch = &mut self.batch;
        let same_origin = batch.origins.last().is_some_and(|o| {
            o.object == *doc.origin.object
                && o.plugin == doc.origin.plugin
                && o.plugin_sha256 == doc.origin.plugin_sha256
        });
        if !same_origin {
            batch.origins.push(OwnedOrigin {
                object: doc.origin.object.clone(),
                plugin: doc.origin.plugin.to_owned(),
                plugin_sha256: doc.origin.plugin_sha256.to_owned(),
            });
        }
        let action = serde_json::to_vec(&serde_json::json!({"create": {"_index": doc.index, "_id": doc.id}}))?;
        batch.bytes += action.len() + doc.source.len() + 2;
        batch.items.push(Pending {
            action: Bytes::from(action),
            source: Bytes::copy_from_slice(doc.source),
            record_number: doc.record_number,
            offset: doc.offset,
            origin: batch.origins.len() - 1,
        });
        if batch.bytes >= BULK_BYTES { self.dispatch() } else { Ok(()) }
    }

    fn dead_letter(&mut self, letter: &DeadLetter) -> io::Result<()> {
        self.dead_letters.dead_letter(letter)
    }

    /// Returns once every document so far is indexed, already there, or dead-lettered; the
    /// first failure is returned after every request under way has been waited for.
    fn flush(&mut self) -> io::Result<()> {
        let mut result = self.dispatch();
        while !self.in_flight.is_empty() {
            let settled = self.settle_oldest();
            result = result.and(settled);
        }
        result.and_then(|()| self.dead_letters.flush())
    }
}
