//! AWS WAF logs of web ACL traffic (WAF v2), as S3 and Firehose deliver them: one JSON object
//! per line.
//!
//! Reference: "Log fields for web ACL traffic" in the AWS WAF developer guide. The ECS fields
//! follow Elastic's `aws.waf` integration:
//!
//! - `timestamp` (milliseconds since the epoch) is `@timestamp`;
//! - `action` is `event.action` as WAF writes it (`ALLOW`, `BLOCK`, `CAPTCHA`, `CHALLENGE`), and
//!   `event.type` adds `allowed` to `access` for `ALLOW` and `denied` for the actions that stop
//!   the request at WAF: `BLOCK`, and `CAPTCHA` or `CHALLENGE`, which are the record's action
//!   only when WAF answered with the puzzle or the challenge instead of letting the request on;
//! - `terminatingRuleId` and `terminatingRuleType` are `rule.id` and `rule.ruleset`;
//! - the web ACL's ARN (`webaclId`) is `aws.waf.arn`, and gives `cloud.region`,
//!   `cloud.account.id`, the web ACL's name (`aws.waf.web_acl_name`) and id (`aws.waf.id`);
//!   `httpSourceName` and `httpSourceId` are `aws.waf.source.name` and `.id`;
//! - `httpRequest` gives `source.*` (`clientIp`, `country`), `http.*` and `url.*`: `uri` and
//!   `args` as written (percent-encoded), `url.original` being `uri?args`; `url.domain` is
//!   `httpRequest.host` or else the `Host` header; `requestBodySize` is
//!   `http.request.body.bytes`, `responseCodeSent` (a custom response's status) is
//!   `http.response.status_code`, `ja3Fingerprint` is `tls.client.ja3`;
//! - the request's headers are one object, `aws.waf.request.headers`, of lowercased names and
//!   their values (a repeated header's values as an array, in order): header names are the
//!   client's to choose, so the mappings make that object a `flat_object`, and no header name
//!   becomes a field of the index. `User-Agent` is also `user_agent.original`. The headers a
//!   rule inserted, `requestHeadersInserted`, are another such object;
//! - the lists of matching rules (`terminatingRuleMatchDetails`, `ruleGroupList`,
//!   `rateBasedRuleList`, `nonTerminatingMatchingRules`) are kept under `aws.waf.*` in snake
//!   case, their contents as WAF writes them, members and all, less their `null`s and the empty
//!   lists and objects that leaves; `labels` is the list of the labels' names;
//! - the rest under `aws.waf.*` in snake case: `format_version`, `captcha_response` and
//!   `challenge_response` (their `solveTimestamp` in ISO 8601), `ja4_fingerprint`,
//!   `request_body_size_inspected_by_waf`, `oversize_fields`.
//!
//! A line that is not a JSON object, or has no `timestamp` in milliseconds, is rejected;
//! members the plugin does not know are ignored. `httpRequest.requestId` is not used as the
//! document id: it is the front service's, and not documented as unique in WAF's logs.

use kelk_parser_sdk::ecs::{self, UrlParts};
use kelk_parser_sdk::json::write_str;
use kelk_parser_sdk::records::{self, Text};
use kelk_parser_sdk::{Event, LineParser, Object, Outcome, Timestamp, reject};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::io::Write;

#[derive(Default)]
pub struct Waf;

kelk_parser_sdk::plugin! {
    lines: Waf,
    name: "waf",
    dataset: "aws.waf",
    module: "aws",
    dashboard: {
        title: "AWS WAF requests",
        top_fields: ["event.action", "rule.id", "source.ip", "source.geo.country_iso_code"],
    },
}

const EVENT: &str = kelk_parser_sdk::event!(Waf, r#""kind":"event","category":["web"]"#);

/// The latest `@timestamp` there can be, 9999-12-31T23:59:59.999Z, in milliseconds.
const MAX_MILLIS: u64 = 253_402_300_799_999;

/// The longest header (name and value) kept whole. OpenSearch refuses a document with a term
/// over 32 KiB, and a `flat_object` indexes each value with its path as one term; a header this
/// long is past the limits of the services in front of WAF (CloudFront's 20 KiB of headers,
/// ALB's 16 KiB a header), so the cut only ever takes what no server would have passed on.
const MAX_HEADER_BYTES: usize = 31 << 10;

/// The longest DNS name: a longer host is no domain, and stays out of `url.domain`.
const MAX_DOMAIN_BYTES: usize = 253;

type Str<'a> = Option<Text<'a>>;

/// A record's members, as the developer guide names them; any others are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WafRecord<'a> {
    timestamp: Option<Value>,
    #[serde(default, deserialize_with = "long")]
    format_version: Option<u64>,
    #[serde(borrow)]
    webacl_id: Str<'a>,
    #[serde(borrow)]
    terminating_rule_id: Str<'a>,
    #[serde(borrow)]
    terminating_rule_type: Str<'a>,
    #[serde(borrow)]
    action: Str<'a>,
    terminating_rule_match_details: Option<Value>,
    #[serde(borrow)]
    http_source_name: Str<'a>,
    #[serde(borrow)]
    http_source_id: Str<'a>,
    rule_group_list: Option<Value>,
    rate_based_rule_list: Option<Value>,
    non_terminating_matching_rules: Option<Value>,
    #[serde(borrow)]
    request_headers_inserted: Option<Vec<Header<'a>>>,
    #[serde(default, deserialize_with = "long")]
    response_code_sent: Option<u64>,
    #[serde(borrow, default)]
    http_request: HttpRequest<'a>,
    #[serde(borrow)]
    labels: Option<Vec<Label<'a>>>,
    #[serde(borrow)]
    captcha_response: Option<Solve<'a>>,
    #[serde(borrow)]
    challenge_response: Option<Solve<'a>>,
    #[serde(borrow)]
    ja3_fingerprint: Str<'a>,
    #[serde(borrow)]
    ja4_fingerprint: Str<'a>,
    #[serde(default, deserialize_with = "long")]
    request_body_size: Option<u64>,
    #[serde(rename = "requestBodySizeInspectedByWAF", default, deserialize_with = "long")]
    request_body_size_inspected_by_waf: Option<u64>,
    #[serde(borrow)]
    oversize_fields: Option<Vec<Text<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct HttpRequest<'a> {
    #[serde(borrow)]
    client_ip: Str<'a>,
    #[serde(borrow)]
    country: Str<'a>,
    #[serde(borrow)]
    headers: Option<Vec<Header<'a>>>,
    #[serde(borrow)]
    uri: Str<'a>,
    #[serde(borrow)]
    args: Str<'a>,
    #[serde(borrow)]
    http_version: Str<'a>,
    #[serde(borrow)]
    http_method: Str<'a>,
    #[serde(borrow)]
    request_id: Str<'a>,
    #[serde(borrow)]
    scheme: Str<'a>,
    #[serde(borrow)]
    host: Str<'a>,
    #[serde(borrow)]
    fragment: Str<'a>,
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    name: Str<'a>,
    #[serde(borrow)]
    value: Str<'a>,
}

#[derive(Deserialize)]
struct Label<'a> {
    #[serde(borrow)]
    name: Str<'a>,
}

/// `captchaResponse` or `challengeResponse`: how the client fared with the puzzle or the
/// silent challenge.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Solve<'a> {
    #[serde(default, deserialize_with = "long")]
    response_code: Option<u64>,
    /// Seconds since the epoch.
    solve_timestamp: Option<u64>,
    #[serde(borrow)]
    failure_reason: Str<'a>,
}

/// A count or code, mapped as a `long`: a number larger than a long holds is a member of the
/// wrong type (OpenSearch would refuse the document).
fn long<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    match Option::<u64>::deserialize(deserializer)? {
        Some(n) if n > ecs::MAX_LONG => Err(serde::de::Error::custom(format!("{n} is more than a long holds"))),
        n => Ok(n),
    }
}

impl LineParser for Waf {
    fn parse_line(&mut self, line: &[u8], doc: &mut Object) -> Outcome {
        let text = records::text(line);
        let r: WafRecord = records::record(&text, "WAF log record")?;
        let ms = match &r.timestamp {
            None => return Err("no timestamp".into()),
            Some(t) => t
                .as_u64()
                .filter(|&ms| ms <= MAX_MILLIS)
                .ok_or_else(|| reject!("timestamp {t} is not milliseconds since the epoch"))?,
        };
        let time = Timestamp { secs: (ms / 1000) as i64, nanos: (ms % 1000) as u32 * 1_000_000 };
        let req = &r.http_request;
        let headers = req.headers.as_deref().unwrap_or_default();
        let header = |name: &str| {
            headers.iter().find(|h| h.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)))?.value.as_deref()
        };
        let acl = r.webacl_id.as_deref().filter(|id| !id.is_empty()).map(WebAcl::parse);

        doc.timestamp("@timestamp", time);
        doc.fields(ecs::ECS_FIELD);
        {
            let mut cloud = doc.object("cloud");
            cloud.str("provider", b"aws");
            cloud.opt_str("region", acl.as_ref().and_then(|a| a.region).map(str::as_bytes));
            cloud.object("account").opt_str("id", acl.as_ref().and_then(|a| a.account).map(str::as_bytes));
        }
        {
            let mut event = doc.object("event");
            event.fields(EVENT);
            let action = r.action.as_deref();
            let kind = match action {
                Some("ALLOW") => r#"["access","allowed"]"#,
                Some("BLOCK" | "CAPTCHA" | "CHALLENGE") => r#"["access","denied"]"#,
                _ => r#"["access"]"#,
            };
            event.raw("type", kind.as_bytes());
            event.opt_str("action", action.map(str::as_bytes));
        }
        {
            let mut source = doc.object("source");
            if let Some(ip) = present(&req.client_ip) {
                ecs::host_fields(&mut source, ip);
            }
            source.object("geo").opt_str("country_iso_code", present(&req.country).filter(|c| c != b"-"));
        }
        {
            let mut http = doc.object("http");
            {
                let mut request = http.object("request");
                request.opt_str("id", present(&req.request_id));
                request.opt_str("method", present(&req.http_method));
                if let Some(bytes) = r.request_body_size {
                    request.object("body").u64("bytes", bytes);
                }
            }
            if let Some(status) = r.response_code_sent {
                http.object("response").u64("status_code", status);
            }
            http.opt_str("version", present(&req.http_version).and_then(ecs::http_version));
        }
        url(doc, req, header("host"));
        doc.object("user_agent").opt_str("original", header("user-agent").map(str::as_bytes));
        doc.object("rule")
            .opt_str("id", present(&r.terminating_rule_id))
            .opt_str("ruleset", present(&r.terminating_rule_type));
        doc.object("tls").object("client").opt_str("ja3", present(&r.ja3_fingerprint));

        let mut aws = doc.object("aws");
        let mut waf = aws.object("waf");
        if let Some(acl) = &acl {
            waf.opt_str("arn", acl.arn.map(str::as_bytes));
            waf.str("id", acl.id.as_bytes());
            waf.opt_str("web_acl_name", acl.name.map(str::as_bytes));
        }
        if let Some(version) = r.format_version {
            waf.u64("format_version", version);
        }
        waf.object("source").opt_str("name", present(&r.http_source_name)).opt_str("id", present(&r.http_source_id));
        let mut scratch = Vec::new();
        for (key, list) in [
            ("terminating_rule_match_details", &r.terminating_rule_match_details),
            ("rule_group_list", &r.rule_group_list),
            ("rate_based_rule_list", &r.rate_based_rule_list),
            ("non_terminating_matching_rules", &r.non_terminating_matching_rules),
        ] {
            scratch.clear();
            if let Some(list) = list
                && write_pruned(&mut scratch, list)
            {
                waf.raw(key, &scratch);
            }
        }
        if let Some(labels) = &r.labels {
            let names: Vec<&[u8]> = labels.iter().filter_map(|l| present(&l.name)).collect();
            if !names.is_empty() {
                waf.str_array("labels", names);
            }
        }
        write_headers(&mut waf.object("request"), "headers", headers);
        write_headers(&mut waf, "request_headers_inserted", r.request_headers_inserted.as_deref().unwrap_or_default());
        for (key, solve, name) in [
            ("captcha_response", &r.captcha_response, "captchaResponse"),
            ("challenge_response", &r.challenge_response, "challengeResponse"),
        ] {
            let Some(solve) = solve else { continue };
            let mut out = waf.object(key);
            if let Some(code) = solve.response_code {
                out.u64("response_code", code);
            }
            if let Some(secs) = solve.solve_timestamp {
                let secs = (secs <= MAX_MILLIS / 1000)
                    .then_some(secs as i64)
                    .ok_or_else(|| reject!("{name}.solveTimestamp {secs} is not seconds since the epoch"))?;
                out.timestamp("solve_timestamp", Timestamp { secs, nanos: 0 });
            }
            out.opt_str("failure_reason", present(&solve.failure_reason));
        }
        waf.opt_str("ja4_fingerprint", present(&r.ja4_fingerprint));
        if let Some(bytes) = r.request_body_size_inspected_by_waf {
            waf.u64("request_body_size_inspected_by_waf", bytes);
        }
        if let Some(fields) = r.oversize_fields.as_deref().filter(|f| !f.is_empty()) {
            waf.str_array("oversize_fields", fields.iter().map(|f| f.as_bytes()));
        }
        Ok(Event::at(time).into())
    }
}

/// A string member that is there and not empty.
fn present<'s>(s: &'s Str) -> Option<&'s [u8]> {
    s.as_deref().filter(|s| !s.is_empty()).map(str::as_bytes)
}

/// ECS `url.*` from the request's path, query, scheme, fragment and host (`host_header` when
/// the record has no `httpRequest.host`).
fn url(doc: &mut Object, req: &HttpRequest, host_header: Option<&str>) {
    let mut url = doc.object("url");
    if let Some(path) = present(&req.uri) {
        let query = present(&req.args);
        match query {
            Some(query) => url.str("original", &[path, b"?", query].concat()),
            None => url.str("original", path),
        };
        url.str("path", path);
        url.opt_str("query", query);
        url.opt_str("extension", UrlParts::parse(path).extension());
    }
    if let Some(host) = present(&req.host).or(host_header.map(str::as_bytes)).filter(|h| !h.is_empty()) {
        // `name:port` or `[v6]:port`; an unbracketed IPv6 address has no port.
        let (domain, port) = match ecs::split_host_port(host) {
            Some((domain, port)) if host.starts_with(b"[") || !domain.contains(&b':') => (domain, Some(port)),
            _ => (host.strip_prefix(b"[").and_then(|h| h.strip_suffix(b"]")).unwrap_or(host), None),
        };
        if domain.len() <= MAX_DOMAIN_BYTES {
            url.str("domain", domain);
            if let Some(port) = port {
                url.u64("port", u64::from(port));
            }
        }
    }
    url.opt_str("scheme", present(&req.scheme));
    url.opt_str("fragment", present(&req.fragment));
}

/// The parts of a web ACL's ARN, `arn:PARTITION:wafv2:REGION:ACCOUNT:SCOPE/webacl/NAME/ID`;
/// a `webaclId` that is no ARN (WAF Classic's) is the id alone.
struct WebAcl<'a> {
    arn: Option<&'a str>,
    region: Option<&'a str>,
    account: Option<&'a str>,
    name: Option<&'a str>,
    id: &'a str,
}

impl<'a> WebAcl<'a> {
    fn parse(webacl_id: &'a str) -> Self {
        let arn = || {
            let (_partition, rest) = webacl_id.strip_prefix("arn:")?.split_once(':')?;
            let (_service, rest) = rest.split_once(':')?;
            let (region, rest) = rest.split_once(':')?;
            let (account, resource) = rest.split_once(':')?;
            let (path, id) = resource.rsplit_once('/')?;
            let name = path.rsplit_once('/').map(|(_, name)| name).filter(|_| path.contains("webacl/"));
            let given = |s: &'a str| (!s.is_empty()).then_some(s);
            Some(WebAcl { arn: Some(webacl_id), region: given(region), account: given(account), name, id })
        };
        arn().unwrap_or(WebAcl { arn: None, region: None, account: None, name: None, id: webacl_id })
    }
}

/// Writes `headers` under `key` as one object of lowercased names and their values, the values
/// of a header that comes more than once (in whatever case) as an array, in their order. A
/// header longer than [`MAX_HEADER_BYTES`] keeps only what fits of it.
fn write_headers(out: &mut Object, key: &str, headers: &[Header]) {
    let mut named: Vec<(Cow<[u8]>, &[u8])> = headers
        .iter()
        .filter_map(|h| {
            let name = cut(h.name.as_deref()?, MAX_HEADER_BYTES);
            let value = cut(h.value.as_deref()?, MAX_HEADER_BYTES - name.len());
            let name = name.as_bytes();
            let name = if name.iter().any(u8::is_ascii_uppercase) {
                Cow::Owned(name.to_ascii_lowercase())
            } else {
                Cow::Borrowed(name)
            };
            Some((name, value.as_bytes()))
        })
        .collect();
    if named.is_empty() {
        return;
    }
    named.sort_by(|a, b| a.0.cmp(&b.0)); // stable: a repeated header's values keep their order
    let mut json = vec![b'{'];
    for (i, group) in named.chunk_by(|a, b| a.0 == b.0).enumerate() {
        if i > 0 {
            json.push(b',');
        }
        write_str(&mut json, &group[0].0);
        json.push(b':');
        if let [(_, value)] = group {
            write_str(&mut json, value);
        } else {
            json.push(b'[');
            for (j, (_, value)) in group.iter().enumerate() {
                if j > 0 {
                    json.push(b',');
                }
                write_str(&mut json, value);
            }
            json.push(b']');
        }
    }
    json.push(b'}');
    out.raw(key, &json);
}

/// The first `max` bytes of `s`, less the end of a character they would cut.
fn cut(s: &str, max: usize) -> &str {
    &s[..s.floor_char_boundary(max)]
}

/// Appends `value` as JSON without its `null`s, nor the empty lists and objects (ECS documents
/// have no null values), nor what OpenSearch would refuse the document for; false, with nothing
/// appended, when nothing is left of it.
fn write_pruned(buf: &mut Vec<u8>, value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => {
            buf.extend_from_slice(if *b { b"true" } else { b"false" });
            true
        }
        // Nor numbers OpenSearch's dynamic long or float cannot hold: it would refuse the document.
        Value::Number(n)
            if !n.is_i64() && (n.is_u64() || n.as_f64().is_some_and(|v| v.abs() > f64::from(f32::MAX))) =>
        {
            false
        }
        Value::Number(n) => {
            write!(buf, "{n}").expect("writing to a Vec");
            true
        }
        Value::String(s) => {
            write_str(buf, s.as_bytes());
            true
        }
        Value::Array(items) => write_pruned_members(buf, *b"[]", items.iter().map(|v| (None, v))),
        Value::Object(members) => write_pruned_members(buf, *b"{}", members.iter().map(|(k, v)| (Some(k), v))),
    }
}

/// A list (no keys) or an object for [`write_pruned`].
fn write_pruned_members<'v>(
    buf: &mut Vec<u8>,
    [open, close]: [u8; 2],
    members: impl Iterator<Item = (Option<&'v String>, &'v Value)>,
) -> bool {
    let start = buf.len();
    buf.push(open);
    // Nor members whose names OpenSearch refuses: empty, or with an empty part before a dot.
    let refused = |k: &str| k.is_empty() || k.starts_with('.') || k.contains("..");
    for (key, value) in members.filter(|(key, _)| key.is_none_or(|k| !refused(k))) {
        let mark = buf.len();
        if mark > start + 1 {
            buf.push(b',');
        }
        if let Some(key) = key {
            write_str(buf, key.as_bytes());
            buf.push(b':');
        }
        if !write_pruned(buf, value) {
            buf.truncate(mark);
        }
    }
    if buf.len() == start + 1 {
        buf.truncate(start);
        return false;
    }
    buf.push(close);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use kelk_parser_sdk::{Lines, SourceContext};
    use serde_json::json;

    /// The document of one line, or the rejection's reason.
    fn parse_bytes(line: &[u8]) -> Result<Value, String> {
        let batch = kelk_parser_sdk::parse::<Lines<Waf>>(&SourceContext::default(), line).unwrap();
        match (batch.iter().next(), batch.rejections.first()) {
            (Some((_, json)), None) => Ok(serde_json::from_slice(json).unwrap()),
            (None, Some(rejection)) => Err(rejection.reason.clone()),
            _ => panic!("one record, one outcome"),
        }
    }

    /// The document of a record: `members` added to a minimal one.
    fn parse(members: Value) -> Value {
        let mut record = json!({"timestamp": 1_740_909_600_123u64, "action": "ALLOW", "httpRequest": {}});
        record.as_object_mut().unwrap().extend(members.as_object().unwrap().clone());
        parse_bytes(record.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn the_time_is_milliseconds_since_the_epoch() {
        let d = parse(json!({}));
        assert_eq!(d["@timestamp"], "2025-03-02T10:00:00.123Z");
        for (line, reason) in [
            (r#"{"action":"ALLOW"}"#, "no timestamp"),
            (r#"{"timestamp":null}"#, "no timestamp"),
            (r#"{"timestamp":"1740909600123"}"#, r#"timestamp "1740909600123" is not milliseconds since the epoch"#),
            (r#"{"timestamp":-1}"#, "timestamp -1 is not milliseconds since the epoch"),
            (r#"{"timestamp":1.5}"#, "timestamp 1.5 is not milliseconds since the epoch"),
            (r#"{"timestamp":253402300800000}"#, "timestamp 253402300800000 is not milliseconds since the epoch"),
        ] {
            assert_eq!(parse_bytes(line.as_bytes()), Err(reason.to_string()), "{line}");
        }
    }

    #[test]
    fn what_is_not_a_json_object_is_rejected() {
        for line in [&b"[1740909600123]"[..], b"1740909600123", b"\"x\"", b"timestamp=1"] {
            assert_eq!(parse_bytes(line), Err("not a WAF log record: not a JSON object".into()));
        }
        let cut = parse_bytes(br#"{"timestamp":1740909600123,"action":"ALL"#).unwrap_err();
        assert!(cut.starts_with("not a WAF log record: EOF while parsing"), "{cut}");
        let wrong = parse_bytes(br#"{"timestamp":1740909600123,"responseCodeSent":"403"}"#).unwrap_err();
        assert!(wrong.starts_with("not a WAF log record: invalid type: string \"403\""), "{wrong}");
        let big = parse_bytes(br#"{"timestamp":1740909600123,"requestBodySize":9223372036854775808}"#).unwrap_err();
        assert!(big.starts_with("not a WAF log record: 9223372036854775808 is more than a long holds"), "{big}");
        assert_eq!(
            parse_bytes(br#"{"timestamp":1,"challengeResponse":{"solveTimestamp":253402300800}}"#),
            Err("challengeResponse.solveTimestamp 253402300800 is not seconds since the epoch".into())
        );
    }

    #[test]
    fn unknown_members_are_ignored_and_bytes_that_are_not_utf8_replaced() {
        let d = parse(json!({"newField": {"a": [1, null]}, "httpRequest": {"newToo": 1, "uri": "/"}}));
        assert_eq!(d["url"], json!({"original": "/", "path": "/"}));
        assert!(d["aws"]["waf"].get("newField").is_none());
        let d = parse_bytes(b"{\"timestamp\":1,\"httpRequest\":{\"uri\":\"/caf\xe9\"}}").unwrap();
        assert_eq!(d["url"]["path"], "/caf\u{fffd}");
    }

    #[test]
    fn the_action_gives_the_event_type() {
        for (action, kind) in [
            ("ALLOW", json!(["access", "allowed"])),
            ("BLOCK", json!(["access", "denied"])),
            ("CAPTCHA", json!(["access", "denied"])),
            ("CHALLENGE", json!(["access", "denied"])),
            ("COUNT", json!(["access"])),
        ] {
            let d = parse(json!({ "action": action }));
            assert_eq!((&d["event"]["action"], &d["event"]["type"]), (&json!(action), &kind), "{action}");
        }
    }

    #[test]
    fn web_acl_arns() {
        let acl = WebAcl::parse("arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/Api-ACL_1/b2c3d4e5");
        assert_eq!(
            (acl.arn.is_some(), acl.region, acl.account, acl.name, acl.id),
            (true, Some("eu-west-1"), Some("111122223333"), Some("Api-ACL_1"), "b2c3d4e5")
        );
        let acl = WebAcl::parse("arn:aws-cn:wafv2:cn-north-1:111122223333:global/webacl/Site/a1");
        assert_eq!((acl.region, acl.name, acl.id), (Some("cn-north-1"), Some("Site"), "a1"));
        // WAF Classic: an id, or the ARN of a regional web ACL without its name.
        let acl = WebAcl::parse("a1b2c3d4-5678-90ab-cdef-EXAMPLE11111");
        assert_eq!((acl.arn, acl.region, acl.name, acl.id), (None, None, None, "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"));
        let acl = WebAcl::parse("arn:aws:waf-regional:us-east-1:111122223333:webacl/a1b2");
        assert_eq!((acl.region, acl.name, acl.id), (Some("us-east-1"), None, "a1b2"));
        assert!(WebAcl::parse("arn:aws:wafv2:nothing-more").arn.is_none());
    }

    #[test]
    fn headers_are_one_object_of_lowercased_names() {
        let headers = |list: Value| parse(json!({"httpRequest": {"headers": list}}));
        let d = headers(json!([
            {"name": "Set-Thing", "value": "1"},
            {"name": "X-Odd\"Name\\", "value": "q"},
            {"name": "set-thing", "value": "2"},
            {"name": "User-Agent", "value": "curl/8"},
            {"name": "HOST", "value": "example.com:8080"},
            {"name": "SET-THING", "value": "3"},
            {"name": "no-value"},
            {"value": "no name"},
        ]));
        assert_eq!(
            d["aws"]["waf"]["request"]["headers"],
            json!({"set-thing": ["1", "2", "3"], "x-odd\"name\\": "q", "user-agent": "curl/8", "host": "example.com:8080"})
        );
        assert_eq!(d["user_agent"]["original"], "curl/8");
        assert_eq!(d["url"], json!({"domain": "example.com", "port": 8080}));
        assert!(headers(json!([]))["aws"]["waf"].get("request").is_none());
        // `httpRequest.host`, where the record has it, is the domain.
        let d = parse(json!({"httpRequest": {"host": "www.example.com", "headers": [{"name": "Host", "value": "x"}]}}));
        assert_eq!(d["url"]["domain"], "www.example.com");
        let d = parse(json!({"httpRequest": {"host": "2001:db8::1"}}));
        assert_eq!(d["url"], json!({"domain": "2001:db8::1"}));
        let d = parse(json!({"httpRequest": {"host": format!("{}:80", "a".repeat(254))}}));
        assert!(d.get("url").is_none(), "a host longer than a DNS name is no domain");
    }

    #[test]
    fn a_header_too_long_to_index_is_cut() {
        let long = "\u{e9}".repeat(MAX_HEADER_BYTES); // two bytes each
        let d = parse(json!({"httpRequest": {"headers": [{"name": "X-Long", "value": long}]}}));
        let kept = d["aws"]["waf"]["request"]["headers"]["x-long"].as_str().unwrap();
        assert_eq!(kept.len(), MAX_HEADER_BYTES - "X-Long".len());
        assert!(long.starts_with(kept));
        let name = "n".repeat(MAX_HEADER_BYTES + 1);
        let d = parse(json!({"httpRequest": {"headers": [{"name": name, "value": "v"}]}}));
        assert_eq!(d["aws"]["waf"]["request"]["headers"], json!({ &name[1..]: "" }));
    }

    #[test]
    fn rule_lists_are_kept_without_their_nulls() {
        let d = parse(json!({
            "ruleGroupList": [
                {"ruleGroupId": "A", "terminatingRule": null, "nonTerminatingMatchingRules": [], "excludedRules": null},
                {"ruleGroupId": "B", "terminatingRule": {"ruleId": "R", "action": "BLOCK", "ruleMatchDetails": null},
                 "excludedRules": [{"exclusionType": "EXCLUDED_AS_COUNT", "ruleId": "X"}], "flag": false}
            ],
            "rateBasedRuleList": [{"customValues": [], "maxRateAllowed": 1.5e3}],
            "nonTerminatingMatchingRules": [null, {"x": {"y": []}}, {"": "no name", ".x": 1, "a..b": 2, "big": 18446744073709551615u64, "huge": 1e39}],
            "terminatingRuleMatchDetails": [],
        }));
        assert_eq!(
            d["aws"]["waf"],
            json!({
                "rule_group_list": [
                    {"ruleGroupId": "A"},
                    {"ruleGroupId": "B", "terminatingRule": {"ruleId": "R", "action": "BLOCK"},
                     "excludedRules": [{"exclusionType": "EXCLUDED_AS_COUNT", "ruleId": "X"}], "flag": false}
                ],
                "rate_based_rule_list": [{"maxRateAllowed": 1500.0}],
            })
        );
    }

    #[test]
    fn the_request() {
        let d = parse(json!({
            "httpRequest": {"clientIp": "2001:db8::7", "country": "-", "uri": "/a/b.php", "args": "x=%20&y",
                            "httpVersion": "HTTP/2.0", "httpMethod": "PUT", "requestId": "r1", "scheme": "https",
                            "fragment": ""},
            "requestBodySize": 12, "responseCodeSent": 403,
        }));
        assert_eq!(d["source"], json!({"address": "2001:db8::7", "ip": "2001:db8::7"}));
        assert_eq!(
            d["http"],
            json!({"request": {"id": "r1", "method": "PUT", "body": {"bytes": 12}}, "response": {"status_code": 403}, "version": "2.0"})
        );
        assert_eq!(
            d["url"],
            json!({"original": "/a/b.php?x=%20&y", "path": "/a/b.php", "query": "x=%20&y", "extension": "php", "scheme": "https"})
        );
        // A client address that is not an IP stays out of `source.ip`.
        let d = parse(json!({"httpRequest": {"clientIp": "unknown"}}));
        assert_eq!(d["source"], json!({"address": "unknown"}));
    }
}
