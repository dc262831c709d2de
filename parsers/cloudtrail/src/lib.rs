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
//! `event.outcome` is failure when the record has an `errorCode` or `errorMessage`, or when a
//! sign-in event says `"Failure"` under its own name (`responseElements.ConsoleLogin`,
//! `serviceEventDetails.UserAuthentication`…); Insights events have none. `event.category` and
//! `event.type` come from `CATEGORIES`, a table by event source and name of sign-ins, IAM
//! changes and changes to the account's trails, recorders, detectors and buckets.
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
use kelk_parser_sdk::{Batch, Event, Fatal, Object, Open, Outcome, Parsed, Parser, Record, SourceContext, reject};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;

/// The largest record held whole, unless the `max_record_bytes` option says otherwise.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 << 20;

pub struct CloudTrail {
    scanner: Scanner,
    records: u64,
    digest: bool,
}

kelk_parser_sdk::plugin! {
    parser: CloudTrail,
    name: "cloudtrail",
    dataset: "aws.cloudtrail",
    module: "aws",
    dashboard: {
        title: "CloudTrail events",
        top_fields: ["event.action", "event.provider", "user.name", "source.ip"],
    },
}

const EVENT: &str = kelk_parser_sdk::event!(CloudTrail, r#""kind":"event""#);

impl Open for CloudTrail {
    fn open(ctx: &SourceContext) -> Result<Self, Fatal> {
        let max = ctx.bytes_option("max_record_bytes", DEFAULT_MAX_RECORD_BYTES)?;
        Ok(CloudTrail { scanner: Scanner::new(max), records: 0, digest: ctx.key.contains("CloudTrail-Digest/") })
    }
}

impl Parser for CloudTrail {
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
    vpc_endpoint_account_id: Option<Cow<'a, str>>,
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
fn parse_record(json: &[u8], doc: &mut Object) -> Outcome {
    let r: CloudTrailRecord =
        serde_json::from_slice(json).map_err(|e| reject!("the record is not valid CloudTrail JSON: {e}"))?;
    if r.digest_start_time.is_some() {
        return Ok(Parsed::Skip);
    }
    let Some(event_time) = r.event_time.as_deref() else {
        let inner = r.embedded.as_deref().ok_or("the record has no eventTime")?;
        return parse_record(inner.as_bytes(), doc);
    };
    let time = parse_iso8601(event_time.as_bytes())
        .ok_or_else(|| reject!("eventTime `{event_time}` is not an ISO 8601 time"))?;
    let identity = r.user_identity.as_ref();
    let session = identity.and_then(|i| i.session_context.as_ref());
    let issuer = session.and_then(|c| c.session_issuer.as_ref());

    doc.timestamp_text("@timestamp", event_time.as_bytes(), time);
    doc.fields(ecs::ECS_FIELD);
    {
        let mut event = doc.object("event");
        event
            .fields(EVENT)
            .opt_str("action", text(&r.event_name))
            .opt_str("provider", text(&r.event_source))
            .opt_str("id", text(&r.event_id));
        if let Some((categories, types)) = categories(&r) {
            event.str_array("category", categories.iter().map(|c| c.as_bytes()));
            event.str_array("type", types.iter().map(|t| t.as_bytes()));
        }
        event.opt_str("outcome", outcome(&r));
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
        // An IAM Identity Center user (`Unknown` in its sign-in events, whose principal is the
        // account) is identified by the user id in `onBehalfOf`, and an `IdentityCenterUser` is
        // named only in `additionalEventData`.
        let kind = identity.and_then(|i| i.kind.as_deref());
        let name = identity.and_then(|i| i.user_name.as_deref()).or(issuer.and_then(|i| i.user_name.as_deref()));
        let identity_center_name = (kind == Some("IdentityCenterUser") && name.is_none())
            .then(|| r.additional_event_data.and_then(|blob| string_field(blob, "UserName")))
            .flatten();
        let name = name.or(identity_center_name.as_deref());
        let principal = identity.and_then(|i| i.principal_id.as_deref());
        let on_behalf_of = identity.and_then(|i| i.on_behalf_of.as_ref()).and_then(|o| o.user_id.as_deref());
        let id = match kind {
            Some("IdentityCenterUser" | "Unknown") => on_behalf_of.or(principal),
            _ => principal.or(on_behalf_of),
        };
        user.opt_str("name", name.map(str::as_bytes)).opt_str("id", id.map(str::as_bytes));
    }
    if let Some(tls) = &r.tls_details {
        let mut t = doc.object("tls");
        t.opt_str("cipher", text(&tls.cipher_suite));
        if let Some((protocol, version)) = tls.tls_version.as_deref().and_then(tls_version) {
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
    ct.opt_str("recipient_account_id", text(&r.recipient_account_id));
    ct.opt_str("vpc_endpoint_id", text(&r.vpc_endpoint_id))
        .opt_str("vpc_endpoint_account_id", text(&r.vpc_endpoint_account_id));
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
                // Mapped as a date: anything else would make OpenSearch refuse the document.
                if let Some(date) = a.creation_date.as_deref() {
                    let t = parse_iso8601(date.as_bytes()).ok_or_else(|| {
                        reject!("userIdentity.sessionContext.attributes.creationDate `{date}` is not an ISO 8601 time")
                    })?;
                    sc.timestamp_text("creation_date", date.as_bytes(), t);
                }
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
    // field, searchable by dotted path), if short enough to be indexed as one, without a key
    // twice (OpenSearch would refuse the document) and not too deep (OpenSearch 2.19 parses a
    // flat_object value recursively: some 1,000 levels overflow its stack and end the node).
    // The blob's string above has it all.
    let objects: Vec<(&str, Cow<'_, [u8]>)> = blobs[..4]
        .iter()
        .filter_map(|&(key, blob)| {
            let text = blob?.get().as_bytes();
            let json = compact(text);
            (text.starts_with(b"{") && json.len() < FLAT_OBJECT_MAX_BYTES && !unflattenable(&json))
                .then_some((key, json))
        })
        .collect();
    if !objects.is_empty() {
        let mut flattened = ct.object("flattened");
        for (key, json) in &objects {
            flattened.raw(key, json);
        }
    }
    Ok(Event { time, natural_id: r.event_id.map(Cow::into_owned) }.into())
}

/// ECS `event.outcome`. An error code or message means failure. Sign-in events, which have
/// no error code, record it under their own name, `"Success"` or `"Failure"`, in
/// `responseElements` (`ConsoleLogin`, `CheckMfa`, `SwitchRole`…), `serviceEventDetails` (IAM
/// Identity Center's `UserAuthentication`, `CredentialChallenge`, `CredentialVerification`) or
/// `additionalEventData`. An Insights event reports on other calls and has no outcome.
fn outcome(r: &CloudTrailRecord) -> Option<&'static [u8]> {
    if r.event_type.as_deref() == Some("AwsCloudTrailInsight") {
        return None;
    }
    if r.error_code.is_some() || r.error_message.is_some() {
        return Some(b"failure");
    }
    let recorded = r.event_name.as_deref().and_then(|name| {
        [r.response_elements, r.service_event_details, r.additional_event_data]
            .into_iter()
            .flatten()
            .find_map(|blob| string_field(blob, name))
    });
    Some(match recorded {
        Some(said) if said.eq_ignore_ascii_case("failure") => b"failure",
        _ => b"success",
    })
}

/// The string at `key` in a JSON object, if the object has one there.
fn string_field(blob: &RawValue, key: &str) -> Option<String> {
    // Most blobs do not mention the key: no need to parse them.
    memchr::memmem::find(blob.get().as_bytes(), key.as_bytes())?;
    let fields: HashMap<Cow<'_, str>, &RawValue> = serde_json::from_str(blob.get()).ok()?;
    serde_json::from_str(fields.get(key)?.get()).ok()
}

/// `TLSv1.3`, or `1.3` as some services write `tlsVersion`.
fn tls_version(v: &str) -> Option<(&'static [u8], &'static [u8])> {
    match ecs::tls_protocol(v.as_bytes()) {
        None if v.starts_with(|c: char| c.is_ascii_digit()) => ecs::tls_protocol(format!("TLSv{v}").as_bytes()),
        named => named,
    }
}

/// How an event's ECS `event.type` is found.
enum Types {
    Are(&'static [&'static str]),
    /// From the API name's verb: see [`by_verb`].
    ByVerb,
}
use Types::{Are, ByVerb};

const AUTHENTICATION: &[&str] = &["authentication"];
const IAM: &[&str] = &["iam"];
const CONFIGURATION: &[&str] = &["configuration"];

/// ECS `event.category` and `event.type` of the events SIEM rules look for, by event source and
/// event name: the first row that matches wins, a name ending in `*` matching every name it
/// begins. Other events (data events, most services' API calls) get neither field.
#[rustfmt::skip]
const CATEGORIES: &[(&str, &str, &[&str], Types)] = &[
    // Signing in (the console, IAM Identity Center), and the credentials STS hands out.
    ("signin.amazonaws.com", "ConsoleLogin", AUTHENTICATION, Are(&["start"])),
    ("signin.amazonaws.com", "ExternalIdPDirectoryLogin", AUTHENTICATION, Are(&["start"])),
    ("signin.amazonaws.com", "UserAuthentication", AUTHENTICATION, Are(&["start"])),
    ("signin.amazonaws.com", "SwitchRole", AUTHENTICATION, Are(&["start"])),
    ("signin.amazonaws.com", "ExitRole", AUTHENTICATION, Are(&["end"])),
    ("signin.amazonaws.com", "PasswordUpdated", IAM, Are(&["user", "change"])),
    // CheckMfa, CredentialChallenge, CredentialVerification…: steps of a sign-in.
    ("signin.amazonaws.com", "*", AUTHENTICATION, Are(&["info"])),
    ("sts.amazonaws.com", "AssumeRole*", AUTHENTICATION, Are(&["start"])),
    ("sts.amazonaws.com", "AssumeRoot", AUTHENTICATION, Are(&["start"])),
    ("sts.amazonaws.com", "GetSessionToken", AUTHENTICATION, Are(&["start"])),
    ("sts.amazonaws.com", "GetFederationToken", AUTHENTICATION, Are(&["start"])),
    ("sts.amazonaws.com", "*", AUTHENTICATION, Are(&["info"])),
    ("sso.amazonaws.com", "Authenticate", AUTHENTICATION, Are(&["start"])),
    ("sso.amazonaws.com", "Federate", AUTHENTICATION, Are(&["start"])),
    ("sso-oauth.amazonaws.com", "CreateToken", AUTHENTICATION, Are(&["start"])),
    ("portal.sso.amazonaws.com", "GetRoleCredentials", AUTHENTICATION, Are(&["start"])),
    ("portal.sso.amazonaws.com", "Logout", AUTHENTICATION, Are(&["end"])),
    // Users, groups, roles, policies; Identity Center's users, permission sets, assignments.
    ("iam.amazonaws.com", "CreateUser", IAM, Are(&["user", "creation"])),
    ("iam.amazonaws.com", "UpdateUser", IAM, Are(&["user", "change"])),
    ("iam.amazonaws.com", "DeleteUser", IAM, Are(&["user", "deletion"])),
    ("iam.amazonaws.com", "CreateGroup", IAM, Are(&["group", "creation"])),
    ("iam.amazonaws.com", "UpdateGroup", IAM, Are(&["group", "change"])),
    ("iam.amazonaws.com", "DeleteGroup", IAM, Are(&["group", "deletion"])),
    ("iam.amazonaws.com", "AddUserToGroup", IAM, Are(&["group", "change"])),
    ("iam.amazonaws.com", "RemoveUserFromGroup", IAM, Are(&["group", "change"])),
    ("iam.amazonaws.com", "*", IAM, ByVerb),
    ("identitystore.amazonaws.com", "CreateUser", IAM, Are(&["user", "creation"])),
    ("identitystore.amazonaws.com", "UpdateUser", IAM, Are(&["user", "change"])),
    ("identitystore.amazonaws.com", "DeleteUser", IAM, Are(&["user", "deletion"])),
    ("identitystore.amazonaws.com", "CreateGroup", IAM, Are(&["group", "creation"])),
    ("identitystore.amazonaws.com", "UpdateGroup", IAM, Are(&["group", "change"])),
    ("identitystore.amazonaws.com", "DeleteGroup", IAM, Are(&["group", "deletion"])),
    ("identitystore.amazonaws.com", "CreateGroupMembership", IAM, Are(&["group", "change"])),
    ("identitystore.amazonaws.com", "DeleteGroupMembership", IAM, Are(&["group", "change"])),
    ("identitystore.amazonaws.com", "*", IAM, ByVerb),
    ("sso.amazonaws.com", "*", IAM, ByVerb),
    // The settings of what watches the account (its trails, recorders, detectors), and of
    // the buckets that hold its data.
    ("cloudtrail.amazonaws.com", "*", CONFIGURATION, ByVerb),
    ("config.amazonaws.com", "*", CONFIGURATION, ByVerb),
    ("guardduty.amazonaws.com", "*", CONFIGURATION, ByVerb),
    ("s3.amazonaws.com", "CreateBucket", CONFIGURATION, ByVerb),
    ("s3.amazonaws.com", "PutBucket*", CONFIGURATION, ByVerb),
    ("s3.amazonaws.com", "DeleteBucket*", CONFIGURATION, ByVerb),
];

/// The record's ECS categories and types, from [`CATEGORIES`].
fn categories(r: &CloudTrailRecord) -> Option<(&'static [&'static str], &'static [&'static str])> {
    let (source, name) = (r.event_source.as_deref()?, r.event_name.as_deref()?);
    let (_, _, categories, types) = CATEGORIES.iter().find(|(s, pattern, _, _)| {
        *s == source
            && match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == *pattern,
            }
    })?;
    let types = match types {
        Are(types) => types,
        ByVerb => by_verb(name),
    };
    Some((categories, types))
}

/// `event.type` from an API name's verb: `Create…` creation, `Delete…` deletion, the reads
/// (`Get…`, `List…`, `Describe…`…) info, and any other (`Put…`, `Attach…`, `Stop…`) change.
fn by_verb(name: &str) -> &'static [&'static str] {
    const READS: [&str; 7] = ["Get", "List", "Describe", "Lookup", "Head", "Generate", "Simulate"];
    if name.starts_with("Create") {
        &["creation"]
    } else if name.starts_with("Delete") {
        &["deletion"]
    } else if READS.iter().any(|read| name.starts_with(read)) {
        &["info"]
    } else {
        &["change"]
    }
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

/// How deep a blob under `flattened` may nest: as deep as OpenSearch lets an object mapping be
/// (`index.mapping.depth.limit`).
const FLAT_OBJECT_MAX_DEPTH: usize = 20;

/// Whether `json` (valid JSON) nests deeper than [`FLAT_OBJECT_MAX_DEPTH`], or has an object
/// with a key twice, at any depth.
fn unflattenable(json: &[u8]) -> bool {
    // The keys of each open object; `None` for an array.
    let mut open: Vec<Option<Vec<Cow<'_, [u8]>>>> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'{' | b'[' if open.len() == FLAT_OBJECT_MAX_DEPTH => return true,
            b'{' => {
                open.push(Some(Vec::new()));
                expect_key = true;
            }
            b'[' => {
                open.push(None);
                expect_key = false;
            }
            b'}' | b']' => {
                open.pop();
                expect_key = false;
            }
            b',' => expect_key = matches!(open.last(), Some(Some(_))),
            b'"' => {
                let start = i;
                i += 1;
                while json[i] != b'"' {
                    i += if json[i] == b'\\' { 2 } else { 1 };
                }
                if expect_key && let Some(Some(keys)) = open.last_mut() {
                    let raw = &json[start + 1..i];
                    // Compared decoded when escaped (rare in keys): `\u0061` is `a`.
                    let key = if raw.contains(&b'\\') {
                        serde_json::from_slice::<String>(&json[start..=i])
                            .map_or(Cow::Borrowed(raw), |k| Cow::Owned(k.into_bytes()))
                    } else {
                        Cow::Borrowed(raw)
                    };
                    if keys.contains(&key) {
                        return true;
                    }
                    keys.push(key);
                }
                expect_key = false;
            }
            _ => {}
        }
        i += 1;
    }
    false
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
    use serde_json::{Value, json};

    /// The document of one record given as JSON.
    fn parse(record: Value) -> Value {
        let input = json!({ "Records": [record] }).to_string();
        let batch = kelk_parser_sdk::parse::<CloudTrail>(&SourceContext::default(), input.as_bytes()).unwrap();
        assert_eq!(batch.rejections, []);
        serde_json::from_slice(batch.iter().next().unwrap().1).unwrap()
    }

    fn event(source: &str, name: &str, more: Value) -> Value {
        let mut record = json!({ "eventTime": "2025-03-03T08:00:00Z", "eventSource": source, "eventName": name });
        record.as_object_mut().unwrap().extend(more.as_object().unwrap().clone());
        parse(record)
    }

    #[test]
    fn outcomes_from_every_place_aws_records_them() {
        let outcome = |source, name, more| event(source, name, more)["event"]["outcome"].clone();
        assert_eq!(outcome("ec2.amazonaws.com", "RunInstances", json!({})), "success");
        assert_eq!(
            outcome("ec2.amazonaws.com", "RunInstances", json!({"errorCode": "Client.UnauthorizedOperation"})),
            "failure"
        );
        let console = json!({"errorMessage": "Failed authentication", "responseElements": {"ConsoleLogin": "Failure"}});
        assert_eq!(outcome("signin.amazonaws.com", "ConsoleLogin", console), "failure");
        assert_eq!(
            outcome("signin.amazonaws.com", "CheckMfa", json!({"responseElements": {"CheckMfa": "Failure"}})),
            "failure"
        );
        let steps = json!({"serviceEventDetails": {"CredentialVerification": "Failure"}, "additionalEventData": {"CredentialType": "TOTP"}});
        assert_eq!(outcome("signin.amazonaws.com", "CredentialVerification", steps), "failure");
        let passed = json!({"serviceEventDetails": {"UserAuthentication": "Success"}});
        assert_eq!(outcome("signin.amazonaws.com", "UserAuthentication", passed), "success");
        // Only the event's own name counts, and only at the top level of the block.
        let other = json!({"responseElements": {"Other": "Failure", "nested": {"ConsoleLogin": "Failure"}}});
        assert_eq!(outcome("signin.amazonaws.com", "ConsoleLogin", other), "success");
        let insight = parse(
            json!({"eventTime": "2025-03-03T08:00:00Z", "eventType": "AwsCloudTrailInsight", "insightDetails": {"state": "Start"}}),
        );
        assert!(insight["event"].get("outcome").is_none(), "{insight}");
    }

    #[test]
    fn a_session_creation_date_is_a_date() {
        let session = |date: &str| {
            let attributes = json!({"sessionContext": {"attributes": {"creationDate": date}}});
            let input = json!({"Records": [{"eventTime": "2025-03-03T08:00:00Z", "userIdentity": attributes}]});
            let batch = kelk_parser_sdk::parse::<CloudTrail>(&SourceContext::default(), input.to_string().as_bytes());
            let batch = batch.unwrap();
            match batch.iter().next() {
                Some((_, doc)) => Ok(serde_json::from_slice::<Value>(doc).unwrap()
                    ["aws"]["cloudtrail"]["user_identity"]["session_context"]["creation_date"]
                    .clone()),
                None => Err(batch.rejections[0].reason.clone()),
            }
        };
        assert_eq!(
            session("2023-072-19T21:11:57Z"),
            Err("userIdentity.sessionContext.attributes.creationDate `2023-072-19T21:11:57Z` is not an ISO 8601 time"
                .into())
        );
        assert_eq!(session("2023-07-19T21:11:57Z"), Ok(json!("2023-07-19T21:11:57Z")));
        assert_eq!(session("2023-07-19T23:11:57+02:00"), Ok(json!("2023-07-19T21:11:57Z")));
    }

    #[test]
    fn identity_center_users() {
        let on_behalf_of = json!({"userId": "94482488-3041-7026-18f3-be45837cd0e4", "identityStoreArn": "arn:aws:identitystore::111122223333:identitystore/d-1234567890"});
        let user = event(
            "portal.sso.amazonaws.com",
            "GetRoleCredentials",
            json!({"userIdentity": {"type": "IdentityCenterUser", "accountId": "111122223333", "onBehalfOf": on_behalf_of},
                   "additionalEventData": {"UserName": "jdoe"}}),
        )["user"]
            .clone();
        assert_eq!(user, json!({"name": "jdoe", "id": "94482488-3041-7026-18f3-be45837cd0e4"}));
        let sign_in = event(
            "signin.amazonaws.com",
            "UserAuthentication",
            json!({"userIdentity": {"type": "Unknown", "principalId": "111122223333", "userName": "jdoe", "onBehalfOf": on_behalf_of}}),
        )["user"]
            .clone();
        assert_eq!(sign_in, json!({"name": "jdoe", "id": "94482488-3041-7026-18f3-be45837cd0e4"}));
        let root = event(
            "signin.amazonaws.com",
            "ConsoleLogin",
            json!({"userIdentity": {"type": "Root", "principalId": "111122223333"}}),
        );
        assert_eq!(root["user"], json!({"id": "111122223333"}));
    }

    #[test]
    fn tls_versions_with_and_without_their_protocol() {
        assert_eq!(tls_version("TLSv1.3"), Some((&b"tls"[..], &b"1.3"[..])));
        assert_eq!(tls_version("1.3"), Some((&b"tls"[..], &b"1.3"[..])));
        assert_eq!(tls_version("1.2"), Some((&b"tls"[..], &b"1.2"[..])));
        assert_eq!(tls_version("v9"), None);
    }

    #[test]
    fn categories_by_source_and_name() {
        let of = |source, name| {
            let d = event(source, name, json!({}));
            (d["event"]["category"].clone(), d["event"]["type"].clone())
        };
        assert_eq!(of("signin.amazonaws.com", "ConsoleLogin"), (json!(["authentication"]), json!(["start"])));
        assert_eq!(of("signin.amazonaws.com", "CheckMfa"), (json!(["authentication"]), json!(["info"])));
        assert_eq!(of("sts.amazonaws.com", "AssumeRoleWithSAML"), (json!(["authentication"]), json!(["start"])));
        assert_eq!(of("iam.amazonaws.com", "CreateUser"), (json!(["iam"]), json!(["user", "creation"])));
        assert_eq!(
            of("iam.amazonaws.com", "DeleteUserPolicy"),
            (json!(["iam"]), json!(["deletion"])),
            "not DeleteUser"
        );
        assert_eq!(of("iam.amazonaws.com", "AttachRolePolicy"), (json!(["iam"]), json!(["change"])));
        assert_eq!(of("iam.amazonaws.com", "ListRoles"), (json!(["iam"]), json!(["info"])));
        assert_eq!(of("cloudtrail.amazonaws.com", "StopLogging"), (json!(["configuration"]), json!(["change"])));
        assert_eq!(of("s3.amazonaws.com", "PutBucketPolicy"), (json!(["configuration"]), json!(["change"])));
        assert_eq!(of("s3.amazonaws.com", "GetObject"), (Value::Null, Value::Null));
        assert_eq!(of("ec2.amazonaws.com", "DescribeInstances"), (Value::Null, Value::Null));
    }

    #[test]
    fn every_category_row_is_ecs() {
        // ECS 8.11's allowed event.type values per event.category, for the categories used.
        let allowed = |category: &str| -> &[&str] {
            match category {
                "authentication" => &["start", "end", "info"],
                "iam" => &["admin", "change", "creation", "deletion", "group", "info", "user"],
                "configuration" => &["access", "change", "creation", "deletion", "info"],
                other => panic!("{other} is not a category the table should use"),
            }
        };
        for (source, name, categories, types) in CATEGORIES {
            let types = match types {
                Are(types) => types.to_vec(),
                ByVerb => ["Create", "Delete", "Get", "Put"].iter().flat_map(|verb| by_verb(verb).to_vec()).collect(),
            };
            for t in types {
                assert!(categories.iter().any(|c| allowed(c).contains(&t)), "{source} {name}: {t}");
            }
        }
    }

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

    #[test]
    fn a_blob_with_a_key_twice_or_nested_too_deep_is_not_flattened() {
        let ct = |blob: Value| {
            event("s3.amazonaws.com", "GetObject", json!({"requestParameters": blob}))["aws"]["cloudtrail"].clone()
        };
        let once = ct(json!({"bucketName": "b", "key": {"k": 1}}));
        assert_eq!(once["flattened"]["request_parameters"], json!({"bucketName": "b", "key": {"k": 1}}));
        // serde_json's `json!` keeps one of two equal keys: the record is written by hand.
        let input =
            r#"{"Records":[{"eventTime":"2025-03-03T08:00:00Z","requestParameters":{"a":{"b":1,"\u0062":2}}}]}"#;
        let batch = kelk_parser_sdk::parse::<CloudTrail>(&SourceContext::default(), input.as_bytes()).unwrap();
        let doc: Value = serde_json::from_slice(batch.iter().next().unwrap().1).unwrap();
        let ct = &doc["aws"]["cloudtrail"];
        assert_eq!((ct.get("flattened"), &ct["request_parameters"]), (None, &json!(r#"{"a":{"b":1,"\u0062":2}}"#)));
        assert!(!unflattenable(br#"{"a":1,"b":{"a":2},"c":[{"a":3},"a"]}"#));
        assert!(unflattenable(br#"{"a":"\"a\":","b":[1,"a"],"a":2}"#));
        let nested = |depth: usize| format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
        assert!(!unflattenable(nested(FLAT_OBJECT_MAX_DEPTH).as_bytes()));
        assert!(unflattenable(nested(FLAT_OBJECT_MAX_DEPTH + 1).as_bytes()));
    }
}
