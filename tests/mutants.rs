//! Tests written for mutants of `src/poller.rs` that survived cargo-mutants (see MUTANTS.md):
//! each pins one observable behaviour the other suites did not check directly.

#![cfg(feature = "ontap")]

use std::time::Duration;

use jobpoll::dialect::ontap::OntapOptions;
use jobpoll::http::{Auth, Authority};
use jobpoll::{
    Action, Config, ConfigError, Dialect, Instant, JobPoller, MAX_QUERY_PAIRS, Outcome, Submit,
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

fn answer(job: &mut JobPoller, now: Instant, bytes: Vec<u8>) {
    let mut rx = bytes;
    let n = rx.len();
    job.handle_response(now, &mut rx, n).unwrap();
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
    answer(&mut job, now, http(202, r#"{"job":{"uuid":"j1"}}"#));
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
        let got = job.handle_eof(now, &mut rx, filled);
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
    job.handle_timeout(now);
    job.handle_timeout(Instant::from_millis(req.deadline.as_millis() - 1));
    assert!(job.is_request_in_flight());
    job.handle_timeout(req.deadline);
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
