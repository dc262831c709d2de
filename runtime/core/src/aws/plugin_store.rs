//! The plugin store in S3: the routing config and the plugins it names (with their precompiled
//! artifacts), loaded at cold start and loaded again when the config's ETag changes, so a new
//! or updated parser goes live without redeploying the host. Plugins are named in the config by
//! key in the config's bucket; one whose sha256 is already loaded is reused, not fetched again.
//!
//! A changed config that cannot be used (unreadable, invalid, a plugin whose sha256 differs
//! from the config's) is refused: the host goes on with the last config that loaded, and the
//! refusal is returned to be logged and counted. With no config loaded yet, there is nothing to
//! route with, and the invocation fails (to be retried).

use super::s3::{S3, S3Uri};
use crate::routing::{PluginSource, Router, RoutingConfig, RoutingError, load_plugin};
use kelk_sandbox::{Plugin, Sandbox};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct PluginStore {
    s3: S3,
    config: S3Uri,
    /// How long a loaded config is used before its ETag is checked again.
    check_every: Duration,
    loaded: Option<(Router, Option<String>)>,
    checked: Option<Instant>,
}

/// What a refresh did.
#[derive(Debug, PartialEq, Eq)]
pub enum Refreshed {
    /// Not due, or the ETag is the same.
    Unchanged,
    /// The config changed and its new version is in use.
    Reloaded { etag: Option<String> },
}

impl PluginStore {
    pub fn new(s3: S3, config: S3Uri, check_every: Duration) -> Self {
        PluginStore { s3, config, check_every, loaded: None, checked: None }
    }

    /// Loads the config if it is not loaded, or if it is due for a check and its ETag changed;
    /// a new config is used only once `accept` (which installs its plugins' index templates)
    /// took it. On an error the last loaded config, if any, stays in use.
    pub fn refresh(
        &mut self,
        sandbox: &Sandbox,
        accept: impl FnOnce(&Router) -> Result<(), RoutingError>,
    ) -> Result<Refreshed, RoutingError> {
        if self.loaded.is_some() && self.checked.is_some_and(|at| at.elapsed() < self.check_every) {
            return Ok(Refreshed::Unchanged);
        }
        self.checked = Some(Instant::now());
        let read = |e: std::io::Error| RoutingError::Read { path: self.config.to_string(), message: e.to_string() };
        if let Some((_, etag)) = &self.loaded {
            let current = self.s3.etag(&self.config).map_err(read)?;
            if current == *etag {
                return Ok(Refreshed::Unchanged);
            }
        }
        let fetched = self.s3.get(&self.config).map_err(read)?;
        let config = RoutingConfig::from_json(&fetched.bytes)?;
        let loaded: HashMap<&str, &Arc<_>> = match &self.loaded {
            Some((router, _)) => router.plugins().map(|(_, p)| (p.sha256.as_str(), p)).collect(),
            None => HashMap::new(),
        };
        let router =
            Router::build(config, |name, source| match source.sha256.as_deref().and_then(|s| loaded.get(s)) {
                Some(plugin) => Ok(Arc::clone(plugin)),
                None => self.load(sandbox, name, source),
            })?;
        accept(&router)?;
        tracing::info!(config = %self.config, etag = fetched.etag.as_deref().unwrap_or(""), "routing config loaded");
        self.loaded = Some((router, fetched.etag.clone()));
        Ok(Refreshed::Reloaded { etag: fetched.etag })
    }

    /// The router of the config in use, if one loaded.
    pub fn router(&self) -> Option<&Router> {
        self.loaded.as_ref().map(|(router, _)| router)
    }

    fn load(&self, sandbox: &Sandbox, name: &str, source: &PluginSource) -> Result<Arc<Plugin>, RoutingError> {
        let Some(key) = &source.key else {
            return Err(RoutingError::Invalid(format!(
                "plugin `{name}` has a local `path`; a routing config in S3 names plugins by `key`"
            )));
        };
        let fetch = |key: &str| {
            let uri = S3Uri { bucket: self.config.bucket.clone(), key: key.to_owned() };
            self.s3
                .get(&uri)
                .map(|f| f.bytes)
                .map_err(|e| RoutingError::Read { path: uri.to_string(), message: e.to_string() })
        };
        let wasm = fetch(key)?;
        let artifact = source.precompiled_key.as_deref().map(fetch).transpose()?;
        Ok(Arc::new(load_plugin(sandbox, name, source, &wasm, artifact.as_deref())?))
    }
}
