//! The embedded default sink: OpenSearch `_bulk` request bodies on local disk, one file per
//! index (`<dir>/<index>.ndjson`, ready for `curl --data-binary @file …/_bulk`) ([`BulkFiles`]),
//! and dead letters as JSON lines in `<dir>/dead-letters.ndjson` ([`DeadLetterFile`]).

use super::{DeadLetter, DeadLetters, Document, Sink, SinkError};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// `_bulk` bodies, one file per daily index.
pub struct BulkFiles {
    dir: PathBuf,
    /// One writer per daily index: a handful, however large the input.
    indices: HashMap<String, BufWriter<File>>,
}

/// Dead letters as JSON lines in one file.
pub struct DeadLetterFile {
    dir: PathBuf,
    out: Option<BufWriter<File>>,
}

/// Appends to `dir/name`, creating both if needed.
fn append(dir: &Path, name: &str) -> io::Result<BufWriter<File>> {
    std::fs::create_dir_all(dir)?;
    Ok(BufWriter::new(OpenOptions::new().create(true).append(true).open(dir.join(name))?))
}

impl BulkFiles {
    /// Appends to the files in `dir`, creating it if needed.
    pub fn new(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(BulkFiles { dir: dir.to_owned(), indices: HashMap::new() })
    }
}

impl Sink for BulkFiles {
    fn document(&mut self, doc: &Document<'_>, _: &mut dyn DeadLetters) -> Result<(), SinkError> {
        let out = match self.indices.get_mut(doc.index) {
            Some(out) => out,
            None => {
                let out = append(&self.dir, &format!("{}.ndjson", doc.index))?;
                self.indices.entry(doc.index.to_owned()).or_insert(out)
            }
        };
        // `create`: a document that is already there (a retry) is left alone.
        serde_json::to_writer(&mut *out, &serde_json::json!({"create": {"_index": doc.index, "_id": doc.id}}))
            .map_err(io::Error::from)?;
        out.write_all(b"\n")?;
        out.write_all(doc.source)?;
        Ok(out.write_all(b"\n")?)
    }

    fn flush(&mut self, _: &mut dyn DeadLetters) -> Result<(), SinkError> {
        for out in self.indices.values_mut() {
            out.flush()?;
        }
        Ok(())
    }
}

impl DeadLetterFile {
    /// Appends to `dir/dead-letters.ndjson`, created with the first letter.
    pub fn new(dir: &Path) -> Self {
        DeadLetterFile { dir: dir.to_owned(), out: None }
    }
}

impl DeadLetters for DeadLetterFile {
    fn dead_letter(&mut self, letter: &DeadLetter<'_>) -> Result<(), SinkError> {
        let out = match &mut self.out {
            Some(out) => out,
            None => self.out.insert(append(&self.dir, "dead-letters.ndjson")?),
        };
        serde_json::to_writer(&mut *out, letter).map_err(io::Error::from)?;
        Ok(out.write_all(b"\n")?)
    }

    fn end(&mut self) -> Result<(), SinkError> {
        Ok(self.out.as_mut().map_or(Ok(()), Write::flush)?)
    }
}
