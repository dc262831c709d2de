//! CloudFront standard (access) logs, W3C style: tab-separated fields in the order of the last
//! `#Fields:` header; `#Version`/`#Fields` pairs may repeat inside one object.
//!
//! Reference: "Standard logging reference" in the CloudFront developer guide. A file without a
//! header gets the documented field order, of which the 23-, 24- and 26-field layouts of
//! earlier years are prefixes. A field this parser does not know is kept as
//! `aws.cloudfront.<name>` (hyphens and parentheses become `_`), never a failure.
//!
//! Decoding: CloudFront percent-encodes `cs(User-Agent)`, `cs(Referer)` and `cs(Cookie)`, and
//! real logs encode the user agent twice (`%2520` for a space). Those three fields are decoded
//! once, and the user agent a second time when one decoding leaves `%20`, `%22` or `%25` in
//! it. `cs-uri-stem` and `cs-uri-query` stay encoded, as URLs are. A `\xHH` escape (how
//! `x-forwarded-for` writes its spaces) is undone everywhere.

use kelk_parser_sdk::ecs::{self, dash, parse_u64, seconds_to_nanos};
use kelk_parser_sdk::text::{percent_decode, unescape};
use kelk_parser_sdk::time::parse_iso8601;
use kelk_parser_sdk::{Event, Fatal, Info, LineParser, Object, Parsed, SourceContext};
use std::borrow::Cow;

/// The fields this parser maps to ECS; anything else is `Other`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Field {
    Date,
    Time,
    EdgeLocation,
    ScBytes,
    ClientIp,
    Method,
    Host,
    UriStem,
    Status,
    Referer,
    UserAgent,
    UriQuery,
    Cookie,
    EdgeResultType,
    EdgeRequestId,
    HostHeader,
    Protocol,
    CsBytes,
    TimeTaken,
    ForwardedFor,
    SslProtocol,
    SslCipher,
    EdgeResponseResultType,
    ProtocolVersion,
    FleStatus,
    FleEncryptedFields,
    ClientPort,
    TimeToFirstByte,
    EdgeDetailedResultType,
    ContentType,
    ContentLength,
    RangeStart,
    RangeEnd,
    /// A field this parser has no mapping for, with its document key.
    Other(String),
}

/// The standard field names, in the documented order.
const STANDARD: &[(&str, Field)] = &[
    ("date", Field::Date),
    ("time", Field::Time),
    ("x-edge-location", Field::EdgeLocation),
    ("sc-bytes", Field::ScBytes),
    ("c-ip", Field::ClientIp),
    ("cs-method", Field::Method),
    ("cs(Host)", Field::Host),
    ("cs-uri-stem", Field::UriStem),
    ("sc-status", Field::Status),
    ("cs(Referer)", Field::Referer),
    ("cs(User-Agent)", Field::UserAgent),
    ("cs-uri-query", Field::UriQuery),
    ("cs(Cookie)", Field::Cookie),
    ("x-edge-result-type", Field::EdgeResultType),
    ("x-edge-request-id", Field::EdgeRequestId),
    ("x-host-header", Field::HostHeader),
    ("cs-protocol", Field::Protocol),
    ("cs-bytes", Field::CsBytes),
    ("time-taken", Field::TimeTaken),
    ("x-forwarded-for", Field::ForwardedFor),
    ("ssl-protocol", Field::SslProtocol),
    ("ssl-cipher", Field::SslCipher),
    ("x-edge-response-result-type", Field::EdgeResponseResultType),
    ("cs-protocol-version", Field::ProtocolVersion),
    ("fle-status", Field::FleStatus),
    ("fle-encrypted-fields", Field::FleEncryptedFields),
    ("c-port", Field::ClientPort),
    ("time-to-first-byte", Field::TimeToFirstByte),
    ("x-edge-detailed-result-type", Field::EdgeDetailedResultType),
    ("sc-content-type", Field::ContentType),
    ("sc-content-len", Field::ContentLength),
    ("sc-range-start", Field::RangeStart),
    ("sc-range-end", Field::RangeEnd),
];

impl Field {
    fn named(name: &str) -> Field {
        STANDARD.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map_or_else(
            || {
                Field::Other(
                    name.chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
                        .collect::<String>()
                        .trim_matches('_')
                        .to_owned(),
                )
            },
            |(_, f)| f.clone(),
        )
    }
}

pub struct CloudFront {
    layout: Vec<Field>,
}

kelk_parser_sdk::export_parser!(kelk_parser_sdk::Lines<CloudFront>);

const EVENT: &str =
    r#""kind":"event","category":["web"],"type":["access"],"dataset":"aws.cloudfront_logs","module":"aws""#;

impl LineParser for CloudFront {
    const INFO: Info = Info {
        name: "cloudfront",
        version: env!("CARGO_PKG_VERSION"),
        dataset: "aws.cloudfront_logs",
        index_prefix: "logs-aws.cloudfront_logs-default",
    };

    fn open(_: &SourceContext) -> Result<Self, Fatal> {
        Ok(CloudFront { layout: STANDARD.iter().map(|(_, f)| f.clone()).collect() })
    }

    fn parse_line(&mut self, line: &[u8], doc: &mut Object) -> Parsed {
        if let Some(header) = line.strip_prefix(b"#") {
            if let Some(fields) = header.strip_prefix(b"Fields:") {
                let names = String::from_utf8_lossy(fields);
                self.layout = names.split_ascii_whitespace().map(Field::named).collect();
            }
            return Parsed::Skip;
        }
        let mut v: Values = Values::default();
        let mut unknown: Vec<(&str, &[u8])> = Vec::new();
        let mut extra: Vec<&[u8]> = Vec::new();
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\t', line).chain([line.len()]);
        for (i, end) in ends.enumerate() {
            let value = &line[start..end];
            start = end + 1;
            match self.layout.get(i) {
                Some(Field::Other(name)) => unknown.push((name, value)),
                Some(field) => v.set(field, value),
                None if value.is_empty() => {} // a trailing tab, as in AWS's own example
                None => extra.push(value),
            }
        }
        let (Some(date), Some(time)) = (v.date, v.time) else {
            return Parsed::Reject("no date and time fields: not a CloudFront standard log line".into());
        };
        // `date` and `time` make an ISO 8601 UTC time: `2019-12-04T21:02:31Z`.
        let mut stamp = [b'T'; 20];
        let parsed = (date.len() == 10 && time.len() == 8).then(|| {
            stamp[..10].copy_from_slice(date);
            stamp[11..19].copy_from_slice(time);
            stamp[19] = b'Z';
            parse_iso8601(&stamp)
        });
        let Some(Some(time)) = parsed else {
            return Parsed::Reject(format!(
                "`{} {}` is not a date and time",
                String::from_utf8_lossy(date),
                String::from_utf8_lossy(time)
            ));
        };
        let status = match v.status.and_then(dash) {
            None => None,
            Some(s) => match parse_u64(s) {
                Some(s) => Some(s),
                None => return Parsed::Reject(format!("sc-status `{}` is not a number", String::from_utf8_lossy(s))),
            },
        };
        let request_id = v.request_id.and_then(dash);

        doc.timestamp_text("@timestamp", &stamp, time);
        doc.fields(ecs::AWS_ENVELOPE);
        {
            let mut event = doc.object("event");
            event.fields(EVENT);
            event.opt_str("id", request_id);
            if let Some(status) = status {
                event.str("outcome", ecs::http_outcome(status));
            }
            if let Some(ns) = v.time_taken.and_then(seconds_to_nanos) {
                event.u64("duration", ns);
            }
        }
        {
            let mut source = doc.object("source");
            if let Some(ip) = v.client_ip.and_then(dash) {
                ecs::host_fields(&mut source, ip);
            }
            if let Some(port) = v.client_port.and_then(dash).and_then(parse_u64) {
                source.u64("port", port);
            }
        }
        {
            let mut http = doc.object("http");
            {
                let mut req = http.object("request");
                req.opt_str("id", request_id);
                req.opt_str("method", v.method.and_then(dash));
                if let Some(bytes) = v.cs_bytes.and_then(dash).and_then(parse_u64) {
                    req.u64("bytes", bytes);
                }
                req.opt_str("referrer", v.referer.and_then(dash).map(decode).as_deref());
            }
            {
                let mut resp = http.object("response");
                if let Some(status) = status {
                    resp.u64("status_code", status);
                }
                if let Some(bytes) = v.sc_bytes.and_then(dash).and_then(parse_u64) {
                    resp.u64("bytes", bytes);
                }
                resp.opt_str("mime_type", v.content_type.and_then(dash));
                if let Some(len) = v.content_length.and_then(dash).and_then(parse_u64) {
                    resp.object("body").u64("bytes", len);
                }
            }
            http.opt_str("version", v.protocol_version.and_then(dash).and_then(ecs::http_version));
        }
        {
            let stem = v.uri_stem.and_then(dash);
            let query = v.uri_query.and_then(dash);
            let mut url = doc.object("url");
            if let Some(stem) = stem {
                let original = match query {
                    Some(q) => Cow::Owned([stem, b"?", q].concat()),
                    None => Cow::Borrowed(stem),
                };
                url.str("original", &original).str("path", stem);
                url.opt_str("extension", ecs::UrlParts::parse(stem).extension());
            }
            url.opt_str("query", query);
            url.opt_str("scheme", v.protocol.and_then(dash));
            url.opt_str("domain", v.host_header.and_then(dash));
        }
        doc.object("destination").opt_str("domain", v.host_header.and_then(dash));
        doc.object("network").opt_str("protocol", v.protocol.and_then(dash));
        let forwarded = v.forwarded_for.and_then(dash).map(unescape);
        if let Some(ip) = forwarded.as_deref().filter(|f| ecs::parse_ip(f).is_some()) {
            doc.object("network").str("forwarded_ip", ip);
        }
        doc.object("user_agent").opt_str("original", v.user_agent.and_then(dash).map(decode_user_agent).as_deref());
        {
            let mut tls = doc.object("tls");
            tls.opt_str("cipher", v.ssl_cipher.and_then(dash));
            if let Some((protocol, version)) = v.ssl_protocol.and_then(dash).and_then(ecs::tls_protocol) {
                tls.str("version_protocol", protocol).str("version", version);
            }
        }

        let mut aws = doc.object("aws");
        let mut cf = aws.object("cloudfront");
        cf.opt_str("edge_location", v.edge_location.and_then(dash));
        cf.opt_str("domain", v.host.and_then(dash));
        cf.opt_str("edge_result_type", v.edge_result_type.and_then(dash));
        cf.opt_str("edge_response_result_type", v.edge_response_result_type.and_then(dash));
        cf.opt_str("edge_detailed_result_type", v.edge_detailed_result_type.and_then(dash));
        cf.opt_str("cookies", v.cookie.and_then(dash).map(decode).as_deref());
        cf.opt_str("x_forwarded_for", forwarded.as_deref());
        cf.opt_str("ssl_protocol", v.ssl_protocol.and_then(dash));
        for (key, value) in [("time_taken", v.time_taken), ("time_to_first_byte", v.time_to_first_byte)] {
            if let Some(value) = value.and_then(dash) {
                cf.number_text(key, value);
            }
        }
        for (key, value) in [("range_start", v.range_start), ("range_end", v.range_end)] {
            if let Some(n) = value.and_then(dash).and_then(parse_u64) {
                cf.u64(key, n);
            }
        }
        cf.opt_str("fle_status", v.fle_status.and_then(dash));
        if let Some(n) = v.fle_encrypted_fields.and_then(dash).and_then(parse_u64) {
            cf.u64("fle_encrypted_fields", n);
        }
        for (name, value) in unknown {
            if let Some(value) = dash(value) {
                cf.str(name, &unescape(value));
            }
        }
        if !extra.is_empty() {
            cf.str_array("unknown_fields", extra);
        }
        let natural_id = request_id.and_then(|id| std::str::from_utf8(id).ok()).map(str::to_owned);
        Parsed::Event(Event { time, natural_id })
    }
}

/// One line's values, by field.
#[derive(Default)]
struct Values<'a> {
    date: Option<&'a [u8]>,
    time: Option<&'a [u8]>,
    edge_location: Option<&'a [u8]>,
    sc_bytes: Option<&'a [u8]>,
    client_ip: Option<&'a [u8]>,
    method: Option<&'a [u8]>,
    host: Option<&'a [u8]>,
    uri_stem: Option<&'a [u8]>,
    status: Option<&'a [u8]>,
    referer: Option<&'a [u8]>,
    user_agent: Option<&'a [u8]>,
    uri_query: Option<&'a [u8]>,
    cookie: Option<&'a [u8]>,
    edge_result_type: Option<&'a [u8]>,
    request_id: Option<&'a [u8]>,
    host_header: Option<&'a [u8]>,
    protocol: Option<&'a [u8]>,
    cs_bytes: Option<&'a [u8]>,
    time_taken: Option<&'a [u8]>,
    forwarded_for: Option<&'a [u8]>,
    ssl_protocol: Option<&'a [u8]>,
    ssl_cipher: Option<&'a [u8]>,
    edge_response_result_type: Option<&'a [u8]>,
    protocol_version: Option<&'a [u8]>,
    fle_status: Option<&'a [u8]>,
    fle_encrypted_fields: Option<&'a [u8]>,
    client_port: Option<&'a [u8]>,
    time_to_first_byte: Option<&'a [u8]>,
    edge_detailed_result_type: Option<&'a [u8]>,
    content_type: Option<&'a [u8]>,
    content_length: Option<&'a [u8]>,
    range_start: Option<&'a [u8]>,
    range_end: Option<&'a [u8]>,
}

impl<'a> Values<'a> {
    fn set(&mut self, field: &Field, value: &'a [u8]) {
        let slot = match field {
            Field::Date => &mut self.date,
            Field::Time => &mut self.time,
            Field::EdgeLocation => &mut self.edge_location,
            Field::ScBytes => &mut self.sc_bytes,
            Field::ClientIp => &mut self.client_ip,
            Field::Method => &mut self.method,
            Field::Host => &mut self.host,
            Field::UriStem => &mut self.uri_stem,
            Field::Status => &mut self.status,
            Field::Referer => &mut self.referer,
            Field::UserAgent => &mut self.user_agent,
            Field::UriQuery => &mut self.uri_query,
            Field::Cookie => &mut self.cookie,
            Field::EdgeResultType => &mut self.edge_result_type,
            Field::EdgeRequestId => &mut self.request_id,
            Field::HostHeader => &mut self.host_header,
            Field::Protocol => &mut self.protocol,
            Field::CsBytes => &mut self.cs_bytes,
            Field::TimeTaken => &mut self.time_taken,
            Field::ForwardedFor => &mut self.forwarded_for,
            Field::SslProtocol => &mut self.ssl_protocol,
            Field::SslCipher => &mut self.ssl_cipher,
            Field::EdgeResponseResultType => &mut self.edge_response_result_type,
            Field::ProtocolVersion => &mut self.protocol_version,
            Field::FleStatus => &mut self.fle_status,
            Field::FleEncryptedFields => &mut self.fle_encrypted_fields,
            Field::ClientPort => &mut self.client_port,
            Field::TimeToFirstByte => &mut self.time_to_first_byte,
            Field::EdgeDetailedResultType => &mut self.edge_detailed_result_type,
            Field::ContentType => &mut self.content_type,
            Field::ContentLength => &mut self.content_length,
            Field::RangeStart => &mut self.range_start,
            Field::RangeEnd => &mut self.range_end,
            Field::Other(_) => return,
        };
        *slot = Some(value);
    }
}

/// One percent-decoding, then the `\xHH` escapes.
fn decode(value: &[u8]) -> Cow<'_, [u8]> {
    match percent_decode(value) {
        Cow::Borrowed(v) => unescape(v),
        Cow::Owned(v) => Cow::Owned(unescape(&v).into_owned()),
    }
}

/// The user agent, decoded twice when CloudFront encoded it twice.
fn decode_user_agent(value: &[u8]) -> Cow<'_, [u8]> {
    let once = decode(value);
    let twice_encoded =
        memchr::memchr_iter(b'%', &once).any(|i| matches!(once.get(i + 1..i + 3), Some(b"20" | b"22" | b"25")));
    if twice_encoded { Cow::Owned(decode(&once).into_owned()) } else { once }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_are_decoded_once_or_twice() {
        assert_eq!(&*decode_user_agent(b"Mozilla/5.0%20(Windows%20NT%2010.0)"), b"Mozilla/5.0 (Windows NT 10.0)");
        assert_eq!(&*decode_user_agent(b"Mozilla/5.0%2520(Windows%2520NT%25206.1)"), b"Mozilla/5.0 (Windows NT 6.1)");
        assert_eq!(&*decode_user_agent(b"curl/7.61.1"), b"curl/7.61.1");
    }

    #[test]
    fn field_names() {
        assert_eq!(Field::named("cs(User-Agent)"), Field::UserAgent);
        assert_eq!(Field::named("c-country"), Field::Other("c_country".into()));
        assert_eq!(Field::named("cs(Accept-Encoding)"), Field::Other("cs_accept_encoding".into()));
    }
}
