//! CloudTrail log files: `{"Records":[…]}` objects, streamed record by record (see
//! [`envelope`]), each record an ECS document.
//!
//! Reference: "CloudTrail record contents" in the CloudTrail user guide. `requestParameters`,
//! `responseElements`, `additionalEventData`, `serviceEventDetails` (and the rarer
//! `insightDetails`, `edgeDeviceDetails`, `addendum`) differ by service and would explode an
//! index mapping: each is emitted as one compact JSON **string**, whether the record holds an
//! object or (as some services write) a string already. The index template maps them as
//! keyword + text; the four common ones, when objects, are also copied whole under
//! `aws.cloudtrail.flattened.*` for a `flat_object` mapping.
//!
//! Records exported by `aws cloudtrail lookup-events` (each one a JSON string in
//! `CloudTrailEvent`) are read too.
//!
//! Digest files (`…/CloudTrail-Digest/…` keys, or a top-level object with `digestStartTime`)
//! are not logs: the plugin skips them, counting one skipped record, so routing them here
//! loses nothing and indexes nothing.

mod envelope;

use envelope::{Found, Scanner};
use kelk_parser_sdk::ecs;
use kelk_parser_sdk::json::write_str;
use kelk_parser_sdk::time::parse_iso8601;
use kelk_parser_sdk::{Batch, Event, Fatal, Info, Object, Parsed, Parser, Record, SourceContext};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The largest record held whole, unless the `max_record_bytes` option says otherwise.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 << 20;

pub struct CloudTrail {
    scanner: Scanner,
    records: u64,
    digest: bool,
}

kelk_parser_sdk::export_parser!(CloudTrail);

impl Parser for CloudTrail {
    const INFO: Info = Info {
        name: "cloudtrail",
        version: env!("CARGO_PKG_VERSION"),
        dataset: "aws.cloudtrail",
        index_prefix: "logs-aws.cloudtrail-default",
    };

    fn open(ctx: &SourceContext) -> Result<Self, Fatal> {
        let max = ctx.bytes_option("max_record_bytes", DEFAULT_MAX_RECORD_BYTES)?;
        Ok(CloudTrail { scanner: Scanner::new(max), records: 0, digest: ctx.key.contains("CloudTrail-Digest/") })
    }

    fn push(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), Fatal> {
        if self.digest {
            return Ok(());
        }
        let records = &mut self.records;
        self.scanner
            .push(chunk, &mut |found| {
                *records += 1;
                match found {
                    Found::Record(json, offset) => {
                        out.record(Record { number: *records, offset }, json, |doc| parse_record(json, doc));
                    }
                    Found::Oversized { len, offset, excerpt } => {
                        out.reject(
                            Record { number: *records, offset },
                            excerpt,
                            format!("the record is {len} bytes, over the limit of option max_record_bytes"),
                        );
                    }
                }
            })
            .map_err(|e| Fatal::Corrupt(e.0))
    }

    fn finish(&mut self, out: &mut Batch) -> Result<(), Fatal> {
        if self.digest {
            out.skip();
            return Ok(());
        }
        self.scanner.finish().map_err(|e| Fatal::Corrupt(e.0))
    }
}

/// The fields of a record that become ECS fields; the rest is ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloudTrailRecord<'a> {
    #[serde(borrow)]
    event_time: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_name: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "eventID")]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_category: Option<Cow<'a, str>>,
    #[serde(borrow)]
    aws_region: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "sourceIPAddress")]
    source_ip_address: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_identity: Option<UserIdentity<'a>>,
    #[serde(borrow)]
    error_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error_message: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "requestID")]
    request_id: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "sharedEventID")]
    shared_event_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    recipient_account_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    api_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    vpc_endpoint_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    read_only: Option<&'a RawValue>,
    #[serde(borrow)]
    management_event: Option<&'a RawValue>,
    #[serde(borrow)]
    session_credential_from_console: Option<&'a RawValue>,
    #[serde(borrow)]
    resources: Option<Vec<Resource<'a>>>,
    #[serde(borrow)]
    tls_details: Option<TlsDetails<'a>>,
    #[serde(borrow)]
    request_parameters: Option<&'a RawValue>,
    #[serde(borrow)]
    response_elements: Option<&'a RawValue>,
    #[serde(borrow)]
    additional_event_data: Option<&'a RawValue>,
    #[serde(borrow)]
    service_event_details: Option<&'a RawValue>,
    #[serde(borrow)]
    insight_details: Option<&'a RawValue>,
    #[serde(borrow)]
    edge_device_details: Option<&'a RawValue>,
    #[serde(borrow)]
    addendum: Option<&'a RawValue>,
    #[serde(borrow)]
    digest_start_time: Option<&'a RawValue>,
    /// `aws cloudtrail lookup-events` output wraps each record as a string in this field.
    #[serde(borrow, rename = "CloudTrailEvent")]
    embedded: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserIdentity<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    principal_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    account_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    access_key_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    invoked_by: Option<Cow<'a, str>>,
    #[serde(borrow)]
    identity_provider: Option<Cow<'a, str>>,
    #[serde(borrow)]
    credential_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    on_behalf_of: Option<OnBehalfOf<'a>>,
    #[serde(borrow)]
    session_context: Option<SessionContext<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OnBehalfOf<'a> {
    #[serde(borrow)]
    user_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    identity_store_arn: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext<'a> {
    #[serde(borrow)]
    attributes: Option<SessionAttributes<'a>>,
    #[serde(borrow)]
    session_issuer: Option<SessionIssuer<'a>>,
    #[serde(borrow)]
    source_identity: Option<Cow<'a, str>>,
    #[serde(borrow)]
    ec2_role_delivery: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionAttributes<'a> {
    #[serde(borrow)]
    mfa_authenticated: Option<&'a RawValue>,
    #[serde(borrow)]
    creation_date: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer<'a> {
    #[serde(borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    principal_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    account_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Resource<'a> {
    #[serde(borrow, rename = "ARN")]
    arn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    account_id: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TlsDetails<'a> {
    #[serde(borrow)]
    tls_version: Option<Cow<'a, str>>,
    #[serde(borrow)]
    cipher_suite: Option<Cow<'a, str>>,
    #[serde(borrow)]
    client_provided_host_header: Option<Cow<'a, str>>,
}

/// One record as a document.
fn parse_record(json: &[u8], doc: &mut Object) -> Parsed {
    let r: CloudTrailRecord = match serde_json::from_slice(json) {
        Ok(r) => r,
        Err(e) => return Parsed::Reject(format!("the record is not valid CloudTrail JSON: {e}")),
    };
    if r.digest_start_time.is_some() {
        return Parsed::Skip;
    }
    let Some(event_time) = r.event_time.as_deref() else {
        return match &r.embedded {
            Some(inner) => parse_record(inner.as_bytes(), doc),
            None => Parsed::Reject("the record has no eventTime".into()),
        };
    };
    let Some(time) = parse_iso8601(event_time.as_bytes()) else {
        return Parsed::Reject(format!("eventTime `{event_time}` is not an ISO 8601 time"));
    };
    let identity = r.user_identity.as_ref();
    let session = identity.and_then(|i| i.session_context.as_ref());
    let issuer = session.and_then(|c| c.session_issuer.as_ref());

    doc.timestamp_text("@timestamp", event_time.as_bytes(), time);
    doc.fields(ecs::ECS_FIELD);
    {
        let mut event = doc.object("event");
        event.str("kind", b"event").str("dataset", b"aws.cloudtrail").str("module", b"aws");
        event
            .opt_str("action", text(&r.event_name))
            .opt_str("provider", text(&r.event_source))
            .opt_str("id", text(&r.event_id));
        event.str("outcome", if r.error_code.is_some() { b"failure" } else { b"success" });
    }
    {
        let mut cloud = doc.object("cloud");
        cloud.str("provider", b"aws").opt_str("region", text(&r.aws_region));
        let account = r.recipient_account_id.as_ref().or(identity.and_then(|i| i.account_id.as_ref()));
        cloud.object("account").opt_str("id", account.map(|a| a.as_bytes()));
    }
    if let Some(address) = text(&r.source_ip_address) {
        ecs::host_fields(&mut doc.object("source"), address);
    }
    doc.object("user_agent").opt_str("original", text(&r.user_agent));
    {
        let mut user = doc.object("user");
        let name = identity.and_then(|i| i.user_name.as_ref()).or(issuer.and_then(|i| i.user_name.as_ref()));
        user.opt_str("name", name.map(|n| n.as_bytes()));
        let id = identity
            .and_then(|i| i.principal_id.as_ref())
            .or(identity.and_then(|i| i.on_behalf_of.as_ref()).and_then(|o| o.user_id.as_ref()));
        user.opt_str("id", id.map(|n| n.as_bytes()));
    }
    if let Some(tls) = &r.tls_details {
        let mut t = doc.object("tls");
        t.opt_str("cipher", text(&tls.cipher_suite));
        if let Some((protocol, version)) = tls.tls_version.as_deref().and_then(|v| ecs::tls_protocol(v.as_bytes())) {
            t.str("version_protocol", protocol).str("version", version);
        }
        t.object("client").opt_str("server_name", text(&tls.client_provided_host_header));
    }

    let mut aws = doc.object("aws");
    let mut ct = aws.object("cloudtrail");
    ct.opt_str("event_version", text(&r.event_version));
    ct.opt_str("event_type", text(&r.event_type)).opt_str("event_category", text(&r.event_category));
    ct.opt_str("api_version", text(&r.api_version));
    ct.opt_str("request_id", text(&r.request_id)).opt_str("shared_event_id", text(&r.shared_event_id));
    ct.opt_str("recipient_account_id", text(&r.recipient_account_id))
        .opt_str("vpc_endpoint_id", text(&r.vpc_endpoint_id));
    ct.opt_str("error_code", text(&r.error_code)).opt_str("error_message", text(&r.error_message));
    for (key, value) in [
        ("read_only", r.read_only),
        ("management_event", r.management_event),
        ("session_credential_from_console", r.session_credential_from_console),
    ] {
        if let Some(b) = value.and_then(boolean) {
            ct.bool(key, b);
        }
    }
    if let Some(identity) = identity {
        let mut ui = ct.object("user_identity");
        ui.opt_str("type", text(&identity.kind))
            .opt_str("principal_id", text(&identity.principal_id))
            .opt_str("arn", text(&identity.arn));
        ui.opt_str("account_id", text(&identity.account_id)).opt_str("access_key_id", text(&identity.access_key_id));
        ui.opt_str("user_name", text(&identity.user_name)).opt_str("invoked_by", text(&identity.invoked_by));
        ui.opt_str("identity_provider", text(&identity.identity_provider))
            .opt_str("credential_id", text(&identity.credential_id));
        if let Some(o) = &identity.on_behalf_of {
            ui.object("on_behalf_of")
                .opt_str("user_id", text(&o.user_id))
                .opt_str("identity_store_arn", text(&o.identity_store_arn));
        }
        if let Some(c) = session {
            let mut sc = ui.object("session_context");
            if let Some(a) = &c.attributes {
                if let Some(mfa) = a.mfa_authenticated.and_then(boolean) {
                    sc.bool("mfa_authenticated", mfa);
                }
                sc.opt_str("creation_date", text(&a.creation_date));
            }
            sc.opt_str("source_identity", text(&c.source_identity))
                .opt_str("ec2_role_delivery", text(&c.ec2_role_delivery));
            if let Some(i) = issuer {
                let mut si = sc.object("session_issuer");
                si.opt_str("type", text(&i.kind))
                    .opt_str("principal_id", text(&i.principal_id))
                    .opt_str("arn", text(&i.arn));
                si.opt_str("account_id", text(&i.account_id)).opt_str("user_name", text(&i.user_name));
            }
        }
    }
    if let Some(resources) = r.resources.as_ref().filter(|r| !r.is_empty()) {
        let mut list = Vec::new();
        for res in resources {
            let mut buf = Vec::new();
            Object::new(&mut buf)
                .opt_str("arn", text(&res.arn))
                .opt_str("account_id", text(&res.account_id))
                .opt_str("type", text(&res.kind));
            list.push(buf);
        }
        let mut array = b"[".to_vec();
        array.extend(list.join(&b","[..]));
        array.push(b']');
        ct.raw("resources", &array);
    }
    let blobs = [
        ("request_parameters", r.request_parameters),
        ("response_elements", r.response_elements),
        ("additional_eventdata", r.additional_event_data),
        ("service_event_details", r.service_event_details),
        ("insight_details", r.insight_details),
        ("edge_device_details", r.edge_device_details),
        ("addendum", r.addendum),
    ];
    for (key, blob) in blobs {
        if let Some(text) = blob.and_then(as_string) {
            ct.raw(key, &text);
        }
    }
    // The four common blobs, when objects, also go whole under `flattened` (a `flat_object`
    // field, searchable by dotted path), if short enough to be indexed as one.
    let objects: Vec<(&str, Cow<'_, [u8]>)> = blobs[..4]
        .iter()
        .filter_map(|&(key, blob)| {
            let text = blob?.get().as_bytes();
            let json = compact(text);
            (text.starts_with(b"{") && json.len() < FLAT_OBJECT_MAX_BYTES).then_some((key, json))
        })
        .collect();
    if !objects.is_empty() {
        let mut flattened = ct.object("flattened");
        for (key, json) in &objects {
            flattened.raw(key, json);
        }
    }
    Parsed::Event(Event { time, natural_id: r.event_id.map(Cow::into_owned) })
}

/// Lucene's limit on one term, which a `flat_object` value must stay under.
const FLAT_OBJECT_MAX_BYTES: usize = 32_766;

/// A string field's bytes.
fn text<'v>(value: &'v Option<Cow<'_, str>>) -> Option<&'v [u8]> {
    value.as_deref().map(str::as_bytes)
}

/// `true`/`false`, also when written as a string.
fn boolean(raw: &RawValue) -> Option<bool> {
    match raw.get() {
        "true" | "\"true\"" => Some(true),
        "false" | "\"false\"" => Some(false),
        _ => None,
    }
}

/// A free-form block as a JSON string literal: a string stays as it is; anything else is
/// made compact and quoted. `null` is no value.
fn as_string(raw: &RawValue) -> Option<Vec<u8>> {
    let text = raw.get().as_bytes();
    match text.first() {
        None => None,
        Some(b'n') if text == b"null" => None,
        Some(b'"') => Some(text.to_vec()),
        Some(_) => {
            let mut out = Vec::with_capacity(text.len() + 16);
            write_str(&mut out, &compact(text));
            Some(out)
        }
    }
}

/// JSON without the whitespace between tokens (pretty-printed files have plenty).
fn compact(json: &[u8]) -> Cow<'_, [u8]> {
    let mut in_string = false;
    let mut escaped = false;
    let is_insignificant = |b: u8, in_string: bool| !in_string && b.is_ascii_whitespace();
    if !json.iter().any(|&b| b.is_ascii_whitespace()) {
        return Cow::Borrowed(json);
    }
    let mut out = Vec::with_capacity(json.len());
    for &b in json {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if is_insignificant(b, in_string) {
            continue;
        }
        out.push(b);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_become_compact_strings() {
        fn raw(s: &str) -> &RawValue {
            serde_json::from_str(s).unwrap()
        }
        assert_eq!(as_string(raw("null")), None);
        assert_eq!(as_string(raw(r#""already a string""#)).unwrap(), br#""already a string""#);
        let pretty = "{\n  \"a\" : [1, 2],\n  \"b\": \"x y\\\" z\"\n}";
        let s = String::from_utf8(as_string(raw(pretty)).unwrap()).unwrap();
        let inner: String = serde_json::from_str(&s).unwrap();
        assert_eq!(inner, r#"{"a":[1,2],"b":"x y\" z"}"#);
    }
}
