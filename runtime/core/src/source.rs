//! What an input is: its identity, which makes document ids deterministic and names it in
//! messages and dead letters. An S3 object (or a local file) is one kind; one record of a
//! stream (a Firehose record) is another, so no input has to pose as an object.

use kelk_sandbox::SourceContext;

/// An input: where its bytes come from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum SourceRef {
    /// An S3 object, or a local file.
    Object(ObjectRef),
    /// One record of a stream.
    Record(RecordRef),
}

/// An S3 object, or, with no bucket, a local file named by its path.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

/// One record of a stream: a Firehose record of a delivery stream.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RecordRef {
    pub stream: String,
    pub id: String,
}

impl ObjectRef {
    /// A local file, named by its path as given (no bucket).
    pub fn local(path: &std::path::Path) -> Self {
        ObjectRef { bucket: String::new(), key: path.display().to_string(), version_id: None }
    }
}

impl SourceRef {
    /// What identifies the input's content, in order: the parts a document id hashes.
    pub(crate) fn identity(&self) -> [&str; 3] {
        match self {
            SourceRef::Object(o) => [&o.bucket, &o.key, o.version_id.as_deref().unwrap_or_default()],
            SourceRef::Record(r) => [&r.stream, &r.id, ""],
        }
    }

    /// What `plugin` is told about its input (the contract's `source-context`, which names a
    /// stream record's stream as its bucket and its id as its key). `log-type` stays in the
    /// contract until its next major version, and carries the plugin's own name.
    pub(crate) fn context(&self, plugin: &str, options: &[(String, String)]) -> SourceContext {
        let [bucket, key, _] = self.identity();
        let version_id = match self {
            SourceRef::Object(o) => o.version_id.clone(),
            SourceRef::Record(_) => None,
        };
        SourceContext {
            bucket: bucket.into(),
            key: key.into(),
            version_id,
            log_type: plugin.into(),
            options: options.to_vec(),
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
        }
    }
}
