#![no_main]
//! Fuzz target: see `packreg_fuzz::pack_json`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| packreg_fuzz::pack_json(data));
