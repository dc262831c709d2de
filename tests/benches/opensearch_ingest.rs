//! Into a real OpenSearch (issue 14, target 3): documents per second of `kelk ingest
//! --opensearch` and of the Lambda host under the emulator, against `curl --data-binary @file
//! …/_bulk` of the same documents' bulk bodies, as many requests in flight as helps curl.
//!
//! For each format (ALB, CloudFront; `KELK_BENCH_MB` MB of generated logs each, 32 by default,
//! in objects of 8 MB), the logs are parsed once into `_bulk` files (`kelk ingest --out`), cut
//! into bodies of at most [`BULK_BYTES`] as the sink cuts them, and then, in turn, each round:
//!
//! - **curl -P n**: the bodies sent by `xargs -P n curl`, n = 1, 2, 4, 8 (the ceiling is the best n);
//! - **kelk ingest**: `kelk ingest --opensearch` of the raw logs, from process start to exit;
//! - **host**: with `KELK_TEST_LAMBDA_EMULATOR` and `KELK_TEST_S3`, `kelk-lambda` under the
//!   emulator, warm, given one SQS batch of an S3 notification per object in the S3 server: the
//!   invocation's time.
//!
//! Each run starts from no index (the format's indices are deleted before it) and is checked
//! after: every document is in OpenSearch. A warm-up pass goes first (a cold node indexes at
//! half the speed), which also puts the index templates in place, so that curl's documents are
//! indexed with the mappings KELK's are. The median of `KELK_BENCH_RUNS` rounds (3 by default);
//! the ceiling is the best curl's median.
//!
//! `KELK_BENCH_DIR` keeps the logs and bodies in that directory.
//!
//! `cargo build --release --bins && KELK_TEST_OPENSEARCH=http://127.0.0.1:9550 [KELK_TEST_S3=…
//! AWS_ENDPOINT_URL_S3=… KELK_TEST_LAMBDA_EMULATOR=$(tests/servers/lambda-emulator) …] cargo bench
//! -p kelk-tests --bench opensearch_ingest [alb|cloudfront …] [-- --bulk-concurrency N]`: the
//! options after `--` go to `kelk ingest`, and `KELK_BULK_CONCURRENCY` to the host as it is set.

use kelk_runtime::aws::s3::{Precondition, S3, S3Uri};
use kelk_runtime::opensearch::{Auth, BULK_BYTES, Cluster};
use kelk_tests::generate::{Generator, Log};
use kelk_tests::stage::message;
use kelk_tests::{plugin_wasm, workspace};
use opensearch::http::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Each format: its name (a bundled plugin's), its package, its generator.
const FORMATS: [(&str, &str, Generator); 2] =
    [("alb", "kelk-parser-alb", Log::alb), ("cloudfront", "kelk-parser-cloudfront", Log::cloudfront)];
const OBJECT_MB: u64 = 8;
const BUCKET: &str = "kelk-bench-ingest";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One format's logs, bulk bodies and indices.
struct Format {
    name: &'static str,
    package: &'static str,
    prefix: String,
    objects: Vec<PathBuf>,
    bodies: Vec<PathBuf>,
    documents: u64,
}

/// The logs of a format as files of [`OBJECT_MB`], and their bulk bodies.
fn prepare(dir: &Path, name: &'static str, package: &'static str, generate: Generator, mb: u64) -> Format {
    let dir = dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut log = generate(7, mb * 1_000_000);
    let mut objects = Vec::new();
    loop {
        let mut object = Vec::new();
        (&mut log).take(OBJECT_MB * 1_000_000).read_to_end(&mut object).unwrap();
        // Whole lines in each object: the rest of the last one comes along.
        if object.last().is_some_and(|&b| b != b'\n') {
            let mut rest = Vec::new();
            std::io::BufReader::new(&mut log).read_until(b'\n', &mut rest).unwrap();
            object.extend(rest);
        }
        if object.is_empty() {
            break;
        }
        let path = dir.join(format!("{name}-{}.log", objects.len()));
        std::fs::write(&path, object).unwrap();
        objects.push(path);
    }
    let prefix = format!("kelk-bench-{name}");
    let out = dir.join("bulk");
    let status = Command::new(kelk())
        .args(["ingest", "--plugin", name, "--index-prefix", &prefix, "--out"])
        .arg(&out)
        .args(&objects)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "kelk ingest --out failed");
    // The bulk files cut into bodies at documents, each as large as the sink's.
    let (mut bodies, mut documents, mut body) = (Vec::new(), 0, Vec::new());
    let cut = |body: &mut Vec<u8>, bodies: &mut Vec<PathBuf>| {
        let path = dir.join(format!("body-{:04}.ndjson", bodies.len()));
        std::fs::write(&path, std::mem::take(body)).unwrap();
        bodies.push(path);
    };
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap() == "dead-letters.ndjson" {
            continue;
        }
        let text = std::fs::read(&path).unwrap();
        let mut lines = text.split_inclusive(|&b| b == b'\n');
        while let (Some(action), Some(source)) = (lines.next(), lines.next()) {
            body.extend_from_slice(action);
            body.extend_from_slice(source);
            documents += 1;
            if body.len() >= BULK_BYTES {
                cut(&mut body, &mut bodies);
            }
        }
        if !body.is_empty() {
            cut(&mut body, &mut bodies);
        }
    }
    let bytes: u64 = bodies.iter().map(|b| b.metadata().unwrap().len()).sum();
    eprintln!(
        "{name}: {} objects, {documents} documents, {} bodies ({:.1} MB of NDJSON)",
        objects.len(),
        bodies.len(),
        bytes as f64 / 1e6
    );
    Format { name, package, prefix, objects, bodies, documents }
}

fn kelk() -> PathBuf {
    let kelk = workspace().join("target/release/kelk");
    assert!(kelk.exists(), "{} is missing: `cargo build --release --bins`", kelk.display());
    kelk
}

/// The format's indices gone, for a run to start from none.
fn delete(cluster: &Cluster, format: &Format) {
    cluster.request(Method::Delete, &format!("/{}-*", format.prefix), None).unwrap();
}

/// The documents of the format in OpenSearch.
fn count(cluster: &Cluster, format: &Format) -> u64 {
    let pattern = format!("/{}-*", format.prefix);
    cluster.request(Method::Post, &format!("{pattern}/_refresh"), None).unwrap();
    let found = cluster.request(Method::Get, &format!("{pattern}/_count"), None).unwrap();
    found.map_or(0, |f| f["count"].as_u64().unwrap())
}

/// The bodies sent by `xargs -P in_flight curl`; the statuses curl met, if any was not 200.
fn curl(url: &str, format: &Format, in_flight: usize) -> Result<(), String> {
    let mut xargs = Command::new("xargs")
        .args(["-P", &in_flight.to_string(), "-I", "{}", "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}\\n"])
        .args(["-H", "content-type: application/x-ndjson", "--data-binary", "@{}", &format!("{url}/_bulk")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let list: String = format.bodies.iter().map(|b| format!("{}\n", b.display())).collect();
    xargs.stdin.take().unwrap().write_all(list.as_bytes()).unwrap();
    let out = xargs.wait_with_output().unwrap();
    let statuses = String::from_utf8(out.stdout).unwrap();
    match statuses.lines().all(|s| s == "200") {
        true => Ok(()),
        false => Err(statuses.lines().filter(|s| *s != "200").collect::<Vec<_>>().join(" ")),
    }
}

/// `kelk ingest --opensearch` of the raw logs; its summary's OpenSearch line.
fn kelk_ingest(url: &str, format: &Format, dir: &Path, options: &[String]) -> Result<String, String> {
    let out = Command::new(kelk())
        .args(["ingest", "--plugin", format.name, "--index-prefix", &format.prefix, "--opensearch", url, "--out"])
        .arg(dir.join("kelk-out"))
        .args(options)
        .args(&format.objects)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    let line = said.lines().find(|l| l.starts_with("OpenSearch:")).unwrap_or_default().to_owned();
    if out.status.success() { Ok(line) } else { Err(said) }
}

/// The Lambda host under the emulator, warm, with a local routing config of the formats.
struct Host {
    emulator: kelk_tests::emulator::Emulator,
    /// Each format's SQS batch of its objects.
    batches: BTreeMap<&'static str, Value>,
}

impl Host {
    fn start(dir: &Path, formats: &[Format]) -> Host {
        let server = std::env::var("KELK_TEST_S3").unwrap();
        let made = Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-X", "PUT", &format!("{server}/{BUCKET}")])
            .status()
            .unwrap();
        assert!(made.success(), "cannot create the bucket {BUCKET}");
        let s3 = S3::new(&kelk_tests::aws());
        let (mut plugins, mut routes, mut batches) = (json!({}), Vec::new(), BTreeMap::new());
        for format in formats {
            let wasm = plugin_wasm(format.package);
            let sha256 = {
                use sha2::Digest;
                hex::encode(sha2::Sha256::digest(std::fs::read(&wasm).unwrap()))
            };
            plugins[format.name] = json!({ "path": wasm, "sha256": sha256 });
            routes.push(json!({ "bucket": BUCKET, "key_glob": format!("{}/*", format.name), "plugin": format.name, "index_prefix": format.prefix }));
            let mut messages = Vec::new();
            for path in &format.objects {
                let key = format!("{}/{}", format.name, path.file_name().unwrap().to_str().unwrap());
                let uri = S3Uri { bucket: BUCKET.into(), key: key.clone() };
                s3.put(&uri, std::fs::read(path).unwrap(), "text/plain", Precondition::None).unwrap();
                let etag = s3.etag(&uri).unwrap().unwrap().trim_matches('"').to_owned();
                let record = json!({
                    "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                    "eventTime": "2025-03-02T10:00:00.000Z", "eventName": "ObjectCreated:Put",
                    "s3": { "s3SchemaVersion": "1.0", "bucket": { "name": BUCKET, "arn": format!("arn:aws:s3:::{BUCKET}") },
                            "object": { "key": key, "size": path.metadata().unwrap().len(), "eTag": etag } }
                });
                messages.push(message(&key, &json!({ "Records": [record] }).to_string()));
            }
            batches.insert(format.name, json!({ "Records": messages }));
        }
        let config = dir.join("routing.json");
        std::fs::write(&config, json!({ "version": 1, "plugins": plugins, "routes": routes }).to_string()).unwrap();
        let dead = format!("s3://{BUCKET}/dead/");
        let concurrency = std::env::var("KELK_BULK_CONCURRENCY").unwrap_or_else(|_| "adaptive".into());
        let emulator = kelk_tests::emulator::Emulator::start(
            "bench-opensearch-ingest",
            &[
                ("KELK_ROUTING_CONFIG", config.to_str().unwrap()),
                ("KELK_DEAD_LETTERS", &dead),
                ("KELK_BULK_CONCURRENCY", &concurrency),
                ("AWS_LAMBDA_FUNCTION_TIMEOUT", "900"),
            ],
        );
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"logs"}"#;
        let answer = emulator.invoke(&json!({ "Records": [message("warm-up", test_event)] }));
        assert_eq!(answer, Ok(json!({ "batchItemFailures": [] })), "{}", emulator.log());
        Host { emulator, batches }
    }

    /// One invocation of the format's batch; its metrics line's bulk concurrency.
    fn run(&self, format: &Format) -> Result<String, String> {
        let answer = self.emulator.invoke(&self.batches[format.name]).map_err(|e| e.to_string())?;
        if answer != json!({ "batchItemFailures": [] }) {
            return Err(format!("{answer}"));
        }
        let log = self.emulator.log();
        let metrics =
            log.lines().rev().find_map(|l| serde_json::from_str::<Value>(l).ok().filter(|v| v.get("_aws").is_some()));
        Ok(metrics.map_or(String::new(), |m| format!("bulk concurrency {} at the end", m["BulkConcurrency"])))
    }
}

fn main() {
    let url = std::env::var("KELK_TEST_OPENSEARCH").expect("KELK_TEST_OPENSEARCH: the OpenSearch to write to");
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let options: Vec<String> = args.iter().skip_while(|a| !a.starts_with("--")).cloned().collect();
    let chosen: Vec<&String> = args.iter().take_while(|a| !a.starts_with("--")).collect();
    let (mb, runs) = (env("KELK_BENCH_MB", 32), env("KELK_BENCH_RUNS", 3));
    let cluster = Cluster::connect(&url, Auth::None, &kelk_tests::aws()).unwrap();
    // `KELK_BENCH_DIR` keeps the logs and bodies there, to look at or time apart.
    let temp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("KELK_BENCH_DIR").map_or_else(|| temp.path().to_owned(), PathBuf::from);
    let formats: Vec<Format> = FORMATS
        .into_iter()
        .filter(|(name, ..)| chosen.is_empty() || chosen.iter().any(|c| c == name))
        .map(|(name, package, generate)| prepare(&dir, name, package, generate, mb))
        .collect();
    let host = (std::env::var_os("KELK_TEST_LAMBDA_EMULATOR").is_some() && std::env::var_os("KELK_TEST_S3").is_some())
        .then(|| Host::start(&dir, &formats));
    let ways: Vec<String> = [1, 2, 4, 8]
        .map(|n| format!("curl -P {n}"))
        .into_iter()
        .chain(["kelk ingest".to_owned()])
        .chain(host.as_ref().map(|_| "host (emulator)".to_owned()))
        .collect();
    // (format, way) → documents per second of each run.
    let mut rates: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
    let run = |format: &Format, way: &str| -> (Duration, String) {
        delete(&cluster, format);
        let started = Instant::now();
        let said = match way.strip_prefix("curl -P ") {
            Some(n) => curl(&url, format, n.parse().unwrap()).map(|()| String::new()),
            None if way == "kelk ingest" => kelk_ingest(&url, format, &dir, &options),
            None => host.as_ref().unwrap().run(format),
        };
        let took = started.elapsed();
        let said = said.unwrap_or_else(|e| panic!("{}, {way}: {e}", format.name));
        let found = count(&cluster, format);
        assert_eq!(found, format.documents, "{}, {way}: documents in OpenSearch", format.name);
        (took, said)
    };
    for format in &formats {
        // Warm-up: the node's JIT, and the templates `kelk ingest` puts.
        let (took, _) = run(format, "kelk ingest");
        eprintln!("{}: warm-up {:.1} s", format.name, took.as_secs_f64());
        run(format, "curl -P 2");
    }
    for round in 0..runs {
        for format in &formats {
            // Each round in another order, so that no way always follows the same one.
            let mut order: Vec<&String> = ways.iter().collect();
            order.rotate_left(round as usize % ways.len());
            for way in order {
                let (took, said) = run(format, way);
                let rate = format.documents as f64 / took.as_secs_f64();
                eprintln!(
                    "round {round}, {}, {way}: {rate:.0} documents/s ({:.1} s) {said}",
                    format.name,
                    took.as_secs_f64()
                );
                rates.entry((format.name, way)).or_default().push(rate);
            }
        }
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\n{mb} MB of logs per format, bodies of {} MiB, the median of {runs} rounds; load average {}",
        BULK_BYTES >> 20,
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    println!("{:<12} {:<16} {:>12} {:>14}", "format", "way", "documents/s", "of the best curl");
    for format in &formats {
        // The median of the rounds: the best of a dozen curl runs would be the luckiest of them.
        let best = |way: &str| {
            let mut rates = rates[&(format.name, way)].clone();
            rates.sort_by(f64::total_cmp);
            rates[rates.len() / 2]
        };
        let ceiling = ways.iter().filter(|w| w.starts_with("curl")).map(|w| best(w)).fold(0.0, f64::max);
        for way in &ways {
            println!("{:<12} {:<16} {:>12.0} {:>14.2}", format.name, way, best(way), best(way) / ceiling);
        }
    }
    for format in &formats {
        delete(&cluster, format);
    }
}
