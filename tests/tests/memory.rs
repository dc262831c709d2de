//! Memory does not grow with the size of the input: the plugin's linear memory peaks at the
//! same size for a 4 MB object and one 16 times larger.

use kelk_runtime::pipeline::decode::{CHUNK_BYTES, next_chunk};
use kelk_runtime::sandbox::SourceContext;
use kelk_tests::generate::Log;
use kelk_tests::{load, sandbox};

/// Streams `bytes` of generated ALB log through a session; returns (documents, peak memory).
fn run(bytes: u64) -> (u64, usize) {
    let sandbox = sandbox();
    let alb = load(&sandbox, "kelk-parser-alb");
    let ctx = SourceContext {
        bucket: "b".into(),
        key: "k".into(),
        version_id: None,
        log_type: "alb".into(),
        options: vec![],
    };
    let mut session = alb.session(&ctx, "k").unwrap();
    let mut input = Log::alb(42, bytes);
    let mut buf = Vec::with_capacity(CHUNK_BYTES);
    let mut documents = 0;
    loop {
        let chunk = next_chunk(&mut input, &mut buf).unwrap();
        if chunk.is_empty() {
            break;
        }
        documents += session.push(chunk).unwrap().documents.len() as u64;
    }
    let peak = session.peak_memory();
    documents += session.finish().unwrap().documents.len() as u64;
    (documents, peak)
}

#[test]
fn plugin_memory_is_flat_in_the_input_size() {
    let (small_docs, small_peak) = run(4 << 20);
    let (large_docs, large_peak) = run(64 << 20);
    println!(
        "4 MiB: {small_docs} documents, peak {small_peak} bytes; 64 MiB: {large_docs} documents, peak {large_peak} bytes"
    );
    assert!(large_docs > 15 * small_docs);
    assert!(large_peak <= small_peak + (64 << 10), "peak grew from {small_peak} to {large_peak}");
    assert!(large_peak < 8 << 20, "a few chunks' worth, not the object: {large_peak}");
}
