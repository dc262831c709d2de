//! `kelk`: runs log files through a parser plugin into a sink, as the Lambda host does with
//! S3 objects. With no AWS account, the embedded default sink writes OpenSearch `_bulk`
//! files and dead letters to a local directory.

use clap::Parser;
use kelk_runtime::cli::{self, HostArgs, exit};
use kelk_runtime::routing::Router;
use kelk_runtime::sink::{BulkFiles, Sink, Stdout};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(version, about = "Turn AWS log files into OpenSearch documents with KELK's Wasm parser plugins")]
enum Command {
    /// Parse local log files (plain or gzip) with a plugin and write the documents.
    ///
    /// Every input line ends as a document or as a dead letter with its reason; the summary
    /// on stderr counts both. Exit status: 0 when every file was processed (rejected lines
    /// are dead-lettered, not lost), 3 when a file or the plugin failed, 2 on bad usage.
    Ingest(Ingest),
}

#[derive(clap::Args)]
struct Ingest {
    /// The parser plugin for every input: a `.wasm` component (see `kelk-plugin build`).
    #[arg(long, short, required_unless_present = "routes", conflicts_with = "routes")]
    plugin: Option<PathBuf>,
    /// A routing config choosing the plugin (and index prefix, options) of each input by its
    /// path; the same JSON as the Lambda host's (see the README).
    #[arg(long, short)]
    routes: Option<PathBuf>,
    /// The log files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
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
    #[command(flatten)]
    host: HostArgs,
}

fn parse_option(s: &str) -> Result<(String, String), String> {
    s.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| format!("`{s}` is not NAME=VALUE"))
}

fn main() -> ExitCode {
    cli::init_tracing();
    let Command::Ingest(args) = Command::parse();
    cli::exit_status(ingest(&args))
}

fn ingest(args: &Ingest) -> anyhow::Result<u8> {
    let host = args.host.host()?;
    let mut sink: Box<dyn Sink> =
        if args.stdout { Box::new(Stdout::new()) } else { Box::new(BulkFiles::new(&args.out)?) };
    let report = match (&args.routes, &args.plugin) {
        (Some(routes), _) => {
            let router = Router::load_local(&host, routes)?;
            cli::ingest_files(|object| router.route(object), &args.inputs, sink.as_mut())
        }
        (None, Some(plugin)) => {
            let plugin = host.load_file(plugin)?;
            cli::ingest_files(
                cli::single(&plugin, args.index_prefix.as_deref(), &args.options),
                &args.inputs,
                sink.as_mut(),
            )
        }
        (None, None) => unreachable!("clap requires --plugin or --routes"),
    };
    report.print_summary();
    if !args.stdout {
        eprintln!("wrote {0}/<index>.ndjson (_bulk bodies) and {0}/dead-letters.ndjson", args.out.display());
    }
    Ok(if report.counts.failed_objects > 0 { exit::FAILED } else { exit::OK })
}
