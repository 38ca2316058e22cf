#![no_main]
//! Fuzz target: see `packreg::fuzzing::pack_json`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| packreg::fuzzing::pack_json(data));
