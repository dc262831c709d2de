//! `kelk-plugin build`: cargo builds the component, then the host loads it exactly as it
//! would in production, which checks its exports against the contract and its imports
//! against the allowlist.

use anyhow::{Context, bail};
use kelk_cli::{HostArgs, exit};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(clap::Args)]
pub struct Args {
    /// The plugin crate's directory.
    #[arg(default_value = ".")]
    dir: PathBuf,
    #[command(flatten)]
    host: HostArgs,
}

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let wasm = build(&args.dir)?;
    let sandbox = args.host.sandbox()?;
    let bytes = std::fs::read(&wasm).with_context(|| format!("cannot read {}", wasm.display()))?;
    let plugin = sandbox.load(&wasm.display().to_string(), &bytes)?;
    let info = &plugin.info;
    eprintln!(
        "built {} {} (contract {}, dataset {}, index prefix {})",
        info.name, info.version, info.contract_version, info.dataset, info.index_prefix
    );
    eprintln!("  size   {} bytes", bytes.len());
    eprintln!("  sha256 {}", plugin.sha256);
    println!("{}", wasm.display());
    Ok(exit::OK)
}

/// Runs `cargo build --target wasm32-wasip2 --release` in `dir` and returns the component
/// it produced for the crate there.
pub fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    let manifest =
        dir.join("Cargo.toml").canonicalize().with_context(|| format!("{} has no Cargo.toml", dir.display()))?;
    let mut child = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "build",
            "--target",
            "wasm32-wasip2",
            "--release",
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(&manifest)
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run cargo")?;
    let mut wasm = None;
    for line in std::io::BufReader::new(child.stdout.take().expect("piped")).lines() {
        let message: serde_json::Value = serde_json::from_str(&line?).unwrap_or_default();
        if message["reason"] == "compiler-artifact"
            && message["manifest_path"].as_str().map(Path::new) == Some(manifest.as_path())
            && let Some(files) = message["filenames"].as_array()
        {
            wasm = files.iter().filter_map(|f| f.as_str()).find(|f| f.ends_with(".wasm")).map(PathBuf::from).or(wasm);
        }
    }
    if !child.wait()?.success() {
        bail!("cargo build failed (is the wasm32-wasip2 target installed? `rustup target add wasm32-wasip2`)");
    }
    wasm.with_context(|| {
        format!("the crate at {} built no .wasm: does it have `crate-type = [\"cdylib\", …]`?", dir.display())
    })
}
