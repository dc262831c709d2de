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
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io;
use std::time::{Duration, Instant};

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
    /// What [`Templates::ask`] was answered, and when, for the next install to use instead of
    /// asking.
    asked: Option<(Instant, io::Result<There>)>,
}

/// How long an answer of [`Templates::ask`] is used: a cold start's, not an old one.
const ASKED_FOR: Duration = Duration::from_secs(10);

/// What the cluster holds of KELK's templates.
struct There {
    /// Whether the shared ECS component is this build's.
    ecs: bool,
    /// Every version's index template of every prefix, without their mappings.
    index_templates: Vec<Value>,
}

impl There {
    fn ask(cluster: &Cluster) -> io::Result<There> {
        let path =
            format!("/_component_template/{ECS_COMPONENT}?filter_path=component_templates.component_template._meta");
        let component = cluster.request(Method::Get, &path, None)?.unwrap_or_default();
        let ecs = component["component_templates"][0]["component_template"]["_meta"]["sha256"] == ecs_sha256();
        let listed = "/_index_template/kelk-*?filter_path=index_templates.name,index_templates.index_template.version,index_templates.index_template._meta";
        let index_templates =
            match cluster.request(Method::Get, listed, None)?.map(|mut found| found["index_templates"].take()) {
                Some(Value::Array(found)) => found,
                _ => Vec::new(),
            };
        Ok(There { ecs, index_templates })
    }
}

impl Templates {
    /// Asks the cluster which templates it holds now, for the next install to use: a cold
    /// start asks while its plugins load. An error is the next install's (a cluster that
    /// does not answer is not waited for twice).
    pub fn ask(&mut self, cluster: &Cluster) {
        self.asked = Some((Instant::now(), There::ask(cluster)));
    }

    /// Makes sure `plugin`'s template for `prefix` (and the shared ECS component) is in the
    /// cluster; a no-op for a plugin build and prefix this process has installed before.
    pub fn install<'a>(
        &mut self,
        cluster: &Cluster,
        plugin: impl Into<Author<'a>>,
        prefix: &'a str,
    ) -> Result<Option<Installed>, TemplateError> {
        Ok(self.install_all(cluster, [(plugin.into(), prefix)])?.pop().map(|(_, installed)| installed))
    }

    /// Makes sure the template of each plugin for its prefix, and the shared ECS component, are
    /// in the cluster, skipping what this process has installed before; what was done, by
    /// plugin name. Asking costs two requests whatever the number of plugins (the component,
    /// and the list of KELK's index templates), made here unless [`Templates::ask`] made them,
    /// and only what is missing or older is put: a cold start with its templates in place
    /// waits for two answers, or none.
    pub fn install_all<'a>(
        &mut self,
        cluster: &Cluster,
        destinations: impl IntoIterator<Item = (Author<'a>, &'a str)>,
    ) -> Result<Vec<(&'a str, Installed)>, TemplateError> {
        let mut new = Vec::new();
        for (plugin, prefix) in destinations {
            if !self.done.contains(&(plugin.sha256.to_owned(), prefix.to_owned())) {
                // Checked here, before the cluster is asked: a plugin's own mistake is not a refusal.
                let (name, template) = index_template(plugin, prefix)?;
                new.push((plugin, prefix, name, template));
            }
        }
        let failed = |plugin: &Author, prefix: &str, source: io::Error| match source.kind() {
            io::ErrorKind::InvalidData => {
                TemplateError::Refused { plugin: plugin.name.into(), prefix: prefix.into(), reason: source.to_string() }
            }
            _ => TemplateError::Cluster { plugin: plugin.name.into(), prefix: prefix.into(), source },
        };
        let asked = self.asked.take().filter(|(at, _)| at.elapsed() < ASKED_FOR).map(|(_, answer)| answer);
        let Some((first, first_prefix, ..)) = new.first() else { return Ok(Vec::new()) };
        let There { ecs, index_templates: mut found } =
            asked.unwrap_or_else(|| There::ask(cluster)).map_err(|e| failed(first, first_prefix, e))?;
        if !self.ecs && !ecs {
            put_ecs(cluster).map_err(|e| failed(first, first_prefix, e))?;
        }
        self.ecs = true;
        let mut done = Vec::new();
        for (plugin, prefix, name, template) in new {
            let installed = install(cluster, &mut found, plugin.sha256, prefix, name, &template)
                .map_err(|e| failed(&plugin, prefix, e))?;
            self.done.insert((plugin.sha256.to_owned(), prefix.to_owned()));
            done.push((plugin.name, installed));
        }
        Ok(done)
    }
}

/// The sha256 of the shared ECS component's source, which its `_meta` names in the cluster.
fn ecs_sha256() -> String {
    hex::encode(Sha256::digest(ECS_TEMPLATE))
}

/// Puts the shared ECS component template, its `_meta` naming the sha256 of its source.
fn put_ecs(cluster: &Cluster) -> io::Result<()> {
    let mut template: Value = serde_json::from_str(ECS_TEMPLATE).expect("the shared ECS template is JSON");
    template["_meta"] = json!({ "managed_by": "kelk", "sha256": ecs_sha256() });
    let path = format!("/_component_template/{ECS_COMPONENT}");
    cluster.request(Method::Put, &path, Some(template.to_string().as_bytes()))?;
    Ok(())
}

/// Puts `template` (named `name`, of the plugin build `sha256`) unless it, or a newer version's
/// for the same prefix, is among `found` (the cluster's KELK index templates, kept up to date
/// with what this puts and deletes), and deletes the older versions' it replaces.
fn install(
    cluster: &Cluster,
    found: &mut Vec<Value>,
    sha256: &str,
    prefix: &str,
    name: String,
    template: &Value,
) -> io::Result<Installed> {
    let ours = template["version"].as_u64().expect("set above");
    let mut older = Vec::new();
    for t in found.iter() {
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
    for old in &older {
        cluster.request(Method::Delete, &format!("/_index_template/{old}"), None)?;
    }
    found.retain(|t| !older.iter().any(|old| t["name"] == **old) && t["name"] != *name);
    found.push(json!({ "name": name, "index_template": template }));
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
