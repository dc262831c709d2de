//! The mappings a plugin's documents are indexed with: the shared ECS component template
//! (`templates/kelk-ecs.json`, the one mapping file the host owns) under the plugin's own
//! (`documents.describe()` of contract 1.1; none for a 1.0 plugin), and the checks that a
//! document fits them, so that no plugin ships an unmapped or mis-typed field by accident.
//!
//! A plugin's mappings may make a field an alias of another (`{"type": "alias", "path": …}`):
//! a name searches and aggregations find, under which documents hold nothing, as OpenSearch
//! refuses a document that writes to an alias. A value is written once, under its ECS name,
//! and the format's own name for it, if it has one, is the alias.

use kelk_sandbox::Plugin;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::net::IpAddr;

/// The shared ECS component template.
pub const ECS_TEMPLATE: &str = include_str!("templates/kelk-ecs.json");

/// Why a plugin's mappings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MappingsError {
    #[error("plugin {plugin}: its mappings are not a JSON object of properties: {message}")]
    Invalid { plugin: String, message: String },
    #[error("plugin {plugin}: its mappings make `{field}` a {own}, the shared ECS mappings {ecs}")]
    ContradictsEcs { plugin: String, field: String, own: String, ecs: String },
    #[error("plugin {plugin}: its mappings make `{field}` an alias of `{path}`, which is not a field they map")]
    Alias { plugin: String, field: String, path: String },
}

/// Field types whose values a dashboard can aggregate.
const AGGREGATABLE: &[&str] = &[
    "keyword",
    "long",
    "integer",
    "short",
    "byte",
    "double",
    "float",
    "half_float",
    "scaled_float",
    "ip",
    "date",
    "boolean",
];

/// How a field is mapped.
enum Mapped<'m> {
    /// A field of its own type, with its mapping.
    Leaf(&'m Value),
    /// Under a `flat_object` field.
    FlatObject,
    Object,
}

/// A plugin's mappings over the shared ECS ones.
pub struct Mappings {
    ecs: Map<String, Value>,
    own: Map<String, Value>,
    /// Each alias field of the plugin's, with the field it stands for.
    aliases: HashMap<String, String>,
}

impl Mappings {
    /// The mappings of `plugin`'s documents, checked: a JSON object of properties that does
    /// not give a shared ECS field another type.
    pub fn of(plugin: &Plugin) -> Result<Self, MappingsError> {
        Self::new(&plugin.info.name, plugin.description.as_ref().map(|d| d.mappings.as_str()))
    }

    /// `own` mappings (of `plugin`, for messages) over the shared ECS ones, checked.
    pub fn new(plugin: &str, own: Option<&str>) -> Result<Self, MappingsError> {
        let invalid = |message: String| MappingsError::Invalid { plugin: plugin.into(), message };
        let own = match own {
            None => Map::new(),
            Some(own) => match serde_json::from_str(own).map_err(|e| invalid(e.to_string()))? {
                Value::Object(own) => own,
                other => return Err(invalid(format!("found {other}"))),
            },
        };
        let mut mappings = Mappings { ecs: ecs_properties(), own, aliases: HashMap::new() };
        let mut fields = Vec::new();
        leaves("", &mappings.own, &mut fields);
        for (field, mapping) in &fields {
            if mapping["type"] == "alias" {
                let path =
                    mapping["path"].as_str().ok_or_else(|| invalid(format!("the alias `{field}` has no path")))?;
                mappings.aliases.insert(field.clone(), path.to_owned());
            }
        }
        for (field, mapping) in fields {
            // An alias is the type of its field: `event.id` may stand for another keyword.
            let own = match mappings.aliases.get(&field) {
                Some(path) => match mappings.concrete_type(path) {
                    Some(kind) if !matches!(kind, "object" | "alias" | "flat_object") => kind,
                    _ => return Err(MappingsError::Alias { plugin: plugin.into(), field, path: path.clone() }),
                },
                None => mapping["type"].as_str().unwrap_or_default(),
            };
            let ecs = lookup(&mappings.ecs, &field).and_then(|m| m.get("type")).and_then(Value::as_str);
            if let Some(ecs) = ecs.filter(|ecs| *ecs != own) {
                let own = own.to_owned();
                return Err(MappingsError::ContradictsEcs { plugin: plugin.into(), field, own, ecs: ecs.to_owned() });
            }
        }
        Ok(mappings)
    }

    /// The plugin's own properties, for its index template.
    pub fn own(&self) -> &Map<String, Value> {
        &self.own
    }

    /// The type a dotted field is mapped as (`flat_object` for anything under one); an alias's
    /// is its field's, as searches and aggregations see it.
    pub fn field_type(&self, field: &str) -> Option<&str> {
        self.concrete_type(self.aliases.get(field).map_or(field, String::as_str))
    }

    /// The type a dotted field is mapped as, `alias` for an alias.
    fn concrete_type(&self, field: &str) -> Option<&str> {
        match self.mapping(field)? {
            Mapped::Leaf(mapping) => mapping["type"].as_str(),
            Mapped::FlatObject => Some("flat_object"),
            Mapped::Object => Some("object"),
        }
    }

    /// How a dotted field is mapped, the plugin's own mappings first.
    fn mapping(&self, field: &str) -> Option<Mapped<'_>> {
        [&self.own, &self.ecs].into_iter().find_map(|props| {
            let mut props = props;
            let mut parts = field.split('.').peekable();
            while let Some(part) = parts.next() {
                let mapping = props.get(part)?;
                match mapping.get("type").and_then(Value::as_str) {
                    Some("flat_object") => return Some(Mapped::FlatObject),
                    Some(_) if parts.peek().is_none() => return Some(Mapped::Leaf(mapping)),
                    _ => props = mapping.get("properties")?.as_object()?,
                }
            }
            Some(Mapped::Object)
        })
    }

    /// Whether a dashboard can aggregate on `field`: a type with doc values, not turned off.
    pub fn aggregatable(&self, field: &str) -> bool {
        match self.mapping(self.aliases.get(field).map_or(field, String::as_str)) {
            Some(Mapped::Leaf(mapping)) => {
                mapping["type"].as_str().is_some_and(|kind| AGGREGATABLE.contains(&kind))
                    && mapping.get("doc_values") != Some(&Value::Bool(false))
            }
            _ => false,
        }
    }

    /// What in `document` its mappings do not cover, or cover with a type its value does not
    /// fit; empty when the document is indexed as the mappings say.
    pub fn check(&self, document: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        if let Value::Object(fields) = document {
            self.check_object("", fields, &mut problems);
        } else {
            problems.push("the document is not a JSON object".into());
        }
        problems
    }

    fn check_object(&self, prefix: &str, fields: &Map<String, Value>, problems: &mut Vec<String>) {
        for (key, value) in fields {
            let field = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            self.check_value(&field, value, problems);
        }
    }

    fn check_value(&self, field: &str, value: &Value, problems: &mut Vec<String>) {
        if let Some(path) = self.aliases.get(field) {
            problems
                .push(format!("`{field}` is an alias of `{path}`: OpenSearch refuses a document that writes to it"));
            return;
        }
        let kind = self.field_type(field);
        match (kind, value) {
            (Some("flat_object"), _) => {}
            (_, Value::Array(items)) => items.iter().for_each(|item| self.check_value(field, item, problems)),
            (None | Some("object" | "nested"), Value::Object(fields)) => self.check_object(field, fields, problems),
            (None, _) => problems.push(format!("`{field}` is not mapped (OpenSearch would guess its type)")),
            (Some(kind), value) if !fits(kind, value) => {
                problems.push(format!("`{field}` is mapped as {kind}, which {value} does not fit"))
            }
            _ => {}
        }
    }
}

/// Whether OpenSearch indexes `value` as a `kind` field without dropping it.
fn fits(kind: &str, value: &Value) -> bool {
    match kind {
        "keyword" | "text" | "match_only_text" | "wildcard" | "constant_keyword" => value.is_string(),
        "long" => value.is_i64() || value.is_u64(),
        "integer" => value.as_i64().is_some_and(|v| i32::try_from(v).is_ok()),
        "short" => value.as_i64().is_some_and(|v| i16::try_from(v).is_ok()),
        "byte" => value.as_i64().is_some_and(|v| i8::try_from(v).is_ok()),
        "double" | "float" | "half_float" | "scaled_float" => value.is_number(),
        "boolean" => value.is_boolean(),
        "ip" => value.as_str().is_some_and(|s| s.parse::<IpAddr>().is_ok()),
        "date" => value.is_i64() || value.as_str().is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
        // Anything else (geo_point, …) is the plugin's own business.
        _ => !value.is_object() && !value.is_null(),
    }
}

/// The properties of the shared ECS component template.
fn ecs_properties() -> Map<String, Value> {
    let template: Value = serde_json::from_str(ECS_TEMPLATE).expect("the shared ECS template is JSON");
    template["template"]["mappings"]["properties"].as_object().expect("the shared ECS template has properties").clone()
}

/// The mapping of a dotted field among `props`.
fn lookup<'p>(props: &'p Map<String, Value>, field: &str) -> Option<&'p Value> {
    let (head, rest) = field.split_once('.').map_or((field, None), |(h, r)| (h, Some(r)));
    let mapping = props.get(head)?;
    match rest {
        None => Some(mapping),
        Some(rest) => lookup(mapping.get("properties")?.as_object()?, rest),
    }
}

/// Every typed field under `props`, dotted, with its mapping.
fn leaves<'p>(prefix: &str, props: &'p Map<String, Value>, out: &mut Vec<(String, &'p Value)>) {
    for (key, mapping) in props {
        let field = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match (mapping.get("type").and_then(Value::as_str), mapping.get("properties").and_then(Value::as_object)) {
            (Some(_), _) => out.push((field, mapping)),
            (None, Some(props)) => leaves(&field, props, out),
            (None, None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_own(own: Value) -> Mappings {
        Mappings::new("p", Some(&own.to_string())).unwrap()
    }

    /// The problems in name order: a document's own order is serde_json's, which another
    /// crate in the build may switch to insertion order (`preserve_order`).
    fn sorted(mut problems: Vec<String>) -> Vec<String> {
        problems.sort();
        problems
    }

    #[test]
    fn a_document_is_checked_field_by_field() {
        let m = with_own(json!({
            "aws": { "properties": { "x": { "properties": {
                "n": { "type": "long" }, "headers": { "type": "flat_object" }
            } } } }
        }));
        assert_eq!(m.field_type("source.ip"), Some("ip"));
        assert_eq!(m.field_type("aws.x.n"), Some("long"));
        assert_eq!(m.field_type("aws.x.headers.anything.at.all"), Some("flat_object"));
        let fine = json!({ "@timestamp": "2025-03-02T10:00:00.123Z", "source": { "ip": "2001:db8::1", "port": 443 },
            "aws": { "x": { "n": [1, 2], "headers": { "X-Odd": ["a", "b"] } } }, "event": { "category": ["web"] } });
        assert!(m.check(&fine).is_empty(), "{:?}", m.check(&fine));
        let bad = json!({ "source": { "ip": "example.com" }, "aws": { "x": { "n": 1.5, "m": 1 } },
            "@timestamp": "yesterday", "event": { "dataset": null } });
        assert_eq!(
            sorted(m.check(&bad)),
            [
                "`@timestamp` is mapped as date, which \"yesterday\" does not fit",
                "`aws.x.m` is not mapped (OpenSearch would guess its type)",
                "`aws.x.n` is mapped as long, which 1.5 does not fit",
                "`event.dataset` is mapped as keyword, which null does not fit",
                "`source.ip` is mapped as ip, which \"example.com\" does not fit",
            ]
        );
        assert!(m.aggregatable("source.ip") && m.aggregatable("aws.x.n") && !m.aggregatable("url.original.text"));
        let without_doc_values = with_own(json!({ "id": { "type": "keyword", "doc_values": false } }));
        assert!(!without_doc_values.aggregatable("id") && without_doc_values.field_type("id") == Some("keyword"));
    }

    #[test]
    fn an_alias_is_its_fields_type_and_holds_no_value() {
        let m = with_own(json!({
            "aws": { "properties": { "x": { "properties": {
                "trace_id": { "type": "alias", "path": "trace.id" },
                "n": { "type": "long" }, "count": { "type": "alias", "path": "aws.x.n" }
            } } } },
            "event": { "properties": { "id": { "type": "alias", "path": "http.request.id" } } }
        }));
        assert_eq!(m.field_type("aws.x.trace_id"), Some("keyword"));
        assert_eq!(m.field_type("aws.x.count"), Some("long"));
        assert_eq!(m.field_type("event.id"), Some("keyword"), "an ECS field may be an alias of another of its type");
        // An alias aggregates as its field does: `http.request.id` has no doc values.
        assert!(m.aggregatable("aws.x.count") && m.aggregatable("aws.x.trace_id") == m.aggregatable("trace.id"));
        assert!(!m.aggregatable("event.id") && !m.aggregatable("http.request.id"));
        let fine =
            json!({ "trace": { "id": "Root=1-2" }, "http": { "request": { "id": "r1" } }, "aws": { "x": { "n": 1 } } });
        assert!(m.check(&fine).is_empty(), "{:?}", m.check(&fine));
        let writes_aliases = json!({ "aws": { "x": { "trace_id": "Root=1-2" } }, "event": { "id": "r1" } });
        assert_eq!(
            sorted(m.check(&writes_aliases)),
            [
                "`aws.x.trace_id` is an alias of `trace.id`: OpenSearch refuses a document that writes to it",
                "`event.id` is an alias of `http.request.id`: OpenSearch refuses a document that writes to it",
            ]
        );
    }

    #[test]
    fn an_alias_names_a_field_of_the_type_ecs_gives_its_name() {
        let error = |own: Value| Mappings::new("p", Some(&own.to_string())).err().unwrap().to_string();
        assert_eq!(
            error(json!({ "a": { "type": "alias", "path": "no.such.field" } })),
            "plugin p: its mappings make `a` an alias of `no.such.field`, which is not a field they map"
        );
        assert_eq!(
            error(json!({ "a": { "type": "alias", "path": "source" } })),
            "plugin p: its mappings make `a` an alias of `source`, which is not a field they map"
        );
        assert_eq!(
            error(json!({ "a": { "type": "alias" } })),
            "plugin p: its mappings are not a JSON object of properties: the alias `a` has no path"
        );
        assert_eq!(
            error(json!({ "event": { "properties": { "id": { "type": "alias", "path": "source.port" } } } })),
            "plugin p: its mappings make `event.id` a long, the shared ECS mappings keyword"
        );
    }

    #[test]
    fn own_mappings_may_not_contradict_ecs() {
        let contradicts = json!({ "source": { "properties": { "ip": { "type": "keyword" } } } }).to_string();
        let error = Mappings::new("p", Some(&contradicts)).err().unwrap().to_string();
        assert_eq!(error, "plugin p: its mappings make `source.ip` a keyword, the shared ECS mappings ip");
        assert!(Mappings::new("p", Some("[1]")).is_err() && Mappings::new("p", Some("{")).is_err());
        let adds = json!({ "source": { "properties": { "packets": { "type": "long" } } } }).to_string();
        assert_eq!(Mappings::new("p", Some(&adds)).unwrap().field_type("source.packets"), Some("long"));
        assert!(Mappings::new("p", None).unwrap().own().is_empty());
    }
}
