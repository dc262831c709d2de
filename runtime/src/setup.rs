//! Index setup, idempotent: a component template with the ECS mappings every dataset shares,
//! and per dataset an index template for its daily indices (`logs-<dataset>-*`) with the
//! dataset's own fields. The mappings live in `runtime/setup/` as JSON.

use crate::cluster::Cluster;
use opensearch::http::Method;
use serde_json::{Value, json};
use std::io;

/// The shared ECS component template.
const ECS: &str = include_str!("../setup/kelk-ecs.json");

/// Each dataset's own mappings, merged into its index template.
pub const DATASETS: &[(&str, &str)] = &[
    ("aws.elb_logs", include_str!("../setup/aws.elb_logs.json")),
    ("aws.cloudfront_logs", include_str!("../setup/aws.cloudfront_logs.json")),
    ("aws.cloudtrail", include_str!("../setup/aws.cloudtrail.json")),
    ("apache.access", include_str!("../setup/apache.access.json")),
];

/// Puts the templates; doing it again changes nothing. Returns the names it put.
pub fn setup(cluster: &Cluster) -> io::Result<Vec<String>> {
    let mut put = Vec::new();
    cluster.request(Method::Put, "/_component_template/kelk-ecs", Some(ECS.as_bytes()))?;
    put.push("_component_template/kelk-ecs".to_owned());
    for (dataset, mappings) in DATASETS {
        let properties: Value = serde_json::from_str(mappings).map_err(io::Error::other)?;
        let template = json!({
            "index_patterns": [format!("logs-{dataset}-*")],
            // Above anything generic that might match `logs-*`.
            "priority": 200,
            "composed_of": ["kelk-ecs"],
            "template": { "mappings": { "properties": properties } },
            "_meta": { "managed_by": "kelk", "dataset": dataset },
        });
        let name = format!("kelk-{dataset}");
        cluster.request(Method::Put, &format!("/_index_template/{name}"), Some(template.to_string().as_bytes()))?;
        put.push(format!("_index_template/{name}"));
    }
    Ok(put)
}
