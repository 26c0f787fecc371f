//! Model-based test: a reference model of the poller's observable behaviour (what it sends
//! next, when it sleeps and until when, when and how it ends) run in lockstep with the real
//! machine over random scripts of server answers, transport faults and latencies.
//!
//! The model is written from the documented rules (module docs of `poller` and `policy`), for
//! the ONTAP dialect without a server hold, without jitter, and uses the policy's pure interval
//! functions (tested on their own) for the lengths of the gaps. After every step it checks:
//! the action is the one the model predicts; no deadline (request or sleep) lies before the
//! time it was given; never two requests in flight; a non-idempotent submit is never re-sent
//! once it may have reached the server; `Done` is sticky; no sleep above the caps; a job that
//! runs out of time was polled at the deadline (or answered after it); every request fits the buffer given
//! (a too small buffer is a typed error).

#![cfg(feature = "ontap")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jobpoll::dialect::ontap::OntapOptions;
use jobpoll::http::{Auth, Authority};
use jobpoll::{
    Action, Config, Dialect, Instant, JobPoller, Outcome, Policy, Purpose, RetryCause, Submit,
    TransportError,
};
use proptest::prelude::*;

static CASES: AtomicU64 = AtomicU64::new(0);
static STEPS: AtomicU64 = AtomicU64::new(0);

/// What the server (or the network) does with one request.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// 202 naming job `j1` (to a submit); to a poll, the job in this state.
    Accepted,
    /// 200 with the job in this state (to a submit: read as the 202 above).
    State(&'static str),
    /// An error status with an error body.
    Status(u16),
    /// 404 "entry doesn't exist".
    NotFound,
    Refused,
    Reset,
    /// No answer before the request's deadline.
    Stall,
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        3 => Just(Answer::Accepted),
        5 => prop::sample::select(vec!["queued", "running", "paused", "weird", "success", "failure"])
            .prop_map(Answer::State),
        2 => prop::sample::select(vec![400u16, 401, 409, 429, 500, 502, 503, 504]).prop_map(Answer::Status),
        1 => Just(Answer::NotFound),
        1 => Just(Answer::Refused),
        1 => Just(Answer::Reset),
        1 => Just(Answer::Stall),
    ]
}

#[derive(Clone, Copy, Debug)]
struct Step {
    answer: Answer,
    latency_ms: u64,
    cancel: bool,
}

fn step() -> impl Strategy<Value = Step> {
    (answer(), 0u64..20_000, prop::bool::weighted(0.01)).prop_map(|(answer, latency_ms, cancel)| {
        Step {
            answer,
            latency_ms,
            cancel,
        }
    })
}

fn http(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn config(deadline_s: u64, max_retries: u8) -> Config<'static> {
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
        Dialect::Ontap(OntapOptions {
            return_timeout: Duration::ZERO,
            confirm_with_get: false,
            cancel_on_deadline: false,
        }),
    );
    cfg.policy = Policy {
        deadline: Duration::from_secs(deadline_s),
        jitter_percent: 0,
        max_retries,
        ..Policy::DEFAULT
    };
    cfg
}

/// What the model expects the machine to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Send(Purpose),
    Sleep(Instant),
    Done(Outcome),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    Submit,
    Poll,
}

/// The reference model.
struct Model {
    policy: Policy,
    started: Instant,
    deadline: Instant,
    /// What happens when the current sleep ends (or now, when `until` is `None`).
    next: Next,
    until: Option<Instant>,
    done: Option<Outcome>,
    seen: bool,
    attempt: u16,
    failures: u8,
    not_found_since: Option<Instant>,
    final_poll_sent: bool,
}

impl Model {
    fn new(policy: Policy, now: Instant) -> Self {
        Model {
            policy,
            started: now,
            deadline: now + policy.deadline,
            next: Next::Submit,
            until: None,
            done: None,
            seen: false,
            attempt: 0,
            failures: 0,
            not_found_since: None,
            final_poll_sent: false,
        }
    }

    /// The next action at `now` (no request in flight).
    fn expect(&mut self, now: Instant) -> Expect {
        if let Some(outcome) = self.done {
            return Expect::Done(outcome);
        }
        if let Some(until) = self.until {
            if now < until {
                return Expect::Sleep(until);
            }
            self.until = None;
        }
        match self.next {
            Next::Submit => Expect::Send(Purpose::Submit),
            Next::Poll if now >= self.deadline && !self.final_poll_sent => {
                self.final_poll_sent = true;
                Expect::Send(Purpose::FinalPoll)
            }
            Next::Poll if now >= self.deadline => self.finish(Outcome::DeadlineExceeded),
            Next::Poll => Expect::Send(Purpose::Poll),
        }
    }

    fn finish(&mut self, outcome: Outcome) -> Expect {
        self.done = Some(outcome);
        Expect::Done(outcome)
    }

    fn elapsed(&self, now: Instant) -> Duration {
        now - self.started
    }

    /// Sleep until `at` (at most the deadline) and then do `next`; an answer at or after the
    /// deadline ends the wait (a submit also ends when its retry would come too late).
    fn schedule(&mut self, now: Instant, at: Instant, next: Next) {
        if now >= self.deadline || (next == Next::Submit && at >= self.deadline) {
            self.done = Some(Outcome::DeadlineExceeded);
            return;
        }
        self.until = Some(at.min(self.deadline));
        self.next = next;
    }

    fn schedule_poll(&mut self, now: Instant) {
        let gap = self
            .policy
            .poll_interval(self.attempt, self.elapsed(now), 0);
        self.schedule(now, now + gap, Next::Poll);
    }

    fn failed(&mut self, now: Instant, cause: RetryCause, next: Next) {
        self.failures += 1;
        if self.failures > self.policy.max_retries {
            self.done = Some(Outcome::RetriesExhausted { last: cause });
            return;
        }
        if next == Next::Poll && now >= self.deadline && !self.final_poll_sent {
            self.next = Next::Poll;
            self.until = None;
            return;
        }
        let wait = self.policy.retry_delay(self.failures, 0);
        self.schedule(now, now + wait, next);
    }

    /// The answer to a request of `purpose`, arriving at `now`.
    fn answered(&mut self, now: Instant, purpose: Purpose, answer: Answer, client_cancel: bool) {
        if client_cancel {
            self.done = Some(Outcome::Cancelled);
            return;
        }
        let timed_out = RetryCause::Transport(TransportError::TimedOut);
        if purpose == Purpose::Submit {
            match answer {
                Answer::Accepted | Answer::State(_) => self.schedule_poll(now),
                Answer::Status(s @ (429 | 503)) => {
                    self.failed(now, RetryCause::Status(s), Next::Submit)
                }
                Answer::Status(401) => self.done = Some(Outcome::AuthRequired { status: 401 }),
                Answer::Status(500 | 502 | 504) => self.done = Some(Outcome::SubmitOutcomeUnknown),
                Answer::Status(s) => self.done = Some(Outcome::Rejected { status: s }),
                Answer::NotFound => self.done = Some(Outcome::Rejected { status: 404 }),
                Answer::Refused => self.failed(
                    now,
                    RetryCause::Transport(TransportError::ConnectFailed),
                    Next::Submit,
                ),
                Answer::Reset | Answer::Stall => self.done = Some(Outcome::SubmitOutcomeUnknown),
            }
            return;
        }
        match answer {
            Answer::Accepted | Answer::State(_) => {
                let state = match answer {
                    Answer::State(s) => s,
                    _ => "running",
                };
                self.seen = true;
                self.failures = 0;
                self.not_found_since = None;
                match state {
                    "success" => self.done = Some(Outcome::Succeeded),
                    "failure" => self.done = Some(Outcome::Failed),
                    _ => {
                        self.attempt += 1;
                        self.schedule_poll(now);
                    }
                }
            }
            Answer::Status(401) => self.done = Some(Outcome::AuthRequired { status: 401 }),
            Answer::Status(s @ (429 | 500..=599)) => {
                self.failed(now, RetryCause::Status(s), Next::Poll)
            }
            Answer::Status(s) => self.done = Some(Outcome::Rejected { status: s }),
            Answer::NotFound => {
                let since = *self.not_found_since.get_or_insert(now);
                if self.seen || now - since >= self.policy.not_found_grace {
                    self.done = Some(Outcome::Expired);
                    return;
                }
                let gap = self
                    .policy
                    .poll_interval(self.attempt, self.elapsed(now), 0);
                self.schedule(now, now + gap, Next::Poll);
            }
            Answer::Refused => self.failed(
                now,
                RetryCause::Transport(TransportError::ConnectFailed),
                Next::Poll,
            ),
            Answer::Reset => self.failed(
                now,
                RetryCause::Transport(TransportError::ReadFailed),
                Next::Poll,
            ),
            Answer::Stall => self.failed(now, timed_out, Next::Poll),
        }
    }
}

fn body_of(purpose: Purpose, answer: Answer) -> Option<Vec<u8>> {
    Some(match (purpose, answer) {
        (Purpose::Submit, Answer::Accepted | Answer::State(_)) => {
            http(202, r#"{"job":{"uuid":"j1"}}"#)
        }
        (_, Answer::Accepted) => http(200, r#"{"uuid":"j1","state":"running"}"#),
        (_, Answer::State(s)) => http(200, &format!(r#"{{"uuid":"j1","state":"{s}"}}"#)),
        (_, Answer::Status(s)) => http(s, r#"{"error":{"message":"m","code":"6"}}"#),
        (_, Answer::NotFound) => http(
            404,
            r#"{"error":{"message":"entry doesn't exist","code":"4","target":"uuid"}}"#,
        ),
        _ => return None,
    })
}

fn check(
    script: Vec<Step>,
    deadline_s: u64,
    max_retries: u8,
    tx_len: usize,
) -> Result<(), TestCaseError> {
    CASES.fetch_add(1, Ordering::Relaxed);
    let cfg = config(deadline_s, max_retries);
    let op = Submit::post("/api/storage/volumes", b"{}");
    let mut now = Instant::from_secs(1000);
    let mut job =
        JobPoller::submit(&cfg, &op, now).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    let mut model = Model::new(cfg.policy, now);
    prop_assert_eq!(job.deadline(), model.deadline);
    let mut tx = vec![0u8; tx_len];
    let mut rx = vec![0u8; 1024];
    let mut steps = script.iter().cycle();
    let mut submit_reached = false;
    let mut final_poll_seen = false;
    let cap = cfg.policy.max_interval.max(cfg.policy.retry_max);
    let mut trace = Vec::new();
    for _ in 0..10_000 {
        STEPS.fetch_add(1, Ordering::Relaxed);
        let action = match job.poll(&cfg, &op, now, &mut tx) {
            Ok(a) => a,
            Err(jobpoll::Error::BufferTooSmall { required }) => {
                prop_assert!(
                    required > tx.len(),
                    "too small for {required} with {}",
                    tx.len()
                );
                tx = vec![0u8; required];
                continue;
            }
            Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
        };
        let want = match action {
            Action::Event(_) | Action::Close => continue,
            _ => model.expect(now),
        };
        trace.push(format!("{} {action:?} / model {want:?}", now.as_millis()));
        let got = match action {
            Action::SendRequest(req) => Expect::Send(req.purpose),
            Action::SleepUntil(t) => Expect::Sleep(t),
            Action::Done(o) => Expect::Done(o),
            _ => unreachable!(),
        };
        prop_assert_eq!(got, want, "trace:\n{}", trace.join("\n"));
        match action {
            Action::SendRequest(req) => {
                prop_assert!(req.len <= tx.len());
                // One request timeout, and no later than one after the overall deadline (unless
                // the request itself is sent after that).
                let timeout = cfg.policy.request_timeout;
                let cap = model.deadline + timeout;
                let want = if now < cap {
                    (now + timeout).min(cap)
                } else {
                    now + timeout
                };
                prop_assert_eq!(req.deadline, want);
                if req.purpose == Purpose::Submit {
                    prop_assert!(
                        !submit_reached,
                        "submit re-sent after it may have reached the server"
                    );
                }
                if req.purpose == Purpose::FinalPoll {
                    prop_assert!(now >= job.deadline());
                    final_poll_seen = true;
                }
                // A second poll while the request is in flight never sends a second one.
                prop_assert!(
                    matches!(job.poll(&cfg, &op, now, &mut tx), Ok(Action::SleepUntil(t)) if t == req.deadline)
                );
                let s = *steps.next().unwrap();
                if req.purpose == Purpose::Submit
                    && !matches!(s.answer, Answer::Refused | Answer::Status(429 | 503))
                {
                    submit_reached = true;
                }
                if s.cancel {
                    job.cancel(now);
                    model.answered(now, req.purpose, s.answer, true);
                    continue;
                }
                now = now + Duration::from_millis(s.latency_ms.min(14_000));
                match s.answer {
                    Answer::Refused => {
                        job.handle_transport_error(&cfg, now, TransportError::ConnectFailed)
                    }
                    Answer::Reset => {
                        job.handle_transport_error(&cfg, now, TransportError::ReadFailed)
                    }
                    Answer::Stall => {
                        now = req.deadline;
                        job.handle_timeout(&cfg, now);
                    }
                    other => {
                        let bytes = body_of(req.purpose, other).unwrap();
                        rx[..bytes.len()].copy_from_slice(&bytes);
                        let r = job
                            .handle_response(&cfg, now, &mut rx, bytes.len())
                            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                        prop_assert!(matches!(r, jobpoll::Received::Complete(_)));
                    }
                }
                prop_assert!(!job.is_request_in_flight());
                if now >= job.deadline() {
                    // An answer at or after the deadline counts as the final look at the job.
                    final_poll_seen = true;
                }
                model.answered(now, req.purpose, s.answer, false);
            }
            Action::SleepUntil(t) => {
                prop_assert!(t > now, "sleep into the past");
                prop_assert!(t - now <= cap, "sleep above the cap");
                prop_assert!(t <= job.deadline(), "sleep past the deadline");
                now = t;
            }
            Action::Done(outcome) => {
                for _ in 0..3 {
                    prop_assert_eq!(
                        job.poll(&cfg, &op, now, &mut tx).ok(),
                        Some(Action::Done(outcome))
                    );
                    now = now + Duration::from_secs(1);
                }
                if outcome == Outcome::DeadlineExceeded && job.job_id().is_some() {
                    prop_assert!(
                        final_poll_seen,
                        "gave up without a poll answered at or after the deadline"
                    );
                }
                return Ok(());
            }
            _ => {}
        }
    }
    Err(TestCaseError::fail("no outcome within the step cap"))
}

#[test]
fn machine_follows_the_model() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 10_000,
        ..ProptestConfig::default()
    });
    let strategy = (
        prop::collection::vec(step(), 1..30),
        1u64..400,
        0u8..6,
        prop_oneof![9 => Just(1024usize), 1 => 16usize..200],
    );
    let result = runner.run(&strategy, |(script, deadline_s, max_retries, tx_len)| {
        check(script, deadline_s, max_retries, tx_len)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    println!(
        "model: {} cases run (shrinking included), {} machine steps checked against the model",
        CASES.load(Ordering::Relaxed),
        STEPS.load(Ordering::Relaxed)
    );
}
