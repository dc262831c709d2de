//! OpenSearch: the connection ([`Cluster`]), the bulk sink ([`BulkSink`], on the `_bulk` wire
//! format of `bulk.rs`, as many requests at once as [`concurrency`] lets through), the mappings plugins describe ([`mappings`]) and the index templates
//! made of them ([`templates`]), setup of roles and retention ([`setup`]) and Dashboards objects
//! ([`dashboards`]).

pub(crate) mod bulk;
mod cluster;
pub mod concurrency;
pub mod dashboards;
mod ignored;
pub mod mappings;
pub mod setup;
mod sink;
pub mod templates;

pub use cluster::{Auth, Cluster};
pub use concurrency::Concurrency;
pub use sink::{BULK_BYTES, BulkSink, BulkStats};
