//! The boundary driver of the fuzz target `ffi` (`fuzz/fuzz_targets/ffi.rs`): it reads the
//! input as a program of C calls, in any order, each argument a null pointer or a valid buffer
//! of a length up to its real size, and runs them through the exported functions exactly as C
//! would. Every call it makes is sound by the header's contract, so whatever the interface
//! does with it must be an error code, never a crash or a sanitizer report. The unit test below
//! replays `fuzz/corpus/ffi` (run by `cargo test` in `ffi/`).

// A test driver: its indexing and arithmetic work on its own buffers of known sizes.
#![allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use core::ffi::CStr;
use std::vec;
use std::vec::Vec;

use crate::*;

/// Reads the input: bytes, then zeros once it runs out.
struct Input<'a> {
    data: &'a [u8],
}

impl Input<'_> {
    fn done(&self) -> bool {
        self.data.is_empty()
    }
    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    /// A length in `0..=max`, mostly small, sometimes exactly `max`.
    fn len(&mut self, max: usize) -> usize {
        match self.u8() {
            255 => max,
            b => usize::from(b).min(max),
        }
    }
    /// True for "pass null" about one time in eight.
    fn null(&mut self) -> bool {
        self.u8() & 7 == 0
    }
    /// Copies input bytes into `buf` from its start (as many as asked and available).
    fn fill(&mut self, buf: &mut [u8]) -> usize {
        let n = self.len(buf.len()).min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        if let Some(d) = buf.get_mut(..n) {
            d.copy_from_slice(head);
        }
        self.data = rest;
        n
    }
}

/// Canned answers, so that the fuzzer reaches the states after an accepted submit quickly.
const ANSWERS: [&[u8]; 4] = [
    b"HTTP/1.1 202 Accepted\r\nContent-Length: 139\r\n\r\n{\"job\":{\"uuid\":\"2453aafc-a9a6-11eb-9fc7-080027c8f2a7\",\"_links\":{\"self\":{\"href\":\"/api/cluster/jobs/2453aafc-a9a6-11eb-9fc7-080027c8f2a7\"}}}}",
    b"HTTP/1.1 200 OK\r\nContent-Length: 58\r\n\r\n{\"state\":\"running\",\"message\":\"Creating \\\"vol1\\\"\",\"code\":0}",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"state\":\"succes\r\n22\r\ns\",\"message\":\"success\",\"code\":\"0\"}\r\n0\r\n\r\n",
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n",
];

/// Words of storage for one machine in this build (in the fuzz workspace the core's features
/// are unified with the other targets', so the machine may be larger than the header's
/// constant).
fn storage_words() -> usize {
    size_of::<Slot>().max(JOBPOLL_MACHINE_SIZE).div_ceil(8)
}

/// Runs one input; answers the outcome the machine ended with (`JOBPOLL_OUTCOME_NONE` when
/// it has none, or the storage holds no machine).
pub fn run(data: &[u8]) -> jobpoll_outcome {
    let mut input = Input { data };
    let mut storage: Vec<u64> = vec![0; storage_words()];
    let machine = storage.as_mut_ptr().cast::<jobpoll_machine>();
    // SAFETY (for the whole function): every pointer passed below is null or points into one
    // of these buffers, which outlive every call, with a length no larger than the buffer; no
    // buffer is passed twice in one call, and none overlaps the machine's storage.
    let mut cfg = jobpoll_config {
        tag: 0,
        dialect: 0,
        host: ptr::null(),
        host_len: 0,
        port: 0,
        tls: 0,
        cancel_on_deadline: 0,
        max_retries: 0,
        jitter_percent: 0,
        auth: 0,
        user: ptr::null(),
        user_len: 0,
        password: ptr::null(),
        password_len: 0,
        authorization: ptr::null(),
        authorization_len: 0,
        deadline_ms: 0,
        request_timeout_ms: 0,
        initial_interval_ms: 0,
        max_interval_ms: 0,
        retry_max_ms: 0,
        return_timeout_ms: 0,
        seed: 0,
    };
    let mut op = jobpoll_operation {
        tag: 0,
        method: 0,
        path: ptr::null(),
        path_len: 0,
        body: ptr::null(),
        body_len: 0,
    };
    let mut host = *b"cluster1.example.com\0\0\0\0\0\0\0\0\0\0\0\0";
    let mut user = *b"admin\0\0\0\0\0\0\0";
    let mut password = *b"netapp1!\0\0\0\0";
    let mut authorization = *b"Bearer abc.def.ghi\0\0\0\0\0\0";
    let mut path = *b"/api/storage/volumes\0\0\0\0";
    let mut body = *b"{\"name\":\"vol1\",\"svm\":{\"name\":\"vs1\"}}";
    let mut job_ref = *b"2453aafc-a9a6-11eb-9fc7-080027c8f2a7\0\0\0\0";
    let mut token = [0u8; JOBPOLL_MAX_TOKEN_LEN + 8];
    let mut token_len = 0usize;
    let mut tx = vec![0u8; 1024];
    let mut rx = vec![0u8; 2048];
    let mut filled = 0usize;
    let mut action = NO_ACTION;
    let mut received = NO_RECEIVED;
    let mut now = 0u64;

    let cfg_p = |input: &mut Input<'_>, cfg: &mut jobpoll_config| -> *mut jobpoll_config {
        if input.null() { ptr::null_mut() } else { cfg }
    };

    for _ in 0..256 {
        if input.done() {
            break;
        }
        now = now.saturating_add(u64::from(input.u16()));
        let machine_p = if input.null() {
            ptr::null_mut()
        } else {
            machine
        };
        let op_p: *const jobpoll_operation = if input.null() { ptr::null() } else { &op };
        match input.u8() % 24 {
            0 => {
                let n = input.len(host.len());
                let (port, tls, dialect) = (input.u16(), input.u8(), input.u32() % 4);
                let c = cfg_p(&mut input, &mut cfg);
                let h = if input.null() {
                    ptr::null()
                } else {
                    host.as_ptr()
                };
                // SAFETY: see the top of the function.
                let _ = unsafe { jobpoll_config_init(c, h, n, port, tls, dialect) };
            }
            1 => {
                let (u, p) = (input.len(user.len()), input.len(password.len()));
                let c = cfg_p(&mut input, &mut cfg);
                // SAFETY: see the top of the function.
                let _ =
                    unsafe { jobpoll_config_set_basic(c, user.as_ptr(), u, password.as_ptr(), p) };
            }
            2 => {
                let n = input.len(authorization.len());
                let c = cfg_p(&mut input, &mut cfg);
                // SAFETY: see the top of the function.
                let _ = unsafe { jobpoll_config_set_authorization(c, authorization.as_ptr(), n) };
            }
            3 => {
                let (m, p, b) = (
                    input.u32() % 6,
                    input.len(path.len()),
                    input.len(body.len()),
                );
                let body_p = if input.null() {
                    ptr::null()
                } else {
                    body.as_ptr()
                };
                let o: *mut jobpoll_operation = if input.null() {
                    ptr::null_mut()
                } else {
                    &mut op
                };
                // SAFETY: see the top of the function.
                let _ = unsafe { jobpoll_operation_init(o, m, path.as_ptr(), p, body_p, b) };
            }
            4 => {
                let c = cfg_p(&mut input, &mut cfg);
                // SAFETY: see the top of the function.
                let _ = unsafe { jobpoll_submit(machine_p, c, op_p, now) };
            }
            5 => {
                let n = input.len(job_ref.len());
                let c = cfg_p(&mut input, &mut cfg);
                // SAFETY: see the top of the function.
                let _ = unsafe { jobpoll_watch(machine_p, c, job_ref.as_ptr(), n, now) };
            }
            6 => {
                let n = if input.u8() & 1 == 0 {
                    token_len
                } else {
                    input.len(token.len())
                };
                let c = cfg_p(&mut input, &mut cfg);
                let offline = u64::from(input.u32());
                // SAFETY: see the top of the function.
                let _ = unsafe { jobpoll_resume(machine_p, c, token.as_ptr(), n, offline, now) };
            }
            7 => {
                let n = input.len(tx.len());
                let t = if input.null() {
                    ptr::null_mut()
                } else {
                    tx.as_mut_ptr()
                };
                let c = cfg_p(&mut input, &mut cfg);
                let out: *mut jobpoll_action = if input.null() {
                    ptr::null_mut()
                } else {
                    &mut action
                };
                // SAFETY: see the top of the function.
                let rc = unsafe { jobpoll_poll(machine_p, c, op_p, now, t, n, out) };
                if rc == JOBPOLL_OK && action.kind == jobpoll_action_kind::JOBPOLL_ACTION_SEND {
                    // The request may have been written by an earlier call that answered an event
                    // first (the header asks for the same `tx` on every call): within `tx`.
                    assert!(action.len <= tx.len(), "a send longer than tx");
                    filled = 0;
                }
            }
            8 | 9 => {
                let eof = input.u8() & 1 == 1;
                let n = input.len(rx.len());
                let f = if input.u8() & 15 == 0 {
                    input.len(rx.len() + 8)
                } else {
                    filled.min(n)
                };
                let r = if input.null() {
                    ptr::null_mut()
                } else {
                    rx.as_mut_ptr()
                };
                let out: *mut jobpoll_received = if input.null() {
                    ptr::null_mut()
                } else {
                    &mut received
                };
                // The configuration as it stands (a null one is the boundary tests' to check).
                let c: *const jobpoll_config = &cfg;
                // SAFETY: see the top of the function.
                let rc = unsafe {
                    if eof {
                        jobpoll_handle_eof(machine_p, c, now, r, n, f, out)
                    } else {
                        jobpoll_handle_response(machine_p, c, now, r, n, f, out)
                    }
                };
                if rc == JOBPOLL_OK && !received.message.is_null() {
                    // SAFETY: the message points into `rx` (checked here), which is alive.
                    let m = unsafe {
                        core::slice::from_raw_parts(received.message, received.message_len)
                    };
                    let inside = rx.as_ptr_range();
                    assert!(
                        inside.contains(&m.as_ptr()) || m.is_empty(),
                        "message outside rx"
                    );
                }
            }
            10 => {
                let e = input.u32() % 8;
                let c: *const jobpoll_config = &cfg;
                // SAFETY: see the top of the function.
                let _ = unsafe { jobpoll_handle_transport_error(machine_p, c, now, e) };
            }
            11 => {
                now = now.saturating_add(u64::from(input.u32()));
                let c: *const jobpoll_config = &cfg;
                // SAFETY: see the top of the function.
                let _ = unsafe { jobpoll_handle_timeout(machine_p, c, now) };
            }
            12 => {
                // SAFETY: see the top of the function.
                let _ = unsafe { jobpoll_cancel(machine_p, now) };
            }
            13 => {
                // SAFETY: see the top of the function.
                let _ = unsafe { jobpoll_request_server_cancel(machine_p, now) };
            }
            14 => {
                let (mut id, mut len) = (ptr::null::<u8>(), 0usize);
                let id_p: *mut *const u8 = if input.null() {
                    ptr::null_mut()
                } else {
                    &mut id
                };
                let len_p: *mut usize = if input.null() {
                    ptr::null_mut()
                } else {
                    &mut len
                };
                // SAFETY: see the top of the function; a returned id points into the storage.
                let rc = unsafe { jobpoll_job_id(machine_p, id_p, len_p) };
                if rc == JOBPOLL_OK && !id_p.is_null() && !len_p.is_null() {
                    // SAFETY: the interface's promise under test: `len` bytes in the storage.
                    let s = unsafe { core::slice::from_raw_parts(id, len) };
                    assert!(core::str::from_utf8(s).is_ok());
                }
            }
            15 => {
                let mut view = jobpoll_job_view {
                    state: jobpoll_job_state::JOBPOLL_STATE_NONE,
                    raw_state: ptr::null(),
                    raw_state_len: 0,
                    has_code: false,
                    code: 0,
                };
                let out: *mut jobpoll_job_view = if input.null() {
                    ptr::null_mut()
                } else {
                    &mut view
                };
                // SAFETY: see the top of the function.
                if unsafe { jobpoll_last_seen(machine_p, out) } == JOBPOLL_OK {
                    // SAFETY: the interface's promise under test: bytes in the storage.
                    let s =
                        unsafe { core::slice::from_raw_parts(view.raw_state, view.raw_state_len) };
                    assert!(s.len() <= jobpoll::MAX_RAW_STATE);
                }
            }
            16 => {
                let (mut m, mut len) = (ptr::null::<u8>(), 0usize);
                // SAFETY: see the top of the function.
                let rc = unsafe { jobpoll_last_message(machine_p, &mut m, &mut len) };
                if rc == JOBPOLL_OK && !m.is_null() {
                    // SAFETY: the message points into `rx`, which is alive.
                    let s = unsafe { core::slice::from_raw_parts(m, len) };
                    core::hint::black_box(s.iter().fold(0u8, |a, &b| a ^ b));
                }
            }
            17 => {
                let mut n = 0u32;
                let out: *mut u32 = if input.null() {
                    ptr::null_mut()
                } else {
                    &mut n
                };
                // SAFETY: see the top of the function.
                let _ = unsafe { jobpoll_requests(machine_p, out) };
            }
            18 => {
                let mut a = NO_ACTION;
                let out: *mut jobpoll_action = if input.null() {
                    ptr::null_mut()
                } else {
                    &mut a
                };
                // SAFETY: see the top of the function.
                let _ = unsafe { jobpoll_get_outcome(machine_p, out) };
            }
            19 => {
                let n = input.len(token.len());
                let b = if input.null() {
                    ptr::null_mut()
                } else {
                    token.as_mut_ptr()
                };
                let mut len = 0usize;
                let out: *mut usize = if input.null() {
                    ptr::null_mut()
                } else {
                    &mut len
                };
                // SAFETY: see the top of the function.
                if unsafe { jobpoll_resume_token(machine_p, b, n, out) } == JOBPOLL_OK {
                    assert!(len <= n && len <= JOBPOLL_MAX_TOKEN_LEN.max(jobpoll::MAX_TOKEN_LEN));
                    token_len = len;
                }
            }
            20 => {
                let v = input.u32() % 24;
                for text in [
                    jobpoll_error_message(v),
                    jobpoll_outcome_message(v),
                    jobpoll_state_name(v),
                ] {
                    // SAFETY: the interface's promise under test: a static NUL-terminated string.
                    assert!(!unsafe { CStr::from_ptr(text) }.is_empty());
                }
            }
            21 => {
                // An answer arrives: canned, in pieces, or the input's own bytes.
                let which = usize::from(input.u8());
                if let Some(answer) = ANSWERS.get(which % 8) {
                    let n = input.len(answer.len()).max(1);
                    let piece = answer.get(filled.min(answer.len())..).unwrap_or_default();
                    let piece = piece.get(..n.min(piece.len())).unwrap_or_default();
                    if let Some(dst) = rx.get_mut(filled..filled + piece.len()) {
                        dst.copy_from_slice(piece);
                        filled += piece.len();
                    }
                } else {
                    let start = filled.min(rx.len());
                    filled = start + input.fill(&mut rx[start..]);
                }
            }
            22 => {
                // The caller changes a string the configuration or operation points to.
                let target: &mut [u8] = match input.u8() % 6 {
                    0 => &mut host,
                    1 => &mut user,
                    2 => &mut password,
                    3 => &mut authorization,
                    4 => &mut path,
                    _ => &mut body,
                };
                input.fill(target);
                input.fill(&mut job_ref);
            }
            _ => {
                // The caller zeroes the storage (or forgets to construct).
                storage.iter_mut().for_each(|w| *w = 0);
                filled = 0;
            }
        }
    }
    let mut end = NO_ACTION;
    // SAFETY: the storage and `end` are alive and separate.
    let _ = unsafe { jobpoll_get_outcome(machine, &mut end) };
    end.outcome
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The fuzz corpus, replayed as a test: every input must run through without a panic.
    #[test]
    fn fuzz_corpus_replays() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/ffi");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{} holds no input", dir.display());
        let mut succeeded = 0;
        for file in &files {
            let outcome = super::run(&std::fs::read(file).expect("corpus file"));
            if outcome == crate::jobpoll_outcome::JOBPOLL_OUTCOME_SUCCEEDED {
                succeeded += 1;
            }
        }
        println!(
            "{} inputs replayed, {succeeded} end with the job's success",
            files.len()
        );
        // The seeds drive whole jobs: the driver reaches the end of the happy path.
        assert!(
            succeeded > 0,
            "no corpus input follows a job to its success"
        );
    }
}
