#![no_main]
//! Fuzz target: see `packreg_fuzz::manifest`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| packreg_fuzz::manifest(data));
