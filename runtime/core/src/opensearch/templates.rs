//! Index templates from plugins: for each plugin and index prefix it writes to, a template of
//! the daily indices `<prefix>-*` made of the shared ECS component template and the plugin's
//! own mappings. The host installs them when it loads plugins, so a new format is searchable
//! as its plugin describes it, with no list of formats in the host. The documents the host
//! makes itself (CloudWatch Logs messages kept as they are) get theirs the same way.
//!
//! Each plugin version has its own template, `kelk-<prefix>-<version>`, whose `version` and
//! `priority` grow with the plugin's semver: the newest one installed decides the mappings of
//! the next daily index, an older plugin loading later (a rollback, a host still on the old
//! config) never displaces it, and two hosts installing at once cannot undo each other. A
//! template superseded by a newer one is deleted.

use super::cluster::Cluster;
use super::mappings::{ECS_TEMPLATE, Mappings, MappingsError};
use kelk_sandbox::Plugin;
use opensearch::http::Method;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::io;

/// The shared ECS component template's name.
pub const ECS_COMPONENT: &str = "kelk-ecs";

/// Why a plugin's index template is not in the cluster.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error(transparent)]
    Mappings(#[from] MappingsError),
    #[error(
        "plugin {plugin} {version}: its version is not semver with parts under 1000, which the template's version needs"
    )]
    Version { plugin: String, version: String },
    /// The cluster said no: a mapping it does not accept.
    #[error("plugin {plugin}: OpenSearch refused its mappings for {prefix}-*: {reason}")]
    Refused { plugin: String, prefix: String, reason: String },
    /// The cluster could not be asked; worth trying again.
    #[error("plugin {plugin}: cannot install its index template for {prefix}-*: {source}")]
    Cluster { plugin: String, prefix: String, source: io::Error },
}

/// What installing a template did.
#[derive(Debug, PartialEq, Eq)]
pub enum Installed {
    /// Put now.
    Put(String),
    /// This plugin build's template was already there.
    Present(String),
    /// A newer version of the plugin has its template there, which stays in charge.
    Superseded { ours: String, by: String },
}

/// Whose documents a template maps: a plugin, or the host for the documents it makes.
#[derive(Clone, Copy)]
pub struct Author<'a> {
    pub name: &'a str,
    pub version: &'a str,
    /// Tells builds of one version apart: a plugin's component, the host's mappings.
    pub sha256: &'a str,
    pub dataset: &'a str,
    /// The author's own mappings (`properties`), over the shared ECS ones.
    pub mappings: Option<&'a str>,
}

impl<'a> From<&'a Plugin> for Author<'a> {
    fn from(plugin: &'a Plugin) -> Self {
        Author {
            name: &plugin.info.name,
            version: &plugin.info.version,
            sha256: &plugin.sha256,
            dataset: &plugin.info.dataset,
            mappings: plugin.description.as_ref().map(|d| d.mappings.as_str()),
        }
    }
}

/// The index template of `plugin`'s documents under `prefix`, with its name.
pub fn index_template<'a>(plugin: impl Into<Author<'a>>, prefix: &str) -> Result<(String, Value), TemplateError> {
    let plugin = plugin.into();
    let mappings = Mappings::new(plugin.name, plugin.mappings)?;
    let version = version_number(plugin.version)
        .ok_or_else(|| TemplateError::Version { plugin: plugin.name.into(), version: plugin.version.into() })?;
    let name = format!("kelk-{prefix}-{}", plugin.version);
    let template = json!({
        "index_patterns": [format!("{prefix}-*")],
        // Above anything generic matching `logs-*`; a newer plugin version above an older one.
        "priority": 1000 + version,
        "version": version,
        "composed_of": [ECS_COMPONENT],
        "template": { "mappings": { "properties": mappings.own() } },
        "_meta": {
            "managed_by": "kelk",
            "plugin": plugin.name,
            "plugin_version": plugin.version,
            "plugin_sha256": plugin.sha256,
            "dataset": plugin.dataset,
            "index_prefix": prefix,
        },
    });
    Ok((name, template))
}

/// `major.minor.patch` as one growing number (each part under 1000); a pre-release or build
/// suffix is ignored.
fn version_number(version: &str) -> Option<u64> {
    let core = version.split(['-', '+']).next()?;
    let parts: Vec<u64> = core.split('.').map(|p| p.parse().ok().filter(|&n| n < 1000)).collect::<Option<_>>()?;
    match parts[..] {
        [major, minor, patch] => Some(major * 1_000_000 + minor * 1_000 + patch),
        _ => None,
    }
}

/// The templates this process has installed or found, so that a warm host asks the cluster
/// only about plugins it has not seen.
#[derive(Default)]
pub struct Templates {
    ecs: bool,
    done: HashSet<(String, String)>,
}

impl Templates {
    /// Makes sure `plugin`'s template for `prefix` (and the shared ECS component) is in the
    /// cluster; a no-op for a plugin build and prefix this process has installed before.
    pub fn install<'a>(
        &mut self,
        cluster: &Cluster,
        plugin: impl Into<Author<'a>>,
        prefix: &str,
    ) -> Result<Option<Installed>, TemplateError> {
        let plugin = plugin.into();
        let key = (plugin.sha256.to_owned(), prefix.to_owned());
        if self.done.contains(&key) {
            return Ok(None);
        }
        // Checked here, before the cluster is asked: a plugin's own mistake is not a refusal.
        let (name, template) = index_template(plugin, prefix)?;
        let failed = |source: io::Error| match source.kind() {
            io::ErrorKind::InvalidData => {
                TemplateError::Refused { plugin: plugin.name.into(), prefix: prefix.into(), reason: source.to_string() }
            }
            _ => TemplateError::Cluster { plugin: plugin.name.into(), prefix: prefix.into(), source },
        };
        if !self.ecs {
            cluster
                .request(Method::Put, &format!("/_component_template/{ECS_COMPONENT}"), Some(ECS_TEMPLATE.as_bytes()))
                .map_err(failed)?;
            self.ecs = true;
        }
        let installed = install(cluster, plugin.sha256, prefix, name, &template).map_err(failed)?;
        self.done.insert(key);
        Ok(Some(installed))
    }
}

fn install(cluster: &Cluster, sha256: &str, prefix: &str, name: String, template: &Value) -> io::Result<Installed> {
    let ours = template["version"].as_u64().expect("set above");
    // Every version's template for this prefix (the name pattern also matches longer prefixes).
    let found = cluster.request(Method::Get, &format!("/_index_template/kelk-{prefix}-*"), None)?.unwrap_or_default();
    let mut older = Vec::new();
    for t in found["index_templates"].as_array().into_iter().flatten() {
        let (their_name, body) = (t["name"].as_str().unwrap_or_default(), &t["index_template"]);
        if body["_meta"]["index_prefix"] != prefix {
            continue;
        }
        let theirs = body["version"].as_u64().unwrap_or(0);
        if theirs > ours {
            return Ok(Installed::Superseded { ours: name, by: their_name.into() });
        }
        if their_name == name && body["_meta"]["plugin_sha256"] == sha256 {
            return Ok(Installed::Present(name));
        }
        if theirs < ours {
            older.push(their_name.to_owned());
        }
    }
    cluster.request(Method::Put, &format!("/_index_template/{name}"), Some(template.to_string().as_bytes()))?;
    for old in older {
        cluster.request(Method::Delete, &format!("/_index_template/{old}"), None)?;
    }
    Ok(Installed::Put(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_as_semver() {
        assert_eq!(version_number("0.1.0"), Some(1_000));
        assert_eq!(version_number("1.2.3-beta.1"), Some(1_002_003));
        assert!(version_number("1.10.0") > version_number("1.9.999"));
        assert_eq!(version_number("1.2"), None);
        assert_eq!(version_number("1.1000.0"), None);
    }
}
