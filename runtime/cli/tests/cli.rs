//! The command-line tools as a user runs them: `kelk-plugin new → build → test → run`, and
//! `kelk ingest` into the embedded bulk-file sink.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_owned()
}

fn corpus_alb() -> PathBuf {
    workspace().join("parsers/alb/samples")
}

fn kelk_plugin(args: &[&str]) -> Output {
    command(env!("CARGO_BIN_EXE_kelk-plugin"), args)
}

fn kelk(args: &[&str]) -> Output {
    command(env!("CARGO_BIN_EXE_kelk"), args)
}

fn command(bin: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(bin);
    // Plugins are built by the tools themselves; a target directory of their own keeps
    // that apart from the build running these tests.
    cmd.args(args)
        .env("CARGO_TARGET_DIR", workspace().join("target/plugins"))
        .env("KELK_CACHE_DIR", workspace().join("target/plugins/cache"));
    cmd.output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The ALB plugin, built by `kelk-plugin build` (once).
fn alb_wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| build("alb"))
}

/// Builds a parser with `kelk-plugin build` and checks what it prints.
fn build(parser: &str) -> PathBuf {
    let out = kelk_plugin(&["build", workspace().join("parsers").join(parser).to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let path = PathBuf::from(stdout.lines().last().expect("a path on the last line"));
    assert!(path.extension().is_some_and(|e| e == "wasm") && path.is_file(), "{stdout}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("built {parser}")), "{stderr}");
    let sha = stderr.lines().find_map(|l| l.trim().strip_prefix("sha256 ")).expect("the sha256 is printed");
    assert_eq!(sha, sha256_hex(&std::fs::read(&path).unwrap()));
    path
}

#[test]
fn help_names_every_command() {
    let out = kelk_plugin(&["--help"]);
    let help = text(&out.stdout);
    for command in ["new", "build", "test", "run", "publish"] {
        assert!(help.contains(command), "{help}");
    }
    assert_eq!(kelk_plugin(&["frobnicate"]).status.code(), Some(2));
    assert!(text(&kelk(&["ingest", "--help"]).stdout).contains("dead letter"));
    assert!(text(&kelk(&["--help"]).stdout).contains("backfill"));
    assert_eq!(
        kelk(&["backfill", "s3://logs/alb/"]).status.code(),
        Some(2),
        "backfill needs a function, role and report"
    );
    assert_eq!(kelk(&["setup", "--plugin", "alb"]).status.code(), Some(2), "setup needs a cluster or a file");
    assert_eq!(kelk(&["setup", "--dashboards", "x"]).status.code(), Some(2), "setup needs plugins or routes");
}

/// The dashboards come from the plugins: an index pattern and a dashboard per plugin, whose
/// references all resolve and whose embedded JSON parses.
#[test]
fn setup_writes_dashboards_objects_to_import() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboards.ndjson");
    let mut args = vec!["setup", "--dashboards", file.to_str().unwrap()];
    for plugin in ["alb", "cloudfront", "cloudtrail", "apache"] {
        args.extend(["--plugin", plugin]);
    }
    let out = kelk(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let objects: Vec<serde_json::Value> =
        std::fs::read_to_string(&file).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let patterns: Vec<&str> = objects
        .iter()
        .filter(|o| o["type"] == "index-pattern")
        .map(|o| o["attributes"]["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        patterns,
        [
            "logs-aws.elb_logs-default-*",
            "logs-aws.cloudfront_logs-default-*",
            "logs-aws.cloudtrail-default-*",
            "logs-apache.access-default-*"
        ]
    );
    let ids: std::collections::HashSet<(String, String)> =
        objects.iter().map(|o| (o["type"].as_str().unwrap().into(), o["id"].as_str().unwrap().into())).collect();
    assert_eq!(ids.len(), objects.len(), "ids are unique");
    assert_eq!(objects.iter().filter(|o| o["type"] == "dashboard").count(), 4);
    for object in &objects {
        for r in object["references"].as_array().unwrap() {
            let target = (r["type"].as_str().unwrap().to_owned(), r["id"].as_str().unwrap().to_owned());
            assert!(ids.contains(&target), "{} refers to missing {target:?}", object["id"]);
        }
        for (key, value) in object["attributes"].as_object().unwrap() {
            if key.ends_with("JSON") || key == "visState" {
                serde_json::from_str::<serde_json::Value>(value.as_str().unwrap())
                    .unwrap_or_else(|e| panic!("{key}: {e}"));
            }
        }
    }
}

#[test]
fn run_prints_documents_and_reports_rejections() {
    let wasm = alb_wasm().to_str().unwrap();
    let clean = corpus_alb().join("aws-docs-examples.log");
    let out = kelk_plugin(&["run", wasm, clean.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let docs: Vec<serde_json::Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(docs.len(), 7);
    assert_eq!(docs[0]["http"]["response"]["status_code"], 200);

    let mixed = corpus_alb().join("nlb-tls.log");
    let out = kelk_plugin(&["run", wasm, mixed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "rejected lines make the status 1");
    assert_eq!(text(&out.stdout).lines().count(), 5);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("nlb-tls.log:6: 6 fields, at least 18 expected in a Network Load Balancer line"),
        "{stderr}"
    );
    assert!(stderr.contains("6 records from 1 file(s): 5 documents, 1 rejected"), "{stderr}");

    let out = kelk_plugin(&["run", wasm, "/no/such/file.log"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("/no/such/file.log"));
}

#[test]
fn test_checks_every_parser_against_its_goldens_and_blesses() {
    for (parser, samples) in [("alb", 11), ("cloudfront", 12), ("apache", 10), ("cloudtrail", 9)] {
        let out = kelk_plugin(&["test", workspace().join("parsers").join(parser).to_str().unwrap()]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{parser}: {stdout}{}", text(&out.stderr));
        assert!(stdout.contains(&format!("{samples} passed, 0 failed")), "{parser}: {stdout}");
    }

    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("one.log");
    std::fs::copy(corpus_alb().join("aws-docs-examples.log"), &sample).unwrap();
    let golden = dir.path().join("one.log.expected.ndjson");
    let wasm = alb_wasm().to_str().unwrap();

    let out = kelk_plugin(&["test", wasm, sample.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "a missing golden fails");
    assert!(text(&out.stdout).contains("--bless"));

    let out = kelk_plugin(&["test", "--bless", wasm, sample.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let blessed = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(blessed.lines().count(), 7);
    assert_eq!(kelk_plugin(&["test", wasm, sample.to_str().unwrap()]).status.code(), Some(0));

    std::fs::write(&golden, blessed.replacen(r#""status_code":200"#, r#""status_code":201"#, 1)).unwrap();
    let out = kelk_plugin(&["test", wasm, sample.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("outcome 1: http.response.status_code: expected 201, got 200"), "{stdout}");
    assert!(stdout.contains("0 passed, 1 failed"), "{stdout}");
}

#[test]
fn new_scaffolds_a_plugin_that_builds_and_passes_its_tests() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = dir.path().join("my-app");
    let sdk = workspace().join("parsers/sdk");
    let out = kelk_plugin(&["new", "my-app", "--dir", crate_dir.to_str().unwrap(), "--sdk", sdk.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        kelk_plugin(&["new", "my-app", "--dir", crate_dir.to_str().unwrap()]).status.code(),
        Some(3),
        "no overwrite"
    );
    assert_eq!(kelk_plugin(&["new", "Bad Name"]).status.code(), Some(3));
    // The SDK is named by a path relative to the new crate, so both can move together.
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    let line = manifest.lines().find(|l| l.starts_with("kelk-parser-sdk")).unwrap();
    let relative = line.split('"').nth(1).unwrap();
    assert!(Path::new(relative).is_relative(), "{line}");
    assert_eq!(crate_dir.join(relative).canonicalize().unwrap(), sdk.canonicalize().unwrap());
    // Without --sdk, the repository at this version, by git.
    let elsewhere = dir.path().join("other");
    assert!(kelk_plugin(&["new", "other", "--dir", elsewhere.to_str().unwrap()]).status.success());
    let manifest = std::fs::read_to_string(elsewhere.join("Cargo.toml")).unwrap();
    let expected = format!(
        "kelk-parser-sdk = {{ git = \"https://github.com/kelk/kelk\", tag = \"v{}\" }}",
        env!("CARGO_PKG_VERSION")
    );
    assert!(manifest.contains(&expected), "{manifest}");

    let unit = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["test", "--quiet"])
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", workspace().join("target/plugins"))
        .output()
        .unwrap();
    assert!(unit.status.success(), "{}{}", text(&unit.stdout), text(&unit.stderr));
    assert!(text(&unit.stdout).contains("1 passed"), "{}", text(&unit.stdout));

    let out = kelk_plugin(&["test", crate_dir.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("2 documents, 2 rejected") && stdout.contains("1 passed, 0 failed"), "{stdout}");

    // A field the mappings do not cover, or cover with a type its values do not fit, fails.
    let mappings = crate_dir.join("mappings.json");
    let shipped = std::fs::read_to_string(&mappings).unwrap();
    std::fs::write(&mappings, shipped.replace(r#""attempts": { "type": "long" }"#, r#""attempts": { "type": "ip" }"#))
        .unwrap();
    let stdout = text(&kelk_plugin(&["test", crate_dir.to_str().unwrap()]).stdout);
    assert!(stdout.contains("`my-app.upstream.attempts` is mapped as ip, which 1 does not fit"), "{stdout}");
    let without = shipped.replace(",\n      \"attempts\": { \"type\": \"long\" }", "");
    assert_ne!(without, shipped);
    std::fs::write(&mappings, without).unwrap();
    let out = kelk_plugin(&["test", crate_dir.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("`my-app.upstream.attempts` is not mapped"), "{stdout}");
}

#[test]
fn ingest_writes_bulk_files_and_dead_letters_with_stable_ids() {
    let out_dir = tempfile::tempdir().unwrap();
    let inputs = [
        corpus_alb().join("plaso-aws_elb_access.log"),
        corpus_alb().join("grafana-loki-lambda-promtail-albaccesslog.log.gz"),
        corpus_alb().join("nlb-tls.log"),
    ];
    let run = |out: &Path| {
        let mut args = vec!["ingest", "--plugin", alb_wasm().to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
        kelk(&args)
    };
    let out = run(out_dir.path());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "rejections are dead-lettered, not failures: {stderr}");
    assert!(stderr.contains("24 records from 3 file(s): 23 documents, 1 rejected"), "{stderr}");

    let bulk = std::fs::read_to_string(out_dir.path().join("logs-aws.elb_logs-default-2020.01.11.ndjson")).unwrap();
    let lines: Vec<serde_json::Value> = bulk.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2 * 10, "an action line and a document for each 2020-01-11 event");
    assert_eq!(lines[0]["create"]["_index"], "logs-aws.elb_logs-default-2020.01.11");
    assert!(lines[1]["@timestamp"].as_str().unwrap().starts_with("2020-01-11"));
    assert!(out_dir.path().join("logs-aws.elb_logs-default-2022.12.06.ndjson").is_file(), "the gzip file's day");

    let dead: Vec<serde_json::Value> = std::fs::read_to_string(out_dir.path().join("dead-letters.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["record_number"], 6);
    assert!(dead[0]["object"]["key"].as_str().unwrap().ends_with("nlb-tls.log"));
    assert!(dead[0]["reason"].as_str().unwrap().contains("Network Load Balancer"));
    assert!(dead[0]["excerpt"].as_str().unwrap().starts_with("tls 2.0"));
    assert_eq!(dead[0]["plugin"], "alb");

    let again = tempfile::tempdir().unwrap();
    assert!(run(again.path()).status.success());
    let ids = |dir: &Path| std::fs::read_to_string(dir.join("logs-aws.elb_logs-default-2020.01.11.ndjson")).unwrap();
    assert_eq!(ids(out_dir.path()), ids(again.path()), "a rerun produces the same ids");
}

#[test]
fn ingest_routes_each_file_to_its_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let parsers = ["alb", "cloudfront", "cloudtrail", "apache"];
    let wasm: Vec<PathBuf> = parsers.iter().map(|p| build(p)).collect();
    let sha = sha256_hex(&std::fs::read(&wasm[0]).unwrap());
    let samples = workspace().join("parsers");
    let config = |alb_sha: &str| {
        serde_json::json!({
            "version": 1,
            "plugins": {
                "alb": { "path": wasm[0], "sha256": alb_sha },
                "cloudfront": { "path": wasm[1] },
                "cloudtrail": { "path": wasm[2] },
                "apache": { "path": wasm[3] },
            },
            "routes": parsers.iter().map(|p| serde_json::json!({
                "key_glob": format!("{}/{p}/samples/*", samples.display()),
                "plugin": p,
                "index_prefix": format!("test-{p}"),
            })).collect::<Vec<_>>(),
        })
        .to_string()
    };
    let routes = dir.path().join("routes.json");
    std::fs::write(&routes, config(&sha)).unwrap();
    let inputs = [
        samples.join("alb/samples/aws-docs-examples.log"),
        samples.join("cloudfront/samples/aws-docs-example.log"),
        samples.join("cloudtrail/samples/grafana-loki-lambda-promtail-cloudtrail-log-file.json.gz"),
        samples.join("apache/samples/apache-httpd-docs-logs-examples.log"),
        workspace().join("Cargo.toml"),
    ];
    let out_dir = dir.path().join("out");
    let mut args = vec!["ingest", "--routes", routes.to_str().unwrap(), "--out", out_dir.to_str().unwrap()];
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    let out = kelk(&args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "the unrouted file fails the run: {stderr}");
    assert!(stderr.contains("Cargo.toml: no route of the routing config matches it"), "{stderr}");
    assert!(stderr.contains("from 5 file(s): 17 documents"), "{stderr}");
    let indices: Vec<String> =
        std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    for p in parsers {
        assert!(indices.iter().any(|i| i.starts_with(&format!("test-{p}-"))), "{p}: {indices:?}");
    }

    std::fs::write(&routes, config(&"0".repeat(64))).unwrap();
    let out = kelk(&args);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("plugin alb: its sha256 is {sha}, the routing config expects 000")), "{stderr}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[test]
fn ingest_gives_up_on_a_file_past_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let line = std::fs::read_to_string(corpus_alb().join("aws-docs-examples.log")).unwrap();
    let big = dir.path().join("big.log");
    std::fs::write(&big, line.repeat(2_000)).unwrap();
    assert!(std::fs::metadata(&big).unwrap().len() > 2 << 20);
    let small = corpus_alb().join("aws-docs-examples.log");
    let out_dir = dir.path().join("out");
    let out = kelk(&[
        "ingest",
        "--plugin",
        alb_wasm().to_str().unwrap(),
        "--max-object-mib",
        "1",
        "--out",
        out_dir.to_str().unwrap(),
        big.to_str().unwrap(),
        small.to_str().unwrap(),
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("big.log: decompresses to more than 1048576 bytes, the limit"), "{stderr}");
    assert!(stderr.contains("1 file(s) FAILED"), "the small file still went through: {stderr}");
}

#[test]
fn the_bundled_plugins_need_no_path() {
    let out = kelk(&["plugins"]);
    let listed = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (name, dataset) in [
        ("alb", "aws.elb_logs"),
        ("cloudfront", "aws.cloudfront_logs"),
        ("cloudtrail", "aws.cloudtrail"),
        ("apache", "apache.access"),
    ] {
        let line = listed.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name} listed: {listed}"));
        assert!(line.contains(dataset), "{line}");
    }
    let log = corpus_alb().join("aws-docs-examples.log");
    let out = kelk(&["ingest", "--plugin", "alb", "--stdout", log.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let documents: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let expected = std::fs::read_to_string(corpus_alb().join("aws-docs-examples.log.expected.ndjson")).unwrap();
    assert_eq!(documents.len(), expected.lines().count());
    assert_eq!(documents[0], serde_json::from_str::<serde_json::Value>(expected.lines().next().unwrap()).unwrap());
    // A name that is neither bundled nor a file is a clear error.
    let out = kelk(&["ingest", "--plugin", "nosuch", "--stdout", log.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(text(&out.stderr).contains("cannot read plugin nosuch"), "{}", text(&out.stderr));
}

/// `--ca-cert` goes with `--opensearch`, and a CA file that cannot be read stops the tool
/// before anything is sent (the cluster at that address is never asked).
#[test]
fn a_ca_certificate_needs_a_cluster_and_a_readable_file() {
    let log = corpus_alb().join("aws-docs-examples.log");
    let out = kelk(&["ingest", "--plugin", "alb", "--ca-cert", "ca.pem", log.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--opensearch <URL>"), "{}", text(&out.stderr));
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing-ca.pem");
    let url = "https://127.0.0.1:9";
    let out = kelk(&["setup", "--plugin", "alb", "--opensearch", url, "--ca-cert", missing.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&format!("cannot read the CA certificate {}", missing.display())), "{stderr}");
}
