//! The streaming pipeline for one input: bytes → [`decode`] → chunks → plugin session →
//! documents with ids and indices ([`document`]) → sink, the rejected records → dead letters.
//! Memory is bounded by a few chunks, one batch and the session's cap, whatever the input's size.
//! An input too long for one attempt takes checkpoints ([`Resume`]): its retry reads it again
//! but emits only the records after the last one.

pub mod decode;
pub mod document;

use crate::routing::Routed;
use crate::sink::{Checkpoint, DeadLetter, DeadLetters, Document, Origin, Sink, SinkError};
use crate::source::SourceRef;
use decode::Chunks;
use document::{DailyIndex, document_id};
use kelk_sandbox::{Batch, Plugin, SessionError};
use std::io::{self, Read};

/// What happened to the records of the inputs processed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub objects: u64,
    /// Inputs that failed part-way (their documents so far were written).
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

/// Why an input could not be processed to its end.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{input}: no route of the routing config matches it")]
    NoRoute { input: SourceRef },
    #[error("{input}: cannot open it: {error}")]
    Open { input: SourceRef, error: io::Error },
    #[error("{input}: {error}")]
    Decode { input: SourceRef, error: io::Error },
    #[error(transparent)]
    Plugin(SessionError),
    /// What the plugin did against the contract, naming the plugin.
    #[error("{input}: {message}")]
    Contract { input: SourceRef, message: String },
    #[error("cannot write output: {0}")]
    Sink(#[from] SinkError),
    #[error("{input}: decompresses to more than {limit} bytes, the limit; the rest was not read")]
    TooLarge { input: SourceRef, limit: u64 },
    #[error("{input}: stopped before the deadline, after {bytes} bytes; a retry processes it again")]
    Deadline { input: SourceRef, bytes: u64 },
}

/// An input failed part-way: what it produced before, and why it stopped.
#[derive(Debug)]
pub struct Failed {
    pub counts: Counts,
    pub error: Box<IngestError>,
}

impl From<IngestError> for Failed {
    /// An input that failed before any of it was read (no route, cannot be opened, too late).
    fn from(error: IngestError) -> Self {
        Failed { counts: Counts { objects: 1, failed_objects: 1, ..Counts::default() }, error: Box::new(error) }
    }
}

/// The parameters of one input's parse.
pub struct Job<'a> {
    pub source: &'a SourceRef,
    pub options: &'a [(String, String)],
    /// The index prefix; the plugin's default when `None`.
    pub index_prefix: Option<&'a str>,
    pub stop: Stop,
    pub resume: Resume,
}

impl<'a> Job<'a> {
    /// A parse of `source` with no options, into the plugin's own index prefix, unbounded, from
    /// its start and without checkpoints; set the fields that differ.
    pub fn new(source: &'a SourceRef) -> Self {
        Job { source, options: &[], index_prefix: None, stop: Stop::default(), resume: Resume::default() }
    }
}

/// Where an attempt at an input starts emitting, and how often it records how far it got.
#[derive(Clone, Copy, Debug, Default)]
pub struct Resume {
    /// What an earlier attempt accounted for: the records of the bytes before it are made again
    /// (a plugin reads its input from the start) but not emitted.
    pub from: Checkpoint,
    /// A checkpoint is taken after the chunk that brings this many records past the last one;
    /// `None`, only the end counts. Taking one waits for every bulk request under way.
    pub every: Option<u64>,
}

/// When to give up on an input rather than run on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stop {
    /// The most decompressed bytes an input may have (a gzip bomb stops here).
    pub max_bytes: Option<u64>,
    /// Take no new chunk after this instant (a Lambda's deadline less a margin to flush): the
    /// input is reported failed, and its retry, with the same document ids, redoes it.
    pub deadline: Option<std::time::Instant>,
}

/// Parses one input from `input`: documents into `sink`, rejected records into
/// `dead_letters`. Returns once both hold everything of the input. A gzip input is gunzipped
/// on a thread of its own while the plugin parses ([`Chunks`]).
pub fn ingest(
    plugin: &Plugin,
    job: &Job,
    input: impl Read + Send,
    sink: &mut dyn Sink,
    dead_letters: &mut dyn DeadLetters,
) -> Result<Counts, Failed> {
    let origin = Origin { source: job.source, plugin: &plugin.info.name, plugin_sha256: &plugin.sha256 };
    one_input(origin, job.resume.from, sink, dead_letters, |sink, dead_letters, counts| {
        run(plugin, job, origin, input, sink, dead_letters, counts)
    })
}

/// A document the host made itself, with no plugin (a CloudWatch Logs message kept as it is).
pub struct Made {
    pub index: String,
    pub id: String,
    pub record_number: u64,
    pub offset: u64,
    pub source: Vec<u8>,
}

/// One input of `bytes` whose documents the host made itself: into `sink` between the same
/// beginning and end as a plugin's, so that what the sink refuses is dead-lettered under it.
pub fn deliver(
    origin: Origin,
    bytes: u64,
    documents: impl IntoIterator<Item = Made>,
    sink: &mut dyn Sink,
    dead_letters: &mut dyn DeadLetters,
) -> Result<Counts, Failed> {
    one_input(origin, Checkpoint::default(), sink, dead_letters, |sink, dead_letters, counts| {
        counts.bytes = bytes;
        for made in documents {
            let Made { index, id, record_number, offset, source } = &made;
            sink.document(
                &Document { index, id, record_number: *record_number, offset: *offset, source },
                dead_letters,
            )?;
            counts.documents += 1;
        }
        Ok(())
    })
}

/// Does `work` on one input, from `from`, between the sink's and the dead letters' `begin`
/// and their end.
fn one_input(
    origin: Origin,
    from: Checkpoint,
    sink: &mut dyn Sink,
    dead_letters: &mut dyn DeadLetters,
    work: impl FnOnce(&mut dyn Sink, &mut dyn DeadLetters, &mut Counts) -> Result<(), IngestError>,
) -> Result<Counts, Failed> {
    let mut counts = Counts { objects: 1, ..Counts::default() };
    let result = sink
        .begin(origin)
        .and_then(|()| dead_letters.begin(origin, from))
        .map_err(IngestError::from)
        .and_then(|()| work(sink, dead_letters, &mut counts));
    // Whatever happened, the documents sent so far are waited for (a retry finds them there).
    let flushed = sink.flush(dead_letters).map_err(IngestError::from);
    match result.and(flushed) {
        Ok(()) => dead_letters.end().map(|()| counts).map_err(|e| failed(counts, e.into())),
        Err(error) => {
            // Letters since the last checkpoint are the retry's to write: a failed attempt that
            // wrote its part of them could replace the whole set a concurrent attempt wrote.
            if let Err(dropped) = dead_letters.abandon() {
                tracing::warn!(input = %origin.source, error = %dropped, "cannot end the dead letters of a failed input");
            }
            Err(failed(counts, error))
        }
    }
}

fn failed(mut counts: Counts, error: IngestError) -> Failed {
    counts.failed_objects = 1;
    Failed { counts, error: Box::new(error) }
}

/// One input as the Lambda and the tools take it: on the route chosen for it (none: it fails
/// as unrouted), opened, then ingested.
pub fn ingest_routed<R: Read + Send>(
    routed: Option<Routed>,
    source: &SourceRef,
    open: impl FnOnce() -> io::Result<R>,
    stop: Stop,
    sink: &mut dyn Sink,
    dead_letters: &mut dyn DeadLetters,
) -> Result<Counts, Failed> {
    let routed = routed.ok_or_else(|| IngestError::NoRoute { input: source.clone() })?;
    let input = open().map_err(|error| IngestError::Open { input: source.clone(), error })?;
    let job =
        Job { source, options: routed.options, index_prefix: routed.index_prefix, stop, resume: Resume::default() };
    ingest(routed.plugin, &job, input, sink, dead_letters)
}

fn run(
    plugin: &Plugin,
    job: &Job,
    origin: Origin,
    input: impl Read + Send,
    sink: &mut dyn Sink,
    dead_letters: &mut dyn DeadLetters,
    counts: &mut Counts,
) -> Result<(), IngestError> {
    let decode_error = |error| IngestError::Decode { input: job.source.clone(), error };
    std::thread::scope(|scope| {
        let mut chunks = Chunks::new(scope, input).map_err(decode_error)?;
        let session_error = |error, bytes| match error {
            // Cut short at the input's deadline: not the plugin's fault.
            SessionError::Stopped { .. } => IngestError::Deadline { input: job.source.clone(), bytes },
            error => IngestError::Plugin(error),
        };
        let ctx = crate::source::context(job.source, &plugin.info.name, job.options);
        let mut session = plugin.session(&ctx, &job.source.to_string()).map_err(IngestError::Plugin)?;
        if let Some(deadline) = job.stop.deadline {
            session.stop_by(deadline);
        }
        let index = DailyIndex::new(job.index_prefix.unwrap_or(&plugin.info.index_prefix));
        let mut emit = Emit { plugin, job, origin, sink, dead_letters, index };
        // The records made of the input so far, and the last checkpoint.
        let (mut records, mut last) = (0, job.resume.from);
        loop {
            if job.stop.deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                return Err(IngestError::Deadline { input: job.source.clone(), bytes: counts.bytes });
            }
            let chunk = chunks.read().map_err(decode_error)?;
            if chunk.is_empty() {
                break;
            }
            counts.bytes += chunk.len() as u64;
            if let Some(limit) = job.stop.max_bytes.filter(|&limit| counts.bytes > limit) {
                return Err(IngestError::TooLarge { input: job.source.clone(), limit });
            }
            let batch = session.push(chunk).map_err(|e| session_error(e, counts.bytes))?;
            records += batch_records(&batch);
            if counts.bytes <= last.bytes {
                continue; // accounted for by an earlier attempt
            }
            emit.batch(&batch, counts)?;
            if job.resume.every.is_some_and(|every| records.saturating_sub(last.records) >= every) {
                last = Checkpoint { bytes: counts.bytes, records };
                emit.sink.flush(emit.dead_letters)?;
                emit.dead_letters.checkpoint(last)?;
            }
        }
        let batch = session.finish().map_err(|e| session_error(e, counts.bytes))?;
        emit.batch(&batch, counts)
    })
}

/// The records a batch accounts for.
fn batch_records(batch: &Batch) -> u64 {
    (batch.documents.len() + batch.rejections.len()) as u64 + u64::from(batch.skipped)
}

/// The event times a daily index can be named by: the years 0000 to 9999.
const EVENT_TIMES_MS: std::ops::RangeInclusive<i64> = -62_167_219_200_000..=253_402_300_799_999;

/// Why a plugin's document cannot be indexed as it is, if it cannot. The host does not parse
/// documents (OpenSearch refuses what is not JSON, and it is dead-lettered then), but a
/// document is one line of a `_bulk` body: a line break in it, which JSON allows between
/// tokens, would let the plugin write bulk actions of its own.
fn unfit(source: &[u8], event_time_ms: i64) -> Option<String> {
    if !(source.starts_with(b"{") && source.ends_with(b"}")) {
        return Some("the plugin produced a document that is not a JSON object".into());
    }
    if memchr::memchr(b'\n', source).is_some() {
        return Some("the plugin produced a document with a line break in it".into());
    }
    if !EVENT_TIMES_MS.contains(&event_time_ms) {
        return Some(format!(
            "the plugin gave the document an event time ({event_time_ms} ms) outside the years 0000 to 9999"
        ));
    }
    None
}

/// Hands a batch's documents, with their ids and indices, to the sink, and its rejections to
/// the dead letters.
struct Emit<'e, 'a> {
    plugin: &'e Plugin,
    job: &'e Job<'a>,
    origin: Origin<'e>,
    sink: &'e mut dyn Sink,
    dead_letters: &'e mut dyn DeadLetters,
    index: DailyIndex<'e>,
}

impl Emit<'_, '_> {
    fn batch(&mut self, batch: &Batch, counts: &mut Counts) -> Result<(), IngestError> {
        let contract = |message: String| IngestError::Contract {
            input: self.job.source.clone(),
            message: format!("plugin {} broke the contract: {message}", self.plugin.info.name),
        };
        let mut at = 0usize;
        for doc in &batch.documents {
            let end = at + doc.length as usize;
            let source = batch
                .json
                .get(at..end)
                .ok_or_else(|| contract(format!("document lengths overrun its {} bytes of JSON", batch.json.len())))?;
            at = end;
            if let Some(reason) = unfit(source, doc.event_time_ms) {
                self.dead_letter(doc.record_number, doc.offset, &reason, source)?;
                counts.rejected += 1;
                continue;
            }
            let id = document_id(self.job.source, doc.record_number, doc.natural_id.as_deref());
            let index = self.index.of(doc.event_time_ms);
            let document = Document { index, id: &id, record_number: doc.record_number, offset: doc.offset, source };
            self.sink.document(&document, self.dead_letters)?;
            counts.documents += 1;
        }
        if at != batch.json.len() {
            return Err(contract(format!("{} bytes of JSON belong to no document", batch.json.len() - at)));
        }
        for r in &batch.rejections {
            self.dead_letter(r.record_number, r.offset, &r.reason, &r.excerpt)?;
        }
        counts.rejected += batch.rejections.len() as u64;
        counts.skipped += u64::from(batch.skipped);
        Ok(())
    }

    fn dead_letter(&mut self, record_number: u64, offset: u64, reason: &str, excerpt: &[u8]) -> Result<(), SinkError> {
        self.dead_letters.dead_letter(&DeadLetter { reason, origin: self.origin, record_number, offset, excerpt })
    }
}
