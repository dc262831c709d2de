//! Generated logs of each format: realistic, varied, deterministic, and as long as asked, for
//! benchmarks and for showing that memory does not grow with the input.

use std::io::{self, Read, Write};

/// A small deterministic PRNG (xorshift64*), so generated corpora are the same every run.
pub struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn ipv4(&mut self) -> String {
        format!("{}.{}.{}.{}", 1 + self.below(223), self.below(256), self.below(256), 1 + self.below(254))
    }

    fn ipv6(&mut self) -> String {
        format!("2600:1f18:{:x}:{:x}::{:x}", self.below(0xffff), self.below(0xffff), 1 + self.below(0xfffe))
    }

    fn client(&mut self) -> String {
        if self.below(10) == 0 { self.ipv6() } else { self.ipv4() }
    }
}

const USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "curl/8.5.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "python-requests/2.31.0",
    "ELB-HealthChecker/2.0",
];
const PATHS: &[&str] =
    &["/", "/index.html", "/api/v1/orders", "/static/app.js", "/images/banner.png", "/login", "/search"];
const STATUSES: &[u32] = &[200, 200, 200, 200, 200, 200, 301, 302, 304, 404, 500, 502];

/// Seconds since the epoch of 2024-03-01T00:00:00Z, where generated logs start.
const START: u64 = 1_709_251_200;

/// `(date, time, fraction)` of an instant in March 2024: `2024-03-DD`, `HH:MM:SS`, `.ffffff`.
fn march(us: u64) -> (String, String, String) {
    let (secs, frac) = (us / 1_000_000, us % 1_000_000);
    let sod = secs % 86_400;
    let day = 1 + (secs - START) / 86_400;
    (
        format!("2024-03-{day:02}"),
        format!("{:02}:{:02}:{:02}", sod / 3600, sod / 60 % 60, sod % 60),
        format!("{frac:06}"),
    )
}

/// One line (or record) of a format, written into the buffer.
type Make = fn(&mut Rng, u64, &mut Vec<u8>);

/// A generated log: an optional header, records made by `make` up to `limit` bytes, and an
/// optional footer.
pub struct Log {
    rng: Rng,
    make: Make,
    limit: u64,
    produced: u64,
    records: u64,
    /// Microseconds since the epoch of the next record.
    time_us: u64,
    separator: &'static [u8],
    footer: &'static [u8],
    buf: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Log {
    fn new(
        seed: u64,
        limit: u64,
        header: &'static [u8],
        separator: &'static [u8],
        footer: &'static [u8],
        make: Make,
    ) -> Self {
        Log {
            rng: Rng(seed | 1),
            make,
            limit,
            produced: 0,
            records: 0,
            time_us: START * 1_000_000,
            separator,
            footer,
            buf: header.to_vec(),
            pos: 0,
            done: false,
        }
    }

    /// ALB access-log lines in the current 30-field layout.
    pub fn alb(seed: u64, limit: u64) -> Self {
        Self::new(seed, limit, b"", b"", b"", alb_line)
    }

    /// CloudFront standard-log lines (33 fields) under a `#Version`/`#Fields` header.
    pub fn cloudfront(seed: u64, limit: u64) -> Self {
        Self::new(seed, limit, CLOUDFRONT_HEADER, b"", b"", cloudfront_line)
    }

    /// CloudFront standard logging v2 in its JSON output format: one object per line, every
    /// field of the legacy layout and v2's own, `timestamp(ms)` for the time.
    pub fn cloudfront_json(seed: u64, limit: u64) -> Self {
        Self::new(seed, limit, b"", b"", b"", cloudfront_json_line)
    }

    /// Network Load Balancer TLS-listener lines in the newest layout (22 fields).
    pub fn nlb(seed: u64, limit: u64) -> Self {
        Self::new(seed, limit, b"", b"", b"", nlb_line)
    }

    /// Apache `combined` lines, a few of them `common`.
    pub fn apache(seed: u64, limit: u64) -> Self {
        Self::new(seed, limit, b"", b"", b"", apache_line)
    }

    /// One CloudTrail delivery file, `{"Records":[…]}`, of varied records.
    pub fn cloudtrail(seed: u64, limit: u64) -> Self {
        Self::new(seed, limit, b"{\"Records\":[", b",", b"]}", cloudtrail_record)
    }

    /// How many records were generated.
    pub fn records(&self) -> u64 {
        self.records
    }

    fn refill(&mut self) {
        self.buf.clear();
        self.pos = 0;
        if self.produced >= self.limit {
            self.buf.extend_from_slice(self.footer);
            self.done = true;
            return;
        }
        if self.records > 0 {
            self.buf.extend_from_slice(self.separator);
        }
        self.time_us += self.rng.below(20_000);
        (self.make)(&mut self.rng, self.time_us, &mut self.buf);
        self.records += 1;
    }
}

impl Read for Log {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.done {
                return Ok(0);
            }
            self.refill();
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        self.produced += n as u64;
        Ok(n)
    }
}

fn alb_line(r: &mut Rng, us: u64, l: &mut Vec<u8>) {
    let (date, time, frac) = march(us);
    let time = format!("{date}T{time}.{frac}Z");
    let kind = *r.pick(&["http", "https", "https", "h2"]);
    let client = format!("{}:{}", r.client(), 1024 + r.below(60_000));
    let no_target = r.below(20) == 0;
    let target = if no_target { "-".to_owned() } else { format!("10.0.{}.{}:80", r.below(4), 1 + r.below(254)) };
    let status = *r.pick(STATUSES);
    let timing = |r: &mut Rng| if no_target { "-1".to_owned() } else { format!("0.{:03}", r.below(500)) };
    let (t1, t2, t3) = (timing(r), timing(r), timing(r));
    let target_status = if no_target { "-".to_owned() } else { status.to_string() };
    let (scheme, port) = if kind == "http" { ("http", 80) } else { ("https", 443) };
    let path = *r.pick(PATHS);
    let query = if r.below(3) == 0 { format!("?id={}&page={}", r.below(100_000), r.below(50)) } else { String::new() };
    let version = if kind == "h2" { "HTTP/2.0" } else { "HTTP/1.1" };
    let ua = *r.pick(USER_AGENTS);
    let (cipher, protocol) = if kind == "http" { ("-", "-") } else { ("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2") };
    let trace = format!("Root=1-{:08x}-{:012x}{:012x}", us / 1_000_000, r.next() >> 16, r.next() >> 16);
    let tid = format!("TID_{:016x}{:016x}", r.next(), r.next());
    writeln!(
        l,
        "{kind} {time} app/prod-web/50dc6c495c0c9188 {client} {target} {t1} {t2} {t3} {status} {target_status} {} {} \
         \"GET {scheme}://www.example.com:{port}{path}{query} {version}\" \"{ua}\" {cipher} {protocol} \
         arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/prod-web/73e2d6bc24d8a067 \"{trace}\" \
         \"www.example.com\" \"arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012\" \
         {} {time} \"forward\" \"-\" \"-\" \"{target}\" \"{target_status}\" \"-\" \"-\" {tid}",
        r.below(2_000),
        r.below(200_000),
        r.below(5),
    )
    .expect("in memory");
}

const CLOUDFRONT_HEADER: &[u8] = b"#Version: 1.0\n#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end\n";

/// What a CloudFront request varies in, drawn in one order for both line formats.
fn cloudfront_request(r: &mut Rng) -> (u32, &'static str, String, String, String, String) {
    let status = *r.pick(STATUSES);
    let result = *r.pick(&["Hit", "Hit", "Miss", "RefreshHit", "Error"]);
    let ua = r.pick(USER_AGENTS).replace(' ', "%20");
    let id: String = (0..7).map(|_| format!("{:08x}", r.next() as u32)).collect();
    let query = if r.below(3) == 0 { format!("id={}", r.below(100_000)) } else { "-".to_owned() };
    let taken = format!("0.{:03}", r.below(900));
    (status, result, ua, id, query, taken)
}

fn cloudfront_line(r: &mut Rng, us: u64, l: &mut Vec<u8>) {
    let (date, time, _) = march(us);
    let (status, result, ua, id, query, taken) = cloudfront_request(r);
    writeln!(
        l,
        "{date}\t{time}\tFRA56-P{}\t{}\t{}\tGET\td111111abcdef8.cloudfront.net\t{}\t{status}\thttps://www.example.com/\t{ua}\t{query}\t-\t{result}\t{id}==\twww.example.com\thttps\t{}\t{taken}\t-\tTLSv1.3\tTLS_AES_128_GCM_SHA256\t{result}\tHTTP/2.0\t-\t-\t{}\t{taken}\t{result}\ttext/html\t{}\t-\t-",
        1 + r.below(9),
        200 + r.below(200_000),
        r.client(),
        r.pick(PATHS),
        100 + r.below(900),
        1024 + r.below(60_000),
        r.below(200_000),
    )
    .expect("in memory");
}

fn cloudfront_json_line(r: &mut Rng, us: u64, l: &mut Vec<u8>) {
    let (status, result, ua, id, query, taken) = cloudfront_request(r);
    writeln!(
        l,
        r#"{{"timestamp(ms)":"{}","DistributionId":"E1R2D3EXAMPLE","x-edge-location":"FRA56-P{}","sc-bytes":"{}","c-ip":"{}","cs-method":"GET","cs(Host)":"d111111abcdef8.cloudfront.net","cs-uri-stem":"{}","sc-status":"{status}","cs(Referer)":"https://www.example.com/","cs(User-Agent)":"{ua}","cs-uri-query":"{query}","cs(Cookie)":"-","x-edge-result-type":"{result}","x-edge-request-id":"{id}==","x-host-header":"www.example.com","cs-protocol":"https","cs-bytes":"{}","time-taken":"{taken}","x-forwarded-for":"-","ssl-protocol":"TLSv1.3","ssl-cipher":"TLS_AES_128_GCM_SHA256","x-edge-response-result-type":"{result}","cs-protocol-version":"HTTP/2.0","fle-status":"-","fle-encrypted-fields":"-","c-port":"{}","time-to-first-byte":"{taken}","x-edge-detailed-result-type":"{result}","sc-content-type":"text/html","sc-content-len":"{}","sc-range-start":"-","sc-range-end":"-","origin-fbl":"0.{:03}","origin-lbl":"0.{:03}","asn":"{}","c-country":"{}","cache-behavior-path-pattern":"*"}}"#,
        us / 1000,
        1 + r.below(9),
        200 + r.below(200_000),
        r.client(),
        r.pick(PATHS),
        100 + r.below(900),
        1024 + r.below(60_000),
        r.below(200_000),
        r.below(500),
        r.below(900),
        1 + r.below(65_000),
        r.pick(&["DE", "US", "FR", "BG", "JP"]),
    )
    .expect("in memory");
}

fn nlb_line(r: &mut Rng, us: u64, l: &mut Vec<u8>) {
    let (date, time, _) = march(us);
    let (_, opened, _) = march(us.saturating_sub(r.below(60_000_000)));
    let failed = r.below(50) == 0;
    let (handshake, cipher, protocol) = if failed {
        ("-".to_owned(), "-", "-")
    } else {
        (r.below(200).to_string(), *r.pick(&["TLS_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"]), "tlsv13")
    };
    writeln!(
        l,
        "tls 2.0 {date}T{time} net/prod-nlb/0123456789abcdef 0a1b2c3d4e5f6789 {}:{} 10.0.{}.{}:443 {} {handshake} {} {} - \
         arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012 - {cipher} {protocol} - \
         api.example.com {} {} \"h2\",\"http/1.1\" {date}T{opened}",
        r.client(),
        1024 + r.below(60_000),
        r.below(4),
        1 + r.below(254),
        r.below(120_000),
        r.below(20_000),
        r.below(2_000_000),
        r.pick(&["h2", "http/1.1", "-"]),
        r.pick(&["h2", "http/1.1", "-"]),
    )
    .expect("in memory");
}

fn apache_line(r: &mut Rng, us: u64, l: &mut Vec<u8>) {
    const MONTH_DAY: &str = "Mar/2024";
    let secs = us / 1_000_000;
    let (day, sod) = (1 + (secs - START) / 86_400, secs % 86_400);
    let path = *r.pick(PATHS);
    let size = if r.below(10) == 0 { "-".to_owned() } else { r.below(100_000).to_string() };
    write!(
        l,
        "{} - {} [{day:02}/{MONTH_DAY}:{:02}:{:02}:{:02} +0000] \"{} {path}{} HTTP/1.1\" {} {size}",
        r.client(),
        if r.below(20) == 0 { "alice" } else { "-" },
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        r.pick(&["GET", "GET", "GET", "POST", "HEAD"]),
        if r.below(3) == 0 { format!("?q={}", r.below(1000)) } else { String::new() },
        r.pick(STATUSES),
    )
    .expect("in memory");
    if r.below(8) != 0 {
        write!(l, " \"https://www.example.com{}\" \"{}\"", r.pick(PATHS), r.pick(USER_AGENTS)).expect("in memory");
    }
    l.push(b'\n');
}

fn cloudtrail_record(r: &mut Rng, us: u64, l: &mut Vec<u8>) {
    let (date, time, _) = march(us);
    let (source, name) = *r.pick(&[
        ("ec2.amazonaws.com", "DescribeInstances"),
        ("s3.amazonaws.com", "GetObject"),
        ("sts.amazonaws.com", "AssumeRole"),
        ("kms.amazonaws.com", "Decrypt"),
        ("iam.amazonaws.com", "ListRoles"),
    ]);
    let error = if r.below(10) == 0 {
        r#","errorCode":"AccessDenied","errorMessage":"User is not authorized to perform this operation""#
    } else {
        ""
    };
    let source_ip = if r.below(4) == 0 { "AWS Internal".to_owned() } else { r.client() };
    let identity = if r.below(2) == 0 {
        r#"{"type":"IAMUser","principalId":"AIDACKCEVSQ6C2EXAMPLE","arn":"arn:aws:iam::111122223333:user/anaya","accountId":"111122223333","accessKeyId":"AKIAIOSFODNN7EXAMPLE","userName":"anaya"}"#
    } else {
        r#"{"type":"AssumedRole","principalId":"AROAIDPPEZS35WEXAMPLE:AssumedRoleSessionName","arn":"arn:aws:sts::111122223333:assumed-role/RoleToBeAssumed/MySessionName","accountId":"111122223333","accessKeyId":"ASIAIOSFODNN7EXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAIDPPEZS35WEXAMPLE","arn":"arn:aws:iam::111122223333:role/RoleToBeAssumed","accountId":"111122223333","userName":"RoleToBeAssumed"},"attributes":{"creationDate":"2024-03-01T00:00:00Z","mfaAuthenticated":"false"}}}"#
    };
    write!(
        l,
        r#"{{"eventVersion":"1.09","userIdentity":{identity},"eventTime":"{date}T{time}Z","eventSource":"{source}","eventName":"{name}","awsRegion":"eu-west-1","sourceIPAddress":"{source_ip}","userAgent":"{}","requestParameters":{{"instancesSet":{{"items":[{{"instanceId":"i-{:017x}"}}]}},"filterSet":{{}},"maxResults":{}}},"responseElements":null{error},"requestID":"{:08x}-0000-4000-8000-{:012x}","eventID":"{:08x}-1111-4000-8000-{:012x}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"{}"}}}}"#,
        r.pick(USER_AGENTS),
        r.next() >> 4,
        r.below(1000),
        r.next() as u32,
        r.next() >> 16,
        r.next() as u32,
        r.next() >> 16,
        source,
    )
    .expect("in memory");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_cloudtrail_is_one_valid_file() {
        let mut log = Log::cloudtrail(3, 200_000);
        let mut text = Vec::new();
        log.read_to_end(&mut text).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&text).unwrap();
        assert_eq!(v["Records"].as_array().unwrap().len() as u64, log.records());
    }

    #[test]
    fn generation_is_deterministic_and_bounded() {
        let read = |mut l: Log| {
            let mut v = Vec::new();
            l.read_to_end(&mut v).unwrap();
            v
        };
        for (format, log) in [("nlb", Log::nlb(9, 50_000)), ("cloudfront json", Log::cloudfront_json(9, 50_000))] {
            let text = read(log);
            assert!(text.len() >= 50_000 && text.ends_with(b"\n"), "{format}");
        }
        let a = read(Log::apache(9, 100_000));
        assert_eq!(a, read(Log::apache(9, 100_000)));
        assert!(a.len() >= 100_000 && a.len() < 101_000);
    }
}
