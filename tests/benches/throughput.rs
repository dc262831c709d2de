//! Parse throughput on one core, for each format: the same parser code natively and through
//! the Wasm component (epoch-based CPU deadline on), and the whole pipeline to a null sink.
//!
//! `cargo bench -p kelk-tests --bench throughput [FORMAT…]` (formats: alb nlb cloudfront
//! cloudfront-json apache cloudtrail vpcflow s3access waf route53; all by default).
//! `KELK_BENCH_MB` sets each generated corpus's size (128 MB by default) and `KELK_BENCH_RUNS`
//! how many runs the best is taken of (3).

use kelk_parser_sdk::{Batch, Lines, Parser, SourceContext as GuestContext};
use kelk_runtime::pipeline::decode::CHUNK_BYTES;
use kelk_runtime::pipeline::{self, Job};
use kelk_runtime::sandbox::{Sandbox, SourceContext};
use kelk_runtime::source::{ObjectRef, SourceRef};
use kelk_tests::Null;
use kelk_tests::generate::Log;
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

/// Benchmarks one format whose native parser is `P` and whose plugin is `package`.
fn bench<P: Parser>(name: &str, package: &str, mut log: Log, sandbox: &Sandbox) {
    let runs = env("KELK_BENCH_RUNS", 3);
    let mut corpus = Vec::new();
    log.read_to_end(&mut corpus).unwrap();
    let records = log.records();
    let mb = corpus.len() as f64 / 1e6;
    let rate = |(t, docs): (Duration, u64)| {
        assert_eq!(docs, records, "{name}: every record is a document");
        mb / t.as_secs_f64()
    };

    let native = rate(best(runs, || {
        let mut parser = P::open(&GuestContext::default()).unwrap();
        let mut docs = 0;
        for chunk in corpus.chunks(CHUNK_BYTES) {
            let mut batch = Batch::default();
            parser.push(chunk, &mut batch).unwrap();
            docs += std::hint::black_box(&batch).documents.len() as u64;
        }
        let mut batch = Batch::default();
        parser.finish(&mut batch).unwrap();
        docs + batch.documents.len() as u64
    }));

    let plugin = kelk_tests::load(sandbox, package);
    let ctx =
        SourceContext { bucket: "b".into(), key: "k".into(), version_id: None, log_type: name.into(), options: vec![] };
    let wasm = rate(best(runs, || {
        let mut session = plugin.session(&ctx, "k").unwrap();
        let mut docs = 0;
        for chunk in corpus.chunks(CHUNK_BYTES) {
            docs += std::hint::black_box(session.push(chunk).unwrap()).documents.len() as u64;
        }
        docs + session.finish().unwrap().documents.len() as u64
    }));

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
    let chosen: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| chosen.is_empty() || chosen.iter().any(|c| c == name);
    println!("{CHUNK_BYTES}-byte chunks, best of {} runs, one core", env("KELK_BENCH_RUNS", 3));
    let sandbox = kelk_tests::sandbox();
    if wanted("alb") {
        bench::<Lines<kelk_parser_alb::Alb>>("alb", "kelk-parser-alb", Log::alb(1, bytes), &sandbox);
    }
    if wanted("nlb") {
        bench::<Lines<kelk_parser_alb::Alb>>("nlb", "kelk-parser-alb", Log::nlb(5, bytes), &sandbox);
    }
    if wanted("cloudfront") {
        bench::<Lines<kelk_parser_cloudfront::CloudFront>>(
            "cloudfront",
            "kelk-parser-cloudfront",
            Log::cloudfront(2, bytes),
            &sandbox,
        );
    }
    if wanted("cloudfront-json") {
        bench::<Lines<kelk_parser_cloudfront::CloudFront>>(
            "cloudfront-json",
            "kelk-parser-cloudfront",
            Log::cloudfront_json(6, bytes),
            &sandbox,
        );
    }
    if wanted("apache") {
        bench::<Lines<kelk_parser_apache::Apache>>("apache", "kelk-parser-apache", Log::apache(3, bytes), &sandbox);
    }
    if wanted("cloudtrail") {
        bench::<kelk_parser_cloudtrail::CloudTrail>(
            "cloudtrail",
            "kelk-parser-cloudtrail",
            Log::cloudtrail(4, bytes),
            &sandbox,
        );
    }
    if wanted("vpcflow") {
        bench::<Lines<kelk_parser_vpcflow::VpcFlow>>(
            "vpcflow",
            "kelk-parser-vpcflow",
            Log::vpcflow(7, bytes),
            &sandbox,
        );
    }
    if wanted("s3access") {
        bench::<Lines<kelk_parser_s3access::S3Access>>(
            "s3access",
            "kelk-parser-s3access",
            Log::s3access(8, bytes),
            &sandbox,
        );
    }
    if wanted("waf") {
        bench::<Lines<kelk_parser_waf::Waf>>("waf", "kelk-parser-waf", Log::waf(9, bytes), &sandbox);
    }
    if wanted("route53") {
        bench::<Lines<kelk_parser_route53::Route53Resolver>>(
            "route53",
            "kelk-parser-route53",
            Log::route53(10, bytes),
            &sandbox,
        );
    }
}
