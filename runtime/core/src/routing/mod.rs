//! Routing: which plugin parses which input, from a routing config.
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
//!     { "delivery_stream": "kelk-apache*", "plugin": "apache" },
//!     { "log_group_glob": "/aws/vpc/flow-logs*", "plugin": "vpcflow" },
//!     { "log_group_glob": "/aws/lambda/*", "index_prefix": "logs-lambda-default" }
//!   ]
//! }
//! ```
//!
//! A plugin is a local `path` (relative to the config file) or an S3 `key` in the plugin
//! bucket; its `sha256`, when given, must match or the plugin is refused. A route matches
//! objects (`bucket`, empty for local files, and `key_glob`), Firehose batches
//! (`delivery_stream`, the stream's name) or CloudWatch Logs subscriptions (`log_group_glob`,
//! the log group's name). Routes are tried in order and the first match wins; a Firehose
//! stream no route names goes to the plugin named `apache`. A log group's route may name no
//! plugin, and a log group no route names has none: its messages are kept as they are. In a
//! glob, `*` matches any characters, `/` included, and `?` one character.

mod config;
mod router;

pub use config::{PluginSource, Route, RoutingConfig, RoutingError};
pub use router::{DEFAULT_STREAM_PLUGIN, LogGroupRoute, Routed, Router, load_plugin};
