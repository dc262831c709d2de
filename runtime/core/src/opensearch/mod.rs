//! OpenSearch: the connection ([`Cluster`]), the bulk sink ([`BulkSink`], on the `_bulk` wire
//! format of `bulk.rs`), index templates and retention ([`setup`]) and Dashboards objects
//! ([`dashboards`]).

pub(crate) mod bulk;
mod cluster;
pub mod dashboards;
pub mod setup;
mod sink;

pub use cluster::{Auth, Cluster};
pub use sink::{BULK_BYTES, BulkSink, BulkStats, IN_FLIGHT};
