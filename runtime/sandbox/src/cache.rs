//! Compiled plugins on disk, keyed by the component's sha256 and the engine's fingerprint, so
//! a process compiles a plugin once per machine, not once per start.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::Path;
use wasmtime::Engine;
use wasmtime::component::Component;

/// A stable digest of what makes a precompiled artifact loadable: the wasmtime version and
/// the engine's settings. `Engine::precompile_compatibility_hash` feeds a `Hasher`; sha256
/// keeps the result the same across processes and machines.
fn engine_fingerprint(engine: &Engine) -> String {
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

/// Compiles `wasm` (the plugin `name`), or loads its precompiled artifact from `cache_dir`,
/// keyed by (wasm sha256, engine fingerprint). A corrupt or stale entry is recompiled and
/// replaced.
pub(crate) fn compile_cached(
    engine: &Engine,
    cache_dir: Option<&Path>,
    name: &str,
    sha256: &str,
    wasm: &[u8],
) -> wasmtime::Result<Component> {
    let compile = || tracing::debug_span!("plugin.compile", plugin = name).in_scope(|| Component::new(engine, wasm));
    let Some(dir) = cache_dir else {
        return compile();
    };
    let path = dir.join(format!("{sha256}-{}.cwasm", engine_fingerprint(engine)));
    if path.exists() {
        // SAFETY: the cache directory is written only by this function, from bytes whose
        // sha256 is in the name; deserialize still checks the wasmtime version and settings.
        match tracing::debug_span!("plugin.cached", plugin = name)
            .in_scope(|| unsafe { Component::deserialize_file(engine, &path) })
        {
            Ok(component) => return Ok(component),
            Err(e) => tracing::warn!(path = %path.display(), error = %e, "precompiled plugin unusable; recompiling"),
        }
    }
    let component = compile()?;
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
