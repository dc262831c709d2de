//! The Firehose transformation with the real Apache plugin: every record answered under its
//! own `recordId`, good ones `Ok` with their document, bad ones `ProcessingFailed`, and the
//! response kept inside Firehose's 6 MB limit.

use kelk_events::firehose::Batch;
use kelk_lambda::sources::firehose::{self, RESPONSE_LIMIT_BYTES};
use kelk_tests::{APACHE_LINE, firehose_event, firehose_results, load, sandbox};
use serde_json::Value;

fn event<D: AsRef<[u8]>>(records: &[(&str, D)]) -> Batch {
    kelk_events::firehose::decode(&firehose_event(records)).unwrap()
}

#[test]
fn each_record_gets_its_own_result() {
    let sandbox = sandbox();
    let apache = load(&sandbox, "kelk-parser-apache");
    let records = [
        ("good", format!("{APACHE_LINE}\n").into_bytes()),
        ("crlf-no-newline", format!("{APACHE_LINE}\r").into_bytes()),
        ("bad", b"not an access log line\n".to_vec()),
        ("two-lines", format!("{APACHE_LINE}\n{APACHE_LINE}\n").into_bytes()),
        ("blank", b"\n".to_vec()),
        ("garbage-bytes", vec![0xff, 0xfe, b'\n']),
    ];
    let response = firehose::transform(&apache, &event(&records));
    let json: Value = serde_json::to_value(&response).unwrap();
    assert_eq!(
        firehose_results(&json),
        [
            ("good", "Ok"),
            ("crlf-no-newline", "Ok"),
            ("bad", "ProcessingFailed"),
            ("two-lines", "ProcessingFailed"),
            ("blank", "Dropped"),
            ("garbage-bytes", "ProcessingFailed"),
        ]
    );
    for ok in &response.records[..2] {
        let doc: Value = serde_json::from_slice(&ok.data).unwrap();
        assert_eq!(doc["@timestamp"], "2000-10-10T20:55:36Z");
        assert_eq!(doc["user"]["name"], "frank");
        assert_eq!(doc["http"]["response"]["status_code"], 200);
        assert_eq!(doc["event"]["dataset"], "apache.access");
    }
    assert!(response.records[2..].iter().all(|r| r.data.is_empty()), "failed and dropped records carry no data");
}

#[test]
fn the_response_stays_under_firehose_limit() {
    let sandbox = sandbox();
    let apache = load(&sandbox, "kelk-parser-apache");
    // 3 MB of input makes far more than 6 MB of base64 documents.
    let records: Vec<(String, Vec<u8>)> =
        (0..16_000).map(|i| (format!("r{i}"), format!("{APACHE_LINE}\n").into_bytes())).collect();
    let borrowed: Vec<(&str, &[u8])> = records.iter().map(|(id, d)| (id.as_str(), &d[..])).collect();
    let response = firehose::transform(&apache, &event(&borrowed));
    assert_eq!(response.records.len(), records.len(), "every record is answered");
    let size = serde_json::to_vec(&response).unwrap().len();
    assert!(size <= RESPONSE_LIMIT_BYTES, "response is {size} bytes");
    let ok = response.records.iter().filter(|r| r.result.as_deref() == Some("Ok")).count();
    let failed = response.records.iter().filter(|r| r.result.as_deref() == Some("ProcessingFailed")).count();
    assert!(ok > 1000 && failed > 1000 && ok + failed == records.len(), "{ok} ok, {failed} failed");
    // Records keep their order: all Ok ones come before the first that did not fit.
    let first_failed = response.records.iter().position(|r| r.result.as_deref() == Some("ProcessingFailed")).unwrap();
    assert_eq!(first_failed, ok);
}
