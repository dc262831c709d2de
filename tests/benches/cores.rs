//! Every core (issue 14, target 2): the pipeline (the ALB plugin, a null sink) on the cores
//! it is given, in MB/s of decompressed bytes, best of `KELK_BENCH_RUNS` (3).
//!
//! - **batch**: `KELK_BENCH_OBJECTS` (8) gzip ALB objects of `KELK_BENCH_MB` (16) MB each, the
//!   objects of one invocation, through the workers as the Lambda host takes them
//!   (`workers::each`): one worker on one core, then one and two workers on two cores.
//! - **large**: one gzip ALB object of `KELK_BENCH_LARGE_MB` (256) MB on one worker, gunzipped
//!   inline (one core: the pipeline runs no read-ahead thread where it has a single core), then
//!   on a thread of its own beside the parse (two cores).
//!
//! One core is `taskset -c 0`: each case runs in a process of its own (the bench runs itself),
//! since the pipeline reads the cores it may use once per process. The gzip corpora are made
//! once, under `target/bench-corpus`, and read into memory before timing.
//!
//! `cargo bench -p kelk-tests --bench cores [batch|large]` (both by default).

use kelk_runtime::pipeline::{self, Job};
use kelk_runtime::source::{ObjectRef, SourceRef};
use kelk_runtime::workers;
use kelk_tests::Null;
use std::process::Command;
use std::time::{Duration, Instant};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One case, in this process: `workers` lanes over the case's objects, best of the runs;
/// prints `MB seconds documents`.
fn case(name: &str, workers: usize) {
    let (objects, mb) = match name {
        "batch" => (env("KELK_BENCH_OBJECTS", 8), env("KELK_BENCH_MB", 16)),
        _ => (1, env("KELK_BENCH_LARGE_MB", 256)),
    };
    let inputs: Vec<(SourceRef, Vec<u8>)> = (0..objects)
        .map(|seed| {
            let path = kelk_tests::gzipped_alb(seed, mb);
            let object = ObjectRef { bucket: "b".into(), key: path.display().to_string(), ..ObjectRef::default() };
            (SourceRef::Object(object), std::fs::read(&path).unwrap())
        })
        .collect();
    let sandbox = kelk_tests::sandbox();
    let plugin = kelk_tests::load(&sandbox, "kelk-parser-alb");
    let mut lanes: Vec<(Null, Null)> = (0..workers).map(|_| (Null, Null)).collect();
    let (mut fastest, mut bytes, mut documents) = (Duration::MAX, 0, 0);
    for _ in 0..env("KELK_BENCH_RUNS", 3) {
        let started = Instant::now();
        let done = workers::each(&inputs, &mut lanes, |(sink, letters), (source, gzip)| {
            pipeline::ingest(&plugin, &Job::new(source), &gzip[..], sink, letters).unwrap()
        });
        fastest = fastest.min(started.elapsed());
        (bytes, documents) = done.iter().fold((0, 0), |(b, d), c| (b + c.bytes, d + c.documents));
    }
    println!("{} {} {documents}", bytes as f64 / 1e6, fastest.as_secs_f64());
}

/// Runs a case in a process of its own, on one core or all; its MB/s and documents.
fn run(name: &str, workers: usize, one_core: bool) -> (f64, f64, u64) {
    let me = std::env::current_exe().unwrap();
    let mut command = match one_core {
        true => {
            let mut taskset = Command::new("taskset");
            taskset.args(["-c", "0"]).arg(me);
            taskset
        }
        false => Command::new(me),
    };
    let out = command.args(["--case", name, &workers.to_string()]).output().unwrap();
    assert!(out.status.success(), "{name} on {workers} workers: {}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8(out.stdout).unwrap();
    let [mb, seconds, documents] = said.split_whitespace().collect::<Vec<_>>()[..] else { panic!("{said}") };
    let (mb, seconds): (f64, f64) = (mb.parse().unwrap(), seconds.parse().unwrap());
    (mb, mb / seconds, documents.parse().unwrap())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, name, workers] = &args[..]
        && flag == "--case"
    {
        return case(name, workers.parse().unwrap());
    }
    let chosen: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| chosen.is_empty() || chosen.iter().any(|c| *c == name);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{} cores, load {}, best of {} runs",
        workers::cores(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        env("KELK_BENCH_RUNS", 3)
    );
    let row = |what: &str, (mb, rate, documents): (f64, f64, u64), base: f64| {
        println!("  {what:<34} {mb:7.1} MB {documents:>9} docs {rate:7.1} MB/s  {:.2}x", rate / base);
    };
    if wanted("batch") {
        println!("batch: {} gzip ALB objects of {} MB", env("KELK_BENCH_OBJECTS", 8), env("KELK_BENCH_MB", 16));
        let one = run("batch", 1, true);
        row("1 worker, one core", one, one.1);
        row("1 worker, two cores", run("batch", 1, false), one.1);
        row("2 workers, two cores", run("batch", 2, false), one.1);
    }
    if wanted("large") {
        println!("large: one gzip ALB object of {} MB", env("KELK_BENCH_LARGE_MB", 256));
        let inline = run("large", 1, true);
        row("gunzip inline (one core)", inline, inline.1);
        row("gunzip on its own thread", run("large", 1, false), inline.1);
    }
}
