//! An object stops early, with a clear error, when it decompresses past the size limit (a gzip
//! bomb) or when the deadline comes; what was parsed before stays, under the same ids.

use kelk_runtime::pipeline::{self, IngestError, Stop};
use kelk_runtime::source::SourceRef;
use kelk_tests::generate::Log;
use kelk_tests::{Collect, gzip, ingest_source, load, object, sandbox};
use std::io::Read;
use std::time::{Duration, Instant};

/// Parses `input` with the ALB plugin; `stop` is made once the plugin is loaded.
fn run(input: &[u8], stop: impl FnOnce() -> Stop) -> (Result<pipeline::Counts, pipeline::Failed>, Collect) {
    let sandbox = sandbox();
    let alb = load(&sandbox, "kelk-parser-alb");
    let stop = stop();
    ingest_source(&alb, &SourceRef::Object(object("big.log.gz")), &[], stop, input)
}

#[test]
fn a_gzip_bomb_stops_at_the_size_limit() {
    let bomb = gzip(&vec![b'\n'; 64 << 20]);
    assert!(bomb.len() < 1 << 20, "64 MiB of newlines compress to {} bytes", bomb.len());
    let (result, _) = run(&bomb, || Stop { max_bytes: Some(8 << 20), ..Stop::default() });
    let failed = result.expect_err("over the limit");
    assert!(matches!(*failed.error, IngestError::TooLarge { limit, .. } if limit == 8 << 20), "{}", failed.error);
    assert!(failed.error.to_string().contains("decompresses to more than 8388608 bytes"));
    assert!(failed.counts.bytes <= (8 << 20) + (128 << 10), "read {} bytes", failed.counts.bytes);
}

#[test]
fn documents_before_the_limit_stay() {
    let mut log = Vec::new();
    Log::alb(5, 4 << 20).read_to_end(&mut log).unwrap();
    let (result, sink) = run(&log, || Stop { max_bytes: Some(1 << 20), ..Stop::default() });
    let failed = result.expect_err("over the limit");
    assert!(!sink.documents.is_empty());
    assert_eq!(failed.counts.documents, sink.documents.len() as u64);
}

#[test]
fn the_deadline_stops_taking_chunks() {
    let mut log = Vec::new();
    Log::alb(6, 64 << 20).read_to_end(&mut log).unwrap();
    let (result, _) = run(&log, || Stop { deadline: Some(Instant::now()), ..Stop::default() });
    let failed = result.expect_err("the deadline has passed");
    assert!(matches!(*failed.error, IngestError::Deadline { bytes: 0, .. }), "{}", failed.error);

    let started = Instant::now();
    let (result, sink) =
        run(&log, || Stop { deadline: Some(Instant::now() + Duration::from_millis(50)), ..Stop::default() });
    let failed = result.expect_err("64 MiB take longer than 50 ms");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(failed.counts.bytes > 0 && failed.counts.bytes < log.len() as u64);
    assert!(failed.error.to_string().contains("stopped before the deadline"), "{}", failed.error);
    assert_eq!(failed.counts.documents, sink.documents.len() as u64, "what was parsed was written");
}

#[test]
fn the_deadline_cuts_a_running_plugin_short() {
    let sandbox = sandbox();
    let rogue = load(&sandbox, "kelk-test-plugin-rogue");
    let options = [("behaviour".to_owned(), "spin".to_owned())];
    let started = Instant::now();
    let stop = Stop { deadline: Some(Instant::now() + Duration::from_millis(200)), ..Stop::default() };
    let (result, _) = ingest_source(&rogue, &SourceRef::Object(object("spin.log")), &options, stop, b"x\n");
    let failed = result.expect_err("the plugin spins");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stopped at the deadline, not the 5 s call timeout: {:?}",
        started.elapsed()
    );
    assert!(
        matches!(*failed.error, IngestError::Deadline { .. }),
        "the object stopped at the deadline: {}",
        failed.error
    );
}
