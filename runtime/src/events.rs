//! What a Lambda invocation asks for, recognised by the event's shape: S3 event notifications
//! (every record, not just the first), the same wrapped in SQS messages, EventBridge "Object
//! Created" events, and Firehose data-transformation batches. Anything else is an error that
//! says what was received.

use crate::document::ObjectRef;
use aws_lambda_events::event::firehose::KinesisFirehoseEvent;
use serde_json::Value;

/// An invocation's work.
#[derive(Debug)]
pub enum Invocation {
    /// Objects from S3 notifications or EventBridge: the invocation fails if any object does.
    Objects(Vec<ObjectRef>),
    /// SQS messages, each carrying S3 notifications: failures are reported per message
    /// (`batchItemFailures`), so only those come back.
    Messages(Vec<Message>),
    /// A Firehose transformation batch.
    Firehose(Box<KinesisFirehoseEvent>),
}

/// One SQS message: its id, and its objects or why it cannot be read.
#[derive(Debug)]
pub struct Message {
    pub id: String,
    pub objects: Result<Vec<ObjectRef>, String>,
}

/// An event of no shape the host handles.
#[derive(Debug, thiserror::Error)]
#[error(
    "unrecognised event (top-level keys: {keys}): expected S3 notifications, SQS messages of them, EventBridge Object Created, or a Firehose batch"
)]
pub struct UnknownEvent {
    pub keys: String,
}

/// Recognises an event.
pub fn classify(event: &Value) -> Result<Invocation, UnknownEvent> {
    let unknown = || UnknownEvent {
        keys: event
            .as_object()
            .map_or_else(|| "not an object".into(), |o| o.keys().cloned().collect::<Vec<_>>().join(", ")),
    };
    if event.get("deliveryStreamArn").is_some() && event.get("records").is_some() {
        // Deserialized from the borrowed tree: a batch can be megabytes.
        return serde::Deserialize::deserialize(event)
            .map(|e| Invocation::Firehose(Box::new(e)))
            .map_err(|_| unknown());
    }
    if event["source"] == "aws.s3" && event["detail-type"] == "Object Created" {
        return eventbridge_object(&event["detail"]).map(|o| Invocation::Objects(vec![o])).ok_or_else(unknown);
    }
    let records = event["Records"].as_array().ok_or_else(unknown)?;
    match records.first().map(|r| &r["eventSource"]) {
        Some(source) if source == "aws:sqs" => Ok(Invocation::Messages(
            records
                .iter()
                .map(|r| Message {
                    id: r["messageId"].as_str().unwrap_or_default().to_owned(),
                    objects: sqs_body(r["body"].as_str().unwrap_or_default()),
                })
                .collect(),
        )),
        Some(source) if source == "aws:s3" => s3_notification(records).map(Invocation::Objects).map_err(|_| unknown()),
        // An empty batch has nothing to do.
        None => Ok(Invocation::Objects(Vec::new())),
        Some(_) => Err(unknown()),
    }
}

/// The objects of an S3 notification's records (created objects only).
fn s3_notification(records: &[Value]) -> Result<Vec<ObjectRef>, String> {
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
            })
        })
        .collect()
}

/// S3 notifications URL-encode keys as forms do: `+` for a space, `%xx` for the rest.
fn notification_key(key: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(&key.replace('+', " "))
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| format!("the key `{key}` does not decode to UTF-8"))
}

/// An SQS message body: an S3 notification, or the `s3:TestEvent` S3 sends when
/// notifications are set up (no objects).
fn sqs_body(body: &str) -> Result<Vec<ObjectRef>, String> {
    let parsed: Value = serde_json::from_str(body).map_err(|e| format!("the message body is not JSON: {e}"))?;
    if parsed["Event"] == "s3:TestEvent" {
        return Ok(Vec::new());
    }
    let records = parsed["Records"].as_array().ok_or("the message body is not an S3 event notification")?;
    s3_notification(records)
}

/// The object of an EventBridge "Object Created" detail (keys are not encoded there).
fn eventbridge_object(detail: &Value) -> Option<ObjectRef> {
    Some(ObjectRef {
        bucket: detail["bucket"]["name"].as_str()?.to_owned(),
        key: detail["object"]["key"].as_str()?.to_owned(),
        version_id: detail["object"]["version-id"].as_str().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let Invocation::Objects(objects) = classify(&event).unwrap() else { panic!("objects expected") };
        assert_eq!(objects.len(), 2, "created objects only, every record");
        assert_eq!(objects[1].key, "cloudfront/my file+plus=signé.gz");
        assert_eq!(objects[1].version_id.as_deref(), Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"));
        assert_eq!(objects[0].bucket, "logs");
    }

    #[test]
    fn sqs_messages_carry_notifications_one_result_each() {
        let notification = json!({ "Records": [s3_record("ObjectCreated:Put", "logs", "a+b.log", None)] }).to_string();
        let event = json!({ "Records": [
            { "messageId": "m1", "eventSource": "aws:sqs", "body": notification },
            { "messageId": "m2", "eventSource": "aws:sqs", "body": r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"logs"}"# },
            { "messageId": "m3", "eventSource": "aws:sqs", "body": "not json" },
        ]});
        let Invocation::Messages(messages) = classify(&event).unwrap() else { panic!("messages expected") };
        assert_eq!(messages[0].id, "m1");
        assert_eq!(messages[0].objects.as_ref().unwrap()[0].key, "a b.log");
        assert!(messages[1].objects.as_ref().unwrap().is_empty(), "the test event has no objects");
        assert!(messages[2].objects.as_ref().unwrap_err().contains("not JSON"));
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
        let Invocation::Objects(objects) = classify(&event).unwrap() else { panic!("objects expected") };
        assert_eq!(
            objects,
            [ObjectRef { bucket: "logs".into(), key: "my file.log".into(), version_id: Some("v1".into()) }]
        );
    }

    #[test]
    fn firehose_and_unknown_events() {
        let event = json!({
            "invocationId": "i", "deliveryStreamArn": "arn:aws:firehose:eu-west-1:123456789012:deliverystream/kelk-apache", "region": "eu-west-1",
            "records": [{ "recordId": "r1", "approximateArrivalTimestamp": 1700000000000u64, "data": "aGVsbG8=" }]
        });
        let Invocation::Firehose(batch) = classify(&event).unwrap() else { panic!("firehose expected") };
        assert_eq!(batch.records[0].data.0, b"hello");
        let err = classify(&json!({ "hello": "world" })).unwrap_err().to_string();
        assert!(err.contains("top-level keys: hello"), "{err}");
        assert!(classify(&json!({ "Records": [{ "eventSource": "aws:dynamodb" }] })).is_err());
    }
}
