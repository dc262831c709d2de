//! What an input is: the identities of `kelk-events` (kept there so that the event decoding
//! builds and fuzzes without the sandbox), and what a plugin is told of one.

pub use kelk_events::source::{LogEventsRef, ObjectRef, RecordRef, SourceRef};
use kelk_sandbox::SourceContext;

/// What `plugin` is told about `source` (the contract's `source-context`, which names a
/// stream record's stream as its bucket and its id as its key). `log-type` stays in the
/// contract until its next major version, and carries the plugin's own name.
pub(crate) fn context(source: &SourceRef, plugin: &str, options: &[(String, String)]) -> SourceContext {
    let [bucket, key, _] = source.identity();
    let version_id = match source {
        SourceRef::Object(o) => o.version_id.clone(),
        SourceRef::Record(_) | SourceRef::LogEvents(_) => None,
    };
    SourceContext {
        bucket: bucket.into(),
        key: key.into(),
        version_id,
        log_type: plugin.into(),
        options: options.to_vec(),
    }
}
