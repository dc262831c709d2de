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
        let objects = objects(records).map_err(|reason| anyhow::anyhow!("{}: {reason}", super::unknown(event)))?;
        all_objects(&objects, invocation)
    }
}

/// Processes every object; the invocation fails if any does, naming the first failure.
pub(super) fn all_objects(objects: &[ObjectRef], invocation: &mut Invocation<'_>) -> anyhow::Result<Value> {
    let failures: Vec<String> = objects
        .iter()
        .filter_map(|object| invocation.object(object).err())
        .map(|failed| failed.error.to_string())
        .collect();
    match failures.first() {
        None => Ok(json!({ "objects": objects.len(), "counts": invocation.tally.counts })),
        Some(first) => {
            Err(anyhow::anyhow!("{} of {} objects failed; the first: {first}", failures.len(), objects.len()))
        }
    }
}

/// The objects of an S3 notification's records (created objects only).
pub(super) fn objects(records: &[Value]) -> Result<Vec<ObjectRef>, String> {
    records
        .iter()
        .filter(|r| r["eventName"].as_str().is_some_and(|n| n.starts_with("ObjectCreated:")))
        .map(|r| {
            let s3 = &r["s3"];
            let bucket = s3["bucket"]["name"].as_str().ok_or("an S3 record without s3.bucket.name")?;
            let key = s3["object"]["key"].as_str().ok_or("an S3 record without s3.object.key")?;
            Ok(ObjectRef {
                bucket: bucket.to_owned(),
                key: notification_key(key)?,
                version_id: s3["object"]["versionId"].as_str().map(str::to_owned),
                etag: s3["object"]["eTag"].as_str().map(str::to_owned),
            })
        })
        .collect()
}

/// S3 notifications URL-encode keys as forms do: `+` for a space, `%xx` for the rest.
pub(super) fn notification_key(key: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(&key.replace('+', " "))
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| format!("the key `{key}` does not decode to UTF-8"))
}
