//! What turns a plugin's document into an indexable one: its deterministic `_id` and its
//! daily index.

use crate::source::SourceRef;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// OpenSearch's limit on `_id`.
const MAX_ID_BYTES: usize = 512;

/// The document id: the format's natural id when it has one, otherwise a hash of the
/// input's identity (an object's bucket, key and version; a record's stream and id) and the
/// record's number in it. Reprocessing the same input therefore yields the same ids, and
/// `create` turns a retry into a no-op. A CloudWatch Logs event has an id of its own, which
/// is used instead: a hash of its log group, stream and id, and the line's place in it.
pub fn document_id(source: &SourceRef, record_number: u64, natural_id: Option<&str>) -> String {
    if let SourceRef::LogEvents(events) = source {
        let (id, line) = events.event_of(record_number);
        return hashed([&events.log_group, &events.log_stream, id], &line.to_be_bytes());
    }
    let natural_id = natural_id.filter(|id| !id.is_empty());
    match natural_id {
        Some(id) if id.len() <= MAX_ID_BYTES => id.to_owned(),
        Some(id) => hashed(source.identity(), id.as_bytes()),
        None => hashed(source.identity(), &record_number.to_be_bytes()),
    }
}

/// A 22-character id from the parts of an identity and what tells a record in it apart.
fn hashed(identity: [&str; 3], record: &[u8]) -> String {
    let mut h = Sha256::new();
    for part in identity {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.update(record);
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
    use crate::source::{LogEventsRef, ObjectRef, RecordRef};

    fn obj(key: &str, version: Option<&str>) -> SourceRef {
        ObjectRef { bucket: "b".into(), key: key.into(), version_id: version.map(Into::into), etag: None }.into()
    }

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let a = document_id(&obj("k", None), 1, None);
        assert_eq!(a, document_id(&obj("k", None), 1, None));
        assert_eq!(a.len(), 22);
        assert_ne!(a, document_id(&obj("k", None), 2, None));
        assert_ne!(a, document_id(&obj("k2", None), 1, None));
        assert_ne!(a, document_id(&obj("k", Some("v1")), 1, None));
        // Without a version, the ETag tells contents apart; with one, the version does.
        let tagged = |version: Option<&str>, etag: &str| {
            let object =
                ObjectRef { version_id: version.map(Into::into), etag: Some(etag.into()), ..ObjectRef::default() };
            document_id(&object.into(), 1, None)
        };
        assert_ne!(tagged(None, "e1"), tagged(None, "e2"));
        assert_eq!(tagged(Some("v1"), "e1"), tagged(Some("v1"), "e2"));
        // The separator keeps ("ab","c") and ("a","bc") apart.
        let ab = ObjectRef { bucket: "ab".into(), key: "c".into(), ..ObjectRef::default() }.into();
        let a_bc = ObjectRef { bucket: "a".into(), key: "bc".into(), ..ObjectRef::default() }.into();
        assert_ne!(document_id(&ab, 1, None), document_id(&a_bc, 1, None));
        // A stream record hashes as the object it used to pose as: ids did not change.
        let record = SourceRef::Record(RecordRef { stream: "b".into(), id: "k".into() });
        assert_eq!(document_id(&record, 1, None), a);
    }

    #[test]
    fn log_events_are_named_by_their_own_ids() {
        let events = [("e1", "one"), ("e2", "two\nlines\n"), ("e3", "")];
        let (batch, input) = LogEventsRef::new("/aws/lambda/app", "2025/03/02/[$LATEST]abc", events);
        assert_eq!(input, b"one\ntwo\nlines\n\n");
        let lines: Vec<_> = (1..=4).map(|n| batch.event_of(n)).collect();
        assert_eq!(lines, [("e1", 0), ("e2", 0), ("e2", 1), ("e3", 0)]);
        assert_eq!(batch.first_lines().collect::<Vec<_>>(), [1, 2, 4]);
        let source = SourceRef::LogEvents(batch);
        // The same event in another batch, at another line, keeps its id.
        let (again, _) = LogEventsRef::new("/aws/lambda/app", "2025/03/02/[$LATEST]abc", [("e2", "two\nlines\n")]);
        let again = SourceRef::LogEvents(again);
        assert_eq!(document_id(&source, 2, None), document_id(&again, 1, Some("natural")));
        assert_eq!(document_id(&source, 3, None), document_id(&again, 2, None));
        assert_ne!(document_id(&source, 2, None), document_id(&source, 3, None));
        assert_eq!(source.identity(), ["/aws/lambda/app", "2025/03/02/[$LATEST]abc", "e1"]);
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
        assert_eq!(index_name("logs-myapp.access-default", 1_530_570_180_186), "logs-myapp.access-default-2018.07.02");
        assert_eq!(index_name("p", 0), "p-1970.01.01");
        assert_eq!(index_name("p", -1), "p-1969.12.31");
    }
}
