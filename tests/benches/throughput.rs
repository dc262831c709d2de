//! Parse throughput on one core, for each format: the same parser code natively and through
//! the Wasm component (epoch-based CPU deadline on), and the whole pipeline to a null sink.
//!
//! `cargo bench -p kelk-tests --bench throughput [-- FORMAT…]` (the formats of
//! `kelk_tests::formats::FORMATS`; all by default).
//! `KELK_BENCH_MB` sets each generated corpus's size (128 MB by default) and `KELK_BENCH_RUNS`
//! how many runs the best is taken of (3).

use kelk_runtime::pipeline::decode::CHUNK_BYTES;
use kelk_runtime::pipeline::{self, Job};
use kelk_runtime::sandbox::Sandbox;
use kelk_runtime::source::{ObjectRef, SourceRef};
use kelk_tests::Null;
use kelk_tests::formats::Format;
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

/// Benchmarks one format: natively, through its plugin, and through the pipeline.
fn bench(format: &Format, bytes: u64, sandbox: &Sandbox) {
    let runs = env("KELK_BENCH_RUNS", 3);
    let name = format.name;
    let (corpus, records) = format.corpus(bytes);
    let mb = corpus.len() as f64 / 1e6;
    let rate = |(t, docs): (Duration, u64)| {
        assert_eq!(docs, records, "{name}: every record is a document");
        mb / t.as_secs_f64()
    };

    let native = rate(best(runs, || (format.native)(&corpus)));

    let plugin = kelk_tests::load(sandbox, format.package);
    let wasm = rate(best(runs, || kelk_tests::formats::wasm(&plugin, name, &corpus)));

    let source = SourceRef::Object(ObjectRef { bucket: "b".into(), key: "k".into(), ..ObjectRef::default() });
    let job = Job::new(&source);
    let pipeline =
        rate(best(runs, || pipeline::ingest(&plugin, &job, &corpus[..], &mut Null, &mut Null).unwrap().documents));

    println!(
        "{name:<15} {mb:6.1} MB {records:>8} records | native {native:6.1} MB/s | wasm {wasm:6.1} MB/s ({:.2} of native) | wasm + pipeline {pipeline:6.1} MB/s",
        wasm / native
    );
}

fn main() {
    let bytes = env("KELK_BENCH_MB", 128) * 1_000_000;
    println!("{CHUNK_BYTES}-byte chunks, best of {} runs, one core", env("KELK_BENCH_RUNS", 3));
    let sandbox = kelk_tests::sandbox();
    for format in kelk_tests::formats::chosen() {
        bench(format, bytes, &sandbox);
    }
}
