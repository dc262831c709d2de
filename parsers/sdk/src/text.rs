//! Undoing the escapes logs put in their fields.

use std::borrow::Cow;

/// Undoes the backslash escapes that access logs write inside quoted fields: `\"`, `\\`,
/// `\n`, `\r`, `\t` and `\xHH`. Anything else after a backslash is kept as it is.
pub fn unescape(text: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr::memchr(b'\\', text) else {
        return Cow::Borrowed(text);
    };
    let mut out = Vec::with_capacity(text.len());
    out.extend_from_slice(&text[..first]);
    let mut i = first;
    while i < text.len() {
        let b = text[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let hex = |c: u8| (c as char).to_digit(16);
        match text.get(i + 1) {
            Some(&c @ (b'"' | b'\\')) => (out.push(c), i += 2),
            Some(b'n') => (out.push(b'\n'), i += 2),
            Some(b'r') => (out.push(b'\r'), i += 2),
            Some(b't') => (out.push(b'\t'), i += 2),
            Some(b'x') => match (text.get(i + 2).and_then(|&c| hex(c)), text.get(i + 3).and_then(|&c| hex(c))) {
                (Some(h), Some(l)) => (out.push((h * 16 + l) as u8), i += 4),
                _ => (out.push(b), i += 1),
            },
            _ => (out.push(b), i += 1),
        };
    }
    Cow::Owned(out)
}

/// Decodes `%HH` percent escapes (and nothing else: `+` stays `+`). A `%` not followed by two
/// hex digits is kept as it is.
pub fn percent_decode(text: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = memchr::memchr(b'%', text) else {
        return Cow::Borrowed(text);
    };
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(text.len());
    out.extend_from_slice(&text[..first]);
    let mut i = first;
    while i < text.len() {
        match (text[i], text.get(i + 1).and_then(|&c| hex(c)), text.get(i + 2).and_then(|&c| hex(c))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes() {
        assert!(matches!(unescape(b"plain"), Cow::Borrowed(_)));
        assert_eq!(&*unescape(br#"a \"q\" \\ \x41\xc3\xa9 \t \z \x4"#), b"a \"q\" \\ A\xc3\xa9 \t \\z \\x4");
    }

    #[test]
    fn percent_decodes() {
        assert!(matches!(percent_decode(b"plain+text"), Cow::Borrowed(_)));
        assert_eq!(&*percent_decode(b"Mozilla/5.0%20(X11)%2520%zz%4"), b"Mozilla/5.0 (X11)%20%zz%4");
        assert_eq!(&*percent_decode(b"%E2%82%AC"), "\u{20ac}".as_bytes());
    }
}
