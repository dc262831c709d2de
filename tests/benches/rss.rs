//! Peak RSS (issue 14, target 6: at most 64 MiB for any object size): a generated ALB log of
//! `KELK_BENCH_RSS_MB` (1000) MB, gzipped (made once under `target/bench-corpus`), through
//!
//! - `kelk ingest` into `_bulk` files (`/usr/bin/time`'s maximum resident set size);
//! - `kelk ingest --opensearch` into `KELK_TEST_OPENSEARCH`, when set;
//! - the Lambda host (`kelk-lambda`) under the Runtime Interface Emulator
//!   (`KELK_TEST_LAMBDA_EMULATOR`), the object served by the S3 server (`KELK_TEST_S3`) and
//!   named by an S3 notification, into `KELK_TEST_OPENSEARCH` (the host's `VmHWM` after the
//!   invocation, from `/proc`).
//!
//! Each into an index prefix of its own, emptied first. `target/release/kelk` and
//! `kelk-lambda` are what is measured (`cargo build --release --bins` first).
//!
//! `cargo bench -p kelk-tests --bench rss [files|opensearch|lambda]` (all by default)

use kelk_runtime::aws::s3::{Precondition, S3, S3Uri};
use kelk_runtime::opensearch::{Auth, Cluster};
use kelk_tests::emulator::Emulator;
use kelk_tests::{index_count, workspace};
use opensearch::http::Method;
use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const PREFIX: &str = "logs-aws.elb_logs-rss";

fn load() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

fn row(what: &str, peak_kib: u64, seconds: f64, documents: u64, mb: u64) {
    let verdict = if peak_kib <= 64 << 10 { "within 64 MiB" } else { "OVER 64 MiB" };
    println!(
        "  {what:<36} peak RSS {:6.1} MiB  {verdict}  ({documents} documents, {:.0} s, {:.1} MB/s; load {})",
        peak_kib as f64 / 1024.0,
        seconds,
        mb as f64 / seconds,
        load()
    );
}

/// `kelk ingest` of `gzip` with `args`; its peak RSS (KiB), seconds and the documents it made.
fn kelk(gzip: &Path, args: &[&str]) -> (u64, f64, u64) {
    let kelk = workspace().join("target/release/kelk");
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let run = Command::new("/usr/bin/time")
        .args(["-f", "peak-kib %M"])
        .arg(kelk)
        .args(["ingest", "--plugin", "alb", "--index-prefix", PREFIX, "--out"])
        .arg(out.path())
        .args(args)
        .arg(gzip)
        .env("KELK_CACHE_DIR", workspace().join("target/plugins/cache"))
        .output()
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "kelk ingest failed: {said}");
    let peak = said.lines().find_map(|l| l.strip_prefix("peak-kib ")).unwrap().trim().parse().unwrap();
    let documents = said
        .lines()
        .find_map(|l| l.split_once(" documents,").and_then(|(head, _)| head.rsplit(' ').next()?.parse().ok()))
        .unwrap_or_else(|| panic!("no summary: {said}"));
    (peak, seconds, documents)
}

fn cluster(url: &str) -> Cluster {
    let cluster = Cluster::connect(url, Auth::None, &kelk_tests::aws()).unwrap();
    cluster.request(Method::Delete, &format!("/{PREFIX}-*"), None).unwrap();
    cluster
}

/// The host under the emulator, for one S3 notification of the object; its VmHWM (KiB),
/// seconds and the documents indexed.
fn lambda(gzip: &Path, opensearch: &str) -> (u64, f64, u64) {
    let s3 = S3::new(&kelk_tests::aws());
    let bucket = "rss-logs";
    let made = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-X", "PUT", &format!("{}/{bucket}", std::env::var("KELK_TEST_S3").unwrap())])
        .status()
        .unwrap();
    assert!(made.success(), "cannot create bucket {bucket}");
    let key = "alb/rss.log.gz";
    let uri = S3Uri { bucket: bucket.into(), key: key.into() };
    s3.put(&uri, std::fs::read(gzip).unwrap(), "application/octet-stream", Precondition::None).unwrap();
    let wasm = kelk_tests::plugin_wasm("kelk-parser-alb");
    let sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(&wasm).unwrap()))
    };
    let dir = tempfile::tempdir().unwrap();
    let routing = dir.path().join("routing.json");
    let config = json!({ "version": 1, "plugins": { "alb": { "path": wasm, "sha256": sha256 } },
        "routes": [{ "bucket": bucket, "key_glob": "alb/*", "plugin": "alb", "index_prefix": PREFIX }] });
    std::fs::write(&routing, config.to_string()).unwrap();
    let cluster = cluster(opensearch);
    // Dead letters (and checkpoints) of this run's own: a new run does not resume an old one's.
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let dead_letters = format!("s3://{bucket}/dead-letters-{run}/");
    let settings = [
        ("KELK_ROUTING_CONFIG", routing.to_str().unwrap()),
        ("KELK_DEAD_LETTERS", &dead_letters),
        ("AWS_LAMBDA_FUNCTION_TIMEOUT", "900"),
    ];
    let host = Emulator::start("rss", &settings);
    let event = json!({ "Records": [{ "eventSource": "aws:s3", "eventName": "ObjectCreated:Put", "awsRegion": "us-east-1",
        "s3": { "bucket": { "name": bucket }, "object": { "key": key } } }] });
    let started = Instant::now();
    let answer = host.invoke(&event).unwrap_or_else(|e| panic!("{e}\n{}", host.log()));
    let seconds = started.elapsed().as_secs_f64();
    let peak = host.peak_rss_kib();
    assert_eq!(answer["objects"], 1, "{answer}");
    (peak, seconds, index_count(&cluster, &format!("{PREFIX}-*")))
}

fn main() {
    let chosen: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| chosen.is_empty() || chosen.iter().any(|c| c == name);
    let mb = std::env::var("KELK_BENCH_RSS_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let gzip = kelk_tests::gzipped_alb(100, mb);
    let gz_mb = std::fs::metadata(&gzip).unwrap().len() as f64 / 1e6;
    println!("peak RSS: one ALB object of {mb} MB ({gz_mb:.0} MB gzipped), {} cores", kelk_runtime::workers::cores());
    if wanted("files") {
        let (peak, seconds, documents) = kelk(&gzip, &[]);
        row("kelk ingest, _bulk files", peak, seconds, documents, mb);
    }
    let opensearch = std::env::var("KELK_TEST_OPENSEARCH").ok();
    if let (true, Some(url)) = (wanted("opensearch"), &opensearch) {
        cluster(url);
        let (peak, seconds, documents) = kelk(&gzip, &["--opensearch", url]);
        row("kelk ingest --opensearch", peak, seconds, documents, mb);
    }
    let emulator = std::env::var("KELK_TEST_LAMBDA_EMULATOR").is_ok();
    if let (true, true, Some(url)) = (wanted("lambda"), emulator, &opensearch) {
        let (peak, seconds, documents) = lambda(&gzip, url);
        row("kelk-lambda under the emulator", peak, seconds, documents, mb);
    }
}
