//! KELK's peers, each turning a corpus of `kelk_tests::formats` into one JSON text per record as
//! a shipper or a hand-written Lambda would:
//!
//! - **vrl**: Vector's remap language with the parse function it has for the format
//!   (`parse_aws_alb_log`, `parse_apache_log`, `parse_aws_vpc_flow_log`, `parse_json`), one
//!   event per line, the event serialized with serde_json;
//! - **regex**: one regex per text format, its named captures into a serde_json `Map`, then
//!   `to_writer`;
//! - **serde_json**: each JSON record read into a `Value` and written back.
//!
//! Every peer returns how many records became documents, which the bench checks against the
//! generator's count, so no peer is timed skipping what it failed to parse.

use regex::Regex;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use vrl::compiler::state::RuntimeState;
use vrl::compiler::{Context, Function, Program, TargetValue, TimeZone};
use vrl::value::{Secrets, Value as VrlValue};

/// Parses a whole corpus; returns how many documents it made.
type Parse = Box<dyn Fn(&[u8]) -> u64>;

/// A peer of one format.
pub struct Peer {
    pub name: &'static str,
    parse: Parse,
}

impl Peer {
    /// Parses a whole corpus; returns how many documents it made.
    pub fn parse(&self, corpus: &[u8]) -> u64 {
        (self.parse)(corpus)
    }
}

/// The peers of the format called `name` (a name of `kelk_tests::formats::FORMATS`).
pub fn peers(name: &str) -> Vec<Peer> {
    let mut peers = Vec::new();
    if let Some(program) = vrl_program(name) {
        let vrl = Vrl::new(&program);
        let parse: Parse = if name == "cloudtrail" {
            Box::new(move |corpus| vrl.records(corpus))
        } else {
            Box::new(move |corpus| vrl.lines(corpus))
        };
        peers.push(Peer { name: "vrl", parse });
    }
    if let Some(pattern) = regex_for(name) {
        let regex = Regex::new(&pattern).expect("a valid regex");
        peers.push(Peer { name: "regex + serde_json", parse: Box::new(move |corpus| regex_lines(&regex, corpus)) });
    }
    match name {
        "cloudtrail" => peers.push(Peer { name: "serde_json Value", parse: Box::new(json_records) }),
        "cloudfront-json" | "waf" | "route53" => {
            peers.push(Peer { name: "serde_json Value", parse: Box::new(json_lines) })
        }
        _ => {}
    }
    peers
}

/// The records of a line format: every non-empty line but the headers (CloudFront's `#`
/// lines, VPC Flow's line of field names).
fn lines(corpus: &[u8]) -> impl Iterator<Item = &[u8]> {
    corpus.split(|&b| b == b'\n').filter(|l| !l.is_empty() && !l.starts_with(b"#") && !l.starts_with(b"version "))
}

/// The VPC Flow Logs fields of the generated corpus, in VRL's spelling.
const VPCFLOW_FIELDS: &str = "version account_id interface_id srcaddr dstaddr srcport dstport protocol packets bytes \
    start end action log_status vpc_id subnet_id instance_id tcp_flags type pkt_srcaddr pkt_dstaddr region az_id \
    sublocation_type sublocation_id pkt_src_aws_service pkt_dst_aws_service flow_direction traffic_path \
    ecs_cluster_arn ecs_cluster_name ecs_container_instance_arn ecs_container_instance_id ecs_container_id \
    ecs_second_container_id ecs_service_name ecs_task_definition_arn ecs_task_arn ecs_task_id reject_reason";

/// The VRL program of a format VRL has a parse function for: `.message` in, the event out.
fn vrl_program(name: &str) -> Option<String> {
    Some(match name {
        "alb" => ". = parse_aws_alb_log!(.message)".to_owned(),
        // A few lines of the corpus are `common`, as in a real server's log.
        "apache" => {
            r#". = parse_apache_log(.message, format: "combined") ?? parse_apache_log!(.message, format: "common")"#
                .to_owned()
        }
        "vpcflow" => format!(". = parse_aws_vpc_flow_log!(.message, format: {VPCFLOW_FIELDS:?})"),
        "cloudtrail" | "cloudfront-json" | "waf" | "route53" => ". = object!(parse_json!(.message))".to_owned(),
        _ => return None,
    })
}

/// A compiled VRL program.
struct Vrl {
    program: Program,
    timezone: TimeZone,
}

impl Vrl {
    fn new(source: &str) -> Self {
        let functions: Vec<Box<dyn Function>> = vec![
            Box::new(vrl::stdlib::ParseAwsAlbLog),
            Box::new(vrl::stdlib::ParseApacheLog),
            Box::new(vrl::stdlib::ParseAwsVpcFlowLog),
            Box::new(vrl::stdlib::ParseJson),
            Box::new(vrl::stdlib::Object),
        ];
        let compiled = vrl::compiler::compile(source, &functions)
            .unwrap_or_else(|e| panic!("VRL program {source:?} does not compile: {e:?}"));
        Vrl { program: compiled.program, timezone: TimeZone::default() }
    }

    /// Runs the program on an event whose `.message` is `message`; the event it made.
    fn run(&self, message: &[u8]) -> Result<VrlValue, String> {
        let mut event = BTreeMap::new();
        event.insert("message".into(), VrlValue::Bytes(bytes::Bytes::copy_from_slice(message)));
        let mut target = TargetValue {
            value: VrlValue::Object(event),
            metadata: VrlValue::Object(BTreeMap::new()),
            secrets: Secrets::default(),
        };
        let mut state = RuntimeState::default();
        let mut ctx = Context::new(&mut target, &mut state, &self.timezone);
        self.program.resolve(&mut ctx).map_err(|e| e.to_string())?;
        Ok(target.value)
    }

    /// One event per line, each written as JSON.
    fn lines(&self, corpus: &[u8]) -> u64 {
        let mut out = Vec::new();
        let mut docs = 0;
        for line in lines(corpus) {
            if let Ok(event) = self.run(line) {
                out.clear();
                serde_json::to_writer(&mut out, &event).expect("in memory");
                std::hint::black_box(&out);
                docs += 1;
            }
        }
        docs
    }

    /// A CloudTrail file as one event, then each of its `Records` written as JSON.
    fn records(&self, corpus: &[u8]) -> u64 {
        let Ok(VrlValue::Object(mut file)) = self.run(corpus) else { return 0 };
        let Some(VrlValue::Array(records)) = file.remove("Records") else { return 0 };
        let mut out = Vec::new();
        for record in &records {
            out.clear();
            serde_json::to_writer(&mut out, record).expect("in memory");
            std::hint::black_box(&out);
        }
        records.len() as u64
    }
}

/// The regex a hand-written Lambda would match a line of the format with: named fields,
/// quoted ones without their quotes.
fn regex_for(name: &str) -> Option<String> {
    // Space-separated fields: `f` for bare ones, `q` for quoted ones.
    let f = |names: &str| names.split_whitespace().map(|n| format!(r"(?P<{n}>\S+)")).collect::<Vec<_>>().join(" ");
    let q = |n: &str| format!(r#""(?P<{n}>[^"]*)""#);
    let line = |parts: &[String]| format!("^{}$", parts.join(" "));
    Some(match name {
        "alb" => line(&[
            f("type time elb client target request_processing_time target_processing_time \
               response_processing_time elb_status_code target_status_code received_bytes sent_bytes"),
            q("request"),
            q("user_agent"),
            f("ssl_cipher ssl_protocol target_group_arn"),
            q("trace_id"),
            q("domain_name"),
            q("chosen_cert_arn"),
            f("matched_rule_priority request_creation_time"),
            q("actions_executed"),
            q("redirect_url"),
            q("error_reason"),
            q("target_list"),
            q("target_status_code_list"),
            q("classification"),
            q("classification_reason"),
            f("conn_trace_id"),
        ]),
        "elb-classic" => line(&[
            f("time elb client backend request_processing_time backend_processing_time \
               response_processing_time elb_status_code backend_status_code received_bytes sent_bytes"),
            q("request"),
            q("user_agent"),
            f("ssl_cipher ssl_protocol"),
        ]),
        "nlb" => line(&[f("type version time elb listener client destination connection_time \
            tls_handshake_time received_bytes sent_bytes incoming_tls_alert chosen_cert_arn chosen_cert_serial \
            tls_cipher tls_protocol_version tls_named_group domain_name alpn_fe_protocol alpn_be_protocol \
            alpn_client_preference_list tls_connection_creation_time")]),
        "alb-connection" => line(&[
            f("time client_ip client_port listener_port tls_protocol tls_cipher tls_handshake_latency"),
            q("leaf_client_cert_subject"),
            f("leaf_client_cert_validity leaf_client_cert_serial_number tls_verify_status conn_trace_id"),
        ]),
        "cloudfront" => {
            let names = "date time x_edge_location sc_bytes c_ip cs_method cs_host cs_uri_stem sc_status cs_referer \
                cs_user_agent cs_uri_query cs_cookie x_edge_result_type x_edge_request_id x_host_header cs_protocol \
                cs_bytes time_taken x_forwarded_for ssl_protocol ssl_cipher x_edge_response_result_type \
                cs_protocol_version fle_status fle_encrypted_fields c_port time_to_first_byte \
                x_edge_detailed_result_type sc_content_type sc_content_len sc_range_start sc_range_end";
            let tabbed: Vec<String> = names.split_whitespace().map(|n| format!(r"(?P<{n}>[^\t]*)")).collect();
            format!("^{}$", tabbed.join(r"\t"))
        }
        "apache" => r#"^(?P<client>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<method>\S+) (?P<path>\S+) (?P<protocol>[^"]*)" (?P<status>\d{3}) (?P<size>\S+)(?: "(?P<referrer>[^"]*)" "(?P<user_agent>[^"]*)")?$"#.to_owned(),
        "vpcflow" => line(&[f(VPCFLOW_FIELDS)]),
        "s3access" => line(&[
            f("bucket_owner bucket"),
            r"\[(?P<time>[^\]]+)\]".to_owned(),
            f("remote_ip requester request_id operation key"),
            q("request_uri"),
            f("http_status error_code bytes_sent object_size total_time turn_around_time"),
            q("referer"),
            q("user_agent"),
            f("version_id host_id signature_version cipher_suite authentication_type host_header tls_version \
               access_point_arn acl_required"),
        ]),
        _ => return None,
    })
}

/// Each line matched, its captures into a `Map`, written as JSON.
fn regex_lines(regex: &Regex, corpus: &[u8]) -> u64 {
    let names: Vec<Option<&str>> = regex.capture_names().collect();
    let mut locations = regex.capture_locations();
    let mut out = Vec::new();
    let mut docs = 0;
    for line in lines(corpus) {
        let Ok(line) = std::str::from_utf8(line) else { continue };
        if regex.captures_read(&mut locations, line).is_none() {
            continue;
        }
        let mut doc = Map::new();
        for (i, name) in names.iter().enumerate() {
            if let (Some(name), Some((start, end))) = (name, locations.get(i)) {
                doc.insert((*name).to_owned(), Value::String(line[start..end].to_owned()));
            }
        }
        out.clear();
        serde_json::to_writer(&mut out, &doc).expect("in memory");
        std::hint::black_box(&out);
        docs += 1;
    }
    docs
}

/// Each JSON line read into a `Value` and written back.
fn json_lines(corpus: &[u8]) -> u64 {
    let mut out = Vec::new();
    let mut docs = 0;
    for line in lines(corpus) {
        let Ok(value) = serde_json::from_slice::<Value>(line) else { continue };
        out.clear();
        serde_json::to_writer(&mut out, &value).expect("in memory");
        std::hint::black_box(&out);
        docs += 1;
    }
    docs
}

/// A CloudTrail file read into a `Value`, then each of its `Records` written back.
fn json_records(corpus: &[u8]) -> u64 {
    let Ok(Value::Object(mut file)) = serde_json::from_slice::<Value>(corpus) else { return 0 };
    let Some(Value::Array(records)) = file.remove("Records") else { return 0 };
    let mut out = Vec::new();
    for record in &records {
        out.clear();
        serde_json::to_writer(&mut out, record).expect("in memory");
        std::hint::black_box(&out);
    }
    records.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every peer makes a document of every record of each format it has, so the bench times
    /// the same work for all; VRL's reason is shown where it fails.
    #[test]
    fn every_peer_parses_every_record() {
        for format in kelk_tests::formats::FORMATS {
            let (corpus, records) = format.corpus(200_000);
            if let Some(program) = vrl_program(format.name).filter(|_| format.name != "cloudtrail") {
                let vrl = Vrl::new(&program);
                for line in lines(&corpus) {
                    if let Err(e) = vrl.run(line) {
                        panic!("{}: vrl: {e}: {}", format.name, String::from_utf8_lossy(line));
                    }
                }
            }
            for peer in peers(format.name) {
                assert_eq!(peer.parse(&corpus), records, "{} {}", format.name, peer.name);
            }
        }
    }
}
