//! The KELK parser SDK: everything a log-parser plugin needs except the format itself.
//!
//! A line-oriented format implements [`LineParser`] and exports itself with
//! `kelk_parser_sdk::export_parser!(kelk_parser_sdk::Lines<MyParser>)`; a format that is not
//! line-oriented implements [`Parser`] directly. The same code compiles natively (for tests and
//! benchmarks) and to a `wasm32-wasip2` component, where the `export_parser!` glue binds it to
//! the `kelk:parser` WIT contract.

pub mod ecs;
pub mod json;
mod lines;
pub mod text;
pub mod time;
pub mod tokens;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod guest;

pub use json::Object;
pub use lines::{DEFAULT_MAX_LINE_BYTES, LineParser, Lines};
pub use time::Timestamp;

/// The version of the WIT contract (`kelk:parser@…`) this SDK implements.
pub const CONTRACT_VERSION: &str = "1.0.0";

/// The longest raw excerpt a rejection carries.
pub const EXCERPT_BYTES: usize = 256;

/// What a plugin says about itself (`plugin-info` in the contract).
#[derive(Clone, Copy, Debug)]
pub struct Info {
    pub name: &'static str,
    pub version: &'static str,
    /// ECS `event.dataset`.
    pub dataset: &'static str,
    /// The default index prefix; the host appends the event date.
    pub index_prefix: &'static str,
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

/// What an input record turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// An event; its fields were written to the document.
    Event(Event),
    /// Not an event, by the format (a header or comment); anything written is discarded.
    Skip,
    /// Not parseable; anything written is discarded and the record is rejected for this reason.
    Reject(String),
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
    pub fn record(&mut self, at: Record, raw: &[u8], write: impl FnOnce(&mut Object) -> Parsed) {
        let start = self.json.len();
        let parsed = write(&mut Object::new(&mut self.json));
        match parsed {
            Parsed::Event(event) => self.documents.push(Document {
                record: at,
                length: (self.json.len() - start) as u32,
                event_time_ms: event.time.millis(),
                natural_id: event.natural_id,
            }),
            Parsed::Skip => {
                self.json.truncate(start);
                self.skip();
            }
            Parsed::Reject(reason) => {
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
pub trait Parser: Sized {
    const INFO: Info;

    /// Starts a session for one object.
    fn open(ctx: &SourceContext) -> Result<Self, Fatal>;

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

/// Exports a [`Parser`] as the plugin's implementation of the `kelk:parser` contract.
/// Outside `wasm32` it expands to nothing, so the crate also builds natively.
#[macro_export]
macro_rules! export_parser {
    ($parser:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type KelkPlugin = $crate::guest::Component<$parser>;
    $crate::guest::__export_log_parser!(KelkPlugin with_types_in $crate::guest);
        };
    };
}
