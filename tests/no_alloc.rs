//! Zero heap allocations: a counting global allocator wraps the system one, and whole jobs are
//! driven through the machine (submit, polls, events, outcome, resume token) in every dialect
//! while counting. Only allocations made on the driving thread while counting is on are
//! counted, so the test harness's own threads do not interfere.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use jobpoll::dialect::aiqum::AiqumOptions;
use jobpoll::dialect::deploy::DeployOptions;
use jobpoll::dialect::nse::NseOptions;
use jobpoll::http::{Auth, Authority};
use jobpoll::{Action, Config, Connection, Dialect, Instant, JobPoller, Outcome, Received, Submit};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the wrapper only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` with counting on; returns its result and the allocations it made.
fn count<T>(f: impl FnOnce() -> T) -> (T, u64) {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|on| on.set(true));
    let out = f();
    COUNTING.with(|on| on.set(false));
    (out, COUNT.with(Cell::get))
}

/// One scripted answer: the bytes and how long the server takes.
struct Answer {
    after_ms: u64,
    bytes: Vec<u8>,
}

/// An answer with `Content-Length` (built before counting starts).
fn ok(after_ms: u64, status: &str, extra: &str, body: &str) -> Answer {
    let bytes = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/hal+json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    Answer {
        after_ms,
        bytes: bytes.into_bytes(),
    }
}

/// The same, chunked in pieces of `chunk` bytes.
fn chunked(after_ms: u64, body: &str, chunk: usize) -> Answer {
    let mut s = String::from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    for part in body.as_bytes().chunks(chunk) {
        s.push_str(&format!("{:x}\r\n", part.len()));
        s.push_str(std::str::from_utf8(part).expect("ascii"));
        s.push_str("\r\n");
    }
    s.push_str("0\r\n\r\n");
    Answer {
        after_ms,
        bytes: s.into_bytes(),
    }
}

/// The README's drive loop over a scripted server, on stack buffers, with no allocation of
/// its own. Returns the outcome, the requests and a digest of what the driver read (so the
/// optimiser keeps every read).
fn drive(cfg: &Config<'_>, op: &Submit<'_>, script: &[Answer]) -> (Outcome, u32, usize) {
    let mut now = Instant::ZERO;
    let (mut tx, mut rx) = ([0u8; 1024], [0u8; 2048]);
    let mut job = JobPoller::submit(cfg, op, now).expect("valid submit");
    let mut next = script.iter();
    let mut seen = 0usize;
    let mut connected = false;
    for _ in 0..10_000 {
        match job.poll(cfg, op, now, &mut tx).expect("poll") {
            Action::SendRequest(req) => {
                if req.connection == Connection::Fresh || !connected {
                    connected = true;
                }
                seen = seen.wrapping_add(tx[..req.len].len());
                let answer = next.next().expect("script too short");
                now = Instant::from_millis(now.as_millis() + answer.after_ms);
                let n = answer.bytes.len();
                rx[..n].copy_from_slice(&answer.bytes);
                match job
                    .handle_response(cfg, now, &mut rx, n)
                    .expect("in flight")
                {
                    Received::Complete(reply) => {
                        if let Some(m) = reply.message {
                            let mut buf = [0u8; 512];
                            seen = seen.wrapping_add(m.unescape_into(&mut buf).map_or(0, str::len));
                        }
                        if let Some(jobs) = reply.jobs {
                            seen = seen.wrapping_add(jobs.iter().count());
                        }
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
            Action::Close => connected = false,
            Action::SleepUntil(t) => now = t,
            Action::Event(_) => {
                let v = job.last_seen();
                seen = seen.wrapping_add(v.raw_state.len());
            }
            Action::Done(outcome) => {
                // The resume token and the ids stay available after the end.
                // (A `jobs[]` answer names no single job: no token then.)
                if let Some(token) = job.resume_token() {
                    seen = seen.wrapping_add(token.as_bytes().len());
                }
                seen = seen.wrapping_add(job.job_id().map_or(0, str::len));
                assert!(next.next().is_none(), "script not used up");
                return (outcome, job.requests(), seen);
            }
            _ => {}
        }
    }
    panic!("livelock");
}

fn config(dialect: Dialect) -> Config<'static> {
    Config::new(
        Authority {
            host: "cluster1.example.com",
            port: 443,
            tls: true,
        },
        Auth::Basic {
            user: "admin",
            password: "netapp123",
        },
        dialect,
    )
}

const ONTAP_202: &str = r#"{"job":{"uuid":"2453aafc-a9a6-11eb-9fc7-080027c8f2a7","_links":{"self":{"href":"/api/cluster/jobs/2453aafc-a9a6-11eb-9fc7-080027c8f2a7"}}}}"#;
const ONTAP_RUNNING: &str =
    r#"{"state":"running","message":"Deleting \"snap1\": 40% \ud83d\ude00","code":"0","x":[1]}"#;
const ONTAP_FAILURE: &str =
    r#"{"state":"failure","message":"Snapshot \"s1\" is locked.","code":1638555}"#;
const KEEP: &str = "Keep-Alive: timeout=5, max=100\r\n";

#[test]
fn ontap_jobs_allocate_nothing() {
    let cfg = config(Dialect::default());
    let op = Submit::post(
        "/api/storage/volumes",
        br#"{"name":"vol1","svm":{"name":"vs1"},"size":"100GB"}"#,
    );
    let script = [
        ok(30_000, "202 Accepted", KEEP, ONTAP_202),
        ok(20, "200 OK", KEEP, ONTAP_RUNNING),
        ok(20, "503 Service Unavailable", "Retry-After: 2\r\n", ""),
        ok(20, "200 OK", KEEP, ONTAP_RUNNING),
        ok(20, "200 OK", "", ONTAP_RUNNING),
        chunked(20, ONTAP_FAILURE, 20),
    ];
    let ((outcome, requests, seen), allocations) = count(|| drive(&cfg, &op, &script));
    assert_eq!(outcome, Outcome::Failed);
    assert_eq!(requests, 6);
    assert!(seen > 0);
    assert_eq!(allocations, 0, "allocations while driving an ONTAP job");

    // Finished within return_timeout; and a query-targeted PATCH that starts several jobs.
    let done = [ok(
        3_000,
        "200 OK",
        "",
        r#"{"job":{"uuid":"u2","state":"success"}}"#,
    )];
    let ((outcome, _, _), allocations) = count(|| drive(&cfg, &op, &done));
    assert_eq!(outcome, Outcome::Succeeded);
    assert_eq!(allocations, 0);
    let patch = Submit::patch("/api/storage/volumes", br#"{"state":"offline"}"#);
    let jobs = [ok(
        100,
        "202 Accepted",
        "",
        r#"{"jobs":[{"uuid":"a"},{"uuid":"b"},{"uuid":"c"}]}"#,
    )];
    let ((outcome, _, seen), allocations) = count(|| drive(&cfg, &patch, &jobs));
    assert_eq!(outcome, Outcome::MultipleJobs { count: 3 });
    assert!(seen >= 3);
    assert_eq!(allocations, 0);
}

fn deploy_record(state: &str, modified: &str) -> String {
    format!(
        r#"{{"record":{{"id":"d1","state":"{state}","message":"m","last_modified":"{modified}"}}}}"#
    )
}

#[test]
fn deploy_long_polling_allocates_nothing() {
    let cfg = config(Dialect::Deploy(DeployOptions::DEFAULT));
    let op = Submit::post("/api/v3/clusters", br#"{"name":"ots1"}"#);
    let t5 = "2026-01-01T00:00:05.000000Z";
    let script = [
        ok(
            200,
            "202 Accepted",
            "",
            r#"{"job":{"id":"d1","last_modified":"2026-01-01T00:00:00.000001Z","message":"q"}}"#,
        ),
        ok(4_800, "200 OK", "", &deploy_record("running", t5)),
        // Back at once with the same marker: the machine switches to the inclusive reading.
        ok(10, "200 OK", "", &deploy_record("running", t5)),
        ok(120_000, "200 OK", "", &deploy_record("running", t5)),
        ok(
            100_000,
            "200 OK",
            "",
            &deploy_record("success", "2026-01-01T00:05:00.000000Z"),
        ),
    ];
    let ((outcome, requests, _), allocations) = count(|| drive(&cfg, &op, &script));
    assert_eq!(outcome, Outcome::Succeeded);
    assert_eq!(requests, 5);
    assert_eq!(allocations, 0);
}

#[test]
fn unified_manager_allocates_nothing() {
    let cfg = config(Dialect::Aiqum(AiqumOptions::DEFAULT));
    let op = Submit::post("/api/storage-provider/file-shares", br#"{"name":"fs1"}"#);
    let script = [
        ok(
            100,
            "202 Accepted",
            "",
            r#"{"job":{"key":"06a6148bf9e862df:-2611856e:16e8d47e722"}}"#,
        ),
        ok(
            20,
            "200 OK",
            "",
            r#"{"key":"k","state":"running","status":"normal","x":{}}"#,
        ),
        ok(
            20,
            "200 OK",
            "",
            r#"{"key":"k","state":"completed","status":"WARNING","x":1}"#,
        ),
    ];
    let ((outcome, _, _), allocations) = count(|| drive(&cfg, &op, &script));
    assert_eq!(outcome, Outcome::SucceededWithWarnings);
    assert_eq!(allocations, 0);
}

#[test]
fn service_engine_allocates_nothing() {
    let mut cfg = config(Dialect::Nse(NseOptions::DEFAULT));
    cfg.auth = Auth::Header("Bearer eyJhbGciOi");
    let op = Submit::post("/api/v2.1/objectstorage/buckets", br#"{"name":"b"}"#);
    let script = [
        ok(
            100,
            "202 Accepted",
            "",
            r#"{"status":{"code":202},"result":{"records":[{"id":"j2","status":"pending","job_tasks":null}]}}"#,
        ),
        ok(
            20,
            "200 OK",
            "",
            r#"{"status":{"code":200},"result":{"records":[{"id":"j2","status":"failed","status_detail":"d","last_error":"e","job_tasks":[{"id":"t","last_error":"bucket exists"}]}]}}"#,
        ),
    ];
    let ((outcome, _, _), allocations) = count(|| drive(&cfg, &op, &script));
    assert_eq!(outcome, Outcome::Failed);
    assert_eq!(allocations, 0);
}

#[test]
fn the_counter_counts() {
    let (v, allocations) = count(|| vec![1u8; 10]);
    assert_eq!(v.len(), 10);
    assert!(allocations >= 1);
}
