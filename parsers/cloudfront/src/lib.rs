//! CloudFront standard logs, legacy and v2, in either of the two line formats:
//!
//! - W3C: tab-separated fields in the order of the last `#Fields:` header; `#Version`/`#Fields`
//!   pairs may repeat inside one object;
//! - JSON (v2 only): one object per line, the field names its keys, the values strings or
//!   numbers, `-` or `null` for absent.
//!
//! Both are read into the same [`Values`], and one mapping writes the document.
//!
//! Reference: "Standard logging reference" in the CloudFront developer guide. With logging v2
//! the owner chooses the fields and their order. A W3C file without a header gets the
//! documented legacy order, of which the 23-, 24- and 26-field layouts of earlier years are
//! prefixes. A field this parser does not know is kept as a string in
//! `aws.cloudfront.other_fields.<name>` (hyphens and parentheses become `_`), never a failure:
//! a `flat_object` in the mappings, so fields AWS adds later are searchable without growing
//! the index's mapping. v2's third format, Parquet, is not a line format
//! and is not read here.
//!
//! Time: `date` and `time` (UTC), or v2's `timestamp` (Unix seconds, perhaps with a fraction) or
//! `timestamp(ms)` (Unix milliseconds), whichever the owner logs; given several, the most precise.
//!
//! v2's fields: `c-country` and `asn` are ECS `source.geo.country_iso_code` and
//! `source.as.number`; `DistributionId`, `origin-fbl`, `origin-lbl` (seconds) and the others
//! go under `aws.cloudfront.*`. `x-forwarded-for` is kept as written in
//! `aws.cloudfront.x_forwarded_for`, and the IP addresses in its list are `network.forwarded_ip`.
//!
//! Written once: `x-edge-request-id` is `http.request.id` (and the document's id), `x-host-header`
//! `url.domain` and `cs-protocol` `url.scheme`. The other ECS names Elastic's integration gives
//! them, `event.id`, `destination.domain` and `network.protocol`, are aliases of those in the
//! mappings: searches and aggregations on either name find the same documents.
//!
//! Decoding: CloudFront percent-encodes `cs(User-Agent)`, `cs(Referer)` and `cs(Cookie)`, and
//! real logs encode the user agent twice (`%2520` for a space). Those three fields are decoded
//! once, and the user agent a second time when one decoding leaves `%20`, `%22` or `%25` in
//! it. `cs-uri-stem` and `cs-uri-query` stay encoded, as URLs are. A `\xHH` escape (how
//! `x-forwarded-for` writes its spaces) is undone in those fields and in fields kept as they are.

mod json_line;

use kelk_parser_sdk::ecs::{self, dash, parse_u64, seconds_to_nanos};
use kelk_parser_sdk::json;
use kelk_parser_sdk::text::{percent_decode, unescape};
use kelk_parser_sdk::time::parse_iso8601;
use kelk_parser_sdk::{Event, LineParser, Object, Outcome, Parsed, Reject, Timestamp, reject};
use std::borrow::Cow;
use std::ops::Deref;

/// The fields this parser maps: the legacy ones in their documented order, then v2's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    TimestampMs,
    OriginFbl,
    OriginLbl,
    Asn,
    Country,
    CacheBehaviorPathPattern,
    Timestamp,
    DistributionId,
    DistributionTenantId,
    ConnectionId,
}

/// Every field's name in `#Fields:` headers and JSON keys, in the order of [`Field`].
const FIELDS: &[(&str, Field)] = &[
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
    // Logging v2.
    ("timestamp(ms)", Field::TimestampMs),
    ("origin-fbl", Field::OriginFbl),
    ("origin-lbl", Field::OriginLbl),
    ("asn", Field::Asn),
    ("c-country", Field::Country),
    ("cache-behavior-path-pattern", Field::CacheBehaviorPathPattern),
    ("timestamp", Field::Timestamp),
    ("DistributionId", Field::DistributionId),
    ("distribution-tenant-id", Field::DistributionTenantId),
    ("connection-id", Field::ConnectionId),
];

/// The fields of a W3C file without a header: all but v2's.
const LEGACY: usize = 33;

const _: () = {
    let mut i = 0;
    while i < FIELDS.len() {
        assert!(FIELDS[i].1 as usize == i, "FIELDS lists the fields in the order of Field");
        i += 1;
    }
    assert!(matches!(FIELDS[LEGACY - 1].1, Field::RangeEnd));
};

/// What one column of a layout (a W3C field, a JSON member) holds.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Column {
    Known(Field),
    /// A field this parser has no mapping for, with its document key.
    Other(String),
}

impl Column {
    fn named(name: &str) -> Column {
        match FIELDS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(&(_, field)) => Column::Known(field),
            None => Column::Other(
                name.chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
                    .collect::<String>()
                    .trim_matches('_')
                    .to_owned(),
            ),
        }
    }
}

pub struct CloudFront {
    /// The W3C layout.
    layout: Vec<Column>,
    /// The columns of the last JSON line, by member position, and the keys they were named
    /// from: lines of one delivery have the same keys, so each key costs one comparison.
    json_layout: Vec<Column>,
    json_keys: Vec<Vec<u8>>,
    /// Where `url.original` is put together, kept from line to line.
    url: Vec<u8>,
}

kelk_parser_sdk::plugin! {
    lines: CloudFront,
    name: "cloudfront",
    dataset: "aws.cloudfront_logs",
    module: "aws",
    dashboard: {
        title: "CloudFront access logs",
        top_fields: ["http.response.status_code", "url.domain", "aws.cloudfront.edge_location", "source.ip"],
    },
}

const EVENT: &str = kelk_parser_sdk::event!(CloudFront, r#""kind":"event","category":["web"],"type":["access"]"#);

/// Until a `#Fields:` header says otherwise, the documented legacy order.
impl Default for CloudFront {
    fn default() -> Self {
        let layout = FIELDS[..LEGACY].iter().map(|&(_, f)| Column::Known(f)).collect();
        CloudFront { layout, json_layout: Vec::new(), json_keys: Vec::new(), url: Vec::new() }
    }
}

impl LineParser for CloudFront {
    fn parse_line(&mut self, line: &[u8], doc: &mut Object) -> Outcome {
        if let Some(header) = line.strip_prefix(b"#") {
            if let Some(fields) = header.strip_prefix(b"Fields:") {
                let names = String::from_utf8_lossy(fields);
                self.layout = names.split_ascii_whitespace().map(Column::named).collect();
            }
            return Ok(Parsed::Skip);
        }
        // The values are read into place: returned, they would be copied, and in Wasm a copy
        // that size is a `memory.copy`, a call out of the sandbox.
        if line.starts_with(b"{") {
            let mut values = Values::new();
            self.read_json(line, &mut values)?;
            return write(&values, &self.json_layout, &mut self.url, doc);
        }
        let mut values = Values::new();
        self.read_w3c(line, &mut values);
        write(&values, &self.layout, &mut self.url, doc)
    }
}

impl CloudFront {
    fn read_w3c<'a>(&self, line: &'a [u8], values: &mut Values<'a, &'a [u8]>) {
        let mut start = 0;
        let ends = memchr::memchr_iter(b'\t', line).chain([line.len()]);
        for (i, end) in ends.enumerate() {
            let value = &line[start..end];
            start = end + 1;
            match self.layout.get(i) {
                Some(column) => values.set(column, i, value),
                None if value.is_empty() => {} // a trailing tab, as in AWS's own example
                None => values.extra.push(value),
            }
        }
    }

    fn read_json<'a>(&mut self, line: &'a [u8], values: &mut Values<'a, Cow<'a, [u8]>>) -> Result<(), String> {
        let (layout, keys) = (&mut self.json_layout, &mut self.json_keys);
        let mut i = 0;
        json_line::members(line, |key, value| {
            if keys.get(i).is_none_or(|k| *k != *key) {
                layout.truncate(i);
                keys.truncate(i);
                layout.push(Column::named(&String::from_utf8_lossy(&key)));
                keys.push(key.into_owned());
            }
            if let Some(value) = value {
                values.set(&layout[i], i, value);
            }
            i += 1;
        })
    }
}

/// One record's values, whichever format they came in: slices of a W3C line, which need no
/// drop nor a check of what kind of string each is, or the strings of a JSON line, some of
/// them decoded.
struct Values<'a, V> {
    known: [Option<V>; FIELDS.len()],
    /// The values of columns without a mapping, with the columns' positions in the layout.
    others: Vec<(usize, V)>,
    /// W3C values past the end of the layout.
    extra: Vec<&'a [u8]>,
}

impl<'a, V: Deref<Target = [u8]>> Values<'a, V> {
    fn new() -> Self {
        Values { known: [const { None }; FIELDS.len()], others: Vec::new(), extra: Vec::new() }
    }

    fn set(&mut self, column: &Column, position: usize, value: V) {
        match column {
            Column::Known(field) => self.known[*field as usize] = Some(value),
            Column::Other(_) => self.others.push((position, value)),
        }
    }

    /// A field's value as the log has it, `-` included.
    fn raw(&self, field: Field) -> Option<&[u8]> {
        self.known[field as usize].as_deref()
    }

    /// A field's value, `None` when absent or `-`.
    fn get(&self, field: Field) -> Option<&[u8]> {
        self.raw(field).and_then(dash)
    }

    fn number(&self, field: Field) -> Option<u64> {
        self.get(field).and_then(parse_u64)
    }
}

/// The last instant ISO 8601 writes with a four-digit year, 9999-12-31T23:59:59.999Z.
const MAX_MILLIS: u64 = 253_402_300_799_999;

/// When the request was served, from the most precise of `timestamp(ms)`, `timestamp` and
/// `date` with `time`; with `@timestamp`'s text when the log has it ready.
fn event_time<V: Deref<Target = [u8]>>(v: &Values<V>) -> Result<(Timestamp, Option<[u8; 20]>), Reject> {
    let lossy = String::from_utf8_lossy;
    if let Some(ms) = v.get(Field::TimestampMs) {
        let ms = parse_u64(ms)
            .filter(|&ms| ms <= MAX_MILLIS)
            .ok_or_else(|| reject!("timestamp(ms) `{}` is not a time in milliseconds since 1970", lossy(ms)))?;
        let time = Timestamp { secs: (ms / 1000) as i64, nanos: (ms % 1000) as u32 * 1_000_000 };
        return Ok((time, None));
    }
    if let Some(secs) = v.get(Field::Timestamp) {
        let ns = seconds_to_nanos(secs)
            .ok_or_else(|| reject!("timestamp `{}` is not a time in seconds since 1970", lossy(secs)))?;
        let time = Timestamp { secs: (ns / 1_000_000_000) as i64, nanos: (ns % 1_000_000_000) as u32 };
        return Ok((time, None));
    }
    let (date, time) = v
        .raw(Field::Date)
        .zip(v.raw(Field::Time))
        .ok_or("no date and time, timestamp or timestamp(ms) value: not a CloudFront standard log line")?;
    // `date` and `time` make an ISO 8601 UTC time: `2019-12-04T21:02:31Z`.
    let mut stamp = [b'T'; 20];
    let parsed = (date.len() == 10 && time.len() == 8).then(|| {
        stamp[..10].copy_from_slice(date);
        stamp[11..19].copy_from_slice(time);
        stamp[19] = b'Z';
        parse_iso8601(&stamp)
    });
    match parsed {
        Some(Some(t)) => Ok((t, Some(stamp))),
        _ => Err(reject!("`{} {}` is not a date and time", lossy(date), lossy(time))),
    }
}

/// Writes one record's document: the mapping of the fields to ECS and `aws.cloudfront.*`;
/// `url` is room for `url.original`.
fn write<V: Deref<Target = [u8]>>(v: &Values<V>, layout: &[Column], url: &mut Vec<u8>, doc: &mut Object) -> Outcome {
    use Field as F;
    let (time, stamp) = event_time(v)?;
    let status = v.get(F::Status).map(|s| ecs::number("sc-status", s)).transpose()?;
    let request_id = v.get(F::EdgeRequestId);

    match stamp {
        Some(text) => doc.timestamp_text("@timestamp", &text, time),
        None => doc.timestamp("@timestamp", time),
    };
    doc.fields(ecs::AWS_ENVELOPE);
    {
        let mut event = doc.object("event");
        event.fields(EVENT);
        if let Some(status) = status {
            event.str("outcome", ecs::http_outcome(status));
        }
        if let Some(ns) = v.get(F::TimeTaken).and_then(seconds_to_nanos) {
            event.u64("duration", ns);
        }
    }
    {
        let mut source = doc.object("source");
        if let Some(ip) = v.get(F::ClientIp) {
            ecs::host_fields(&mut source, ip);
        }
        if let Some(port) = v.number(F::ClientPort) {
            source.u64("port", port);
        }
        if let Some(country) = v.get(F::Country) {
            source.object("geo").str("country_iso_code", country);
        }
        if let Some(asn) = v.number(F::Asn) {
            source.object("as").u64("number", asn);
        }
    }
    {
        let mut http = doc.object("http");
        {
            let mut req = http.object("request");
            req.opt_str("id", request_id);
            req.opt_str("method", v.get(F::Method));
            if let Some(bytes) = v.number(F::CsBytes) {
                req.u64("bytes", bytes);
            }
            req.opt_str("referrer", v.get(F::Referer).map(decode).as_deref());
        }
        {
            let mut resp = http.object("response");
            if let Some(status) = status {
                resp.u64("status_code", status);
            }
            if let Some(bytes) = v.number(F::ScBytes) {
                resp.u64("bytes", bytes);
            }
            resp.opt_str("mime_type", v.get(F::ContentType));
            if let Some(len) = v.number(F::ContentLength) {
                resp.object("body").u64("bytes", len);
            }
        }
        http.opt_str("version", v.get(F::ProtocolVersion).and_then(ecs::http_version));
    }
    {
        let stem = v.get(F::UriStem);
        let query = v.get(F::UriQuery);
        let original = url;
        let mut url = doc.object("url");
        if let Some(stem) = stem {
            let original = match query {
                Some(q) => {
                    // In words, not `memcpy`s: see `put`.
                    original.clear();
                    for part in [stem, b"?", q] {
                        json::put(original, part);
                    }
                    &original[..]
                }
                None => stem,
            };
            url.str("original", original).str("path", stem);
            url.opt_str("extension", ecs::UrlParts::parse(stem).extension());
        }
        url.opt_str("query", query);
        url.opt_str("scheme", v.get(F::Protocol));
        url.opt_str("domain", v.get(F::HostHeader));
    }
    // `x-forwarded-for` lists the addresses a request came through, `, ` between them.
    let forwarded = v.get(F::ForwardedFor).map(unescape);
    {
        let mut network = doc.object("network");
        if let Some(list) = forwarded.as_deref() {
            let mut ips =
                list.split(|&b| b == b',').map(<[u8]>::trim_ascii).filter(|a| ecs::parse_ip(a).is_some()).peekable();
            if ips.peek().is_some() {
                network.str_array("forwarded_ip", ips);
            }
        }
    }
    doc.object("user_agent").opt_str("original", v.get(F::UserAgent).map(decode_user_agent).as_deref());
    {
        let mut tls = doc.object("tls");
        tls.opt_str("cipher", v.get(F::SslCipher));
        if let Some((protocol, version)) = v.get(F::SslProtocol).and_then(ecs::tls_protocol) {
            tls.str("version_protocol", protocol).str("version", version);
        }
    }

    let mut aws = doc.object("aws");
    let mut cf = aws.object("cloudfront");
    cf.opt_str("distribution_id", v.get(F::DistributionId));
    cf.opt_str("distribution_tenant_id", v.get(F::DistributionTenantId));
    cf.opt_str("edge_location", v.get(F::EdgeLocation));
    cf.opt_str("domain", v.get(F::Host));
    cf.opt_str("cache_behavior_path_pattern", v.get(F::CacheBehaviorPathPattern));
    cf.opt_str("edge_result_type", v.get(F::EdgeResultType));
    cf.opt_str("edge_response_result_type", v.get(F::EdgeResponseResultType));
    cf.opt_str("edge_detailed_result_type", v.get(F::EdgeDetailedResultType));
    cf.opt_str("cookies", v.get(F::Cookie).map(decode).as_deref());
    cf.opt_str("x_forwarded_for", forwarded.as_deref());
    cf.opt_str("ssl_protocol", v.get(F::SslProtocol));
    cf.opt_str("connection_id", v.get(F::ConnectionId));
    // Seconds, copied as written.
    for (key, field) in [
        ("time_taken", F::TimeTaken),
        ("time_to_first_byte", F::TimeToFirstByte),
        ("origin_fbl", F::OriginFbl),
        ("origin_lbl", F::OriginLbl),
    ] {
        if let Some(value) = v.get(field) {
            cf.number_text(key, value);
        }
    }
    for (key, field) in [("range_start", F::RangeStart), ("range_end", F::RangeEnd)] {
        if let Some(n) = v.number(field) {
            cf.u64(key, n);
        }
    }
    cf.opt_str("fle_status", v.get(F::FleStatus));
    if let Some(n) = v.number(F::FleEncryptedFields) {
        cf.u64("fle_encrypted_fields", n);
    }
    // A name the layout has twice (`cs(Accept)` and `cs-accept` are both `cs_accept`, a JSON
    // line may repeat a key) is one field, from its last column, as for a known field: OpenSearch
    // refuses a document with a key twice.
    let mut names = std::collections::HashSet::new();
    let mut others: Vec<(&str, &[u8])> = (v.others.iter().rev())
        .filter_map(|(position, value)| match &layout[*position] {
            Column::Other(name) if names.insert(name.as_str()) => dash(value).map(|value| (name.as_str(), value)),
            _ => None,
        })
        .collect();
    others.reverse();
    if let Some(((name, value), rest)) = others.split_first() {
        let mut other = cf.object("other_fields");
        other.str(name, &unescape(value));
        for (name, value) in rest {
            other.str(name, &unescape(value));
        }
    }
    if !v.extra.is_empty() {
        cf.str_array("unknown_fields", v.extra.iter().copied());
    }
    // Copied in words rather than by `memcpy` (see `put`).
    let natural_id = request_id.and_then(|id| {
        let mut text = Vec::with_capacity(id.len());
        json::put(&mut text, id);
        String::from_utf8(text).ok()
    });
    Ok(Event { time, natural_id }.into())
}

/// One percent-decoding, then the `\xHH` escapes.
fn decode(value: &[u8]) -> Cow<'_, [u8]> {
    match percent_decode(value) {
        Cow::Borrowed(v) => unescape(v),
        // The decoded text itself when it has no escape, rather than a copy of it.
        Cow::Owned(v) => match unescape(&v) {
            Cow::Borrowed(_) => Cow::Owned(v),
            Cow::Owned(unescaped) => Cow::Owned(unescaped),
        },
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
        assert_eq!(Column::named("cs(User-Agent)"), Column::Known(Field::UserAgent));
        assert_eq!(Column::named("distributionid"), Column::Known(Field::DistributionId));
        assert_eq!(Column::named("timestamp(ms)"), Column::Known(Field::TimestampMs));
        assert_eq!(Column::named("cs(Accept-Encoding)"), Column::Other("cs_accept_encoding".into()));
    }

    /// The documents (as text) and the rejections' reasons of `input`.
    fn run(input: &str) -> (Vec<String>, Vec<String>) {
        let ctx = kelk_parser_sdk::SourceContext::default();
        let batch = kelk_parser_sdk::parse::<kelk_parser_sdk::Lines<CloudFront>>(&ctx, input.as_bytes()).unwrap();
        let docs = batch.iter().map(|(_, json)| String::from_utf8(json.to_vec()).unwrap()).collect();
        (docs, batch.rejections.iter().map(|r| r.reason.clone()).collect())
    }

    fn one(input: &str) -> serde_json::Value {
        let (docs, rejected) = run(input);
        assert_eq!((docs.len(), rejected), (1, Vec::<String>::new()), "{input}");
        serde_json::from_str(&docs[0]).unwrap()
    }

    const V2_FIELDS: &str = "#Fields: timestamp(ms) DistributionId distribution-tenant-id c-ip c-country asn cs-method \
        x-host-header cs-uri-stem sc-status x-edge-request-id x-forwarded-for origin-fbl origin-lbl \
        cache-behavior-path-pattern connection-id time-taken cs(Accept)\n";

    #[test]
    fn v2_fields_in_the_owners_order() {
        let d = one(&format!(
            "#Version: 1.0\n{V2_FIELDS}1731620046814\tE1A2B3C4D5E6F7\tdt-2abc\t2001:db8::7\tDE\t16509\tGET\t\
             www.example.com\t/img/a.png\t200\tEdgeId-1==\t-\t0.251\t0.312\t/img/*\tcid-1\t0.400\timage/webp\n"
        ));
        assert_eq!(d["@timestamp"], "2024-11-14T21:34:06.814Z");
        assert_eq!(
            d["source"],
            serde_json::json!({"address": "2001:db8::7", "ip": "2001:db8::7", "geo": {"country_iso_code": "DE"}, "as": {"number": 16509}})
        );
        let cf = &d["aws"]["cloudfront"];
        assert_eq!(cf["distribution_id"], "E1A2B3C4D5E6F7");
        assert_eq!(cf["distribution_tenant_id"], "dt-2abc");
        assert_eq!(cf["cache_behavior_path_pattern"], "/img/*");
        assert_eq!(cf["connection_id"], "cid-1");
        assert_eq!((cf["origin_fbl"].as_f64(), cf["origin_lbl"].as_f64()), (Some(0.251), Some(0.312)));
        assert_eq!(cf["other_fields"]["cs_accept"], "image/webp");
        assert_eq!(d["event"]["duration"], 400_000_000);
        assert!(d["network"].is_null() && cf["x_forwarded_for"].is_null());
    }

    #[test]
    fn the_time_from_timestamp_in_seconds_or_milliseconds_or_date_and_time() {
        let time = |fields: &str, values: &str| {
            let (docs, rejected) = run(&format!("#Fields: {fields} sc-status\n{values}\t200\n"));
            let docs: Vec<serde_json::Value> = docs.iter().map(|d| serde_json::from_str(d).unwrap()).collect();
            docs.first().map(|d| d["@timestamp"].as_str().unwrap().to_owned()).ok_or(rejected.join(""))
        };
        assert_eq!(time("timestamp", "1700000000"), Ok("2023-11-14T22:13:20Z".into()));
        assert_eq!(time("timestamp", "1700000000.5"), Ok("2023-11-14T22:13:20.500Z".into()));
        assert_eq!(time("timestamp", "1700000000.123456789"), Ok("2023-11-14T22:13:20.123456789Z".into()));
        assert_eq!(time("timestamp(ms)", "1700000000007"), Ok("2023-11-14T22:13:20.007Z".into()));
        // The most precise the line has; a `-` is no time.
        let all = "date time timestamp timestamp(ms)";
        assert_eq!(time(all, "2023-11-14\t22:13:20\t1700000000\t1700000000250"), Ok("2023-11-14T22:13:20.250Z".into()));
        assert_eq!(time(all, "2023-11-14\t22:13:20\t1700000000.5\t-"), Ok("2023-11-14T22:13:20.500Z".into()));
        assert_eq!(time(all, "2023-11-14\t22:13:20\t-\t-"), Ok("2023-11-14T22:13:20Z".into()));
        for (fields, values, reason) in [
            ("timestamp", "1700000000000", "timestamp `1700000000000` is not a time in seconds since 1970"),
            ("timestamp", "-1", "timestamp `-1` is not a time in seconds since 1970"),
            ("timestamp", "1.7e9", "timestamp `1.7e9` is not a time in seconds since 1970"),
            ("timestamp(ms)", "1700000000.5", "timestamp(ms) `1700000000.5` is not a time in milliseconds since 1970"),
            (
                "timestamp(ms)",
                "253402300800000",
                "timestamp(ms) `253402300800000` is not a time in milliseconds since 1970",
            ),
            (
                "timestamp(ms) c-ip",
                "-\t192.0.2.1",
                "no date and time, timestamp or timestamp(ms) value: not a CloudFront standard log line",
            ),
        ] {
            assert_eq!(time(fields, values), Err(reason.into()), "{fields}: {values}");
        }
    }

    #[test]
    fn a_field_name_twice_is_one_key_from_its_last_column() {
        // `cs(Accept)` and `cs-accept` are both `cs_accept`: one key, as for a known field.
        for (input, want) in [
            (
                "#Fields: date time cs(Accept) cs-accept x-a\n2025-03-02\t10:00:00\ta\tb\tc\n",
                r#"{"cs_accept":"b","x_a":"c"}"#,
            ),
            ("#Fields: date time cs(Accept) x-a cs-accept\n2025-03-02\t10:00:00\ta\tc\t-\n", r#"{"x_a":"c"}"#),
            (
                r#"{"date":"2025-03-02","time":"10:00:00","cs(Accept)":"a","x-a":"c","cs(Accept)":"b"}"#,
                r#"{"x_a":"c","cs_accept":"b"}"#,
            ),
        ] {
            let (docs, _) = run(input);
            assert!(docs[0].contains(&format!(r#""other_fields":{want}"#)), "{input}: {}", docs[0]);
        }
    }

    #[test]
    fn forwarded_ips_are_the_valid_addresses_of_the_list() {
        let d = one(
            "#Fields: date time x-forwarded-for\n2025-03-02\t10:00:00\t203.0.113.5,\\x20unknown,\\x202001:db8::1,198.51.100.7\n",
        );
        assert_eq!(d["network"]["forwarded_ip"], serde_json::json!(["203.0.113.5", "2001:db8::1", "198.51.100.7"]));
        assert_eq!(d["aws"]["cloudfront"]["x_forwarded_for"], "203.0.113.5, unknown, 2001:db8::1,198.51.100.7");
        let d = one("#Fields: date time x-forwarded-for\n2025-03-02\t10:00:00\tunknown\n");
        assert!(d["network"]["forwarded_ip"].is_null());
        assert_eq!(d["aws"]["cloudfront"]["x_forwarded_for"], "unknown");
        // One `network` object, not two.
        let (docs, _) = run("#Fields: date time cs-protocol x-forwarded-for\n2025-03-02\t10:00:00\thttps\t192.0.2.9\n");
        assert_eq!(docs[0].matches(r#""network""#).count(), 1, "{}", docs[0]);
        assert!(docs[0].contains(r#""network":{"forwarded_ip":["192.0.2.9"]}"#), "{}", docs[0]);
    }

    #[test]
    fn a_json_line_is_mapped_as_the_same_w3c_line_is() {
        let w3c = format!(
            "#Version: 1.0\n{V2_FIELDS}1731620046814\tE1A2B3C4D5E6F7\t-\t2001:db8::7\tDE\t16509\tGET\twww.example.com\t\
             /img/a.png\t200\tEdgeId-1==\t203.0.113.5,\\x20198.51.100.7\t0.251\t0.312\t/img/*\tcid-1\t0.400\timage/webp\n"
        );
        let json = r#"{"timestamp(ms)":"1731620046814","DistributionId":"E1A2B3C4D5E6F7","distribution-tenant-id":"-","c-ip":"2001:db8::7","c-country":"DE","asn":16509,"cs-method":"GET","x-host-header":"www.example.com","cs-uri-stem":"\/img\/a.png","sc-status":200,"x-edge-request-id":"EdgeId-1==","x-forwarded-for":"203.0.113.5,\\x20198.51.100.7","origin-fbl":0.251,"origin-lbl":"0.312","cache-behavior-path-pattern":"/img/*","connection-id":"cid-1","time-taken":"0.400","cs(Accept)":"image/webp"}"#;
        let (from_w3c, from_json) = (run(&w3c), run(json));
        assert_eq!(from_json, from_w3c);
        assert_eq!(from_json.0.len(), 1);
    }

    #[test]
    fn json_lines_may_change_their_keys() {
        let (docs, rejected) = run(concat!(
            r#"{"date":"2025-03-02","time":"10:00:00","c-country":"DE","cs(Accept)":"a"}"#,
            "\n",
            r#"{"time":"10:00:01","date":"2025-03-02","c-country":null,"x-edge-location":"FRA56-P1","cs(Accept)":"b"}"#,
            "\n",
            r#"{"date":"2025-03-02","time":"10:00:02","cs(Accept)":"c","c-country":"-"}"#,
            "\n",
        ));
        assert_eq!(rejected, Vec::<String>::new());
        let docs: Vec<serde_json::Value> = docs.iter().map(|d| serde_json::from_str(d).unwrap()).collect();
        let got: Vec<_> = docs
            .iter()
            .map(|d| {
                let cf = &d["aws"]["cloudfront"];
                (
                    d["@timestamp"].as_str(),
                    d["source"]["geo"]["country_iso_code"].as_str(),
                    cf["other_fields"]["cs_accept"].as_str(),
                    cf["edge_location"].as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (Some("2025-03-02T10:00:00Z"), Some("DE"), Some("a"), None),
                (Some("2025-03-02T10:00:01Z"), None, Some("b"), Some("FRA56-P1")),
                (Some("2025-03-02T10:00:02Z"), None, Some("c"), None),
            ]
        );
    }

    #[test]
    fn json_lines_that_are_not_a_record_are_rejected() {
        let (docs, rejected) = run(concat!(
            r#"{"date":"2025-03-02","time":"10:00:00""#,
            "\n",
            r#"{"date":"2025-03-02","time":"10:00:00","cs-headers":{"a":"b"}}"#,
            "\n",
            r#"{"c-ip":"192.0.2.1"}"#,
            "\n",
            r#"{"timestamp":"1700000000","sc-status":"OK"}"#,
            "\n",
        ));
        assert_eq!(docs, Vec::<String>::new());
        assert_eq!(
            rejected,
            [
                "not a JSON log line: expected `,` or `}` at byte 39",
                "`cs-headers` is an object or an array: not a CloudFront log field, which is a string or a number",
                "no date and time, timestamp or timestamp(ms) value: not a CloudFront standard log line",
                "sc-status `OK` is not a number",
            ]
        );
    }
}
