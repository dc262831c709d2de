//! What turns a plugin's document into an indexable one: its deterministic `_id` and its
//! daily index.

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The object a document came from: its identity makes document ids deterministic.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

impl ObjectRef {
    /// A local file, named by its path as given (no bucket).
    pub fn local(path: &std::path::Path) -> Self {
        ObjectRef { bucket: String::new(), key: path.display().to_string(), version_id: None }
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

/// OpenSearch's limit on `_id`.
const MAX_ID_BYTES: usize = 512;

/// The document id: the format's natural id when it has one, otherwise a hash of the
/// object's bucket, key and version and the record's number in it. Reprocessing the same
/// object therefore yields the same ids, and `create` turns a retry into a no-op.
pub fn document_id(object: &ObjectRef, record_number: u64, natural_id: Option<&str>) -> String {
    let natural_id = natural_id.filter(|id| !id.is_empty());
    if let Some(id) = natural_id.filter(|id| id.len() <= MAX_ID_BYTES) {
        return id.to_owned();
    }
    let mut h = Sha256::new();
    h.update(object.bucket.as_bytes());
    h.update([0]);
    h.update(object.key.as_bytes());
    h.update([0]);
    h.update(object.version_id.as_deref().unwrap_or_default().as_bytes());
    h.update([0]);
    match natural_id {
        Some(id) => h.update(id.as_bytes()),
        None => h.update(record_number.to_be_bytes()),
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&h.finalize()[..16])
}

/// The daily index of an event: `<prefix>-YYYY.MM.DD`, from the event's UTC date.
pub fn index_name(prefix: &str, event_time_ms: i64) -> String {
    let date = chrono::DateTime::from_timestamp_millis(event_time_ms).unwrap_or_default();
    format!("{prefix}-{}", date.format("%Y.%m.%d"))
}

/// Daily index names for one prefix, remembering the last day's: the events of an object
/// nearly all fall on one or two days.
pub struct DailyIndex<'p> {
    prefix: &'p str,
    last: Option<(i64, String)>,
}

impl<'p> DailyIndex<'p> {
    pub fn new(prefix: &'p str) -> Self {
        DailyIndex { prefix, last: None }
    }

    /// The index of an event at `event_time_ms`.
    pub fn of(&mut self, event_time_ms: i64) -> &str {
        let day = event_time_ms.div_euclid(86_400_000);
        if self.last.as_ref().is_none_or(|(d, _)| *d != day) {
            self.last = Some((day, index_name(self.prefix, event_time_ms)));
        }
        &self.last.as_ref().expect("set above").1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(key: &str, version: Option<&str>) -> ObjectRef {
        ObjectRef { bucket: "b".into(), key: key.into(), version_id: version.map(Into::into) }
    }

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let a = document_id(&obj("k", None), 1, None);
        assert_eq!(a, document_id(&obj("k", None), 1, None));
        assert_eq!(a.len(), 22);
        assert_ne!(a, document_id(&obj("k", None), 2, None));
        assert_ne!(a, document_id(&obj("k2", None), 1, None));
        assert_ne!(a, document_id(&obj("k", Some("v1")), 1, None));
        // The separator keeps ("ab","c") and ("a","bc") apart.
        let ab = ObjectRef { bucket: "ab".into(), key: "c".into(), version_id: None };
        let a_bc = ObjectRef { bucket: "a".into(), key: "bc".into(), version_id: None };
        assert_ne!(document_id(&ab, 1, None), document_id(&a_bc, 1, None));
    }

    #[test]
    fn natural_ids_are_used_when_usable() {
        assert_eq!(document_id(&obj("k", None), 1, Some("edge-id")), "edge-id");
        let long = "x".repeat(600);
        let hashed = document_id(&obj("k", None), 1, Some(&long));
        assert_eq!(hashed.len(), 22);
        assert_eq!(
            hashed,
            document_id(&obj("k", None), 7, Some(&long)),
            "a long natural id hashes to the same id in any record"
        );
        assert_eq!(document_id(&obj("k", None), 1, Some("")), document_id(&obj("k", None), 1, None));
    }

    #[test]
    fn daily_index_names_follow_the_day() {
        let mut index = DailyIndex::new("p");
        assert_eq!(index.of(1_530_570_180_186), "p-2018.07.02");
        assert_eq!(index.of(1_530_575_999_999), "p-2018.07.02");
        assert_eq!(index.of(1_530_576_000_000), "p-2018.07.03");
        assert_eq!(index.of(-1), "p-1969.12.31");
    }

    #[test]
    fn daily_index_by_event_date() {
        assert_eq!(index_name("logs-aws.elb_logs-default", 1_530_570_180_186), "logs-aws.elb_logs-default-2018.07.02");
        assert_eq!(index_name("p", 0), "p-1970.01.01");
        assert_eq!(index_name("p", -1), "p-1969.12.31");
    }
}
