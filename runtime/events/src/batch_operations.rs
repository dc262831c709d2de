//! S3 Batch Operations' `LambdaInvoke` tasks. Schema 1.0 names a task's bucket by ARN, 2.0 by
//! name; both URL-encode the key.

use crate::source::ObjectRef;
use serde_json::Value;

/// A task's object: its bucket by name (2.0) or ARN (1.0), its key decoded. A task names no
/// ETag: the caller pins the content it reads.
pub fn object(task: &Value) -> Result<ObjectRef, String> {
    let bucket = task["s3Bucket"]
        .as_str()
        .or_else(|| task["s3BucketArn"].as_str().and_then(|arn| arn.rsplit(':').next()))
        .ok_or("a task without s3Bucket or s3BucketArn")?;
    let key = task["s3Key"].as_str().ok_or("a task without s3Key")?;
    crate::s3::object(bucket, &crate::s3::notification_key(key)?, task["s3VersionId"].as_str(), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tasks_of_both_schemas_name_their_objects() {
        let v1 = json!({ "taskId": "t1", "s3Key": "alb/my+file%2B1.log", "s3VersionId": "v1", "s3BucketArn": "arn:aws:s3:::logs" });
        let v2 = json!({ "taskId": "t2", "s3Key": "a%C3%A9.log", "s3VersionId": null, "s3Bucket": "logs" });
        assert_eq!(
            object(&v1).unwrap(),
            ObjectRef {
                bucket: "logs".into(),
                key: "alb/my file+1.log".into(),
                version_id: Some("v1".into()),
                etag: None
            }
        );
        assert_eq!((object(&v2).unwrap().key, object(&v2).unwrap().version_id), ("aé.log".into(), None));
        assert!(object(&json!({ "taskId": "t3", "s3Key": "k" })).unwrap_err().contains("s3Bucket"));
        let no_bucket = json!({ "taskId": "t4", "s3Key": "k", "s3BucketArn": "arn:aws:s3:::" });
        assert!(object(&no_bucket).unwrap_err().contains("empty bucket"));
    }
}
