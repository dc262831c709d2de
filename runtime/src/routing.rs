//! Routing: which plugin parses which object, from a routing config.
//!
//! The config is JSON, the same in S3 (written by Terraform, `infra/modules/plugin_store`) and
//! on local disk:
//!
//! ```json
//! {
//!   "version": 1,
//!   "plugins": { "alb": { "path": "kelk_parser_alb.wasm", "sha256": "…" } },
//!   "routes": [
//!     { "bucket": "my-alb-logs", "key_glob": "alb/AWSLogs/*/elasticloadbalancing/*",
//!       "plugin": "alb", "index_prefix": "logs-aws.elb_logs-default", "options": {} }
//!   ]
//! }
//! ```
//!
//! A plugin is a local `path` (relative to the config file) or an S3 `key` in the plugin
//! bucket; its `sha256`, when given, must match or the plugin is refused. Routes are tried in
//! order; the first whose bucket (empty for local files) and key glob match wins. In a glob,
//! `*` matches any characters, `/` included, and `?` one character.

use crate::document::ObjectRef;
use crate::engine::Host;
use crate::plugin::{Plugin, PluginError};
use globset::{Glob, GlobMatcher};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

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
}

/// Which objects one plugin parses, and how.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The bucket; empty for local files.
    #[serde(default)]
    pub bucket: String,
    pub key_glob: String,
    pub plugin: String,
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
}

impl RoutingConfig {
    pub fn from_json(json: &[u8]) -> Result<Self, RoutingError> {
        let config: RoutingConfig = serde_json::from_slice(json).map_err(|e| RoutingError::Invalid(e.to_string()))?;
        if config.version != 1 {
            return Err(RoutingError::Invalid(format!("version {} is not supported (1 is)", config.version)));
        }
        for route in &config.routes {
            if !config.plugins.contains_key(&route.plugin) {
                return Err(RoutingError::Invalid(format!(
                    "a route names plugin `{}`, which `plugins` does not list",
                    route.plugin
                )));
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

/// A route made ready: its glob compiled, its plugin loaded.
struct Compiled {
    bucket: String,
    glob: GlobMatcher,
    plugin: String,
    index_prefix: Option<String>,
    options: Vec<(String, String)>,
}

/// What a matched route says about an object.
pub struct Routed<'r> {
    pub plugin: &'r Plugin,
    pub index_prefix: Option<&'r str>,
    pub options: &'r [(String, String)],
}

/// Routes objects to loaded plugins.
pub struct Router {
    routes: Vec<Compiled>,
    plugins: HashMap<String, Plugin>,
}

impl Router {
    /// Loads a local routing config and its plugins (paths relative to the config's folder).
    pub fn load_local(host: &Host, config_path: &Path) -> Result<Self, RoutingError> {
        let read = |path: &Path| {
            std::fs::read(path)
                .map_err(|e| RoutingError::Read { path: path.display().to_string(), message: e.to_string() })
        };
        let config = RoutingConfig::from_json(&read(config_path)?)?;
        let base = config_path.parent().unwrap_or(Path::new("."));
        Self::build(host, config, |name, source| match (&source.path, &source.key) {
            (Some(path), _) => read(&base.join(path)),
            _ => Err(RoutingError::Invalid(format!(
                "plugin `{name}` is in S3 (`key`); a local routing config needs `path`"
            ))),
        })
    }

    /// Builds a router from a config, fetching each plugin's bytes with `fetch`.
    pub fn build(
        host: &Host,
        config: RoutingConfig,
        mut fetch: impl FnMut(&str, &PluginSource) -> Result<Vec<u8>, RoutingError>,
    ) -> Result<Self, RoutingError> {
        let mut plugins = HashMap::new();
        for (name, source) in &config.plugins {
            let wasm = fetch(name, source)?;
            let actual = hex::encode(Sha256::digest(&wasm));
            if let Some(expected) = source.sha256.as_ref().filter(|e| !e.eq_ignore_ascii_case(&actual)) {
                return Err(RoutingError::Sha256Mismatch { plugin: name.clone(), expected: expected.clone(), actual });
            }
            plugins.insert(name.clone(), host.load(name, &wasm)?);
        }
        let routes = config
            .routes
            .into_iter()
            .map(|r| {
                let glob = Glob::new(&r.key_glob)
                    .map_err(|e| RoutingError::Invalid(format!("key_glob `{}`: {e}", r.key_glob)))?;
                Ok(Compiled {
                    bucket: r.bucket,
                    glob: glob.compile_matcher(),
                    plugin: r.plugin,
                    index_prefix: r.index_prefix,
                    options: r.options.into_iter().collect(),
                })
            })
            .collect::<Result<_, RoutingError>>()?;
        Ok(Router { routes, plugins })
    }

    /// The first route matching the object, if any.
    pub fn route(&self, object: &ObjectRef) -> Option<Routed<'_>> {
        let route = self.routes.iter().find(|r| r.bucket == object.bucket && r.glob.is_match(&object.key))?;
        Some(Routed {
            plugin: &self.plugins[&route.plugin],
            index_prefix: route.index_prefix.as_deref(),
            options: &route.options,
        })
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
        for (bad, says) in [
            (&br#"{"version":2,"plugins":{},"routes":[]}"#[..], "version 2"),
            (br#"{"version":1,"plugins":{},"routes":[{"key_glob":"*","plugin":"x"}]}"#, "plugin `x`"),
            (br#"{"version":1,"plugins":{"a":{"path":"p","key":"k"}},"routes":[]}"#, "exactly one"),
            (br#"{"version":1,"plugins":{},"routes":[],"extra":1}"#, "unknown field"),
            (br#"not json"#, "not valid"),
        ] {
            let err = RoutingConfig::from_json(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn globs_match_across_slashes() {
        let glob = Glob::new("alb/AWSLogs/*/elasticloadbalancing/*").unwrap().compile_matcher();
        assert!(glob.is_match("alb/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2025/03/02/x.log.gz"));
        assert!(!glob.is_match("cloudfront/E2X.2025-03-02-10.abc.gz"));
    }
}
