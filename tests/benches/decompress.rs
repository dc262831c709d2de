//! Gunzip throughput on one core: a generated ALB corpus (`KELK_BENCH_MB`, 128 by default),
//! gzipped at the default level as ELB delivers it, read back through `pipeline::decode` in
//! the pipeline's 128 KiB chunks; best of `KELK_BENCH_RUNS` (3), in MB/s of decompressed bytes.
//!
//! `cargo bench -p kelk-tests --bench decompress`

use flate2::{Compression, write::GzEncoder};
use kelk_runtime::pipeline::decode::{decompressed, next_chunk};
use kelk_tests::generate::Log;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let mut raw = Vec::new();
    Log::alb(7, env("KELK_BENCH_MB", 128) << 20).read_to_end(&mut raw).unwrap();
    let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
    gzip.write_all(&raw).unwrap();
    let gzip = gzip.finish().unwrap();
    let mut fastest = Duration::MAX;
    for _ in 0..env("KELK_BENCH_RUNS", 3) {
        let started = Instant::now();
        let mut input = decompressed(&gzip[..]).unwrap();
        let (mut buf, mut bytes) = (Vec::new(), 0);
        loop {
            let chunk = next_chunk(&mut input, &mut buf).unwrap();
            if chunk.is_empty() {
                break;
            }
            bytes += chunk.len();
        }
        assert_eq!(bytes, raw.len());
        fastest = fastest.min(started.elapsed());
    }
    let ratio = raw.len() as f64 / gzip.len() as f64;
    println!(
        "gunzip: {:.1} MB -> {:.1} MB (ratio {ratio:.1}): {:.0} MB/s",
        gzip.len() as f64 / 1e6,
        raw.len() as f64 / 1e6,
        raw.len() as f64 / 1e6 / fastest.as_secs_f64()
    );
}
