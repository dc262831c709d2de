//! ALB parse throughput on one core: the same parser code natively and through the Wasm
//! component (epoch-based CPU deadline on), and the whole pipeline to a null sink.
//!
//! `cargo bench -p kelk-tests --bench throughput` (KELK_BENCH_MB sets the corpus size, 128 MB
//! by default). Prints the best of KELK_BENCH_RUNS runs (3 by default) for each.

use kelk_parser_alb::Alb;
use kelk_parser_sdk::{Batch, Lines, Parser, SourceContext as GuestContext};
use kelk_runtime::decode::CHUNK_BYTES;
use kelk_runtime::document::ObjectRef;
use kelk_runtime::pipeline::{self, Job};
use kelk_runtime::session::SourceContext;
use kelk_runtime::sink::{DeadLetter, Document, Sink};
use kelk_tests::generate::AlbLog;
use std::io::Read;
use std::time::{Duration, Instant};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Runs `f` `runs` times; returns the fastest time and what the last run counted.
fn best(runs: u64, mut f: impl FnMut() -> u64) -> (Duration, u64) {
    let mut fastest = Duration::MAX;
    let mut count = 0;
    for _ in 0..runs {
        let started = Instant::now();
        count = f();
        fastest = fastest.min(started.elapsed());
    }
    (fastest, count)
}

struct Null;

impl Sink for Null {
    fn document(&mut self, doc: &Document) -> std::io::Result<()> {
        std::hint::black_box(doc);
        Ok(())
    }
    fn dead_letter(&mut self, letter: &DeadLetter) -> std::io::Result<()> {
        std::hint::black_box(letter);
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() {
    let (mb, runs) = (env("KELK_BENCH_MB", 128), env("KELK_BENCH_RUNS", 3));
    let mut corpus = Vec::new();
    AlbLog::new(1, mb * 1_000_000).read_to_end(&mut corpus).unwrap();
    let lines = corpus.iter().filter(|&&b| b == b'\n').count();
    println!(
        "corpus: {:.1} MB of generated ALB log, {lines} lines, {CHUNK_BYTES}-byte chunks, best of {runs}",
        corpus.len() as f64 / 1e6
    );
    let rate = |(t, docs): (Duration, u64)| {
        assert_eq!(docs as usize, lines, "every line is a document");
        corpus.len() as f64 / 1e6 / t.as_secs_f64()
    };

    let native = rate(best(runs, || {
        let mut parser = Lines::<Alb>::open(&GuestContext::default()).unwrap();
        let mut docs = 0;
        for chunk in corpus.chunks(CHUNK_BYTES) {
            let mut batch = Batch::default();
            parser.push(chunk, &mut batch).unwrap();
            docs += batch.documents.len() as u64;
            std::hint::black_box(&batch);
        }
        let mut batch = Batch::default();
        parser.finish(&mut batch).unwrap();
        docs + batch.documents.len() as u64
    }));
    println!("native:          {native:7.1} MB/s");

    let host = kelk_tests::host();
    let alb = kelk_tests::load(&host, "kelk-parser-alb");
    let ctx = SourceContext {
        bucket: "b".into(),
        key: "k".into(),
        version_id: None,
        log_type: "alb".into(),
        options: vec![],
    };
    let wasm = rate(best(runs, || {
        let mut session = alb.session(&ctx).unwrap();
        let mut docs = 0;
        for chunk in corpus.chunks(CHUNK_BYTES) {
            docs += std::hint::black_box(session.push(chunk).unwrap()).documents.len() as u64;
        }
        docs + session.finish().unwrap().documents.len() as u64
    }));
    println!("wasm:            {wasm:7.1} MB/s   (wasm/native {:.2})", wasm / native);

    let object = ObjectRef { bucket: "b".into(), key: "k".into(), version_id: None };
    let job = Job { object: &object, log_type: "alb", options: &[], index_prefix: None };
    let pipeline = rate(best(runs, || pipeline::ingest(&alb, &job, &corpus[..], &mut Null).unwrap().documents));
    println!("wasm + pipeline: {pipeline:7.1} MB/s   (ids, daily indices, null sink)");
}
