//! Several jobs from one `jobs[]` answer, followed together over one connection.

#![cfg(feature = "ontap")]

use std::collections::HashMap;

use jobpoll::http::{Auth, Authority};
use jobpoll::{Config, Dialect, Instant, JobPoller, JobSet, Outcome, Policy, SetAction};

fn run(finish_at: &[(&str, u64, &str)]) -> (Outcome, Vec<String>, Vec<Option<Outcome>>) {
    let mut cfg = Config::new(
        Authority {
            host: "h",
            port: 443,
            tls: true,
        },
        Auth::None,
        Dialect::default(),
    );
    cfg.policy = Policy {
        jitter_percent: 0,
        ..Policy::DEFAULT
    };
    let ends: HashMap<&str, (u64, &str)> =
        finish_at.iter().map(|(id, t, s)| (*id, (*t, *s))).collect();
    let mut storage: Vec<JobPoller> = finish_at
        .iter()
        .map(|(id, _, _)| JobPoller::watch(&cfg, id, Instant::ZERO).expect("id"))
        .collect();
    let mut set = JobSet::new(&mut storage);
    let (mut tx, mut rx) = ([0u8; 512], [0u8; 512]);
    let mut now = Instant::ZERO;
    let mut log = Vec::new();
    for _ in 0..10_000 {
        match set.poll(&cfg, now, &mut tx).expect("poll") {
            SetAction::SendRequest { index, request } => {
                let line = String::from_utf8_lossy(&tx[..request.len])
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string();
                let id = line
                    .split('/')
                    .nth(4)
                    .and_then(|s| s.split('?').next())
                    .unwrap_or("")
                    .to_string();
                let (end, last) = ends[id.as_str()];
                let state = if now.as_millis() >= end {
                    last
                } else {
                    "running"
                };
                // Job b2 is purged 300 s after it ends.
                let status = if now.as_millis() >= end + 300_000 {
                    404
                } else {
                    200
                };
                let body = format!(r#"{{"state":"{state}"}}"#);
                let answer = format!(
                    "HTTP/1.1 {status} OK\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                rx[..answer.len()].copy_from_slice(answer.as_bytes());
                log.push(format!("{} {index} {id} {state}", now.as_millis()));
                set.handle_response(&cfg, now, &mut rx, answer.len())
                    .expect("in flight");
            }
            SetAction::SleepUntil(t) => now = t,
            SetAction::Done(outcome) => {
                let each = set.jobs().iter().map(|j| j.outcome()).collect();
                return (outcome, log, each);
            }
            _ => {}
        }
    }
    panic!("no outcome");
}

#[test]
fn mixed_results_are_a_partial_failure() {
    let (outcome, log, _) = run(&[("a1", 3_000, "success"), ("b2", 1_000, "failure")]);
    assert_eq!(outcome, Outcome::PartiallyFailed);
    // Interleaved, one request at a time: watched jobs are polled at once, then 1 s apart.
    assert_eq!(
        log,
        [
            "0 0 a1 running",
            "0 1 b2 running",
            "1000 0 a1 running",
            "1000 1 b2 failure",
            "2000 0 a1 running",
            "3000 0 a1 success"
        ]
    );
}

#[test]
fn all_succeeded() {
    let (outcome, _, each) = run(&[
        ("a", 5_000, "success"),
        ("b", 2_000, "success"),
        ("c", 90_000, "success"),
    ]);
    assert_eq!(outcome, Outcome::Succeeded);
    assert_eq!(each, [Some(Outcome::Succeeded); 3]);
}

#[test]
fn a_short_job_is_seen_before_it_is_purged_while_a_long_one_runs() {
    // b ends at 1 s, a at 20 min: interleaving sees b long before its 300 s purge.
    let (outcome, _, each) = run(&[("a", 1_200_000, "success"), ("b", 1_000, "success")]);
    assert_eq!(
        each[1],
        Some(Outcome::Succeeded),
        "b seen within its retention"
    );
    // a outlives the default 10-minute deadline; the set reports it.
    assert_eq!(each[0], Some(Outcome::DeadlineExceeded));
    assert_eq!(outcome, Outcome::DeadlineExceeded);
}
