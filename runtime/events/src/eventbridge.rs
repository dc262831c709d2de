//! EventBridge "Object Created" events from S3 (keys are not encoded there).

use crate::source::ObjectRef;
use serde_json::Value;

/// The object of an "Object Created" detail.
pub fn object(detail: &Value) -> Result<ObjectRef, String> {
    let (bucket, object) = (&detail["bucket"], &detail["object"]);
    let name = bucket["name"].as_str().ok_or("an Object Created event without detail.bucket.name")?;
    let key = object["key"].as_str().ok_or("an Object Created event without detail.object.key")?;
    crate::s3::object(name, key, object["version-id"].as_str(), object["etag"].as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_created() {
        let event = json!({
            "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
            "source": "aws.s3", "account": "123456789012", "time": "2025-03-02T10:00:00Z", "region": "eu-west-1",
            "resources": ["arn:aws:s3:::logs"],
            "detail": { "version": "0", "bucket": { "name": "logs" },
                        "object": { "key": "my file.log", "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184", "version-id": "v1", "sequencer": "00617F08299329D189" },
                        "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012", "reason": "PutObject" }
        });
        assert_eq!(
            object(&event["detail"]),
            Ok(ObjectRef {
                bucket: "logs".into(),
                key: "my file.log".into(),
                version_id: Some("v1".into()),
                etag: Some("b1946ac92492d2347c6235b4d2611184".into())
            })
        );
        assert!(object(&json!({ "bucket": { "name": "logs" } })).unwrap_err().contains("detail.object.key"));
    }
}
