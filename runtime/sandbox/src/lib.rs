//! The KELK sandbox: parser plugins, WebAssembly components implementing the `kelk:parser`
//! contract (`wit/parser.wit`, vendored in this crate), loaded into one wasmtime engine and
//! run one session per input, each in a fresh instance under a CPU deadline and a memory cap,
//! with no files, network or environment.
//!
//! ```no_run
//! use kelk_sandbox::{Limits, Sandbox, SourceContext};
//!
//! let sandbox = Sandbox::new(Limits::default(), None)?;
//! let plugin = sandbox.load_file("kelk_parser_alb.wasm".as_ref())?;
//! let ctx = SourceContext { bucket: String::new(), key: "access.log".into(), version_id: None,
//!                           log_type: String::new(), options: Vec::new() };
//! let mut session = plugin.session(&ctx, "access.log")?;
//! let batch = session.push(b"h2 2024-01-01T00:00:00.000001Z app/x/1 ...\n")?;
//! let rest = session.finish()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The rooms: [`Sandbox`] (engine, linker, epoch ticker), `contract` (the bindings), `store`
//! (the one place a store gets its limits), `wasi` (the only WASI interfaces linked),
//! [`Plugin`] (load, check, describe), [`Session`] (one input's calls and how they fail),
//! `cache` (compiled plugins on disk).

#![deny(missing_docs)]

mod cache;
mod contract;
mod limits;
mod plugin;
mod sandbox;
mod session;
mod store;
mod wasi;

pub use contract::{
    Batch, CONTRACT_VERSION, Dashboard, Description, Document, FatalError, PluginInfo, Rejection, SourceContext,
};
pub use limits::{Limits, MemoryCapExceeded};
pub use plugin::{Plugin, PluginError};
pub use sandbox::Sandbox;
pub use session::{Session, SessionError};
pub use wasi::ALLOWED_IMPORTS;
