//! S3 notifications wrapped in SQS messages, one message body at a time.

use crate::source::ObjectRef;
use serde_json::Value;

/// A message body's objects: an S3 notification, or the `s3:TestEvent` S3 sends when
/// notifications are set up (no objects).
pub fn message_objects(body: &str) -> Result<Vec<ObjectRef>, String> {
    let parsed: Value = serde_json::from_str(body).map_err(|e| format!("the message body is not JSON: {e}"))?;
    if parsed["Event"] == "s3:TestEvent" {
        return Ok(Vec::new());
    }
    let records = parsed["Records"].as_array().ok_or("the message body is not an S3 event notification")?;
    crate::s3::objects(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::tests::record;
    use serde_json::json;

    #[test]
    fn bodies_carry_notifications_test_events_or_nothing_readable() {
        let notification = json!({ "Records": [record("ObjectCreated:Put", "logs", "a+b.log", None)] }).to_string();
        assert_eq!(message_objects(&notification).unwrap()[0].key, "a b.log");
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"logs"}"#;
        assert!(message_objects(test_event).unwrap().is_empty(), "the test event has no objects");
        assert!(message_objects("not json").unwrap_err().contains("not JSON"));
        assert!(message_objects("{}").unwrap_err().contains("not an S3 event notification"));
    }
}
