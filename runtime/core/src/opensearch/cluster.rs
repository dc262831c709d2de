//! A connection to an OpenSearch cluster: plain HTTP or HTTPS, with no auth, basic auth, or
//! AWS SigV4 (Amazon OpenSearch Service, `es`, or OpenSearch Serverless, `aoss`, signed with the
//! standard AWS credentials). The pipeline is synchronous: requests block on the process's
//! runtime, on which bulk requests also run in the background.

use crate::aws::Aws;
use opensearch::OpenSearch;
use opensearch::auth::Credentials;
use opensearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use opensearch::http::{Method, StatusCode, headers::HeaderMap};
use std::io;
use std::time::Duration;
use tokio::runtime::Handle;

/// How requests authenticate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    None,
    Basic {
        user: String,
        password: String,
    },
    /// SigV4 for this service: `es` (a managed domain) or `aoss` (Serverless).
    SigV4 {
        service: String,
    },
}

/// A connection to one cluster.
pub struct Cluster {
    client: OpenSearch,
    runtime: Handle,
}

impl Cluster {
    /// Connects to the cluster at `url` (nothing is sent yet); SigV4 takes its credentials
    /// and region from `aws`.
    pub fn connect(url: &str, auth: Auth, aws: &Aws) -> io::Result<Self> {
        let parsed = opensearch::http::Url::parse(url)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("`{url}` is not a URL: {e}")))?;
        let mut transport =
            TransportBuilder::new(SingleNodeConnectionPool::new(parsed)).timeout(Duration::from_secs(60));
        match auth {
            Auth::None => {}
            Auth::Basic { user, password } => transport = transport.auth(Credentials::Basic(user, password)),
            Auth::SigV4 { service } => {
                let credentials: Credentials = aws.config().clone().try_into().map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("SigV4 needs AWS credentials and a region: {e}"),
                    )
                })?;
                transport = transport.auth(credentials).service_name(&service);
            }
        }
        let client = OpenSearch::new(transport.build().map_err(io::Error::other)?);
        Ok(Cluster { client, runtime: aws.handle().clone() })
    }

    pub(crate) fn client(&self) -> &OpenSearch {
        &self.client
    }

    /// Runs a request to completion.
    pub(crate) fn block_on<F: std::future::Future>(&self, request: F) -> F::Output {
        self.runtime.block_on(request)
    }

    /// Runs a request in the background.
    pub(crate) fn spawn<F>(&self, request: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.runtime.spawn(request)
    }

    /// Sends a JSON request and returns the answer; `None` on 404. A 400 (the cluster refuses
    /// the request as it is) is an error of kind `InvalidData` holding the cluster's reason.
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
                StatusCode::BAD_REQUEST => Err(io::Error::new(io::ErrorKind::InvalidData, reasons(&text))),
                s => Err(io::Error::other(format!("{method:?} {path}: {s}: {}", truncate(&text)))),
            }
        })
    }
}

/// An error answer's reason and the reasons of its causes (where the detail, a field name say,
/// usually is), or the answer itself.
fn reasons(text: &str) -> String {
    let answer: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let chain: Vec<&str> = std::iter::successors(Some(&answer["error"]), |e| e.get("caused_by"))
        .filter_map(|e| e["reason"].as_str())
        .collect();
    if chain.is_empty() { truncate(text).to_owned() } else { chain.join(": ") }
}

/// The start of a long server answer, for an error message.
pub(crate) fn truncate(text: &str) -> &str {
    &text[..text.floor_char_boundary(500)]
}
