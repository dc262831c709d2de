//! Index storage per raw input byte, for each format: a generated corpus parsed by its plugin
//! through the pipeline into a real OpenSearch, once into indices under KELK's index template
//! (installed as `kelk setup` does) and once, the very same documents, into indices no template
//! matches (OpenSearch's dynamic mapping). Each index is then refreshed, given no replicas and
//! force-merged to one segment; what its primaries store (`_stats/store`, once it agrees with
//! the live segment) is divided by the raw bytes. The `_bulk` bodies' size per raw byte is said
//! too, and where KELK's bytes go by Lucene file (stored fields, that is `_source` and `_id`;
//! terms; postings; doc values; points; norms).
//!
//! `KELK_BENCH_OPENSEARCH=http://127.0.0.1:9250 cargo bench -p kelk-tests --bench storage [FORMAT…]`
//! (formats: alb elb-classic nlb alb-connection cloudfront cloudfront-json apache cloudtrail
//! vpcflow s3access waf route53; all by default; `--` before several). `KELK_BENCH_MB` sets each
//! corpus's size (50 MB by default). The indices are `storage-FORMAT-kelk-*` and
//! `storage-FORMAT-dynamic-*`, deleted first; they are left in the cluster for a look
//! afterwards. `KELK_BENCH_KEEP=DIR` keeps the `_bulk` bodies in `DIR/FORMAT/`, to try other
//! mappings on the same documents.
//!
//! `KELK_BENCH_CHOICES=1` also says what each of KELK's storage choices saves: for the codec,
//! every field whose doc values are off and every `match_only_text` subfield (of the fields the
//! format's documents have), the same documents again into an index under KELK's template
//! without that one choice, and the bytes per raw byte it adds.

use kelk_runtime::opensearch::{Auth, BulkSink, Cluster, setup};
use kelk_runtime::pipeline::{self, Job};
use kelk_runtime::sandbox::Sandbox;
use kelk_runtime::sink::{BulkFiles, DeadLetters, Document, KeptLetter, Origin, Sink, SinkError};
use kelk_runtime::source::{ObjectRef, SourceRef};
use kelk_tests::generate::Log;
use opensearch::http::Method;
use serde_json::{Value, json};
use std::io::Read;
use std::time::Duration;

/// A sink whose documents go into indices of another prefix.
struct Renamed {
    sink: BulkSink,
    /// The prefix the pipeline's indices have, and the one they get instead.
    from: String,
    to: String,
}

impl Sink for Renamed {
    fn begin(&mut self, origin: Origin<'_>) -> Result<(), SinkError> {
        self.sink.begin(origin)
    }

    fn document(&mut self, doc: &Document<'_>, refused: &mut dyn DeadLetters) -> Result<(), SinkError> {
        let index = doc.index.replacen(&self.from, &self.to, 1);
        self.sink.document(&Document { index: &index, ..*doc }, refused)
    }

    fn flush(&mut self, refused: &mut dyn DeadLetters) -> Result<(), SinkError> {
        self.sink.flush(refused)
    }
}

/// The same documents into three places: KELK's indices, the same documents renamed into
/// indices no template matches, and `_bulk` files (to measure the bodies as `kelk ingest --out`
/// writes them).
struct Tee {
    kelk: BulkSink,
    dynamic: Renamed,
    files: BulkFiles,
}

impl Sink for Tee {
    fn begin(&mut self, origin: Origin<'_>) -> Result<(), SinkError> {
        self.kelk.begin(origin)?;
        self.dynamic.begin(origin)?;
        self.files.begin(origin)
    }

    fn document(&mut self, doc: &Document<'_>, refused: &mut dyn DeadLetters) -> Result<(), SinkError> {
        self.kelk.document(doc, refused)?;
        self.files.document(doc, refused)?;
        self.dynamic.document(doc, refused)
    }

    fn flush(&mut self, refused: &mut dyn DeadLetters) -> Result<(), SinkError> {
        self.kelk.flush(refused)?;
        self.dynamic.flush(refused)?;
        self.files.flush(refused)
    }
}

fn connect(url: &str) -> Cluster {
    Cluster::connect(url, Auth::None, &kelk_tests::aws()).expect("a cluster URL")
}

fn request(cluster: &Cluster, method: Method, path: &str, body: Option<&str>) -> Value {
    let answer = cluster.request(method, path, body.map(str::as_bytes)).unwrap_or_else(|e| panic!("{path}: {e}"));
    answer.unwrap_or_else(|| panic!("{path}: not found"))
}

/// Refreshes the indices matching `pattern`, drops their replicas and force-merges each to one
/// segment, waiting for the merge (as a task: it may take longer than a request's timeout).
fn settle(cluster: &Cluster, pattern: &str) {
    request(cluster, Method::Post, &format!("/{pattern}/_refresh"), None);
    request(cluster, Method::Put, &format!("/{pattern}/_settings"), Some(r#"{"index":{"number_of_replicas":0}}"#));
    let task = request(
        cluster,
        Method::Post,
        &format!("/{pattern}/_forcemerge?max_num_segments=1&wait_for_completion=false"),
        None,
    );
    let task = task["task"].as_str().expect("a force merge task");
    while request(cluster, Method::Get, &format!("/_tasks/{task}?wait_for_completion=true&timeout=50s"), None)["completed"]
        != true
    {}
    // The merged-away segments' files go once no reader holds them, and the store's size is
    // read again only every 10 s (`index.store.stats_refresh_interval`): until both, it says
    // something other than the live segment.
    for _ in 0..60 {
        request(cluster, Method::Post, &format!("/{pattern}/_refresh"), None);
        let segments = request(cluster, Method::Get, &format!("/_cat/segments/{pattern}?format=json&bytes=b"), None);
        let live: u64 =
            segments.as_array().into_iter().flatten().filter_map(|s| s["size"].as_str()?.parse::<u64>().ok()).sum();
        let store = request(cluster, Method::Get, &format!("/{pattern}/_stats/store"), None);
        let store = store["_all"]["primaries"]["store"]["size_in_bytes"].as_u64().unwrap_or(0);
        if store.abs_diff(live) < 64 * 1024 {
            return;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    panic!("{pattern}: the store's size is not its segments' after two minutes");
}

/// What the primaries of the indices matching `pattern` hold: documents, bytes, bytes by file.
struct Stored {
    documents: u64,
    bytes: u64,
    segments: u64,
    files: Vec<(String, u64)>,
}

fn stored(cluster: &Cluster, pattern: &str) -> Stored {
    let stats = request(
        cluster,
        Method::Get,
        &format!("/{pattern}/_stats/docs,store,segments?include_segment_file_sizes=true"),
        None,
    );
    let primaries = &stats["_all"]["primaries"];
    let mut files: Vec<(String, u64)> = primaries["segments"]["file_sizes"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(ext, size)| (ext.clone(), size["size_in_bytes"].as_u64().unwrap_or(0)))
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.1));
    Stored {
        documents: primaries["docs"]["count"].as_u64().unwrap_or(0),
        bytes: primaries["store"]["size_in_bytes"].as_u64().expect("a store size"),
        segments: primaries["segments"]["count"].as_u64().unwrap_or(0),
        files,
    }
}

/// What Lucene's files hold, by extension, in the words of `_stats`' own descriptions.
fn file_kind(ext: &str) -> &str {
    match ext {
        "fdt" | "fdx" | "fdm" => "stored fields (_source, _id)",
        "tim" | "tip" | "tmd" => "terms",
        "doc" | "pos" | "pay" => "postings",
        "dvd" | "dvm" => "doc values",
        "kdd" | "kdi" | "kdm" | "dii" | "dim" => "points",
        "nvd" | "nvm" => "norms",
        _ => "other",
    }
}

/// Indexes `log` with the plugin `package` both ways and prints a row.
fn measure(cluster_url: &str, sandbox: &Sandbox, name: &str, package: &str, mut log: Log) {
    let mut corpus = Vec::new();
    log.read_to_end(&mut corpus).unwrap();
    let raw = corpus.len() as f64;
    let plugin = kelk_tests::load(sandbox, package);
    // The format's name first: no prefix is another's followed by `-` (cloudfront, cloudfront-json), so
    // no template pattern matches two prefixes.
    let (kelk, dynamic) = (format!("storage-{name}-kelk"), format!("storage-{name}-dynamic"));
    let cluster = connect(cluster_url);
    for prefix in [&kelk, &dynamic] {
        request(&cluster, Method::Delete, &format!("/{prefix}-*"), None);
    }
    setup::setup(&cluster, &[(&plugin, &kelk)], None).expect("KELK's template is installed");

    let temporary = tempfile::tempdir().unwrap();
    let files = match std::env::var_os("KELK_BENCH_KEEP") {
        Some(dir) => std::path::Path::new(&dir).join(name),
        None => temporary.path().to_owned(),
    };
    if files.exists() {
        std::fs::remove_dir_all(&files).unwrap();
    }
    let mut tee = Tee {
        kelk: BulkSink::new(connect(cluster_url)),
        dynamic: Renamed { sink: BulkSink::new(connect(cluster_url)), from: kelk.clone(), to: dynamic.clone() },
        files: BulkFiles::new(&files).unwrap(),
    };
    let source = SourceRef::Object(ObjectRef { bucket: "logs".into(), key: name.into(), ..ObjectRef::default() });
    let job = Job { index_prefix: Some(&kelk), ..Job::new(&source) };
    let mut letters: Vec<KeptLetter> = Vec::new();
    let counts =
        pipeline::ingest(&plugin, &job, &corpus[..], &mut tee, &mut letters).unwrap_or_else(|f| panic!("{}", f.error));
    let refused = (tee.kelk.stats().refused, tee.dynamic.sink.stats().refused);
    assert_eq!(
        counts.rejected,
        0,
        "{name}: the generator's records are all documents: {:?}",
        letters.first().map(|l| &l.reason)
    );
    assert_eq!(refused.0, 0, "{name}: KELK's indices take every document: {:?}", letters.first().map(|l| &l.reason));
    let body: u64 = std::fs::read_dir(&files).unwrap().map(|f| f.unwrap().metadata().unwrap().len()).sum();

    let sides = [&kelk, &dynamic].map(|prefix| {
        let pattern = format!("{prefix}-*");
        settle(&cluster, &pattern);
        stored(&cluster, &pattern)
    });
    let [ours, theirs] = &sides;
    assert_eq!(ours.documents, counts.documents, "{name}: every document is in KELK's indices");
    println!(
        "{name:<15} {:5.1} MB raw {:>7} docs | _bulk {:.2} | KELK {:.3} ({:.1} MB, {} segment(s)) | dynamic {:.3} ({:.1} MB, {} docs{})",
        raw / 1e6,
        counts.documents,
        body as f64 / raw,
        ours.bytes as f64 / raw,
        ours.bytes as f64 / 1e6,
        ours.segments,
        theirs.bytes as f64 / raw,
        theirs.bytes as f64 / 1e6,
        theirs.documents,
        if refused.1 > 0 { format!(", {} refused by dynamic mapping", refused.1) } else { String::new() },
    );
    let mut kinds: Vec<(&str, u64)> = Vec::new();
    for (ext, bytes) in &ours.files {
        match kinds.iter_mut().find(|(kind, _)| *kind == file_kind(ext)) {
            Some((_, total)) => *total += bytes,
            None => kinds.push((file_kind(ext), *bytes)),
        }
    }
    kinds.sort_by_key(|k| std::cmp::Reverse(k.1));
    let kinds: Vec<String> = kinds.iter().map(|(kind, bytes)| format!("{kind} {:.3}", *bytes as f64 / raw)).collect();
    println!("{:<15} KELK's bytes per raw byte by file: {}", "", kinds.join(", "));

    if std::env::var_os("KELK_BENCH_CHOICES").is_some() {
        let without = format!("storage-{name}-without");
        let simulated = request(&cluster, Method::Post, &format!("/_index_template/_simulate_index/{kelk}-x"), None);
        for (choice, template) in choices(&simulated["template"]) {
            let field = choice.split(' ').next().unwrap_or_default().trim_end_matches(".text");
            let pattern = format!("{kelk}-*");
            if !choice.starts_with("index.") && count(&cluster, &pattern, json!({ "exists": { "field": field } })) == 0
            {
                continue;
            }
            request(&cluster, Method::Delete, &format!("/{without}-*"), None);
            let body = json!({ "index_patterns": [format!("{without}-*")], "priority": 5000, "template": template });
            request(&cluster, Method::Put, &format!("/_index_template/{without}"), Some(&body.to_string()));
            let mut sink =
                Renamed { sink: BulkSink::new(connect(cluster_url)), from: kelk.clone(), to: without.clone() };
            pipeline::ingest(&plugin, &job, &corpus[..], &mut sink, &mut letters)
                .unwrap_or_else(|f| panic!("{}", f.error));
            settle(&cluster, &format!("{without}-*"));
            let bytes = stored(&cluster, &format!("{without}-*")).bytes;
            println!("{:<15} without {choice}: {:+.3}", "", (bytes as f64 - ours.bytes as f64) / raw);
            request(&cluster, Method::Delete, &format!("/{without}-*"), None);
            request(&cluster, Method::Delete, &format!("/_index_template/{without}"), None);
        }
    }
}

/// How many documents of the indices matching `pattern` match `query`.
fn count(cluster: &Cluster, pattern: &str, query: Value) -> u64 {
    let body = json!({ "query": query }).to_string();
    request(cluster, Method::Post, &format!("/{pattern}/_count"), Some(&body))["count"].as_u64().unwrap_or(0)
}

/// KELK's storage choices in a composed template (`settings` and `mappings`), each with the
/// template without it: the codec, every field whose doc values are off, and every
/// `match_only_text` subfield.
fn choices(template: &Value) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    let clean = json!({ "settings": template["settings"], "mappings": template["mappings"] });
    if clean["settings"]["index"]["codec"] == "best_compression" {
        let mut without = clean.clone();
        without["settings"]["index"].as_object_mut().unwrap().remove("codec");
        found.push(("index.codec best_compression".to_owned(), without));
    }
    let mut fields = Vec::new();
    leaves("", "/mappings/properties", &clean["mappings"]["properties"], &mut fields);
    for (field, pointer) in fields {
        let mapping = clean.pointer(&pointer).unwrap();
        if mapping["doc_values"] == false {
            let mut without = clean.clone();
            without.pointer_mut(&pointer).unwrap().as_object_mut().unwrap().remove("doc_values");
            found.push((format!("{field} doc_values false"), without));
        }
        for (name, sub) in mapping["fields"].as_object().into_iter().flatten() {
            if sub["type"] == "match_only_text" {
                let mut without = clean.clone();
                *without.pointer_mut(&format!("{pointer}/fields/{name}/type")).unwrap() = json!("text");
                found.push((format!("{field}.{name} match_only_text"), without));
            }
        }
    }
    found
}

/// Every field with a type under `properties` (at JSON pointer `pointer`), dotted, with its
/// mapping's pointer.
fn leaves(prefix: &str, pointer: &str, properties: &Value, out: &mut Vec<(String, String)>) {
    for (key, mapping) in properties.as_object().into_iter().flatten() {
        let field = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        let at = format!("{pointer}/{key}");
        if mapping.get("type").is_some() {
            out.push((field, at));
        } else {
            leaves(&field, &format!("{at}/properties"), &mapping["properties"], out);
        }
    }
}

fn main() {
    let url = std::env::var("KELK_BENCH_OPENSEARCH").expect(
        "KELK_BENCH_OPENSEARCH is not set: the URL of an OpenSearch to index into (tests/servers/opensearch start)",
    );
    let bytes = std::env::var("KELK_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(50u64) * 1_000_000;
    let sandbox = kelk_tests::sandbox();
    println!("bytes per raw byte: the _bulk bodies, and each side's primaries after a force merge to one segment");
    for format in kelk_tests::formats::chosen() {
        measure(&url, &sandbox, format.name, format.package, format.log(bytes));
    }
}
