#![no_main]
//! Fuzz target: see `packreg_fuzz::extract`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| packreg_fuzz::extract(data));
