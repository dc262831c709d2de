//! S3 Batch Operations' `LambdaInvoke`: a backfill run by S3 itself over a manifest (an S3
//! Inventory report or a CSV of keys), an invocation per task, thousands at once. Each task's
//! object goes through the pipeline as a notification's would, with the same document ids,
//! and is answered with a result code: `Succeeded`; `TemporaryFailure`, which Batch Operations
//! retries (OpenSearch unreachable or throttling, the deadline); or `PermanentFailure`, which
//! it reports (no route, no such object, an input that can never be read).
//!
//! Schema 1.0 names a task's bucket by ARN, 2.0 by name; both URL-encode the key.

use super::EventSource;
use crate::function::Invocation;
use kelk_runtime::pipeline::IngestError;
use kelk_runtime::source::ObjectRef;
use serde_json::{Value, json};

pub const SUCCEEDED: &str = "Succeeded";
pub const TEMPORARY: &str = "TemporaryFailure";
pub const PERMANENT: &str = "PermanentFailure";

pub struct BatchOperations;

impl EventSource for BatchOperations {
    fn name(&self) -> &'static str {
        "batch_operations"
    }

    fn accepts(&self, event: &Value) -> bool {
        event["invocationSchemaVersion"].is_string() && event["tasks"].is_array()
    }

    fn handle(&self, event: &Value, invocation: &mut Invocation<'_>) -> anyhow::Result<Value> {
        let tasks = event["tasks"].as_array().map_or(&[][..], Vec::as_slice);
        let results: Vec<Value> = tasks
            .iter()
            .map(|task| {
                let (code, said) = match object(task) {
                    Err(reason) => (PERMANENT, reason),
                    Ok(object) => match invocation.object(&object) {
                        Ok(counts) => (SUCCEEDED, serde_json::to_string(&counts)?),
                        Err(failed) => (result_code(&failed.error), failed.error.to_string()),
                    },
                };
                Ok(json!({ "taskId": task["taskId"], "resultCode": code, "resultString": said }))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(json!({
            "invocationSchemaVersion": event["invocationSchemaVersion"],
            "treatMissingKeysAs": PERMANENT,
            "invocationId": event["invocationId"],
            "results": results,
        }))
    }
}

/// A task's object: its bucket by name (2.0) or ARN (1.0), its key decoded.
fn object(task: &Value) -> Result<ObjectRef, String> {
    let bucket = task["s3Bucket"]
        .as_str()
        .or_else(|| task["s3BucketArn"].as_str().and_then(|arn| arn.rsplit(':').next()))
        .ok_or("a task without s3Bucket or s3BucketArn")?;
    let key = task["s3Key"].as_str().ok_or("a task without s3Key")?;
    Ok(ObjectRef {
        bucket: bucket.to_owned(),
        key: super::s3::notification_key(key)?,
        version_id: task["s3VersionId"].as_str().map(str::to_owned),
        etag: None,
    })
}

/// Whether trying the task again can succeed.
fn result_code(error: &IngestError) -> &'static str {
    match error {
        IngestError::NoRoute { .. }
        | IngestError::TooLarge { .. }
        | IngestError::Decode { .. }
        | IngestError::Contract { .. } => PERMANENT,
        IngestError::Open { error, .. } if error.kind() == std::io::ErrorKind::NotFound => PERMANENT,
        _ => TEMPORARY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let event =
            json!({ "invocationSchemaVersion": "2.0", "invocationId": "i", "job": { "id": "j" }, "tasks": [v2] });
        assert_eq!(super::super::source_of(&event).unwrap().name(), "batch_operations");
    }
}
