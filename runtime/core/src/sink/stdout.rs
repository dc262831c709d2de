//! Documents as JSON lines on stdout, exactly as they would be indexed ([`Stdout`]), and dead
//! letters as `input:record: reason [excerpt]` on stderr ([`Stderr`]). What `kelk-plugin run`
//! and `kelk ingest --stdout` print. Documents are buffered and flushed at the end of each
//! input, so on a terminal a letter may show a few lines before the documents that precede it.

use super::{DeadLetter, DeadLetters, Document, Sink, SinkError};
use std::io::{self, BufWriter, Write};

/// Documents on stdout.
pub struct Stdout {
    out: BufWriter<io::Stdout>,
}

impl Default for Stdout {
    fn default() -> Self {
        Stdout { out: BufWriter::new(io::stdout()) }
    }
}

impl Sink for Stdout {
    fn document(&mut self, doc: &Document<'_>, _: &mut dyn DeadLetters) -> Result<(), SinkError> {
        self.out.write_all(doc.source)?;
        Ok(self.out.write_all(b"\n")?)
    }

    fn flush(&mut self, _: &mut dyn DeadLetters) -> Result<(), SinkError> {
        Ok(self.out.flush()?)
    }
}

/// Dead letters on stderr, one line each.
#[derive(Default)]
pub struct Stderr;

impl DeadLetters for Stderr {
    fn dead_letter(&mut self, letter: &DeadLetter<'_>) -> Result<(), SinkError> {
        let name = match letter.origin.source {
            crate::source::SourceRef::Object(o) => o.key.as_str(),
            crate::source::SourceRef::Record(r) => r.id.as_str(),
            crate::source::SourceRef::LogEvents(l) => l.log_stream.as_str(),
        };
        eprintln!(
            "{name}:{}: {} [{}]",
            letter.record_number,
            letter.reason,
            String::from_utf8_lossy(letter.excerpt).escape_debug()
        );
        Ok(())
    }
}
