//! The `_bulk` API on the wire: one request of `create` actions, its typed response, and what
//! each answer means for its documents: indexed, already there, to retry, or refused for good.
//! A request is retried with backoff on connection errors, 429 and 5xx, and so are the items
//! OpenSearch answered 429 or 5xx for, or refused for a block that lifts (a write-blocked
//! index, a cluster low on storage), until each is settled or the attempts run out: a transient
//! refusal is never taken for a permanent one.

use super::cluster::truncate;
use crate::sink::SinkError;
use bytes::Bytes;
use opensearch::BulkParts;
use opensearch::OpenSearch as Client;
use opensearch::http::StatusCode;
use rand::Rng;
use std::time::Duration;

/// Attempts at a request, or at the items OpenSearch answered 429 for, before giving up.
const ATTEMPTS: u32 = 6;

/// A document waiting in a bulk body.
pub(crate) struct Pending {
    /// The `create` action line.
    pub action: Bytes,
    pub source: Bytes,
    pub record_number: u64,
    pub offset: u64,
}

/// What became of one document.
pub(crate) enum Outcome {
    Indexed,
    /// Its `_id` was there already: a retry of an input indexed before.
    AlreadyThere,
    /// OpenSearch kept refusing it for a passing reason (429, 5xx, a block), the last given.
    GaveUp(String),
    /// Refused for good (a mapping conflict), with OpenSearch's reason.
    Refused(String),
}

/// A request back from OpenSearch: each document's outcome in order, or why the request failed.
pub(crate) struct Sent {
    pub items: Vec<Pending>,
    pub outcomes: Result<Vec<Outcome>, SinkError>,
    pub retries: u64,
}

/// The parts of a bulk response KELK reads.
#[derive(serde::Deserialize)]
struct BulkResponse {
    items: Vec<BulkItem>,
}

/// One item of the response: KELK sends `create` actions only.
#[derive(serde::Deserialize)]
struct BulkItem {
    create: ItemResult,
}

#[derive(serde::Deserialize)]
struct ItemResult {
    status: u16,
    #[serde(rename = "_index")]
    index: Option<String>,
    error: Option<ErrorCause>,
}

#[derive(serde::Deserialize)]
struct ErrorCause {
    #[serde(rename = "type")]
    kind: String,
    reason: Option<String>,
}

/// What one answer means for its item, before retries.
enum Answer {
    Settled(Outcome),
    /// Worth sending again, for this reason.
    Retry(String),
}

impl ItemResult {
    fn answer(self) -> Answer {
        let status = self.status;
        let (kind, reason) = self.error.map_or_else(
            || ("error".to_owned(), "no reason given".to_owned()),
            |e| (e.kind, e.reason.unwrap_or_else(|| "no reason given".into())),
        );
        let said = || {
            let index = self.index.as_deref().unwrap_or("?");
            format!("OpenSearch refused the document ({status}) for index {index}: {kind}: {reason}")
        };
        match status {
            200..=299 => Answer::Settled(Outcome::Indexed),
            409 => Answer::Settled(Outcome::AlreadyThere),
            429 | 500..=599 => Answer::Retry(said()),
            // `cluster_block_exception` (a read-only or write-blocked index, flood-stage disk),
            // `index_create_block_exception` (Amazon OpenSearch Service low on storage): the
            // block lifts, and the documents must wait for it, not be dead-lettered.
            _ if kind.ends_with("block_exception") => Answer::Retry(said()),
            _ => Answer::Settled(Outcome::Refused(said())),
        }
    }
}

/// Sends `items` until each is settled, retrying the request on connection errors, 429 and
/// 5xx, and the items OpenSearch answered 429 (or 5xx) for.
pub(crate) async fn send(client: Client, items: Vec<Pending>) -> Sent {
    let mut outcomes: Vec<Option<Outcome>> = (0..items.len()).map(|_| None).collect();
    let mut todo: Vec<usize> = (0..items.len()).collect();
    let mut last_refusal = String::new();
    let mut retries = 0;
    for attempt in 0..ATTEMPTS {
        if todo.is_empty() {
            break;
        }
        if attempt > 0 {
            retries += 1;
            tokio::time::sleep(backoff(attempt)).await;
        }
        let answers = match request(&client, todo.iter().map(|&i| &items[i])).await {
            Ok(answers) if answers.len() == todo.len() => answers,
            Ok(answers) => {
                let error = format!("the bulk response answers {} of {} items", answers.len(), todo.len());
                return Sent { items, outcomes: Err(SinkError::Fatal(error)), retries };
            }
            Err(SinkError::Retryable(_)) if attempt + 1 < ATTEMPTS => continue,
            Err(error) => return Sent { items, outcomes: Err(error), retries },
        };
        let mut again = Vec::new();
        for (i, answer) in todo.into_iter().zip(answers) {
            match answer {
                Answer::Retry(reason) => {
                    again.push(i);
                    last_refusal = reason;
                }
                Answer::Settled(outcome) => outcomes[i] = Some(outcome),
            }
        }
        todo = again;
    }
    let outcomes = outcomes.into_iter().map(|o| o.unwrap_or_else(|| Outcome::GaveUp(last_refusal.clone()))).collect();
    Sent { items, outcomes: Ok(outcomes), retries }
}

/// Exponential backoff with jitter: between half and all of 100 ms · 2^attempt, at most 10 s.
fn backoff(attempt: u32) -> Duration {
    let cap = (100u64 << attempt.min(7)).min(10_000);
    Duration::from_millis(rand::rng().random_range(cap / 2..=cap))
}

/// Sends one `_bulk` request; the answer for each item, in order.
async fn request(client: &Client, items: impl Iterator<Item = &Pending>) -> Result<Vec<Answer>, SinkError> {
    let failed = |e: opensearch::Error| SinkError::Retryable(format!("OpenSearch bulk request failed: {e}"));
    let body: Vec<Bytes> = items.flat_map(|p| [p.action.clone(), p.source.clone()]).collect();
    let response = client.bulk(BulkParts::None).body(body).send().await.map_err(failed)?;
    let status = response.status_code();
    let text = response.text().await.map_err(failed)?;
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        return Err(SinkError::Retryable(format!("OpenSearch bulk request failed: {status}: {}", truncate(&text))));
    }
    if !status.is_success() {
        return Err(SinkError::Refused(format!("OpenSearch bulk request failed: {status}: {}", truncate(&text))));
    }
    let response: BulkResponse = serde_json::from_str(&text)
        .map_err(|e| SinkError::Fatal(format!("OpenSearch bulk request failed: unreadable bulk response: {e}")))?;
    Ok(response.items.into_iter().map(|item| item.create.answer()).collect())
}
