//! One plugin session: a fresh Store and instance for one object, under the CPU deadline and
//! memory cap, with every way a plugin can fail turned into a typed error.

use crate::engine::{EPOCH_TICK, MemoryCapExceeded, StoreState};
use crate::plugin::{Batch, FatalError, LogParser, Plugin};
use std::time::{Duration, Instant};
use wasmtime::component::ResourceAny;
use wasmtime::{Store, Trap};

pub use crate::plugin::kelk::parser::types::SourceContext;

/// How a session failed. Each names the plugin and the object.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{context}: the plugin ran past its CPU deadline of {timeout:?} for one chunk and was stopped")]
    Deadline { context: String, timeout: std::time::Duration },
    #[error("{context}: {cap}")]
    MemoryCap { context: String, cap: MemoryCapExceeded },
    #[error("{context}: the plugin crashed: {message}{}", stderr_suffix(.stderr))]
    Trap { context: String, message: String, stderr: String },
    #[error("{context}: the plugin gave up on the object: {}", fatal_message(.error))]
    Fatal { context: String, error: FatalError },
}

fn stderr_suffix(stderr: &str) -> String {
    // A Rust panic prints its location and message, then a hint about backtraces that
    // does not apply inside the sandbox.
    let said: Vec<&str> =
        stderr.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE")).collect();
    if said.is_empty() { String::new() } else { format!("; its stderr said: {}", said.join(" ")) }
}

fn fatal_message(e: &FatalError) -> String {
    match e {
        FatalError::UnsupportedFormat(m) => format!("unsupported format: {m}"),
        FatalError::Corrupt(m) => format!("corrupt input: {m}"),
        FatalError::LimitExceeded(m) => format!("limit exceeded: {m}"),
    }
}

impl SessionError {
    /// Classifies the error of a call into the guest.
    pub(crate) fn from_call(error: wasmtime::Error, store: &Store<StoreState>, context: String) -> Self {
        if let Some(cap) = error.downcast_ref::<MemoryCapExceeded>() {
            return SessionError::MemoryCap { context, cap: *cap };
        }
        if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            return SessionError::Deadline { context, timeout: store.data().call_allowance };
        }
        let stderr = String::from_utf8_lossy(&store.data().stderr.contents()).into_owned();
        tracing::debug!(%context, error = ?error, "plugin trap");
        let message = error.downcast_ref::<Trap>().map_or_else(|| format!("{error:#}"), |trap| trap.to_string());
        SessionError::Trap { context, message, stderr }
    }
}

/// The epoch deadline, in ticks, for a call of at most `allowance`.
pub(crate) fn deadline_ticks(allowance: Duration) -> u64 {
    allowance.as_millis().div_ceil(EPOCH_TICK.as_millis()).max(1) as u64
}

/// A parse of one object, in its own instance.
pub struct Session<'p> {
    plugin: &'p Plugin,
    store: Store<StoreState>,
    bindings: LogParser,
    handle: ResourceAny,
    context: String,
    /// No call may run past this (a Lambda's deadline), whatever the per-call timeout.
    stop_by: Option<Instant>,
}

impl<'p> Session<'p> {
    pub(crate) fn open(plugin: &'p Plugin, ctx: &SourceContext) -> Result<Self, SessionError> {
        let object = crate::document::ObjectRef {
            bucket: ctx.bucket.clone(),
            key: ctx.key.clone(),
            version_id: ctx.version_id.clone(),
        };
        let context = format!("plugin {} on {object}", plugin.info.name);
        let mut store = Store::new(plugin.pre.engine(), StoreState::new(plugin.limits));
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(deadline_ticks(plugin.limits.call_timeout));
        let bindings =
            plugin.pre.instantiate(&mut store).map_err(|e| SessionError::from_call(e, &store, context.clone()))?;
        let handle = bindings
            .kelk_parser_parser()
            .session()
            .call_constructor(&mut store, ctx)
            .map_err(|e| SessionError::from_call(e, &store, context.clone()))?;
        Ok(Session { plugin, store, bindings, handle, context, stop_by: None })
    }

    /// Cuts every later call short at `deadline`.
    pub fn stop_by(&mut self, deadline: Instant) {
        self.stop_by = Some(deadline);
    }

    /// Arms the CPU deadline for the next call.
    fn arm(&mut self) {
        let timeout = self.plugin.limits.call_timeout;
        let allowance = self.stop_by.map_or(timeout, |d| timeout.min(d.saturating_duration_since(Instant::now())));
        self.store.data_mut().call_allowance = allowance;
        self.store.set_epoch_deadline(deadline_ticks(allowance));
    }

    /// Parses the next chunk of the decompressed object.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Batch, SessionError> {
        self.arm();
        let result = self.bindings.kelk_parser_parser().session().call_push(&mut self.store, self.handle, chunk);
        self.outcome(result)
    }

    /// Ends the object; the session is used up.
    pub fn finish(mut self) -> Result<Batch, SessionError> {
        self.arm();
        let result = self.bindings.kelk_parser_parser().session().call_finish(&mut self.store, self.handle);
        self.outcome(result)
    }

    /// The most linear memory the instance has had, in bytes.
    pub fn peak_memory(&self) -> usize {
        self.store.data().limiter.peak
    }

    fn outcome(&mut self, result: wasmtime::Result<Result<Batch, FatalError>>) -> Result<Batch, SessionError> {
        match result {
            Ok(Ok(batch)) => Ok(batch),
            Ok(Err(error)) => Err(SessionError::Fatal { context: self.context.clone(), error }),
            Err(e) => Err(SessionError::from_call(e, &self.store, self.context.clone())),
        }
    }
}
