//! CloudWatch metrics as Embedded Metric Format lines: one JSON line on stdout per invocation,
//! which Lambda's log pipeline turns into metrics (namespace `KELK`, dimension `FunctionName`),
//! with no API call on the hot path. The Terraform alarms watch `DeadLettered`.

use kelk_runtime::opensearch::BulkStats;
use kelk_runtime::pipeline::Counts;
use serde_json::{Map, Value, json};
use std::time::Duration;

pub const NAMESPACE: &str = "KELK";

/// What an invocation did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    pub counts: Counts,
    pub bulk: BulkStats,
    /// Objects a plugin failed on (trap, deadline, memory cap, broken contract).
    pub plugin_errors: u64,
    /// Routing configs refused (unreadable, invalid, a plugin's sha256 not the config's).
    pub config_refused: u64,
    /// Objects whose content the event meant was replaced before it was read (the new
    /// content's own event indexes it).
    pub superseded: u64,
    /// Objects taken up at an earlier attempt's checkpoint.
    pub resumed: u64,
    /// Bulk requests the process may have under way at once, at the end of the invocation.
    pub bulk_concurrency: u64,
}

/// The EMF line for an invocation's work.
pub fn emf_line(function: &str, tally: &Tally, duration: Duration, timestamp_ms: i64) -> String {
    let Tally { counts, bulk, .. } = tally;
    let values: [(&str, &str, u64); 19] = [
        ("Objects", "Count", counts.objects),
        ("FailedObjects", "Count", counts.failed_objects),
        ("Records", "Count", counts.records()),
        ("Documents", "Count", counts.documents),
        ("Rejected", "Count", counts.rejected),
        ("Skipped", "Count", counts.skipped),
        ("Indexed", "Count", bulk.indexed),
        ("AlreadyIndexed", "Count", bulk.already_indexed),
        ("DeadLettered", "Count", counts.rejected + bulk.refused),
        ("BulkRetries", "Count", bulk.retries),
        ("BulkSplits", "Count", bulk.splits),
        ("BulkConcurrency", "Count", tally.bulk_concurrency),
        ("IgnoredFields", "Count", bulk.ignored_fields),
        ("PluginErrors", "Count", tally.plugin_errors),
        ("RoutingConfigRefused", "Count", tally.config_refused),
        ("SupersededObjects", "Count", tally.superseded),
        ("ResumedObjects", "Count", tally.resumed),
        ("Bytes", "Bytes", counts.bytes),
        ("Duration", "Milliseconds", duration.as_millis() as u64),
    ];
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["FunctionName"]],
                "Metrics": values.iter().map(|(name, unit, _)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        }),
    );
    line.insert("FunctionName".into(), json!(function));
    for (name, _, value) in values {
        line.insert(name.into(), json!(value));
    }
    Value::Object(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_declares_every_value_it_carries() {
        let counts = Counts { objects: 2, failed_objects: 1, bytes: 1000, documents: 7, rejected: 2, skipped: 1 };
        let bulk = BulkStats { indexed: 5, already_indexed: 1, refused: 1, retries: 3, splits: 0, ignored_fields: 2 };
        let tally =
            Tally { counts, bulk, plugin_errors: 1, config_refused: 0, superseded: 1, resumed: 1, bulk_concurrency: 4 };
        let line: Value =
            serde_json::from_str(&emf_line("kelk-host", &tally, Duration::from_millis(1500), 1_700_000_000_000))
                .unwrap();
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "KELK");
        assert_eq!(declared["Dimensions"], json!([["FunctionName"]]));
        assert_eq!(line["FunctionName"], "kelk-host");
        for metric in declared["Metrics"].as_array().unwrap() {
            assert!(line[metric["Name"].as_str().unwrap()].is_u64(), "{metric}");
        }
        assert_eq!(line["Records"], 10);
        assert_eq!(line["DeadLettered"], 3, "rejected lines and documents OpenSearch refused");
        assert_eq!(line["Duration"], 1500);
        assert_eq!(line["PluginErrors"], 1);
        assert_eq!(line["SupersededObjects"], 1);
        assert_eq!(line["ResumedObjects"], 1);
        assert_eq!(line["BulkConcurrency"], 4);
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000i64);
    }
}
