//! EventBridge "Object Created" events from S3. The invocation fails if the object does, so
//! EventBridge retries it.

use super::EventSource;
use crate::function::Invocation;
use serde_json::Value;

pub struct ObjectCreated;

impl EventSource for ObjectCreated {
    fn name(&self) -> &'static str {
        "eventbridge"
    }

    fn accepts(&self, event: &Value) -> bool {
        event["source"] == "aws.s3" && event["detail-type"] == "Object Created"
    }

    fn handle(&self, event: &Value, invocation: &mut Invocation<'_>) -> anyhow::Result<Value> {
        let object = kelk_events::eventbridge::object(&event["detail"])
            .map_err(|reason| anyhow::anyhow!("{}: {reason}", super::unknown(event)))?;
        super::s3::all_objects(&[object], invocation)
    }
}
