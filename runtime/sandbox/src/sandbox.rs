//! The one wasmtime `Engine` and `Linker` of a process, and the epoch ticker behind the CPU
//! deadline.

use crate::limits::Limits;
use crate::plugin::{self, Plugin, PluginError};
use crate::store::{EPOCH_TICK, StoreState};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use wasmtime::component::Linker;
use wasmtime::{Config, Engine};

/// The engine configuration. Everything that compiles or loads plugins uses this one
/// function, because a precompiled artifact only loads into an engine configured alike.
fn engine_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // Epochs, not fuel: a runaway plugin is stopped at a fraction of fuel's cost.
    config.epoch_interruption(true);
    config.max_wasm_stack(1 << 20);
    config
}

/// The process-wide sandbox: one engine, one linker holding only the allowed imports, a
/// ticker thread for the CPU deadline, and the limits every session runs under.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<StoreState>,
    limits: Limits,
    cache_dir: Option<PathBuf>,
    ticker: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl Sandbox {
    /// A sandbox whose compiled plugins are cached under `cache_dir`, if given.
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>) -> wasmtime::Result<Self> {
        // Each step in a span of its own, as in loading a plugin, to time a cold start.
        let engine = tracing::debug_span!("sandbox.engine").in_scope(|| Engine::new(&engine_config()))?;
        let linker = tracing::debug_span!("sandbox.linker").in_scope(|| {
            let mut linker = Linker::new(&engine);
            crate::wasi::link(&mut linker).map(|()| linker)
        })?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = tracing::debug_span!("sandbox.epoch_thread").in_scope(|| {
            let (engine, stop) = (engine.clone(), stop.clone());
            std::thread::Builder::new().name("kelk-epoch".into()).spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
        })?;
        Ok(Sandbox { engine, linker, limits, cache_dir, ticker: Some((stop, ticker)) })
    }

    /// The limits of every session.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Loads a plugin from the bytes of its `.wasm` component; `name` says where it came from.
    pub fn load(&self, name: &str, wasm: &[u8]) -> Result<Plugin, PluginError> {
        self.load_checked(name, wasm, None, None)
    }

    /// Loads a plugin from its component, refused unless its sha256 is `sha256` (when given),
    /// and from an artifact precompiled from it (by `kelk-plugin publish`), when given, which
    /// saves the compilation; an artifact for another wasmtime version, target or setting is
    /// passed over, and the component compiled. The component is hashed once, for the check
    /// and as the plugin's identity.
    pub fn load_checked(
        &self,
        name: &str,
        wasm: &[u8],
        sha256: Option<&str>,
        artifact: Option<&[u8]>,
    ) -> Result<Plugin, PluginError> {
        plugin::load(&self.linker, self.cache_dir.as_deref(), self.limits, name, wasm, sha256, artifact)
    }

    /// Loads a plugin from a `.wasm` file.
    pub fn load_file(&self, path: &Path) -> Result<Plugin, PluginError> {
        let wasm = std::fs::read(path)
            .map_err(|e| PluginError::Read { path: path.display().to_string(), message: e.to_string() })?;
        self.load(&path.display().to_string(), &wasm)
    }

    /// The component compiled ahead of time for this engine, for [`Sandbox::load_checked`].
    pub fn precompile(&self, wasm: &[u8]) -> wasmtime::Result<Vec<u8>> {
        self.engine.precompile_component(wasm)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.ticker.take() {
            stop.store(true, Ordering::Relaxed);
            let _ = thread.join();
        }
    }
}
