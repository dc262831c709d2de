//! A routing config made ready: its globs compiled, its plugins loaded into the sandbox.

use super::config::{PluginSource, RoutingConfig, RoutingError, verify_artifact};
use crate::source::ObjectRef;
use globset::{Glob, GlobMatcher};
use kelk_sandbox::{Plugin, PluginError, Sandbox};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// What a route matches.
enum Target {
    Objects { bucket: String, key: GlobMatcher },
    Stream(GlobMatcher),
    LogGroup(GlobMatcher),
}

/// A route made ready: its glob compiled, its plugin loaded.
struct ReadyRoute {
    target: Target,
    /// None only for a log group's route.
    plugin: Option<String>,
    index_prefix: Option<String>,
    options: Vec<(String, String)>,
}

/// What a matched route says about an object.
pub struct Routed<'r> {
    pub plugin: &'r Plugin,
    pub index_prefix: Option<&'r str>,
    pub options: &'r [(String, String)],
}

/// What a log group's route says about its events.
pub enum LogGroupRoute<'r> {
    /// Each event's message is a line for a plugin.
    Parsed(Routed<'r>),
    /// The messages are kept as they are (no route names the group, or its route no plugin).
    Kept { index_prefix: Option<&'r str> },
}

/// The plugin a Firehose stream gets when no route names it.
pub const DEFAULT_STREAM_PLUGIN: &str = "apache";

/// Loads a plugin from its component and, where the config names one, the artifact precompiled
/// from it, each checked against the sha256 the config gives before it is used.
pub fn load_plugin(
    sandbox: &Sandbox,
    name: &str,
    source: &PluginSource,
    wasm: &[u8],
    artifact: Option<&[u8]>,
) -> Result<Plugin, RoutingError> {
    if let Some(artifact) = artifact {
        tracing::debug_span!("routing.verify_artifact", plugin = name)
            .in_scope(|| verify_artifact(name, source, artifact))?;
    }
    // The sandbox checks the component's sha256 as it hashes it for the plugin's identity.
    match sandbox.load_checked(name, wasm, source.sha256.as_deref(), artifact) {
        Err(PluginError::Sha256Mismatch { expected, actual, .. }) => {
            Err(RoutingError::Sha256Mismatch { plugin: name.into(), expected, actual })
        }
        loaded => Ok(loaded?),
    }
}

/// Routes objects to loaded plugins.
pub struct Router {
    routes: Vec<ReadyRoute>,
    plugins: HashMap<String, Arc<Plugin>>,
}

impl Router {
    /// Loads a local routing config and its plugins (paths relative to the config's folder).
    pub fn load_local(sandbox: &Sandbox, config_path: &Path) -> Result<Self, RoutingError> {
        let read = |path: &Path| {
            std::fs::read(path)
                .map_err(|e| RoutingError::Read { path: path.display().to_string(), message: e.to_string() })
        };
        let config = RoutingConfig::from_json(&read(config_path)?)?;
        let base = config_path.parent().unwrap_or(Path::new("."));
        Self::build(config, |name, source| match (&source.path, &source.key) {
            (Some(path), _) => Ok(Arc::new(load_plugin(sandbox, name, source, &read(&base.join(path))?, None)?)),
            _ => Err(RoutingError::Invalid(format!(
                "plugin `{name}` is in S3 (`key`); a local routing config needs `path`"
            ))),
        })
    }

    /// Builds a router from a config, loading each plugin with `load`. The plugins load at once,
    /// each on a thread of its own: their fetches wait together, and their checks and
    /// deserializing use every core. The first plugin (by name) that fails fails the config.
    pub fn build(
        config: RoutingConfig,
        load: impl Fn(&str, &PluginSource) -> Result<Arc<Plugin>, RoutingError> + Sync,
    ) -> Result<Self, RoutingError> {
        let loaded: Vec<_> = std::thread::scope(|scope| {
            let loads: Vec<_> =
                config.plugins.iter().map(|(name, source)| (name, scope.spawn(|| load(name, source)))).collect();
            loads
                .into_iter()
                .map(|(name, load)| {
                    (name.clone(), load.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                })
                .collect()
        });
        let mut plugins = HashMap::new();
        for (name, plugin) in loaded {
            plugins.insert(name, plugin?);
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
                let target = match (&r.key_glob, &r.delivery_stream, &r.log_group_glob) {
                    (Some(key), _, _) => Target::Objects { bucket: r.bucket, key: glob(key)? },
                    (None, Some(stream), _) => Target::Stream(glob(stream)?),
                    (None, None, Some(group)) => Target::LogGroup(glob(group)?),
                    (None, None, None) => unreachable!("checked by RoutingConfig::from_json"),
                };
                Ok(ReadyRoute {
                    target,
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
            matches!(&r.target, Target::Objects { bucket, key } if *bucket == object.bucket && key.is_match(&object.key))
        })?;
        self.routed(route)
    }

    /// The plugin transforming a Firehose delivery stream's batches: the first route naming
    /// the stream, else the plugin named [`DEFAULT_STREAM_PLUGIN`].
    pub fn route_stream(&self, stream: &str) -> Option<Routed<'_>> {
        match self.routes.iter().find(|r| matches!(&r.target, Target::Stream(glob) if glob.is_match(stream))) {
            Some(route) => self.routed(route),
            None => self.plugins.get(DEFAULT_STREAM_PLUGIN).map(|plugin| Routed {
                plugin,
                index_prefix: None,
                options: &[],
            }),
        }
    }

    /// How a CloudWatch Logs log group's events are read: the first route matching its name,
    /// else kept as they are.
    pub fn route_log_group(&self, log_group: &str) -> LogGroupRoute<'_> {
        match self.routes.iter().find(|r| matches!(&r.target, Target::LogGroup(glob) if glob.is_match(log_group))) {
            Some(route) => match self.routed(route) {
                Some(routed) => LogGroupRoute::Parsed(routed),
                None => LogGroupRoute::Kept { index_prefix: route.index_prefix.as_deref() },
            },
            None => LogGroupRoute::Kept { index_prefix: None },
        }
    }

    /// The route's plugin and settings; none for a route without a plugin.
    fn routed<'r>(&'r self, route: &'r ReadyRoute) -> Option<Routed<'r>> {
        Some(Routed {
            plugin: &self.plugins[route.plugin.as_ref()?],
            index_prefix: route.index_prefix.as_deref(),
            options: &route.options,
        })
    }

    /// Each plugin with each index prefix it writes to: its own, and any a route gives it.
    pub fn destinations(&self) -> Vec<(&Plugin, &str)> {
        let mut destinations: Vec<(&Plugin, &str)> =
            self.plugins.values().map(|p| (p.as_ref(), p.info.index_prefix.as_str())).collect();
        for route in &self.routes {
            if let (Some(plugin), Some(prefix)) = (&route.plugin, &route.index_prefix) {
                destinations.push((&self.plugins[plugin], prefix));
            }
        }
        destinations.sort_by(|a, b| (&a.0.info.name, a.1).cmp(&(&b.0.info.name, b.1)));
        destinations.dedup_by(|a, b| a.0.sha256 == b.0.sha256 && a.1 == b.1);
        destinations
    }

    /// The loaded plugins, by name.
    pub fn plugins(&self) -> impl Iterator<Item = (&str, &Arc<Plugin>)> {
        self.plugins.iter().map(|(name, plugin)| (name.as_str(), plugin))
    }
}

#[cfg(test)]
mod tests {
    use globset::Glob;

    #[test]
    fn globs_match_across_slashes() {
        let glob = Glob::new("alb/AWSLogs/*/elasticloadbalancing/*").unwrap().compile_matcher();
        assert!(glob.is_match("alb/AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2025/03/02/x.log.gz"));
        assert!(!glob.is_match("cloudfront/E2X.2025-03-02-10.abc.gz"));
    }
}
