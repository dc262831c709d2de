//! The world of a fault scenario (`tests/tests/faults.rs`): the real host under the Lambda
//! Runtime Interface Emulator, reaching OpenSearch and the S3 server through toxiproxy proxies
//! of the scenario's own, a bucket and an index prefix of its own, objects of Apache lines,
//! SQS batches of their S3 notifications, and the end state checked line by line: every line
//! in a document, a dead letter or a skipped blank line, none lost and none twice.

use crate::emulator::Emulator;
use crate::toxiproxy::{Proxy, Toxiproxy};
use crate::{APACHE_LINE, index_count, plugin_wasm};
use kelk_runtime::aws::s3::{Precondition, S3, S3Uri};
use kelk_runtime::opensearch::{Auth, Cluster};
use opensearch::http::Method;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

/// A setting `make test` gives the tests: where a server is.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run `make test`, which starts the servers"))
}

/// An object of Apache lines: each good line has a path of its own (`/f/<id>/<line>`), every
/// 37th line is not an access line (a dead letter), every 100th is blank (skipped).
pub struct Object {
    /// Also its SQS message's id.
    pub id: String,
    pub key: String,
    pub etag: String,
    /// Where the bucket keeps versions.
    pub version_id: Option<String>,
    pub lines: u64,
    pub documents: u64,
    pub rejected: u64,
    pub skipped: u64,
}

/// One scenario's world: a bucket holding the plugin, the routing config, the objects and the
/// dead letters; an index prefix; a proxy in front of OpenSearch and one in front of S3.
pub struct Stage {
    pub name: &'static str,
    pub bucket: String,
    pub prefix: String,
    pub s3: S3,
    pub cluster: Cluster,
    pub opensearch: Proxy,
    pub storage: Proxy,
    /// Hosts started so far: each logs to a file of its own.
    hosts: std::cell::Cell<u32>,
}

impl Stage {
    /// A stage on the test OpenSearch (`KELK_TEST_OPENSEARCH`).
    pub fn new(name: &'static str) -> Self {
        Stage::on(name, &env("KELK_TEST_OPENSEARCH"))
    }

    /// A stage on the OpenSearch at `opensearch`: a node of the scenario's own, for faults
    /// inside the server (a node killed, a saturated write pool).
    pub fn on(name: &'static str, opensearch: &str) -> Self {
        let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
        let bucket = format!("faults-{name}-{run}");
        let url = format!("{}/{bucket}", env("KELK_TEST_S3"));
        let made = Command::new("curl").args(["-fsS", "-o", "/dev/null", "-X", "PUT", &url]).status().unwrap();
        assert!(made.success(), "cannot create bucket {bucket}");
        let s3 = S3::new(&crate::aws());
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
        let cluster = Cluster::connect(opensearch, Auth::None, &crate::aws()).unwrap();
        cluster.request(Method::Delete, &format!("/{prefix}-*"), None).unwrap();
        let toxiproxy = Toxiproxy::from_env();
        let opensearch = toxiproxy.proxy(&format!("faults-{name}-opensearch"), opensearch);
        let storage = toxiproxy.proxy(&format!("faults-{name}-s3"), &env("KELK_TEST_S3"));
        Stage { name, bucket, prefix, s3, cluster, opensearch, storage, hosts: Default::default() }
    }

    /// Puts an object of `lines` lines under `logs/<id>.log`.
    pub fn object(&self, id: &str, lines: u64) -> Object {
        self.object_at(id, &format!("logs/{id}.log"), lines)
    }

    /// Puts an object of `lines` lines, whose paths name `id`, under `key`.
    pub fn object_at(&self, id: &str, key: &str, lines: u64) -> Object {
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

    /// Adds a route to the routing config (for the hosts started next): `bucket`'s `logs/*`
    /// through the stage's plugin into its index prefix, as the stage's own bucket's.
    pub fn route_bucket(&self, bucket: &str) {
        let uri = S3Uri { bucket: self.bucket.clone(), key: "routing.json".into() };
        let mut routing: Value = serde_json::from_slice(&self.s3.get(&uri).unwrap().bytes).unwrap();
        let mut route = routing["routes"][0].clone();
        route["bucket"] = json!(bucket);
        routing["routes"].as_array_mut().unwrap().push(route);
        self.s3.put(&uri, routing.to_string().into_bytes(), "application/octet-stream", Precondition::None).unwrap();
    }

    /// The host, reaching OpenSearch and S3 through the proxies.
    pub fn host(&self, settings: &[(&str, &str)]) -> Emulator {
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
            // The objects of a batch one after the other, so that a fault put on between two
            // lands where the scenario says (objects at once: tests/tests/lambda.rs).
            ("KELK_WORKERS", "1"),
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
    pub fn warm_host(&self, settings: &[(&str, &str)]) -> Emulator {
        let host = self.host(settings);
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"logs"}"#;
        let answer = host.invoke(&json!({ "Records": [message("warm-up", test_event)] }));
        assert_eq!(answer, Ok(json!({ "batchItemFailures": [] })), "{}", host.log());
        host
    }

    /// An SQS batch of one message per object, each an S3 notification of it.
    pub fn batch(&self, objects: &[&Object]) -> Value {
        let messages: Vec<Value> =
            objects.iter().map(|o| message(&o.id, &json!({ "Records": [self.s3_record(o)] }).to_string())).collect();
        json!({ "Records": messages })
    }

    pub fn s3_record(&self, object: &Object) -> Value {
        json!({
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2025-03-02T10:00:00.000Z", "eventName": "ObjectCreated:Put",
            "s3": { "s3SchemaVersion": "1.0", "configurationId": "kelk",
                    "bucket": { "name": self.bucket, "arn": format!("arn:aws:s3:::{}", self.bucket) },
                    "object": { "key": object.key, "size": 1024, "eTag": object.etag, "versionId": object.version_id, "sequencer": "0055AED6DCD90281E5" } }
        })
    }

    /// The documents of `object` in OpenSearch now.
    pub fn indexed(&self, object: &Object) -> u64 {
        let pattern = format!("{}-*", self.prefix);
        self.cluster.request(Method::Post, &format!("/{pattern}/_refresh"), None).unwrap();
        let query = json!({ "query": { "prefix": { "url.path": format!("/f/{}/", object.id) } } }).to_string();
        let found = self.cluster.request(Method::Post, &format!("/{pattern}/_count"), Some(query.as_bytes())).unwrap();
        found.map_or(0, |f| f["count"].as_u64().unwrap())
    }

    /// The end state: what OpenSearch and the dead-letter store hold of `objects`, and the
    /// lines the host skipped (blank), as it last reported each object done.
    pub fn settle(&self, host: &Emulator, objects: &[&Object]) -> Settled {
        let done: Vec<(&Emulator, &Object)> = objects.iter().map(|&o| (host, o)).collect();
        self.settle_each(&done)
    }

    /// As [`Stage::settle`], each object as the host beside it last reported it done: a host's
    /// log names an object's key and version, not its ETag, so two contents of one key in a
    /// bucket without versions are told apart by the hosts that did them.
    pub fn settle_each(&self, done: &[(&Emulator, &Object)]) -> Settled {
        let objects: Vec<&Object> = done.iter().map(|&(_, o)| o).collect();
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
            skipped: done
                .iter()
                .map(|&(host, o)| {
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
    pub fn report(&self, injected: &str, settled: Settled, answers: &[String]) {
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
pub struct Settled {
    pub lines: u64,
    pub documents: u64,
    pub dead_letters: u64,
    pub skipped: u64,
    pub lost: u64,
    pub duplicated: u64,
    /// Documents or letters of no line expected to make one.
    pub unexpected: u64,
}

pub fn message(id: &str, body: &str) -> Value {
    json!({
        "messageId": id, "receiptHandle": "MessageReceiptHandle", "body": body,
        "attributes": { "ApproximateReceiveCount": "1", "SentTimestamp": "1523232000000", "SenderId": "123456789012", "ApproximateFirstReceiveTimestamp": "1523232000001" },
        "messageAttributes": {}, "md5OfBody": "7b270e59b47ff90a553787216d55d91d",
        "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:kelk-objects", "awsRegion": "us-east-1"
    })
}

/// The messages SQS delivers again after the host's answer to `batch`: those `batchItemFailures`
/// names, or every one after an invocation error.
pub fn redelivered<'o>(batch: &[&'o Object], invoked: &Invoked) -> Vec<&'o Object> {
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
pub fn failed_ids(batch: &[&Object], invoked: &Invoked) -> Vec<String> {
    redelivered(batch, invoked).iter().map(|o| o.id.clone()).collect()
}

/// An invocation's answer, and the metrics line the host printed for it (none when Lambda
/// ended the invocation at its timeout).
#[derive(Debug)]
pub struct Invoked {
    pub answer: Result<Value, Value>,
    pub metrics: Option<Value>,
}

/// The EMF metrics lines the host has printed.
pub fn metrics(host: &Emulator) -> Vec<Value> {
    let log = host.log();
    log.lines().filter(|l| l.contains("\"CloudWatchMetrics\"")).map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Invokes the host with `event`.
pub fn invoke(host: &Emulator, event: &Value) -> Invoked {
    let before = metrics(host).len();
    let answer = host.invoke(event);
    let printed = metrics(host);
    Invoked { answer, metrics: printed.get(before).cloned() }
}

/// An invocation, for the matrix: the answer, and what the bulk sink did.
pub fn said(what: &str, invoked: &Invoked) -> String {
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
pub fn during<T>(host: &Emulator, event: &Value, control: impl FnOnce() -> T) -> (Invoked, T) {
    std::thread::scope(|s| {
        let invocation = s.spawn(|| invoke(host, event));
        let controlled = control();
        (invocation.join().unwrap(), controlled)
    })
}

/// Waits until `ready` holds, for at most `limit`.
pub fn wait_until(what: &str, limit: Duration, host: &Emulator, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}:\n{}", host.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the host has logged `message` (`input done`, `input failed`) for `object`.
pub fn logged(host: &Emulator, message: &str, object: &Object) -> bool {
    let message = format!("\"message\":\"{message}\"");
    host.log().lines().any(|l| l.contains(&message) && l.contains(&object.key))
}

/// The lines of `object` the host skipped, as its last `input done` line for it says, and the
/// records an earlier attempt's checkpoint accounted for, where that attempt resumed at one.
pub fn skipped(host: &Emulator, object: &Object) -> (u64, u64) {
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

/// The rejected lines' letters of `object` in the dead-letter store now.
pub fn letters(stage: &Stage, object: &Object) -> u64 {
    let folder =
        S3Uri { bucket: stage.bucket.clone(), key: format!("dead/{}/{}/{}/", stage.bucket, object.key, object.etag) };
    let parts = stage.s3.list(&folder).unwrap().into_iter().filter(|l| l.key.ends_with(".ndjson"));
    parts
        .map(|l| stage.s3.get(&S3Uri { bucket: stage.bucket.clone(), key: l.key }).unwrap().bytes)
        .map(|part| part.iter().filter(|&&b| b == b'\n').count() as u64)
        .sum()
}
