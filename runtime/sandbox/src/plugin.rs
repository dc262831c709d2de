//! A loaded parser plugin: checked against the contract and the import allowlist,
//! identified by the sha256 of its `.wasm`, compiled once (or loaded from the cache), and
//! pre-instantiated so that each input gets a fresh instance in microseconds.

use crate::contract::{CONTRACT_VERSION, Description, DocumentsExport, ParserExport, PluginInfo, SourceContext};
use crate::limits::Limits;
use crate::session::{Session, SessionError};
use crate::store::{StoreState, new_store};
use sha2::{Digest, Sha256};
use std::path::Path;
use wasmtime::component::{Component, InstancePre, Linker};

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The `.wasm` cannot be read.
    #[error("cannot read plugin {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The bytes are not a component wasmtime accepts.
    #[error("plugin {plugin} is not a valid WebAssembly component: {message}")]
    Invalid {
        /// The plugin.
        plugin: String,
        /// What wasmtime said.
        message: String,
    },
    /// The component imports something outside [`crate::ALLOWED_IMPORTS`].
    #[error(
        "plugin {plugin} imports `{import}`, which plugins may not use (a parser gets bytes and returns documents; it has no file system, network or environment)"
    )]
    ForbiddenImport {
        /// The plugin.
        plugin: String,
        /// The first forbidden import.
        import: String,
    },
    /// The component is not the one its source names.
    #[error("plugin {plugin}: its sha256 is {actual}, {expected} was expected; refusing it")]
    Sha256Mismatch {
        /// The plugin.
        plugin: String,
        /// The sha256 its source gives.
        expected: String,
        /// Its own.
        actual: String,
    },
    /// The component does not export the contract, or claims another major version.
    #[error("plugin {plugin} does not implement the kelk:parser@{CONTRACT_VERSION} contract: {message}")]
    Contract {
        /// The plugin.
        plugin: String,
        /// What does not fit.
        message: String,
    },
    /// `info()` failed.
    #[error("plugin {plugin} failed while describing itself: {source}")]
    Info {
        /// The plugin.
        plugin: String,
        /// How the call failed.
        source: SessionError,
    },
}

/// A loaded plugin, ready to open sessions.
pub struct Plugin {
    /// Where the plugin came from, for messages.
    pub name: String,
    /// Hex sha256 of the `.wasm`: the plugin's identity.
    pub sha256: String,
    /// What the plugin says about itself.
    pub info: PluginInfo,
    /// What its documents look like; `None` for a plugin built for contract 1.0, whose
    /// documents get the shared ECS mappings only.
    pub description: Option<Description>,
    pre: InstancePre<StoreState>,
    parser: ParserExport,
    limits: Limits,
}

/// Loads a plugin into the engine of `linker`, which holds the allowed imports.
pub(crate) fn load(
    linker: &Linker<StoreState>,
    cache_dir: Option<&Path>,
    limits: Limits,
    name: &str,
    wasm: &[u8],
    expected_sha256: Option<&str>,
    artifact: Option<&[u8]>,
) -> Result<Plugin, PluginError> {
    let engine = linker.engine();
    // Each step in a span of its own, so that a cold start can be timed step by step
    // (`tests/benches/coldstart.rs`, or `KELK_LOG=debug` with span timings).
    let sha256 = tracing::debug_span!("plugin.sha256", plugin = name).in_scope(|| hex::encode(Sha256::digest(wasm)));
    if let Some(expected) = expected_sha256.filter(|expected| !expected.eq_ignore_ascii_case(&sha256)) {
        return Err(PluginError::Sha256Mismatch { plugin: name.into(), expected: expected.into(), actual: sha256 });
    }
    let precompiled = artifact.and_then(|artifact| {
        // SAFETY: the artifact comes from the plugin store, which is trusted as much as the
        // components it holds; wasmtime checks its version, target and settings.
        tracing::debug_span!("plugin.deserialize", plugin = name)
            .in_scope(|| unsafe { Component::deserialize(engine, artifact) })
            .inspect_err(|e| tracing::warn!(plugin = name, error = %e, "precompiled artifact unusable; compiling"))
            .ok()
    });
    let component = precompiled
        .map_or_else(|| crate::cache::compile_cached(engine, cache_dir, name, &sha256, wasm), Ok)
        .map_err(|e| PluginError::Invalid { plugin: name.into(), message: format!("{e:#}") })?;
    let forbidden = tracing::debug_span!("plugin.imports", plugin = name).in_scope(|| {
        let component_type = component.component_type();
        crate::wasi::forbidden_import(component_type.imports(engine).map(|(name, _)| name)).map(str::to_owned)
    });
    if let Some(import) = forbidden {
        return Err(PluginError::ForbiddenImport { plugin: name.into(), import });
    }
    let contract = |e: wasmtime::Error| PluginError::Contract { plugin: name.into(), message: format!("{e:#}") };
    let (pre, parser, documents) = tracing::debug_span!("plugin.instantiate_pre", plugin = name).in_scope(|| {
        let pre = linker.instantiate_pre(&component).map_err(contract)?;
        let parser = ParserExport::new(&pre).map_err(contract)?;
        let documents = DocumentsExport::new(&pre).ok();
        Ok::<_, PluginError>((pre, parser, documents))
    })?;
    let (info, description) = tracing::debug_span!("plugin.describe", plugin = name)
        .in_scope(|| describe(&pre, &parser, documents.as_ref(), limits, name))
        .map_err(|source| PluginError::Info { plugin: name.into(), source })?;
    let major = |v: &str| v.split('.').next().unwrap_or_default().to_owned();
    if major(&info.contract_version) != major(CONTRACT_VERSION) {
        return Err(PluginError::Contract {
            plugin: name.into(),
            message: format!(
                "it was built for contract {}, this host implements {CONTRACT_VERSION}",
                info.contract_version
            ),
        });
    }
    if description.is_none() {
        tracing::warn!(
            plugin = name,
            contract = info.contract_version,
            "the plugin does not describe its documents (contract 1.0): they get the shared ECS mappings only"
        );
    }
    Ok(Plugin { name: name.into(), sha256, info, description, pre, parser, limits })
}

/// Calls `info()` and, where the plugin has it, `describe()`, in an instance of their own.
fn describe(
    pre: &InstancePre<StoreState>,
    parser: &ParserExport,
    documents: Option<&DocumentsExport>,
    limits: Limits,
    name: &str,
) -> Result<(PluginInfo, Option<Description>), SessionError> {
    let mut store = new_store(pre.engine(), limits);
    let failed = |e, store: &_| SessionError::from_call(e, store, format!("plugin {name}"));
    let instance = pre.instantiate(&mut store).map_err(|e| failed(e, &store))?;
    let info =
        parser.load(&mut store, &instance).and_then(|p| p.call_info(&mut store)).map_err(|e| failed(e, &store))?;
    let description = match documents {
        Some(documents) => Some(
            documents
                .load(&mut store, &instance)
                .and_then(|d| d.call_describe(&mut store))
                .map_err(|e| failed(e, &store))?,
        ),
        None => None,
    };
    Ok((info, description))
}

impl Plugin {
    /// Opens a session for one input, in a fresh instance; `label` names the input in errors
    /// (`plugin alb on s3://bucket/key: …`).
    pub fn session(&self, ctx: &SourceContext, label: &str) -> Result<Session, SessionError> {
        let context = format!("plugin {} on {label}", self.info.name);
        let mut store = new_store(self.pre.engine(), self.limits);
        let parser = self
            .pre
            .instantiate(&mut store)
            .and_then(|instance| self.parser.load(&mut store, &instance))
            .map_err(|e| SessionError::from_call(e, &store, context.clone()))?;
        Session::open(store, parser, ctx, context, self.limits)
    }
}
