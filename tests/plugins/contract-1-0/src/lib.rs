//! A plugin as the 1.0 contract made them: bindings from the 1.0.0 WIT frozen in `wit/` (no
//! SDK, which follows the newest minor), so it exports `kelk:parser/parser@1.0.0` and no
//! `documents`. Each line becomes `{"line":<its number>}`, timed at the epoch.

#![cfg(target_arch = "wasm32")]

use exports::kelk::parser::parser::{Guest, GuestSession};
use kelk::parser::types::{Batch, Document, FatalError, PluginInfo, SourceContext};
use std::cell::RefCell;

wit_bindgen::generate!({ path: "wit", world: "log-parser" });

struct Plugin;

impl Guest for Plugin {
    type Session = Session;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "old".into(),
            version: "1.0.0".into(),
            contract_version: "1.0.0".into(),
            dataset: "test.old".into(),
            index_prefix: "logs-test.old-default".into(),
        }
    }
}

/// The part of the last line not yet ended, and the number of the next line.
struct Session(RefCell<(Vec<u8>, u64)>);

impl GuestSession for Session {
    fn new(_: SourceContext) -> Self {
        Session(RefCell::new((Vec::new(), 1)))
    }

    fn push(&self, chunk: Vec<u8>) -> Result<Batch, FatalError> {
        let (carry, next) = &mut *self.0.borrow_mut();
        carry.extend_from_slice(&chunk);
        let end = carry.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let lines: Vec<u8> = carry.drain(..end).collect();
        Ok(batch(&lines, next))
    }

    fn finish(&self) -> Result<Batch, FatalError> {
        let (carry, next) = &mut *self.0.borrow_mut();
        Ok(batch(&std::mem::take(carry), next))
    }
}

fn batch(lines: &[u8], next: &mut u64) -> Batch {
    let mut out = Batch { json: Vec::new(), documents: Vec::new(), rejections: Vec::new(), skipped: 0 };
    for _ in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let json = format!(r#"{{"line":{next}}}"#);
        out.documents.push(Document {
            record_number: *next,
            offset: 0,
            length: json.len() as u32,
            event_time_ms: 0,
            natural_id: None,
        });
        out.json.extend_from_slice(json.as_bytes());
        *next += 1;
    }
    out
}

export!(Plugin);
