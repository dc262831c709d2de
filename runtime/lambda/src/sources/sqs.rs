//! S3 notifications wrapped in SQS messages: each message is answered on its own
//! (`batchItemFailures`), so SQS redelivers only the messages whose objects failed.

use super::EventSource;
use crate::function::Invocation;
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
            let ok = match kelk_events::sqs::message_objects(message["body"].as_str().unwrap_or_default()) {
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
