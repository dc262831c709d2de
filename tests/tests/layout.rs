//! The workspace's layout holds: the copies the packages carry equal their sources, and each
//! package depends only on what its layer needs.

use kelk_tests::workspace;
use std::process::Command;

#[test]
fn vendored_copies_equal_their_sources() {
    let root = workspace();
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    for (copy, source) in [
        ("runtime/sandbox/wit/parser.wit", "wit/parser.wit"),
        ("parsers/sdk/wit/parser.wit", "wit/parser.wit"),
        ("runtime/cli/templates/plugin/rust-toolchain.toml", "rust-toolchain.toml"),
        ("runtime/cli/templates/plugin/.cargo/config.toml", ".cargo/config.toml"),
    ] {
        assert_eq!(read(copy), read(source), "{copy} differs from {source}: copy it again");
    }
}

/// The normal (not dev, not build) dependencies of a package, by name: all of them, or with
/// `direct` only those it declares.
fn dependencies(package: &str, direct: bool) -> Vec<String> {
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.current_dir(workspace());
    cargo.args(["tree", "--offline", "--edges", "normal", "--prefix", "none", "--format", "{p}", "-p", package]);
    if direct {
        cargo.args(["--depth", "1"]);
    }
    let out = cargo.output().expect("cargo runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8_lossy(&out.stdout);
    tree.lines().filter_map(|l| l.split(' ').next()).filter(|name| *name != package).map(str::to_owned).collect()
}

#[test]
fn each_package_depends_on_what_its_layer_needs() {
    // The security boundary: wasmtime and the little it needs, nothing that talks to the world.
    let mut sandbox = dependencies("kelk-sandbox", true);
    sandbox.sort();
    assert_eq!(
        sandbox,
        ["hex", "sha2", "tempfile", "thiserror", "tracing", "wasmtime", "wasmtime-wasi", "wasmtime-wasi-io"]
    );
    let none_of = |package: &str, names: &[&str]| {
        let deps = dependencies(package, false);
        for name in names {
            assert!(!deps.iter().any(|d| d == name), "{package} depends on {name}");
        }
    };
    // The event decoding: what the fuzz workspace builds, so nothing heavy.
    let mut events = dependencies("kelk-events", true);
    events.sort();
    assert_eq!(events, ["base64", "flate2", "percent-encoding", "serde", "serde_json"]);
    // S3 Batch Operations' client is `kelk backfill`'s alone: the host never starts a job.
    none_of(
        "kelk-runtime",
        &["clap", "indicatif", "tracing-subscriber", "lambda_runtime", "aws_lambda_events", "aws-sdk-s3control"],
    );
    none_of("kelk-lambda", &["clap", "indicatif", "aws-sdk-s3control"]);
    none_of("kelk-cli", &["lambda_runtime", "aws_lambda_events"]);
    none_of("kelk-parser-sdk", &["wasmtime", "kelk-runtime", "serde_json"]);
}
