//! Dead letters in S3: JSON lines, one object per part of a source object's letters, at
//! `<prefix><bucket>/<key>/<version>/part-<n>.ndjson` (`<version>` is `null` for unversioned
//! objects, as S3 names them). The key follows from the source object and the letters'
//! order, so a retried object overwrites its own letters instead of adding copies.

use super::{DeadLetter, Document, Sink};
use crate::document::ObjectRef;
use crate::s3::{Precondition, S3, S3Uri};
use std::io;

/// A part is written once its letters reach this size, so memory stays bounded.
const PART_BYTES: usize = 4 << 20;

pub struct S3DeadLetters {
    s3: S3,
    prefix: S3Uri,
    /// The object the buffered letters are from, and its next part number.
    object: Option<ObjectRef>,
    part: u32,
    lines: Vec<u8>,
}

impl S3DeadLetters {
    pub fn new(s3: S3, prefix: S3Uri) -> Self {
        S3DeadLetters { s3, prefix, object: None, part: 0, lines: Vec::new() }
    }

    /// The key of an object's part.
    fn part_uri(prefix: &S3Uri, object: &ObjectRef, part: u32) -> S3Uri {
        let version = object.version_id.as_deref().unwrap_or("null");
        let key = format!("{}{}/{}/{version}/part-{part:05}.ndjson", prefix.key, object.bucket, object.key);
        S3Uri { bucket: prefix.bucket.clone(), key }
    }

    fn write_part(&mut self) -> io::Result<()> {
        let Some(object) = &self.object else { return Ok(()) };
        if self.lines.is_empty() {
            return Ok(());
        }
        let uri = Self::part_uri(&self.prefix, object, self.part);
        self.s3.put(&uri, std::mem::take(&mut self.lines), "application/x-ndjson", Precondition::None)?;
        self.part += 1;
        Ok(())
    }
}

impl Sink for S3DeadLetters {
    /// Dead letters only: documents belong to another sink.
    fn document(&mut self, _: &Document) -> io::Result<()> {
        Err(io::Error::other("the S3 dead-letter store takes no documents"))
    }

    fn dead_letter(&mut self, letter: &DeadLetter) -> io::Result<()> {
        if self.object.as_ref() != Some(letter.origin.object) {
            self.write_part()?;
            self.object = Some(letter.origin.object.clone());
            self.part = 0;
        }
        serde_json::to_writer(&mut self.lines, letter)?;
        self.lines.push(b'\n');
        if self.lines.len() >= PART_BYTES { self.write_part() } else { Ok(()) }
    }

    /// Ends the object's letters: the pipeline flushes once an object is done, so its next run
    /// (a retry) starts again at part 0.
    fn flush(&mut self) -> io::Result<()> {
        self.write_part()?;
        self.object = None;
        Ok(())
    }
}
