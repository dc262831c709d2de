//! A loaded parser plugin: checked against the contract and the import allowlist,
//! identified by the sha256 of its `.wasm`, compiled once (or loaded from the cache), and
//! pre-instantiated so that each object gets a fresh instance in microseconds.

use crate::engine::{Host, Limits, StoreState};
use crate::session::{Session, SessionError, SourceContext};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::{Engine, Store};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "log-parser",
});

pub use kelk::parser::types::{Batch, Document, FatalError, PluginInfo, Rejection};

/// The contract version this host implements; a plugin must share its major version.
pub const CONTRACT_VERSION: &str = "1.0.0";

/// The interfaces a plugin may import, as `namespace:package/interface` (any version).
/// Rust's standard library imports the `wasi:cli`, `wasi:io` and `wasi:random` ones even
/// in code that does no I/O; they are backed by an empty WASI context.
pub const ALLOWED_IMPORTS: &[&str] = &[
    "wasi:io/error",
    "wasi:io/poll",
    "wasi:io/streams",
    "wasi:cli/environment",
    "wasi:cli/exit",
    "wasi:cli/stdin",
    "wasi:cli/stdout",
    "wasi:cli/stderr",
    "wasi:cli/terminal-input",
    "wasi:cli/terminal-output",
    "wasi:cli/terminal-stdin",
    "wasi:cli/terminal-stdout",
    "wasi:cli/terminal-stderr",
    "wasi:random/random",
    "wasi:random/insecure",
    "wasi:random/insecure-seed",
    "wasi:clocks/monotonic-clock",
    "wasi:clocks/wall-clock",
    "kelk:parser/types",
];

/// Why a plugin could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("cannot read plugin {path}: {message}")]
    Read { path: String, message: String },
    #[error("plugin {plugin} is not a valid WebAssembly component: {message}")]
    Invalid { plugin: String, message: String },
    #[error(
        "plugin {plugin} imports `{import}`, which plugins may not use (a parser gets bytes and returns documents; it has no file system, network or environment)"
    )]
    ForbiddenImport { plugin: String, import: String },
    #[error("plugin {plugin} does not implement the kelk:parser@{CONTRACT_VERSION} contract: {message}")]
    Contract { plugin: String, message: String },
    #[error("plugin {plugin} failed while describing itself: {source}")]
    Info { plugin: String, source: SessionError },
}

/// A loaded plugin, ready to open sessions.
pub struct Plugin {
    /// Where the plugin came from, for messages.
    pub name: String,
    /// Hex sha256 of the `.wasm`: the plugin's identity.
    pub sha256: String,
    pub info: PluginInfo,
    pub(crate) pre: LogParserPre<StoreState>,
    pub(crate) limits: Limits,
}

impl Plugin {
    pub(crate) fn load(host: &Host, name: &str, wasm: &[u8], artifact: Option<&[u8]>) -> Result<Self, PluginError> {
        let sha256 = hex::encode(Sha256::digest(wasm));
        let precompiled = artifact.and_then(|artifact| {
            // SAFETY: the artifact comes from the plugin store, which is trusted as much as the
            // components it holds; wasmtime checks its version, target and settings.
            unsafe { Component::deserialize(host.engine(), artifact) }
                .inspect_err(|e| tracing::warn!(plugin = name, error = %e, "precompiled artifact unusable; compiling"))
                .ok()
        });
        let component = precompiled
            .map_or_else(|| compile_cached(host.engine(), host.cache_dir(), &sha256, wasm), Ok)
            .map_err(|e| PluginError::Invalid { plugin: name.into(), message: format!("{e:#}") })?;
        check_imports(host.engine(), &component)
            .map_err(|import| PluginError::ForbiddenImport { plugin: name.into(), import })?;
        let contract = |e: wasmtime::Error| PluginError::Contract { plugin: name.into(), message: format!("{e:#}") };
        let instance_pre = host.linker().instantiate_pre(&component).map_err(contract)?;
        let pre = LogParserPre::new(instance_pre).map_err(contract)?;
        let mut plugin = Plugin {
            name: name.into(),
            sha256,
            info: PluginInfo {
                name: String::new(),
                version: String::new(),
                contract_version: String::new(),
                dataset: String::new(),
                index_prefix: String::new(),
            },
            pre,
            limits: host.limits(),
        };
        plugin.info = plugin.describe().map_err(|source| PluginError::Info { plugin: name.into(), source })?;
        let major = |v: &str| v.split('.').next().unwrap_or_default().to_owned();
        if major(&plugin.info.contract_version) != major(CONTRACT_VERSION) {
            return Err(PluginError::Contract {
                plugin: name.into(),
                message: format!(
                    "it was built for contract {}, this host implements {CONTRACT_VERSION}",
                    plugin.info.contract_version
                ),
            });
        }
        Ok(plugin)
    }

    fn describe(&self) -> Result<PluginInfo, SessionError> {
        let mut store = Store::new(self.pre.engine(), StoreState::new(self.limits));
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(crate::session::deadline_ticks(self.limits.call_timeout));
        let ctx = || format!("plugin {}", self.name);
        let bindings = self.pre.instantiate(&mut store).map_err(|e| SessionError::from_call(e, &store, ctx()))?;
        bindings.kelk_parser_parser().call_info(&mut store).map_err(|e| SessionError::from_call(e, &store, ctx()))
    }

    /// Opens a session for one object, in a fresh instance.
    pub fn session(&self, ctx: &SourceContext) -> Result<Session<'_>, SessionError> {
        Session::open(self, ctx)
    }
}

/// The first import outside the allowlist, if any.
fn check_imports(engine: &Engine, component: &Component) -> Result<(), String> {
    for (name, _) in component.component_type().imports(engine) {
        let unversioned = name.split('@').next().unwrap_or(name);
        if !ALLOWED_IMPORTS.contains(&unversioned) {
            return Err(name.to_string());
        }
    }
    Ok(())
}

/// A stable digest of what makes a precompiled artifact loadable: the wasmtime version and
/// the engine's settings. `Engine::precompile_compatibility_hash` feeds a `Hasher`; sha256
/// keeps the result the same across processes and machines.
pub fn engine_fingerprint(engine: &Engine) -> String {
    struct Sha(Sha256);
    impl Hasher for Sha {
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
        fn finish(&self) -> u64 {
            unreachable!("only the full digest is read")
        }
    }
    let mut h = Sha(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    hex::encode(&h.0.finalize()[..8])
}

/// Compiles `wasm`, or loads its precompiled artifact from `cache_dir`, keyed by
/// (wasm sha256, engine fingerprint). A corrupt or stale entry is recompiled and replaced.
fn compile_cached(engine: &Engine, cache_dir: Option<&Path>, sha256: &str, wasm: &[u8]) -> wasmtime::Result<Component> {
    let Some(dir) = cache_dir else {
        return Component::new(engine, wasm);
    };
    let path: PathBuf = dir.join(format!("{sha256}-{}.cwasm", engine_fingerprint(engine)));
    if path.exists() {
        // SAFETY: the cache directory is written only by this function, from bytes whose
        // sha256 is in the name; deserialize still checks the wasmtime version and settings.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok(component),
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "precompiled plugin unusable; recompiling"),
        }
    }
    let component = Component::new(engine, wasm)?;
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        std::io::Write::write_all(&mut tmp, &component.serialize().map_err(std::io::Error::other)?)?;
        tmp.persist(&path)?;
        Ok(())
    };
    if let Err(e) = write() {
        tracing::warn!(path = %path.display(), error = %e, "cannot cache the precompiled plugin");
    }
    Ok(component)
}
