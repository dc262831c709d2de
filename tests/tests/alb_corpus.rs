//! Every line of every ALB file in the shared corpus becomes a document or a rejection with a
//! reason, and where another project published its expected parse, the fields that mean the
//! same thing agree.
//!
//! Deliberate differences from those projects:
//! - received/sent bytes are `http.request.bytes`/`http.response.bytes` (they include headers),
//!   not logstash's `http.*.body.bytes`;
//! - `-1` processing times and `-` values are absent fields, not `-1.0` or null;
//! - VRL's strict mode refuses unknown trailing fields; we always keep them
//!   (`aws.elb.unknown_fields`), since AWS appends fields over time;
//! - received/sent bytes of a connection (a Classic TCP or SSL listener, a Network Load
//!   Balancer) are `source.bytes`/`destination.bytes`, and such a line has no `http.*`.
//!
//! No line of the corpus is refused: plaso's file gives 16 documents, as plaso does, its
//! Network Load Balancer `tls` lines among them.

use kelk_tests::{Collect, corpus, decompressed, flatten, get, lines, parse_file};
use serde_json::{Value, json};
use std::path::Path;

fn parse(path: &Path) -> Collect {
    let (counts, sink) = parse_file("kelk-parser-alb", path);
    assert_eq!(counts.records(), lines(&decompressed(path)), "{}: every line is counted once", path.display());
    sink
}

fn is_log(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy();
    !name.ends_with(".json") && !name.ends_with(".txt")
}

/// Timestamps compare as instants: `.364000Z` is `.364Z`.
fn same_time(a: &Value, b: &Value) -> bool {
    let norm = |v: &Value| {
        v.as_str().map(|s| {
            s.replace("+00:00", "Z").trim_end_matches('Z').trim_end_matches('0').trim_end_matches('.').to_owned()
        })
    };
    norm(a) == norm(b)
}

#[test]
fn every_line_is_a_document_or_a_rejection_with_a_reason() {
    let mut total = (0, 0);
    let mut paths: Vec<_> =
        std::fs::read_dir(corpus("alb")).unwrap().map(|e| e.unwrap().path()).filter(|p| is_log(p)).collect();
    paths.sort();
    assert!(paths.len() >= 20, "the corpus has its ALB files");
    for path in &paths {
        let sink = parse(path);
        println!(
            "{}: {} documents, {} rejected",
            path.file_name().unwrap().to_string_lossy(),
            sink.documents.len(),
            sink.dead_letters.len()
        );
        for (record, reason) in &sink.dead_letters {
            println!("    line {record}: {reason}");
        }
        assert!(sink.dead_letters.is_empty(), "{}: no line is refused", path.display());
        for doc in &sink.documents {
            assert!(
                doc.source["@timestamp"].is_string() && doc.source["source"]["address"].is_string(),
                "{}",
                doc.source
            );
            assert!(doc.index.starts_with("logs-aws.elb_logs-default-20"), "{}", doc.index);
            // An HTTP request or a connection, never a mix of the two.
            let category = &doc.source["event"]["category"];
            if category == &json!(["web"]) {
                assert!(doc.source["http"]["response"]["status_code"].is_u64(), "{}", doc.source);
            } else {
                assert_eq!(category, &json!(["network"]), "{}", doc.source);
                assert!(doc.source["http"].is_null() && doc.source["url"].is_null(), "{}", doc.source);
            }
        }
        total.0 += sink.documents.len();
        total.1 += sink.dead_letters.len();
    }
    println!("ALB corpus: {} documents, {} rejected, from {} files", total.0, total.1, paths.len());
    assert_eq!(total.1, 0);
}

#[test]
fn agrees_with_vrl_parse_aws_alb_log() {
    let dir = corpus("alb");
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.join("vrl-parse_aws_alb_log.tests.expected.json")).unwrap()).unwrap();
    let sink = parse(&dir.join("vrl-parse_aws_alb_log.tests.log"));
    let cases = expected["cases"].as_array().unwrap();
    assert_eq!(sink.documents.len(), cases.len());
    let mut compared = 0;
    for (case, doc) in cases.iter().zip(&sink.documents) {
        let (want, d) = (&case["want_ok"], &doc.source);
        let name = case["name"].as_str().unwrap();
        let check = |field: &str, ours: Value| {
            let theirs = match &want[field] {
                // VRL writes `-` lists as [] and some `-` values as "-"; ours are absent.
                Value::String(s) if s == "-" => Value::Null,
                Value::Array(a) if a.is_empty() => Value::Null,
                v => v.clone(),
            };
            assert_eq!(ours, theirs, "case {name}: {field}\n{d}");
        };
        let endpoint = |ip: &Value, port: &Value| match (ip, port) {
            (Value::String(ip), Value::Number(port)) => json!(format!("{ip}:{port}")),
            _ => Value::Null,
        };
        let seconds = |path: &str| get(d, path).as_f64().map_or(json!(-1.0), |s| json!(s));
        let number_text = |path: &str| get(d, path).as_u64().map_or(Value::Null, |n| json!(n.to_string()));
        check("type", get(d, "aws.elb.type").clone());
        assert!(same_time(&d["@timestamp"], &want["timestamp"]), "case {name}: timestamp");
        check("elb", get(d, "aws.elb.name").clone());
        check("client_host", endpoint(get(d, "source.address"), get(d, "source.port")));
        check("target_host", endpoint(get(d, "aws.elb.backend.ip"), get(d, "aws.elb.backend.port")));
        check("request_processing_time", seconds("aws.elb.request_processing_time.sec"));
        check("target_processing_time", seconds("aws.elb.backend_processing_time.sec"));
        check("response_processing_time", seconds("aws.elb.response_processing_time.sec"));
        check("elb_status_code", number_text("http.response.status_code"));
        check("target_status_code", number_text("aws.elb.backend.http.response.status_code"));
        check("received_bytes", get(d, "http.request.bytes").clone());
        check("sent_bytes", get(d, "http.response.bytes").clone());
        check("request_method", get(d, "http.request.method").clone());
        check("request_url", get(d, "url.original").clone());
        check("request_protocol", get(d, "http.version").as_str().map_or(Value::Null, |v| json!(format!("HTTP/{v}"))));
        check("user_agent", get(d, "user_agent.original").clone());
        check("ssl_cipher", get(d, "tls.cipher").clone());
        check("ssl_protocol", get(d, "aws.elb.ssl_protocol").clone());
        check("target_group_arn", get(d, "aws.elb.target_group.arn").clone());
        check("trace_id", get(d, "trace.id").clone());
        check("domain_name", get(d, "destination.domain").clone());
        check("chosen_cert_arn", get(d, "aws.elb.chosen_cert.arn").clone());
        check(
            "matched_rule_priority",
            get(d, "aws.elb.matched_rule_priority").as_i64().map_or(Value::Null, |n| json!(n.to_string())),
        );
        assert!(same_time(get(d, "event.start"), &want["request_creation_time"]), "case {name}: request_creation_time");
        check(
            "actions_executed",
            get(d, "aws.elb.action_executed")
                .as_array()
                .map_or(Value::Null, |a| json!(a.iter().map(|v| v.as_str().unwrap()).collect::<Vec<_>>().join(","))),
        );
        check("redirect_url", get(d, "aws.elb.redirect_url").clone());
        check("error_reason", get(d, "aws.elb.error.reason").clone());
        check("target_port_list", get(d, "aws.elb.target_port").clone());
        check("target_status_code_list", get(d, "aws.elb.target_status_code").clone());
        check("classification", get(d, "aws.elb.classification").clone());
        check("classification_reason", get(d, "aws.elb.classification_reason").clone());
        check("traceability_id", get(d, "aws.elb.connection_trace_id").clone());
        compared += 1;
    }
    println!("compared {compared} VRL cases field by field");
}

#[test]
fn agrees_with_logstash_classic_elb_ecs() {
    let dir = corpus("alb");
    let expected: Value = serde_json::from_slice(
        &std::fs::read(dir.join("logstash-patterns-core-aws_spec-ELB_ACCESS_LOG.classic-elb.expected.json")).unwrap(),
    )
    .unwrap();
    let sink = parse(&dir.join("logstash-patterns-core-aws_spec-ELB_ACCESS_LOG.classic-elb.log"));
    let cases = expected["cases"].as_array().unwrap();
    assert_eq!(sink.documents.len(), cases.len());
    for (case, doc) in cases.iter().zip(&sink.documents) {
        let mut want = Vec::new();
        flatten("", &case["expect_ecs_v1"], &mut want);
        for (path, value) in want {
            if path.split('.').any(|segment| segment.starts_with('_')) {
                continue; // the transcriber's annotations
            }
            let ours = match path.as_str() {
                "timestamp" => "@timestamp".to_owned(),
                p => p.replace(".body.bytes", ".bytes"),
            };
            let got = get(&doc.source, &ours);
            let same = match (got, &value) {
                (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
                (a, b) => a == b,
            };
            assert!(same, "{}: {path}: logstash {value}, ours ({ours}) {got}", case["context"]);
        }
        if case["context"].as_str().unwrap().contains("missing backend") {
            assert_eq!(get(&doc.source, "aws.elb.backend"), &Value::Null);
            assert_eq!(get(&doc.source, "aws.elb.request_processing_time"), &Value::Null);
        }
    }
}

#[test]
fn agrees_with_plaso_on_its_first_event() {
    let dir = corpus("alb");
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.join("plaso-aws_elb_access.log.expected.json")).unwrap()).unwrap();
    let want = &expected["checks"][0]["expected_event_values"];
    let sink = parse(&dir.join("plaso-aws_elb_access.log"));
    assert_eq!(expected["checks"][1]["number_of_event_data"], 16);
    assert_eq!(sink.documents.len(), 16);
    assert!(sink.dead_letters.is_empty());
    // Its last four lines: a Classic TCP and a Classic SSL connection, two NLB connections.
    let kinds: Vec<_> = sink.documents[12..]
        .iter()
        .map(|d| {
            (d.record_number, get(&d.source, "aws.elb.type").as_str(), get(&d.source, "aws.elb.protocol").as_str())
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (13, None, Some("tcp")),
            (14, None, Some("ssl")),
            (15, Some("tls"), Some("tls")),
            (16, Some("tls"), Some("tls"))
        ]
    );
    for nlb in &sink.documents[14..] {
        let d = &nlb.source;
        assert_eq!(get(d, "aws.elb.name"), "net/my-network-loadbalancer/c6e77e28c25b2234");
        assert_eq!(
            (get(d, "source.ip"), get(d, "source.port"), get(d, "source.bytes")),
            (&json!("72.21.218.154"), &json!(51341), &json!(98))
        );
        assert_eq!(
            (get(d, "destination.ip"), get(d, "destination.port"), get(d, "destination.bytes")),
            (&json!("172.100.100.185"), &json!(443), &json!(246))
        );
        assert_eq!((get(d, "tls.cipher"), get(d, "tls.version")), (&json!("ECDHE-RSA-AES128-SHA"), &json!("1.2")));
        assert_eq!(
            get(d, "tls.client.server_name"),
            "my-network-loadbalancer-c6e77e28c25b2234.elb.us-east-2.amazonaws.com"
        );
        assert_eq!(get(d, "event.duration"), 5_000_000);
        assert_eq!(get(d, "aws.elb.tls_handshake_time.ms"), 2);
    }
    assert_eq!(get(&sink.documents[14].source, "tls.next_protocol"), "h2");
    assert_eq!(get(&sink.documents[15].source, "tls.next_protocol"), &Value::Null);
    let d = &sink.documents[0].source;
    let pairs = [
        (
            "actions_executed",
            get(d, "aws.elb.action_executed")
                .as_array()
                .map(|a| json!(a.iter().map(|v| v.as_str().unwrap()).collect::<Vec<_>>().join(","))),
        ),
        ("chosen_cert_arn", Some(get(d, "aws.elb.chosen_cert.arn").clone())),
        ("destination_group_arn", Some(get(d, "aws.elb.target_group.arn").clone())),
        ("destination_ip_address", Some(get(d, "aws.elb.backend.ip").clone())),
        ("destination_port", Some(get(d, "aws.elb.backend.port").clone())),
        ("destination_list", Some(get(d, "aws.elb.target_port").clone())),
        (
            "destination_processing_duration",
            Some(json!(format!("{:.3}", get(d, "aws.elb.backend_processing_time.sec").as_f64().unwrap()))),
        ),
        ("destination_status_code", Some(get(d, "aws.elb.backend.http.response.status_code").clone())),
        ("domain_name", Some(get(d, "destination.domain").clone())),
        ("elb_status_code", Some(get(d, "http.response.status_code").clone())),
        ("matched_rule_priority", Some(get(d, "aws.elb.matched_rule_priority").clone())),
        ("received_bytes", Some(get(d, "http.request.bytes").clone())),
        ("sent_bytes", Some(get(d, "http.response.bytes").clone())),
        ("request_type", Some(get(d, "aws.elb.type").clone())),
        ("resource_identifier", Some(get(d, "aws.elb.name").clone())),
        ("source_ip_address", Some(get(d, "source.ip").clone())),
        ("source_port", Some(get(d, "source.port").clone())),
        ("ssl_cipher", Some(get(d, "tls.cipher").clone())),
        ("ssl_protocol", Some(get(d, "aws.elb.ssl_protocol").clone())),
        ("trace_identifier", Some(get(d, "trace.id").clone())),
        ("user_agent", Some(get(d, "user_agent.original").clone())),
    ];
    for (field, ours) in pairs {
        assert_eq!(ours.as_ref(), Some(&want[field]), "{field}");
    }
    assert!(same_time(&d["@timestamp"], &want["response_time"]));
    assert!(same_time(get(d, "event.start"), &want["request_time"]));
    let request = format!(
        "{} {} HTTP/{}",
        d["http"]["request"]["method"].as_str().unwrap(),
        d["url"]["original"].as_str().unwrap(),
        d["http"]["version"].as_str().unwrap()
    );
    assert_eq!(request, want["request"]);
}
