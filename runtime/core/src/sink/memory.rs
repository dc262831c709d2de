//! Documents and dead letters kept in memory: for tests, for `kelk-plugin test`'s comparison
//! with goldens, and for a Firehose record's one document.

use super::{DeadLetter, DeadLetters, Document, Sink, SinkError};

/// Everything an input made, in order.
#[derive(Debug, Default)]
pub struct Memory {
    pub documents: Vec<Kept>,
    pub dead_letters: Vec<KeptLetter>,
}

/// A document as the sink was given it.
#[derive(Debug)]
pub struct Kept {
    pub index: String,
    pub id: String,
    pub record_number: u64,
    pub source: Vec<u8>,
}

/// A dead letter's record and reason.
#[derive(Debug, PartialEq, Eq)]
pub struct KeptLetter {
    pub record_number: u64,
    pub reason: String,
}

impl Kept {
    /// The document's JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.source).expect("the pipeline passes JSON objects only")
    }
}

impl Sink for Vec<Kept> {
    fn document(&mut self, doc: &Document<'_>, _: &mut dyn DeadLetters) -> Result<(), SinkError> {
        self.push(Kept {
            index: doc.index.into(),
            id: doc.id.into(),
            record_number: doc.record_number,
            source: doc.source.to_vec(),
        });
        Ok(())
    }
}

impl DeadLetters for Vec<KeptLetter> {
    fn dead_letter(&mut self, letter: &DeadLetter<'_>) -> Result<(), SinkError> {
        self.push(KeptLetter { record_number: letter.record_number, reason: letter.reason.into() });
        Ok(())
    }
}
