//! A JSON object writer that appends straight to the batch buffer: no tree per line.
//!
//! Nested objects close themselves when dropped, and an object that received no field
//! disappears entirely, so a parser can open `tls` and write only what the line has.

use crate::Timestamp;

/// Bytes that can be copied into a JSON string as they are.
static PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0x20;
    while i < 0x80 {
        t[i] = i != b'"' as usize && i != b'\\' as usize;
        i += 1;
    }
    t
};

/// An open JSON object. Fields are written in call order; keys are not checked for duplicates.
pub struct Object<'a> {
    buf: &'a mut Vec<u8>,
    empty: bool,
    /// For a nested object: the parent's `empty` flag, its value before this object's key,
    /// and where that key began, so that an object left empty can be taken back out.
    parent: Option<(&'a mut bool, bool, usize)>,
}

impl<'a> Object<'a> {
    /// Starts a top-level object at the end of `buf`.
    pub fn new(buf: &'a mut Vec<u8>) -> Self {
        buf.push(b'{');
        Object { buf, empty: true, parent: None }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.buf.push(b',');
        }
        self.empty = false;
        write_str(self.buf, key.as_bytes());
        self.buf.push(b':');
    }

    /// A nested object under `key`; it is omitted if nothing is written into it.
    pub fn object(&mut self, key: &str) -> Object<'_> {
        let start = self.buf.len();
        let was_empty = self.empty;
        self.key(key);
        self.buf.push(b'{');
        Object {
            buf: &mut *self.buf,
            empty: true,
            parent: Some((&mut self.empty, was_empty, start)),
        }
    }

    /// A string; invalid UTF-8 is replaced with U+FFFD.
    pub fn str(&mut self, key: &str, value: &[u8]) -> &mut Self {
        self.key(key);
        write_str(self.buf, value);
        self
    }

    /// A string if present.
    pub fn opt_str(&mut self, key: &str, value: Option<&[u8]>) -> &mut Self {
        if let Some(v) = value {
            self.str(key, v);
        }
        self
    }

    pub fn u64(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        write_u64(self.buf, value);
        self
    }

    pub fn i64(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key);
        if value < 0 {
            self.buf.push(b'-');
        }
        write_u64(self.buf, value.unsigned_abs());
        self
    }

    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key);
        self.buf.extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    /// An ISO 8601 UTC timestamp string.
    pub fn timestamp(&mut self, key: &str, t: Timestamp) -> &mut Self {
        self.key(key);
        self.buf.push(b'"');
        t.write_iso(self.buf);
        self.buf.push(b'"');
        self
    }

    /// A number given as decimal text, copied as it is. `None` (and so nothing written)
    /// unless the text is a JSON number.
    pub fn number_text(&mut self, key: &str, text: &[u8]) -> Option<&mut Self> {
        if !is_json_number(text) {
            return None;
        }
        self.key(key);
        self.buf.extend_from_slice(text);
        Some(self)
    }

    /// An array of strings.
    pub fn str_array<'v>(&mut self, key: &str, values: impl IntoIterator<Item = &'v [u8]>) -> &mut Self {
        self.key(key);
        self.buf.push(b'[');
        for (i, v) in values.into_iter().enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            write_str(self.buf, v);
        }
        self.buf.push(b']');
        self
    }

    /// A value that is already JSON text, written as it is. The caller vouches for it.
    pub fn raw(&mut self, key: &str, json: &[u8]) -> &mut Self {
        self.key(key);
        self.buf.extend_from_slice(json);
        self
    }
}

impl Drop for Object<'_> {
    fn drop(&mut self) {
        match self.parent.take() {
            Some((parent_empty, was_empty, start)) if self.empty => {
                self.buf.truncate(start);
                *parent_empty = was_empty;
            }
            _ => self.buf.push(b'}'),
        }
    }
}

/// Appends `s` as a JSON string, escaping what JSON requires and replacing invalid UTF-8.
pub fn write_str(buf: &mut Vec<u8>, s: &[u8]) {
    buf.push(b'"');
    let mut rest = s;
    while !rest.is_empty() {
        let plain = rest.iter().position(|&b| !PLAIN[b as usize]).unwrap_or(rest.len());
        buf.extend_from_slice(&rest[..plain]);
        rest = &rest[plain..];
        let Some(&b) = rest.first() else { break };
        if b < 0x80 {
            match b {
                b'"' => buf.extend_from_slice(b"\\\""),
                b'\\' => buf.extend_from_slice(b"\\\\"),
                b'\n' => buf.extend_from_slice(b"\\n"),
                b'\r' => buf.extend_from_slice(b"\\r"),
                b'\t' => buf.extend_from_slice(b"\\t"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    buf.extend_from_slice(b"\\u00");
                    buf.push(HEX[(b >> 4) as usize]);
                    buf.push(HEX[(b & 0xf) as usize]);
                }
            }
            rest = &rest[1..];
        } else {
            // Copy the run of non-ASCII bytes that is valid UTF-8, then one replacement char.
            let run = rest.iter().position(|&b| b < 0x80).unwrap_or(rest.len());
            let (valid, bad) = match std::str::from_utf8(&rest[..run]) {
                Ok(_) => (run, 0),
                Err(e) => (e.valid_up_to(), e.error_len().unwrap_or(run - e.valid_up_to())),
            };
            buf.extend_from_slice(&rest[..valid]);
            if bad > 0 {
                buf.extend_from_slice("\u{fffd}".as_bytes());
            }
            rest = &rest[valid + bad..];
        }
    }
    buf.push(b'"');
}

/// Appends the decimal digits of `v`.
pub fn write_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// True if `t` is a JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
pub fn is_json_number(t: &[u8]) -> bool {
    let mut i = usize::from(t.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < t.len() && t[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    let int_start = i;
    let n = digits(&mut i);
    if n == 0 || (n > 1 && t[int_start] == b'0') {
        return false;
    }
    if t.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(t.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(t.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == t.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(f: impl FnOnce(&mut Object)) -> String {
        let mut buf = Vec::new();
        f(&mut Object::new(&mut buf));
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn nested_objects_close_and_empty_ones_vanish() {
        let s = doc(|o| {
            o.str("a", b"x");
            o.object("empty");
            {
                let mut src = o.object("source");
                src.str("ip", b"10.0.0.1").u64("port", 80);
                src.object("nothing");
            }
            o.object("also_empty").object("deeper");
            o.i64("n", -5);
        });
        assert_eq!(s, r#"{"a":"x","source":{"ip":"10.0.0.1","port":80},"n":-5}"#);
        serde_json::from_str::<serde_json::Value>(&s).unwrap();
    }

    #[test]
    fn first_field_inside_an_object_that_was_empty_before() {
        let s = doc(|o| {
            o.object("gone");
            o.object("kept").bool("b", true);
        });
        assert_eq!(s, r#"{"kept":{"b":true}}"#);
    }

    #[test]
    fn strings_are_escaped_and_bad_utf8_is_replaced() {
        let s = doc(|o| {
            o.str("s", b"q\"b\\n\n\t\x01 \xc3\xa9 \xff\xfe end");
        });
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["s"], "q\"b\\n\n\t\u{1} é \u{fffd}\u{fffd} end");
    }

    #[test]
    fn truncated_utf8_at_the_end_is_replaced() {
        let s = doc(|o| {
            o.str("s", b"ok\xe2\x82");
        });
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["s"], "ok\u{fffd}");
    }

    #[test]
    fn numbers() {
        for good in ["0", "-1", "0.000", "12.5", "1e5", "-0.1E-3"] {
            assert!(is_json_number(good.as_bytes()), "{good}");
        }
        for bad in ["", "-", "01", "1.", ".5", "1e", "+1", "1,0", "NaN", "-1.0.0"] {
            assert!(!is_json_number(bad.as_bytes()), "{bad}");
        }
        let s = doc(|o| {
            assert!(o.number_text("bad", b"x1").is_none());
            o.number_text("t", b"0.086").unwrap();
            o.u64("max", u64::MAX);
            o.i64("min", i64::MIN);
        });
        assert_eq!(s, r#"{"t":0.086,"max":18446744073709551615,"min":-9223372036854775808}"#);
    }
}
