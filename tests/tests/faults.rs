//! Faults injected between the real host and the real servers: the `kelk-lambda` binary under
//! the Lambda Runtime Interface Emulator (as `tests/tests/lambda.rs` runs it) reaches OpenSearch
//! and the S3 server through toxiproxy (`tests/servers/toxiproxy`), which slows, slices,
//! stalls and cuts their connections. Each scenario has proxies, a bucket and an index prefix
//! of its own, so scenarios run in parallel, and sends SQS batches of S3 notifications. Each
//! checks, in OpenSearch and in the dead-letter store, that every line in is a document, a dead
//! letter or a skipped blank line, none lost and none twice, and that the host's answer makes
//! the event source retry what failed (`batchItemFailures` naming exactly the failed messages;
//! an invocation error, the whole batch), whose redelivery, once the toxic is gone, completes
//! the work. Each prints its row of the matrix in RELIABILITY.md (seen with `--nocapture`).
//! `make test` starts the servers and sets `KELK_TEST_TOXIPROXY` besides lambda.rs's settings.

use kelk_runtime::aws::s3::{Precondition, S3, S3Uri};
use kelk_runtime::opensearch::{Auth, Cluster};
use kelk_tests::emulator::Emulator;
use kelk_tests::toxiproxy::{Proxy, Stream, Toxiproxy};
use kelk_tests::{APACHE_LINE, index_count, plugin_wasm};
use opensearch::http::Method;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run `make test`, which starts the servers"))
}

/// An object of Apache lines: each good line has a path of its own (`/f/<id>/<line>`), every
/// 37th line is not an access line (a dead letter), every 100th is blank (skipped).
struct Object {
    /// Also its SQS message's id.
    id: String,
    key: String,
    etag: String,
    /// Where the bucket keeps versions.
    version_id: Option<String>,
    lines: u64,
    documents: u64,
    rejected: u64,
    skipped: u64,
}

/// One scenario's world: a bucket holding the plugin, the routing config, the objects and the
/// dead letters; an index prefix; a proxy in front of OpenSearch and one in front of S3.
struct Stage {
    name: &'static str,
    bucket: String,
    prefix: String,
    s3: S3,
    cluster: Cluster,
    opensearch: Proxy,
    storage: Proxy,
    /// Hosts started so far: each logs to a file of its own.
    hosts: std::cell::Cell<u32>,
}

impl Stage {
    fn new(name: &'static str) -> Self {
        let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
        let bucket = format!("faults-{name}-{run}");
        let url = format!("{}/{bucket}", env("KELK_TEST_S3"));
        let made = Command::new("curl").args(["-fsS", "-o", "/dev/null", "-X", "PUT", &url]).status().unwrap();
        assert!(made.success(), "cannot create bucket {bucket}");
        let s3 = S3::new(&kelk_tests::aws());
        let wasm = std::fs::read(plugin_wasm("kelk-parser-apache")).unwrap();
        let sha256 = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&wasm))
        };
        let put = |key: &str, body: Vec<u8>| {
            let uri = S3Uri { bucket: bucket.clone(), key: key.into() };
            s3.put(&uri, body, "application/octet-stream", Precondition::None).unwrap();
        };
        put("plugins/apache.wasm", wasm);
        let prefix = format!("logs-faults.{name}");
        let routing = json!({ "version": 1,
            "plugins": { "apache": { "key": "plugins/apache.wasm", "sha256": sha256 } },
            "routes": [{ "bucket": bucket, "key_glob": "logs/*", "plugin": "apache", "index_prefix": prefix }] });
        put("routing.json", routing.to_string().into_bytes());
        let cluster = Cluster::connect(&env("KELK_TEST_OPENSEARCH"), Auth::None, &kelk_tests::aws()).unwrap();
        cluster.request(Method::Delete, &format!("/{prefix}-*"), None).unwrap();
        let toxiproxy = Toxiproxy::from_env();
        let opensearch = toxiproxy.proxy(&format!("faults-{name}-opensearch"), &env("KELK_TEST_OPENSEARCH"));
        let storage = toxiproxy.proxy(&format!("faults-{name}-s3"), &env("KELK_TEST_S3"));
        Stage { name, bucket, prefix, s3, cluster, opensearch, storage, hosts: Default::default() }
    }

    /// Puts an object of `lines` lines under `logs/<id>.log`.
    fn object(&self, id: &str, lines: u64) -> Object {
        self.object_at(id, &format!("logs/{id}.log"), lines)
    }

    /// Puts an object of `lines` lines, whose paths name `id`, under `key`.
    fn object_at(&self, id: &str, key: &str, lines: u64) -> Object {
        let (mut text, mut documents, mut rejected, mut skipped) = (String::new(), 0, 0, 0);
        for n in 1..=lines {
            if n % 100 == 0 {
                skipped += 1;
            } else if n % 37 == 0 {
                rejected += 1;
                text.push_str(&format!("not an access line: {id} {n}"));
            } else {
                documents += 1;
                text.push_str(&APACHE_LINE.replace("/apache_pb.gif", &format!("/f/{id}/{n:06}")));
            }
            text.push('\n');
        }
        let uri = S3Uri { bucket: self.bucket.clone(), key: key.into() };
        self.s3.put(&uri, text.into_bytes(), "text/plain", Precondition::None).unwrap();
        let etag = self.s3.etag(&uri).unwrap().unwrap().trim_matches('"').to_owned();
        // A HEAD, signed as moto wants it, for the version id the S3 client does not report.
        let object_url = format!("{}/{}/{key}", env("KELK_TEST_S3"), self.bucket);
        let head = Command::new("curl")
            .args(["-fsSI", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "test:test", &object_url])
            .output()
            .unwrap();
        let version_id = String::from_utf8(head.stdout).unwrap().lines().find_map(|h| {
            let (name, value) = h.split_once(':')?;
            name.eq_ignore_ascii_case("x-amz-version-id").then(|| value.trim().to_owned())
        });
        Object { id: id.into(), key: key.into(), etag, version_id, lines, documents, rejected, skipped }
    }

    /// The host, reaching OpenSearch and S3 through the proxies.
    fn host(&self, settings: &[(&str, &str)]) -> Emulator {
        let routing = format!("s3://{}/routing.json", self.bucket);
        let dead = format!("s3://{}/dead/", self.bucket);
        let (opensearch, storage) = (self.opensearch.url(), self.storage.url());
        let mut all = vec![
            ("KELK_ROUTING_CONFIG", routing.as_str()),
            ("KELK_DEAD_LETTERS", dead.as_str()),
            ("KELK_OPENSEARCH_URL", opensearch.as_str()),
            ("AWS_ENDPOINT_URL_S3", storage.as_str()),
            // No check of the config in the middle of a scenario.
            ("KELK_ROUTING_CHECK_SECONDS", "3600"),
        ];
        all.extend_from_slice(settings);
        self.hosts.set(self.hosts.get() + 1);
        let log = match self.hosts.get() {
            1 => format!("faults-{}", self.name),
            n => format!("faults-{}-{n}", self.name),
        };
        Emulator::start(&log, &all)
    }

    /// The host, warm: it has loaded its routing config and plugin and checked the plugin's
    /// index template (an SQS batch of S3's test event), so the faults injected next meet it
    /// at work.
    fn warm_host(&self, settings: &[(&str, &str)]) -> Emulator {
        let host = self.host(settings);
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"logs"}"#;
        let answer = host.invoke(&json!({ "Records": [message("warm-up", test_event)] }));
        assert_eq!(answer, Ok(json!({ "batchItemFailures": [] })), "{}", host.log());
        host
    }

    /// An SQS batch of one message per object, each an S3 notification of it.
    fn batch(&self, objects: &[&Object]) -> Value {
        let messages: Vec<Value> =
            objects.iter().map(|o| message(&o.id, &json!({ "Records": [self.s3_record(o)] }).to_string())).collect();
        json!({ "Records": messages })
    }

    fn s3_record(&self, object: &Object) -> Value {
        json!({
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2025-03-02T10:00:00.000Z", "eventName": "ObjectCreated:Put",
            "s3": { "s3SchemaVersion": "1.0", "configurationId": "kelk",
                    "bucket": { "name": self.bucket, "arn": format!("arn:aws:s3:::{}", self.bucket) },
                    "object": { "key": object.key, "size": 1024, "eTag": object.etag, "versionId": object.version_id, "sequencer": "0055AED6DCD90281E5" } }
        })
    }

    /// The documents of `object` in OpenSearch now.
    fn indexed(&self, object: &Object) -> u64 {
        let pattern = format!("{}-*", self.prefix);
        self.cluster.request(Method::Post, &format!("/{pattern}/_refresh"), None).unwrap();
        let query = json!({ "query": { "prefix": { "url.path": format!("/f/{}/", object.id) } } }).to_string();
        let found = self.cluster.request(Method::Post, &format!("/{pattern}/_count"), Some(query.as_bytes())).unwrap();
        found.map_or(0, |f| f["count"].as_u64().unwrap())
    }

    /// The end state: what OpenSearch and the dead-letter store hold of `objects`, and the
    /// lines the host skipped (blank), as it last reported each object done.
    fn settle(&self, host: &Emulator, objects: &[&Object]) -> Settled {
        let pattern = format!("{}-*", self.prefix);
        let documents = index_count(&self.cluster, &pattern);
        // A line indexed twice (under two ids) is a path seen twice.
        let twice = json!({ "size": 0, "aggs": { "twice": { "terms": { "field": "url.path", "min_doc_count": 2, "size": 10000 } } } });
        let found = self
            .cluster
            .request(Method::Post, &format!("/{pattern}/_search"), Some(twice.to_string().as_bytes()))
            .unwrap()
            .unwrap();
        let extra: u64 = found["aggregations"]["twice"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["doc_count"].as_u64().unwrap() - 1)
            .sum();
        let dead = S3Uri { bucket: self.bucket.clone(), key: "dead/".into() };
        let mut letters = Vec::new();
        // Beside the parts of letters, an object's progress (`progress.json`).
        for listed in self.s3.list(&dead).unwrap().into_iter().filter(|l| l.key.ends_with(".ndjson")) {
            let part = self.s3.get(&S3Uri { bucket: self.bucket.clone(), key: listed.key }).unwrap().bytes;
            for line in String::from_utf8(part).unwrap().lines() {
                letters.push(serde_json::from_str::<Value>(line).unwrap());
            }
        }
        assert!(
            letters.iter().all(|l| l["excerpt"].as_str().is_some_and(|e| e.starts_with("not an access line"))),
            "{letters:?}"
        );
        // A letter is one line of one content: its key, its version (or ETag), its record.
        let distinct_letters: HashSet<(String, String, u64)> = letters
            .iter()
            .map(|l| {
                let object = &l["object"];
                let content = object.get("version_id").unwrap_or(&object["etag"]).to_string();
                (object["key"].as_str().unwrap().to_owned(), content, l["record_number"].as_u64().unwrap())
            })
            .collect();
        let sum = |f: fn(&Object) -> u64| objects.iter().map(|&o| f(o)).sum::<u64>();
        let (expected_documents, expected_letters) = (sum(|o| o.documents), sum(|o| o.rejected));
        let distinct_documents = documents - extra;
        Settled {
            lines: sum(|o| o.lines),
            documents,
            dead_letters: letters.len() as u64,
            skipped: objects
                .iter()
                .map(|o| {
                    // Every 100th line is blank: those before the checkpoint were skipped by the
                    // attempt that took it.
                    let (skipped, resumed) = skipped(host, o);
                    let skipped = skipped + resumed / 100;
                    assert_eq!(skipped, o.skipped, "{}: the lines skipped are the blank ones", o.key);
                    skipped
                })
                .sum(),
            lost: expected_documents.saturating_sub(distinct_documents)
                + expected_letters.saturating_sub(distinct_letters.len() as u64),
            duplicated: extra + (letters.len() - distinct_letters.len()) as u64,
            unexpected: distinct_documents.saturating_sub(expected_documents)
                + (distinct_letters.len() as u64).saturating_sub(expected_letters),
        }
    }

    /// Prints the scenario's row of the matrix, then checks it: every line accounted for,
    /// nothing lost, nothing twice.
    fn report(&self, injected: &str, settled: Settled, answers: &[String]) {
        let Settled { lines, documents, dead_letters, skipped, lost, duplicated, unexpected } = settled;
        println!(
            "| {} | {injected} | {lines} | {documents} | {dead_letters} | {skipped} | {lost} | {duplicated} | {} |",
            self.name,
            answers.join("; ")
        );
        assert_eq!((lost, duplicated, unexpected), (0, 0, 0), "{}: lost, duplicated, unexpected", self.name);
        assert_eq!(documents + dead_letters + skipped, lines, "{}: every line is accounted for", self.name);
    }
}

/// What the stores hold at the end of a scenario.
struct Settled {
    lines: u64,
    documents: u64,
    dead_letters: u64,
    skipped: u64,
    lost: u64,
    duplicated: u64,
    /// Documents or letters of no line expected to make one.
    unexpected: u64,
}

fn message(id: &str, body: &str) -> Value {
    json!({
        "messageId": id, "receiptHandle": "MessageReceiptHandle", "body": body,
        "attributes": { "ApproximateReceiveCount": "1", "SentTimestamp": "1523232000000", "SenderId": "123456789012", "ApproximateFirstReceiveTimestamp": "1523232000001" },
        "messageAttributes": {}, "md5OfBody": "7b270e59b47ff90a553787216d55d91d",
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:kelk-objects", "awsRegion": "us-east-1"
    })
}

/// The messages SQS delivers again after the host's answer to `batch`: those `batchItemFailures`
/// names, or every one after an invocation error.
fn redelivered<'o>(batch: &[&'o Object], invoked: &Invoked) -> Vec<&'o Object> {
    match &invoked.answer {
        Err(_) => batch.to_vec(),
        Ok(answer) => {
            let failed: Vec<&str> = answer["batchItemFailures"]
                .as_array()
                .unwrap_or_else(|| panic!("not an SQS answer: {answer}"))
                .iter()
                .map(|f| f["itemIdentifier"].as_str().unwrap())
                .collect();
            batch.iter().copied().filter(|o| failed.contains(&o.id.as_str())).collect()
        }
    }
}

/// The ids of the messages an answer fails.
fn failed_ids(batch: &[&Object], invoked: &Invoked) -> Vec<String> {
    redelivered(batch, invoked).iter().map(|o| o.id.clone()).collect()
}

/// An invocation's answer, and the metrics line the host printed for it (none when Lambda
/// ended the invocation at its timeout).
#[derive(Debug)]
struct Invoked {
    answer: Result<Value, Value>,
    metrics: Option<Value>,
}

/// The EMF metrics lines the host has printed.
fn metrics(host: &Emulator) -> Vec<Value> {
    let log = host.log();
    log.lines().filter(|l| l.contains("\"CloudWatchMetrics\"")).map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Invokes the host with `event`.
fn invoke(host: &Emulator, event: &Value) -> Invoked {
    let before = metrics(host).len();
    let answer = host.invoke(event);
    let printed = metrics(host);
    Invoked { answer, metrics: printed.get(before).cloned() }
}

/// An invocation, for the matrix: the answer, and what the bulk sink did.
fn said(what: &str, invoked: &Invoked) -> String {
    let answer = match &invoked.answer {
        Ok(answer) if answer.get("batchItemFailures").is_some() => {
            let ids: Vec<&str> = answer["batchItemFailures"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["itemIdentifier"].as_str().unwrap())
                .collect();
            format!("{what}: batchItemFailures [{}]", ids.join(", "))
        }
        Ok(answer) => format!("{what}: {answer}"),
        Err(error) => {
            let message = error["errorMessage"].as_str().unwrap_or_default();
            let cut = message.floor_char_boundary(100);
            let more = if cut < message.len() { "…" } else { "" };
            format!("{what}: invocation error ({}{more})", &message[..cut])
        }
    };
    match &invoked.metrics {
        Some(m) => format!(
            "{answer} (indexed {}, already there {}, bulk retries {}{})",
            m["Indexed"],
            m["AlreadyIndexed"],
            m["BulkRetries"],
            if m["ResumedObjects"] == 0 { "" } else { ", resumed at a checkpoint" }
        ),
        None => format!("{answer} (no metrics line: the invocation was ended)"),
    }
}

/// Invokes the host with `event` while `control` runs beside the invocation.
fn during<T>(host: &Emulator, event: &Value, control: impl FnOnce() -> T) -> (Invoked, T) {
    std::thread::scope(|s| {
        let invocation = s.spawn(|| invoke(host, event));
        let controlled = control();
        (invocation.join().unwrap(), controlled)
    })
}

/// Waits until `ready` holds, for at most `limit`.
fn wait_until(what: &str, limit: Duration, host: &Emulator, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}:\n{}", host.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the host has logged `message` (`input done`, `input failed`) for `object`.
fn logged(host: &Emulator, message: &str, object: &Object) -> bool {
    let message = format!("\"message\":\"{message}\"");
    host.log().lines().any(|l| l.contains(&message) && l.contains(&object.key))
}

/// The lines of `object` the host skipped, as its last `input done` line for it says, and the
/// records an earlier attempt's checkpoint accounted for, where that attempt resumed at one.
fn skipped(host: &Emulator, object: &Object) -> (u64, u64) {
    let log = host.log();
    let (mut resumed, mut done) = (0, None);
    // A version's lines name it (`?versionId=`): another version of the key is another object.
    let about = |l: &&str| l.contains(&object.key) && object.version_id.as_ref().is_none_or(|v| l.contains(v.as_str()));
    for line in log.lines().filter(about) {
        let fields = || serde_json::from_str::<Value>(line).unwrap()["fields"].clone();
        if line.contains("\"message\":\"resuming after an earlier attempt's checkpoint\"") {
            resumed = fields()["records"].as_u64().unwrap();
        } else if line.contains("\"message\":\"input done\"") {
            done = Some((fields()["skipped"].as_u64().unwrap(), resumed));
            resumed = 0;
        } else if line.contains("\"message\":\"input failed\"") {
            resumed = 0;
        }
    }
    done.unwrap_or_else(|| panic!("{} was never done:\n{log}", object.key))
}

/// Each bulk answer from OpenSearch comes 2 s late: every object is still indexed once.
#[test]
fn opensearch_latency() {
    let stage = Stage::new("os-latency");
    let objects = [stage.object("m1", 2000), stage.object("m2", 2000)];
    let batch: Vec<&Object> = objects.iter().collect();
    let host = stage.warm_host(&[]);
    stage.opensearch.add("latency", "latency", Stream::Downstream, json!({ "latency": 2000 }));
    let started = Instant::now();
    let answer = invoke(&host, &stage.batch(&batch));
    let took = started.elapsed();
    assert_eq!(failed_ids(&batch, &answer), Vec::<String>::new(), "{answer:?}\n{}", host.log());
    assert!(took >= Duration::from_secs(4), "two bulk answers, 2 s late each: {took:?}");
    let answers = [said("batch m1, m2", &answer)];
    stage.report("latency 2 s on OpenSearch's answers", stage.settle(&host, &batch), &answers);
}

/// The connection to OpenSearch is reset while an object's bulk request waits for its answer
/// (after OpenSearch has indexed it), and at every retry, until the object fails; the object
/// before it is done, the one after it (the toxic gone) too. Only the failed message is
/// retried, and its retry finds its documents there: none twice.
#[test]
fn opensearch_reset_peer_mid_object() {
    let stage = Stage::new("os-reset");
    let objects = [stage.object("m1", 1500), stage.object("m2", 1500), stage.object("m3", 1500)];
    let batch: Vec<&Object> = objects.iter().collect();
    let host = stage.warm_host(&[]);
    // Answers come 2 s late: the window in which the reset is put on the connection.
    stage.opensearch.add("latency", "latency", Stream::Downstream, json!({ "latency": 2000 }));
    let (answer, ()) = during(&host, &stage.batch(&batch), || {
        wait_until("m1 done", Duration::from_secs(60), &host, || logged(&host, "input done", &objects[0]));
        stage.opensearch.add("reset", "reset_peer", Stream::Downstream, json!({ "timeout": 0 }));
        wait_until("m2 failed", Duration::from_secs(90), &host, || logged(&host, "input failed", &objects[1]));
        stage.opensearch.remove("reset");
    });
    assert_eq!(failed_ids(&batch, &answer), ["m2"], "{answer:?}\n{}", host.log());
    let again = redelivered(&batch, &answer);
    let retry = invoke(&host, &stage.batch(&again));
    assert_eq!(failed_ids(&again, &retry), Vec::<String>::new(), "{retry:?}\n{}", host.log());
    assert_eq!(
        retry.metrics.as_ref().unwrap()["AlreadyIndexed"].as_u64(),
        Some(objects[1].documents),
        "OpenSearch had indexed m2 before its answers were cut: {retry:?}"
    );
    let answers = [said("batch m1, m2, m3", &answer), said("m2 again", &retry)];
    stage.report(
        "reset_peer on OpenSearch's answers (2 s late) from m1's end to m2's failure",
        stage.settle(&host, &batch),
        &answers,
    );
}

/// OpenSearch stops taking anything on the connection in the middle of a batch (a black hole:
/// the timeout toxic, never closing), after m1 is indexed and before m2's bulk request; the
/// invocation, with a 10 s timeout, cannot finish. (S3's answers come 1 s late, which leaves
/// the time to put the stall on between the two.)
#[test]
fn opensearch_timeout_stalls_the_connection() {
    let stage = Stage::new("os-stall");
    let objects = [stage.object("m1", 1500), stage.object("m2", 1500)];
    let batch: Vec<&Object> = objects.iter().collect();
    let settings = [("AWS_LAMBDA_FUNCTION_TIMEOUT", "10"), ("KELK_DEADLINE_MARGIN_MS", "3000")];
    let host = stage.warm_host(&settings);
    stage.storage.add("latency", "latency", Stream::Downstream, json!({ "latency": 1000 }));
    let (answer, ()) = during(&host, &stage.batch(&batch), || {
        let m1 = &objects[0];
        wait_until("m1 indexed", Duration::from_secs(30), &host, || stage.indexed(m1) == m1.documents);
        stage.opensearch.add("stall", "timeout", Stream::Upstream, json!({ "timeout": 0 }));
    });
    assert!(logged(&host, "input done", &objects[0]), "{}", host.log());
    assert!(!logged(&host, "input done", &objects[1]), "{}", host.log());
    // Answered within the invocation, naming only m2: not an invocation cut off by Lambda.
    assert_eq!(failed_ids(&batch, &answer), ["m2"], "{answer:?}\n{}", host.log());
    stage.opensearch.remove("stall");
    stage.storage.remove("latency");
    let again = redelivered(&batch, &answer);
    let retry = invoke(&host, &stage.batch(&again));
    assert_eq!(failed_ids(&again, &retry), Vec::<String>::new(), "{retry:?}\n{}", host.log());
    let retried: Vec<&str> = again.iter().map(|o| o.id.as_str()).collect();
    let answers = [said("batch m1, m2", &answer), said(&format!("{} again", retried.join(", ")), &retry)];
    stage.report(
        "timeout (stall, never closed) on requests to OpenSearch after m1 is indexed; Lambda timeout 10 s",
        stage.settle(&host, &batch),
        &answers,
    );
}

/// A slow link to OpenSearch (75 KB/s): a 5 MiB bulk body takes about 70 s on the wire, past
/// the 60 s a request once had in all, and is delivered: a request is given 60 s plus its
/// body's time at 50 kB/s.
#[test]
fn opensearch_bandwidth_slow_link() {
    let stage = Stage::new("os-bandwidth");
    // About 5.6 MB of bulk body: one of 5 MiB, and the rest.
    let objects = [stage.object("m1", 9000)];
    let batch: Vec<&Object> = objects.iter().collect();
    let host = stage.warm_host(&[]);
    stage.opensearch.add("slow", "bandwidth", Stream::Upstream, json!({ "rate": 75 }));
    let started = Instant::now();
    let answer = invoke(&host, &stage.batch(&batch));
    let took = started.elapsed();
    assert_eq!(failed_ids(&batch, &answer), Vec::<String>::new(), "{answer:?}\n{}", host.log());
    assert!(took > Duration::from_secs(60), "the 5 MiB body took longer than 60 s on the wire: {took:?}");
    assert_eq!(answer.metrics.as_ref().unwrap()["BulkRetries"], 0, "delivered at the first attempt: {answer:?}");
    let answers = [format!("{}, in {:.0} s", said("m1", &answer), took.as_secs_f64())];
    stage.report("bandwidth 75 KB/s on requests to OpenSearch", stage.settle(&host, &batch), &answers);
}

/// Requests and answers cut into small slices with delays between them: delivered whole.
#[test]
fn opensearch_slicer() {
    let stage = Stage::new("os-slicer");
    let objects = [stage.object("m1", 2000), stage.object("m2", 2000)];
    let batch: Vec<&Object> = objects.iter().collect();
    let host = stage.warm_host(&[]);
    let slices = json!({ "average_size": 128, "size_variation": 96, "delay": 50 });
    stage.opensearch.add("slice-requests", "slicer", Stream::Upstream, slices.clone());
    stage.opensearch.add("slice-answers", "slicer", Stream::Downstream, slices);
    let answer = invoke(&host, &stage.batch(&batch));
    assert_eq!(failed_ids(&batch, &answer), Vec::<String>::new(), "{answer:?}\n{}", host.log());
    let answers = [said("batch m1, m2", &answer)];
    stage.report(
        "slicer (128 ± 96 B slices, 50 µs apart) both ways to OpenSearch",
        stage.settle(&host, &batch),
        &answers,
    );
}

/// OpenSearch is unreachable when the host starts (the proxy disabled: connections refused):
/// the plugin's index template cannot be checked, so there is no routing config to work with
/// and the invocation fails; once OpenSearch is back, the retry indexes everything once.
#[test]
fn opensearch_down_at_start() {
    let stage = Stage::new("os-down");
    let objects = [stage.object("m1", 1500), stage.object("m2", 1500)];
    let batch: Vec<&Object> = objects.iter().collect();
    stage.opensearch.enable(false);
    let host = stage.host(&[]);
    let answer = invoke(&host, &stage.batch(&batch));
    assert_eq!(failed_ids(&batch, &answer), ["m1", "m2"], "{answer:?}\n{}", host.log());
    assert_eq!(objects.iter().map(|o| stage.indexed(o)).sum::<u64>(), 0);
    stage.opensearch.enable(true);
    let again = redelivered(&batch, &answer);
    let retry = invoke(&host, &stage.batch(&again));
    assert_eq!(failed_ids(&again, &retry), Vec::<String>::new(), "{retry:?}\n{}", host.log());
    let answers = [said("batch m1, m2", &answer), said("m1, m2 again", &retry)];
    stage.report("OpenSearch refusing connections at cold start, then back", stage.settle(&host, &batch), &answers);
}

/// The S3 connection is reset while the host streams an object (GetObject cut about a quarter
/// of the way, the download slowed to 100 KB/s to make room): that object fails, with what it
/// had parsed indexed; the object before it is done; only its message is retried.
#[test]
fn s3_reset_peer_while_streaming() {
    let stage = Stage::new("s3-reset");
    let objects = [stage.object("m1", 200), stage.object("m2", 8000)];
    let batch: Vec<&Object> = objects.iter().collect();
    let host = stage.warm_host(&[]);
    stage.storage.add("slow", "bandwidth", Stream::Downstream, json!({ "rate": 100 }));
    let (answer, ()) = during(&host, &stage.batch(&batch), || {
        wait_until("m1 done", Duration::from_secs(30), &host, || logged(&host, "input done", &objects[0]));
        std::thread::sleep(Duration::from_secs(3));
        stage.storage.add("reset", "reset_peer", Stream::Downstream, json!({ "timeout": 0 }));
    });
    assert_eq!(failed_ids(&batch, &answer), ["m2"], "{answer:?}\n{}", host.log());
    let partial = stage.indexed(&objects[1]);
    assert!(0 < partial && partial < objects[1].documents, "cut mid-object: {partial} documents made it");
    stage.storage.remove("reset");
    stage.storage.remove("slow");
    let again = redelivered(&batch, &answer);
    let retry = invoke(&host, &stage.batch(&again));
    assert_eq!(failed_ids(&again, &retry), Vec::<String>::new(), "{retry:?}\n{}", host.log());
    let answers = [
        format!("{} ({partial} of m2's documents indexed before the cut)", said("batch m1, m2", &answer)),
        said("m2 again", &retry),
    ];
    stage.report("reset_peer on S3's answers 3 s into m2's download (100 KB/s)", stage.settle(&host, &batch), &answers);
}

/// S3 stops sending in the middle of an object (the timeout toxic, never closing): the S3
/// client's stalled-stream protection ends the download after its grace period (5 s), the
/// object fails with what it had parsed indexed, and only its message is retried.
#[test]
fn s3_timeout_stalls_the_download() {
    let stage = Stage::new("s3-stall");
    let objects = [stage.object("m1", 200), stage.object("m2", 8000)];
    let batch: Vec<&Object> = objects.iter().collect();
    let host = stage.warm_host(&[]);
    stage.storage.add("slow", "bandwidth", Stream::Downstream, json!({ "rate": 100 }));
    let (answer, stalled_for) = during(&host, &stage.batch(&batch), || {
        wait_until("m1 done", Duration::from_secs(30), &host, || logged(&host, "input done", &objects[0]));
        std::thread::sleep(Duration::from_secs(3));
        stage.storage.add("stall", "timeout", Stream::Downstream, json!({ "timeout": 0 }));
        let stalled = Instant::now();
        // Once the download is given up, the host indexes what it parsed, then writes the
        // object's dead letters, whose answer the stall holds: the stall ends there.
        wait_until("m2's download given up", Duration::from_secs(60), &host, || stage.indexed(&objects[1]) > 0);
        let stalled_for = stalled.elapsed();
        stage.storage.remove("stall");
        stalled_for
    });
    assert_eq!(failed_ids(&batch, &answer), ["m2"], "{answer:?}\n{}", host.log());
    let partial = stage.indexed(&objects[1]);
    assert!(0 < partial && partial < objects[1].documents, "cut mid-object: {partial} documents made it");
    assert!(stalled_for >= Duration::from_secs(5), "given up after the grace period: {stalled_for:?}");
    stage.storage.remove("slow");
    let again = redelivered(&batch, &answer);
    let retry = invoke(&host, &stage.batch(&again));
    assert_eq!(failed_ids(&again, &retry), Vec::<String>::new(), "{retry:?}\n{}", host.log());
    let answers = [
        format!(
            "{} (download given up {:.0} s into the stall; {partial} of m2's documents indexed)",
            said("batch m1, m2", &answer),
            stalled_for.as_secs_f64()
        ),
        said("m2 again", &retry),
    ];
    stage.report(
        "timeout (stall, never closed) on S3's answers 3 s into m2's download (100 KB/s)",
        stage.settle(&host, &batch),
        &answers,
    );
}

/// Every S3 answer 1 s late, from the cold start on (routing config, plugin, objects, dead
/// letters): everything delivered once.
#[test]
fn s3_latency() {
    let stage = Stage::new("s3-latency");
    let objects = [stage.object("m1", 2000), stage.object("m2", 2000)];
    let batch: Vec<&Object> = objects.iter().collect();
    stage.storage.add("latency", "latency", Stream::Downstream, json!({ "latency": 1000 }));
    let host = stage.host(&[]);
    let answer = invoke(&host, &stage.batch(&batch));
    assert_eq!(failed_ids(&batch, &answer), Vec::<String>::new(), "{answer:?}\n{}", host.log());
    let answers = [said("batch m1, m2 (cold start)", &answer)];
    stage.report("latency 1 s on S3's answers, from the cold start", stage.settle(&host, &batch), &answers);
}

/// The rejected lines' letters of `object` in the dead-letter store now.
fn letters(stage: &Stage, object: &Object) -> u64 {
    let folder =
        S3Uri { bucket: stage.bucket.clone(), key: format!("dead/{}/{}/{}/", stage.bucket, object.key, object.etag) };
    let parts = stage.s3.list(&folder).unwrap().into_iter().filter(|l| l.key.ends_with(".ndjson"));
    parts
        .map(|l| stage.s3.get(&S3Uri { bucket: stage.bucket.clone(), key: l.key }).unwrap().bytes)
        .map(|part| part.iter().filter(|&&b| b == b'\n').count() as u64)
        .sum()
}

/// An object that cannot be indexed in one invocation (OpenSearch reached at 150 KB/s,
/// 7 s of work in each): each attempt takes a checkpoint every 500 records, and the next
/// resumes at the last one instead of sending everything again, so the object is done on the
/// third delivery. Without checkpoints, every attempt would send the object whole, and none
/// could finish.
#[test]
fn an_object_too_long_for_one_invocation_resumes_at_its_checkpoints() {
    let stage = Stage::new("deadline-resume");
    let objects = [stage.object("m1", 5000)];
    let batch: Vec<&Object> = objects.iter().collect();
    let settings = [
        ("AWS_LAMBDA_FUNCTION_TIMEOUT", "10"),
        ("KELK_DEADLINE_MARGIN_MS", "3000"),
        ("KELK_CHECKPOINT_RECORDS", "500"),
    ];
    let host = stage.warm_host(&settings);
    stage.opensearch.add("slow", "bandwidth", Stream::Upstream, json!({ "rate": 150 }));
    let mut answers = Vec::new();
    let mut indexed = Vec::new();
    for attempt in 1..=6 {
        let invoked = invoke(&host, &stage.batch(&batch));
        answers.push(said(&format!("delivery {attempt}"), &invoked));
        indexed.push(stage.indexed(&objects[0]));
        let metrics = invoked.metrics.as_ref().unwrap_or_else(|| panic!("{invoked:?}\n{}", host.log()));
        assert_eq!(metrics["ResumedObjects"], u64::from(attempt > 1), "{invoked:?}");
        if failed_ids(&batch, &invoked).is_empty() {
            break;
        }
    }
    assert!(
        indexed.len() >= 3 && indexed.last() == Some(&objects[0].documents),
        "documents after each delivery: {indexed:?}\n{answers:?}"
    );
    assert!(indexed.windows(2).all(|w| w[0] < w[1]), "each delivery indexes more: {indexed:?}");
    stage.opensearch.remove("slow");
    answers.push(format!("documents after each delivery: {indexed:?}"));
    stage.report(
        "bandwidth 150 KB/s on requests to OpenSearch, Lambda timeout 10 s (7 s of work), a checkpoint every 500 records",
        stage.settle(&host, &batch),
        &answers,
    );
}

/// Two instances at one object: one indexes it whole; another, later (a duplicate delivery),
/// is cut short by its deadline part-way, reading the object at 100 KB/s. The late attempt
/// writes none of its letters, so the complete set the first wrote stays whole; a third
/// delivery, after the cut, rewrites the same set.
#[test]
fn a_late_attempt_cut_short_keeps_the_complete_dead_letters() {
    let stage = Stage::new("late-attempt");
    let objects = [stage.object("m1", 8000)];
    let batch: Vec<&Object> = objects.iter().collect();
    let first = stage.warm_host(&[]);
    let done = invoke(&first, &stage.batch(&batch));
    assert_eq!(failed_ids(&batch, &done), Vec::<String>::new(), "{done:?}\n{}", first.log());
    assert_eq!(letters(&stage, &objects[0]), objects[0].rejected);
    let settings = [("AWS_LAMBDA_FUNCTION_TIMEOUT", "10"), ("KELK_DEADLINE_MARGIN_MS", "3000")];
    let late = stage.warm_host(&settings);
    stage.storage.add("slow", "bandwidth", Stream::Downstream, json!({ "rate": 100 }));
    let cut = invoke(&late, &stage.batch(&batch));
    stage.storage.remove("slow");
    assert_eq!(failed_ids(&batch, &cut), ["m1"], "{cut:?}\n{}", late.log());
    assert!(late.log().contains("stopped before the deadline"), "{}", late.log());
    assert_eq!(letters(&stage, &objects[0]), objects[0].rejected, "the cut attempt took no letter away");
    let again = invoke(&late, &stage.batch(&batch));
    assert_eq!(failed_ids(&batch, &again), Vec::<String>::new(), "{again:?}\n{}", late.log());
    let answers = [
        said("m1, first instance", &done),
        said("m1, second instance, cut", &cut),
        said("m1 again, second instance", &again),
    ];
    stage.report(
        "a second instance reads m1 at 100 KB/s after the first indexed it, and is cut by its 10 s timeout",
        stage.settle(&late, &batch),
        &answers,
    );
}

/// The same batch delivered to two instances at once (SQS delivers a message at least once;
/// a visibility timeout shorter than the work delivers it again while the first is at it):
/// both are done, and each line is one document or one letter.
#[test]
fn the_same_batch_to_two_instances_at_once() {
    let stage = Stage::new("twice-at-once");
    let objects = [stage.object("m1", 3000), stage.object("m2", 3000)];
    let batch: Vec<&Object> = objects.iter().collect();
    let (one, two) = (stage.warm_host(&[]), stage.warm_host(&[]));
    let event = stage.batch(&batch);
    let (first, second) = std::thread::scope(|s| {
        let first = s.spawn(|| invoke(&one, &event));
        let second = invoke(&two, &event);
        (first.join().unwrap(), second)
    });
    for (host, answer) in [(&one, &first), (&two, &second)] {
        assert_eq!(failed_ids(&batch, answer), Vec::<String>::new(), "{answer:?}\n{}", host.log());
    }
    let total = |m: &Invoked, field: &str| m.metrics.as_ref().unwrap()[field].as_u64().unwrap();
    let documents = objects.iter().map(|o| o.documents).sum::<u64>();
    let answers = [said("m1, m2, first instance", &first), said("m1, m2, second instance", &second)];
    stage.report("the same SQS batch to two instances at once", stage.settle(&one, &batch), &answers);
    assert_eq!(
        total(&first, "Indexed") + total(&second, "Indexed"),
        documents,
        "each document created by one instance, found there by the other"
    );
}

/// The host process killed (`kill -9`) in the middle of an object, after a checkpoint, as an
/// out-of-memory kill would: the invocation fails whole, and the redelivery, in the instance
/// Lambda starts again, resumes at the checkpoint.
#[test]
fn the_host_killed_mid_object_resumes_at_its_checkpoint() {
    let stage = Stage::new("host-killed");
    let objects = [stage.object("m1", 200), stage.object("m2", 5000)];
    let batch: Vec<&Object> = objects.iter().collect();
    let host = stage.warm_host(&[("KELK_CHECKPOINT_RECORDS", "1000")]);
    stage.opensearch.add("slow", "bandwidth", Stream::Upstream, json!({ "rate": 150 }));
    let progress = S3Uri {
        bucket: stage.bucket.clone(),
        key: format!("dead/{}/{}/{}/progress.json", stage.bucket, objects[1].key, objects[1].etag),
    };
    let (killed, ()) = during(&host, &stage.batch(&batch), || {
        wait_until("m2's first checkpoint", Duration::from_secs(60), &host, || stage.s3.get(&progress).is_ok());
        host.kill_host();
    });
    assert!(killed.answer.is_err() && killed.metrics.is_none(), "{killed:?}");
    let partial = stage.indexed(&objects[1]);
    assert!(0 < partial && partial < objects[1].documents, "killed mid-object: {partial} documents made it");
    stage.opensearch.remove("slow");
    let again = redelivered(&batch, &killed);
    let retry = invoke(&host, &stage.batch(&again));
    assert_eq!(failed_ids(&again, &retry), Vec::<String>::new(), "{retry:?}\n{}", host.log());
    assert_eq!(retry.metrics.as_ref().unwrap()["ResumedObjects"], 1, "m2 resumed: {retry:?}");
    let answers = [
        format!(
            "batch m1, m2: the host killed after m2's first checkpoint, no answer ({partial} of m2's documents indexed)"
        ),
        said("m1, m2 again", &retry),
    ];
    stage.report(
        "kill -9 of the host process after m2's first checkpoint (OpenSearch at 150 KB/s, a checkpoint every 1,000 records)",
        stage.settle(&host, &batch),
        &answers,
    );
}

/// Messages that can never succeed beside one that does: an object no route takes, an object
/// deleted before it was read, a bucket no route names. The good one is done; each other is
/// named in `batchItemFailures`, with its reason logged, so that SQS retries it and, after the
/// queue's `maxReceiveCount`, keeps it in the dead-letter queue.
#[test]
fn unroutable_and_missing_objects_fail_their_messages_only() {
    let stage = Stage::new("missing");
    let objects = [stage.object("m1", 1500)];
    let stray = |id: &str, bucket: &str, key: &str| {
        let record = json!({ "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": { "bucket": { "name": bucket }, "object": { "key": key, "size": 1024, "eTag": "0123456789abcdef0123456789abcdef" } } });
        message(id, &json!({ "Records": [record] }).to_string())
    };
    let other = S3Uri { bucket: stage.bucket.clone(), key: "other/x.log".into() };
    stage.s3.put(&other, APACHE_LINE.as_bytes().to_vec(), "text/plain", Precondition::None).unwrap();
    let mut event = stage.batch(&[&objects[0]]);
    event["Records"].as_array_mut().unwrap().extend([
        stray("no-route", &stage.bucket, "other/x.log"),
        stray("deleted", &stage.bucket, "logs/deleted.log"),
        stray("no-bucket", &format!("{}-none", stage.bucket), "logs/x.log"),
    ]);
    let host = stage.warm_host(&[]);
    let answer = invoke(&host, &event);
    let failed: Vec<&str> = answer.answer.as_ref().unwrap()["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["no-route", "deleted", "no-bucket"], "{answer:?}\n{}", host.log());
    let log = host.log();
    for reason in [
        "other/x.log: no route of the routing config matches it",
        "logs/deleted.log: cannot open it: s3://",
        "-none/logs/x.log: no route of the routing config matches it",
    ] {
        assert!(log.contains(reason), "{reason}:\n{log}");
    }
    let answers = [said("m1, no-route, deleted, no-bucket", &answer)];
    stage.report(
        "besides m1, an object no route takes, an object deleted before it was read, an event of a bucket no route names",
        stage.settle(&host, &[&objects[0]]),
        &answers,
    );
}

/// A key overwritten in a bucket that keeps versions: each version is content of its own, whose
/// lines are documents and letters of their own, and a late notification of the first version,
/// after the second replaced it, reads the first by its version id and finds it indexed.
#[test]
fn an_overwritten_key_in_a_versioned_bucket_indexes_each_version_once() {
    let stage = Stage::new("versioned");
    let url = format!("{}/{}?versioning", env("KELK_TEST_S3"), stage.bucket);
    let versioning = r#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#;
    let enabled = Command::new("curl")
        .args(["-fsS", "-o", "/dev/null", "-X", "PUT", "-H", "Content-Type: application/xml"])
        .args(["--data-binary", versioning, &url])
        .status();
    assert!(enabled.unwrap().success(), "cannot turn versioning on");
    let host = stage.warm_host(&[]);
    let first = stage.object_at("v1", "logs/app.log", 1500);
    let one = invoke(&host, &stage.batch(&[&first]));
    let second = stage.object_at("v2", "logs/app.log", 1000);
    assert!(
        first.version_id.is_some() && first.version_id != second.version_id,
        "{:?} {:?}",
        first.version_id,
        second.version_id
    );
    let two = invoke(&host, &stage.batch(&[&second]));
    let late = invoke(&host, &stage.batch(&[&first]));
    for answer in [&one, &two, &late] {
        assert_eq!(answer.answer, Ok(json!({ "batchItemFailures": [] })), "{answer:?}\n{}", host.log());
    }
    assert_eq!(late.metrics.as_ref().unwrap()["AlreadyIndexed"].as_u64(), Some(first.documents), "{late:?}");
    let answers = [
        said("version 1", &one),
        said("version 2", &two),
        said("version 1's notification again, after version 2", &late),
    ];
    stage.report(
        "one key written twice in a versioned bucket (1500 lines, then 1000), the first version's notification delivered again last",
        stage.settle(&host, &[&first, &second]),
        &answers,
    );
}
