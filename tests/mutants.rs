//! Tests written for mutants of `src/poller.rs` (now `src/machine/`) that survived cargo-mutants (see MUTANTS.md):
//! each pins one observable behaviour the other suites did not check directly.

#![cfg(feature = "ontap")]

mod support;

use std::time::Duration;

use jobpoll::dialect::ontap::OntapOptions;
use jobpoll::http::{Auth, Authority, HttpError, RequestError};
use jobpoll::{
    Action, Config, ConfigError, Connection, ConnectionState, Dialect, Event, Instant, JobPoller,
    JobState, MAX_QUERY_PAIRS, Outcome, Purpose, Received, RetryCause, SendRequest, Submit,
    TransportError,
};

fn config() -> Config<'static> {
    Config::new(
        Authority {
            host: "h",
            port: 443,
            tls: true,
        },
        Auth::None,
        Dialect::Ontap(OntapOptions {
            return_timeout: Duration::ZERO,
            ..OntapOptions::DEFAULT
        }),
    )
}

fn http(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Polls until the machine sends or ends; returns the action.
fn next(job: &mut JobPoller, cfg: &Config<'_>, op: &Submit<'_>, now: &mut Instant) -> Action {
    let mut tx = vec![0u8; 2048];
    loop {
        match job.poll(cfg, op, *now, &mut tx).unwrap() {
            Action::Event(_) | Action::Close => {}
            Action::SleepUntil(t) => *now = t,
            other => return other,
        }
    }
}

fn answer(job: &mut JobPoller, cfg: &Config<'_>, now: Instant, bytes: Vec<u8>) {
    let mut rx = bytes;
    let n = rx.len();
    job.handle_response(cfg, now, &mut rx, n).unwrap();
}

#[test]
fn a_job_known_by_its_link_has_the_last_segment_as_id() {
    let cfg = config();
    let op = Submit::post("/api/storage/volumes", b"{}");
    let mut now = Instant::from_secs(1);
    let mut job = JobPoller::submit(&cfg, &op, now).unwrap();
    assert!(matches!(
        next(&mut job, &cfg, &op, &mut now),
        Action::SendRequest(_)
    ));
    answer(
        &mut job,
        &cfg,
        now,
        http(
            202,
            r#"{"job":{"_links":{"self":{"href":"/api/cluster/jobs/j9"}}}}"#,
        ),
    );
    assert_eq!(job.job_id(), Some("j9"));
    assert_eq!(job.job_href(), Some("/api/cluster/jobs/j9"));

    for (watched, id, href) in [
        ("/api/cluster/jobs/j7", "j7", Some("/api/cluster/jobs/j7")),
        ("j7", "j7", None),
    ] {
        let job = JobPoller::watch(&cfg, watched, now).unwrap();
        assert_eq!(job.job_id(), Some(id), "{watched}");
        assert_eq!(job.job_href(), href, "{watched}");
    }
}

#[test]
fn query_pairs_up_to_the_maximum_are_accepted() {
    let cfg = config();
    let pairs: Vec<(&str, &str)> = (0..MAX_QUERY_PAIRS + 12).map(|_| ("k", "v")).collect();
    for n in [0, 1, MAX_QUERY_PAIRS - 1, MAX_QUERY_PAIRS] {
        let op = Submit::post("/api/storage/volumes", b"{}").with_query(&pairs[..n]);
        assert!(
            JobPoller::submit(&cfg, &op, Instant::ZERO).is_ok(),
            "{n} pairs"
        );
    }
    for n in [MAX_QUERY_PAIRS + 1, MAX_QUERY_PAIRS + 12] {
        let op = Submit::post("/api/storage/volumes", b"{}").with_query(&pairs[..n]);
        assert_eq!(
            JobPoller::submit(&cfg, &op, Instant::ZERO).err(),
            Some(ConfigError::TooManyQueryPairs),
            "{n} pairs"
        );
    }
}

#[test]
fn offline_exactly_the_purge_window_is_not_past_it() {
    let cfg = config();
    let window = cfg.policy.purge_window;
    let token = JobPoller::watch(&cfg, "j1", Instant::ZERO)
        .unwrap()
        .resume_token()
        .unwrap();
    for (offline, want_expired) in [(window, false), (window + Duration::from_secs(1), true)] {
        let mut now = Instant::from_secs(10);
        let mut job = JobPoller::resume(&cfg, &token, offline, now).unwrap();
        assert!(matches!(
            next(&mut job, &cfg, &Submit::NONE, &mut now),
            Action::SendRequest(_)
        ));
        answer(
            &mut job,
            &cfg,
            now,
            http(
                404,
                r#"{"error":{"message":"entry doesn't exist","code":"4"}}"#,
            ),
        );
        let after = next(&mut job, &cfg, &Submit::NONE, &mut now);
        assert_eq!(
            after == Action::Done(Outcome::Expired),
            want_expired,
            "offline {offline:?}: {after:?}"
        );
    }
}

#[test]
fn poll_timeout_names_the_next_instant_the_machine_needs() {
    let cfg = config();
    let op = Submit::post("/api/storage/volumes", b"{}");
    let now = Instant::from_secs(1);
    let mut job = JobPoller::submit(&cfg, &op, now).unwrap();
    let mut tx = vec![0u8; 2048];
    let Ok(Action::SendRequest(req)) = job.poll(&cfg, &op, now, &mut tx) else {
        panic!("submit first");
    };
    assert_eq!(job.poll_timeout(), Some(req.deadline));
    answer(&mut job, &cfg, now, http(202, r#"{"job":{"uuid":"j1"}}"#));
    let sleep = loop {
        match job.poll(&cfg, &op, now, &mut tx).unwrap() {
            Action::SleepUntil(t) => break t,
            Action::Event(_) | Action::Close => {}
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(job.poll_timeout(), Some(sleep));
    job.cancel(now);
    assert!(matches!(
        job.poll(&cfg, &op, now, &mut tx),
        Ok(Action::Done(Outcome::Cancelled))
    ));
    assert_eq!(job.poll_timeout(), None);
}

#[test]
fn end_of_stream_accepts_a_full_buffer_and_refuses_beyond_it() {
    let cfg = config();
    let op = Submit::post("/api/storage/volumes", b"{}");
    // A close-delimited answer that fills the receive buffer exactly.
    let body = r#"{"job":{"uuid":"j1"}}"#;
    let whole = format!("HTTP/1.1 202 Accepted\r\nConnection: close\r\n\r\n{body}").into_bytes();
    for (filled, ok) in [(whole.len(), true), (whole.len() + 1, false)] {
        let mut now = Instant::from_secs(1);
        let mut job = JobPoller::submit(&cfg, &op, now).unwrap();
        assert!(matches!(
            next(&mut job, &cfg, &op, &mut now),
            Action::SendRequest(_)
        ));
        let mut rx = whole.clone();
        let got = job.handle_eof(&cfg, now, &mut rx, filled);
        if ok {
            assert!(matches!(got, Ok(jobpoll::Received::Complete(_))), "{got:?}");
            assert_eq!(job.job_id(), Some("j1"));
        } else {
            assert_eq!(got.err(), Some(jobpoll::Error::FilledBeyondBuffer));
        }
    }
}

#[test]
fn a_timer_before_the_request_deadline_changes_nothing() {
    let cfg = config();
    let op = Submit::post("/api/storage/volumes", b"{}");
    let mut now = Instant::from_secs(1);
    let mut job = JobPoller::submit(&cfg, &op, now).unwrap();
    let Action::SendRequest(req) = next(&mut job, &cfg, &op, &mut now) else {
        panic!("submit first");
    };
    job.handle_timeout(&cfg, now);
    job.handle_timeout(&cfg, Instant::from_millis(req.deadline.as_millis() - 1));
    assert!(job.is_request_in_flight());
    job.handle_timeout(&cfg, req.deadline);
    assert!(!job.is_request_in_flight());
}

#[test]
fn a_clock_step_backwards_is_reported_once_per_episode() {
    let cfg = config();
    let mut job = JobPoller::watch(&cfg, "j1", Instant::from_secs(100)).unwrap();
    let mut tx = vec![0u8; 2048];
    // Polls at `secs` and tells whether the step back was reported.
    let mut reported = |secs: u64| {
        let mut seen = false;
        loop {
            match job
                .poll(&cfg, &Submit::NONE, Instant::from_secs(secs), &mut tx)
                .unwrap()
            {
                Action::Event(jobpoll::Event::ClockWentBackwards) => seen = true,
                Action::Event(_) => {}
                _ => return seen,
            }
        }
    };
    assert!(!reported(100)); // sends the first poll; it stays in flight from here on
    assert!(reported(90));
    assert!(!reported(90));
    assert!(!reported(100)); // back at the latest time, not past it: the same episode
    assert!(!reported(95));
    assert!(!reported(101)); // time moves forward: the episode is over
    assert!(reported(95));
}

#[test]
fn a_long_job_id_is_polled_and_cancelled() {
    let mut cfg = config();
    cfg.dialect = Dialect::Ontap(OntapOptions {
        return_timeout: Duration::ZERO,
        cancel_on_deadline: false,
        confirm_with_get: false,
    });
    // Longer than the 64 bytes of path room beyond the id that the writers reserve.
    let id = "a".repeat(100);
    let mut now = Instant::from_secs(1);
    let mut job = JobPoller::watch(&cfg, &id, now).unwrap();
    let mut tx = vec![0u8; 2048];
    let Ok(Action::SendRequest(req)) = job.poll(&cfg, &Submit::NONE, now, &mut tx) else {
        panic!("a poll of the long id");
    };
    let line = String::from_utf8_lossy(&tx[..req.len]).to_string();
    assert!(
        line.starts_with(&format!("GET /api/cluster/jobs/{id}?")),
        "{line}"
    );
    answer(
        &mut job,
        &cfg,
        now,
        http(200, &format!(r#"{{"uuid":"{id}","state":"running"}}"#)),
    );
    job.request_server_cancel(now).unwrap();
    let cancel = loop {
        match job.poll(&cfg, &Submit::NONE, now, &mut tx).unwrap() {
            Action::SendRequest(req) => break req,
            Action::SleepUntil(t) => now = t,
            Action::Event(_) | Action::Close => {}
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(cancel.purpose, jobpoll::Purpose::Cancel);
    let line = String::from_utf8_lossy(&tx[..cancel.len]).to_string();
    assert!(
        line.starts_with(&format!("PATCH /api/cluster/jobs/{id}?")),
        "{line}"
    );
}

// ------------------------------------------------------------ connection reuse, unreadable answers

const RUNNING: &str = r#"{"uuid":"j1","state":"running"}"#;

/// An answer that keeps the connection open for `idle_secs` (`Keep-Alive: timeout=`).
fn kept_alive(status: u16, body: &str, idle_secs: u32) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\nKeep-Alive: timeout={idle_secs}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Polls at the fixed `now` until the machine sends, sleeps or ends; returns every action.
fn drain(job: &mut JobPoller, cfg: &Config<'_>, now: Instant) -> Vec<Action> {
    let mut tx = vec![0u8; 2048];
    let mut seen = Vec::new();
    loop {
        let action = job.poll(cfg, &Submit::NONE, now, &mut tx).unwrap();
        seen.push(action);
        if !matches!(action, Action::Event(_) | Action::Close) {
            return seen;
        }
    }
}

/// The request the last action of `actions` sends.
fn sent(actions: &[Action]) -> SendRequest {
    match actions.last() {
        Some(Action::SendRequest(req)) => *req,
        other => panic!("no request: {other:?} after {actions:?}"),
    }
}

/// A watched job whose first poll was answered `running` at one second, the connection kept
/// open for `idle_secs`.
fn polled_once(cfg: &Config<'_>, idle_secs: u32) -> JobPoller {
    let now = Instant::from_secs(1);
    let mut job = JobPoller::watch(cfg, "j1", now).unwrap();
    assert_eq!(
        sent(&drain(&mut job, cfg, now)).connection,
        Connection::Fresh
    );
    answer(&mut job, cfg, now, kept_alive(200, RUNNING, idle_secs));
    job
}

#[test]
fn a_cancel_reuses_the_connection_only_before_its_idle_time_ends() {
    let cfg = config();
    // Kept open for 5 s from the answer at 1 s: reusable up to, not at, 6 s.
    for (at, want) in [
        (1, Connection::Reuse),
        (5, Connection::Reuse),
        (6, Connection::Fresh),
        (7, Connection::Fresh),
    ] {
        let mut job = polled_once(&cfg, 5);
        let now = Instant::from_secs(at);
        job.request_server_cancel(now).unwrap();
        let req = sent(&drain(&mut job, &cfg, now));
        assert_eq!(req.purpose, Purpose::Cancel, "at {at} s");
        assert_eq!(req.connection, want, "cancel at {at} s");
    }
}

#[test]
fn a_poll_reuses_the_connection_only_before_its_idle_time_ends() {
    let cfg = config();
    let first = Instant::from_secs(1);
    // The next poll is due within the 30 s maximum interval, well before the idle end at 61 s.
    let mut job = polled_once(&cfg, 60);
    let Some(Action::SleepUntil(due)) = drain(&mut job, &cfg, first).last().copied() else {
        panic!("a sleep before the next poll");
    };
    assert!(due < Instant::from_secs(61), "{due:?}");
    let req = sent(&drain(&mut job, &cfg, due));
    assert_eq!(
        (req.purpose, req.connection),
        (Purpose::Poll, Connection::Reuse)
    );

    for at in [61, 62] {
        let mut job = polled_once(&cfg, 60);
        drain(&mut job, &cfg, first);
        let now = Instant::from_secs(at);
        let req = sent(&drain(&mut job, &cfg, now));
        assert_eq!(req.connection, Connection::Fresh, "poll at {at} s");
        // The expired connection is forgotten when the fresh one is asked for.
        assert_eq!(
            job.connection_state(),
            ConnectionState::CLOSED,
            "poll at {at} s"
        );
        // An unreadable answer ends the fresh connection too: the machine says `Close`.
        answer_invalid(&mut job, &cfg, now);
        let after = drain(&mut job, &cfg, now);
        assert!(after.contains(&Action::Close), "poll at {at} s: {after:?}");
        assert_eq!(retry_cause(&after), Some(RetryCause::InvalidResponse));
    }
}

/// Bytes that are no HTTP answer.
fn answer_invalid(job: &mut JobPoller, cfg: &Config<'_>, now: Instant) {
    let mut rx = b"SMTP ready\r\n\r\n".to_vec();
    let n = rx.len();
    let got = job.handle_response(cfg, now, &mut rx, n).unwrap();
    assert!(matches!(got, Received::Invalid(_)), "{got:?}");
}

/// The peer closes after `bytes` (nothing at all, or a cut answer).
fn answer_eof(job: &mut JobPoller, cfg: &Config<'_>, now: Instant, bytes: &[u8]) -> HttpError {
    let mut rx = bytes.to_vec();
    rx.resize(bytes.len() + 64, 0);
    match job.handle_eof(cfg, now, &mut rx, bytes.len()).unwrap() {
        Received::Invalid(e) => e,
        other => panic!("{other:?}"),
    }
}

fn retry_cause(actions: &[Action]) -> Option<RetryCause> {
    actions.iter().find_map(|a| match a {
        Action::Event(Event::Retrying { cause, .. }) => Some(*cause),
        _ => None,
    })
}

#[test]
fn no_answer_on_a_new_connection_is_a_failed_read_not_a_stale_connection() {
    let cfg = config();
    let cut = kept_alive(200, RUNNING, 60);
    for (bytes, error) in [
        (&[][..], HttpError::NoResponse),
        (&cut[..cut.len() - 3], HttpError::Truncated),
    ] {
        let now = Instant::from_secs(1);
        let mut job = JobPoller::watch(&cfg, "j1", now).unwrap();
        assert_eq!(
            sent(&drain(&mut job, &cfg, now)).connection,
            Connection::Fresh
        );
        assert_eq!(answer_eof(&mut job, &cfg, now, bytes), error);
        assert_eq!(
            retry_cause(&drain(&mut job, &cfg, now)),
            Some(RetryCause::Transport(TransportError::ReadFailed)),
            "{error:?}"
        );
    }
}

#[test]
fn a_stale_connection_is_retried_at_once_only_once() {
    let cfg = config();
    let mut job = polled_once(&cfg, 60);
    let due = match drain(&mut job, &cfg, Instant::from_secs(1)).last() {
        Some(Action::SleepUntil(t)) => *t,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        sent(&drain(&mut job, &cfg, due)).connection,
        Connection::Reuse
    );
    assert_eq!(answer_eof(&mut job, &cfg, due, b""), HttpError::NoResponse);
    let redo = drain(&mut job, &cfg, due);
    assert_eq!(retry_cause(&redo), Some(RetryCause::StaleConnection));
    assert_eq!(sent(&redo).connection, Connection::Fresh);
    // No answer on the fresh connection either: a failure, with its backoff.
    assert_eq!(answer_eof(&mut job, &cfg, due, b""), HttpError::NoResponse);
    let after = drain(&mut job, &cfg, due);
    assert_eq!(
        retry_cause(&after),
        Some(RetryCause::Transport(TransportError::ReadFailed))
    );
    assert!(
        matches!(after.last(), Some(Action::SleepUntil(_))),
        "{after:?}"
    );
}

/// A configuration whose decoded bodies may not exceed 64 bytes, and whose deadline is 20 s.
fn small_bodies() -> Config<'static> {
    let mut cfg = config();
    cfg.http_limits.max_body_len = 64;
    cfg.policy.deadline = Duration::from_secs(20);
    cfg
}

fn oversize() -> Vec<u8> {
    let body = format!(
        r#"{{"uuid":"j1","state":"running","message":"{}"}}"#,
        "x".repeat(64)
    );
    http(200, &body)
}

#[test]
fn fewer_fields_are_asked_for_once_then_an_oversize_answer_is_a_failure() {
    let cfg = small_bodies();
    let now = Instant::from_secs(1);
    let mut job = JobPoller::watch(&cfg, "j1", now).unwrap();
    sent(&drain(&mut job, &cfg, now));
    answer(&mut job, &cfg, now, oversize());
    let redo = drain(&mut job, &cfg, now);
    assert!(
        redo.contains(&Action::Event(Event::FieldsReduced)),
        "{redo:?}"
    );
    assert_eq!(sent(&redo).purpose, Purpose::Poll);
    answer(&mut job, &cfg, now, oversize());
    let after = drain(&mut job, &cfg, now);
    assert!(
        !after.contains(&Action::Event(Event::FieldsReduced)),
        "{after:?}"
    );
    assert_eq!(retry_cause(&after), Some(RetryCause::InvalidResponse));
}

#[test]
fn a_final_poll_redone_with_fewer_fields_is_still_the_final_poll() {
    let cfg = small_bodies();
    let start = Instant::from_secs(1);
    let mut job = JobPoller::watch(&cfg, "j1", start).unwrap();
    sent(&drain(&mut job, &cfg, start));
    answer(&mut job, &cfg, start, http(200, RUNNING));
    assert!(matches!(
        drain(&mut job, &cfg, start).last(),
        Some(Action::SleepUntil(_))
    ));
    // Past the deadline: the final poll, answered too large for the buffer.
    let end = Instant::from_secs(21);
    let last = drain(&mut job, &cfg, end);
    assert_eq!(sent(&last).purpose, Purpose::FinalPoll, "{last:?}");
    answer(&mut job, &cfg, end, oversize());
    let redo = drain(&mut job, &cfg, end);
    assert!(
        redo.contains(&Action::Event(Event::FieldsReduced)),
        "{redo:?}"
    );
    assert_eq!(sent(&redo).purpose, Purpose::FinalPoll, "{redo:?}");
    answer(&mut job, &cfg, end, http(200, r#"{"state":"success"}"#));
    assert_eq!(
        drain(&mut job, &cfg, end).last(),
        Some(&Action::Done(Outcome::Succeeded))
    );
}

// ------------------------------------------------------------------- states, ids, submit answers

/// A watched job whose polls get `bodies` (status 200) in turn; every action seen on the way.
fn polls_answered(cfg: &Config<'_>, bodies: &[&str]) -> (JobPoller, Vec<Action>) {
    let mut now = Instant::from_secs(1);
    let mut job = JobPoller::watch(cfg, "j1", now).unwrap();
    let mut seen = Vec::new();
    for body in bodies {
        let actions = drain(&mut job, cfg, now);
        sent(&actions);
        seen.extend(actions);
        answer(&mut job, cfg, now, http(200, body));
        let actions = drain(&mut job, cfg, now);
        if let Some(Action::SleepUntil(t)) = actions.last() {
            now = *t;
        }
        seen.extend(actions);
    }
    (job, seen)
}

fn state_events(actions: &[Action]) -> Vec<Event> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Event(e @ (Event::StateChanged(_) | Event::UnknownState)) => Some(*e),
            _ => None,
        })
        .collect()
}

#[test]
fn a_new_state_text_is_reported_even_when_it_maps_to_the_same_state() {
    let cfg = config();
    let (job, seen) = polls_answered(
        &cfg,
        &[
            r#"{"uuid":"j1","state":"weird1"}"#,
            r#"{"uuid":"j1","state":"weird1"}"#,
            r#"{"uuid":"j1","state":"weird2"}"#,
        ],
    );
    let unknown = [Event::StateChanged(JobState::Unknown), Event::UnknownState];
    assert_eq!(state_events(&seen), [unknown, unknown].concat());
    assert_eq!(job.last_seen().raw_state, "weird2");
}

#[test]
fn an_escaped_state_text_is_compared_by_its_meaning() {
    let cfg = config();
    // The same text written with an escape twice: one change.
    let (job, seen) = polls_answered(
        &cfg,
        &[
            r#"{"uuid":"j1","state":"runn\u0069ng"}"#,
            r#"{"uuid":"j1","state":"runn\u0069ng"}"#,
        ],
    );
    assert_eq!(
        state_events(&seen),
        [Event::StateChanged(JobState::Running)]
    );
    assert_eq!(job.last_seen().raw_state, "running");

    // An escaped text whose raw bytes equal the previous text's meaning is still new.
    let (job, seen) = polls_answered(
        &cfg,
        &[
            r#"{"uuid":"j1","state":"x\\u0079"}"#,
            r#"{"uuid":"j1","state":"x\u0079"}"#,
        ],
    );
    let unknown = [Event::StateChanged(JobState::Unknown), Event::UnknownState];
    assert_eq!(state_events(&seen), [unknown, unknown].concat());
    assert_eq!(job.last_seen().raw_state, "xy");
}

#[cfg(feature = "aiqum")]
#[test]
fn the_same_state_text_from_another_field_can_be_another_state() {
    use jobpoll::dialect::aiqum::AiqumOptions;
    let mut cfg = config();
    cfg.dialect = Dialect::Aiqum(AiqumOptions::DEFAULT);
    // Unified Manager: `running` as the lifecycle state, then as the status of a completed job
    // (not an outcome the dialect knows): the same text, another state.
    let (job, seen) = polls_answered(
        &cfg,
        &[
            r#"{"key":"j1","state":"running","status":"normal"}"#,
            r#"{"key":"j1","state":"completed","status":"running"}"#,
        ],
    );
    assert_eq!(
        state_events(&seen),
        [
            Event::StateChanged(JobState::Running),
            Event::StateChanged(JobState::Unknown),
            Event::UnknownState,
        ]
    );
    assert_eq!(job.last_seen().state, Some(JobState::Unknown));
    assert_eq!(job.last_seen().raw_state, "running");
}

/// A job submitted at one second whose submit is answered with `status` and `body`.
fn submitted(cfg: &Config<'_>, status: u16, body: &str) -> (JobPoller, Vec<Action>) {
    let op = Submit::post("/api/storage/volumes", b"{}");
    let now = Instant::from_secs(1);
    let mut job = JobPoller::submit(cfg, &op, now).unwrap();
    let mut tx = vec![0u8; 2048];
    let Ok(Action::SendRequest(req)) = job.poll(cfg, &op, now, &mut tx) else {
        panic!("submit first");
    };
    assert_eq!(req.purpose, Purpose::Submit);
    answer(&mut job, cfg, now, http(status, body));
    let mut seen = Vec::new();
    loop {
        let action = job.poll(cfg, &op, now, &mut tx).unwrap();
        seen.push(action);
        if !matches!(action, Action::Event(_) | Action::Close) {
            return (job, seen);
        }
    }
}

#[test]
fn a_uuid_that_is_a_path_is_not_an_id() {
    let cfg = config();
    let (job, seen) = submitted(&cfg, 202, r#"{"job":{"uuid":"/api/cluster/jobs/j1"}}"#);
    assert_eq!(
        seen.last(),
        Some(&Action::Done(Outcome::SubmitOutcomeUnknown))
    );
    assert_eq!(job.job_id(), None);
    // With a link beside it, the link names the job.
    let (job, _) = submitted(
        &cfg,
        202,
        r#"{"job":{"uuid":"/j1","_links":{"self":{"href":"/api/cluster/jobs/j2"}}}}"#,
    );
    assert_eq!(job.job_href(), Some("/api/cluster/jobs/j2"));
}

#[test]
fn a_standard_link_keeps_the_id_and_any_other_link_is_followed() {
    let cfg = config();
    let (job, _) = submitted(
        &cfg,
        202,
        r#"{"job":{"uuid":"j1","_links":{"self":{"href":"/api/cluster/jobs/j1"}}}}"#,
    );
    assert_eq!((job.job_id(), job.job_href()), (Some("j1"), None));
    let (job, _) = submitted(
        &cfg,
        202,
        r#"{"job":{"uuid":"j1","_links":{"self":{"href":"/api/cluster/jobs/j1/alias"}}}}"#,
    );
    assert_eq!(
        (job.job_id(), job.job_href()),
        (Some("alias"), Some("/api/cluster/jobs/j1/alias"))
    );
    // A link outside the job path is never followed: the id is.
    let (job, _) = submitted(
        &cfg,
        202,
        r#"{"job":{"uuid":"j1","_links":{"self":{"href":"/api/other/jobs/j1"}}}}"#,
    );
    assert_eq!((job.job_id(), job.job_href()), (Some("j1"), None));
}

#[test]
fn a_link_is_followed_without_its_query_and_fragment() {
    let cfg = config();
    for href in [
        "/api/cluster/jobs/j3?return_records=true",
        "/api/cluster/jobs/j3#top",
        "/api/cluster/jobs/j3?return_records=true#top",
    ] {
        let body = format!(r#"{{"job":{{"_links":{{"self":{{"href":"{href}"}}}}}}}}"#);
        let (job, _) = submitted(&cfg, 202, &body);
        assert_eq!(job.job_href(), Some("/api/cluster/jobs/j3"), "{href}");
    }
}

#[test]
fn an_unreadable_success_answer_to_the_submit() {
    let cfg = config();
    let (_, seen) = submitted(&cfg, 202, "not json");
    assert_eq!(
        seen.last(),
        Some(&Action::Done(Outcome::SubmitOutcomeUnknown))
    );
    let (_, seen) = submitted(&cfg, 201, "not json");
    assert_eq!(
        seen.last(),
        Some(&Action::Done(Outcome::CompletedWithoutJob { status: 201 }))
    );
}

// ------------------------------------------------------------------------------- decide, schedule

#[cfg(feature = "deploy")]
#[test]
fn a_deploy_job_accepted_without_a_change_marker_is_polled_after_the_interval() {
    use jobpoll::dialect::deploy::DeployOptions;
    let mut cfg = support::test_config();
    cfg.dialect = Dialect::Deploy(DeployOptions::DEFAULT);
    let op = Submit::post("/api/v3/clusters", b"{}");
    // No `last_modified` to hold a long poll on: the first poll waits the normal interval.
    let script = vec![
        support::step(
            "POST /api/v3/clusters",
            support::ok_json(200, 202, r#"{"job":{"id":"d1"}}"#),
        ),
        support::step(
            "GET /api/jobs/d1?",
            support::ok_json(0, 200, r#"{"record":{"id":"d1","state":"success"}}"#),
        ),
    ];
    let run = support::run(&cfg, &op, script);
    assert_eq!(run.outcome, Outcome::Succeeded);
    let get = run.timeline.iter().find(|l| l.contains(" GET ")).unwrap();
    assert!(get.starts_with("1.200 GET "), "{:#?}", run.timeline);
}

#[test]
fn a_link_that_is_only_the_root_names_no_job() {
    let cfg = config();
    for href in ["/", "/#top", "/?x=1"] {
        let body = format!(r#"{{"job":{{"_links":{{"self":{{"href":"{href}"}}}}}}}}"#);
        let (job, seen) = submitted(&cfg, 202, &body);
        assert_eq!(
            seen.last(),
            Some(&Action::Done(Outcome::SubmitOutcomeUnknown)),
            "{href}"
        );
        assert_eq!(job.job_href(), None, "{href}");
    }
}

// --------------------------------------------------------------------------------- submit writer

#[test]
fn a_submit_is_checked_when_it_is_made() {
    let cfg = config();
    let op = Submit::post("api/storage/volumes", b"{}");
    assert_eq!(
        JobPoller::submit(&cfg, &op, Instant::ZERO).err(),
        Some(ConfigError::Request(RequestError::InvalidPath))
    );
    let headers = [("X-Note", "a\r\nb")];
    let mut bad = config();
    bad.headers = &headers;
    let op = Submit::post("/api/storage/volumes", b"{}");
    assert!(matches!(
        JobPoller::submit(&bad, &op, Instant::ZERO),
        Err(ConfigError::Request(RequestError::InvalidByte { .. }))
    ));
}

#[test]
fn the_most_query_pairs_go_out_with_the_hold() {
    let mut cfg = config();
    cfg.dialect = Dialect::Ontap(OntapOptions {
        return_timeout: Duration::from_secs(7),
        ..OntapOptions::DEFAULT
    });
    let names: Vec<String> = (0..MAX_QUERY_PAIRS).map(|i| format!("k{i}")).collect();
    let pairs: Vec<(&str, &str)> = names.iter().map(|k| (k.as_str(), "v")).collect();
    let op = Submit::post("/api/storage/volumes", b"{}").with_query(&pairs);
    let now = Instant::from_secs(1);
    let mut job = JobPoller::submit(&cfg, &op, now).unwrap();
    let mut tx = vec![0u8; 2048];
    let Ok(Action::SendRequest(req)) = job.poll(&cfg, &op, now, &mut tx) else {
        panic!("submit first");
    };
    let text = String::from_utf8_lossy(&tx[..req.len]).to_string();
    let line = text.lines().next().unwrap();
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(
        line,
        format!(
            "POST /api/storage/volumes?{}&return_timeout=7 HTTP/1.1",
            query.join("&")
        )
    );
}

// ------------------------------------------------------------------------------- extend_deadline

#[test]
fn the_deadline_is_extended_only_to_a_later_instant() {
    let mut cfg = config();
    cfg.policy.deadline = Duration::from_secs(20);
    let mut job = JobPoller::watch(&cfg, "j1", Instant::from_secs(1)).unwrap();
    assert_eq!(job.deadline(), Instant::from_secs(21));
    job.extend_deadline(Instant::from_secs(5), Duration::from_secs(30));
    assert_eq!(job.deadline(), Instant::from_secs(35));
    job.extend_deadline(Instant::from_secs(6), Duration::from_secs(10));
    assert_eq!(job.deadline(), Instant::from_secs(35));
}

#[test]
fn extending_the_deadline_to_itself_does_not_allow_a_second_final_poll() {
    let mut cfg = config();
    cfg.policy.deadline = Duration::from_secs(20);
    let start = Instant::from_secs(1);
    let mut job = JobPoller::watch(&cfg, "j1", start).unwrap();
    sent(&drain(&mut job, &cfg, start));
    answer(&mut job, &cfg, start, http(200, RUNNING));
    drain(&mut job, &cfg, start);
    let end = Instant::from_secs(21);
    assert_eq!(
        sent(&drain(&mut job, &cfg, end)).purpose,
        Purpose::FinalPoll
    );
    // Not later than the deadline: no change, so the final poll stays sent.
    job.extend_deadline(end, Duration::ZERO);
    assert_eq!(job.deadline(), end);
    answer(&mut job, &cfg, end, http(503, ""));
    assert_eq!(
        drain(&mut job, &cfg, end).last(),
        Some(&Action::Done(Outcome::DeadlineExceeded))
    );
}

#[test]
fn a_configuration_changed_between_polls_is_checked_again() {
    let cfg = config();
    let headers = [("X-Note", "a\r\nInjected: 1")];
    let mut bad = config();
    bad.headers = &headers;
    let start = Instant::from_secs(1);
    let mut job = JobPoller::watch(&cfg, "j1", start).unwrap();
    sent(&drain(&mut job, &cfg, start));
    answer(&mut job, &cfg, start, http(200, RUNNING));
    let Some(Action::SleepUntil(due)) = drain(&mut job, &cfg, start).last().copied() else {
        panic!("a sleep before the next poll");
    };
    let mut tx = vec![0u8; 2048];
    assert!(matches!(
        job.poll(&bad, &Submit::NONE, due, &mut tx),
        Err(jobpoll::Error::Config(ConfigError::Request(
            RequestError::InvalidByte { .. }
        )))
    ));
    // Back to the valid configuration: the poll goes out.
    assert_eq!(sent(&drain(&mut job, &cfg, due)).purpose, Purpose::Poll);
}

#[cfg(feature = "deploy")]
#[test]
fn a_job_path_beyond_the_path_buffer_is_refused() {
    use jobpoll::dialect::deploy::DeployOptions;
    use jobpoll::{Error, MAX_JOB_REF};
    // The path room is the longest id with every byte percent-encoded plus 64 bytes: a base
    // path of 80 bytes and the longest such id do not fit; a short id does.
    let base: &'static str = Box::leak(format!("/{}", "b".repeat(79)).into_boxed_str());
    let mut cfg = config();
    cfg.dialect = Dialect::Deploy(DeployOptions {
        base_path: base,
        ..DeployOptions::DEFAULT
    });
    let mut tx = vec![0u8; 2048];
    let now = Instant::from_secs(1);
    let mut job = JobPoller::watch(&cfg, &"?".repeat(MAX_JOB_REF), now).unwrap();
    assert_eq!(
        job.poll(&cfg, &Submit::NONE, now, &mut tx).err(),
        Some(Error::Config(ConfigError::JobRefLength))
    );
    let mut job = JobPoller::watch(&cfg, "d1", now).unwrap();
    assert_eq!(sent(&drain(&mut job, &cfg, now)).purpose, Purpose::Poll);
}
