//! The cloudtrail parser: see `kelk_fuzz` for what is checked.
#![no_main]

/// A record limit of 0 to 1020 bytes, so that oversized records are common.
fn options(b: u8) -> Vec<(String, String)> {
    vec![("max_record_bytes".into(), (usize::from(b) * 4).to_string())]
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| kelk_fuzz::objects::<kelk_parser_cloudtrail::CloudTrail>(data, options));
