//! Event sources: what a Lambda invocation can be, each recognised by its event's shape and
//! answered as its service expects, in a file of its own. Adding a source is a file here and a
//! line in [`SOURCES`]. An event no source accepts is an error that says what was received.

mod batch_operations;
pub mod cloudwatch_logs;
mod eventbridge;
pub mod firehose;
mod s3;
mod setup;
mod sqs;

use crate::function::Invocation;
use serde_json::Value;

/// An event source.
pub trait EventSource: Sync {
    /// The source's name, for logs.
    fn name(&self) -> &'static str;

    /// Whether `event` is one of this source's.
    fn accepts(&self, event: &Value) -> bool;

    /// Whether the source routes its work through plugins, so the routing config must be
    /// loaded (or checked for a new version) first.
    fn routes(&self) -> bool {
        true
    }

    /// Does the event's work and gives the answer the source expects: an error makes the
    /// service retry the whole event; a source with per-item results reports only the failed
    /// items.
    fn handle(&self, event: &Value, invocation: &mut Invocation<'_>) -> anyhow::Result<Value>;
}

/// Every source, in the order they are tried.
pub const SOURCES: &[&dyn EventSource] = &[
    &setup::Setup,
    &firehose::Firehose,
    &cloudwatch_logs::Subscription,
    &batch_operations::BatchOperations,
    &eventbridge::ObjectCreated,
    &sqs::Sqs,
    &s3::Notifications,
];

/// An event of no shape the host handles.
#[derive(Debug, thiserror::Error)]
#[error(
    "unrecognised event (top-level keys: {keys}): expected S3 notifications, SQS messages of them, EventBridge Object Created, a Firehose batch, a CloudWatch Logs subscription's or S3 Batch Operations tasks"
)]
pub struct UnknownEvent {
    pub keys: String,
}

/// The source of an event.
pub fn source_of(event: &Value) -> Result<&'static dyn EventSource, UnknownEvent> {
    SOURCES.iter().copied().find(|source| source.accepts(event)).ok_or_else(|| unknown(event))
}

fn unknown(event: &Value) -> UnknownEvent {
    UnknownEvent {
        keys: event
            .as_object()
            .map_or_else(|| "not an object".into(), |o| o.keys().cloned().collect::<Vec<_>>().join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_event_shape_has_its_source() {
        for (event, source) in [
            (json!({ "Records": [{ "eventSource": "aws:s3", "eventName": "ObjectCreated:Put" }] }), "s3"),
            (json!({ "Records": [] }), "s3"),
            (json!({ "Records": [{ "messageId": "m1", "eventSource": "aws:sqs", "body": "{}" }] }), "sqs"),
            (json!({ "source": "aws.s3", "detail-type": "Object Created", "detail": {} }), "eventbridge"),
            (
                json!({ "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/kelk-apache", "records": [] }),
                "firehose",
            ),
            (json!({ "awslogs": { "data": "" } }), "cloudwatch_logs"),
            (
                json!({ "invocationSchemaVersion": "2.0", "invocationId": "i", "job": { "id": "j" }, "tasks": [] }),
                "batch_operations",
            ),
            (json!({ "action": "setup" }), "setup"),
        ] {
            assert_eq!(source_of(&event).unwrap().name(), source, "{event}");
        }
    }

    #[test]
    fn unknown_events_say_what_was_received() {
        let err = source_of(&json!({ "hello": "world" })).err().unwrap().to_string();
        assert!(err.contains("top-level keys: hello"), "{err}");
        assert!(source_of(&json!({ "Records": [{ "eventSource": "aws:dynamodb" }] })).is_err());
        assert!(source_of(&json!([])).err().unwrap().to_string().contains("not an object"));
    }
}
