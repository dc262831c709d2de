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

use crate::document::ObjectRef;
use crate::pipeline::{self, Job};
use crate::plugin::Plugin;
use crate::sink::{DeadLetter, Document, Sink};
use aws_lambda_events::event::firehose::{
    KinesisFirehoseEvent, KinesisFirehoseEventRecord, KinesisFirehoseResponse, KinesisFirehoseResponseRecord,
};
use std::io;

/// The most a transformation response may hold.
pub const RESPONSE_LIMIT_BYTES: usize = 6_000_000;
/// A response record's share of the response besides its data (id, result, JSON syntax).
const RECORD_OVERHEAD_BYTES: usize = 256;

pub const OK: &str = "Ok";
pub const DROPPED: &str = "Dropped";
pub const FAILED: &str = "ProcessingFailed";

/// The batch's delivery stream, by name (the end of its ARN).
pub fn stream_name(event: &KinesisFirehoseEvent) -> &str {
    event.delivery_stream_arn.as_deref().and_then(|arn| arn.rsplit('/').next()).unwrap_or("firehose")
}

/// Transforms a Firehose batch with `plugin`.
pub fn transform(plugin: &Plugin, event: &KinesisFirehoseEvent) -> KinesisFirehoseResponse {
    let stream = stream_name(event);
    let mut budget = RESPONSE_LIMIT_BYTES;
    let records = event
        .records
        .iter()
        .map(|record| {
            let (result, data) = match outcome(plugin, stream, record) {
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
fn failed(record: &KinesisFirehoseEventRecord, reason: &str) -> (&'static str, Vec<u8>) {
    tracing::warn!(record_id = record.record_id.as_deref().unwrap_or("?"), reason, "Firehose record failed");
    (FAILED, Vec::new())
}

/// The record's one document, or `Err(None)` for a record that holds no event, or the reason
/// it cannot be delivered.
fn outcome(plugin: &Plugin, stream: &str, record: &KinesisFirehoseEventRecord) -> Result<Vec<u8>, Option<String>> {
    let object =
        ObjectRef { bucket: stream.to_owned(), key: record.record_id.clone().unwrap_or_default(), version_id: None };
    let job = Job {
        object: &object,
        log_type: &plugin.info.name,
        options: &[],
        index_prefix: None,
        stop: Default::default(),
    };
    let mut sink = One::default();
    let counts =
        pipeline::ingest(plugin, &job, &record.data.0[..], &mut sink).map_err(|f| Some(f.error.to_string()))?;
    if !sink.rejections.is_empty() {
        return Err(Some(sink.rejections.join("; ")));
    }
    match sink.documents.len() {
        0 if counts.skipped > 0 || record.data.0.iter().all(u8::is_ascii_whitespace) => Err(None),
        1 => Ok(sink.documents.remove(0)),
        n => Err(Some(format!("the record holds {n} lines; Firehose delivers one document per record"))),
    }
}

/// Collects what one record made.
#[derive(Default)]
struct One {
    documents: Vec<Vec<u8>>,
    rejections: Vec<String>,
}

impl Sink for One {
    fn document(&mut self, doc: &Document) -> io::Result<()> {
        self.documents.push(doc.source.to_vec());
        Ok(())
    }

    fn dead_letter(&mut self, letter: &DeadLetter) -> io::Result<()> {
        self.rejections.push(format!("line {}: {}", letter.record_number, letter.reason));
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
