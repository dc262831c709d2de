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
    use kelk_runtime::source::ObjectRef;
    use serde_json::json;

    fn s3_record(event: &str, bucket: &str, key: &str, version: Option<&str>) -> Value {
        let mut object = json!({ "key": key, "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "0055AED6DCD90281E5" });
        if let Some(v) = version {
            object["versionId"] = json!(v);
        }
        json!({
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-1",
            "eventTime": "2025-03-02T10:00:00.000Z", "eventName": event,
            "userIdentity": { "principalId": "AWS:AIDAEXAMPLE" },
            "requestParameters": { "sourceIPAddress": "203.0.113.1" },
            "responseElements": { "x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD" },
            "s3": {
                "s3SchemaVersion": "1.0", "configurationId": "kelk",
                "bucket": { "name": bucket, "ownerIdentity": { "principalId": "A3NL1KOZZKExample" }, "arn": format!("arn:aws:s3:::{bucket}") },
                "object": object,
            }
        })
    }

    #[test]
    fn s3_notifications_give_every_object_with_decoded_keys_and_versions() {
        let event = json!({ "Records": [
            s3_record("ObjectCreated:Put", "logs", "alb/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2025/03/02/a.log.gz", None),
            s3_record("ObjectCreated:CompleteMultipartUpload", "logs", "cloudfront/my+file%2Bplus%3Dsign%C3%A9.gz", Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")),
            s3_record("ObjectRemoved:Delete", "logs", "gone.gz", None),
        ]});
        assert_eq!(source_of(&event).unwrap().name(), "s3");
        let objects = s3::objects(event["Records"].as_array().unwrap()).unwrap();
        assert_eq!(objects.len(), 2, "created objects only, every record");
        assert_eq!(objects[1].key, "cloudfront/my file+plus=signé.gz");
        assert_eq!(objects[1].version_id.as_deref(), Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"));
        assert_eq!(objects[0].bucket, "logs");
        assert_eq!(objects[0].etag.as_deref(), Some("d41d8cd98f00b204e9800998ecf8427e"), "the content meant");
    }

    #[test]
    fn sqs_messages_carry_notifications_one_result_each() {
        let notification = json!({ "Records": [s3_record("ObjectCreated:Put", "logs", "a+b.log", None)] }).to_string();
        let event = json!({ "Records": [
            { "messageId": "m1", "eventSource": "aws:sqs", "body": notification },
            { "messageId": "m2", "eventSource": "aws:sqs", "body": r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"logs"}"# },
            { "messageId": "m3", "eventSource": "aws:sqs", "body": "not json" },
        ]});
        assert_eq!(source_of(&event).unwrap().name(), "sqs");
        let bodies: Vec<_> = event["Records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| sqs::message_objects(r["body"].as_str().unwrap()))
            .collect();
        assert_eq!(bodies[0].as_ref().unwrap()[0].key, "a b.log");
        assert!(bodies[1].as_ref().unwrap().is_empty(), "the test event has no objects");
        assert!(bodies[2].as_ref().unwrap_err().contains("not JSON"));
    }

    #[test]
    fn eventbridge_object_created() {
        let event = json!({
            "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
            "source": "aws.s3", "account": "123456789012", "time": "2025-03-02T10:00:00Z", "region": "eu-west-1",
            "resources": ["arn:aws:s3:::logs"],
            "detail": { "version": "0", "bucket": { "name": "logs" },
                        "object": { "key": "my file.log", "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184", "version-id": "v1", "sequencer": "00617F08299329D189" },
                        "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012", "reason": "PutObject" }
        });
        assert_eq!(source_of(&event).unwrap().name(), "eventbridge");
        assert_eq!(
            eventbridge::object(&event["detail"]),
            Some(ObjectRef {
                bucket: "logs".into(),
                key: "my file.log".into(),
                version_id: Some("v1".into()),
                etag: Some("b1946ac92492d2347c6235b4d2611184".into())
            })
        );
    }

    #[test]
    fn firehose_and_unknown_events() {
        let event = json!({
            "invocationId": "i", "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/kelk-apache", "region": "eu-west-1",
            "records": [{ "recordId": "r1", "approximateArrivalTimestamp": 1700000000000u64, "data": "aGVsbG8=" }]
        });
        assert_eq!(source_of(&event).unwrap().name(), "firehose");
        let batch: aws_lambda_events::event::firehose::KinesisFirehoseEvent = serde_json::from_value(event).unwrap();
        assert_eq!(batch.records[0].data.0, b"hello");
        let err = source_of(&json!({ "hello": "world" })).err().unwrap().to_string();
        assert!(err.contains("top-level keys: hello"), "{err}");
        assert!(source_of(&json!({ "Records": [{ "eventSource": "aws:dynamodb" }] })).is_err());
        assert_eq!(source_of(&json!({ "Records": [] })).unwrap().name(), "s3", "an empty batch has nothing to do");
        assert_eq!(source_of(&json!({ "action": "setup" })).unwrap().name(), "setup");
    }
}
