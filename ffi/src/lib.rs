//! jobpoll's C interface: the job machine in storage the caller provides, configuration and
//! operation described by caller-owned structs of pointers and lengths, the machine's actions
//! and inputs as plain structs and enums. No allocation; `no_std` on bare-metal targets.
//!
//! `include/jobpoll.h` is generated from this file by cbindgen (`tests/header.rs` checks it is
//! current); the doc comments below are the header's documentation.
//!
//! Every entry point is total: it checks its pointers (null, alignment) and lengths and answers
//! with an error code, it never panics, and the release profile aborts rather than unwinds.
//! This is the only crate of the project with `unsafe`: the core is `forbid(unsafe_code)`.
#![cfg_attr(target_os = "none", no_std)]
#![deny(
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    missing_docs
)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]
#![allow(non_camel_case_types, clippy::upper_case_acronyms)]

use core::ffi::c_char;
use core::ptr;
use core::time::Duration;

use jobpoll::dialect::nse::NseOptions;
use jobpoll::dialect::ontap::OntapOptions;
use jobpoll::http::{Auth, Authority, Method};
use jobpoll::{
    Action, Config, Connection, Dialect, Event, Instant, JobPoller, JobState, Outcome, Purpose,
    Received, ResumeToken, RetryCause, Submit, TransportError,
};

#[cfg(any(test, feature = "__fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;

// ---------------------------------------------------------------------------------------------
// Storage

/// Bytes of storage one machine needs: the size of `jobpoll_machine`, the largest over x86_64
/// and thumbv7em.
pub const JOBPOLL_MACHINE_SIZE: usize = 560;

/// Alignment the machine's storage needs (that of `jobpoll_machine`).
pub const JOBPOLL_MACHINE_ALIGN: usize = 8;

/// Longest resume token, in bytes: a buffer of this size always holds one.
pub const JOBPOLL_MAX_TOKEN_LEN: usize = 170;

/// Storage for one machine, owned by the caller: a static, a stack variable or a field of a
/// larger struct; jobpoll never allocates. Its content is private: do not read or write it.
///
/// Before a constructor (`jobpoll_submit`, `jobpoll_watch`, `jobpoll_resume`) has succeeded on
/// it, pass it only to a constructor, or zero it first (`= {0}`, or a static): every other
/// function then answers `JOBPOLL_ERR_NOT_INITIALIZED`. A failed constructor leaves it in that
/// state too. A machine holds no pointer into itself: it may be copied with `memcpy` (the copy
/// is an independent machine). There is nothing to free. One call at a time per machine.
#[repr(C, align(8))]
pub struct jobpoll_machine {
    _opaque: [u8; JOBPOLL_MACHINE_SIZE],
}

/// What the storage holds: a tag, the last reply's message (borrowed from the caller's receive
/// buffer) and the machine.
#[repr(C)]
struct Slot {
    tag: u64,
    message: *const u8,
    message_len: usize,
    machine: JobPoller,
}

/// "jobpollM": a storage a constructor filled.
const MACHINE_TAG: u64 = 0x6a6f_6270_6f6c_6c4d;
/// "jpcf": a configuration `jobpoll_config_init` filled.
const CONFIG_TAG: u32 = 0x6a70_6366;
/// "jpop": an operation `jobpoll_operation_init` filled.
const OPERATION_TAG: u32 = 0x6a70_6f70;

// The header's literal constants against the real layout, for the crate's fixed feature set
// (ONTAP and Service Engine; checked on every target built, x86_64 and thumbv7em in CI): at
// least the real size and alignment, and within 64 bytes of them. In the fuzz workspace the
// core's features are unified with the other fuzz targets' (every dialect, larger machines):
// there the driver sizes its storage from `size_of::<Slot>()` and these do not apply.
#[cfg(not(feature = "__fuzzing"))]
const _: () = {
    assert!(size_of::<jobpoll_machine>() == JOBPOLL_MACHINE_SIZE);
    assert!(align_of::<jobpoll_machine>() == JOBPOLL_MACHINE_ALIGN);
    assert!(size_of::<Slot>() <= JOBPOLL_MACHINE_SIZE);
    assert!(JOBPOLL_MACHINE_SIZE <= size_of::<Slot>() + 64);
    assert!(align_of::<Slot>() <= JOBPOLL_MACHINE_ALIGN);
    assert!(JOBPOLL_MACHINE_ALIGN <= align_of::<Slot>() + 64);
    assert!(jobpoll::MAX_TOKEN_LEN <= JOBPOLL_MAX_TOKEN_LEN);
    assert!(JOBPOLL_MAX_TOKEN_LEN <= jobpoll::MAX_TOKEN_LEN + 64);
};

// ---------------------------------------------------------------------------------------------
// Enums

/// What every function returns. `JOBPOLL_OK` is 0; a function that fails changes nothing
/// (except a failed constructor, which leaves the storage not initialised).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum jobpoll_error {
    /// Success.
    JOBPOLL_OK = 0,
    /// A required pointer is null (or a pointer with a non-zero length is null).
    JOBPOLL_ERR_NULL_POINTER = 1,
    /// A pointer is not aligned for its type.
    JOBPOLL_ERR_MISALIGNED = 2,
    /// The machine, configuration or operation was not set up by its constructor or init
    /// function.
    JOBPOLL_ERR_NOT_INITIALIZED = 3,
    /// An enum value out of range, a length that wraps the address space, or buffers that
    /// overlap the machine.
    JOBPOLL_ERR_INVALID_ARGUMENT = 4,
    /// A string is not UTF-8.
    JOBPOLL_ERR_INVALID_UTF8 = 5,
    /// The buffer is too small; the needed size is in the output's length field.
    JOBPOLL_ERR_BUFFER_TOO_SMALL = 6,
    /// A string cannot go into a request (CR, LF or NUL, a `:` in a Basic user name...).
    JOBPOLL_ERR_BAD_REQUEST_STRING = 7,
    /// A job id or href that is empty or too long.
    JOBPOLL_ERR_JOB_REF_LENGTH = 8,
    /// `return_timeout_ms` above 120 s.
    JOBPOLL_ERR_RETURN_TIMEOUT_OUT_OF_RANGE = 9,
    /// The resume token is damaged or from another version of jobpoll.
    JOBPOLL_ERR_BAD_TOKEN = 10,
    /// The resume token was made for another dialect than the configuration's.
    JOBPOLL_ERR_TOKEN_DIALECT_MISMATCH = 11,
    /// The dialect has no server-side cancel (only ONTAP has one).
    JOBPOLL_ERR_CANCEL_UNSUPPORTED = 12,
    /// The operation passed to `jobpoll_poll` differs from the one given to `jobpoll_submit`.
    JOBPOLL_ERR_SUBMIT_CHANGED = 13,
    /// A response, end of stream or timeout was fed while no request was in flight.
    JOBPOLL_ERR_NO_REQUEST_IN_FLIGHT = 14,
    /// `filled` is larger than the receive buffer.
    JOBPOLL_ERR_FILLED_BEYOND_BUFFER = 15,
    /// There is no job (not named by the server yet, or the machine is done).
    JOBPOLL_ERR_NO_JOB = 16,
    /// Another configuration error of the core (a future one).
    JOBPOLL_ERR_CONFIG = 17,
}

use jobpoll_error::*;

/// The job API (`jobpoll_config.dialect`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum jobpoll_dialect {
    /// ONTAP REST (`/api/cluster/jobs/{uuid}`).
    JOBPOLL_DIALECT_ONTAP = 1,
    /// NetApp Service Engine (`/api/v2.1/jobs/{id}`).
    JOBPOLL_DIALECT_NSE = 2,
}

/// Credentials (`jobpoll_config.auth`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum jobpoll_auth {
    /// No `Authorization` header.
    JOBPOLL_AUTH_NONE = 0,
    /// HTTP Basic from `user` and `password`.
    JOBPOLL_AUTH_BASIC = 1,
    /// `authorization` is the whole header value, e.g. `Bearer <token>`.
    JOBPOLL_AUTH_HEADER = 2,
}

/// The submit's method (`jobpoll_operation.method`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum jobpoll_method {
    /// POST.
    JOBPOLL_METHOD_POST = 1,
    /// PATCH.
    JOBPOLL_METHOD_PATCH = 2,
    /// DELETE.
    JOBPOLL_METHOD_DELETE = 3,
    /// PUT.
    JOBPOLL_METHOD_PUT = 4,
}

/// What `jobpoll_poll` asks for (`jobpoll_action.kind`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum jobpoll_action_kind {
    /// No action (an output not filled, or `jobpoll_get_outcome` before the end).
    JOBPOLL_ACTION_NONE = 0,
    /// Send `tx[0..len)` on the connection `connection` says, then read the answer until
    /// `at_ms` and feed it to `jobpoll_handle_response`.
    JOBPOLL_ACTION_SEND = 1,
    /// Close the connection now.
    JOBPOLL_ACTION_CLOSE = 2,
    /// Nothing to do before `at_ms`; then call `jobpoll_poll` again.
    JOBPOLL_ACTION_SLEEP = 3,
    /// `event` happened; keep calling `jobpoll_poll`.
    JOBPOLL_ACTION_EVENT = 4,
    /// The end: `outcome`. Every later `jobpoll_poll` answers the same.
    JOBPOLL_ACTION_DONE = 5,
}

/// Which connection a request goes on (`jobpoll_action.connection`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum jobpoll_connection {
    /// Not a send.
    JOBPOLL_CONNECTION_NONE = 0,
    /// Close any open connection and open a new one (always for a submit).
    JOBPOLL_CONNECTION_FRESH = 1,
    /// Reuse the open connection; open one if none is open.
    JOBPOLL_CONNECTION_REUSE = 2,
}

/// Why a request is sent (`jobpoll_action.purpose`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum jobpoll_purpose {
    /// Not a send.
    JOBPOLL_PURPOSE_NONE = 0,
    /// The operation that starts the job.
    JOBPOLL_PURPOSE_SUBMIT = 1,
    /// A status GET of the job.
    JOBPOLL_PURPOSE_POLL = 2,
    /// The poll sent exactly at the deadline.
    JOBPOLL_PURPOSE_FINAL_POLL = 3,
    /// A server-side cancel of the job.
    JOBPOLL_PURPOSE_CANCEL = 4,
    /// A purpose added by a later version.
    JOBPOLL_PURPOSE_OTHER = 5,
}

/// Something worth reporting (`jobpoll_action.event`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum jobpoll_event {
    /// Not an event.
    JOBPOLL_EVENT_NONE = 0,
    /// The server accepted the submit and named the job (`jobpoll_job_id`).
    JOBPOLL_EVENT_ACCEPTED = 1,
    /// The job's state changed to `state`.
    JOBPOLL_EVENT_STATE_CHANGED = 2,
    /// The job reports a state string the dialect does not know (`jobpoll_last_seen`).
    JOBPOLL_EVENT_UNKNOWN_STATE = 3,
    /// A request failed (`cause`, `status`, `transport_error`); retried at `at_ms`.
    JOBPOLL_EVENT_RETRYING = 4,
    /// The job body did not fit the receive buffer; polls now ask for fewer fields.
    JOBPOLL_EVENT_FIELDS_REDUCED = 5,
    /// The deadline is reached; one final poll is sent now.
    JOBPOLL_EVENT_FINAL_POLL = 6,
    /// The server accepted the cancel request.
    JOBPOLL_EVENT_CANCEL_REQUESTED = 7,
    /// The server refused the cancel (`status`, 0 when there was no answer).
    JOBPOLL_EVENT_CANCEL_REFUSED = 8,
    /// `now_ms` went backwards and was clamped.
    JOBPOLL_EVENT_CLOCK_WENT_BACKWARDS = 9,
    /// An event added by a later version.
    JOBPOLL_EVENT_OTHER = 10,
}

/// A job state normalised across dialects.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum jobpoll_job_state {
    /// No state (not seen yet, or not a state change).
    JOBPOLL_STATE_NONE = 0,
    /// Accepted, not started.
    JOBPOLL_STATE_PENDING = 1,
    /// In progress.
    JOBPOLL_STATE_RUNNING = 2,
    /// Paused by an administrator.
    JOBPOLL_STATE_PAUSED = 3,
    /// Finished successfully.
    JOBPOLL_STATE_SUCCEEDED = 4,
    /// Finished successfully with warnings.
    JOBPOLL_STATE_SUCCEEDED_WITH_WARNINGS = 5,
    /// Finished with some parts failed.
    JOBPOLL_STATE_PARTIALLY_FAILED = 6,
    /// Finished in failure.
    JOBPOLL_STATE_FAILED = 7,
    /// A string the dialect does not know.
    JOBPOLL_STATE_UNKNOWN = 8,
}

/// Why a request is retried, or the last failure (`jobpoll_action.cause`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum jobpoll_retry_cause {
    /// No cause.
    JOBPOLL_CAUSE_NONE = 0,
    /// A transport failure (`transport_error`).
    JOBPOLL_CAUSE_TRANSPORT = 1,
    /// The server answered with `status` (429, 503, other 5xx).
    JOBPOLL_CAUSE_STATUS = 2,
    /// The answer could not be parsed.
    JOBPOLL_CAUSE_INVALID_RESPONSE = 3,
    /// 404 for a job not seen yet.
    JOBPOLL_CAUSE_NOT_YET_VISIBLE = 4,
    /// The kept-alive connection was closed before it answered.
    JOBPOLL_CAUSE_STALE_CONNECTION = 5,
    /// A cause added by a later version.
    JOBPOLL_CAUSE_OTHER = 6,
}

/// A transport failure: fed by the caller to `jobpoll_handle_transport_error`, and reported in
/// `jobpoll_action.transport_error`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum jobpoll_transport_error {
    /// No transport error.
    JOBPOLL_TRANSPORT_NONE = 0,
    /// The connection could not be established; nothing was sent.
    JOBPOLL_TRANSPORT_CONNECT_FAILED = 1,
    /// Writing the request failed (some bytes may have been sent).
    JOBPOLL_TRANSPORT_WRITE_FAILED = 2,
    /// Reading the answer failed.
    JOBPOLL_TRANSPORT_READ_FAILED = 3,
    /// The caller's own timer for the request fired.
    JOBPOLL_TRANSPORT_TIMED_OUT = 4,
    /// The server's TLS certificate was rejected; nothing was sent.
    JOBPOLL_TRANSPORT_UNTRUSTED = 5,
    /// An error added by a later version.
    JOBPOLL_TRANSPORT_OTHER = 6,
}

/// How the job ended (`jobpoll_action.outcome`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum jobpoll_outcome {
    /// Not ended (yet).
    JOBPOLL_OUTCOME_NONE = 0,
    /// The job ended successfully.
    JOBPOLL_OUTCOME_SUCCEEDED = 1,
    /// The job ended successfully with warnings.
    JOBPOLL_OUTCOME_SUCCEEDED_WITH_WARNINGS = 2,
    /// The job ended with some parts failed.
    JOBPOLL_OUTCOME_PARTIALLY_FAILED = 3,
    /// The job failed; code and state in `jobpoll_last_seen`.
    JOBPOLL_OUTCOME_FAILED = 4,
    /// The operation completed without a job (HTTP `status`).
    JOBPOLL_OUTCOME_COMPLETED_WITHOUT_JOB = 5,
    /// The submit started `count` jobs (ids in the reply that carried them).
    JOBPOLL_OUTCOME_MULTIPLE_JOBS = 6,
    /// The deadline passed with the job still running: resume it later with the token.
    JOBPOLL_OUTCOME_DEADLINE_EXCEEDED = 7,
    /// The server no longer knows the job.
    JOBPOLL_OUTCOME_EXPIRED = 8,
    /// The submit may or may not have reached the server; it is never re-sent.
    JOBPOLL_OUTCOME_SUBMIT_OUTCOME_UNKNOWN = 9,
    /// The server refused the operation or the poll (HTTP `status`).
    JOBPOLL_OUTCOME_REJECTED = 10,
    /// 401 or 403 (`status`): refresh the credentials and resume.
    JOBPOLL_OUTCOME_AUTH_REQUIRED = 11,
    /// `jobpoll_cancel` was called (the job keeps running on the server).
    JOBPOLL_OUTCOME_CANCELLED = 12,
    /// A transport failure that retrying cannot fix (`transport_error`).
    JOBPOLL_OUTCOME_TRANSPORT_FAILED = 13,
    /// Too many consecutive failures (the last in `cause`, `status`, `transport_error`).
    JOBPOLL_OUTCOME_RETRIES_EXHAUSTED = 14,
    /// The job is paused and the policy says stop.
    JOBPOLL_OUTCOME_PAUSED = 15,
    /// The job reports an unknown state and the policy says stop.
    JOBPOLL_OUTCOME_UNKNOWN_STATE = 16,
    /// An outcome added by a later version.
    JOBPOLL_OUTCOME_OTHER = 17,
}

/// What `jobpoll_handle_response` / `jobpoll_handle_eof` made of the bytes
/// (`jobpoll_received.kind`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum jobpoll_received_kind {
    /// Not filled.
    JOBPOLL_RECEIVED_NONE = 0,
    /// Incomplete: read more, append after `filled`, call again.
    JOBPOLL_RECEIVED_NEED_MORE = 1,
    /// Complete and handled: stop reading, call `jobpoll_poll`.
    JOBPOLL_RECEIVED_COMPLETE = 2,
    /// Unusable (malformed, too large): stop reading, call `jobpoll_poll` (it says close).
    JOBPOLL_RECEIVED_INVALID = 3,
}

// ---------------------------------------------------------------------------------------------
// Caller-owned descriptions

/// Everything the machine needs besides the operation, owned by the caller. Fill it with
/// `jobpoll_config_init` (defaults for every policy value), then set credentials with
/// `jobpoll_config_set_basic` / `jobpoll_config_set_authorization` and change any policy field
/// directly. Pass it to every call that takes it; it may be changed between calls (e.g. new
/// credentials after `JOBPOLL_OUTCOME_AUTH_REQUIRED`).
///
/// Lifetimes: jobpoll keeps none of its pointers; it reads the strings (host, user, password,
/// authorization) again on every call that takes the configuration, so they must stay valid
/// and unchanged while the job runs. Strings are pointer + length, UTF-8, no NUL needed.
#[repr(C)]
pub struct jobpoll_config {
    /// Set by `jobpoll_config_init`.
    pub tag: u32,
    /// A `jobpoll_dialect` value.
    pub dialect: u32,
    /// Host name or IP literal, for the `Host` header.
    pub host: *const u8,
    /// Bytes of `host`.
    pub host_len: usize,
    /// TCP port.
    pub port: u16,
    /// Non-zero when the connection uses TLS (only the `Host` header depends on it: the
    /// caller's transport does the TLS).
    pub tls: u8,
    /// Non-zero: ONTAP cancels the job on the server when the deadline passes.
    pub cancel_on_deadline: u8,
    /// Consecutive failed requests tolerated (default 5).
    pub max_retries: u8,
    /// Each gap is shortened by a random share below this percentage (default 10).
    pub jitter_percent: u8,
    /// A `jobpoll_auth` value.
    pub auth: u32,
    /// Basic user name (no `:`).
    pub user: *const u8,
    /// Bytes of `user`.
    pub user_len: usize,
    /// Basic password.
    pub password: *const u8,
    /// Bytes of `password`.
    pub password_len: usize,
    /// The whole `Authorization` value for `JOBPOLL_AUTH_HEADER`, e.g. `Bearer <token>`.
    pub authorization: *const u8,
    /// Bytes of `authorization`.
    pub authorization_len: usize,
    /// Overall budget from the submit to the outcome (default 600000 ms).
    pub deadline_ms: u64,
    /// Time allowed for one request and its answer, on top of any server hold (default
    /// 15000 ms).
    pub request_timeout_ms: u64,
    /// First gap between two polls (default 1000 ms).
    pub initial_interval_ms: u64,
    /// Longest gap between two polls (default 30000 ms).
    pub max_interval_ms: u64,
    /// Longest wait after a failed request (default 30000 ms).
    pub retry_max_ms: u64,
    /// ONTAP: how long the server holds the submit waiting for the job, 0..=120000 ms in
    /// whole seconds (default 30000 ms).
    pub return_timeout_ms: u64,
    /// Seed of the jitter draws.
    pub seed: u64,
}

/// The operation that starts the job, owned by the caller; fill it with
/// `jobpoll_operation_init`. Pass the same one to `jobpoll_submit` and to every `jobpoll_poll`
/// of that machine: its path and body are read again while the submit is pending (first send,
/// retries), so they must stay valid and unchanged until the job ends.
#[repr(C)]
pub struct jobpoll_operation {
    /// Set by `jobpoll_operation_init`.
    pub tag: u32,
    /// A `jobpoll_method` value.
    pub method: u32,
    /// Absolute path, e.g. `/api/storage/volumes`.
    pub path: *const u8,
    /// Bytes of `path`.
    pub path_len: usize,
    /// JSON body, or null for none.
    pub body: *const u8,
    /// Bytes of `body`.
    pub body_len: usize,
}

/// The next action, written by `jobpoll_poll` (and `jobpoll_get_outcome`). Fields that do not
/// apply to `kind` are zero.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct jobpoll_action {
    /// What to do.
    pub kind: jobpoll_action_kind,
    /// SEND: bytes of `tx` to send. On `JOBPOLL_ERR_BUFFER_TOO_SMALL`: the bytes
    /// `tx` needs.
    pub len: usize,
    /// SEND: when to give up reading the answer (then `jobpoll_handle_timeout`). SLEEP: when
    /// to call `jobpoll_poll` again. EVENT `RETRYING`: when the retry is sent. Milliseconds on
    /// the caller's monotonic clock.
    pub at_ms: u64,
    /// SEND: which connection.
    pub connection: jobpoll_connection,
    /// SEND: why.
    pub purpose: jobpoll_purpose,
    /// SEND: whether sending it twice is harmless.
    pub idempotent: bool,
    /// EVENT: which.
    pub event: jobpoll_event,
    /// EVENT `STATE_CHANGED`: the new state.
    pub state: jobpoll_job_state,
    /// EVENT `RETRYING`, outcome `RETRIES_EXHAUSTED`: the failure.
    pub cause: jobpoll_retry_cause,
    /// With cause `TRANSPORT` and outcome `TRANSPORT_FAILED`: the transport error.
    pub transport_error: jobpoll_transport_error,
    /// HTTP status: cause `STATUS`, event `CANCEL_REFUSED` (0: no answer), outcomes
    /// `COMPLETED_WITHOUT_JOB`, `REJECTED`, `AUTH_REQUIRED`.
    pub status: u16,
    /// DONE: how the job ended.
    pub outcome: jobpoll_outcome,
    /// Outcome `MULTIPLE_JOBS`: how many jobs.
    pub count: u32,
}

/// What a `jobpoll_handle_response` / `jobpoll_handle_eof` call made of the bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct jobpoll_received {
    /// Need more, complete or invalid.
    pub kind: jobpoll_received_kind,
    /// COMPLETE: the HTTP status.
    pub status: u16,
    /// COMPLETE: whether the connection may be reused.
    pub keep_alive: bool,
    /// COMPLETE: bytes of the receive buffer the answer used.
    pub consumed: usize,
    /// COMPLETE: the job's or the API error's message, as received between the JSON quotes
    /// (escapes such as `\"` left in; see `message_escaped`), or null. It points into the
    /// receive buffer: valid while that buffer keeps those bytes.
    pub message: *const u8,
    /// Bytes of `message`.
    pub message_len: usize,
    /// Whether `message` holds a JSON escape (a backslash).
    pub message_escaped: bool,
    /// COMPLETE: number of records of a `jobs[]` answer (outcome `MULTIPLE_JOBS`), else 0.
    pub jobs: u32,
}

/// The raw facts last seen about the job (`jobpoll_last_seen`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct jobpoll_job_view {
    /// The normalised state, `JOBPOLL_STATE_NONE` before any.
    pub state: jobpoll_job_state,
    /// The raw state string as received (at most 24 bytes, not NUL-terminated). It points into
    /// the machine's storage: valid until the machine is next passed to a function that is
    /// not a getter.
    pub raw_state: *const u8,
    /// Bytes of `raw_state`.
    pub raw_state_len: usize,
    /// Whether `code` holds the job's (or the API error's) code.
    pub has_code: bool,
    /// The code, when `has_code`.
    pub code: i64,
}

// ---------------------------------------------------------------------------------------------
// Pointer checks

/// `ptr` as a reference, after the null and alignment checks.
///
/// # Safety
/// When non-null and aligned, `ptr` points to a `T` valid for reads for `'a` whose every bit
/// pattern is a valid `T` (the caller-owned structs: integers and raw pointers only).
unsafe fn read_ref<'a, T>(ptr: *const T) -> Result<&'a T, jobpoll_error> {
    if ptr.is_null() {
        return Err(JOBPOLL_ERR_NULL_POINTER);
    }
    if !ptr.is_aligned() {
        return Err(JOBPOLL_ERR_MISALIGNED);
    }
    // SAFETY: non-null and aligned; the caller guarantees it points to a readable `T` that
    // lives for `'a`.
    Ok(unsafe { &*ptr })
}

/// Writes `value` to `out` after the null and alignment checks.
///
/// # Safety
/// When non-null and aligned, `out` points to memory writable as a `T` (its old content is
/// not read and not dropped: only `Copy` types are written).
unsafe fn write_out<T: Copy>(out: *mut T, value: T) -> Result<(), jobpoll_error> {
    if out.is_null() {
        return Err(JOBPOLL_ERR_NULL_POINTER);
    }
    if !out.is_aligned() {
        return Err(JOBPOLL_ERR_MISALIGNED);
    }
    // SAFETY: non-null and aligned; the caller guarantees it is writable as a `T`.
    unsafe { out.write(value) };
    Ok(())
}

/// Checks that `len` bytes at `ptr` stay inside the address space (a requirement of
/// `slice::from_raw_parts`) and that a non-empty range has a pointer.
fn check_range(ptr: *const u8, len: usize) -> Result<(), jobpoll_error> {
    if len == 0 {
        return Ok(());
    }
    if ptr.is_null() {
        return Err(JOBPOLL_ERR_NULL_POINTER);
    }
    if len > isize::MAX as usize || (ptr as usize).checked_add(len).is_none() {
        return Err(JOBPOLL_ERR_INVALID_ARGUMENT);
    }
    Ok(())
}

/// `len` bytes at `ptr`; null is allowed with `len` 0.
///
/// # Safety
/// When `len` is not 0, `ptr` points to `len` bytes readable for `'a` and not written during
/// `'a`.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], jobpoll_error> {
    check_range(ptr, len)?;
    if len == 0 {
        return Ok(&[]);
    }
    // SAFETY: non-null, the range stays inside the address space (checked above) and the
    // caller guarantees `len` readable bytes, not written while borrowed.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// `len` writable bytes at `ptr`; null is allowed with `len` 0.
///
/// # Safety
/// When `len` is not 0, `ptr` points to `len` bytes readable and writable for `'a`, accessed
/// by nothing else during `'a`.
unsafe fn bytes_mut<'a>(ptr: *mut u8, len: usize) -> Result<&'a mut [u8], jobpoll_error> {
    check_range(ptr, len)?;
    if len == 0 {
        return Ok(&mut []);
    }
    // SAFETY: non-null, the range stays inside the address space (checked above) and the
    // caller guarantees `len` bytes for this call alone.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, len) })
}

/// A UTF-8 string of `len` bytes at `ptr`.
///
/// # Safety
/// As for [`bytes`].
unsafe fn text<'a>(ptr: *const u8, len: usize) -> Result<&'a str, jobpoll_error> {
    // SAFETY: the caller's guarantee is passed on unchanged.
    let b = unsafe { bytes(ptr, len) }?;
    core::str::from_utf8(b).map_err(|_| JOBPOLL_ERR_INVALID_UTF8)
}

/// Refuses a buffer that overlaps the machine's storage (it would be written by both).
fn outside_storage(
    storage: *const jobpoll_machine,
    ptr: *const u8,
    len: usize,
) -> Result<(), jobpoll_error> {
    let start = storage as usize;
    let end = start.saturating_add(size_of::<Slot>());
    let (p, q) = (ptr as usize, (ptr as usize).saturating_add(len));
    if len != 0 && p < end && start < q {
        return Err(JOBPOLL_ERR_INVALID_ARGUMENT);
    }
    Ok(())
}

/// The storage's slot pointer, after the null and alignment checks.
fn slot_ptr(storage: *const jobpoll_machine) -> Result<*mut Slot, jobpoll_error> {
    if storage.is_null() {
        return Err(JOBPOLL_ERR_NULL_POINTER);
    }
    let slot = storage.cast::<Slot>().cast_mut();
    if !slot.is_aligned() {
        return Err(JOBPOLL_ERR_MISALIGNED);
    }
    Ok(slot)
}

/// The machine in `storage`, for a call that changes it.
///
/// # Safety
/// `storage` is null or points to a `jobpoll_machine` that is zeroed or was filled by a
/// constructor, used by this call alone.
unsafe fn slot_mut<'a>(storage: *mut jobpoll_machine) -> Result<&'a mut Slot, jobpoll_error> {
    let slot = slot_ptr(storage)?;
    // SAFETY: non-null and aligned; the storage is at least `size_of::<Slot>()` bytes (the
    // const assertions) and its tag was written (zeroed or by a constructor), per the contract.
    let tag = unsafe { ptr::addr_of!((*slot).tag).read() };
    if tag != MACHINE_TAG {
        return Err(JOBPOLL_ERR_NOT_INITIALIZED);
    }
    // SAFETY: the tag is written only together with a whole valid `Slot` (`install`), and the
    // caller gives this call exclusive use of the storage.
    Ok(unsafe { &mut *slot })
}

/// The machine in `storage`, for a getter.
///
/// # Safety
/// As for [`slot_mut`], except that other getters may read it at the same time.
unsafe fn slot_ref<'a>(storage: *const jobpoll_machine) -> Result<&'a Slot, jobpoll_error> {
    let slot = slot_ptr(storage)?;
    // SAFETY: as in `slot_mut`.
    let tag = unsafe { ptr::addr_of!((*slot).tag).read() };
    if tag != MACHINE_TAG {
        return Err(JOBPOLL_ERR_NOT_INITIALIZED);
    }
    // SAFETY: as in `slot_mut`; shared, and nothing writes it during the getter.
    Ok(unsafe { &*slot })
}

/// Stores a constructor's result: the machine with its tag, or a cleared tag.
///
/// # Safety
/// `slot` comes from [`slot_ptr`] (non-null, aligned) on storage of at least
/// `size_of::<Slot>()` writable bytes, used by this call alone.
unsafe fn install(slot: *mut Slot, made: Result<JobPoller, jobpoll_error>) -> jobpoll_error {
    match made {
        Ok(machine) => {
            let value = Slot {
                tag: MACHINE_TAG,
                message: ptr::null(),
                message_len: 0,
                machine,
            };
            // SAFETY: per the contract: aligned, large enough, exclusive. The old content is
            // overwritten without being read or dropped (`JobPoller` owns no resource).
            unsafe { slot.write(value) };
            JOBPOLL_OK
        }
        Err(e) => {
            // SAFETY: as above; only the tag is written.
            unsafe { ptr::addr_of_mut!((*slot).tag).write(0) };
            e
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conversions

/// `Duration::from_millis` without a 64-bit division (on Cortex-M a 0.9 KB library routine,
/// which the core avoids): the core's own conversion, reached through `Instant`.
fn millis(ms: u64) -> Duration {
    Instant::from_millis(ms).saturating_duration_since(Instant::ZERO)
}

fn instant(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn error_code(e: jobpoll::Error) -> jobpoll_error {
    match e {
        jobpoll::Error::BufferTooSmall { .. } => JOBPOLL_ERR_BUFFER_TOO_SMALL,
        jobpoll::Error::Config(c) => config_error(c),
        jobpoll::Error::NoRequestInFlight => JOBPOLL_ERR_NO_REQUEST_IN_FLIGHT,
        jobpoll::Error::FilledBeyondBuffer => JOBPOLL_ERR_FILLED_BEYOND_BUFFER,
        jobpoll::Error::NoJob => JOBPOLL_ERR_NO_JOB,
        _ => JOBPOLL_ERR_CONFIG,
    }
}

fn config_error(e: jobpoll::ConfigError) -> jobpoll_error {
    use jobpoll::ConfigError as C;
    match e {
        C::Request(_) => JOBPOLL_ERR_BAD_REQUEST_STRING,
        C::JobRefLength => JOBPOLL_ERR_JOB_REF_LENGTH,
        C::ReturnTimeoutOutOfRange => JOBPOLL_ERR_RETURN_TIMEOUT_OUT_OF_RANGE,
        C::BadToken => JOBPOLL_ERR_BAD_TOKEN,
        C::TokenDialectMismatch => JOBPOLL_ERR_TOKEN_DIALECT_MISMATCH,
        C::CancelUnsupported => JOBPOLL_ERR_CANCEL_UNSUPPORTED,
        C::SubmitChanged => JOBPOLL_ERR_SUBMIT_CHANGED,
        _ => JOBPOLL_ERR_CONFIG,
    }
}

/// Rebuilds the core's configuration from the caller's struct.
///
/// # Safety
/// `cfg` is null or points to a `jobpoll_config` whose string pointers are valid for their
/// lengths during `'a`.
unsafe fn config<'a>(cfg: *const jobpoll_config) -> Result<Config<'a>, jobpoll_error> {
    // SAFETY: the caller's guarantee; every field is an integer or a raw pointer, so any
    // content is a valid `jobpoll_config`.
    let c = unsafe { read_ref(cfg) }?;
    if c.tag != CONFIG_TAG {
        return Err(JOBPOLL_ERR_NOT_INITIALIZED);
    }
    // SAFETY: the caller guarantees the strings for `'a` (here and below).
    let host = unsafe { text(c.host, c.host_len) }?;
    let auth = match c.auth {
        x if x == jobpoll_auth::JOBPOLL_AUTH_NONE as u32 => Auth::None,
        x if x == jobpoll_auth::JOBPOLL_AUTH_BASIC as u32 => Auth::Basic {
            // SAFETY: see above.
            user: unsafe { text(c.user, c.user_len) }?,
            // SAFETY: see above.
            password: unsafe { text(c.password, c.password_len) }?,
        },
        x if x == jobpoll_auth::JOBPOLL_AUTH_HEADER as u32 => {
            // SAFETY: see above.
            Auth::Header(unsafe { text(c.authorization, c.authorization_len) }?)
        }
        _ => return Err(JOBPOLL_ERR_INVALID_ARGUMENT),
    };
    let dialect = dialect(c)?;
    let mut cfg = Config::new(
        Authority {
            host,
            port: c.port,
            tls: c.tls != 0,
        },
        auth,
        dialect,
    );
    let policy = &mut cfg.policy;
    policy.deadline = millis(c.deadline_ms);
    policy.request_timeout = millis(c.request_timeout_ms);
    policy.initial_interval = millis(c.initial_interval_ms);
    policy.max_interval = millis(c.max_interval_ms);
    policy.retry_max = millis(c.retry_max_ms);
    policy.max_retries = c.max_retries;
    policy.jitter_percent = c.jitter_percent.min(100);
    policy.seed = c.seed;
    Ok(cfg)
}

fn dialect(c: &jobpoll_config) -> Result<Dialect, jobpoll_error> {
    match c.dialect {
        x if x == jobpoll_dialect::JOBPOLL_DIALECT_ONTAP as u32 => {
            let mut o = OntapOptions::DEFAULT;
            o.return_timeout = millis(c.return_timeout_ms);
            o.cancel_on_deadline = c.cancel_on_deadline != 0;
            Ok(Dialect::Ontap(o))
        }
        x if x == jobpoll_dialect::JOBPOLL_DIALECT_NSE as u32 => {
            Ok(Dialect::Nse(NseOptions::DEFAULT))
        }
        _ => Err(JOBPOLL_ERR_INVALID_ARGUMENT),
    }
}

/// Rebuilds the operation; null is `Submit::NONE` (a watched or resumed job).
///
/// # Safety
/// `op` is null or points to a `jobpoll_operation` whose path and body are valid for their
/// lengths during `'a`.
unsafe fn operation<'a>(op: *const jobpoll_operation) -> Result<Submit<'a>, jobpoll_error> {
    if op.is_null() {
        return Ok(Submit::NONE);
    }
    // SAFETY: the caller's guarantee; integers and raw pointers only.
    let o = unsafe { read_ref(op) }?;
    if o.tag != OPERATION_TAG {
        return Err(JOBPOLL_ERR_NOT_INITIALIZED);
    }
    let method = method(o.method)?;
    // SAFETY: the caller guarantees the path for `'a`.
    let path = unsafe { text(o.path, o.path_len) }?;
    let body = if o.body.is_null() {
        None
    } else {
        // SAFETY: the caller guarantees the body for `'a`.
        Some(unsafe { bytes(o.body, o.body_len) }?)
    };
    Ok(Submit {
        method,
        path,
        query: &[],
        body,
    })
}

fn method(m: u32) -> Result<Method, jobpoll_error> {
    use jobpoll_method::*;
    Ok(match m {
        x if x == JOBPOLL_METHOD_POST as u32 => Method::Post,
        x if x == JOBPOLL_METHOD_PATCH as u32 => Method::Patch,
        x if x == JOBPOLL_METHOD_DELETE as u32 => Method::Delete,
        x if x == JOBPOLL_METHOD_PUT as u32 => Method::Put,
        _ => return Err(JOBPOLL_ERR_INVALID_ARGUMENT),
    })
}

fn transport_error(e: u32) -> Result<TransportError, jobpoll_error> {
    use jobpoll_transport_error::*;
    Ok(match e {
        x if x == JOBPOLL_TRANSPORT_CONNECT_FAILED as u32 => TransportError::ConnectFailed,
        x if x == JOBPOLL_TRANSPORT_WRITE_FAILED as u32 => TransportError::WriteFailed,
        x if x == JOBPOLL_TRANSPORT_READ_FAILED as u32 => TransportError::ReadFailed,
        x if x == JOBPOLL_TRANSPORT_TIMED_OUT as u32 => TransportError::TimedOut,
        x if x == JOBPOLL_TRANSPORT_UNTRUSTED as u32 => TransportError::Untrusted,
        _ => return Err(JOBPOLL_ERR_INVALID_ARGUMENT),
    })
}

fn transport_code(e: TransportError) -> jobpoll_transport_error {
    use jobpoll_transport_error::*;
    match e {
        TransportError::ConnectFailed => JOBPOLL_TRANSPORT_CONNECT_FAILED,
        TransportError::WriteFailed => JOBPOLL_TRANSPORT_WRITE_FAILED,
        TransportError::ReadFailed => JOBPOLL_TRANSPORT_READ_FAILED,
        TransportError::TimedOut => JOBPOLL_TRANSPORT_TIMED_OUT,
        TransportError::Untrusted => JOBPOLL_TRANSPORT_UNTRUSTED,
        _ => JOBPOLL_TRANSPORT_OTHER,
    }
}

fn state_code(s: JobState) -> jobpoll_job_state {
    use jobpoll_job_state::*;
    match s {
        JobState::Pending => JOBPOLL_STATE_PENDING,
        JobState::Running => JOBPOLL_STATE_RUNNING,
        JobState::Paused => JOBPOLL_STATE_PAUSED,
        JobState::Succeeded => JOBPOLL_STATE_SUCCEEDED,
        JobState::SucceededWithWarnings => JOBPOLL_STATE_SUCCEEDED_WITH_WARNINGS,
        JobState::PartiallyFailed => JOBPOLL_STATE_PARTIALLY_FAILED,
        JobState::Failed => JOBPOLL_STATE_FAILED,
        _ => JOBPOLL_STATE_UNKNOWN,
    }
}

const NO_ACTION: jobpoll_action = jobpoll_action {
    kind: jobpoll_action_kind::JOBPOLL_ACTION_NONE,
    len: 0,
    at_ms: 0,
    connection: jobpoll_connection::JOBPOLL_CONNECTION_NONE,
    purpose: jobpoll_purpose::JOBPOLL_PURPOSE_NONE,
    idempotent: false,
    event: jobpoll_event::JOBPOLL_EVENT_NONE,
    state: jobpoll_job_state::JOBPOLL_STATE_NONE,
    cause: jobpoll_retry_cause::JOBPOLL_CAUSE_NONE,
    transport_error: jobpoll_transport_error::JOBPOLL_TRANSPORT_NONE,
    status: 0,
    outcome: jobpoll_outcome::JOBPOLL_OUTCOME_NONE,
    count: 0,
};

fn set_cause(a: &mut jobpoll_action, cause: RetryCause) {
    use jobpoll_retry_cause::*;
    a.cause = match cause {
        RetryCause::Transport(e) => {
            a.transport_error = transport_code(e);
            JOBPOLL_CAUSE_TRANSPORT
        }
        RetryCause::Status(s) => {
            a.status = s;
            JOBPOLL_CAUSE_STATUS
        }
        RetryCause::InvalidResponse => JOBPOLL_CAUSE_INVALID_RESPONSE,
        RetryCause::NotYetVisible => JOBPOLL_CAUSE_NOT_YET_VISIBLE,
        RetryCause::StaleConnection => JOBPOLL_CAUSE_STALE_CONNECTION,
        _ => JOBPOLL_CAUSE_OTHER,
    };
}

fn done(outcome: Outcome) -> jobpoll_action {
    use jobpoll_outcome::*;
    let mut a = NO_ACTION;
    a.kind = jobpoll_action_kind::JOBPOLL_ACTION_DONE;
    a.outcome = match outcome {
        Outcome::Succeeded => JOBPOLL_OUTCOME_SUCCEEDED,
        Outcome::SucceededWithWarnings => JOBPOLL_OUTCOME_SUCCEEDED_WITH_WARNINGS,
        Outcome::PartiallyFailed => JOBPOLL_OUTCOME_PARTIALLY_FAILED,
        Outcome::Failed => JOBPOLL_OUTCOME_FAILED,
        Outcome::CompletedWithoutJob { status } => {
            a.status = status;
            JOBPOLL_OUTCOME_COMPLETED_WITHOUT_JOB
        }
        Outcome::MultipleJobs { count } => {
            a.count = count;
            JOBPOLL_OUTCOME_MULTIPLE_JOBS
        }
        Outcome::DeadlineExceeded => JOBPOLL_OUTCOME_DEADLINE_EXCEEDED,
        Outcome::Expired => JOBPOLL_OUTCOME_EXPIRED,
        Outcome::SubmitOutcomeUnknown => JOBPOLL_OUTCOME_SUBMIT_OUTCOME_UNKNOWN,
        Outcome::Rejected { status } => {
            a.status = status;
            JOBPOLL_OUTCOME_REJECTED
        }
        Outcome::AuthRequired { status } => {
            a.status = status;
            JOBPOLL_OUTCOME_AUTH_REQUIRED
        }
        Outcome::Cancelled => JOBPOLL_OUTCOME_CANCELLED,
        Outcome::TransportFailed { error } => {
            a.transport_error = transport_code(error);
            JOBPOLL_OUTCOME_TRANSPORT_FAILED
        }
        Outcome::RetriesExhausted { last } => {
            set_cause(&mut a, last);
            JOBPOLL_OUTCOME_RETRIES_EXHAUSTED
        }
        Outcome::Paused => JOBPOLL_OUTCOME_PAUSED,
        Outcome::UnknownState => JOBPOLL_OUTCOME_UNKNOWN_STATE,
        _ => JOBPOLL_OUTCOME_OTHER,
    };
    a
}

fn action(action: Action) -> jobpoll_action {
    use jobpoll_action_kind::*;
    use jobpoll_event::*;
    let mut a = NO_ACTION;
    match action {
        Action::SendRequest(req) => {
            a.kind = JOBPOLL_ACTION_SEND;
            a.len = req.len;
            a.at_ms = req.deadline.as_millis();
            a.idempotent = req.idempotent;
            a.connection = match req.connection {
                Connection::Fresh => jobpoll_connection::JOBPOLL_CONNECTION_FRESH,
                // A later kind is treated as the safe one.
                _ if req.connection != Connection::Reuse => {
                    jobpoll_connection::JOBPOLL_CONNECTION_FRESH
                }
                _ => jobpoll_connection::JOBPOLL_CONNECTION_REUSE,
            };
            a.purpose = match req.purpose {
                Purpose::Submit => jobpoll_purpose::JOBPOLL_PURPOSE_SUBMIT,
                Purpose::Poll => jobpoll_purpose::JOBPOLL_PURPOSE_POLL,
                Purpose::FinalPoll => jobpoll_purpose::JOBPOLL_PURPOSE_FINAL_POLL,
                Purpose::Cancel => jobpoll_purpose::JOBPOLL_PURPOSE_CANCEL,
                _ => jobpoll_purpose::JOBPOLL_PURPOSE_OTHER,
            };
        }
        Action::Close => a.kind = JOBPOLL_ACTION_CLOSE,
        Action::SleepUntil(t) => {
            a.kind = JOBPOLL_ACTION_SLEEP;
            a.at_ms = t.as_millis();
        }
        Action::Event(event) => {
            a.kind = JOBPOLL_ACTION_EVENT;
            a.event = match event {
                Event::Accepted => JOBPOLL_EVENT_ACCEPTED,
                Event::StateChanged(s) => {
                    a.state = state_code(s);
                    JOBPOLL_EVENT_STATE_CHANGED
                }
                Event::UnknownState => JOBPOLL_EVENT_UNKNOWN_STATE,
                Event::Retrying { cause, at } => {
                    a.at_ms = at.as_millis();
                    set_cause(&mut a, cause);
                    JOBPOLL_EVENT_RETRYING
                }
                Event::FieldsReduced => JOBPOLL_EVENT_FIELDS_REDUCED,
                Event::FinalPoll => JOBPOLL_EVENT_FINAL_POLL,
                Event::CancelRequested => JOBPOLL_EVENT_CANCEL_REQUESTED,
                Event::CancelRefused { status } => {
                    a.status = status.unwrap_or(0);
                    JOBPOLL_EVENT_CANCEL_REFUSED
                }
                Event::ClockWentBackwards => JOBPOLL_EVENT_CLOCK_WENT_BACKWARDS,
                _ => JOBPOLL_EVENT_OTHER,
            };
        }
        Action::Done(outcome) => a = done(outcome),
        // An action added by a later version: nothing the caller can do; poll again.
        _ => a.kind = JOBPOLL_ACTION_NONE,
    }
    a
}

const NO_RECEIVED: jobpoll_received = jobpoll_received {
    kind: jobpoll_received_kind::JOBPOLL_RECEIVED_NONE,
    status: 0,
    keep_alive: false,
    consumed: 0,
    message: ptr::null(),
    message_len: 0,
    message_escaped: false,
    jobs: 0,
};

/// Converts a `Received`, noting a complete reply's message in the slot.
fn received(slot_message: &mut (*const u8, usize), r: Received<'_>) -> jobpoll_received {
    use jobpoll_received_kind::*;
    let mut out = NO_RECEIVED;
    match r {
        Received::NeedMore => out.kind = JOBPOLL_RECEIVED_NEED_MORE,
        Received::Complete(reply) => {
            out.kind = JOBPOLL_RECEIVED_COMPLETE;
            out.status = reply.status;
            out.keep_alive = reply.keep_alive;
            out.consumed = reply.consumed;
            if let Some(m) = reply.message {
                out.message = m.raw().as_ptr();
                out.message_len = m.raw().len();
                out.message_escaped = m.has_escapes();
            }
            out.jobs = reply
                .jobs
                .map_or(0, |j| u32::try_from(j.len()).unwrap_or(u32::MAX));
            *slot_message = (out.message, out.message_len);
        }
        _ => {
            out.kind = JOBPOLL_RECEIVED_INVALID;
            *slot_message = (ptr::null(), 0);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Configuration

/// Fills `cfg` with a server, a dialect and the default policy (no credentials): deadline
/// 10 min, request timeout 15 s, polls from 1 s growing to 30 s, 5 retries, ONTAP
/// `return_timeout` 30 s. `host` (UTF-8, `host_len` bytes) is kept by pointer: it must stay
/// valid as long as `cfg` is used. `tls` non-zero means https (for the `Host` header).
///
/// # Safety
/// `cfg` is null or points to writable `jobpoll_config` storage; `host` is null or points to
/// `host_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_config_init(
    cfg: *mut jobpoll_config,
    host: *const u8,
    host_len: usize,
    port: u16,
    tls: u8,
    dialect: u32,
) -> jobpoll_error {
    // SAFETY: the caller guarantees `host_len` readable bytes at `host`.
    if let Err(e) = unsafe { text(host, host_len) } {
        return e;
    }
    if dialect_invalid(dialect) {
        return JOBPOLL_ERR_INVALID_ARGUMENT;
    }
    let p = jobpoll::Policy::DEFAULT;
    let value = jobpoll_config {
        tag: CONFIG_TAG,
        dialect,
        host,
        host_len,
        port,
        tls,
        cancel_on_deadline: 0,
        max_retries: p.max_retries,
        jitter_percent: p.jitter_percent,
        auth: jobpoll_auth::JOBPOLL_AUTH_NONE as u32,
        user: ptr::null(),
        user_len: 0,
        password: ptr::null(),
        password_len: 0,
        authorization: ptr::null(),
        authorization_len: 0,
        deadline_ms: duration_ms(p.deadline),
        request_timeout_ms: duration_ms(p.request_timeout),
        initial_interval_ms: duration_ms(p.initial_interval),
        max_interval_ms: duration_ms(p.max_interval),
        retry_max_ms: duration_ms(p.retry_max),
        return_timeout_ms: duration_ms(OntapOptions::DEFAULT.return_timeout),
        seed: p.seed,
    };
    // SAFETY: the caller guarantees writable storage when non-null.
    match unsafe { write_config(cfg, value) } {
        Ok(()) => JOBPOLL_OK,
        Err(e) => e,
    }
}

fn dialect_invalid(dialect: u32) -> bool {
    dialect != jobpoll_dialect::JOBPOLL_DIALECT_ONTAP as u32
        && dialect != jobpoll_dialect::JOBPOLL_DIALECT_NSE as u32
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Writes a filled configuration (not `Copy`, so not through [`write_out`]).
///
/// # Safety
/// `cfg` is null or points to memory writable as a `jobpoll_config`.
unsafe fn write_config(
    cfg: *mut jobpoll_config,
    value: jobpoll_config,
) -> Result<(), jobpoll_error> {
    if cfg.is_null() {
        return Err(JOBPOLL_ERR_NULL_POINTER);
    }
    if !cfg.is_aligned() {
        return Err(JOBPOLL_ERR_MISALIGNED);
    }
    // SAFETY: non-null and aligned; `jobpoll_config_init`'s contract makes it writable. The
    // old content is overwritten without being read (integers and raw pointers, no drop).
    unsafe { cfg.write(value) };
    Ok(())
}

/// The config as a mutable reference, for the setters.
///
/// # Safety
/// `cfg` is null or points to a `jobpoll_config` used by this call alone.
unsafe fn config_mut<'a>(
    cfg: *mut jobpoll_config,
) -> Result<&'a mut jobpoll_config, jobpoll_error> {
    if cfg.is_null() {
        return Err(JOBPOLL_ERR_NULL_POINTER);
    }
    if !cfg.is_aligned() {
        return Err(JOBPOLL_ERR_MISALIGNED);
    }
    // SAFETY: non-null, aligned, exclusive per the contract; integers and raw pointers only,
    // so any content is valid.
    let c = unsafe { &mut *cfg };
    if c.tag != CONFIG_TAG {
        return Err(JOBPOLL_ERR_NOT_INITIALIZED);
    }
    Ok(c)
}

/// HTTP Basic credentials (UTF-8, the user without `:`). Kept by pointer: both strings must
/// stay valid as long as `cfg` is used.
///
/// # Safety
/// `cfg` is null or points to a `jobpoll_config`; `user` and `password` are null or point to
/// their lengths of readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_config_set_basic(
    cfg: *mut jobpoll_config,
    user: *const u8,
    user_len: usize,
    password: *const u8,
    password_len: usize,
) -> jobpoll_error {
    // SAFETY: the caller's guarantees for the three pointers.
    let checked = unsafe {
        (
            config_mut(cfg),
            text(user, user_len),
            text(password, password_len),
        )
    };
    match checked {
        (Ok(c), Ok(_), Ok(_)) => {
            c.auth = jobpoll_auth::JOBPOLL_AUTH_BASIC as u32;
            (c.user, c.user_len, c.password, c.password_len) =
                (user, user_len, password, password_len);
            JOBPOLL_OK
        }
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => e,
    }
}

/// The whole `Authorization` header value (UTF-8), e.g. `Bearer <token>` for Service Engine.
/// Kept by pointer: it must stay valid as long as `cfg` is used.
///
/// # Safety
/// `cfg` is null or points to a `jobpoll_config`; `value` is null or points to `value_len`
/// readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_config_set_authorization(
    cfg: *mut jobpoll_config,
    value: *const u8,
    value_len: usize,
) -> jobpoll_error {
    // SAFETY: the caller's guarantees for both pointers.
    let checked = unsafe { (config_mut(cfg), text(value, value_len)) };
    match checked {
        (Ok(c), Ok(_)) => {
            c.auth = jobpoll_auth::JOBPOLL_AUTH_HEADER as u32;
            (c.authorization, c.authorization_len) = (value, value_len);
            JOBPOLL_OK
        }
        (Err(e), _) | (_, Err(e)) => e,
    }
}

/// Fills `op`: `method` (a `jobpoll_method`), an absolute `path` and a JSON `body` (null for
/// none), kept by pointer: they must stay valid and unchanged until the job ends.
///
/// # Safety
/// `op` is null or points to writable `jobpoll_operation` storage; `path` and `body` are null
/// or point to their lengths of readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_operation_init(
    op: *mut jobpoll_operation,
    method_value: u32,
    path: *const u8,
    path_len: usize,
    body: *const u8,
    body_len: usize,
) -> jobpoll_error {
    if let Err(e) = method(method_value) {
        return e;
    }
    // SAFETY: the caller guarantees the path and body bytes.
    if let Err(e) = unsafe { text(path, path_len) }.and_then(|_| check_range(body, body_len)) {
        return e;
    }
    if op.is_null() {
        return JOBPOLL_ERR_NULL_POINTER;
    }
    if !op.is_aligned() {
        return JOBPOLL_ERR_MISALIGNED;
    }
    let value = jobpoll_operation {
        tag: OPERATION_TAG,
        method: method_value,
        path,
        path_len,
        body,
        body_len,
    };
    // SAFETY: non-null, aligned, writable per the contract; the old content is not read.
    unsafe { op.write(value) };
    JOBPOLL_OK
}

// ---------------------------------------------------------------------------------------------
// Constructors

/// Makes a machine in `machine` that will submit `op` and follow the job it starts.
/// Validates every string that goes on the wire. `now_ms` is the caller's monotonic clock in
/// milliseconds (any epoch, the same for every call).
///
/// # Safety
/// `machine` is null or points to `jobpoll_machine` storage used by this call alone; `cfg` and
/// `op` are null or point to structs filled by their init functions, with valid strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_submit(
    machine: *mut jobpoll_machine,
    cfg: *const jobpoll_config,
    op: *const jobpoll_operation,
    now_ms: u64,
) -> jobpoll_error {
    let slot = match slot_ptr(machine) {
        Ok(s) => s,
        Err(e) => return e,
    };
    if op.is_null() {
        // SAFETY: `slot` comes from `slot_ptr`; the caller gives this call the storage.
        return unsafe { install(slot, Err(JOBPOLL_ERR_NULL_POINTER)) };
    }
    // SAFETY: the caller guarantees `cfg` and `op` and their strings for this call.
    let made = unsafe { config(cfg).and_then(|c| Ok((c, operation(op)?))) }
        .and_then(|(c, o)| JobPoller::submit(&c, &o, instant(now_ms)).map_err(config_error));
    // SAFETY: `slot` comes from `slot_ptr`; the caller gives this call the storage.
    unsafe { install(slot, made) }
}

/// Makes a machine that follows an existing job, named by its id or href (UTF-8, `job_len`
/// bytes, copied). Poll it with a null operation.
///
/// # Safety
/// As for `jobpoll_submit`; `job` is null or points to `job_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_watch(
    machine: *mut jobpoll_machine,
    cfg: *const jobpoll_config,
    job: *const u8,
    job_len: usize,
    now_ms: u64,
) -> jobpoll_error {
    let slot = match slot_ptr(machine) {
        Ok(s) => s,
        Err(e) => return e,
    };
    // SAFETY: the caller guarantees `cfg` with its strings and the job bytes.
    let made = unsafe { config(cfg).and_then(|c| Ok((c, text(job, job_len)?))) }
        .and_then(|(c, j)| JobPoller::watch(&c, j, instant(now_ms)).map_err(config_error));
    // SAFETY: `slot` comes from `slot_ptr`; the caller gives this call the storage.
    unsafe { install(slot, made) }
}

/// Makes a machine from a resume token (`token_len` bytes, copied) after `offline_for_ms` of
/// downtime. Poll it with a null operation.
///
/// # Safety
/// As for `jobpoll_submit`; `token` is null or points to `token_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_resume(
    machine: *mut jobpoll_machine,
    cfg: *const jobpoll_config,
    token: *const u8,
    token_len: usize,
    offline_for_ms: u64,
    now_ms: u64,
) -> jobpoll_error {
    let slot = match slot_ptr(machine) {
        Ok(s) => s,
        Err(e) => return e,
    };
    // SAFETY: the caller guarantees `cfg` with its strings and the token bytes.
    let made = unsafe { config(cfg).and_then(|c| Ok((c, bytes(token, token_len)?))) }.and_then(
        |(c, t)| {
            let token = ResumeToken::from_bytes(t).map_err(config_error)?;
            JobPoller::resume(&c, &token, millis(offline_for_ms), instant(now_ms))
                .map_err(config_error)
        },
    );
    // SAFETY: `slot` comes from `slot_ptr`; the caller gives this call the storage.
    unsafe { install(slot, made) }
}

// ---------------------------------------------------------------------------------------------
// Output

/// The next action, into `*out`; a request is written into `tx` (`tx_len` bytes). Pass the
/// same `cfg` and `op` as to the constructor (a null `op` for a watched or resumed machine).
/// After every `jobpoll_handle_*` call, call this until it returns something other than an
/// event. On `JOBPOLL_ERR_BUFFER_TOO_SMALL`, `out->len` is the size `tx` needs.
///
/// Pass the same `tx` to every call and leave its bytes alone between calls: a request is
/// written by the call that decides to send it, and that call may answer an event, a close or
/// a clock report first; the send comes from a later call and refers to those bytes.
///
/// # Safety
/// `machine` as for the getters but used by this call alone; `cfg`, `op` as for
/// `jobpoll_submit`; `tx` is null or points to `tx_len` writable bytes that nothing else uses
/// during the call; `out` is null or points to a writable `jobpoll_action`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_poll(
    machine: *mut jobpoll_machine,
    cfg: *const jobpoll_config,
    op: *const jobpoll_operation,
    now_ms: u64,
    tx: *mut u8,
    tx_len: usize,
    out: *mut jobpoll_action,
) -> jobpoll_error {
    // Checked first: an action taken from the machine must have somewhere to go.
    if out.is_null() {
        return JOBPOLL_ERR_NULL_POINTER;
    }
    if !out.is_aligned() {
        return JOBPOLL_ERR_MISALIGNED;
    }
    // SAFETY: the caller's guarantees, passed on.
    let result = unsafe { poll(machine, cfg, op, now_ms, tx, tx_len) };
    let (code, value) = match result {
        Ok(a) => (JOBPOLL_OK, action(a)),
        Err((code, required)) => (
            code,
            jobpoll_action {
                len: required,
                ..NO_ACTION
            },
        ),
    };
    // SAFETY: the caller guarantees `out` when non-null.
    match unsafe { write_out(out, value) } {
        Ok(()) => code,
        Err(e) => e,
    }
}

/// # Safety
/// As for `jobpoll_poll`.
unsafe fn poll(
    machine: *mut jobpoll_machine,
    cfg: *const jobpoll_config,
    op: *const jobpoll_operation,
    now_ms: u64,
    tx: *mut u8,
    tx_len: usize,
) -> Result<Action, (jobpoll_error, usize)> {
    let plain = |e| (e, 0);
    outside_storage(machine, tx, tx_len).map_err(plain)?;
    // SAFETY: the caller's guarantees for each pointer.
    let (slot, cfg, op, tx) = unsafe {
        (
            slot_mut(machine).map_err(plain)?,
            config(cfg).map_err(plain)?,
            operation(op).map_err(plain)?,
            bytes_mut(tx, tx_len).map_err(plain)?,
        )
    };
    slot.machine
        .poll(&cfg, &op, instant(now_ms), tx)
        .map_err(|e| match e {
            jobpoll::Error::BufferTooSmall { required } => (JOBPOLL_ERR_BUFFER_TOO_SMALL, required),
            e => (error_code(e), 0),
        })
}

// ---------------------------------------------------------------------------------------------
// Inputs

/// Feeds the bytes received so far: `rx[0..filled)` of a buffer of `rx_len` bytes, into
/// `*out`. `cfg` is the configuration passed to `jobpoll_poll` (what follows the answer, a retry
/// or the next poll, is decided now, with its policy). Chunked bodies are decoded in place, so `rx` is written. A complete reply's message
/// points into `rx` (see `jobpoll_received.message`, and `jobpoll_last_message`).
///
/// # Safety
/// `machine` used by this call alone; `cfg` as for `jobpoll_poll`; `rx` is null or points to
/// `rx_len` readable and writable bytes that nothing else uses during the call; `out` is null
/// or points to a writable `jobpoll_received`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_handle_response(
    machine: *mut jobpoll_machine,
    cfg: *const jobpoll_config,
    now_ms: u64,
    rx: *mut u8,
    rx_len: usize,
    filled: usize,
    out: *mut jobpoll_received,
) -> jobpoll_error {
    // SAFETY: the caller's guarantees, passed on.
    unsafe { handle_bytes(machine, cfg, now_ms, rx, rx_len, filled, out, false) }
}

/// The peer closed the connection after `rx[0..filled)`: like `jobpoll_handle_response`, for a
/// read that returned 0.
///
/// # Safety
/// As for `jobpoll_handle_response`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_handle_eof(
    machine: *mut jobpoll_machine,
    cfg: *const jobpoll_config,
    now_ms: u64,
    rx: *mut u8,
    rx_len: usize,
    filled: usize,
    out: *mut jobpoll_received,
) -> jobpoll_error {
    // SAFETY: the caller's guarantees, passed on.
    unsafe { handle_bytes(machine, cfg, now_ms, rx, rx_len, filled, out, true) }
}

/// # Safety
/// As for `jobpoll_handle_response`.
#[allow(clippy::too_many_arguments)]
unsafe fn handle_bytes(
    machine: *mut jobpoll_machine,
    cfg: *const jobpoll_config,
    now_ms: u64,
    rx: *mut u8,
    rx_len: usize,
    filled: usize,
    out: *mut jobpoll_received,
    eof: bool,
) -> jobpoll_error {
    if out.is_null() {
        return JOBPOLL_ERR_NULL_POINTER;
    }
    if !out.is_aligned() {
        return JOBPOLL_ERR_MISALIGNED;
    }
    if let Err(e) = outside_storage(machine, rx, rx_len) {
        return e;
    }
    // SAFETY: the caller's guarantees for the machine, the configuration and the receive
    // buffer.
    let parts =
        unsafe { slot_mut(machine).and_then(|s| Ok((s, config(cfg)?, bytes_mut(rx, rx_len)?))) };
    let (slot, cfg, rx) = match parts {
        Ok(p) => p,
        Err(e) => return e,
    };
    let now = instant(now_ms);
    let result = if eof {
        slot.machine.handle_eof(&cfg, now, rx, filled)
    } else {
        slot.machine.handle_response(&cfg, now, rx, filled)
    };
    let mut message = (slot.message, slot.message_len);
    let (code, value) = match result {
        Ok(r) => (JOBPOLL_OK, received(&mut message, r)),
        Err(e) => (error_code(e), NO_RECEIVED),
    };
    (slot.message, slot.message_len) = message;
    // SAFETY: checked non-null and aligned above; the caller makes it writable.
    unsafe { out.write(value) };
    code
}

/// Reports a transport failure of the request in flight (a `jobpoll_transport_error` value:
/// connect, write or read failed, timed out, untrusted). Nothing happens when no request is in
/// flight.
///
/// # Safety
/// `machine` is null or points to storage used by this call alone; `cfg` as for
/// `jobpoll_poll`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_handle_transport_error(
    machine: *mut jobpoll_machine,
    cfg: *const jobpoll_config,
    now_ms: u64,
    error: u32,
) -> jobpoll_error {
    let error = match transport_error(error) {
        Ok(e) => e,
        Err(e) => return e,
    };
    // SAFETY: the caller's guarantees for the machine and the configuration.
    match unsafe { slot_mut(machine).and_then(|s| Ok((s, config(cfg)?))) } {
        Ok((slot, cfg)) => {
            slot.machine
                .handle_transport_error(&cfg, instant(now_ms), error);
            JOBPOLL_OK
        }
        Err(e) => e,
    }
}

/// The request's deadline (`jobpoll_action.at_ms` of the send) passed without a complete
/// answer. Ignored before the deadline or with no request in flight.
///
/// # Safety
/// `machine` is null or points to storage used by this call alone; `cfg` as for
/// `jobpoll_poll`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_handle_timeout(
    machine: *mut jobpoll_machine,
    cfg: *const jobpoll_config,
    now_ms: u64,
) -> jobpoll_error {
    // SAFETY: the caller's guarantees for the machine and the configuration.
    match unsafe { slot_mut(machine).and_then(|s| Ok((s, config(cfg)?))) } {
        Ok((slot, cfg)) => {
            slot.machine.handle_timeout(&cfg, instant(now_ms));
            JOBPOLL_OK
        }
        Err(e) => e,
    }
}

/// Stops following the job (client side only: it keeps running on the server); the next
/// `jobpoll_poll` answers done with `JOBPOLL_OUTCOME_CANCELLED`.
///
/// # Safety
/// `machine` is null or points to storage used by this call alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_cancel(
    machine: *mut jobpoll_machine,
    now_ms: u64,
) -> jobpoll_error {
    // SAFETY: the caller's guarantee for the machine.
    match unsafe { slot_mut(machine) } {
        Ok(slot) => {
            slot.machine.cancel(instant(now_ms));
            JOBPOLL_OK
        }
        Err(e) => e,
    }
}

/// Asks the server to cancel the job (ONTAP only); the job's own end follows.
///
/// # Safety
/// `machine` is null or points to storage used by this call alone.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_request_server_cancel(
    machine: *mut jobpoll_machine,
    now_ms: u64,
) -> jobpoll_error {
    // SAFETY: the caller's guarantee for the machine.
    match unsafe { slot_mut(machine) } {
        Ok(slot) => match slot.machine.request_server_cancel(instant(now_ms)) {
            Ok(()) => JOBPOLL_OK,
            Err(e) => error_code(e),
        },
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------------------------
// Getters

/// The job id once the server named it: `*id` points into the machine's storage (valid until
/// the machine is next passed to a function that is not a getter), `*id_len` bytes, not
/// NUL-terminated. `JOBPOLL_ERR_NO_JOB` before.
///
/// # Safety
/// `machine` is null or points to storage not changed during the call; `id` and `id_len` are
/// null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_job_id(
    machine: *const jobpoll_machine,
    id: *mut *const u8,
    id_len: *mut usize,
) -> jobpoll_error {
    // SAFETY: the caller's guarantee for the machine.
    let slot = match unsafe { slot_ref(machine) } {
        Ok(s) => s,
        Err(e) => return e,
    };
    let (p, n, code) = match slot.machine.job_id() {
        Some(s) => (s.as_ptr(), s.len(), JOBPOLL_OK),
        None => (ptr::null(), 0, JOBPOLL_ERR_NO_JOB),
    };
    // SAFETY: the caller guarantees both outputs when non-null.
    match unsafe { write_out(id, p).and_then(|()| write_out(id_len, n)) } {
        Ok(()) => code,
        Err(e) => e,
    }
}

/// The state, raw state and code last seen, into `*out`.
///
/// # Safety
/// `machine` is null or points to storage not changed during the call; `out` is null or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_last_seen(
    machine: *const jobpoll_machine,
    out: *mut jobpoll_job_view,
) -> jobpoll_error {
    // SAFETY: the caller's guarantee for the machine.
    let slot = match unsafe { slot_ref(machine) } {
        Ok(s) => s,
        Err(e) => return e,
    };
    let view = slot.machine.last_seen();
    let value = jobpoll_job_view {
        state: view
            .state
            .map_or(jobpoll_job_state::JOBPOLL_STATE_NONE, state_code),
        raw_state: view.raw_state.as_ptr(),
        raw_state_len: view.raw_state.len(),
        has_code: view.code.is_some(),
        code: view.code.unwrap_or(0),
    };
    // SAFETY: the caller guarantees `out` when non-null.
    match unsafe { write_out(out, value) } {
        Ok(()) => JOBPOLL_OK,
        Err(e) => e,
    }
}

/// The message of the last complete reply (the job's or the API error's, JSON escapes left
/// in), or null with length 0. It points into the receive buffer given to the
/// `jobpoll_handle_response` call that completed the reply: valid while that buffer keeps those
/// bytes.
///
/// # Safety
/// `machine` is null or points to storage not changed during the call; `message` and
/// `message_len` are null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_last_message(
    machine: *const jobpoll_machine,
    message: *mut *const u8,
    message_len: *mut usize,
) -> jobpoll_error {
    // SAFETY: the caller's guarantee for the machine.
    let slot = match unsafe { slot_ref(machine) } {
        Ok(s) => s,
        Err(e) => return e,
    };
    let (p, n) = (slot.message, slot.message_len);
    // SAFETY: the caller guarantees both outputs when non-null.
    match unsafe { write_out(message, p).and_then(|()| write_out(message_len, n)) } {
        Ok(()) => JOBPOLL_OK,
        Err(e) => e,
    }
}

/// Requests written so far (submit, polls and retries), into `*requests`.
///
/// # Safety
/// `machine` is null or points to storage not changed during the call; `requests` is null or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_requests(
    machine: *const jobpoll_machine,
    requests: *mut u32,
) -> jobpoll_error {
    // SAFETY: the caller's guarantees for both pointers.
    match unsafe { slot_ref(machine).and_then(|s| write_out(requests, s.machine.requests())) } {
        Ok(()) => JOBPOLL_OK,
        Err(e) => e,
    }
}

/// The outcome into `*out` (kind `JOBPOLL_ACTION_DONE`), or kind `JOBPOLL_ACTION_NONE` with
/// `JOBPOLL_OUTCOME_NONE` while the job is followed.
///
/// # Safety
/// `machine` is null or points to storage not changed during the call; `out` is null or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_get_outcome(
    machine: *const jobpoll_machine,
    out: *mut jobpoll_action,
) -> jobpoll_error {
    // SAFETY: the caller's guarantee for the machine.
    let slot = match unsafe { slot_ref(machine) } {
        Ok(s) => s,
        Err(e) => return e,
    };
    let value = slot.machine.outcome().map_or(NO_ACTION, done);
    // SAFETY: the caller guarantees `out` when non-null.
    match unsafe { write_out(out, value) } {
        Ok(()) => JOBPOLL_OK,
        Err(e) => e,
    }
}

/// Copies the resume token (opaque bytes to store, at most `JOBPOLL_MAX_TOKEN_LEN`) into
/// `buf` (`buf_len` bytes) and its length into `*token_len`. `JOBPOLL_ERR_NO_JOB` before the
/// server named the job; `JOBPOLL_ERR_BUFFER_TOO_SMALL` (with `*token_len` the size needed)
/// when it does not fit.
///
/// # Safety
/// `machine` is null or points to storage not changed during the call; `buf` is null or
/// points to `buf_len` writable bytes; `token_len` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn jobpoll_resume_token(
    machine: *const jobpoll_machine,
    buf: *mut u8,
    buf_len: usize,
    token_len: *mut usize,
) -> jobpoll_error {
    if let Err(e) = outside_storage(machine, buf, buf_len) {
        return e;
    }
    // SAFETY: the caller's guarantees for the machine and the buffer.
    let parts = unsafe { slot_ref(machine).and_then(|s| Ok((s, bytes_mut(buf, buf_len)?))) };
    let (slot, buf) = match parts {
        Ok(p) => p,
        Err(e) => return e,
    };
    let Some(token) = slot.machine.resume_token() else {
        // SAFETY: the caller guarantees `token_len` when non-null.
        return match unsafe { write_out(token_len, 0) } {
            Ok(()) => JOBPOLL_ERR_NO_JOB,
            Err(e) => e,
        };
    };
    let bytes = token.as_bytes();
    let code = match buf.get_mut(..bytes.len()) {
        Some(dst) => {
            dst.copy_from_slice(bytes);
            JOBPOLL_OK
        }
        None => JOBPOLL_ERR_BUFFER_TOO_SMALL,
    };
    // SAFETY: the caller guarantees `token_len` when non-null.
    match unsafe { write_out(token_len, bytes.len()) } {
        Ok(()) => code,
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------------------------
// Messages

/// A static, NUL-terminated sentence for a `jobpoll_error` value (any value: unknown ones get
/// a sentence too). Never null; never freed.
#[unsafe(no_mangle)]
pub extern "C" fn jobpoll_error_message(error: u32) -> *const c_char {
    let text: &'static core::ffi::CStr = match error {
        0 => c"success",
        1 => c"a required pointer is null",
        2 => c"a pointer is not aligned for its type",
        3 => c"the machine, configuration or operation was not set up by its constructor or init function",
        4 => c"an enum value is out of range, a length wraps the address space, or a buffer overlaps the machine",
        5 => c"a string is not UTF-8",
        6 => c"the buffer is too small: the size needed is in the output's length",
        7 => c"a string cannot go into a request (CR, LF, NUL, or a ':' in a Basic user name)",
        8 => c"the job id or href is empty or too long",
        9 => c"return_timeout_ms must be at most 120000",
        10 => c"the resume token is damaged or from another version of jobpoll",
        11 => c"the resume token was made for another dialect than the configuration's",
        12 => c"this API has no server-side cancel",
        13 => c"pass the same operation to every jobpoll_poll as to jobpoll_submit",
        14 => c"a response was fed while no request was in flight",
        15 => c"filled is larger than the receive buffer",
        16 => c"there is no job to act on (not named by the server yet, or already done)",
        17 => c"the configuration was refused",
        _ => c"unknown jobpoll error code",
    };
    text.as_ptr()
}

/// A static, NUL-terminated sentence for a `jobpoll_outcome` value (any value). Never null.
#[unsafe(no_mangle)]
pub extern "C" fn jobpoll_outcome_message(outcome: u32) -> *const c_char {
    let text: &'static core::ffi::CStr = match outcome {
        0 => c"not ended yet",
        1 => c"the job succeeded",
        2 => c"the job succeeded with warnings",
        3 => c"the job partially failed",
        4 => c"the job failed",
        5 => c"the operation completed without a job",
        6 => c"the operation started several jobs",
        7 => c"the deadline passed with the job still running: resume it later with the token",
        8 => c"the server no longer knows the job: its outcome is unknown",
        9 => c"the submit may or may not have reached the server (never re-sent): check the server",
        10 => c"the server refused the operation or the poll",
        11 => c"the server wants (other) credentials: refresh them and resume",
        12 => c"following the job was cancelled (it keeps running on the server)",
        13 => c"a transport failure that retrying cannot fix",
        14 => c"too many consecutive failed requests",
        15 => c"the job is paused",
        16 => c"the job reports an unknown state",
        17 => c"an outcome this version of the interface does not name",
        _ => c"unknown jobpoll outcome",
    };
    text.as_ptr()
}

/// A static, NUL-terminated name for a `jobpoll_job_state` value (`running`, ...). Never null.
#[unsafe(no_mangle)]
pub extern "C" fn jobpoll_state_name(state: u32) -> *const c_char {
    let text: &'static core::ffi::CStr = match state {
        0 => c"none",
        1 => c"pending",
        2 => c"running",
        3 => c"paused",
        4 => c"succeeded",
        5 => c"succeeded_with_warnings",
        6 => c"partially_failed",
        7 => c"failed",
        8 => c"unknown",
        _ => c"invalid state value",
    };
    text.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_matches_duration_from_millis() {
        for ms in [
            0,
            1,
            999,
            1000,
            1001,
            65_535,
            65_536,
            600_000,
            u64::from(u32::MAX),
        ]
        .into_iter()
        .chain([
            u64::MAX - 1,
            u64::MAX,
            1 << 48,
            (1 << 48) - 1,
            123_456_789_012_345,
        ]) {
            assert_eq!(millis(ms), Duration::from_millis(ms), "{ms}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bare metal

/// No unwinding anywhere (panic = "abort") and no reachable panic by construction; should one
/// happen, the core halts here.
#[cfg(all(target_os = "none", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
