//! The s3access parser: see `kelk_fuzz` for what is checked.
#![no_main]

use kelk_fuzz::{lines, small_lines};
use kelk_parser_s3access::S3Access;

libfuzzer_sys::fuzz_target!(|data: &[u8]| lines::<S3Access>(data, small_lines));
