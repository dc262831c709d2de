//! Amazon S3, or any S3 API server, for the synchronous pipeline: objects streamed as they are
//! read, small objects read whole with their ETag (routing configs, plugins), and writes (dead
//! letters, published plugins). `AWS_ENDPOINT_URL_S3` (or `AWS_ENDPOINT_URL`) points the
//! client at another S3 server, which is then addressed path-style.

use super::Aws;
use crate::source::ObjectRef;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use std::fmt;
use std::io::{self, Read};
use tokio::runtime::Handle;

/// An `s3://bucket/key` address; the key may be a prefix or empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Uri {
    pub bucket: String,
    pub key: String,
}

impl std::str::FromStr for S3Uri {
    type Err = String;

    fn from_str(uri: &str) -> Result<Self, String> {
        let rest = uri.strip_prefix("s3://").ok_or_else(|| format!("`{uri}` is not an s3://bucket/key URI"))?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("`{uri}` names no bucket"));
        }
        Ok(S3Uri { bucket: bucket.to_owned(), key: key.to_owned() })
    }
}

impl fmt::Display for S3Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// An object read whole.
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub etag: Option<String>,
}

/// How a conditional write is conditioned.
#[derive(Clone, Debug)]
pub enum Precondition {
    None,
    /// Only if the object does not exist yet.
    Absent,
    /// Only if the object still has this ETag.
    ETag(String),
}

/// An S3 client, blocking on the process's runtime.
#[derive(Clone)]
pub struct S3 {
    client: Client,
    runtime: Handle,
}

impl S3 {
    /// A client from the standard AWS configuration.
    pub fn new(aws: &Aws) -> Self {
        let config = aws.config();
        let path_style = config.endpoint_url().is_some();
        let client = Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(path_style).build());
        S3 { client, runtime: aws.handle().clone() }
    }

    /// Opens an object to stream it: its version if it has one, else the content its ETag
    /// names (an error of kind `AlreadyExists` once other content has replaced it).
    pub fn open(&self, object: &ObjectRef) -> io::Result<ObjectReader> {
        let if_match = object.etag.as_ref().filter(|_| object.version_id.is_none()).map(|etag| format!("\"{etag}\""));
        let request = self
            .client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .set_version_id(object.version_id.clone())
            .set_if_match(if_match);
        let response = self.runtime.block_on(request.send()).map_err(|e| error(&object.to_string(), e))?;
        let len = response.content_length.and_then(|len| u64::try_from(len).ok());
        Ok(ObjectReader { body: response.body, runtime: self.runtime.clone(), chunk: Bytes::new(), len })
    }

    /// Reads a small object whole.
    pub fn get(&self, uri: &S3Uri) -> io::Result<Fetched> {
        self.runtime.block_on(async {
            let response = self
                .client
                .get_object()
                .bucket(&uri.bucket)
                .key(&uri.key)
                .send()
                .await
                .map_err(|e| error(&uri.to_string(), e))?;
            let etag = response.e_tag;
            let bytes = response.body.collect().await.map_err(|e| io::Error::other(format!("{uri}: {e}")))?;
            Ok(Fetched { bytes: bytes.to_vec(), etag })
        })
    }

    /// The object's ETag, without reading it.
    pub fn etag(&self, uri: &S3Uri) -> io::Result<Option<String>> {
        let request = self.client.head_object().bucket(&uri.bucket).key(&uri.key);
        let response = self.runtime.block_on(request.send()).map_err(|e| error(&uri.to_string(), e))?;
        Ok(response.e_tag)
    }

    /// Writes an object, if `precondition` holds (else an error of kind `AlreadyExists`).
    pub fn put(&self, uri: &S3Uri, body: Vec<u8>, content_type: &str, precondition: Precondition) -> io::Result<()> {
        let mut request =
            self.client.put_object().bucket(&uri.bucket).key(&uri.key).content_type(content_type).body(body.into());
        request = match precondition {
            Precondition::None => request,
            Precondition::Absent => request.if_none_match("*"),
            Precondition::ETag(etag) => request.if_match(etag),
        };
        self.runtime.block_on(request.send()).map(drop).map_err(|e| error(&uri.to_string(), e))
    }

    /// Writes an object from a file, from where the file is to its end, unconditionally.
    pub fn put_file(&self, uri: &S3Uri, file: std::fs::File, content_type: &str) -> io::Result<()> {
        self.runtime.block_on(async {
            let body = ByteStream::read_from()
                .file(tokio::fs::File::from_std(file))
                .build()
                .await
                .map_err(|e| io::Error::other(format!("{uri}: {e}")))?;
            let request = self.client.put_object().bucket(&uri.bucket).key(&uri.key).content_type(content_type);
            request.body(body).send().await.map(drop).map_err(|e| error(&uri.to_string(), e))
        })
    }

    /// Whether any object is under a prefix, from one listing request.
    pub fn any_under(&self, prefix: &S3Uri) -> io::Result<bool> {
        let request = self.client.list_objects_v2().bucket(&prefix.bucket).prefix(&prefix.key).max_keys(1);
        let page = self.runtime.block_on(request.send()).map_err(|e| error(&prefix.to_string(), e))?;
        Ok(page.key_count.unwrap_or(0) > 0 || !page.contents.unwrap_or_default().is_empty())
    }

    /// The objects under a prefix, in key order.
    pub fn list(&self, prefix: &S3Uri) -> io::Result<Vec<Listed>> {
        self.runtime.block_on(async {
            let mut pages =
                self.client.list_objects_v2().bucket(&prefix.bucket).prefix(&prefix.key).into_paginator().send();
            let mut keys = Vec::new();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| error(&prefix.to_string(), e))?;
                let objects = page.contents.unwrap_or_default().into_iter();
                keys.extend(objects.filter_map(|o| {
                    let etag = o.e_tag.map(|e| e.trim_matches('"').to_owned());
                    Some(Listed { key: o.key?, size: o.size.unwrap_or(0).max(0) as u64, etag })
                }));
            }
            Ok(keys)
        })
    }
}

/// An object found by a listing.
#[derive(Debug)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    /// Without its quotes.
    pub etag: Option<String>,
}

/// Whether an error opening an object says other content has replaced the one meant.
pub fn superseded(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::AlreadyExists
}

/// An S3 error as an `io::Error` naming the object: missing objects are `NotFound`, failed
/// preconditions `AlreadyExists`.
fn error<E>(what: &str, e: SdkError<E, HttpResponse>) -> io::Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().map(str::to_owned);
    let kind = match (status, code.as_deref()) {
        (Some(404), _) | (_, Some("NoSuchKey" | "NoSuchBucket" | "NotFound")) => io::ErrorKind::NotFound,
        (Some(412), _) | (_, Some("PreconditionFailed" | "ConditionalRequestConflict")) => io::ErrorKind::AlreadyExists,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, format!("{what}: {}", DisplayErrorContext(&e)))
}

/// An object's body as a `Read`: each read waits for the next piece of the stream, so no more
/// than one network chunk is held.
pub struct ObjectReader {
    body: ByteStream,
    runtime: Handle,
    chunk: Bytes,
    len: Option<u64>,
}

impl ObjectReader {
    /// The object's size, as S3 gave it.
    pub fn size(&self) -> Option<u64> {
        self.len
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.runtime.block_on(self.body.try_next()).map_err(io::Error::other)? {
                Some(chunk) => self.chunk = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        let uri: S3Uri = "s3://logs/alb/2025/x.gz".parse().unwrap();
        assert_eq!((uri.bucket.as_str(), uri.key.as_str()), ("logs", "alb/2025/x.gz"));
        assert_eq!(uri.to_string(), "s3://logs/alb/2025/x.gz");
        assert_eq!("s3://logs".parse::<S3Uri>().unwrap().key, "");
        assert!("logs/x".parse::<S3Uri>().is_err());
        assert!("s3:///x".parse::<S3Uri>().is_err());
    }
}
