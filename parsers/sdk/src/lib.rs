//! The KELK parser SDK: everything a log-parser plugin needs except the format itself.
//!
//! A line-oriented format implements [`LineParser`]; a format that is not line-oriented
//! implements [`Parser`]. [`plugin!`] names the plugin once (name, dataset, module, the
//! mappings in `mappings.json` beside its `Cargo.toml`, its dashboard) and exports it. The same
//! code compiles natively (for tests and benchmarks) and to a `wasm32-wasip2` component, where
//! the glue binds it to the `kelk:parser` WIT contract.

pub mod ecs;
pub mod json;
mod lines;
#[cfg(feature = "serde")]
pub mod records;
pub mod text;
pub mod time;
pub mod tokens;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod guest;

pub use json::Object;
pub use lines::{DEFAULT_MAX_LINE_BYTES, LineParser, Lines};

#[doc(hidden)]
pub use const_format::concatcp as __concatcp;
pub use time::Timestamp;

/// The version of the WIT contract (`kelk:parser@…`) this SDK implements.
pub const CONTRACT_VERSION: &str = "1.1.0";

/// The longest raw excerpt a rejection carries.
pub const EXCERPT_BYTES: usize = 256;

/// What a plugin says about itself and its documents (`plugin-info` and `documents.describe`
/// in the contract); [`plugin!`] writes it.
#[derive(Clone, Copy, Debug)]
pub struct Info {
    pub name: &'static str,
    pub version: &'static str,
    /// ECS `event.dataset`.
    pub dataset: &'static str,
    /// ECS `event.module`.
    pub module: &'static str,
    /// The default index prefix, `logs-<dataset>-default`; the host appends the event date.
    pub index_prefix: &'static str,
    /// The OpenSearch mappings of the plugin's own fields (`properties`, as JSON), layered over
    /// the host's shared ECS mappings.
    pub mappings: &'static str,
    pub dashboard: Dashboard,
}

/// What the dashboard of the plugin's documents shows.
#[derive(Clone, Copy, Debug)]
pub struct Dashboard {
    pub title: &'static str,
    /// Fields whose top values it tables; each mapped as an aggregatable type.
    pub top_fields: &'static [&'static str],
    pub time_field: &'static str,
}

/// A plugin: its [`Info`], given by [`plugin!`].
pub trait Plugin {
    const INFO: Info;
}

/// Starts a parser for one object, reading the options it understands. A parser with no
/// options or state to set up is `Default`, and gets this for free.
pub trait Open: Sized {
    fn open(ctx: &SourceContext) -> Result<Self, Fatal>;
}

impl<T: Default> Open for T {
    fn open(_: &SourceContext) -> Result<Self, Fatal> {
        Ok(T::default())
    }
}

/// The object being parsed (`source-context` in the contract).
#[derive(Clone, Debug, Default)]
pub struct SourceContext {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub log_type: String,
    pub options: Vec<(String, String)>,
}

impl SourceContext {
    /// The value of a per-deployment option.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.options.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A byte-count option, or `default` when it is not set.
    pub fn bytes_option(&self, name: &str, default: usize) -> Result<usize, Fatal> {
        match self.option(name) {
            None => Ok(default),
            Some(v) => {
                v.parse().map_err(|_| Fatal::UnsupportedFormat(format!("option {name}={v:?} is not a byte count")))
            }
        }
    }
}

/// The whole object cannot be parsed further (`fatal-error` in the contract).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fatal {
    UnsupportedFormat(String),
    Corrupt(String),
    LimitExceeded(String),
}

/// Where an input record starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// 1-based: the line number for line formats.
    pub number: u64,
    /// Byte offset in the decompressed object.
    pub offset: u64,
}

/// A parsed event's routing metadata; its fields were written to the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub time: Timestamp,
    pub natural_id: Option<String>,
}

impl Event {
    /// An event at `time`, without a natural id.
    pub fn at(time: Timestamp) -> Self {
        Event { time, natural_id: None }
    }
}

/// What an input record turned out to be, when it is not rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// An event; its fields were written to the document.
    Event(Event),
    /// Not an event, by the format (a header or comment); anything written is discarded.
    Skip,
}

impl From<Event> for Parsed {
    fn from(event: Event) -> Self {
        Parsed::Event(event)
    }
}

/// Why a record cannot become a document, in words a person can act on. Anything written for
/// the record is discarded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reject(pub String);

impl From<String> for Reject {
    fn from(reason: String) -> Self {
        Reject(reason)
    }
}

impl From<&str> for Reject {
    fn from(reason: &str) -> Self {
        Reject(reason.to_owned())
    }
}

/// What parsing one record gives: `?` on a check rejects the record.
pub type Outcome = Result<Parsed, Reject>;

/// `return Err(reject!("…{x}…"))`, or as the error of `ok_or_else`: a [`Reject`] from a format
/// string.
#[macro_export]
macro_rules! reject {
    ($($arg:tt)*) => { $crate::Reject(format!($($arg)*)) };
}

/// The first `N` items, or a rejection saying how many `what` there were: for formats whose
/// records have at least `N` fields (later fields, added by newer versions, stay in `items`).
pub fn leading<const N: usize, T: Copy + Default>(
    items: &mut impl Iterator<Item = T>,
    what: &str,
) -> Result<[T; N], Reject> {
    let mut out = [T::default(); N];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = items.next().ok_or_else(|| reject!("{i} {what}, at least {N} expected"))?;
    }
    Ok(out)
}

/// One document of a batch (`document` in the contract).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    pub record: Record,
    pub length: u32,
    pub event_time_ms: i64,
    pub natural_id: Option<String>,
}

/// A record that could not become a document (`rejection` in the contract).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub record: Record,
    pub reason: String,
    pub excerpt: Vec<u8>,
}

/// What one `push` or `finish` produced (`batch` in the contract).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// The documents' JSON texts back to back.
    pub json: Vec<u8>,
    pub documents: Vec<Document>,
    pub rejections: Vec<Rejection>,
    pub skipped: u32,
}

impl Batch {
    /// Parses one record: `write` fills a JSON object and says what the record was. Unless it
    /// was an event, nothing it wrote stays in the batch.
    pub fn record(&mut self, at: Record, raw: &[u8], write: impl FnOnce(&mut Object) -> Outcome) {
        let start = self.json.len();
        let outcome = write(&mut Object::new(&mut self.json));
        match outcome {
            Ok(Parsed::Event(event)) => self.documents.push(Document {
                record: at,
                length: (self.json.len() - start) as u32,
                event_time_ms: event.time.millis(),
                natural_id: event.natural_id,
            }),
            Ok(Parsed::Skip) => {
                self.json.truncate(start);
                self.skip();
            }
            Err(Reject(reason)) => {
                self.json.truncate(start);
                self.reject(at, raw, reason);
            }
        }
    }

    pub fn reject(&mut self, at: Record, raw: &[u8], reason: impl Into<String>) {
        self.rejections.push(Rejection {
            record: at,
            reason: reason.into(),
            excerpt: raw[..raw.len().min(EXCERPT_BYTES)].to_vec(),
        });
    }

    /// Counts a record that is, by the format, not an event (a header, a blank line).
    pub fn skip(&mut self) {
        self.skipped += 1;
    }

    /// The documents with their JSON texts.
    pub fn iter(&self) -> impl Iterator<Item = (&Document, &[u8])> {
        let mut at = 0;
        self.documents.iter().map(move |d| {
            let json = &self.json[at..at + d.length as usize];
            at += d.length as usize;
            (d, json)
        })
    }
}

/// A parser of a whole object, fed in chunks cut at arbitrary positions.
pub trait Parser: Open {
    /// Takes the next chunk of the decompressed object.
    fn push(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), Fatal>;

    /// The object has ended: flush what is held back.
    fn finish(&mut self, out: &mut Batch) -> Result<(), Fatal>;
}

/// Parses a whole input at once, natively: for a plugin's unit tests and benchmarks.
pub fn parse<P: Parser>(ctx: &SourceContext, input: &[u8]) -> Result<Batch, Fatal> {
    let mut parser = P::open(ctx)?;
    let mut batch = Batch::default();
    parser.push(input, &mut batch)?;
    parser.finish(&mut batch)?;
    Ok(batch)
}

/// Declares the plugin once and exports it as the implementation of the `kelk:parser`
/// contract (outside `wasm32` only the declaration remains, so the crate also builds natively):
///
/// ```ignore
/// kelk_parser_sdk::plugin! {
///     lines: Apache,               // a LineParser; or `parser: CloudTrail` for a Parser
///     name: "apache",
///     dataset: "apache.access",
///     module: "apache",
///     dashboard: { title: "Apache access logs", top_fields: ["http.response.status_code", "url.path"] },
/// }
/// ```
///
/// The version is the crate's; the index prefix `logs-<dataset>-default`; the mappings are
/// `mappings.json` beside the crate's `Cargo.toml`; the dashboard's time field `@timestamp`
/// unless `time_field: "…"` follows `top_fields`. [`event!`] writes `event.dataset` and
/// `event.module` from here.
#[macro_export]
macro_rules! plugin {
    (lines: $parser:ty, $($info:tt)*) => {
        $crate::plugin!(@info $parser, $($info)*);
        $crate::plugin!(@export $crate::Lines<$parser>);
    };
    (parser: $parser:ty, $($info:tt)*) => {
        $crate::plugin!(@info $parser, $($info)*);
        $crate::plugin!(@export $parser);
    };
    (@info $parser:ty, name: $name:literal, dataset: $dataset:literal, module: $module:literal,
        dashboard: { title: $title:literal, top_fields: [$($field:literal),* $(,)?] $(, time_field: $time:literal)? $(,)? } $(,)?) => {
        impl $crate::Plugin for $parser {
            const INFO: $crate::Info = $crate::Info {
                name: $name,
                version: env!("CARGO_PKG_VERSION"),
                dataset: $dataset,
                module: $module,
                index_prefix: concat!("logs-", $dataset, "-default"),
                mappings: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/mappings.json")),
                dashboard: $crate::Dashboard {
                    title: $title,
                    top_fields: &[$($field),*],
                    time_field: $crate::plugin!(@or $($time)? "@timestamp"),
                },
            };
        }
    };
    (@or $given:literal $default:literal) => { $given };
    (@or $default:literal) => { $default };
    (@export $exported:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type KelkPlugin = $crate::guest::Component<$exported>;
            $crate::guest::__export_log_parser!(KelkPlugin with_types_in $crate::guest);
        };
    };
}

/// The members of a document's `event` object that every document of `$plugin` shares, as one
/// pre-rendered piece for `Object::fields`: the given ones (`"kind":"event"`…), then
/// `"dataset"` and `"module"` from the plugin's [`Info`].
#[macro_export]
macro_rules! event {
    ($plugin:ty, $fields:expr) => {
        $crate::__concatcp!(
            $fields,
            r#","dataset":""#,
            <$plugin as $crate::Plugin>::INFO.dataset,
            r#"","module":""#,
            <$plugin as $crate::Plugin>::INFO.module,
            r#"""#
        )
    };
}
