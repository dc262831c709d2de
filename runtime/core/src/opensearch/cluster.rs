//! A connection to an OpenSearch cluster: plain HTTP or HTTPS, with no auth, basic auth, or
//! AWS SigV4 (Amazon OpenSearch Service, `es`, or OpenSearch Serverless, `aoss`, signed with the
//! standard AWS credentials). HTTPS verifies the cluster's certificate against the system's CAs
//! and, for a cluster whose certificate a private CA signed, that CA's certificate. The pipeline
//! is synchronous: requests block on the process's runtime, on which bulk requests also run in
//! the background.

use crate::aws::Aws;
use opensearch::OpenSearch;
use opensearch::auth::Credentials;
use opensearch::cert::{Certificate, CertificateValidation};
use opensearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use opensearch::http::{Method, StatusCode, headers::HeaderMap};
use std::io;
use std::path::Path;
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

/// A connection to one cluster (a clone shares its connections).
#[derive(Clone)]
pub struct Cluster {
    client: OpenSearch,
    runtime: Handle,
}

impl Cluster {
    /// Connects to the cluster at `url` (nothing is sent yet); SigV4 takes its credentials
    /// and region from `aws`.
    pub fn connect(url: &str, auth: Auth, aws: &Aws) -> io::Result<Self> {
        Self::connect_with_ca(url, auth, None, aws)
    }

    /// As [`Cluster::connect`], trusting also the CA certificates of the PEM file `ca_cert`
    /// (one or more): for a cluster whose certificate a private CA signed. The certificate is
    /// verified in full all the same, its names included.
    pub fn connect_with_ca(url: &str, auth: Auth, ca_cert: Option<&Path>, aws: &Aws) -> io::Result<Self> {
        let parsed = opensearch::http::Url::parse(url)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("`{url}` is not a URL: {e}")))?;
        let mut transport =
            TransportBuilder::new(SingleNodeConnectionPool::new(parsed)).timeout(Duration::from_secs(60));
        if let Some(path) = ca_cert {
            transport = transport.cert_validation(CertificateValidation::Full(ca_certificates(path)?));
        }
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
        let transport = transport.build().map_err(|e| match ca_cert {
            // Where the CA's certificates are parsed: the file is named.
            Some(path) => io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot use the CA certificate {}: {}", path.display(), described(&e)),
            ),
            None => io::Error::other(described(&e)),
        })?;
        Ok(Cluster { client: OpenSearch::new(transport), runtime: aws.handle().clone() })
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
                .map_err(|e| io::Error::other(described(&e)))?;
            let status = response.status_code();
            let text = response.text().await.map_err(|e| io::Error::other(described(&e)))?;
            match status {
                StatusCode::NOT_FOUND => Ok(None),
                s if s.is_success() => Ok(Some(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))),
                StatusCode::BAD_REQUEST => Err(io::Error::new(io::ErrorKind::InvalidData, reasons(&text))),
                s => Err(io::Error::other(format!("{method:?} {path}: {s}: {}", truncate(&text)))),
            }
        })
    }
}

/// The CA certificates of a PEM file.
fn ca_certificates(path: &Path) -> io::Result<Certificate> {
    let pem = std::fs::read(path)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot read the CA certificate {}: {e}", path.display())))?;
    Certificate::from_pem(&pem).map_err(|e| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("{} is not a PEM CA certificate: {e}", path.display()))
    })
}

/// An error with its causes, where the detail is (`error sending request` is caused by a
/// refused connection or a certificate the client does not trust): each said once.
fn described(error: &(dyn std::error::Error + 'static)) -> String {
    let mut said: Vec<String> = Vec::new();
    for cause in std::iter::successors(Some(error), |e| e.source()) {
        let text = cause.to_string();
        if !said.iter().any(|s| s.contains(&text)) {
            said.push(text);
        }
    }
    said.join(": ")
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed CA certificate (P-256), only ever parsed.
    const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBwTCCAWegAwIBAgIUVCOoYXVnpEazuVeXw+z/0R7/qV4wCgYIKoZIzj0EAwIw
NjEYMBYGA1UECgwPS0VMSyB1bml0IHRlc3RzMRowGAYDVQQDDBFLRUxLIHVuaXQg
dGVzdCBDQTAeFw0yNjEyMDExNjE2MjJaFw0zNjExMjgxNjE2MjJaMDYxGDAWBgNV
BAoMD0tFTEsgdW5pdCB0ZXN0czEaMBgGA1UEAwwRS0VMSyB1bml0IHRlc3QgQ0Ew
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATR3CpnK9veJC10ipW6BhBpHySoE3F1
/Z/i2N/kPmc/AaounZS6+S3f8Pyy+dyuw4EfS6FrLYervNytlbLovtQlo1MwUTAd
BgNVHQ4EFgQUOyIpuDbA1nZ60kTbly+cyZ27x7IwHwYDVR0jBBgwFoAUOyIpuDbA
1nZ60kTbly+cyZ27x7IwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBF
AiEAhSJdi2R4mbQH4ndlBksgMZ/EpSJH8y5CFLvvMRff0VgCIBK00xezb7lhNU9P
dz5CUpqYl8+wBPBm6HPSFS2Cfjej
-----END CERTIFICATE-----
";

    fn connect(ca_cert: &Path) -> io::Result<Cluster> {
        let runtime = crate::runtime().unwrap();
        Cluster::connect_with_ca("https://127.0.0.1:9", Auth::None, Some(ca_cert), &Aws::new(runtime.handle().clone()))
    }

    #[test]
    fn a_ca_certificate_is_read_from_its_pem_file_and_a_bad_one_named() {
        let dir = std::env::temp_dir().join(format!("kelk-ca-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("ca.pem");
        std::fs::write(&good, format!("the CA of the test cluster\n{CA}")).unwrap();
        assert!(connect(&good).is_ok());

        let missing = dir.join("missing.pem");
        let error = connect(&missing).err().unwrap();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(error.to_string().starts_with(&format!("cannot read the CA certificate {}", missing.display())));

        let key = dir.join("key.pem");
        std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap();
        let error = connect(&key).err().unwrap();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains(&format!("{} is not a PEM CA certificate", key.display())), "{error}");

        let garbled = dir.join("garbled.pem");
        std::fs::write(&garbled, CA.replace("MIIB", "AAAA")).unwrap();
        let error = connect(&garbled).err().unwrap();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains(&garbled.display().to_string()), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_error_is_described_with_its_causes_once_each() {
        #[derive(Debug)]
        struct Layer(&'static str, Option<Box<Layer>>);
        impl std::fmt::Display for Layer {
            fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for Layer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|e| e as _)
            }
        }
        let cause = Layer("invalid peer certificate: UnknownIssuer", None);
        let error =
            Layer("error sending request", Some(Box::new(Layer("error sending request", Some(Box::new(cause))))));
        assert_eq!(described(&error), "error sending request: invalid peer certificate: UnknownIssuer");
    }
}
