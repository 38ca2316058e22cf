#![no_main]
//! Fuzz target: see `packreg::fuzzing::manifest`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| packreg::fuzzing::manifest(data));
