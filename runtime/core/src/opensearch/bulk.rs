//! The `_bulk` API on the wire: one request of `create` actions, its typed response, and what
//! each answer means for its documents: indexed, already there, to retry, or refused for good.
//! A request is retried with backoff on connection errors, 429 and 5xx, and so are the items
//! OpenSearch answered 429 or 5xx for, or refused for a block that lifts (a write-blocked
//! index, a cluster low on storage), until each is settled or the attempts run out: a transient
//! refusal is never taken for a permanent one. A body the cluster finds too large (413, past
//! its `http.max_content_length`) is split in halves until it fits; a document too large alone
//! is refused for good. A document refused for want of permission (401, 403) fails the input,
//! to be retried once the writer may write: it is not the document's fault. A request may take
//! as long as its body needs on a slow link, but no longer than the time left to answer (a
//! Lambda invocation's deadline), so that what is not indexed by then is reported, not cut off.
//! Each attempt's time, or the cluster pushing back, moves the bulk concurrency
//! ([`super::concurrency`]).

use super::cluster::truncate;
use super::concurrency::{Answer as Load, Permit};
use crate::sink::SinkError;
use bytes::Bytes;
use opensearch::BulkParts;
use opensearch::OpenSearch as Client;
use opensearch::http::StatusCode;
use rand::Rng;
use std::time::{Duration, Instant};

/// Attempts at a request, or at the items OpenSearch answered 429 for, before giving up.
const ATTEMPTS: u32 = 6;
/// A request's time to answer, besides its body's time on the wire.
const ANSWER_TIME: Duration = Duration::from_secs(60);
/// The slowest link a body is given time for.
const SLOWEST_BYTES_PER_SECOND: u64 = 50_000;

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

impl Pending {
    /// Its share of a request body.
    fn bytes(&self) -> usize {
        self.action.len() + self.source.len() + 2
    }
}

/// Where a document is held: its index and `_id`.
pub(crate) type Held = (String, String);

/// A request back from OpenSearch: each document's outcome in order, or why the request failed.
pub(crate) struct Sent {
    pub items: Vec<Pending>,
    pub outcomes: Result<Vec<Outcome>, SinkError>,
    pub retries: u64,
    /// The documents OpenSearch holds now (created, or there already), for
    /// [`super::ignored`] to look at.
    pub held: Vec<Held>,
    /// The smallest body the cluster found too large, if one was, and how many it split.
    pub too_large: Option<usize>,
    pub splits: u64,
}

/// Why a request got no answer per item.
enum Failure {
    /// 413: the body is past what the cluster takes.
    TooLarge(String),
    Sink(SinkError),
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
    #[serde(rename = "_id")]
    id: Option<String>,
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
    /// Refused for who sent it, not for what it is (401, 403): the input fails until the
    /// writer's permissions are fixed, and no document is dead-lettered for it.
    Unauthorized(String),
}

impl ItemResult {
    fn answer(&self) -> Answer {
        let status = self.status;
        let (kind, reason) = self.error.as_ref().map_or(("error", "no reason given"), |e| {
            (e.kind.as_str(), e.reason.as_deref().unwrap_or("no reason given"))
        });
        let said = || {
            let index = self.index.as_deref().unwrap_or("?");
            format!("OpenSearch refused the document ({status}) for index {index}: {kind}: {reason}")
        };
        match status {
            200..=299 => Answer::Settled(Outcome::Indexed),
            409 => Answer::Settled(Outcome::AlreadyThere),
            429 | 500..=599 => Answer::Retry(said()),
            // `cluster_block_exception` (a read-only or write-blocked index, flood-stage disk;
            // a 403), `index_create_block_exception` (Amazon OpenSearch Service low on storage):
            // the block lifts, and the documents must wait for it, not be dead-lettered.
            _ if kind.ends_with("block_exception") => Answer::Retry(said()),
            401 | 403 => Answer::Unauthorized(said()),
            _ => Answer::Settled(Outcome::Refused(said())),
        }
    }
}

/// Sends `items` until each is settled, retrying the request on connection errors, 429 and
/// 5xx, and the items OpenSearch answered 429 (or 5xx) for; a body found too large is sent
/// again as two halves, which takes no attempt. Nothing is sent or retried past `answer_by`.
/// `permit` is held until every item is settled, and told what each attempt met.
pub(crate) async fn send(client: Client, permit: Permit, items: Vec<Pending>, answer_by: Option<Instant>) -> Sent {
    let mut sent = Sent { items, outcomes: Ok(Vec::new()), retries: 0, held: Vec::new(), too_large: None, splits: 0 };
    sent.outcomes = settle(&client, &permit, &mut sent, answer_by).await;
    sent
}

/// Each item's outcome, or why the request failed: [`send`]'s loop, keeping its account in `sent`.
async fn settle(
    client: &Client,
    permit: &Permit,
    sent: &mut Sent,
    answer_by: Option<Instant>,
) -> Result<Vec<Outcome>, SinkError> {
    let items = &sent.items;
    let mut outcomes: Vec<Option<Outcome>> = (0..items.len()).map(|_| None).collect();
    // The requests of an attempt, as the indices of their items.
    let mut requests: Vec<Vec<usize>> = vec![(0..items.len()).collect()];
    let mut last_refusal = String::new();
    for attempt in 0..ATTEMPTS {
        if requests.is_empty() {
            break;
        }
        if attempt > 0 {
            let wait = backoff(attempt);
            if answer_by.is_some_and(|by| Instant::now() + wait >= by) {
                break;
            }
            sent.retries += 1;
            tokio::time::sleep(wait).await;
        }
        let mut again = Vec::new();
        while let Some(todo) = requests.pop() {
            let answers = match request(client, permit, todo.iter().map(|&i| &items[i]), answer_by).await {
                Ok(answers) if answers.len() == todo.len() => answers,
                Ok(answers) => {
                    let error = format!("the bulk response answers {} of {} items", answers.len(), todo.len());
                    return Err(SinkError::Fatal(error));
                }
                Err(Failure::TooLarge(reason)) => {
                    let bytes = todo.iter().map(|&i| items[i].bytes()).sum();
                    sent.too_large = Some(sent.too_large.map_or(bytes, |b: usize| b.min(bytes)));
                    match todo.len() {
                        1 => {
                            outcomes[todo[0]] =
                                Some(Outcome::Refused(format!("the document alone is too large: {reason}")))
                        }
                        n => {
                            sent.splits += 1;
                            let (left, right) = todo.split_at(n / 2);
                            requests.extend([right.to_vec(), left.to_vec()]);
                        }
                    }
                    continue;
                }
                Err(Failure::Sink(SinkError::Retryable(reason))) if attempt + 1 < ATTEMPTS => {
                    last_refusal = reason;
                    again.push(todo);
                    continue;
                }
                Err(Failure::Sink(error)) => return Err(error),
            };
            let mut retry = Vec::new();
            for (i, (answer, held)) in todo.into_iter().zip(answers) {
                match answer {
                    Answer::Retry(reason) => {
                        retry.push(i);
                        last_refusal = reason;
                    }
                    Answer::Settled(outcome) => outcomes[i] = Some(outcome),
                    Answer::Unauthorized(reason) => return Err(SinkError::Refused(reason)),
                }
                sent.held.extend(held);
            }
            if !retry.is_empty() {
                again.push(retry);
            }
        }
        requests = again;
    }
    Ok(outcomes.into_iter().map(|o| o.unwrap_or_else(|| Outcome::GaveUp(last_refusal.clone()))).collect())
}

/// The time a request with a body of `bytes` may take: its time on the slowest link given
/// and the time to answer, but never past `answer_by`.
pub(crate) fn time_for(bytes: usize, answer_by: Option<Instant>) -> Result<Duration, SinkError> {
    let timeout = ANSWER_TIME + Duration::from_secs(bytes as u64 / SLOWEST_BYTES_PER_SECOND);
    match answer_by.map(|by| by.saturating_duration_since(Instant::now())) {
        Some(left) if left.is_zero() => Err(SinkError::Retryable("no time was left to send a request".into())),
        Some(left) => Ok(timeout.min(left)),
        None => Ok(timeout),
    }
}

/// What an answer's status says of the whole request, unless it succeeded: 429 and 5xx pass
/// and are worth retrying, the rest refuse it.
pub(crate) fn refusal(status: StatusCode, said: impl FnOnce() -> String) -> Option<SinkError> {
    match status {
        s if s.is_success() => None,
        s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => Some(SinkError::Retryable(said())),
        _ => Some(SinkError::Refused(said())),
    }
}

/// Exponential backoff with jitter: between half and all of 100 ms · 2^attempt, at most 10 s.
fn backoff(attempt: u32) -> Duration {
    let cap = (100u64 << attempt.min(7)).min(10_000);
    Duration::from_millis(rand::rng().random_range(cap / 2..=cap))
}

/// Sends one `_bulk` request; the answer for each item, in order, and where OpenSearch holds
/// it, if it does. `permit` is told how long it took, or that the cluster pushed back.
async fn request(
    client: &Client,
    permit: &Permit,
    items: impl Iterator<Item = &Pending>,
    answer_by: Option<Instant>,
) -> Result<Vec<(Answer, Option<Held>)>, Failure> {
    let failed = |e: opensearch::Error| {
        // No answer in the time given is the cluster's load as much as a 429 is.
        permit.answered(if e.is_timeout() { Load::BackPressure } else { Load::Failed });
        Failure::Sink(SinkError::Retryable(format!("OpenSearch bulk request failed: {e}")))
    };
    let body: Vec<Bytes> = items.flat_map(|p| [p.action.clone(), p.source.clone()]).collect();
    let bytes: usize = body.iter().map(Bytes::len).sum::<usize>() + body.len();
    let timeout = time_for(bytes, answer_by).map_err(Failure::Sink)?;
    let started = Instant::now();
    let response = client.bulk(BulkParts::None).body(body).request_timeout(timeout).send().await.map_err(failed)?;
    let status = response.status_code();
    let text = response.text().await.map_err(failed)?;
    let pushed_back = |status: u16| status == 429 || status >= 500;
    if !status.is_success() {
        permit.answered(if pushed_back(status.as_u16()) { Load::BackPressure } else { Load::Failed });
    }
    let said = || format!("OpenSearch bulk request failed: {status}: {}", truncate(&text));
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return Err(Failure::TooLarge(format!("a body of {bytes} bytes: {}", said())));
    }
    if let Some(error) = refusal(status, said) {
        return Err(Failure::Sink(error));
    }
    let response: BulkResponse = serde_json::from_str(&text).map_err(|e| {
        Failure::Sink(SinkError::Fatal(format!("OpenSearch bulk request failed: unreadable bulk response: {e}")))
    })?;
    permit.answered(match response.items.iter().any(|item| pushed_back(item.create.status)) {
        true => Load::BackPressure,
        false => Load::Took(started.elapsed(), bytes),
    });
    Ok(response
        .items
        .into_iter()
        .map(|item| {
            let answer = item.create.answer();
            let held = matches!(answer, Answer::Settled(Outcome::Indexed | Outcome::AlreadyThere))
                .then_some(item.create.index.zip(item.create.id))
                .flatten();
            (answer, held)
        })
        .collect())
}
