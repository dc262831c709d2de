//! A plugin of a future major contract: bindings from `wit/`, the 1.0.0 WIT with its package
//! version changed to 9.0.0, so it exports `kelk:parser/parser@9.0.0` and says it was built
//! for contract 9.0.0. A 1.x host must refuse it at load. Were it run, each object would
//! become one `{"line":0}` document.

#![cfg(target_arch = "wasm32")]

use exports::kelk::parser::parser::{Guest, GuestSession};
use kelk::parser::types::{Batch, Document, FatalError, PluginInfo, SourceContext};

wit_bindgen::generate!({ path: "wit", world: "log-parser" });

struct Plugin;

impl Guest for Plugin {
    type Session = Session;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "future".into(),
            version: "9.0.0".into(),
            contract_version: "9.0.0".into(),
            dataset: "test.future".into(),
            index_prefix: "logs-test.future-default".into(),
        }
    }
}

struct Session;

impl GuestSession for Session {
    fn new(_: SourceContext) -> Self {
        Session
    }

    fn push(&self, _: Vec<u8>) -> Result<Batch, FatalError> {
        Ok(Batch { json: Vec::new(), documents: Vec::new(), rejections: Vec::new(), skipped: 0 })
    }

    fn finish(&self) -> Result<Batch, FatalError> {
        let json = br#"{"line":0}"#.to_vec();
        let document =
            Document { record_number: 1, offset: 0, length: json.len() as u32, event_time_ms: 0, natural_id: None };
        Ok(Batch { json, documents: vec![document], rejections: Vec::new(), skipped: 0 })
    }
}

export!(Plugin);
