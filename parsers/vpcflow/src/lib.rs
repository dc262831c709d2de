//! Amazon VPC Flow Logs as delivered to S3: one flow record per line, space-separated fields,
//! `-` for a value the record does not have.
//!
//! Reference: "Flow log records" in the Amazon VPC user guide. The default format is version
//! 2's 14 fields (`version account-id interface-id srcaddr dstaddr srcport dstport protocol
//! packets bytes start end action log-status`); a custom format picks any of the fields of
//! versions 2 to 8 in any order. An S3 delivery starts with a header line naming the format's
//! fields in order (`version account-id …`): it is a skipped record that sets the layout of the
//! lines after it, as CloudFront's `#Fields:` does. Without one (CloudWatch Logs, Firehose),
//! the default format is assumed. A field this parser does not know is kept as a string in
//! `aws.vpcflow.unknown_fields.<name>` (hyphens become `_`), never a failure: that object is a
//! `flat_object` in the mappings, so fields AWS adds later are searchable without growing the
//! index's mapping.
//!
//! The mapping follows Elastic's `aws.vpcflow` integration: addresses and ports as `source.*`
//! and `destination.*`, the packets and bytes the source sent as `source.packets` and
//! `source.bytes`, the protocol as `network.iana_number` and, when it is one of the usual ones,
//! `network.transport`; the action as `event.action` (lowercase), `event.outcome` and
//! `event.type`; `start` and `end` (Unix seconds) as `event.start`/`event.end`, and `start` as
//! `@timestamp`; account, region and instance under `cloud.*`; the rest under `aws.vpcflow.*`,
//! `tcp-flags` also decoded into `aws.vpcflow.tcp_flags_array`. `az-id` (`use1-az1`) is an AZ's
//! ID, not its name, so it stays `aws.vpcflow.az_id` rather than `cloud.availability_zone`.
//!
//! `NODATA` and `SKIPDATA` records are documents: their `log-status` says there was no traffic
//! in the window, or that records were skipped. Rejected: a line whose field count is not its
//! layout's, a number, address or time field that is not one, a record with neither `start`
//! nor `end`, and the lines after a header that names a field twice (and the header itself).

use kelk_parser_sdk::ecs::{self, dash};
use kelk_parser_sdk::{Event, LineParser, Object, Outcome, Parsed, Reject, Timestamp, reject};
use std::borrow::Cow;
use std::net::IpAddr;

/// What one field of a layout holds, and so where it goes in the document.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Column {
    Version,
    AccountId,
    SrcAddr,
    DstAddr,
    SrcPort,
    DstPort,
    Protocol,
    Packets,
    Bytes,
    Start,
    End,
    Action,
    InstanceId,
    TcpFlags,
    Type,
    PktSrcAddr,
    PktDstAddr,
    Region,
    TrafficPath,
    /// A documented string ECS has no name for, kept as `aws.vpcflow.<key>`.
    Keyword(Cow<'static, str>),
    /// A field this parser does not know, kept as `aws.vpcflow.unknown_fields.<key>`.
    Unknown(String),
}

const fn keyword(key: &'static str) -> Column {
    Column::Keyword(Cow::Borrowed(key))
}

/// Every documented field, by its name in a custom format and a header, in the order of the
/// documentation: version 2's (the default format, in its order), then those versions 3 to 8
/// added.
const FIELDS: &[(&str, Column)] = &[
    ("version", Column::Version),
    ("account-id", Column::AccountId),
    ("interface-id", keyword("interface_id")),
    ("srcaddr", Column::SrcAddr),
    ("dstaddr", Column::DstAddr),
    ("srcport", Column::SrcPort),
    ("dstport", Column::DstPort),
    ("protocol", Column::Protocol),
    ("packets", Column::Packets),
    ("bytes", Column::Bytes),
    ("start", Column::Start),
    ("end", Column::End),
    ("action", Column::Action),
    ("log-status", keyword("log_status")),
    // Version 3.
    ("vpc-id", keyword("vpc_id")),
    ("subnet-id", keyword("subnet_id")),
    ("instance-id", Column::InstanceId),
    ("tcp-flags", Column::TcpFlags),
    ("type", Column::Type),
    ("pkt-srcaddr", Column::PktSrcAddr),
    ("pkt-dstaddr", Column::PktDstAddr),
    // Version 4.
    ("region", Column::Region),
    ("az-id", keyword("az_id")),
    ("sublocation-type", keyword("sublocation_type")),
    ("sublocation-id", keyword("sublocation_id")),
    // Version 5.
    ("pkt-src-aws-service", keyword("pkt_src_aws_service")),
    ("pkt-dst-aws-service", keyword("pkt_dst_aws_service")),
    ("flow-direction", keyword("flow_direction")),
    ("traffic-path", Column::TrafficPath),
    // Version 7.
    ("ecs-cluster-arn", keyword("ecs_cluster_arn")),
    ("ecs-cluster-name", keyword("ecs_cluster_name")),
    ("ecs-container-instance-arn", keyword("ecs_container_instance_arn")),
    ("ecs-container-instance-id", keyword("ecs_container_instance_id")),
    ("ecs-container-id", keyword("ecs_container_id")),
    ("ecs-second-container-id", keyword("ecs_second_container_id")),
    ("ecs-service-name", keyword("ecs_service_name")),
    ("ecs-task-definition-arn", keyword("ecs_task_definition_arn")),
    ("ecs-task-arn", keyword("ecs_task_arn")),
    ("ecs-task-id", keyword("ecs_task_id")),
    // Version 8.
    ("reject-reason", keyword("reject_reason")),
];

/// The default format's fields: the first of [`FIELDS`].
const DEFAULT_FIELDS: usize = 14;

impl Column {
    /// The documented field a header names; `_` is taken for `-` (Parquet deliveries' names).
    fn documented(name: &str) -> Option<&'static Column> {
        let name = name.replace('_', "-");
        FIELDS.iter().find(|(known, _)| *known == name).map(|(_, column)| column)
    }

    /// The column a header names: a documented field, or an unknown one.
    fn named(name: &str) -> Column {
        Column::documented(name).cloned().unwrap_or_else(|| Column::Unknown(name.replace('-', "_")))
    }
}

/// Where the layout came from, for the reasons of rejections.
#[derive(Debug)]
enum Layout {
    Default,
    Header,
    /// The last header cannot be used: the lines after it are rejected with this reason.
    Unusable(String),
}

pub struct VpcFlow {
    /// The fields of the records: the last header's, or the default format's.
    columns: Vec<Column>,
    layout: Layout,
}

impl Default for VpcFlow {
    fn default() -> Self {
        VpcFlow { columns: FIELDS[..DEFAULT_FIELDS].iter().map(|(_, c)| c.clone()).collect(), layout: Layout::Default }
    }
}

kelk_parser_sdk::plugin! {
    lines: VpcFlow,
    name: "vpcflow",
    dataset: "aws.vpcflow",
    module: "aws",
    dashboard: {
        title: "VPC flow logs",
        top_fields: ["event.action", "destination.port", "source.ip", "network.transport"],
    },
}

const EVENT: &str = kelk_parser_sdk::event!(VpcFlow, r#""kind":"event","category":["network"]"#);

impl LineParser for VpcFlow {
    fn parse_line(&mut self, line: &[u8], doc: &mut Object) -> Outcome {
        // Only a header starts with a lowercase letter and has nothing but names in it.
        if line[0].is_ascii_lowercase()
            && let Some(header) = header(line)
        {
            return match header {
                Ok(columns) => {
                    (self.columns, self.layout) = (columns, Layout::Header);
                    Ok(Parsed::Skip)
                }
                Err(reason) => {
                    self.layout = Layout::Unusable(reason.clone());
                    Err(reason.into())
                }
            };
        }
        let layout = match &self.layout {
            Layout::Default => "the default format (version 2)",
            Layout::Header => "the header",
            Layout::Unusable(reason) => return Err(reject!("the header before this line is unusable: {reason}")),
        };
        write(&self.columns, layout, line, doc)
    }
}

/// The fields of a line: AWS separates them with one space.
/// Found with `memchr`, which looks at sixteen bytes at a time (simd128 in the plugin) where
/// a split on a predicate takes a turn of a loop per byte.
fn fields(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    memchr::memchr_iter(b' ', line).chain(std::iter::once(line.len())).filter_map(move |end| {
        let field = &line[start..end];
        start = end + 1;
        (!field.is_empty()).then_some(field)
    })
}

/// The layout a header line gives, or `None` if the line is not a header: a header has only
/// field names in it (lowercase, digits, `-`, `_`), at least one of them a documented field.
fn header(line: &[u8]) -> Option<Result<Vec<Column>, String>> {
    let is_name = |f: &[u8]| {
        f[0].is_ascii_lowercase()
            && f.iter().all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    };
    if !fields(line).all(is_name) {
        return None;
    }
    let names: Vec<&str> = fields(line).map(|f| std::str::from_utf8(f).expect("names are ASCII")).collect();
    if !names.iter().any(|name| Column::documented(name).is_some()) {
        return None;
    }
    let columns: Vec<Column> = names.iter().map(|name| Column::named(name)).collect();
    for (i, column) in columns.iter().enumerate() {
        if columns[..i].contains(column) {
            return Some(Err(format!("the header names the field `{}` twice", names[i])));
        }
    }
    Some(Ok(columns))
}

/// The fields that go outside `aws.vpcflow`, read in a first pass because the header may give
/// them in any order.
#[derive(Default)]
struct Values<'a> {
    account_id: Option<&'a [u8]>,
    srcaddr: Option<&'a [u8]>,
    dstaddr: Option<&'a [u8]>,
    srcport: Option<&'a [u8]>,
    dstport: Option<&'a [u8]>,
    protocol: Option<&'a [u8]>,
    packets: Option<&'a [u8]>,
    bytes: Option<&'a [u8]>,
    start: Option<&'a [u8]>,
    end: Option<&'a [u8]>,
    action: Option<&'a [u8]>,
    instance_id: Option<&'a [u8]>,
    ip_type: Option<&'a [u8]>,
    region: Option<&'a [u8]>,
}

fn write(columns: &[Column], layout: &str, line: &[u8], doc: &mut Object) -> Outcome {
    // Split once: the values are read in three passes below.
    let mut values = Vec::with_capacity(columns.len() + 1);
    values.extend(fields(line));
    let count = values.len();
    let mut v = Values::default();
    for (column, &value) in columns.iter().zip(&values) {
        let slot = match column {
            Column::AccountId => &mut v.account_id,
            Column::SrcAddr => &mut v.srcaddr,
            Column::DstAddr => &mut v.dstaddr,
            Column::SrcPort => &mut v.srcport,
            Column::DstPort => &mut v.dstport,
            Column::Protocol => &mut v.protocol,
            Column::Packets => &mut v.packets,
            Column::Bytes => &mut v.bytes,
            Column::Start => &mut v.start,
            Column::End => &mut v.end,
            Column::Action => &mut v.action,
            Column::InstanceId => &mut v.instance_id,
            Column::Type => &mut v.ip_type,
            Column::Region => &mut v.region,
            _ => continue,
        };
        *slot = dash(value);
    }
    if count != columns.len() {
        return Err(reject!("{count} fields, but {layout} has {}", columns.len()));
    }

    let start = v.start.map(|t| unix_time("start", t)).transpose()?;
    let end = v.end.map(|t| unix_time("end", t)).transpose()?;
    let time = start.or(end).ok_or("the record has no start or end time")?;
    let srcaddr = v.srcaddr.map(|a| ip("srcaddr", a)).transpose()?;
    let dstaddr = v.dstaddr.map(|a| ip("dstaddr", a)).transpose()?;
    let protocol = v.protocol.map(|p| ecs::number("protocol", p)).transpose()?;
    if let Some(p) = protocol.filter(|&p| p > 255) {
        return Err(reject!("protocol `{p}` is not an IANA protocol number (0-255)"));
    }

    doc.timestamp("@timestamp", time);
    doc.fields(ecs::ECS_FIELD);
    {
        let mut event = doc.object("event");
        event.fields(EVENT);
        match v.action {
            Some(b"ACCEPT") => {
                event.str("action", b"accept").str("outcome", b"success");
                event.raw("type", br#"["connection","allowed"]"#);
            }
            Some(b"REJECT") => {
                event.str("action", b"reject").str("outcome", b"failure");
                event.raw("type", br#"["connection","denied"]"#);
            }
            other => {
                event.opt_str("action", other.map(|a| a.to_ascii_lowercase()).as_deref());
            }
        }
        if let Some(start) = start {
            event.timestamp("start", start);
        }
        if let Some(end) = end {
            event.timestamp("end", end);
        }
    }
    {
        let mut source = endpoint(doc, "source", v.srcaddr, v.srcport.map(|p| port("srcport", p)).transpose()?);
        if let Some(packets) = v.packets {
            source.u64("packets", ecs::number("packets", packets)?);
        }
        if let Some(bytes) = v.bytes {
            source.u64("bytes", ecs::number("bytes", bytes)?);
        }
    }
    endpoint(doc, "destination", v.dstaddr, v.dstport.map(|p| port("dstport", p)).transpose()?);
    {
        let mut network = doc.object("network");
        if let Some(protocol) = protocol {
            network.opt_str("transport", transport(protocol));
            network.str("iana_number", protocol.to_string().as_bytes());
        }
        let family = match srcaddr.or(dstaddr) {
            Some(IpAddr::V4(_)) => Some(&b"ipv4"[..]),
            Some(IpAddr::V6(_)) => Some(&b"ipv6"[..]),
            None => match v.ip_type {
                Some(b"IPv4") => Some(&b"ipv4"[..]),
                Some(b"IPv6") => Some(&b"ipv6"[..]),
                _ => None,
            },
        };
        network.opt_str("type", family);
    }
    {
        let mut cloud = doc.object("cloud");
        cloud.fields(r#""provider":"aws""#);
        cloud.opt_str("region", v.region);
        cloud.object("account").opt_str("id", v.account_id);
        cloud.object("instance").opt_str("id", v.instance_id);
    }
    let mut aws = doc.object("aws");
    let mut flow = aws.object("vpcflow");
    for (column, &value) in columns.iter().zip(&values) {
        let Some(value) = dash(value) else { continue };
        match column {
            Column::Version => {
                flow.u64("version", short("version", value)?);
            }
            Column::TcpFlags => {
                let flags = short("tcp-flags", value)?;
                flow.u64("tcp_flags", flags);
                if tcp_flag_names(flags).next().is_some() {
                    flow.str_array("tcp_flags_array", tcp_flag_names(flags));
                }
            }
            Column::Type => {
                flow.str("type", value);
            }
            Column::PktSrcAddr => {
                ip("pkt-srcaddr", value)?;
                flow.str("pkt_srcaddr", value);
            }
            Column::PktDstAddr => {
                ip("pkt-dstaddr", value)?;
                flow.str("pkt_dstaddr", value);
            }
            Column::TrafficPath => {
                flow.u64("traffic_path", short("traffic-path", value)?);
            }
            Column::Keyword(key) => {
                flow.str(key, value);
            }
            _ => {}
        }
    }
    let mut unknown = columns.iter().zip(&values).filter_map(|(column, &value)| match column {
        Column::Unknown(key) => dash(value).map(|value| (key, value)),
        _ => None,
    });
    if let Some((key, value)) = unknown.next() {
        let mut extra = flow.object("unknown_fields");
        extra.str(key, value);
        for (key, value) in unknown {
            extra.str(key, value);
        }
    }
    Ok(Event::at(time).into())
}

/// `source` or `destination`, open for more: the address (already checked to be an IP) and
/// the port.
fn endpoint<'d>(doc: &'d mut Object, key: &str, address: Option<&[u8]>, port: Option<u16>) -> Object<'d> {
    let mut ep = doc.object(key);
    ep.opt_str("ip", address);
    if let Some(port) = port {
        ep.u64("port", u64::from(port));
    }
    ep
}

/// The latest instant ISO 8601's four-digit years can write, 9999-12-31T23:59:59Z.
const MAX_SECS: u64 = 253_402_300_799;

/// Unix seconds, as flow logs write `start` and `end`.
fn unix_time(field: &str, b: &[u8]) -> Result<Timestamp, Reject> {
    match ecs::parse_u64(b) {
        Some(secs) if secs <= MAX_SECS => Ok(Timestamp { secs: secs as i64, nanos: 0 }),
        _ => Err(reject!("{field} `{}` is not a time in Unix seconds", String::from_utf8_lossy(b))),
    }
}

fn port(field: &str, b: &[u8]) -> Result<u16, Reject> {
    let n = ecs::number(field, b)?;
    u16::try_from(n).map_err(|_| reject!("{field} `{n}` is not a port (0-65535)"))
}

/// A number of a field mapped as a `short`, which refuses a larger one with its document.
fn short(field: &str, b: &[u8]) -> Result<u64, Reject> {
    let n = ecs::number(field, b)?;
    (n <= i16::MAX as u64).then_some(n).ok_or_else(|| reject!("{field} `{n}` is out of range (0-32767)"))
}

fn ip(field: &str, b: &[u8]) -> Result<IpAddr, Reject> {
    ecs::parse_ip(b).ok_or_else(|| reject!("{field} `{}` is not an IP address", String::from_utf8_lossy(b)))
}

/// ECS `network.transport` for the IANA protocol numbers seen in VPCs: the protocol's IANA
/// keyword in lowercase. Others have only `network.iana_number`.
fn transport(iana_number: u64) -> Option<&'static [u8]> {
    Some(match iana_number {
        1 => b"icmp",
        2 => b"igmp",
        4 => b"ipv4",
        6 => b"tcp",
        17 => b"udp",
        41 => b"ipv6",
        47 => b"gre",
        50 => b"esp",
        51 => b"ah",
        58 => b"ipv6-icmp",
        89 => b"ospfigp",
        103 => b"pim",
        112 => b"vrrp",
        132 => b"sctp",
        _ => return None,
    })
}

/// The names of the TCP flags a `tcp-flags` bitmask has (FIN 1, SYN 2, RST 4, PSH 8, ACK 16,
/// URG 32, as the flow-log documentation lists them; a flow's flags are OR-ed over its
/// aggregation interval, so SYN-ACK is 18), lowercase as Elastic writes them.
fn tcp_flag_names(flags: u64) -> impl Iterator<Item = &'static [u8]> {
    const NAMES: [&[u8]; 6] = [b"fin", b"syn", b"rst", b"psh", b"ack", b"urg"];
    NAMES.into_iter().enumerate().filter(move |(bit, _)| flags & (1 << bit) != 0).map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kelk_parser_sdk::{Lines, SourceContext};
    use serde_json::{Value, json};

    /// The outcome of each line of `input`: its document, its rejection's reason, or `skip`.
    fn parse(input: &str) -> Vec<Result<Value, String>> {
        let batch = kelk_parser_sdk::parse::<Lines<VpcFlow>>(&SourceContext::default(), input.as_bytes()).unwrap();
        let mut docs = batch.iter().map(|(d, json)| (d.record.number, Ok(serde_json::from_slice(json).unwrap())));
        let mut out: Vec<(u64, Result<Value, String>)> = docs.by_ref().collect();
        out.extend(batch.rejections.iter().map(|r| (r.record.number, Err(r.reason.clone()))));
        out.sort_by_key(|(n, _)| *n);
        out.into_iter().map(|(_, o)| o).collect()
    }

    fn one(input: &str) -> Value {
        parse(input).pop().unwrap().unwrap()
    }

    #[test]
    fn the_default_fields_come_first() {
        let names: Vec<&str> = FIELDS[..DEFAULT_FIELDS].iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names.join(" "),
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
        );
        for (i, (name, _)) in FIELDS.iter().enumerate() {
            assert!(!FIELDS[..i].iter().any(|(n, _)| n == name), "{name} twice");
        }
    }

    #[test]
    fn headers() {
        let columns = header(b"version vpc-id srcaddr future-field").unwrap().unwrap();
        assert_eq!(
            columns,
            [Column::Version, keyword("vpc_id"), Column::SrcAddr, Column::Unknown("future_field".to_string())]
        );
        assert_eq!(
            header(b"pkt_srcaddr flow_direction").unwrap().unwrap(),
            [Column::PktSrcAddr, keyword("flow_direction")]
        );
        assert_eq!(
            header(b"srcaddr dstaddr srcaddr").unwrap(),
            Err("the header names the field `srcaddr` twice".into())
        );
        // Data lines of custom formats that start with a letter.
        assert!(header(b"eni-0a1b2c3d4e5f67890 10.0.1.5 ACCEPT").is_none());
        assert!(header(b"vpc-0a1b2c3d subnet-0a1b2c3d").is_none(), "names, but no documented one");
    }

    #[test]
    fn flags_and_protocols() {
        assert_eq!(tcp_flag_names(18).collect::<Vec<_>>(), [&b"syn"[..], b"ack"]);
        assert_eq!(tcp_flag_names(19).collect::<Vec<_>>(), [&b"fin"[..], b"syn", b"ack"]);
        assert_eq!(tcp_flag_names(0).count(), 0);
        assert_eq!(transport(6), Some(&b"tcp"[..]));
        assert_eq!(transport(58), Some(&b"ipv6-icmp"[..]));
        assert_eq!(transport(253), None);
    }

    #[test]
    fn checks() {
        assert_eq!(unix_time("start", b"1620140661").unwrap(), Timestamp { secs: 1_620_140_661, nanos: 0 });
        assert!(unix_time("start", b"99999999999999").is_err());
        assert!(unix_time("start", b"1.5").is_err());
        assert_eq!(port("srcport", b"443"), Ok(443));
        assert_eq!(port("srcport", b"65536"), Err("srcport `65536` is not a port (0-65535)".into()));
        assert!(ip("srcaddr", b"2001:db8::1").is_ok());
        assert_eq!(ip("srcaddr", b"10.0.0"), Err("srcaddr `10.0.0` is not an IP address".into()));
    }

    #[test]
    fn default_format() {
        let d = one(
            "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
        );
        assert_eq!(d["@timestamp"], "2014-12-14T04:06:50Z");
        assert_eq!(d["source"], json!({"ip": "172.31.16.139", "port": 20641, "packets": 20, "bytes": 4249}));
        assert_eq!(d["destination"], json!({"ip": "172.31.16.21", "port": 22}));
        assert_eq!(d["network"], json!({"transport": "tcp", "iana_number": "6", "type": "ipv4"}));
        assert_eq!(d["event"]["type"], json!(["connection", "allowed"]));
        assert_eq!(
            d["aws"]["vpcflow"],
            json!({"version": 2, "interface_id": "eni-1235b8ca123456789", "log_status": "OK"})
        );
    }

    #[test]
    fn a_header_sets_the_layout_and_a_bad_one_stops_it() {
        let out = parse("version srcaddr start log-status\n5 10.0.0.1 1418530010 OK\n2 10.0.0.1 1418530010 OK extra\n");
        assert_eq!(out.len(), 2, "the header is skipped");
        assert_eq!(out[0].as_ref().unwrap()["source"]["ip"], "10.0.0.1");
        assert_eq!(out[1], Err("5 fields, but the header has 4".into()));
        let out = parse("start start\n1418530010 1418530010\n");
        assert_eq!(out[0], Err("the header names the field `start` twice".into()));
        assert_eq!(
            out[1],
            Err("the header before this line is unusable: the header names the field `start` twice".into())
        );
    }

    #[test]
    fn rejections() {
        let reason = |line: &str| parse(line).pop().unwrap().unwrap_err();
        assert_eq!(
            reason("2 123 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1418530010 1418530070 ACCEPT"),
            "13 fields, but the default format (version 2) has 14"
        );
        assert_eq!(
            reason("2 123 eni-1 10.0.0.1 10.0.0.2 1 2 6 x 1 1418530010 1418530070 ACCEPT OK"),
            "packets `x` is not a number"
        );
        assert_eq!(
            reason("2 123 eni-1 10.0.0.1 10.0.0.2 1 2 300 1 1 1418530010 1418530070 ACCEPT OK"),
            "protocol `300` is not an IANA protocol number (0-255)"
        );
        assert_eq!(reason("2 123 eni-1 - - - - - - - - - - NODATA"), "the record has no start or end time");
        assert_eq!(
            reason("version start tcp-flags\n5 1418530010 32768"),
            "tcp-flags `32768` is out of range (0-32767)"
        );
        assert_eq!(reason("version start\n40000 1418530010"), "version `40000` is out of range (0-32767)");
    }
}
