//! The streaming pipeline for one object: bytes → decode → chunks → plugin session →
//! documents with ids and indices → sink. Memory is bounded by one chunk, one batch and the
//! session's cap, whatever the object's size.

use crate::decode::{CHUNK_BYTES, decompressed, next_chunk};
use crate::document::{DailyIndex, ObjectRef, document_id};
use crate::plugin::{Batch, Plugin};
use crate::session::{SessionError, SourceContext};
use crate::sink::{DeadLetter, Document, Origin, Sink};
use std::io::{self, Read};

/// What happened to the records of the objects processed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub objects: u64,
    /// Objects that failed part-way (their documents so far were written).
    pub failed_objects: u64,
    /// Decompressed bytes read.
    pub bytes: u64,
    pub documents: u64,
    /// Records dead-lettered with a reason.
    pub rejected: u64,
    /// Records that are not events by their format (headers, blank lines).
    pub skipped: u64,
}

impl Counts {
    /// Every input record: each is a document, a dead letter or a skipped non-event.
    pub fn records(&self) -> u64 {
        self.documents + self.rejected + self.skipped
    }

    pub fn add(&mut self, other: &Counts) {
        self.objects += other.objects;
        self.failed_objects += other.failed_objects;
        self.bytes += other.bytes;
        self.documents += other.documents;
        self.rejected += other.rejected;
        self.skipped += other.skipped;
    }
}

/// Why an object could not be processed to its end.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{object}: {source}")]
    Decode { object: String, source: io::Error },
    #[error(transparent)]
    Plugin(#[from] SessionError),
    #[error("{object}: plugin {plugin} broke the contract: {message}")]
    Contract { object: String, plugin: String, message: String },
    #[error("cannot write output: {0}")]
    Sink(io::Error),
    #[error("{object}: no route of the routing config matches it")]
    NoRoute { object: String },
    #[error("{object}: decompresses to more than {limit} bytes, the limit; the rest was not read")]
    TooLarge { object: String, limit: u64 },
    #[error("{object}: stopped before the deadline, after {bytes} bytes; a retry processes it again")]
    Deadline { object: String, bytes: u64 },
}

/// An object failed part-way: what it produced before, and why it stopped.
#[derive(Debug)]
pub struct Failed {
    pub counts: Counts,
    pub error: Box<IngestError>,
}

impl Failed {
    /// An object that failed before any of it was read (no route, cannot be opened, too late).
    pub fn at_start(error: IngestError) -> Self {
        Failed { counts: Counts { objects: 1, failed_objects: 1, ..Counts::default() }, error: Box::new(error) }
    }
}

/// The parameters of one object's parse.
pub struct Job<'a> {
    pub object: &'a ObjectRef,
    pub log_type: &'a str,
    pub options: &'a [(String, String)],
    /// The index prefix; the plugin's default when `None`.
    pub index_prefix: Option<&'a str>,
    pub stop: Stop,
}

/// When to give up on an object rather than run on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stop {
    /// The most decompressed bytes an object may have (a gzip bomb stops here).
    pub max_bytes: Option<u64>,
    /// Take no new chunk after this instant (a Lambda's deadline less a margin to flush): the
    /// object is reported failed, and its retry, with the same document ids, redoes it.
    pub deadline: Option<std::time::Instant>,
}

/// Parses one object from `input` into `sink`.
pub fn ingest(plugin: &Plugin, job: &Job, input: impl Read, sink: &mut dyn Sink) -> Result<Counts, Failed> {
    let mut counts = Counts { objects: 1, ..Counts::default() };
    let result = run(plugin, job, input, sink, &mut counts);
    let flushed = sink.flush().map_err(IngestError::Sink);
    match result.and(flushed) {
        Ok(()) => Ok(counts),
        Err(error) => {
            counts.failed_objects = 1;
            Err(Failed { counts, error: Box::new(error) })
        }
    }
}

fn run(
    plugin: &Plugin,
    job: &Job,
    input: impl Read,
    sink: &mut dyn Sink,
    counts: &mut Counts,
) -> Result<(), IngestError> {
    let decode_error = |source| IngestError::Decode { object: job.object.to_string(), source };
    let ctx = SourceContext {
        bucket: job.object.bucket.clone(),
        key: job.object.key.clone(),
        version_id: job.object.version_id.clone(),
        log_type: job.log_type.to_owned(),
        options: job.options.to_vec(),
    };
    let mut input = decompressed(input).map_err(decode_error)?;
    let mut session = plugin.session(&ctx)?;
    if let Some(deadline) = job.stop.deadline {
        session.stop_by(deadline);
    }
    let mut index = DailyIndex::new(job.index_prefix.unwrap_or(&plugin.info.index_prefix));
    let mut buf = Vec::with_capacity(CHUNK_BYTES);
    loop {
        if job.stop.deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Err(IngestError::Deadline { object: job.object.to_string(), bytes: counts.bytes });
        }
        let chunk = next_chunk(&mut input, &mut buf).map_err(decode_error)?;
        if chunk.is_empty() {
            break;
        }
        counts.bytes += chunk.len() as u64;
        if let Some(limit) = job.stop.max_bytes.filter(|&limit| counts.bytes > limit) {
            return Err(IngestError::TooLarge { object: job.object.to_string(), limit });
        }
        let batch = session.push(chunk).map_err(|e| at_deadline(e, job, counts.bytes))?;
        emit(plugin, job, &batch, &mut index, sink, counts)?;
    }
    let batch = session.finish().map_err(|e| at_deadline(e, job, counts.bytes))?;
    emit(plugin, job, &batch, &mut index, sink, counts)
}

/// A plugin stopped because the object's deadline came is the object stopping at the
/// deadline, not a plugin fault.
fn at_deadline(error: SessionError, job: &Job, bytes: u64) -> IngestError {
    // The epoch ticker fires up to a tick or two before the instant itself.
    let past = job.stop.deadline.is_some_and(|d| std::time::Instant::now() + 2 * crate::engine::EPOCH_TICK >= d);
    match error {
        SessionError::Deadline { .. } if past => IngestError::Deadline { object: job.object.to_string(), bytes },
        error => IngestError::Plugin(error),
    }
}

/// Gives each document its id and index and hands it to the sink; dead-letters rejections.
fn emit(
    plugin: &Plugin,
    job: &Job,
    batch: &Batch,
    index: &mut DailyIndex,
    sink: &mut dyn Sink,
    counts: &mut Counts,
) -> Result<(), IngestError> {
    let contract = |message: String| IngestError::Contract {
        object: job.object.to_string(),
        plugin: plugin.info.name.clone(),
        message,
    };
    let origin = Origin { object: job.object, plugin: &plugin.info.name, plugin_sha256: &plugin.sha256 };
    let dead_letter = |sink: &mut dyn Sink, record_number, offset, reason: &str, excerpt: &[u8]| {
        sink.dead_letter(&DeadLetter { reason, origin, record_number, offset, excerpt }).map_err(IngestError::Sink)
    };
    let mut at = 0usize;
    for doc in &batch.documents {
        let end = at + doc.length as usize;
        let source = batch
            .json
            .get(at..end)
            .ok_or_else(|| contract(format!("document lengths overrun its {} bytes of JSON", batch.json.len())))?;
        at = end;
        if !(source.starts_with(b"{") && source.ends_with(b"}")) {
            dead_letter(
                sink,
                doc.record_number,
                doc.offset,
                "the plugin produced a document that is not a JSON object",
                source,
            )?;
            counts.rejected += 1;
            continue;
        }
        let id = document_id(job.object, doc.record_number, doc.natural_id.as_deref());
        let index = index.of(doc.event_time_ms);
        sink.document(&Document {
            index,
            id: &id,
            record_number: doc.record_number,
            offset: doc.offset,
            source,
            origin,
        })
        .map_err(IngestError::Sink)?;
        counts.documents += 1;
    }
    if at != batch.json.len() {
        return Err(contract(format!("{} bytes of JSON belong to no document", batch.json.len() - at)));
    }
    for r in &batch.rejections {
        dead_letter(sink, r.record_number, r.offset, &r.reason, &r.excerpt)?;
    }
    counts.rejected += batch.rejections.len() as u64;
    counts.skipped += u64::from(batch.skipped);
    Ok(())
}
