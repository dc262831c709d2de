//! Elastic Load Balancing logs: the four kinds AWS delivers under
//! `AWSLogs/<account>/elasticloadbalancing/<region>/…`, each in its own module:
//!
//! - `access`: Application Load Balancer access logs in every published layout (and the
//!   fields AWS appends later), and Classic Load Balancer access logs, of HTTP(S) and of
//!   TCP/SSL listeners;
//! - `nlb`: Network Load Balancer access logs (its TLS listeners' connections);
//! - `connection`: Application Load Balancer connection logs (`…_conn_log_…` objects).
//!
//! Every line says by its shape which kind it is (`Kind::of`). The object key says it too,
//! but keys change when logs are copied, and a Firehose record or a local file has none that
//! AWS chose; the shape is always there, so a line is never read as another kind, whatever
//! its object is called.

mod access;
mod connection;
mod fields;
mod nlb;

use fields::{Fields, Shape, field_len, skip_spaces};
use kelk_parser_sdk::ecs;
use kelk_parser_sdk::time::parse_iso8601;
use kelk_parser_sdk::{Event, LineParser, Object, Outcome, Reject, Timestamp, reject};

#[derive(Default)]
pub struct Alb;

kelk_parser_sdk::plugin! {
    lines: Alb,
    name: "alb",
    dataset: "aws.elb_logs",
    module: "aws",
    dashboard: {
        title: "Load balancer access logs",
        top_fields: ["http.response.status_code", "aws.elb.name", "source.ip", "url.domain"],
    },
}

impl LineParser for Alb {
    fn parse_line(&mut self, line: &[u8], doc: &mut Object) -> Outcome {
        let time = match Kind::of(line) {
            Kind::Application => access::parse(line, true, doc),
            Kind::Classic => access::parse(line, false, doc),
            Kind::Network => nlb::parse(line, doc),
            Kind::Connection => connection::parse(line, doc),
        }?;
        Ok(Event::at(time).into())
    }
}

/// The kinds of line, told apart by their first two fields, which no kind quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `type time …`: the type is a word (`http`, `h2`, …).
    Application,
    /// `time elb client:port …`: the name has no dots or colons, so it is never an IP address.
    Classic,
    /// `type version time …`: the version is a number (`2.0`).
    Network,
    /// `time client_ip client_port listener_port …`.
    Connection,
}

impl Kind {
    fn of(line: &[u8]) -> Kind {
        let line = skip_spaces(line);
        let rest = skip_spaces(&line[field_len(line)..]);
        if line.first().is_some_and(u8::is_ascii_digit) {
            if ecs::parse_ip(&rest[..field_len(rest)]).is_some() { Kind::Connection } else { Kind::Classic }
        } else if is_version(rest) {
            Kind::Network
        } else {
            Kind::Application
        }
    }
}

/// `2.0 …`: digits and dots up to the next space, starting with a digit (a time has dashes),
/// read no further than the first byte that is neither.
fn is_version(s: &[u8]) -> bool {
    s.first().is_some_and(u8::is_ascii_digit)
        && s.iter().take_while(|&&b| b != b' ').all(|&b| b.is_ascii_digit() || b == b'.')
}

/// The shared members of `event` of a kind of event, in two pieces, the second ending with
/// the dataset and module of the declaration: the JSON writer copies a piece of up to 64 bytes
/// in words, and a longer one with a `memcpy`, in Wasm a call out of the sandbox.
type EventFields = [&'static str; 2];

/// HTTP requests.
const WEB_EVENT: EventFields =
    [r#""kind":"event","category":["web"]"#, kelk_parser_sdk::event!(Alb, r#""type":["access"]"#)];

/// TCP and TLS connections.
const NETWORK_EVENT: EventFields =
    [r#""kind":"event","category":["network"]"#, kelk_parser_sdk::event!(Alb, r#""type":["connection"]"#)];

/// Writes the shared members of `event` of a kind of event (`WEB_EVENT` or `NETWORK_EVENT`).
/// Inlined where it is called with a constant, the copies know the pieces' lengths and are a
/// few word stores; with a length known only at run time they cost the plugin 1 % of its
/// instructions on ALB lines.
#[inline(always)]
fn event_fields(event: &mut Object, [head, tail]: EventFields) {
    event.fields(head).fields(tail);
}

/// Room for every known field of any kind plus a few appended ones, on the stack.
const MAX_FIELDS: usize = access::at::KNOWN + 16;
const _: () = assert!(nlb::at::KNOWN < MAX_FIELDS && connection::at::KNOWN < MAX_FIELDS);

/// A field's text for a reason: at most 40 bytes of it.
fn shown(text: &[u8]) -> String {
    const MAX: usize = 40;
    let more = if text.len() > MAX { "…" } else { "" };
    format!("{}{more}", String::from_utf8_lossy(&text[..text.len().min(MAX)]))
}

/// An ISO 8601 time; `name` is the field's, for the reason.
fn iso8601(text: &[u8], name: &str) -> Result<Timestamp, Reject> {
    parse_iso8601(text).ok_or_else(|| reject!("{name} `{}` is not an ISO 8601 time", shown(text)))
}

/// ECS `source` or `destination`: the endpoint `host:port` names, if any, and the bytes it sent.
fn peer(doc: &mut Object, key: &str, host_port: Option<&[u8]>, bytes: Option<u64>) {
    let mut peer = doc.object(key);
    if let Some(host_port) = host_port {
        match ecs::split_host_port(host_port) {
            Some((host, port)) => {
                ecs::host_fields(&mut peer, host);
                peer.u64("port", u64::from(port));
            }
            None => ecs::host_fields(&mut peer, host_port),
        }
    }
    if let Some(bytes) = bytes {
        peer.u64("bytes", bytes);
    }
}

/// ECS `tls.version_protocol` and `tls.version` of a protocol name (`TLSv1.2`, `tlsv12`);
/// returns a name they cannot hold, for the caller to keep under `aws.elb`.
fn tls_version<'a>(tls: &mut Object, protocol: Option<&'a [u8]>) -> Option<&'a [u8]> {
    let Some((name, version)) = protocol.and_then(ecs::tls_protocol) else {
        return protocol;
    };
    tls.str("version_protocol", name).str("version", version);
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use kelk_parser_sdk::{Batch, Plugin};

    const ALB: &[u8] = br#"http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-""#;
    const CLASSIC: &[u8] = br#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000086 0.001048 0.001337 200 200 0 57 "GET https://www.example.com:443/ HTTP/1.1" "curl/7.38.0" DHE-RSA-AES128-SHA TLSv1.2"#;
    const CLASSIC_TCP: &[u8] = br#"2021-05-13T23:39:45.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.001069 0.000028 0.000041 - - 82 305 "- - - " "-" - -"#;
    const NLB: &[u8] = br#"tls 2.0 2018-12-20T02:59:40 net/my-network-loadbalancer/c6e77e28c25b2234 g3d4b5e8bb8464cd 72.21.218.154:51341 172.100.100.185:443 5 2 98 246 - arn:aws:acm:us-east-2:671290407336:certificate/2a108f19-aded-46b0-8493-c63eb1ef4a99 - ECDHE-RSA-AES128-SHA tlsv12 - my-network-loadbalancer-c6e77e28c25b2234.elb.us-east-2.amazonaws.com h2 h2 "h2","http/1.1" 2018-12-20T02:59:38"#;
    /// A connection without client certificate: once read as an access line of a load
    /// balancer called `10.1.2.3` whose request method was `TID_0123abcd`.
    const CONNECTION: &[u8] = br#"2025-02-03T04:05:06.123456Z 10.1.2.3 49152 443 - - - "-" - - - TID_0123abcd"#;
    const CONNECTION_MTLS: &[u8] = br#"2025-02-03T04:05:07.000001Z 2001:db8::7 50123 443 TLSv1.3 TLS_AES_128_GCM_SHA256 0.004 "CN=client.example.com,O=Example\, Inc.,C=US" NotBefore=2025-01-01T00:00:00Z;NotAfter=2026-01-01T00:00:00Z 0A1B2C3D4E5F Success TID_0123abce"#;

    fn parse(line: &[u8]) -> Result<serde_json::Value, String> {
        let mut batch = Batch::default();
        batch.record(Default::default(), line, |doc| Alb.parse_line(line, doc));
        match batch.rejections.first() {
            Some(r) => Err(r.reason.clone()),
            None => Ok(serde_json::from_slice(&batch.json).unwrap()),
        }
    }

    #[test]
    fn the_event_fields_name_the_dataset() {
        for [head, tail] in [WEB_EVENT, NETWORK_EVENT] {
            let v: serde_json::Value = serde_json::from_str(&format!("{{{head},{tail}}}")).unwrap();
            assert_eq!(
                (v["dataset"].as_str(), v["module"].as_str()),
                (Some(Alb::INFO.dataset), Some(Alb::INFO.module))
            );
            assert!(head.len() <= 64 && tail.len() <= 64, "pieces short enough to be copied in words");
        }
    }

    #[test]
    fn each_kind_is_told_by_its_shape() {
        assert_eq!(Kind::of(ALB), Kind::Application);
        assert_eq!(Kind::of(CLASSIC), Kind::Classic);
        assert_eq!(Kind::of(CLASSIC_TCP), Kind::Classic);
        assert_eq!(Kind::of(NLB), Kind::Network);
        assert_eq!(Kind::of(CONNECTION), Kind::Connection);
        assert_eq!(Kind::of(CONNECTION_MTLS), Kind::Connection);
        assert_eq!(Kind::of(b"not an elb line"), Kind::Application);
        assert_eq!(Kind::of(b"   "), Kind::Application);
    }

    #[test]
    fn each_kind_becomes_its_own_document() {
        let alb = parse(ALB).unwrap();
        assert_eq!(
            (alb["aws"]["elb"]["type"].as_str(), alb["event"]["category"][0].as_str()),
            (Some("http"), Some("web"))
        );
        assert_eq!(alb["http"]["request"]["method"], "GET");

        let classic = parse(CLASSIC).unwrap();
        assert_eq!(classic["aws"]["elb"]["name"], "my-loadbalancer");
        assert_eq!(classic["aws"]["elb"].get("type"), None);
        assert_eq!(classic["http"]["response"]["status_code"], 200);

        let nlb = parse(NLB).unwrap();
        assert_eq!(nlb["aws"]["elb"]["type"], "tls");
        assert_eq!(nlb["event"]["category"][0], "network");
        assert_eq!(nlb.get("http"), None);

        for line in [CONNECTION, CONNECTION_MTLS] {
            let conn = parse(line).unwrap();
            assert_eq!(conn["event"]["category"][0], "network");
            assert!(conn["aws"]["elb"]["connection_trace_id"].as_str().unwrap().starts_with("TID_"));
            assert_eq!(conn["destination"]["port"], 443);
            for access_only in ["http", "url", "user_agent"] {
                assert_eq!(conn.get(access_only), None, "{access_only}");
            }
            assert_eq!(conn["aws"]["elb"].get("name"), None);
        }
        assert_eq!(parse(CONNECTION).unwrap()["source"]["ip"], "10.1.2.3");
    }

    #[test]
    fn short_lines_are_rejected_naming_what_is_missing() {
        assert_eq!(
            parse(b"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817").unwrap_err(),
            r#"3 fields, at least 12 expected (time … "request")"#
        );
        assert_eq!(
            parse(b"http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188").unwrap_err(),
            r#"2 fields after the type, at least 12 expected (time … "request")"#
        );
        let bad_port = String::from_utf8(CONNECTION.to_vec()).unwrap().replace(" 443 ", " https ");
        assert_eq!(parse(bad_port.as_bytes()).unwrap_err(), "listener_port `https` is not a number");
    }

    #[test]
    fn a_target_that_is_not_an_ip_address_is_its_address() {
        let backend = |target: &str| {
            let line = String::from_utf8(ALB.to_vec()).unwrap().replacen("10.0.0.1:80", target, 1);
            parse(line.as_bytes()).unwrap()["aws"]["elb"]["backend"].clone()
        };
        let status = serde_json::json!({"response": {"status_code": 200}});
        assert_eq!(backend("10.0.0.1:80"), serde_json::json!({"ip": "10.0.0.1", "port": 80, "http": status}));
        assert_eq!(backend("[2001:db8::1]:80")["ip"], "2001:db8::1");
        assert_eq!(
            backend("10.0.0.1.7:8080"),
            serde_json::json!({"address": "10.0.0.1.7", "port": 8080, "http": status})
        );
    }

    #[test]
    fn a_rule_priority_is_an_integer() {
        let priority = |value: &str| {
            let line =
                String::from_utf8(ALB.to_vec()).unwrap().replace(r#""-" 0 2018"#, &format!(r#""-" {value} 2018"#));
            parse(line.as_bytes()).unwrap()["aws"]["elb"].get("matched_rule_priority").cloned()
        };
        assert_eq!(priority("0"), Some(0.into()));
        assert_eq!(priority("-1"), Some((-1).into()));
        assert_eq!(priority("0.001"), None);
        assert_eq!(priority("99999999999999999999"), None);
    }

    #[test]
    fn durations_past_what_a_long_holds_are_left_out() {
        let duration = |line: &[u8], from: &str, to: &str| {
            let line = String::from_utf8(line.to_vec()).unwrap().replacen(from, to, 1);
            parse(line.as_bytes()).unwrap()["event"].get("duration").cloned()
        };
        assert_eq!(duration(ALB, "0.000 0.001 0.000", "0.000 0.001 0.000"), Some(1_000_000.into()));
        // Three times that each fit, whose sum does not (nor fits u64).
        assert_eq!(duration(ALB, "0.000 0.001 0.000", "9223372036.0 9223372036.0 9223372036.0"), None);
        assert_eq!(duration(NLB, " 5 2 98 ", " 5 2 98 "), Some(5_000_000.into()));
        assert_eq!(duration(NLB, " 5 2 98 ", " 9223372036855 2 98 "), None);
    }

    #[test]
    fn a_classic_tcp_line_is_a_connection() {
        let tcp = parse(CLASSIC_TCP).unwrap();
        assert_eq!(tcp["aws"]["elb"]["protocol"], "tcp");
        assert_eq!(tcp["event"]["category"][0], "network");
        assert_eq!((tcp["source"]["bytes"].as_u64(), tcp["destination"]["bytes"].as_u64()), (Some(82), Some(305)));
        assert_eq!((tcp.get("http"), tcp.get("url")), (None, None));
    }

    #[test]
    fn a_field_that_runs_on_past_a_quote_rejects_the_line() {
        let line = String::from_utf8(ALB.to_vec()).unwrap().replace(r#""-" 0 2018"#, r#""-"0 2018"#);
        let reason = parse(line.as_bytes()).unwrap_err();
        assert!(reason.starts_with("field 20 runs on past a quote (`\"0 2018-07-02T22:22:48.364000Z"), "{reason}");
        // A request and a user agent may hold quotes that the tokenizer reads past.
        let line = String::from_utf8(ALB.to_vec())
            .unwrap()
            .replace("curl/7.46.0", r#"curl/"7.46.0""#)
            .replace(":80/ HTTP", r#":80/?q=alert("x") HTTP"#);
        let doc = parse(line.as_bytes()).unwrap();
        assert_eq!(doc["user_agent"]["original"], r#"curl/"7.46.0""#);
        assert_eq!(doc["url"]["query"], r#"q=alert("x")"#);
        // The user agent ran into the fields after it: a quoted field where none is.
        let line = String::from_utf8(ALB.to_vec()).unwrap().replace(r#""curl/7.46.0" -"#, r#""curl/7.46.0"-"#);
        assert!(parse(line.as_bytes()).unwrap_err().starts_with("field 15 is quoted, which it never is"));
    }
}
