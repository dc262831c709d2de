//! The route53 parser: see `kelk_fuzz` for what is checked.
#![no_main]

use kelk_fuzz::{lines, small_lines};
use kelk_parser_route53::Route53Resolver;

libfuzzer_sys::fuzz_target!(|data: &[u8]| lines::<Route53Resolver>(data, small_lines));
