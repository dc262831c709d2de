//! Where documents and dead letters go.

mod bulk_files;
mod opensearch;
mod s3_dead_letters;
mod stdout;

pub use bulk_files::BulkFiles;
pub use opensearch::{BULK_BYTES, BulkStats, OpenSearch};
pub use s3_dead_letters::S3DeadLetters;
pub use stdout::Stdout;

use crate::document::ObjectRef;
use std::io;

/// Where a record came from: the object and the plugin that parsed it.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Origin<'a> {
    pub object: &'a ObjectRef,
    pub plugin: &'a str,
    pub plugin_sha256: &'a str,
}

/// A document ready to index.
pub struct Document<'a> {
    pub index: &'a str,
    pub id: &'a str,
    /// The number of the input record it came from, and where that record starts.
    pub record_number: u64,
    pub offset: u64,
    /// The document's JSON object.
    pub source: &'a [u8],
    pub origin: Origin<'a>,
}

/// An input record that did not become an indexed document, with everything needed to find it.
#[derive(serde::Serialize)]
pub struct DeadLetter<'a> {
    pub reason: &'a str,
    #[serde(flatten)]
    pub origin: Origin<'a>,
    pub record_number: u64,
    pub offset: u64,
    /// The start of the raw record (or of the document, when OpenSearch refused it), invalid
    /// UTF-8 replaced.
    #[serde(serialize_with = "lossy")]
    pub excerpt: &'a [u8],
}

fn lossy<S: serde::Serializer>(bytes: &&[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(bytes))
}

/// A destination for documents and dead letters.
pub trait Sink {
    fn document(&mut self, doc: &Document) -> io::Result<()>;
    fn dead_letter(&mut self, letter: &DeadLetter) -> io::Result<()>;
    /// Makes everything written so far durable.
    fn flush(&mut self) -> io::Result<()>;
}
