//! Application Load Balancer connection logs (2024): one line per connection a client opened,
//! in objects named `…_conn_log_…` beside the access logs.
//!
//! Reference: "Connection log entries" in the ALB user guide. A line is `timestamp client_ip
//! client_port listener_port tls_protocol tls_cipher tls_handshake_latency
//! "leaf_client_cert_subject" leaf_client_cert_validity leaf_client_cert_serial_number
//! tls_verify_status conn_trace_id`: the latency is in seconds, the validity is
//! `NotBefore=<time>;NotAfter=<time>`, the verify status `Success` or `Failed:<reason>`, and
//! `conn_trace_id` is the `conn_trace_id` of the access lines of the connection's requests.
//!
//! ECS: `source.*` the client, `destination.port` the listener's, `tls.*` the negotiation and
//! the client certificate (`tls.client.x509.*`), `event.outcome` the verify status. The trace
//! id is `aws.elb.connection_trace_id`, as in access documents, so that the two join on it;
//! `trace.id` is the request's X-Ray id there and is left to it.

use crate::{Fields, NETWORK_EVENT, Shape, event_fields, iso8601, shown, tls_version};
use kelk_parser_sdk::ecs::{self, dash};
use kelk_parser_sdk::json::is_json_number;
use kelk_parser_sdk::text::unescape;
use kelk_parser_sdk::{Object, Reject, Timestamp, reject};

/// Fields counted from the line's start.
pub mod at {
    pub const TIMESTAMP: usize = 0;
    pub const CLIENT_IP: usize = 1;
    pub const CLIENT_PORT: usize = 2;
    pub const LISTENER_PORT: usize = 3;
    pub const TLS_PROTOCOL: usize = 4;
    pub const TLS_CIPHER: usize = 5;
    pub const TLS_HANDSHAKE_LATENCY: usize = 6;
    pub const LEAF_CLIENT_CERT_SUBJECT: usize = 7;
    pub const LEAF_CLIENT_CERT_VALIDITY: usize = 8;
    pub const LEAF_CLIENT_CERT_SERIAL_NUMBER: usize = 9;
    pub const TLS_VERIFY_STATUS: usize = 10;
    pub const CONN_TRACE_ID: usize = 11;
    /// Fields AWS has not defined yet: kept, never a failure. The one layout has them all.
    pub const KNOWN: usize = 12;
}

/// The subject is quoted (and may hold quotes, as a certificate's text); the validity may be.
fn shape(i: usize) -> Shape {
    match i {
        at::LEAF_CLIENT_CERT_SUBJECT | at::KNOWN.. => Shape::Text,
        at::LEAF_CLIENT_CERT_VALIDITY => Shape::Plain,
        _ => Shape::Bare,
    }
}

pub fn parse(line: &[u8], doc: &mut Object) -> Result<Timestamp, Reject> {
    let mut f = Fields::new();
    f.split(line, 0, shape)?;
    if f.n < at::KNOWN {
        return Err(reject!(
            "{} fields, {} expected in an ALB connection log line (timestamp … conn_trace_id)",
            f.n,
            at::KNOWN
        ));
    }
    let time = iso8601(f[at::TIMESTAMP], "timestamp")?;
    let client_port = ecs::dash_number("client_port", f[at::CLIENT_PORT])?;
    let listener_port = ecs::dash_number("listener_port", f[at::LISTENER_PORT])?;
    let latency = dash(f[at::TLS_HANDSHAKE_LATENCY]);
    if let Some(latency) = latency.filter(|l| !is_json_number(l)) {
        return Err(reject!("tls_handshake_latency `{}` is not a number of seconds", shown(latency)));
    }
    let validity = dash(f[at::LEAF_CLIENT_CERT_VALIDITY])
        .map(|text| {
            Validity::parse(text).ok_or_else(|| {
                reject!("leaf_client_cert_validity `{}` is not NotBefore=<time>;NotAfter=<time>", shown(text))
            })
        })
        .transpose()?;
    let status = dash(f[at::TLS_VERIFY_STATUS]);

    doc.timestamp_text("@timestamp", f[at::TIMESTAMP], time);
    doc.fields(ecs::AWS_ENVELOPE);
    {
        let mut event = doc.object("event");
        event_fields(&mut event, NETWORK_EVENT);
        event.opt_str("outcome", status.map(outcome));
    }
    {
        let mut source = doc.object("source");
        ecs::host_fields(&mut source, f[at::CLIENT_IP]);
        if let Some(port) = client_port {
            source.u64("port", port);
        }
    }
    if let Some(port) = listener_port {
        doc.object("destination").u64("port", port);
    }
    let unknown_protocol;
    {
        let mut tls = doc.object("tls");
        tls.opt_str("cipher", dash(f[at::TLS_CIPHER]));
        unknown_protocol = tls_version(&mut tls, dash(f[at::TLS_PROTOCOL]));
        let mut client = tls.object("client");
        let mut x509 = client.object("x509");
        let subject = dash(f[at::LEAF_CLIENT_CERT_SUBJECT]).map(unescape);
        x509.object("subject").opt_str("distinguished_name", subject.as_deref());
        if let Some(v) = validity {
            x509.timestamp_text("not_before", v.not_before.0, v.not_before.1);
            x509.timestamp_text("not_after", v.not_after.0, v.not_after.1);
        }
        x509.opt_str("serial_number", dash(f[at::LEAF_CLIENT_CERT_SERIAL_NUMBER]));
    }

    let mut aws = doc.object("aws");
    let mut elb = aws.object("elb");
    if let Some(latency) = latency {
        elb.object("tls_handshake_latency").number_text("sec", latency);
    }
    elb.opt_str("tls_protocol", unknown_protocol);
    elb.opt_str("tls_verify_status", status);
    // The key that joins a connection to its requests' access lines, under the same name.
    elb.opt_str("connection_trace_id", dash(f[at::CONN_TRACE_ID]));
    f.write_unknown(&mut elb, at::KNOWN);
    Ok(time)
}

/// ECS `event.outcome` of a verify status: `Success`, or `Failed:<reason>`.
fn outcome(status: &[u8]) -> &'static [u8] {
    if status == b"Success" {
        b"success"
    } else if status.starts_with(b"Failed") {
        b"failure"
    } else {
        b"unknown"
    }
}

/// `NotBefore=<time>;NotAfter=<time>`: each time with its text.
struct Validity<'a> {
    not_before: (&'a [u8], Timestamp),
    not_after: (&'a [u8], Timestamp),
}

impl<'a> Validity<'a> {
    fn parse(text: &'a [u8]) -> Option<Self> {
        let semicolon = memchr::memchr(b';', text)?;
        let before = text[..semicolon].strip_prefix(b"NotBefore=")?;
        let after = text[semicolon + 1..].strip_prefix(b"NotAfter=")?;
        let time = |t: &'a [u8]| Some((t, kelk_parser_sdk::time::parse_iso8601(t)?));
        Some(Validity { not_before: time(before)?, not_after: time(after)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validities() {
        let v = Validity::parse(b"NotBefore=2025-01-01T00:00:00Z;NotAfter=2026-01-01T00:00:00Z").unwrap();
        assert_eq!((v.not_before.0, v.not_after.0), (&b"2025-01-01T00:00:00Z"[..], &b"2026-01-01T00:00:00Z"[..]));
        assert!(v.not_before.1 < v.not_after.1);
        assert!(Validity::parse(b"NotAfter=2026-01-01T00:00:00Z;NotBefore=2025-01-01T00:00:00Z").is_none());
        assert!(Validity::parse(b"NotBefore=2025-01-01T00:00:00Z").is_none());
    }

    #[test]
    fn outcomes() {
        assert_eq!(outcome(b"Success"), b"success");
        assert_eq!(outcome(b"Failed:ClientCertUntrusted"), b"failure");
        assert_eq!(outcome(b"Pending"), b"unknown");
    }
}
