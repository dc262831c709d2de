//! Helpers for KELK's integration tests and benchmarks: plugins built to real components,
//! the shared sample corpus, a sink that collects, and generated logs.

pub mod generate;

use kelk_runtime::cluster::Cluster;
use kelk_runtime::document::ObjectRef;
use kelk_runtime::pipeline::{self, Counts, Failed, Job};
use kelk_runtime::sink::{DeadLetter, Document, Sink};
use kelk_runtime::{Host, Limits, Plugin};
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

/// A host with default limits.
pub fn host() -> Host {
    host_with(Limits::default())
}

/// A host whose compiled plugins are cached beside the test plugins' build.
pub fn host_with(limits: Limits) -> Host {
    Host::new(limits, Some(workspace().join("target/plugins/cache"))).expect("engine starts")
}

/// Loads a workspace plugin package into `host`.
pub fn load(host: &Host, package: &str) -> Plugin {
    host.load_file(&plugin_wasm(package)).unwrap_or_else(|e| panic!("{e}"))
}

/// A sink that keeps everything in memory.
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

impl Sink for Collect {
    fn document(&mut self, doc: &Document) -> std::io::Result<()> {
        let source = serde_json::from_slice(doc.source).map_err(std::io::Error::other)?;
        self.documents.push(Collected {
            index: doc.index.into(),
            id: doc.id.into(),
            record_number: doc.record_number,
            source,
        });
        Ok(())
    }

    fn dead_letter(&mut self, letter: &DeadLetter) -> std::io::Result<()> {
        self.dead_letters.push((letter.record_number, letter.reason.into()));
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs one object through the pipeline into a fresh [`Collect`].
pub fn ingest(
    plugin: &Plugin,
    object: &ObjectRef,
    options: &[(String, String)],
    input: &[u8],
) -> (Result<Counts, Failed>, Collect) {
    let mut sink = Collect::default();
    let job = Job { object, log_type: &plugin.info.name, options, index_prefix: None, stop: Default::default() };
    let result = pipeline::ingest(plugin, &job, input, &mut sink);
    (result, sink)
}

/// Runs a file through a workspace plugin (as a local object); panics if the object fails.
pub fn parse_file(package: &str, path: &Path) -> (Counts, Collect) {
    let host = host();
    let plugin = load(&host, package);
    let (result, sink) = ingest(&plugin, &ObjectRef::local(path), &[], &std::fs::read(path).expect("readable"));
    (result.unwrap_or_else(|f| panic!("{}: {}", path.display(), f.error)), sink)
}

/// An object reference for tests.
pub fn object(key: &str) -> ObjectRef {
    ObjectRef { bucket: "test-bucket".into(), key: key.into(), version_id: None }
}

/// A file's bytes, gunzipped when it is gzip.
pub fn decompressed(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).expect("readable");
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut kelk_runtime::decode::decompressed(&raw[..]).expect("decodes"), &mut out)
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
