//! OpenSearch Dashboards saved objects for import (Dashboards Management → Saved objects →
//! Import, or `POST /api/saved_objects/_import`), from what each plugin says of its documents:
//! per plugin and index prefix an index pattern on the daily indices with the plugin's time
//! field, a visualization of events over time, one of the top values of each of the plugin's
//! main fields, and a dashboard holding them. Ids are fixed, so an import again replaces rather
//! than duplicates.

use super::mappings::{Mappings, MappingsError};
use kelk_sandbox::Plugin;
use serde_json::{Value, json};

/// Why a plugin's dashboard cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error(transparent)]
    Mappings(#[from] MappingsError),
    #[error(
        "plugin {plugin}: its dashboard shows `{field}`, which its mappings do not make aggregatable (a keyword, number, ip, date or boolean)"
    )]
    NotAggregatable { plugin: String, field: String },
}

/// The saved objects, one JSON object per line.
pub fn saved_objects(destinations: &[(&Plugin, &str)]) -> Result<String, DashboardError> {
    let mut lines = Vec::new();
    for (plugin, prefix) in destinations {
        let mappings = Mappings::of(plugin)?;
        let (title, time_field, top_fields) = match &plugin.description {
            Some(d) => (d.dashboard.title.clone(), d.dashboard.time_field.as_str(), &d.dashboard.top_fields[..]),
            // A 1.0 plugin says nothing of its documents but their dataset.
            None => (plugin.info.dataset.clone(), "@timestamp", &[][..]),
        };
        for field in std::iter::once(time_field).chain(top_fields.iter().map(String::as_str)) {
            if !mappings.aggregatable(field) {
                return Err(DashboardError::NotAggregatable { plugin: plugin.info.name.clone(), field: field.into() });
            }
        }
        let pattern = format!("kelk-{prefix}");
        lines.push(json!({
            "type": "index-pattern", "id": pattern,
            "attributes": { "title": format!("{prefix}-*"), "timeFieldName": time_field },
            "references": [],
        }));
        let mut parts = vec![visualization(
            &pattern,
            "over-time",
            &format!("{title}: events over time"),
            "histogram",
            json!({
                "id": "2", "type": "date_histogram", "schema": "segment",
                "params": { "field": time_field, "interval": "auto", "min_doc_count": 1 },
            }),
        )];
        parts.extend(top_fields.iter().map(|field| {
            visualization(
                &pattern,
                &format!("top-{field}"),
                &format!("{title}: top {field}"),
                "table",
                json!({
                    "id": "2", "type": "terms", "schema": "bucket",
                    "params": { "field": field, "size": 10, "order": "desc", "orderBy": "1" },
                }),
            )
        }));
        let references: Vec<Value> = parts
            .iter()
            .enumerate()
            .map(|(i, v)| json!({ "name": format!("panel_{i}"), "type": "visualization", "id": v["id"] }))
            .collect();
        // Two panels a row, the time histogram first.
        let panels: Vec<Value> = (0..parts.len())
            .map(|i| {
                json!({
                    "panelIndex": (i + 1).to_string(), "panelRefName": format!("panel_{i}"), "embeddableConfig": {},
                    "gridData": { "x": 24 * (i % 2), "y": 15 * (i / 2), "w": 24, "h": 15, "i": (i + 1).to_string() },
                })
            })
            .collect();
        lines.push(json!({
            "type": "dashboard", "id": format!("{pattern}-dashboard"),
            "attributes": {
                "title": format!("KELK: {title}"),
                "panelsJSON": Value::Array(panels).to_string(),
                "optionsJSON": json!({ "useMargins": true, "hidePanelTitles": false }).to_string(),
                "timeRestore": false,
                "kibanaSavedObjectMeta": { "searchSourceJSON": json!({ "query": { "query": "", "language": "kuery" }, "filter": [] }).to_string() },
            },
            "references": references,
        }));
        lines.extend(parts);
    }
    Ok(lines.iter().map(|l| format!("{l}\n")).collect())
}

/// A visualization counting documents of the index pattern, bucketed by `bucket`.
fn visualization(pattern: &str, id: &str, title: &str, kind: &str, bucket: Value) -> Value {
    let id = format!("{pattern}-{id}");
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
