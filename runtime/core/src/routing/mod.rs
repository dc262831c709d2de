//! Routing: which plugin parses which object, from a routing config.
//!
//! The config is JSON, the same in S3 (written by Terraform, `infra/modules/plugin_store`) and
//! on local disk:
//!
//! ```json
//! {
//!   "version": 1,
//!   "plugins": { "alb": { "path": "kelk_parser_alb.wasm", "sha256": "…" } },
//!   "routes": [
//!     { "bucket": "my-alb-logs", "key_glob": "alb/AWSLogs/*/elasticloadbalancing/*",
//!       "plugin": "alb", "index_prefix": "logs-prod-lb", "options": {} },
//!     { "delivery_stream": "kelk-apache*", "plugin": "apache" }
//!   ]
//! }
//! ```
//!
//! A plugin is a local `path` (relative to the config file) or an S3 `key` in the plugin
//! bucket; its `sha256`, when given, must match or the plugin is refused. A route matches
//! objects (`bucket`, empty for local files, and `key_glob`) or Firehose batches
//! (`delivery_stream`, the stream's name). Routes are tried in order and the first match
//! wins; a Firehose stream no route names goes to the plugin named `apache`. In a glob, `*`
//! matches any characters, `/` included, and `?` one character.

mod config;
mod router;

pub use config::{PluginSource, Route, RoutingConfig, RoutingError, verify};
pub use router::{DEFAULT_STREAM_PLUGIN, Routed, Router};
