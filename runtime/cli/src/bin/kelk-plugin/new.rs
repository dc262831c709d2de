//! `kelk-plugin new`: a parser crate for a small example format, with its mappings, its
//! dashboard, samples and goldens, that builds and passes `cargo test` and `kelk-plugin test`
//! as it is, and publishes.

use anyhow::{Context, bail};
use kelk_cli::exit;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The plugin's name: lowercase letters, digits, `-` and `_`, starting with a letter.
    name: String,
    /// The directory to create the crate in [default: ./NAME].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Depend on the kelk-parser-sdk crate in this directory (`parsers/sdk` of a KELK
    /// checkout), by a path relative to the new crate [default: the KELK repository by git, at
    /// this tool's version].
    #[arg(long, value_name = "DIR")]
    sdk: Option<PathBuf>,
}

/// The template's files: path, contents. `{{name}}`, `{{crate}}` and `{{sdk}}` are replaced.
/// Its toolchain and cargo settings are the workspace's own (a test keeps the copies equal).
const TEMPLATE: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../../../templates/plugin/Cargo.toml.tmpl")),
    ("rust-toolchain.toml", include_str!("../../../templates/plugin/rust-toolchain.toml")),
    (".cargo/config.toml", include_str!("../../../templates/plugin/.cargo/config.toml")),
    ("src/lib.rs", include_str!("../../../templates/plugin/src/lib.rs")),
    ("mappings.json", include_str!("../../../templates/plugin/mappings.json")),
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
        Some(sdk) => {
            let sdk = sdk.canonicalize().with_context(|| format!("cannot find the SDK at {}", sdk.display()))?;
            anyhow::ensure!(
                sdk.join("Cargo.toml").is_file(),
                "{} is not a crate (expected parsers/sdk)",
                sdk.display()
            );
            std::fs::create_dir_all(&dir)?;
            let relative = relative(&dir.canonicalize()?, &sdk);
            format!("path = \"{}\"", relative.display())
        }
        None => format!("git = \"{}\", tag = \"v{}\"", env!("CARGO_PKG_REPOSITORY"), env!("CARGO_PKG_VERSION")),
    };
    let crate_name = format!("kelk-parser-{}", name.replace('_', "-"));
    for (path, contents) in TEMPLATE {
        let target = dir.join(path);
        std::fs::create_dir_all(target.parent().expect("template paths have a parent"))?;
        let text = contents.replace("{{name}}", name).replace("{{crate}}", &crate_name).replace("{{sdk}}", &sdk);
        std::fs::write(&target, text).with_context(|| format!("cannot write {}", target.display()))?;
    }
    eprintln!("created {} ({crate_name}). Next:", dir.display());
    eprintln!("  cd {} && cargo test           # the parser's unit tests, natively", dir.display());
    eprintln!("  kelk-plugin test {}           # build the component and check the golden samples", dir.display());
    Ok(exit::OK)
}

/// `to` as a path relative to the directory `from` (both absolute), so the new crate and the
/// checkout can move together.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let common = from.components().zip(to.components()).take_while(|(a, b)| a == b).count();
    let up = from.components().skip(common).map(|_| std::path::Component::ParentDir);
    up.chain(to.components().skip(common)).collect()
}

#[cfg(test)]
mod tests {
    use super::relative;
    use std::path::Path;

    #[test]
    fn relative_paths() {
        assert_eq!(relative(Path::new("/a/b/c"), Path::new("/a/parsers/sdk")), Path::new("../../parsers/sdk"));
        assert_eq!(relative(Path::new("/a"), Path::new("/a/parsers/sdk")), Path::new("parsers/sdk"));
    }
}
