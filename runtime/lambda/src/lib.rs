//! The KELK host as a Lambda function. An invocation's event is recognised by the
//! [`sources`] (one file per event source: S3 notifications, SQS, EventBridge, Firehose, the
//! setup action), whose objects or records go through the routed plugin into OpenSearch, with
//! dead letters in S3 ([`function`]), an EMF metrics line ([`metrics`]), and the answer each
//! source expects (`handler.rs` does one invocation). Every setting is an environment variable, read in [`config`].

pub mod config;
pub mod function;
mod handler;
pub mod metrics;
pub mod sources;

pub use config::Config;
pub use function::{Function, stop_at};
pub use handler::handle;
