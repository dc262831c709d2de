//! Helpers for KELK's integration tests and benchmarks: plugins built to real components,
//! the shared sample corpus, what a run made as JSON, and generated logs.

pub mod emulator;
pub mod formats;
pub mod generate;
pub mod stage;
pub mod toxiproxy;

use kelk_runtime::aws::Aws;
use kelk_runtime::opensearch::Cluster;
use kelk_runtime::pipeline::{self, Counts, Failed, Job};
use kelk_runtime::sandbox::{Limits, Plugin, Sandbox};
use kelk_runtime::sink::Memory;
use kelk_runtime::source::{ObjectRef, SourceRef};
use opensearch::http::Method;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the workspace").to_owned()
}

/// The shared corpus of public sample logs, beside the project root (`../shared/corpus`),
/// or where `KELK_CORPUS` says. Missing is an error, never a silent skip.
pub fn corpus(format: &str) -> PathBuf {
    let root =
        std::env::var_os("KELK_CORPUS").map(PathBuf::from).unwrap_or_else(|| workspace().join("../shared/corpus"));
    let dir = root.join(format);
    assert!(dir.is_dir(), "the sample corpus is missing: {} (set KELK_CORPUS)", dir.display());
    dir
}

/// Builds a workspace plugin package to a `wasm32-wasip2` component (once per process) and
/// returns its path. A target directory of its own keeps this build apart from the one
/// running the tests.
pub fn plugin_wasm(package: &str) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let target_dir = workspace().join("target/plugins");
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(workspace())
        .args(["build", "--quiet", "--release", "--target", "wasm32-wasip2", "-p", package, "--target-dir"])
        .arg(&target_dir)
        .status()
        .expect("cannot run cargo");
    assert!(status.success(), "building plugin {package} failed");
    target_dir.join("wasm32-wasip2/release").join(format!("{}.wasm", package.replace('-', "_")))
}

/// AWS (S3, SigV4) and OpenSearch clients' runtime: one per test process, as in the tools.
pub fn aws() -> Aws {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    Aws::new(RUNTIME.get_or_init(|| kelk_runtime::runtime().expect("a tokio runtime")).handle().clone())
}

/// A sandbox with default limits.
pub fn sandbox() -> Sandbox {
    sandbox_with(Limits::default())
}

/// A sandbox whose compiled plugins are cached beside the test plugins' build.
pub fn sandbox_with(limits: Limits) -> Sandbox {
    Sandbox::new(limits, Some(workspace().join("target/plugins/cache"))).expect("engine starts")
}

/// Loads a workspace plugin package into `sandbox`.
pub fn load(sandbox: &Sandbox, package: &str) -> Plugin {
    sandbox.load_file(&plugin_wasm(package)).unwrap_or_else(|e| panic!("{e}"))
}

/// What a run made (a [`Memory`] sink's contents), documents as JSON.
#[derive(Debug, Default)]
pub struct Collect {
    pub documents: Vec<Collected>,
    /// (record number, reason)
    pub dead_letters: Vec<(u64, String)>,
}

#[derive(Debug)]
pub struct Collected {
    pub index: String,
    pub id: String,
    pub record_number: u64,
    pub source: serde_json::Value,
}

impl From<Memory> for Collect {
    fn from(made: Memory) -> Self {
        Collect {
            documents: made
                .documents
                .into_iter()
                .map(|d| Collected { source: d.json(), index: d.index, id: d.id, record_number: d.record_number })
                .collect(),
            dead_letters: made.dead_letters.into_iter().map(|l| (l.record_number, l.reason)).collect(),
        }
    }
}

/// Runs one input through the pipeline into a [`Memory`] sink.
pub fn ingest_source(
    plugin: &Plugin,
    source: &SourceRef,
    options: &[(String, String)],
    stop: pipeline::Stop,
    input: &[u8],
) -> (Result<Counts, Failed>, Collect) {
    let mut made = Memory::default();
    let job = Job { source, options, index_prefix: None, stop, resume: Default::default() };
    let result = pipeline::ingest(plugin, &job, input, &mut made.documents, &mut made.dead_letters);
    (result, made.into())
}

/// Runs one object through the pipeline.
pub fn ingest(
    plugin: &Plugin,
    object: &ObjectRef,
    options: &[(String, String)],
    input: &[u8],
) -> (Result<Counts, Failed>, Collect) {
    ingest_source(plugin, &SourceRef::Object(object.clone()), options, Default::default(), input)
}

/// Runs a file through a workspace plugin (as a local object); panics if the object fails.
pub fn parse_file(package: &str, path: &Path) -> (Counts, Collect) {
    let sandbox = sandbox();
    let plugin = load(&sandbox, package);
    let (result, sink) = ingest(&plugin, &ObjectRef::local(path), &[], &std::fs::read(path).expect("readable"));
    (result.unwrap_or_else(|f| panic!("{}: {}", path.display(), f.error)), sink)
}

/// An object reference for tests.
pub fn object(key: &str) -> ObjectRef {
    ObjectRef { bucket: "test-bucket".into(), key: key.into(), ..ObjectRef::default() }
}

/// A file's bytes, gunzipped when it is gzip.
pub fn decompressed(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).expect("readable");
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut kelk_runtime::pipeline::decode::decompressed(&raw[..]).expect("decodes"), &mut out)
        .expect("decodes");
    out
}

/// How many lines `data` has, a last one without a newline included.
pub fn lines(data: &[u8]) -> u64 {
    data.iter().filter(|&&b| b == b'\n').count() as u64 + u64::from(!data.is_empty() && !data.ends_with(b"\n"))
}

/// The value at a dotted path in a document, `null` when absent.
pub fn get<'v>(doc: &'v serde_json::Value, path: &str) -> &'v serde_json::Value {
    path.split('.').fold(doc, |v, k| v.get(k).unwrap_or(&serde_json::Value::Null))
}

/// `{"a":{"b":1}}` → `[("a.b", 1)]`.
pub fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .for_each(|(k, v)| flatten(&if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, v, out)),
        v => out.push((prefix.to_owned(), v.clone())),
    }
}

/// A sink and dead-letter store that take everything and keep nothing: the pipeline's own
/// cost, without a destination's (the benchmarks').
pub struct Null;

impl kelk_runtime::sink::Sink for Null {
    fn document(
        &mut self,
        doc: &kelk_runtime::sink::Document,
        _: &mut dyn kelk_runtime::sink::DeadLetters,
    ) -> Result<(), kelk_runtime::sink::SinkError> {
        std::hint::black_box(doc);
        Ok(())
    }
}

impl kelk_runtime::sink::DeadLetters for Null {
    fn dead_letter(&mut self, letter: &kelk_runtime::sink::DeadLetter) -> Result<(), kelk_runtime::sink::SinkError> {
        std::hint::black_box(letter);
        Ok(())
    }
}

/// A generated ALB log of `mb` MB (`seed` picks which), gzipped as ELB delivers it, in a file
/// under `target/bench-corpus` made once and kept (the benchmarks that run whole processes).
pub fn gzipped_alb(seed: u64, mb: u64) -> PathBuf {
    let path = workspace().join(format!("target/bench-corpus/alb-{seed}-{mb}MB.log.gz"));
    if !path.exists() {
        std::fs::create_dir_all(path.parent().expect("under target")).expect("target is writable");
        let part = path.with_extension("part");
        let file = std::io::BufWriter::new(std::fs::File::create(&part).expect("target is writable"));
        let mut gzip = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        std::io::copy(&mut generate::Log::alb(seed, mb * 1_000_000), &mut gzip).expect("target is writable");
        std::io::Write::flush(&mut gzip.finish().expect("target is writable")).expect("target is writable");
        std::fs::rename(&part, &path).expect("target is writable");
    }
    path
}

/// Gzips bytes.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("in memory");
    e.finish().expect("in memory")
}

/// An Apache combined-format line (the httpd docs' example).
pub const APACHE_LINE: &str = r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;

/// A Firehose data-transformation event of the stream `kelk-apache`, records as (id, data).
pub fn firehose_event<D: AsRef<[u8]>>(records: &[(&str, D)]) -> serde_json::Value {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    serde_json::json!({
        "invocationId": "11111111-2222-3333-4444-555555555555",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/kelk-apache",
        "region": "us-east-1",
        "records": records.iter().map(|(id, data)| serde_json::json!({
            "recordId": id, "approximateArrivalTimestamp": 1_700_000_000_000u64, "data": b64.encode(data),
        })).collect::<Vec<_>>(),
    })
}

/// A Firehose response's (recordId, result) pairs, in order.
pub fn firehose_results(response: &serde_json::Value) -> Vec<(&str, &str)> {
    let records = response["records"].as_array().expect("a Firehose response has records");
    records.iter().map(|r| (r["recordId"].as_str().unwrap(), r["result"].as_str().unwrap())).collect()
}

/// The documents in the indices matching `pattern`, refreshed first.
pub fn index_count(cluster: &Cluster, pattern: &str) -> u64 {
    cluster.request(Method::Post, &format!("/{pattern}/_refresh"), None).unwrap();
    cluster.request(Method::Get, &format!("/{pattern}/_count"), None).unwrap().unwrap()["count"].as_u64().unwrap()
}

/// How `field` is mapped in the first index matching `pattern`.
pub fn field_type(cluster: &Cluster, pattern: &str, field: &str) -> String {
    let answer = cluster.request(Method::Get, &format!("/{pattern}/_mapping/field/{field}"), None).unwrap().unwrap();
    let (_, index) = answer.as_object().unwrap().iter().next().unwrap_or_else(|| panic!("no index matches {pattern}"));
    let mapping = &index["mappings"][field]["mapping"];
    mapping.as_object().unwrap().values().next().unwrap()["type"].as_str().unwrap().to_owned()
}
