//! A reader for one JSON object of scalar members: a line of standard logging v2's JSON output.
//!
//! It borrows from the line whatever needs no decoding (most values), so a line costs no
//! allocation unless a string holds an escape; and it is strict, because a line that is not
//! valid JSON is rejected, never half read.

use std::borrow::Cow;

/// A member's value: a string's contents, or a number, `true` or `false` as written; `None`
/// for `null`.
pub type Value<'a> = Option<Cow<'a, [u8]>>;

/// Calls `member` with each key and value of the object `line`, in order. An error says what
/// is wrong and where; `member` may have seen the members before it.
pub fn members<'a>(line: &'a [u8], mut member: impl FnMut(Cow<'a, [u8]>, Value<'a>)) -> Result<(), String> {
    let mut r = Reader { line, at: 0 };
    r.whitespace();
    r.expect(b'{', "`{`")?;
    r.whitespace();
    if !r.eat(b'}') {
        loop {
            let key = r.string()?;
            r.whitespace();
            r.expect(b':', "`:`")?;
            r.whitespace();
            let value = r.value(&key)?;
            member(key, value);
            r.whitespace();
            if r.eat(b'}') {
                break;
            }
            r.expect(b',', "`,` or `}`")?;
            r.whitespace();
        }
    }
    r.whitespace();
    match r.at == line.len() {
        true => Ok(()),
        false => Err(r.error("the end of the line after the object")),
    }
}

struct Reader<'a> {
    line: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, expected: &str) -> String {
        format!("not a JSON log line: expected {expected} at byte {}", self.at + 1)
    }

    fn whitespace(&mut self) {
        while matches!(self.line.get(self.at), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.line.get(self.at) == Some(&byte);
        self.at += usize::from(found);
        found
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), String> {
        if self.eat(byte) { Ok(()) } else { Err(self.error(what)) }
    }

    fn value(&mut self, key: &[u8]) -> Result<Value<'a>, String> {
        let rest = &self.line[self.at..];
        match rest.first() {
            Some(b'"') => self.string().map(Some),
            Some(b'-' | b'0'..=b'9') => self.number().map(|n| Some(Cow::Borrowed(n))),
            Some(b'{' | b'[') => Err(format!(
                "`{}` is an object or an array: not a CloudFront log field, which is a string or a number",
                String::from_utf8_lossy(key)
            )),
            _ => {
                let literal = [&b"null"[..], b"true", b"false"].into_iter().find(|l| rest.starts_with(l));
                let literal = literal.ok_or_else(|| self.error("a value"))?;
                self.at += literal.len();
                Ok((literal != b"null").then_some(Cow::Borrowed(literal)))
            }
        }
    }

    /// A number, as written: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Result<&'a [u8], String> {
        let rest = &self.line[self.at..];
        let len = rest.iter().take_while(|c| matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')).count();
        if !kelk_parser_sdk::json::is_json_number(&rest[..len]) {
            return Err(self.error("a number"));
        }
        self.at += len;
        Ok(&rest[..len])
    }

    /// A string's contents, decoded.
    fn string(&mut self) -> Result<Cow<'a, [u8]>, String> {
        self.expect(b'"', "a string")?;
        let start = self.at;
        let mut escaped = false;
        loop {
            let Some(i) = self.line.get(self.at..).and_then(|rest| memchr::memchr2(b'"', b'\\', rest)) else {
                self.at = start - 1;
                return Err(self.error("a string that ends"));
            };
            self.at += i;
            if self.line[self.at] == b'"' {
                break;
            }
            escaped = true;
            self.at += 2; // the backslash and the byte it escapes, checked when decoding
        }
        let raw = &self.line[start..self.at];
        self.at += 1;
        if let Some(i) = raw.iter().position(|&c| c < 0x20) {
            self.at = start + i;
            return Err(self.error("no control character inside a string"));
        }
        if !escaped {
            return Ok(Cow::Borrowed(raw));
        }
        unescape(raw).map(Cow::Owned).map_err(|i| {
            self.at = start + i;
            self.error("a JSON escape")
        })
    }
}

/// Decodes a JSON string's escapes; `Err` has the offset of a bad one. A `\u` escape of half a
/// surrogate pair becomes U+FFFD, as invalid UTF-8 does in the documents.
fn unescape(raw: &[u8]) -> Result<Vec<u8>, usize> {
    let hex4 = |at: usize| raw.get(at..at + 4)?.iter().try_fold(0, |n, &c| Some(n * 16 + (c as char).to_digit(16)?));
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(j) = memchr::memchr(b'\\', &raw[i..]) {
        out.extend_from_slice(&raw[i..i + j]);
        i += j;
        let byte = match raw.get(i + 1) {
            Some(&c @ (b'"' | b'\\' | b'/')) => c,
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'u') => {
                let unit = hex4(i + 2).ok_or(i)?;
                i += 6;
                let low = if (0xd800..0xdc00).contains(&unit) && raw[i..].starts_with(b"\\u") {
                    hex4(i + 2).filter(|low| (0xdc00..0xe000).contains(low))
                } else {
                    None
                };
                let c = match low {
                    Some(low) => {
                        i += 6;
                        char::from_u32(0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00))
                    }
                    None => char::from_u32(unit),
                };
                let mut utf8 = [0; 4];
                out.extend_from_slice(c.unwrap_or('\u{fffd}').encode_utf8(&mut utf8).as_bytes());
                continue;
            }
            _ => return Err(i),
        };
        out.push(byte);
        i += 2;
    }
    out.extend_from_slice(&raw[i..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str) -> Result<Vec<(String, Option<String>)>, String> {
        let mut got = Vec::new();
        members(line.as_bytes(), |k, v| {
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            got.push((text(&k), v.as_deref().map(text)))
        })?;
        Ok(got)
    }

    fn pairs(pairs: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.map(str::to_string))).collect()
    }

    #[test]
    fn scalar_members_in_order() {
        assert_eq!(
            read(
                r#" { "date":"2024-11-14", "sc-status" : 200,"time-taken":0.5e-1,"a":null,"b":true,"c":false,"d":""} "#
            ),
            Ok(pairs(&[
                ("date", Some("2024-11-14")),
                ("sc-status", Some("200")),
                ("time-taken", Some("0.5e-1")),
                ("a", None),
                ("b", Some("true")),
                ("c", Some("false")),
                ("d", Some("")),
            ]))
        );
        assert_eq!(read("{}"), Ok(vec![]));
    }

    #[test]
    fn escapes_are_decoded_and_plain_strings_borrowed() {
        assert_eq!(
            read(r#"{"k\"ey":"a\"b\\c\/d\n\u00e9\ud83d\ude00\ud800x"}"#),
            Ok(pairs(&[("k\"ey", Some("a\"b\\c/d\né\u{1f600}\u{fffd}x"))]))
        );
        let mut borrowed = false;
        members(br#"{"k":"plain"}"#, |_, v| borrowed = matches!(v, Some(Cow::Borrowed(_)))).unwrap();
        assert!(borrowed);
    }

    #[test]
    fn what_is_not_json_is_an_error_saying_where() {
        for (line, error) in [
            (r#"{"a":"b""#, "expected `,` or `}` at byte 9"),
            (r#"{"a" "b"}"#, "expected `:` at byte 6"),
            (r#"{"a":"b}"#, "expected a string that ends at byte 6"),
            (r#"{"a":"b\"}"#, "expected a string that ends at byte 6"),
            (r#"{"a":b}"#, "expected a value at byte 6"),
            (r#"{"a":01}"#, "expected a number at byte 6"),
            (r#"{"a":"\q"}"#, "expected a JSON escape at byte 7"),
            (r#"{"a":"\u12"}"#, "expected a JSON escape at byte 7"),
            (r#"{"a":"b"} x"#, "expected the end of the line after the object at byte 11"),
            (r#"{a:1}"#, "expected a string at byte 2"),
            (r#"{"a":1,}"#, "expected a string at byte 8"),
            ("{\"a\":\"x\ty\"}", "expected no control character inside a string at byte 8"),
        ] {
            assert_eq!(read(line), Err(format!("not a JSON log line: {error}")), "{line}");
        }
        assert_eq!(
            read(r#"{"cs-headers":{"a":1}}"#),
            Err("`cs-headers` is an object or an array: not a CloudFront log field, which is a string or a number"
                .into())
        );
    }
}
