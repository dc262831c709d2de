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

/// A format's generator: a seed and about how many bytes to make.
pub type Generator = fn(u64, u64) -> Log;

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

    /// Classic Load Balancer access-log lines (15 fields): HTTP and HTTPS listeners, and a tenth
    /// of the lines TCP or SSL listeners' connections.
    pub fn elb_classic(seed: u64, limit: u64) -> Self {
        Self::new(seed, limit, b"", b"", b"", elb_classic_line)
    }

    /// Application Load Balancer connection-log lines (12 fields): TLS 1.2 and 1.3 handshakes, a
    /// quarter with a client certificate (mutual TLS), some of them failing verification.
    pub fn alb_connection(seed: u64, limit: u64) -> Self {
        Self::new(seed, limit, b"", b"", b"", alb_connection_line)
    }

    /// Apache `combined` lines, a few of them `common`.
    pub fn apache(seed: u64, limit: u64) -> Self {
        Self::new(seed, limit, b"", b"", b"", apache_line)
    }

    /// One CloudTrail delivery file, `{"Records":[…]}`, of varied records.
    pub fn cloudtrail(seed: u64, limit: u64) -> Self {
        Self::new(seed, limit, b"{\"Records\":[", b",", b"]}", cloudtrail_record)
    }

    /// VPC Flow Logs as delivered to S3: the header line naming the fields (a skipped record),
    /// then records of a custom format with every field of versions 2 to 8.
    pub fn vpcflow(seed: u64, limit: u64) -> Self {
        Self::new(seed, limit, VPCFLOW_HEADER, b"", b"", vpcflow_line)
    }

    /// S3 server access-log lines with every documented field, through ACL required.
    pub fn s3access(seed: u64, limit: u64) -> Self {
        Self::new(seed, limit, b"", b"", b"", s3access_line)
    }

    /// AWS WAF web ACL traffic logs: one JSON record per line, allowed, counted and blocked
    /// requests with their rule matches and labels.
    pub fn waf(seed: u64, limit: u64) -> Self {
        Self::new(seed, limit, b"", b"", b"", waf_line)
    }

    /// Route 53 Resolver query logs: one JSON record per line, with answers, errors and DNS
    /// Firewall matches.
    pub fn route53(seed: u64, limit: u64) -> Self {
        Self::new(seed, limit, b"", b"", b"", route53_line)
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

fn elb_classic_line(r: &mut Rng, us: u64, l: &mut Vec<u8>) {
    let (date, time, frac) = march(us);
    let client = format!("{}:{}", r.client(), 1024 + r.below(60_000));
    let no_backend = r.below(20) == 0;
    let backend = if no_backend { "-".to_owned() } else { format!("10.0.{}.{}:80", r.below(4), 1 + r.below(254)) };
    // Classic's times have microseconds.
    let timing = |r: &mut Rng| if no_backend { "-1".to_owned() } else { format!("0.{:06}", r.below(500_000)) };
    let (t1, t2, t3) = (timing(r), timing(r), timing(r));
    let https = r.below(2) == 0;
    let (cipher, protocol) = if https { ("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2") } else { ("-", "-") };
    let head = format!("{date}T{time}.{frac}Z classic-web {client} {backend} {t1} {t2} {t3}");
    if r.below(10) == 0 {
        // A TCP or SSL listener's connection: no request, no status codes.
        let (received, sent) = (r.below(20_000), r.below(200_000));
        writeln!(l, "{head} - - {received} {sent} \"- - - \" \"-\" {cipher} {protocol}").expect("in memory");
        return;
    }
    let status = *r.pick(STATUSES);
    let backend_status = if no_backend { "-".to_owned() } else { status.to_string() };
    let (scheme, port) = if https { ("https", 443) } else { ("http", 80) };
    let path = *r.pick(PATHS);
    let query = if r.below(3) == 0 { format!("?id={}", r.below(100_000)) } else { String::new() };
    writeln!(
        l,
        "{head} {status} {backend_status} {} {} \"GET {scheme}://www.example.com:{port}{path}{query} HTTP/1.1\" \"{}\" {cipher} {protocol}",
        r.below(2_000),
        r.below(200_000),
        r.pick(USER_AGENTS),
    )
    .expect("in memory");
}

fn alb_connection_line(r: &mut Rng, us: u64, l: &mut Vec<u8>) {
    let (date, time, frac) = march(us);
    let (protocol, cipher) = *r.pick(&[
        ("TLSv1.3", "TLS_AES_128_GCM_SHA256"),
        ("TLSv1.3", "TLS_AES_256_GCM_SHA384"),
        ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"),
    ]);
    // Mutual TLS on a quarter of the connections, from a fleet of devices whose certificates
    // repeat; a few of them expired.
    let (subject, validity, serial, verified) = if r.below(4) == 0 {
        let device = r.below(200);
        let expired = device.is_multiple_of(40);
        let not_after = if expired { "2024-01-01T00:00:00Z" } else { "2026-01-01T00:00:00Z" };
        (
            format!("\"CN=device-{device},OU=Fleet,O=Example\\, Inc.,C=US\""),
            format!("NotBefore=2023-01-01T00:00:00Z;NotAfter={not_after}"),
            format!("{:016X}", (device + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            if expired { "Failed:ClientCertExpired" } else { "Success" },
        )
    } else {
        ("\"-\"".to_owned(), "-".to_owned(), "-".to_owned(), "Success")
    };
    writeln!(
        l,
        "{date}T{time}.{frac}Z {} {} 443 {protocol} {cipher} 0.{:03} {subject} {validity} {serial} {verified} TID_{:016x}{:016x}",
        r.client(),
        1024 + r.below(60_000),
        r.below(50),
        r.next(),
        r.next(),
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
    // The TLS connection opened up to a minute before, but not before the log starts.
    let (opened_date, opened, _) = march(us.saturating_sub(r.below(60_000_000)).max(START * 1_000_000));
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
         api.example.com {} {} \"h2\",\"http/1.1\" {opened_date}T{opened}",
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

/// An instant in March 2024 as the common log format writes it: `01/Mar/2024:00:00:00 +0000`.
fn common_log_time(us: u64) -> String {
    let secs = us / 1_000_000;
    let (day, sod) = (1 + (secs - START) / 86_400, secs % 86_400);
    format!("{day:02}/Mar/2024:{:02}:{:02}:{:02} +0000", sod / 3600, sod / 60 % 60, sod % 60)
}

fn apache_line(r: &mut Rng, us: u64, l: &mut Vec<u8>) {
    let path = *r.pick(PATHS);
    let size = if r.below(10) == 0 { "-".to_owned() } else { r.below(100_000).to_string() };
    write!(
        l,
        "{} - {} [{}] \"{} {path}{} HTTP/1.1\" {} {size}",
        r.client(),
        if r.below(20) == 0 { "alice" } else { "-" },
        common_log_time(us),
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

const VPCFLOW_HEADER: &[u8] = b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn ecs-container-instance-id ecs-container-id ecs-second-container-id ecs-service-name ecs-task-definition-arn ecs-task-arn ecs-task-id reject-reason\n";

/// A record of [`VPCFLOW_HEADER`]'s format: version 8, the highest version of its fields.
fn vpcflow_line(r: &mut Rng, us: u64, l: &mut Vec<u8>) {
    let start = us / 1_000_000;
    let end = start + 1 + r.below(60);
    let eni = r.below(32);
    let subnet = eni % 4;
    let az = ["use1-az1", "use1-az2", "use1-az4", "use1-az6"][subnet as usize];
    let head = format!("8 111122223333 eni-0a1b2c3d4e5f6{eni:04x}");
    let place = format!("vpc-0a1b2c3d4e5f60789 subnet-0a1b2c3d4e5f6{subnet:04x} i-0a1b2c3d4e5f6{:04x}", eni / 2);
    if r.below(40) == 0 {
        // No traffic in the window, or records skipped: only where and when.
        let status = if r.below(5) == 0 { "SKIPDATA" } else { "NODATA" };
        writeln!(l, "{head} - - - - - - - {start} {end} - {status} {place} - - - - us-east-1 {az}{}", " -".repeat(17))
            .expect("in memory");
        return;
    }
    let v6 = r.below(8) == 0;
    let egress = r.below(2) == 0;
    let local = if v6 {
        format!("2600:1f18:4d2:c30{subnet}::{:x}", 1 + r.below(0xfffe))
    } else {
        format!("10.0.{subnet}.{}", 4 + r.below(250))
    };
    let internal = r.below(3) == 0;
    let remote = match (internal, v6) {
        (true, false) => format!("10.0.{}.{}", r.below(4), 4 + r.below(250)),
        (true, true) => format!("2600:1f18:4d2:c30{}::{:x}", r.below(4), 1 + r.below(0xfffe)),
        (false, false) => r.ipv4(),
        (false, true) => r.ipv6(),
    };
    let (protocol, service) = match r.below(20) {
        0 => (if v6 { 58 } else { 1 }, 0),
        1..=5 => (17, *r.pick(&[53, 123, 514])),
        _ => (6, *r.pick(&[443, 443, 443, 80, 22, 5432, 3389, 8080])),
    };
    let ephemeral = if protocol == 1 || protocol == 58 { 0 } else { 32_768 + r.below(28_000) };
    let action = if (!egress && !internal && r.below(3) == 0) || r.below(50) == 0 { "REJECT" } else { "ACCEPT" };
    let flags = match (protocol, action) {
        (6, "REJECT") => 2,
        (6, _) => *r.pick(&[2, 3, 18, 19, 1, 4, 0]),
        _ => 0,
    };
    let packets = 1 + r.below(2_000);
    let bytes = packets * (40 + r.below(1_460));
    // Ingress through a NAT or load balancer: the packet's source is the client, the flow's the
    // intermediate's private address.
    let (pkt_src, dst) = if egress { (&local, &remote) } else { (&remote, &local) };
    let nat = !egress && !v6 && !internal && r.below(8) == 0;
    let src = if nat { format!("10.0.0.{}", 4 + r.below(250)) } else { pkt_src.clone() };
    let (sublocation_type, sublocation_id) =
        if r.below(50) == 0 { ("outpost", "op-0a1b2c3d4e5f60789") } else { ("-", "-") };
    let aws_service =
        |r: &mut Rng| if internal { "-" } else { *r.pick(&["-", "-", "-", "AMAZON", "EC2", "S3", "CLOUDFRONT"]) };
    let (src_service, dst_service) = if egress { ("-", aws_service(r)) } else { (aws_service(r), "-") };
    let direction = if egress { "egress" } else { "ingress" };
    let path = match (egress, internal) {
        (false, _) => "-",
        (true, true) => "1",
        (true, false) => *r.pick(&["2", "8", "8", "7"]),
    };
    // A quarter of the interfaces are ECS tasks' (awsvpc mode gives each task an interface of
    // its own), so a task's ids repeat on every flow of its interface, as in real logs.
    let ecs = if eni.is_multiple_of(4) {
        let mut ids = Rng((eni + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let (instance, container, task) = (
            format!("{:016x}{:016x}", ids.next(), ids.next()),
            format!("{:016x}{:016x}{:016x}{:016x}", ids.next(), ids.next(), ids.next(), ids.next()),
            format!("{:016x}{:016x}", ids.next(), ids.next()),
        );
        format!(
            "arn:aws:ecs:us-east-1:111122223333:cluster/web-cluster web-cluster \
             arn:aws:ecs:us-east-1:111122223333:container-instance/web-cluster/{instance} {instance} {container} - web-service \
             arn:aws:ecs:us-east-1:111122223333:task-definition/web-task:{} arn:aws:ecs:us-east-1:111122223333:task/web-cluster/{task} {task}",
            1 + ids.below(9)
        )
    } else {
        "- - - - - - - - - -".to_owned()
    };
    let reject_reason = if action == "REJECT" && !internal && r.below(4) == 0 { "BPA" } else { "-" };
    writeln!(
        l,
        "{head} {src} {dst} {ephemeral} {service} {protocol} {packets} {bytes} {start} {end} {action} OK {place} {flags} {} \
         {pkt_src} {dst} us-east-1 {az} {sublocation_type} {sublocation_id} {src_service} {dst_service} {direction} {path} {ecs} {reject_reason}",
        if v6 { "IPv6" } else { "IPv4" },
    )
    .expect("in memory");
}

const S3_USER_AGENTS: &[&str] = &[
    "aws-cli/2.15.0 Python/3.11.6 Linux/5.10.205-195.807.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off command/s3.cp",
    "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.11.6 cfg/retry-mode#legacy",
    "aws-sdk-java/1.12.600 Linux/5.10 OpenJDK_64-Bit_Server_VM/17.0.9+8-LTS java/17.0.9 vendor/Amazon.com_Inc.",
    "S3Console/0.4",
];
const S3_KEYS: &[&str] = &[
    "photos/2024/03/puppy.jpg",
    "docs/my%20guide.pdf",
    "logs/app/2024-03-01-00.log.gz",
    "index.html",
    "reports/Q1%202024/summary.csv",
    "static/app.js",
];

/// An S3 server access-log line of the bucket `amzn-s3-demo-bucket1`: API requests of every
/// kind, anonymous and signed, path-style and virtual-hosted, through an access point, and the
/// lifecycle's own expirations.
fn s3access_line(r: &mut Rng, us: u64, l: &mut Vec<u8>) {
    const OWNER: &str = "5d7a3f9c0b1e2d4f6a8c0e2b4d6f8a0c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f";
    const BUCKET: &str = "amzn-s3-demo-bucket1";
    let time = common_log_time(us);
    let request_id = format!("{:016X}", r.next());
    let key = *r.pick(S3_KEYS);
    if r.below(50) == 0 {
        writeln!(
            l,
            "{OWNER} {BUCKET} [{time}] - - {request_id} S3.EXPIRE.OBJECT {key} \"-\" - - - {} - - \"-\" \"-\" - - - - - - - - -",
            1 + r.below(10_000_000)
        )
        .expect("in memory");
        return;
    }
    let anonymous = r.below(10) == 0;
    let requester = if anonymous {
        "-"
    } else {
        *r.pick(&[
            "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:sts::111122223333:assumed-role/reader/session-1",
        ])
    };
    let (operation, method) = *r.pick(&[
        ("REST.GET.OBJECT", "GET"),
        ("REST.GET.OBJECT", "GET"),
        ("REST.GET.OBJECT", "GET"),
        ("REST.GET.OBJECT", "GET"),
        ("REST.PUT.OBJECT", "PUT"),
        ("REST.HEAD.OBJECT", "HEAD"),
        ("REST.HEAD.OBJECT", "HEAD"),
        ("REST.GET.BUCKET", "GET"),
        ("REST.DELETE.OBJECT", "DELETE"),
        ("REST.GET.ACL", "GET"),
    ]);
    let (status, error) = match (operation, r.below(20)) {
        (_, 0) if anonymous => (403, "AccessDenied"),
        ("REST.GET.OBJECT" | "REST.HEAD.OBJECT", 1) => (404, "NoSuchKey"),
        ("REST.GET.OBJECT", 2) => (304, "-"),
        ("REST.GET.OBJECT", 3) => (206, "-"),
        (_, 4) if r.below(5) == 0 => (*r.pick(&[500, 503]), "-"),
        ("REST.DELETE.OBJECT", _) => (204, "-"),
        _ => (200, "-"),
    };
    let error = match status {
        500 => "InternalError",
        503 => "SlowDown",
        _ => error,
    };
    let size = 1 + r.below(5_000_000);
    let (bytes_sent, object_size) = match (status, operation) {
        (403 | 404 | 500 | 503, _) => ((200 + r.below(200)).to_string(), "-".to_owned()),
        (304, _) | (_, "REST.PUT.OBJECT" | "REST.HEAD.OBJECT") => ("-".to_owned(), size.to_string()),
        (_, "REST.DELETE.OBJECT") => ("-".to_owned(), "-".to_owned()),
        (206, _) => ((size / 4 + 1).to_string(), size.to_string()),
        (_, "REST.GET.BUCKET" | "REST.GET.ACL") => ((500 + r.below(20_000)).to_string(), "-".to_owned()),
        _ => (size.to_string(), size.to_string()),
    };
    let total = 1 + r.below(400);
    let turn_around = if status >= 500 { "-".to_owned() } else { (total - r.below(total)).to_string() };
    let path_style = r.below(4) == 0;
    let access_point = !path_style && !anonymous && r.below(20) == 0;
    let target = match operation {
        "REST.GET.BUCKET" => "/?list-type=2&prefix=photos%2F&delimiter=%2F&encoding-type=url".to_owned(),
        "REST.GET.ACL" => format!("/{key}?acl"),
        _ if r.below(10) == 0 => format!("/{key}?versionId={:016x}", r.next()),
        _ => format!("/{key}"),
    };
    let target = if path_style { format!("/{BUCKET}{target}") } else { target };
    let (host, access_point_arn) = match (path_style, access_point) {
        (true, _) => ("s3.us-west-2.amazonaws.com", "-"),
        (_, true) => (
            "reader-ap-111122223333.s3-accesspoint.us-west-2.amazonaws.com",
            "arn:aws:s3:us-west-2:111122223333:accesspoint/reader-ap",
        ),
        _ => ("amzn-s3-demo-bucket1.s3.us-west-2.amazonaws.com", "-"),
    };
    let referrer = if r.below(4) == 0 { format!("https://www.example.com{}", r.pick(PATHS)) } else { "-".to_owned() };
    let user_agent = if r.below(3) == 0 { *r.pick(USER_AGENTS) } else { *r.pick(S3_USER_AGENTS) };
    let version_id = if operation == "REST.PUT.OBJECT" && r.below(4) == 0 {
        format!("{:016x}{:016x}", r.next(), r.next())
    } else {
        "-".to_owned()
    };
    let host_id: Vec<u8> = (0..7).flat_map(|_| r.next().to_le_bytes()).collect();
    let host_id = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, host_id);
    let (signature, authentication) = if anonymous {
        ("-", "-")
    } else {
        (if r.below(20) == 0 { "SigV2" } else { "SigV4" }, if r.below(10) == 0 { "QueryString" } else { "AuthHeader" })
    };
    let (cipher, tls) = match r.below(20) {
        0 => ("-", "-"),
        1..=8 => ("TLS_AES_128_GCM_SHA256", "TLSv1.3"),
        _ => ("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2"),
    };
    let acl_required = if operation == "REST.GET.ACL" || r.below(30) == 0 { "Yes" } else { "-" };
    writeln!(
        l,
        "{OWNER} {BUCKET} [{time}] {} {requester} {request_id} {operation} {} \"{method} {target} HTTP/1.1\" {status} {error} \
         {bytes_sent} {object_size} {total} {turn_around} \"{referrer}\" \"{user_agent}\" {version_id} {host_id} {signature} \
         {cipher} {authentication} {host} {tls} {access_point_arn} {acl_required}",
        r.client(),
        if operation == "REST.GET.BUCKET" { "-" } else { key },
    )
    .expect("in memory");
}

/// Managed rule groups a web ACL evaluates, none of them terminating.
const WAF_GROUPS: &str = r#"{"ruleGroupId":"AWS#AWSManagedRulesCommonRuleSet","terminatingRule":null,"nonTerminatingMatchingRules":[],"excludedRules":null},{"ruleGroupId":"AWS#AWSManagedRulesSQLiRuleSet","terminatingRule":null,"nonTerminatingMatchingRules":[],"excludedRules":null}"#;

/// A WAF log record of a CloudFront distribution's global web ACL or a load balancer's regional
/// one: mostly the default action allowing, else counting rules, managed rule groups blocking
/// SQL injection or cross-site scripting, a rate-based rule, a CAPTCHA or a challenge.
fn waf_line(r: &mut Rng, us: u64, l: &mut Vec<u8>) {
    let ms = us / 1000;
    let cloudfront = r.below(2) == 0;
    let (acl, source, source_id, host, version) = if cloudfront {
        (
            "arn:aws:wafv2:us-east-1:111122223333:global/webacl/SiteACL/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
            "CF",
            "E1ABCDEFGHIJKL",
            "www.example.com",
            *r.pick(&["HTTP/2.0", "HTTP/2.0", "HTTP/1.1"]),
        )
    } else {
        (
            "arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/ApiACL/b2c3d4e5-6789-01bc-def0-EXAMPLE22222",
            "ALB",
            "111122223333-app/prod-web/50dc6c495c0c9188",
            "api.example.com",
            "HTTP/1.1",
        )
    };
    let request_id = if cloudfront {
        let id: Vec<u8> = (0..5).flat_map(|_| r.next().to_le_bytes()).collect();
        base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE, id)
    } else {
        format!("1-{:08x}-{:08x}{:016x}", ms / 1000, r.next() as u32, r.next())
    };
    let (country, region) = *r.pick(&[
        ("US", "US-VA"),
        ("US", "US-CA"),
        ("DE", "DE-HE"),
        ("FR", "FR-IDF"),
        ("NL", "NL-NH"),
        ("BR", "BR-SP"),
        ("JP", "JP-13"),
        ("GB", "GB-ENG"),
        ("IN", "IN-MH"),
    ]);
    let client = r.client();
    let mut method = *r.pick(&["GET", "GET", "GET", "GET", "POST", "HEAD"]);
    let mut path = *r.pick(PATHS);
    let mut args =
        if r.below(3) == 0 { format!("id={}&page={}", r.below(100_000), r.below(50)) } else { String::new() };
    let (mut rule, mut rule_type, mut action) = ("Default_Action", "REGULAR", "ALLOW");
    let (mut details, mut groups, mut rate, mut counted) = (String::new(), WAF_GROUPS.to_owned(), "", "");
    let (mut code, mut solve, mut label) = ("null", String::new(), "");
    match r.below(100) {
        0..=71 => {}
        72..=79 if r.below(2) == 0 => {
            counted = r#"{"ruleId":"CountNonEU","action":"COUNT","ruleMatchDetails":[]}"#;
            label = r#",{"name":"example:count-non-eu"}"#;
        }
        72..=79 => {
            groups = WAF_GROUPS.replacen(
                r#""nonTerminatingMatchingRules":[],"excludedRules":null"#,
                r#""nonTerminatingMatchingRules":[{"ruleId":"SizeRestrictions_QUERYSTRING","action":"COUNT","overriddenAction":"BLOCK","ruleMatchDetails":[]}],"excludedRules":[{"exclusionType":"EXCLUDED_AS_COUNT","ruleId":"SizeRestrictions_QUERYSTRING"}]"#,
                1,
            );
            label = r#",{"name":"awswaf:managed:aws:core-rule-set:SizeRestrictions_QueryString"}"#;
        }
        80..=87 => {
            const MATCH: &str = r#"{"conditionType":"SQL_INJECTION","sensitivityLevel":"LOW","location":"QUERY_STRING","matchedData":["1","=","1"],"matchedFieldName":""}"#;
            (rule, rule_type, action) = ("AWS-AWSManagedRulesSQLiRuleSet", "MANAGED_RULE_GROUP", "BLOCK");
            args = format!("id={}%27%20OR%201%3D1--", r.below(1000));
            details = MATCH.to_owned();
            groups = WAF_GROUPS.replacen(
                r#""ruleGroupId":"AWS#AWSManagedRulesSQLiRuleSet","terminatingRule":null"#,
                &format!(r#""ruleGroupId":"AWS#AWSManagedRulesSQLiRuleSet","terminatingRule":{{"ruleId":"SQLi_QUERYARGUMENTS","action":"BLOCK","ruleMatchDetails":[{MATCH}]}}"#),
                1,
            );
            label = r#",{"name":"awswaf:managed:aws:sql-database:SQLi_QueryArguments"}"#;
        }
        88..=91 => {
            const MATCH: &str =
                r#"{"conditionType":"XSS","location":"BODY","matchedData":["<script","alert(document.cookie)"]}"#;
            (rule, rule_type, action) = ("AWS-AWSManagedRulesCommonRuleSet", "MANAGED_RULE_GROUP", "BLOCK");
            (method, path) = ("POST", "/api/v1/orders");
            details = MATCH.to_owned();
            groups = format!(
                r#"{{"ruleGroupId":"AWS#AWSManagedRulesCommonRuleSet","terminatingRule":{{"ruleId":"CrossSiteScripting_BODY","action":"BLOCK","ruleMatchDetails":[{MATCH}]}},"nonTerminatingMatchingRules":[],"excludedRules":null}}"#
            );
            label = r#",{"name":"awswaf:managed:aws:core-rule-set:CrossSiteScripting_Body"}"#;
        }
        92..=95 => {
            (rule, rule_type, action) = ("RateLimitPerIP", "RATE_BASED", "BLOCK");
            groups.clear();
            rate = r#"{"rateBasedRuleId":"f4e2c1a0-1111-2222-3333-EXAMPLE33333","rateBasedRuleName":"RateLimitPerIP","limitKey":"IP","maxRateAllowed":100,"evaluationWindowSec":"300"}"#;
            code = "429";
        }
        96..=97 => {
            (rule, action, path, code) = ("CaptchaLogin", "CAPTCHA", "/login", "405");
            solve = r#","captchaResponse":{"responseCode":405,"solveTimestamp":null,"failureReason":"TOKEN_MISSING"}"#
                .to_owned();
        }
        _ => {
            (rule, action, code) = ("ChallengeAll", "CHALLENGE", "202");
            solve = format!(
                r#","challengeResponse":{{"responseCode":202,"solveTimestamp":{},"failureReason":"TOKEN_EXPIRED"}}"#,
                ms / 1000 - 600 - r.below(3600)
            );
        }
    }
    let cookie = if r.below(4) == 0 {
        format!(r#",{{"name":"Cookie","value":"session={:016x}"}}"#, r.next())
    } else {
        String::new()
    };
    writeln!(
        l,
        r#"{{"timestamp":{ms},"formatVersion":1,"webaclId":"{acl}","terminatingRuleId":"{rule}","terminatingRuleType":"{rule_type}","action":"{action}","terminatingRuleMatchDetails":[{details}],"httpSourceName":"{source}","httpSourceId":"{source_id}","ruleGroupList":[{groups}],"rateBasedRuleList":[{rate}],"nonTerminatingMatchingRules":[{counted}],"requestHeadersInserted":null,"responseCodeSent":{code},"httpRequest":{{"clientIp":"{client}","country":"{country}","headers":[{{"name":"Host","value":"{host}"}},{{"name":"User-Agent","value":"{}"}},{{"name":"Accept","value":"{}"}},{{"name":"Accept-Encoding","value":"gzip, deflate, br"}}{cookie}],"uri":"{path}","args":"{args}","httpVersion":"{version}","httpMethod":"{method}","requestId":"{request_id}"}},"labels":[{{"name":"awswaf:clientip:geo:country:{country}"}},{{"name":"awswaf:clientip:geo:region:{region}"}}{label}]{solve},"ja3Fingerprint":"{:016x}{:016x}","ja4Fingerprint":"{}"}}"#,
        r.pick(USER_AGENTS),
        r.pick(&["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "*/*", "application/json"]),
        r.next(),
        r.next(),
        r.pick(&["t13d1516h2_8daaf6152771_02713d6af862", "t13d1715h2_5b57614c22b0_3d5424432f57", "t12d1209h1_d34a8e72043a_b39be8c56a14"]),
    )
    .expect("in memory");
}

/// A Route 53 Resolver query log record: queries from instances of the VPC (and from on
/// premises through an inbound endpoint) of every usual type, their answers or errors, and DNS
/// Firewall's matches.
fn route53_line(r: &mut Rng, us: u64, l: &mut Vec<u8>) {
    let (date, time, _) = march(us);
    let (srcaddr, srcids) = if r.below(10) == 0 {
        // From on premises, through an inbound endpoint.
        let srcids =
            r#"{"resolver_endpoint":"rslvr-in-0123456789abcdef","resolver_network_interface":"rni-0123456789abcdef"}"#;
        (format!("172.16.{}.{}", r.below(16), 1 + r.below(254)), srcids.to_owned())
    } else {
        let srcaddr = if r.below(10) == 0 {
            format!("2600:1f18:4d2:c30{}::{:x}", r.below(4), 1 + r.below(0xfffe))
        } else {
            format!("10.0.{}.{}", r.below(4), 4 + r.below(250))
        };
        (srcaddr, format!(r#"{{"instance":"i-0a1b2c3d4e5f6{:04x}"}}"#, r.below(64)))
    };
    let name = *r.pick(&[
        "www.example.com.",
        "api.example.com.",
        "s3.eu-west-1.amazonaws.com.",
        "sts.eu-west-1.amazonaws.com.",
        "ec2.eu-west-1.amazonaws.com.",
        "cdn.example.net.",
    ]);
    let answer = |data: &str, kind: &str| format!(r#"{{"Rdata":"{data}","Type":"{kind}","Class":"IN"}}"#);
    let addresses = |r: &mut Rng, kind: &str| {
        let n = 1 + r.below(3);
        (0..n).map(|_| answer(&if kind == "A" { r.ipv4() } else { r.ipv6() }, kind)).collect::<Vec<_>>().join(",")
    };
    let mut firewall = String::new();
    let (name, kind, rcode, answers) = match r.below(100) {
        0..=44 => {
            let a = addresses(r, "A");
            let answers =
                if r.below(3) == 0 { format!("{},{a}", answer("d111111abcdef8.cloudfront.net.", "CNAME")) } else { a };
            (name.to_owned(), "A", "NOERROR", Some(answers))
        }
        45..=59 => (name.to_owned(), "AAAA", "NOERROR", Some(addresses(r, "AAAA"))),
        60..=69 => (format!("host-{}.example.com.", r.below(1000)), "A", "NXDOMAIN", Some(String::new())),
        70..=74 => {
            let (b, c, d) = (r.below(4), r.below(256), 1 + r.below(254));
            (
                format!("{d}.{c}.{b}.10.in-addr.arpa."),
                "PTR",
                "NOERROR",
                Some(answer(&format!("ip-10-{b}-{c}-{d}.eu-west-1.compute.internal."), "PTR")),
            )
        }
        75..=79 => (
            "example.com.".to_owned(),
            "MX",
            "NOERROR",
            Some(format!("{},{}", answer("10 mail1.example.com.", "MX"), answer("20 mail2.example.com.", "MX"))),
        ),
        80..=83 => (
            "example.com.".to_owned(),
            "TXT",
            "NOERROR",
            Some(answer(r#"\"v=spf1 include:_spf.example.com -all\""#, "TXT")),
        ),
        84..=86 => ("broken.example.com.".to_owned(), "HTTPS", "SERVFAIL", None),
        87..=91 => (
            "_ldap._tcp.corp.example.com.".to_owned(),
            "SRV",
            "NOERROR",
            Some(answer("0 100 389 dc1.corp.example.com.", "SRV")),
        ),
        _ => {
            let (action, list, host) = *r.pick(&[
                ("BLOCK", "0123456789abcdef", "malware"),
                ("ALERT", "1111111111111111", "suspicious"),
                ("ALLOW", "2222222222222222", "updates"),
            ]);
            firewall = format!(
                r#","firewall_rule_action":"{action}","firewall_rule_group_id":"rslvr-frg-0123456789abcdef","firewall_domain_list_id":"rslvr-fdl-{list}""#
            );
            let name = format!("{host}.example.org.");
            if action == "BLOCK" {
                (name, "A", "NXDOMAIN", Some(String::new()))
            } else {
                (name, "A", "NOERROR", Some(addresses(r, "A")))
            }
        }
    };
    let answers = answers.map(|a| format!(r#","answers":[{a}]"#)).unwrap_or_default();
    writeln!(
        l,
        r#"{{"version":"1.100000","account_id":"111122223333","region":"eu-west-1","vpc_id":"vpc-0a1b2c3d4e5f67890","query_timestamp":"{date}T{time}Z","query_name":"{name}","query_type":"{kind}","query_class":"IN","rcode":"{rcode}"{answers},"srcaddr":"{srcaddr}","srcport":"{}","transport":"{}","srcids":{srcids}{firewall}}}"#,
        1024 + r.below(64_000),
        if r.below(20) == 0 { "TCP" } else { "UDP" },
    )
    .expect("in memory");
}

#[cfg(test)]
mod tests {
    use super::*;
    use kelk_parser_sdk::{Lines, Parser, SourceContext};

    fn read(mut log: Log) -> Vec<u8> {
        let mut v = Vec::new();
        log.read_to_end(&mut v).unwrap();
        v
    }

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
        for (format, log) in [("nlb", Log::nlb(9, 50_000)), ("cloudfront json", Log::cloudfront_json(9, 50_000))] {
            let text = read(log);
            assert!(text.len() >= 50_000 && text.ends_with(b"\n"), "{format}");
        }
        let a = read(Log::apache(9, 100_000));
        assert_eq!(a, read(Log::apache(9, 100_000)));
        assert!(a.len() >= 100_000 && a.len() < 101_000);
        // Lines formats: at most one record (a few KB) past the limit, each line whole.
        type Generator = fn(u64, u64) -> Log;
        let lines: [(&str, Generator); 6] = [
            ("vpcflow", Log::vpcflow),
            ("s3access", Log::s3access),
            ("waf", Log::waf),
            ("route53", Log::route53),
            ("elb classic", Log::elb_classic),
            ("alb connection", Log::alb_connection),
        ];
        for (format, make) in lines {
            let a = read(make(9, 100_000));
            assert_eq!(a, read(make(9, 100_000)), "{format}");
            assert_ne!(a, read(make(10, 100_000)), "{format}: the seed matters");
            assert!(a.len() >= 100_000 && a.len() < 104_000 && a.ends_with(b"\n"), "{format}: {} bytes", a.len());
        }
    }

    /// Parses a generated corpus with the format's native parser: every record is a document of
    /// valid JSON (the benchmark asserts as much at full size, through Wasm too), `skipped`
    /// records (headers) aside; and `markers`, the rarer cases, are in the corpus.
    fn every_record_is_a_document<P: Parser>(format: &str, mut log: Log, skipped: u32, markers: &[&str]) {
        let mut text = Vec::new();
        log.read_to_end(&mut text).unwrap();
        let batch = kelk_parser_sdk::parse::<P>(&SourceContext::default(), &text).unwrap();
        if let Some(r) = batch.rejections.first() {
            panic!(
                "{format}: record {} rejected: {}: {}",
                r.record.number,
                r.reason,
                String::from_utf8_lossy(&r.excerpt)
            );
        }
        assert_eq!(batch.documents.len() as u64, log.records(), "{format}");
        assert_eq!(batch.skipped, skipped, "{format}");
        for (_, json) in batch.iter() {
            serde_json::from_slice::<serde_json::Value>(json).unwrap_or_else(|e| panic!("{format}: {e}"));
        }
        let text = String::from_utf8(text).unwrap();
        for marker in markers {
            assert!(text.contains(marker), "{format}: no {marker:?} in the corpus");
        }
    }

    #[test]
    fn the_new_formats_parse_whole() {
        const MB: u64 = 1_000_000;
        every_record_is_a_document::<Lines<kelk_parser_vpcflow::VpcFlow>>(
            "vpcflow",
            Log::vpcflow(7, MB),
            1,
            &[" REJECT OK ", " NODATA ", " SKIPDATA ", " IPv6 ", " 0 0 58 ", "web-cluster", " outpost ", " BPA\n"],
        );
        every_record_is_a_document::<Lines<kelk_parser_s3access::S3Access>>(
            "s3access",
            Log::s3access(7, MB),
            0,
            &[
                "S3.EXPIRE.OBJECT",
                " 404 NoSuchKey ",
                " 503 SlowDown ",
                "?acl HTTP/1.1\" 200 - ",
                "accesspoint/reader-ap Yes",
                "] 2600:",
            ],
        );
        every_record_is_a_document::<Lines<kelk_parser_waf::Waf>>(
            "waf",
            Log::waf(7, MB),
            0,
            &[
                "SQLi_QUERYARGUMENTS",
                "CrossSiteScripting_BODY",
                "RATE_BASED",
                "EXCLUDED_AS_COUNT",
                "CountNonEU",
                r#""action":"CAPTCHA""#,
                r#""action":"CHALLENGE""#,
                r#""clientIp":"2600:"#,
            ],
        );
        every_record_is_a_document::<Lines<kelk_parser_route53::Route53Resolver>>(
            "route53",
            Log::route53(7, MB),
            0,
            &[
                r#""Type":"CNAME""#,
                r#""query_type":"AAAA""#,
                "NXDOMAIN",
                "SERVFAIL",
                "in-addr.arpa",
                r#""firewall_rule_action":"BLOCK""#,
                "resolver_endpoint",
                r#""srcaddr":"2600:"#,
            ],
        );
        every_record_is_a_document::<Lines<kelk_parser_alb::Alb>>(
            "elb classic",
            Log::elb_classic(7, MB),
            0,
            &[r#""- - - " "-" - -"#, r#" "- - - " "-" ECDHE"#, " - -1 -1 -1 ", " HTTP/1.1\" \"curl/8.5.0\" - -\n"],
        );
        every_record_is_a_document::<Lines<kelk_parser_alb::Alb>>(
            "alb connection",
            Log::alb_connection(7, MB),
            0,
            &[" TLSv1.2 ", "Failed:ClientCertExpired", r#" "-" - - Success TID_"#, " 2600:"],
        );
    }
}
