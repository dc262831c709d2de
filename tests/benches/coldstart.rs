//! Cold start, step by step: the work of the Lambda host's `Function::new` (the sandbox, the
//! routing config, its plugins loaded and checked) and then the first session opened, for a
//! routing config of four plugins (alb, apache, cloudfront, cloudtrail) loaded three ways:
//!
//! - **precompiled**: each plugin's `.wasm` and the artifact `kelk-plugin publish --precompile`
//!   makes of it, both checked against the config's sha256s, the artifact deserialized;
//! - **compiled**: the `.wasm` alone, compiled by Cranelift (no compile cache: a new Lambda
//!   execution environment starts with an empty `/tmp`);
//! - **cache**: the `.wasm` with the local compile cache warm (a process restarted in the same
//!   execution environment).
//!
//! S3 is left out: the routing config names its plugins by key as the plugin store's does, and
//! the bytes are read from local files (in the page cache) where the host GETs them from S3;
//! that read is shown on a line of its own. With `KELK_TEST_S3`, a fourth way, **store**, is the
//! precompiled one through the plugin store itself (`PluginStore::refresh`), its GETs answered
//! by that S3 server: S3's latency included, as the local server has it. Each run is a process of its own (the bench runs
//! itself), since a cold start is a process's first load; the steps inside the sandbox are its
//! `debug` spans, timed by a subscriber layer here. With `KELK_TEST_OPENSEARCH`, a cold start's
//! index template requests (the shared ECS component, then each plugin's template) are timed
//! against that cluster too, as the host makes them after loading its plugins.
//!
//! Then, with `KELK_TEST_LAMBDA_EMULATOR` (and `KELK_TEST_OPENSEARCH`, which the host writes to),
//! the whole process:
//! `kelk-lambda` started by the Lambda Runtime Interface Emulator for an invocation, with a local
//! routing config of the same four plugins, as the emulator's `INIT REPORT` gives it: from
//! the process's start to its first request for an event, which is what Lambda bills as the
//! init duration. A local config names `.wasm` files, so the plugins come precompiled from the
//! compile cache (`KELK_CACHE_DIR`, warm), or are compiled with the cache empty.
//!
//! `cargo bench -p kelk-tests --bench coldstart [precompiled|compiled|cache|store|lambda …]`
//! (all by default; `KELK_BENCH_RUNS`, 15 by default; the median and the fastest run of each
//! step are printed, in milliseconds).

use kelk_runtime::aws::Aws;
use kelk_runtime::aws::plugin_store::PluginStore;
use kelk_runtime::aws::s3::{Precondition, S3, S3Uri};
use kelk_runtime::opensearch::templates::Templates;
use kelk_runtime::opensearch::{Auth, Cluster};
use kelk_runtime::routing::{Router, RoutingConfig, RoutingError, load_plugin};
use kelk_runtime::sandbox::{Limits, Sandbox, SourceContext};
use kelk_runtime::source::ObjectRef;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::span::{Attributes, Id};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

const PLUGINS: [(&str, &str); 4] = [
    ("alb", "kelk-parser-alb"),
    ("apache", "kelk-parser-apache"),
    ("cloudfront", "kelk-parser-cloudfront"),
    ("cloudtrail", "kelk-parser-cloudtrail"),
];
const WAYS: [&str; 4] = ["precompiled", "compiled", "cache", "store"];
/// The plugin store's bucket in the S3 server, for the way `store`.
const STORE_BUCKET: &str = "kelk-coldstart";

/// The spans closed so far: their `plugin` field (or ""), name, and how long each was open.
static CLOSED: Mutex<Vec<(String, &'static str, Duration)>> = Mutex::new(Vec::new());

/// A span's `plugin` field.
#[derive(Default)]
struct PluginField(String);

impl tracing::field::Visit for PluginField {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "plugin" {
            self.0 = value.to_owned();
        }
    }

    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

/// Times every span: its start and plugin kept in the span, its length recorded when it closes.
struct SpanTimer;

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SpanTimer {
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut plugin = PluginField::default();
        attributes.record(&mut plugin);
        ctx.span(id).expect("a new span").extensions_mut().insert((Instant::now(), plugin.0));
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let span = ctx.span(&id).expect("a closed span");
        let (started, plugin) = span.extensions().get::<(Instant, String)>().cloned().expect("set when opened");
        CLOSED.lock().unwrap().push((plugin, span.name(), started.elapsed()));
    }
}

/// One run's steps, in order: (plugin or "", step, time).
#[derive(Default)]
struct Steps(Vec<(String, String, Duration)>);

impl Steps {
    /// Runs `f` as the step `step`, and the spans it closed as steps inside it (of their plugin).
    fn time<T>(&mut self, step: &str, f: impl FnOnce() -> T) -> T {
        CLOSED.lock().unwrap().clear();
        let started = Instant::now();
        let out = f();
        self.0.push((String::new(), step.into(), started.elapsed()));
        for (plugin, span, took) in CLOSED.lock().unwrap().drain(..) {
            self.0.push((plugin, format!("  {span}"), took));
        }
        out
    }
}

/// One cold start, the `way` of the module docs, from the files in `dir`; prints its steps.
fn child(way: &str, dir: &Path) {
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(
            SpanTimer.with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target("kelk_sandbox", tracing::Level::DEBUG)
                    .with_target("kelk_runtime", tracing::Level::DEBUG),
            ),
        ),
    )
    .unwrap();
    // The AWS and OpenSearch clients' runtime, made before the clock starts, as the host's is.
    let runtime = kelk_runtime::runtime().unwrap();
    let aws = Aws::new(runtime.handle().clone());
    let mut steps = Steps::default();
    let started = Instant::now();
    let cache = (way == "cache").then(|| dir.join("cache"));
    let sandbox = steps.time("sandbox", || Sandbox::new(Limits::default(), cache).unwrap());
    let mut store = None;
    let router = match way {
        "store" => {
            let s3 = steps.time("S3 client (AWS configuration)", || S3::new(&aws));
            let config = format!("s3://{STORE_BUCKET}/precompiled.routing.json").parse().unwrap();
            let store = store.insert(PluginStore::new(s3, config, Duration::ZERO));
            steps.time("routing config and plugins from the S3 server (PluginStore::refresh)", || {
                store.refresh(&sandbox, |_| Ok(())).unwrap()
            });
            store.router().unwrap()
        }
        _ => &local_router(way, dir, &sandbox, &mut steps),
    };
    let object = ObjectRef { bucket: "logs".into(), key: "alb/x.log".into(), version_id: None, etag: None };
    let ctx = SourceContext {
        bucket: object.bucket.clone(),
        key: object.key.clone(),
        version_id: None,
        log_type: String::new(),
        options: Vec::new(),
    };
    let session = steps.time("first session opened", || {
        let routed = router.route(&object).expect("routed to alb");
        routed.plugin.session(&ctx, "s3://logs/alb/x.log").unwrap()
    });
    let ready = started.elapsed();
    drop(session);
    steps.0.push((String::new(), "ready for the first object".into(), ready));
    if let Ok(url) = std::env::var("KELK_TEST_OPENSEARCH") {
        let cluster = Cluster::connect(&url, Auth::None, &aws).unwrap();
        let destinations = router.destinations().into_iter().map(|(plugin, prefix)| (plugin.into(), prefix));
        steps.time("index templates (after ready; OpenSearch)", || {
            Templates::default().install_all(&cluster, destinations).unwrap();
        });
    }
    for (plugin, step, took) in steps.0 {
        println!("{}", json!({ "plugin": plugin, "step": step, "us": took.as_micros() as u64 }));
    }
}

/// The routing config of `way` and its plugins, from the files in `dir` (in place of S3).
fn local_router(way: &str, dir: &Path, sandbox: &Sandbox, steps: &mut Steps) -> Router {
    let config_file = dir.join(format!("{way}.routing.json"));
    let config = steps.time("routing config (read, parsed)", || {
        RoutingConfig::from_json(&std::fs::read(config_file).unwrap()).unwrap()
    });
    let read = |key: &str| std::fs::read(dir.join(key)).unwrap();
    // Each plugin's bytes read and its load_plugin, as the threads of Router::build time them.
    let loads = Mutex::new(Vec::new());
    let router = steps.time("plugins (Router::build)", || {
        Router::build(config, |name, source| {
            let started = Instant::now();
            let (wasm, artifact) = (read(source.key.as_deref().unwrap()), source.precompiled_key.as_deref().map(read));
            let read = started.elapsed();
            let plugin = load_plugin(sandbox, name, source, &wasm, artifact.as_deref());
            loads.lock().unwrap().push((name.to_owned(), read, started.elapsed() - read));
            Ok::<_, RoutingError>(Arc::new(plugin?))
        })
        .unwrap()
    });
    for (plugin, read, load) in loads.into_inner().unwrap() {
        steps.0.push((plugin.clone(), "bytes read (local files, for S3)".into(), read));
        steps.0.push((plugin, "load_plugin".into(), load));
    }
    router
}

/// The plugins' files and a routing config for each way, in `dir`; the compile cache warmed;
/// with `KELK_TEST_S3`, the precompiled way's files in the S3 server too.
fn prepare(dir: &Path) {
    let sandbox = Sandbox::new(Limits::default(), Some(dir.join("cache"))).unwrap();
    let sha256 = |bytes: &[u8]| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(bytes))
    };
    // S3-style with artifacts, S3-style without, and a local config (paths) for the host.
    let mut plugins = [BTreeMap::new(), BTreeMap::new(), BTreeMap::new()];
    for (name, package) in PLUGINS {
        let wasm = std::fs::read(kelk_tests::plugin_wasm(package)).unwrap();
        let artifact = sandbox.precompile(&wasm).unwrap();
        // Warms the cache.
        sandbox.load(name, &wasm).unwrap();
        let (key, artifact_key) = (format!("{name}.wasm"), format!("{name}.cwasm"));
        std::fs::write(dir.join(&key), &wasm).unwrap();
        std::fs::write(dir.join(&artifact_key), &artifact).unwrap();
        eprintln!("{name}: .wasm {} KB, precompiled {} KB", wasm.len() / 1000, artifact.len() / 1000);
        plugins[0].insert(
            name,
            json!({ "key": key, "sha256": sha256(&wasm), "precompiled_key": artifact_key, "precompiled_sha256": sha256(&artifact) }),
        );
        plugins[1].insert(name, json!({ "key": key, "sha256": sha256(&wasm) }));
        plugins[2].insert(name, json!({ "path": key, "sha256": sha256(&wasm) }));
    }
    let routes = json!([
        { "bucket": "logs", "key_glob": "alb/*", "plugin": "alb" },
        { "bucket": "logs", "key_glob": "apache/*", "plugin": "apache" },
        { "bucket": "logs", "key_glob": "cloudfront/*", "plugin": "cloudfront" },
        { "bucket": "logs", "key_glob": "cloudtrail/*", "plugin": "cloudtrail" },
    ]);
    let configs =
        [("precompiled", &plugins[0]), ("compiled", &plugins[1]), ("cache", &plugins[1]), ("local", &plugins[2])];
    for (way, plugins) in configs {
        let config = json!({ "version": 1, "plugins": plugins, "routes": routes });
        std::fs::write(dir.join(format!("{way}.routing.json")), config.to_string()).unwrap();
    }
    if let Ok(server) = std::env::var("KELK_TEST_S3") {
        let bucket = format!("{server}/{STORE_BUCKET}");
        let made = Command::new("curl").args(["-fsS", "-o", "/dev/null", "-X", "PUT", &bucket]).status().unwrap();
        assert!(made.success(), "cannot create the bucket {STORE_BUCKET}");
        let s3 = S3::new(&kelk_tests::aws());
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                let key = path.file_name().unwrap().to_str().unwrap().to_owned();
                let uri = S3Uri { bucket: STORE_BUCKET.into(), key };
                s3.put(&uri, std::fs::read(&path).unwrap(), "application/octet-stream", Precondition::None).unwrap();
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    if let [flag, way, dir] = &args[..]
        && flag == "--child"
    {
        return child(way, Path::new(dir));
    }
    // The ways and `lambda` named on the command line; all of them when none is.
    let chosen = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    let has_s3 = std::env::var_os("KELK_TEST_S3").is_some();
    assert!(has_s3 || args.iter().all(|a| a != "store"), "`store` needs KELK_TEST_S3");
    let ways: Vec<&str> = WAYS.into_iter().filter(|way| chosen(way) && (has_s3 || *way != "store")).collect();
    let runs = std::env::var("KELK_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(15);
    let dir = tempfile::tempdir().unwrap();
    prepare(dir.path());
    // (way, plugin, step) → each run's time; the steps in the order they came.
    let mut times: BTreeMap<(&str, String, String), Vec<Duration>> = BTreeMap::new();
    let mut order: Vec<(&str, String, String)> = Vec::new();
    let exe: PathBuf = std::env::current_exe().unwrap();
    // The ways in turn, so that the machine's load falls on each alike.
    for _ in 0..runs {
        for &way in &ways {
            let out = Command::new(&exe).args(["--child", way]).arg(dir.path()).output().unwrap();
            assert!(out.status.success(), "{way}: {}", String::from_utf8_lossy(&out.stderr));
            for line in String::from_utf8(out.stdout).unwrap().lines() {
                let step: serde_json::Value = serde_json::from_str(line).unwrap();
                let key = (way, step["plugin"].as_str().unwrap().to_owned(), step["step"].as_str().unwrap().to_owned());
                if !times.contains_key(&key) {
                    order.push(key.clone());
                }
                times.entry(key).or_default().push(Duration::from_micros(step["us"].as_u64().unwrap()));
            }
        }
    }
    for &way in &ways {
        println!("\n{way} ({runs} runs)          median ms   fastest ms");
        // The run's steps, then each plugin's (which overlap: the plugins load at once).
        let mut rows: Vec<_> = order.iter().filter(|k| k.0 == way).collect();
        rows.sort_by_key(|(_, plugin, step)| {
            let plugin_span = !plugin.is_empty() && step.starts_with(' ');
            (!plugin.is_empty(), plugin.clone(), plugin_span)
        });
        for key in rows {
            let mut runs = times[key].clone();
            runs.sort();
            let label = match key.1.as_str() {
                "" => key.2.clone(),
                plugin => format!("{plugin}: {}", key.2),
            };
            println!("{label:<52} {:>8.3} {:>10.3}", ms(runs[runs.len() / 2]), ms(runs[0]));
        }
    }
    match std::env::var_os("KELK_TEST_LAMBDA_EMULATOR") {
        Some(_) if chosen("lambda") => lambda_init(dir.path(), runs),
        None if !args.is_empty() && chosen("lambda") => panic!("`lambda` needs KELK_TEST_LAMBDA_EMULATOR"),
        _ => {}
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The host's init duration under the emulator, `runs` times with the compile cache warm and
/// a third as many with it empty (each of those compiles the four plugins).
fn lambda_init(dir: &Path, runs: usize) {
    let config = dir.join("local.routing.json");
    let event =
        json!({ "invocationSchemaVersion": "2.0", "invocationId": "bench", "job": { "id": "bench" }, "tasks": [] });
    println!("\nkelk-lambda under the emulator, start to first request for an event   median ms   fastest ms");
    for (way, runs) in [("cache", runs), ("compiled", runs.div_ceil(3))] {
        let mut inits = Vec::new();
        // The steps the host's "cold start" line gives (a host that logs none gives none).
        let mut steps: BTreeMap<String, Vec<Duration>> = BTreeMap::new();
        for run in 0..runs {
            let cache = match way {
                "cache" => dir.join("cache"),
                _ => dir.join(format!("empty-cache-{run}")),
            };
            let settings = [
                ("KELK_ROUTING_CONFIG", config.to_str().unwrap()),
                ("KELK_DEAD_LETTERS", "s3://unused/dead-letters/"),
                ("KELK_CACHE_DIR", cache.to_str().unwrap()),
                ("AWS_REGION", "us-east-1"),
                ("AWS_ACCESS_KEY_ID", "bench"),
                ("AWS_SECRET_ACCESS_KEY", "bench"),
            ];
            let host = kelk_tests::emulator::Emulator::start("coldstart", &settings);
            let answer = host.invoke(&event).unwrap_or_else(|e| panic!("{e}\n{}", host.log()));
            assert_eq!(answer["results"], json!([]), "{answer}");
            let log = host.log();
            assert!(!log.contains("refused at cold start"), "{log}");
            let init = log
                .lines()
                .find_map(|l| l.split("INIT REPORT(durationMs: ").nth(1))
                .and_then(|rest| rest.split(')').next()?.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("no INIT REPORT in\n{log}"));
            inits.push(Duration::from_secs_f64(init / 1e3));
            let cold_start = log.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok());
            if let Some(line) = cold_start.into_iter().find(|l| l["fields"]["message"] == "cold start") {
                for (step, took) in line["fields"].as_object().unwrap() {
                    if let Some(took) = took.as_f64() {
                        steps.entry(step.clone()).or_default().push(Duration::from_secs_f64(took / 1e3));
                    }
                }
                let before = init / 1e3 - line["fields"]["total_ms"].as_f64().unwrap() / 1e3;
                steps
                    .entry("before Function::new (exec, loading, runtime)".into())
                    .or_default()
                    .push(Duration::from_secs_f64(before.max(0.0)));
            }
        }
        let label = match way {
            "cache" => format!("4 plugins precompiled (compile cache warm), {runs} runs"),
            _ => format!("4 plugins compiled at start (cache empty), {runs} runs"),
        };
        for (label, mut times) in
            [(label, inits)].into_iter().chain(steps.into_iter().map(|(step, times)| (format!("  {step}"), times)))
        {
            times.sort();
            println!("{label:<70} {:>8.3} {:>10.3}", ms(times[times.len() / 2]), ms(times[0]));
        }
    }
}
