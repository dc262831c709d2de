//! The fields OpenSearch left out of the documents it indexed. Under
//! `index.mapping.ignore_malformed` (KELK's template sets it, as Elastic's logs templates do) a
//! value its field's mapping cannot take (text in a `long`, a non-address in an `ip`) is
//! dropped and the document indexed without it. The bulk answer does not say so; only the
//! document's `_ignored` metadata does. So the sink keeps the ids of the documents it settled
//! and, at each flush (and every [`CHECK_EVERY`] documents), refreshes their indices and searches
//! them for `_ignored`: a refresh and a search of ids per index, whose answer holds only the
//! documents that lack a field, instead of a read of every document.

use super::bulk::{Held, refusal, time_for};
use crate::sink::SinkError;
use opensearch::OpenSearch as Client;
use opensearch::SearchParts;
use opensearch::indices::IndicesRefreshParts;
use std::collections::BTreeMap;
use std::time::Instant;

/// The settled documents checked at once, at most: what the sink keeps between checks.
pub(crate) const CHECK_EVERY: usize = 50_000;
/// Ids searched for at once: a body of some 300 KB, and at most OpenSearch's default
/// `index.max_result_window` of hits.
const IDS_PER_SEARCH: usize = 10_000;

/// Documents settled since the last check, by index.
#[derive(Default)]
pub(crate) struct Unchecked {
    by_index: BTreeMap<String, Vec<String>>,
    count: usize,
}

impl Unchecked {
    pub fn extend(&mut self, held: Vec<Held>) {
        self.count += held.len();
        for (index, id) in held {
            self.by_index.entry(index).or_default().push(id);
        }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// What a check found: how many documents lack each field, how many lack any, and one of them.
#[derive(Debug, Default)]
pub(crate) struct Ignored {
    pub fields: BTreeMap<String, u64>,
    pub documents: u64,
    pub example: Option<String>,
}

#[derive(serde::Deserialize)]
struct SearchResponse {
    hits: Hits,
}

#[derive(serde::Deserialize)]
struct Hits {
    hits: Vec<Hit>,
}

#[derive(serde::Deserialize)]
struct Hit {
    #[serde(rename = "_index")]
    index: String,
    #[serde(rename = "_id")]
    id: String,
    #[serde(rename = "_ignored", default)]
    ignored: Vec<String>,
}

/// The fields OpenSearch ignored of the `unchecked` documents.
pub(crate) async fn check(
    client: &Client,
    unchecked: Unchecked,
    answer_by: Option<Instant>,
) -> Result<Ignored, SinkError> {
    let mut found = Ignored::default();
    for (index, ids) in unchecked.by_index {
        let refreshed = client
            .indices()
            .refresh(IndicesRefreshParts::Index(&[&index]))
            .request_timeout(time_for(0, answer_by)?)
            .send()
            .await;
        answered("refresh", refreshed).await?;
        for chunk in ids.chunks(IDS_PER_SEARCH) {
            let query = serde_json::json!({
                "size": chunk.len(), "_source": false,
                "query": { "bool": { "filter": [{ "ids": { "values": chunk } }, { "exists": { "field": "_ignored" } }] } }
            });
            let searched = client
                .search(SearchParts::Index(&[&index]))
                .body(query)
                .request_timeout(time_for(chunk.len() * 32, answer_by)?)
                .send()
                .await;
            let text = answered("search", searched).await?;
            let response: SearchResponse = serde_json::from_str(&text).map_err(|e| {
                SinkError::Fatal(format!("OpenSearch search for ignored fields: unreadable response: {e}"))
            })?;
            for hit in response.hits.hits {
                found.documents += 1;
                for field in hit.ignored {
                    *found.fields.entry(field).or_default() += 1;
                }
                found.example.get_or_insert_with(|| format!("{}/{}", hit.index, hit.id));
            }
        }
    }
    Ok(found)
}

/// The body of a successful answer, or why there was none: a passing failure (unreachable, 429,
/// 5xx) to be retried, or a refusal.
async fn answered(
    what: &str,
    response: Result<opensearch::http::response::Response, opensearch::Error>,
) -> Result<String, SinkError> {
    let failed = |e: opensearch::Error| SinkError::Retryable(format!("OpenSearch {what} request failed: {e}"));
    let response = response.map_err(failed)?;
    let status = response.status_code();
    let text = response.text().await.map_err(failed)?;
    let said = || format!("OpenSearch {what} request failed: {status}: {}", super::cluster::truncate(&text));
    match refusal(status, said) {
        None => Ok(text),
        Some(error) => Err(error),
    }
}
