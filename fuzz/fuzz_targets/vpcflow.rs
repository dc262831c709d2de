//! The vpcflow parser: see `kelk_fuzz` for what is checked.
#![no_main]

use kelk_fuzz::{lines, small_lines};
use kelk_parser_vpcflow::VpcFlow;

libfuzzer_sys::fuzz_target!(|data: &[u8]| lines::<VpcFlow>(data, small_lines));
