//! The function's settings, every one an environment variable (the README lists them).

use kelk_runtime::aws::s3::S3Uri;
use kelk_runtime::opensearch::{Auth, Concurrency};
use kelk_runtime::sandbox::Limits;
use std::path::PathBuf;
use std::time::Duration;

/// Where the routing config is.
#[derive(Debug)]
pub enum RoutingSource {
    S3(S3Uri),
    Local(PathBuf),
}

/// The function's settings.
#[derive(Debug)]
pub struct Config {
    pub routing: RoutingSource,
    pub routing_check_every: Duration,
    pub opensearch_url: String,
    pub auth: Auth,
    /// A PEM file of CA certificates to trust besides the system's, for a cluster whose
    /// certificate a private CA signed.
    pub opensearch_ca_file: Option<PathBuf>,
    /// Bulk requests at once: adapting to the cluster's answers, or fixed (a small cluster).
    pub bulk_concurrency: Concurrency,
    pub dead_letters: S3Uri,
    pub max_object_bytes: Option<u64>,
    /// Stop taking work this long before the invocation's deadline, to flush what is in flight.
    pub deadline_margin: Duration,
    /// Records between an object's checkpoints, where a retry of an object cut short resumes.
    pub checkpoint_records: u64,
    pub limits: Limits,
    /// The objects of an invocation processed at once, each on a worker of its own.
    pub workers: usize,
    pub cache_dir: PathBuf,
    pub retention_days: Option<u32>,
    pub function_name: String,
}

impl Config {
    /// `KELK_ROUTING_CONFIG` (`s3://…` or a local path), `KELK_OPENSEARCH_URL`,
    /// `KELK_DEAD_LETTERS` (`s3://bucket/prefix/`) are required; the others have defaults.
    /// `KELK_OPENSEARCH_CA_FILE`, a PEM file in the package or a layer (`/opt/…`), holds CA
    /// certificates to trust besides the system's; unset or empty, none.
    pub fn from_env() -> anyhow::Result<Self> {
        let required = |name: &str| std::env::var(name).map_err(|_| anyhow::anyhow!("{name} is not set"));
        let number = |name: &str, default: u64| -> anyhow::Result<u64> {
            match std::env::var(name) {
                Ok(v) => v.parse().map_err(|_| anyhow::anyhow!("{name}={v} is not a whole number")),
                Err(_) => Ok(default),
            }
        };
        let routing = required("KELK_ROUTING_CONFIG")?;
        let routing = match routing.starts_with("s3://") {
            true => RoutingSource::S3(routing.parse().map_err(anyhow::Error::msg)?),
            false => RoutingSource::Local(routing.into()),
        };
        let max_mib = number("KELK_MAX_OBJECT_MIB", 0)?;
        let retention = number("KELK_RETENTION_DAYS", 0)?;
        Ok(Config {
            routing,
            routing_check_every: Duration::from_secs(number("KELK_ROUTING_CHECK_SECONDS", 30)?),
            opensearch_url: required("KELK_OPENSEARCH_URL")?,
            auth: auth_from_env()?,
            opensearch_ca_file: path(std::env::var_os("KELK_OPENSEARCH_CA_FILE")),
            bulk_concurrency: match std::env::var("KELK_BULK_CONCURRENCY") {
                Ok(v) => v.parse().map_err(|e| anyhow::anyhow!("KELK_BULK_CONCURRENCY={e}"))?,
                Err(_) => Concurrency::Adaptive,
            },
            dead_letters: required("KELK_DEAD_LETTERS")?.parse().map_err(anyhow::Error::msg)?,
            max_object_bytes: (max_mib > 0).then_some(max_mib << 20),
            deadline_margin: Duration::from_millis(number("KELK_DEADLINE_MARGIN_MS", 10_000)?),
            checkpoint_records: number("KELK_CHECKPOINT_RECORDS", 200_000)?.max(1),
            limits: Limits {
                memory_bytes: (number("KELK_PLUGIN_MEMORY_MIB", 128)? as usize) << 20,
                call_timeout: Duration::from_millis(number("KELK_PLUGIN_CALL_TIMEOUT_MS", 5_000)?),
            },
            workers: match number("KELK_WORKERS", 0)? {
                0 => kelk_runtime::workers::cores(),
                n => n as usize,
            },
            // The only writable place in Lambda; it outlives one invocation in a warm sandbox.
            cache_dir: std::env::var_os("KELK_CACHE_DIR").map_or_else(|| "/tmp/kelk".into(), PathBuf::from),
            retention_days: (retention > 0).then_some(retention as u32),
            function_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "kelk".into()),
        })
    }
}

/// A path setting: unset and empty (as a template leaves a variable it has no value for) are none.
fn path(value: Option<std::ffi::OsString>) -> Option<PathBuf> {
    value.filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// From `KELK_OPENSEARCH_AUTH`: `none` (the default), `basic` (with `KELK_OPENSEARCH_USER`
/// and `KELK_OPENSEARCH_PASSWORD`), `sigv4` or `sigv4-aoss`.
fn auth_from_env() -> anyhow::Result<Auth> {
    let var = |name: &str| std::env::var(name).map_err(|_| anyhow::anyhow!("{name} is not set"));
    match std::env::var("KELK_OPENSEARCH_AUTH").as_deref().unwrap_or("none") {
        "none" => Ok(Auth::None),
        "basic" => Ok(Auth::Basic { user: var("KELK_OPENSEARCH_USER")?, password: var("KELK_OPENSEARCH_PASSWORD")? }),
        "sigv4" => Ok(Auth::SigV4 { service: "es".into() }),
        "sigv4-aoss" => Ok(Auth::SigV4 { service: "aoss".into() }),
        other => anyhow::bail!("KELK_OPENSEARCH_AUTH={other}: expected none, basic, sigv4 or sigv4-aoss"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_path_setting_is_none() {
        assert_eq!(path(None), None);
        assert_eq!(path(Some("".into())), None);
        assert_eq!(path(Some("/opt/kelk/ca.pem".into())), Some(PathBuf::from("/opt/kelk/ca.pem")));
    }
}
