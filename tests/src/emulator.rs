//! The host binary (`kelk-lambda`) under the AWS Lambda Runtime Interface Emulator, as Lambda
//! runs a `provided.al2023` function: what the end-to-end tests (`tests/tests/lambda.rs`) and
//! the fault-injection tests (`tests/tests/faults.rs`) drive. `make test` builds the emulator
//! (`tests/servers/lambda-emulator`) and sets `KELK_TEST_LAMBDA_EMULATOR` and
//! `KELK_TEST_OPENSEARCH`.

use crate::workspace;
use serde_json::Value;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run `make test`, which starts the servers"))
}

/// The host under the Runtime Interface Emulator, as Lambda would run it.
pub struct Emulator {
    child: Child,
    port: u16,
    log: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Emulator {
    /// Starts the emulator around the host, logging to `target/lambda-logs/<name>.log`, with
    /// `settings` as the function's environment (over the defaults: a 120 s timeout, OpenSearch
    /// at `KELK_TEST_OPENSEARCH`).
    pub fn start(name: &str, settings: &[(&str, &str)]) -> Self {
        // `KELK_TEST_LAMBDA_HOST` runs another build of the host, e.g. the arm64 package under
        // `qemu-aarch64-static -L /usr/aarch64-linux-gnu target/aarch64-unknown-linux-gnu/release/kelk-lambda`.
        let host: Vec<String> = match std::env::var("KELK_TEST_LAMBDA_HOST") {
            Ok(command) => command.split_whitespace().map(str::to_owned).collect(),
            Err(_) => vec![workspace().join("target/release/kelk-lambda").display().to_string()],
        };
        assert!(
            Path::new(&host[0]).exists(),
            "{} is missing: `cargo build --release --bins` (make test does)",
            host[0]
        );
        let (port, api) = (free_port(), free_port());
        let log = workspace().join(format!("target/lambda-logs/{name}.log"));
        std::fs::create_dir_all(log.parent().unwrap()).unwrap();
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env("KELK_TEST_LAMBDA_EMULATOR"))
            .arg("--runtime-interface-emulator-address")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--runtime-api-address")
            .arg(format!("127.0.0.1:{api}"))
            .args(&host)
            .env("AWS_LAMBDA_FUNCTION_NAME", format!("kelk-{name}"))
            .env("AWS_LAMBDA_FUNCTION_TIMEOUT", "120")
            .env("KELK_OPENSEARCH_URL", env("KELK_TEST_OPENSEARCH"))
            .env("KELK_CACHE_DIR", workspace().join("target/plugins/cache"))
            .envs(settings.iter().copied())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("the emulator starts");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "the emulator does not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Emulator { child, port, log }
    }

    /// Invokes the function; its answer, or `Err` with the error Lambda would report.
    pub fn invoke(&self, event: &Value) -> Result<Value, Value> {
        let url = format!("http://127.0.0.1:{}/2015-03-31/functions/function/invocations", self.port);
        let mut curl = Command::new("curl")
            .args(["-sS", "-D", "-", "--data-binary", "@-", &url])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        curl.stdin.take().unwrap().write_all(event.to_string().as_bytes()).unwrap();
        let out = curl.wait_with_output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let (headers, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no answer: {text}"));
        // An invocation past its timeout is answered in plain text; Lambda reports it as this error.
        if body.starts_with("Task timed out after") {
            return Err(serde_json::json!({ "errorType": "Sandbox.Timedout", "errorMessage": body }));
        }
        let body: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
        let failed = headers.lines().any(|h| h.to_ascii_lowercase().starts_with("x-amz-function-error"))
            || body.get("errorType").is_some();
        if failed { Err(body) } else { Ok(body) }
    }

    /// Kills the host process (`kill -9`), as a crash or an out-of-memory kill would; the
    /// emulator starts it again for the next invocation, as Lambda does.
    pub fn kill_host(&self) {
        let killed = Command::new("pkill").args(["-KILL", "-P", &self.child.id().to_string()]).status().unwrap();
        assert!(killed.success(), "no host process under the emulator");
    }

    /// The host process's peak resident set size so far (its `VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let children = Command::new("pgrep").args(["-P", &self.child.id().to_string()]).output().unwrap();
        let pid = String::from_utf8(children.stdout).unwrap();
        let pid = pid.split_whitespace().next().expect("a host process under the emulator");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let peak = status.lines().find_map(|l| l.strip_prefix("VmHWM:")).expect("VmHWM in /proc/PID/status");
        peak.trim().trim_end_matches("kB").trim().parse().unwrap()
    }

    /// Everything the emulator and the host have logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
