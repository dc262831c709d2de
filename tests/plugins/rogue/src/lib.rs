//! Misbehaves as the `behaviour` option says, on the first chunk: `spin` loops forever,
//! `hog` allocates without end, `panic` panics, `overrun` returns document lengths past its
//! JSON. With no option it behaves: one document at the end, counting the bytes it saw.

use kelk_parser_sdk::{Batch, Event, Fatal, Open, Parser, Record, SourceContext, Timestamp};

pub struct Rogue {
    behaviour: String,
    bytes: u64,
}

kelk_parser_sdk::plugin! {
    parser: Rogue,
    name: "rogue",
    dataset: "test.rogue",
    module: "test",
    dashboard: { title: "rogue", top_fields: [] },
}

impl Open for Rogue {
    fn open(ctx: &SourceContext) -> Result<Self, Fatal> {
        Ok(Rogue { behaviour: ctx.option("behaviour").unwrap_or_default().to_owned(), bytes: 0 })
    }
}

impl Parser for Rogue {
    fn push(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), Fatal> {
        self.bytes += chunk.len() as u64;
        match self.behaviour.as_str() {
            "spin" => {
                let mut x = 0u64;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "hog" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "panic" => panic!("rogue plugin panics on purpose"),
            "overrun" => {
                out.record(Record { number: 1, offset: 0 }, chunk, |doc| {
                    doc.u64("n", 1);
                    Ok(Event::at(Timestamp { secs: 0, nanos: 0 }).into())
                });
                out.documents[0].length += 100;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn finish(&mut self, out: &mut Batch) -> Result<(), Fatal> {
        let bytes = self.bytes;
        out.record(Record { number: 1, offset: 0 }, b"", |doc| {
            doc.u64("bytes", bytes);
            Ok(Event::at(Timestamp { secs: 0, nanos: 0 }).into())
        });
        Ok(())
    }
}
