//! S3 notifications wrapped in SQS messages: each message is answered on its own
//! (`batchItemFailures`), so SQS redelivers only the messages whose objects failed. The objects
//! of the batch's messages go through the workers at once.

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

    /// The objects of every message go through the workers together; a message fails when
    /// any of its objects does.
    fn handle(&self, event: &Value, invocation: &mut Invocation<'_>) -> anyhow::Result<Value> {
        let messages = event["Records"].as_array().map_or(&[][..], Vec::as_slice);
        // Each message's id, and its objects, or none when it cannot be read.
        let read: Vec<(&str, Option<Vec<ObjectRef>>)> = messages
            .iter()
            .map(|message| {
                let id = message["messageId"].as_str().unwrap_or_default();
                match kelk_events::sqs::message_objects(message["body"].as_str().unwrap_or_default()) {
                    Ok(objects) => (id, Some(objects)),
                    Err(reason) => {
                        tracing::error!(message_id = id, reason, "unreadable SQS message");
                        (id, None)
                    }
                }
            })
            .collect();
        let objects: Vec<ObjectRef> = read.iter().flat_map(|(_, objects)| objects.iter().flatten().cloned()).collect();
        let mut results = invocation.objects(&objects).into_iter();
        let failures: Vec<Value> = read
            .iter()
            .filter(|(_, objects)| match objects {
                // Every result of the message's objects is taken, in their order.
                Some(objects) => results.by_ref().take(objects.len()).filter(Result::is_err).count() > 0,
                None => true,
            })
            .map(|(id, _)| json!({ "itemIdentifier": id }))
            .collect();
        Ok(json!({ "batchItemFailures": failures }))
    }
}
