//! CloudFront, Apache and CloudTrail: every record of every file in the shared corpus becomes
//! a document or a rejection with a reason, and where another project published its expected
//! parse, the fields that mean the same thing agree.
//!
//! Deliberate differences from those projects:
//! - absent values (`-`, an empty referrer) are absent fields, not `"-"` or `""` (filebeat,
//!   logstash);
//! - CloudFront user agents, referrers and cookies are percent-decoded (logstash keeps them
//!   encoded); its field names follow Elastic's `aws.cloudfront_logs` (`edge_location`, …) rather
//!   than logstash's `x_edge_location`, and sent/received bytes are `http.response.bytes` /
//!   `http.request.bytes`, not `destination.bytes` / `source.bytes`; `url.domain` is the Host
//!   header the viewer sent (`x-host-header`), not the distribution's name (`cs(Host)`);
//! - a line without a usable time is rejected, never indexed without `@timestamp` (VRL returns
//!   an empty object for `- - - [-] "-" - -`), and the mod_ssl request log format is rejected
//!   (it is another format);
//! - CloudTrail records that are not valid JSON or have no `eventTime` are rejected one by one
//!   (a few of Panther's rule-test fixtures are deliberately partial).

use kelk_tests::{corpus, decompressed, flatten, get, lines, parse_file};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn inputs(format: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(corpus(format))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !(name.ends_with(".expected.json")
                || name.ends_with(".txt")
                || name.ends_with(".meta.jsonl")
                || name.ends_with(".published.jsonl")
                || name.starts_with("vrl-docs-generated"))
        })
        .collect();
    paths.sort();
    paths
}

/// Runs every file; returns the rejections as (file, record, reason).
fn every_record(format: &str, package: &str, records: impl Fn(&Path) -> u64) -> Vec<(String, u64, String)> {
    let mut rejected = Vec::new();
    let mut total = 0;
    for path in inputs(format) {
        let (counts, sink) = parse_file(package, &path);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        println!("{name}: {} documents, {} rejected, {} skipped", counts.documents, counts.rejected, counts.skipped);
        assert_eq!(counts.records(), records(&path), "{name}: every record counted once");
        for doc in &sink.documents {
            assert!(doc.source["@timestamp"].is_string(), "{name}: {}", doc.source);
        }
        for (record, reason) in sink.dead_letters {
            println!("    record {record}: {reason}");
            assert!(!reason.is_empty());
            rejected.push((name.clone(), record, reason));
        }
        total += counts.documents;
    }
    println!("{format}: {total} documents, {} rejected", rejected.len());
    rejected
}

#[test]
fn every_cloudfront_line_is_a_document_or_a_rejection() {
    let rejected = every_record("cloudfront", "kelk-parser-cloudfront", |p| lines(&decompressed(p)));
    assert_eq!(rejected, vec![], "the CloudFront corpus parses whole");
}

#[test]
fn every_apache_line_is_a_document_or_a_rejection() {
    let rejected = every_record("apache", "kelk-parser-apache", |p| lines(&decompressed(p)));
    let files: Vec<(&str, u64)> = rejected.iter().map(|(f, r, _)| (f.as_str(), *r)).collect();
    assert_eq!(
        files,
        [
            ("elastic-beats-filebeat-apache-access-ssl-request.log", 1),
            ("elastic-beats-filebeat-apache-access-ssl-request.log", 2),
            ("opensearch-catalog-apache-raw.log.gz", 8899),
            ("opensearch-catalog-apache-raw.selected-lines.log", 12),
            ("plaso-apache_access.log", 8),
            ("tstack-lnav-logfile_bad_access_log.0", 2),
            ("vrl-parse_apache_log.tests.log", 4),
            ("vrl-parse_apache_log.tests.log", 5),
            ("vrl-parse_apache_log.tests.log", 6),
            ("vrl-parse_apache_log.tests.log", 7),
            ("vrl-parse_common_log.tests.log", 2),
            ("vrl-parse_common_log.tests.log", 3),
            ("vrl-parse_common_log.tests.log", 4),
            ("vrl-parse_common_log.tests.log", 5),
            ("vrl-parse_common_log.tests.log", 6),
        ],
        "only the lines that are not Apache access lines (mod_ssl's format, an unterminated quote, missing fields, no time) are rejected"
    );
}

#[test]
fn every_cloudtrail_record_is_a_document_or_a_rejection() {
    // Records counted independently: the Records arrays, or one per top-level object.
    let records = |p: &Path| {
        let data = decompressed(p);
        let text = String::from_utf8_lossy(&data);
        serde_json::Deserializer::from_str(text.trim_start_matches('\u{feff}'))
            .into_iter::<Value>()
            .map(|v| v.unwrap())
            .map(|v| v.get("Records").and_then(Value::as_array).map_or(1, |r| r.len() as u64))
            .sum()
    };
    let rejected = every_record("cloudtrail", "kelk-parser-cloudtrail", records);
    assert_eq!(rejected.len(), 4, "Panther's four partial fixtures: {rejected:?}");
    assert!(rejected.iter().all(|(f, _, _)| f.starts_with("panther")));
}

#[test]
fn cloudtrail_documents_carry_their_records() {
    let path = corpus("cloudtrail").join("aws-docs-examples.json");
    let source: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let (_, sink) = parse_file("kelk-parser-cloudtrail", &path);
    let records = source["Records"].as_array().unwrap();
    assert_eq!(sink.documents.len(), records.len());
    for (r, doc) in records.iter().zip(&sink.documents) {
        let d = &doc.source;
        assert_eq!(get(d, "event.id"), &r["eventID"]);
        if let Some(id) = r["eventID"].as_str() {
            assert_eq!(doc.id, id, "eventID is the document id");
        }
        assert_eq!(d["@timestamp"], r["eventTime"]);
        assert_eq!(get(d, "event.action"), &r["eventName"]);
        assert_eq!(get(d, "event.provider"), &r["eventSource"]);
        assert_eq!(get(d, "cloud.region"), &r["awsRegion"]);
        assert_eq!(get(d, "source.address"), &r["sourceIPAddress"]);
        let is_ip = r["sourceIPAddress"].as_str().is_some_and(|a| a.parse::<std::net::IpAddr>().is_ok());
        assert_eq!(get(d, "source.ip").is_string(), is_ip, "source.ip only for IPs: {}", r["sourceIPAddress"]);
        assert_eq!(get(d, "aws.cloudtrail.user_identity.type"), &r["userIdentity"]["type"]);
        assert_cloudtrail_event(r, d);
        let provider = r["eventSource"].as_str().unwrap_or_default();
        let sign_in =
            ["signin.amazonaws.com", "sts.amazonaws.com"].contains(&provider) && r["eventName"] != "PasswordUpdated";
        if sign_in || provider == "iam.amazonaws.com" {
            assert_eq!(
                get(d, "event.category"),
                &json!([if sign_in { "authentication" } else { "iam" }]),
                "{}",
                r["eventName"]
            );
        }
        for (ours, theirs) in [
            ("request_parameters", "requestParameters"),
            ("response_elements", "responseElements"),
            ("additional_eventdata", "additionalEventData"),
            ("service_event_details", "serviceEventDetails"),
            ("insight_details", "insightDetails"),
            ("edge_device_details", "edgeDeviceDetails"),
        ] {
            let blob = get(d, &format!("aws.cloudtrail.{ours}"));
            match &r[theirs] {
                Value::Null => assert!(blob.is_null()),
                Value::String(s) => assert_eq!(blob, s.as_str()),
                value => {
                    let text = blob.as_str().unwrap_or_else(|| panic!("{ours} is a string: {blob}"));
                    assert_eq!(&serde_json::from_str::<Value>(text).unwrap(), value, "{ours}");
                }
            }
        }
    }
}

/// What every CloudTrail document says of its record, whatever else the record has.
fn assert_cloudtrail_event(r: &Value, d: &Value) {
    for (ours, theirs) in [
        ("error_code", "errorCode"),
        ("error_message", "errorMessage"),
        ("event_type", "eventType"),
        ("event_category", "eventCategory"),
        ("vpc_endpoint_id", "vpcEndpointId"),
        ("vpc_endpoint_account_id", "vpcEndpointAccountId"),
    ] {
        assert_eq!(get(d, &format!("aws.cloudtrail.{ours}")), &r[theirs], "{theirs}");
    }
    // AWS records a failure as an error code or message or, in sign-in events, as "Failure"
    // under the event's own name; an Insights event reports on other calls and has no outcome.
    let name = r["eventName"].as_str().unwrap_or_default();
    let failed = !r["errorCode"].is_null()
        || !r["errorMessage"].is_null()
        || ["responseElements", "serviceEventDetails", "additionalEventData"].iter().any(|b| r[b][name] == "Failure");
    let outcome = match (r["eventType"].as_str(), failed) {
        (Some("AwsCloudTrailInsight"), _) => Value::Null,
        (_, true) => json!("failure"),
        (_, false) => json!("success"),
    };
    assert_eq!(get(d, "event.outcome"), &outcome, "{name}");
    if let Some(version) = r["tlsDetails"]["tlsVersion"].as_str() {
        assert_eq!(get(d, "tls.version"), version.trim_start_matches("TLSv"));
    }
}

#[test]
fn cloudtrail_documents_of_panthers_fixtures_carry_their_records() {
    let path = corpus("cloudtrail").join("panther-analysis-rule-tests.records.json");
    let source: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let (_, sink) = parse_file("kelk-parser-cloudtrail", &path);
    let records = source["Records"].as_array().unwrap();
    let mut failures = 0;
    for doc in &sink.documents {
        let r = &records[doc.record_number as usize - 1];
        assert_eq!(get(&doc.source, "event.action"), &r["eventName"]);
        assert_cloudtrail_event(r, &doc.source);
        failures += usize::from(doc.source["event"]["outcome"] == "failure");
    }
    assert_eq!(sink.documents.len(), records.len() - 4);
    assert!(failures > 50, "{failures} failures");
}

#[test]
fn cloudtrail_agrees_with_plaso_lookup_events() {
    let dir = corpus("cloudtrail");
    let expected: Value = serde_json::from_slice(
        &std::fs::read(dir.join("plaso-aws_cloudtrail.lookup-events.jsonl.expected.json")).unwrap(),
    )
    .unwrap();
    let (_, sink) = parse_file("kelk-parser-cloudtrail", &dir.join("plaso-aws_cloudtrail.lookup-events.jsonl"));
    let want = &expected["checks"][0]["expected_event_values"];
    let d = &sink.documents[0].source;
    assert_eq!(get(d, "aws.cloudtrail.user_identity.access_key_id"), &want["access_key"]);
    assert_eq!(get(d, "event.action"), &want["event_name"]);
    assert_eq!(get(d, "event.provider"), &want["event_source"]);
    assert_eq!(get(d, "source.ip"), &want["source_ip"]);
    assert_eq!(get(d, "aws.cloudtrail.user_identity.arn"), &want["user_identity_arn"]);
    assert_eq!(get(d, "user.name"), &want["username"]);
    assert_eq!(d["@timestamp"], "2022-02-07T22:23:37Z", "plaso's 2022-02-08T09:23:37+11:00");
    // plaso counts 6 events from 5 lines: its test file's last line has no newline, and it
    // reads one event per line plus one it generates; each line here is one record.
    assert_eq!(sink.documents.len(), 6);
}

#[test]
fn cloudfront_agrees_with_logstash() {
    let dir = corpus("cloudfront");
    let expected: Value = serde_json::from_slice(
        &std::fs::read(dir.join("logstash-patterns-core-aws_spec-CLOUDFRONT_ACCESS_LOG.expected.json")).unwrap(),
    )
    .unwrap();
    let (_, sink) =
        parse_file("kelk-parser-cloudfront", &dir.join("logstash-patterns-core-aws_spec-CLOUDFRONT_ACCESS_LOG.log"));
    let renames = [
        ("destination.bytes", "http.response.bytes"),
        ("source.bytes", "http.request.bytes"),
        ("aws.cloudfront.x_edge_location", "aws.cloudfront.edge_location"),
        ("aws.cloudfront.x_edge_request_id", "http.request.id"),
        ("aws.cloudfront.x_edge_result_type", "aws.cloudfront.edge_result_type"),
        ("aws.cloudfront.x_edge_response_result_type", "aws.cloudfront.edge_response_result_type"),
        ("aws.cloudfront.x_edge_detailed_result_type", "aws.cloudfront.edge_detailed_result_type"),
        ("aws.cloudfront.http.request.host", "url.domain"),
        ("network.protocol", "url.scheme"),
        ("aws.cloudfront.http.request.size", "http.response.body.bytes"),
        ("http.request.mime_type", "http.response.mime_type"),
        // Logstash takes url.domain from cs(Host), the distribution's own name; ours is the
        // Host header the viewer sent (x-host-header), and cs(Host) is aws.cloudfront.domain.
        ("url.domain", "aws.cloudfront.domain"),
    ];
    let mut compared = 0;
    for (case, doc) in expected["cases"].as_array().unwrap().iter().zip(&sink.documents) {
        let mut want = Vec::new();
        flatten("", &case["expect_ecs_v1"], &mut want);
        for (path, value) in want {
            // Their timestamp is the raw text; ours is parsed. Their user agent is encoded.
            if path.split('.').any(|s| s.starts_with('_')) || path == "timestamp" || path == "user_agent.original" {
                continue;
            }
            let ours = renames.iter().find(|(t, _)| *t == path).map_or(path.as_str(), |(_, o)| o);
            let got = get(&doc.source, ours);
            let same = match (got, &value) {
                (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
                (a, b) => a == b,
            };
            assert!(same, "{}: {path}: logstash {value}, ours ({ours}) {got}", case["context"]);
            compared += 1;
        }
    }
    assert!(compared > 20, "{compared} fields compared");
}

#[test]
fn apache_agrees_with_filebeat_logstash_plaso_vrl_and_the_httpd_docs() {
    let dir = corpus("apache");
    let (_, beats) = parse_file("kelk-parser-apache", &dir.join("elastic-beats-filebeat-apache-access-test.log"));
    let expected: Vec<Value> = serde_json::from_slice(
        &std::fs::read(dir.join("elastic-beats-filebeat-apache-access-test.log.expected.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(beats.documents.len(), expected.len());
    for (want, doc) in expected.iter().zip(&beats.documents) {
        for (key, value) in want.as_object().unwrap() {
            let comparable = [
                "http.",
                "source.address",
                "source.ip",
                "url.original",
                "user_agent.original",
                "user.name",
                "destination.domain",
            ]
            .iter()
            .any(|p| key.starts_with(p));
            if !comparable || value == "-" {
                continue;
            }
            let ours = if key == "http.vhost" { "destination.domain" } else { key.as_str() };
            assert_eq!(get(&doc.source, ours), value, "filebeat {key} for {}", want["source.address"]);
        }
        let when = chrono_like(want["@timestamp"].as_str().unwrap());
        assert_eq!(chrono_like(doc.source["@timestamp"].as_str().unwrap()), when);
    }

    let (_, logstash) = parse_file("kelk-parser-apache", &dir.join("logstash-patterns-core-httpd_spec.log"));
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.join("logstash-patterns-core-httpd_spec.expected.json")).unwrap())
            .unwrap();
    for (case, doc) in expected["cases"].as_array().unwrap().iter().zip(&logstash.documents) {
        let mut want = Vec::new();
        flatten("", &case["expect_ecs_v1"], &mut want);
        for (path, value) in want {
            if path.split('.').any(|s| s.starts_with('_')) || path == "timestamp" || value == "" {
                continue;
            }
            assert_eq!(get(&doc.source, &path), &value, "{}: {path}", case["context"]);
        }
        for absent in case["expect_ecs_v1_absent_keys"].as_array().into_iter().flatten() {
            let key = absent.as_str().unwrap();
            if key != "apache" {
                assert!(get(&doc.source, key).is_null(), "{}: {key} is absent", case["context"]);
            }
        }
    }

    let (_, plaso) = parse_file("kelk-parser-apache", &dir.join("plaso-apache_access.log"));
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.join("plaso-apache_access.log.expected.json")).unwrap()).unwrap();
    for check in expected["checks"].as_array().unwrap() {
        if let Some(n) = check.get("number_of_event_data") {
            assert_eq!(plaso.documents.len() as u64, n.as_u64().unwrap());
            continue;
        }
        let want = &check["expected_event_values"];
        let d = &plaso.documents[check["event_data_index"].as_u64().unwrap() as usize].source;
        let request = format!(
            "{} {} HTTP/{}",
            get(d, "http.request.method").as_str().unwrap(),
            get(d, "url.original").as_str().unwrap(),
            get(d, "http.version").as_str().unwrap()
        );
        assert_eq!(request, want["http_request"]);
        assert_eq!(get(d, "http.response.status_code"), &want["http_response_code"]);
        assert_eq!(get(d, "http.response.body.bytes"), &want["http_response_bytes"]);
        assert_eq!(get(d, "source.ip"), &want["ip_address"]);
        assert_eq!(get(d, "user.name"), &want["username"]);
        assert_eq!(
            chrono_like(d["@timestamp"].as_str().unwrap()),
            chrono_like(want["recorded_time"].as_str().unwrap())
        );
        for (theirs, ours) in [
            ("http_request_referer", "http.request.referrer"),
            ("http_request_user_agent", "user_agent.original"),
            ("server_name", "destination.domain"),
            ("port_number", "destination.port"),
        ] {
            if let Some(value) = want.get(theirs) {
                assert_eq!(get(d, ours), value, "plaso {theirs}");
            }
        }
    }

    let (_, vrl) = parse_file("kelk-parser-apache", &dir.join("vrl-parse_apache_log.tests.log"));
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.join("vrl-parse_apache_log.tests.expected.json")).unwrap()).unwrap();
    let parsed: Vec<&Value> = expected["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.get("want_ok"))
        .filter(|w| w.get("host").is_some())
        .collect();
    assert_eq!(parsed.len(), vrl.documents.len());
    for (want, doc) in parsed.iter().zip(&vrl.documents) {
        let d = &doc.source;
        assert_eq!(get(d, "source.address"), &want["host"]);
        assert_eq!(get(d, "apache.access.identity"), &want["identity"]);
        assert_eq!(get(d, "user.name"), &want["user"]);
        assert_eq!(get(d, "http.request.method"), &want["method"]);
        assert_eq!(get(d, "url.original"), &want["path"]);
        assert_eq!(get(d, "http.response.status_code"), &want["status"]);
        assert_eq!(get(d, "http.response.body.bytes"), &want["size"]);
        assert_eq!(d["@timestamp"], want["timestamp"]["$timestamp_rfc3339"]);
        for (theirs, ours) in [("referrer", "http.request.referrer"), ("agent", "user_agent.original")] {
            assert_eq!(get(d, ours), want.get(theirs).unwrap_or(&Value::Null), "vrl {theirs}");
        }
    }

    let (_, docs) = parse_file("kelk-parser-apache", &dir.join("apache-httpd-docs-logs-examples.log"));
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.join("apache-httpd-docs-logs-examples.expected.json")).unwrap())
            .unwrap();
    for (case, doc) in expected["cases"].as_array().unwrap().iter().zip(&docs.documents) {
        let (want, d) = (&case["expected"], &doc.source);
        assert_eq!(get(d, "source.address"), &want["%h"]);
        assert_eq!(get(d, "user.name"), &want["%u"]);
        assert_eq!(get(d, "http.request.method"), &want["method"]);
        assert_eq!(get(d, "url.original"), &want["uri"]);
        assert_eq!(json!(format!("HTTP/{}", get(d, "http.version").as_str().unwrap())), want["protocol"]);
        assert_eq!(get(d, "http.response.status_code"), &want["%>s"]);
        assert_eq!(get(d, "http.response.body.bytes"), &want["%b"]);
        assert_eq!(d["@timestamp"], "2000-10-10T20:55:36Z", "13:55:36 -0700");
    }
}

/// An RFC 3339 time as UTC seconds, to compare instants written with different offsets.
fn chrono_like(s: &str) -> i64 {
    let t = kelk_parser_sdk::time::parse_iso8601(s.as_bytes()).unwrap_or_else(|| panic!("{s}"));
    t.secs
}
