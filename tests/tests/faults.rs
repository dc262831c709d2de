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

use kelk_runtime::aws::s3::{Precondition, S3Uri};
use kelk_tests::APACHE_LINE;
use kelk_tests::stage::*;
use kelk_tests::toxiproxy::Stream;
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

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

/// The day's index was made under another mapping (`user.name` a number, as an older template
/// or another writer of the prefix left it) with `ignore_malformed`, which KELK's template sets:
/// OpenSearch indexes each document without the name, and its bulk answer says nothing of it.
/// The host counts what was left out (`IgnoredFields`) and names the field in a warning; every
/// line is still a document or a dead letter.
#[test]
fn fields_a_mapping_cannot_take_are_counted_not_silent() {
    let stage = Stage::new("mapping-conflict");
    let objects = [stage.object("m1", 1500)];
    let batch: Vec<&Object> = objects.iter().collect();
    let host = stage.warm_host(&[]);
    let mapping = json!({ "settings": { "index.mapping.ignore_malformed": true },
        "mappings": { "properties": { "user": { "properties": { "name": { "type": "long" } } } } } });
    let day = format!("/{}-2000.10.10", stage.prefix);
    stage.cluster.request(opensearch::http::Method::Put, &day, Some(mapping.to_string().as_bytes())).unwrap();
    let answer = invoke(&host, &stage.batch(&batch));
    assert_eq!(failed_ids(&batch, &answer), Vec::<String>::new(), "{answer:?}\n{}", host.log());
    // Every document is one of "frank"'s: each is indexed without its user.name.
    let metrics = answer.metrics.as_ref().unwrap();
    assert_eq!(metrics["IgnoredFields"].as_u64(), Some(objects[0].documents), "{answer:?}");
    let log = host.log();
    let warned = log.lines().find(|l| l.contains("without fields their mappings could not take"));
    let warned = warned.unwrap_or_else(|| panic!("no warning of the fields left out:\n{log}"));
    assert!(warned.contains("user.name") && warned.contains(&objects[0].key), "{warned}");
    let answers =
        [format!("{} (IgnoredFields {}, user.name named in a warning)", said("m1", &answer), metrics["IgnoredFields"])];
    stage.report(
        "the day's index made beforehand with `user.name` a `long` and `ignore_malformed` (one object of 1500 lines)",
        stage.settle(&host, &batch),
        &answers,
    );
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
/// deleted before it was read, a bucket no route names, a bucket a route names that does not
/// exist. The good one is done; each other is named in `batchItemFailures`, with its reason
/// logged, so that SQS retries it and, after the queue's `maxReceiveCount`, keeps it in the
/// dead-letter queue.
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
        stray("no-such-bucket", &format!("{}-gone", stage.bucket), "logs/x.log"),
    ]);
    stage.route_bucket(&format!("{}-gone", stage.bucket));
    let host = stage.warm_host(&[]);
    let answer = invoke(&host, &event);
    let failed: Vec<&str> = answer.answer.as_ref().unwrap()["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["no-route", "deleted", "no-bucket", "no-such-bucket"], "{answer:?}\n{}", host.log());
    let log = host.log();
    for reason in [
        "other/x.log: no route of the routing config matches it",
        "logs/deleted.log: cannot open it: s3://",
        "-none/logs/x.log: no route of the routing config matches it",
    ] {
        assert!(log.contains(reason), "{reason}:\n{log}");
    }
    let gone = log.lines().find(|l| l.contains("\"input failed\"") && l.contains("-gone/logs/x.log"));
    let gone = gone.unwrap_or_else(|| panic!("no failure logged for the missing bucket:\n{log}"));
    assert!(gone.contains("-gone/logs/x.log: cannot open it: ") && gone.contains("NoSuchBucket"), "{gone}");
    let answers = [said("m1, no-route, deleted, no-bucket, no-such-bucket", &answer)];
    stage.report(
        "besides m1, an object no route takes, an object deleted before it was read, an event of a bucket no route names, an event of a routed bucket that does not exist",
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

/// S3 refuses the host an object, for real: the host signs its requests with the access key of
/// an IAM user of an S3 server that enforces IAM (`KELK_TEST_S3_IAM`), whose policy lets it read
/// the routing config, the plugin and `logs/allowed/*`, and read, write and list the dead
/// letters, but not read `logs/denied/*`. Of a batch of an allowed object and a denied one, the
/// allowed one is done; the denied one fails alone, "AccessDenied" in its reason, nothing
/// dead-lettered for it; once the policy grants it, its redelivery is done. (The stage's bucket
/// is copied onto that server; the letters the host wrote there are copied back to be counted.)
#[test]
fn s3_access_denied_fails_that_object_only_until_the_policy_grants_it() {
    let stage = Stage::new("access-denied");
    let objects =
        [stage.object_at("m1", "logs/allowed/m1.log", 1500), stage.object_at("m2", "logs/denied/m2.log", 1500)];
    let batch: Vec<&Object> = objects.iter().collect();
    let admin = Iam::admin(&format!("{}-admin", stage.bucket));
    admin.mirror(&stage, &["routing.json", "plugins/apache.wasm", &objects[0].key, &objects[1].key]);
    let policy = |denied_too: bool| {
        let arn = |key: &str| format!("arn:aws:s3:::{}/{key}", stage.bucket);
        let mut read = vec![arn("routing.json"), arn("plugins/*"), arn("logs/allowed/*")];
        read.extend(denied_too.then(|| arn("logs/denied/*")));
        json!({ "Version": "2012-10-17", "Statement": [
            { "Effect": "Allow", "Action": "s3:GetObject", "Resource": read },
            { "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": arn("dead/*") },
            { "Effect": "Allow", "Action": "s3:ListBucket", "Resource": format!("arn:aws:s3:::{}", stage.bucket) },
        ] })
    };
    let user = format!("{}-host", stage.bucket);
    let (key_id, secret) = admin.user(&user, &policy(false));
    let settings = [
        ("AWS_ENDPOINT_URL_S3", admin.url.as_str()),
        ("AWS_ACCESS_KEY_ID", key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", secret.as_str()),
    ];
    let host = stage.warm_host(&settings);
    let answer = invoke(&host, &stage.batch(&batch));
    assert_eq!(failed_ids(&batch, &answer), ["m2"], "{answer:?}\n{}", host.log());
    assert!(logged(&host, "input done", &objects[0]), "{}", host.log());
    let log = host.log();
    let refused = log.lines().find(|l| l.contains("\"input failed\"") && l.contains(&objects[1].key));
    let refused = refused.unwrap_or_else(|| panic!("no failure logged for m2:\n{log}"));
    assert!(refused.contains("cannot open it: ") && refused.contains("AccessDenied"), "{refused}");
    let letters_of_m2 = format!("dead/{}/{}/", stage.bucket, objects[1].key);
    assert_eq!(admin.keys(&stage.bucket, &letters_of_m2), Vec::<String>::new(), "nothing dead-lettered for m2");
    assert_eq!(stage.indexed(&objects[1]), 0);
    admin.allow(&user, &policy(true));
    let again = redelivered(&batch, &answer);
    let retry = invoke(&host, &stage.batch(&again));
    assert_eq!(failed_ids(&again, &retry), Vec::<String>::new(), "{retry:?}\n{}", host.log());
    admin.mirror_back(&stage, "dead/");
    let answers = [
        format!("{} (m2: \"AccessDenied\", nothing dead-lettered)", said("batch m1, m2", &answer)),
        said("m2 again, once the policy grants it", &retry),
    ];
    stage.report(
        "S3 enforcing IAM: the host's user may not read m2 (AccessDenied, 403), then the policy grants it",
        stage.settle(&host, &batch),
        &answers,
    );
}

/// S3's answers cut into small slices with delays between them, once the host is warm: each
/// object's download arrives in thousands of pieces, and each is indexed once.
#[test]
fn s3_slicer() {
    let stage = Stage::new("s3-slicer");
    let objects = [stage.object("m1", 2000), stage.object("m2", 2000)];
    let batch: Vec<&Object> = objects.iter().collect();
    let host = stage.warm_host(&[]);
    let slices = json!({ "average_size": 128, "size_variation": 96, "delay": 50 });
    stage.storage.add("slice-answers", "slicer", Stream::Downstream, slices);
    let answer = invoke(&host, &stage.batch(&batch));
    assert_eq!(failed_ids(&batch, &answer), Vec::<String>::new(), "{answer:?}\n{}", host.log());
    assert_eq!(answer.metrics.as_ref().unwrap()["BulkRetries"], 0, "{answer:?}");
    let answers = [said("batch m1, m2", &answer)];
    stage.report("slicer (128 ± 96 B slices, 50 µs apart) on S3's answers", stage.settle(&host, &batch), &answers);
}

/// S3's answers at 50 KB/s, once the host is warm, for an object of 1000 lines (150 KB, 3 s on
/// the wire); OpenSearch's answers 6 s late until the host has taken its checkpoint, once 500
/// records are parsed. The host waits there for its bulk answers, the download's stream open
/// and unread for longer than the S3 client's stalled-stream grace period (5 s), then reads on.
/// The pause is the host's own, not a stall: one download, done at the first attempt, no retry.
#[test]
fn s3_bandwidth_slow_download_held_across_a_checkpoint() {
    let stage = Stage::new("s3-bandwidth");
    let objects = [stage.object("m1", 1000)];
    let batch: Vec<&Object> = objects.iter().collect();
    let host = stage.warm_host(&[("KELK_CHECKPOINT_RECORDS", "500")]);
    stage.storage.add("slow", "bandwidth", Stream::Downstream, json!({ "rate": 50 }));
    stage.opensearch.add("latency", "latency", Stream::Downstream, json!({ "latency": 6000 }));
    let letters = format!("dead/{}/{}/{}/", stage.bucket, objects[0].key, objects[0].etag);
    let progress = S3Uri { bucket: stage.bucket.clone(), key: format!("{letters}progress.json") };
    let started = Instant::now();
    let (answer, checkpoint) = during(&host, &stage.batch(&batch), || {
        wait_until("m1's checkpoint", Duration::from_secs(90), &host, || stage.s3.get(&progress).is_ok());
        let checkpoint = started.elapsed();
        stage.opensearch.remove("latency");
        checkpoint
    });
    let took = started.elapsed();
    assert_eq!(failed_ids(&batch, &answer), Vec::<String>::new(), "{answer:?}\n{}", host.log());
    let metrics = answer.metrics.as_ref().unwrap();
    assert_eq!((&metrics["BulkRetries"], &metrics["ResumedObjects"]), (&json!(0), &json!(0)), "{answer:?}");
    assert!(!host.log().contains("\"input failed\""), "{}", host.log());
    // The first 128 KiB piece of the object on the wire (2.6 s), then the bulk answers, 6 s late.
    assert!(checkpoint > Duration::from_secs(8), "the checkpoint waited for its late answers: {checkpoint:?}");
    let folder = S3Uri { bucket: stage.bucket.clone(), key: letters };
    let parts = stage.s3.list(&folder).unwrap().into_iter().filter(|l| l.key.ends_with(".ndjson")).count();
    assert_eq!(parts, 2, "a part of letters at the checkpoint, taken mid-download, and the last");
    let answers = [format!(
        "{}, in {:.0} s (the checkpoint recorded {:.0} s in)",
        said("m1", &answer),
        took.as_secs_f64(),
        checkpoint.as_secs_f64()
    )];
    stage.report(
        "bandwidth 50 KB/s on S3's answers; a checkpoint every 500 records, whose bulk answers come 6 s late",
        stage.settle(&host, &batch),
        &answers,
    );
}

/// A key overwritten in a bucket that keeps no versions: each content is named by its ETag, so
/// the second content's lines are documents and letters of their own. The first content's
/// notification, delivered again after the overwrite (to another instance), asks for content
/// that is gone (`If-Match` its ETag): nothing is read, and nothing of the new content is
/// indexed under the old identity.
#[test]
fn an_overwritten_key_in_an_unversioned_bucket_indexes_each_content_once_and_a_stale_event_nothing() {
    let stage = Stage::new("overwritten");
    // Each delivery to an instance of its own: a host's log names the key, not the content, so
    // the lines each content skipped are read from the log of the instance that did it.
    let (one, two, three) = (stage.warm_host(&[]), stage.warm_host(&[]), stage.warm_host(&[]));
    let first = stage.object_at("v1", "logs/app.log", 1500);
    let done = invoke(&one, &stage.batch(&[&first]));
    let second = stage.object_at("v2", "logs/app.log", 1000);
    assert!(first.version_id.is_none() && first.etag != second.etag, "{} {}", first.etag, second.etag);
    let rewritten = invoke(&two, &stage.batch(&[&second]));
    let stale = invoke(&three, &stage.batch(&[&first]));
    for (host, answer) in [(&one, &done), (&two, &rewritten), (&three, &stale)] {
        assert_eq!(answer.answer, Ok(json!({ "batchItemFailures": [] })), "{answer:?}\n{}", host.log());
    }
    let count = |m: &Invoked, field: &str| m.metrics.as_ref().unwrap()[field].as_u64().unwrap();
    assert_eq!((count(&rewritten, "Indexed"), count(&rewritten, "AlreadyIndexed")), (second.documents, 0));
    let read_nothing = ["Indexed", "AlreadyIndexed", "SupersededObjects"].map(|f| count(&stale, f));
    assert_eq!(read_nothing, [0, 0, 1], "{stale:?}\n{}", three.log());
    assert!(three.log().contains("replaced by other content since its event"), "{}", three.log());
    assert_eq!((stage.indexed(&first), stage.indexed(&second)), (first.documents, second.documents));
    assert_eq!((letters(&stage, &first), letters(&stage, &second)), (first.rejected, second.rejected));
    let answers = [
        said("content 1", &done),
        said("content 2, another instance", &rewritten),
        format!("{} (superseded: nothing read)", said("content 1's notification again, a third instance", &stale)),
    ];
    stage.report(
        "one key written twice in a bucket without versions (1500 lines, then 1000), the first content's notification delivered again last",
        stage.settle_each(&[(&one, &first), (&two, &second)]),
        &answers,
    );
}

/// The S3 and IAM server that enforces IAM (`KELK_TEST_S3_IAM`; `make test` starts it, as
/// `KELK_TEST_S3_PORT=9261 KELK_TEST_S3_ENFORCE_IAM=1 tests/servers/s3 start`), as one of its
/// users: each request signed with the user's access key (curl's SigV4) and authorized against
/// the user's policies.
struct Iam {
    url: String,
    key: (String, String),
}

impl Iam {
    /// An administrator (`s3:*`, `iam:*`) called `name`, made in a window of three requests the
    /// server takes unsigned (`/moto-api/reset-auth`): the server has no user before it.
    fn admin(name: &str) -> Iam {
        let url = env("KELK_TEST_S3_IAM");
        let window = format!("{url}/moto-api/reset-auth");
        let opened = Command::new("curl")
            .args(["-fsS", "-o", "/dev/null", "-H", "Content-Type: text/plain", "--data", "3", &window])
            .status();
        assert!(opened.unwrap().success(), "no S3 server enforcing IAM at {url}");
        let anyone = Iam { url, key: ("unsigned".into(), "unsigned".into()) };
        let all = json!({ "Version": "2012-10-17",
            "Statement": [{ "Effect": "Allow", "Action": ["s3:*", "iam:*"], "Resource": "*" }] });
        let key = anyone.user(name, &all);
        Iam { url: anyone.url, key }
    }

    /// A new user `name`, whose policy is `policy`; its access key (id, secret).
    fn user(&self, name: &str, policy: &Value) -> (String, String) {
        self.iam(&[("Action", "CreateUser"), ("UserName", name)]);
        let made = self.iam(&[("Action", "CreateAccessKey"), ("UserName", name)]);
        let field = |tag: &str| {
            let value = made.split(&format!("<{tag}>")).nth(1).and_then(|rest| rest.split('<').next());
            value.unwrap_or_else(|| panic!("no {tag}: {made}")).to_owned()
        };
        self.allow(name, policy);
        (field("AccessKeyId"), field("SecretAccessKey"))
    }

    /// Makes `policy` the user's (inline) policy, replacing the one before.
    fn allow(&self, user: &str, policy: &Value) {
        let document = policy.to_string();
        let put =
            [("Action", "PutUserPolicy"), ("UserName", user), ("PolicyName", "kelk"), ("PolicyDocument", &document)];
        self.iam(&put);
    }

    /// An IAM request (its `Action` and parameters); the answer.
    fn iam(&self, parameters: &[(&str, &str)]) -> String {
        let mut curl = self.curl("iam");
        curl.args(["--data-urlencode", "Version=2010-05-08"]);
        for (name, value) in parameters {
            curl.args(["--data-urlencode", &format!("{name}={value}")]);
        }
        let (status, answer) = call(curl.arg(format!("{}/", self.url)), None);
        let answer = String::from_utf8(answer).unwrap();
        assert_eq!(status, 200, "IAM {parameters:?}: {answer}");
        answer
    }

    /// An S3 request, `method` on `path` (`/bucket/key`) with `body`; the status and answer.
    fn s3(&self, method: &str, path: &str, body: Option<Vec<u8>>) -> (u16, Vec<u8>) {
        let mut curl = self.curl("s3");
        curl.args(["-X", method, "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"]);
        if body.is_some() {
            curl.args(["-H", "Content-Type: application/octet-stream", "--data-binary", "@-"]);
        }
        call(curl.arg(format!("{}{path}", self.url)), body)
    }

    fn curl(&self, service: &str) -> Command {
        let mut curl = Command::new("curl");
        let (id, secret) = &self.key;
        curl.args(["-sS", "-w", "\n%{http_code}", "--aws-sigv4", &format!("aws:amz:us-east-1:{service}")]);
        curl.args(["--user", &format!("{id}:{secret}")]);
        curl
    }

    /// Copies `keys` of the stage's bucket to a bucket of the same name here (made first), and
    /// checks that each copy has the ETag the stage's notifications name.
    fn mirror(&self, stage: &Stage, keys: &[&str]) {
        let (made, answer) = self.s3("PUT", &format!("/{}", stage.bucket), None);
        assert_eq!(made, 200, "{}", String::from_utf8_lossy(&answer));
        for &key in keys {
            let uri = S3Uri { bucket: stage.bucket.clone(), key: key.into() };
            let path = format!("/{}/{key}", stage.bucket);
            let (put, answer) = self.s3("PUT", &path, Some(stage.s3.get(&uri).unwrap().bytes));
            assert_eq!(put, 200, "{key}: {}", String::from_utf8_lossy(&answer));
            let mut head = self.curl("s3");
            head.args(["-I", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"]);
            let (_, headers) = call(head.arg(format!("{}{path}", self.url)), None);
            let etag = stage.s3.etag(&uri).unwrap().unwrap();
            let headers = String::from_utf8(headers).unwrap().to_ascii_lowercase();
            assert!(headers.contains(&format!("etag: {etag}")), "{key}: not {etag}: {headers}");
        }
    }

    /// The keys in `bucket` beginning with `prefix`.
    fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let (status, listed) = self.s3("GET", &format!("/{bucket}"), None);
        let listed = String::from_utf8(listed).unwrap();
        assert_eq!(status, 200, "{listed}");
        assert!(!listed.contains("<IsTruncated>true"), "{listed}");
        let keys = listed.split("<Key>").skip(1).filter_map(|rest| rest.split("</Key>").next());
        keys.filter(|key| key.starts_with(prefix)).map(str::to_owned).collect()
    }

    /// Copies what is under `prefix` in the stage's bucket here back to the stage's bucket.
    fn mirror_back(&self, stage: &Stage, prefix: &str) {
        for key in self.keys(&stage.bucket, prefix) {
            let (status, body) = self.s3("GET", &format!("/{}/{key}", stage.bucket), None);
            assert_eq!(status, 200, "{key}");
            let uri = S3Uri { bucket: stage.bucket.clone(), key };
            stage.s3.put(&uri, body, "application/octet-stream", Precondition::None).unwrap();
        }
    }
}

/// Runs `curl` (given `-w "\n%{http_code}"`) with `stdin`; the status and the answer.
fn call(curl: &mut Command, stdin: Option<Vec<u8>>) -> (u16, Vec<u8>) {
    use std::io::Write;
    let mut child = curl.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(&stdin.unwrap_or_default()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    let end = out.stdout.iter().rposition(|&b| b == b'\n').unwrap_or(0);
    let status = String::from_utf8_lossy(&out.stdout[end..]).trim().parse().unwrap_or(0);
    (status, out.stdout[..end].to_vec())
}
