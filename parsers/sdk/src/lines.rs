//! Line splitting across chunk boundaries, so that a line-format parser sees whole lines.

use crate::{Batch, EXCERPT_BYTES, Fatal, Object, Open, Outcome, Parser, Plugin, Record, SourceContext};

/// Lines longer than this are rejected, unless the `max_line_bytes` option says otherwise.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// A parser of a line-oriented format: one line in, at most one document out.
pub trait LineParser: Open {
    /// Parses one non-empty line, without its `\n` or `\r\n`, into `doc`.
    fn parse_line(&mut self, line: &[u8], doc: &mut Object) -> Outcome;
}

/// Turns a [`LineParser`] into a [`Parser`]: carries a partial line from one chunk to the
/// next, numbers lines, skips blank ones, and rejects overlong ones without holding them.
pub struct Lines<P> {
    parser: P,
    /// The part of the current line seen so far; only its excerpt once it is overlong.
    carry: Vec<u8>,
    /// The length of the current line so far.
    carry_len: usize,
    /// Where the current line starts.
    at: Record,
    max_line: usize,
}

impl<P: LineParser> Lines<P> {
    /// Handles one whole line of `len` bytes (`line` is only its excerpt if it is overlong).
    fn line(parser: &mut P, at: Record, line: &[u8], len: usize, max_line: usize, out: &mut Batch) {
        if len > max_line {
            out.reject(at, line, format!("line is {len} bytes, over the limit of {max_line} (option max_line_bytes)"));
            return;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            out.skip();
            return;
        }
        out.record(at, line, |doc| parser.parse_line(line, doc));
    }

    fn end_line(&mut self, len: usize) {
        self.at = Record { number: self.at.number + 1, offset: self.at.offset + len as u64 + 1 };
        self.carry.clear();
        self.carry_len = 0;
    }

    fn hold(&mut self, part: &[u8]) {
        let room = if self.carry_len + part.len() > self.max_line { EXCERPT_BYTES } else { usize::MAX };
        let keep = room.saturating_sub(self.carry.len()).min(part.len());
        self.carry.extend_from_slice(&part[..keep]);
        self.carry.truncate(room);
        self.carry_len += part.len();
    }
}

impl<P: Plugin> Plugin for Lines<P> {
    const INFO: crate::Info = P::INFO;
}

impl<P: LineParser> Open for Lines<P> {
    fn open(ctx: &SourceContext) -> Result<Self, Fatal> {
        let max_line = ctx.bytes_option("max_line_bytes", DEFAULT_MAX_LINE_BYTES)?;
        Ok(Lines {
            parser: P::open(ctx)?,
            carry: Vec::new(),
            carry_len: 0,
            at: Record { number: 1, offset: 0 },
            max_line,
        })
    }
}

impl<P: LineParser> Parser for Lines<P> {
    fn push(&mut self, chunk: &[u8], out: &mut Batch) -> Result<(), Fatal> {
        let mut rest = chunk;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            let (line, len) = if self.carry_len == 0 {
                (&rest[..nl], nl)
            } else {
                self.hold(&rest[..nl]);
                (&self.carry[..], self.carry_len)
            };
            Self::line(&mut self.parser, self.at, line, len, self.max_line, out);
            self.end_line(len);
            rest = &rest[nl + 1..];
        }
        self.hold(rest);
        Ok(())
    }

    fn finish(&mut self, out: &mut Batch) -> Result<(), Fatal> {
        if self.carry_len > 0 {
            Self::line(&mut self.parser, self.at, &self.carry, self.carry_len, self.max_line, out);
            self.end_line(self.carry_len);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, Parsed, Timestamp, reject};

    /// Echoes each line as `{"l":"…"}`, skips `#` lines and rejects lines starting with `!`.
    #[derive(Default)]
    struct Echo;

    impl LineParser for Echo {
        fn parse_line(&mut self, line: &[u8], doc: &mut Object) -> Outcome {
            doc.str("l", line);
            match line.first() {
                Some(b'#') => Ok(Parsed::Skip),
                Some(b'!') => Err(reject!("bang")),
                _ => Ok(Event::at(Timestamp { secs: 0, nanos: 0 }).into()),
            }
        }
    }

    fn run(chunks: &[&[u8]], max: Option<usize>) -> Batch {
        let ctx = SourceContext {
            options: max.map(|m| vec![("max_line_bytes".into(), m.to_string())]).unwrap_or_default(),
            ..Default::default()
        };
        let mut p = Lines::<Echo>::open(&ctx).unwrap();
        let mut out = Batch::default();
        for c in chunks {
            p.push(c, &mut out).unwrap();
        }
        p.finish(&mut out).unwrap();
        out
    }

    const INPUT: &[u8] = b"one\r\n#header\n\n!bad line\ntoo long a line here!!\nlast without newline";

    #[test]
    fn numbers_lines_and_sorts_them() {
        let out = run(&[INPUT], Some(20));
        let docs: Vec<_> = out
            .iter()
            .map(|(d, j)| (d.record.number, d.record.offset, String::from_utf8(j.to_vec()).unwrap()))
            .collect();
        assert_eq!(
            docs,
            [(1, 0, r#"{"l":"one"}"#.to_string()), (6, 47, r#"{"l":"last without newline"}"#.to_string())]
        );
        assert_eq!(out.skipped, 2);
        let rej: Vec<_> =
            out.rejections.iter().map(|r| (r.record.number, r.record.offset, r.reason.as_str())).collect();
        assert_eq!(rej, [(4, 14, "bang"), (5, 24, "line is 22 bytes, over the limit of 20 (option max_line_bytes)")]);
    }

    #[test]
    fn every_cut_gives_the_same_batch() {
        let whole = run(&[INPUT], Some(20));
        for i in 0..=INPUT.len() {
            for j in i..=INPUT.len() {
                assert_eq!(run(&[&INPUT[..i], &INPUT[i..j], &INPUT[j..]], Some(20)), whole, "cut at {i},{j}");
            }
        }
    }

    #[test]
    fn an_overlong_line_is_not_held() {
        let long = vec![b'x'; 10_000];
        let ctx = SourceContext { options: vec![("max_line_bytes".into(), "1000".into())], ..Default::default() };
        let mut p = Lines::<Echo>::open(&ctx).unwrap();
        let mut out = Batch::default();
        for _ in 0..100 {
            p.push(&long, &mut out).unwrap();
        }
        assert!(p.carry.len() <= EXCERPT_BYTES);
        p.push(b"\nok\n", &mut out).unwrap();
        assert_eq!(out.rejections.len(), 1);
        assert_eq!(out.rejections[0].excerpt.len(), EXCERPT_BYTES);
        assert!(out.rejections[0].reason.starts_with("line is 1000000 bytes"));
        assert_eq!(out.documents.len(), 1);
        assert_eq!(out.documents[0].record, Record { number: 2, offset: 1_000_001 });
    }

    #[test]
    fn a_bad_option_is_fatal() {
        let ctx = SourceContext { options: vec![("max_line_bytes".into(), "lots".into())], ..Default::default() };
        assert!(matches!(Lines::<Echo>::open(&ctx), Err(Fatal::UnsupportedFormat(_))));
    }
}
