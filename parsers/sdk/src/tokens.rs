//! Splitting access-log lines into space-separated fields, some of them `"quoted"`.

/// One field of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    /// The text, without the quotes of a quoted field; escapes are left as they are.
    pub text: &'a [u8],
    pub quoted: bool,
}

/// The fields of a line, separated by runs of spaces. A quoted field ends at a `"` that is
/// not escaped by a backslash and is followed by a space or the end of the line, so a
/// stray quote inside a field does not end it.
#[derive(Clone)]
pub struct Tokens<'a> {
    rest: &'a [u8],
}

/// A quoted field whose closing quote never came.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unterminated;

impl<'a> Tokens<'a> {
    pub fn new(line: &'a [u8]) -> Self {
        Tokens { rest: line }
    }

    /// What is left of the line, from the start of the next field.
    pub fn rest(&self) -> &'a [u8] {
        let skip = self.rest.iter().take_while(|&&b| b == b' ').count();
        &self.rest[skip..]
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Result<Token<'a>, Unterminated>;

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.rest();
        match s.first()? {
            b'"' => {
                let body = &s[1..];
                let mut i = 0;
                while let Some(q) = memchr::memchr2(b'"', b'\\', &body[i..]) {
                    let j = i + q;
                    if body[j] == b'\\' {
                        i = j + 2;
                        if i > body.len() {
                            break;
                        }
                        continue;
                    }
                    if matches!(body.get(j + 1), None | Some(b' ')) {
                        self.rest = &body[j + 1..];
                        return Some(Ok(Token { text: &body[..j], quoted: true }));
                    }
                    i = j + 1;
                }
                self.rest = &[];
                Some(Err(Unterminated))
            }
            _ => {
                // Plain fields are short: a byte loop beats memchr's setup here.
                let end = s.iter().position(|&b| b == b' ').unwrap_or(s.len());
                self.rest = &s[end..];
                Some(Ok(Token { text: &s[..end], quoted: false }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<Result<String, Unterminated>> {
        Tokens::new(line.as_bytes()).map(|t| t.map(|t| String::from_utf8(t.text.to_vec()).unwrap())).collect()
    }

    #[test]
    fn splits_plain_and_quoted_fields() {
        assert_eq!(
            texts(r#"http 2018 "GET / HTTP/1.1" "" "-"  x"#),
            [
                Ok("http".into()),
                Ok("2018".into()),
                Ok("GET / HTTP/1.1".into()),
                Ok("".into()),
                Ok("-".into()),
                Ok("x".into())
            ]
        );
    }

    #[test]
    fn quotes_inside_a_quoted_field() {
        assert_eq!(texts(r#""a \" b" c"#), [Ok(r#"a \" b"#.into()), Ok("c".into())]);
        assert_eq!(
            texts(r#""GET /?q=alert("x") HTTP/1.1" 200"#),
            [Ok(r#"GET /?q=alert("x") HTTP/1.1"#.into()), Ok("200".into())]
        );
        assert_eq!(texts(r#""ends with backslash\\" z"#), [Ok(r#"ends with backslash\\"#.into()), Ok("z".into())]);
    }

    #[test]
    fn unterminated_quote() {
        assert_eq!(texts(r#"a "never closed"#), [Ok("a".into()), Err(Unterminated)]);
        assert_eq!(texts(r#"a "x\"#), [Ok("a".into()), Err(Unterminated)]);
    }
}
