//! Generated ALB access logs: realistic, varied, deterministic, and as long as asked, for
//! benchmarks and for showing that memory does not grow with the input.

use std::io::{self, Read, Write};

/// A small deterministic PRNG (xorshift64*), so generated corpora are the same every run.
struct Rng(u64);

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

/// ALB access-log lines in the current 30-field layout, up to `limit` bytes (whole lines).
pub struct AlbLog {
    rng: Rng,
    limit: u64,
    produced: u64,
    line: Vec<u8>,
    pos: usize,
    /// Microseconds since the epoch of the next line.
    time_us: u64,
}

impl AlbLog {
    pub fn new(seed: u64, limit: u64) -> Self {
        AlbLog {
            rng: Rng(seed | 1),
            limit,
            produced: 0,
            line: Vec::with_capacity(1024),
            pos: 0,
            time_us: 1_709_251_200_000_000,
        }
    }

    fn next_line(&mut self) {
        let r = &mut self.rng;
        self.time_us += r.below(20_000);
        let (secs, us) = (self.time_us / 1_000_000, self.time_us % 1_000_000);
        let (days, sod) = (secs / 86_400, secs % 86_400);
        let time =
            format!("2024-03-{:02}T{:02}:{:02}:{:02}.{us:06}Z", 1 + days - 19_783, sod / 3600, sod / 60 % 60, sod % 60);
        let kind = *r.pick(&["http", "https", "https", "h2"]);
        let client = if r.below(10) == 0 {
            format!(
                "2600:1f18:{:x}:{:x}::{:x}:{}",
                r.below(0xffff),
                r.below(0xffff),
                r.below(0xffff),
                1024 + r.below(60_000)
            )
        } else {
            format!(
                "{}.{}.{}.{}:{}",
                1 + r.below(223),
                r.below(256),
                r.below(256),
                1 + r.below(254),
                1024 + r.below(60_000)
            )
        };
        let no_target = r.below(20) == 0;
        let target = if no_target { "-".to_owned() } else { format!("10.0.{}.{}:80", r.below(4), 1 + r.below(254)) };
        let status = *r.pick(STATUSES);
        let timing = |r: &mut Rng| if no_target { "-1".to_owned() } else { format!("0.{:03}", r.below(500)) };
        let (t1, t2, t3) = (timing(r), timing(r), timing(r));
        let target_status = if no_target { "-".to_owned() } else { status.to_string() };
        let scheme = if kind == "http" { "http" } else { "https" };
        let port = if kind == "http" { 80 } else { 443 };
        let path = *r.pick(PATHS);
        let query =
            if r.below(3) == 0 { format!("?id={}&page={}", r.below(100_000), r.below(50)) } else { String::new() };
        let version = if kind == "h2" { "HTTP/2.0" } else { "HTTP/1.1" };
        let ua = *r.pick(USER_AGENTS);
        let (cipher, protocol) = if kind == "http" { ("-", "-") } else { ("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2") };
        let trace = format!("Root=1-{:08x}-{:024x}", secs, r.next() as u128 * 0x1_0000 + r.below(0x1_0000) as u128);
        let tid = format!("TID_{:016x}{:016x}", r.next(), r.next());
        let l = &mut self.line;
        l.clear();
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
        self.pos = 0;
    }
}

impl Read for AlbLog {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.line.len() {
            if self.produced >= self.limit {
                return Ok(0);
            }
            self.next_line();
        }
        let n = buf.len().min(self.line.len() - self.pos);
        buf[..n].copy_from_slice(&self.line[self.pos..self.pos + n]);
        self.pos += n;
        self.produced += n as u64;
        Ok(n)
    }
}
