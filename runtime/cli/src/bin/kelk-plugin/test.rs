//! `kelk-plugin test`: golden tests. Each sample `NAME` is compared with `NAME.expected.ndjson`
//! beside it: one JSON line per record outcome, in input order, a document as it would be
//! indexed or `{"rejected":{"record":N,"reason":"…"}}`. Every document must also fit the
//! plugin's mappings over the shared ECS ones (no field unmapped, none whose value its mapped
//! type refuses) and carry the plugin's dataset, and its dashboard's fields must be mapped as
//! aggregatable: so no plugin ships a field OpenSearch would guess.

use kelk_cli::{self as cli, HostArgs, Output, exit};
use kelk_runtime::opensearch::dashboards;
use kelk_runtime::opensearch::mappings::Mappings;
use kelk_runtime::sink::Memory;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::io;
use std::path::{Path, PathBuf};

const GOLDEN_SUFFIX: &str = ".expected.ndjson";

#[derive(clap::Args)]
pub struct Args {
    /// A plugin `.wasm`, or a plugin crate's directory (built first; its samples default to
    /// the files in `DIR/samples`, except goldens and `*.md`).
    plugin: PathBuf,
    /// Sample log files; each is checked against `SAMPLE.expected.ndjson`.
    samples: Vec<PathBuf>,
    /// Write the goldens from what the plugin produces now, instead of comparing.
    #[arg(long)]
    bless: bool,
    #[command(flatten)]
    host: HostArgs,
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let (wasm, mut samples) = if args.plugin.is_dir() {
        let samples =
            if args.samples.is_empty() { samples_in(&args.plugin.join("samples"))? } else { args.samples.clone() };
        (crate::build::build(&args.plugin)?, samples)
    } else {
        (args.plugin.clone(), args.samples.clone())
    };
    samples.sort();
    if samples.is_empty() {
        anyhow::bail!("no samples to test: name sample files, or put them in the crate's samples/ directory");
    }
    let sandbox = args.host.sandbox()?;
    let plugin = sandbox.load_file(&wasm)?;
    let mappings = match plugin.description {
        Some(_) => {
            dashboards::saved_objects(&[(&plugin, &plugin.info.index_prefix)])?;
            Some(Mappings::of(&plugin)?)
        }
        None => {
            eprintln!(
                "warning: the plugin describes no mappings (contract 1.0): its documents' fields are not checked"
            );
            None
        }
    };

    let mut failed = 0;
    for sample in &samples {
        let mut made = Memory::default();
        let out = Output { sink: &mut made.documents, dead_letters: &mut made.dead_letters };
        let report =
            cli::ingest_files(cli::single(&plugin, None, &[]), std::slice::from_ref(sample), Default::default(), out);
        let outcomes = Outcomes::of(&made)?;
        let c = report.counts;
        let rate = c.bytes as f64 / 1e6 / report.elapsed.as_secs_f64().max(1e-9);
        let golden = golden_path(sample);
        let unmapped = mappings.as_ref().map(|m| misfits(m, &plugin.info.dataset, &outcomes)).unwrap_or_default();
        let verdict = if let Some(f) = report.failures.first() {
            failed += 1;
            format!("FAILED: {}", f.error)
        } else if !unmapped.is_empty() {
            failed += 1;
            let lines: Vec<String> = unmapped.iter().map(|p| format!("  {p}")).collect();
            format!("DOES NOT FIT THE MAPPINGS (mappings.json)\n{}", lines.join("\n"))
        } else if args.bless {
            std::fs::write(&golden, outcomes.ndjson())?;
            format!("blessed {}", golden.display())
        } else {
            match std::fs::read_to_string(&golden) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    failed += 1;
                    format!("no golden {} (write it with --bless)", golden.display())
                }
                Err(e) => return Err(e.into()),
                Ok(expected) => {
                    let diffs = diff(&expected, &outcomes.lines);
                    if diffs.is_empty() {
                        "ok".to_owned()
                    } else {
                        failed += 1;
                        format!("MISMATCH\n{}", diffs.join("\n"))
                    }
                }
            }
        };
        println!(
            "{}: {} documents, {} rejected, {} skipped ({:.0} MB/s): {verdict}",
            sample.display(),
            c.documents,
            c.rejected,
            c.skipped,
            rate
        );
        for reason in outcomes.rejections() {
            println!("    rejected {reason}");
        }
    }
    println!("{} passed, {} failed", samples.len() - failed, failed);
    Ok(if failed > 0 { exit::REJECTED } else { exit::OK })
}

/// What in the documents the mappings do not cover, or the dataset contradicts; each once.
fn misfits(mappings: &Mappings, dataset: &str, outcomes: &Outcomes) -> BTreeSet<String> {
    let mut problems = BTreeSet::new();
    for (record, doc) in outcomes.lines.iter().filter(|(_, v)| v.get("rejected").is_none()) {
        problems.extend(mappings.check(doc));
        if doc.pointer("/event/dataset").and_then(Value::as_str) != Some(dataset) {
            problems.insert(format!("record {record}: event.dataset is not the plugin's dataset `{dataset}`"));
        }
    }
    problems
}

fn samples_in(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut samples = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))? {
        let path = entry?.path();
        let is_doc = path.extension().is_some_and(|e| e == "md");
        if path.is_file() && !is_doc && !path.to_string_lossy().ends_with(GOLDEN_SUFFIX) {
            samples.push(path);
        }
    }
    Ok(samples)
}

fn golden_path(sample: &Path) -> PathBuf {
    let mut name = sample.as_os_str().to_owned();
    name.push(GOLDEN_SUFFIX);
    name.into()
}

/// Record outcomes in input order.
struct Outcomes {
    /// By record number; a record makes at most one outcome.
    lines: BTreeMap<u64, Value>,
}

impl Outcomes {
    fn of(made: &Memory) -> anyhow::Result<Self> {
        let mut lines = BTreeMap::new();
        for doc in &made.documents {
            lines.insert(doc.record_number, serde_json::from_slice(&doc.source)?);
        }
        for letter in &made.dead_letters {
            let outcome = json!({"rejected": {"record": letter.record_number, "reason": letter.reason}});
            lines.insert(letter.record_number, outcome);
        }
        Ok(Outcomes { lines })
    }

    fn ndjson(&self) -> String {
        self.lines.values().map(|v| format!("{v}\n")).collect()
    }

    fn rejections(&self) -> impl Iterator<Item = String> + '_ {
        self.lines
            .values()
            .filter_map(|v| v.get("rejected"))
            .map(|r| format!("record {}: {}", r["record"], r["reason"]))
    }
}

/// A field-level diff of the golden against the actual outcomes, one entry per difference.
fn diff(expected: &str, actual: &BTreeMap<u64, Value>) -> Vec<String> {
    let expected: Vec<&str> = expected.lines().filter(|l| !l.trim().is_empty()).collect();
    let actual: Vec<&Value> = actual.values().collect();
    let mut out = Vec::new();
    for i in 0..expected.len().max(actual.len()) {
        let want = expected.get(i).map(|l| {
            serde_json::from_str::<Value>(l).unwrap_or_else(|e| json!({"unparseable golden line": e.to_string()}))
        });
        match (want, actual.get(i)) {
            (Some(w), Some(a)) => {
                let (w, a) = (flatten(&w), flatten(a));
                for key in w.keys().chain(a.keys().filter(|k| !w.contains_key(*k))) {
                    match (w.get(key), a.get(key)) {
                        (Some(x), Some(y)) if x == y => {}
                        (x, y) => out.push(format!(
                            "  outcome {}: {key}: expected {}, got {}",
                            i + 1,
                            x.map_or("(absent)".into(), Value::to_string),
                            y.map_or("(absent)".into(), Value::to_string)
                        )),
                    }
                }
            }
            (Some(w), None) => out.push(format!("  outcome {}: expected {w}, got nothing", i + 1)),
            (None, Some(a)) => out.push(format!("  outcome {}: unexpected {a}", i + 1)),
            (None, None) => unreachable!(),
        }
    }
    out
}

/// `{"a":{"b":1}}` → `{"a.b": 1}`; arrays stay whole.
fn flatten(v: &Value) -> Map<String, Value> {
    fn walk(prefix: &str, v: &Value, out: &mut Map<String, Value>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    walk(&if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, v, out);
                }
            }
            _ => {
                out.insert(prefix.to_owned(), v.clone());
            }
        }
    }
    let mut out = Map::new();
    walk("", v, &mut out);
    out
}
