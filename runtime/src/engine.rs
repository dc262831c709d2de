//! The one wasmtime `Engine` and `Linker` of a process, the epoch ticker behind the CPU
//! deadline, and the sandbox limits every plugin session runs under.

use crate::plugin::{Plugin, PluginError};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Config, Engine};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// How often the epoch advances: the granularity of the CPU deadline.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// What one plugin session may use.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The most linear memory a session may grow to.
    pub memory_bytes: usize,
    /// The longest one call into the plugin (one chunk) may run.
    pub call_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { memory_bytes: 128 << 20, call_timeout: Duration::from_secs(5) }
    }
}

/// The engine configuration. Everything that compiles or loads plugins uses this one
/// function, because a precompiled artifact only loads into an engine configured alike.
pub fn engine_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // Epochs, not fuel: a runaway plugin is stopped at a fraction of fuel's cost.
    config.epoch_interruption(true);
    config.max_wasm_stack(1 << 20);
    config
}

/// The process-wide plugin host: one Engine, one Linker, a ticker thread and the limits.
pub struct Host {
    engine: Engine,
    linker: Linker<StoreState>,
    limits: Limits,
    cache_dir: Option<PathBuf>,
    ticker: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl Host {
    /// A host whose compiled plugins are cached under `cache_dir`, if given.
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>) -> wasmtime::Result<Self> {
        let engine = Engine::new(&engine_config())?;
        let mut linker = Linker::new(&engine);
        // Every WASI interface is linked, but each backs onto an empty context (no files,
        // environment, clocks beyond the defaults, or network), and `Plugin` refuses at load
        // a component that imports anything outside `ALLOWED_IMPORTS`.
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let (engine, stop) = (engine.clone(), stop.clone());
            std::thread::Builder::new().name("kelk-epoch".into()).spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })?
        };
        Ok(Host { engine, linker, limits, cache_dir, ticker: Some((stop, ticker)) })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Loads a plugin from the bytes of its `.wasm` component.
    pub fn load(&self, name: &str, wasm: &[u8]) -> Result<Plugin, PluginError> {
        Plugin::load(self, name, wasm, None)
    }

    /// Loads a plugin from its component and an artifact precompiled from it (by `kelk-plugin
    /// publish`), which saves the compilation; an artifact for another wasmtime version, target
    /// or setting is passed over, and the component compiled.
    pub fn load_precompiled(&self, name: &str, wasm: &[u8], artifact: &[u8]) -> Result<Plugin, PluginError> {
        Plugin::load(self, name, wasm, Some(artifact))
    }

    /// The component compiled ahead of time for this engine, for [`Host::load_precompiled`].
    pub fn precompile(&self, wasm: &[u8]) -> wasmtime::Result<Vec<u8>> {
        self.engine.precompile_component(wasm)
    }

    /// Loads a plugin from a `.wasm` file.
    pub fn load_file(&self, path: &std::path::Path) -> Result<Plugin, PluginError> {
        let wasm = std::fs::read(path)
            .map_err(|e| PluginError::Read { path: path.display().to_string(), message: e.to_string() })?;
        self.load(&path.display().to_string(), &wasm)
    }

    pub(crate) fn linker(&self) -> &Linker<StoreState> {
        &self.linker
    }

    pub(crate) fn cache_dir(&self) -> Option<&std::path::Path> {
        self.cache_dir.as_deref()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.ticker.take() {
            stop.store(true, Ordering::Relaxed);
            let _ = thread.join();
        }
    }
}

/// The state of one plugin session's `Store`.
pub struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    /// The time the current call may run (the per-call timeout, or less near a deadline).
    pub(crate) call_allowance: Duration,
    pub(crate) limiter: MemoryLimiter,
    /// The guest's stderr, bounded: a panicking plugin's message ends up here.
    pub(crate) stderr: MemoryOutputPipe,
}

/// How much of a plugin's stderr is kept for its error report.
const STDERR_BYTES: usize = 16 << 10;

impl StoreState {
    pub(crate) fn new(limits: Limits) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_BYTES);
        // No preopened directories, no environment, no arguments, no sockets.
        let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
        StoreState {
            wasi,
            table: ResourceTable::new(),
            call_allowance: limits.call_timeout,
            limiter: MemoryLimiter::new(limits.memory_bytes),
            stderr,
        }
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// The memory cap. Refusing growth with an error (rather than `false`) traps at the
/// `memory.grow` itself, so the host can tell "over the cap" from any other trap.
pub(crate) struct MemoryLimiter {
    cap: usize,
    pub(crate) peak: usize,
}

/// The error a session's memory growth past its cap traps with.
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error("the plugin asked for {desired} bytes of memory, over the cap of {cap}")]
pub struct MemoryCapExceeded {
    pub desired: usize,
    pub cap: usize,
}

impl MemoryLimiter {
    fn new(cap: usize) -> Self {
        MemoryLimiter { cap, peak: 0 }
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.cap {
            return Err(MemoryCapExceeded { desired, cap: self.cap }.into());
        }
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}
