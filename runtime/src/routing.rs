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
//!       "plugin": "alb", "index_prefix": "logs-aws.elb_logs-default", "options": {} },
//!     { "delivery_stream": "kelk-apache*", "plugin": "apache" }
//!   ]
//! }
//! ```
//!
//! A plugin is a local `path` (relative to the config file) or an S3 `key` in the plugin
//! bucket; its `sha256`, when given, must match or the plugin is refused. A route matches
//! objects (`bucket`, empty for local files, and `key_glob`) or Firehose batches
//! (`delivery_stream`, the stream's name). Routes are tried in order and the first match
//! wins; a Firehose stream no route names goes to the plugin named `apache`. In a glob, `*`
//! matches any characters, `/` included, and `?` one character.

use crate::document::ObjectRef;
use crate::engine::Host;
use crate::plugin::{Plugin, PluginError};
use globset::{Glob, GlobMatcher};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

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
    pub key_glob: Option<String>,
    /// A glob on the name of the Firehose delivery streams it transforms, instead of objects.
    pub delivery_stream: Option<String>,
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
            if route.key_glob.is_some() == route.delivery_stream.is_some() {
                return Err(RoutingError::Invalid(format!(
                    "a route to `{}` needs exactly one of `key_glob` and `delivery_stream`",
                    route.plugin
                )));
            }
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

/// What a route matches.
enum Matches {
    Objects { bucket: String, key: GlobMatcher },
    Stream(GlobMatcher),
}

/// A route made ready: its glob compiled, its plugin loaded.
struct Compiled {
    matches: Matches,
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

/// The plugin a Firehose stream gets when no route names it.
pub const DEFAULT_STREAM_PLUGIN: &str = "apache";

/// Routes objects to loaded plugins.
pub struct Router {
    routes: Vec<Compiled>,
    plugins: HashMap<String, Arc<Plugin>>,
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
        Self::build(config, |name, source| match (&source.path, &source.key) {
            (Some(path), _) => {
                let wasm = read(&base.join(path))?;
                verify(name, source, &wasm)?;
                Ok(Arc::new(host.load(name, &wasm)?))
            }
            _ => Err(RoutingError::Invalid(format!(
                "plugin `{name}` is in S3 (`key`); a local routing config needs `path`"
            ))),
        })
    }

    /// Builds a router from a config, loading each plugin with `load`.
    pub fn build(
        config: RoutingConfig,
        mut load: impl FnMut(&str, &PluginSource) -> Result<Arc<Plugin>, RoutingError>,
    ) -> Result<Self, RoutingError> {
        let mut plugins = HashMap::new();
        for (name, source) in &config.plugins {
            plugins.insert(name.clone(), load(name, source)?);
        }
        let glob = |glob: &str| {
            Glob::new(glob)
                .map(|g| g.compile_matcher())
                .map_err(|e| RoutingError::Invalid(format!("glob `{glob}`: {e}")))
        };
        let routes = config
            .routes
            .into_iter()
            .map(|r| {
                let matches = match (&r.key_glob, &r.delivery_stream) {
                    (Some(key), _) => Matches::Objects { bucket: r.bucket, key: glob(key)? },
                    (None, Some(stream)) => Matches::Stream(glob(stream)?),
                    (None, None) => unreachable!("checked by RoutingConfig::from_json"),
                };
                Ok(Compiled {
                    matches,
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
        let route = self.routes.iter().find(|r| {
            matches!(&r.matches, Matches::Objects { bucket, key } if *bucket == object.bucket && key.is_match(&object.key))
        })?;
        Some(self.routed(route))
    }

    /// The plugin transforming a Firehose delivery stream's batches: the first route naming
    /// the stream, else the plugin named [`DEFAULT_STREAM_PLUGIN`].
    pub fn route_stream(&self, stream: &str) -> Option<Routed<'_>> {
        match self.routes.iter().find(|r| matches!(&r.matches, Matches::Stream(glob) if glob.is_match(stream))) {
            Some(route) => Some(self.routed(route)),
            None => self.plugins.get(DEFAULT_STREAM_PLUGIN).map(|plugin| Routed {
                plugin,
                index_prefix: None,
                options: &[],
            }),
        }
    }

    fn routed<'r>(&'r self, route: &'r Compiled) -> Routed<'r> {
        Routed {
            plugin: &self.plugins[&route.plugin],
            index_prefix: route.index_prefix.as_deref(),
            options: &route.options,
        }
    }

    /// The loaded plugins, by name.
    pub fn plugins(&self) -> impl Iterator<Item = (&str, &Arc<Plugin>)> {
        self.plugins.iter().map(|(name, plugin)| (name.as_str(), plugin))
    }
}

/// Checks a plugin's bytes against the sha256 its config gives, if any.
pub fn verify(name: &str, source: &PluginSource, wasm: &[u8]) -> Result<(), RoutingError> {
    let actual = hex::encode(Sha256::digest(wasm));
    match source.sha256.as_ref().filter(|e| !e.eq_ignore_ascii_case(&actual)) {
        Some(expected) => Err(RoutingError::Sha256Mismatch { plugin: name.into(), expected: expected.clone(), actual }),
        None => Ok(()),
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
        for (bad, says) in [
            (&br#"{"version":2,"plugins":{},"routes":[]}"#[..], "version 2"),
            (br#"{"version":1,"plugins":{},"routes":[{"key_glob":"*","plugin":"x"}]}"#, "plugin `x`"),
            (br#"{"version":1,"plugins":{"a":{"path":"p","key":"k"}},"routes":[]}"#, "exactly one"),
            (br#"{"version":1,"plugins":{},"routes":[],"extra":1}"#, "unknown field"),
            (br#"not json"#, "not valid"),
            (br#"{"version":1,"plugins":{"a":{"path":"p"}},"routes":[{"plugin":"a"}]}"#, "exactly one of `key_glob`"),
            (
                br#"{"version":1,"plugins":{"a":{"path":"p"}},"routes":[{"key_glob":"*","delivery_stream":"s","plugin":"a"}]}"#,
                "exactly one of `key_glob`",
            ),
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
