//! Splitting a line into its fields, and checking as it goes that its quoting is whole.
//!
//! Fields are split as `kelk_parser_sdk::tokens` splits them: runs of spaces between them,
//! and a `"quoted"` field ending at a `"` that is not escaped by a backslash and is followed
//! by a space or the end of the line, so that a stray quote inside it does not end it. This
//! is that splitter again, in one pass that also notes the first quote a quoted field reads
//! past, which is how a line whose quoting is broken shows (see [`Shape`]).

use crate::MAX_FIELDS;
use kelk_parser_sdk::{Object, Reject, reject};

/// What a field may look like, for catching a line whose quoting is broken: the tokenizer
/// ends a quoted field at a quote followed by a space, so where that space is missing it runs
/// on into the fields after, which then cannot be told apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Never quoted: a quoted token here means the fields before it ran together.
    Bare,
    /// Quoted or not, but with no quote inside: AWS writes it, and puts none there.
    Plain,
    /// Anything: text from the client (a request, a user agent, a certificate's subject),
    /// which may hold quotes, and fields AWS has not defined yet.
    Text,
}

/// One field of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    /// The text, without the quotes of a quoted field; escapes are left as they are.
    pub text: &'a [u8],
    pub quoted: bool,
    /// Where in the text of a quoted field is the first quote not escaped by a backslash:
    /// one that no space followed, so the field went on past it.
    pub inner_quote: Option<usize>,
}

/// A quoted field whose closing quote never came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unterminated;

/// Splits the next field off `rest`; `None` at the end of the line. A quote that is never
/// closed takes the rest of the line with it.
// Always inlined, into the splitting loop above all: returned from a call, the token goes
// through memory, which cost the Wasm plugin 3 % of its instructions.
#[inline(always)]
pub fn token<'a>(rest: &mut &'a [u8]) -> Option<Result<Token<'a>, Unterminated>> {
    let s = skip_spaces(rest);
    if s.first()? != &b'"' {
        let end = field_len(s);
        *rest = &s[end..];
        return Some(Ok(Token { text: &s[..end], quoted: false, inner_quote: None }));
    }
    let body = &s[1..];
    let mut inner_quote = None;
    let mut i = 0;
    while let Some(j) = quote_or_backslash(body, i) {
        if body[j] == b'\\' {
            // The byte after a backslash is escaped, a quote included.
            i = j + 2;
            if i > body.len() {
                break;
            }
            continue;
        }
        if matches!(body.get(j + 1), None | Some(b' ')) {
            *rest = &body[j + 1..];
            return Some(Ok(Token { text: &body[..j], quoted: true, inner_quote }));
        }
        inner_quote = inner_quote.or(Some(j));
        i = j + 1;
    }
    *rest = &[];
    Some(Err(Unterminated))
}

/// `s` from its first byte that is not a space.
pub fn skip_spaces(s: &[u8]) -> &[u8] {
    match s {
        // The one space between two fields, without a loop.
        [b' ', rest @ ..] if rest.first() != Some(&b' ') => rest,
        _ => &s[s.iter().take_while(|&&b| b == b' ').count()..],
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` that is `byte`, exact up to the first such byte
/// (the one [`first`] finds).
fn bytes_equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGH
}

/// The index of the byte of the lowest high bit of `found`, in a word read little-endian.
fn first(found: u64) -> usize {
    (found.trailing_zeros() / 8) as usize
}

/// The eight bytes of `s` from `i`, if it has them, as one word.
fn word_at(s: &[u8], i: usize) -> Option<u64> {
    Some(u64::from_le_bytes(s.get(i..i + 8)?.try_into().expect("eight bytes")))
}

/// The length of the field `s` starts with: up to its first space. Eight bytes at a time,
/// as fields are short but many (a call to `memchr` costs more than it saves on them).
pub fn field_len(s: &[u8]) -> usize {
    let mut i = 0;
    while let Some(word) = word_at(s, i) {
        let spaces = bytes_equal(word, b' ');
        if spaces != 0 {
            return i + first(spaces);
        }
        i += 8;
    }
    i + s[i..].iter().position(|&b| b == b' ').unwrap_or(s.len() - i)
}

/// Where the first quote or backslash of `s` from `from` is. Quoted fields are longer than
/// plain ones (requests, user agents, ARNs), and `memchr2` beats eight bytes at a time on them.
fn quote_or_backslash(s: &[u8], from: usize) -> Option<usize> {
    memchr::memchr2(b'"', b'\\', s.get(from..)?).map(|p| from + p)
}

/// The fields of a line, on the stack; `-` past the last.
pub struct Fields<'a> {
    f: [&'a [u8]; MAX_FIELDS],
    /// How many the line has.
    pub n: usize,
    /// Those past `MAX_FIELDS`.
    extra: Vec<&'a [u8]>,
}

impl<'a> Fields<'a> {
    pub fn new() -> Self {
        Fields { f: [b"-"; MAX_FIELDS], n: 0, extra: Vec::new() }
    }

    /// Splits the rest of a line, of which `before` fields were taken already (reasons count
    /// fields from the line's start), checking each against its `shape`.
    pub fn split(&mut self, mut rest: &'a [u8], before: usize, shape: impl Fn(usize) -> Shape) -> Result<(), Reject> {
        while let Some(token) = token(&mut rest) {
            let field = || before + self.n + 1;
            let Ok(token) = token else {
                return Err(reject!("field {} opens a quote that is never closed", field()));
            };
            if token.quoted {
                match shape(self.n) {
                    Shape::Bare => {
                        return Err(reject!(
                            "field {} is quoted, which it never is: the quoting before it is broken \
                             (a closing quote without a space after it, or a space inside a field), so the \
                             fields cannot be told apart",
                            field()
                        ));
                    }
                    Shape::Plain => {
                        if let Some(q) = token.inner_quote {
                            return Err(reject!(
                                "field {} runs on past a quote (`{}`): the space after a closing quote \
                                 is missing, so the fields cannot be told apart",
                                field(),
                                crate::shown(&token.text[q..])
                            ));
                        }
                    }
                    Shape::Text => {}
                }
            }
            match self.f.get_mut(self.n) {
                Some(slot) => *slot = token.text,
                None => self.extra.push(token.text),
            }
            self.n += 1;
        }
        Ok(())
    }

    /// Keeps the fields after the `known` ones as `unknown_fields`: AWS appends fields over time.
    pub fn write_unknown(&self, elb: &mut Object, known: usize) {
        if self.n > known {
            elb.str_array("unknown_fields", self.f[known..self.n.min(MAX_FIELDS)].iter().chain(&self.extra).copied());
        }
    }
}

impl<'a> std::ops::Index<usize> for Fields<'a> {
    type Output = &'a [u8];

    fn index(&self, i: usize) -> &&'a [u8] {
        &self.f[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kelk_parser_sdk::tokens::Tokens;

    fn tokens(line: &[u8]) -> Vec<Result<Token<'_>, Unterminated>> {
        let mut rest = line;
        std::iter::from_fn(|| token(&mut rest)).collect()
    }

    /// Where the text of a quoted field has a quote the splitter read past.
    fn inner_quote(text: &[u8]) -> Option<usize> {
        let line = [b"\"", text, b"\""].concat();
        match tokens(&line)[..] {
            [Ok(token)] => token.inner_quote,
            ref other => panic!("{other:?}"),
        }
    }

    #[test]
    fn inner_quotes_are_found_as_the_tokenizer_reads_them() {
        assert_eq!(inner_quote(b"plain"), None);
        assert_eq!(inner_quote(br#"a\"b"#), None);
        assert_eq!(inner_quote(br#"a\\"b"#), Some(3));
        assert_eq!(inner_quote(br#"-"1"#), Some(1));
        assert_eq!(inner_quote(b"ends\\\\"), None);
        assert_eq!(inner_quote(br#"a much longer text, "quoted", \"escaped\" and ""#), Some(20));
    }

    /// The same fields as the SDK's tokenizer, whatever the quoting.
    #[test]
    fn fields_are_split_as_the_sdk_splits_them() {
        let lines: &[&[u8]] = &[
            br#"http 2018 "GET / HTTP/1.1" "" "-"  x"#,
            br#""a \" b" c"#,
            br#""GET /?q=alert("x") HTTP/1.1" 200"#,
            br#""ends with backslash\\" z"#,
            br#"a "never closed"#,
            br#"a "x\"#,
            br#"a "x\""#,
            br#"  leading and trailing spaces   "#,
            br#""-"0 2018-07-02T22:22:48.364000Z "forward" "-""#,
            br#""curl/7.46.0"- arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067"#,
            br#""a very long quoted field with \\ backslashes \" and "quotes" past the first eight bytes" "second""#,
            b"\"\"",
            b"\"",
            b"\\\"",
            b"x\"y\" \"z",
            br#""h2","http/1.1" 2018-12-20T02:59:38"#,
        ];
        for &line in lines {
            let ours: Vec<_> = tokens(line).into_iter().map(|t| t.map(|t| (t.text, t.quoted))).collect();
            let sdk: Vec<_> =
                Tokens::new(line).map(|t| t.map(|t| (t.text, t.quoted)).map_err(|_| Unterminated)).collect();
            assert_eq!(ours, sdk, "{}", String::from_utf8_lossy(line));
        }
    }

    /// Every line of spaces, quotes, backslashes and letters up to 24 bytes long that a simple
    /// generator makes: quoting broken every way it can be.
    #[test]
    fn any_line_is_split_as_the_sdk_splits_it() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut line = Vec::new();
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            for k in 0..(seed >> 59) as usize % 25 {
                line.push(b" \"\\ab"[(seed >> (k * 2 % 56)) as usize % 5]);
            }
            let ours: Vec<_> = tokens(&line).into_iter().map(|t| t.map(|t| (t.text, t.quoted))).collect();
            let sdk: Vec<_> =
                Tokens::new(&line).map(|t| t.map(|t| (t.text, t.quoted)).map_err(|_| Unterminated)).collect();
            assert_eq!(ours, sdk, "{}", String::from_utf8_lossy(&line));
        }
    }

    #[test]
    fn field_lengths() {
        for (s, len) in [("", 0), ("abc", 3), ("abc def", 3), ("0123456789abcdef ghi", 16), ("01234567 ", 8), (" x", 0)]
        {
            assert_eq!(field_len(s.as_bytes()), len, "{s}");
        }
    }
}
