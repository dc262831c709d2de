//! OpenSearch Dashboards saved objects for import (Dashboards Management → Saved objects →
//! Import, or `POST /api/saved_objects/_import`): per dataset an index pattern on its daily
//! indices with `@timestamp` as time field, two visualizations (events over time, and the top
//! values of the dataset's main field), and a dashboard holding them. Ids are fixed, so an import
//! again replaces rather than duplicates.

use super::setup::DATASETS;
use serde_json::{Value, json};

/// Each dataset's title and the field whose top values its dashboard shows.
const VIEWS: &[(&str, &str, &str)] = &[
    ("aws.elb_logs", "ALB access logs", "http.response.status_code"),
    ("aws.cloudfront_logs", "CloudFront access logs", "http.response.status_code"),
    ("aws.cloudtrail", "CloudTrail events", "event.action"),
    ("apache.access", "Apache access logs", "http.response.status_code"),
];

/// The saved objects, one JSON object per line.
pub fn saved_objects() -> String {
    debug_assert_eq!(VIEWS.len(), DATASETS.len());
    let mut lines = Vec::new();
    for (dataset, title, field) in VIEWS {
        let pattern = format!("kelk-{dataset}");
        lines.push(json!({
            "type": "index-pattern", "id": pattern,
            "attributes": { "title": format!("logs-{dataset}-*"), "timeFieldName": "@timestamp" },
            "references": [],
        }));
        let over_time = visualization(
            &pattern,
            &format!("{title}: events over time"),
            "histogram",
            json!({
                "id": "2", "type": "date_histogram", "schema": "segment",
                "params": { "field": "@timestamp", "interval": "auto", "min_doc_count": 1 },
            }),
        );
        let top = visualization(
            &pattern,
            &format!("{title}: top {field}"),
            "table",
            json!({
                "id": "2", "type": "terms", "schema": "bucket",
                "params": { "field": field, "size": 10, "order": "desc", "orderBy": "1" },
            }),
        );
        let parts = [&over_time, &top];
        let references: Vec<Value> = parts
            .iter()
            .enumerate()
            .map(|(i, v)| json!({ "name": format!("panel_{i}"), "type": "visualization", "id": v["id"] }))
            .collect();
        let panels: Vec<Value> = (0..parts.len())
            .map(|i| {
                json!({
                    "panelIndex": (i + 1).to_string(), "panelRefName": format!("panel_{i}"), "embeddableConfig": {},
                    "gridData": { "x": 24 * i, "y": 0, "w": 24, "h": 15, "i": (i + 1).to_string() },
                })
            })
            .collect();
        lines.push(json!({
            "type": "dashboard", "id": format!("kelk-{dataset}-dashboard"),
            "attributes": {
                "title": format!("KELK: {title}"),
                "panelsJSON": Value::Array(panels).to_string(),
                "optionsJSON": json!({ "useMargins": true, "hidePanelTitles": false }).to_string(),
                "timeRestore": false,
                "kibanaSavedObjectMeta": { "searchSourceJSON": json!({ "query": { "query": "", "language": "kuery" }, "filter": [] }).to_string() },
            },
            "references": references,
        }));
        lines.extend([over_time, top]);
    }
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// A visualization counting documents of the index pattern, bucketed by `bucket`.
fn visualization(pattern: &str, title: &str, kind: &str, bucket: Value) -> Value {
    let id = format!("{pattern}-{}", if kind == "histogram" { "over-time" } else { "top" });
    let state = json!({
        "title": title, "type": kind, "params": { "addLegend": kind == "histogram", "perPage": 10 },
        "aggs": [{ "id": "1", "type": "count", "schema": "metric", "params": {} }, bucket],
    });
    json!({
        "type": "visualization", "id": id,
        "attributes": {
            "title": title, "visState": state.to_string(), "uiStateJSON": "{}", "description": "",
            "kibanaSavedObjectMeta": { "searchSourceJSON": json!({
                "indexRefName": "kibanaSavedObjectMeta.searchSourceJSON.index",
                "query": { "query": "", "language": "kuery" }, "filter": [],
            }).to_string() },
        },
        "references": [{ "name": "kibanaSavedObjectMeta.searchSourceJSON.index", "type": "index-pattern", "id": pattern }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_reference_resolves_and_every_field_is_templated() {
        let objects: Vec<Value> = saved_objects().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let ids: HashSet<(String, String)> =
            objects.iter().map(|o| (o["type"].as_str().unwrap().into(), o["id"].as_str().unwrap().into())).collect();
        assert_eq!(ids.len(), objects.len(), "ids are unique");
        assert_eq!(objects.iter().filter(|o| o["type"] == "dashboard").count(), DATASETS.len());
        for object in &objects {
            for r in object["references"].as_array().unwrap() {
                let target = (r["type"].as_str().unwrap().to_owned(), r["id"].as_str().unwrap().to_owned());
                assert!(ids.contains(&target), "{} refers to missing {target:?}", object["id"]);
            }
            for (key, value) in object["attributes"].as_object().unwrap() {
                if key.ends_with("JSON") || key == "visState" {
                    serde_json::from_str::<Value>(value.as_str().unwrap()).unwrap_or_else(|e| panic!("{key}: {e}"));
                }
            }
        }
        // Each field a visualization aggregates on is mapped (as an aggregatable type) by the
        // dataset's template or the shared ECS one.
        let ecs: Value = serde_json::from_str(include_str!("templates/kelk-ecs.json")).unwrap();
        for (dataset, mappings) in DATASETS {
            let own: Value = serde_json::from_str(mappings).unwrap();
            let (_, _, field) = VIEWS.iter().find(|(d, ..)| d == dataset).unwrap();
            for field in ["@timestamp", field] {
                let path: String = field.split('.').map(|p| format!("/properties/{p}")).collect();
                let mapped = own.pointer(&path[11..]).or_else(|| ecs.pointer(&format!("/template/mappings{path}")));
                let kind =
                    mapped.and_then(|m| m["type"].as_str()).unwrap_or_else(|| panic!("{dataset}: {field} unmapped"));
                assert!(
                    ["date", "keyword", "long", "integer", "short"].contains(&kind),
                    "{dataset}: {field} is {kind}"
                );
            }
        }
    }
}
