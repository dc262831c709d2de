//! CloudWatch Logs subscription filters: `{"awslogs":{"data": …}}`, base64 of gzip of one log
//! stream's batch of events. A `CONTROL_MESSAGE` (sent when a subscription is made, to check
//! the destination) is acknowledged and dropped.
//!
//! The log group's route decides how its events are read: with a plugin, each message is a
//! line of one input (a VPC Flow or Apache line, a JSON application log); without one, each
//! event is kept as a document of its own: `message` as sent, its fields under `json` when it
//! is a JSON object, `@timestamp` from the event. Either way a document's id comes from its
//! event's id, so a redelivered batch (Lambda retries an asynchronous invocation that failed)
//! indexes nothing twice.

use super::EventSource;
use crate::function::Invocation;
use kelk_events::cloudwatch_logs::{LogData, LogEntry};
use kelk_runtime::opensearch::templates::Author;
use kelk_runtime::pipeline::Made;
use kelk_runtime::pipeline::document::{DailyIndex, document_id};
use kelk_runtime::source::{LogEventsRef, SourceRef};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

/// Where kept events go when their route names no index prefix.
pub const KEPT_PREFIX: &str = "logs-aws.cloudwatch_logs-default";

/// The mappings of kept events, over the shared ECS ones.
const KEPT_MAPPINGS: &str = include_str!("cloudwatch_logs.json");

static KEPT_SHA256: LazyLock<String> = LazyLock::new(|| hex::encode(Sha256::digest(KEPT_MAPPINGS)));

/// The host, as the author of the kept events' documents and of their index template.
pub fn kept_author() -> Author<'static> {
    Author {
        name: "kelk-host",
        version: env!("CARGO_PKG_VERSION"),
        sha256: &KEPT_SHA256,
        dataset: "aws.cloudwatch_logs",
        mappings: Some(KEPT_MAPPINGS),
    }
}

pub struct Subscription;

impl EventSource for Subscription {
    fn name(&self) -> &'static str {
        "cloudwatch_logs"
    }

    fn accepts(&self, event: &Value) -> bool {
        event["awslogs"]["data"].is_string()
    }

    fn handle(&self, event: &Value, invocation: &mut Invocation<'_>) -> anyhow::Result<Value> {
        let data = kelk_events::cloudwatch_logs::decode(event["awslogs"]["data"].as_str().unwrap_or_default())
            .map_err(anyhow::Error::msg)?;
        match data.message_type.as_str() {
            "DATA_MESSAGE" => {}
            "CONTROL_MESSAGE" => {
                tracing::info!(log_group = data.log_group, "CloudWatch Logs control message acknowledged");
                return Ok(json!({ "control_message": true }));
            }
            other => anyhow::bail!(
                "a CloudWatch Logs message of type `{other}` from log group {}; DATA_MESSAGE and CONTROL_MESSAGE are known",
                data.log_group
            ),
        }
        let events = data.log_events.iter().map(|e| (e.id.as_str(), e.message.as_str()));
        let (batch, input) = LogEventsRef::new(&data.log_group, &data.log_stream, events);
        let source = SourceRef::LogEvents(batch);
        let keep = |prefix: &str| kept(&data, &source, prefix);
        let counts =
            invocation.log_events(&data.log_group, &source, &input, keep).map_err(|f| anyhow::anyhow!(f.error))?;
        Ok(json!({ "log_group": data.log_group, "events": data.log_events.len(), "counts": counts }))
    }
}

/// Each event of the batch as a document of its own, into daily indices under `prefix`.
fn kept(data: &LogData, source: &SourceRef, prefix: &str) -> Vec<Made> {
    let SourceRef::LogEvents(batch) = source else { unreachable!("made from the batch above") };
    let mut index = DailyIndex::new(prefix);
    let mut offset = 0;
    data.log_events
        .iter()
        .zip(batch.first_lines())
        .map(|(event, line)| {
            let made = Made {
                index: index.of(event.timestamp).to_owned(),
                id: document_id(source, line, None),
                record_number: line,
                offset,
                source: kept_document(data, event).to_string().into_bytes(),
            };
            offset += event.message.len() as u64 + u64::from(!event.message.ends_with('\n'));
            made
        })
        .collect()
}

/// An event as ECS: its message without the line break that ends it, parsed too when it is a
/// JSON object; the log group and stream it came from.
fn kept_document(data: &LogData, event: &LogEntry) -> Value {
    let message = event.message.strip_suffix('\n').map_or(&event.message[..], |m| m.strip_suffix('\r').unwrap_or(m));
    let time = chrono::DateTime::from_timestamp_millis(event.timestamp).unwrap_or_default();
    let mut document = json!({
        "@timestamp": time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "message": message,
        "event": { "kind": "event", "dataset": "aws.cloudwatch_logs", "module": "aws" },
        "cloud": { "provider": "aws", "account": { "id": data.owner } },
        "aws": { "cloudwatch": {
            "log_group": data.log_group, "log_stream": data.log_stream, "event_id": event.id,
        } },
    });
    if message.trim_start().starts_with('{')
        && let Ok(fields @ Value::Object(_)) = serde_json::from_str::<Value>(message)
    {
        document["json"] = fields;
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_kept_as_ecs() {
        assert_eq!(super::super::source_of(&json!({ "awslogs": { "data": "" } })).unwrap().name(), "cloudwatch_logs");
        let data: LogData = serde_json::from_value(json!({
            "messageType": "DATA_MESSAGE", "owner": "123456789012",
            "logGroup": "/aws/lambda/orders", "logStream": "2025/03/02/[$LATEST]0123456789abcdef",
            "subscriptionFilters": ["kelk"],
            "logEvents": [
                { "id": "38480434938392483298247982349823498234982349823498230000", "timestamp": 1740909600123i64,
                  "message": "START RequestId: 8f5ed4d5 Version: $LATEST\n" },
                { "id": "38480434938392483298247982349823498234982349823498230001", "timestamp": 1740909600200i64,
                  "message": "{\"level\":\"INFO\",\"message\":\"order placed\",\"order\":{\"id\":42}}" },
            ]
        }))
        .unwrap();
        let (events, input) = LogEventsRef::new(
            &data.log_group,
            &data.log_stream,
            data.log_events.iter().map(|e| (e.id.as_str(), e.message.as_str())),
        );
        assert_eq!(input.iter().filter(|&&b| b == b'\n').count(), 2, "a line per event");
        let source = SourceRef::LogEvents(events);
        let made = kept(&data, &source, KEPT_PREFIX);
        assert_eq!(made[0].index, "logs-aws.cloudwatch_logs-default-2025.03.02");
        assert_eq!((made[0].record_number, made[1].record_number), (1, 2));
        assert_eq!(made[1].offset, 43);
        assert_ne!(made[0].id, made[1].id);
        let first: Value = serde_json::from_slice(&made[0].source).unwrap();
        assert_eq!(first["message"], "START RequestId: 8f5ed4d5 Version: $LATEST");
        assert_eq!(first["@timestamp"], "2025-03-02T10:00:00.123Z");
        assert_eq!(first["aws"]["cloudwatch"]["log_group"], "/aws/lambda/orders");
        assert!(first.get("json").is_none());
        let second: Value = serde_json::from_slice(&made[1].source).unwrap();
        assert_eq!(second["json"]["order"]["id"], 42);
        assert_eq!(second["message"], data.log_events[1].message);
        let errors =
            kelk_runtime::opensearch::mappings::Mappings::new("kelk-host", Some(KEPT_MAPPINGS)).unwrap().check(&second);
        assert!(errors.is_empty(), "{errors:?}");
    }
}
