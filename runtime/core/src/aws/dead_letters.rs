//! Dead letters in S3: JSON lines at `<prefix><bucket>/<key>/<version>/part-<from>.ndjson`
//! (`<version>` is the version id, else the ETag, else `null`; a stream record's are under
//! `<stream>/<id>/null/`). A part holds the letters of the records from the decompressed byte
//! `<from>` to the next checkpoint (or the end), and is written once every document of those
//! records is settled, by an attempt that got that far: two attempts at the same content write
//! the same parts with the same letters, so a retry, here or in another instance, overwrites
//! instead of adding copies, and a failed attempt writes nothing that a complete one wrote.
//! Beside the parts, `progress.json` holds the input's last checkpoint, for a retry to resume at.

use super::s3::{Precondition, S3, S3Uri};
use crate::sink::{Checkpoint, DeadLetter, DeadLetters, Origin, SinkError};
use crate::source::SourceRef;
use std::io::{self, Seek, Write};
use tempfile::{SpooledData, SpooledTempFile};

/// A part's letters are held in memory up to this size, then in a temporary file.
const IN_MEMORY_BYTES: usize = 4 << 20;

/// Dead letters as S3 objects beside nothing else, and each input's progress.
pub struct S3DeadLetters {
    s3: S3,
    prefix: S3Uri,
    part: Option<Part>,
}

/// The part being written: its input's letters from `from` on.
struct Part {
    source: SourceRef,
    plugin_sha256: String,
    from: u64,
    letters: SpooledTempFile,
    empty: bool,
}

/// The progress record of an input: the checkpoint, and the plugin that made it.
#[derive(serde::Serialize, serde::Deserialize)]
struct Progress {
    #[serde(flatten)]
    at: Checkpoint,
    plugin_sha256: String,
}

impl S3DeadLetters {
    /// Letters under `prefix` (`s3://bucket/prefix/`).
    pub fn new(s3: S3, prefix: S3Uri) -> Self {
        S3DeadLetters { s3, prefix, part: None }
    }

    /// The last checkpoint an attempt at `source` through the plugin `plugin_sha256` recorded;
    /// none when there is none, or another plugin made it (its records may differ).
    pub fn progress(&self, source: &SourceRef, plugin_sha256: &str) -> io::Result<Option<Checkpoint>> {
        let uri = beside(&self.prefix, source, "progress.json");
        let fetched = match self.s3.get(&uri) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            fetched => fetched?,
        };
        let progress: Progress = serde_json::from_slice(&fetched.bytes)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{uri}: {e}")))?;
        Ok((progress.plugin_sha256 == plugin_sha256).then_some(progress.at))
    }

    /// Writes the part begun last, if it holds a letter.
    fn write_part(&mut self) -> Result<(), SinkError> {
        let Some(part) = &mut self.part else { return Ok(()) };
        if part.empty {
            return Ok(());
        }
        let uri = beside(&self.prefix, &part.source, &format!("part-{:013}.ndjson", part.from));
        let letters = std::mem::replace(&mut part.letters, SpooledTempFile::new(IN_MEMORY_BYTES));
        part.empty = true;
        let written = match letters.into_inner() {
            SpooledData::InMemory(cursor) => {
                self.s3.put(&uri, cursor.into_inner(), "application/x-ndjson", Precondition::None)
            }
            SpooledData::OnDisk(mut file) => {
                file.rewind().and_then(|()| self.s3.put_file(&uri, file, "application/x-ndjson"))
            }
        };
        written.map_err(|e| SinkError::Retryable(format!("cannot write dead letters: {e}")))
    }
}

/// The object `name` among the letters and progress of `source`.
fn beside(prefix: &S3Uri, source: &SourceRef, name: &str) -> S3Uri {
    let [bucket, key, version] = source.identity();
    let version = if version.is_empty() { "null" } else { version };
    S3Uri { bucket: prefix.bucket.clone(), key: format!("{}{bucket}/{key}/{version}/{name}", prefix.key) }
}

impl DeadLetters for S3DeadLetters {
    /// Nothing of an earlier input is carried into this one.
    fn begin(&mut self, origin: Origin<'_>, from: Checkpoint) -> Result<(), SinkError> {
        self.part = Some(Part {
            source: origin.source.clone(),
            plugin_sha256: origin.plugin_sha256.into(),
            from: from.bytes,
            letters: SpooledTempFile::new(IN_MEMORY_BYTES),
            empty: true,
        });
        Ok(())
    }

    fn dead_letter(&mut self, letter: &DeadLetter<'_>) -> Result<(), SinkError> {
        let part = self.part.as_mut().expect("letters come between begin and end");
        serde_json::to_writer(&mut part.letters, letter).map_err(|e| SinkError::Fatal(e.to_string()))?;
        part.letters.write_all(b"\n")?;
        part.empty = false;
        Ok(())
    }

    /// Writes the part up to `at`, then `at` as the input's progress.
    fn checkpoint(&mut self, at: Checkpoint) -> Result<(), SinkError> {
        self.write_part()?;
        let part = self.part.as_mut().expect("checkpoints come between begin and end");
        part.from = at.bytes;
        let progress = Progress { at, plugin_sha256: part.plugin_sha256.clone() };
        let uri = beside(&self.prefix, &part.source, "progress.json");
        let body = serde_json::to_vec(&progress).map_err(|e| SinkError::Fatal(e.to_string()))?;
        self.s3
            .put(&uri, body, "application/json", Precondition::None)
            .map_err(|e| SinkError::Retryable(format!("cannot record progress: {e}")))
    }

    fn end(&mut self) -> Result<(), SinkError> {
        let written = self.write_part();
        self.part = None;
        written
    }

    fn abandon(&mut self) -> Result<(), SinkError> {
        self.part = None;
        Ok(())
    }
}
