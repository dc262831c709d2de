//! What an input is: its identity, which makes document ids deterministic and names it in
//! messages and dead letters. An S3 object (or a local file) is one kind; one record of a
//! stream (a Firehose record) is another, a batch of CloudWatch Logs events a third, so no
//! input has to pose as an object.

use std::sync::Arc;

/// An input: where its bytes come from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum SourceRef {
    /// An S3 object, or a local file.
    Object(ObjectRef),
    /// One record of a stream.
    Record(RecordRef),
    /// CloudWatch Logs events of one log stream, read as lines.
    LogEvents(LogEventsRef),
}

/// An S3 object, or, with no bucket, a local file named by its path.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    /// The ETag (without its quotes) of the content meant, as the event or listing gave it:
    /// in a bucket without versions, what tells new content under an old key from the old.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// One record of a stream: a Firehose record of a delivery stream.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RecordRef {
    pub stream: String,
    pub id: String,
}

/// Events of a CloudWatch Logs stream, their messages one after another as the input's lines,
/// a message that does not end in a line break given one. A record's identity is its event's
/// id (and, for a message of several lines, the line's place in it), whatever else the batch
/// holds: a redelivered event, in any batch, makes the same document.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LogEventsRef {
    pub log_group: String,
    pub log_stream: String,
    /// Each event's id and the number of its first line, in order.
    #[serde(skip)]
    events: Arc<[(String, u64)]>,
}

impl LogEventsRef {
    /// The events of `log_group`'s `log_stream`, as ids and messages, and the input they make.
    pub fn new<'m>(
        log_group: &str,
        log_stream: &str,
        events: impl IntoIterator<Item = (&'m str, &'m str)>,
    ) -> (Self, Vec<u8>) {
        let mut input = Vec::new();
        let mut line = 1;
        let events = events
            .into_iter()
            .map(|(id, message)| {
                let first = line;
                input.extend_from_slice(message.as_bytes());
                if !message.ends_with('\n') {
                    input.push(b'\n');
                }
                let breaks = message.bytes().filter(|&b| b == b'\n').count() as u64;
                line += breaks + u64::from(!message.ends_with('\n'));
                (id.to_owned(), first)
            })
            .collect();
        (LogEventsRef { log_group: log_group.into(), log_stream: log_stream.into(), events }, input)
    }

    /// The event a line belongs to, and the line's place in its message (0 for the first).
    pub fn event_of(&self, record_number: u64) -> (&str, u64) {
        let i = self.events.partition_point(|(_, first)| *first <= record_number).saturating_sub(1);
        self.events.get(i).map_or(("", record_number), |(id, first)| (id, record_number.saturating_sub(*first)))
    }

    /// The number of the first line of each event, in order.
    pub fn first_lines(&self) -> impl Iterator<Item = u64> + '_ {
        self.events.iter().map(|(_, first)| *first)
    }
}

impl ObjectRef {
    /// A local file, named by its path as given (no bucket).
    pub fn local(path: &std::path::Path) -> Self {
        ObjectRef { bucket: String::new(), key: path.display().to_string(), ..ObjectRef::default() }
    }
}

impl SourceRef {
    /// What identifies the input's content, in order: the parts a document id hashes. An
    /// object's content is its version where the bucket keeps versions, else its ETag: a retry
    /// of the same content makes the same ids, new content under the same key new ones.
    pub fn identity(&self) -> [&str; 3] {
        match self {
            SourceRef::Object(o) => {
                [&o.bucket, &o.key, o.version_id.as_deref().or(o.etag.as_deref()).unwrap_or_default()]
            }
            SourceRef::Record(r) => [&r.stream, &r.id, ""],
            SourceRef::LogEvents(l) => [&l.log_group, &l.log_stream, l.event_of(1).0],
        }
    }
}

impl From<ObjectRef> for SourceRef {
    fn from(object: ObjectRef) -> Self {
        SourceRef::Object(object)
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.bucket.is_empty() {
            return write!(f, "{}", self.key);
        }
        write!(f, "s3://{}/{}", self.bucket, self.key)?;
        match &self.version_id {
            Some(v) => write!(f, "?versionId={v}"),
            None => Ok(()),
        }
    }
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceRef::Object(o) => o.fmt(f),
            SourceRef::Record(r) => write!(f, "record {} of stream {}", r.id, r.stream),
            SourceRef::LogEvents(l) => write!(f, "events of log stream {} of log group {}", l.log_stream, l.log_group),
        }
    }
}
