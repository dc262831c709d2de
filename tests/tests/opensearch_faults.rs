//! Faults a real OpenSearch does not produce on demand (a 429 for the whole request, a 429 for
//! some items, a server that keeps failing), injected by a FAKE bulk endpoint on loopback: the
//! sink retries what is retryable and fails the object clearly when it must.

use kelk_runtime::opensearch::{Auth, BULK_BYTES, BulkSink, Cluster};
use kelk_runtime::sink::{Document, KeptLetter, Origin, Sink, SinkError};
use kelk_runtime::source::{ObjectRef, SourceRef};
use kelk_tests::aws;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// The HTTP status of a whole answer, and the item statuses for a request of n items.
type Answer = (u16, fn(usize) -> Vec<u16>);

/// A FAKE OpenSearch `_bulk` endpoint: answers the bulk requests it gets with `answers` in turn
/// (status, and a function of the request's item count giving the item statuses), and records
/// how many items each request carried. The refresh and search the sink makes at a flush, to
/// look for the fields OpenSearch ignored, find none.
fn fake_bulk(answers: Vec<Answer>) -> (String, Arc<Mutex<Vec<usize>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        let mut answers = answers.into_iter();
        loop {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let (status, answer) = if !request.contains("/_bulk") {
                (200, r#"{"_shards":{"total":1,"successful":1,"failed":0},"hits":{"hits":[]}}"#.to_owned())
            } else {
                let Some((status, items)) = answers.next() else { return };
                (status, bulk_answer(status, items, &body, &log))
            };
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            stream.write_all(response.as_bytes()).unwrap();
        }
    });
    (url, seen)
}

/// The answer to a bulk request of `body`, its item count recorded in `log`.
fn bulk_answer(status: u16, items: fn(usize) -> Vec<u16>, body: &[u8], log: &Mutex<Vec<usize>>) -> String {
    let count = body.iter().filter(|&&b| b == b'\n').count() / 2;
    log.lock().unwrap().push(count);
    if status != 200 {
        return r#"{"error":"overloaded"}"#.to_owned();
    }
    let items: Vec<String> = items(count)
        .into_iter()
        .map(|s| {
            format!(
                r#"{{"create":{{"_index":"i","_id":"x","status":{s}{}}}}}"#,
                if s >= 300 { r#","error":{"type":"t","reason":"r"}"# } else { "" }
            )
        })
        .collect();
    format!(r#"{{"took":1,"errors":true,"items":[{}]}}"#, items.join(","))
}

fn connect(url: &str) -> BulkSink {
    BulkSink::new(Cluster::connect(url, Auth::None, &aws()).unwrap())
}

fn send(sink: &mut BulkSink, n: u64) -> Result<(), SinkError> {
    send_sources(sink, n, br#"{"a":1}"#)
}

fn send_sources(sink: &mut BulkSink, n: u64, source: &[u8]) -> Result<(), SinkError> {
    let object = SourceRef::Object(ObjectRef { bucket: "b".into(), key: "k".into(), ..ObjectRef::default() });
    let mut refused: Vec<KeptLetter> = Vec::new();
    sink.begin(Origin { source: &object, plugin: "test", plugin_sha256: "0" })?;
    for i in 0..n {
        let id = format!("id{i}");
        sink.document(&Document { index: "i", id: &id, record_number: i + 1, offset: 0, source }, &mut refused)?;
    }
    sink.flush(&mut refused)
}

#[test]
fn throttling_is_retried_for_the_request_and_for_items() {
    let (url, seen) = fake_bulk(vec![
        (429, |_| vec![]),
        (200, |n| (0..n).map(|i| if i % 2 == 0 { 201 } else { 429 }).collect()),
        (200, |n| vec![201; n]),
    ]);
    let mut sink = connect(&url);
    send(&mut sink, 10).unwrap();
    assert_eq!(*seen.lock().unwrap(), [10, 10, 5], "the whole request again, then only the throttled items");
    let stats = sink.stats();
    assert_eq!((stats.indexed, stats.retries), (10, 2));
}

#[test]
fn a_server_that_keeps_failing_fails_the_object() {
    let (url, seen) = fake_bulk(vec![(503, |_| vec![]); 6]);
    let mut sink = connect(&url);
    let err = send(&mut sink, 3).unwrap_err();
    assert!(matches!(err, SinkError::Retryable(_)), "an outage may pass: {err:?}");
    let err = err.to_string();
    assert!(err.contains("OpenSearch bulk request failed") && err.contains("503"), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 6, "six attempts");
}

#[test]
fn bodies_are_bounded_by_bytes() {
    let (url, seen) = fake_bulk(vec![(200, |n| vec![201; n]); 4]);
    let mut sink = connect(&url);
    let source = format!(r#"{{"a":"{}"}}"#, "x".repeat(64 << 10));
    send_sources(&mut sink, 200, source.as_bytes()).unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.iter().sum::<usize>(), 200, "{seen:?}");
    let per_body = BULK_BYTES / source.len() + 1;
    assert!(seen.len() == 3 && seen.iter().all(|&n| n <= per_body), "{seen:?}");
    assert_eq!(sink.stats().indexed, 200);
}
