//! S3 event notifications sent to the function directly: every record, not just the first,
//! keys URL-decoded. The invocation fails if any object does, so S3 retries it whole (document
//! ids make that safe).

use super::EventSource;
use crate::function::Invocation;
use kelk_runtime::source::ObjectRef;
use serde_json::{Value, json};

pub struct Notifications;

impl EventSource for Notifications {
    fn name(&self) -> &'static str {
        "s3"
    }

    /// A `Records` array of S3 records; an empty one has nothing to do.
    fn accepts(&self, event: &Value) -> bool {
        event["Records"].as_array().is_some_and(|r| r.first().is_none_or(|r| r["eventSource"] == "aws:s3"))
    }

    fn handle(&self, event: &Value, invocation: &mut Invocation<'_>) -> anyhow::Result<Value> {
        let records = event["Records"].as_array().map_or(&[][..], Vec::as_slice);
        let objects = kelk_events::s3::objects(records)
            .map_err(|reason| anyhow::anyhow!("{}: {reason}", super::unknown(event)))?;
        all_objects(&objects, invocation)
    }
}

/// Processes every object, on every core; the invocation fails if any does, naming the first
/// failure.
pub(super) fn all_objects(objects: &[ObjectRef], invocation: &mut Invocation<'_>) -> anyhow::Result<Value> {
    let failures: Vec<String> = invocation
        .objects(objects)
        .into_iter()
        .filter_map(|result| result.err())
        .map(|failed| failed.error.to_string())
        .collect();
    match failures.first() {
        None => Ok(json!({ "objects": objects.len(), "counts": invocation.tally.counts })),
        Some(first) => {
            Err(anyhow::anyhow!("{} of {} objects failed; the first: {first}", failures.len(), objects.len()))
        }
    }
}
