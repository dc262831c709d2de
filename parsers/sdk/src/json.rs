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

    /// A nested object under `key`; it is omitted if nothing is written into it. Always inlined:
    /// on wasm LLVM otherwise leaves it a call, at some 5 % of ALB's instructions.
    #[inline(always)]
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
/// field name of ten bytes. Short pieces are copied here in words, the last word overlapping
/// the one before it, so a piece takes no loop over its bytes (on wasm each turn of a loop
/// also carries the CPU-deadline check).
#[inline(always)]
pub fn put(buf: &mut Vec<u8>, s: &[u8]) {
    const SHORT: usize = 64;
    let n = s.len();
    if n > SHORT {
        buf.extend_from_slice(s);
        return;
    }
    buf.reserve(n);
    let len = buf.len();
    let spare = &mut buf.spare_capacity_mut()[..n];
    let write = |to: &mut [std::mem::MaybeUninit<u8>], from: &[u8]| {
        for (slot, &byte) in to.iter_mut().zip(from) {
            slot.write(byte);
        }
    };
    let word = |at: usize| u64::from_ne_bytes(s[at..at + 8].try_into().expect("eight bytes")).to_ne_bytes();
    let half = |at: usize| u32::from_ne_bytes(s[at..at + 4].try_into().expect("four bytes")).to_ne_bytes();
    if n >= 8 {
        let mut at = 0;
        while at + 8 < n {
            write(&mut spare[at..at + 8], &word(at));
            at += 8;
        }
        write(&mut spare[n - 8..], &word(n - 8));
    } else if n >= 4 {
        write(&mut spare[..4], &half(0));
        write(&mut spare[n - 4..], &half(n - 4));
    } else {
        write(spare, s);
    }
    // SAFETY: the `n` bytes after `len` were initialised just above.
    unsafe { buf.set_len(len + n) };
}

/// The length of the prefix of `s` that can be copied into a JSON string as it is: the
/// hottest scan of every parser. Sixteen bytes at a time, then one last window of sixteen (or
/// eight, or four) overlapping what was found plain already, so no byte is looked at alone
/// unless `s` is shorter than four bytes.
#[inline]
fn plain_prefix(s: &[u8]) -> usize {
    let n = s.len();
    // A window only finds special bytes past those already found plain, so the first it finds
    // is the first of `s`.
    let window = |at: usize, width: usize, first: fn(&[u8]) -> usize| {
        let f = first(&s[at..at + width]);
        (f < width).then_some(at + f)
    };
    if n >= 16 {
        let mut at = 0;
        while at + 16 <= n {
            if let Some(i) = window(at, 16, first_special_16) {
                return i;
            }
            at += 16;
        }
        return if at == n { n } else { window(n - 16, 16, first_special_16).unwrap_or(n) };
    }
    if n >= 8 {
        return window(0, 8, first_special_8).or_else(|| window(n - 8, 8, first_special_8)).unwrap_or(n);
    }
    if n >= 4 {
        return window(0, 4, first_special_4).or_else(|| window(n - 4, 4, first_special_4)).unwrap_or(n);
    }
    s.iter().position(|&b| !PLAIN[b as usize]).unwrap_or(n)
}

/// SWAR over the bytes of `x` (`ones` has a 1 in each): the high bit of each byte that is a
/// control byte (< 0x20), a quote, a backslash, or non-ASCII. Above the first such byte there
/// can be false ones (borrows), so only the lowest set bit is to be trusted.
#[inline(always)]
fn special_bits(x: u64, ones: u64) -> u64 {
    let high = ones * 0x80;
    let has_zero = |v: u64| v.wrapping_sub(ones) & !v & high;
    let control = x.wrapping_sub(ones * 0x20) & !x;
    (control | has_zero(x ^ (ones * b'"' as u64)) | has_zero(x ^ (ones * b'\\' as u64)) | x) & high
}

/// The index of the first byte of `s` (eight bytes) that needs escaping, or 8.
#[inline(always)]
fn first_special_8(s: &[u8]) -> usize {
    let x = u64::from_le_bytes(s.try_into().expect("eight bytes"));
    (special_bits(x, 0x0101_0101_0101_0101).trailing_zeros() / 8) as usize
}

/// The index of the first byte of `s` (four bytes) that needs escaping, or 4.
#[inline(always)]
fn first_special_4(s: &[u8]) -> usize {
    let x = u64::from(u32::from_le_bytes(s.try_into().expect("four bytes")));
    ((special_bits(x, 0x0101_0101) | 1 << 32).trailing_zeros() / 8) as usize
}

/// The index of the first byte of `s` (sixteen bytes) that needs escaping, or 16: one SIMD
/// compare where the target has it (wasm's simd128, which the plugins are built with; x86-64's
/// SSE2), two words elsewhere.
#[inline(always)]
fn first_special_16(s: &[u8]) -> usize {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        let b: [u8; 16] = s.try_into().expect("sixteen bytes");
        let x =
            u8x16(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
        // Signed, the non-ASCII bytes are negative: below 0x20 with the control bytes.
        let special = v128_or(
            i8x16_lt(x, i8x16_splat(0x20)),
            v128_or(i8x16_eq(x, i8x16_splat(b'"' as i8)), i8x16_eq(x, i8x16_splat(b'\\' as i8))),
        );
        (u32::from(i8x16_bitmask(special)) | 1 << 16).trailing_zeros() as usize
    }
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::*;
        let b: &[u8; 16] = s.try_into().expect("sixteen bytes");
        // SAFETY: SSE2 is part of x86-64; the load reads the sixteen bytes of `b`, unaligned.
        // Signed, the non-ASCII bytes are negative: below 0x20 with the control bytes.
        let mask = unsafe {
            let x = _mm_loadu_si128(b.as_ptr().cast());
            let quote_or_backslash = _mm_or_si128(
                _mm_cmpeq_epi8(x, _mm_set1_epi8(b'"' as i8)),
                _mm_cmpeq_epi8(x, _mm_set1_epi8(b'\\' as i8)),
            );
            _mm_movemask_epi8(_mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)), quote_or_backslash))
        };
        ((mask as u32) | 1 << 16).trailing_zeros() as usize
    }
    #[cfg(not(any(all(target_arch = "wasm32", target_feature = "simd128"), target_arch = "x86_64")))]
    {
        let low = first_special_8(&s[..8]);
        if low < 8 { low } else { 8 + first_special_8(&s[8..]) }
    }
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
        let base = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".to_vec();
        // Every length, for each way of scanning (words of 4, 8, 16, the overlapping last
        // window), and a second special byte after the first, which must not be the one found.
        for len in 0..=base.len() {
            assert_eq!(plain_prefix(&base[..len]), len);
            for special in [b'"', b'\\', b'\n', 0x00, 0x1f, 0x7f, 0x80, 0xff] {
                for at in 0..len {
                    let mut s = base[..len].to_vec();
                    s[at] = special;
                    if at + 1 < len {
                        s[len - 1] = b'"';
                    }
                    let want = if special != 0x7f {
                        at
                    } else if at + 1 < len {
                        len - 1
                    } else {
                        len
                    };
                    assert_eq!(plain_prefix(&s), want, "byte {special:#x} at {at} of {len}");
                }
            }
        }
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
