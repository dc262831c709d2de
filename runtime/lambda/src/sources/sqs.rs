//! S3 notifications wrapped in SQS messages: each message is answered on its own
//! (`batchItemFailures`), so SQS redelivers only the messages whose objects failed.

use super::EventSource;
use crate::function::Invocation;
use kelk_runtime::source::ObjectRef;
use serde_json::{Value, json};

pub struct Sqs;

impl EventSource for Sqs {
    fn name(&self) -> &'static str {
        "sqs"
    }

    fn accepts(&self, event: &Value) -> bool {
        event["Records"].as_array().and_then(|r| r.first()).is_some_and(|r| r["eventSource"] == "aws:sqs")
    }

    fn handle(&self, event: &Value, invocation: &mut Invocation<'_>) -> anyhow::Result<Value> {
        let mut failures = Vec::new();
        for message in event["Records"].as_array().map_or(&[][..], Vec::as_slice) {
            let id = message["messageId"].as_str().unwrap_or_default();
            let ok = match message_objects(message["body"].as_str().unwrap_or_default()) {
                Ok(objects) => objects.iter().all(|object| invocation.object(object).is_ok()),
                Err(reason) => {
                    tracing::error!(message_id = id, reason, "unreadable SQS message");
                    false
                }
            };
            if !ok {
                failures.push(json!({ "itemIdentifier": id }));
            }
        }
        Ok(json!({ "batchItemFailures": failures }))
    }
}

/// A message body's objects: an S3 notification, or the `s3:TestEvent` S3 sends when
/// notifications are set up (no objects).
pub(super) fn message_objects(body: &str) -> Result<Vec<ObjectRef>, String> {
    let parsed: Value = serde_json::from_str(body).map_err(|e| format!("the message body is not JSON: {e}"))?;
    if parsed["Event"] == "s3:TestEvent" {
        return Ok(Vec::new());
    }
    let records = parsed["Records"].as_array().ok_or("the message body is not an S3 event notification")?;
    super::s3::objects(records)
}
