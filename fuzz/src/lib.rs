//! What every fuzz target does with its input: parse it natively as the host would (a fresh
//! session, the input pushed in chunks, then `finish`), once whole and again cut at positions
//! taken from the input itself, and check the contract (`wit/CONTRACT.md`) on the output.
//!
//! Checked, besides "no panic" (libFuzzer reports a panic, an overflow or an endless loop as a
//! crash):
//!
//! - each batch's document lengths add up to its JSON bytes;
//! - every document is one JSON object that OpenSearch (2.19, checked against a node) indexes
//!   rather than refuses: no key twice (in a `flat_object` neither), no key that is empty, starts
//!   with a dot or has two in a row, nor `a.b` beside an `a` that is not an object, every value
//!   one its mapped type (the plugin's mappings over the shared ECS template) takes, and where a
//!   number is mapped dynamically, one a long or a float holds; and as the contract says:
//!   `@timestamp` (the instant `event-time-ms` says), `event.dataset` the plugin's, no `null`,
//!   `*.ip` only IP addresses;
//! - record numbers and offsets: for line formats, every line is a document, a rejection or a
//!   skip (documents + rejections + skipped = lines, blank lines skipped), each document and
//!   rejection names its line's number and offset, in order, and a rejection's excerpt is the
//!   start of its line; for CloudTrail, records are numbered in order, each once, and name
//!   where they start;
//! - the chunks do not matter: the whole input in one push, the input cut at three places taken
//!   from its last bytes, and (for inputs up to 1 KiB) one byte at a time all give the same
//!   documents, rejections, skips and fatal error;
//! - both with the default options and with a small line or record limit (and, for Apache, a
//!   `duration_unit`) taken from the input's first byte.

use kelk_parser_sdk::time::parse_iso8601;
use kelk_parser_sdk::{Batch, EXCERPT_BYTES, Fatal, LineParser, Lines, Parser, Plugin, SourceContext};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::fmt;
use std::net::IpAddr;
use std::sync::OnceLock;

/// The shared ECS component template the host layers every plugin's mappings over.
const ECS_TEMPLATE: &str = include_str!("../../runtime/core/src/opensearch/templates/kelk-ecs.json");

/// Inputs up to this size are also pushed one byte at a time.
const BYTEWISE_MAX: usize = 1024;

/// How records are framed, which says what their numbers and offsets must be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// One record per line (`Lines<P>`).
    Lines,
    /// Records found anywhere in the object (CloudTrail's JSON envelope).
    Objects,
}

/// Options of the second run, from the input's first byte.
pub type Options = fn(u8) -> Vec<(String, String)>;

/// The SDK's line limit from `b`: 0 to 255 bytes, so that overlong lines are common.
pub fn small_lines(b: u8) -> Vec<(String, String)> {
    vec![("max_line_bytes".into(), b.to_string())]
}

/// Fuzzes a line-format parser.
pub fn lines<P: LineParser + Plugin>(data: &[u8], options: Options) {
    fuzz::<Lines<P>>(data, Framing::Lines, options);
}

/// Fuzzes a whole-object parser whose records start with `{` (CloudTrail).
pub fn objects<P: Parser + Plugin>(data: &[u8], options: Options) {
    fuzz::<P>(data, Framing::Objects, options);
}

fn fuzz<P: Parser + Plugin>(data: &[u8], framing: Framing, options: Options) {
    let first = data.first().copied().unwrap_or(0);
    let contexts = [(Vec::new(), true), (options(first), false)];
    for (options, bytewise) in contexts {
        let ctx = SourceContext {
            bucket: "fuzz".into(),
            key: "fuzz/input.log".into(),
            version_id: None,
            log_type: P::INFO.name.into(),
            options,
        };
        let whole = run::<P>(&ctx, data, &[]);
        let cuts = cuts(data);
        same(&whole, &run::<P>(&ctx, data, &cuts), &format!("options {:?}, cut at {cuts:?}", ctx.options));
        if bytewise && data.len() <= BYTEWISE_MAX {
            let every: Vec<usize> = (1..data.len()).collect();
            same(&whole, &run::<P>(&ctx, data, &every), "pushed byte by byte");
        }
        check::<P>(&whole, data, framing);
    }
}

/// Three cut positions from the input's last six bytes, so that the fuzzer can move them.
fn cuts(data: &[u8]) -> Vec<usize> {
    let n = data.len();
    let mut cuts: Vec<usize> = data[n.saturating_sub(6)..]
        .chunks(2)
        .map(|c| c.iter().fold(0usize, |acc, &b| acc << 8 | usize::from(b)) % (n + 1))
        .collect();
    cuts.sort_unstable();
    cuts
}

/// Panics with the first difference between the whole input's output and `cut`'s.
fn same(whole: &Run, cut: &Run, how: &str) {
    if whole == cut {
        return;
    }
    let (w, c) = (&whole.out, &cut.out);
    let docs =
        |b: &Batch| b.iter().map(|(d, j)| (d.clone(), String::from_utf8_lossy(j).into_owned())).collect::<Vec<_>>();
    let difference = if whole.fatal != cut.fatal {
        format!("fatal error {:?}, whole {:?}", cut.fatal, whole.fatal)
    } else if let Some((a, b)) = docs(w).into_iter().zip(docs(c)).find(|(a, b)| a != b) {
        format!("document {b:?}, whole {a:?}")
    } else if let Some((a, b)) = w.rejections.iter().zip(&c.rejections).find(|(a, b)| a != b) {
        format!("rejection {b:?}, whole {a:?}")
    } else {
        format!(
            "{} documents, {} rejections, {} skipped; whole {}, {}, {}",
            c.documents.len(),
            c.rejections.len(),
            c.skipped,
            w.documents.len(),
            w.rejections.len(),
            w.skipped
        )
    };
    panic!("{how}, the output differs from the whole input's: {difference}");
}

/// What a session gave: its batches merged in order (the failing call's partial batch too),
/// and the fatal error that ended it, if one did.
#[derive(PartialEq)]
struct Run {
    out: Batch,
    fatal: Option<Fatal>,
}

/// One session over `data` pushed in chunks ending at `cuts`, then `finish`, as the host
/// drives it: each call gets a fresh batch, which must be consistent on its own.
fn run<P: Parser>(ctx: &SourceContext, data: &[u8], cuts: &[usize]) -> Run {
    let mut out = Batch::default();
    let mut parser = match P::open(ctx) {
        Ok(parser) => parser,
        Err(fatal) => return Run { out, fatal: Some(fatal) },
    };
    let mut from = 0;
    let ends = cuts.iter().copied().chain([data.len()]);
    for end in ends.map(Some).chain([None]) {
        let mut batch = Batch::default();
        let result = match end {
            Some(end) => parser.push(&data[from..end], &mut batch),
            None => parser.finish(&mut batch),
        };
        from = end.unwrap_or(from);
        let lengths: u64 = batch.documents.iter().map(|d| u64::from(d.length)).sum();
        assert_eq!(lengths, batch.json.len() as u64, "a batch's document lengths do not add up to its JSON");
        out.json.extend_from_slice(&batch.json);
        out.documents.extend(batch.documents);
        out.rejections.extend(batch.rejections);
        out.skipped += batch.skipped;
        if let Err(fatal) = result {
            return Run { out, fatal: Some(fatal) };
        }
    }
    Run { out, fatal: None }
}

/// The contract's checks on a whole session's output.
fn check<P: Plugin>(run: &Run, data: &[u8], framing: Framing) {
    let out = &run.out;
    for r in &out.rejections {
        assert!(!r.reason.is_empty(), "record {}: a rejection without a reason", r.record.number);
        assert!(
            r.excerpt.len() <= EXCERPT_BYTES,
            "record {}: an excerpt of {} bytes",
            r.record.number,
            r.excerpt.len()
        );
    }
    for (d, json) in out.iter() {
        assert!(d.length > 0, "record {}: an empty document", d.record.number);
        document::<P>(json, d.event_time_ms).unwrap_or_else(|problem| {
            panic!("record {}: {problem}: {}", d.record.number, String::from_utf8_lossy(json))
        });
    }
    let numbers = |numbers: &mut dyn Iterator<Item = u64>, what: &str| {
        let numbers: Vec<u64> = numbers.collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{what} record numbers out of order: {numbers:?}");
        assert!(numbers.first().is_none_or(|&n| n >= 1), "{what}: record number 0");
    };
    numbers(&mut out.documents.iter().map(|d| d.record.number), "document");
    numbers(&mut out.rejections.iter().map(|r| r.record.number), "rejection");
    let mut all: Vec<u64> =
        out.documents.iter().map(|d| d.record.number).chain(out.rejections.iter().map(|r| r.record.number)).collect();
    all.sort_unstable();
    assert!(all.windows(2).all(|w| w[0] != w[1]), "a record is both a document and a rejection: {all:?}");
    let outcomes = (out.documents.len() + out.rejections.len()) as u64 + u64::from(out.skipped);
    match framing {
        Framing::Lines => lines_add_up(out, data, outcomes, run.fatal.is_some()),
        Framing::Objects => {
            assert!(all.last().is_none_or(|&n| n <= outcomes), "record {all:?} of {outcomes} outcomes");
            for d in &out.documents {
                let at = d.record.offset as usize;
                assert_eq!(
                    data.get(at),
                    Some(&b'{'),
                    "record {}: offset {at} is not where a record starts",
                    d.record.number
                );
            }
            for r in &out.rejections {
                let at = r.record.offset as usize;
                assert_eq!(
                    data.get(at..at + r.excerpt.len()),
                    Some(&r.excerpt[..]),
                    "record {}: the excerpt is not the input at offset {at}",
                    r.record.number
                );
            }
        }
    }
}

/// For a line format: each line is one outcome, named by its number and offset.
fn lines_add_up(out: &Batch, data: &[u8], outcomes: u64, fatal: bool) {
    // Where each line starts, and the line without its `\n`; a last line without one counts,
    // an empty tail after the last `\n` does not.
    let mut lines: Vec<(usize, &[u8])> = Vec::new();
    let mut at = 0;
    for line in data.split(|&b| b == b'\n') {
        lines.push((at, line));
        at += line.len() + 1;
    }
    if lines.last().is_some_and(|(_, l)| l.is_empty()) {
        lines.pop();
    }
    if !fatal {
        assert_eq!(
            outcomes,
            lines.len() as u64,
            "{} documents + {} rejections + {} skipped is not the {} lines",
            out.documents.len(),
            out.rejections.len(),
            out.skipped,
            lines.len()
        );
    }
    let line = |number: u64, offset: u64| {
        let (start, text) = *usize::try_from(number)
            .ok()
            .and_then(|n| lines.get(n.wrapping_sub(1)))
            .unwrap_or_else(|| panic!("record {number} of {} lines", lines.len()));
        assert_eq!(offset, start as u64, "line {number} starts at byte {start}, not at {offset}");
        text
    };
    for d in &out.documents {
        line(d.record.number, d.record.offset);
    }
    for r in &out.rejections {
        let text = line(r.record.number, r.record.offset);
        let bare = text.strip_suffix(b"\r").unwrap_or(text);
        assert!(
            text.starts_with(&r.excerpt) && r.excerpt.len() >= bare.len().min(EXCERPT_BYTES),
            "line {}: the excerpt {:?} is not the start of the line",
            r.record.number,
            String::from_utf8_lossy(&r.excerpt)
        );
    }
}

/// What is wrong with one document, if anything.
fn document<P: Plugin>(json: &[u8], event_time_ms: i64) -> Result<(), String> {
    let mut reader = serde_json::Deserializer::from_slice(json);
    let doc = Strict { mappings: mappings::<P>(), field: String::new() }
        .deserialize(&mut reader)
        .and_then(|doc| reader.end().map(|()| doc))
        .map_err(|e| format!("not JSON ({e})"))?;
    let fields = doc.as_object().ok_or("not a JSON object")?;
    let stamp = fields.get("@timestamp").ok_or("no @timestamp")?;
    let time = stamp.as_str().and_then(|s| parse_iso8601(s.as_bytes())).ok_or("@timestamp is not ISO 8601")?;
    if !stamp.as_str().is_some_and(|s| s.ends_with('Z')) || time.millis() != event_time_ms {
        return Err(format!("@timestamp {stamp} is not the event time {event_time_ms} ms"));
    }
    let dataset = doc.pointer("/event/dataset");
    if dataset.and_then(Value::as_str) != Some(P::INFO.dataset) {
        return Err(format!("event.dataset is {dataset:?}, not {}", P::INFO.dataset));
    }
    let mut problems = Vec::new();
    mappings::<P>().check_object("", fields, &mut problems);
    if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
}

/// Reads a document as OpenSearch would: a key twice is an error, anywhere, and so is a number
/// out of f64's range, but not inside a `flat_object`, whose values OpenSearch keeps as text
/// (such a field is read whole, and stands in the tree as its text).
struct Strict<'m> {
    mappings: &'m Mappings,
    /// The dotted field the value is at.
    field: String,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("a number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Strict { mappings: self.mappings, field: self.field.clone() })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let field = if self.field.is_empty() { key.clone() } else { format!("{}.{key}", self.field) };
            let value = if self.mappings.field_type(&field) == Some("flat_object") {
                let raw: Box<RawValue> = map.next_value()?;
                if let Some(twice) = key_twice(raw.get()) {
                    return Err(de::Error::custom(format!("the key `{twice}` twice in `{field}`")));
                }
                Value::String(raw.get().to_owned())
            } else {
                map.next_value_seed(Strict { mappings: self.mappings, field })?
            };
            if fields.insert(key.clone(), value).is_some() {
                return Err(de::Error::custom(format!("the key `{key}` twice")));
            }
        }
        Ok(Value::Object(fields))
    }
}

/// The first key an object in `json` (valid JSON) has twice, at any depth.
fn key_twice(json: &str) -> Option<String> {
    let b = json.as_bytes();
    // The keys of each open object; `None` for an array.
    let mut open: Vec<Option<Vec<String>>> = Vec::new();
    let mut expect_key = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' => {
                open.push(Some(Vec::new()));
                expect_key = true;
            }
            b'[' | b'}' | b']' => {
                if b[i] == b'[' {
                    open.push(None);
                } else {
                    open.pop();
                }
                expect_key = false;
            }
            b',' => expect_key = matches!(open.last(), Some(Some(_))),
            b'"' => {
                let start = i;
                i += 1;
                while b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if expect_key && let Some(Some(keys)) = open.last_mut() {
                    let key: String = serde_json::from_str(&json[start..=i]).expect("a JSON string");
                    if keys.contains(&key) {
                        return Some(key);
                    }
                    keys.push(key);
                }
                expect_key = false;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The plugin's mappings over the shared ECS ones; one plugin per fuzz target.
fn mappings<P: Plugin>() -> &'static Mappings {
    static MAPPINGS: OnceLock<(&str, Mappings)> = OnceLock::new();
    let (name, mappings) = MAPPINGS.get_or_init(|| {
        let own = serde_json::from_str(P::INFO.mappings).expect("the plugin's mappings are JSON");
        let ecs: Value = serde_json::from_str(ECS_TEMPLATE).expect("the ECS template is JSON");
        let ecs = ecs["template"]["mappings"]["properties"].clone();
        let as_map = |v: Value| match v {
            Value::Object(m) => m,
            other => panic!("mappings are not an object: {other}"),
        };
        (P::INFO.name, Mappings { own: as_map(own), ecs: as_map(ecs) })
    });
    assert_eq!(*name, P::INFO.name, "one plugin per fuzz target");
    mappings
}

/// A plugin's mappings, for the checks of `runtime/core/src/opensearch/mappings.rs` (`kelk-plugin
/// test`'s) as OpenSearch makes them (see [`fits`]), without the complaint about unmapped fields
/// (OpenSearch maps those dynamically, strings as keyword), and with the contract's: no `null`,
/// and `*.ip` fields only ever IP addresses.
struct Mappings {
    own: Map<String, Value>,
    ecs: Map<String, Value>,
}

impl Mappings {
    /// The type a dotted field is mapped as (`flat_object` for anything under one).
    fn field_type(&self, field: &str) -> Option<&str> {
        [&self.own, &self.ecs].into_iter().find_map(|props| {
            let mut props = props;
            let mut parts = field.split('.').peekable();
            while let Some(part) = parts.next() {
                let mapping = props.get(part)?;
                match mapping.get("type").and_then(Value::as_str) {
                    Some("flat_object") => return Some("flat_object"),
                    Some(kind) if parts.peek().is_none() => return Some(kind),
                    _ => props = mapping.get("properties")?.as_object()?,
                }
            }
            Some("object")
        })
    }

    fn check_object(&self, prefix: &str, fields: &Map<String, Value>, problems: &mut Vec<String>) {
        for (key, value) in fields {
            let field = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            // OpenSearch takes `a.b` for `{"a":{"b":…}}`, but refuses an empty key, one with an
            // empty part before a dot, and `a.b` beside an `a` that is not an object.
            if key.is_empty() || key.starts_with('.') || key.contains("..") {
                problems.push(format!("`{field}`: a key OpenSearch refuses"));
            }
            if let Some((head, _)) = key.split_once('.')
                && fields.get(head).is_some_and(|v| !v.is_object())
            {
                problems.push(format!("`{field}`: a dotted key beside `{head}`, which is no object"));
            }
            self.check_value(&field, key, value, problems);
        }
    }

    fn check_value(&self, field: &str, key: &str, value: &Value, problems: &mut Vec<String>) {
        let kind = self.field_type(field);
        match (kind, value) {
            (Some("flat_object"), _) => {}
            (_, Value::Array(items)) => items.iter().for_each(|item| self.check_value(field, key, item, problems)),
            (None | Some("object" | "nested"), Value::Object(fields)) => self.check_object(field, fields, problems),
            (_, Value::Null) => problems.push(format!("`{field}` is null")),
            (Some("object" | "nested"), value) => {
                problems.push(format!("`{field}` is mapped as an object, not {value}"))
            }
            (None, value) if key == "ip" && !fits("ip", value) => {
                problems.push(format!("`{field}` is not an IP address: {value}"))
            }
            // Dynamic mapping makes an integer a long and a fraction a float, which refuse what
            // they cannot hold.
            (None, Value::Number(n)) if !n.is_i64() && !fits(if n.is_u64() { "long" } else { "float" }, value) => {
                problems.push(format!("`{field}` is {n}, more than a dynamically mapped number holds"))
            }
            (None, _) => {}
            (Some(kind), value) if !fits(kind, value) => {
                problems.push(format!("`{field}` is mapped as {kind}, which {value} does not fit"))
            }
            _ => {}
        }
    }
}

/// Whether OpenSearch (2.19) indexes `value` as a `kind` field rather than refuse the document.
/// Looser than the type check of `runtime/core/src/opensearch/mappings.rs` (`kelk-plugin
/// test`'s), as OpenSearch coerces (a number into a keyword, `"12"` or `1.5` into a long), and
/// stricter, as OpenSearch refuses what a long or a float cannot hold and dates with more than
/// nine fraction digits (strict_date_optional_time).
fn fits(kind: &str, value: &Value) -> bool {
    let number = || match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    let integer = |min: i64, max: i64| match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => n.as_i64().is_some_and(|v| (min..=max).contains(&v)),
        _ => number().is_some_and(|v| v.trunc() >= min as f64 && v.trunc() <= max as f64),
    };
    match kind {
        "keyword" | "text" | "match_only_text" | "wildcard" | "constant_keyword" => {
            value.is_string() || value.is_number() || value.is_boolean()
        }
        "long" => integer(i64::MIN, i64::MAX),
        "integer" => integer(i32::MIN.into(), i32::MAX.into()),
        "short" => integer(i16::MIN.into(), i16::MAX.into()),
        "byte" => integer(i8::MIN.into(), i8::MAX.into()),
        "float" => number().is_some_and(|v| v.abs() <= f64::from(f32::MAX)),
        "double" | "half_float" | "scaled_float" => number().is_some(),
        "boolean" => value.is_boolean() || matches!(value.as_str(), Some("true" | "false")),
        "ip" => value.as_str().is_some_and(|s| s.parse::<IpAddr>().is_ok()),
        "date" => match value {
            Value::String(s) => iso_time(s) && fraction_digits(s) <= 9,
            _ => integer(i64::MIN, i64::MAX),
        },
        // A name searches find, under which a document may write nothing.
        "alias" => false,
        _ => !value.is_object() && !value.is_null(),
    }
}

/// An ISO 8601 time as strict_date_optional_time reads it: with a `T`.
fn iso_time(s: &str) -> bool {
    s.as_bytes().get(10) == Some(&b'T') && parse_iso8601(s.as_bytes()).is_some()
}

/// How many digits the fraction of seconds of an RFC 3339 time has.
fn fraction_digits(s: &str) -> usize {
    s.get(19..).and_then(|rest| rest.strip_prefix('.')).map_or(0, |f| f.bytes().take_while(u8::is_ascii_digit).count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kelk_parser_sdk::{Dashboard, Event, Info, Object, Outcome, Parsed, Record, Timestamp, reject};

    const INFO: Info = Info {
        name: "echo",
        version: "0",
        dataset: "test.echo",
        module: "test",
        index_prefix: "logs-test.echo-default",
        mappings: r#"{"n":{"type":"long"},"fo":{"type":"flat_object"}}"#,
        dashboard: Dashboard { title: "", top_fields: &[], time_field: "@timestamp" },
    };

    /// Echoes a line as `{"l":…}`; `#` lines are skipped, `!` lines rejected, and a line
    /// starting `dup`, `n=`, `flat=` or `raw=` writes a key twice, a number as `n`, JSON as
    /// the flat object `fo`, or JSON as `x`.
    #[derive(Default)]
    struct Echo;

    impl Plugin for Echo {
        const INFO: Info = INFO;
    }

    impl LineParser for Echo {
        fn parse_line(&mut self, line: &[u8], doc: &mut Object) -> Outcome {
            doc.timestamp("@timestamp", Timestamp { secs: 1, nanos: 0 });
            doc.object("event").str("dataset", b"test.echo");
            doc.str("l", line);
            if line.starts_with(b"dup") {
                doc.str("l", b"again");
            } else if let Some(n) = line.strip_prefix(b"n=") {
                doc.number_text("n", n);
            } else if let Some(json) = line.strip_prefix(b"flat=") {
                doc.raw("fo", json);
            } else if let Some(json) = line.strip_prefix(b"raw=") {
                doc.raw("x", json);
            }
            match line.first() {
                Some(b'#') => Ok(Parsed::Skip),
                Some(b'!') => Err(reject!("bang")),
                _ => Ok(Event::at(Timestamp { secs: 1, nanos: 0 }).into()),
            }
        }
    }

    /// Emits one document per push, whatever it holds: chunk boundaries matter.
    #[derive(Default)]
    struct PerChunk(u64);

    impl Plugin for PerChunk {
        const INFO: Info = INFO;
    }

    impl Parser for PerChunk {
        fn push(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), Fatal> {
            self.0 += 1;
            let at = Record { number: self.0, offset: 0 };
            out.record(at, chunk, |doc| {
                doc.timestamp("@timestamp", Timestamp { secs: 1, nanos: 0 });
                doc.object("event").str("dataset", b"test.echo");
                Ok(Event::at(Timestamp { secs: 1, nanos: 0 }).into())
            });
            Ok(())
        }
        fn finish(&mut self, _: &mut Batch) -> Result<(), Fatal> {
            Ok(())
        }
    }

    fn panics(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let err = std::panic::catch_unwind(f).expect_err("a broken contract should panic");
        err.downcast_ref::<String>().cloned().or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string())).unwrap()
    }

    #[test]
    fn a_parser_that_keeps_the_contract_passes() {
        for input in [
            &b""[..],
            b"\n",
            b"a",
            b"a\r\n\n#h\n!x\r\nlast",
            b"n=12\nn=-3\nn=1.5\nflat={\"a\":[1e999,{\"a\":\"\"}]}\n",
            &[b'x'; 3000],
        ] {
            lines::<Echo>(input, small_lines);
        }
    }

    #[test]
    fn a_broken_contract_is_a_panic() {
        assert!(panics(|| lines::<Echo>(b"ok\ndup\n", small_lines)).contains("the key `l` twice"));
        assert!(panics(|| lines::<Echo>(b"n=1e19\n", small_lines)).contains("`n` is mapped as long"));
        assert!(panics(|| lines::<Echo>(b"n=9223372036854775808\n", small_lines)).contains("`n` is mapped as long"));
        assert!(panics(|| lines::<Echo>(b"raw=null\n", small_lines)).contains("`x` is null"));
        let flat = panics(|| lines::<Echo>(br#"flat={"a":{"b":1,"c":[{"b":0}],"b":2}}"#, small_lines));
        assert!(flat.contains("the key `b` twice in `fo`"), "{flat}");
        assert!(panics(|| lines::<Echo>(b"raw=1e999\n", small_lines)).contains("number out of range"));
        assert!(panics(|| objects::<PerChunk>(b"{}{}{}", small_lines)).contains("the output differs"));
    }

    #[test]
    fn keys_twice() {
        assert_eq!(key_twice(r#"{"a":1,"b":{"a":2},"c":[{"a":3}]}"#), None);
        assert_eq!(key_twice(r#"{"a":"\"a\":","b":[1,"a"],"a":2}"#), Some("a".into()));
        assert_eq!(key_twice(r#"[{"x":{},"\u0078":1}]"#), Some("x".into()));
    }

    #[test]
    fn cuts_come_from_the_last_bytes() {
        assert!(cuts(b"").is_empty());
        assert_eq!(cuts(b"\x00\x03\x00\x01"), [1, 3]);
        assert!(cuts(&[0xff; 100]).iter().all(|&c| c <= 100));
    }
}
