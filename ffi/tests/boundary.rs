//! The boundary's promises, called as C would: error codes for null, misaligned and
//! uninitialised arguments, a buffer too small answered with the size needed, a poll with
//! nowhere to put its action changing nothing, and a message for every code.

use core::ffi::CStr;
use core::ptr;

use jobpoll_ffi::jobpoll_action_kind::*;
use jobpoll_ffi::jobpoll_error::*;
use jobpoll_ffi::*;

/// Storage as C would declare it: zeroed (a static, or `= {0}`).
fn storage() -> Box<jobpoll_machine> {
    // SAFETY: `jobpoll_machine` is plain bytes; all zeros is its "no machine" state.
    Box::new(unsafe { core::mem::zeroed() })
}

fn config(host: &'static str) -> jobpoll_config {
    // SAFETY: every field is an integer or a raw pointer; `jobpoll_config_init` fills it.
    let mut cfg: jobpoll_config = unsafe { core::mem::zeroed() };
    // SAFETY: `cfg` is writable, `host` is a static string.
    let rc = unsafe {
        jobpoll_config_init(
            &mut cfg,
            host.as_ptr(),
            host.len(),
            443,
            1,
            jobpoll_dialect::JOBPOLL_DIALECT_ONTAP as u32,
        )
    };
    assert_eq!(rc, JOBPOLL_OK);
    cfg
}

fn operation() -> jobpoll_operation {
    const PATH: &str = "/api/storage/volumes";
    const BODY: &[u8] = br#"{"name":"vol1"}"#;
    // SAFETY: integers and raw pointers; `jobpoll_operation_init` fills it.
    let mut op: jobpoll_operation = unsafe { core::mem::zeroed() };
    // SAFETY: `op` is writable, path and body are static.
    let rc = unsafe {
        jobpoll_operation_init(
            &mut op,
            jobpoll_method::JOBPOLL_METHOD_POST as u32,
            PATH.as_ptr(),
            PATH.len(),
            BODY.as_ptr(),
            BODY.len(),
        )
    };
    assert_eq!(rc, JOBPOLL_OK);
    op
}

fn no_action() -> jobpoll_action {
    // SAFETY: an output struct of integers, enums whose zero is a variant, and a bool.
    unsafe { core::mem::zeroed() }
}

#[test]
fn null_and_uninitialised_arguments_are_error_codes() {
    let mut job = storage();
    let cfg = config("cluster1.example.com");
    let op = operation();
    let mut tx = [0u8; 512];
    let mut a = no_action();
    // SAFETY (every block below): each pointer is null or points to a live local of its type.
    unsafe {
        assert_eq!(
            jobpoll_submit(ptr::null_mut(), &cfg, &op, 0),
            JOBPOLL_ERR_NULL_POINTER
        );
        assert_eq!(
            jobpoll_poll(&mut *job, &cfg, &op, 0, tx.as_mut_ptr(), tx.len(), &mut a),
            JOBPOLL_ERR_NOT_INITIALIZED
        );
        assert_eq!(
            jobpoll_submit(&mut *job, ptr::null(), &op, 0),
            JOBPOLL_ERR_NULL_POINTER
        );
        assert_eq!(
            jobpoll_handle_timeout(&mut *job, &cfg, 0),
            JOBPOLL_ERR_NOT_INITIALIZED
        );
        let mut cfg_zero: jobpoll_config = core::mem::zeroed();
        cfg_zero.host = b"x".as_ptr();
        cfg_zero.host_len = 1;
        assert_eq!(
            jobpoll_submit(&mut *job, &cfg_zero, &op, 0),
            JOBPOLL_ERR_NOT_INITIALIZED
        );
        assert_eq!(
            jobpoll_config_init(ptr::null_mut(), b"h".as_ptr(), 1, 80, 0, 1),
            JOBPOLL_ERR_NULL_POINTER
        );
        let mut c = config("h");
        assert_eq!(
            jobpoll_config_init(&mut c, ptr::null(), 3, 80, 0, 1),
            JOBPOLL_ERR_NULL_POINTER
        );
        assert_eq!(
            jobpoll_config_init(&mut c, b"h".as_ptr(), 1, 80, 0, 99),
            JOBPOLL_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            jobpoll_config_init(&mut c, b"\xff".as_ptr(), 1, 80, 0, 1),
            JOBPOLL_ERR_INVALID_UTF8
        );
        assert_eq!(
            jobpoll_handle_transport_error(&mut *job, &cfg, 0, 77),
            JOBPOLL_ERR_INVALID_ARGUMENT
        );
        // Every input reads the configuration: a null one is refused, the machine unchanged.
        assert_eq!(jobpoll_submit(&mut *job, &cfg, &op, 0), JOBPOLL_OK);
        assert_eq!(
            jobpoll_handle_timeout(&mut *job, ptr::null(), 0),
            JOBPOLL_ERR_NULL_POINTER
        );
        assert_eq!(
            // 3: JOBPOLL_TRANSPORT_READ_FAILED, a valid error.
            jobpoll_handle_transport_error(&mut *job, ptr::null(), 0, 3),
            JOBPOLL_ERR_NULL_POINTER
        );
        let mut r: jobpoll_received = core::mem::zeroed();
        let mut rx = [0u8; 16];
        assert_eq!(
            jobpoll_handle_eof(
                &mut *job,
                ptr::null(),
                0,
                rx.as_mut_ptr(),
                rx.len(),
                0,
                &mut r
            ),
            JOBPOLL_ERR_NULL_POINTER
        );
    }
}

#[test]
fn misaligned_storage_is_refused() {
    let mut words = [0u64; JOBPOLL_MACHINE_SIZE / 8 + 1];
    let cfg = config("cluster1.example.com");
    let op = operation();
    // SAFETY: one byte into a zeroed buffer with room for a whole machine after it.
    let misaligned = unsafe { words.as_mut_ptr().cast::<u8>().add(1) }.cast::<jobpoll_machine>();
    // SAFETY: the pointer is non-null and points into `words`; the call checks alignment first.
    let rc = unsafe { jobpoll_submit(misaligned, &cfg, &op, 0) };
    assert_eq!(rc, JOBPOLL_ERR_MISALIGNED);
}

#[test]
fn a_small_buffer_is_answered_with_the_size_needed_and_a_poll_without_output_changes_nothing() {
    let mut job = storage();
    let cfg = config("cluster1.example.com");
    let op = operation();
    let mut tx = [0u8; 512];
    let mut a = no_action();
    // SAFETY (every block below): each pointer points to a live local of its type.
    unsafe {
        assert_eq!(jobpoll_submit(&mut *job, &cfg, &op, 0), JOBPOLL_OK);
        assert_eq!(
            jobpoll_poll(&mut *job, &cfg, &op, 0, tx.as_mut_ptr(), 8, &mut a),
            JOBPOLL_ERR_BUFFER_TOO_SMALL
        );
        let needed = a.len;
        assert!(needed > 8 && needed <= tx.len(), "{needed}");
        assert_eq!(
            jobpoll_poll(
                &mut *job,
                &cfg,
                &op,
                0,
                tx.as_mut_ptr(),
                tx.len(),
                ptr::null_mut()
            ),
            JOBPOLL_ERR_NULL_POINTER
        );
        assert_eq!(
            jobpoll_poll(&mut *job, &cfg, &op, 0, tx.as_mut_ptr(), tx.len(), &mut a),
            JOBPOLL_OK
        );
        assert_eq!(a.kind, JOBPOLL_ACTION_SEND);
        assert_eq!(a.len, needed);
        assert!(tx.starts_with(b"POST /api/storage/volumes?return_timeout=30 HTTP/1.1\r\n"));
        // A buffer overlapping the machine is refused.
        let overlap = (&mut *job as *mut jobpoll_machine).cast::<u8>();
        let mut r: jobpoll_received = core::mem::zeroed();
        assert_eq!(
            jobpoll_handle_response(&mut *job, &cfg, 1, overlap, 64, 0, &mut r),
            JOBPOLL_ERR_INVALID_ARGUMENT
        );
        // No job named yet: no id, no token.
        let (mut id, mut len) = (ptr::null::<u8>(), 0usize);
        assert_eq!(jobpoll_job_id(&*job, &mut id, &mut len), JOBPOLL_ERR_NO_JOB);
        let mut token = [0u8; JOBPOLL_MAX_TOKEN_LEN];
        assert_eq!(
            jobpoll_resume_token(&*job, token.as_mut_ptr(), token.len(), &mut len),
            JOBPOLL_ERR_NO_JOB
        );
    }
}

#[test]
fn every_code_has_a_message() {
    for code in 0..=17u32 {
        // SAFETY: the functions return static NUL-terminated strings.
        let text = unsafe { CStr::from_ptr(jobpoll_error_message(code)) };
        assert!(!text.to_bytes().starts_with(b"unknown"), "error {code}");
    }
    for code in 0..=17u32 {
        // SAFETY: as above.
        let text = unsafe { CStr::from_ptr(jobpoll_outcome_message(code)) };
        assert!(!text.to_bytes().starts_with(b"unknown"), "outcome {code}");
    }
    for code in 0..=8u32 {
        // SAFETY: as above.
        let text = unsafe { CStr::from_ptr(jobpoll_state_name(code)) };
        assert!(!text.to_bytes().starts_with(b"invalid"), "state {code}");
    }
    // SAFETY: as above.
    let unknown = unsafe { CStr::from_ptr(jobpoll_error_message(1000)) };
    assert_eq!(unknown.to_bytes(), b"unknown jobpoll error code");
}
