//! S3 Batch Operations' `LambdaInvoke`: a backfill run by S3 itself over a manifest (an S3
//! Inventory report or a CSV of keys), an invocation per task, thousands at once. Each task's
//! object goes through the pipeline as a notification's would, with the same document ids,
//! and is answered with a result code: `Succeeded`; `TemporaryFailure`, which Batch Operations
//! retries (OpenSearch unreachable or throttling, the deadline); or `PermanentFailure`, which
//! it reports (no route, no such object, an input that can never be read, a task naming no
//! object).

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
        let named: Vec<_> = tasks.iter().map(kelk_events::batch_operations::object).collect();
        // The tasks' objects go through the workers at once; a result per task, in their order.
        let objects: Vec<ObjectRef> = named.iter().filter_map(|named| named.as_ref().ok().cloned()).collect();
        let mut done = invocation.objects(&objects).into_iter();
        let results: Vec<Value> = tasks
            .iter()
            .zip(named)
            .map(|(task, named)| {
                let (code, said) = match named {
                    Err(reason) => (PERMANENT, reason),
                    Ok(_) => match done.next().expect("a result per object") {
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
