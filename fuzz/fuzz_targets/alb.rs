//! The alb parser: see `kelk_fuzz` for what is checked.
#![no_main]

use kelk_fuzz::{lines, small_lines};
use kelk_parser_alb::Alb;

libfuzzer_sys::fuzz_target!(|data: &[u8]| lines::<Alb>(data, small_lines));
