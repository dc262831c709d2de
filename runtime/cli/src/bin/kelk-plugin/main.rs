//! `kelk-plugin`: make, build, test and run KELK parser plugins.

mod build;
mod new;
mod publish;
mod test;

use clap::{Parser, Subcommand};
use kelk_cli::{self as cli, HostArgs, Output};
use kelk_runtime::sink::{Stderr, Stdout};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    version,
    about,
    long_about = "Make, build, test and run KELK log-parser plugins.\n\n\
A plugin is a Rust crate compiled to a WebAssembly component (wasm32-wasip2) that implements \
the kelk:parser WIT contract with the kelk-parser-sdk crate. The usual loop is \
`new` → edit → `build` → `test` (against golden samples) → `run` on real logs → `publish` to the \
plugin store the Lambda host reads."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a parser crate that builds and passes its own tests at once.
    New(new::Args),
    /// Build a plugin crate to a component and check it against the contract and the
    /// import allowlist. The last line on stdout is the path of the built `.wasm`.
    Build(build::Args),
    /// Run samples through a plugin and compare with their golden `*.expected.ndjson`.
    Test(test::Args),
    /// Print the documents a plugin makes of log files, one JSON line each, exactly as they
    /// would be indexed. Rejected lines go to stderr with file, line and reason.
    ///
    /// Exit status: 0 when every line became a document, 1 when a line was rejected,
    /// 3 when the plugin or a file failed, 2 on bad usage.
    Run(RunArgs),
    /// Upload a built plugin to the plugin store in S3 and point the routing config at it;
    /// running hosts use it from their next check of the config, without a redeploy.
    ///
    /// AWS credentials, region and endpoint come from the standard AWS configuration.
    Publish(publish::Args),
}

#[derive(clap::Args)]
struct RunArgs {
    /// The plugin's `.wasm` component, or a bundled plugin's name (`alb`…).
    plugin: PathBuf,
    /// Log files, plain or gzip.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    host: HostArgs,
}

fn main() -> ExitCode {
    cli::init_tracing();
    let result = match Cli::parse().command {
        Command::New(args) => new::run(&args),
        Command::Build(args) => build::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Run(args) => run(&args),
        Command::Publish(args) => publish::run(&args),
    };
    cli::exit_status(result)
}

fn run(args: &RunArgs) -> anyhow::Result<u8> {
    let sandbox = args.host.sandbox()?;
    let plugin = cli::load_plugin(&sandbox, &args.plugin)?;
    let out = Output { sink: &mut Stdout::default(), dead_letters: &mut Stderr };
    let report = cli::ingest_files(cli::single(&plugin, None, &[]), &args.inputs, Default::default(), out);
    report.print_summary();
    Ok(report.exit_code())
}
