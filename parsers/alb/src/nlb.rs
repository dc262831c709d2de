//! Network Load Balancer access logs: one line per connection of a TLS listener, written
//! when it closes.
//!
//! Reference: "Access log entries" in the NLB user guide. A line is `type version time elb
//! listener client:port destination:port connection_time tls_handshake_time received_bytes
//! sent_bytes incoming_tls_alert chosen_cert_arn chosen_cert_serial tls_cipher
//! tls_protocol_version tls_named_group domain_name alpn_fe_protocol alpn_be_protocol
//! alpn_client_preference_list tls_connection_creation_time`: `type` is `tls`, `version`
//! `2.0`, times are in milliseconds, `domain_name` and the ALPN list are URL-encoded, and the
//! list is quoted protocol by protocol (`"h2","http/1.1"`). The ALPN fields came in 2020, the
//! creation time after them.
//!
//! ECS: the client and the destination are `source`/`destination` with the bytes each sent,
//! `connection_time` is `event.duration`, the creation time `event.start`; the negotiation is
//! `tls.*` (`tls.client.server_name` the SNI, `tls.next_protocol` the ALPN protocol agreed
//! with the client, `tls.curve` the named group, `tls.established` whether it completed).
//! The rest, ECS having no name for it, is `aws.elb.*` under the log's own names.

use crate::{Fields, NETWORK_EVENT, Shape, event_fields, iso8601, peer, shown, tls_version};
use kelk_parser_sdk::ecs::{self, dash};
use kelk_parser_sdk::text::percent_decode;
use kelk_parser_sdk::{Object, Reject, Timestamp, reject};
use std::borrow::Cow;

/// Fields counted from the line's start.
pub mod at {
    pub const TYPE: usize = 0;
    pub const VERSION: usize = 1;
    pub const TIME: usize = 2;
    pub const ELB: usize = 3;
    pub const LISTENER: usize = 4;
    pub const CLIENT: usize = 5;
    pub const DESTINATION: usize = 6;
    pub const CONNECTION_TIME: usize = 7;
    pub const TLS_HANDSHAKE_TIME: usize = 8;
    pub const RECEIVED_BYTES: usize = 9;
    pub const SENT_BYTES: usize = 10;
    pub const INCOMING_TLS_ALERT: usize = 11;
    pub const CHOSEN_CERT_ARN: usize = 12;
    pub const CHOSEN_CERT_SERIAL: usize = 13;
    pub const TLS_CIPHER: usize = 14;
    pub const TLS_PROTOCOL_VERSION: usize = 15;
    pub const TLS_NAMED_GROUP: usize = 16;
    pub const DOMAIN_NAME: usize = 17;
    pub const ALPN_FE_PROTOCOL: usize = 18;
    pub const ALPN_BE_PROTOCOL: usize = 19;
    pub const ALPN_CLIENT_PREFERENCE_LIST: usize = 20;
    pub const TLS_CONNECTION_CREATION_TIME: usize = 21;
    /// Fields AWS has not defined yet: kept, never a failure.
    pub const KNOWN: usize = 22;
    /// The first layout ended with `domain_name`.
    pub const REQUIRED: usize = DOMAIN_NAME + 1;
}

/// Only the ALPN list is quoted, and its quotes are checked as it is read.
fn shape(i: usize) -> Shape {
    match i {
        at::ALPN_CLIENT_PREFERENCE_LIST | at::KNOWN.. => Shape::Text,
        _ => Shape::Bare,
    }
}

pub fn parse(line: &[u8], doc: &mut Object) -> Result<Timestamp, Reject> {
    let mut f = Fields::new();
    f.split(line, 0, shape)?;
    if f.n < at::REQUIRED {
        return Err(reject!(
            "{} fields, at least {} expected in a Network Load Balancer line (type … domain_name)",
            f.n,
            at::REQUIRED
        ));
    }
    let time = iso8601(f[at::TIME], "time")?;
    let created = f[at::TLS_CONNECTION_CREATION_TIME];
    let start = dash(created).map(|t| iso8601(t, "tls_connection_creation_time")).transpose()?;
    let connection_ms = ecs::dash_number("connection_time", f[at::CONNECTION_TIME])?;
    let handshake_ms = ecs::dash_number("tls_handshake_time", f[at::TLS_HANDSHAKE_TIME])?;
    let received = ecs::dash_number("received_bytes", f[at::RECEIVED_BYTES])?;
    let sent = ecs::dash_number("sent_bytes", f[at::SENT_BYTES])?;
    let alpn = dash(f[at::ALPN_CLIENT_PREFERENCE_LIST])
        .map(|list| {
            protocols(list).ok_or_else(|| {
                reject!("alpn_client_preference_list `{}` is not a list of quoted protocols", shown(list))
            })
        })
        .transpose()?;
    let cipher = dash(f[at::TLS_CIPHER]);

    doc.timestamp_text("@timestamp", f[at::TIME], time);
    doc.fields(ecs::AWS_ENVELOPE);
    {
        let mut event = doc.object("event");
        event_fields(&mut event, NETWORK_EVENT);
        if let Some(ns) = connection_ms.and_then(|ms| ms.checked_mul(1_000_000)).filter(|&ns| ns <= ecs::MAX_LONG) {
            event.u64("duration", ns);
        }
        if let Some(start) = start {
            event.timestamp_text("start", created, start);
        }
        event.timestamp_text("end", f[at::TIME], time);
    }
    peer(doc, "source", Some(f[at::CLIENT]), received);
    peer(doc, "destination", Some(f[at::DESTINATION]), sent);
    let unknown_protocol;
    {
        let mut tls = doc.object("tls");
        // The cipher is `-` exactly when the negotiation did not complete.
        tls.bool("established", cipher.is_some());
        tls.opt_str("cipher", cipher);
        unknown_protocol = tls_version(&mut tls, dash(f[at::TLS_PROTOCOL_VERSION]));
        tls.opt_str("curve", dash(f[at::TLS_NAMED_GROUP]));
        tls.opt_str("next_protocol", dash(f[at::ALPN_FE_PROTOCOL]));
        tls.object("client").opt_str("server_name", dash(f[at::DOMAIN_NAME]).map(percent_decode).as_deref());
    }

    let mut aws = doc.object("aws");
    let mut elb = aws.object("elb");
    elb.str("type", f[at::TYPE]).str("version", f[at::VERSION]).str("protocol", b"tls");
    elb.str("name", f[at::ELB]).str("listener", f[at::LISTENER]);
    if let Some(ms) = handshake_ms {
        elb.object("tls_handshake_time").u64("ms", ms);
    }
    elb.opt_str("incoming_tls_alert", dash(f[at::INCOMING_TLS_ALERT]));
    elb.object("chosen_cert")
        .opt_str("arn", dash(f[at::CHOSEN_CERT_ARN]))
        .opt_str("serial", dash(f[at::CHOSEN_CERT_SERIAL]));
    elb.opt_str("tls_protocol_version", unknown_protocol);
    elb.opt_str("alpn_be_protocol", dash(f[at::ALPN_BE_PROTOCOL]));
    if let Some(alpn) = &alpn {
        elb.str_array("alpn_client_preference_list", alpn.iter().map(|p| &**p));
    }
    f.write_unknown(&mut elb, at::KNOWN);
    Ok(time)
}

/// The protocols of `"h2","http/1.1"` (the tokenizer took off the outer quotes), URL-decoded.
/// `None` for any other quote: the list holds none, its protocols being URL-encoded.
fn protocols(list: &[u8]) -> Option<Vec<Cow<'_, [u8]>>> {
    let mut protocols = Vec::new();
    let mut rest = list;
    loop {
        match memchr::memchr(b'"', rest) {
            None => {
                protocols.push(percent_decode(rest));
                return Some(protocols);
            }
            Some(q) if rest[q..].starts_with(br#"",""#) => {
                protocols.push(percent_decode(&rest[..q]));
                rest = &rest[q + 3..];
            }
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_lists() {
        let list = |s: &[u8]| protocols(s).map(|p| p.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect());
        assert_eq!(list(b"h2"), Some(vec!["h2".to_owned()]));
        assert_eq!(list(br#"h2","http/1.1"#), Some(vec!["h2".to_owned(), "http/1.1".to_owned()]));
        assert_eq!(list(br#"h2","x%22y"#), Some(vec!["h2".to_owned(), "x\"y".to_owned()]));
        assert_eq!(list(br#"h2" "http/1.1"#), None);
    }
}
