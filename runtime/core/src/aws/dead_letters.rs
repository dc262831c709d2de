//! Dead letters in S3: JSON lines, one object per part of an input's letters, at
//! `<prefix><bucket>/<key>/<version>/part-<n>.ndjson` (`<version>` is `null` for unversioned
//! objects, as S3 names them; a stream record's are under `<stream>/<id>/null/`). The key
//! follows from the input and the letters' order, so a retried input overwrites its own letters
//! instead of adding copies.

use super::s3::{Precondition, S3, S3Uri};
use crate::sink::{DeadLetter, DeadLetters, Origin, SinkError};
use crate::source::SourceRef;

/// A part is written once its letters reach this size, so memory stays bounded.
const PART_BYTES: usize = 4 << 20;

/// Dead letters as S3 objects beside nothing else: [`DeadLetters`] only.
pub struct S3DeadLetters {
    s3: S3,
    prefix: S3Uri,
    /// The input begun last, and its next part number.
    source: Option<SourceRef>,
    part: u32,
    lines: Vec<u8>,
}

impl S3DeadLetters {
    /// Letters under `prefix` (`s3://bucket/prefix/`).
    pub fn new(s3: S3, prefix: S3Uri) -> Self {
        S3DeadLetters { s3, prefix, source: None, part: 0, lines: Vec::new() }
    }

    /// The key of an input's part.
    fn part_uri(prefix: &S3Uri, source: &SourceRef, part: u32) -> S3Uri {
        let [bucket, key, version] = source.identity();
        let version = if version.is_empty() { "null" } else { version };
        S3Uri {
            bucket: prefix.bucket.clone(),
            key: format!("{}{bucket}/{key}/{version}/part-{part:05}.ndjson", prefix.key),
        }
    }

    fn write_part(&mut self) -> Result<(), SinkError> {
        let Some(source) = &self.source else { return Ok(()) };
        if self.lines.is_empty() {
            return Ok(());
        }
        let uri = Self::part_uri(&self.prefix, source, self.part);
        self.s3
            .put(&uri, std::mem::take(&mut self.lines), "application/x-ndjson", Precondition::None)
            .map_err(|e| SinkError::Retryable(format!("cannot write dead letters: {e}")))?;
        self.part += 1;
        Ok(())
    }
}

impl DeadLetters for S3DeadLetters {
    /// An input's letters start again at part 0, so its retry overwrites its earlier run's.
    fn begin(&mut self, origin: Origin<'_>) -> Result<(), SinkError> {
        self.source = Some(origin.source.clone());
        self.part = 0;
        self.lines.clear();
        Ok(())
    }

    fn dead_letter(&mut self, letter: &DeadLetter<'_>) -> Result<(), SinkError> {
        serde_json::to_writer(&mut self.lines, letter).map_err(|e| SinkError::Fatal(e.to_string()))?;
        self.lines.push(b'\n');
        if self.lines.len() >= PART_BYTES { self.write_part() } else { Ok(()) }
    }

    fn end(&mut self) -> Result<(), SinkError> {
        let written = self.write_part();
        self.source = None;
        written
    }
}
