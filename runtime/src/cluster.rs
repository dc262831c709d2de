//! A connection to an OpenSearch cluster: plain HTTP or HTTPS, with basic auth when given. The
//! pipeline is synchronous, so the connection carries a small runtime for the async client.

use opensearch::OpenSearch;
use opensearch::auth::Credentials;
use opensearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use opensearch::http::{Method, StatusCode, headers::HeaderMap};
use std::io;
use std::time::Duration;

pub struct Cluster {
    client: OpenSearch,
    runtime: tokio::runtime::Runtime,
}

impl Cluster {
    pub fn connect(url: &str, basic_auth: Option<(String, String)>) -> io::Result<Self> {
        let parsed = opensearch::http::Url::parse(url)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("`{url}` is not a URL: {e}")))?;
        let mut transport =
            TransportBuilder::new(SingleNodeConnectionPool::new(parsed)).timeout(Duration::from_secs(60));
        if let Some((user, password)) = basic_auth {
            transport = transport.auth(Credentials::Basic(user, password));
        }
        let client = OpenSearch::new(transport.build().map_err(io::Error::other)?);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        Ok(Cluster { client, runtime })
    }

    pub(crate) fn client(&self) -> &OpenSearch {
        &self.client
    }

    /// Runs a request to completion.
    pub(crate) fn block_on<F: std::future::Future>(&self, request: F) -> F::Output {
        self.runtime.block_on(request)
    }

    /// Sends a JSON request and returns the answer; `None` on 404.
    pub fn request(&self, method: Method, path: &str, body: Option<&[u8]>) -> io::Result<Option<serde_json::Value>> {
        self.block_on(async {
            let mut headers = HeaderMap::new();
            headers.insert("content-type", "application/json".parse().expect("a valid header"));
            let response = self
                .client
                .transport()
                .send(method, path, headers, None::<&()>, body, None)
                .await
                .map_err(io::Error::other)?;
            let status = response.status_code();
            let text = response.text().await.map_err(io::Error::other)?;
            match status {
                StatusCode::NOT_FOUND => Ok(None),
                s if s.is_success() => Ok(Some(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))),
                s => Err(io::Error::other(format!("{method:?} {path}: {s}: {}", truncate(&text)))),
            }
        })
    }
}

/// The start of a long server answer, for an error message.
pub(crate) fn truncate(text: &str) -> &str {
    &text[..text.floor_char_boundary(500)]
}
