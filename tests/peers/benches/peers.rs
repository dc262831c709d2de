//! KELK's parse throughput beside its peers', on one core, on the same generated corpora and in
//! the same process, so that the ratios are of one machine at one moment.
//!
//! `cargo bench -p kelk-peers [-- FORMAT…]` (or `make bench-peers`; the formats of
//! `kelk_tests::formats::FORMATS`, all by default). `KELK_BENCH_MB` sets each corpus's size
//! (64 MB by default: the slower peers take minutes at 128) and `KELK_BENCH_RUNS` how many runs
//! the best is taken of (3).

use std::time::{Duration, Instant};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// MB/s of the fastest of `runs` runs of `parse` over `corpus`; `parse` must make `records`
/// documents, so that no one is timed skipping what it could not parse.
fn rate(what: &str, runs: u64, corpus: &[u8], records: u64, parse: impl Fn(&[u8]) -> u64) -> f64 {
    let mut fastest = Duration::MAX;
    for _ in 0..runs {
        let started = Instant::now();
        let docs = parse(corpus);
        fastest = fastest.min(started.elapsed());
        assert_eq!(docs, records, "{what}: every record is a document");
    }
    corpus.len() as f64 / 1e6 / fastest.as_secs_f64()
}

fn main() {
    let bytes = env("KELK_BENCH_MB", 64) * 1_000_000;
    let runs = env("KELK_BENCH_RUNS", 3);
    println!("best of {runs} runs, one core, MB/s of input; KELK through Wasm with the CPU deadline on");
    println!("{:<15} {:>7} {:>7} {:>6} | peers | {:>6} {:>7}", "format", "native", "wasm", "w/n", "best", "wasm/best");
    let sandbox = kelk_tests::sandbox();
    for format in kelk_tests::formats::chosen() {
        let (corpus, records) = format.corpus(bytes);
        let name = format.name;
        let native = rate(name, runs, &corpus, records, format.native);
        let plugin = kelk_tests::load(&sandbox, format.package);
        let wasm = rate(name, runs, &corpus, records, |c| kelk_tests::formats::wasm(&plugin, name, c));
        let peers: Vec<(&str, f64)> = kelk_peers::peers(name)
            .iter()
            .map(|peer| (peer.name, rate(&format!("{name} {}", peer.name), runs, &corpus, records, |c| peer.parse(c))))
            .collect();
        let listed: Vec<String> = peers.iter().map(|(peer, mbs)| format!("{peer} {mbs:.1}")).collect();
        let best = peers.iter().max_by(|a, b| a.1.total_cmp(&b.1));
        let (best_name, best_rate) = best.map_or(("-", f64::NAN), |&(n, r)| (n, r));
        println!(
            "{name:<15} {native:7.1} {wasm:7.1} {:6.2} | {} | best {best_name} {best_rate:.1}, wasm/best {:.2}",
            wasm / native,
            listed.join(", "),
            wasm / best_rate,
        );
    }
}
