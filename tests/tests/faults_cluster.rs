//! Faults inside OpenSearch, met by the real host as `tests/tests/faults.rs` runs it: the
//! `kelk-lambda` binary under the Lambda Runtime Interface Emulator, reaching OpenSearch and the
//! S3 server through toxiproxy proxies of the scenario's own, sent SQS batches of S3
//! notifications. The node is killed and started again on its data, its write pool is too small
//! for two hosts at once, an index is blocked for writes, a body is over what the node takes.
//! Where the fault would reach the other tests, the scenario has a node of its own, which
//! `make test` starts beside the shared one: `KELK_TEST_OPENSEARCH_KILLABLE` (a node `os-killed`
//! kills) and `KELK_TEST_OPENSEARCH_BUSY` (a write pool of one thread and a queue of one);
//! `os-413` uses the node taking bodies of at most 1 MB (`KELK_TEST_OPENSEARCH_SMALL_BODIES`),
//! and `os-write-block` blocks an index of its own on the shared node. Each scenario checks, in
//! OpenSearch and in the dead-letter store, that every line in is a document, a dead letter or a
//! skipped blank line, none lost and none twice; that a refusal which passes (a 429, a write
//! block, a node gone) is retried and never dead-lettered; and that the host's answer makes the
//! event source retry what failed (`batchItemFailures` naming exactly the failed messages),
//! whose redelivery completes the work. Each prints its row of the matrix in RELIABILITY.md
//! (seen with `--nocapture`).

use kelk_tests::emulator::Emulator;
use kelk_tests::stage::*;
use kelk_tests::toxiproxy::Stream;
use kelk_tests::workspace;
use opensearch::http::Method;
use serde_json::{Value, json};
use std::cell::Cell;
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

/// The OpenSearch node killed (`kill -9`) in the middle of an object, as a crash or the kernel's
/// out-of-memory killer ends it, then started again on its data. Requests reach it at 300 KB/s:
/// m1 is done before the kill, and m2 has a bulk body indexed and the rest on the wire. The host's retries meet a dead node and m2 alone fails; every document
/// acknowledged before the kill is there after the restart (OpenSearch syncs its translog before
/// it answers a request), and m2's redelivery finds those there and indexes the rest.
#[test]
fn opensearch_killed_mid_object_and_started_again() {
    let node = Node::from_env("KELK_TEST_OPENSEARCH_KILLABLE");
    let stage = Stage::on("os-killed", &node.url);
    // m2 makes two full bodies: the kill lands while the second is on the wire.
    let objects = [stage.object("m1", 1500), stage.object("m2", 18000)];
    let (m1, m2) = (&objects[0], &objects[1]);
    let batch: Vec<&Object> = objects.iter().collect();
    // One bulk request at a time: m2's 5 MiB bodies in turn.
    let host = stage.warm_host(&[("KELK_BULK_CONCURRENCY", "1")]);
    stage.opensearch.add("slow", "bandwidth", Stream::Upstream, json!({ "rate": 300 }));
    let (answer, acknowledged) = during(&host, &stage.batch(&batch), || {
        wait_until("m1 done", Duration::from_secs(60), &host, || logged(&host, "input done", m1));
        wait_until("a body of m2 indexed", Duration::from_secs(60), &host, || stage.indexed(m2) > 0);
        // The body's answer follows the sync of its translog, a moment after its documents
        // can be seen: what is there a second later was acknowledged.
        std::thread::sleep(Duration::from_secs(1));
        let acknowledged = stage.indexed(m2);
        assert!(!logged(&host, "input done", m2), "killed after m2 was done:\n{}", host.log());
        node.kill();
        acknowledged
    });
    assert_eq!(failed_ids(&batch, &answer), ["m2"], "{answer:?}\n{}", host.log());
    assert!(0 < acknowledged && acknowledged < m2.documents, "killed mid-object: {acknowledged} documents of m2");
    let reason = failure(&host, m2);
    assert!(reason.contains("OpenSearch bulk request failed"), "{reason}");
    let restarted = node.resume();
    let survived = (stage.indexed(m1), stage.indexed(m2));
    assert_eq!(
        survived,
        (m1.documents, acknowledged),
        "the documents acknowledged before the kill, and only those, are there after the restart"
    );
    stage.opensearch.remove("slow");
    let again = redelivered(&batch, &answer);
    let retry = invoke(&host, &stage.batch(&again));
    assert_eq!(failed_ids(&again, &retry), Vec::<String>::new(), "{retry:?}\n{}", host.log());
    assert_eq!(
        retry.metrics.as_ref().unwrap()["AlreadyIndexed"].as_u64(),
        Some(acknowledged),
        "m2's retry finds what was acknowledged before the kill: {retry:?}"
    );
    let answers = [
        format!(
            "{} ({acknowledged} of m2's documents indexed at the kill; m2: {})",
            said("batch m1, m2", &answer),
            cut(&reason, 120)
        ),
        format!(
            "the node started again on its data in {:.0} s, with m1's {} documents and m2's {acknowledged}",
            restarted.as_secs_f64(),
            m1.documents
        ),
        said("m2 again", &retry),
    ];
    stage.report(
        "kill -9 of the OpenSearch node once m1 is done and a bulk body of m2 indexed (requests at 300 KB/s), then the node started again on its data",
        stage.settle(&host, &batch),
        &answers,
    );
}

/// Two warm hosts at once against a node whose write pool has one thread and a queue of one
/// (`thread_pool.write.size=1`, `queue_size=1`), each sent two objects of two bulk bodies:
/// with up to four bodies under way, OpenSearch rejects writes (`rejected_execution_exception`,
/// 429, for a whole request or for its items), and the hosts retry them with backoff. An object
/// whose every attempt meets a full queue fails its message, whose redelivery completes it.
/// Every object is done, nothing is dead-lettered for a 429, and the rejections are counted on
/// the node (a run without them would prove nothing).
#[test]
fn a_saturated_write_pool_rejects_two_hosts_at_once() {
    let stage = Stage::on("os-429", &env("KELK_TEST_OPENSEARCH_BUSY"));
    let objects =
        [stage.object("m1", 9000), stage.object("m2", 9000), stage.object("m3", 9000), stage.object("m4", 9000)];
    let (ones, twos): (Vec<&Object>, Vec<&Object>) = (vec![&objects[0], &objects[1]], vec![&objects[2], &objects[3]]);
    // Two requests at once each, fixed: an adaptive limit starts at one, which this pool takes.
    let settings = [("KELK_BULK_CONCURRENCY", "2")];
    let (one, two) = (stage.warm_host(&settings), stage.warm_host(&settings));
    let rejected_before = write_rejections(&stage);
    let messages = |batch: &[&Object]| -> Vec<Value> { stage.batch(batch)["Records"].as_array().unwrap().clone() };
    let (to_one, to_two) = (messages(&ones), messages(&twos));
    let (first, second) = std::thread::scope(|s| {
        let first = s.spawn(|| until_done(&one, &ones, &to_one));
        let second = until_done(&two, &twos, &to_two);
        (first.join().unwrap(), second)
    });
    let rejected = write_rejections(&stage) - rejected_before;
    let count = |field: &str| -> u64 {
        first.iter().chain(&second).map(|i| i.metrics.as_ref().unwrap()[field].as_u64().unwrap()).sum()
    };
    assert!(rejected > 0, "the write pool rejected nothing: the scenario proves nothing");
    assert!(count("BulkRetries") > 0, "the hosts retried nothing: {first:?} {second:?}");
    assert_eq!(count("DeadLettered"), count("Rejected"), "nothing OpenSearch refused was dead-lettered");
    let mut answers = vec![format!("the write pool rejected {rejected} shard writes (_nodes/stats)")];
    let hosts = [("host one, m1, m2", &one, &ones, &first), ("host two, m3, m4", &two, &twos, &second)];
    for (name, host, batch, deliveries) in hosts {
        let mut sent = batch.iter().map(|o| o.id.as_str()).collect::<Vec<_>>().join(", ");
        for (n, invoked) in deliveries.iter().enumerate() {
            let what = if n == 0 { name.to_owned() } else { format!("{sent} again") };
            answers.push(said(&what, invoked));
            sent = failed_ids(batch, invoked).join(", ");
        }
        // An object failed only for the rejections, once its attempts ran out.
        for object in batch.iter().filter(|o| deliveries.iter().any(|d| failed_ids(batch, d).contains(&o.id))) {
            let reason = failure(host, object);
            assert!(reason.contains("429") && reason.contains("rejected_execution_exception"), "{reason}");
            let reason = reason.rsplit("after every attempt: ").next().unwrap();
            answers.push(format!("{}'s failure: {}", object.id, cut(reason, 160)));
        }
    }
    let done: Vec<(&Emulator, &Object)> =
        ones.iter().map(|&o| (&one, o)).chain(twos.iter().map(|&o| (&two, o))).collect();
    stage.report(
        "two warm hosts at once on a node whose write pool has 1 thread and a queue of 1 (each host 2 objects of 9000 lines, 2 bulk bodies each)",
        stage.settle_each(&done),
        &answers,
    );
}

/// The scenario's daily index blocked for writes (`index.blocks.write: true`, as an operator or
/// a flood-stage disk leaves it) while a batch is sent: OpenSearch refuses every document with a
/// `cluster_block_exception` (403). The host takes it for a refusal that passes: it sends each
/// object's request again with backoff until its attempts run out, fails both messages, and
/// dead-letters no document. Once the block is lifted, their redelivery is done.
#[test]
fn a_write_blocked_index_fails_the_messages_until_the_block_is_lifted() {
    let stage = Stage::new("os-write-block");
    let objects = [stage.object("m1", 1500), stage.object("m2", 1500)];
    let batch: Vec<&Object> = objects.iter().collect();
    // The warm-up puts the index template, which the index created next takes.
    let host = stage.warm_host(&[]);
    let index = format!("/{}-2000.10.10", stage.prefix);
    stage.cluster.request(Method::Put, &index, Some(br#"{"settings":{"index.blocks.write":true}}"#)).unwrap();
    let started = Instant::now();
    let answer = invoke(&host, &stage.batch(&batch));
    let took = started.elapsed();
    assert_eq!(failed_ids(&batch, &answer), ["m1", "m2"], "{answer:?}\n{}", host.log());
    let metrics = answer.metrics.as_ref().unwrap();
    assert_eq!(metrics["DeadLettered"], metrics["Rejected"], "no document dead-lettered for the block: {answer:?}");
    assert_eq!(metrics["Indexed"], 0, "{answer:?}");
    assert!(metrics["BulkRetries"].as_u64().unwrap() > 0, "the block was retried: {answer:?}");
    for object in &objects {
        assert_eq!(stage.indexed(object), 0, "{}", object.id);
        let reason = failure(&host, object);
        assert!(reason.contains("cluster_block_exception"), "{reason}");
    }
    let reason = failure(&host, &objects[0]);
    let reason = &reason[reason.find("(403)").unwrap_or(0)..];
    stage
        .cluster
        .request(Method::Put, &format!("{index}/_settings"), Some(br#"{"index.blocks.write":false}"#))
        .unwrap();
    let again = redelivered(&batch, &answer);
    let retry = invoke(&host, &stage.batch(&again));
    assert_eq!(failed_ids(&again, &retry), Vec::<String>::new(), "{retry:?}\n{}", host.log());
    let answers = [
        format!(
            "{} in {:.1} s (m1: OpenSearch refused the documents {})",
            said("batch m1, m2", &answer),
            took.as_secs_f64(),
            cut(reason, 200)
        ),
        said("m1, m2 again, the block lifted", &retry),
    ];
    stage.report(
        "index.blocks.write on the scenario's daily index while batch m1, m2 (1500 lines each) is sent, then lifted",
        stage.settle(&host, &batch),
        &answers,
    );
}

/// A node taking bodies of at most 1 MB (`http.max_content_length`, as small clusters and
/// proxies in front of them have): m1's 5 MiB bulk body is answered 413 and sent again in
/// halves until they fit, which takes no attempt; m2 follows. Everything is delivered, and no
/// document is dead-lettered as too large.
#[test]
fn bodies_over_what_the_node_takes_are_split_until_they_fit() {
    let stage = Stage::on("os-413", &env("KELK_TEST_OPENSEARCH_SMALL_BODIES"));
    let objects = [stage.object("m1", 9000), stage.object("m2", 3000)];
    let batch: Vec<&Object> = objects.iter().collect();
    let host = stage.warm_host(&[]);
    let answer = invoke(&host, &stage.batch(&batch));
    assert_eq!(failed_ids(&batch, &answer), Vec::<String>::new(), "{answer:?}\n{}", host.log());
    let metrics = answer.metrics.as_ref().unwrap();
    let splits = metrics["BulkSplits"].as_u64().unwrap();
    assert!(splits > 0, "the 5 MiB body was refused and split: {answer:?}");
    assert_eq!(metrics["BulkRetries"], 0, "a split takes no attempt: {answer:?}");
    assert_eq!(metrics["DeadLettered"], metrics["Rejected"], "no document too large alone: {answer:?}");
    assert!(host.log().contains("OpenSearch found a bulk body too large"), "{}", host.log());
    let answers = [format!("{}, {splits} bodies split in halves", said("batch m1, m2", &answer))];
    stage.report(
        "a node taking bodies of at most 1 MB (http.max_content_length), m1's bulk body 5 MiB",
        stage.settle(&host, &batch),
        &answers,
    );
}

/// A node of the scenario's own (`tests/servers/opensearch` on the port of its URL, started by
/// `make test`), which it kills and starts again on its data. Dropped killed (a failed
/// assertion), it is started again for the next run.
struct Node {
    url: String,
    port: u16,
    killed: Cell<bool>,
}

impl Node {
    fn from_env(name: &str) -> Self {
        let url = env(name);
        let port = url.trim_end_matches('/').rsplit(':').next().and_then(|p| p.parse().ok());
        let port = port.unwrap_or_else(|| panic!("{name}={url}: no port"));
        Node { url, port, killed: Cell::new(false) }
    }

    /// `kill -9` of the node's JVM; returns once the node refuses connections.
    fn kill(&self) {
        let pidfile = format!("/tmp/kelk-servers/opensearch-state-{}/opensearch.pid", self.port);
        let pid = std::fs::read_to_string(&pidfile).unwrap_or_else(|e| panic!("{pidfile}: {e}"));
        let killed = Command::new("kill").args(["-9", pid.trim()]).status().unwrap();
        assert!(killed.success(), "kill -9 {pid}");
        self.killed.set(true);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(started.elapsed() < Duration::from_secs(10), "the node still answers after kill -9");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the node again on its data, with the settings it was started with
    /// (`tests/servers/opensearch resume`); how long it took.
    fn resume(&self) -> Duration {
        let started = Instant::now();
        assert!(self.start_again(), "the node on port {} did not start again", self.port);
        started.elapsed()
    }

    fn start_again(&self) -> bool {
        let resumed = Command::new(workspace().join("tests/servers/opensearch"))
            .arg("resume")
            .env("KELK_TEST_OPENSEARCH_PORT", self.port.to_string())
            .status();
        let resumed = resumed.is_ok_and(|s| s.success());
        self.killed.set(!resumed);
        resumed
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // No panic here, while a failed assertion unwinds.
        if self.killed.get() && !self.start_again() {
            eprintln!("the node on port {} did not start again: `tests/servers/opensearch resume`", self.port);
        }
    }
}

/// Delivers `batch` to `host`, then again what each answer names, until none is named (at most
/// five deliveries); the answers. `messages` are the batch's SQS messages, in its order (a
/// [`Stage`] stays on its thread).
fn until_done(host: &Emulator, batch: &[&Object], messages: &[Value]) -> Vec<Invoked> {
    let mut deliveries: Vec<Invoked> = Vec::new();
    let mut todo = batch.to_vec();
    while !todo.is_empty() {
        let failing = deliveries.last().map(|last| failed_ids(batch, last));
        assert!(deliveries.len() < 5, "five deliveries, still failing {failing:?}:\n{}", host.log());
        let sent: Vec<Value> = batch
            .iter()
            .zip(messages)
            .filter(|(o, _)| todo.iter().any(|t| t.id == o.id))
            .map(|(_, m)| m.clone())
            .collect();
        let invoked = invoke(host, &json!({ "Records": sent }));
        assert!(invoked.metrics.is_some(), "{invoked:?}\n{}", host.log());
        todo = redelivered(&todo, &invoked);
        deliveries.push(invoked);
    }
    deliveries
}

/// The write pool's rejections so far, on every node of the stage's cluster.
fn write_rejections(stage: &Stage) -> u64 {
    let stats = stage.cluster.request(Method::Get, "/_nodes/stats/thread_pool", None).unwrap().unwrap();
    stats["nodes"].as_object().unwrap().values().map(|n| n["thread_pool"]["write"]["rejected"].as_u64().unwrap()).sum()
}

/// Why `object` failed, as the host's last `input failed` line for it says.
fn failure(host: &Emulator, object: &Object) -> String {
    let log = host.log();
    let line = log.lines().rfind(|l| l.contains("\"message\":\"input failed\"") && l.contains(&object.key));
    let line = line.unwrap_or_else(|| panic!("{} never failed:\n{log}", object.key));
    let fields: Value = serde_json::from_str(line).unwrap();
    fields["fields"]["error"].as_str().unwrap().to_owned()
}

/// `text` cut to about `at` bytes, for the matrix.
fn cut(text: &str, at: usize) -> String {
    let end = text.floor_char_boundary(at);
    if end < text.len() { format!("{}…", &text[..end]) } else { text.to_owned() }
}
