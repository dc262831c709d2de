//! S3 event notifications, as S3 sends them to a function or a queue: every record, created
//! objects only, keys URL-decoded.

use crate::source::ObjectRef;
use serde_json::Value;

/// The objects of a notification's records (created objects only).
pub fn objects(records: &[Value]) -> Result<Vec<ObjectRef>, String> {
    records
        .iter()
        .filter(|r| r["eventName"].as_str().is_some_and(|n| n.starts_with("ObjectCreated:")))
        .map(|r| {
            let (s3, object) = (&r["s3"], &r["s3"]["object"]);
            let bucket = s3["bucket"]["name"].as_str().ok_or("an S3 record without s3.bucket.name")?;
            let key = object["key"].as_str().ok_or("an S3 record without s3.object.key")?;
            self::object(bucket, &notification_key(key)?, object["versionId"].as_str(), object["eTag"].as_str())
        })
        .collect()
}

/// S3 notifications (and Batch Operations tasks) URL-encode keys as forms do: `+` for a
/// space, `%xx` for the rest.
pub fn notification_key(key: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(&key.replace('+', " "))
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| format!("the key `{key}` does not decode to UTF-8"))
}

/// The object an event names, as every S3 event shape gives it. No bucket would make it a
/// local file (`ObjectRef::local`), and an empty version id or ETag names no content (an
/// empty `If-Match` would read as content replaced since), so neither is taken.
pub(crate) fn object(
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
    etag: Option<&str>,
) -> Result<ObjectRef, String> {
    if bucket.is_empty() || key.is_empty() {
        return Err(format!("an event naming an object by an empty bucket or key (`{bucket}`, `{key}`)"));
    }
    let named = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
    Ok(ObjectRef { bucket: bucket.to_owned(), key: key.to_owned(), version_id: named(version_id), etag: named(etag) })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// A notification's record, as S3 writes it.
    pub(crate) fn record(event: &str, bucket: &str, key: &str, version: Option<&str>) -> Value {
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
    fn notifications_give_every_created_object_with_decoded_keys_and_versions() {
        let records = [
            record(
                "ObjectCreated:Put",
                "logs",
                "alb/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2025/03/02/a.log.gz",
                None,
            ),
            record(
                "ObjectCreated:CompleteMultipartUpload",
                "logs",
                "cloudfront/my+file%2Bplus%3Dsign%C3%A9.gz",
                Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"),
            ),
            record("ObjectRemoved:Delete", "logs", "gone.gz", None),
        ];
        let objects = objects(&records).unwrap();
        assert_eq!(objects.len(), 2, "created objects only, every record");
        assert_eq!(objects[1].key, "cloudfront/my file+plus=signé.gz");
        assert_eq!(objects[1].version_id.as_deref(), Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"));
        assert_eq!(objects[0].bucket, "logs");
        assert_eq!(objects[0].etag.as_deref(), Some("d41d8cd98f00b204e9800998ecf8427e"), "the content meant");
    }

    #[test]
    fn what_names_no_object_says_so() {
        let mut unversioned = record("ObjectCreated:Put", "logs", "a.log", Some(""));
        unversioned["s3"]["object"]["eTag"] = json!("");
        let object = &objects(&[unversioned]).unwrap()[0];
        assert_eq!((object.version_id.as_deref(), object.etag.as_deref()), (None, None), "empty names nothing");
        for (record, says) in [
            (record("ObjectCreated:Put", "", "a.log", None), "empty bucket"),
            (record("ObjectCreated:Put", "logs", "", None), "empty bucket or key"),
            (record("ObjectCreated:Put", "logs", "%FF.log", None), "does not decode to UTF-8"),
            (json!({ "eventName": "ObjectCreated:Put", "s3": {} }), "without s3.bucket.name"),
        ] {
            let error = objects(&[record]).unwrap_err();
            assert!(error.contains(says), "{error}");
        }
    }
}
