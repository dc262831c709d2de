//! Route 53 Resolver query logs, as Resolver delivers them to S3 or Firehose: one JSON object
//! per line, a DNS query from a VPC (or through a Resolver endpoint) and Resolver's answer.
//!
//! Reference: "Values that appear in Resolver query logs" in the Route 53 developer guide. The
//! ECS fields follow Elastic's `aws.route53_resolver_logs` integration:
//!
//! - `query_timestamp` (ISO 8601) is `@timestamp`; `account_id` and `region` are `cloud.*`;
//! - the question is `dns.question.*`, its name without the trailing dot (but `.` for the
//!   root); `rcode` is `dns.response_code`; `answers` (`Rdata`, `Type`, `Class`) are
//!   `dns.answers` (`data`, `type`, `class`), and the addresses of the `A` and `AAAA` answers
//!   `dns.resolved_ip`; `dns.type` is `answer`, as ECS has it for a record of the question and
//!   its answer. Registered domains and suffixes are not derived: that takes the public suffix
//!   list;
//! - `srcaddr` and `srcport` (a string of digits) are `source.*`, `transport` is
//!   `network.transport` (lowercased), and `network.protocol` is `dns`;
//! - the rest is kept under `aws.route53.*` by the log's names: `version`, `vpc_id`, `srcids`
//!   (the instance, Resolver endpoint or network interface the query came from) and DNS
//!   Firewall's `firewall_rule_action` (`BLOCK`, `ALERT` or `ALLOW`, also `denied` or `allowed`
//!   in `event.type`), `firewall_rule_group_id` and `firewall_domain_list_id`.
//!
//! A line that is not a JSON object, or has no `query_timestamp` in ISO 8601, is rejected;
//! members the plugin does not know are ignored. Public DNS query logs (Route 53's other
//! query log, space-separated lines in CloudWatch Logs) are another format, not read here.

use kelk_parser_sdk::ecs;
use kelk_parser_sdk::records::{self, Text};
use kelk_parser_sdk::time::parse_iso8601;
use kelk_parser_sdk::{Event, LineParser, Object, Outcome, reject};
use serde::Deserialize;

#[derive(Default)]
pub struct Route53Resolver;

kelk_parser_sdk::plugin! {
    lines: Route53Resolver,
    name: "route53resolver",
    dataset: "aws.route53_resolver_logs",
    module: "aws",
    dashboard: {
        title: "Route 53 Resolver queries",
        top_fields: ["dns.question.name", "dns.response_code", "dns.question.type", "source.ip"],
    },
}

const EVENT: &str = kelk_parser_sdk::event!(Route53Resolver, r#""kind":"event","category":["network"]"#);

type Str<'a> = Option<Text<'a>>;

/// A query log record's members, as the developer guide names them; any others are ignored.
#[derive(Deserialize)]
struct Query<'a> {
    #[serde(borrow)]
    version: Str<'a>,
    #[serde(borrow)]
    account_id: Str<'a>,
    #[serde(borrow)]
    region: Str<'a>,
    #[serde(borrow)]
    vpc_id: Str<'a>,
    #[serde(borrow)]
    query_timestamp: Str<'a>,
    #[serde(borrow)]
    query_name: Str<'a>,
    #[serde(borrow)]
    query_type: Str<'a>,
    #[serde(borrow)]
    query_class: Str<'a>,
    #[serde(borrow)]
    rcode: Str<'a>,
    #[serde(borrow)]
    answers: Option<Vec<Answer<'a>>>,
    #[serde(borrow)]
    srcaddr: Str<'a>,
    srcport: Option<serde_json::Value>,
    #[serde(borrow)]
    transport: Str<'a>,
    #[serde(borrow, default)]
    srcids: SrcIds<'a>,
    #[serde(borrow)]
    firewall_rule_action: Str<'a>,
    #[serde(borrow)]
    firewall_rule_group_id: Str<'a>,
    #[serde(borrow)]
    firewall_domain_list_id: Str<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer<'a> {
    #[serde(borrow)]
    rdata: Str<'a>,
    #[serde(borrow, rename = "Type")]
    kind: Str<'a>,
    #[serde(borrow)]
    class: Str<'a>,
}

/// Where the query came from.
#[derive(Deserialize, Default)]
struct SrcIds<'a> {
    #[serde(borrow)]
    instance: Str<'a>,
    #[serde(borrow)]
    resolver_endpoint: Str<'a>,
    #[serde(borrow)]
    resolver_network_interface: Str<'a>,
}

impl LineParser for Route53Resolver {
    fn parse_line(&mut self, line: &[u8], doc: &mut Object) -> Outcome {
        let text = records::text(line);
        let q: Query = records::record(&text, "Resolver query log record")?;
        let time_text = present(&q.query_timestamp).ok_or("no query_timestamp")?;
        let time = parse_iso8601(time_text).ok_or_else(|| {
            reject!("query_timestamp `{}` is not an ISO 8601 time", String::from_utf8_lossy(time_text))
        })?;
        let port = match &q.srcport {
            None => None,
            Some(p) => Some(port(p).ok_or_else(|| reject!("srcport {p} is not a port number"))?),
        };
        let firewall = q.firewall_rule_action.as_deref();

        doc.timestamp_text("@timestamp", time_text, time);
        doc.fields(ecs::ECS_FIELD);
        {
            let mut cloud = doc.object("cloud");
            cloud.str("provider", b"aws");
            cloud.opt_str("region", present(&q.region));
            cloud.object("account").opt_str("id", present(&q.account_id));
        }
        {
            let mut event = doc.object("event");
            event.fields(EVENT);
            let kind = match firewall {
                Some("BLOCK") => r#"["protocol","denied"]"#,
                Some("ALLOW") => r#"["protocol","allowed"]"#,
                _ => r#"["protocol"]"#,
            };
            event.raw("type", kind.as_bytes());
        }
        {
            let mut source = doc.object("source");
            if let Some(address) = present(&q.srcaddr) {
                ecs::host_fields(&mut source, address);
            }
            if let Some(port) = port {
                source.u64("port", port);
            }
        }
        {
            let mut network = doc.object("network");
            network.str("protocol", b"dns");
            if let Some(transport) = present(&q.transport) {
                network.str("transport", &transport.to_ascii_lowercase());
            }
        }
        {
            let mut dns = doc.object("dns");
            dns.str("type", b"answer");
            {
                let mut question = dns.object("question");
                question.opt_str(
                    "name",
                    present(&q.query_name).map(|n| n.strip_suffix(b".").filter(|n| !n.is_empty()).unwrap_or(n)),
                );
                question.opt_str("type", present(&q.query_type));
                question.opt_str("class", present(&q.query_class));
            }
            dns.opt_str("response_code", present(&q.rcode));
            let answers = q.answers.as_deref().unwrap_or_default();
            if !answers.is_empty() {
                dns.raw("answers", &answers_json(answers));
            }
            let resolved: Vec<&[u8]> = answers
                .iter()
                .filter(|a| matches!(a.kind.as_deref(), Some("A" | "AAAA")))
                .filter_map(|a| present(&a.rdata).filter(|ip| ecs::parse_ip(ip).is_some()))
                .collect();
            if !resolved.is_empty() {
                dns.str_array("resolved_ip", resolved);
            }
        }

        let mut aws = doc.object("aws");
        let mut route53 = aws.object("route53");
        route53.opt_str("version", present(&q.version));
        route53.opt_str("vpc_id", present(&q.vpc_id));
        route53
            .object("srcids")
            .opt_str("instance", present(&q.srcids.instance))
            .opt_str("resolver_endpoint", present(&q.srcids.resolver_endpoint))
            .opt_str("resolver_network_interface", present(&q.srcids.resolver_network_interface));
        route53.opt_str("firewall_rule_action", firewall.map(str::as_bytes));
        route53.opt_str("firewall_rule_group_id", present(&q.firewall_rule_group_id));
        route53.opt_str("firewall_domain_list_id", present(&q.firewall_domain_list_id));
        Ok(Event::at(time).into())
    }
}

/// A string member that is there and not empty.
fn present<'s>(s: &'s Str) -> Option<&'s [u8]> {
    s.as_deref().filter(|s| !s.is_empty()).map(str::as_bytes)
}

/// A port: a string of digits, as Resolver writes it, or a number.
fn port(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::String(s) => ecs::parse_u64(s.as_bytes()),
        number => number.as_u64(),
    }
    .filter(|&p| p <= 65_535)
}

/// ECS `dns.answers`: a list of objects, each answer's `data`, `type` and `class`.
fn answers_json(answers: &[Answer]) -> Vec<u8> {
    let mut json = vec![b'['];
    for (i, answer) in answers.iter().enumerate() {
        if i > 0 {
            json.push(b',');
        }
        let mut a = Object::new(&mut json);
        a.opt_str("data", present(&answer.rdata));
        a.opt_str("type", present(&answer.kind));
        a.opt_str("class", present(&answer.class));
    }
    json.push(b']');
    json
}

#[cfg(test)]
mod tests {
    use super::*;
    use kelk_parser_sdk::{Lines, SourceContext};
    use serde_json::{Value, json};

    /// The document of one line, or the rejection's reason.
    fn parse_bytes(line: &[u8]) -> Result<Value, String> {
        let batch = kelk_parser_sdk::parse::<Lines<Route53Resolver>>(&SourceContext::default(), line).unwrap();
        match (batch.iter().next(), batch.rejections.first()) {
            (Some((_, json)), None) => Ok(serde_json::from_slice(json).unwrap()),
            (None, Some(rejection)) => Err(rejection.reason.clone()),
            _ => panic!("one record, one outcome"),
        }
    }

    /// The document of a record: `members` added to a minimal one.
    fn parse_with(members: Value) -> Result<Value, String> {
        let mut record = json!({"query_timestamp": "2025-03-02T10:00:00Z", "query_name": "example.com."});
        record.as_object_mut().unwrap().extend(members.as_object().unwrap().clone());
        parse_bytes(record.to_string().as_bytes())
    }

    fn parse(members: Value) -> Value {
        parse_with(members).unwrap()
    }

    #[test]
    fn the_time_is_iso_8601() {
        assert_eq!(parse(json!({}))["@timestamp"], "2025-03-02T10:00:00Z");
        assert_eq!(
            parse(json!({"query_timestamp": "2025-03-02T11:00:00.5+01:00"}))["@timestamp"],
            "2025-03-02T10:00:00.500Z"
        );
        assert_eq!(parse_with(json!({"query_timestamp": null})), Err("no query_timestamp".into()));
        assert_eq!(parse_with(json!({"query_timestamp": ""})), Err("no query_timestamp".into()));
        assert_eq!(
            parse_with(json!({"query_timestamp": "1740909600"})),
            Err("query_timestamp `1740909600` is not an ISO 8601 time".into())
        );
        let wrong = parse_with(json!({"query_timestamp": 1740909600})).unwrap_err();
        assert!(wrong.starts_with("not a Resolver query log record: invalid type: integer"), "{wrong}");
    }

    #[test]
    fn what_is_not_a_json_object_is_rejected() {
        for line in [&b"[\"2025-03-02T10:00:00Z\"]"[..], b"null", b"2025-03-02T10:00:00Z example.com. A"] {
            assert_eq!(parse_bytes(line), Err("not a Resolver query log record: not a JSON object".into()));
        }
        let cut = parse_bytes(br#"{"query_timestamp":"2025-03-02T10:00:00Z","query_name":"exa"#).unwrap_err();
        assert!(cut.starts_with("not a Resolver query log record: EOF while parsing"), "{cut}");
    }

    #[test]
    fn names_lose_their_trailing_dot_but_the_root_stays() {
        let name = |n: &str| parse(json!({ "query_name": n }))["dns"]["question"]["name"].clone();
        assert_eq!(name("www.example.com."), "www.example.com");
        assert_eq!(name("www.example.com"), "www.example.com");
        assert_eq!(name("."), ".");
        assert!(parse(json!({"query_name": ""}))["dns"].get("question").is_none());
    }

    #[test]
    fn answers_and_the_addresses_resolved() {
        let d = parse(json!({"answers": [
            {"Rdata": "alias.example.net.", "Type": "CNAME", "Class": "IN"},
            {"Rdata": "192.0.2.1", "Type": "A", "Class": "IN"},
            {"Rdata": "2001:db8::1", "Type": "AAAA", "Class": "IN"},
            {"Rdata": "not-an-ip", "Type": "A", "Class": "IN"},
            {"Rdata": "192.0.2.9", "Type": "TXT", "Class": "IN"},
            {"Type": "A"},
        ]}));
        assert_eq!(d["dns"]["resolved_ip"], json!(["192.0.2.1", "2001:db8::1"]));
        assert_eq!(d["dns"]["answers"][0], json!({"data": "alias.example.net.", "type": "CNAME", "class": "IN"}));
        assert_eq!(d["dns"]["answers"][5], json!({"type": "A"}));
        let d = parse(json!({"answers": []}));
        assert!(d["dns"].get("answers").is_none() && d["dns"].get("resolved_ip").is_none(), "{d}");
    }

    #[test]
    fn the_source_and_its_port() {
        let d = parse(json!({"srcaddr": "2600:1f18::5", "srcport": "53", "transport": "TCP"}));
        assert_eq!(d["source"], json!({"address": "2600:1f18::5", "ip": "2600:1f18::5", "port": 53}));
        assert_eq!(d["network"], json!({"protocol": "dns", "transport": "tcp"}));
        assert_eq!(parse(json!({"srcport": 5353}))["source"], json!({"port": 5353}));
        for bad in [json!("65536"), json!("-1"), json!(""), json!(1.5), json!(true)] {
            assert_eq!(
                parse_with(json!({ "srcport": bad })),
                Err(format!("srcport {bad} is not a port number")),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_firewall_action_gives_the_event_type() {
        for (action, kind) in [
            (json!("BLOCK"), json!(["protocol", "denied"])),
            (json!("ALLOW"), json!(["protocol", "allowed"])),
            (json!("ALERT"), json!(["protocol"])),
            (json!(null), json!(["protocol"])),
        ] {
            let d = parse(json!({ "firewall_rule_action": action }));
            assert_eq!(d["event"]["type"], kind, "{action}");
            assert_eq!(d["aws"]["route53"].get("firewall_rule_action"), action.is_string().then_some(&action));
        }
    }
}
