//! Checkpoints: an input taken up at an earlier attempt's checkpoint emits exactly the records
//! after it, the same documents under the same ids and the same letters as an attempt from
//! the start, and takes the same checkpoints after it; a failed attempt abandons the letters
//! of its last stretch instead of ending them.

use kelk_runtime::pipeline::{self, Job, Resume, Stop};
use kelk_runtime::sink::{Checkpoint, DeadLetter, DeadLetters, Kept, Origin, SinkError};
use kelk_runtime::source::SourceRef;
use kelk_tests::{APACHE_LINE, load, object, sandbox};
use std::time::Instant;

/// A dead-letter store that records what the pipeline told it.
#[derive(Default)]
struct Ledger {
    from: Option<Checkpoint>,
    letters: Vec<u64>,
    checkpoints: Vec<Checkpoint>,
    ended: bool,
    abandoned: bool,
}

impl DeadLetters for Ledger {
    fn begin(&mut self, _: Origin<'_>, from: Checkpoint) -> Result<(), SinkError> {
        self.from = Some(from);
        Ok(())
    }

    fn dead_letter(&mut self, letter: &DeadLetter<'_>) -> Result<(), SinkError> {
        self.letters.push(letter.record_number);
        Ok(())
    }

    fn checkpoint(&mut self, at: Checkpoint) -> Result<(), SinkError> {
        self.checkpoints.push(at);
        Ok(())
    }

    fn end(&mut self) -> Result<(), SinkError> {
        self.ended = true;
        Ok(())
    }

    fn abandon(&mut self) -> Result<(), SinkError> {
        self.abandoned = true;
        Ok(())
    }
}

/// 30,000 Apache lines (about 5 MB, some 40 chunks): every 37th not an access line, every
/// 100th blank.
fn input() -> Vec<u8> {
    let mut text = String::new();
    for n in 1..=30_000u32 {
        if n % 100 == 0 {
        } else if n % 37 == 0 {
            text.push_str("not an access line");
        } else {
            text.push_str(&APACHE_LINE.replace("/apache_pb.gif", &format!("/{n}")));
        }
        text.push('\n');
    }
    text.into_bytes()
}

/// One attempt from `from`, a checkpoint every 2,000 records.
fn attempt(from: Checkpoint, stop: Stop) -> (Result<pipeline::Counts, pipeline::Failed>, Vec<Kept>, Ledger) {
    let sandbox = sandbox();
    let apache = load(&sandbox, "kelk-parser-apache");
    let source = SourceRef::Object(object("access.log"));
    let job = Job { stop, resume: Resume { from, every: Some(2_000) }, ..Job::new(&source) };
    let (mut documents, mut ledger) = (Vec::new(), Ledger::default());
    let result = pipeline::ingest(&apache, &job, &input()[..], &mut documents, &mut ledger);
    (result, documents, ledger)
}

#[test]
fn an_attempt_resumed_at_a_checkpoint_emits_exactly_the_records_after_it() {
    let (whole, documents, ledger) = attempt(Checkpoint::default(), Stop::default());
    let whole = whole.unwrap();
    assert!(ledger.ended && !ledger.abandoned);
    assert_eq!(whole.records(), 30_000);
    // A checkpoint closes the chunk that brings 2,000 records past the last one.
    assert!(ledger.checkpoints.len() >= 10, "{:?}", ledger.checkpoints);
    for pair in ledger.checkpoints.windows(2) {
        assert!(pair[1].records - pair[0].records >= 2_000, "{pair:?}");
        assert_eq!(pair[1].bytes % (128 << 10), 0, "at a chunk's end: {pair:?}");
    }
    for &at in &ledger.checkpoints[..3] {
        let (resumed, after, resumed_ledger) = attempt(at, Stop::default());
        let resumed = resumed.unwrap();
        assert_eq!(resumed_ledger.from, Some(at));
        let expected: Vec<(&str, u64)> = documents
            .iter()
            .filter(|d| d.record_number > at.records)
            .map(|d| (d.id.as_str(), d.record_number))
            .collect();
        let got: Vec<(&str, u64)> = after.iter().map(|d| (d.id.as_str(), d.record_number)).collect();
        assert_eq!(got, expected, "from {at:?}: the documents after it, with the same ids");
        let letters: Vec<u64> = ledger.letters.iter().copied().filter(|&r| r > at.records).collect();
        assert_eq!(resumed_ledger.letters, letters, "from {at:?}: the letters after it");
        assert_eq!(resumed.records(), 30_000 - at.records);
        let later: Vec<Checkpoint> = ledger.checkpoints.iter().copied().filter(|c| c.bytes > at.bytes).collect();
        assert_eq!(resumed_ledger.checkpoints, later, "the same checkpoints after it");
    }
}

#[test]
fn a_failed_attempt_abandons_the_letters_since_its_last_checkpoint() {
    let (result, _, ledger) =
        attempt(Checkpoint::default(), Stop { deadline: Some(Instant::now()), ..Stop::default() });
    assert!(result.is_err());
    assert!(ledger.abandoned && !ledger.ended);
}
