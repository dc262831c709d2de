//! EventBridge "Object Created" events from S3 (keys are not encoded there). The invocation
//! fails if the object does, so EventBridge retries it.

use super::EventSource;
use crate::function::Invocation;
use kelk_runtime::source::ObjectRef;
use serde_json::Value;

pub struct ObjectCreated;

impl EventSource for ObjectCreated {
    fn name(&self) -> &'static str {
        "eventbridge"
    }

    fn accepts(&self, event: &Value) -> bool {
        event["source"] == "aws.s3" && event["detail-type"] == "Object Created"
    }

    fn handle(&self, event: &Value, invocation: &mut Invocation<'_>) -> anyhow::Result<Value> {
        let object = object(&event["detail"]).ok_or_else(|| super::unknown(event))?;
        super::s3::all_objects(&[object], invocation)
    }
}

/// The object of an "Object Created" detail.
pub(super) fn object(detail: &Value) -> Option<ObjectRef> {
    Some(ObjectRef {
        bucket: detail["bucket"]["name"].as_str()?.to_owned(),
        key: detail["object"]["key"].as_str()?.to_owned(),
        version_id: detail["object"]["version-id"].as_str().map(str::to_owned),
        etag: detail["object"]["etag"].as_str().map(str::to_owned),
    })
}
