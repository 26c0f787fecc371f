#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| jobpoll::http::fuzz::request(data));
