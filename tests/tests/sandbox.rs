//! A misbehaving plugin is stopped or refused with a clear error, and the host goes on:
//! the same loaded plugin still processes the next object.

use kelk_runtime::pipeline::IngestError;
use kelk_runtime::sandbox::{Limits, PluginError, SessionError};
use kelk_tests::{gzip, ingest, load, object, plugin_wasm, sandbox_with};
use std::time::{Duration, Instant};

fn behaviour(b: &str) -> Vec<(String, String)> {
    vec![("behaviour".into(), b.into())]
}

/// Runs the rogue plugin with `b` on one object, then checks the next object is fine.
fn misbehave(limits: Limits, b: &str) -> SessionError {
    let sandbox = sandbox_with(limits);
    let rogue = load(&sandbox, "kelk-test-plugin-rogue");
    let (result, _) = ingest(&rogue, &object("first.log"), &behaviour(b), b"some input\n");
    let error = match *result.expect_err("the rogue plugin must fail").error {
        IngestError::Plugin(e) => e,
        other => panic!("expected a plugin error, got {other}"),
    };
    let message = error.to_string();
    assert!(
        message.contains("plugin rogue") && message.contains("first.log"),
        "the error names plugin and object: {message}"
    );

    let (next, sink) = ingest(&rogue, &object("next.log"), &[], b"0123456789");
    assert_eq!(next.expect("the next object still processes").documents, 1);
    assert_eq!(sink.documents[0].source["bytes"], 10);
    error
}

#[test]
fn an_endless_loop_hits_the_cpu_deadline() {
    let timeout = Duration::from_millis(200);
    let started = Instant::now();
    let error = misbehave(Limits { call_timeout: timeout, ..Limits::default() }, "spin");
    assert!(matches!(error, SessionError::CallTimeout { .. }), "{error}");
    assert!(error.to_string().contains("CPU deadline"), "{error}");
    assert!(started.elapsed() < Duration::from_secs(20), "stopped promptly, took {:?}", started.elapsed());
}

#[test]
fn unbounded_memory_growth_hits_the_cap() {
    let error = misbehave(Limits { memory_bytes: 32 << 20, ..Limits::default() }, "hog");
    match &error {
        SessionError::MemoryCap { cap, .. } => {
            assert_eq!(cap.cap, 32 << 20);
            assert!(cap.desired > cap.cap);
        }
        other => panic!("expected the memory cap, got {other}"),
    }
    assert!(error.to_string().contains("over the cap of 33554432"), "{error}");
}

#[test]
fn a_panic_is_reported_with_its_message() {
    let error = misbehave(Limits::default(), "panic");
    assert!(matches!(error, SessionError::Trap { .. }), "{error}");
    assert!(
        error.to_string().contains("rogue plugin panics on purpose"),
        "the panic message reaches the report: {error}"
    );
}

#[test]
fn a_broken_batch_is_a_contract_error_not_a_crash() {
    let sandbox = sandbox_with(Limits::default());
    let rogue = load(&sandbox, "kelk-test-plugin-rogue");
    let (result, sink) = ingest(&rogue, &object("o.log"), &behaviour("overrun"), b"x");
    let failed = result.expect_err("overrun is refused");
    assert!(matches!(*failed.error, IngestError::Contract { .. }), "{}", failed.error);
    assert!(failed.error.to_string().contains("overrun"), "{}", failed.error);
    assert!(sink.documents.is_empty());
}

#[test]
fn a_filesystem_import_is_refused_at_load_naming_it() {
    let sandbox = sandbox_with(Limits::default());
    let wasm = std::fs::read(plugin_wasm("kelk-test-plugin-fs-reader")).unwrap();
    match sandbox.load("fs-reader.wasm", &wasm) {
        Err(PluginError::ForbiddenImport { import, .. }) => assert!(import.starts_with("wasi:filesystem/"), "{import}"),
        Err(other) => panic!("expected a forbidden import, got {other}"),
        Ok(_) => panic!("a plugin importing wasi:filesystem was loaded"),
    }
    // The sandbox is unharmed: a good plugin still loads and runs.
    let alb = load(&sandbox, "kelk-parser-alb");
    let (result, _) = ingest(&alb, &object("a.log"), &[], b"");
    assert_eq!(result.unwrap().documents, 0);
}

#[test]
fn a_component_that_is_not_a_parser_is_refused() {
    let sandbox = sandbox_with(Limits::default());
    let err = sandbox.load("junk.wasm", b"\0asm not really").err().expect("refused");
    assert!(matches!(err, PluginError::Invalid { .. }), "{err}");
}

#[test]
fn truncated_gzip_is_a_clear_error_after_the_documents_before_it() {
    let sandbox = sandbox_with(Limits::default());
    let alb = load(&sandbox, "kelk-parser-alb");
    let mut log = Vec::new();
    std::io::Read::read_to_end(&mut kelk_tests::generate::Log::alb(7, 2 << 20), &mut log).unwrap();
    let z = gzip(&log);
    let (result, sink) = ingest(&alb, &object("cut.log.gz"), &[], &z[..z.len() * 2 / 3]);
    let failed = result.expect_err("a truncated object fails");
    let message = failed.error.to_string();
    assert!(matches!(*failed.error, IngestError::Decode { .. }), "{message}");
    assert!(message.contains("truncated") && message.contains("cut.log.gz"), "{message}");
    assert_eq!(failed.counts.failed_objects, 1);
    assert!(!sink.documents.is_empty() && failed.counts.documents == sink.documents.len() as u64);

    let (whole, _) = ingest(&alb, &object("whole.log.gz"), &[], &z);
    assert_eq!(whole.unwrap().documents, log.iter().filter(|&&b| b == b'\n').count() as u64);
}
