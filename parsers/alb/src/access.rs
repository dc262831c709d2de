//! Application and Classic Load Balancer access logs.
//!
//! Reference: "Access log entries" in the ALB user guide. An ALB line is
//! `type time elb client:port target:port request_processing_time target_processing_time
//! response_processing_time elb_status_code target_status_code received_bytes sent_bytes
//! "request" "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" "domain_name"
//! "chosen_cert_arn" matched_rule_priority request_creation_time "actions_executed"
//! "redirect_url" "error_reason" "target:port_list" "target_status_code_list"
//! "classification" "classification_reason" conn_trace_id "transformed_host"
//! "transformed_uri" "request_transform_status"`, each field after `"request"` appearing only
//! in newer layouts. A Classic Load Balancer line has no `type` and stops at `ssl_protocol`;
//! for a TCP or SSL listener its request is `"- - - "` and its status codes are `- -`.
//!
//! ECS: an HTTP request is `http.*`, `url.*`, `user_agent.*`, `source.*`, `tls.*`; a TCP or
//! SSL connection has no request, and its bytes are `source.bytes`/`destination.bytes`. The
//! rest is `aws.elb.*`, with `aws.elb.protocol` `http`, `tcp` or `ssl`. `ssl_cipher` and
//! `trace_id` are written once, as `tls.cipher` and `trace.id`: `aws.elb.ssl_cipher` and
//! `aws.elb.trace_id`, Elastic's names beside them, are aliases of those in the mappings.

use crate::fields::token;
use crate::{Fields, NETWORK_EVENT, Shape, WEB_EVENT, event_fields, peer};
use kelk_parser_sdk::ecs::{self, dash, parse_u64, seconds_to_nanos};
use kelk_parser_sdk::text::unescape;
use kelk_parser_sdk::time::parse_iso8601;
use kelk_parser_sdk::{Object, Reject, Timestamp, reject};

/// Fields of the shared part, counted from `time` (ALB field 2, Classic field 1).
pub mod at {
    pub const TIME: usize = 0;
    pub const ELB: usize = 1;
    pub const CLIENT: usize = 2;
    pub const TARGET: usize = 3;
    pub const REQUEST_PROCESSING: usize = 4;
    pub const TARGET_PROCESSING: usize = 5;
    pub const RESPONSE_PROCESSING: usize = 6;
    pub const ELB_STATUS: usize = 7;
    pub const TARGET_STATUS: usize = 8;
    pub const RECEIVED_BYTES: usize = 9;
    pub const SENT_BYTES: usize = 10;
    pub const REQUEST: usize = 11;
    pub const USER_AGENT: usize = 12;
    pub const SSL_CIPHER: usize = 13;
    pub const SSL_PROTOCOL: usize = 14;
    // ALB only from here on.
    pub const TARGET_GROUP_ARN: usize = 15;
    pub const TRACE_ID: usize = 16;
    pub const DOMAIN_NAME: usize = 17;
    pub const CHOSEN_CERT_ARN: usize = 18;
    pub const MATCHED_RULE_PRIORITY: usize = 19;
    pub const REQUEST_CREATION_TIME: usize = 20;
    pub const ACTIONS_EXECUTED: usize = 21;
    pub const REDIRECT_URL: usize = 22;
    pub const ERROR_REASON: usize = 23;
    pub const TARGET_PORT_LIST: usize = 24;
    pub const TARGET_STATUS_CODE_LIST: usize = 25;
    pub const CLASSIFICATION: usize = 26;
    pub const CLASSIFICATION_REASON: usize = 27;
    pub const CONN_TRACE_ID: usize = 28;
    pub const TRANSFORMED_HOST: usize = 29;
    pub const TRANSFORMED_URI: usize = 30;
    pub const REQUEST_TRANSFORM_STATUS: usize = 31;
    /// Fields AWS has not defined yet: kept, never a failure.
    pub const KNOWN: usize = 32;
    /// Every layout has at least `time` … `"request"`.
    pub const REQUIRED: usize = REQUEST + 1;
}

/// How each field is written. The other quoted fields were bare in the first layouts, and
/// the target lists are bare in some samples, so only these are known never to be quoted.
fn shape(i: usize) -> Shape {
    match i {
        at::REQUEST | at::USER_AGENT => Shape::Text,
        at::TIME..=at::SENT_BYTES
        | at::SSL_CIPHER..=at::TARGET_GROUP_ARN
        | at::MATCHED_RULE_PRIORITY
        | at::REQUEST_CREATION_TIME
        | at::CONN_TRACE_ID => Shape::Bare,
        at::KNOWN.. => Shape::Text,
        _ => Shape::Plain,
    }
}

/// What a Classic listener carried: ALB lines are all HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Listener {
    Http,
    Tcp,
    Ssl,
}

impl Listener {
    fn of(typed: bool, f: &Fields) -> Listener {
        let connection = !typed
            && f[at::REQUEST].trim_ascii_end() == b"- - -"
            && f[at::ELB_STATUS] == b"-"
            && f[at::TARGET_STATUS] == b"-";
        if !connection {
            Listener::Http
        } else if dash(f[at::SSL_CIPHER]).is_some() || dash(f[at::SSL_PROTOCOL]).is_some() {
            Listener::Ssl
        } else {
            Listener::Tcp
        }
    }

    fn name(self) -> &'static [u8] {
        match self {
            Listener::Http => b"http",
            Listener::Tcp => b"tcp",
            Listener::Ssl => b"ssl",
        }
    }
}

/// Parses an access line, ALB's when it is `typed` (starts with its type), else Classic's.
pub fn parse(line: &[u8], typed: bool, doc: &mut Object) -> Result<Timestamp, Reject> {
    let mut rest = line;
    let kind = if typed {
        Some(token(&mut rest).and_then(Result::ok).ok_or("empty or unterminated first field")?.text)
    } else {
        None
    };
    let mut f = Fields::new();
    f.split(rest, usize::from(typed), shape)?;
    let n = f.n;

    let time = parse_iso8601(f[at::TIME])
        .ok_or("not an Elastic Load Balancing log line: no ISO 8601 time in the first or second field")?;
    if n < at::REQUIRED {
        let after = if typed { " after the type" } else { "" };
        return Err(reject!("{n} fields{after}, at least {} expected (time … \"request\")", at::REQUIRED));
    }
    let elb_status = ecs::dash_number("elb_status_code", f[at::ELB_STATUS])?;
    let listener = Listener::of(typed, &f);

    doc.timestamp_text("@timestamp", f[at::TIME], time);
    doc.fields(ecs::AWS_ENVELOPE);

    {
        let mut event = doc.object("event");
        // A call for each constant, not one with either (see `event_fields`).
        if listener == Listener::Http {
            event_fields(&mut event, WEB_EVENT);
        } else {
            event_fields(&mut event, NETWORK_EVENT);
        }
        if let Some(status) = elb_status {
            event.str("outcome", ecs::http_outcome(status));
        }
        let times =
            [at::REQUEST_PROCESSING, at::TARGET_PROCESSING, at::RESPONSE_PROCESSING].map(|i| seconds_to_nanos(f[i]));
        // Checked: three times near the limit of a `long` add up past it (or past u64).
        if let [Some(a), Some(b), Some(c)] = times
            && let Some(ns) = a.checked_add(b).and_then(|ab| ab.checked_add(c)).filter(|&ns| ns <= ecs::MAX_LONG)
        {
            event.u64("duration", ns);
        }
        let created = f[at::REQUEST_CREATION_TIME];
        if let Some(start) = dash(created).and_then(parse_iso8601) {
            event.timestamp_text("start", created, start);
        }
        event.timestamp_text("end", f[at::TIME], time);
    }

    let received = dash(f[at::RECEIVED_BYTES]).and_then(parse_u64);
    let sent = dash(f[at::SENT_BYTES]).and_then(parse_u64);
    if listener == Listener::Http {
        ecs::endpoint(doc, "source", f[at::CLIENT]);
        http(doc, &f, elb_status, received, sent);
        doc.object("destination").opt_str("domain", dash(f[at::DOMAIN_NAME]));
        doc.object("trace").opt_str("id", dash(f[at::TRACE_ID]));
    } else {
        // A connection's bytes, counted from the client's side and the load balancer's.
        peer(doc, "source", Some(f[at::CLIENT]), received);
        peer(doc, "destination", None, sent);
    }
    {
        let mut tls = doc.object("tls");
        tls.opt_str("cipher", dash(f[at::SSL_CIPHER]));
        if let Some((protocol, version)) = dash(f[at::SSL_PROTOCOL]).and_then(ecs::tls_protocol) {
            tls.str("version_protocol", protocol).str("version", version);
        }
    }

    let mut aws = doc.object("aws");
    let mut elb = aws.object("elb");
    elb.opt_str("type", kind).str("protocol", listener.name()).str("name", f[at::ELB]);
    {
        // A Lambda target has no ip:port, yet a status code.
        let mut backend = elb.object("backend");
        if let Some((host, port)) = dash(f[at::TARGET]).and_then(ecs::split_host_port) {
            // Mapped as an IP: any other host (an anonymised one) stays in `address`.
            let key = if ecs::parse_ip(host).is_some() { "ip" } else { "address" };
            backend.str(key, host).u64("port", u64::from(port));
        }
        if let Some(status) = dash(f[at::TARGET_STATUS]).and_then(parse_u64) {
            backend.object("http").object("response").u64("status_code", status);
        }
    }
    for (key, i) in [
        ("request_processing_time", at::REQUEST_PROCESSING),
        ("backend_processing_time", at::TARGET_PROCESSING),
        ("response_processing_time", at::RESPONSE_PROCESSING),
    ] {
        if f[i] != b"-1" {
            elb.object(key).number_text("sec", f[i]);
        }
    }
    elb.opt_str("ssl_protocol", dash(f[at::SSL_PROTOCOL]));
    elb.object("target_group").opt_str("arn", dash(f[at::TARGET_GROUP_ARN]));
    elb.object("chosen_cert").opt_str("arn", dash(f[at::CHOSEN_CERT_ARN]));
    // Mapped as a long: a priority that is not an integer is left out, as one that is no number.
    if let Some(priority) = dash(f[at::MATCHED_RULE_PRIORITY]).and_then(|p| std::str::from_utf8(p).ok()?.parse().ok()) {
        elb.i64("matched_rule_priority", priority);
    }
    if let Some(actions) = dash(f[at::ACTIONS_EXECUTED]) {
        elb.str_array("action_executed", actions.split(|&b| b == b','));
    }
    elb.opt_str("redirect_url", dash(f[at::REDIRECT_URL]));
    elb.object("error").opt_str("reason", dash(f[at::ERROR_REASON]));
    if let Some(targets) = dash(f[at::TARGET_PORT_LIST]) {
        elb.str_array("target_port", targets.split(|&b| b == b' ').filter(|t| !t.is_empty()));
    }
    if let Some(codes) = dash(f[at::TARGET_STATUS_CODE_LIST]) {
        elb.str_array("target_status_code", codes.split(|&b| b == b' ').filter(|t| !t.is_empty()));
    }
    elb.opt_str("classification", dash(f[at::CLASSIFICATION]));
    elb.opt_str("classification_reason", dash(f[at::CLASSIFICATION_REASON]));
    elb.opt_str("connection_trace_id", dash(f[at::CONN_TRACE_ID]));
    elb.opt_str("transformed_host", dash(f[at::TRANSFORMED_HOST]));
    elb.opt_str("transformed_uri", dash(f[at::TRANSFORMED_URI]));
    elb.opt_str("request_transform_status", dash(f[at::REQUEST_TRANSFORM_STATUS]));
    f.write_unknown(&mut elb, at::KNOWN);
    Ok(time)
}

/// ECS `http.*`, `url.*` and `user_agent.*` of an HTTP request.
fn http(doc: &mut Object, f: &Fields, elb_status: Option<u64>, received: Option<u64>, sent: Option<u64>) {
    let request_text = unescape(f[at::REQUEST]);
    let request = Request::parse(&request_text);
    {
        let mut http = doc.object("http");
        {
            let mut req = http.object("request");
            req.opt_str("method", request.method);
            if let Some(bytes) = received {
                req.u64("bytes", bytes);
            }
        }
        {
            let mut resp = http.object("response");
            if let Some(status) = elb_status {
                resp.u64("status_code", status);
            }
            if let Some(bytes) = sent {
                resp.u64("bytes", bytes);
            }
        }
        http.opt_str("version", request.version);
    }
    if let Some(url) = request.url {
        ecs::url(doc, url);
    }
    doc.object("user_agent").opt_str("original", dash(f[at::USER_AGENT]).map(unescape).as_deref());
}

/// The parts of the `"request"` field: `METHOD url PROTOCOL`, where the URL may contain spaces
/// and any part may be `-` (ALB writes `"- - - "` when it could not read the request).
#[derive(Debug, Default, PartialEq, Eq)]
struct Request<'a> {
    method: Option<&'a [u8]>,
    url: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    fn parse(request: &'a [u8]) -> Self {
        let request = request.trim_ascii_end();
        let Some(sp) = memchr::memchr(b' ', request) else {
            return Request { method: dash(request).filter(|m| !m.is_empty()), ..Default::default() };
        };
        let (method, rest) = (&request[..sp], &request[sp + 1..]);
        let (url, protocol) = match memchr::memrchr(b' ', rest) {
            Some(sp) => (&rest[..sp], &rest[sp + 1..]),
            None => (rest, &b""[..]),
        };
        let present = |s: &'a [u8]| dash(s).filter(|s| !s.is_empty());
        Request { method: present(method), url: present(url), version: present(protocol).and_then(ecs::http_version) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        let r = Request::parse(b"GET http://www.example.com:80/ HTTP/1.1");
        assert_eq!(
            (r.method, r.url, r.version),
            (Some(&b"GET"[..]), Some(&b"http://www.example.com:80/"[..]), Some(&b"1.1"[..]))
        );
        assert_eq!(Request::parse(b"- - - "), Request::default());
        let r = Request::parse(b"- http://example.com:80- -");
        assert_eq!((r.method, r.url, r.version), (None, Some(&b"http://example.com:80-"[..]), None));
        let r = Request::parse(b"GET http://x/a b HTTP/1.1");
        assert_eq!(r.url, Some(&b"http://x/a b"[..]));
    }

    #[test]
    fn every_known_field_has_a_shape() {
        assert_eq!(shape(at::REQUEST), Shape::Text);
        assert_eq!(shape(at::TRACE_ID), Shape::Plain);
        assert_eq!(shape(at::REQUEST_TRANSFORM_STATUS), Shape::Plain);
        assert_eq!(shape(at::CONN_TRACE_ID), Shape::Bare);
        assert_eq!(shape(at::KNOWN), Shape::Text);
    }
}
