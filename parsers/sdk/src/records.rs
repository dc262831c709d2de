//! Reading JSON-lines formats (one JSON object per line) with serde, for plugins that enable
//! the SDK's `serde` feature: the line as text, the record deserialized from it with the
//! rejection a person can act on, and [`Text`], a string member borrowed from the line.

use crate::{Reject, reject};
use serde::Deserialize;
use std::borrow::Cow;

/// The line as text: borrowed when it is UTF-8 (checked first, as valid lines are the rule),
/// else with the invalid bytes replaced, as the documents' writer would replace them.
pub fn text(line: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(line) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(line),
    }
}

/// The record of one line, or a rejection saying it is not a `what` (a JSON object).
pub fn record<'a, T: Deserialize<'a>>(text: &'a str, what: &str) -> Result<T, Reject> {
    // serde would also take an array for a struct, member by member.
    if !text.trim_ascii_start().starts_with('{') {
        return Err(reject!("not a {what}: not a JSON object"));
    }
    serde_json::from_str(text).map_err(|e| reject!("not a {what}: {e}"))
}

/// A JSON string borrowed from the line unless it has escapes to decode: serde's own `Cow`
/// always copies inside an `Option`.
pub struct Text<'a>(pub Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct R<'a> {
        #[serde(borrow)]
        a: Option<Text<'a>>,
    }

    #[test]
    fn strings_are_borrowed_unless_escaped_and_non_objects_rejected() {
        let r: R = record(r#"{"a":"plain"}"#, "test record").unwrap();
        assert!(matches!(r.a.unwrap().0, Cow::Borrowed("plain")));
        let r: R = record(r#"{"a":"tab\there"}"#, "test record").unwrap();
        assert!(matches!(r.a.unwrap().0, Cow::Owned(ref s) if s == "tab\there"));
        assert_eq!(record::<R>(" [1]", "test record").err().unwrap().0, "not a test record: not a JSON object");
        assert!(record::<R>("{", "test record").err().unwrap().0.starts_with("not a test record: "));
        assert_eq!(text(b"a\xffb"), "a\u{fffd}b");
    }
}
