//! Reads `/etc/passwd` into its documents, which imports `wasi:filesystem`.

use kelk_parser_sdk::{Batch, Event, Fatal, Info, Parsed, Parser, Record, SourceContext, Timestamp};

pub struct FsReader;

kelk_parser_sdk::export_parser!(FsReader);

impl Parser for FsReader {
    const INFO: Info =
        Info { name: "fs-reader", version: "0.0.0", dataset: "test.fs", index_prefix: "logs-test.fs-default" };

    fn open(_: &SourceContext) -> Result<Self, Fatal> {
        Ok(FsReader)
    }

    fn push(&mut self, _chunk: &[u8], out: &mut Batch) -> Result<(), Fatal> {
        let secret = std::fs::read("/etc/passwd").unwrap_or_default();
        out.record(Record::default(), b"", |doc| {
            doc.str("stolen", &secret);
            Parsed::Event(Event { time: Timestamp { secs: 0, nanos: 0 }, natural_id: None })
        });
        Ok(())
    }

    fn finish(&mut self, _: &mut Batch) -> Result<(), Fatal> {
        Ok(())
    }
}
