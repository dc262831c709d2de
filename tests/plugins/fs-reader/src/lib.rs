//! Reads `/etc/passwd` into its documents, which imports `wasi:filesystem`.

use kelk_parser_sdk::{Batch, Event, Fatal, Parser, Record, Timestamp};

#[derive(Default)]
pub struct FsReader;

kelk_parser_sdk::plugin! {
    parser: FsReader,
    name: "fs-reader",
    dataset: "test.fs",
    module: "test",
    dashboard: { title: "stolen files", top_fields: [] },
}

impl Parser for FsReader {
    fn push(&mut self, _chunk: &[u8], out: &mut Batch) -> Result<(), Fatal> {
        let secret = std::fs::read("/etc/passwd").unwrap_or_default();
        out.record(Record::default(), b"", |doc| {
            doc.str("stolen", &secret);
            Ok(Event::at(Timestamp { secs: 0, nanos: 0 }).into())
        });
        Ok(())
    }

    fn finish(&mut self, _: &mut Batch) -> Result<(), Fatal> {
        Ok(())
    }
}
