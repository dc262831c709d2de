//! What one plugin session may use, and the memory cap that enforces part of it.

use std::time::Duration;

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

/// The error a session's memory growth past its cap traps with.
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error("the plugin asked for {desired} bytes of memory, over the cap of {cap}")]
pub struct MemoryCapExceeded {
    /// The size the plugin asked to grow to.
    pub desired: usize,
    /// The cap.
    pub cap: usize,
}

/// The memory cap. Refusing growth with an error (rather than `false`) traps at the
/// `memory.grow` itself, so the host can tell "over the cap" from any other trap.
pub(crate) struct MemoryLimiter {
    cap: usize,
    pub(crate) peak: usize,
}

impl MemoryLimiter {
    pub(crate) fn new(cap: usize) -> Self {
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
