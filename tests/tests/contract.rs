//! The contract round trip: the same parser code gives the same batches natively and through
//! the Wasm component, whatever the chunk boundaries, and both sides agree on the version.

use kelk_parser_alb::Alb;
use kelk_parser_sdk::{Lines, SourceContext as GuestContext};
use kelk_runtime::sandbox::{Batch, CONTRACT_VERSION, Plugin, SourceContext};
use kelk_tests::{corpus, load, sandbox, workspace};

/// Everything a batch says, in a form both sides can be compared in.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    /// (record number, offset, event time ms, natural id, JSON)
    documents: Vec<(u64, u64, i64, Option<String>, String)>,
    /// (record number, offset, reason, excerpt)
    rejections: Vec<(u64, u64, String, Vec<u8>)>,
    skipped: u64,
}

impl Outcome {
    fn add_wasm(&mut self, b: Batch) {
        let mut at = 0;
        for d in b.documents {
            let json = String::from_utf8(b.json[at..at + d.length as usize].to_vec()).unwrap();
            at += d.length as usize;
            self.documents.push((d.record_number, d.offset, d.event_time_ms, d.natural_id, json));
        }
        assert_eq!(at, b.json.len(), "every JSON byte belongs to a document");
        self.rejections.extend(b.rejections.into_iter().map(|r| (r.record_number, r.offset, r.reason, r.excerpt)));
        self.skipped += u64::from(b.skipped);
    }

    fn native(input: &[u8]) -> Self {
        let b = kelk_parser_sdk::parse::<Lines<Alb>>(&GuestContext::default(), input).unwrap();
        Outcome {
            documents: b
                .iter()
                .map(|(d, json)| {
                    (
                        d.record.number,
                        d.record.offset,
                        d.event_time_ms,
                        d.natural_id.clone(),
                        String::from_utf8(json.to_vec()).unwrap(),
                    )
                })
                .collect(),
            rejections: b
                .rejections
                .iter()
                .map(|r| (r.record.number, r.record.offset, r.reason.clone(), r.excerpt.clone()))
                .collect(),
            skipped: u64::from(b.skipped),
        }
    }
}

fn context() -> SourceContext {
    SourceContext {
        bucket: String::new(),
        key: String::new(),
        version_id: None,
        log_type: "alb".into(),
        options: vec![],
    }
}

/// Pushes `chunks` into a fresh session of `plugin` and collects what comes back.
fn through_wasm(plugin: &Plugin, chunks: &[&[u8]]) -> Outcome {
    let mut session = plugin.session(&context(), "sample").unwrap();
    let mut outcome = Outcome::default();
    for chunk in chunks {
        outcome.add_wasm(session.push(chunk).unwrap());
    }
    outcome.add_wasm(session.finish().unwrap());
    outcome
}

/// A sample that exercises the splitter: CRLF, a blank line, a rejected line, multi-byte
/// UTF-8 and no final newline.
fn edge_sample() -> Vec<u8> {
    let mut s = std::fs::read(workspace().join("parsers/alb/samples/edge-cases.log")).unwrap();
    let first_newline = s.iter().position(|&b| b == b'\n').unwrap();
    s.insert(first_newline, b'\r');
    s.extend_from_slice(b"\nnot an alb line\n\nh2 2024-01-01T00:00:00.000001Z app/x/1 [::1]:1 - -1 -1 -1 200 - 1 2 \"GET https://h/\xc3\xa9 HTTP/2.0\" \"ua\"");
    s
}

#[test]
fn versions_agree() {
    let wit = std::fs::read_to_string(workspace().join("wit/parser.wit")).unwrap();
    let declared = wit.lines().find_map(|l| l.strip_prefix("package kelk:parser@")).unwrap().trim_end_matches(';');
    assert_eq!(declared, CONTRACT_VERSION, "host");
    assert_eq!(declared, kelk_parser_sdk::CONTRACT_VERSION, "SDK");
}

#[test]
fn info_round_trips() {
    let sandbox = sandbox();
    let alb = load(&sandbox, "kelk-parser-alb");
    assert_eq!(alb.info.name, "alb");
    assert_eq!(alb.info.contract_version, CONTRACT_VERSION);
    assert_eq!(alb.info.dataset, "aws.elb_logs");
    assert_eq!(alb.info.index_prefix, "logs-aws.elb_logs-default");
    assert_eq!(alb.info.version, "0.2.0", "the crate's own version, as its Cargo.toml gives it");
    assert_eq!(alb.sha256.len(), 64);
}

#[test]
fn a_plugin_describes_its_documents() {
    let sandbox = sandbox();
    let apache = load(&sandbox, "kelk-parser-apache");
    let description = apache.description.as_ref().expect("a 1.1 plugin describes its documents");
    let shipped: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(workspace().join("parsers/apache/mappings.json")).unwrap())
            .unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&description.mappings).unwrap(), shipped);
    assert_eq!(description.dashboard.title, "Apache access logs");
    assert_eq!(description.dashboard.time_field, "@timestamp");
    assert_eq!(description.dashboard.top_fields[0], "http.response.status_code");
}

/// A plugin built against the 1.0.0 WIT (frozen in the test plugin, no SDK) on this 1.1 host:
/// found by its `parser@1.0.0` export, without a description, and it parses.
#[test]
fn a_1_0_plugin_runs_without_a_description() {
    let sandbox = sandbox();
    let old = load(&sandbox, "kelk-test-plugin-contract-1-0");
    assert_eq!((old.info.name.as_str(), old.info.contract_version.as_str()), ("old", "1.0.0"));
    assert!(CONTRACT_VERSION.starts_with("1.") && CONTRACT_VERSION != "1.0.0");
    assert!(old.description.is_none());
    let ctx = SourceContext {
        bucket: String::new(),
        key: "old.log".into(),
        version_id: None,
        log_type: "old".into(),
        options: Vec::new(),
    };
    let mut session = old.session(&ctx, "old.log").unwrap();
    let mut outcome = Outcome::default();
    outcome.add_wasm(session.push(b"a\nb").unwrap());
    outcome.add_wasm(session.finish().unwrap());
    let json: Vec<&str> = outcome.documents.iter().map(|d| d.4.as_str()).collect();
    assert_eq!(json, [r#"{"line":1}"#, r#"{"line":2}"#]);
}

#[test]
fn wasm_and_native_give_identical_batches() {
    let sandbox = sandbox();
    let alb = load(&sandbox, "kelk-parser-alb");
    let mut inputs = vec![edge_sample()];
    for entry in std::fs::read_dir(corpus("alb")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "log" || e == "csv") {
            inputs.push(std::fs::read(path).unwrap());
        }
    }
    for input in &inputs {
        let native = Outcome::native(input);
        assert!(!native.documents.is_empty());
        assert_eq!(through_wasm(&alb, &[input]), native);
    }
}

#[test]
fn a_cut_at_every_byte_gives_identical_output() {
    let sandbox = sandbox();
    let alb = load(&sandbox, "kelk-parser-alb");
    let sample = edge_sample();
    let whole = through_wasm(&alb, &[&sample]);
    assert!(whole.documents.len() >= 3 && whole.rejections.len() == 1 && whole.skipped == 2, "{whole:?}");
    for cut in 0..=sample.len() {
        let (a, b) = sample.split_at(cut);
        assert_eq!(through_wasm(&alb, &[a, b]), whole, "cut at byte {cut}");
    }
    let bytes: Vec<&[u8]> = sample.chunks(1).collect();
    assert_eq!(through_wasm(&alb, &bytes), whole, "one byte at a time");
}
