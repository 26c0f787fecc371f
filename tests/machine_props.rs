//! Properties of the job machine over random scripts of server answers, transport faults,
//! byte splits, time steps, early timer calls, polls while a request is in flight, clocks that
//! step backwards, and cancels.
//!
//! After every step: never two requests in flight; a submit that may have reached the server is
//! never sent again; `Done` is sticky; no sleep longer than the policy's caps; no request or
//! sleep deadline in the past; a job that ends with `DeadlineExceeded` was polled at (or
//! answered after) the deadline; the run ends within a step cap.

#![cfg(feature = "ontap")]

use std::time::Duration;

use jobpoll::http::{Auth, Authority};
use jobpoll::{
    Action, Config, ConnectionState, Dialect, Instant, JobPoller, Outcome, Policy, Purpose,
    Received, Submit, TransportError,
};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Server {
    Accepted,
    AcceptedLinkOnly200,
    Job(&'static str),
    Status(u16),
    RetryAfter(u16, u8),
    NotFound,
    Garbage,
    Refuse,
    Reset,
    Stall,
    CloseEmpty,
    Oversize,
}

fn server() -> impl Strategy<Value = Server> {
    prop_oneof![
        4 => Just(Server::Accepted),
        1 => Just(Server::AcceptedLinkOnly200),
        3 => prop::sample::select(vec!["queued", "running", "paused", "success", "failure", "weird"]).prop_map(Server::Job),
        1 => prop::sample::select(vec![400u16, 401, 403, 409, 500, 502, 503, 504, 429]).prop_map(Server::Status),
        1 => (prop::sample::select(vec![429u16, 503]), 0u8..30).prop_map(|(s, r)| Server::RetryAfter(s, r)),
        1 => Just(Server::NotFound),
        1 => Just(Server::Garbage),
        1 => Just(Server::Refuse),
        1 => Just(Server::Reset),
        1 => Just(Server::Stall),
        1 => Just(Server::CloseEmpty),
        1 => Just(Server::Oversize),
    ]
}

#[derive(Clone, Debug)]
struct Step {
    server: Server,
    latency_ms: u32,
    split: usize,
    poll_while_waiting: bool,
    early_timer: bool,
    backwards_ms: u16,
    cancel: bool,
    server_cancel: bool,
    /// After the next sleep, the job's next request goes on another connection (a pool's): 0
    /// and 1 no, 2 a closed one, 3 one another machine has just been answered on (kept alive
    /// 5 s).
    adopt: u8,
}

fn step() -> impl Strategy<Value = Step> {
    (
        server(),
        0u32..40_000,
        0usize..200,
        any::<bool>(),
        any::<bool>(),
        prop_oneof![9 => Just(0u16), 1 => 1u16..5000],
        prop::bool::weighted(0.02),
        prop::bool::weighted(0.05),
        0u8..4,
    )
        .prop_map(
            |(
                server,
                latency_ms,
                split,
                poll_while_waiting,
                early_timer,
                backwards_ms,
                cancel,
                server_cancel,
                adopt,
            )| {
                Step {
                    server,
                    latency_ms,
                    split,
                    poll_while_waiting,
                    early_timer,
                    backwards_ms,
                    cancel,
                    server_cancel,
                    adopt,
                }
            },
        )
}

fn http(status: u16, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn answer(server: &Server) -> Option<Vec<u8>> {
    Some(match server {
        Server::Accepted => http(202, "", r#"{"job":{"uuid":"j1"}}"#),
        Server::AcceptedLinkOnly200 => http(
            200,
            "",
            r#"{"job":{"_links":{"self":{"href":"/api/cluster/jobs/j1"}}}}"#,
        ),
        Server::Job(state) => http(
            200,
            "",
            &format!(r#"{{"uuid":"j1","state":"{state}","code":"1"}}"#),
        ),
        Server::Status(s) => http(*s, "", r#"{"error":{"message":"m","code":"6"}}"#),
        Server::RetryAfter(s, secs) => http(*s, &format!("Retry-After: {secs}\r\n"), ""),
        Server::NotFound => http(
            404,
            "",
            r#"{"error":{"message":"entry doesn't exist","code":"4","target":"uuid"}}"#,
        ),
        Server::Garbage => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{\"a\":".to_vec(),
        Server::Oversize => http(200, "", &"x".repeat(3000)),
        Server::CloseEmpty => Vec::new(),
        Server::Refuse | Server::Reset | Server::Stall => return None,
    })
}

fn config(deadline_s: u64) -> Config<'static> {
    let mut cfg = Config::new(
        Authority {
            host: "h",
            port: 443,
            tls: true,
        },
        Auth::Basic {
            user: "u",
            password: "p",
        },
        Dialect::default(),
    );
    cfg.policy = Policy {
        deadline: Duration::from_secs(deadline_s),
        seed: deadline_s,
        reuse_connection_for_submit: deadline_s.is_multiple_of(2),
        ..Policy::DEFAULT
    };
    cfg
}

/// The state of a connection another machine was just answered on, kept alive for 5 s.
fn pooled_connection(cfg: &Config<'_>, op: &Submit<'_>, now: Instant) -> ConnectionState {
    let mut other = JobPoller::submit(cfg, op, now).unwrap_or_else(|e| unreachable!("{e:?}"));
    let mut tx = vec![0u8; 1024];
    while let Ok(action) = other.poll(cfg, op, now, &mut tx) {
        if let Action::SendRequest(_) = action {
            let mut rx = http(
                202,
                "Keep-Alive: timeout=5\r\n",
                r#"{"job":{"uuid":"other"}}"#,
            );
            let filled = rx.len();
            let _ = other.handle_response(cfg, now, &mut rx, filled);
            break;
        }
    }
    other.connection_state()
}

fn check(script: Vec<Step>, deadline_s: u64, small_tx: bool) -> Result<(), TestCaseError> {
    let cfg = config(deadline_s);
    let op = Submit::post("/api/storage/volumes", b"{}");
    let mut now = Instant::from_secs(1000);
    let mut job =
        JobPoller::submit(&cfg, &op, now).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    let deadline = job.deadline();
    let mut tx = vec![0u8; if small_tx { 64 } else { 1024 }];
    let mut rx = vec![0u8; 2048];
    let mut steps = script.into_iter().cycle();
    let mut submit_may_have_reached = false;
    let mut polled_at_or_after_deadline = false;
    let mut latest = now;
    let mut adopt = 0u8;
    let mut log: Vec<String> = Vec::new();
    let cap = cfg
        .policy
        .max_interval
        .max(cfg.policy.retry_max)
        .max(Duration::from_secs(30));
    for _ in 0..20_000 {
        latest = latest.max(now);
        let action = match job.poll(&cfg, &op, now, &mut tx) {
            Ok(a) => a,
            Err(jobpoll::Error::BufferTooSmall { required }) => {
                prop_assert!(required > tx.len());
                tx = vec![0u8; required];
                continue;
            }
            Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
        };
        log.push(format!("{} {action:?}", now.as_millis()));
        match action {
            Action::SendRequest(req) => {
                prop_assert!(req.deadline > now);
                prop_assert!(req.len <= tx.len());
                if req.purpose == Purpose::Submit {
                    prop_assert!(!submit_may_have_reached, "submit sent again");
                }
                // The machine's own `now` is the latest it was given (it clamps stale ones).
                if now.max(latest) >= deadline {
                    polled_at_or_after_deadline = true;
                }
                let s = steps.next().unwrap_or_else(|| unreachable!());
                if s.poll_while_waiting {
                    let again = job
                        .poll(&cfg, &op, now, &mut tx)
                        .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                    prop_assert!(
                        !matches!(again, Action::SendRequest(_)),
                        "second request while one is in flight"
                    );
                }
                if s.early_timer {
                    job.handle_timeout(&cfg, now);
                    prop_assert!(job.is_request_in_flight());
                }
                if s.cancel {
                    job.cancel(now);
                    continue;
                }
                let reached = !matches!(
                    s.server,
                    Server::Refuse | Server::RetryAfter(..) | Server::Status(429 | 503)
                );
                if req.purpose == Purpose::Submit && reached {
                    submit_may_have_reached = true;
                }
                now = Instant::from_millis(now.as_millis() + u64::from(s.latency_ms));
                match s.server {
                    Server::Refuse => {
                        job.handle_transport_error(&cfg, now, TransportError::ConnectFailed)
                    }
                    Server::Reset => {
                        job.handle_transport_error(&cfg, now, TransportError::ReadFailed)
                    }
                    Server::Stall => {
                        now = now.max(req.deadline);
                        job.handle_timeout(&cfg, now);
                    }
                    ref other => {
                        let bytes = answer(other).unwrap_or_default();
                        let n = bytes.len().min(rx.len());
                        let cut = s.split.min(n);
                        rx[..n].copy_from_slice(&bytes[..n]);
                        let mut done = false;
                        for filled in [cut, n] {
                            if filled == 0 {
                                continue;
                            }
                            let r = job
                                .handle_response(&cfg, now, &mut rx, filled)
                                .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                            if !matches!(r, Received::NeedMore) {
                                done = true;
                                break;
                            }
                        }
                        if !done {
                            let _ = job
                                .handle_eof(&cfg, now, &mut rx, n)
                                .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                        }
                        if now >= deadline {
                            polled_at_or_after_deadline = true;
                        }
                    }
                }
                prop_assert!(!job.is_request_in_flight());
                latest = latest.max(now);
                if s.server_cancel {
                    let _ = job.request_server_cancel(now);
                }
                adopt = s.adopt;
                if s.backwards_ms > 0 {
                    now = Instant::from_millis(
                        now.as_millis().saturating_sub(u64::from(s.backwards_ms)),
                    );
                }
            }
            Action::SleepUntil(t) => {
                prop_assert!(!job.is_request_in_flight());
                prop_assert!(t > now, "sleep into the past");
                // Measured from the latest `now` the machine was given (it clamps stale ones).
                prop_assert!(t - latest <= cap, "sleep {:?} above the cap", t - latest);
                prop_assert!(t <= deadline, "sleep past the deadline");
                now = t;
                // Woken, the job may get another connection than its last (a pool's).
                match std::mem::take(&mut adopt) {
                    2 => job.adopt_connection(ConnectionState::CLOSED),
                    3 => job.adopt_connection(pooled_connection(&cfg, &op, now)),
                    _ => {}
                }
            }
            Action::Close | Action::Event(_) => {}
            Action::Done(outcome) => {
                for _ in 0..3 {
                    prop_assert_eq!(
                        job.poll(&cfg, &op, now, &mut tx).ok(),
                        Some(Action::Done(outcome))
                    );
                }
                if outcome == Outcome::DeadlineExceeded && job.job_id().is_some() {
                    prop_assert!(
                        polled_at_or_after_deadline,
                        "gave up without a poll at the deadline ({deadline:?}):\n{}",
                        log.join("\n")
                    );
                }
                if outcome != Outcome::Cancelled && job.job_id().is_some() {
                    prop_assert!(job.resume_token().is_some());
                }
                return Ok(());
            }
            _ => {}
        }
    }
    Err(TestCaseError::fail("no outcome within the step cap"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5_000, ..ProptestConfig::default() })]

    #[test]
    fn machine_invariants_hold(script in prop::collection::vec(step(), 1..40), deadline_s in 1u64..900, small_tx in prop::bool::weighted(0.1)) {
        check(script, deadline_s, small_tx)?;
    }
}
