//! The KELK runtime: one input at a time through its parser plugin into a sink, the data
//! flowing one way:
//!
//! input ([`source`]) → the plugin its [`routing`] names → bytes → [`pipeline::decode`] →
//! chunks → a session in the sandbox ([`kelk_sandbox`]) → documents with ids and daily
//! indices ([`pipeline::document`]) → [`sink`] (OpenSearch, files, stdout), and the records
//! that did not make it → dead letters.
//!
//! The inputs of a batch go through on every core ([`workers`]).
//!
//! [`opensearch`] is the cluster: the bulk sink, index templates, dashboards. [`aws`] is S3:
//! objects in, the plugin store, dead letters out, on the process's one tokio runtime and one
//! AWS configuration ([`aws::Aws`]). The Lambda function and the command-line tools are
//! packages of their own on top of this one.

pub mod aws;
pub mod opensearch;
pub mod pipeline;
pub mod routing;
pub mod sink;
pub mod source;
pub mod workers;

pub use kelk_sandbox as sandbox;

/// The process's tokio runtime: the pipeline is synchronous, and blocks on it for S3 and
/// OpenSearch; one worker thread runs the bulk requests under way while parsing goes on.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()
}
