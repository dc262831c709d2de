//! Apache HTTP Server access logs, as Kinesis Agent ships them raw: the `common`
//! (`%h %l %u %t "%r" %>s %b`), `combined` (… `"%{Referer}i" "%{User-agent}i"`) and
//! `vhost_combined` (`%v:%p` first) layouts of mod_log_config, and their usual extensions:
//!
//! - the client with its port, `%h:%{remote}p`: `source.port`, as the vhost's `%v:%p` (or
//!   `%A:%p`) gives `destination.port`;
//! - the time taken to serve the request, `%D` (microseconds) or `%T` (seconds), right after
//!   `%b` or as the only field after the user agent, or `%T/%D` there: `event.duration`. A lone
//!   number is in the unit of option `duration_unit`: `us` (`%D`, the default), `ms`
//!   (`%{ms}T`) or `s` (`%T`);
//! - other fields after the user agent (an `X-Forwarded-For`, `"quoted"` or as
//!   `X-Forwarded-For="a, b"`): kept as written, each whole, in `apache.access.extra_fields`.
//!
//! Apache's own escapes in quoted fields (`\"`, `\\`, `\xhh`) are undone, unless the bytes they
//! give are not UTF-8 (a TLS handshake sent to port 80): such a field is kept as written. A
//! request line that is not `METHOD TARGET [PROTOCOL]` is kept as `apache.access.request`; a
//! `-` in one (`"- - HTTP/1.0"`) is an absent method, target or protocol. `%b` written as `-`
//! means no body: 0 bytes.
//!
//! Through Firehose, Kinesis Agent sends one line per record. The plugin makes one document
//! per line in any case; a Firehose record can carry only one document back, so the host
//! returns a record whose lines make exactly one document as `Ok`, and any other (several
//! lines, or a rejected one) as `ProcessingFailed` with the reason, which Firehose keeps under
//! its processing-failed prefix: nothing is lost, and nothing is silently merged.

use kelk_parser_sdk::ecs::{self, dash, parse_u64};
use kelk_parser_sdk::text::unescape;
use kelk_parser_sdk::time::parse_common_log;
use kelk_parser_sdk::tokens::{Tokens, Unterminated};
use kelk_parser_sdk::{Event, Fatal, LineParser, Object, Open, Outcome, SourceContext, reject};
use std::borrow::Cow;

pub struct Apache {
    /// Nanoseconds per unit of a lone time-taken number (option `duration_unit`).
    duration_unit: u64,
}

kelk_parser_sdk::plugin! {
    lines: Apache,
    name: "apache",
    dataset: "apache.access",
    module: "apache",
    dashboard: {
        title: "Apache access logs",
        top_fields: ["http.response.status_code", "url.path", "source.ip", "http.request.method"],
    },
}

const EVENT: &str = kelk_parser_sdk::event!(Apache, r#""kind":"event","category":["web"],"type":["access"]"#);

const UNTERMINATED: &str = "a quoted field is never closed";

impl Open for Apache {
    fn open(ctx: &SourceContext) -> Result<Self, Fatal> {
        let duration_unit = match ctx.option("duration_unit") {
            None | Some("us") => 1_000,
            Some("ms") => 1_000_000,
            Some("s") => 1_000_000_000,
            Some(other) => {
                return Err(Fatal::UnsupportedFormat(format!(
                    "option duration_unit={other:?}: us (%D), ms (%{{ms}}T) or s (%T) expected"
                )));
            }
        };
        Ok(Apache { duration_unit })
    }
}

impl LineParser for Apache {
    fn parse_line(&mut self, line: &[u8], doc: &mut Object) -> Outcome {
        // `[vhost[:port]] host[:port] ident user [time] "request" status size [time-taken]
        // ["referrer" "agent"] …`: the first ` [` ends the unquoted head, and the time runs to
        // the next `]`.
        let open = memchr::memmem::find(line, b" [").ok_or("not an Apache access log line: no [time]")?;
        let close = memchr::memchr(b']', &line[open..]).map(|i| open + i).ok_or("the [time] field is never closed")?;
        let mut head: [&[u8]; 4] = [b""; 4];
        let mut parts = 0;
        for part in line[..open].split(|&b| b == b' ') {
            if parts == head.len() {
                parts += 1;
                break;
            }
            head[parts] = part;
            parts += 1;
        }
        let (vhost, [host, identity, user]) = match parts {
            3 => (None, [head[0], head[1], head[2]]),
            4 => (Some(head[0]), [head[1], head[2], head[3]]),
            _ => {
                return Err(reject!(
                    "{parts} fields before the [time]; host ident user expected, after an optional vhost"
                ));
            }
        };
        let time_text = &line[open + 2..close];
        let time = parse_common_log(time_text).ok_or_else(|| {
            reject!("`[{}]` is not a time like [10/Oct/2000:13:55:36 -0700]", String::from_utf8_lossy(time_text))
        })?;
        let mut fields = Tokens::new(&line[close + 1..]);
        let (request, status, bytes) = match (fields.next(), fields.next(), fields.next()) {
            (Some(Ok(request)), Some(Ok(status)), Some(Ok(bytes))) if request.quoted => (request, status, bytes),
            (Some(Err(_)), _, _) | (_, Some(Err(_)), _) | (_, _, Some(Err(_))) => return Err(UNTERMINATED.into()),
            _ => return Err("\"request\" status size expected after the [time]".into()),
        };
        let status = ecs::dash_number("status", status.text)?;
        let bytes = ecs::dash_number("size", bytes.text)?.unwrap_or(0);
        // `%D` or `%T` right after `%b`, or else as the only field after the user agent.
        let mut duration = self.take_duration(&mut fields);
        let mut ahead = fields.clone();
        let (referrer, user_agent) = match (ahead.next(), ahead.next()) {
            (Some(Ok(r)), Some(Ok(a))) if r.quoted && a.quoted => {
                fields = ahead;
                (Some(unescaped(r.text)), Some(unescaped(a.text)))
            }
            // Unquoted `- -` for both, as some configurations write them.
            (Some(Ok(r)), Some(Ok(a))) if r.text == b"-" && a.text == b"-" => {
                fields = ahead;
                (None, None)
            }
            // Anything else is where the extra fields begin.
            _ => (None, None),
        };
        let mut extra = Extras(fields.rest());
        if !extra.0.is_empty() {
            let mut tail = Tokens::new(extra.0);
            if duration.is_none()
                && let Some(taken) = self.take_duration(&mut tail)
                && tail.rest().is_empty()
            {
                duration = Some(taken);
                extra = Extras(b"");
            }
            if extra.clone().any(|f| f.is_err()) {
                return Err(UNTERMINATED.into());
            }
        }
        let request_text = unescaped(request.text);
        let request = Request::parse(&request_text);

        doc.timestamp("@timestamp", time);
        doc.fields(ecs::ECS_FIELD);
        {
            let mut event = doc.object("event");
            event.fields(EVENT);
            if let Some(status) = status {
                event.str("outcome", ecs::http_outcome(status));
            }
            if let Some(duration) = duration {
                event.u64("duration", duration);
            }
        }
        endpoint(doc, "source", host);
        doc.object("user").opt_str("name", dash(user));
        if let Some(vhost) = vhost {
            endpoint(doc, "destination", vhost);
        }
        {
            let mut http = doc.object("http");
            {
                let mut req = http.object("request");
                req.opt_str("method", request.as_ref().and_then(|r| r.method));
                req.opt_str("referrer", referrer.as_deref().and_then(dash).filter(|r| !r.is_empty()));
            }
            {
                let mut resp = http.object("response");
                if let Some(status) = status {
                    resp.u64("status_code", status);
                }
                resp.object("body").u64("bytes", bytes);
            }
            http.opt_str("version", request.as_ref().and_then(|r| r.protocol).and_then(ecs::http_version));
        }
        if let Some(target) = request.as_ref().and_then(|r| r.target) {
            ecs::url(doc, target);
        }
        doc.object("user_agent").opt_str("original", user_agent.as_deref().and_then(dash).filter(|a| !a.is_empty()));

        let mut apache = doc.object("apache");
        let mut access = apache.object("access");
        access.opt_str("identity", dash(identity));
        if request.is_none() && request_text.as_ref() != b"-" {
            access.str("request", &request_text);
        }
        if !extra.0.is_empty() {
            access.str_array("extra_fields", extra.map_while(Result::ok));
        }
        Ok(Event::at(time).into())
    }
}

impl Apache {
    /// Takes the next field if it is a time taken, as nanoseconds: `%D` or `%T` (a number in
    /// the unit of option `duration_unit`), or `%T/%D`, whose microseconds are the exact part.
    fn take_duration(&self, fields: &mut Tokens) -> Option<u64> {
        // It is unquoted: a quoted field (the referrer) is not worth reading twice to see that.
        if fields.rest().first() == Some(&b'"') {
            return None;
        }
        let mut ahead = fields.clone();
        let field = ahead.next()?.ok()?.text;
        let nanos = match memchr::memchr(b'/', field) {
            Some(slash) => parse_u64(&field[..slash]).and(parse_u64(&field[slash + 1..]))?.checked_mul(1_000),
            None => parse_u64(field)?.checked_mul(self.duration_unit),
        }
        .filter(|&ns| ns <= ecs::MAX_LONG)?;
        *fields = ahead;
        Some(nanos)
    }
}

/// A quoted field with Apache's escapes undone; as written when the bytes its `\xhh` escapes
/// give are not UTF-8 (a binary request), where U+FFFD would lose them.
#[inline]
fn unescaped(text: &[u8]) -> Cow<'_, [u8]> {
    match unescape(text) {
        Cow::Owned(bytes) if std::str::from_utf8(&bytes).is_err() => Cow::Borrowed(text),
        decoded => decoded,
    }
}

/// ECS `source` or `destination` from `%h`, `%v` or `%A`, with or without a `:port`: `address`
/// (the host), `ip` or `domain`, and `port`. An IPv6 address is taken whole: its last group is
/// not a port.
fn endpoint(doc: &mut Object, key: &str, field: &[u8]) {
    let Some(field) = dash(field) else { return };
    let (host, port, is_ip) = if ecs::parse_ip(field).is_some() {
        (field, None, true)
    } else {
        match ecs::split_host_port(field) {
            Some((host, port)) if !host.is_empty() => match ecs::parse_ip(host) {
                Some(_) => (host, Some(port), true),
                None if !host.contains(&b':') => (host, Some(port), false),
                None => (field, None, false),
            },
            _ => (field, None, false),
        }
    };
    let mut ep = doc.object(key);
    ep.str("address", host);
    if is_ip {
        ep.str("ip", host);
    } else if !host.contains(&b':') {
        // Not `name:junk`, whose colon would pass for a port.
        ep.str("domain", host);
    }
    if let Some(port) = port {
        ep.u64("port", u64::from(port));
    }
}

/// The fields after the user agent, each as written: a `"quoted"` one without its quotes, or a
/// word, which a `"` in it stretches to the end of its quoted part, spaces and all
/// (`X-Forwarded-For="a, b"`, as custom LogFormats write it).
#[derive(Clone)]
struct Extras<'a>(&'a [u8]);

impl<'a> Iterator for Extras<'a> {
    type Item = Result<&'a [u8], Unterminated>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut fields = Tokens::new(self.0);
        let first = match fields.next()? {
            Ok(field) if !field.quoted => field.text,
            quoted => {
                self.0 = fields.rest();
                return Some(quoted.map(|f| f.text));
            }
        };
        let s = Tokens::new(self.0).rest();
        // A quoted part ends where a quoted field would. When the first quote's part never
        // ends, no later one's can (their possible ends are a subset): the word stays plain.
        let end = match memchr::memchr(b'"', first) {
            Some(quote) => match Tokens::new(&s[quote..]).next() {
                Some(Ok(part)) => quote + part.text.len() + 2,
                _ => first.len(),
            },
            None => first.len(),
        };
        self.0 = &s[end..];
        Some(Ok(&s[..end]))
    }
}

/// `METHOD TARGET PROTOCOL`, or `METHOD TARGET` (an HTTP/0.9-style request); `-` for an
/// absent part.
struct Request<'a> {
    method: Option<&'a [u8]>,
    target: Option<&'a [u8]>,
    protocol: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    fn parse(request: &'a [u8]) -> Option<Self> {
        let mut parts = request.split(|&b| b == b' ').filter(|p| !p.is_empty());
        let (method, target, protocol) = (parts.next()?, parts.next()?, parts.next());
        let token = |s: &[u8]| s.iter().all(|b| b.is_ascii_alphabetic() || *b == b'-' || *b == b'_');
        let protocol = protocol.and_then(dash);
        (token(method) && parts.next().is_none() && protocol.is_none_or(|p| p.starts_with(b"HTTP/")))
            .then_some(Request { method: dash(method), target: dash(target), protocol })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kelk_parser_sdk::{Lines, SourceContext};
    use serde_json::{Value, json};

    /// The document of one line, or the rejection's reason.
    fn parse_with(options: &[(&str, &str)], line: &str) -> Result<Value, String> {
        let ctx = SourceContext {
            options: options.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        };
        let batch = kelk_parser_sdk::parse::<Lines<Apache>>(&ctx, line.as_bytes()).unwrap();
        match (batch.iter().next(), batch.rejections.first()) {
            (Some((_, json)), None) => Ok(serde_json::from_slice(json).unwrap()),
            (None, Some(rejection)) => Err(rejection.reason.clone()),
            _ => panic!("one record, one outcome"),
        }
    }

    fn parse(line: &str) -> Value {
        parse_with(&[], line).unwrap()
    }

    const TIME: &str = "[02/Mar/2025:10:00:00 +0000]";

    #[test]
    fn request_lines() {
        let r = Request::parse(b"GET /apache_pb.gif HTTP/1.0").unwrap();
        assert_eq!(
            (r.method, r.target, r.protocol),
            (Some(&b"GET"[..]), Some(&b"/apache_pb.gif"[..]), Some(&b"HTTP/1.0"[..]))
        );
        let r = Request::parse(b"GET /").unwrap();
        assert_eq!((r.method, r.target, r.protocol), (Some(&b"GET"[..]), Some(&b"/"[..]), None));
        let r = Request::parse(b"- - HTTP/1.0").unwrap();
        assert_eq!((r.method, r.target, r.protocol), (None, None, Some(&b"HTTP/1.0"[..])));
        let r = Request::parse(b"- - -").unwrap();
        assert_eq!((r.method, r.target, r.protocol), (None, None, None));
        assert_eq!(Request::parse(b"M-SEARCH * HTTP/1.1").unwrap().method, Some(&b"M-SEARCH"[..]));
        assert!(Request::parse(b"-").is_none());
        assert!(Request::parse(b"\x16\x03\x01\x02\x00\x01").is_none());
        assert!(Request::parse(b"<SCRIPT>x</SCRIPT> / HTTP/1.1").is_none());
    }

    #[test]
    fn placeholders_in_the_request_are_absent() {
        let d = parse(&format!(r#"192.0.2.1 - - {TIME} "- - HTTP/1.0" 400 0 "-" "-""#));
        assert_eq!(d["http"], json!({"response": {"status_code": 400, "body": {"bytes": 0}}, "version": "1.0"}));
        assert!(d.get("url").is_none() && d.get("apache").is_none(), "{d}");
    }

    #[test]
    fn escapes_that_are_not_utf8_stay_as_written() {
        let d = parse(&format!(r#"192.0.2.2 - - {TIME} "\x16\x03\x01\x02\x9e\x01" 400 226 "-" "-""#));
        assert_eq!(d["apache"]["access"]["request"], r"\x16\x03\x01\x02\x9e\x01");
        let d = parse(&format!(r#"192.0.2.2 - - {TIME} "GET /caf\xc3\xa9 HTTP/1.1" 200 1 "/p\xff\"q\"" "\x01""#));
        assert_eq!(d["url"]["original"], "/café");
        assert_eq!(d["http"]["request"]["referrer"], r#"/p\xff\"q\""#, "the whole field as written");
        assert_eq!(d["user_agent"]["original"], "\u{1}", "control bytes are UTF-8");
    }

    #[test]
    fn quoted_parts_keep_a_trailing_field_whole() {
        let d = parse(&format!(
            r#"192.0.2.3 - - {TIME} "GET / HTTP/1.1" 200 5 "-" "curl/8" X-Forwarded-For="203.0.113.7, 198.51.100.20" "a b" tls="1";c="x y" plain"#
        ));
        assert_eq!(
            d["apache"]["access"]["extra_fields"],
            json!([r#"X-Forwarded-For="203.0.113.7, 198.51.100.20""#, "a b", r#"tls="1";c="x y""#, "plain"])
        );
        // A stray quote that no later quote closes leaves its word plain.
        let d = parse(&format!(r#"192.0.2.3 - - {TIME} "GET / HTTP/1.1" 200 5 "-" "curl/8" a"b c"#));
        assert_eq!(d["apache"]["access"]["extra_fields"], json!([r#"a"b"#, "c"]));
        assert_eq!(
            parse_with(&[], &format!(r#"192.0.2.3 - - {TIME} "GET / HTTP/1.1" 200 5 "-" "curl/8" "open"#)),
            Err(UNTERMINATED.to_string())
        );
    }

    #[test]
    fn clients_and_vhosts_with_ports() {
        let d = parse(&format!(r#"203.0.113.7:51234 - - {TIME} "GET / HTTP/1.1" 200 5"#));
        assert_eq!(d["source"], json!({"address": "203.0.113.7", "ip": "203.0.113.7", "port": 51234}));
        // `%h:%{remote}p` with an IPv6 client: the port is past the address's last group.
        let d = parse(&format!(r#"www.example.com:443 2001:db8::7:51234 - - {TIME} "GET / HTTP/1.1" 200 5"#));
        assert_eq!(d["destination"], json!({"address": "www.example.com", "domain": "www.example.com", "port": 443}));
        assert_eq!(d["source"], json!({"address": "2001:db8::7", "ip": "2001:db8::7", "port": 51234}));
        let d = parse(&format!(r#"10.0.0.5:80 client.example.net:4711 - - {TIME} "GET / HTTP/1.1" 200 5"#));
        assert_eq!(d["destination"], json!({"address": "10.0.0.5", "ip": "10.0.0.5", "port": 80}));
        assert_eq!(d["source"], json!({"address": "client.example.net", "domain": "client.example.net", "port": 4711}));
        // An IPv6 address ending in digits is an address, not an address and a port.
        let d = parse(&format!(r#"2001:db8::1 - - {TIME} "GET / HTTP/1.1" 200 5"#));
        assert_eq!(d["source"], json!({"address": "2001:db8::1", "ip": "2001:db8::1"}));
        let d = parse(&format!(r#"- - - {TIME} "GET / HTTP/1.1" 200 5"#));
        assert!(d.get("source").is_none());
        let d = parse(&format!(r#"host:99999 - - {TIME} "GET / HTTP/1.1" 200 5"#));
        assert_eq!(d["source"], json!({"address": "host:99999"}));
    }

    #[test]
    fn time_taken() {
        let ns = |options: &[(&str, &str)], line: &str| parse_with(options, line).unwrap()["event"]["duration"].clone();
        let after_size = format!(r#"192.0.2.4 - - {TIME} "GET / HTTP/1.1" 200 612 3413 "-" "Mozilla/5.0 (X11)""#);
        assert_eq!(ns(&[], &after_size), 3_413_000);
        assert_eq!(ns(&[("duration_unit", "s")], &after_size), json!(3_413_000_000_000u64));
        // More nanoseconds than a long holds: not a time taken.
        let too_long = after_size.replace(" 3413 ", " 9223372037 ");
        assert!(parse_with(&[("duration_unit", "s")], &too_long).unwrap()["event"].get("duration").is_none());
        let d = parse(&after_size);
        assert_eq!(d["user_agent"]["original"], "Mozilla/5.0 (X11)");
        assert!(d.get("apache").is_none(), "{d}");
        let at_end = format!(r#"192.0.2.4 - - {TIME} "GET / HTTP/1.1" 200 - "-" "curl/8" 2"#);
        assert_eq!(ns(&[("duration_unit", "ms")], &at_end), 2_000_000);
        assert_eq!(ns(&[], &format!(r#"192.0.2.4 - - {TIME} "GET / HTTP/1.1" 200 - "-" "curl/8" 0/3413"#)), 3_413_000);
        assert_eq!(ns(&[], &format!(r#"192.0.2.4 - - {TIME} "GET / HTTP/1.1" 200 5 4"#)), 4_000);
        // Two numbers at the end (`%I %O`) or a quoted one are not a time taken.
        let io = parse(&format!(r#"192.0.2.4 - - {TIME} "GET / HTTP/1.1" 200 5 "-" "curl/8" 310 5210"#));
        assert!(io["event"].get("duration").is_none());
        assert_eq!(io["apache"]["access"]["extra_fields"], json!(["310", "5210"]));
        let quoted = parse(&format!(r#"192.0.2.4 - - {TIME} "GET / HTTP/1.1" 200 5 "-" "curl/8" "7""#));
        assert!(quoted["event"].get("duration").is_none());
        let ctx = SourceContext { options: vec![("duration_unit".into(), "hours".into())], ..Default::default() };
        assert!(matches!(kelk_parser_sdk::parse::<Lines<Apache>>(&ctx, b""), Err(Fatal::UnsupportedFormat(_))));
    }
}
