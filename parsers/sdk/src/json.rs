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

    #[inline(always)]
    fn key(&mut self, key: &str) {
        // Keys are the parser's own field names: written as they are, without escaping.
        debug_assert!(key.bytes().all(|b| PLAIN[b as usize]), "field name {key:?} needs escaping");
        if !self.empty {
            self.buf.push(b',');
        }
        self.empty = false;
        self.buf.push(b'"');
        put(self.buf, key.as_bytes());
        self.buf.push(b'"');
        self.buf.push(b':');
    }

    /// A nested object under `key`; it is omitted if nothing is written into it.
    #[inline]
    pub fn object(&mut self, key: &str) -> Object<'_> {
        let start = self.buf.len();
        let was_empty = self.empty;
        self.key(key);
        self.buf.push(b'{');
        Object { buf: &mut *self.buf, empty: true, parent: Some((&mut self.empty, was_empty, start)) }
    }

    /// A string; invalid UTF-8 is replaced with U+FFFD.
    #[inline]
    pub fn str(&mut self, key: &str, value: &[u8]) -> &mut Self {
        self.key(key);
        write_str(self.buf, value);
        self
    }

    /// A string if present.
    #[inline]
    pub fn opt_str(&mut self, key: &str, value: Option<&[u8]>) -> &mut Self {
        if let Some(v) = value {
            self.str(key, v);
        }
        self
    }

    #[inline]
    pub fn u64(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        write_u64(self.buf, value);
        self
    }

    #[inline]
    pub fn i64(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key);
        if value < 0 {
            self.buf.push(b'-');
        }
        write_u64(self.buf, value.unsigned_abs());
        self
    }

    #[inline]
    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key);
        self.buf.extend_from_slice(if value { b"true" } else { b"false" });
        self
    }

    /// An ISO 8601 UTC timestamp string.
    #[inline]
    pub fn timestamp(&mut self, key: &str, t: Timestamp) -> &mut Self {
        self.key(key);
        self.buf.push(b'"');
        t.write_iso(self.buf);
        self.buf.push(b'"');
        self
    }

    /// The timestamp `t` parsed from `text`: `text` itself when it is already ISO 8601 UTC
    /// (`YYYY-MM-DDTHH:MM:SS[.f]Z`, as AWS writes it), which spares formatting it again. Not
    /// with more than nine fraction digits, which OpenSearch's dates do not read.
    #[inline]
    pub fn timestamp_text(&mut self, key: &str, text: &[u8], t: Timestamp) -> &mut Self {
        let utc = (20..=30).contains(&text.len())
            && text[10] == b'T'
            && text.ends_with(b"Z")
            && (text.len() == 20 || text[19] == b'.');
        if utc { self.str(key, text) } else { self.timestamp(key, t) }
    }

    /// A number given as decimal text, copied as it is. `None` (and so nothing written)
    /// unless the text is a JSON number that an OpenSearch `float` holds (up to 3.4e38).
    #[inline]
    pub fn number_text(&mut self, key: &str, text: &[u8]) -> Option<&mut Self> {
        if !is_json_number(text) || !fits_float(text) {
            return None;
        }
        self.key(key);
        put(self.buf, text);
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

    /// Fields that are already JSON text (`"a":1,"b":{"c":"d"}`), written as they are: for
    /// the constant part of every document, at the cost of one copy. The caller vouches for it.
    #[inline]
    pub fn fields(&mut self, json: &str) -> &mut Self {
        if !self.empty {
            self.buf.push(b',');
        }
        self.empty = json.is_empty() && self.empty;
        put(self.buf, json.as_bytes());
        self
    }

    /// A value that is already JSON text, written as it is. The caller vouches for it.
    #[inline]
    pub fn raw(&mut self, key: &str, json: &[u8]) -> &mut Self {
        self.key(key);
        self.buf.extend_from_slice(json);
        self
    }
}

impl Drop for Object<'_> {
    #[inline]
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
        let plain = plain_prefix(rest);
        put(buf, &rest[..plain]);
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

/// Appends `s` to `buf`. Documents are built from many short pieces, and on wasm every
/// `memcpy` is a `memory.copy`, which wasmtime runs as a call out to the host: dear for a
/// field name of ten bytes. Short pieces are copied here, eight bytes at a time.
#[inline(always)]
pub fn put(buf: &mut Vec<u8>, s: &[u8]) {
    const SHORT: usize = 64;
    if s.len() > SHORT {
        buf.extend_from_slice(s);
        return;
    }
    buf.reserve(s.len());
    let len = buf.len();
    let spare = &mut buf.spare_capacity_mut()[..s.len()];
    let mut words = spare.chunks_exact_mut(8);
    let mut from = s.chunks_exact(8);
    for (to, word) in (&mut words).zip(&mut from) {
        let word = u64::from_ne_bytes(word.try_into().expect("eight bytes"));
        for (slot, byte) in to.iter_mut().zip(word.to_ne_bytes()) {
            slot.write(byte);
        }
    }
    for (slot, &byte) in words.into_remainder().iter_mut().zip(from.remainder()) {
        slot.write(byte);
    }
    // SAFETY: the `s.len()` bytes after `len` were initialised just above.
    unsafe { buf.set_len(len + s.len()) };
}

/// The length of the prefix of `s` that can be copied into a JSON string as it is. Eight
/// bytes at a time: this is the hottest loop of every parser.
#[inline]
fn plain_prefix(s: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(word) = s.get(i..i + 8) {
        let x = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        // A control byte (< 0x20), a quote, a backslash, or a non-ASCII byte.
        let special = (x.wrapping_sub(ONES * 0x20) & !x)
            | has_zero(x ^ (ONES * b'"' as u64))
            | has_zero(x ^ (ONES * b'\\' as u64))
            | x;
        if special & HIGH != 0 {
            break;
        }
        i += 8;
    }
    i + s[i..].iter().position(|&b| !PLAIN[b as usize]).unwrap_or(s.len() - i)
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
    put(buf, &tmp[i..]);
}

/// Whether the JSON number `t` is within the range of a single-precision float: OpenSearch
/// refuses a document with a larger one in a `float` field. Most numbers are short and plain.
fn fits_float(t: &[u8]) -> bool {
    let plain = t.len() <= 38 && !t.iter().any(|&c| c == b'e' || c == b'E');
    plain
        || std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .is_some_and(|v| v.abs() <= f64::from(f32::MAX))
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
    fn timestamps_from_text() {
        let t = crate::time::parse_iso8601(b"2018-07-02T22:23:00.186000Z").unwrap();
        let s = doc(|o| {
            o.timestamp_text("a", b"2018-07-02T22:23:00.186000Z", t);
            o.timestamp_text("b", b"2018-07-02 22:23:00.186", t);
            o.timestamp_text("c", b"2018-07-02T23:23:00.186+01:00", t);
            o.timestamp_text("d", b"2018-07-02T22:23:00.186000000Z", t);
            o.timestamp_text("e", b"2018-07-02T22:23:00.1860000001Z", t);
        });
        assert_eq!(
            s,
            r#"{"a":"2018-07-02T22:23:00.186000Z","b":"2018-07-02T22:23:00.186Z","c":"2018-07-02T22:23:00.186Z","d":"2018-07-02T22:23:00.186000000Z","e":"2018-07-02T22:23:00.186Z"}"#
        );
    }

    #[test]
    fn pre_rendered_fields() {
        let s = doc(|o| {
            o.fields(r#""a":1,"b":{"c":"d"}"#).u64("e", 2);
            o.object("f").fields(r#""g":true"#);
        });
        assert_eq!(s, r#"{"a":1,"b":{"c":"d"},"e":2,"f":{"g":true}}"#);
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
    fn plain_prefix_stops_at_the_first_special_byte() {
        let base = b"abcdefghijklmnopqrstuvwxyz0123456789".to_vec();
        for special in [b'"', b'\\', b'\n', 0x00, 0x1f, 0x7f, 0x80, 0xff] {
            for at in 0..base.len() {
                let mut s = base.clone();
                s[at] = special;
                let want = if special == 0x7f { s.len() } else { at };
                assert_eq!(plain_prefix(&s), want, "byte {special:#x} at {at}");
            }
        }
        assert_eq!(plain_prefix(b""), 0);
        assert_eq!(plain_prefix(&base), base.len());
    }

    #[test]
    fn put_appends_pieces_of_every_length() {
        let source: Vec<u8> = (0..200u8).collect();
        for n in 0..source.len() {
            let mut buf = b"head".to_vec();
            put(&mut buf, &source[..n]);
            assert_eq!(&buf[..4], b"head");
            assert_eq!(&buf[4..], &source[..n]);
        }
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
            // More than a float holds: OpenSearch would refuse the document.
            assert!(o.number_text("big", b"1e39").is_none());
            assert!(o.number_text("big", &[b'9'; 39]).is_none());
            o.number_text("f", b"3.4e38").unwrap();
            o.number_text("t", b"0.086").unwrap();
            o.u64("max", u64::MAX);
            o.i64("min", i64::MIN);
        });
        assert_eq!(s, r#"{"f":3.4e38,"t":0.086,"max":18446744073709551615,"min":-9223372036854775808}"#);
    }
}
