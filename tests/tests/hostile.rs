//! Hostile input and hostile plugins. Each case ends in a clear error, or in dead letters with
//! their reasons, never in a panic, a silent skip or a mangled document; and the host goes on:
//! after each case the same loaded plugin (or the same sandbox) parses a good input right.
//!
//! Tests marked `#[ignore = "finding: …"]` assert what should happen and fail today: run
//! them with `-- --ignored` to see each finding.
//!
//! Each test prints the test process's peak resident set (`VmHWM`) after its case. That is
//! the whole process's peak so far, and tests share a process: it is one case's figure only
//! when its test runs alone (`cargo test --release -p kelk-tests --test hostile -- --exact
//! NAME --nocapture`).

use kelk_runtime::pipeline::decode::next_chunk;
use kelk_runtime::pipeline::{self, Counts, Failed, IngestError, Job};
use kelk_runtime::sandbox::{Limits, Plugin, PluginError, Sandbox, SessionError, SourceContext};
use kelk_runtime::sink::{BulkFiles, DeadLetter, DeadLetters, Kept, Sink, SinkError};
use kelk_runtime::source::SourceRef;
use kelk_tests::{APACHE_LINE, flatten, get, gzip, load, object, plugin_wasm, sandbox};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

// -----------------------------------------------------------------------------------------
// One input through the pipeline, and the good input after it.

/// A dead letter as the pipeline handed it over, excerpt included.
#[derive(Debug)]
struct Letter {
    record: u64,
    offset: u64,
    reason: String,
    excerpt: Vec<u8>,
}

#[derive(Default)]
struct Letters(Vec<Letter>);

impl DeadLetters for Letters {
    fn dead_letter(&mut self, l: &DeadLetter<'_>) -> Result<(), SinkError> {
        let letter =
            Letter { record: l.record_number, offset: l.offset, reason: l.reason.into(), excerpt: l.excerpt.into() };
        self.0.push(letter);
        Ok(())
    }
}

/// What one input made: the documents exactly as the sink got them (bytes, so that one that
/// is not JSON shows as it is), and the dead letters.
struct Run {
    result: Result<Counts, Failed>,
    documents: Vec<Kept>,
    letters: Vec<Letter>,
}

impl Run {
    /// The counts of an input that must have gone through, its letters checked.
    fn counts(&self) -> Counts {
        let counts = match &self.result {
            Ok(counts) => *counts,
            Err(failed) => panic!("the input failed: {}", failed.error),
        };
        assert_eq!(counts.documents, self.documents.len() as u64);
        assert_eq!(counts.rejected, self.letters.len() as u64);
        for l in &self.letters {
            assert!(!l.reason.trim().is_empty(), "a dead letter without a reason: {l:?}");
            assert!(l.excerpt.len() <= 256, "record {}: an excerpt of {} bytes", l.record, l.excerpt.len());
        }
        counts
    }

    /// The error of an input that must have failed.
    fn error(&self) -> &IngestError {
        match &self.result {
            Ok(counts) => panic!("the input went through: {counts:?}"),
            Err(failed) => &failed.error,
        }
    }

    fn reasons(&self) -> Vec<(u64, &str)> {
        self.letters.iter().map(|l| (l.record, l.reason.as_str())).collect()
    }
}

/// Runs one input into `sink` (the run's `documents` stay empty).
fn run_into(plugin: &Plugin, key: &str, options: &[(&str, &str)], input: &[u8], sink: &mut dyn Sink) -> Run {
    let options: Vec<(String, String)> = options.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
    let source = SourceRef::Object(object(key));
    let job = Job { options: &options, ..Job::new(&source) };
    let mut letters = Letters::default();
    let result = pipeline::ingest(plugin, &job, input, sink, &mut letters);
    Run { result, documents: Vec::new(), letters: letters.0 }
}

/// Runs one input, keeping its documents.
fn run(plugin: &Plugin, key: &str, options: &[(&str, &str)], input: &[u8]) -> Run {
    let mut documents = Vec::new();
    let run = run_into(plugin, key, options, input, &mut documents);
    Run { documents, ..run }
}

/// A document's JSON; a test failure, not a panic of the host, when it is not JSON.
fn json(doc: &Kept) -> Value {
    serde_json::from_slice(&doc.source).unwrap_or_else(|e| {
        let text = String::from_utf8_lossy(&doc.source[..doc.source.len().min(200)]).into_owned();
        panic!("record {}: not JSON ({e}): {text}", doc.record_number)
    })
}

/// The dotted paths of a document's values.
fn leaves(doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    flatten("", doc, &mut out);
    out.into_iter().map(|(path, _)| path).collect()
}

/// The deepest nesting of objects and arrays in `json` (strings skipped). Without recursion:
/// serde_json gives up on documents past 128 levels.
fn depth(json: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0, false, false);
    for &b in json {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, ..) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'{' | b'[') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, b'}' | b']') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// An ALB access log line (the ELB docs' first example).
const ALB_LINE: &str = r#"http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-""#;

/// A small CloudTrail record.
const TRAIL_RECORD: &str = r#"{"eventVersion":"1.08","eventTime":"2024-05-01T12:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","eventID":"good-event"}"#;

/// The record with event id `id` and `more` (`"key":value,…`) added.
fn trail_record(id: &str, more: &str) -> String {
    let record = TRAIL_RECORD.replace("good-event", id);
    format!("{},{more}}}", &record[..record.len() - 1])
}

/// A CloudTrail log file of `records`.
fn trail(records: &[&str]) -> Vec<u8> {
    format!(r#"{{"Records":[{}]}}"#, records.join(",")).into_bytes()
}

/// A good input of the plugin's format: one line or record.
fn good_input(plugin: &Plugin) -> Vec<u8> {
    match plugin.info.name.as_str() {
        "apache" => APACHE_LINE.into(),
        "alb" => ALB_LINE.into(),
        "cloudtrail" => trail(&[TRAIL_RECORD]),
        "rogue" => b"0123456789".to_vec(),
        other => panic!("no good input for plugin {other}"),
    }
}

/// The plugin, used for a hostile case already, parses a good input to the document it
/// should: nothing of the bad case stayed behind.
fn goes_on(plugin: &Plugin) {
    let next = run(plugin, "next.log", &[], &good_input(plugin));
    let counts = next.counts();
    assert_eq!((counts.documents, counts.rejected, counts.skipped), (1, 0, 0), "{:?}", next.letters);
    let doc = json(&next.documents[0]);
    match plugin.info.name.as_str() {
        "apache" => {
            assert_eq!(get(&doc, "url.original"), "/apache_pb.gif");
            assert_eq!(get(&doc, "http.response.status_code"), 200);
        }
        "alb" => assert_eq!(get(&doc, "url.original"), "http://www.example.com:80/"),
        "cloudtrail" => assert_eq!(get(&doc, "event.id"), "good-event"),
        _ => assert_eq!(doc, serde_json::json!({"bytes": 10})),
    }
}

/// Pushes `input` through a session of its own, chunked as the pipeline does; returns what
/// the calls came to and the plugin's peak linear memory.
fn plugin_peak(plugin: &Plugin, options: &[(&str, &str)], input: &[u8]) -> (Result<(), SessionError>, usize) {
    let ctx = SourceContext {
        bucket: String::new(),
        key: "peak".into(),
        version_id: None,
        log_type: plugin.info.name.clone(),
        options: options.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(),
    };
    let mut session = plugin.session(&ctx, "peak").unwrap();
    let (mut rest, mut buf) = (input, Vec::new());
    loop {
        let chunk = next_chunk(&mut rest, &mut buf).unwrap();
        if chunk.is_empty() {
            break;
        }
        if let Err(e) = session.push(chunk) {
            let peak = session.peak_memory();
            return (Err(e), peak);
        }
    }
    let peak = session.peak_memory();
    (session.finish().map(drop), peak)
}

/// Prints the process's peak resident set after a case (see the module's docs).
fn peak_rss(case: &str) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(hwm) = status.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
        println!("{case}: process VmHWM {}", hwm.trim());
    }
}

/// `text` with each `@@` in it replaced by `bytes`.
fn with_bytes(text: &str, bytes: &[u8]) -> Vec<u8> {
    text.split("@@").map(str::as_bytes).collect::<Vec<_>>().join(bytes)
}

/// Bytes from a fixed-seed xorshift: the same garbage on every run.
fn garbage(len: usize, mut seed: u64) -> Vec<u8> {
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 32) as u8
    };
    (0..len).map(|_| next()).collect()
}

// -----------------------------------------------------------------------------------------
// Hostile input, through the real plugins.

/// An overlong line is rejected as it streams past (the SDK keeps only its excerpt), where it
/// ends at its newline and where the object ends inside it.
#[test]
fn a_10_mb_line_is_rejected_with_a_bounded_excerpt_and_the_lines_after_it_parse() {
    let sandbox = sandbox();
    let apache = load(&sandbox, "kelk-parser-apache");
    let mut long = br#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /"#.to_vec();
    long.resize(10 << 20, b'A');
    let reason = format!("line is {} bytes, over the limit of 1048576 (option max_line_bytes)", 10 << 20);
    let good = APACHE_LINE.as_bytes();

    let input = [good, b"\n", &long, b"\n", good, b"\n", good].concat();
    let r = run(&apache, "long.log", &[], &input);
    let counts = r.counts();
    assert_eq!((counts.documents, counts.rejected, counts.skipped), (3, 1, 0));
    assert_eq!(r.documents.iter().map(|d| d.record_number).collect::<Vec<_>>(), [1, 3, 4]);
    let letter = &r.letters[0];
    assert_eq!((letter.record, letter.offset, letter.reason.as_str()), (2, good.len() as u64 + 1, reason.as_str()));
    assert_eq!(letter.excerpt, long[..256], "the excerpt is the line's first 256 bytes");
    for doc in &r.documents {
        assert_eq!(get(&json(doc), "url.original"), "/apache_pb.gif");
    }

    let r = run(&apache, "tail.log", &[], &[good, b"\n", &long].concat());
    r.counts();
    assert_eq!(r.reasons(), [(2, reason.as_str())], "the object ends inside the line");
    assert_eq!((r.documents.len(), &r.letters[0].excerpt[..]), (1, &long[..256]));

    let (result, peak) = plugin_peak(&apache, &[], &input);
    result.unwrap();
    println!("10 MB line: plugin peak memory {peak} bytes");
    assert!(peak < 8 << 20, "a few chunks' worth, not the line: {peak} bytes");
    goes_on(&apache);
    peak_rss("10 MB line");
}

/// Bytes that are not UTF-8 never reach a document: in a line format the SDK writes U+FFFD
/// for them (lossy, as its docs say); CloudTrail rejects a record whose strings are not UTF-8
/// (they are not JSON), unless the string is one the parser ignores.
#[test]
fn invalid_utf8_in_records_becomes_u_fffd_or_a_rejection() {
    let sandbox = sandbox();
    let apache = load(&sandbox, "kelk-parser-apache");
    let line = b"127.0.0.1 - fr\xffnk [10/Oct/2000:13:55:36 -0700] \"GET /caf\xe9 HTTP/1.0\" 200 2326 \"-\" \"Mozilla\xfe\xc3\"";
    let bad_time = b"127.0.0.1 - - [10/Oct\xff2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 1";
    let r = run(&apache, "utf8.log", &[], &[&line[..], b"\n", bad_time].concat());
    let counts = r.counts();
    assert_eq!((counts.documents, counts.rejected), (1, 1));
    let doc = json(&r.documents[0]);
    assert_eq!(get(&doc, "user.name"), "fr\u{fffd}nk");
    assert_eq!(get(&doc, "url.original"), "/caf\u{fffd}");
    assert_eq!(get(&doc, "user_agent.original"), "Mozilla\u{fffd}\u{fffd}");
    assert_eq!(
        r.reasons(),
        [(2, "`[10/Oct\u{fffd}2000:13:55:36 -0700]` is not a time like [10/Oct/2000:13:55:36 -0700]")]
    );
    assert_eq!(r.letters[0].excerpt, bad_time, "the excerpt keeps the raw bytes");
    goes_on(&apache);

    let alb = load(&sandbox, "kelk-parser-alb");
    let line = with_bytes(&ALB_LINE.replace("curl/7.46.0", "curl/7.46.0\u{1}@@"), b"\xc0\xaf");
    let r = run(&alb, "utf8.log", &[], &line);
    assert_eq!(r.counts().documents, 1);
    assert_eq!(get(&json(&r.documents[0]), "user_agent.original"), "curl/7.46.0\u{1}\u{fffd}\u{fffd}");
    goes_on(&alb);

    let cloudtrail = load(&sandbox, "kelk-parser-cloudtrail");
    let records = [
        trail_record("read-field", r#""userAgent":"cli@@""#),
        trail_record("raw-blob", r#""requestParameters":{"k":"@@"}"#),
        trail_record("ignored-field", r#""somethingNew":"@@""#),
        TRAIL_RECORD.into(),
    ];
    let input = trail(&records.iter().map(String::as_str).collect::<Vec<_>>());
    let r = run(&cloudtrail, "utf8.json", &[], &with_bytes(std::str::from_utf8(&input).unwrap(), b"\xff"));
    let counts = r.counts();
    assert_eq!((counts.documents, counts.rejected), (2, 2), "{:?}", r.letters);
    for (record, reason) in r.reasons() {
        assert!([1, 2].contains(&record) && reason.contains("not valid CloudTrail JSON: invalid unicode"), "{reason}");
    }
    let ids: Vec<Value> = r.documents.iter().map(|d| get(&json(d), "event.id").clone()).collect();
    assert_eq!(ids, ["ignored-field", "good-event"]);
    goes_on(&cloudtrail);
    peak_rss("invalid UTF-8");
}

/// Random bytes: in a line format, every line rejected with a reason and counted; for
/// CloudTrail, the object refused whole; behind a gzip magic, a decode error.
#[test]
fn binary_garbage_is_rejected_line_by_line_or_refused_whole() {
    let sandbox = sandbox();
    let noise = garbage(1 << 20, 0x9e37_79b9_7f4a_7c15);
    let lines = kelk_tests::lines(&noise);
    for (package, reason) in [
        ("kelk-parser-apache", "not an Apache access log line: no [time]"),
        ("kelk-parser-alb", "not an Elastic Load Balancing log line: no ISO 8601 time in the first or second field"),
    ] {
        let plugin = load(&sandbox, package);
        let r = run(&plugin, "noise.log", &[], &noise);
        let counts = r.counts();
        println!("{package}: {counts:?}");
        assert_eq!(counts.documents, 0, "{package} made a document of random bytes");
        assert_eq!(counts.records(), lines, "{package}: every line is accounted for");
        assert!(counts.rejected > lines * 9 / 10, "{package}: {counts:?}");
        assert_eq!(r.letters[0].reason, reason);
        goes_on(&plugin);
    }

    let cloudtrail = load(&sandbox, "kelk-parser-cloudtrail");
    let r = run(&cloudtrail, "noise.json", &[], &noise);
    let message = r.error().to_string();
    assert!(matches!(r.error(), IngestError::Plugin(SessionError::Fatal { .. })), "{message}");
    assert!(message.contains("noise.json") && message.ends_with("at byte 0: not a CloudTrail log file"), "{message}");
    assert!(r.documents.is_empty() && r.letters.is_empty());
    goes_on(&cloudtrail);

    let r = run(&cloudtrail, "noise.json.gz", &[], &[&[0x1f, 0x8b][..], &noise].concat());
    let message = r.error().to_string();
    assert!(matches!(r.error(), IngestError::Decode { .. }), "{message}");
    assert!(message.ends_with("noise.json.gz: the gzip stream is corrupt: invalid gzip header"), "{message}");
    goes_on(&cloudtrail);
    peak_rss("binary garbage");
}

/// Nothing in is nothing out, without an error: an empty object, a gzip of nothing, an empty
/// member around a real one. A gzip that ends inside its header is a truncated gzip.
#[test]
fn empty_objects_and_empty_gzip_members_make_nothing_and_a_bare_gzip_header_is_truncated() {
    let sandbox = sandbox();
    for package in ["kelk-parser-apache", "kelk-parser-alb", "kelk-parser-cloudtrail"] {
        let plugin = load(&sandbox, package);
        for (what, input) in [("an empty object", Vec::new()), ("a gzip of nothing", gzip(b""))] {
            let r = run(&plugin, "empty", &[], &input);
            assert_eq!(r.counts(), Counts { objects: 1, ..Counts::default() }, "{package}: {what}");
        }
        let members = [gzip(b""), gzip(&good_input(&plugin)), gzip(b"")].concat();
        assert_eq!(run(&plugin, "members.gz", &[], &members).counts().documents, 1, "{package}");

        let header = &gzip(b"")[..10];
        for (what, cut) in [("the gzip header only", header), ("the gzip magic only", &header[..2])] {
            let r = run(&plugin, "header.gz", &[], cut);
            let message = r.error().to_string();
            assert!(matches!(r.error(), IngestError::Decode { .. }), "{what}: {message}");
            assert_eq!(
                message,
                "s3://test-bucket/header.gz: the gzip stream is truncated: the object ends inside compressed data"
            );
        }
        goes_on(&plugin);
    }
    peak_rss("empty inputs");
}

fn nested(depth: usize, open: &str, inner: &str, close: &str) -> String {
    [open.repeat(depth), inner.to_owned(), close.repeat(depth)].concat()
}

/// CloudTrail's envelope scanner counts depth instead of recursing, and serde_json skips the
/// values the parser does not read without recursing: 100,000 levels overflow nothing. What
/// the parser reads is typed, so a deep value there is a rejection; a deep `requestParameters`
/// is kept as its JSON text.
#[test]
fn json_nested_100000_deep_in_cloudtrail_is_parsed_or_rejected_without_overflow() {
    let sandbox = sandbox();
    let cloudtrail = load(&sandbox, "kelk-parser-cloudtrail");
    let deep_array = nested(100_000, "[", "1", "]");
    let deep_object = nested(100_000, r#"{"a":"#, "1", "}");
    let records = [
        trail_record("in-request", &format!(r#""requestParameters":{deep_array}"#)),
        trail_record("in-unknown", &format!(r#""somethingNew":{deep_object}"#)),
        trail_record("in-identity", &format!(r#""userIdentity":{deep_object}"#)),
        trail_record("in-resources", &format!(r#""resources":{deep_array}"#)),
        TRAIL_RECORD.into(),
    ];
    let r = run(&cloudtrail, "deep.json", &[], &trail(&records.iter().map(String::as_str).collect::<Vec<_>>()));
    r.counts();
    assert_eq!(
        r.reasons(),
        [(
            4,
            "the record is not valid CloudTrail JSON: invalid type: sequence, expected a string at line 1 column 208"
        )]
    );
    let ids: Vec<Value> = r.documents.iter().map(|d| get(&json(d), "event.id").clone()).collect();
    assert_eq!(ids, ["in-request", "in-unknown", "in-identity", "good-event"]);
    for d in &r.documents {
        assert!(depth(&d.source) <= 4 && leaves(&json(d)).len() < 20, "{}", String::from_utf8_lossy(&d.source));
    }
    let kept = json(&r.documents[0]);
    assert_eq!(get(&kept, "aws.cloudtrail.request_parameters"), deep_array.as_str(), "kept as its text");

    let r = run(&cloudtrail, "bare.json", &[], deep_object.as_bytes());
    r.counts();
    assert_eq!(r.reasons(), [(1, "the record has no eventTime")], "a bare top-level record");
    assert_eq!(r.letters[0].excerpt, deep_object.as_bytes()[..256]);

    let r = run(&cloudtrail, "array.json", &[], deep_array.as_bytes());
    let message = r.error().to_string();
    assert!(matches!(r.error(), IngestError::Plugin(SessionError::Fatal { .. })), "{message}");
    assert!(message.ends_with("unexpected `[` at byte 0: not a CloudTrail log file"), "{message}");
    goes_on(&cloudtrail);
    peak_rss("100,000 deep");
}

/// A `requestParameters` object under 32 KiB is also copied, as an object, into the
/// `flat_object` field `aws.cloudtrail.flattened.request_parameters`, unless it nests deeper
/// than 20 levels. OpenSearch 2.19.6 parses a `flat_object` value recursively: one 1,001 levels
/// deep overflowed a write thread's stack, a fatal error that stopped the node (probed by hand,
/// one `PUT _doc`; this test indexes nothing). 1,001 levels take 6 KB, 5,000 levels 30 KB.
#[test]
fn a_deeply_nested_request_is_not_copied_into_a_flat_object() {
    let sandbox = sandbox();
    let cloudtrail = load(&sandbox, "kelk-parser-cloudtrail");
    for levels in [1_001, 5_000] {
        let deep = nested(levels, r#"{"a":"#, "1", "}");
        let record = trail_record("deep", &format!(r#""requestParameters":{deep}"#));
        let r = run(&cloudtrail, "deep.json", &[], &trail(&[&record]));
        assert_eq!(r.counts().records(), 1);
        for d in &r.documents {
            let nesting = depth(&d.source);
            assert!(nesting <= 100, "{levels} levels: a document {nesting} levels deep, {} bytes", d.source.len());
        }
    }
    goes_on(&cloudtrail);
}

/// The fields of a document are the parser's, not the record's: 100,000 keys in a record, or
/// in its request, add no field to the index's mapping.
#[test]
fn a_cloudtrail_record_with_100000_keys_does_not_grow_the_mapping() {
    let sandbox = sandbox();
    let cloudtrail = load(&sandbox, "kelk-parser-cloudtrail");
    let keys = |n: usize| {
        let mut s = String::new();
        for i in 0..n {
            write!(s, r#"{}"k{i}":{i}"#, if i == 0 { "" } else { "," }).unwrap();
        }
        s
    };
    let (wide, fits) = (keys(100_000), keys(2_000));
    let records = [
        trail_record("top-level", &wide),
        trail_record("in-request", &format!(r#""requestParameters":{{{wide}}}"#)),
        trail_record("in-request-small", &format!(r#""requestParameters":{{{fits}}}"#)),
    ];
    let r = run(&cloudtrail, "wide.json", &[], &trail(&records.iter().map(String::as_str).collect::<Vec<_>>()));
    assert_eq!(r.counts().documents, 3);
    let docs: Vec<Value> = r.documents.iter().map(json).collect();
    for doc in &docs {
        // In name order: serde_json's map order depends on the build's features (`preserve_order`).
        let mut top: Vec<&String> = doc.as_object().unwrap().keys().collect();
        top.sort();
        assert_eq!(top, ["@timestamp", "aws", "cloud", "ecs", "event", "source"]);
        let outside = leaves(doc).into_iter().filter(|p| !p.starts_with("aws.cloudtrail.flattened.")).count();
        assert!(outside < 20, "{outside} fields");
    }
    // The 1.6 MB request is one string; the one under 32 KiB is also one flat_object field.
    assert_eq!(get(&docs[1], "aws.cloudtrail.request_parameters"), format!("{{{wide}}}").as_str());
    assert_eq!(get(&docs[1], "aws.cloudtrail.flattened"), &Value::Null);
    let flattened = get(&docs[2], "aws.cloudtrail.flattened.request_parameters");
    assert_eq!(flattened.as_object().map(|o| o.len()), Some(2_000));
    let mappings: Value = serde_json::from_str(&cloudtrail.description.as_ref().unwrap().mappings).unwrap();
    let path = "/aws/properties/cloudtrail/properties/flattened/properties/request_parameters/type";
    assert_eq!(mappings.pointer(path), Some(&Value::from("flat_object")), "one field, whatever its keys");
    goes_on(&cloudtrail);
    peak_rss("100,000 keys");
}

/// A 50 MB object of one 50 MB record and a small one. Over the record limit (option
/// `max_record_bytes`, 16 MiB by default) the record is rejected as it streams past, and the
/// plugin's memory does not grow with it; with the limit raised past it, the plugin holds it
/// and runs into its memory cap: the object fails with a clear error.
#[test]
fn a_50_mb_cloudtrail_record_is_rejected_unheld_or_stops_at_the_memory_cap() {
    let sandbox = sandbox();
    let cloudtrail = load(&sandbox, "kelk-parser-cloudtrail");
    let huge = |bytes: usize| {
        let head = trail_record("huge", r#""requestParameters":{"blob":""#);
        let head = &head[..head.len() - 1];
        let mut record = String::with_capacity(bytes);
        record.push_str(head);
        record.extend(std::iter::repeat_n('x', bytes - head.len() - 3));
        record.push_str(r#""}}"#);
        assert_eq!(record.len(), bytes);
        trail(&[&record, TRAIL_RECORD])
    };
    let input = huge(50 << 20);
    let r = run(&cloudtrail, "huge.json", &[], &input);
    r.counts();
    assert_eq!(r.reasons(), [(1, "the record is 52428800 bytes, over the limit of option max_record_bytes")]);
    assert_eq!(r.letters[0].excerpt, input[12..12 + 256], "the record's first 256 bytes");
    assert_eq!(get(&json(&r.documents[0]), "event.id"), "good-event", "the record after it");

    let (result, peak) = plugin_peak(&cloudtrail, &[], &input);
    result.unwrap();
    let (_, peak_20) = plugin_peak(&cloudtrail, &[], &huge(20 << 20));
    println!("plugin peak memory: {peak} bytes for a 50 MB record, {peak_20} for a 20 MB one");
    assert!(peak <= peak_20 + (1 << 20), "the plugin's memory grew with the record: {peak_20} to {peak}");
    peak_rss("50 MB record, default limit");

    let r = run(&cloudtrail, "huge.json", &[("max_record_bytes", "67108864")], &input);
    let message = r.error().to_string();
    assert!(matches!(r.error(), IngestError::Plugin(SessionError::MemoryCap { .. })), "{message}");
    assert!(message.contains("huge.json") && message.ends_with("over the cap of 134217728"), "{message}");
    goes_on(&cloudtrail);
    peak_rss("50 MB record, limit raised");
}

// -----------------------------------------------------------------------------------------
// Hostile plugins: tests/plugins/rogue, misbehaving as its `behaviour` option says.

fn rogue(sandbox: &Sandbox) -> Plugin {
    load(sandbox, "kelk-test-plugin-rogue")
}

/// Both stacks of a plugin are bounded: wasm's call stack by wasmtime (`max_wasm_stack`), and
/// the stack Rust keeps in linear memory, which sits below the data, so that running off it
/// is an out-of-bounds access rather than a write over the plugin's own statics.
#[test]
fn a_stack_overflow_is_a_trap_reported_as_a_plugin_error() {
    let sandbox = sandbox();
    let rogue = rogue(&sandbox);
    for (behaviour, trap) in
        [("recurse", "wasm trap: call stack exhausted"), ("recurse-frames", "wasm trap: out of bounds memory access")]
    {
        let r = run(&rogue, "deep.log", &[("behaviour", behaviour)], b"x");
        let message = r.error().to_string();
        println!("{behaviour}: {message}");
        assert!(matches!(r.error(), IngestError::Plugin(SessionError::Trap { .. })), "{message}");
        let expected = format!("plugin rogue on s3://test-bucket/deep.log: the plugin crashed: {trap}");
        assert!(message.starts_with(&expected), "{message}");
        assert!(r.documents.is_empty() && r.letters.is_empty());
        goes_on(&rogue);
    }
    peak_rss("stack overflow");
}

#[test]
fn a_200_mb_document_is_stopped_at_the_memory_cap() {
    let sandbox = sandbox();
    let rogue = rogue(&sandbox);
    let r = run(&rogue, "enormous.log", &[("behaviour", "enormous")], b"x");
    let message = r.error().to_string();
    assert!(matches!(r.error(), IngestError::Plugin(SessionError::MemoryCap { .. })), "{message}");
    assert!(message.starts_with("plugin rogue on s3://test-bucket/enormous.log: the plugin asked for"), "{message}");
    assert!(message.ends_with("bytes of memory, over the cap of 134217728"), "{message}");
    assert!(r.documents.is_empty());
    goes_on(&rogue);
    peak_rss("200 MB document");
}

/// Under the cap a plugin can hand over a document of tens of MB: the host takes it whole
/// (it has no limit of its own on a document; OpenSearch's `http.max_content_length` is the
/// next one, which the bulk sink reports as the document alone being too large).
#[test]
fn a_32_mib_document_under_the_cap_is_handed_on_whole() {
    let sandbox = sandbox();
    let rogue = rogue(&sandbox);
    let bytes = (32 << 20).to_string();
    let r = run(&rogue, "large.log", &[("behaviour", "enormous"), ("bytes", &bytes)], b"x");
    assert_eq!(r.counts().documents, 1);
    let doc = json(&r.documents[0]);
    assert_eq!((r.documents[0].source.len(), doc["x"].as_str().map(str::len)), (32 << 20, Some((32 << 20) - 8)));
    goes_on(&rogue);
    peak_rss("32 MiB document");
}

/// The host checks that a document starts with `{` and ends with `}`, and dead-letters the
/// others with the reason (the batch goes on).
#[test]
fn documents_that_are_not_json_objects_are_dead_lettered() {
    let sandbox = sandbox();
    let rogue = rogue(&sandbox);
    for doc in ["[1,2,3]", "", "\"text\"", "42", "null", " {\"a\":1}", "{\"a\":1} "] {
        let r = run(&rogue, "emit.log", &[("behaviour", "emit"), ("doc", doc)], b"x");
        let counts = r.counts();
        assert_eq!((counts.documents, counts.rejected), (0, 1), "{doc:?}");
        assert_eq!(r.reasons(), [(1, "the plugin produced a document that is not a JSON object")], "{doc:?}");
        assert_eq!(r.letters[0].excerpt, doc.as_bytes());
    }
    goes_on(&rogue);
}

/// The host does not parse documents: text between braces that is not JSON reaches the sink
/// (and OpenSearch, or a `_bulk` file) as a document.
#[test]
#[ignore = "finding: a document that starts with { and ends with } but is not JSON is handed to the sink as a document"]
fn a_document_of_braces_around_invalid_json_is_dead_lettered() {
    let sandbox = sandbox();
    let rogue = rogue(&sandbox);
    for doc in ["{not json}", r#"{"a":1}{"b":2}"#, r#"{"a":"unterminated}"#] {
        let r = run(&rogue, "emit.log", &[("behaviour", "emit"), ("doc", doc)], b"x");
        let sent: Vec<String> = r.documents.iter().map(|d| String::from_utf8_lossy(&d.source).into_owned()).collect();
        assert!(sent.is_empty(), "{doc:?} was handed on as a document: {sent:?}");
        assert_eq!(r.counts().rejected, 1, "{doc:?}");
    }
    goes_on(&rogue);
}

/// A document is one line of a `_bulk` body: a newline inside it (JSON allows one between
/// tokens) would end it there, and let the plugin write the next lines of the body itself:
/// here a `delete` of another plugin's document and an `index` into an index of its choice.
/// The host dead-letters it instead.
#[test]
fn a_document_with_a_newline_cannot_inject_bulk_actions() {
    let sandbox = sandbox();
    let rogue = rogue(&sandbox);
    let doc = [
        r#"{"a":1}"#,
        r#"{"delete":{"_index":"logs-aws.cloudtrail-default-2024.05.01","_id":"good-event"}}"#,
        r#"{"index":{"_index":"logs-chosen-by-the-plugin"}}"#,
        r#"{"b":1}"#,
    ]
    .join("\n");
    let out = tempfile::tempdir().unwrap();
    let mut files = BulkFiles::new(out.path()).unwrap();
    let r = run_into(&rogue, "inject.log", &[("behaviour", "emit"), ("doc", &doc)], b"x", &mut files);
    let counts = *r.result.as_ref().expect("the input goes through");
    assert_eq!(r.reasons(), [(1, "the plugin produced a document with a line break in it")]);
    drop(files);
    let body =
        std::fs::read_to_string(out.path().join("logs-test.rogue-default-1970.01.01.ndjson")).unwrap_or_default();
    let lines: Vec<&str> = body.lines().collect();
    println!("{counts:?}; the _bulk body:\n{body}");
    assert_eq!(lines.len() as u64, 2 * counts.documents, "one action and one source line per document");
    for action in lines.iter().step_by(2) {
        let action: Value = serde_json::from_str(action).unwrap();
        assert!(action.get("create").is_some(), "an action the host did not write: {action}");
    }
    goes_on(&rogue);
}

/// The daily index comes from the event time the plugin gives: one outside the years a daily
/// index can be named by is dead-lettered, not filed under a day it is not (the epoch's, once).
#[test]
fn an_event_time_past_the_calendar_is_not_filed_under_1970() {
    let sandbox = sandbox();
    let rogue = rogue(&sandbox);
    for time_ms in [i64::MAX, i64::MIN] {
        let time = time_ms.to_string();
        let options = [("behaviour", "emit"), ("doc", "{\"a\":1}"), ("time_ms", time.as_str())];
        let r = run(&rogue, "time.log", &options, b"x");
        assert_eq!(r.counts().records(), 1);
        let reason =
            format!("the plugin gave the document an event time ({time_ms} ms) outside the years 0000 to 9999");
        assert_eq!(r.reasons(), [(1, reason.as_str())]);
        for d in &r.documents {
            assert!(!d.index.ends_with("-1970.01.01"), "event time {time_ms} ms filed under {}", d.index);
        }
    }
    goes_on(&rogue);
}

// -----------------------------------------------------------------------------------------
// Hostile components and artifacts.

/// tests/plugins/contract-9-0 exports `kelk:parser/parser@9.0.0`: wasmtime finds exports
/// semver-compatibly, within a major version only.
#[test]
fn a_plugin_of_another_major_contract_is_refused_at_load() {
    let sandbox = sandbox();
    let wasm = std::fs::read(plugin_wasm("kelk-test-plugin-contract-9-0")).unwrap();
    let err = sandbox.load("future.wasm", &wasm).err().expect("a 9.0 plugin is refused");
    assert!(matches!(err, PluginError::Contract { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "plugin future.wasm does not implement the kelk:parser@1.1.0 contract: no exported instance named `kelk:parser/parser@1.1.0`"
    );
    goes_on(&load(&sandbox, "kelk-parser-apache"));
}

/// The one compiled plugin in a cache directory.
fn cached(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    let cwasm: Vec<&PathBuf> = files.iter().filter(|p| p.extension().is_some_and(|e| e == "cwasm")).collect();
    assert_eq!(cwasm.len(), 1, "{files:?}");
    cwasm[0].clone()
}

/// Apache loaded once into a fresh cache directory: the directory, its artifact's path and bytes.
fn apache_cache() -> (tempfile::TempDir, PathBuf, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::new(Limits::default(), Some(dir.path().into())).unwrap();
    goes_on(&sandbox.load_file(&plugin_wasm("kelk-parser-apache")).unwrap());
    let path = cached(dir.path());
    let artifact = std::fs::read(&path).unwrap();
    (dir, path, artifact)
}

/// An artifact that wasmtime's checks refuse (not its format, another version or settings)
/// is compiled again and replaced.
#[test]
fn a_cached_artifact_wasmtime_refuses_is_recompiled_and_replaced() {
    let (dir, path, good) = apache_cache();
    let mut magic = good.clone();
    magic[1] ^= 0xff; // `\x7fELF`
    for (what, bytes) in [
        ("garbage", garbage(good.len(), 7)),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("empty", vec![]),
        ("magic", magic),
    ] {
        std::fs::write(&path, &bytes).unwrap();
        let sandbox = Sandbox::new(Limits::default(), Some(dir.path().into())).unwrap();
        let apache = sandbox.load_file(&plugin_wasm("kelk-parser-apache")).unwrap_or_else(|e| panic!("{what}: {e}"));
        goes_on(&apache);
        assert!(std::fs::read(&path).unwrap() == good, "{what}: the artifact is compiled again, as it was");
    }
    peak_rss("corrupt cached artifact");
}

/// Neither the compile cache nor `load_checked` with an artifact (the plugin store's) checks that
/// an artifact is the component's: the cache file is named by the component's sha256, but
/// what it holds is deserialized unchecked (`unsafe`), so another component's artifact runs
/// under this one's sha256.
#[test]
#[ignore = "finding: the compile cache (the host's own /tmp) and Sandbox::load_checked with an artifact run an artifact of another component in its place; the plugin store checks an artifact's sha256 first (lambda.rs a_precompiled_artifact_is_loaded_only_with_its_sha256)"]
fn a_cached_artifact_of_another_component_is_not_run() {
    let (dir, path, _) = apache_cache();
    let apache_wasm = std::fs::read(plugin_wasm("kelk-parser-apache")).unwrap();
    let uncached = Sandbox::new(Limits::default(), None).unwrap();
    let rogue_artifact = uncached.precompile(&std::fs::read(plugin_wasm("kelk-test-plugin-rogue")).unwrap()).unwrap();
    std::fs::write(&path, &rogue_artifact).unwrap();
    let sandbox = Sandbox::new(Limits::default(), Some(dir.path().into())).unwrap();
    for (how, loaded) in [
        ("from the cache", sandbox.load("apache.wasm", &apache_wasm)),
        ("precompiled", uncached.load_checked("apache.wasm", &apache_wasm, None, Some(&rogue_artifact))),
    ] {
        match loaded {
            Err(e) => println!("{how}: refused: {e}"),
            Ok(plugin) => {
                assert_eq!(
                    plugin.info.name, "apache",
                    "{how}: sha256 {} ran as plugin {}",
                    plugin.sha256, plugin.info.name
                );
                goes_on(&plugin);
            }
        }
    }
}

/// Set in the child processes of `a_byte_flipped_in_a_cached_artifact_is_caught`: the cache
/// directory holding the flipped artifact, and the component's path.
const FLIPPED_CACHE: &str = "KELK_TEST_FLIPPED_CACHE";
const FLIPPED_WASM: &str = "KELK_TEST_FLIPPED_WASM";

/// One byte of the cached artifact flipped, at 64 places, each loaded and run in a child
/// process (this test binary again), since a flip can kill the process. A flip wasmtime's
/// checks do not see (most) is run as it is: it parses right, traps, panics inside wasmtime
/// or kills the host with SIGSEGV, depending on where it is.
#[test]
#[ignore = "finding: a flipped byte in a cached artifact is run unchecked; by where it is, it traps, panics in wasmtime or kills the host (SIGSEGV)"]
fn a_byte_flipped_in_a_cached_artifact_is_caught() {
    const MARK: &str = "flipped artifact:";
    if let (Some(dir), Some(wasm)) = (std::env::var_os(FLIPPED_CACHE), std::env::var_os(FLIPPED_WASM)) {
        let sandbox = Sandbox::new(Limits::default(), Some(dir.into())).unwrap();
        match sandbox.load_file(Path::new(&wasm)) {
            Err(e @ PluginError::Info { .. }) => println!("{MARK} crashed at load: {e}"),
            Err(e) => println!("{MARK} refused: {e}"),
            Ok(apache) => {
                goes_on(&apache);
                println!("{MARK} parsed");
            }
        }
        return;
    }
    let (_clean, path, good) = apache_cache();
    let (name, wasm) = (path.file_name().unwrap(), plugin_wasm("kelk-parser-apache"));
    let mut outcomes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for i in 0..64 {
        let at = i * good.len() / 64;
        let dir = tempfile::tempdir().unwrap();
        let mut flipped = good.clone();
        flipped[at] ^= 0x55;
        std::fs::write(dir.path().join(name), &flipped).unwrap();
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "a_byte_flipped_in_a_cached_artifact_is_caught", "--ignored", "--nocapture"])
            .env(FLIPPED_CACHE, dir.path())
            .env(FLIPPED_WASM, &wasm)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&child.stdout);
        let stderr = String::from_utf8_lossy(&child.stderr);
        let recompiled = std::fs::read(dir.path().join(name)).unwrap() == good;
        let outcome = match stdout.lines().find_map(|l| l.strip_prefix(MARK)) {
            Some(said) if said.starts_with(" refused") => "refused".to_owned(),
            Some(said) if said.starts_with(" crashed at load") => format!("run unchecked:{said}"),
            Some(" parsed") if recompiled => "recompiled".to_owned(),
            Some(" parsed") => "run unchecked: parsed right".to_owned(),
            _ if child.status.code().is_none() => format!("run unchecked: the process died ({})", child.status),
            _ => {
                let panic = stderr.lines().chain(stdout.lines()).find(|l| l.contains("panicked")).unwrap_or("");
                let said = stderr.lines().chain(stdout.lines()).skip_while(|l| !l.contains("panicked")).nth(1);
                format!("run unchecked: {panic} {}", said.unwrap_or("").chars().take(160).collect::<String>())
            }
        };
        outcomes.entry(outcome).or_default().push(at);
    }
    for (outcome, offsets) in &outcomes {
        println!("{} flips: {outcome} (at {offsets:?})", offsets.len());
    }
    let unchecked: usize =
        outcomes.iter().filter(|(o, _)| o.starts_with("run unchecked")).map(|(_, offsets)| offsets.len()).sum();
    assert_eq!(unchecked, 0, "{unchecked} of 64 tampered artifacts were run");
}
