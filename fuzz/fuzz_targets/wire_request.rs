//! Fuzzes the protocol parser: any bytes, cut into frames, through `wire::parse_request` and
//! `wire::parse_status`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    event_engine_fuzz::harness::wire_request(data);
});
