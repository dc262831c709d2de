//! What the command-line tools share: sandbox options, the bundled plugins, logging, exit
//! codes, and running inputs through the pipeline with a progress bar.

use indicatif::{ProgressBar, ProgressStyle};
use kelk_runtime::pipeline::{self, Counts, Failed, Stop};
use kelk_runtime::routing::Routed;
use kelk_runtime::sandbox::{Limits, Plugin, PluginError, Sandbox};
use kelk_runtime::sink::{DeadLetters, Sink};
use kelk_runtime::source::{ObjectRef, SourceRef};
use kelk_runtime::workers;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Exit statuses shared by the tools.
pub mod exit {
    /// Everything went through.
    pub const OK: u8 = 0;
    /// The run completed, but records were rejected or results differ from what was expected.
    pub const REJECTED: u8 = 1;
    /// The command line was wrong (clap's own status).
    pub const USAGE: u8 = 2;
    /// A plugin could not be loaded or built, an object failed part-way, or output failed.
    pub const FAILED: u8 = 3;
}

/// The process exit status of a command's result; an error is printed first. A clap error (a
/// usage mistake found after parsing) is printed and exits as clap's own do.
pub fn exit_status(result: anyhow::Result<u8>) -> std::process::ExitCode {
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) if e.is::<clap::Error>() => {
            let usage = e.downcast::<clap::Error>().expect("checked");
            let _ = usage.print();
            std::process::ExitCode::from(exit::USAGE)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(exit::FAILED)
        }
    }
}

/// The sandbox and cache options of every command that runs plugins.
#[derive(clap::Args, Debug, Clone)]
pub struct HostArgs {
    /// The most memory one plugin session may use, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 128)]
    pub memory_mib: usize,
    /// The CPU deadline for one call into a plugin (one chunk of input), in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub call_timeout_ms: u64,
    /// Where compiled plugins are cached [default: $KELK_CACHE_DIR, else ~/.cache/kelk].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile plugins afresh and cache nothing.
    #[arg(long)]
    pub no_cache: bool,
}

impl HostArgs {
    /// The sandbox these options describe.
    pub fn sandbox(&self) -> anyhow::Result<Sandbox> {
        let limits =
            Limits { memory_bytes: self.memory_mib << 20, call_timeout: Duration::from_millis(self.call_timeout_ms) };
        let cache = if self.no_cache { None } else { self.cache_dir.clone().or_else(default_cache_dir) };
        Sandbox::new(limits, cache).map_err(|e| anyhow::anyhow!("cannot start the plugin sandbox: {e:#}"))
    }
}

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
}
pub use bundled::BUNDLED;

/// Loads a plugin: a bundled one by its name (`alb`), or any other from its `.wasm` file.
pub fn load_plugin(sandbox: &Sandbox, plugin: &Path) -> Result<Plugin, PluginError> {
    let bundled = plugin.to_str().and_then(|name| BUNDLED.iter().find(|(n, _)| *n == name));
    match bundled {
        Some((name, wasm)) if !plugin.exists() => sandbox.load(name, wasm),
        _ => sandbox.load_file(plugin),
    }
}

fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("KELK_CACHE_DIR") {
        return Some(dir.into());
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))?;
    Some(base.join("kelk"))
}

/// Logs to stderr; the level comes from `KELK_LOG` (e.g. `KELK_LOG=debug`), warnings by default.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KELK_LOG").unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

/// The outcome of running local files through a plugin.
#[derive(Debug, Default)]
pub struct Report {
    pub counts: Counts,
    pub failures: Vec<Failed>,
    pub elapsed: Duration,
}

impl Report {
    /// `documents … rejected … skipped … in N files (M MB, X MB/s)`, and each failure.
    pub fn print_summary(&self) {
        let c = &self.counts;
        let mb = c.bytes as f64 / 1e6;
        eprintln!(
            "{} records from {} file(s): {} documents, {} rejected, {} skipped; {:.1} MB in {:.2} s ({:.0} MB/s){}",
            c.records(),
            c.objects,
            c.documents,
            c.rejected,
            c.skipped,
            mb,
            self.elapsed.as_secs_f64(),
            mb / self.elapsed.as_secs_f64().max(1e-9),
            if c.failed_objects > 0 { format!("; {} file(s) FAILED", c.failed_objects) } else { String::new() },
        );
        for failed in &self.failures {
            eprintln!("error: {}", failed.error);
        }
    }

    pub fn exit_code(&self) -> u8 {
        if self.counts.failed_objects > 0 {
            exit::FAILED
        } else if self.counts.rejected > 0 {
            exit::REJECTED
        } else {
            exit::OK
        }
    }
}

/// A log to ingest: a local file (no bucket) or an S3 object, and its size for the progress bar.
pub struct Input {
    pub object: ObjectRef,
    pub size: u64,
}

/// Where a worker's documents and dead letters go.
pub struct Output<'o> {
    pub sink: &'o mut (dyn Sink + Send),
    pub dead_letters: &'o mut (dyn DeadLetters + Send),
}

impl Input {
    pub fn file(path: &Path) -> Self {
        Input { object: ObjectRef::local(path), size: std::fs::metadata(path).map_or(0, |m| m.len()) }
    }
}

/// Opens an input's bytes.
pub type Open<'a> = &'a (dyn Fn(&ObjectRef) -> std::io::Result<Box<dyn Read + Send>> + Sync);

/// Runs each local file through the plugin `route` gives for it (see [`ingest`]).
pub fn ingest_files<'r>(
    route: impl Fn(&ObjectRef) -> Option<Routed<'r>> + Sync,
    files: &[PathBuf],
    stop: Stop,
    mut out: Output,
) -> Report {
    let inputs: Vec<Input> = files.iter().map(|f| Input::file(f)).collect();
    let open: Open = &|object| Ok(Box::new(std::fs::File::open(&object.key)?));
    ingest(route, &inputs, open, stop, std::slice::from_mut(&mut out))
}

/// Runs each input through the plugin `route` gives for it, with a progress bar on a terminal:
/// as many inputs at once as there are `outs`, one per worker. An input that fails, or that no
/// route matches, is reported and the others still run.
pub fn ingest<'r>(
    route: impl Fn(&ObjectRef) -> Option<Routed<'r>> + Sync,
    inputs: &[Input],
    open: Open,
    stop: Stop,
    outs: &mut [Output],
) -> Report {
    let total: u64 = inputs.iter().map(|i| i.size).sum();
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let started = Instant::now();
    let mut report = Report::default();
    let results = workers::each(inputs, outs, |out, Input { object, .. }| {
        bar.set_message(object.key.rsplit('/').next().unwrap_or_default().to_owned());
        let source = SourceRef::Object(object.clone());
        let open = || open(object).map(|inner| Progress { inner, bar: &bar });
        pipeline::ingest_routed(route(object), &source, open, stop, out.sink, out.dead_letters)
    });
    for result in results {
        match result {
            Ok(counts) => report.counts.add(&counts),
            Err(failed) => {
                report.counts.add(&failed.counts);
                report.failures.push(failed);
            }
        }
    }
    bar.finish_and_clear();
    report.elapsed = started.elapsed();
    report
}

/// A route that sends every file to one plugin.
pub fn single<'r>(
    plugin: &'r Plugin,
    index_prefix: Option<&'r str>,
    options: &'r [(String, String)],
) -> impl Fn(&ObjectRef) -> Option<Routed<'r>> {
    move |_| Some(Routed { plugin, index_prefix, options })
}

/// Advances the progress bar by the (compressed) bytes read from an input.
struct Progress<'b, R> {
    inner: R,
    bar: &'b ProgressBar,
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}
