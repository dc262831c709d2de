//! Builds the bundled parser plugins (`parsers/*` of this workspace) to `wasm32-wasip2`
//! components, which `kelk` embeds, so that `kelk ingest --plugin alb …` needs no `.wasm` path.
//! They are built by a cargo of their own, in a target directory of their own beside this build's
//! (`<target>/plugins`, where the tests build plugins too), with none of this build's settings.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The bundled plugins: name and package.
const BUNDLED: &[(&str, &str)] = &[
    ("alb", "kelk-parser-alb"),
    ("cloudfront", "kelk-parser-cloudfront"),
    ("cloudtrail", "kelk-parser-cloudtrail"),
    ("apache", "kelk-parser-apache"),
];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let workspace = manifest.ancestors().nth(2).expect("runtime/cli is two levels down").to_owned();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    // OUT_DIR is <target>[/<triple>]/<profile>/build/<package>-<hash>/out.
    let target = out.ancestors().find(|d| d.file_name().is_some_and(|n| n == "build")).and_then(Path::parent);
    let target = target.and_then(Path::parent).expect("OUT_DIR is under a target directory").join("plugins");

    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.current_dir(&workspace).args(["build", "--quiet", "--release", "--target", "wasm32-wasip2", "--target-dir"]);
    cargo.arg(&target);
    for (_, package) in BUNDLED {
        cargo.args(["-p", package]);
    }
    // This build's own settings (its rustflags, clippy's wrapper, its target) are not the plugins'.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let own = name.starts_with("CARGO_") && name != "CARGO_HOME";
        if own || name.starts_with("RUSTC") || name.starts_with("RUSTFLAGS") {
            cargo.env_remove(&*name);
        }
    }
    let status = cargo.status().expect("cannot run cargo");
    assert!(status.success(), "building the bundled plugins failed (is the wasm32-wasip2 target installed?)");

    let mut table =
        String::from("/// The bundled plugins: name, component.\npub const BUNDLED: &[(&str, &[u8])] = &[\n");
    for (name, package) in BUNDLED {
        let wasm = target.join("wasm32-wasip2/release").join(format!("{}.wasm", package.replace('-', "_")));
        table.push_str(&format!("    ({name:?}, include_bytes!({:?})),\n", wasm.display().to_string()));
    }
    table.push_str("];\n");
    std::fs::write(out.join("bundled.rs"), table).expect("OUT_DIR is writable");

    for dir in ["parsers", "wit", "Cargo.lock", ".cargo"] {
        println!("cargo::rerun-if-changed={}", workspace.join(dir).display());
    }
}
