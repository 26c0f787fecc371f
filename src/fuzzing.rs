//! Entry points for the fuzz targets and for the corpus replay test (hidden `__fuzzing`
//! feature). Each asserts the invariants of what it drives: a panic here is a finding.

// Panicking is how an entry point reports a broken invariant to the fuzzer.
#![allow(clippy::panic)]

use core::fmt::Write as _;
use core::time::Duration;

use crate::http::{Auth, Authority};
use crate::{
    Action, Config, Dialect, Instant, JobPoller, Outcome, Policy, Purpose, ResumeToken, Submit,
    TransportError,
};

/// Runs corpus input `data` through the entry point of fuzz target `target`. Returns false for
/// an unknown target name.
pub fn run(target: &str, data: &[u8]) -> bool {
    match target {
        "http_response" => crate::http::fuzz::response(data),
        "http_request" => crate::http::fuzz::request(data),
        "json" => crate::json::fuzz::document(data),
        "machine" => machine(data),
        "token" => token(data),
        "dialects" => dialects(data),
        "list" => list(data),
        _ => return false,
    }
    true
}

/// A resume token from arbitrary bytes: decodes or fails with a typed error; a decoded token
/// re-encodes to the same bytes and resumes a machine.
pub fn token(data: &[u8]) {
    if let Ok(token) = ResumeToken::from_bytes(data) {
        assert_eq!(token.as_bytes(), data);
        let cfg = config(600, 30);
        if let Ok(poller) = JobPoller::resume(&cfg, &token, Duration::from_secs(1), Instant::ZERO) {
            let again = poller.resume_token();
            assert!(again.is_some());
        }
    }
}

fn config(deadline_s: u64, return_timeout_s: u64) -> Config<'static> {
    let mut cfg = Config::new(
        Authority {
            host: "cluster",
            port: 443,
            tls: true,
        },
        Auth::Basic {
            user: "admin",
            password: "secret",
        },
        Dialect::default(),
    );
    #[cfg(feature = "ontap")]
    {
        cfg.dialect = Dialect::Ontap(crate::dialect::ontap::OntapOptions {
            return_timeout: Duration::from_secs(return_timeout_s.min(120)),
            confirm_with_get: deadline_s.is_multiple_of(2),
            cancel_on_deadline: deadline_s.is_multiple_of(3),
        });
    }
    cfg.policy = Policy {
        deadline: Duration::from_secs(deadline_s),
        seed: deadline_s,
        ..Policy::DEFAULT
    };
    cfg
}

/// Bytes consumed one at a time; zero when exhausted.
struct Script<'d> {
    data: &'d [u8],
}

impl<'d> Script<'d> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    fn take(&mut self, n: usize) -> &'d [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }
}

/// Writes formatted text into a byte buffer, dropping what does not fit.
struct Buf<'b> {
    bytes: &'b mut [u8],
    len: usize,
}

impl core::fmt::Write for Buf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if let Some(slot) = self.bytes.get_mut(self.len) {
                *slot = b;
                self.len = self.len.saturating_add(1);
            }
        }
        Ok(())
    }
}

/// An element of `table` chosen by a byte.
fn pick<T: Copy + Default>(table: &[T], byte: u8) -> T {
    table
        .get(usize::from(byte).checked_rem(table.len()).unwrap_or(0))
        .copied()
        .unwrap_or_default()
}

const STATES: [&str; 7] = [
    "queued",
    "running",
    "paused",
    "success",
    "failure",
    "cancelled",
    "",
];
const STATUSES: [u16; 12] = [200, 201, 202, 204, 400, 401, 404, 409, 429, 500, 502, 503];

/// The whole machine driven by an arbitrary script: answers (canned or raw bytes, split
/// anywhere), transport failures, time steps (backwards too), early timers, cancels.
/// Invariants: never two requests in flight; a submit that may have reached the server is never
/// sent again; `Done` is sticky; every run ends within a step cap; the same script with every
/// answer fed whole gives the same outcome, the same requests and the same request count as
/// with the answers split in two.
pub fn machine(data: &[u8]) {
    let split = drive(data, false);
    let whole = drive(data, true);
    assert_eq!(split, whole, "split and whole feeds disagree");
}

/// What a scripted run did: its outcome, requests sent, and a hash of every request's bytes.
#[derive(Debug, PartialEq, Eq)]
struct Run {
    outcome: Option<Outcome>,
    requests: u32,
    hash: u64,
}

/// FNV-1a over `bytes`, continuing from `h`.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Runs the machine script; `whole` feeds every answer in one piece instead of two.
fn drive(data: &[u8], whole: bool) -> Run {
    let mut s = Script { data };
    let mut run = Run {
        outcome: None,
        requests: 0,
        hash: 0xcbf2_9ce4_8422_2325,
    };
    let mut cfg = config(
        u64::from(s.byte()).saturating_mul(8).max(1),
        u64::from(s.byte() % 130),
    );
    let flags = s.byte();
    cfg.policy.reuse_connection_for_submit = flags & 1 != 0;
    let body: &[u8] = br#"{"name":"vol1"}"#;
    let op = Submit::post("/api/storage/volumes", body);
    let mut now = Instant::from_secs(50);
    let Ok(mut job) = JobPoller::submit(&cfg, &op, now) else {
        return run;
    };
    let mut tx = [0u8; 768];
    let mut rx = [0u8; 1024];
    let mut submit_reached = false;
    // A connection state seen earlier, handed back later as if a pool's connection.
    let mut saved = crate::ConnectionState::CLOSED;
    for _ in 0..5_000 {
        let action = match job.poll(&cfg, &op, now, &mut tx) {
            Ok(a) => a,
            Err(e) => panic!("poll failed on a valid configuration: {e:?}"),
        };
        match action {
            Action::SendRequest(req) => {
                assert!(req.len <= tx.len());
                assert!(req.deadline > now);
                run.requests = run.requests.saturating_add(1);
                run.hash = fnv(run.hash, tx.get(..req.len).unwrap_or_default());
                if req.purpose == Purpose::Submit {
                    assert!(
                        !submit_reached,
                        "a submit that may have reached the server was sent again"
                    );
                }
                let op_byte = s.byte();
                if op_byte & 0x80 != 0 {
                    let again = job.poll(&cfg, &op, now, &mut tx);
                    assert!(
                        !matches!(again, Ok(Action::SendRequest(_))),
                        "two requests in flight"
                    );
                }
                now = now.saturating_add(Duration::from_millis(
                    u64::from(s.byte()).saturating_mul(100),
                ));
                let mut reached = true;
                match op_byte % 8 {
                    0 => {
                        reached = false;
                        job.handle_transport_error(&cfg, now, TransportError::ConnectFailed);
                    }
                    1 => job.handle_transport_error(&cfg, now, TransportError::ReadFailed),
                    2 => {
                        job.handle_timeout(&cfg, now);
                        now = now.max(req.deadline);
                        job.handle_timeout(&cfg, now);
                    }
                    3 => job.cancel(now),
                    4 | 5 => {
                        // Raw bytes as the answer, fed in two parts, then end of stream.
                        let len = usize::from(s.byte()) * 4;
                        let raw = s.take(len);
                        let n = raw.len().min(rx.len());
                        if let (Some(dst), Some(src)) = (rx.get_mut(..n), raw.get(..n)) {
                            dst.copy_from_slice(src);
                        }
                        let cut = usize::from(s.byte()).min(n);
                        let cuts = if whole { [0, n] } else { [cut, n] };
                        let status = feed(&mut job, &cfg, now, &mut rx, &cuts, op_byte % 8 == 5);
                        reached = !matches!(status, Some(429 | 503));
                    }
                    _ => {
                        let status = pick(&STATUSES, s.byte());
                        let state = pick(&STATES, s.byte());
                        let mut w = Buf {
                            bytes: &mut rx,
                            len: 0,
                        };
                        let body_kind = s.byte() % 3;
                        let _ = match body_kind {
                            0 => write!(
                                w,
                                "HTTP/1.1 {status} X\r\nRetry-After: {}\r\nContent-Length: {}\r\n\r\n{{\"job\":{{\"uuid\":\"j-1\",\"state\":\"{state}\"}}}}",
                                s.byte() % 40,
                                state.len().saturating_add(30)
                            ),
                            1 => write!(
                                w,
                                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n{{\"state\":\"{state}\",\"code\":\"7\"}}",
                                state.len().saturating_add(24)
                            ),
                            _ => write!(
                                w,
                                "HTTP/1.1 {status} X\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{{\"j\r\n0\r\n\r\n"
                            ),
                        };
                        let n = w.len;
                        let cut = usize::from(s.byte()).min(n);
                        let cuts = if whole { [0, n] } else { [cut, n] };
                        let status = feed(&mut job, &cfg, now, &mut rx, &cuts, true);
                        reached = !matches!(status, Some(429 | 503));
                    }
                }
                if req.purpose == Purpose::Submit && reached && op_byte % 8 != 3 {
                    submit_reached = true;
                }
                assert!(!job.is_request_in_flight());
                if s.byte() == 0xff {
                    now = Instant::from_millis(now.as_millis().saturating_sub(5_000));
                }
                if op_byte & 0x40 != 0 {
                    // Either refused (no job yet, done) or queued; never a panic.
                    let _ = job.request_server_cancel(now);
                }
            }
            Action::SleepUntil(t) => {
                assert!(!job.is_request_in_flight());
                now = now.max(t);
                match s.byte() % 4 {
                    0 => saved = job.connection_state(),
                    1 => job.adopt_connection(saved),
                    2 => job.adopt_connection(crate::ConnectionState::CLOSED),
                    _ => {}
                }
            }
            Action::Done(outcome) => {
                for _ in 0..2 {
                    assert_eq!(
                        job.poll(&cfg, &op, now, &mut tx).ok(),
                        Some(Action::Done(outcome))
                    );
                }
                if outcome != Outcome::Cancelled && job.job_id().is_some() {
                    assert!(job.resume_token().is_some());
                }
                run.outcome = Some(outcome);
                return run;
            }
            _ => {}
        }
    }
    panic!("no outcome within the step cap");
}

/// Feeds `rx` as a growing prefix at the given cut points, then end of stream if asked.
/// Returns the status of a complete answer.
fn feed(
    job: &mut JobPoller,
    cfg: &crate::Config<'_>,
    now: Instant,
    rx: &mut [u8],
    cuts: &[usize],
    eof: bool,
) -> Option<u16> {
    let mut last = 0;
    for &cut in cuts {
        if cut == 0 || cut < last {
            continue;
        }
        last = cut;
        match job.handle_response(cfg, now, rx, cut) {
            Ok(crate::Received::NeedMore) => {}
            Ok(crate::Received::Complete(reply)) => return Some(reply.status),
            Ok(_) => return None,
            Err(e) => panic!("handle_response misuse: {e:?}"),
        }
    }
    if eof {
        match job.handle_eof(cfg, now, rx, last) {
            Ok(crate::Received::NeedMore) => panic!("end of stream left the answer incomplete"),
            Ok(crate::Received::Complete(reply)) => return Some(reply.status),
            Ok(_) => {}
            Err(e) => panic!("handle_eof misuse: {e:?}"),
        }
    } else if job.is_request_in_flight() {
        job.handle_transport_error(cfg, now, TransportError::ReadFailed);
    }
    None
}

/// A lent string: inside the body, and its unescaped length is what unescaping writes.
fn check_str(body: &[u8], s: Option<crate::json::JsonStr<'_>>) {
    check_str_in(body.as_ptr_range(), s);
}

/// [`check_str`] with the body given by its address range.
fn check_str_in(body: core::ops::Range<*const u8>, s: Option<crate::json::JsonStr<'_>>) {
    let Some(s) = s else { return };
    let i = s.raw().as_ptr_range();
    assert!(
        s.raw().is_empty() || (body.start <= i.start && i.end <= body.end),
        "a parsed string outside the body"
    );
    let mut out = [0u8; 512];
    let len = s.unescaped_len();
    match s.unescape_into(&mut out) {
        Ok(text) => assert_eq!(text.len(), len, "unescaped length disagrees"),
        Err(e) => assert!(
            len > out.len() && e.required == len,
            "unescape refused: {e:?}"
        ),
    }
    assert_eq!(s.chars().map(char::len_utf8).sum::<usize>(), len);
}

fn check_job(body: &[u8], job: &crate::dialect::Job<'_>) {
    for s in [
        job.id,
        job.href,
        job.state_raw,
        job.message,
        job.cursor,
        job.error_message,
        job.error_target,
    ] {
        check_str(body, s);
    }
    for code in [job.code, job.error_code] {
        if let Some(crate::json::Code::Text(s)) = code {
            check_str(body, Some(s));
        }
    }
    check_str(body, job.message_for_state());
    check_str(body, job.best_message());
}

/// The dialects built in, picked by a byte.
fn dialect_of(pick: u8) -> Dialect {
    let all = [
        #[cfg(feature = "ontap")]
        Dialect::Ontap(crate::dialect::ontap::OntapOptions::DEFAULT),
        #[cfg(feature = "deploy")]
        Dialect::Deploy(crate::dialect::deploy::DeployOptions::DEFAULT),
        #[cfg(feature = "aiqum")]
        Dialect::Aiqum(crate::dialect::aiqum::AiqumOptions::DEFAULT),
        #[cfg(feature = "nse")]
        Dialect::Nse(crate::dialect::nse::NseOptions::DEFAULT),
        #[cfg(feature = "generic")]
        Dialect::Generic(&crate::dialect::generic::AZURE_STYLE),
    ];
    let n = all.len().max(1);
    all.get(usize::from(pick).checked_rem(n).unwrap_or(0))
        .copied()
        .unwrap_or_default()
}

/// Each dialect's body parsers on arbitrary bytes (first byte: dialect and depth limit; the
/// rest: the body). Invariants: no panic; every string lent from the body; parsing is
/// deterministic; `parse_error` agrees with `parse_submit_answer`.
pub fn dialects(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let dialect = dialect_of(pick & 0x0f);
    let limits = crate::json::Limits::new(if pick & 0x80 != 0 { 3 } else { 32 });
    match dialect.parse_submit_answer(body, limits) {
        Ok(answer) => {
            if let Some(job) = &answer.job {
                check_job(body, job);
            }
            if let Some(err) = &answer.error {
                check_str(body, err.message);
                check_str(body, err.target);
            }
            if let Some(jobs) = answer.jobs {
                for record in jobs.iter().take(64) {
                    check_str(body, dialect.job_record_id(record));
                }
            }
            assert_eq!(
                dialect.parse_error(body, limits).is_some(),
                answer.error.is_some()
            );
            let again = dialect.parse_submit_answer(body, limits);
            assert_eq!(
                again.ok().and_then(|a| a.job).and_then(|j| j.id),
                answer.job.and_then(|j| j.id)
            );
        }
        Err(e) => {
            assert!(dialect.parse_error(body, limits).is_none());
            assert_eq!(dialect.parse_submit_answer(body, limits).err(), Some(e));
        }
    }
    match dialect.parse_job(body, limits) {
        Ok(job) => {
            check_job(body, &job);
            let again = dialect.parse_job(body, limits).ok();
            assert_eq!(again.and_then(|j| j.state), job.state);
            assert_eq!(again.and_then(|j| j.state_raw), job.state_raw);
        }
        Err(e) => assert_eq!(dialect.parse_job(body, limits).err(), Some(e)),
    }
}

/// The job-list pager fed arbitrary page answers (first byte: dialect, page size, end of stream;
/// second: where to split; then answers separated by NUL bytes). Invariants: no panic; a
/// request written for every page while pages are left and never after; `NeedMore` never at
/// end of stream; at most `max_pages` requests; the recovery never keeps more candidates than
/// it can hold.
pub fn list(data: &[u8]) {
    use crate::list::{JobList, ListQuery, ListReceived, MAX_CANDIDATES, Recovery};
    let mut s = Script { data };
    let flags = s.byte();
    let cut_byte = s.byte();
    let mut cfg = config(600, 30);
    cfg.dialect = dialect_of(flags & 0x0f);
    let query = ListQuery {
        page_size: u16::from(flags >> 4).saturating_add(1),
        max_pages: 4,
        state: None,
        tenant_id: Some("t1"),
    };
    let Ok(mut list) = JobList::new(&cfg, &query) else {
        return;
    };
    let Ok(mut recovery) = Recovery::new(
        "POST /api/storage/volumes",
        Duration::from_secs(30),
        Duration::from_secs(5),
    ) else {
        return;
    };
    let mut tx = [0u8; 512];
    let mut rx = [0u8; 2048];
    let mut requests = 0u16;
    let mut answers = s.data.split(|&b| b == 0);
    loop {
        let len = match list.write_request(&cfg, &query, &mut tx) {
            Ok(Some(len)) => len,
            Ok(None) => {
                assert!(list.is_done());
                break;
            }
            // A server link that does not fit or does not decode: typed, never a panic.
            Err(_) => break,
        };
        assert!(len <= tx.len());
        assert!(tx.get(..len).is_some_and(|r| r.starts_with(b"GET /")));
        requests = requests.saturating_add(1);
        assert!(requests <= query.max_pages, "more pages than asked");
        let answer = answers.next().unwrap_or_default();
        let n = answer.len().min(rx.len());
        if let (Some(dst), Some(src)) = (rx.get_mut(..n), answer.get(..n)) {
            dst.copy_from_slice(src);
        }
        let cut = usize::from(cut_byte).min(n);
        let eof = cut_byte & 1 == 1;
        if cut > 0 && cut < n {
            match list.handle_response(Instant::ZERO, &mut rx, cut) {
                Ok(ListReceived::NeedMore) => {}
                // A complete or failed answer from a prefix: the page is over.
                Ok(_) => continue,
                Err(e) => panic!("handle_response misuse: {e:?}"),
            }
        }
        let rx_range = rx.as_ptr_range();
        let got = if eof {
            list.handle_eof(Instant::ZERO, &mut rx, n)
        } else {
            list.handle_response(Instant::ZERO, &mut rx, n)
        };
        match got {
            Ok(ListReceived::NeedMore) => {
                assert!(!eof, "end of stream left the page incomplete");
                break;
            }
            Ok(ListReceived::Page(page)) => {
                for job in page.jobs().take(256) {
                    for text in [job.id, job.state_raw, job.description, job.start_time] {
                        check_str_in(rx_range.clone(), text);
                    }
                    let _ = job.start_unix();
                }
                recovery.check_page(&page);
                assert!(recovery.candidates().count() <= MAX_CANDIDATES);
                if !page.more {
                    assert!(list.is_done());
                }
            }
            Ok(ListReceived::Failed { .. }) => assert!(list.is_done()),
            #[allow(unreachable_patterns)]
            Ok(_) => {}
            Err(e) => panic!("handle_response misuse: {e:?}"),
        }
    }
    let _ = recovery.verdict();
    assert!(requests <= query.max_pages);
}
