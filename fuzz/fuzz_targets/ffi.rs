#![no_main]

use libfuzzer_sys::fuzz_target;

// The C interface (ffi/): entry points called in any order with null pointers or valid buffers
// of any length up to their real size (jobpoll_ffi::fuzzing documents the input's program).
fuzz_target!(|data: &[u8]| {
    jobpoll_ffi::fuzzing::run(data);
});
