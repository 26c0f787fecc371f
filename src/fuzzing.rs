//! Entry points for the fuzz targets and for the corpus replay test (hidden `__fuzzing`
//! feature). Each asserts the invariants of what it drives: a panic here is a finding.

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
                self.len += 1;
            }
        }
        Ok(())
    }
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
/// sent again; `Done` is sticky; every run ends within a step cap.
pub fn machine(data: &[u8]) {
    let mut s = Script { data };
    let cfg = config(
        u64::from(s.byte()).saturating_mul(8).max(1),
        u64::from(s.byte() % 130),
    );
    let body: &[u8] = br#"{"name":"vol1"}"#;
    let op = Submit::post("/api/storage/volumes", body);
    let mut now = Instant::from_secs(50);
    let Ok(mut job) = JobPoller::submit(&cfg, &op, now) else {
        return;
    };
    let mut tx = [0u8; 768];
    let mut rx = [0u8; 1024];
    let mut submit_reached = false;
    for _ in 0..5_000 {
        let action = match job.poll(&cfg, &op, now, &mut tx) {
            Ok(a) => a,
            Err(e) => panic!("poll failed on a valid configuration: {e:?}"),
        };
        match action {
            Action::SendRequest(req) => {
                assert!(req.len <= tx.len());
                assert!(req.deadline > now);
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
                now = now + Duration::from_millis(u64::from(s.byte()) * 100);
                let mut reached = true;
                match op_byte % 8 {
                    0 => {
                        reached = false;
                        job.handle_transport_error(now, TransportError::ConnectFailed);
                    }
                    1 => job.handle_transport_error(now, TransportError::ReadFailed),
                    2 => {
                        job.handle_timeout(now);
                        now = now.max(req.deadline);
                        job.handle_timeout(now);
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
                        let status = feed(&mut job, now, &mut rx, &[cut, n], op_byte % 8 == 5);
                        reached = !matches!(status, Some(429 | 503));
                    }
                    _ => {
                        let status = STATUSES[usize::from(s.byte()) % STATUSES.len()];
                        let state = STATES[usize::from(s.byte()) % STATES.len()];
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
                                30 + state.len()
                            ),
                            1 => write!(
                                w,
                                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n{{\"state\":\"{state}\",\"code\":\"7\"}}",
                                24 + state.len()
                            ),
                            _ => write!(
                                w,
                                "HTTP/1.1 {status} X\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{{\"j\r\n0\r\n\r\n"
                            ),
                        };
                        let n = w.len;
                        let cut = usize::from(s.byte()).min(n);
                        let status = feed(&mut job, now, &mut rx, &[cut, n], true);
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
                return;
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
        match job.handle_response(now, rx, cut) {
            Ok(crate::Received::NeedMore) => {}
            Ok(crate::Received::Complete(reply)) => return Some(reply.status),
            Ok(_) => return None,
            Err(e) => panic!("handle_response misuse: {e:?}"),
        }
    }
    if eof {
        match job.handle_eof(now, rx, last) {
            Ok(crate::Received::NeedMore) => panic!("end of stream left the answer incomplete"),
            Ok(crate::Received::Complete(reply)) => return Some(reply.status),
            Ok(_) => {}
            Err(e) => panic!("handle_eof misuse: {e:?}"),
        }
    } else if job.is_request_in_flight() {
        job.handle_transport_error(now, TransportError::ReadFailed);
    }
    None
}
