//! Fuzzes the engine's request handling: any bytes, cut into frames, sent to a running engine's
//! external plugin port; the engine must answer (or, for a consuming request, stay responsive).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    event_engine_fuzz::harness::engine_request(data);
});
