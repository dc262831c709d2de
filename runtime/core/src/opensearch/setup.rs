//! Index setup, idempotent: a component template with the ECS mappings every dataset shares,
//! per dataset an index template for its daily indices (`logs-<dataset>-*`) with the
//! dataset's own fields, and, when a retention is given and the cluster has Index State
//! Management, an ISM policy deleting those indices after it. The mappings are the JSON files
//! in `templates/`.

use super::cluster::Cluster;
use opensearch::http::Method;
use serde_json::{Value, json};
use std::io;

/// The shared ECS component template.
const ECS: &str = include_str!("templates/kelk-ecs.json");

/// Each dataset's own mappings, merged into its index template.
pub const DATASETS: &[(&str, &str)] = &[
    ("aws.elb_logs", include_str!("templates/aws.elb_logs.json")),
    ("aws.cloudfront_logs", include_str!("templates/aws.cloudfront_logs.json")),
    ("aws.cloudtrail", include_str!("templates/aws.cloudtrail.json")),
    ("apache.access", include_str!("templates/apache.access.json")),
];

/// The security role the host and Firehose write as, on a cluster with fine-grained access
/// control.
pub const WRITER_ROLE: &str = "kelk_writer";

/// The permissions of [`WRITER_ROLE`]: index into `logs-*`, put KELK's templates and retention
/// policy, and read what setup checks.
pub fn writer_role() -> Value {
    json!({
        "description": "KELK: the host and Firehose index logs and put KELK's templates",
        "cluster_permissions": [
            "cluster_monitor",
            "cluster_composite_ops",
            "indices:admin/template/*",
            "indices:admin/index_template/*",
            "cluster:admin/component_template/*",
            "cluster:admin/opendistro/ism/*",
        ],
        "index_permissions": [{
            "index_patterns": ["logs-*"],
            "allowed_actions": ["crud", "create_index", "indices:admin/mapping/put", "indices:monitor/*"],
        }],
    })
}

/// Creates (or updates) [`WRITER_ROLE`] and maps these IAM role ARNs to it, through the
/// security plugin's API; run as the cluster's master user.
pub fn map_writers(cluster: &Cluster, role_arns: &[String]) -> io::Result<Vec<String>> {
    let api = "/_plugins/_security/api";
    cluster.request(Method::Put, &format!("{api}/roles/{WRITER_ROLE}"), Some(writer_role().to_string().as_bytes()))?;
    let mapping = json!({ "backend_roles": role_arns });
    cluster.request(Method::Put, &format!("{api}/rolesmapping/{WRITER_ROLE}"), Some(mapping.to_string().as_bytes()))?;
    Ok(vec![
        format!("{api}/roles/{WRITER_ROLE}"),
        format!("{api}/rolesmapping/{WRITER_ROLE} ← {}", role_arns.join(", ")),
    ])
}

/// The ISM policy's id.
pub const RETENTION_POLICY: &str = "kelk-retention";

/// Puts the templates and the retention policy; doing it again changes nothing. Returns the
/// names it put, and what it passed over.
pub fn setup(cluster: &Cluster, retention_days: Option<u32>) -> io::Result<Vec<String>> {
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
    if let Some(days) = retention_days {
        put.push(put_retention(cluster, days)?);
    }
    Ok(put)
}

/// The ISM policy: each daily index is deleted `days` after its creation.
pub fn retention_policy(days: u32) -> Value {
    json!({ "policy": {
        "description": format!("KELK: delete daily log indices {days} days after their creation"),
        "default_state": "hot",
        "states": [
            { "name": "hot", "actions": [], "transitions": [{ "state_name": "delete", "conditions": { "min_index_age": format!("{days}d") } }] },
            { "name": "delete", "actions": [{ "delete": {} }], "transitions": [] },
        ],
        "ism_template": [{
            "index_patterns": DATASETS.iter().map(|(dataset, _)| format!("logs-{dataset}-*")).collect::<Vec<_>>(),
            "priority": 100,
        }],
    }})
}

/// Creates or updates the retention policy, if the cluster has ISM.
fn put_retention(cluster: &Cluster, days: u32) -> io::Result<String> {
    let plugins = cluster.request(Method::Get, "/_cat/plugins?format=json", None)?.unwrap_or_default();
    let has_ism = plugins.as_array().is_some_and(|p| p.iter().any(|p| p["component"] == "opensearch-index-management"));
    if !has_ism {
        tracing::warn!("the cluster has no Index State Management plugin: no retention policy");
        return Ok(format!("(no ISM plugin: {RETENTION_POLICY} not put)"));
    }
    let path = format!("/_plugins/_ism/policies/{RETENTION_POLICY}");
    // An update must name the version it replaces.
    let path = match cluster.request(Method::Get, &path, None)? {
        Some(current) => {
            format!("{path}?if_seq_no={}&if_primary_term={}", current["_seq_no"], current["_primary_term"])
        }
        None => path,
    };
    cluster.request(Method::Put, &path, Some(retention_policy(days).to_string().as_bytes()))?;
    Ok(format!("_plugins/_ism/policies/{RETENTION_POLICY}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_and_the_writer_role_cover_every_dataset() {
        let policy = retention_policy(30);
        assert_eq!(policy["policy"]["states"][0]["transitions"][0]["conditions"]["min_index_age"], "30d");
        let patterns = &policy["policy"]["ism_template"][0]["index_patterns"];
        let role = writer_role();
        let writable = role["index_permissions"][0]["index_patterns"][0].as_str().unwrap().trim_end_matches('*');
        for (dataset, _) in DATASETS {
            let pattern = format!("logs-{dataset}-*");
            assert!(patterns.as_array().unwrap().contains(&json!(pattern)), "{pattern}");
            assert!(pattern.starts_with(writable), "{pattern}");
        }
    }
}
