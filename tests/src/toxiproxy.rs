//! A minimal client for Shopify's toxiproxy (`tests/servers/toxiproxy`, its API at
//! `KELK_TEST_TOXIPROXY`): TCP proxies in front of a real server, and toxics on them that
//! slow, slice, stall or cut the connections going through. Requests go through `curl`, as the
//! other tests' HTTP calls do. A [`Proxy`] is removed when dropped.

use serde_json::{Value, json};
use std::process::Command;

/// Which way through a proxy a toxic acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// What the client sends (requests, uploads).
    Upstream,
    /// What the server answers (responses, downloads).
    Downstream,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Upstream => "upstream",
            Stream::Downstream => "downstream",
        }
    }
}

/// The toxiproxy server.
#[derive(Clone, Debug)]
pub struct Toxiproxy {
    api: String,
}

impl Toxiproxy {
    /// The server at `KELK_TEST_TOXIPROXY` (`http://127.0.0.1:8474` under `make test`).
    pub fn from_env() -> Self {
        let api = std::env::var("KELK_TEST_TOXIPROXY")
            .unwrap_or_else(|_| panic!("KELK_TEST_TOXIPROXY is not set: run `make test`, which starts toxiproxy"));
        Toxiproxy { api: api.trim_end_matches('/').to_owned() }
    }

    /// A new proxy called `name` on a free loopback port, to `upstream` (`host:port`, or a URL
    /// whose host and port are taken); one left by an earlier run under that name is replaced.
    pub fn proxy(&self, name: &str, upstream: &str) -> Proxy {
        let upstream = upstream.split("://").last().unwrap_or(upstream).trim_end_matches('/');
        call(&self.api, "DELETE", &format!("/proxies/{name}"), None, &[204, 404]);
        let made = call(
            &self.api,
            "POST",
            "/proxies",
            Some(json!({ "name": name, "listen": "127.0.0.1:0", "upstream": upstream, "enabled": true })),
            &[201],
        );
        let listen = made["listen"].as_str().unwrap_or_else(|| panic!("toxiproxy made no listener: {made}")).to_owned();
        Proxy { api: self.api.clone(), name: name.to_owned(), listen }
    }
}

/// A proxy: connections to [`Proxy::url`] go on to its upstream, through its toxics.
#[derive(Debug)]
pub struct Proxy {
    api: String,
    name: String,
    listen: String,
}

impl Proxy {
    /// `http://` and the address it listens on.
    pub fn url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// Adds toxic `name` of `kind` (`latency`, `bandwidth`, `slicer`, `timeout`, `reset_peer`,
    /// `limit_data`…) with its attributes, on every connection, open or new.
    pub fn add(&self, name: &str, kind: &str, stream: Stream, attributes: Value) {
        let toxic =
            json!({ "name": name, "type": kind, "stream": stream.name(), "toxicity": 1.0, "attributes": attributes });
        call(&self.api, "POST", &format!("/proxies/{}/toxics", self.name), Some(toxic), &[200]);
    }

    /// Removes toxic `name`.
    pub fn remove(&self, name: &str) {
        call(&self.api, "DELETE", &format!("/proxies/{}/toxics/{name}", self.name), None, &[204]);
    }

    /// Enables the proxy, or disables it: it then refuses connections and closes open ones.
    pub fn enable(&self, enabled: bool) {
        call(&self.api, "POST", &format!("/proxies/{}", self.name), Some(json!({ "enabled": enabled })), &[200]);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-X", "DELETE", &format!("{}/proxies/{}", self.api, self.name)])
            .status();
    }
}

/// One API request; its JSON answer (`null` when empty). Panics on a status not in `expect`.
fn call(api: &str, method: &str, path: &str, body: Option<Value>, expect: &[u16]) -> Value {
    let mut curl = Command::new("curl");
    curl.args(["-sS", "-X", method, "-w", "\n%{http_code}", &format!("{api}{path}")]);
    if let Some(body) = &body {
        curl.args(["-H", "Content-Type: application/json", "--data-binary", &body.to_string()]);
    }
    let out = curl.output().expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let (answer, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    let status: u16 = status.trim().parse().unwrap_or(0);
    assert!(
        expect.contains(&status),
        "toxiproxy {method} {path} answered {status}: {answer}{} (is it running? tests/servers/toxiproxy start)",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(answer).unwrap_or(Value::Null)
}
