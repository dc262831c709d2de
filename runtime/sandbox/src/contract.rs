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

pub use bindings::exports::kelk::parser::documents::{Dashboard, Description};
pub use bindings::kelk::parser::types::{Batch, Document, FatalError, PluginInfo, Rejection, SourceContext};

/// The two exports, looked up one by one: `documents` is new in 1.1, and a 1.0 plugin (which
/// lacks it) is still a plugin. A 1.0 plugin's `parser@1.0.0` is found by the 1.1 name, as
/// wasmtime matches exports semver-compatibly within a major version.
pub(crate) use bindings::exports::kelk::parser::documents::GuestIndices as DocumentsExport;
pub(crate) use bindings::exports::kelk::parser::parser::{Guest as Parser, GuestIndices as ParserExport};

/// The contract version this host implements; a plugin must share its major version.
pub const CONTRACT_VERSION: &str = "1.1.0";
