//! The Lambda function: one invocation's event → its objects (or Firehose records) → the
//! routed plugin → OpenSearch, with dead letters in S3, an EMF metrics line, and the answer
//! each event source expects (an error for S3 and EventBridge invocations, which are retried,
//! `batchItemFailures` for SQS, per-record results for Firehose).
//!
//! Configured by environment variables (the README lists them): see [`Config::from_env`].

use crate::cluster::{Auth, Cluster};
use crate::document::ObjectRef;
use crate::engine::{Host, Limits};
use crate::events::{self, Invocation};
use crate::firehose;
use crate::metrics::{self, Tally};
use crate::pipeline::{self, Counts, Failed, IngestError, Job, Stop};
use crate::plugin_store::{PluginStore, Refreshed};
use crate::routing::{Router, RoutingError};
use crate::s3::{S3, S3Uri};
use crate::sink::{OpenSearch, S3DeadLetters};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

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
    pub dead_letters: S3Uri,
    pub max_object_bytes: Option<u64>,
    /// Stop taking work this long before the invocation's deadline, to flush what is in flight.
    pub deadline_margin: Duration,
    pub limits: Limits,
    pub cache_dir: PathBuf,
    pub retention_days: Option<u32>,
    pub function_name: String,
}

impl Config {
    /// `KELK_ROUTING_CONFIG` (`s3://…` or a local path), `KELK_OPENSEARCH_URL`,
    /// `KELK_DEAD_LETTERS` (`s3://bucket/prefix/`) are required; the others have defaults.
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
            auth: Auth::from_env()?,
            dead_letters: required("KELK_DEAD_LETTERS")?.parse().map_err(anyhow::Error::msg)?,
            max_object_bytes: (max_mib > 0).then_some(max_mib << 20),
            deadline_margin: Duration::from_millis(number("KELK_DEADLINE_MARGIN_MS", 10_000)?),
            limits: Limits {
                memory_bytes: (number("KELK_PLUGIN_MEMORY_MIB", 128)? as usize) << 20,
                call_timeout: Duration::from_millis(number("KELK_PLUGIN_CALL_TIMEOUT_MS", 5_000)?),
            },
            // The only writable place in Lambda; it outlives one invocation in a warm sandbox.
            cache_dir: std::env::var_os("KELK_CACHE_DIR").map_or_else(|| "/tmp/kelk".into(), PathBuf::from),
            retention_days: (retention > 0).then_some(retention as u32),
            function_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "kelk".into()),
        })
    }
}

enum Routes {
    Store(PluginStore),
    Local(Router),
}

impl Routes {
    fn router(&self) -> Option<&Router> {
        match self {
            Routes::Store(store) => store.router(),
            Routes::Local(router) => Some(router),
        }
    }
}

/// The warm state of the function: engine, plugins, connections.
pub struct Function {
    config: Config,
    host: Host,
    routes: Routes,
    s3: S3,
    sink: OpenSearch,
}

impl Function {
    /// Cold start: the engine, the S3 client, the OpenSearch connection, and the routing config
    /// with its plugins. A config from S3 that cannot be loaded does not stop the start: each
    /// invocation tries again, and fails (to be retried) while there is none.
    pub fn new(config: Config) -> anyhow::Result<Self> {
        let host = Host::new(config.limits, Some(config.cache_dir.clone()))
            .map_err(|e| anyhow::anyhow!("cannot start the plugin engine: {e:#}"))?;
        let s3 = S3::from_env()?;
        let routes = match &config.routing {
            RoutingSource::S3(uri) => {
                let mut store = PluginStore::new(s3.clone(), uri.clone(), config.routing_check_every);
                if let Err(error) = store.refresh(&host) {
                    tracing::error!(%error, "routing config refused at cold start");
                }
                Routes::Store(store)
            }
            RoutingSource::Local(path) => Routes::Local(Router::load_local(&host, path)?),
        };
        let cluster = Cluster::connect(&config.opensearch_url, config.auth.clone())?;
        let sink = OpenSearch::new(cluster, Box::new(S3DeadLetters::new(s3.clone(), config.dead_letters.clone())));
        Ok(Function { config, host, routes, s3, sink })
    }

    /// Handles one event, taking no new work after `deadline` (the invocation's deadline less
    /// the configured margin).
    pub fn handle(&mut self, event: &Value, deadline: Instant) -> anyhow::Result<Value> {
        let started = Instant::now();
        let mut tally = Tally::default();
        let answer = self.dispatch(event, deadline, &mut tally);
        tally.bulk = self.sink.take_stats();
        let now_ms = chrono::Utc::now().timestamp_millis();
        println!("{}", metrics::emf_line(&self.config.function_name, &tally, started.elapsed(), now_ms));
        answer
    }

    fn dispatch(&mut self, event: &Value, deadline: Instant, tally: &mut Tally) -> anyhow::Result<Value> {
        if event["action"] == "setup" {
            let cluster = self.sink.cluster();
            let put = crate::setup::setup(cluster, self.config.retention_days)?;
            return Ok(json!({ "put": put }));
        }
        let invocation = events::classify(event)?;
        self.refresh_routes(tally)?;
        match invocation {
            Invocation::Objects(objects) => {
                let failures: Vec<String> = objects
                    .iter()
                    .filter_map(|object| self.object(object, deadline, tally).err())
                    .map(|failed| failed.error.to_string())
                    .collect();
                match failures.first() {
                    None => Ok(json!({ "objects": objects.len(), "counts": tally.counts })),
                    Some(first) => Err(anyhow::anyhow!(
                        "{} of {} objects failed; the first: {first}",
                        failures.len(),
                        objects.len()
                    )),
                }
            }
            Invocation::Messages(messages) => {
                let mut failures = Vec::new();
                for message in &messages {
                    let ok = match &message.objects {
                        Ok(objects) => objects.iter().all(|object| self.object(object, deadline, tally).is_ok()),
                        Err(reason) => {
                            tracing::error!(message_id = message.id, reason, "unreadable SQS message");
                            false
                        }
                    };
                    if !ok {
                        failures.push(json!({ "itemIdentifier": message.id }));
                    }
                }
                Ok(json!({ "batchItemFailures": failures }))
            }
            Invocation::Firehose(batch) => {
                let stream = firehose::stream_name(&batch);
                let router = self.routes.router().ok_or_else(|| anyhow::anyhow!("no routing config is loaded"))?;
                let routed = router.route_stream(stream).ok_or_else(|| {
                    anyhow::anyhow!("no route names delivery stream `{stream}`, and there is no `apache` plugin")
                })?;
                let response = firehose::transform(routed.plugin, &batch);
                for record in &response.records {
                    match record.result.as_deref() {
                        Some(firehose::OK) => tally.counts.documents += 1,
                        Some(firehose::DROPPED) => tally.counts.skipped += 1,
                        _ => tally.counts.rejected += 1,
                    }
                }
                Ok(serde_json::to_value(response)?)
            }
        }
    }

    /// Loads or reloads the routing config. A refused new config is logged and counted while
    /// the last good one goes on; with none loaded, the invocation fails.
    fn refresh_routes(&mut self, tally: &mut Tally) -> Result<(), RoutingError> {
        let Routes::Store(store) = &mut self.routes else { return Ok(()) };
        match store.refresh(&self.host) {
            Ok(Refreshed::Unchanged) => Ok(()),
            Ok(Refreshed::Reloaded { etag }) => {
                tracing::info!(etag = etag.as_deref().unwrap_or(""), "routing config in use");
                Ok(())
            }
            Err(error) => {
                tally.config_refused += 1;
                tracing::error!(%error, "routing config refused");
                match store.router() {
                    Some(_) => Ok(()),
                    None => Err(error),
                }
            }
        }
    }

    /// One object through its plugin into the sink; the counts go into `tally`.
    fn object(&mut self, object: &ObjectRef, deadline: Instant, tally: &mut Tally) -> Result<Counts, Failed> {
        let result = self.ingest(object, deadline);
        let counts = match &result {
            Ok(counts) => counts,
            Err(failed) => {
                if matches!(*failed.error, IngestError::Plugin(_) | IngestError::Contract { .. }) {
                    tally.plugin_errors += 1;
                }
                tracing::error!(object = %object, error = %failed.error, "object failed");
                &failed.counts
            }
        };
        tally.counts.add(counts);
        result
    }

    fn ingest(&mut self, object: &ObjectRef, deadline: Instant) -> Result<Counts, Failed> {
        let failed = Failed::at_start;
        if Instant::now() >= deadline {
            return Err(failed(IngestError::Deadline { object: object.to_string(), bytes: 0 }));
        }
        let Some(routed) = self.routes.router().and_then(|r| r.route(object)) else {
            return Err(failed(IngestError::NoRoute { object: object.to_string() }));
        };
        let input = self
            .s3
            .open(object)
            .map_err(|source| failed(IngestError::Decode { object: object.to_string(), source }))?;
        let job = Job {
            object,
            log_type: &routed.plugin.info.name,
            options: routed.options,
            index_prefix: routed.index_prefix,
            stop: Stop { max_bytes: self.config.max_object_bytes, deadline: Some(deadline) },
        };
        let counts = pipeline::ingest(routed.plugin, &job, input, &mut self.sink)?;
        tracing::info!(object = %object, plugin = routed.plugin.name, documents = counts.documents, rejected = counts.rejected, skipped = counts.skipped, bytes = counts.bytes, "object done");
        Ok(counts)
    }
}

/// The instant to stop taking work: the invocation's deadline (milliseconds since the epoch)
/// less `margin`.
pub fn stop_at(deadline_ms: u64, margin: Duration) -> Instant {
    let now_ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)).saturating_sub(margin)
}
