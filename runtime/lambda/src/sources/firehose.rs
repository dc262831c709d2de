//! Kinesis Data Firehose data transformation: each record of a batch through a plugin (the
//! Apache one, for lines Kinesis Agent ships), answered under the same `recordId`.
//!
//! A record whose data makes exactly one document is `Ok`, with the document as its data. A
//! record that makes nothing but is not an event (a blank line) is `Dropped`. Anything else
//! is `ProcessingFailed`: a rejected line, a record holding several lines (Firehose delivers one
//! document per record), a plugin failure, or a record past Firehose's 6 MB response limit.
//! Firehose keeps `ProcessingFailed` records, as they came, under its processing-failed prefix,
//! so nothing is lost; their reasons are logged here with their `recordId`, since the response
//! has no field for them.

use super::EventSource;
use crate::function::Invocation;
use aws_lambda_events::event::firehose::{KinesisFirehoseResponse, KinesisFirehoseResponseRecord};
use kelk_events::firehose::{Batch, Record};
use kelk_runtime::pipeline::{self, Job};
use kelk_runtime::sandbox::Plugin;
use kelk_runtime::sink::Memory;
use kelk_runtime::source::{RecordRef, SourceRef};
use serde_json::Value;

/// The most a transformation response may hold.
pub const RESPONSE_LIMIT_BYTES: usize = 6_000_000;
/// A response record's share of the response besides its data (id, result, JSON syntax).
const RECORD_OVERHEAD_BYTES: usize = 256;

pub const OK: &str = "Ok";
pub const DROPPED: &str = "Dropped";
pub const FAILED: &str = "ProcessingFailed";

pub struct Firehose;

impl EventSource for Firehose {
    fn name(&self) -> &'static str {
        "firehose"
    }

    fn accepts(&self, event: &Value) -> bool {
        event.get("deliveryStreamArn").is_some() && event.get("records").is_some()
    }

    fn handle(&self, event: &Value, invocation: &mut Invocation<'_>) -> anyhow::Result<Value> {
        let batch = kelk_events::firehose::decode(event)
            .map_err(|reason| anyhow::anyhow!("{}: {reason}", super::unknown(event)))?;
        let stream = &batch.stream;
        let router = invocation.router().ok_or_else(|| anyhow::anyhow!("no routing config is loaded"))?;
        let routed = router.route_stream(stream).ok_or_else(|| {
            anyhow::anyhow!("no route names delivery stream `{stream}`, and there is no `apache` plugin")
        })?;
        let response = transform(routed.plugin, &batch);
        for record in &response.records {
            match record.result.as_deref() {
                Some(OK) => invocation.tally.counts.documents += 1,
                Some(DROPPED) => invocation.tally.counts.skipped += 1,
                _ => invocation.tally.counts.rejected += 1,
            }
        }
        Ok(serde_json::to_value(response)?)
    }
}

/// Transforms a Firehose batch with `plugin`.
pub fn transform(plugin: &Plugin, batch: &Batch) -> KinesisFirehoseResponse {
    let mut budget = RESPONSE_LIMIT_BYTES;
    let records = batch
        .records
        .iter()
        .map(|record| {
            let (result, data) = match outcome(plugin, &batch.stream, record) {
                Ok(document) if document.len() * 4 / 3 + RECORD_OVERHEAD_BYTES <= budget => (OK, document),
                Ok(_) => failed(record, "the transformed batch would pass Firehose's 6 MB response limit; lower the processor's BufferSizeInMBs"),
                Err(None) => (DROPPED, Vec::new()),
                Err(Some(reason)) => failed(record, &reason),
            };
            budget = budget.saturating_sub(data.len() * 4 / 3 + RECORD_OVERHEAD_BYTES);
            let mut answer = KinesisFirehoseResponseRecord::default();
            answer.record_id = record.record_id.clone();
            answer.result = Some(result.to_owned());
            *answer.data = data;
            answer
        })
        .collect();
    let mut response = KinesisFirehoseResponse::default();
    response.records = records;
    response
}

/// Logs why a record failed; its data goes back empty (Firehose keeps the original).
fn failed(record: &Record, reason: &str) -> (&'static str, Vec<u8>) {
    tracing::warn!(record_id = record.record_id.as_deref().unwrap_or("?"), reason, "Firehose record failed");
    (FAILED, Vec::new())
}

/// The record's one document, or `Err(None)` for a record that holds no event, or the reason
/// it cannot be delivered.
fn outcome(plugin: &Plugin, stream: &str, record: &Record) -> Result<Vec<u8>, Option<String>> {
    let source =
        SourceRef::Record(RecordRef { stream: stream.to_owned(), id: record.record_id.clone().unwrap_or_default() });
    let job = Job::new(&source);
    let mut made = Memory::default();
    let counts = pipeline::ingest(plugin, &job, &record.data[..], &mut made.documents, &mut made.dead_letters)
        .map_err(|f| Some(f.error.to_string()))?;
    if !made.dead_letters.is_empty() {
        let reasons: Vec<String> =
            made.dead_letters.iter().map(|l| format!("line {}: {}", l.record_number, l.reason)).collect();
        return Err(Some(reasons.join("; ")));
    }
    match made.documents.len() {
        0 if counts.skipped > 0 || record.data.iter().all(u8::is_ascii_whitespace) => Err(None),
        1 => Ok(made.documents.remove(0).source),
        n => Err(Some(format!("the record holds {n} lines; Firehose delivers one document per record"))),
    }
}
