//! Runs one log file through one parser plugin and prints the documents, the way the host
//! does it for every object, with nothing but the sandbox and the pipeline:
//!
//! ```sh
//! make host   # builds the plugins into target/wasm32-wasip2/release/
//! cargo run --release -p kelk-runtime --example run_one_plugin -- \
//!     target/wasm32-wasip2/release/kelk_parser_alb.wasm parsers/alb/samples/aws-docs-examples.log
//! ```

use kelk_runtime::pipeline::{self, Job};
use kelk_runtime::sandbox::{Limits, Sandbox};
use kelk_runtime::sink::{Stderr, Stdout};
use kelk_runtime::source::{ObjectRef, SourceRef};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [plugin, log] = args.as_slice() else {
        return Err("usage: run_one_plugin PLUGIN.wasm LOG_FILE".into());
    };

    // 1. The sandbox: one wasmtime engine, the CPU deadline and memory cap of every session,
    //    no compile cache (pass a directory to keep compiled plugins between runs).
    let sandbox = Sandbox::new(Limits::default(), None)?;

    // 2. The plugin: compiled, checked against the contract and the import allowlist, and
    //    asked what it is.
    let plugin = sandbox.load_file(Path::new(plugin))?;
    eprintln!("{} {} parses {}", plugin.info.name, plugin.info.version, plugin.info.dataset);

    // 3. The input: what identifies it makes the document ids, so a second run gives the same.
    let source = SourceRef::Object(ObjectRef::local(Path::new(log)));
    let job = Job::new(&source);

    // 4. The pipeline: the file gunzipped if it is gzip, pushed in chunks through a fresh
    //    session; documents to stdout, rejected lines to stderr with their reasons.
    let input = std::fs::File::open(log)?;
    let counts = pipeline::ingest(&plugin, &job, input, &mut Stdout::default(), &mut Stderr)
        .map_err(|failed| failed.error.to_string())?;

    // 5. The counts add up: every line is a document, a rejection or a skipped non-event.
    eprintln!(
        "{} records: {} documents, {} rejected, {} skipped",
        counts.records(),
        counts.documents,
        counts.rejected,
        counts.skipped
    );
    Ok(())
}
