//! The `kelk:parser` contract, host side: bindings generated from `wit/parser.wit` (this
//! crate's copy of the workspace's `wit/`) and the version this host implements.

/// The host side of the contract, generated from `wit/parser.wit`; its docs are the WIT's.
pub(crate) mod bindings {
    #![allow(missing_docs)]
    wasmtime::component::bindgen!({
        path: "wit",
        world: "log-parser",
    });
}

pub use bindings::kelk::parser::types::{Batch, Document, FatalError, PluginInfo, Rejection, SourceContext};

/// The contract version this host implements; a plugin must share its major version.
pub const CONTRACT_VERSION: &str = "1.0.0";
