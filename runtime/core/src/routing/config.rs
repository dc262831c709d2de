//! The routing config as written: pure data, checked when read. `kelk-plugin publish` edits
//! it; [`super::Router`] loads what it names.

use kelk_sandbox::PluginError;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The routing config, as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    pub version: u32,
    pub plugins: BTreeMap<String, PluginSource>,
    pub routes: Vec<Route>,
}

/// Where a plugin's component is, and what its sha256 must be.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSource {
    /// A local file, relative to the config.
    pub path: Option<String>,
    /// A key in the plugin bucket.
    pub key: Option<String>,
    pub sha256: Option<String>,
    /// A precompiled artifact of the component in the plugin bucket, for the host's target.
    pub precompiled_key: Option<String>,
    /// The artifact's sha256, which a `precompiled_key` must come with.
    pub precompiled_sha256: Option<String>,
}

/// Which inputs one plugin parses, and how.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The bucket; empty for local files.
    #[serde(default)]
    pub bucket: String,
    pub key_glob: Option<String>,
    /// A glob on the name of the Firehose delivery streams it transforms, instead of objects.
    pub delivery_stream: Option<String>,
    /// A glob on the name of the CloudWatch Logs log groups whose events it parses.
    pub log_group_glob: Option<String>,
    /// The plugin; only a log group's route may name none (its messages are kept as they are).
    pub plugin: Option<String>,
    /// The index prefix; the plugin's own when absent.
    pub index_prefix: Option<String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
}

/// Why a routing config cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("cannot read the routing config {path}: {message}")]
    Read { path: String, message: String },
    #[error("the routing config is not valid: {0}")]
    Invalid(String),
    #[error("plugin {plugin}: its sha256 is {actual}, the routing config expects {expected}; refusing it")]
    Sha256Mismatch { plugin: String, expected: String, actual: String },
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// A plugin's index template is not in the cluster: the cluster refused its mappings, or
    /// could not be asked.
    #[error(transparent)]
    Template(#[from] crate::opensearch::templates::TemplateError),
}

impl RoutingConfig {
    pub fn from_json(json: &[u8]) -> Result<Self, RoutingError> {
        let config: RoutingConfig = serde_json::from_slice(json).map_err(|e| RoutingError::Invalid(e.to_string()))?;
        if config.version != 1 {
            return Err(RoutingError::Invalid(format!("version {} is not supported (1 is)", config.version)));
        }
        for route in &config.routes {
            let to = route.plugin.as_deref().unwrap_or("no plugin");
            let targets = [&route.key_glob, &route.delivery_stream, &route.log_group_glob];
            if targets.iter().filter(|t| t.is_some()).count() != 1 {
                return Err(RoutingError::Invalid(format!(
                    "a route to `{to}` needs exactly one of `key_glob`, `delivery_stream` and `log_group_glob`"
                )));
            }
            match &route.plugin {
                None if route.log_group_glob.is_none() => {
                    return Err(RoutingError::Invalid(
                        "a route without a `plugin` must match log groups (`log_group_glob`)".into(),
                    ));
                }
                Some(plugin) if !config.plugins.contains_key(plugin) => {
                    return Err(RoutingError::Invalid(format!(
                        "a route names plugin `{plugin}`, which `plugins` does not list"
                    )));
                }
                _ => {}
            }
        }
        for (name, source) in &config.plugins {
            if source.path.is_some() == source.key.is_some() {
                return Err(RoutingError::Invalid(format!("plugin `{name}` needs exactly one of `path` and `key`")));
            }
        }
        Ok(config)
    }
}

/// Checks a precompiled artifact against the sha256 its config must give: an artifact is native
/// code, which the host runs as it is, without the checks a component gets.
pub(crate) fn verify_artifact(name: &str, source: &PluginSource, artifact: &[u8]) -> Result<(), RoutingError> {
    let actual = hex::encode(Sha256::digest(artifact));
    match &source.precompiled_sha256 {
        Some(expected) if expected.eq_ignore_ascii_case(&actual) => Ok(()),
        Some(expected) => Err(RoutingError::Sha256Mismatch {
            plugin: format!("{name} (its precompiled artifact)"),
            expected: expected.clone(),
            actual,
        }),
        None => Err(RoutingError::Invalid(format!(
            "plugin `{name}` has a precompiled_key without the artifact's precompiled_sha256"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_are_checked() {
        let ok = br#"{"version":1,"plugins":{"alb":{"path":"a.wasm"}},"routes":[{"key_glob":"*.log","plugin":"alb"}]}"#;
        let config = RoutingConfig::from_json(ok).unwrap();
        assert_eq!(config.routes[0].bucket, "");
        let stream =
            br#"{"version":1,"plugins":{"a":{"path":"a.wasm"}},"routes":[{"delivery_stream":"kelk-*","plugin":"a"}]}"#;
        assert_eq!(RoutingConfig::from_json(stream).unwrap().routes[0].delivery_stream.as_deref(), Some("kelk-*"));
        let groups = br#"{"version":1,"plugins":{"a":{"path":"a.wasm"}},"routes":[
            {"log_group_glob":"/aws/vpc/*","plugin":"a"},{"log_group_glob":"/aws/lambda/*"}]}"#;
        let groups = RoutingConfig::from_json(groups).unwrap();
        assert_eq!(groups.routes[1].log_group_glob.as_deref(), Some("/aws/lambda/*"));
        assert_eq!(groups.routes[1].plugin, None);
        for (bad, says) in [
            (&br#"{"version":2,"plugins":{},"routes":[]}"#[..], "version 2"),
            (br#"{"version":1,"plugins":{},"routes":[{"key_glob":"*","plugin":"x"}]}"#, "plugin `x`"),
            (br#"{"version":1,"plugins":{"a":{"path":"p","key":"k"}},"routes":[]}"#, "exactly one"),
            (br#"{"version":1,"plugins":{},"routes":[],"extra":1}"#, "unknown field"),
            (br#"not json"#, "not valid"),
            (br#"{"version":1,"plugins":{"a":{"path":"p"}},"routes":[{"plugin":"a"}]}"#, "exactly one of `key_glob`"),
            (br#"{"version":1,"plugins":{},"routes":[{"key_glob":"*"}]}"#, "without a `plugin`"),
            (
                br#"{"version":1,"plugins":{"a":{"path":"p"}},"routes":[{"key_glob":"*","log_group_glob":"g","plugin":"a"}]}"#,
                "exactly one of `key_glob`",
            ),
            (
                br#"{"version":1,"plugins":{"a":{"path":"p"}},"routes":[{"key_glob":"*","delivery_stream":"s","plugin":"a"}]}"#,
                "exactly one of `key_glob`",
            ),
        ] {
            let err = RoutingConfig::from_json(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
        }
    }
}
