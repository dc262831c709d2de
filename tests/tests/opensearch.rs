//! Against a real OpenSearch (started by `make test`, `tests/servers/opensearch`): templates
//! are put idempotently, map the fields as documented and compress stored fields with
//! `best_compression`; an alias a plugin maps finds what the plugin wrote under the field it
//! stands for; every document of every format is indexed exactly once however often its object
//! is processed, and a document OpenSearch refuses for good is dead-lettered with OpenSearch's
//! reason, while one it refuses for a passing reason (a write block) is retried and fails the
//! object, never dead-lettered; fields it ignores (`ignore_malformed`) are counted. Bulk
//! concurrency halves when a busy node answers 429, and every document still arrives once.

use kelk_runtime::opensearch::{Auth, BulkSink, Cluster};
use kelk_runtime::pipeline::{self, Job};
use kelk_runtime::sink::{Document, KeptLetter, Origin, Sink, SinkError};
use kelk_runtime::source::{ObjectRef, SourceRef};
use kelk_tests::{aws, field_type, index_count, load, sandbox, workspace};
use opensearch::http::Method;
use serde_json::{Value, json};

fn cluster() -> Cluster {
    let url = std::env::var("KELK_TEST_OPENSEARCH").expect(
        "KELK_TEST_OPENSEARCH is not set: run `make test`, which starts OpenSearch (tests/servers/opensearch start)",
    );
    Cluster::connect(&url, Auth::None, &aws()).unwrap()
}

/// Removes what an earlier run of the same test left (the test's own indices only).
fn fresh(cluster: &Cluster, pattern: &str) {
    cluster.request(Method::Delete, &format!("/{pattern}"), None).unwrap();
}

#[test]
fn every_format_is_indexed_once_with_its_mappings() {
    let cluster = cluster();
    fresh(&cluster, "logs-*-t1-*");
    let sandbox = sandbox();
    let samples = [
        ("kelk-parser-alb", "alb/samples/aws-docs-examples.log", "logs-aws.elb_logs-t1"),
        ("kelk-parser-cloudfront", "cloudfront/samples/edge-cases.log", "logs-aws.cloudfront_logs-t1"),
        ("kelk-parser-cloudtrail", "cloudtrail/samples/edge-cases.json", "logs-aws.cloudtrail-t1"),
        ("kelk-parser-apache", "apache/samples/elastic-beats-filebeat-apache-access-test.log", "logs-apache.access-t1"),
        ("kelk-parser-alb", "alb/samples/nlb-tls.log", "logs-aws.elb_logs-nlb-t1"),
        ("kelk-parser-alb", "alb/samples/alb-connection.log", "logs-aws.elb_logs-conn-t1"),
        ("kelk-parser-cloudfront", "cloudfront/samples/v2-json.log", "logs-aws.cloudfront_logs-v2-t1"),
    ];
    // Each plugin's template for each prefix it writes to, as the host installs them.
    let plugins: Vec<_> = samples.iter().map(|(package, _, prefix)| (load(&sandbox, package), *prefix)).collect();
    let destinations: Vec<_> = plugins.iter().map(|(plugin, prefix)| (plugin, *prefix)).collect();
    let done = kelk_runtime::opensearch::setup::setup(&cluster, &destinations, Some(30)).unwrap();
    let again = kelk_runtime::opensearch::setup::setup(&cluster, &destinations, Some(30)).unwrap();
    assert_eq!(again.len(), done.len(), "{again:?}");
    assert!(
        again[..samples.len()].iter().all(|d| d.starts_with("kept _index_template/kelk-logs-")),
        "setup is idempotent: {again:?}"
    );
    // The test cluster (the integ-test zip) has no ISM plugin: the policy is passed over, and said so.
    assert!(done.last().unwrap().contains("no ISM plugin"), "{done:?}");

    let mut letters: Vec<KeptLetter> = Vec::new();
    let mut sink = BulkSink::new(cluster);
    let mut expected = Vec::new();
    let mut rejected = 0;
    for round in 0..2 {
        for (&(_, sample, prefix), (plugin, _)) in samples.iter().zip(&plugins) {
            let path = workspace().join("parsers").join(sample);
            let source =
                SourceRef::Object(ObjectRef { bucket: "logs".into(), key: sample.into(), ..ObjectRef::default() });
            let job = Job { index_prefix: Some(prefix), ..Job::new(&source) };
            let input = std::fs::read(&path).unwrap();
            let counts = pipeline::ingest(plugin, &job, &input[..], &mut sink, &mut letters).unwrap();
            rejected += counts.rejected;
            if round == 0 {
                expected.push((prefix, counts.documents));
            }
        }
    }
    let stats = sink.stats();
    let total: u64 = expected.iter().map(|(_, n)| n).sum();
    assert_eq!(
        (stats.indexed, stats.already_indexed, stats.refused),
        (total, total, 0),
        "the second round finds every document there"
    );
    assert_eq!(
        letters.len() as u64,
        rejected,
        "the parsers' rejections pass through to the dead letters, and only they"
    );
    assert!(rejected > 0 && letters.iter().all(|l| !l.reason.contains("OpenSearch")), "{letters:?}");

    let cluster = self::cluster();
    for (prefix, documents) in expected {
        assert_eq!(
            index_count(&cluster, &format!("{prefix}-*")),
            documents,
            "{prefix}: one document per event, no duplicates"
        );
        // The shared ECS component's settings reach every daily index: stored fields compressed
        // with DEFLATE rather than LZ4 (see BENCHMARKS.md, index storage).
        let settings =
            cluster.request(Method::Get, &format!("/{prefix}-*/_settings/index.codec"), None).unwrap().unwrap();
        for (index, settings) in settings.as_object().unwrap() {
            assert_eq!(settings["settings"]["index"]["codec"], "best_compression", "{index}");
        }
        assert_eq!(field_type(&cluster, &format!("{prefix}-*"), "@timestamp"), "date");
        assert_eq!(field_type(&cluster, &format!("{prefix}-*"), "event.dataset"), "keyword");
    }
    assert_eq!(field_type(&cluster, "logs-aws.elb_logs-t1-*", "source.ip"), "ip");
    assert_eq!(field_type(&cluster, "logs-aws.elb_logs-t1-*", "aws.elb.backend.ip"), "ip");
    assert_eq!(field_type(&cluster, "logs-aws.elb_logs-t1-*", "http.response.status_code"), "long");
    assert_eq!(field_type(&cluster, "logs-aws.cloudfront_logs-t1-*", "url.original"), "keyword");
    assert_eq!(field_type(&cluster, "logs-aws.cloudtrail-t1-*", "aws.cloudtrail.request_parameters"), "keyword");
    assert_eq!(field_type(&cluster, "logs-apache.access-t1-*", "http.response.body.bytes"), "long");
    // The fields of connections (NLB, ALB connection logs) and of CloudFront's v2 logs.
    assert_eq!(field_type(&cluster, "logs-aws.elb_logs-nlb-t1-*", "source.bytes"), "long");
    assert_eq!(field_type(&cluster, "logs-aws.elb_logs-nlb-t1-*", "tls.established"), "boolean");
    assert_eq!(field_type(&cluster, "logs-aws.elb_logs-conn-t1-*", "tls.client.x509.not_before"), "date");
    assert_eq!(field_type(&cluster, "logs-aws.elb_logs-conn-t1-*", "aws.elb.tls_handshake_latency.sec"), "float");
    assert_eq!(field_type(&cluster, "logs-aws.cloudfront_logs-v2-t1-*", "aws.cloudfront.origin_fbl"), "float");
    assert_eq!(field_type(&cluster, "logs-aws.cloudfront_logs-v2-t1-*", "source.as.number"), "long");
    assert_eq!(field_type(&cluster, "logs-aws.cloudfront_logs-v2-t1-*", "network.forwarded_ip"), "ip");

    // CloudTrail's own ids: a document's _id is its eventID.
    let search = cluster
        .request(
            Method::Post,
            "/logs-aws.cloudtrail-t1-*/_search",
            Some(br#"{"query":{"ids":{"values":["00000000-0000-4000-8000-000000000001"]}}}"#),
        )
        .unwrap()
        .unwrap();
    assert_eq!(search["hits"]["total"]["value"], 1);
}

/// Every alias in `mappings` (a plugin's properties), dotted, with the field it stands for.
fn aliases(prefix: &str, mappings: &serde_json::Map<String, Value>, out: &mut Vec<(String, String)>) {
    for (key, mapping) in mappings {
        let field = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        if mapping["type"] == "alias" {
            out.push((field, mapping["path"].as_str().unwrap().to_owned()));
        } else if let Some(properties) = mapping["properties"].as_object() {
            aliases(&field, properties, out);
        }
    }
}

#[test]
fn an_alias_finds_the_documents_its_plugin_wrote_under_the_field_it_stands_for() {
    let cluster = cluster();
    fresh(&cluster, "logs-*-aliases-*");
    let sandbox = sandbox();
    let samples = [
        ("kelk-parser-alb", "alb/samples/aws-docs-examples.log", "logs-aws.elb_logs-aliases"),
        ("kelk-parser-cloudfront", "cloudfront/samples/edge-cases.log", "logs-aws.cloudfront_logs-aliases"),
        ("kelk-parser-s3access", "s3access/samples/edge-cases.log", "logs-aws.s3access-aliases"),
    ];
    let mut letters: Vec<KeptLetter> = Vec::new();
    let mut checked = 0;
    for (package, sample, prefix) in samples {
        let plugin = load(&sandbox, package);
        kelk_runtime::opensearch::setup::setup(&cluster, &[(&plugin, prefix)], None).unwrap();
        let mut sink = BulkSink::new(self::cluster());
        let source = SourceRef::Object(ObjectRef { bucket: "logs".into(), key: sample.into(), ..ObjectRef::default() });
        let job = Job { index_prefix: Some(prefix), ..Job::new(&source) };
        let input = std::fs::read(workspace().join("parsers").join(sample)).unwrap();
        pipeline::ingest(&plugin, &job, &input[..], &mut sink, &mut letters).unwrap();
        assert_eq!(sink.stats().refused, 0, "{package}: OpenSearch takes every document: {letters:?}");
        index_count(&cluster, &format!("{prefix}-*"));

        let mappings: Value = serde_json::from_str(&plugin.description.as_ref().unwrap().mappings).unwrap();
        let mut found = Vec::new();
        aliases("", mappings.as_object().unwrap(), &mut found);
        assert!(!found.is_empty(), "{package} has aliases");
        let search = |body: Value| {
            let path = format!("/{prefix}-*/_search");
            cluster.request(Method::Post, &path, Some(body.to_string().as_bytes())).unwrap().unwrap()
        };
        let buckets = |field: &str| {
            let aggregation = json!({ "size": 0, "aggs": { "values": { "terms": { "field": field, "size": 100 } } } });
            search(aggregation)["aggregations"]["values"]["buckets"].clone()
        };
        for (alias, path) in found {
            // The documents hold the value under the field's name only: OpenSearch would refuse
            // one writing to the alias.
            let holding = json!({ "size": 1000, "query": { "exists": { "field": path } } });
            let hits = search(holding)["hits"]["hits"].as_array().unwrap().clone();
            assert!(!hits.is_empty(), "{package}: the samples have `{path}`");
            let mut values: Vec<(Value, u64)> = Vec::new();
            for hit in &hits {
                assert!(kelk_tests::get(&hit["_source"], &alias).is_null(), "{package}: {}", hit["_source"]);
                let value = kelk_tests::get(&hit["_source"], &path).clone();
                match values.iter_mut().find(|(v, _)| *v == value) {
                    Some((_, n)) => *n += 1,
                    None => values.push((value, 1)),
                }
            }
            // A term query on the alias finds the documents with each value under the field.
            for (value, documents) in &values {
                let term =
                    json!({ "size": 0, "track_total_hits": true, "query": { "term": { alias.as_str(): value } } });
                assert_eq!(
                    search(term)["hits"]["total"]["value"],
                    *documents,
                    "{package}: a term query on `{alias}` finds the documents with `{path}` {value}"
                );
            }
            // The alias aggregates as its field does, where the field has doc values.
            let caps_path = format!("/{prefix}-*/_field_caps?fields={alias},{path}");
            let caps = cluster.request(Method::Get, &caps_path, None).unwrap().unwrap();
            let aggregatable =
                |field: &str| caps["fields"][field].as_object().unwrap().values().all(|c| c["aggregatable"] == true);
            assert_eq!(aggregatable(&alias), aggregatable(&path), "{package}: `{alias}` and `{path}`");
            if aggregatable(&path) {
                let by_path = buckets(&path);
                assert_eq!(by_path.as_array().unwrap().len(), values.len(), "{package}: `{path}`");
                assert_eq!(buckets(&alias), by_path, "{package}: a terms aggregation on `{alias}` is one on `{path}`");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 8, "ALB's two aliases, CloudFront's three, S3 access's three");
}

#[test]
fn a_document_opensearch_refuses_is_dead_lettered_with_its_reason() {
    let cluster = cluster();
    fresh(&cluster, "kelk-conflict-*");
    // An index whose mapping contradicts the documents: user.name as a number.
    cluster
        .request(
            Method::Put,
            "/kelk-conflict-2000.10.10",
            Some(br#"{"mappings":{"properties":{"user":{"properties":{"name":{"type":"long"}}}}}}"#),
        )
        .unwrap();
    let sandbox = sandbox();
    let apache = load(&sandbox, "kelk-parser-apache");
    let mut letters: Vec<KeptLetter> = Vec::new();
    let mut sink = BulkSink::new(cluster);
    let source =
        SourceRef::Object(ObjectRef { bucket: "logs".into(), key: "conflict.log".into(), ..ObjectRef::default() });
    let job = Job { index_prefix: Some("kelk-conflict"), ..Job::new(&source) };
    let input = std::fs::read(workspace().join("parsers/apache/samples/apache-httpd-docs-logs-examples.log")).unwrap();
    let counts = pipeline::ingest(&apache, &job, &input[..], &mut sink, &mut letters).unwrap();
    assert_eq!(counts.documents, 2);
    assert_eq!(sink.stats().refused, 2);
    let records: Vec<u64> = letters.iter().map(|l| l.record_number).collect();
    assert_eq!(records, [1, 2]);
    assert!(
        letters
            .iter()
            .all(|l| l.reason.contains("kelk-conflict-2000.10.10") && l.reason.contains("mapper_parsing_exception")),
        "{letters:?}"
    );
}

/// Under `index.mapping.ignore_malformed` (KELK's template sets it), OpenSearch indexes a
/// document without the values its mapping cannot take, and its bulk answer says nothing of
/// it: the sink reads each document's `_ignored` fields and counts them, on the attempt that
/// creates the documents and on a retry that finds them there.
#[test]
fn fields_opensearch_ignores_under_ignore_malformed_are_counted() {
    let cluster = cluster();
    fresh(&cluster, "kelk-ignored-*");
    // A daily index made under an older mapping: user.name a number, the status an address.
    let mapping = br#"{"settings":{"index.mapping.ignore_malformed":true},"mappings":{"properties":{
        "user":{"properties":{"name":{"type":"long"}}},
        "http":{"properties":{"response":{"properties":{"status_code":{"type":"ip"}}}}}}}}"#;
    cluster.request(Method::Put, "/kelk-ignored-2000.10.10", Some(mapping)).unwrap();
    let sandbox = sandbox();
    let apache = load(&sandbox, "kelk-parser-apache");
    let mut letters: Vec<KeptLetter> = Vec::new();
    let mut sink = BulkSink::new(cluster);
    let source =
        SourceRef::Object(ObjectRef { bucket: "logs".into(), key: "ignored.log".into(), ..ObjectRef::default() });
    let job = Job { index_prefix: Some("kelk-ignored"), ..Job::new(&source) };
    let input = std::fs::read(workspace().join("parsers/apache/samples/apache-httpd-docs-logs-examples.log")).unwrap();
    let counts = pipeline::ingest(&apache, &job, &input[..], &mut sink, &mut letters).unwrap();
    assert_eq!(counts.documents, 2);
    assert!(letters.is_empty(), "indexed, not refused: {letters:?}");
    let stats = sink.take_stats();
    assert_eq!((stats.indexed, stats.ignored_fields), (2, 4), "user.name and the status of each: {stats:?}");

    // The retry finds them there, and reports what they lack again.
    pipeline::ingest(&apache, &job, &input[..], &mut sink, &mut letters).unwrap();
    let stats = sink.take_stats();
    assert_eq!((stats.already_indexed, stats.ignored_fields), (2, 4), "{stats:?}");

    // A document whose every field fits has none.
    let cluster = self::cluster();
    cluster.request(Method::Delete, "/kelk-ignored-*", None).unwrap();
    pipeline::ingest(&apache, &job, &input[..], &mut sink, &mut letters).unwrap();
    let stats = sink.take_stats();
    assert_eq!((stats.indexed, stats.ignored_fields), (2, 0), "{stats:?}");
}

#[test]
fn a_write_blocked_index_is_retried_then_fails_the_object_never_dead_letters() {
    let cluster = cluster();
    fresh(&cluster, "kelk-blocked-*");
    // An index whose writes are blocked, as an operator (or flood-stage disk) leaves it.
    cluster
        .request(Method::Put, "/kelk-blocked-2000.10.10", Some(br#"{"settings":{"index.blocks.write":true}}"#))
        .unwrap();
    let sandbox = sandbox();
    let apache = load(&sandbox, "kelk-parser-apache");
    let mut letters: Vec<KeptLetter> = Vec::new();
    let mut sink = BulkSink::new(cluster);
    let source =
        SourceRef::Object(ObjectRef { bucket: "logs".into(), key: "blocked.log".into(), ..ObjectRef::default() });
    let job = Job { index_prefix: Some("kelk-blocked"), ..Job::new(&source) };
    let input = std::fs::read(workspace().join("parsers/apache/samples/apache-httpd-docs-logs-examples.log")).unwrap();
    let failed = pipeline::ingest(&apache, &job, &input[..], &mut sink, &mut letters).expect_err("nothing was indexed");
    let message = failed.error.to_string();
    assert!(
        matches!(*failed.error, pipeline::IngestError::Sink(SinkError::Retryable(_))),
        "a block lifts: the object is to be retried, {message}"
    );
    assert!(message.contains("cluster_block_exception"), "{message}");
    assert!(letters.is_empty(), "a transient refusal is never dead-lettered: {letters:?}");
    assert_eq!((sink.stats().indexed, sink.stats().refused), (0, 0));
    assert!(sink.stats().retries > 0);

    // Once the block is lifted, the retry indexes every document.
    let cluster = self::cluster();
    cluster
        .request(Method::Put, "/kelk-blocked-2000.10.10/_settings", Some(br#"{"index.blocks.write":false}"#))
        .unwrap();
    let counts = pipeline::ingest(&apache, &job, &input[..], &mut sink, &mut letters).unwrap();
    assert_eq!(index_count(&cluster, "kelk-blocked-*"), counts.documents);
    assert!(letters.is_empty());
}

/// A cluster that takes bodies of at most 1 MB (`http.max_content_length`, as small clusters
/// and proxies in front of them have): a body it answers 413 is sent again in halves until
/// every document is indexed, later bodies are smaller from the start, and a document too
/// large on its own is dead-lettered with the reason, not retried without end.
#[test]
fn bodies_a_cluster_finds_too_large_are_split_and_a_document_too_large_alone_is_dead_lettered() {
    let url = std::env::var("KELK_TEST_OPENSEARCH_SMALL_BODIES").expect(
        "KELK_TEST_OPENSEARCH_SMALL_BODIES is not set: run `make test`, which starts a second OpenSearch with -Ehttp.max_content_length=1mb",
    );
    let cluster = Cluster::connect(&url, Auth::None, &aws()).unwrap();
    fresh(&cluster, "kelk-small-*");
    let sandbox = sandbox();
    let apache = load(&sandbox, "kelk-parser-apache");
    let mut input = Vec::new();
    for i in 0..12_000 {
        input.extend_from_slice(kelk_tests::APACHE_LINE.replace("frank", &format!("user{i}")).as_bytes());
        input.push(b'\n');
    }
    let huge_agent = "A".repeat(1_500_000);
    input.extend_from_slice(kelk_tests::APACHE_LINE.replace("Mozilla/4.08", &huge_agent).as_bytes());
    let options = [("max_line_bytes".to_owned(), "4194304".to_owned())];
    let mut letters: Vec<KeptLetter> = Vec::new();
    let mut sink = BulkSink::new(cluster);
    let source = SourceRef::Object(ObjectRef { bucket: "logs".into(), key: "big.log".into(), ..ObjectRef::default() });
    let job = Job { options: &options, index_prefix: Some("kelk-small"), ..Job::new(&source) };
    let counts = pipeline::ingest(&apache, &job, &input[..], &mut sink, &mut letters).unwrap();
    assert_eq!(counts.documents, 12_001);
    let stats = sink.take_stats();
    assert_eq!((stats.indexed, stats.refused), (12_000, 1), "{stats:?}");
    assert!(stats.splits > 0, "the 5 MiB bodies were refused and split: {stats:?}");
    assert_eq!(letters.len(), 1);
    assert!(letters[0].reason.contains("too large") && letters[0].reason.contains("413"), "{}", letters[0].reason);
    assert_eq!(letters[0].record_number, 12_001);

    // The next object's bodies fit from the start.
    let source = SourceRef::Object(ObjectRef { bucket: "logs".into(), key: "next.log".into(), ..ObjectRef::default() });
    let job = Job { index_prefix: Some("kelk-small"), ..Job::new(&source) };
    let lines =
        input.split(|&b| b == b'\n').take(6_000).flat_map(|l| [l, b"\n"]).flatten().copied().collect::<Vec<u8>>();
    pipeline::ingest(&apache, &job, &lines[..], &mut sink, &mut letters).unwrap();
    let stats = sink.stats();
    assert_eq!((stats.indexed, stats.splits), (6_000, 0), "{stats:?}");
    assert_eq!(index_count(sink.cluster(), "kelk-small-*"), 18_000);
}

/// The bulk concurrency limits each process moved to, as its debug events say.
static LIMITS: std::sync::Mutex<Vec<(u64, u64)>> = std::sync::Mutex::new(Vec::new());

/// Keeps the `was` and `limit` of each "bulk concurrency" event.
struct LimitEvents;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for LimitEvents {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        #[derive(Default)]
        struct Fields(Option<u64>, Option<u64>);
        impl tracing::field::Visit for Fields {
            fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
                match field.name() {
                    "was" => self.0 = Some(value),
                    "limit" => self.1 = Some(value),
                    _ => {}
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let Fields(Some(was), Some(limit)) = fields {
            LIMITS.lock().unwrap().push((was, limit));
        }
    }
}

/// Three processes (three connections, each its own bulk concurrency, as three Lambda hosts)
/// of two senders each write at once to a node whose write pool has one thread and a queue of
/// one (`KELK_TEST_OPENSEARCH_BUSY`): the node answers 429 (counted in its stats), the limits
/// that climbed drop, and every sender's index holds its documents exactly once, by id, none
/// other, after any input that gave up was sent again as the event source would.
#[test]
fn a_busy_node_lowers_the_bulk_concurrency_and_every_document_arrives_once() {
    use tracing_subscriber::layer::SubscriberExt;
    let url = std::env::var("KELK_TEST_OPENSEARCH_BUSY").expect(
        "KELK_TEST_OPENSEARCH_BUSY is not set: run `make test`, which starts a node with a write pool of 1 thread and a queue of 1",
    );
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(LimitEvents)).unwrap();
    let clusters: Vec<Cluster> = (0..3).map(|_| Cluster::connect(&url, Auth::None, &aws()).unwrap()).collect();
    fresh(&clusters[0], "kelk-busy-*");
    let rejections = || -> u64 {
        let stats = clusters[0].request(Method::Get, "/_nodes/stats/thread_pool", None).unwrap().unwrap();
        stats["nodes"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n["thread_pool"]["write"]["rejected"].as_u64().unwrap())
            .sum()
    };
    let rejected_before = rejections();
    const DOCUMENTS: u64 = 10_000;
    let padding = "x".repeat(1000);
    // Each sender's documents, sent until the input is done, as a redelivery would.
    let send = |cluster: &Cluster, index: &str, name: &str| -> (u64, u64) {
        let mut sink = BulkSink::new(cluster.clone());
        let object = SourceRef::Object(ObjectRef { bucket: "b".into(), key: name.into(), ..ObjectRef::default() });
        let mut refused: Vec<KeptLetter> = Vec::new();
        let mut attempts = 0;
        loop {
            attempts += 1;
            sink.begin(Origin { source: &object, plugin: "test", plugin_sha256: "0" }).unwrap();
            for i in 0..DOCUMENTS {
                let (id, source) = (format!("{name}-{i}"), json!({ "n": i, "padding": padding }).to_string());
                let doc = Document { index, id: &id, record_number: i + 1, offset: 0, source: source.as_bytes() };
                sink.document(&doc, &mut refused).unwrap();
            }
            match sink.flush(&mut refused) {
                Ok(()) => break,
                Err(SinkError::Retryable(reason)) if attempts < 10 => eprintln!("{name}: {reason}; again"),
                Err(error) => panic!("{name}, attempt {attempts}: {error}"),
            }
        }
        assert!(refused.is_empty(), "nothing dead-lettered for a 429: {:?}", refused[0].reason);
        let stats = sink.stats();
        (stats.indexed, stats.retries)
    };
    let names: Vec<String> = (0..3).flat_map(|h| (0..2).map(move |s| format!("h{h}s{s}"))).collect();
    let index = |name: &str| format!("kelk-busy-{name}");
    let done: Vec<(u64, u64)> = std::thread::scope(|scope| {
        let senders: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let (cluster, send, index) = (&clusters[i / 2], &send, &index);
                scope.spawn(move || send(cluster, &index(name), name))
            })
            .collect();
        senders.into_iter().map(|s| s.join().unwrap()).collect()
    });
    let rejected = rejections() - rejected_before;
    assert!(rejected > 0, "the write pool rejected nothing: the test proves nothing");
    let retries: u64 = done.iter().map(|(_, r)| r).sum();
    assert!(retries > 0, "{done:?}");
    let limits = LIMITS.lock().unwrap().clone();
    assert!(limits.iter().any(|(was, limit)| limit < was), "the limit never dropped: {limits:?}");
    let indexed: u64 = done.iter().map(|(i, _)| i).sum();
    assert_eq!(indexed, 6 * DOCUMENTS, "each document indexed once, at whichever attempt: {done:?}");
    clusters[0].request(Method::Post, "/kelk-busy-*/_refresh", None).unwrap();
    for name in &names {
        let search = json!({ "size": 10_000, "stored_fields": [], "sort": ["_doc"] }).to_string();
        let path = format!("/{}/_search", index(name));
        let found = clusters[0].request(Method::Post, &path, Some(search.as_bytes())).unwrap().unwrap();
        assert_eq!(found["hits"]["total"]["value"], DOCUMENTS);
        let mut ids: Vec<&str> =
            found["hits"]["hits"].as_array().unwrap().iter().map(|h| h["_id"].as_str().unwrap()).collect();
        ids.sort();
        let mut expected: Vec<String> = (0..DOCUMENTS).map(|i| format!("{name}-{i}")).collect();
        expected.sort();
        assert!(ids == expected, "{}: {} ids found, {} expected, each once", index(name), ids.len(), expected.len());
    }
    eprintln!("{rejected} writes rejected (429), {retries} bulk retries, limits moved: {limits:?}");
}
