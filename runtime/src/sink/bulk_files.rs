//! The embedded default sink: OpenSearch `_bulk` request bodies on local disk, one file per
//! index (`<dir>/<index>.ndjson`, ready for `curl --data-binary @file …/_bulk`), and the dead
//! letters as JSON lines in `<dir>/dead-letters.ndjson`.

use super::{DeadLetter, Document, Sink};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct BulkFiles {
    dir: PathBuf,
    /// One writer per daily index: a handful, however large the input.
    indices: HashMap<String, BufWriter<File>>,
    dead_letters: Option<BufWriter<File>>,
}

impl BulkFiles {
    /// Appends to the files in `dir`, creating it if needed.
    pub fn new(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(BulkFiles { dir: dir.to_owned(), indices: HashMap::new(), dead_letters: None })
    }

    fn open(dir: &Path, name: &str) -> io::Result<BufWriter<File>> {
        Ok(BufWriter::new(OpenOptions::new().create(true).append(true).open(dir.join(name))?))
    }
}

impl Sink for BulkFiles {
    fn document(&mut self, doc: &Document) -> io::Result<()> {
        let out = match self.indices.get_mut(doc.index) {
            Some(out) => out,
            None => {
                let out = Self::open(&self.dir, &format!("{}.ndjson", doc.index))?;
                self.indices.entry(doc.index.to_owned()).or_insert(out)
            }
        };
        // `create`: a document that is already there (a retry) is left alone.
        serde_json::to_writer(&mut *out, &serde_json::json!({"create": {"_index": doc.index, "_id": doc.id}}))?;
        out.write_all(b"\n")?;
        out.write_all(doc.source)?;
        out.write_all(b"\n")
    }

    fn dead_letter(&mut self, letter: &DeadLetter) -> io::Result<()> {
        if self.dead_letters.is_none() {
            self.dead_letters = Some(Self::open(&self.dir, "dead-letters.ndjson")?);
        }
        let out = self.dead_letters.as_mut().expect("opened above");
        serde_json::to_writer(&mut *out, letter)?;
        out.write_all(b"\n")
    }

    fn flush(&mut self) -> io::Result<()> {
        for out in self.indices.values_mut().chain(self.dead_letters.as_mut()) {
            out.flush()?;
        }
        Ok(())
    }
}
