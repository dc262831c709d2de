//! End to end, against real servers: the host binary (`kelk-lambda`) driven by the AWS Lambda
//! Runtime Interface Emulator, reading objects and plugins from an S3 server (moto), indexing
//! into OpenSearch and dead-lettering into S3. `make test` starts the servers and sets
//! `KELK_TEST_S3`, `KELK_TEST_OPENSEARCH`, `KELK_TEST_LAMBDA_EMULATOR` and the AWS_* settings
//! the S3 client reads.

use base64::Engine;
use kelk_runtime::aws::s3::{Precondition, S3, S3Uri};
use kelk_runtime::opensearch::{Auth, Cluster};
use kelk_tests::emulator::Emulator;
use kelk_tests::{
    APACHE_LINE, field_type, firehose_event, firehose_results, gzip, index_count, parse_file, plugin_wasm, workspace,
};
use opensearch::http::Method;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run `make test`, which starts the servers"))
}

fn s3() -> S3 {
    env("KELK_TEST_S3");
    S3::new(&kelk_tests::aws())
}

fn cluster() -> Cluster {
    Cluster::connect(&env("KELK_TEST_OPENSEARCH"), Auth::None, &kelk_tests::aws()).unwrap()
}

fn uri(bucket: &str, key: &str) -> S3Uri {
    S3Uri { bucket: bucket.into(), key: key.into() }
}

/// Creates a bucket (the S3 server keeps no state between runs of `make test`; within one, an
/// existing bucket is fine).
fn bucket(name: &str) {
    let url = format!("{}/{name}", env("KELK_TEST_S3"));
    let status = Command::new("curl").args(["-fsS", "-o", "/dev/null", "-X", "PUT", &url]).status().unwrap();
    assert!(status.success(), "cannot create bucket {name}");
}

fn put(s3: &S3, bucket: &str, key: &str, body: Vec<u8>) {
    s3.put(&uri(bucket, key), body, "application/octet-stream", Precondition::None).unwrap();
}

fn sample(path: &str) -> PathBuf {
    workspace().join("parsers").join(path)
}

/// A plugin component with a custom section appended: the same parser under a new sha256, as
/// a new build of it would be.
fn new_build(wasm: &[u8], label: &str) -> Vec<u8> {
    let name = b"kelk-test-build";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.extend_from_slice(label.as_bytes());
    let mut out = wasm.to_vec();
    out.push(0);
    out.push(payload.len() as u8);
    out.extend(payload);
    out
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// The ETag S3 would put in an event for the object now under `key`, without its quotes
/// (any, for an object that is not there).
fn etag(bucket: &str, key: &str) -> String {
    let etag = s3().etag(&uri(bucket, key)).ok().flatten();
    etag.map_or_else(|| "d41d8cd98f00b204e9800998ecf8427e".into(), |e| e.trim_matches('"').to_owned())
}

/// An S3 notification's record of the object now under a key (encoded as S3 encodes it).
fn s3_record(bucket: &str, encoded_key: &str) -> Value {
    let key = percent_encoding::percent_decode_str(&encoded_key.replace('+', " ")).decode_utf8().unwrap().into_owned();
    json!({
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2025-03-02T10:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": { "principalId": "AWS:AIDAEXAMPLE" },
        "requestParameters": { "sourceIPAddress": "203.0.113.1" },
        "responseElements": { "x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD" },
        "s3": {
            "s3SchemaVersion": "1.0", "configurationId": "kelk",
            "bucket": { "name": bucket, "ownerIdentity": { "principalId": "A3NL1KOZZKExample" }, "arn": format!("arn:aws:s3:::{bucket}") },
            "object": { "key": encoded_key, "size": 1024, "eTag": etag(bucket, &key), "sequencer": "0055AED6DCD90281E5" },
        }
    })
}

fn sqs_message(id: &str, body: &str) -> Value {
    json!({
        "messageId": id, "receiptHandle": "MessageReceiptHandle", "body": body,
        "attributes": { "ApproximateReceiveCount": "1", "SentTimestamp": "1523232000000", "SenderId": "123456789012", "ApproximateFirstReceiveTimestamp": "1523232000001" },
        "messageAttributes": {}, "md5OfBody": "7b270e59b47ff90a553787216d55d91d",
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:kelk-objects", "awsRegion": "us-east-1"
    })
}

/// An EventBridge "Object Created" event of the object now under `key`.
fn eventbridge(bucket: &str, key: &str) -> Value {
    json!({
        "version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
        "source": "aws.s3", "account": "123456789012", "time": "2025-03-02T10:00:00Z", "region": "us-east-1",
        "resources": [format!("arn:aws:s3:::{bucket}")],
        "detail": { "version": "0", "bucket": { "name": bucket },
                    "object": { "key": key, "size": 5, "etag": etag(bucket, key), "sequencer": "00617F08299329D189" },
                    "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012", "reason": "PutObject" }
    })
}

/// Every dead letter under a prefix.
fn dead_letters(s3: &S3, prefix: &S3Uri) -> Vec<Value> {
    s3.list(prefix)
        .unwrap()
        .iter()
        .flat_map(|listed| {
            let bytes = s3.get(&uri(&prefix.bucket, &listed.key)).unwrap().bytes;
            String::from_utf8(bytes).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect::<Vec<Value>>()
        })
        .collect()
}

/// The S3 settings every emulated host gets.
fn s3_settings<'a>(routing: &'a str, dead_letters: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("KELK_ROUTING_CONFIG", routing), ("KELK_DEAD_LETTERS", dead_letters)]
}

#[test]
fn s3_sqs_and_eventbridge_events_index_every_line_once() {
    let (s3, cluster) = (s3(), cluster());
    for b in ["e2e-plugins", "e2e-logs", "e2e-dead"] {
        bucket(b);
    }
    cluster.request(Method::Delete, "/logs-*-e2e-*", None).unwrap();

    // The plugin store: four plugins and the routes to them.
    let formats = [
        (
            "alb",
            "alb/samples/aws-docs-examples.log",
            "logs-aws.elb_logs-e2e",
            "alb/AWSLogs/123456789012/elasticloadbalancing/us-east-1/2025/03/02/examples.log.gz",
        ),
        (
            "cloudfront",
            "cloudfront/samples/edge-cases.log",
            "logs-aws.cloudfront_logs-e2e",
            "cloudfront/E2EXAMPLE.2025-03-02-10.edge cases+1.gz",
        ),
        (
            "cloudtrail",
            "cloudtrail/samples/edge-cases.json",
            "logs-aws.cloudtrail-e2e",
            "cloudtrail/AWSLogs/123456789012/CloudTrail/us-east-1/2025/03/02/trail.json.gz",
        ),
        (
            "apache",
            "apache/samples/elastic-beats-filebeat-apache-access-test.log",
            "logs-apache.access-e2e",
            "apache/web-1/access.log",
        ),
    ];
    let mut plugins = serde_json::Map::new();
    let mut routes = Vec::new();
    for (name, _, index_prefix, key) in formats {
        let wasm = std::fs::read(plugin_wasm(&format!("kelk-parser-{name}"))).unwrap();
        let sha = sha256(&wasm);
        let plugin_key = format!("plugins/{name}/{sha}.wasm");
        put(&s3, "e2e-plugins", &plugin_key, wasm);
        plugins.insert(name.into(), json!({ "key": plugin_key, "sha256": sha }));
        let glob = format!("{}/*", key.split('/').next().unwrap());
        routes.push(json!({ "bucket": "e2e-logs", "key_glob": glob, "plugin": name, "index_prefix": index_prefix }));
    }
    let config = json!({ "version": 1, "plugins": plugins, "routes": routes });
    put(&s3, "e2e-plugins", "routing.json", config.to_string().into_bytes());

    // The objects (two of them gzipped), and what the plugins make of them.
    let mut expected = Vec::new();
    for (name, path, index_prefix, key) in formats {
        let raw = std::fs::read(sample(path)).unwrap();
        put(&s3, "e2e-logs", key, if key.ends_with(".gz") { gzip(&raw) } else { raw });
        let (counts, _) = parse_file(&format!("kelk-parser-{name}"), &sample(path));
        expected.push((index_prefix, counts));
    }

    let host = Emulator::start("e2e", &s3_settings("s3://e2e-plugins/routing.json", "s3://e2e-dead/dead-letters/"));
    let setup = host.invoke(&json!({ "action": "setup" })).unwrap();
    assert!(setup["done"].to_string().contains("_index_template/kelk-logs-aws.elb_logs-"), "{setup}");

    // S3 notification with two records (the key form-encoded, as S3 sends it).
    let notification = json!({ "Records": [
        s3_record("e2e-logs", formats[0].3),
        s3_record("e2e-logs", "cloudfront/E2EXAMPLE.2025-03-02-10.edge+cases%2B1.gz"),
    ]});
    // SQS: one message with a notification, one that is not one.
    let sqs = json!({ "Records": [
        sqs_message("m-trail", &json!({ "Records": [s3_record("e2e-logs", formats[2].3)] }).to_string()),
        sqs_message("m-broken", "this is not an S3 notification"),
    ]});
    let bridge = eventbridge("e2e-logs", formats[3].3);

    for round in 0..2 {
        let answer = host.invoke(&notification).unwrap_or_else(|e| panic!("{e}\n{}", host.log()));
        assert_eq!(answer["objects"], 2, "{answer}");
        let answer = host.invoke(&sqs).unwrap();
        assert_eq!(answer, json!({ "batchItemFailures": [{ "itemIdentifier": "m-broken" }] }), "round {round}");
        host.invoke(&bridge).unwrap_or_else(|e| panic!("{e}\n{}", host.log()));

        // Every line is a document or a dead letter; processing again adds nothing.
        let mut rejected = 0;
        for (index_prefix, counts) in &expected {
            assert_eq!(
                index_count(&cluster, &format!("{index_prefix}-*")),
                counts.documents,
                "{index_prefix}, round {round}"
            );
            rejected += counts.rejected;
        }
        let letters = dead_letters(&s3, &uri("e2e-dead", "dead-letters/"));
        assert_eq!(letters.len() as u64, rejected, "round {round}: {letters:?}");
        assert!(
            letters
                .iter()
                .all(|l| l["reason"].as_str().is_some_and(|r| !r.is_empty()) && l["object"]["key"].is_string())
        );
    }
    assert!(expected.iter().all(|(_, c)| c.documents > 0));

    assert_eq!(field_type(&cluster, "logs-aws.elb_logs-e2e-*", "source.ip"), "ip");
    assert_eq!(field_type(&cluster, "logs-aws.elb_logs-e2e-*", "@timestamp"), "date");
    assert_eq!(field_type(&cluster, "logs-apache.access-e2e-*", "source.address"), "keyword");
    assert_eq!(field_type(&cluster, "logs-aws.cloudtrail-e2e-*", "event.action"), "keyword");
    // CloudTrail's free-form blocks: a string, and an object searchable by dotted path.
    let blob = "aws.cloudtrail.flattened.request_parameters";
    assert_eq!(field_type(&cluster, "logs-aws.cloudtrail-e2e-*", blob), "flat_object");
    let query = json!({ "query": { "term": { format!("{blob}.roleArn"): "arn:aws:iam::111122223333:role/SAMLTestRoleShibboleth" } } });
    let found = cluster
        .request(Method::Post, "/logs-aws.cloudtrail-e2e-*/_count", Some(query.to_string().as_bytes()))
        .unwrap()
        .unwrap();
    assert_eq!(found["count"], 1, "{found}");

    // The metrics line of each invocation.
    let log = host.log();
    let emf: Vec<Value> =
        log.lines().filter(|l| l.contains("\"CloudWatchMetrics\"")).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(emf.len() >= 7, "{log}");
    assert!(emf.iter().any(|m| m["Objects"] == 2 && m["Documents"].as_u64() > Some(0)), "{emf:?}");
}

#[test]
fn a_firehose_batch_gets_a_result_per_record_the_same_on_a_retry() {
    let s3 = s3();
    for b in ["firehose-plugins", "firehose-dead"] {
        bucket(b);
    }
    let wasm = std::fs::read(plugin_wasm("kelk-parser-apache")).unwrap();
    let sha = sha256(&wasm);
    put(&s3, "firehose-plugins", "plugins/apache.wasm", wasm);
    let config =
        json!({ "version": 1, "plugins": { "apache": { "key": "plugins/apache.wasm", "sha256": sha } }, "routes": [] });
    put(&s3, "firehose-plugins", "routing.json", config.to_string().into_bytes());

    let records = [
        ("good", format!("{APACHE_LINE}\n")),
        ("bad", "not an access log line\n".to_owned()),
        ("blank", "\n".to_owned()),
        ("two-lines", format!("{APACHE_LINE}\n{APACHE_LINE}\n")),
    ];

    let host = Emulator::start(
        "firehose",
        &s3_settings("s3://firehose-plugins/routing.json", "s3://firehose-dead/dead-letters/"),
    );
    let answer = host.invoke(&firehose_event(&records)).unwrap_or_else(|e| panic!("{e}\n{}", host.log()));
    assert_eq!(
        firehose_results(&answer),
        [("good", "Ok"), ("bad", "ProcessingFailed"), ("blank", "Dropped"), ("two-lines", "ProcessingFailed")]
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    let document: Value =
        serde_json::from_slice(&b64.decode(answer["records"][0]["data"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(document["source"]["ip"], "127.0.0.1");
    assert_eq!(document["http"]["response"]["status_code"], 200);
    // Firehose retries a whole batch after an invocation error or timeout (and then keeps what
    // still failed): the retry's answer is the same, byte for byte, so the destination gets the
    // same documents whichever attempt it takes.
    let retry = host.invoke(&firehose_event(&records)).unwrap_or_else(|e| panic!("{e}\n{}", host.log()));
    assert_eq!(retry, answer, "a retried batch gets the same answer");
}

#[test]
fn a_published_plugin_version_goes_live_without_a_restart_and_a_wrong_sha256_is_refused() {
    let s3 = s3();
    for b in ["flip-plugins", "flip-logs", "flip-dead"] {
        bucket(b);
    }
    let settings = [
        ("KELK_ROUTING_CONFIG", "s3://flip-plugins/routing.json"),
        ("KELK_DEAD_LETTERS", "s3://flip-dead/dead-letters/"),
        ("KELK_ROUTING_CHECK_SECONDS", "0"),
    ];
    let publish = |wasm: &[u8], extra: &[&str]| {
        let path = workspace().join(format!("target/lambda-logs/apache-{}.wasm", &sha256(wasm)[..12]));
        std::fs::write(&path, wasm).unwrap();
        let out = Command::new(workspace().join("target/release/kelk-plugin"))
            .args(["publish", "--config", "s3://flip-plugins/routing.json", "--name", "apache"])
            .args(extra)
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    let v1 = std::fs::read(plugin_wasm("kelk-parser-apache")).unwrap();
    let v2 = new_build(&v1, "2");
    std::fs::create_dir_all(workspace().join("target/lambda-logs")).unwrap();

    // v1 published with a route to it (which creates the config).
    publish(&v1, &["--route", "s3://flip-logs/app/*"]);
    let config = uri("flip-plugins", "routing.json");

    // Each object has one bad line: its dead letter names the plugin version that parsed it.
    let parsed_by = |host: &Emulator, key: &str| -> String {
        put(&s3, "flip-logs", key, b"not an access log line\n".to_vec());
        host.invoke(&eventbridge("flip-logs", key)).unwrap_or_else(|e| panic!("{e}\n{}", host.log()));
        let letters = dead_letters(&s3, &uri("flip-dead", &format!("dead-letters/flip-logs/{key}/")));
        assert_eq!(letters.len(), 1, "{letters:?}");
        letters[0]["plugin_sha256"].as_str().unwrap().to_owned()
    };
    let host = Emulator::start("flip", &settings);
    assert_eq!(parsed_by(&host, "app/1.log"), sha256(&v1));

    publish(&v2, &["--route", "s3://flip-logs/app/*"]);
    let mut routing: Value = serde_json::from_slice(&s3.get(&config).unwrap().bytes).unwrap();
    assert_eq!(routing["routes"].as_array().unwrap().len(), 1, "a route given again is not added twice");
    assert_eq!(parsed_by(&host, "app/2.log"), sha256(&v2), "the running host uses the new version");

    // A config whose plugin is not what its sha256 says: refused, the last good one goes on.
    let v3 = new_build(&v1, "3");
    put(&s3, "flip-plugins", "plugins/apache/v3.wasm", v3);
    routing["plugins"]["apache"] = json!({ "key": "plugins/apache/v3.wasm", "sha256": "0".repeat(64) });
    put(&s3, "flip-plugins", "routing.json", routing.to_string().into_bytes());
    assert_eq!(parsed_by(&host, "app/3.log"), sha256(&v2));
    let log = host.log();
    assert!(log.contains("routing config refused") && log.contains("expects 0000"), "{log}");
    assert!(log.contains("\"RoutingConfigRefused\":1"), "{log}");

    // A host starting with that config has nothing to route with: the invocation fails.
    let cold = Emulator::start("flip-cold", &settings);
    put(&s3, "flip-logs", "app/4.log", b"x\n".to_vec());
    let error = cold.invoke(&eventbridge("flip-logs", "app/4.log")).unwrap_err();
    assert!(error["errorMessage"].as_str().unwrap().contains("sha256"), "{error}");
}

#[test]
fn kelk_ingest_takes_s3_uris_and_prefixes() {
    let (s3, cluster) = (s3(), cluster());
    bucket("cli-logs");
    cluster.request(Method::Delete, "/logs-apache.access-cli-*", None).unwrap();
    let path = sample("apache/samples/elastic-beats-filebeat-apache-access-test.log");
    let raw = std::fs::read(&path).unwrap();
    put(&s3, "cli-logs", "web/a.log", raw.clone());
    put(&s3, "cli-logs", "web/b.log.gz", gzip(&raw));
    put(&s3, "cli-logs", "other/c.log", raw);
    let (counts, _) = parse_file("kelk-parser-apache", &path);

    let out = tempfile::tempdir().unwrap();
    let kelk = |inputs: &[&str]| {
        Command::new(workspace().join("target/release/kelk"))
            .args(["ingest", "--plugin"])
            .arg(plugin_wasm("kelk-parser-apache"))
            .args(["--index-prefix", "logs-apache.access-cli", "--opensearch", &env("KELK_TEST_OPENSEARCH"), "--out"])
            .arg(out.path())
            .args(inputs)
            .output()
            .unwrap()
    };
    let run = kelk(&["s3://cli-logs/web/", "s3://cli-logs/other/c.log"]);
    let summary = String::from_utf8_lossy(&run.stderr);
    assert!(summary.contains(&format!("from 3 file(s): {} documents", 3 * counts.documents)), "{summary}");
    // The three objects are three sources: their documents have ids of their own.
    assert_eq!(index_count(&cluster, "logs-apache.access-cli-*"), 3 * counts.documents);

    let missing = kelk(&["s3://cli-logs/web/nothing.log"]);
    assert_eq!(missing.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("s3://cli-logs/web/nothing.log: no such object"));
}

#[test]
fn work_past_the_deadline_is_failed_for_a_retry() {
    let s3 = s3();
    for b in ["deadline-plugins", "deadline-logs", "deadline-dead"] {
        bucket(b);
    }
    let wasm = std::fs::read(plugin_wasm("kelk-parser-apache")).unwrap();
    put(&s3, "deadline-plugins", "plugins/apache.wasm", wasm);
    let routes = json!([{ "bucket": "deadline-logs", "key_glob": "*", "plugin": "apache" }]);
    let config = json!({ "version": 1, "plugins": { "apache": { "key": "plugins/apache.wasm" } }, "routes": routes });
    put(&s3, "deadline-plugins", "routing.json", config.to_string().into_bytes());
    put(
        &s3,
        "deadline-logs",
        "access.log",
        std::fs::read(sample("apache/samples/elastic-beats-filebeat-apache-access-test.log")).unwrap(),
    );

    // A margin longer than the invocation's 120 s: the deadline to stop by has passed at once.
    let mut settings = s3_settings("s3://deadline-plugins/routing.json", "s3://deadline-dead/dead-letters/");
    settings.push(("KELK_DEADLINE_MARGIN_MS", "200000"));
    let host = Emulator::start("deadline", &settings);
    let error = host.invoke(&eventbridge("deadline-logs", "access.log")).unwrap_err();
    assert!(error["errorMessage"].as_str().unwrap().contains("stopped before the deadline"), "{error}");
    let sqs = json!({ "Records": [sqs_message("m-late", &json!({ "Records": [s3_record("deadline-logs", "access.log")] }).to_string())] });
    assert_eq!(host.invoke(&sqs).unwrap(), json!({ "batchItemFailures": [{ "itemIdentifier": "m-late" }] }));
}

/// The S3 dead-letter store, as attempts at one object meet it, in one warm instance or in
/// several: each rejected line's letter is written once, whichever attempts fail, finish or
/// resume, in whatever order; and a checkpoint is found again only with the plugin that made it.
#[test]
fn dead_letters_are_written_once_by_attempts_that_fail_resume_or_overlap() {
    use kelk_runtime::aws::dead_letters::S3DeadLetters;
    use kelk_runtime::sink::{Checkpoint, DeadLetter, DeadLetters, Origin};
    use kelk_runtime::source::{ObjectRef, SourceRef};

    bucket("warm-dead");
    let s3 = s3();
    let store = || S3DeadLetters::new(s3.clone(), uri("warm-dead", "dead-letters/"));
    let source =
        SourceRef::Object(ObjectRef { bucket: "logs".into(), key: "failed.log".into(), ..ObjectRef::default() });
    let origin = Origin { source: &source, plugin: "alb", plugin_sha256: "0" };
    let letters = |store: &mut S3DeadLetters, records: std::ops::RangeInclusive<u64>| {
        for record_number in records {
            let letter = DeadLetter { reason: "not a line", origin, record_number, offset: 0, excerpt: b"x" };
            store.dead_letter(&letter).unwrap();
        }
    };
    let written = || -> Vec<u64> {
        let mut records: Vec<u64> = dead_letters(&s3, &uri("warm-dead", "dead-letters/logs/failed.log/null/part-"))
            .iter()
            .map(|l| l["record_number"].as_u64().unwrap())
            .collect();
        records.sort();
        records
    };
    let at = Checkpoint { bytes: 131_072, records: 3 };

    // The first attempt takes a checkpoint after record 3, then fails (OpenSearch went away):
    // the letters up to the checkpoint are written, the rest are the retry's.
    let mut first = store();
    first.begin(origin, Checkpoint::default()).unwrap();
    letters(&mut first, 1..=3);
    first.checkpoint(at).unwrap();
    letters(&mut first, 4..=5);
    first.abandon().unwrap();
    assert_eq!(written(), [1, 2, 3]);
    assert_eq!(first.progress(&source, "0").unwrap(), Some(at));
    assert_eq!(first.progress(&source, "another plugin").unwrap(), None, "its records may be others");

    // The retry, in the same warm instance, resumes there and carries nothing of the failed attempt.
    first.begin(origin, at).unwrap();
    letters(&mut first, 4..=5);
    first.end().unwrap();
    assert_eq!(written(), [1, 2, 3, 4, 5]);

    // A late attempt of another instance, from the start, fails part-way: it takes nothing of
    // the complete set away. Another completes from the start: it writes the same parts.
    let mut late = store();
    late.begin(origin, Checkpoint::default()).unwrap();
    letters(&mut late, 1..=2);
    late.abandon().unwrap();
    assert_eq!(written(), [1, 2, 3, 4, 5]);
    late.begin(origin, Checkpoint::default()).unwrap();
    letters(&mut late, 1..=3);
    late.checkpoint(at).unwrap();
    letters(&mut late, 4..=5);
    late.end().unwrap();
    assert_eq!(written(), [1, 2, 3, 4, 5], "each rejected line once");
}

/// The plugin model end to end: a parser made by `kelk-plugin new` outside the workspace, with
/// fields of its own (`ip` and `long`), published while a host runs, is searchable as its
/// mappings say with no change to the host; its dashboard fits those mappings; a second version
/// with one more field maps the next daily index; the older version published again does not
/// take the mappings back; and mappings the cluster refuses leave the last good config in use.
#[test]
fn a_new_format_ships_as_one_plugin_with_its_mappings_and_dashboard() {
    let s3 = s3();
    let cluster = cluster();
    // Buckets of this run's own; the indices and templates an earlier run left, removed.
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let (plugins, logs, dead) = (format!("ship-plugins-{run}"), format!("ship-logs-{run}"), format!("ship-dead-{run}"));
    for b in [&plugins, &logs, &dead] {
        bucket(b);
    }
    let config = format!("s3://{plugins}/routing.json");
    let route = format!("s3://{logs}/edge/*");
    cluster.request(Method::Delete, "/logs-edge.access-default-*", None).unwrap();
    cluster.request(Method::Delete, "/_index_template/kelk-logs-edge.access-default-*", None).unwrap();
    let tool = |name: &str, args: &[&str]| -> String {
        let out = Command::new(workspace().join("target/release").join(name))
            .args(args)
            .env("CARGO_TARGET_DIR", workspace().join("target/plugins"))
            .env("KELK_CACHE_DIR", workspace().join("target/plugins/cache"))
            .output()
            .unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{name} {args:?}: {stdout}{stderr}");
        format!("{stdout}{stderr}")
    };
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("edge");
    let sdk = workspace().join("parsers/sdk");
    tool("kelk-plugin", &["new", "edge", "--dir", crate_dir.to_str().unwrap(), "--sdk", sdk.to_str().unwrap()]);
    let build = || -> String {
        let out = tool("kelk-plugin", &["build", crate_dir.to_str().unwrap()]);
        let wasm = out.lines().find(|l| l.ends_with(".wasm")).unwrap().to_owned();
        let kept = dir.path().join(format!("edge-{}.wasm", &sha256(&std::fs::read(&wasm).unwrap())[..12]));
        std::fs::copy(&wasm, &kept).unwrap();
        kept.display().to_string()
    };
    let publish = |wasm: &str| {
        tool("kelk-plugin", &["publish", "--config", &config, "--route", &route, wasm]);
    };
    let edit = |path: &str, from: &str, to: &str| {
        let path = crate_dir.join(path);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{from} in {}", path.display());
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    let ingest = |host: &Emulator, key: &str, day: &str| {
        let lines = format!(
            "{day}T12:00:00Z INFO 10.0.0.1 GET /a 200 10.0.5.7 2\n{day}T12:00:01Z INFO 10.0.0.2 GET /b 503 - -\n"
        );
        put(&s3, &logs, key, lines.into_bytes());
        host.invoke(&eventbridge(&logs, key)).unwrap_or_else(|e| panic!("{e}\n{}", host.log()));
    };
    let templates = || -> Vec<String> {
        let found = cluster.request(Method::Get, "/_index_template/kelk-logs-edge.access-default-*", None).unwrap();
        let mut names: Vec<String> = found.unwrap_or_default()["index_templates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };

    // The host runs before the plugin exists.
    let dead_letters = format!("s3://{dead}/dead-letters/");
    let settings = [
        ("KELK_ROUTING_CONFIG", config.as_str()),
        ("KELK_DEAD_LETTERS", dead_letters.as_str()),
        ("KELK_ROUTING_CHECK_SECONDS", "0"),
    ];
    let host = Emulator::start("ship", &settings);
    let v1 = build();
    publish(&v1);
    ingest(&host, "edge/1.log", "2024-05-01");
    let day1 = "logs-edge.access-default-2024.05.01";
    assert_eq!(index_count(&cluster, day1), 2);
    assert_eq!(field_type(&cluster, day1, "edge.upstream.ip"), "ip");
    assert_eq!(field_type(&cluster, day1, "edge.upstream.attempts"), "long");
    assert_eq!(field_type(&cluster, day1, "source.ip"), "ip", "the shared ECS mappings under the plugin's");
    assert_eq!(templates(), ["kelk-logs-edge.access-default-0.1.0"]);

    // Its dashboard, from the plugin alone, aggregates on fields mapped as the index has them.
    let objects = dir.path().join("dashboards.ndjson");
    tool("kelk", &["setup", "--plugin", &v1, "--dashboards", objects.to_str().unwrap()]);
    let objects: Vec<Value> =
        std::fs::read_to_string(&objects).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let pattern = objects.iter().find(|o| o["type"] == "index-pattern").unwrap();
    assert_eq!(pattern["attributes"]["title"], "logs-edge.access-default-*");
    assert_eq!(objects.iter().filter(|o| o["type"] == "dashboard").count(), 1);
    let mut fields: Vec<String> = objects
        .iter()
        .filter(|o| o["type"] == "visualization")
        .map(|o| {
            let state: Value = serde_json::from_str(o["attributes"]["visState"].as_str().unwrap()).unwrap();
            state["aggs"][1]["params"]["field"].as_str().unwrap().to_owned()
        })
        .collect();
    fields.sort();
    assert_eq!(fields, ["@timestamp", "edge.upstream.ip", "http.response.status_code", "url.path"]);
    for field in &fields {
        let kind = field_type(&cluster, day1, field);
        assert!(["date", "ip", "long", "keyword"].contains(&kind.as_str()), "{field} is {kind}");
    }

    // Version 0.2.0 adds a field: the next daily index maps it, the old one stays as it was.
    edit("Cargo.toml", "version = \"0.1.0\"", "version = \"0.2.0\"");
    edit(
        "src/lib.rs",
        "backend.opt_str(\"ip\", upstream);",
        "backend.opt_str(\"ip\", upstream).str(\"zone\", b\"z1\");",
    );
    edit(
        "mappings.json",
        "\"attempts\": { \"type\": \"long\" }",
        "\"attempts\": { \"type\": \"long\" },\n      \"zone\": { \"type\": \"keyword\" }",
    );
    let v2 = build();
    publish(&v2);
    ingest(&host, "edge/2.log", "2024-05-02");
    assert_eq!(field_type(&cluster, "logs-edge.access-default-2024.05.02", "edge.upstream.zone"), "keyword");
    assert_eq!(templates(), ["kelk-logs-edge.access-default-0.2.0"], "the older template is gone");

    // Version 0.1.0 published again parses, but the newer mappings stay in charge.
    publish(&v1);
    ingest(&host, "edge/3.log", "2024-05-03");
    assert_eq!(index_count(&cluster, "logs-edge.access-default-2024.05.03"), 2);
    assert_eq!(templates(), ["kelk-logs-edge.access-default-0.2.0"]);
    // A host starting afresh on that config finds the newer template and leaves it.
    let cold = Emulator::start("ship-cold", &settings);
    ingest(&cold, "edge/3b.log", "2024-05-03");
    assert_eq!(templates(), ["kelk-logs-edge.access-default-0.2.0"]);
    assert!(cold.log().contains("a newer plugin's index template is in charge"), "{}", cold.log());

    // Mappings the cluster refuses: the config is refused, naming the plugin and the field, and
    // the last good one goes on.
    edit("Cargo.toml", "version = \"0.2.0\"", "version = \"0.3.0\"");
    edit("mappings.json", "\"zone\": { \"type\": \"keyword\" }", "\"zone\": { \"type\": \"no-such-type\" }");
    publish(&build());
    ingest(&host, "edge/4.log", "2024-05-04");
    let log = host.log();
    assert!(log.contains("plugin edge: OpenSearch refused its mappings") && log.contains("[zone]"), "{log}");
    assert_eq!(index_count(&cluster, "logs-edge.access-default-2024.05.04"), 2, "parsed by the last good config");
    assert_eq!(templates(), ["kelk-logs-edge.access-default-0.2.0"]);
}

/// The formats added as plugins, each delivered as its AWS service writes it to S3 and
/// announced by an S3 notification: indexed once (a redelivery adds nothing), mapped by the
/// plugins' own mappings, every rejected line dead-lettered.
#[test]
fn the_new_formats_arrive_mapped_by_their_plugins_and_once() {
    let (s3, cluster) = (s3(), cluster());
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let (plugins_bucket, logs, dead) =
        (format!("new-plugins-{run}"), format!("new-logs-{run}"), format!("new-dead-{run}"));
    for b in [&plugins_bucket, &logs, &dead] {
        bucket(b);
    }
    let formats = [
        (
            "vpcflow",
            "vpcflow",
            "vpcflow/samples/custom-format.log",
            "vpcflow/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/05/01/123456789012_vpcflowlogs_us-east-1_fl-1_20240501T1000Z_a1.log.gz",
        ),
        (
            "s3access",
            "s3access",
            "s3access/samples/edge-cases.log",
            "s3access/123456789012/us-east-1/logs-bucket/2024/05/01/2024-05-01-10-00-00-A1B2C3D4E5F6",
        ),
        (
            "waf",
            "waf",
            "waf/samples/edge-cases.log",
            "AWSLogs/123456789012/WAFLogs/us-east-1/acl/2024/05/01/10/00/123456789012_waflogs_us-east-1_acl_20240501T1000Z_a1.log.gz",
        ),
        (
            "route53resolver",
            "route53",
            "route53/samples/edge-cases.log",
            "route53resolver/AWSLogs/123456789012/vpcdnsquerylogs/vpc-1/2024/05/01/vpc-1_vpcdnsquerylogs_123456789012_20240501T1000Z_a1.log.gz",
        ),
    ];
    let mut plugins = serde_json::Map::new();
    let mut routes = Vec::new();
    let mut records = Vec::new();
    let mut expected = Vec::new();
    for (name, package, path, key) in formats {
        let package = format!("kelk-parser-{package}");
        let wasm = std::fs::read(plugin_wasm(&package)).unwrap();
        let sha = sha256(&wasm);
        let plugin_key = format!("plugins/{name}/{sha}.wasm");
        put(&s3, &plugins_bucket, &plugin_key, wasm);
        plugins.insert(name.into(), json!({ "key": plugin_key, "sha256": sha }));
        let glob = format!("{}/*", key.split('/').next().unwrap());
        routes.push(json!({ "bucket": logs, "key_glob": glob, "plugin": name }));
        let raw = std::fs::read(sample(path)).unwrap();
        put(&s3, &logs, key, if key.ends_with(".gz") { gzip(&raw) } else { raw });
        records.push(s3_record(&logs, key));
        let (counts, collected) = parse_file(&package, &sample(path));
        let dataset = collected.documents[0].source["event"]["dataset"].as_str().unwrap().to_owned();
        cluster.request(Method::Delete, &format!("/logs-{dataset}-default-*"), None).unwrap();
        expected.push((format!("logs-{dataset}-default"), counts));
    }
    let config = json!({ "version": 1, "plugins": plugins, "routes": routes });
    put(&s3, &plugins_bucket, "routing.json", config.to_string().into_bytes());

    let (routing, dead_letters_uri) =
        (format!("s3://{plugins_bucket}/routing.json"), format!("s3://{dead}/dead-letters/"));
    let host = Emulator::start("new-formats", &s3_settings(&routing, &dead_letters_uri));
    let notification = json!({ "Records": records });
    for round in 0..2 {
        let answer = host.invoke(&notification).unwrap_or_else(|e| panic!("{e}\n{}", host.log()));
        assert_eq!(answer["objects"], 4, "{answer}");
        let mut rejected = 0;
        for (prefix, counts) in &expected {
            assert!(counts.documents > 0, "{prefix}");
            assert_eq!(index_count(&cluster, &format!("{prefix}-*")), counts.documents, "{prefix}, round {round}");
            rejected += counts.rejected;
        }
        let letters = dead_letters(&s3, &uri(&dead, "dead-letters/"));
        assert_eq!(letters.len() as u64, rejected, "round {round}: {letters:?}");
    }
    for (prefix, _) in &expected {
        assert_eq!(field_type(&cluster, &format!("{prefix}-*"), "source.ip"), "ip", "{prefix}");
    }
    assert_eq!(field_type(&cluster, "logs-aws.vpcflow-default-*", "aws.vpcflow.unknown_fields"), "flat_object");
    assert_eq!(field_type(&cluster, "logs-aws.vpcflow-default-*", "source.packets"), "long");
    assert_eq!(field_type(&cluster, "logs-aws.waf-default-*", "aws.waf.request.headers"), "flat_object");
    assert_eq!(field_type(&cluster, "logs-aws.s3access-default-*", "event.duration"), "long");
    assert_eq!(field_type(&cluster, "logs-aws.route53_resolver_logs-default-*", "dns.question.name"), "keyword");
}

/// A CloudWatch Logs subscription's event of `log_group`'s events, as (id, message).
fn awslogs(log_group: &str, message_type: &str, events: &[(&str, &str)]) -> Value {
    let events: Vec<Value> = events
        .iter()
        .enumerate()
        .map(|(i, (id, message))| json!({ "id": id, "timestamp": 1714557600000i64 + i as i64, "message": message }))
        .collect();
    let batch = json!({
        "messageType": message_type, "owner": "123456789012", "logGroup": log_group,
        "logStream": "2024/05/01/[$LATEST]0123456789abcdef", "subscriptionFilters": ["kelk-host"],
        "logEvents": events,
    });
    json!({ "awslogs": { "data": base64::engine::general_purpose::STANDARD.encode(gzip(batch.to_string().as_bytes())) } })
}

#[test]
fn cloudwatch_logs_events_are_parsed_by_their_route_or_kept_and_indexed_once() {
    let (s3, cluster) = (s3(), cluster());
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let (plugins_bucket, dead) = (format!("cw-plugins-{run}"), format!("cw-dead-{run}"));
    for b in [&plugins_bucket, &dead] {
        bucket(b);
    }
    let wasm = std::fs::read(plugin_wasm("kelk-parser-vpcflow")).unwrap();
    let sha = sha256(&wasm);
    put(&s3, &plugins_bucket, "plugins/vpcflow.wasm", wasm);
    // Index prefixes of this test's own: other tests index VPC Flow documents at the same time.
    let (flows, lambda, kept) =
        ("logs-aws.vpcflow-cwtest-default", "logs-lambda.cwtest-default", "logs-aws.cloudwatch_logs-default");
    let routes = json!({ "version": 1,
        "plugins": { "vpcflow": { "key": "plugins/vpcflow.wasm", "sha256": sha } },
        "routes": [
            { "log_group_glob": "/aws/vpc/*", "plugin": "vpcflow", "index_prefix": flows },
            { "log_group_glob": "/aws/lambda/*", "index_prefix": lambda },
        ] });
    put(&s3, &plugins_bucket, "routing.json", routes.to_string().into_bytes());
    for prefix in [flows, lambda, kept] {
        cluster.request(Method::Delete, &format!("/{prefix}-*"), None).unwrap();
    }
    let (routing, dead_letters_uri) =
        (format!("s3://{plugins_bucket}/routing.json"), format!("s3://{dead}/dead-letters/"));
    let host = Emulator::start("cloudwatch-logs", &s3_settings(&routing, &dead_letters_uri));

    let flow_events = awslogs(
        "/aws/vpc/flow-logs",
        "DATA_MESSAGE",
        &[
            (
                "37000000000000000000000000000000000000000000000000000001",
                "2 123456789012 eni-0a1b2c3d 10.0.1.5 203.0.113.12 443 49152 6 10 4000 1714557600 1714557660 ACCEPT OK",
            ),
            (
                "37000000000000000000000000000000000000000000000000000002",
                "2 123456789012 eni-0a1b2c3d 2001:db8::1 2001:db8::2 - - - - - 1714557600 1714557660 - NODATA",
            ),
            ("37000000000000000000000000000000000000000000000000000003", "this is not a flow record"),
        ],
    );
    let lambda_events = awslogs(
        "/aws/lambda/orders",
        "DATA_MESSAGE",
        &[
            (
                "37000000000000000000000000000000000000000000000000000011",
                "START RequestId: 8f5ed4d5 Version: $LATEST\n",
            ),
            (
                "37000000000000000000000000000000000000000000000000000012",
                r#"{"level":"INFO","message":"order placed","order":{"id":42}}"#,
            ),
            ("37000000000000000000000000000000000000000000000000000013", "END RequestId: 8f5ed4d5\n"),
        ],
    );
    let app_events = awslogs(
        "/app/payments",
        "DATA_MESSAGE",
        &[("37000000000000000000000000000000000000000000000000000021", "payment accepted\n  by the fraud check")],
    );
    let control =
        awslogs("", "CONTROL_MESSAGE", &[("", "CWL CONTROL MESSAGE: Checking health of destination Lambda function.")]);
    for round in 0..2 {
        let answer = host.invoke(&flow_events).unwrap_or_else(|e| panic!("{e}\n{}", host.log()));
        assert_eq!(answer["counts"]["documents"], 2, "{answer}");
        assert_eq!(answer["counts"]["rejected"], 1, "{answer}");
        assert_eq!(host.invoke(&lambda_events).unwrap()["counts"]["documents"], 3);
        assert_eq!(host.invoke(&app_events).unwrap()["counts"]["documents"], 1);
        assert_eq!(host.invoke(&control).unwrap()["control_message"], true);
        for (prefix, documents) in [(flows, 2), (lambda, 3), (kept, 1)] {
            assert_eq!(index_count(&cluster, &format!("{prefix}-*")), documents, "{prefix}, round {round}");
        }
        let letters = dead_letters(&s3, &uri(&dead, "dead-letters/"));
        assert_eq!(letters.len(), 1, "round {round}: {letters:?}");
        assert_eq!(letters[0]["excerpt"], "this is not a flow record");
        assert_eq!(letters[0]["object"]["log_group"], "/aws/vpc/flow-logs");
    }
    assert_eq!(field_type(&cluster, &format!("{flows}-*"), "source.ip"), "ip");
    assert_eq!(field_type(&cluster, &format!("{lambda}-*"), "message"), "text");
    assert_eq!(field_type(&cluster, &format!("{lambda}-*"), "json"), "flat_object");
    assert_eq!(field_type(&cluster, &format!("{kept}-*"), "aws.cloudwatch.log_group"), "keyword");
    let search = |prefix: &str, query: Value| {
        let body = json!({ "query": query }).to_string();
        let found =
            cluster.request(Method::Post, &format!("/{prefix}-*/_search"), Some(body.as_bytes())).unwrap().unwrap();
        found["hits"]["hits"].as_array().unwrap().iter().map(|h| h["_source"].clone()).collect::<Vec<_>>()
    };
    let parsed = search(lambda, json!({ "term": { "json.level": "INFO" } }));
    assert_eq!(parsed.len(), 1, "the JSON message's fields are searchable");
    assert_eq!(parsed[0]["@timestamp"], "2024-05-01T10:00:00.001Z", "the event's own time");
    let start = search(lambda, json!({ "match_phrase": { "message": "START RequestId" } }));
    assert_eq!(
        start[0]["message"], "START RequestId: 8f5ed4d5 Version: $LATEST",
        "the line break that ends it is not kept"
    );
    let app = search(kept, json!({ "match_all": {} }));
    assert_eq!(
        app[0]["message"], "payment accepted\n  by the fraud check",
        "a message of several lines is one document"
    );
    assert_eq!(app[0]["aws"]["cloudwatch"]["event_id"], "37000000000000000000000000000000000000000000000000000021");
    let nodata = search(flows, json!({ "term": { "aws.vpcflow.log_status": "NODATA" } }));
    assert_eq!(nodata[0]["source"]["ip"], "2001:db8::1");
}

/// A host of a test's own: a new bucket of logs whose `app/*` objects the apache plugin parses
/// into an index prefix of the test's own, dead letters into another new bucket.
struct Stage {
    host: Emulator,
    logs: String,
    dead: String,
    prefix: String,
}

impl Stage {
    fn apache(name: &str) -> Self {
        Stage::apache_with(name, &[])
    }

    /// A stage whose host has `settings` too.
    fn apache_with(name: &str, settings: &[(&str, &str)]) -> Self {
        let s3 = s3();
        let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
        let (plugins_bucket, logs, dead) =
            (format!("{name}-plugins-{run}"), format!("{name}-logs-{run}"), format!("{name}-dead-{run}"));
        for b in [&plugins_bucket, &logs, &dead] {
            bucket(b);
        }
        let wasm = std::fs::read(plugin_wasm("kelk-parser-apache")).unwrap();
        let sha = sha256(&wasm);
        put(&s3, &plugins_bucket, "plugins/apache.wasm", wasm);
        let prefix = format!("logs-{name}.t{run}-default");
        let routes = json!({ "version": 1,
            "plugins": { "apache": { "key": "plugins/apache.wasm", "sha256": sha } },
            "routes": [{ "bucket": logs, "key_glob": "app/*", "plugin": "apache", "index_prefix": prefix }] });
        put(&s3, &plugins_bucket, "routing.json", routes.to_string().into_bytes());
        let (routing, dead_letters_uri) =
            (format!("s3://{plugins_bucket}/routing.json"), format!("s3://{dead}/dead-letters/"));
        let mut settings = [&s3_settings(&routing, &dead_letters_uri)[..], settings].concat();
        settings.sort_by_key(|(name, _)| *name);
        let host = Emulator::start(name, &settings);
        Stage { host, logs, dead, prefix }
    }
}

/// New content under an old key, in a bucket without versions, is new documents and new dead
/// letters, even where its lines are the old ones; the event of the replaced content, late or
/// again, reads nothing and fails nothing.
#[test]
fn new_content_under_an_old_key_is_indexed_and_a_stale_event_reads_nothing() {
    let (s3, cluster) = (s3(), cluster());
    let Stage { host, logs, dead, prefix } = Stage::apache("rewrite");

    let key = "app/access.log";
    put(&s3, &logs, key, format!("{APACHE_LINE}\nnot an access line\n").into_bytes());
    let first = s3_record(&logs, key);
    let answer = host.invoke(&json!({ "Records": [first] })).unwrap_or_else(|e| panic!("{e}\n{}", host.log()));
    assert_eq!((answer["counts"]["documents"].as_u64(), answer["counts"]["rejected"].as_u64()), (Some(1), Some(1)));
    // Rewritten: the same first line, then two new ones.
    let alice = APACHE_LINE.replace("frank", "alice");
    put(&s3, &logs, key, format!("{APACHE_LINE}\n{alice}\nstill not an access line\n").into_bytes());
    let second = s3_record(&logs, key);
    assert_ne!(first["s3"]["object"]["eTag"], second["s3"]["object"]["eTag"]);
    let answer = host.invoke(&json!({ "Records": [second] })).unwrap_or_else(|e| panic!("{e}\n{}", host.log()));
    assert_eq!(answer["counts"]["documents"], 2, "{answer}");
    assert_eq!(index_count(&cluster, &format!("{prefix}-*")), 3, "the new content's documents, the repeated line too");
    let letters = dead_letters(&s3, &uri(&dead, "dead-letters/"));
    let excerpts: Vec<&str> = letters.iter().map(|l| l["excerpt"].as_str().unwrap()).collect();
    assert_eq!(excerpts.len(), 2, "{excerpts:?}");
    assert!(excerpts.contains(&"not an access line") && excerpts.contains(&"still not an access line"), "{excerpts:?}");

    // The first event again: its content is gone, and nothing is read or failed.
    let answer = host.invoke(&json!({ "Records": [first] })).unwrap_or_else(|e| panic!("{e}\n{}", host.log()));
    assert_eq!(answer["counts"]["documents"], 0, "{answer}");
    assert_eq!(answer["counts"]["failed_objects"], 0, "{answer}");
    assert_eq!(index_count(&cluster, &format!("{prefix}-*")), 3);
    assert_eq!(dead_letters(&s3, &uri(&dead, "dead-letters/")).len(), 2);
    assert!(host.log().contains("\"SupersededObjects\":1"), "{}", host.log());
}

/// An S3 Batch Operations backfill, as the job invokes the host: each task's object through its
/// route, a result code per task (a missing object and an unrouted one permanent, so the job
/// reports rather than retries them), schema 1.0 and 2.0 alike; the documents get the ids the
/// objects' notifications give, so a backfill over what was delivered adds nothing.
#[test]
fn a_batch_operations_backfill_answers_each_task_and_duplicates_no_notification() {
    let (s3, cluster) = (s3(), cluster());
    let Stage { host, logs, prefix, .. } = Stage::apache("backfill");
    let alice = APACHE_LINE.replace("frank", "alice");
    put(&s3, &logs, "app/day 1.log", format!("{APACHE_LINE}\n{alice}\n").into_bytes());
    put(&s3, &logs, "app/day2.log", format!("{alice}\n").into_bytes());
    put(&s3, &logs, "other/unrouted.log", format!("{APACHE_LINE}\n").into_bytes());

    // The first object was delivered live before the backfill.
    let live = host.invoke(&json!({ "Records": [s3_record(&logs, "app/day+1.log")] })).unwrap();
    assert_eq!(live["counts"]["documents"], 2, "{live}");
    let task = |id: &str, key: &str, v2: bool| match v2 {
        true => json!({ "taskId": id, "s3Key": key, "s3VersionId": null, "s3Bucket": logs }),
        false => {
            json!({ "taskId": id, "s3Key": key, "s3VersionId": null, "s3BucketArn": format!("arn:aws:s3:::{logs}") })
        }
    };
    let job = |version: &str, tasks: Vec<Value>| json!({ "invocationSchemaVersion": version, "invocationId": "aW52b2NhdGlvbg", "job": { "id": "job-1" }, "tasks": tasks });
    let mut codes = Vec::new();
    for (version, id, key) in [
        ("1.0", "t1", "app/day+1.log"),
        ("2.0", "t2", "app/day2.log"),
        ("2.0", "t3", "app/missing.log"),
        ("1.0", "t4", "other/unrouted.log"),
    ] {
        let answer = host.invoke(&job(version, vec![task(id, key, version == "2.0")])).unwrap();
        assert_eq!(answer["invocationSchemaVersion"], version);
        assert_eq!(answer["invocationId"], "aW52b2NhdGlvbg");
        assert_eq!(answer["results"][0]["taskId"], id);
        codes.push(answer["results"][0]["resultCode"].as_str().unwrap().to_owned());
        assert!(answer["results"][0]["resultString"].is_string(), "{answer}");
    }
    assert_eq!(codes, ["Succeeded", "Succeeded", "PermanentFailure", "PermanentFailure"], "{}", host.log());
    assert_eq!(index_count(&cluster, &format!("{prefix}-*")), 3, "the live object's documents once, the other's once");
    assert!(host.log().contains("\"AlreadyIndexed\":2"), "the backfill found the live documents there");
}

/// `kelk backfill` against the S3 server, up to the S3 Batch Operations job it would create
/// (CreateJob itself has no server here: `runtime/cli`'s tests check the request the AWS SDK
/// sends). An S3 Inventory report's manifest is named with the ETag S3 gives it and a report
/// that is not CSV is refused; prefixes are checked to hold objects; the role, the function and
/// the report's place come from Terraform's output; the same job gets the same token.
#[test]
fn kelk_backfill_checks_what_it_reads_and_names_the_inventory_by_its_etag() {
    let s3 = s3();
    bucket("backfill-logs");
    bucket("backfill-inventory");
    put(&s3, "backfill-logs", "alb/2025/03/02/a.log", format!("{APACHE_LINE}\n").into_bytes());
    let manifest_key = "inventory/backfill-logs/all/2025-03-02T01-00Z/manifest.json";
    let manifest = |format: &str| {
        json!({
            "sourceBucket": "backfill-logs", "destinationBucket": "arn:aws:s3:::backfill-inventory",
            "version": "2016-11-30", "creationTimestamp": "1740877200000", "fileFormat": format,
            "fileSchema": "Bucket, Key, Size, LastModifiedDate, ETag",
            "files": [{ "key": "inventory/backfill-logs/all/data/2a9e.csv.gz", "size": 81, "MD5checksum": "f11166069f1990abeb9c97ace9cdfabc" }]
        })
        .to_string()
        .into_bytes()
    };
    put(&s3, "backfill-inventory", manifest_key, manifest("CSV"));
    put(&s3, "backfill-inventory", "inventory/parquet/manifest.json", manifest("Parquet"));
    let dir = tempfile::tempdir().unwrap();
    let terraform = dir.path().join("backfill.json");
    let function = "arn:aws:lambda:us-east-1:123456789012:function:kelk-host";
    let output = json!({ "role_arn": "arn:aws:iam::123456789012:role/kelk-backfill", "function_arn": function,
        "reports": "arn:aws:s3:::kelk-dead-letters/backfill/" });
    std::fs::write(&terraform, output.to_string()).unwrap();
    let backfill = |args: &[&str]| {
        let out = Command::new(workspace().join("target/release/kelk"))
            .arg("backfill")
            .args(args)
            .args(["--account-id", "123456789012", "--dry-run", "--terraform-output"])
            .arg(&terraform)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null), stderr)
    };

    let inventory = format!("s3://backfill-inventory/{manifest_key}");
    let (status, job, stderr) = backfill(&["--inventory", &inventory]);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(stderr.contains("inventory of s3://backfill-logs: 1 CSV file(s)"), "{stderr}");
    let location = &job["Manifest"]["Location"];
    assert_eq!(location["ETag"], etag("backfill-inventory", manifest_key), "{job}");
    assert_eq!(location["ObjectArn"], format!("arn:aws:s3:::backfill-inventory/{manifest_key}"));
    assert_eq!(job["Manifest"]["Spec"]["Format"], "S3InventoryReport_CSV_20161130");
    assert_eq!(job["Operation"]["LambdaInvoke"], json!({ "FunctionArn": function, "InvocationSchemaVersion": "2.0" }));
    assert_eq!(job["RoleArn"], "arn:aws:iam::123456789012:role/kelk-backfill");
    assert_eq!(
        (&job["Report"]["Bucket"], &job["Report"]["Prefix"]),
        (&json!("arn:aws:s3:::kelk-dead-letters"), &json!("backfill"))
    );
    assert_eq!(
        (&job["Report"]["ReportScope"], &job["ConfirmationRequired"]),
        (&json!("FailedTasksOnly"), &json!(false))
    );
    assert_eq!(backfill(&["--inventory", &inventory]).1["ClientRequestToken"], job["ClientRequestToken"]);

    let (status, _, stderr) = backfill(&["--inventory", "s3://backfill-inventory/inventory/parquet/manifest.json"]);
    assert_eq!(status, Some(3), "{stderr}");
    assert!(stderr.contains("the inventory report is Parquet; Batch Operations reads CSV reports only"), "{stderr}");
    let (status, _, stderr) = backfill(&["--inventory", "s3://backfill-inventory/inventory/missing/manifest.json"]);
    assert_eq!(status, Some(3), "{stderr}");

    let (status, job, stderr) = backfill(&["s3://backfill-logs/alb/2025/", "--created-after", "2025-03-01"]);
    assert_eq!(status, Some(0), "{stderr}");
    let generator = &job["ManifestGenerator"]["S3JobManifestGenerator"];
    assert_eq!(generator["SourceBucket"], "arn:aws:s3:::backfill-logs", "{job}");
    assert_eq!(generator["Filter"]["KeyNameConstraint"]["MatchAnyPrefix"], json!(["alb/2025/"]));
    assert_eq!(generator["Filter"]["CreatedAfter"], "2025-03-01T00:00:00+00:00");
    assert_ne!(job["ClientRequestToken"], backfill(&["s3://backfill-logs/alb/2025/"]).1["ClientRequestToken"]);

    let (status, _, stderr) = backfill(&["s3://backfill-logs/alb/2024/"]);
    assert_eq!(status, Some(3), "{stderr}");
    assert!(stderr.contains("s3://backfill-logs/alb/2024/: no object under this prefix"), "{stderr}");
    let (status, _, stderr) = backfill(&["s3://backfill-logs/alb/", "s3://other-logs/alb/"]);
    assert_eq!(status, Some(2), "one job reads one bucket: {stderr}");
}

/// A precompiled artifact is native code the host runs as it is: the plugin store loads one
/// only with the sha256 the routing config gives for it, so an artifact replaced in the plugin
/// bucket (here by another plugin's) is refused, and so is one the config gives no sha256 for.
#[test]
fn a_precompiled_artifact_is_loaded_only_with_its_sha256() {
    use kelk_runtime::aws::plugin_store::PluginStore;
    use std::time::Duration;

    bucket("artifact-plugins");
    let s3 = s3();
    let sandbox = kelk_tests::sandbox();
    let apache = std::fs::read(kelk_tests::plugin_wasm("kelk-parser-apache")).unwrap();
    let rogue = std::fs::read(kelk_tests::plugin_wasm("kelk-test-plugin-rogue")).unwrap();
    let artifact = sandbox.precompile(&apache).unwrap();
    put(&s3, "artifact-plugins", "plugins/apache.wasm", apache.clone());
    put(&s3, "artifact-plugins", "plugins/apache.cwasm", artifact.clone());
    put(&s3, "artifact-plugins", "plugins/other.cwasm", sandbox.precompile(&rogue).unwrap());
    let mut store = PluginStore::new(s3.clone(), uri("artifact-plugins", "routing.json"), Duration::ZERO);
    let mut publish = |artifact_key: &str, artifact_sha256: Option<String>| {
        let mut plugin =
            json!({ "key": "plugins/apache.wasm", "sha256": sha256(&apache), "precompiled_key": artifact_key });
        if let Some(sha) = artifact_sha256 {
            plugin["precompiled_sha256"] = json!(sha);
        }
        let config = json!({ "version": 1, "plugins": { "apache": plugin },
            "routes": [{ "bucket": "logs", "key_glob": "*", "plugin": "apache" }] });
        put(&s3, "artifact-plugins", "routing.json", config.to_string().into_bytes());
        store
            .refresh(&sandbox, |_| Ok(()))
            .map(|_| store.router().unwrap().plugins().next().unwrap().1.info.name.clone())
    };
    // A plugin once loaded is not fetched again for a config naming the same component: the
    // refusals come first.
    let swapped = publish("plugins/other.cwasm", Some(sha256(&artifact))).unwrap_err().to_string();
    assert!(swapped.contains("apache (its precompiled artifact)"), "{swapped}");
    let unnamed = publish("plugins/apache.cwasm", None).unwrap_err().to_string();
    assert!(unnamed.contains("without the artifact's precompiled_sha256"), "{unnamed}");
    assert_eq!(publish("plugins/apache.cwasm", Some(sha256(&artifact))).unwrap(), "apache");
}

/// The objects of one invocation go through several workers at once (`KELK_WORKERS`), each
/// answered on its own: an SQS batch reports exactly the messages one of whose objects failed
/// (a truncated gzip, a missing object, an unrouted one), and every line of the other objects
/// is a document or a dead letter, once, again on a redelivery; the metrics add up every
/// worker's; Batch Operations gets each task's code, in order; a multi-record S3 event fails
/// naming how many of its objects did.
#[test]
fn the_objects_of_an_invocation_go_through_the_workers_each_answered() {
    let (s3, cluster) = (s3(), cluster());
    let Stage { host, logs, dead, prefix } = Stage::apache_with("workers", &[("KELK_WORKERS", "3")]);
    // 2000 lines (several chunks), every 50th not an access line.
    let lines = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|i| if i % 50 == 49 { "not an access line\n".to_owned() } else { format!("{APACHE_LINE}\n") })
            .collect::<String>()
            .into_bytes()
    };
    for i in 0..6 {
        put(&s3, &logs, &format!("app/{i}.log.gz"), gzip(&lines(2000)));
    }
    // Cut inside its first chunk: it fails before any of its lines is parsed.
    let whole = gzip(&lines(100));
    put(&s3, &logs, "app/truncated.log.gz", whole[..whole.len() / 2].to_vec());
    put(&s3, &logs, "other/unrouted.log", lines(10));
    let (documents, rejected) = (6 * 1960, 6 * 40);

    let message = |id: &str, keys: &[&str]| {
        let records: Vec<Value> = keys.iter().map(|key| s3_record(&logs, key)).collect();
        sqs_message(id, &json!({ "Records": records }).to_string())
    };
    let batch = json!({ "Records": [
        message("m0", &["app/0.log.gz", "app/1.log.gz"]),
        message("m-truncated", &["app/2.log.gz", "app/truncated.log.gz"]),
        message("m3", &["app/3.log.gz"]),
        message("m-missing", &["app/missing.log.gz"]),
        message("m4", &["app/4.log.gz"]),
        message("m-unrouted", &["other/unrouted.log"]),
        message("m5", &["app/5.log.gz"]),
    ]});
    let failures = json!({ "batchItemFailures": [
        { "itemIdentifier": "m-truncated" }, { "itemIdentifier": "m-missing" }, { "itemIdentifier": "m-unrouted" },
    ]});
    for round in 0..2 {
        let answer = host.invoke(&batch).unwrap_or_else(|e| panic!("{e}\n{}", host.log()));
        assert_eq!(answer, failures, "round {round}");
        assert_eq!(index_count(&cluster, &format!("{prefix}-*")), documents, "round {round}");
        let letters = dead_letters(&s3, &uri(&dead, "dead-letters/"));
        assert_eq!(letters.len() as u64, rejected, "round {round}");
    }
    let log = host.log();
    assert!(log.contains("the gzip stream is truncated"), "{log}");
    let emf: Vec<Value> =
        log.lines().filter(|l| l.contains("\"CloudWatchMetrics\"")).map(|l| serde_json::from_str(l).unwrap()).collect();
    let [first, again] = &emf[..] else { panic!("a metrics line per invocation: {emf:?}") };
    for m in [first, again] {
        assert_eq!((&m["Objects"], &m["FailedObjects"]), (&json!(9), &json!(3)), "{m}");
        assert_eq!((&m["Documents"], &m["Rejected"]), (&json!(documents), &json!(rejected)), "{m}");
    }
    assert_eq!((&first["Indexed"], &again["AlreadyIndexed"]), (&json!(documents), &json!(documents)));

    let task = |id: &str, key: &str| json!({ "taskId": id, "s3Key": key, "s3VersionId": null, "s3BucketArn": format!("arn:aws:s3:::{logs}") });
    let tasks = vec![
        task("t0", "app/0.log.gz"),
        task("t-missing", "app/missing.log.gz"),
        task("t1", "app/1.log.gz"),
        task("t-truncated", "app/truncated.log.gz"),
        task("t2", "app/2.log.gz"),
        task("t-unrouted", "other/unrouted.log"),
    ];
    let job = json!({ "invocationSchemaVersion": "1.0", "invocationId": "aW52b2NhdGlvbg", "job": { "id": "job-1" }, "tasks": tasks });
    let answer = host.invoke(&job).unwrap();
    let codes: Vec<(&str, &str)> = answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["taskId"].as_str().unwrap(), r["resultCode"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            ("t0", "Succeeded"),
            ("t-missing", "PermanentFailure"),
            ("t1", "Succeeded"),
            ("t-truncated", "PermanentFailure"),
            ("t2", "Succeeded"),
            ("t-unrouted", "PermanentFailure"),
        ],
        "{answer}"
    );

    let notification = json!({ "Records": [
        s3_record(&logs, "app/3.log.gz"), s3_record(&logs, "app/missing.log.gz"), s3_record(&logs, "app/4.log.gz"),
    ]});
    let failed = host.invoke(&notification).expect_err("an object failed");
    assert!(failed["errorMessage"].as_str().unwrap().starts_with("1 of 3 objects failed"), "{failed}");
    assert_eq!(index_count(&cluster, &format!("{prefix}-*")), documents);
}
