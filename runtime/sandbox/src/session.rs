//! One plugin session: a fresh store and instance for one input, its calls under the CPU
//! deadline and memory cap, and every way a plugin can fail turned into a typed error that
//! says which limit, if any, stopped it.

use crate::contract::{Batch, FatalError, Parser, SourceContext};
use crate::limits::{Limits, MemoryCapExceeded};
use crate::store::{Armed, StoreState, arm};
use std::time::{Duration, Instant};
use wasmtime::component::ResourceAny;
use wasmtime::{Store, Trap};

/// How a session failed. Each names the plugin and the input.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// One call ran past the per-call CPU deadline: the plugin is too slow or loops.
    #[error("{context}: the plugin ran past its CPU deadline of {timeout:?} for one chunk and was stopped")]
    CallTimeout {
        /// Which plugin on which input.
        context: String,
        /// The per-call deadline.
        timeout: Duration,
    },
    /// A call was cut short at the input's own deadline ([`Session::stop_by`]): not the
    /// plugin's fault, and the input may be retried.
    #[error("{context}: stopped at the input's deadline")]
    Stopped {
        /// Which plugin on which input.
        context: String,
    },
    /// The plugin asked for more memory than the cap.
    #[error("{context}: {cap}")]
    MemoryCap {
        /// Which plugin on which input.
        context: String,
        /// What it asked for.
        cap: MemoryCapExceeded,
    },
    /// The plugin trapped (a panic, an out-of-bounds access, a stack overflow…).
    #[error("{context}: the plugin crashed: {message}{}", stderr_suffix(.stderr))]
    Trap {
        /// Which plugin on which input.
        context: String,
        /// The trap.
        message: String,
        /// What the plugin wrote to stderr (a Rust panic's message).
        stderr: String,
    },
    /// The plugin returned a fatal error for the input.
    #[error("{context}: the plugin gave up on the object: {}", fatal_message(.error))]
    Fatal {
        /// Which plugin on which input.
        context: String,
        /// What it said.
        error: FatalError,
    },
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
    /// Classifies the error of a call into the guest, by the limit the store had armed.
    pub(crate) fn from_call(error: wasmtime::Error, store: &Store<StoreState>, context: String) -> Self {
        if let Some(cap) = error.downcast_ref::<MemoryCapExceeded>() {
            return SessionError::MemoryCap { context, cap: *cap };
        }
        if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
            return match store.data().armed {
                Armed::CallTimeout(timeout) => SessionError::CallTimeout { context, timeout },
                Armed::StopBy => SessionError::Stopped { context },
            };
        }
        let stderr = String::from_utf8_lossy(&store.data().stderr.contents()).into_owned();
        tracing::debug!(%context, error = ?error, "plugin trap");
        let message = error.downcast_ref::<Trap>().map_or_else(|| format!("{error:#}"), |trap| trap.to_string());
        SessionError::Trap { context, message, stderr }
    }
}

/// A parse of one input, in its own instance.
pub struct Session {
    store: Store<StoreState>,
    parser: Parser,
    handle: ResourceAny,
    context: String,
    call_timeout: Duration,
    /// No call may run past this (a Lambda's deadline), whatever the per-call timeout.
    stop_by: Option<Instant>,
}

impl Session {
    pub(crate) fn open(
        mut store: Store<StoreState>,
        parser: Parser,
        ctx: &SourceContext,
        context: String,
        limits: Limits,
    ) -> Result<Self, SessionError> {
        let handle = parser
            .session()
            .call_constructor(&mut store, ctx)
            .map_err(|e| SessionError::from_call(e, &store, context.clone()))?;
        Ok(Session { store, parser, handle, context, call_timeout: limits.call_timeout, stop_by: None })
    }

    /// Cuts every later call short at `deadline`; such a call fails with
    /// [`SessionError::Stopped`].
    pub fn stop_by(&mut self, deadline: Instant) {
        self.stop_by = Some(deadline);
    }

    /// Arms the deadline of the next call: the per-call timeout, or the input's deadline when
    /// that comes first.
    fn arm(&mut self) {
        let timeout = self.call_timeout;
        match self.stop_by.map(|d| d.saturating_duration_since(Instant::now())) {
            Some(left) if left < timeout => arm(&mut self.store, left, Armed::StopBy),
            _ => arm(&mut self.store, timeout, Armed::CallTimeout(timeout)),
        }
    }

    /// Parses the next chunk of the decompressed input.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Batch, SessionError> {
        self.arm();
        let result = self.parser.session().call_push(&mut self.store, self.handle, chunk);
        self.outcome(result)
    }

    /// Ends the input; the session is used up.
    pub fn finish(mut self) -> Result<Batch, SessionError> {
        self.arm();
        let result = self.parser.session().call_finish(&mut self.store, self.handle);
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
