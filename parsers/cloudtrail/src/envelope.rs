//! Finding the records of a CloudTrail log file, `{"Records":[{…},{…}]}`, in a stream of
//! chunks cut anywhere, while holding no more than the record being read.
//!
//! The scanner tracks only what delimits records: nesting, strings with their escapes, and the
//! top-level keys. A top-level object whose first key is not `Records` is taken as one bare
//! record (some tools export single events), and top-level objects may follow one another
//! (JSON lines). A UTF-8 byte-order mark at the start is skipped.

/// What the scanner hands over, in input order.
#[derive(Debug, PartialEq, Eq)]
pub enum Found<'a> {
    /// A whole record (a JSON object) and the offset where it starts in the object.
    Record(&'a [u8], u64),
    /// A record over the size limit: its length, its offset and its first bytes.
    Oversized { len: u64, offset: u64, excerpt: &'a [u8] },
}

/// The input is not a CloudTrail log file, or ended inside one.
#[derive(Debug, PartialEq, Eq)]
pub struct Broken(pub String);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// A top-level object whose first key has not been read yet.
    Unknown,
    /// `{"Records":[…]}`.
    Envelope,
    /// A top-level object that is itself a record.
    Bare,
}

const BOM: &[u8] = b"\xef\xbb\xbf";

pub struct Scanner {
    depth: u32,
    in_string: bool,
    escaped: bool,
    role: Role,
    /// At depth 1, whether the next string is a key.
    expect_key: bool,
    /// The depth-1 key being read, and where it continues in the current chunk.
    key: Vec<u8>,
    key_from: Option<usize>,
    last_key_is_records: bool,
    /// Inside the `Records` array.
    in_records: bool,
    /// The record being read: whether, from where in the current chunk, what is held from
    /// earlier chunks, its length so far and where it starts.
    capturing: bool,
    cap_from: usize,
    held: Vec<u8>,
    cap_len: u64,
    cap_start: u64,
    max_record: usize,
    /// Bytes of the object scanned before the current chunk.
    consumed: u64,
}

/// How much of an oversized record is kept for its rejection.
const EXCERPT: usize = 256;

impl Scanner {
    pub fn new(max_record: usize) -> Self {
        Scanner {
            depth: 0,
            in_string: false,
            escaped: false,
            role: Role::Unknown,
            expect_key: false,
            key: Vec::new(),
            key_from: None,
            last_key_is_records: false,
            in_records: false,
            capturing: false,
            cap_from: 0,
            held: Vec::new(),
            cap_len: 0,
            cap_start: 0,
            max_record,
            consumed: 0,
        }
    }

    /// Scans the next chunk, handing over each record completed in it.
    pub fn push(&mut self, chunk: &[u8], found: &mut dyn FnMut(Found<'_>)) -> Result<(), Broken> {
        let mut i = 0;
        while i < chunk.len() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                match memchr::memchr2(b'"', b'\\', &chunk[i..]) {
                    None => break,
                    Some(j) if chunk[i + j] == b'\\' => {
                        self.escaped = true;
                        i += j + 1;
                    }
                    Some(j) => {
                        self.in_string = false;
                        if let Some(from) = self.key_from.take() {
                            self.key.extend_from_slice(&chunk[from..i + j]);
                            self.key_read();
                        }
                        i += j + 1;
                    }
                }
                continue;
            }
            let b = chunk[i];
            match b {
                b'"' if self.depth == 2 && self.in_records => return Err(self.not_a_record(i)),
                b'"' if self.depth > 0 => {
                    self.in_string = true;
                    if self.depth == 1 && self.expect_key {
                        self.key.clear();
                        self.key_from = Some(i + 1);
                    }
                }
                b'{' | b'[' => {
                    if self.depth == 0 {
                        if b != b'{' {
                            return Err(self.unexpected(b, i));
                        }
                        self.role = Role::Unknown;
                        self.expect_key = true;
                        self.start_capture(i);
                    } else if self.depth == 2 && self.in_records && b == b'{' {
                        self.start_capture(i);
                    } else if self.depth == 2 && self.in_records {
                        return Err(self.not_a_record(i));
                    } else if self.depth == 1 && b == b'[' && self.last_key_is_records {
                        self.in_records = true;
                    }
                    self.depth += 1;
                }
                b'}' | b']' => {
                    if self.depth == 0 {
                        return Err(self.unexpected(b, i));
                    }
                    self.depth -= 1;
                    match self.depth {
                        0 if self.role == Role::Bare => self.end_capture(chunk, i, found),
                        0 => self.capturing = false,
                        2 if self.in_records && self.capturing => self.end_capture(chunk, i, found),
                        1 if self.in_records => self.in_records = false,
                        _ => {}
                    }
                }
                b',' if self.depth == 1 => self.expect_key = true,
                b':' if self.depth == 1 => self.expect_key = false,
                // A record that is a number, `true`, `null`…: nothing to index, so say so.
                b if self.depth == 2 && self.in_records && !b.is_ascii_whitespace() && b != b',' => {
                    return Err(self.not_a_record(i));
                }
                _ if self.depth == 0 => {
                    let at = self.consumed + i as u64;
                    let bom = at < BOM.len() as u64 && BOM[at as usize] == b;
                    if !bom && !b.is_ascii_whitespace() {
                        return Err(self.unexpected(b, i));
                    }
                }
                _ => {}
            }
            i += 1;
        }
        if self.capturing {
            self.hold(&chunk[self.cap_from..]);
            self.cap_from = 0;
        }
        if let Some(from) = self.key_from {
            self.key.extend_from_slice(&chunk[from..]);
            self.key_from = Some(0);
        }
        self.consumed += chunk.len() as u64;
        Ok(())
    }

    /// The object has ended: it must not end inside a value.
    pub fn finish(&self) -> Result<(), Broken> {
        match (self.depth, self.capturing) {
            (0, _) => Ok(()),
            (_, true) => Err(Broken(format!("the file ends inside the record that starts at byte {}", self.cap_start))),
            _ => Err(Broken("the file ends before its Records array is closed".into())),
        }
    }

    fn unexpected(&self, b: u8, i: usize) -> Broken {
        Broken(format!(
            "unexpected `{}` at byte {}: not a CloudTrail log file",
            b.escape_ascii(),
            self.consumed + i as u64
        ))
    }

    fn not_a_record(&self, i: usize) -> Broken {
        Broken(format!("the Records array holds something other than an object at byte {}", self.consumed + i as u64))
    }

    fn key_read(&mut self) {
        self.last_key_is_records = self.key == b"Records";
        if self.role == Role::Unknown {
            self.role = if self.last_key_is_records { Role::Envelope } else { Role::Bare };
            if self.role == Role::Envelope {
                // The envelope itself is not a record: stop holding it.
                self.capturing = false;
                self.held.clear();
            }
        }
    }

    fn start_capture(&mut self, i: usize) {
        self.capturing = true;
        self.cap_from = i;
        self.held.clear();
        self.cap_len = 0;
        self.cap_start = self.consumed + i as u64;
    }

    /// Adds a part of the current record, keeping only an excerpt once it is over the limit.
    fn hold(&mut self, part: &[u8]) {
        self.cap_len += part.len() as u64;
        let room = if self.cap_len > self.max_record as u64 { EXCERPT } else { usize::MAX };
        let keep = room.saturating_sub(self.held.len()).min(part.len());
        self.held.extend_from_slice(&part[..keep]);
        self.held.truncate(room);
    }

    fn end_capture(&mut self, chunk: &[u8], i: usize, found: &mut dyn FnMut(Found<'_>)) {
        let part = &chunk[self.cap_from..=i];
        self.capturing = false;
        if self.held.is_empty() && part.len() <= self.max_record {
            found(Found::Record(part, self.cap_start));
            return;
        }
        self.hold(part);
        if self.cap_len > self.max_record as u64 {
            found(Found::Oversized { len: self.cap_len, offset: self.cap_start, excerpt: &self.held });
        } else {
            found(Found::Record(&self.held, self.cap_start));
        }
        self.held.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (record text or "OVERSIZED len", offset) for each record, cutting the input at `cuts`.
    fn scan(input: &[u8], cuts: &[usize], max: usize) -> Result<Vec<(String, u64)>, Broken> {
        let mut s = Scanner::new(max);
        let mut out = Vec::new();
        let mut last = 0;
        for &cut in cuts.iter().chain([&input.len()]) {
            s.push(&input[last..cut], &mut |f| {
                out.push(match f {
                    Found::Record(r, o) => (String::from_utf8_lossy(r).into_owned(), o),
                    Found::Oversized { len, offset, .. } => (format!("OVERSIZED {len}"), offset),
                })
            })?;
            last = cut;
        }
        s.finish()?;
        Ok(out)
    }

    const FILE: &[u8] = b"\xef\xbb\xbf{\"Records\" : [ {\"a\":\"x}\\\"{[\",\"b\":{\"c\":[1,{}]}} ,{\"Records\":[]}\n]}\n{\"eventTime\":\"t\"}";

    #[test]
    fn finds_records_whatever_the_cuts() {
        let want = vec![
            (r#"{"a":"x}\"{[","b":{"c":[1,{}]}}"#.to_owned(), 18),
            (r#"{"Records":[]}"#.to_owned(), 51),
            (r#"{"eventTime":"t"}"#.to_owned(), 69),
        ];
        assert_eq!(scan(FILE, &[], 1 << 20).unwrap(), want);
        for i in 0..=FILE.len() {
            for j in i..=FILE.len() {
                assert_eq!(scan(FILE, &[i, j], 1 << 20).unwrap(), want, "cuts {i} {j}");
            }
        }
    }

    #[test]
    fn empty_and_other_keys() {
        assert_eq!(scan(b"{\"Records\":[]}", &[], 100).unwrap(), vec![]);
        assert_eq!(scan(b"{}", &[], 100).unwrap(), vec![]);
        assert_eq!(scan(b"  ", &[], 100).unwrap(), vec![]);
        let other_first = b"{\"meta\":{\"Records\":[{\"x\":1}]},\"y\":[{}]}";
        assert_eq!(scan(other_first, &[], 100).unwrap(), vec![(String::from_utf8_lossy(other_first).into_owned(), 0)]);
        let records_later = b"{\"Records\":[{\"a\":1}],\"x\":[{\"b\":2}]}";
        assert_eq!(scan(records_later, &[], 100).unwrap(), vec![(r#"{"a":1}"#.to_owned(), 12)]);
    }

    #[test]
    fn oversized_records_are_not_held() {
        let big = format!("{{\"Records\":[{{\"a\":\"{}\"}},{{\"b\":1}}]}}", "x".repeat(5000));
        let cuts: Vec<usize> = (1..big.len()).step_by(100).collect();
        let mut s = Scanner::new(1000);
        let mut seen = Vec::new();
        let mut last = 0;
        for &cut in cuts.iter().chain([&big.len()]) {
            s.push(&big.as_bytes()[last..cut], &mut |f| seen.push(format!("{f:?}").len())).unwrap();
            assert!(s.held.len() <= 1000 + 100, "held {}", s.held.len());
            last = cut;
        }
        assert_eq!(
            scan(big.as_bytes(), &cuts, 1000).unwrap(),
            vec![("OVERSIZED 5008".to_owned(), 12), (r#"{"b":1}"#.to_owned(), 5021)]
        );
    }

    #[test]
    fn broken_input() {
        assert!(scan(b"Records", &[], 100).unwrap_err().0.contains("not a CloudTrail log file"));
        assert!(scan(b"[{}]", &[], 100).is_err());
        assert!(
            scan(b"{\"Records\":[{\"a\":1},{\"b\"", &[], 100)
                .unwrap_err()
                .0
                .contains("inside the record that starts at byte 20")
        );
        assert!(
            scan(b"{\"Records\":[{\"a\":1}", &[], 100).unwrap_err().0.contains("before its Records array is closed")
        );
        assert!(scan(b"{}}", &[], 100).is_err());
        for not_objects in
            [&b"{\"Records\":[1]}"[..], b"{\"Records\":[{},\"x\"]}", b"{\"Records\":[null]}", b"{\"Records\":[[]]}"]
        {
            let err = scan(not_objects, &[], 100).unwrap_err().0;
            assert!(err.contains("other than an object"), "{err}");
        }
    }
}
