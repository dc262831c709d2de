//! Timestamps: parsing the forms logs use and writing ECS `@timestamp` (ISO 8601, UTC).

/// An instant, as seconds and nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    /// From a civil date and time at `offset_secs` east of UTC; `None` if any part is out of range.
    #[allow(clippy::too_many_arguments)]
    pub fn from_civil(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
        nanos: u32,
        offset_secs: i64,
    ) -> Option<Self> {
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
            || nanos >= 1_000_000_000
        {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset_secs;
        Some(Timestamp { secs, nanos })
    }

    pub fn millis(self) -> i64 {
        self.secs * 1000 + i64::from(self.nanos / 1_000_000)
    }

    /// Writes `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z`, with as few fraction digits as
    /// keep the value exact.
    pub fn write_iso(self, buf: &mut Vec<u8>) {
        let days = self.secs.div_euclid(86_400);
        let sod = self.secs.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        let y = y.clamp(0, 9999) as u32;
        push_digits(buf, y, 4);
        buf.push(b'-');
        push_digits(buf, m, 2);
        buf.push(b'-');
        push_digits(buf, d, 2);
        buf.push(b'T');
        push_digits(buf, sod / 3600, 2);
        buf.push(b':');
        push_digits(buf, sod / 60 % 60, 2);
        buf.push(b':');
        push_digits(buf, sod % 60, 2);
        let n = self.nanos;
        if n != 0 {
            buf.push(b'.');
            if n.is_multiple_of(1_000_000) {
                push_digits(buf, n / 1_000_000, 3);
            } else if n.is_multiple_of(1000) {
                push_digits(buf, n / 1000, 6);
            } else {
                push_digits(buf, n, 9);
            }
        }
        buf.push(b'Z');
    }
}

fn push_digits(buf: &mut Vec<u8>, v: u32, width: usize) {
    let start = buf.len();
    buf.resize(start + width, b'0');
    let mut v = v;
    for slot in buf[start..].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The value of exactly `n` ASCII digits at the start of `b`.
pub fn digits(b: &[u8], n: usize) -> Option<u32> {
    let part = b.get(..n)?;
    part.iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

/// Nanoseconds from fraction digits (after the dot); digits past the ninth are dropped.
/// Returns the value and how many bytes were digits.
fn fraction_nanos(b: &[u8]) -> (u32, usize) {
    let len = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut nanos = 0u32;
    for i in 0..9 {
        nanos = nanos * 10 + b.get(i).filter(|_| i < len).map_or(0, |c| u32::from(c - b'0'));
    }
    (nanos, len)
}

/// Parses ISO 8601 / RFC 3339: `YYYY-MM-DD[T ]HH:MM:SS[.f+](Z|±HH:MM|±HHMM)`.
/// A missing zone means UTC, as in AWS logs that omit it.
pub fn parse_iso8601(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 19
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (digits(b, 4)?, digits(&b[5..], 2)?, digits(&b[8..], 2)?);
    let (hour, minute, second) = (digits(&b[11..], 2)?, digits(&b[14..], 2)?, digits(&b[17..], 2)?);
    let mut rest = &b[19..];
    let mut nanos = 0;
    if let Some(frac) = rest.strip_prefix(b".") {
        let (n, len) = fraction_nanos(frac);
        if len == 0 {
            return None;
        }
        nanos = n;
        rest = &frac[len..];
    }
    let offset = match rest {
        [] | [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), zone @ ..] => {
            let (h, m) = match zone {
                [_, _, b':', _, _] => (digits(zone, 2)?, digits(&zone[3..], 2)?),
                [_, _, _, _] => (digits(zone, 2)?, digits(&zone[2..], 2)?),
                _ => return None,
            };
            let s = i64::from(h * 3600 + m * 60);
            if *sign == b'-' { -s } else { s }
        }
        _ => return None,
    };
    Timestamp::from_civil(i64::from(year), month, day, hour, minute, second, nanos, offset)
}

/// Parses the Common Log Format time, `DD/Mon/YYYY:HH:MM:SS ±HHMM` (Apache's `%t` without
/// its brackets), applying the offset.
pub fn parse_common_log(b: &[u8]) -> Option<Timestamp> {
    if b.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[14] != b':' || b[17] != b':' || b[20] != b' '
    {
        return None;
    }
    let (day, month, year) = (digits(b, 2)?, month_from_abbrev(&b[3..6])?, digits(&b[7..], 4)?);
    let (hour, minute, second) = (digits(&b[12..], 2)?, digits(&b[15..], 2)?, digits(&b[18..], 2)?);
    let offset = i64::from(digits(&b[22..], 2)? * 3600 + digits(&b[24..], 2)? * 60);
    let offset = match b[21] {
        b'+' => offset,
        b'-' => -offset,
        _ => return None,
    };
    Timestamp::from_civil(i64::from(year), month, day, hour, minute, second, 0, offset)
}

/// The month number of an English three-letter abbreviation (`Jan` … `Dec`).
pub fn month_from_abbrev(b: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] =
        [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    MONTHS.iter().position(|m| m.eq_ignore_ascii_case(b)).map(|i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(t: Timestamp) -> String {
        let mut b = Vec::new();
        t.write_iso(&mut b);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn civil_round_trip_over_many_years() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn parses_and_writes_alb_timestamps() {
        let t = parse_iso8601(b"2018-07-02T22:23:00.186641Z").unwrap();
        assert_eq!(t.millis(), 1_530_570_180_186);
        assert_eq!(iso(t), "2018-07-02T22:23:00.186641Z");
        assert_eq!(iso(parse_iso8601(b"2018-07-02T22:23:00.100Z").unwrap()), "2018-07-02T22:23:00.100Z");
        assert_eq!(iso(parse_iso8601(b"2018-07-02T22:23:00Z").unwrap()), "2018-07-02T22:23:00Z");
        assert_eq!(iso(parse_iso8601(b"2022-04-01T08:51:42").unwrap()), "2022-04-01T08:51:42Z");
    }

    #[test]
    fn offsets_are_applied() {
        let t = parse_iso8601(b"2022-02-08 09:23:37+11:00").unwrap();
        assert_eq!(iso(t), "2022-02-07T22:23:37Z");
        let t = parse_iso8601(b"2000-10-10T13:55:36-0700").unwrap();
        assert_eq!(iso(t), "2000-10-10T20:55:36Z");
    }

    #[test]
    fn rejects_malformed_and_impossible_dates() {
        for bad in [
            &b"2018-02-30T00:00:00Z"[..],
            b"2018-13-01T00:00:00Z",
            b"2018-07-02T24:00:00Z",
            b"2018-07-02T22:23:00.Z",
            b"2018-07-02T22:23:00ZZ",
            b"2018-07-02",
            b"-",
            b"2018/07/02T22:23:00Z",
        ] {
            assert!(parse_iso8601(bad).is_none(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(parse_iso8601(b"2020-02-29T00:00:00Z").is_some());
    }

    #[test]
    fn common_log_times() {
        assert_eq!(iso(parse_common_log(b"10/Oct/2000:13:55:36 -0700").unwrap()), "2000-10-10T20:55:36Z");
        assert_eq!(iso(parse_common_log(b"22/Jan/2019:03:56:14 +0330").unwrap()), "2019-01-22T00:26:14Z");
        for bad in [
            &b"10/Foo/2000:13:55:36 -0700"[..],
            b"1234",
            b"-",
            b"10/Oct/2000:13:55:36 0700",
            b"31/Feb/2000:13:55:36 +0000",
        ] {
            assert!(parse_common_log(bad).is_none(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn months() {
        assert_eq!(month_from_abbrev(b"Oct"), Some(10));
        assert_eq!(month_from_abbrev(b"jan"), Some(1));
        assert_eq!(month_from_abbrev(b"Foo"), None);
    }
}
