//! `kelk-plugin publish`: uploads a built plugin to the plugin store (and, with
//! `--precompile`, its artifact compiled for this machine's target), then points the routing
//! config's entry for the plugin at it. The config is replaced only if nobody changed it since
//! it was read (S3 conditional writes), so two publishers cannot lose each other's update; the
//! running hosts pick the new version up at their next check of the config's ETag.

use anyhow::{Context, bail};
use kelk_cli::{HostArgs, exit};
use kelk_runtime::aws::Aws;
use kelk_runtime::aws::s3::{Precondition, S3, S3Uri};
use kelk_runtime::routing::RoutingConfig;
use serde_json::{Value, json};
use sha2::Digest;
use std::io::ErrorKind;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The plugin's `.wasm` component (see `kelk-plugin build`).
    wasm: PathBuf,
    /// The routing config in the plugin store, `s3://bucket/routing.json`; plugins go beside it
    /// in the same bucket, under `plugins/<name>/<sha256>.wasm`. Created if missing.
    #[arg(long, value_name = "S3_URI")]
    config: S3Uri,
    /// The plugin's name in the routing config [default: the name the plugin gives itself].
    #[arg(long)]
    name: Option<String>,
    /// Route objects to the plugin: `s3://BUCKET/KEY_GLOB` (e.g. `s3://my-logs/alb/*`), added
    /// after the config's routes unless it is there already. Repeatable.
    #[arg(long = "route", value_name = "S3_GLOB")]
    routes: Vec<S3Uri>,
    /// Also upload the component precompiled for this machine's target, which the host loads
    /// instead of compiling it when its own target and wasmtime version match.
    #[arg(long)]
    precompile: bool,
    #[command(flatten)]
    host: HostArgs,
}

/// Attempts at replacing the config when someone else changed it in between.
const ATTEMPTS: usize = 5;

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let wasm = std::fs::read(&args.wasm).with_context(|| format!("cannot read {}", args.wasm.display()))?;
    let sandbox = args.host.sandbox()?;
    // Loading checks the contract and the imports: nothing broken is published.
    let plugin = sandbox.load(&args.wasm.display().to_string(), &wasm)?;
    let name = args.name.clone().unwrap_or_else(|| plugin.info.name.clone());
    let runtime = kelk_runtime::runtime()?;
    let s3 = S3::new(&Aws::new(runtime.handle().clone()));
    let at = |key: String| S3Uri { bucket: args.config.bucket.clone(), key };

    let key = format!("plugins/{name}/{}.wasm", plugin.sha256);
    s3.put(&at(key.clone()), wasm.clone(), "application/wasm", Precondition::None)?;
    eprintln!("uploaded {}", at(key.clone()));
    let mut entry = json!({ "key": key, "sha256": plugin.sha256 });
    if args.precompile {
        let artifact = sandbox.precompile(&wasm).map_err(|e| anyhow::anyhow!("cannot precompile: {e:#}"))?;
        let artifact_key = format!("plugins/{name}/{}.{}.cwasm", plugin.sha256, target());
        let artifact_sha256 = hex::encode(sha2::Sha256::digest(&artifact));
        s3.put(&at(artifact_key.clone()), artifact, "application/octet-stream", Precondition::None)?;
        eprintln!("uploaded {}", at(artifact_key.clone()));
        entry["precompiled_key"] = json!(artifact_key);
        entry["precompiled_sha256"] = json!(artifact_sha256);
    }

    for _ in 0..ATTEMPTS {
        let (mut config, precondition) = match s3.get(&args.config) {
            Ok(fetched) => (
                serde_json::from_slice::<Value>(&fetched.bytes).context("the routing config is not JSON")?,
                fetched.etag.map_or(Precondition::None, Precondition::ETag),
            ),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                (json!({ "version": 1, "plugins": {}, "routes": [] }), Precondition::Absent)
            }
            Err(e) => return Err(e.into()),
        };
        config["plugins"][&name] = entry.clone();
        let routes = config["routes"].as_array_mut().context("the routing config has no `routes` list")?;
        for glob in &args.routes {
            let route = json!({ "bucket": glob.bucket, "key_glob": glob.key, "plugin": name });
            if !routes.contains(&route) {
                routes.push(route);
            }
        }
        let body = serde_json::to_vec_pretty(&config)?;
        RoutingConfig::from_json(&body).context("the updated routing config would not be valid")?;
        match s3.put(&args.config, body, "application/json", precondition) {
            Ok(()) => {
                eprintln!(
                    "{}: plugin `{name}` is now {} {} (sha256 {})",
                    args.config, plugin.info.name, plugin.info.version, plugin.sha256
                );
                return Ok(exit::OK);
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e.into()),
        }
    }
    bail!("{} kept changing while publishing; try again", args.config)
}

/// This machine's target, as the artifact's name gives it (`x86_64-unknown-linux-gnu` …).
fn target() -> String {
    format!("{}-unknown-{}-gnu", std::env::consts::ARCH, std::env::consts::OS)
}
