//! The apache parser: see `kelk_fuzz` for what is checked.
#![no_main]

/// A small line limit, and one of the three `duration_unit`s.
fn options(b: u8) -> Vec<(String, String)> {
    let mut options = kelk_fuzz::small_lines(b);
    options.push(("duration_unit".into(), ["us", "ms", "s"][usize::from(b % 3)].into()));
    options
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| kelk_fuzz::lines::<kelk_parser_apache::Apache>(data, options));
