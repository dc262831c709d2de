//! Setup, idempotent: the index templates of the plugins given (see [`super::templates`]), and,
//! when a retention is given and the cluster has Index State Management, an ISM policy deleting
//! KELK's daily indices after it; the security role the writers get.

use super::cluster::Cluster;
use super::templates::{Installed, Templates};
use kelk_sandbox::Plugin;
use opensearch::http::Method;
use serde_json::{Value, json};
use std::io;

/// The security role the host and Firehose write as, on a cluster with fine-grained access
/// control.
pub const WRITER_ROLE: &str = "kelk_writer";

/// The permissions of [`WRITER_ROLE`]: index into `logs-*` (and refresh and search what it
/// indexed, for the fields OpenSearch ignored), put KELK's templates and retention policy, and
/// read what setup checks.
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
            "allowed_actions": ["crud", "create_index", "indices:admin/mapping/put", "indices:admin/refresh*", "indices:monitor/*"],
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

/// Puts the index template of each plugin for its index prefix, and the retention policy over
/// every KELK template's indices; doing it again changes nothing. Returns what it did.
pub fn setup(
    cluster: &Cluster,
    destinations: &[(&Plugin, &str)],
    retention_days: Option<u32>,
) -> io::Result<Vec<String>> {
    let destinations = destinations.iter().map(|(plugin, prefix)| ((*plugin).into(), *prefix));
    let installed = Templates::default().install_all(cluster, destinations).map_err(io::Error::other)?;
    let mut done: Vec<String> = installed
        .into_iter()
        .map(|(_, installed)| match installed {
            Installed::Put(name) => format!("put _index_template/{name}"),
            Installed::Present(name) => format!("kept _index_template/{name}"),
            Installed::Superseded { ours, by } => format!("left _index_template/{ours}: {by} is newer"),
        })
        .collect();
    if let Some(days) = retention_days {
        done.push(put_retention(cluster, days)?);
    }
    Ok(done)
}

/// The ISM policy: each daily index matching `patterns` is deleted `days` after its creation.
pub fn retention_policy(days: u32, patterns: &[String]) -> Value {
    json!({ "policy": {
        "description": format!("KELK: delete daily log indices {days} days after their creation"),
        "default_state": "hot",
        "states": [
            { "name": "hot", "actions": [], "transitions": [{ "state_name": "delete", "conditions": { "min_index_age": format!("{days}d") } }] },
            { "name": "delete", "actions": [{ "delete": {} }], "transitions": [] },
        ],
        "ism_template": [{ "index_patterns": patterns, "priority": 100 }],
    }})
}

/// The index patterns of every KELK template in the cluster.
fn kelk_patterns(cluster: &Cluster) -> io::Result<Vec<String>> {
    let found = cluster.request(Method::Get, "/_index_template/kelk-*", None)?.unwrap_or_default();
    let mut patterns: Vec<String> = found["index_templates"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["index_template"]["_meta"]["managed_by"] == "kelk")
        .flat_map(|t| t["index_template"]["index_patterns"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p.as_str().map(str::to_owned))
        .collect();
    patterns.sort();
    patterns.dedup();
    Ok(patterns)
}

/// Creates or updates the retention policy, if the cluster has ISM.
pub fn put_retention(cluster: &Cluster, days: u32) -> io::Result<String> {
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
    let patterns = kelk_patterns(cluster)?;
    if patterns.is_empty() {
        return Ok(format!("(no KELK index templates: {RETENTION_POLICY} not put)"));
    }
    cluster.request(Method::Put, &path, Some(retention_policy(days, &patterns).to_string().as_bytes()))?;
    Ok(format!("put _plugins/_ism/policies/{RETENTION_POLICY} over {}", patterns.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_covers_its_patterns_and_the_writer_role_every_kelk_index() {
        let patterns = ["logs-myapp.access-default-*".to_owned(), "logs-test.x-default-*".to_owned()];
        let policy = retention_policy(30, &patterns);
        assert_eq!(policy["policy"]["states"][0]["transitions"][0]["conditions"]["min_index_age"], "30d");
        assert_eq!(policy["policy"]["ism_template"][0]["index_patterns"], json!(patterns));
        let role = writer_role();
        assert_eq!(role["index_permissions"][0]["index_patterns"], json!(["logs-*"]));
    }
}
