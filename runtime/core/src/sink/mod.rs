//! Where documents go ([`Sink`]), and where the records that did not become indexed documents
//! go ([`DeadLetters`]): two seams, since one destination indexes and another keeps what
//! failed. Both hear when an input begins, each of its checkpoints, and its end; `end` returns
//! only when everything of the input is durable, so an input counts as done only then.

mod bulk_files;
mod memory;
mod shared;
mod stdout;

pub use bulk_files::{BulkFiles, DeadLetterFile};
pub use memory::{Kept, KeptLetter, Memory};
pub use shared::Shared;
pub use stdout::{Stderr, Stdout};

use crate::source::SourceRef;
use std::io;

/// Where a record came from: the input and the plugin that parsed it.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Origin<'a> {
    #[serde(rename = "object")]
    pub source: &'a SourceRef,
    pub plugin: &'a str,
    pub plugin_sha256: &'a str,
}

/// A document ready to index, of the input begun last.
pub struct Document<'a> {
    pub index: &'a str,
    pub id: &'a str,
    /// The number of the input record it came from, and where that record starts.
    pub record_number: u64,
    pub offset: u64,
    /// The document's JSON object.
    pub source: &'a [u8],
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

/// Why a sink or a dead-letter store failed, by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The destination is unreachable, overloaded or throttling: the same work may succeed later.
    #[error("{0}")]
    Retryable(String),
    /// The destination refused the request itself (not one document) and will again.
    #[error("{0}")]
    Refused(String),
    /// Nothing can go on: local output failed, or the destination's answer makes no sense.
    #[error("{0}")]
    Fatal(String),
}

impl From<io::Error> for SinkError {
    fn from(e: io::Error) -> Self {
        SinkError::Fatal(e.to_string())
    }
}

/// How far an input is accounted for: every record its plugin made of the first `bytes`
/// decompressed bytes (`records` of them) is an indexed document, a durable dead letter, or a
/// skipped non-event. A retry of the input need not emit those records again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub bytes: u64,
    pub records: u64,
}

/// A destination for documents. Documents it refuses for good (a mapping conflict) go to the
/// dead letters passed in, with the reason.
pub trait Sink {
    /// An input begins: the documents until [`Sink::end`] are its.
    fn begin(&mut self, _origin: Origin<'_>) -> Result<(), SinkError> {
        Ok(())
    }

    /// Takes a document.
    fn document(&mut self, doc: &Document<'_>, refused: &mut dyn DeadLetters) -> Result<(), SinkError>;

    /// Returns once each document given so far is stored or dead-lettered: at each checkpoint
    /// of the input, and at its end.
    fn flush(&mut self, _refused: &mut dyn DeadLetters) -> Result<(), SinkError> {
        Ok(())
    }
}

/// A destination for dead letters, and where an input's progress is kept when it is kept.
pub trait DeadLetters {
    /// An input begins, at `from` (where an earlier attempt got to, or its start): the letters
    /// until [`DeadLetters::end`] are of its records from there on.
    fn begin(&mut self, _origin: Origin<'_>, _from: Checkpoint) -> Result<(), SinkError> {
        Ok(())
    }

    /// Takes a dead letter.
    fn dead_letter(&mut self, letter: &DeadLetter<'_>) -> Result<(), SinkError>;

    /// Everything of the input up to `at` is accounted for but its letters: returns once they
    /// are durable, and, where progress is kept, once `at` is recorded for a retry to resume at.
    fn checkpoint(&mut self, _at: Checkpoint) -> Result<(), SinkError> {
        Ok(())
    }

    /// The input is done: returns once each of its letters is durable.
    fn end(&mut self) -> Result<(), SinkError> {
        Ok(())
    }

    /// The input failed. A store that takes letters back drops those since the last
    /// checkpoint, which the input's retry makes again; the others keep them.
    fn abandon(&mut self) -> Result<(), SinkError> {
        self.end()
    }
}
