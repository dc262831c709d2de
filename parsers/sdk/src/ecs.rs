//! Helpers that write Elastic Common Schema fields from raw log tokens.

use crate::json::Object;
use crate::{Reject, reject};
use std::net::IpAddr;

macro_rules! ecs_version {
    () => {
        "8.11.0"
    };
}

/// The ECS version the documents follow.
pub const ECS_VERSION: &str = ecs_version!();

/// `"ecs":{"version":…}`, pre-rendered for `Object::fields`: every document carries it.
pub const ECS_FIELD: &str = concat!(r#""ecs":{"version":""#, ecs_version!(), r#""}"#);

/// [`ECS_FIELD`] and `"cloud":{"provider":"aws"}`, for AWS sources without further cloud fields.
pub const AWS_ENVELOPE: &str = concat!(r#""ecs":{"version":""#, ecs_version!(), r#""},"cloud":{"provider":"aws"}"#);

/// `None` for the `-` that access logs write for an absent value.
pub fn dash(b: &[u8]) -> Option<&[u8]> {
    (b != b"-").then_some(b)
}

/// The largest integer an OpenSearch `long` holds: a document with a larger one is refused.
pub const MAX_LONG: u64 = i64::MAX as u64;

/// A plain unsigned decimal, with no sign, no spaces, no more than 19 digits and no more than
/// [`MAX_LONG`].
pub fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    b.iter()
        .try_fold(0u64, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0')))
        .filter(|&v| v <= MAX_LONG)
}

/// An unsigned decimal, or a rejection naming `field`.
pub fn number(field: &str, b: &[u8]) -> Result<u64, Reject> {
    parse_u64(b).ok_or_else(|| reject!("{field} `{}` is not a number", String::from_utf8_lossy(b)))
}

/// `-` (absent) or an unsigned decimal; anything else is a rejection naming `field`.
pub fn dash_number(field: &str, b: &[u8]) -> Result<Option<u64>, Reject> {
    dash(b).map(|b| number(field, b)).transpose()
}

/// Non-negative decimal seconds (`0.086`, `12`) as exact nanoseconds; digits beyond the ninth
/// decimal are dropped. `None` for negatives (`-1` means "not applicable" in AWS logs), and for
/// more nanoseconds than [`MAX_LONG`].
pub fn seconds_to_nanos(b: &[u8]) -> Option<u64> {
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b""[..]),
    };
    let secs = parse_u64(int)?;
    if !frac.iter().all(u8::is_ascii_digit) || (frac.is_empty() && b.len() != int.len()) {
        return None;
    }
    let mut nanos = 0u64;
    for i in 0..9 {
        nanos = nanos * 10 + frac.get(i).map_or(0, |c| u64::from(c - b'0'));
    }
    secs.checked_mul(1_000_000_000)?.checked_add(nanos).filter(|&ns| ns <= MAX_LONG)
}

/// An IP address, if `b` is one.
pub fn parse_ip(b: &[u8]) -> Option<IpAddr> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Splits `host:port`, `[v6]:port` or an unbracketed `v6:port` (as ALB writes it) at the last
/// colon. `None` when there is no numeric port.
pub fn split_host_port(b: &[u8]) -> Option<(&[u8], u16)> {
    let colon = memchr::memrchr(b':', b)?;
    let port = parse_u64(&b[colon + 1..]).filter(|p| *p <= 65_535)? as u16;
    let host = &b[..colon];
    let host = host.strip_prefix(b"[").and_then(|h| h.strip_suffix(b"]")).unwrap_or(host);
    Some((host, port))
}

/// Writes an ECS endpoint (`source`, `destination`, …) from `host:port`:
/// `address` always, `ip` only when the host is an IP address, `port` when present.
pub fn endpoint(doc: &mut Object, key: &str, host_port: &[u8]) {
    let mut ep = doc.object(key);
    match split_host_port(host_port) {
        Some((host, port)) => {
            host_fields(&mut ep, host);
            ep.u64("port", u64::from(port));
        }
        None => host_fields(&mut ep, host_port),
    }
}

/// Writes `address`, and `ip` only when `host` is an IP address (hostnames, service names
/// and anonymised junk stay in `address`).
pub fn host_fields(ep: &mut Object, host: &[u8]) {
    ep.str("address", host);
    if parse_ip(host).is_some() {
        ep.str("ip", host);
    }
}

/// The parts of a request target, absolute (`https://host:443/p?q`) or origin-form (`/p?q`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct UrlParts<'a> {
    pub scheme: Option<&'a [u8]>,
    pub domain: Option<&'a [u8]>,
    pub port: Option<u16>,
    pub path: &'a [u8],
    pub query: Option<&'a [u8]>,
    pub fragment: Option<&'a [u8]>,
}

impl<'a> UrlParts<'a> {
    pub fn parse(url: &'a [u8]) -> Self {
        let mut parts = UrlParts::default();
        let mut rest = url;
        if let Some(i) = find(rest, b"://")
            .filter(|&i| i > 0 && rest[..i].iter().all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(c)))
        {
            parts.scheme = Some(&rest[..i]);
            rest = &rest[i + 3..];
            let end = rest.iter().position(|c| b"/?#".contains(c)).unwrap_or(rest.len());
            let authority = &rest[..end];
            let host_port = authority.iter().rposition(|&c| c == b'@').map_or(authority, |at| &authority[at + 1..]);
            match split_host_port(host_port) {
                Some((host, port)) if !host.contains(&b':') || host_port.starts_with(b"[") => {
                    parts.domain = Some(host);
                    parts.port = Some(port);
                }
                // No port: a bracketed IPv6 address or a plain name; anything else with a
                // colon (`host:80-`) is not a usable domain.
                _ => {
                    let h = host_port.strip_prefix(b"[").and_then(|h| h.strip_suffix(b"]")).unwrap_or(host_port);
                    let bracketed = h.len() != host_port.len();
                    parts.domain = (!h.is_empty() && (bracketed || !h.contains(&b':'))).then_some(h);
                }
            }
            rest = &rest[end..];
        }
        if let Some(i) = memchr::memchr(b'#', rest) {
            parts.fragment = Some(&rest[i + 1..]);
            rest = &rest[..i];
        }
        if let Some(i) = memchr::memchr(b'?', rest) {
            parts.query = Some(&rest[i + 1..]);
            rest = &rest[..i];
        }
        parts.path = rest;
        parts
    }

    /// The file extension of the last path segment, without the dot.
    pub fn extension(&self) -> Option<&'a [u8]> {
        let seg = &self.path[memchr::memrchr(b'/', self.path).map_or(0, |i| i + 1)..];
        let dot = memchr::memrchr(b'.', seg)?;
        let ext = &seg[dot + 1..];
        (dot > 0 && !ext.is_empty()).then_some(ext)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Writes ECS `url.*` from a request target: `original` and every part it has.
pub fn url(doc: &mut Object, original: &[u8]) {
    let parts = UrlParts::parse(original);
    let mut u = doc.object("url");
    u.str("original", original);
    u.opt_str("scheme", parts.scheme);
    u.opt_str("domain", parts.domain);
    if let Some(port) = parts.port {
        u.u64("port", u64::from(port));
    }
    if !parts.path.is_empty() {
        u.str("path", parts.path);
    }
    u.opt_str("query", parts.query.filter(|q| !q.is_empty()));
    u.opt_str("fragment", parts.fragment.filter(|f| !f.is_empty()));
    u.opt_str("extension", parts.extension());
}

/// ECS `event.outcome` for an HTTP status: 1xx–3xx success, 4xx and up failure, and unknown
/// for the `0`/`000` logs write when no response was sent.
pub fn http_outcome(status: u64) -> &'static [u8] {
    match status {
        100..=399 => b"success",
        400.. => b"failure",
        _ => b"unknown",
    }
}

/// `HTTP/1.1` → `1.1`; `None` for anything that is not `HTTP/<version>`.
pub fn http_version(protocol: &[u8]) -> Option<&[u8]> {
    protocol.strip_prefix(b"HTTP/").filter(|v| !v.is_empty())
}

/// ECS `tls.version_protocol` and `tls.version` from names like `TLSv1.2` or `tlsv12`.
pub fn tls_protocol(protocol: &[u8]) -> Option<(&'static [u8], &'static [u8])> {
    let (prefix, version) = protocol.split_at_checked(4)?;
    let name: &'static [u8] = if prefix.eq_ignore_ascii_case(b"tlsv") {
        b"tls"
    } else if prefix.eq_ignore_ascii_case(b"sslv") {
        b"ssl"
    } else {
        return None;
    };
    let version: &'static [u8] = match version {
        b"1" | b"1.0" | b"10" => b"1.0",
        b"1.1" | b"11" => b"1.1",
        b"1.2" | b"12" => b"1.2",
        b"1.3" | b"13" => b"1.3",
        b"2" | b"2.0" => b"2.0",
        b"3" | b"3.0" => b"3.0",
        _ => return None,
    };
    Some((name, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_rendered_envelopes_are_json() {
        let v: serde_json::Value = serde_json::from_str(&format!("{{{AWS_ENVELOPE}}}")).unwrap();
        assert_eq!((v["ecs"]["version"].as_str(), v["cloud"]["provider"].as_str()), (Some(ECS_VERSION), Some("aws")));
        let v: serde_json::Value = serde_json::from_str(&format!("{{{ECS_FIELD}}}")).unwrap();
        assert_eq!(v["ecs"]["version"], ECS_VERSION);
    }

    #[test]
    fn numbers_and_dashes() {
        assert_eq!(dash(b"-"), None);
        assert_eq!(dash(b"--"), Some(&b"--"[..]));
        assert_eq!(parse_u64(b"366"), Some(366));
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b""), None);
        assert_eq!(parse_u64(b"99999999999999999999"), None);
        // What an OpenSearch long holds, and no more.
        assert_eq!(parse_u64(b"9223372036854775807"), Some(MAX_LONG));
        assert_eq!(parse_u64(b"9223372036854775808"), None);
        assert_eq!(seconds_to_nanos(b"9223372036.854775807"), Some(MAX_LONG));
        assert_eq!(seconds_to_nanos(b"9223372036.854775808"), None);
        assert_eq!(seconds_to_nanos(b"0.086"), Some(86_000_000));
        assert_eq!(seconds_to_nanos(b"12"), Some(12_000_000_000));
        assert_eq!(seconds_to_nanos(b"0.0000001239"), Some(123));
        assert_eq!(seconds_to_nanos(b"-1"), None);
        assert_eq!(seconds_to_nanos(b"1."), None);
        assert_eq!(seconds_to_nanos(b".5"), None);
    }

    #[test]
    fn host_port_forms() {
        assert_eq!(split_host_port(b"192.168.131.39:2817"), Some((&b"192.168.131.39"[..], 2817)));
        assert_eq!(
            split_host_port(b"2601:6bbc:c001:ae50:8d6:c0d8:5e2e:dca8:50599"),
            Some((&b"2601:6bbc:c001:ae50:8d6:c0d8:5e2e:dca8"[..], 50599))
        );
        assert_eq!(split_host_port(b"[::1]:80"), Some((&b"::1"[..], 80)));
        assert_eq!(split_host_port(b"host"), None);
        assert_eq!(split_host_port(b"host:99999"), None);
    }

    #[test]
    fn endpoint_keeps_non_ips_out_of_ip() {
        let mut buf = Vec::new();
        {
            let mut doc = Object::new(&mut buf);
            endpoint(&mut doc, "source", b"12.34.178.90.32:40860");
            endpoint(&mut doc, "destination", b"fd6d:1::f46:80");
        }
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            r#"{"source":{"address":"12.34.178.90.32","port":40860},"destination":{"address":"fd6d:1::f46","ip":"fd6d:1::f46","port":80}}"#
        );
    }

    #[test]
    fn url_parts() {
        let p = UrlParts::parse(b"https://www.example.com:443/a/b.php?x=1:2&y#frag");
        assert_eq!(p.scheme, Some(&b"https"[..]));
        assert_eq!(p.domain, Some(&b"www.example.com"[..]));
        assert_eq!(p.port, Some(443));
        assert_eq!(p.path, b"/a/b.php");
        assert_eq!(p.query, Some(&b"x=1:2&y"[..]));
        assert_eq!(p.fragment, Some(&b"frag"[..]));
        assert_eq!(p.extension(), Some(&b"php"[..]));

        let p = UrlParts::parse(b"http://[2001:db8::1]:8080/");
        assert_eq!((p.domain, p.port, p.path), (Some(&b"2001:db8::1"[..]), Some(8080), &b"/"[..]));
        let p = UrlParts::parse(b"http://example.com");
        assert_eq!((p.domain, p.port, p.path), (Some(&b"example.com"[..]), None, &b""[..]));
        let p = UrlParts::parse(b"/index.html?");
        assert_eq!((p.scheme, p.path, p.query), (None, &b"/index.html"[..], Some(&b""[..])));
        assert_eq!(UrlParts::parse(b"//phpinfo.php").extension(), Some(&b"php"[..]));
        assert_eq!(UrlParts::parse(b"/.hidden").extension(), None);
        assert_eq!(UrlParts::parse(b"http://user:pw@host:81/").domain, Some(&b"host"[..]));
        assert_eq!(UrlParts::parse(b"http://example.com:80-").domain, None);
    }

    #[test]
    fn tls_names() {
        assert_eq!(tls_protocol(b"TLSv1.2"), Some((&b"tls"[..], &b"1.2"[..])));
        assert_eq!(tls_protocol(b"tlsv12"), Some((&b"tls"[..], &b"1.2"[..])));
        assert_eq!(tls_protocol(b"TLSv1"), Some((&b"tls"[..], &b"1.0"[..])));
        assert_eq!(tls_protocol(b"-"), None);
    }
}
