//! The function's warm state ([`Function`]: the sandbox, the routing config and its plugins,
//! the S3 and OpenSearch clients, a lane per worker) and what an event source can ask of it in
//! one invocation ([`Invocation`]): the objects of an event go through the workers at once.

use crate::config::{Config, RoutingSource};
use crate::metrics::Tally;
use crate::sources::cloudwatch_logs;
use kelk_runtime::aws::Aws;
use kelk_runtime::aws::dead_letters::S3DeadLetters;
use kelk_runtime::aws::plugin_store::{PluginStore, Refreshed};
use kelk_runtime::aws::s3::{self, S3, S3Uri};
use kelk_runtime::opensearch::templates::{Installed, Templates};
use kelk_runtime::opensearch::{BulkSink, Cluster, setup};
use kelk_runtime::pipeline::{self, Counts, Failed, IngestError, Job, Made, Resume, Stop};
use kelk_runtime::routing::{LogGroupRoute, Router, RoutingError};
use kelk_runtime::sandbox::Plugin;
use kelk_runtime::sandbox::Sandbox;
use kelk_runtime::sink::{Checkpoint, Origin, SinkError};
use kelk_runtime::source::{ObjectRef, SourceRef};
use kelk_runtime::workers;
use std::time::{Duration, Instant};

/// Where routes come from.
enum Routes {
    Store(PluginStore),
    /// A local config, and whether its templates are installed.
    Local(Router, bool),
}

impl Routes {
    fn router(&self) -> Option<&Router> {
        match self {
            Routes::Store(store) => store.router(),
            Routes::Local(router, _) => Some(router),
        }
    }
}

/// The warm state of the function: sandbox, plugins, connections.
pub struct Function {
    config: Config,
    sandbox: Sandbox,
    routes: Routes,
    s3: S3,
    /// One per worker (`KELK_WORKERS`), at least one; the first takes the work of one input.
    lanes: Vec<Lane>,
    templates: Templates,
}

/// What a worker writes to, its own: the bulk requests of its input under way, and the dead
/// letters of its input.
struct Lane {
    sink: BulkSink,
    dead_letters: S3DeadLetters,
}

impl Function {
    /// Cold start: the sandbox, the S3 client, the OpenSearch connection, and the routing config
    /// with its plugins, whose index templates are installed. A config that cannot be loaded
    /// does not stop the start: each invocation tries again, and fails (to be retried) while
    /// there is none. Logs what each step took ("cold start": `local_plugins_ms` is a local
    /// config's plugins; `opensearch_ms`, on a thread of its own from the start, the OpenSearch
    /// client and the templates asked for, and `waited_ms` the wait for it past the rest;
    /// `routes_ms` a config from S3 with its plugins, and the index templates, which "index
    /// templates in place" times).
    pub fn new(config: Config, aws: &Aws) -> anyhow::Result<Self> {
        // What each step took, logged at the end: where a cold start's time goes.
        let started = Instant::now();
        let mut lap = {
            let mut last = started;
            move || {
                let (now, then) = (Instant::now(), last);
                last = now;
                ms(now - then)
            }
        };
        // The OpenSearch client is made, and the cluster asked which index templates it holds,
        // on a thread of their own while the sandbox, the S3 client and a local config's plugins
        // are made here: each side waits on certificates, files and the network.
        let (parts, opensearch) = std::thread::scope(|scope| {
            let opensearch = scope.spawn(|| {
                let cluster = Cluster::connect_with_ca(
                    &config.opensearch_url,
                    config.auth.clone(),
                    config.opensearch_ca_file.as_deref(),
                    aws,
                )?
                .with_bulk_concurrency(config.bulk_concurrency);
                let mut templates = Templates::default();
                templates.ask(&cluster);
                Ok::<_, std::io::Error>((cluster, templates, ms(started.elapsed())))
            });
            let parts = (|| {
                let sandbox = Sandbox::new(config.limits, Some(config.cache_dir.clone()))
                    .map_err(|e| anyhow::anyhow!("cannot start the plugin sandbox: {e:#}"))?;
                let sandbox_ms = lap();
                let s3 = S3::new(aws);
                let aws_ms = lap();
                let routes = match &config.routing {
                    RoutingSource::S3(uri) => {
                        Routes::Store(PluginStore::new(s3.clone(), uri.clone(), config.routing_check_every))
                    }
                    RoutingSource::Local(path) => Routes::Local(Router::load_local(&sandbox, path)?, false),
                };
                Ok::<_, anyhow::Error>((sandbox, s3, routes, [sandbox_ms, aws_ms, lap()]))
            })();
            (parts, opensearch.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        let (sandbox, s3, routes, [sandbox_ms, aws_ms, local_plugins_ms]) = parts?;
        let (cluster, templates, opensearch_ms) = opensearch?;
        let waited_ms = lap();
        let lanes = (0..config.workers.max(1))
            .map(|_| Lane {
                sink: BulkSink::new(cluster.clone()),
                dead_letters: S3DeadLetters::new(s3.clone(), config.dead_letters.clone()),
            })
            .collect();
        let mut function = Function { config, sandbox, routes, s3, lanes, templates };
        if let Err(error) = function.refresh_routes() {
            tracing::error!(%error, "routing config refused at cold start");
        }
        tracing::info!(
            sandbox_ms,
            aws_ms,
            local_plugins_ms,
            opensearch_ms,
            waited_ms,
            routes_ms = lap(),
            total_ms = ms(started.elapsed()),
            "cold start"
        );
        Ok(function)
    }

    /// Loads or reloads the routing config and installs its plugins' index templates.
    fn refresh_routes(&mut self) -> Result<Option<Refreshed>, RoutingError> {
        let (cluster, templates, retention) =
            (self.lanes[0].sink.cluster(), &mut self.templates, self.config.retention_days);
        let mut accept = |router: &Router| install(cluster, templates, router, retention);
        match &mut self.routes {
            Routes::Store(store) => store.refresh(&self.sandbox, accept).map(Some),
            Routes::Local(router, installed) => {
                if !*installed {
                    accept(router)?;
                    *installed = true;
                }
                Ok(None)
            }
        }
    }

    /// What the bulk sinks did since the last call.
    pub(crate) fn take_bulk_stats(&mut self) -> kelk_runtime::opensearch::BulkStats {
        let mut stats = kelk_runtime::opensearch::BulkStats::default();
        for lane in &mut self.lanes {
            stats.add(&lane.sink.take_stats());
        }
        stats
    }

    /// How many bulk requests may be under way at once now.
    pub(crate) fn bulk_concurrency(&self) -> usize {
        self.lanes[0].sink.cluster().bulk_concurrency()
    }

    pub(crate) fn config(&self) -> &Config {
        &self.config
    }
}

/// One invocation's work: what an event source asks of the function.
pub struct Invocation<'f> {
    function: &'f mut Function,
    deadline: Instant,
    /// What the invocation did, for its metrics.
    pub tally: Tally,
}

impl<'f> Invocation<'f> {
    /// The work of an invocation that takes no new input after `deadline`.
    /// Bulk requests get half the margin after `deadline` to be answered; the other half is
    /// for the dead letters and the answer.
    pub(crate) fn new(function: &'f mut Function, deadline: Instant) -> Self {
        for lane in &mut function.lanes {
            lane.sink.answer_by(Some(deadline + function.config.deadline_margin / 2));
        }
        Invocation { function, deadline, tally: Tally::default() }
    }

    /// Loads or reloads the routing config. A refused new config is logged and counted while
    /// the last good one goes on; with none loaded, the invocation fails.
    pub(crate) fn refresh_routes(&mut self) -> Result<(), RoutingError> {
        match self.function.refresh_routes() {
            Ok(None | Some(Refreshed::Unchanged)) => Ok(()),
            Ok(Some(Refreshed::Reloaded { etag })) => {
                tracing::info!(etag = etag.as_deref().unwrap_or(""), "routing config in use");
                Ok(())
            }
            Err(error) => {
                self.tally.config_refused += 1;
                tracing::error!(%error, "routing config refused");
                match self.function.routes.router() {
                    Some(_) => Ok(()),
                    None => Err(error),
                }
            }
        }
    }

    /// The routes of the config in use.
    pub fn router(&self) -> Option<&Router> {
        self.function.routes.router()
    }

    /// S3 objects through their plugins into OpenSearch, each on the next free worker, its
    /// rejected lines into the dead letters; each object's result, in their order, and the
    /// counts in the tally.
    pub fn objects(&mut self, objects: &[ObjectRef]) -> Vec<Result<Counts, Failed>> {
        let deadline = self.deadline;
        let Function { config, routes, s3, lanes, .. } = &mut *self.function;
        let shared = Shared { config, routes, s3 };
        let done = workers::each(objects, lanes, |lane, object| shared.object(lane, object, deadline));
        done.into_iter()
            .map(|done| {
                self.tally.superseded += u64::from(done.superseded);
                self.tally.resumed += u64::from(done.resumed);
                self.tally(done.result)
            })
            .collect()
    }

    /// A batch of CloudWatch Logs events of `log_group`: through the plugin its route names,
    /// each message a line of `input`, or, with none, as the documents `keep` makes of them
    /// under the index prefix it is given. The counts go into the tally.
    pub fn log_events(
        &mut self,
        log_group: &str,
        source: &SourceRef,
        input: &[u8],
        keep: impl FnOnce(&str) -> Vec<Made>,
    ) -> Result<Counts, Failed> {
        let (deadline, Function { routes, lanes, templates, .. }) = (self.deadline, &mut *self.function);
        let Lane { sink, dead_letters } = &mut lanes[0];
        let result = unless_late(source, deadline, || {
            let router = routes.router().ok_or_else(|| IngestError::NoRoute { input: source.clone() })?;
            match router.route_log_group(log_group) {
                LogGroupRoute::Parsed(routed) => {
                    let stop = Stop { max_bytes: None, deadline: Some(deadline) };
                    let resume = Resume::default();
                    let job = Job { source, options: routed.options, index_prefix: routed.index_prefix, stop, resume };
                    pipeline::ingest(routed.plugin, &job, input, sink, dead_letters)
                }
                LogGroupRoute::Kept { index_prefix } => {
                    let prefix = index_prefix.unwrap_or(cloudwatch_logs::KEPT_PREFIX);
                    let author = cloudwatch_logs::kept_author();
                    let installed = templates.install(sink.cluster(), author, prefix);
                    match installed.map_err(|e| IngestError::Sink(SinkError::Retryable(format!("{source}: {e}"))))? {
                        Some(Installed::Put(name)) => tracing::info!(template = name, "index template put"),
                        Some(Installed::Present(_) | Installed::Superseded { .. }) | None => {}
                    }
                    let origin = Origin { source, plugin: author.name, plugin_sha256: author.sha256 };
                    pipeline::deliver(origin, input.len() as u64, keep(prefix), sink, dead_letters)
                }
            }
        });
        logged(source, &result);
        self.tally(result)
    }

    /// Adds an input's counts to the tally.
    fn tally(&mut self, result: Result<Counts, Failed>) -> Result<Counts, Failed> {
        match &result {
            Ok(counts) => self.tally.counts.add(counts),
            Err(failed) => {
                if matches!(*failed.error, IngestError::Plugin(_) | IngestError::Contract { .. }) {
                    self.tally.plugin_errors += 1;
                }
                self.tally.counts.add(&failed.counts);
            }
        }
        result
    }

    /// The OpenSearch cluster.
    pub fn cluster(&self) -> &Cluster {
        self.function.lanes[0].sink.cluster()
    }

    /// The configured retention, in days.
    pub fn retention_days(&self) -> Option<u32> {
        self.function.config.retention_days
    }
}

/// What the workers share in an invocation.
struct Shared<'f> {
    config: &'f Config,
    routes: &'f Routes,
    s3: &'f S3,
}

/// How an object's work ended.
struct Done {
    result: Result<Counts, Failed>,
    superseded: bool,
    resumed: bool,
}

impl Shared<'_> {
    /// One S3 object through its plugin into `lane`'s sink, its rejected lines into the
    /// lane's dead letters.
    /// An object whose content was replaced since its event is done with nothing to read: the
    /// new content has an event of its own, and the old is gone. An object named without its
    /// content (a Batch Operations task) is pinned to its ETag first, so that its documents
    /// get the ids its notification gives them.
    fn object(&self, lane: &mut Lane, object: &ObjectRef, deadline: Instant) -> Done {
        let pinned = self.pinned(object);
        let source = SourceRef::Object(pinned.as_ref().map_or_else(|_| object.clone(), Clone::clone));
        let (mut superseded, mut resumed) = (false, false);
        let result = unless_late(&source, deadline, || {
            let object = &pinned.map_err(|error| IngestError::Open { input: source.clone(), error })?;
            let routed = self.routes.router().and_then(|r| r.route(object));
            let routed = routed.ok_or_else(|| IngestError::NoRoute { input: source.clone() })?;
            let input = match self.s3.open(object) {
                Err(error) if s3::superseded(&error) => {
                    tracing::warn!(%object, etag = object.etag, "replaced by other content since its event; nothing to read");
                    superseded = true;
                    return Ok(Counts { objects: 1, ..Counts::default() });
                }
                opened => opened.map_err(|error| IngestError::Open { input: source.clone(), error })?,
            };
            let from = self.resume_point(&lane.dead_letters, &source, routed.plugin, input.size());
            resumed = from.bytes > 0;
            let stop = Stop { max_bytes: self.config.max_object_bytes, deadline: Some(deadline) };
            let resume = Resume { from, every: Some(self.config.checkpoint_records) };
            let job = Job { source: &source, options: routed.options, index_prefix: routed.index_prefix, stop, resume };
            pipeline::ingest(routed.plugin, &job, input, &mut lane.sink, &mut lane.dead_letters)
        });
        logged(&source, &result);
        Done { result, superseded, resumed }
    }

    /// The object with its current ETag when it names neither a version nor an ETag.
    fn pinned(&self, object: &ObjectRef) -> std::io::Result<ObjectRef> {
        if object.version_id.is_some() || object.etag.is_some() {
            return Ok(object.clone());
        }
        let etag = self.s3.etag(&S3Uri { bucket: object.bucket.clone(), key: object.key.clone() })?;
        Ok(ObjectRef { etag: etag.map(|e| e.trim_matches('"').to_owned()), ..object.clone() })
    }

    /// Where an earlier attempt at `source` through `plugin` got to. Only an object of at least
    /// as many bytes as a checkpoint has records is looked up: a smaller one holds fewer records
    /// than a checkpoint unless it compresses its lines below a byte each, and a checkpoint
    /// missed only costs redoing it. Progress that cannot be read is logged, and the object
    /// read from its start.
    fn resume_point(
        &self,
        dead_letters: &S3DeadLetters,
        source: &SourceRef,
        plugin: &Plugin,
        size: Option<u64>,
    ) -> Checkpoint {
        if size.is_some_and(|size| size < self.config.checkpoint_records) {
            return Checkpoint::default();
        }
        match dead_letters.progress(source, &plugin.sha256) {
            Ok(Some(at)) => {
                tracing::info!(input = %source, bytes = at.bytes, records = at.records, "resuming after an earlier attempt's checkpoint");
                at
            }
            Ok(None) => Checkpoint::default(),
            Err(error) => {
                tracing::warn!(input = %source, %error, "cannot read the progress of an earlier attempt; reading from the start");
                Checkpoint::default()
            }
        }
    }
}

/// Does one input's work unless the deadline has passed.
fn unless_late(
    source: &SourceRef,
    deadline: Instant,
    work: impl FnOnce() -> Result<Counts, Failed>,
) -> Result<Counts, Failed> {
    match Instant::now() < deadline {
        true => work(),
        false => Err(IngestError::Deadline { input: source.clone(), bytes: 0 }.into()),
    }
}

/// Logs how an input's work ended.
fn logged(source: &SourceRef, result: &Result<Counts, Failed>) {
    match result {
        Ok(counts) => {
            tracing::info!(input = %source, documents = counts.documents, rejected = counts.rejected, skipped = counts.skipped, bytes = counts.bytes, "input done")
        }
        Err(failed) => tracing::error!(input = %source, error = %failed.error, "input failed"),
    }
}

/// Installs the index template of each plugin and index prefix of `router` that this process
/// has not installed yet, and puts the retention policy again when one is new.
fn install(
    cluster: &Cluster,
    templates: &mut Templates,
    router: &Router,
    retention: Option<u32>,
) -> Result<(), RoutingError> {
    let started = Instant::now();
    let mut new = false;
    let destinations = router.destinations().into_iter().map(|(plugin, prefix)| (plugin.into(), prefix));
    for (plugin, installed) in templates.install_all(cluster, destinations)? {
        match installed {
            Installed::Put(name) => {
                tracing::info!(plugin, template = name, "index template put");
                new = true;
            }
            Installed::Superseded { ours, by } => {
                tracing::warn!(plugin, template = ours, newer = by, "a newer plugin's index template is in charge");
            }
            Installed::Present(_) => {}
        }
    }
    tracing::info!(took_ms = ms(started.elapsed()), "index templates in place");
    if let (true, Some(days)) = (new, retention) {
        let put = setup::put_retention(cluster, days)
            .map_err(|e| RoutingError::Invalid(format!("cannot put the retention policy: {e}")))?;
        tracing::info!(put, "retention policy");
    }
    Ok(())
}

/// Milliseconds, for the logs.
fn ms(took: Duration) -> f64 {
    took.as_secs_f64() * 1e3
}

/// The instant to stop taking work: the invocation's deadline (milliseconds since the epoch)
/// less `margin`.
pub fn stop_at(deadline_ms: u64, margin: Duration) -> Instant {
    let now_ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms)).saturating_sub(margin)
}
