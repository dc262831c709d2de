//! `kelk-plugin new`: a parser crate for a small example format, with samples and goldens,
//! that builds and passes `cargo test` and `kelk-plugin test` as it is.

use anyhow::{Context, bail};
use kelk_runtime::cli::exit;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The plugin's name: lowercase letters, digits, `-` and `_`, starting with a letter.
    name: String,
    /// The directory to create the crate in [default: ./NAME].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// The kelk-parser-sdk crate to depend on [default: the one this tool was built from].
    #[arg(long)]
    sdk: Option<PathBuf>,
}

/// The template's files: path, contents. `{{name}}`, `{{crate}}` and `{{sdk}}` are replaced.
const TEMPLATE: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../../../templates/plugin/Cargo.toml.tmpl")),
    ("rust-toolchain.toml", include_str!("../../../../rust-toolchain.toml")),
    (".cargo/config.toml", include_str!("../../../../.cargo/config.toml")),
    ("src/lib.rs", include_str!("../../../templates/plugin/src/lib.rs")),
    ("samples/example.log", include_str!("../../../templates/plugin/samples/example.log")),
    (
        "samples/example.log.expected.ndjson",
        include_str!("../../../templates/plugin/samples/example.log.expected.ndjson"),
    ),
    (".gitignore", "/target\n"),
];

pub fn run(args: &Args) -> anyhow::Result<u8> {
    let name = &args.name;
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !valid {
        bail!("`{name}` is not a plugin name: use lowercase letters, digits, `-` and `_`, starting with a letter");
    }
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    let sdk = match &args.sdk {
        Some(sdk) => sdk.clone(),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../parsers/sdk"),
    };
    let sdk = sdk.canonicalize().with_context(|| format!("cannot find the SDK at {} (pass --sdk)", sdk.display()))?;
    let crate_name = format!("kelk-parser-{}", name.replace('_', "-"));
    for (path, contents) in TEMPLATE {
        let target = dir.join(path);
        std::fs::create_dir_all(target.parent().expect("template paths have a parent"))?;
        let text = contents
            .replace("{{name}}", name)
            .replace("{{crate}}", &crate_name)
            .replace("{{sdk}}", &sdk.display().to_string());
        std::fs::write(&target, text).with_context(|| format!("cannot write {}", target.display()))?;
    }
    eprintln!("created {} ({crate_name}). Next:", dir.display());
    eprintln!("  cd {} && cargo test           # the parser's unit tests, natively", dir.display());
    eprintln!("  kelk-plugin test {}           # build the component and check the golden samples", dir.display());
    Ok(exit::OK)
}
