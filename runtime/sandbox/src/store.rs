//! The state of one session's `Store`, and [`new_store`], the one place a store is made: every
//! instance of every plugin runs under the memory cap and a CPU deadline from its first call.

use crate::limits::{Limits, MemoryLimiter};
use std::time::Duration;
use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// How often the epoch advances: the granularity of the CPU deadline.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How much of a plugin's stderr is kept for its error report.
const STDERR_BYTES: usize = 16 << 10;

/// Which limit the next call runs under: the one that stops it, if anything does.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Armed {
    /// The per-call CPU deadline, this long.
    CallTimeout(Duration),
    /// The input's own deadline (a Lambda's), which comes before the per-call one.
    StopBy,
}

/// The state of one plugin session's `Store`.
pub(crate) struct StoreState {
    wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) armed: Armed,
    pub(crate) limiter: MemoryLimiter,
    /// The guest's stderr, bounded: a panicking plugin's message ends up here.
    pub(crate) stderr: MemoryOutputPipe,
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// A store under `limits`: the memory limiter installed, the CPU deadline armed for one call.
pub(crate) fn new_store(engine: &Engine, limits: Limits) -> Store<StoreState> {
    let stderr = MemoryOutputPipe::new(STDERR_BYTES);
    // No preopened directories, no environment, no arguments, no sockets.
    let wasi = WasiCtx::builder().stderr(stderr.clone()).build();
    let state = StoreState {
        wasi,
        table: ResourceTable::new(),
        armed: Armed::CallTimeout(limits.call_timeout),
        limiter: MemoryLimiter::new(limits.memory_bytes),
        stderr,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    arm(&mut store, limits.call_timeout, Armed::CallTimeout(limits.call_timeout));
    store
}

/// Arms the epoch deadline for the next call: at most `allowance`, for the reason `armed`.
pub(crate) fn arm(store: &mut Store<StoreState>, allowance: Duration, armed: Armed) {
    store.data_mut().armed = armed;
    store.set_epoch_deadline(allowance.as_millis().div_ceil(EPOCH_TICK.as_millis()).max(1) as u64);
}
