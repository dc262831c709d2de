//! One sink or dead-letter store written by several workers ([`Shared`]): each call has it to
//! itself, so one document's or letter's lines are never interleaved with another's. For
//! destinations that keep nothing of an input between calls (local files); a sink that does
//! (OpenSearch's, with its bulk requests under way) is one per worker instead.

use super::{Checkpoint, DeadLetter, DeadLetters, Document, Origin, Sink, SinkError};
use std::sync::{Mutex, MutexGuard};

/// A worker's handle on a destination the workers share.
pub struct Shared<'a, T: ?Sized>(pub &'a Mutex<T>);

impl<T: ?Sized> Shared<'_, T> {
    fn lock(&self) -> MutexGuard<'_, T> {
        // A worker that panicked holding it left a whole document or letter, or none.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<T: Sink + ?Sized> Sink for Shared<'_, T> {
    fn begin(&mut self, origin: Origin<'_>) -> Result<(), SinkError> {
        self.lock().begin(origin)
    }

    fn document(&mut self, doc: &Document<'_>, refused: &mut dyn DeadLetters) -> Result<(), SinkError> {
        self.lock().document(doc, refused)
    }

    fn flush(&mut self, refused: &mut dyn DeadLetters) -> Result<(), SinkError> {
        self.lock().flush(refused)
    }
}

impl<T: DeadLetters + ?Sized> DeadLetters for Shared<'_, T> {
    fn begin(&mut self, origin: Origin<'_>, from: Checkpoint) -> Result<(), SinkError> {
        self.lock().begin(origin, from)
    }

    fn dead_letter(&mut self, letter: &DeadLetter<'_>) -> Result<(), SinkError> {
        self.lock().dead_letter(letter)
    }

    fn checkpoint(&mut self, at: Checkpoint) -> Result<(), SinkError> {
        self.lock().checkpoint(at)
    }

    fn end(&mut self) -> Result<(), SinkError> {
        self.lock().end()
    }

    fn abandon(&mut self) -> Result<(), SinkError> {
        self.lock().abandon()
    }
}
