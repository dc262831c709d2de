//! `kelk`: runs log files through a parser plugin into a sink, as the Lambda host does with
//! S3 objects: into an OpenSearch cluster, or, with no cluster at hand, the embedded default
//! sink, which writes OpenSearch `_bulk` files and dead letters to a local directory. And, for
//! logs already in S3, an S3 Batch Operations job that sends them through the Lambda host.

mod backfill;

use clap::Parser;
use kelk_cli::{self as cli, HostArgs, Input, Output, exit};
use kelk_runtime::aws::Aws;
use kelk_runtime::aws::s3::{S3, S3Uri};
use kelk_runtime::opensearch::{Auth, BulkSink, BulkStats, Cluster, Concurrency, dashboards, setup};
use kelk_runtime::pipeline::Stop;
use kelk_runtime::routing::Router;
use kelk_runtime::sandbox::Plugin;
use kelk_runtime::sink::{BulkFiles, DeadLetterFile, DeadLetters, Shared, Sink, Stderr, Stdout};
use kelk_runtime::source::ObjectRef;
use kelk_runtime::workers;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

#[derive(Parser)]
#[command(version, about = "Turn AWS log files into OpenSearch documents with KELK's Wasm parser plugins")]
enum Command {
    /// Parse log files (local or in S3, plain or gzip) with a plugin and write the documents.
    ///
    /// Every input line ends as a document or as a dead letter with its reason; the summary
    /// on stderr counts both. Exit status: 0 when every file was processed (rejected lines
    /// are dead-lettered, not lost), 3 when a file or the plugin failed, 2 on bad usage.
    Ingest(Box<Ingest>),
    /// Put the index templates of plugins (and a retention policy) into an OpenSearch cluster
    /// (idempotent), or write the OpenSearch Dashboards objects of their documents to import.
    ///
    /// The plugins are those of a routing config (`--routes`) or those named (`--plugin`); each
    /// describes its own mappings and dashboard. `kelk ingest --opensearch` and the Lambda host
    /// install the templates themselves when they load plugins.
    Setup(Setup),
    /// List the parser plugins built into `kelk`, which `ingest --plugin NAME` takes by name.
    Plugins(Plugins),
    /// Start an S3 Batch Operations job that sends logs already in S3 (every object under
    /// prefixes, or an S3 Inventory report's objects) through the deployed Lambda host, one
    /// invocation per object, thousands at once; print its id.
    ///
    /// The job invokes the host with Batch Operations' schema 2.0; the host answers each object
    /// with Succeeded, TemporaryFailure (retried by the job) or PermanentFailure (in the job's
    /// report). Documents get the ids live delivery gives them, so objects indexed already are
    /// not duplicated. Exit status: 0 when the job was created (or printed, with --dry-run),
    /// 3 when it could not be (no object under a prefix, a report that is not CSV, AWS refused),
    /// 2 on bad usage.
    Backfill(Box<backfill::Args>),
}

#[derive(clap::Args)]
struct Plugins {
    #[command(flatten)]
    host: HostArgs,
}

/// Where OpenSearch is.
#[derive(clap::Args)]
struct ClusterArgs {
    /// Write to this OpenSearch cluster (e.g. http://localhost:9200) instead of `_bulk` files;
    /// dead letters still go to --out.
    #[arg(long, value_name = "URL", conflicts_with = "stdout")]
    opensearch: Option<String>,
    /// Basic-auth user for OpenSearch; the password comes from KELK_OPENSEARCH_PASSWORD.
    #[arg(long, requires = "opensearch", conflicts_with = "sigv4")]
    user: Option<String>,
    /// Sign requests with AWS SigV4 (Amazon OpenSearch Service), with the standard AWS
    /// credentials and region.
    #[arg(long, requires = "opensearch")]
    sigv4: bool,
    /// Trust the CA certificates in this PEM file too, for an OpenSearch whose certificate a
    /// private CA signed (a self-managed cluster with its own TLS certificates).
    #[arg(long, value_name = "FILE", requires = "opensearch")]
    ca_cert: Option<PathBuf>,
}

impl ClusterArgs {
    fn connect(&self, aws: &Aws) -> anyhow::Result<Option<Cluster>> {
        let Some(url) = &self.opensearch else { return Ok(None) };
        let auth = match &self.user {
            Some(user) => Auth::Basic {
                user: user.clone(),
                password: std::env::var("KELK_OPENSEARCH_PASSWORD")
                    .map_err(|_| anyhow::anyhow!("--user needs KELK_OPENSEARCH_PASSWORD"))?,
            },
            None if self.sigv4 => Auth::SigV4 { service: "es".into() },
            None => Auth::None,
        };
        Ok(Some(Cluster::connect_with_ca(url, auth, self.ca_cert.as_deref(), aws)?))
    }
}

#[derive(clap::Args)]
struct Setup {
    /// The plugins of this routing config, each with the index prefixes its routes give it.
    #[arg(long, short, required_unless_present = "plugin")]
    routes: Option<PathBuf>,
    /// A plugin, bundled by name or a `.wasm` component, with its default index prefix;
    /// repeatable.
    #[arg(long, short, value_name = "NAME|WASM", conflicts_with = "routes")]
    plugin: Vec<PathBuf>,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Delete daily indices this many days after their creation (an ISM policy; skipped when
    /// the cluster has no Index State Management plugin).
    #[arg(long, value_name = "DAYS")]
    retention_days: Option<u32>,
    /// Write OpenSearch Dashboards saved objects (an index pattern and a dashboard per plugin
    /// and index prefix) to this file, for import in Dashboards Management → Saved objects.
    #[arg(long, value_name = "FILE", required_unless_present = "opensearch")]
    dashboards: Option<PathBuf>,
    /// On a cluster with fine-grained access control, as its master user: create the
    /// `kelk_writer` security role and map these IAM roles to it (the host's and Firehose's;
    /// see `terraform output`). Repeatable; the mapping is replaced by the roles given.
    #[arg(long, value_name = "ROLE_ARN", requires = "opensearch")]
    writer_role: Vec<String>,
    #[command(flatten)]
    host: HostArgs,
}

/// The plugins of a run: a routing config's, or plugins named on the command line.
enum Loaded {
    Routes(Router),
    Named(Vec<(Plugin, Option<String>)>),
}

impl Loaded {
    /// Each plugin with each index prefix it writes to.
    fn destinations(&self) -> Vec<(&Plugin, &str)> {
        match self {
            Loaded::Routes(router) => router.destinations(),
            Loaded::Named(plugins) => {
                plugins.iter().map(|(p, prefix)| (p, prefix.as_deref().unwrap_or(&p.info.index_prefix))).collect()
            }
        }
    }
}

#[derive(clap::Args)]
struct Ingest {
    /// The parser plugin for every input: a bundled plugin by name (`alb`, `cloudfront`,
    /// `cloudtrail`, `apache`; see `kelk plugins`), or a `.wasm` component (see `kelk-plugin build`).
    #[arg(long, short, value_name = "NAME|WASM", required_unless_present = "routes", conflicts_with = "routes")]
    plugin: Option<PathBuf>,
    /// A routing config choosing the plugin (and index prefix, options) of each input by its
    /// path; the same JSON as the Lambda host's (see the README).
    #[arg(long, short)]
    routes: Option<PathBuf>,
    /// The log files: local paths, `s3://bucket/key` objects, or `s3://bucket/prefix/` for every
    /// object under a prefix (AWS credentials, region and endpoint from the standard AWS
    /// configuration). Routes match S3 objects by bucket and key, local files by path.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// Write `_bulk` files (`<index>.ndjson`) and `dead-letters.ndjson` into this directory.
    #[arg(long, short, default_value = "out", conflicts_with = "stdout")]
    out: PathBuf,
    /// Print the documents on stdout instead, and dead letters on stderr.
    #[arg(long)]
    stdout: bool,
    /// With --plugin: the index prefix; the event date is appended [default: the plugin's].
    #[arg(long, conflicts_with = "routes")]
    index_prefix: Option<String>,
    /// With --plugin: a plugin option, `NAME=VALUE`; repeatable.
    #[arg(long = "option", short = 'O', value_name = "NAME=VALUE", value_parser = parse_option, conflicts_with = "routes")]
    options: Vec<(String, String)>,
    /// Give up on a file that decompresses to more than this many MiB (a gzip bomb).
    #[arg(long, value_name = "MIB")]
    max_object_mib: Option<u64>,
    /// Files parsed at once, each on a worker of its own (with --stdout, one) [default: the
    /// cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    workers: Option<u16>,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// With --opensearch: bulk requests at once, `adaptive` (more while the cluster answers as
    /// quickly, fewer on 429s and slower answers) or a fixed number from 1 to 8, for a small
    /// cluster.
    #[arg(long, value_name = "N|adaptive", default_value = "adaptive", requires = "opensearch")]
    bulk_concurrency: Concurrency,
    #[command(flatten)]
    host: HostArgs,
}

/// Local files as they are, S3 URIs as their objects (a URI ending in `/` as every object under
/// it); the S3 client when any input is in S3.
fn inputs(args: &[String], aws: &Aws) -> anyhow::Result<(Vec<Input>, Option<S3>)> {
    let mut s3 = None;
    let mut inputs = Vec::new();
    for arg in args {
        if !arg.starts_with("s3://") {
            inputs.push(Input::file(Path::new(arg)));
            continue;
        }
        let uri: S3Uri = arg.parse().map_err(anyhow::Error::msg)?;
        if s3.is_none() {
            s3 = Some(S3::new(aws));
        }
        let listed = s3.as_ref().expect("made above").list(&uri)?;
        let prefix = uri.key.is_empty() || uri.key.ends_with('/');
        let objects: Vec<Input> = listed
            .into_iter()
            .filter(|listed| prefix || listed.key == uri.key)
            .map(|listed| Input {
                // With its ETag, as the host's events give it: the same object gets the same ids.
                object: ObjectRef { bucket: uri.bucket.clone(), key: listed.key, version_id: None, etag: listed.etag },
                size: listed.size,
            })
            .collect();
        anyhow::ensure!(!objects.is_empty(), "{uri}: no such object");
        inputs.extend(objects);
    }
    Ok((inputs, s3))
}

/// A worker's output: its sink and its dead letters.
fn outs<'o>(sinks: &'o mut [impl Sink + Send], letters: &'o mut [impl DeadLetters + Send]) -> Vec<Output<'o>> {
    sinks.iter_mut().zip(letters).map(|(sink, dead_letters)| Output { sink, dead_letters }).collect()
}

fn parse_option(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| format!("`{s}` is not NAME=VALUE"))
}

fn main() -> ExitCode {
    kelk_runtime::bound_the_allocator();
    cli::init_tracing();
    let command = Command::parse();
    cli::exit_status(kelk_runtime::runtime().map_err(anyhow::Error::from).and_then(|runtime| {
        let aws = Aws::new(runtime.handle().clone());
        match command {
            Command::Ingest(args) => ingest(&args, &aws),
            Command::Setup(args) => setup(&args, &aws),
            Command::Plugins(args) => plugins(&args),
            Command::Backfill(args) => backfill::run(&args, &aws),
        }
    }))
}

fn plugins(args: &Plugins) -> anyhow::Result<u8> {
    let sandbox = args.host.sandbox()?;
    for (name, wasm) in cli::BUNDLED {
        let plugin = sandbox.load(name, wasm)?;
        let info = &plugin.info;
        println!("{name:<12} {:<8} dataset {:<22} sha256 {}", info.version, info.dataset, plugin.sha256);
    }
    Ok(exit::OK)
}

fn setup(args: &Setup, aws: &Aws) -> anyhow::Result<u8> {
    let sandbox = args.host.sandbox()?;
    let plugins = match &args.routes {
        Some(routes) => Loaded::Routes(Router::load_local(&sandbox, routes)?),
        None => Loaded::Named(
            args.plugin.iter().map(|p| Ok((cli::load_plugin(&sandbox, p)?, None))).collect::<anyhow::Result<_>>()?,
        ),
    };
    let destinations = plugins.destinations();
    if let Some(cluster) = args.cluster.connect(aws)? {
        if !args.writer_role.is_empty() {
            for name in setup::map_writers(&cluster, &args.writer_role)? {
                eprintln!("put {name}");
            }
        }
        for done in setup::setup(&cluster, &destinations, args.retention_days)? {
            eprintln!("{done}");
        }
    }
    if let Some(path) = &args.dashboards {
        std::fs::write(path, dashboards::saved_objects(&destinations)?)?;
        eprintln!("wrote {} (import it in Dashboards Management → Saved objects)", path.display());
    }
    Ok(exit::OK)
}

fn ingest(args: &Ingest, aws: &Aws) -> anyhow::Result<u8> {
    let sandbox = args.host.sandbox()?;
    let stop = Stop { max_bytes: args.max_object_mib.map(|m| m << 20), ..Stop::default() };
    let (inputs, s3) = inputs(&args.inputs, aws)?;
    let open = |object: &ObjectRef| -> std::io::Result<Box<dyn Read + Send>> {
        match &s3 {
            Some(s3) if !object.bucket.is_empty() => Ok(Box::new(s3.open(object)?)),
            _ => Ok(Box::new(std::fs::File::open(&object.key)?)),
        }
    };
    let plugins = match (&args.routes, &args.plugin) {
        (Some(routes), _) => Loaded::Routes(Router::load_local(&sandbox, routes)?),
        (None, Some(plugin)) => Loaded::Named(vec![(cli::load_plugin(&sandbox, plugin)?, args.index_prefix.clone())]),
        (None, None) => unreachable!("clap requires --plugin or --routes"),
    };
    let run = |mut outs: Vec<Output>| -> cli::Report {
        match &plugins {
            Loaded::Routes(router) => cli::ingest(|object| router.route(object), &inputs, &open, stop, &mut outs),
            Loaded::Named(named) => {
                let (plugin, prefix) = &named[0];
                cli::ingest(cli::single(plugin, prefix.as_deref(), &args.options), &inputs, &open, stop, &mut outs)
            }
        }
    };
    let workers = args.workers.map_or_else(workers::cores, usize::from).min(inputs.len()).max(1);
    // Local files are shared by the workers, a document or letter at a time.
    let letters = Mutex::new(DeadLetterFile::new(&args.out));
    let mut shared_letters: Vec<_> = (0..workers).map(|_| Shared(&letters)).collect();
    let (report, written) = if args.stdout {
        (run(vec![Output { sink: &mut Stdout::default(), dead_letters: &mut Stderr }]), None)
    } else if let Some(cluster) = args.cluster.connect(aws)? {
        for done in setup::setup(&cluster, &plugins.destinations(), None)? {
            eprintln!("{done}");
        }
        // Each worker its own bulk sink; their requests share the cluster's one limit.
        let cluster = cluster.with_bulk_concurrency(args.bulk_concurrency);
        let mut sinks: Vec<BulkSink> = (0..workers).map(|_| BulkSink::new(cluster.clone())).collect();
        let report = run(outs(&mut sinks, &mut shared_letters));
        let mut s = BulkStats::default();
        for sink in &sinks {
            s.add(&sink.stats());
        }
        let written = format!(
            "OpenSearch: {} indexed, {} already there, {} refused and dead-lettered, {} retries (bulk concurrency {} at the end), {} fields left out (ignore_malformed: see the warnings); dead letters in {}/dead-letters.ndjson",
            s.indexed,
            s.already_indexed,
            s.refused,
            s.retries,
            cluster.bulk_concurrency(),
            s.ignored_fields,
            args.out.display()
        );
        (report, Some(written))
    } else {
        let files = Mutex::new(BulkFiles::new(&args.out)?);
        let mut sinks: Vec<_> = (0..workers).map(|_| Shared(&files)).collect();
        let written =
            format!("wrote {0}/<index>.ndjson (_bulk bodies) and {0}/dead-letters.ndjson", args.out.display());
        (run(outs(&mut sinks, &mut shared_letters)), Some(written))
    };
    report.print_summary();
    if let Some(written) = written {
        eprintln!("{written}");
    }
    Ok(if report.counts.failed_objects > 0 { exit::FAILED } else { exit::OK })
}
