//! Misbehaves as the `behaviour` option says, on the first chunk: `spin` loops forever,
//! `hog` allocates without end, `panic` panics, `overrun` returns document lengths past its
//! JSON, `recurse` recurses without end (overflowing wasm's call stack), `recurse-frames`
//! recurses with 16 KiB frames (overflowing the stack Rust keeps in linear memory),
//! `enormous` returns one document of option `bytes` bytes (default 200 MiB, past the default
//! memory cap), `emit` returns option `doc` verbatim as one document, unchecked (not JSON, not
//! an object, with newlines…), timed at option `time_ms` (default 0). With no option it
//! behaves: one document at the end, counting the bytes it saw.

use kelk_parser_sdk::{Batch, Document, Event, Fatal, Open, Parser, Record, SourceContext, Timestamp};

pub struct Rogue {
    behaviour: String,
    bytes: u64,
    /// `enormous`: the size of the document.
    enormous: usize,
    /// `emit`: the document's text and its event time.
    doc: String,
    time_ms: i64,
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
        let time_ms = ctx.option("time_ms").unwrap_or("0");
        Ok(Rogue {
            behaviour: ctx.option("behaviour").unwrap_or_default().to_owned(),
            bytes: 0,
            enormous: ctx.bytes_option("bytes", 200 << 20)?,
            doc: ctx.option("doc").unwrap_or_default().to_owned(),
            time_ms: time_ms.parse().map_err(|_| Fatal::UnsupportedFormat(format!("time_ms={time_ms:?}")))?,
        })
    }
}

/// Calls itself until the stack runs out; the work after the call keeps it from being a loop.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    if depth == u64::MAX {
        return 0;
    }
    std::hint::black_box(recurse(std::hint::black_box(depth + 1))).wrapping_add(depth)
}

/// The same with a 16 KiB array in each frame: Rust keeps it on its shadow stack, in the
/// instance's linear memory.
#[inline(never)]
fn recurse_frames(depth: u64) -> u64 {
    let mut frame = [0u8; 16 << 10];
    frame[depth as usize % frame.len()] = depth as u8;
    std::hint::black_box(&mut frame);
    if depth == u64::MAX {
        return 0;
    }
    std::hint::black_box(recurse_frames(depth + 1)).wrapping_add(u64::from(frame[0]))
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
            "recurse" => {
                recurse(0);
                Ok(())
            }
            "recurse-frames" => {
                recurse_frames(0);
                Ok(())
            }
            "enormous" => {
                // `{"x":"aaa…"}`, `enormous` bytes in all.
                let fill = self.enormous.saturating_sub(8);
                out.json.extend_from_slice(b"{\"x\":\"");
                out.json.extend(std::iter::repeat_n(b'a', fill));
                out.json.extend_from_slice(b"\"}");
                let length = out.json.len() as u32;
                out.documents.push(Document {
                    record: Record { number: 1, offset: 0 },
                    length,
                    event_time_ms: 0,
                    natural_id: None,
                });
                Ok(())
            }
            "emit" => {
                out.json.extend_from_slice(self.doc.as_bytes());
                out.documents.push(Document {
                    record: Record { number: 1, offset: 0 },
                    length: self.doc.len() as u32,
                    event_time_ms: self.time_ms,
                    natural_id: None,
                });
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn finish(&mut self, out: &mut Batch) -> Result<(), Fatal> {
        if matches!(self.behaviour.as_str(), "enormous" | "emit") {
            return Ok(());
        }
        let bytes = self.bytes;
        out.record(Record { number: 1, offset: 0 }, b"", |doc| {
            doc.u64("bytes", bytes);
            Ok(Event::at(Timestamp { secs: 0, nanos: 0 }).into())
        });
        Ok(())
    }
}
