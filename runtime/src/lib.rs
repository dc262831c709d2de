//! The KELK host library: loads log-parser plugins (WebAssembly components implementing
//! the `kelk:parser` WIT contract) into a sandbox, and streams objects through them:
//!
//! object → the plugin its [`routing`] names → bytes → [`decode`] → chunks → [`session`] of the
//! [`plugin`] → documents with ids and daily indices ([`document`]) → [`sink`].

pub mod cli;
pub mod cluster;
pub mod dashboards;
pub mod decode;
pub mod document;
pub mod engine;
pub mod events;
pub mod firehose;
pub mod lambda;
pub mod metrics;
pub mod pipeline;
pub mod plugin;
pub mod plugin_store;
pub mod routing;
pub mod s3;
pub mod session;
pub mod setup;
pub mod sink;

pub use engine::{Host, Limits};
pub use plugin::{Plugin, PluginError};
