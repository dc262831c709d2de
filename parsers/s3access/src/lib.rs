//! Amazon S3 server access logs: one request per line, space-separated fields, the time in
//! `[brackets]`, the request line, referrer and user agent in `"quotes"`, `-` for a value the
//! request does not have.
//!
//! Reference: "Amazon S3 server access log format" in the S3 user guide. The fields, in order:
//! bucket owner, bucket, `[time]`, remote IP, requester, request ID, operation, key,
//! `"request-URI"`, HTTP status, error code, bytes sent, object size, total time, turn-around
//! time, `"referer"`, `"user-agent"`, version ID, host ID, signature version, cipher suite,
//! authentication type, host header, TLS version, access point ARN, ACL required. S3 has added
//! fields at the end over the years: a line may stop anywhere after the user agent (the oldest
//! logs end there), and fields after the ACL one, which S3 may add later, are kept as written in
//! `aws.s3access.unknown_fields`.
//!
//! The mapping follows Elastic's `aws.s3access` integration: the request line as
//! `http.request.method`, `http.version` and `url.*`; the status as `http.response.status_code`
//! and `event.outcome`; the bytes sent as `http.response.body.bytes`; the total time as
//! `event.duration`; the request ID as `event.id` and the operation as `event.action`; the TLS
//! version and cipher as `tls.*`; the remote IP as `source.ip` (`source.address` if it is not
//! an IP); the rest under `aws.s3access.*`. The request ID, the operation and the bytes sent are
//! written once, under their ECS names: `aws.s3access.request_id`, `aws.s3access.operation` and
//! `aws.s3access.bytes_sent`, Elastic's names beside them, are aliases of those in the mappings,
//! so searches and aggregations on either name find the same documents. Two `-` have a meaning
//! of their own: bytes sent is `-` when S3 sent none (0), and ACL required is `-` when no ACL
//! was required (`false`).
//! Quoted fields have the `\"`-style escapes of access logs undone.
//!
//! No document id of the log's own: the request ID (with the host ID) is not unique per line, as
//! a multi-object delete logs one `BATCH.DELETE.OBJECT` line per key under the request ID of its
//! `REST.POST.MULTI_OBJECT_DELETE`, and a lifecycle action logs its lines under one ID too. The
//! host's id from the object and line number makes a retry idempotent all the same.
//!
//! Rejected: a line without a `[time]` after the bucket owner and bucket, with fewer fields
//! than through the user agent, with an unterminated quote, with a field out of place (a quoted
//! one where a plain one belongs or the reverse: a quote left unescaped inside a quoted field,
//! or a stray space, has shifted the fields), or with a number field that is not one.

use kelk_parser_sdk::ecs::{self, dash};
use kelk_parser_sdk::text::unescape;
use kelk_parser_sdk::time::parse_common_log;
use kelk_parser_sdk::tokens::{Token, Tokens};
use kelk_parser_sdk::{Event, LineParser, Object, Outcome, Reject, reject};
use std::borrow::Cow;

#[derive(Default)]
pub struct S3Access;

kelk_parser_sdk::plugin! {
    lines: S3Access,
    name: "s3access",
    dataset: "aws.s3access",
    module: "aws",
    dashboard: {
        title: "S3 server access logs",
        top_fields: ["aws.s3access.operation", "http.response.status_code", "aws.s3access.bucket", "source.ip"],
    },
}

const EVENT: &str = kelk_parser_sdk::event!(S3Access, r#""kind":"event","category":["web"],"type":["access"]"#);

/// The fields after the `[time]` this parser names, through ACL required.
const NAMED: usize = 23;

/// The fields after the `[time]` every line has: through the user agent.
const REQUIRED: usize = 14;

/// The names of the fields after the `[time]`, for the reasons of rejections.
const NAMES: [&str; NAMED] = [
    "remote IP",
    "requester",
    "request ID",
    "operation",
    "key",
    "request-URI",
    "HTTP status",
    "error code",
    "bytes sent",
    "object size",
    "total time",
    "turn-around time",
    "referer",
    "user agent",
    "version ID",
    "host ID",
    "signature version",
    "cipher suite",
    "authentication type",
    "host header",
    "TLS version",
    "access point ARN",
    "ACL required",
];

/// The fields after the `[time]` that are quoted: request-URI, referer, user agent.
const QUOTED: [usize; 3] = [5, 12, 13];

const UNTERMINATED: &str = "a quoted field is never closed";

impl LineParser for S3Access {
    fn parse_line(&mut self, line: &[u8], doc: &mut Object) -> Outcome {
        let open = memchr::memmem::find(line, b" [").ok_or("not an S3 server access log line: no [time]")?;
        let close = memchr::memchr(b']', &line[open..]).map(|i| open + i).ok_or("the [time] field is never closed")?;
        let mut head = line[..open].split(|&b| b == b' ');
        let (Some(bucket_owner), Some(bucket), None) = (head.next(), head.next(), head.next()) else {
            return Err("the bucket owner and the bucket expected before the [time]".into());
        };
        let time_text = &line[open + 2..close];
        let time = parse_common_log(time_text).ok_or_else(|| {
            reject!("`[{}]` is not a time like [06/Feb/2019:00:00:38 +0000]", String::from_utf8_lossy(time_text))
        })?;

        let mut tokens = Tokens::new(&line[close + 1..]);
        let mut fields: [Option<&[u8]>; NAMED] = [None; NAMED];
        let mut count = 0;
        for (i, (slot, token)) in fields.iter_mut().zip(tokens.by_ref()).enumerate() {
            let token = token.map_err(|_| UNTERMINATED)?;
            if !in_place(i, token) {
                return Err(reject!(
                    "the {} `{}` is out of place: an unescaped quote or a stray space has shifted the fields",
                    NAMES[i],
                    String::from_utf8_lossy(token.text)
                ));
            }
            *slot = Some(token.text);
            count += 1;
        }
        if count < REQUIRED {
            return Err(reject!(
                "{count} fields after the [time], at least {REQUIRED} expected (through the user agent)"
            ));
        }
        let unknown = tokens.rest();
        if Tokens::new(unknown).any(|t| t.is_err()) {
            return Err(UNTERMINATED.into());
        }
        // Bytes sent and ACL required give `-` a meaning of its own: they are read as written.
        let (bytes_sent, acl_required) = (fields[8], fields[22]);
        // Fields a line does not reach are absent, as are those written `-`.
        let [
            remote_ip,
            requester,
            request_id,
            operation,
            key,
            request_uri,
            status,
            error_code,
            _,
            object_size,
            total_time,
            turn_around_time,
            referrer,
            user_agent,
            version_id,
            host_id,
            signature_version,
            cipher_suite,
            authentication_type,
            host_header,
            tls_version,
            access_point_arn,
            _,
        ] = fields.map(|f| f.and_then(dash));
        let status = status.map(|s| ecs::number("HTTP status", s)).transpose()?;
        // Every line has it (it comes before the user agent); `-` when none were sent.
        let bytes_sent = ecs::dash_number("bytes sent", bytes_sent.unwrap_or(b"-"))?.unwrap_or(0);
        let object_size = object_size.map(|b| ecs::number("object size", b)).transpose()?;
        let total_time = total_time.map(|t| ecs::number("total time", t)).transpose()?;
        let turn_around_time = turn_around_time.map(|t| ecs::number("turn-around time", t)).transpose()?;
        let acl_required = acl_required.map(acl).transpose()?;
        let request_uri = request_uri.map(unescaped);
        let request = request_uri.as_deref().and_then(Request::parse);
        let tls = tls_version.and_then(ecs::tls_protocol);

        doc.timestamp("@timestamp", time);
        doc.fields(ecs::AWS_ENVELOPE);
        {
            let mut event = doc.object("event");
            event.fields(EVENT);
            event.opt_str("id", request_id).opt_str("action", operation);
            if let Some(status) = status {
                event.str("outcome", ecs::http_outcome(status));
            }
            if let Some(ns) = total_time.and_then(|ms| ms.checked_mul(1_000_000)).filter(|&ns| ns <= ecs::MAX_LONG) {
                event.u64("duration", ns);
            }
        }
        if let Some(remote_ip) = remote_ip {
            let key = if ecs::parse_ip(remote_ip).is_some() { "ip" } else { "address" };
            doc.object("source").str(key, remote_ip);
        }
        {
            let mut http = doc.object("http");
            {
                let mut req = http.object("request");
                req.opt_str("method", request.as_ref().map(|r| r.method));
                req.opt_str("referrer", referrer.map(unescaped).as_deref().filter(|r| !r.is_empty()));
            }
            {
                let mut resp = http.object("response");
                if let Some(status) = status {
                    resp.u64("status_code", status);
                }
                resp.object("body").u64("bytes", bytes_sent);
            }
            http.opt_str("version", request.as_ref().and_then(|r| r.protocol).and_then(ecs::http_version));
        }
        if let Some(request) = &request {
            ecs::url(doc, request.target);
        }
        doc.object("user_agent").opt_str("original", user_agent.map(unescaped).as_deref().filter(|a| !a.is_empty()));
        {
            let mut t = doc.object("tls");
            t.opt_str("cipher", cipher_suite);
            if let Some((protocol, version)) = tls {
                t.str("version", version).str("version_protocol", protocol);
            }
        }

        let mut aws = doc.object("aws");
        let mut s3 = aws.object("s3access");
        s3.str("bucket_owner", bucket_owner).str("bucket", bucket);
        s3.opt_str("requester", requester);
        s3.opt_str("key", key).opt_str("request_uri", request_uri.as_deref()).opt_str("error_code", error_code);
        for (name, value) in
            [("object_size", object_size), ("total_time", total_time), ("turn_around_time", turn_around_time)]
        {
            if let Some(value) = value {
                s3.u64(name, value);
            }
        }
        s3.opt_str("version_id", version_id).opt_str("host_id", host_id);
        s3.opt_str("signature_version", signature_version).opt_str("authentication_type", authentication_type);
        s3.opt_str("host_header", host_header);
        // Kept as written only when `tls.*` could not say it.
        s3.opt_str("tls_version", tls_version.filter(|_| tls.is_none()));
        s3.opt_str("access_point_arn", access_point_arn);
        if let Some(required) = acl_required {
            s3.bool("acl_required", required);
        }
        if !unknown.is_empty() {
            s3.str_array("unknown_fields", Tokens::new(unknown).map_while(Result::ok).map(|t| t.text));
        }
        Ok(Event::at(time).into())
    }
}

/// Whether the `i`th field after the `[time]` has the quoting of its place: a quote inside a
/// quoted field that is not escaped (`\"`) ends the field early and shifts the rest of the
/// line, which then has a quoted field where a plain one belongs, or a plain one with a quote.
fn in_place(i: usize, token: Token) -> bool {
    if QUOTED.contains(&i) { token.quoted || token.text == b"-" } else { !token.quoted && !token.text.contains(&b'"') }
}

/// ACL required: `Yes`, or `-` when the request needed no ACL.
fn acl(field: &[u8]) -> Result<bool, Reject> {
    match field {
        b"Yes" => Ok(true),
        b"-" => Ok(false),
        other => Err(reject!("ACL required `{}` is neither Yes nor -", String::from_utf8_lossy(other))),
    }
}

/// A quoted field with its escapes undone; as written when the bytes its `\xhh` escapes give
/// are not UTF-8, where U+FFFD would lose them.
fn unescaped(text: &[u8]) -> Cow<'_, [u8]> {
    match unescape(text) {
        Cow::Owned(bytes) if std::str::from_utf8(&bytes).is_err() => Cow::Borrowed(text),
        decoded => decoded,
    }
}

/// The request-URI field: `METHOD TARGET PROTOCOL`, or `METHOD TARGET` as the oldest logs
/// write it.
#[derive(Debug, PartialEq, Eq)]
struct Request<'a> {
    method: &'a [u8],
    target: &'a [u8],
    protocol: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    fn parse(uri: &'a [u8]) -> Option<Self> {
        let mut parts = uri.split(|&b| b == b' ').filter(|p| !p.is_empty());
        let (method, target, protocol) = (parts.next()?, parts.next()?, parts.next());
        let method_ok = method.iter().all(|b| b.is_ascii_uppercase() || *b == b'-' || *b == b'_');
        (method_ok && parts.next().is_none() && protocol.is_none_or(|p| p.starts_with(b"HTTP/"))).then_some(Request {
            method,
            target,
            protocol,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kelk_parser_sdk::{Lines, SourceContext};
    use serde_json::{Value, json};

    fn parse(line: &str) -> Result<Value, String> {
        let batch = kelk_parser_sdk::parse::<Lines<S3Access>>(&SourceContext::default(), line.as_bytes()).unwrap();
        match (batch.iter().next(), batch.rejections.first()) {
            (Some((_, json)), None) => Ok(serde_json::from_slice(json).unwrap()),
            (None, Some(rejection)) => Err(rejection.reason.clone()),
            _ => panic!("one record, one outcome"),
        }
    }

    const HEAD: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d7ebac4ee6e4fbc76b7b76a9b7 amzn-s3-demo-bucket1 [06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d7ebac4ee6e4fbc76b7b76a9b7 3E57427F3EXAMPLE";

    #[test]
    fn request_uris() {
        let r = Request::parse(b"GET /amzn-s3-demo-bucket1/photos/puppy.jpg?versionId=1 HTTP/1.1").unwrap();
        assert_eq!(
            r,
            Request {
                method: b"GET",
                target: b"/amzn-s3-demo-bucket1/photos/puppy.jpg?versionId=1",
                protocol: Some(b"HTTP/1.1")
            }
        );
        assert_eq!(Request::parse(b"PUT /b/k").unwrap().protocol, None);
        assert!(Request::parse(b"GET").is_none());
        assert!(Request::parse(b"get / HTTP/1.1").is_none());
        assert!(Request::parse(b"GET / HTTP/1.1 extra").is_none());
        assert!(Request::parse(b"GET / SPDY/3").is_none());
    }

    #[test]
    fn acl_values() {
        assert_eq!(acl(b"Yes"), Ok(true));
        assert_eq!(acl(b"-"), Ok(false));
        assert_eq!(acl(b"No"), Err("ACL required `No` is neither Yes nor -".into()));
    }

    #[test]
    fn the_oldest_layout() {
        let d = parse(&format!(
            r#"{HEAD} REST.GET.OBJECT photos/puppy.jpg "GET /amzn-s3-demo-bucket1/photos/puppy.jpg" 200 - 2662992 3462992 70 10 "-" "curl/7.15.1""#
        ))
        .unwrap();
        assert_eq!(
            d["http"],
            json!({"request": {"method": "GET"}, "response": {"status_code": 200, "body": {"bytes": 2662992}}})
        );
        assert_eq!(d["event"]["duration"], 70_000_000);
        // In nanoseconds, more than a long holds: left out.
        let d = parse(&format!(r#"{HEAD} REST.GET.OBJECT k "GET /k" 200 - 1 1 9223372036855 10 "-" "-""#)).unwrap();
        assert!(d["event"].get("duration").is_none(), "{d}");
        let s3 = &d["aws"]["s3access"];
        assert!(s3.get("acl_required").is_none() && s3.get("version_id").is_none(), "{s3}");
    }

    #[test]
    fn dashes_that_mean_something() {
        let d = parse(&format!(
            r#"{HEAD} REST.HEAD.BUCKET - "HEAD /amzn-s3-demo-bucket1 HTTP/1.1" 200 - - - 3 - "-" "-" - hostid= SigV4 - AuthHeader s3.amazonaws.com - - -"#
        ))
        .unwrap();
        assert_eq!(d["http"]["response"]["body"]["bytes"], 0);
        assert_eq!(d["aws"]["s3access"]["acl_required"], false);
        assert!(d.get("tls").is_none() && d.get("user_agent").is_none(), "{d}");
    }

    #[test]
    fn newer_fields_are_kept() {
        let d = parse(&format!(
            r#"{HEAD} REST.GET.OBJECT k "GET /k HTTP/1.1" 200 - 1 1 1 1 "-" "-" - h SigV4 - AuthHeader s3.amazonaws.com TLSv1.3 - Yes us-east-1 "a b""#
        ))
        .unwrap();
        assert_eq!(d["aws"]["s3access"]["unknown_fields"], json!(["us-east-1", "a b"]));
        assert_eq!(d["tls"], json!({"version": "1.3", "version_protocol": "tls"}));
        // A TLS version `tls.*` cannot say is kept as written.
        let d = parse(&format!(
            r#"{HEAD} REST.GET.OBJECT k "GET /k HTTP/1.1" 200 - 1 1 1 1 "-" "-" - h SigV4 - AuthHeader s3.amazonaws.com QUICv1"#
        ))
        .unwrap();
        assert_eq!(d["aws"]["s3access"]["tls_version"], "QUICv1");
        assert!(d.get("tls").is_none(), "{d}");
    }

    #[test]
    fn rejections() {
        assert_eq!(
            parse(&format!(r#"{HEAD} REST.GET.OBJECT k "GET /k HTTP/1.1" 200 - 1 1 1 1 "-""#)),
            Err("13 fields after the [time], at least 14 expected (through the user agent)".into())
        );
        assert_eq!(
            parse(&format!(r#"{HEAD} REST.GET.OBJECT k "GET /k HTTP/1.1" OK - 1 1 1 1 "-" "-""#)),
            Err("HTTP status `OK` is not a number".into())
        );
        assert_eq!(
            parse(&format!(r#"{HEAD} REST.GET.OBJECT k "GET /k HTTP/1.1" 200 - 1 1 1 1 "-" "never closed"#)),
            Err(UNTERMINATED.into())
        );
        for line in [
            r#"REST.GET.OBJECT k "GET /k HTTP/1.1" 200 - 1 1 1 1 "-" "a "b" c" - h"#,
            r#"REST.GET.OBJECT k "GET /k HTTP/1.1" 200 - 1 1 1 1 "http://a "b" c" "curl/8""#,
            r#"REST.GET.OBJECT k GET 200 - 1 1 1 1 "-" "-""#,
            r#""REST.GET.OBJECT" k "GET /k HTTP/1.1" 200 - 1 1 1 1 "-" "-""#,
        ] {
            let reason = parse(&format!("{HEAD} {line}")).unwrap_err();
            assert!(
                reason.ends_with("is out of place: an unescaped quote or a stray space has shifted the fields"),
                "{line}"
            );
        }
        assert_eq!(
            parse(&format!(r#"{HEAD} REST.GET.OBJECT k "GET /k HTTP/1.1" 200 - 1 1 1 1 "-" "a "b" c" - h"#)),
            Err(r#"the version ID `c"` is out of place: an unescaped quote or a stray space has shifted the fields"#
                .into())
        );
        assert_eq!(
            parse(r#"192.0.2.1 - - [06/Feb/2019:00:00:38 +0000] "GET / HTTP/1.1" 200 5"#),
            Err("the bucket owner and the bucket expected before the [time]".into())
        );
    }
}
