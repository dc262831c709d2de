//! Apache HTTP Server access logs, as Kinesis Agent ships them raw: the `common`
//! (`%h %l %u %t "%r" %>s %b`), `combined` (… `"%{Referer}i" "%{User-agent}i"`) and
//! `vhost_combined` (`%v:%p` first) layouts of mod_log_config.
//!
//! Fields after the user agent (an `X-Forwarded-For`, say) are kept in
//! `apache.access.extra_fields`. Apache's own escapes in quoted fields (`\"`, `\\`, `\xhh`) are
//! undone. A request line that is not `METHOD TARGET [PROTOCOL]` (raw TLS bytes, say) is kept
//! as `apache.access.request`. `%b` written as `-` means no body: 0 bytes.
//!
//! Through Firehose, Kinesis Agent sends one line per record. The plugin makes one document
//! per line in any case; a Firehose record can carry only one document back, so the host
//! returns a record whose lines make exactly one document as `Ok`, and any other (several
//! lines, or a rejected one) as `ProcessingFailed` with the reason, which Firehose keeps under
//! its processing-failed prefix: nothing is lost, and nothing is silently merged.

use kelk_parser_sdk::ecs::{self, dash, parse_u64};
use kelk_parser_sdk::text::unescape;
use kelk_parser_sdk::time::parse_common_log;
use kelk_parser_sdk::tokens::{Token, Tokens};
use kelk_parser_sdk::{Event, Fatal, Info, LineParser, Object, Parsed, SourceContext};

pub struct Apache;

kelk_parser_sdk::export_parser!(kelk_parser_sdk::Lines<Apache>);

const EVENT: &str =
    r#""kind":"event","category":["web"],"type":["access"],"dataset":"apache.access","module":"apache""#;

impl LineParser for Apache {
    const INFO: Info = Info {
        name: "apache",
        version: env!("CARGO_PKG_VERSION"),
        dataset: "apache.access",
        index_prefix: "logs-apache.access-default",
    };

    fn open(_: &SourceContext) -> Result<Self, Fatal> {
        Ok(Apache)
    }

    fn parse_line(&mut self, line: &[u8], doc: &mut Object) -> Parsed {
        // `[vhost[:port]] host ident user [time] "request" status size ["referrer" "agent"] …`:
        // the first ` [` ends the unquoted head, and the time runs to the next `]`.
        let Some(open) = memchr::memmem::find(line, b" [") else {
            return Parsed::Reject("not an Apache access log line: no [time]".into());
        };
        let Some(close) = memchr::memchr(b']', &line[open..]).map(|i| open + i) else {
            return Parsed::Reject("the [time] field is never closed".into());
        };
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
                return Parsed::Reject(format!(
                    "{parts} fields before the [time]; host ident user expected, after an optional vhost"
                ));
            }
        };
        let time_text = &line[open + 2..close];
        let Some(time) = parse_common_log(time_text) else {
            return Parsed::Reject(format!(
                "`[{}]` is not a time like [10/Oct/2000:13:55:36 -0700]",
                String::from_utf8_lossy(time_text)
            ));
        };
        let mut fields = Tokens::new(&line[close + 1..]);
        let mut next = || fields.next().transpose();
        let (request, status, bytes) = match (next(), next(), next()) {
            (Ok(Some(request)), Ok(Some(status)), Ok(Some(bytes))) if request.quoted => (request, status, bytes),
            (Err(_), _, _) | (_, Err(_), _) | (_, _, Err(_)) => {
                return Parsed::Reject("a quoted field is never closed".into());
            }
            _ => return Parsed::Reject("\"request\" status size expected after the [time]".into()),
        };
        let status = match dash(status.text) {
            None => None,
            Some(s) => match parse_u64(s) {
                Some(s) => Some(s),
                None => return Parsed::Reject(format!("status `{}` is not a number", String::from_utf8_lossy(s))),
            },
        };
        let bytes = match dash(bytes.text) {
            None => 0,
            Some(b) => match parse_u64(b) {
                Some(b) => b,
                None => return Parsed::Reject(format!("size `{}` is not a number", String::from_utf8_lossy(b))),
            },
        };
        let (referrer, user_agent, first_extra) = match (next(), next()) {
            (Err(_), _) | (_, Err(_)) => return Parsed::Reject("a quoted field is never closed".into()),
            (Ok(Some(r)), Ok(Some(a))) if r.quoted && a.quoted => {
                (Some(unescape(r.text)), Some(unescape(a.text)), vec![])
            }
            // Unquoted `- -` for both, as some configurations write them.
            (Ok(Some(r)), Ok(Some(a))) if r.text == b"-" && a.text == b"-" => (None, None, vec![]),
            (r, a) => (None, None, [r, a].into_iter().filter_map(|t| t.ok().flatten()).collect()),
        };
        let mut extra: Vec<Token> = first_extra;
        for token in fields {
            match token {
                Ok(t) => extra.push(t),
                Err(_) => return Parsed::Reject("a quoted field is never closed".into()),
            }
        }
        let request_text = unescape(request.text);
        let request = Request::parse(&request_text);

        doc.timestamp("@timestamp", time);
        doc.fields(ecs::ECS_FIELD);
        {
            let mut event = doc.object("event");
            event.fields(EVENT);
            if let Some(status) = status {
                event.str("outcome", ecs::http_outcome(status));
            }
        }
        {
            let mut source = doc.object("source");
            source.str("address", host);
            if ecs::parse_ip(host).is_some() {
                source.str("ip", host);
            } else if host != b"-" {
                source.str("domain", host);
            }
        }
        doc.object("user").opt_str("name", dash(user));
        if let Some(vhost) = vhost {
            let mut destination = doc.object("destination");
            match ecs::split_host_port(vhost) {
                Some((domain, port)) => destination.str("domain", domain).u64("port", u64::from(port)),
                None => destination.str("domain", vhost),
            };
        }
        {
            let mut http = doc.object("http");
            {
                let mut req = http.object("request");
                req.opt_str("method", request.as_ref().map(|r| r.method));
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
        if let Some(request) = &request {
            ecs::url(doc, request.target);
        }
        doc.object("user_agent").opt_str("original", user_agent.as_deref().and_then(dash).filter(|a| !a.is_empty()));

        let mut apache = doc.object("apache");
        let mut access = apache.object("access");
        access.opt_str("identity", dash(identity));
        if request.is_none() && request_text.as_ref() != b"-" {
            access.str("request", &request_text);
        }
        if !extra.is_empty() {
            access.str_array("extra_fields", extra.iter().map(|t| t.text));
        }
        Parsed::Event(Event { time, natural_id: None })
    }
}

/// `METHOD TARGET PROTOCOL`, or `METHOD TARGET` (an HTTP/0.9-style request).
struct Request<'a> {
    method: &'a [u8],
    target: &'a [u8],
    protocol: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    fn parse(request: &'a [u8]) -> Option<Self> {
        let mut parts = request.split(|&b| b == b' ').filter(|p| !p.is_empty());
        let (method, target, protocol) = (parts.next()?, parts.next()?, parts.next());
        let token = |s: &[u8]| !s.is_empty() && s.iter().all(|b| b.is_ascii_alphabetic() || *b == b'-' || *b == b'_');
        (token(method) && parts.next().is_none() && protocol.is_none_or(|p| p.starts_with(b"HTTP/")))
            .then_some(Request { method, target, protocol })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        let r = Request::parse(b"GET /apache_pb.gif HTTP/1.0").unwrap();
        assert_eq!((r.method, r.target, r.protocol), (&b"GET"[..], &b"/apache_pb.gif"[..], Some(&b"HTTP/1.0"[..])));
        let r = Request::parse(b"GET /").unwrap();
        assert_eq!((r.method, r.target, r.protocol), (&b"GET"[..], &b"/"[..], None));
        assert!(Request::parse(b"-").is_none());
        assert!(Request::parse(b"\x16\x03\x01\x02\x00\x01").is_none());
        assert!(Request::parse(b"<SCRIPT>x</SCRIPT> / HTTP/1.1").is_none());
    }
}
