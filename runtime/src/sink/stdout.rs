//! Documents as JSON lines on stdout, exactly as they would be indexed; dead letters as
//! `object:line: reason` on stderr. What `kelk-plugin run` prints.

use super::{DeadLetter, Document, Sink};
use std::io::{self, BufWriter, Write};

pub struct Stdout {
    out: BufWriter<io::StdoutLock<'static>>,
}

impl Stdout {
    pub fn new() -> Self {
        Stdout { out: BufWriter::new(io::stdout().lock()) }
    }
}

impl Default for Stdout {
    fn default() -> Self {
        Self::new()
    }
}

impl Sink for Stdout {
    fn document(&mut self, doc: &Document) -> io::Result<()> {
        self.out.write_all(doc.source)?;
        self.out.write_all(b"\n")
    }

    fn dead_letter(&mut self, letter: &DeadLetter) -> io::Result<()> {
        // Keep stdout and stderr in order for a reader watching both.
        self.out.flush()?;
        eprintln!(
            "{}:{}: {} [{}]",
            letter.origin.object.key,
            letter.record_number,
            letter.reason,
            String::from_utf8_lossy(letter.excerpt).escape_debug()
        );
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
