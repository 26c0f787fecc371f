//! ONTAP scenarios in virtual time, each with its exact timeline.
//!
//! Every instant below is derived by hand from the documented defaults (`Policy::DEFAULT`, with
//! jitter off, `return_timeout` 30 s): the first gap after an answer is
//! `min(30 s, max(1 s, min(1 s * 1.5^n, 10 % of the time since the submit)))`, where n is the
//! number of polls answered so far; a failed request waits 1 s, 2 s, 4 s ... (cap 30 s) unless
//! the server's `Retry-After` says otherwise; a request times out 15 s (plus any server hold)
//! after it is sent.

#![cfg(feature = "ontap")]

mod support;

use std::time::Duration;

use jobpoll::{Action, Event, Instant, JobPoller, JobState, Outcome, Policy, RetryCause, Submit};
use support::*;

const POST: &str = "POST /api/storage/volumes?return_timeout=30";
const GET: &str = "GET /api/cluster/jobs/u1?fields=state,message,code";
const BODY: &[u8] = br#"{"name":"vol1","svm":{"name":"vs1"},"aggregates":[{"name":"aggr1"}]}"#;
const ACCEPTED: &str = r#"{"job":{"uuid":"u1","_links":{"self":{"href":"/api/cluster/jobs/u1"}}}}"#;

fn op() -> Submit<'static> {
    Submit::post("/api/storage/volumes", BODY)
}

fn job(state: &str) -> String {
    format!(
        r#"{{"uuid":"u1","description":"POST /api/storage/volumes","state":"{state}","message":"m-{state}","code":0}}"#
    )
}

fn accepted_after(ms: u64) -> Step {
    step(POST, ok_json(ms, 202, ACCEPTED))
}

fn poll(state: &str) -> Step {
    step(GET, ok_json(0, 200, &job(state)))
}

fn lines(run: &Run) -> Vec<&str> {
    run.timeline.iter().map(String::as_str).collect()
}

#[test]
fn synchronous_200_with_job_link_sends_no_get() {
    let run = run(
        &test_config(),
        &op(),
        vec![step(POST, ok_json(4_000, 200, ACCEPTED))],
    );
    assert_eq!(
        lines(&run),
        [
            "0.000 POST /api/storage/volumes?return_timeout=30",
            "4.000 Event(Accepted)",
            "4.000 done Succeeded",
        ]
    );
    assert_eq!(run.requests, 1);
    assert_eq!(run.poller.job_id(), Some("u1"));
}

#[test]
fn synchronous_200_with_finished_job_state() {
    let body = r#"{"job":{"uuid":"u1","state":"failure","message":"no space","code":"917927"}}"#;
    let run = run(
        &test_config(),
        &op(),
        vec![step(POST, ok_json(2_000, 200, body))],
    );
    assert_eq!(run.outcome, Outcome::Failed);
    assert_eq!(run.poller.last_seen().code, Some(917_927));
    assert_eq!(run.messages, ["no space"]);
}

#[test]
fn synchronous_201_without_job() {
    let run = run(
        &test_config(),
        &op(),
        vec![step(POST, ok_json(300, 201, "{}"))],
    );
    assert_eq!(run.outcome, Outcome::CompletedWithoutJob { status: 201 });
    assert_eq!(run.poller.job_id(), None);
    assert!(run.poller.resume_token().is_none());
}

#[test]
fn confirm_option_sends_one_get_after_a_link_only_200() {
    let mut cfg = test_config();
    cfg.dialect = jobpoll::Dialect::Ontap(jobpoll::dialect::ontap::OntapOptions {
        confirm_with_get: true,
        ..Default::default()
    });
    let run = run(
        &cfg,
        &op(),
        vec![step(POST, ok_json(4_000, 200, ACCEPTED)), poll("success")],
    );
    assert_eq!(run.outcome, Outcome::Succeeded);
    assert_eq!(
        run.timeline[2],
        "4.000 GET /api/cluster/jobs/u1?fields=state,message,code"
    );
}

#[test]
fn accepted_then_queued_running_success() {
    // 202 after the 30 s hold; gaps: 1 s (10 % of 30 s = 3 s > 1 s), then 1.5 s
    // (10 % of 31 s = 3.1 s), then 2.25 s (10 % of 32.5 s = 3.25 s).
    let script = vec![
        accepted_after(30_000),
        poll("queued"),
        poll("running"),
        poll("success"),
    ];
    let run = run(&test_config(), &op(), script);
    assert_eq!(
        lines(&run),
        [
            "0.000 POST /api/storage/volumes?return_timeout=30",
            "30.000 Event(Accepted)",
            "31.000 GET /api/cluster/jobs/u1?fields=state,message,code",
            "31.000 Event(StateChanged(Pending))",
            "32.500 GET /api/cluster/jobs/u1?fields=state,message,code",
            "32.500 Event(StateChanged(Running))",
            "34.750 GET /api/cluster/jobs/u1?fields=state,message,code",
            "34.750 Event(StateChanged(Succeeded))",
            "34.750 done Succeeded",
        ]
    );
    assert_eq!(run.requests, 4);
    assert_eq!(run.messages, ["m-queued", "m-running", "m-success"]);
    // The submit on a fresh connection, which the polls then reuse (keep-alive).
    assert_eq!(run.connections, 1);
    let seen = run.poller.last_seen();
    assert_eq!(
        (seen.job_id, seen.state, seen.raw_state, seen.code),
        (Some("u1"), Some(JobState::Succeeded), "success", Some(0))
    );
}

#[test]
fn failure_with_code_and_escaped_message() {
    let body = r#"{"uuid":"u1","state":"failure","message":"Snapshot copy \"s1\" of volume \"v\" is locked \ud83d\udd12","code":1638555}"#;
    let run = run(
        &test_config(),
        &op(),
        vec![accepted_after(30_000), step(GET, ok_json(0, 200, body))],
    );
    assert_eq!(run.outcome, Outcome::Failed);
    assert_eq!(run.poller.last_seen().code, Some(1_638_555));
    assert_eq!(
        run.messages,
        ["Snapshot copy \"s1\" of volume \"v\" is locked \u{1F512}"]
    );
    assert_eq!(run.end, Instant::from_secs(31));
}

#[test]
fn paused_then_resumed() {
    // Polls at 31, 32.5, 34.75 as above, then 3.375 s (1.5^3; 10 % of 34.75 s is 3.475 s).
    let script = vec![
        accepted_after(30_000),
        poll("paused"),
        poll("paused"),
        poll("running"),
        poll("success"),
    ];
    let run = run(&test_config(), &op(), script);
    assert_eq!(run.outcome, Outcome::Succeeded);
    let t = lines(&run);
    assert!(t.contains(&"31.000 Event(StateChanged(Paused))"));
    assert!(t.contains(&"34.750 Event(StateChanged(Running))"));
    assert_eq!(
        t.iter().filter(|l| l.contains("Paused")).count(),
        1,
        "a repeated state is not an event"
    );
    assert_eq!(run.end.as_millis(), 38_125);
}

#[test]
fn paused_with_stop_policy() {
    let mut cfg = test_config();
    cfg.policy.on_paused = jobpoll::PausedPolicy::Stop;
    let run = run(&cfg, &op(), vec![accepted_after(30_000), poll("paused")]);
    assert_eq!(run.outcome, Outcome::Paused);
}

#[test]
fn unknown_state_is_reported_and_polled_with_backoff() {
    let script = vec![accepted_after(30_000), poll("cancelled"), poll("success")];
    let run = run(&test_config(), &op(), script);
    assert_eq!(run.outcome, Outcome::Succeeded);
    assert!(lines(&run).contains(&"31.000 Event(UnknownState)"));
    assert_eq!(run.poller.last_seen().raw_state, "success");
    assert_eq!(run.end.as_millis(), 32_500, "normal backoff, no tight loop");

    let mut cfg = test_config();
    cfg.policy.on_unknown_state = jobpoll::UnknownStatePolicy::Stop;
    let run = support::run(&cfg, &op(), vec![accepted_after(30_000), poll("cancelled")]);
    assert_eq!(run.outcome, Outcome::UnknownState);
    assert_eq!(run.poller.last_seen().raw_state, "cancelled");
}

#[test]
fn not_found_before_seen_is_retried() {
    // 202 after 0.2 s; first poll 1 s later; 404: not visible yet, retried 1 s later.
    let not_found = r#"{"error":{"message":"entry doesn't exist","code":"4","target":"uuid"}}"#;
    let script = vec![
        accepted_after(200),
        step(GET, ok_json(0, 404, not_found)),
        poll("running"),
        poll("success"),
    ];
    let run = run(&test_config(), &op(), script);
    assert_eq!(run.outcome, Outcome::Succeeded);
    let t = lines(&run);
    assert!(
        t.contains(&"1.200 Event(Retrying { cause: NotYetVisible, at: Instant(2200) })"),
        "{t:#?}"
    );
    assert!(t.contains(&"2.200 GET /api/cluster/jobs/u1?fields=state,message,code"));
    assert_eq!(run.end.as_millis(), 3_200);
}

#[test]
fn not_found_for_longer_than_the_grace_expires() {
    let nf = || step(GET, ok_json(0, 404, "{}"));
    // 404 at 1.2, 2.2, 3.2, 4.2, 5.2, 6.2: 5 s after the first one the job is declared expired.
    let script = vec![accepted_after(200), nf(), nf(), nf(), nf(), nf(), nf()];
    let run = run(&test_config(), &op(), script);
    assert_eq!(run.outcome, Outcome::Expired);
    assert_eq!(run.end.as_millis(), 6_200);
}

#[test]
fn not_found_after_seen_is_expired() {
    let script = vec![
        accepted_after(30_000),
        poll("running"),
        step(GET, ok_json(0, 404, "{}")),
    ];
    let run = run(&test_config(), &op(), script);
    assert_eq!(run.outcome, Outcome::Expired);
    assert_eq!(run.end.as_millis(), 32_500);
    assert!(run.poller.resume_token().is_some());
}

#[test]
fn service_unavailable_with_retry_after_seconds() {
    let busy = response(503, &[("Retry-After", "7")], "");
    let script = vec![
        accepted_after(30_000),
        step(
            GET,
            Answer::Bytes {
                after_ms: 0,
                bytes: busy.into_bytes(),
            },
        ),
        poll("success"),
    ];
    let run = run(&test_config(), &op(), script);
    assert_eq!(run.outcome, Outcome::Succeeded);
    assert!(
        lines(&run).contains(&"31.000 Event(Retrying { cause: Status(503), at: Instant(38000) })")
    );
    assert_eq!(run.end.as_millis(), 38_000);
}

#[test]
fn service_unavailable_with_retry_after_http_date() {
    // 10 s after the response's own Date; the device clock is never consulted.
    let busy = response(
        429,
        &[
            ("Date", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("Retry-After", "Sun, 06 Nov 1994 08:49:47 GMT"),
        ],
        "",
    );
    let script = vec![
        accepted_after(30_000),
        step(
            GET,
            Answer::Bytes {
                after_ms: 0,
                bytes: busy.into_bytes(),
            },
        ),
        poll("success"),
    ];
    let run = run(&test_config(), &op(), script);
    assert_eq!(run.end.as_millis(), 41_000);
}

#[test]
fn connection_refused_while_polling() {
    // Retries after 1 s then 2 s; the answer resets the failure count.
    let script = vec![
        accepted_after(30_000),
        step(GET, Answer::Refuse),
        step(GET, Answer::Refuse),
        poll("running"),
        poll("success"),
    ];
    let run = run(&test_config(), &op(), script);
    let t = lines(&run);
    assert!(
        t.contains(&"32.000 GET /api/cluster/jobs/u1?fields=state,message,code"),
        "{t:#?}"
    );
    assert!(t.contains(&"34.000 GET /api/cluster/jobs/u1?fields=state,message,code"));
    // After the answer at 34 s: one poll answered, gap 1.5 s.
    assert_eq!(run.end.as_millis(), 35_500);
    assert_eq!(run.outcome, Outcome::Succeeded);
}

#[test]
fn refused_polls_exhaust_the_retry_budget() {
    let mut script = vec![accepted_after(30_000)];
    script.extend((0..6).map(|_| step(GET, Answer::Refuse)));
    let run = run(&test_config(), &op(), script);
    assert_eq!(
        run.outcome,
        Outcome::RetriesExhausted {
            last: RetryCause::Transport(jobpoll::TransportError::ConnectFailed)
        }
    );
    // The job is not lost.
    assert_eq!(run.poller.job_id(), Some("u1"));
    assert!(run.poller.resume_token().is_some());
}

#[test]
fn reset_after_the_submit_was_written_is_never_resent() {
    let run = run(
        &test_config(),
        &op(),
        vec![step(POST, Answer::Reset { after_ms: 5_000 })],
    );
    assert_eq!(run.outcome, Outcome::SubmitOutcomeUnknown);
    assert_eq!(run.requests, 1);
}

#[test]
fn submit_timeout_is_outcome_unknown() {
    // The submit's own timeout is the 30 s hold plus the 15 s request timeout.
    let run = run(&test_config(), &op(), vec![step(POST, Answer::Stall)]);
    assert_eq!(run.outcome, Outcome::SubmitOutcomeUnknown);
    assert_eq!(run.end.as_millis(), 45_000);
}

#[test]
fn submit_connect_failure_is_retried() {
    let script = vec![
        step(POST, Answer::Refuse),
        accepted_after(100),
        poll("success"),
    ];
    let run = run(&test_config(), &op(), script);
    assert_eq!(run.outcome, Outcome::Succeeded);
    assert_eq!(run.requests, 3);
    assert_eq!(
        run.timeline[2],
        "1.000 POST /api/storage/volumes?return_timeout=30"
    );
}

#[test]
fn service_unavailable_on_the_submit_is_retried() {
    let script = vec![
        step(POST, ok_json(100, 503, "")),
        accepted_after(100),
        poll("success"),
    ];
    let run = run(&test_config(), &op(), script);
    assert_eq!(
        lines(&run),
        [
            "0.000 POST /api/storage/volumes?return_timeout=30",
            "0.100 Event(Retrying { cause: Status(503), at: Instant(1100) })",
            "1.100 POST /api/storage/volumes?return_timeout=30",
            "1.200 Event(Accepted)",
            "2.200 GET /api/cluster/jobs/u1?fields=state,message,code",
            "2.200 Event(StateChanged(Succeeded))",
            "2.200 done Succeeded",
        ]
    );
}

#[test]
fn bad_gateway_on_the_submit_is_outcome_unknown() {
    for status in [500, 502, 504] {
        let run = run(
            &test_config(),
            &op(),
            vec![step(POST, ok_json(100, status, ""))],
        );
        assert_eq!(run.outcome, Outcome::SubmitOutcomeUnknown, "{status}");
        assert_eq!(run.requests, 1);
    }
}

#[test]
fn api_error_on_the_submit_is_rejected_with_its_code() {
    let body = r#"{"error":{"message":"The value \"600\" is invalid for field \"return_timeout\" (<0..120>)","code":"262197","target":"return_timeout"}}"#;
    let run = run(
        &test_config(),
        &op(),
        vec![step(POST, ok_json(10, 400, body))],
    );
    assert_eq!(run.outcome, Outcome::Rejected { status: 400 });
    assert_eq!(run.poller.last_seen().code, Some(262_197));
    assert_eq!(run.messages.len(), 1);
}

#[test]
fn error_after_the_hold_that_names_the_job_is_a_failed_job() {
    let body = r#"{"error":{"message":"volume exists","code":"917831"},"job":{"uuid":"u1"}}"#;
    let run = run(
        &test_config(),
        &op(),
        vec![step(POST, ok_json(12_000, 409, body))],
    );
    assert_eq!(run.outcome, Outcome::Failed);
    assert_eq!(run.poller.job_id(), Some("u1"));
    assert_eq!(run.poller.last_seen().code, Some(917_831));
}

#[test]
fn unauthorized_submit_fails_at_once() {
    let run = run(
        &test_config(),
        &op(),
        vec![step(POST, ok_json(10, 401, ""))],
    );
    assert_eq!(run.outcome, Outcome::AuthRequired { status: 401 });
    assert!(run.poller.resume_token().is_none());
}

#[test]
fn read_timeout_then_late_answer_is_discarded() {
    let script = vec![
        accepted_after(30_000),
        step(GET, Answer::Stall),
        poll("success"),
    ];
    let run = run(&test_config(), &op(), script);
    let t = lines(&run);
    // Timed out 15 s after 31 s, the connection is closed so the late answer is never read,
    // and the retry goes 1 s later on a fresh connection.
    let at = t
        .iter()
        .position(|l| *l == "46.000 timeout")
        .expect("timeout");
    assert_eq!(t[at + 1], "46.000 close");
    assert!(t.contains(&"47.000 GET /api/cluster/jobs/u1?fields=state,message,code"));
    assert_eq!(run.connections, 2);
}

#[test]
fn deadline_with_final_poll() {
    // Deadline 40 s: return_timeout stays 30; polls at 31, 32.5, 34.75, 38.125; the next gap
    // (10 % of 38.125 s = 3.812 s) would pass the deadline, so the final poll is at 40 s.
    let mut cfg = test_config();
    cfg.policy.deadline = Duration::from_secs(40);
    let mut script = vec![accepted_after(30_000)];
    script.extend((0..5).map(|_| poll("running")));
    let run = run(&cfg, &op(), script);
    let t = lines(&run);
    assert_eq!(t[t.len() - 3], "40.000 Event(FinalPoll)");
    assert_eq!(
        t[t.len() - 2],
        "40.000 GET /api/cluster/jobs/u1?fields=state,message,code"
    );
    assert_eq!(t[t.len() - 1], "40.000 done DeadlineExceeded");
    assert_eq!(run.outcome, Outcome::DeadlineExceeded);
    assert!(run.poller.resume_token().is_some());
}

#[test]
fn return_timeout_is_clamped_to_the_deadline() {
    let mut cfg = test_config();
    cfg.policy.deadline = Duration::from_secs(12);
    let run = run(
        &cfg,
        &op(),
        vec![step(
            "POST /api/storage/volumes?return_timeout=12",
            ok_json(1_000, 200, ACCEPTED),
        )],
    );
    assert_eq!(run.outcome, Outcome::Succeeded);
}

/// The documented interval rule, written again independently of the implementation.
fn reference_gap_ms(answered: u32, since_submit_ms: u64) -> u64 {
    let mut grown: u64 = 1_000;
    for _ in 0..answered {
        grown = grown * 150 / 100;
        if grown >= 30_000 {
            break;
        }
    }
    let share = since_submit_ms * 10 / 100;
    grown.min(share).clamp(1_000, 30_000)
}

#[test]
fn one_hour_job_stays_under_the_cap() {
    let mut cfg = test_config();
    cfg.policy.deadline = Duration::from_secs(7_200);
    // The reference schedule: the job ends at 3600 s.
    let mut t = 30_000u64;
    let mut answered = 0u32;
    let mut polls = Vec::new();
    loop {
        t += reference_gap_ms(answered, t);
        polls.push(t);
        answered += 1;
        if t >= 3_600_000 {
            break;
        }
    }
    let mut script = vec![accepted_after(30_000)];
    for (i, _) in polls.iter().enumerate() {
        script.push(poll(if i + 1 == polls.len() {
            "success"
        } else {
            "running"
        }));
    }
    let run = run(&cfg, &op(), script);
    assert_eq!(run.outcome, Outcome::Succeeded);
    assert_eq!(run.end.as_millis(), *polls.last().unwrap_or(&0));
    assert_eq!(run.requests as usize, 1 + polls.len());
    let gaps: Vec<u64> = polls.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|g| *g <= 30_000));
    // Seen within 30 s of the end, and at most ~10 % of the duration while below the cap.
    assert!(run.end.as_millis() - 3_600_000 <= 30_000);
    println!("one-hour job: {} requests", run.requests);
    assert!(run.requests < 140, "{}", run.requests);
}

#[test]
fn every_answer_split_at_every_byte() {
    let script = || {
        vec![
            accepted_after(30_000),
            poll("queued"),
            poll("running"),
            poll("success"),
        ]
    };
    let whole = run(&test_config(), &op(), script());
    let split = run_with(&test_config(), &op(), script(), Feed::ByteByByte, None);
    assert_eq!(whole.timeline, split.timeline);
    assert_eq!(whole.messages, split.messages);
    for k in [1, 17, 40, 80] {
        let at = run_with(&test_config(), &op(), script(), Feed::SplitAt(k), None);
        assert_eq!(whole.timeline, at.timeline, "split at {k}");
    }
}

#[test]
fn chunked_answers() {
    let chunk = |state: &str, size| {
        step(
            GET,
            Answer::Bytes {
                after_ms: 0,
                bytes: chunked(200, &job(state), size).into_bytes(),
            },
        )
    };
    let script = vec![
        accepted_after(30_000),
        chunk("queued", 7),
        chunk("running", 1),
        chunk("success", 64),
    ];
    let run = run_with(&test_config(), &op(), script, Feed::ByteByByte, None);
    assert_eq!(run.outcome, Outcome::Succeeded);
    assert_eq!(run.messages, ["m-queued", "m-running", "m-success"]);
    assert_eq!(run.end.as_millis(), 34_750);
}

#[test]
fn close_delimited_answers() {
    let eof = |state: &str| {
        step(
            GET,
            Answer::BytesThenEof {
                after_ms: 0,
                bytes: format!("HTTP/1.1 200 OK\r\n\r\n{}", job(state)).into_bytes(),
            },
        )
    };
    let script = vec![accepted_after(30_000), eof("running"), eof("success")];
    let run = run(&test_config(), &op(), script);
    assert_eq!(run.outcome, Outcome::Succeeded);
    // Each close-delimited answer ends its connection: the first poll reuses the submit's
    // connection, the second needs a new one.
    assert_eq!(run.connections, 2);
}

#[test]
fn oversize_body_asks_for_fewer_fields() {
    let long = "x".repeat(5_000);
    let big = format!(r#"{{"uuid":"u1","state":"running","message":"{long}"}}"#);
    let script = vec![
        accepted_after(30_000),
        step(GET, ok_json(0, 200, &big)),
        step(
            "GET /api/cluster/jobs/u1?fields=state,code",
            ok_json(0, 200, r#"{"state":"success","code":0}"#),
        ),
    ];
    let run = run(&test_config(), &op(), script);
    assert_eq!(run.outcome, Outcome::Succeeded);
    let t = lines(&run);
    assert!(t.contains(&"31.000 Event(FieldsReduced)"), "{t:#?}");
    assert!(t.contains(&"31.000 close"));
    assert!(t.contains(&"31.000 GET /api/cluster/jobs/u1?fields=state,code"));
}

#[test]
fn unauthorized_mid_job_keeps_the_job_and_resumes() {
    let script = vec![
        accepted_after(30_000),
        poll("running"),
        step(GET, ok_json(0, 401, "")),
    ];
    let cfg = test_config();
    let first = run(&cfg, &op(), script);
    assert_eq!(first.outcome, Outcome::AuthRequired { status: 401 });
    let token = first.poller.resume_token().expect("token");
    // Stored and restored as bytes, after 10 s offline.
    let token = jobpoll::ResumeToken::from_bytes(token.as_bytes()).expect("decodes");
    let resumed =
        JobPoller::resume(&cfg, &token, Duration::from_secs(10), Instant::ZERO).expect("resume");
    assert_eq!(resumed.job_id(), Some("u1"));
    assert_eq!(resumed.requests(), 3);
    let second = run_with(
        &cfg,
        &Submit::NONE,
        vec![poll("success")],
        Feed::Whole,
        Some(resumed),
    );
    assert_eq!(second.outcome, Outcome::Succeeded);
    assert_eq!(
        second.timeline[0],
        "0.000 GET /api/cluster/jobs/u1?fields=state,message,code"
    );
}

#[test]
fn resume_after_the_purge_window_reports_404_as_expired() {
    let cfg = test_config();
    let first = run(
        &cfg,
        &op(),
        vec![accepted_after(200), step(GET, ok_json(0, 401, ""))],
    );
    let token = first.poller.resume_token().expect("token");
    let resumed =
        JobPoller::resume(&cfg, &token, Duration::from_secs(301), Instant::ZERO).expect("resume");
    let run = run_with(
        &cfg,
        &Submit::NONE,
        vec![step(GET, ok_json(0, 404, "{}"))],
        Feed::Whole,
        Some(resumed),
    );
    assert_eq!(run.outcome, Outcome::Expired);
}

#[test]
fn jobs_list_hands_back_every_id() {
    let body = r#"{"jobs":[{"uuid":"a1","_links":{"self":{"href":"/api/cluster/jobs/a1"}}},{"uuid":"b2"}],"num_records":2}"#;
    let patch = Submit::patch("/api/storage/volumes", br#"{"state":"offline"}"#)
        .with_query(&[("name", "vol*")]);
    let cfg = test_config();
    let run = run(
        &cfg,
        &patch,
        vec![step(
            "PATCH /api/storage/volumes?name=vol*&return_timeout=30",
            ok_json(100, 202, body),
        )],
    );
    assert_eq!(run.outcome, Outcome::MultipleJobs { count: 2 });
    assert_eq!(run.job_ids, ["a1", "b2"]);
    // One machine per id; the aggregate is a partial failure when one of them failed.
    let mut outcomes = Vec::new();
    for (id, end) in [("a1", "success"), ("b2", "failure")] {
        let w = JobPoller::watch(&cfg, id, Instant::ZERO).expect("watch");
        let expect = format!("GET /api/cluster/jobs/{id}?fields=state,message,code");
        let r = run_with(
            &cfg,
            &Submit::NONE,
            vec![step(
                &expect,
                ok_json(0, 200, &format!(r#"{{"state":"{end}"}}"#)),
            )],
            Feed::Whole,
            Some(w),
        );
        outcomes.push(r.outcome);
    }
    assert_eq!(outcomes, [Outcome::Succeeded, Outcome::Failed]);
}

#[test]
fn clock_going_backwards_is_clamped() {
    let cfg = test_config();
    let mut p = JobPoller::submit(&cfg, &op(), Instant::from_secs(100)).expect("submit");
    let mut tx = [0u8; 1024];
    let a = p
        .poll(&cfg, &op(), Instant::from_secs(100), &mut tx)
        .expect("poll");
    assert!(matches!(a, jobpoll::Action::SendRequest(_)));
    let mut rx = response(202, &[], ACCEPTED).into_bytes();
    let n = rx.len();
    p.handle_response(&cfg, Instant::from_secs(50), &mut rx, n)
        .expect("response");
    let mut saw_clamp = false;
    let mut sleep = None;
    for _ in 0..10 {
        match p
            .poll(&cfg, &op(), Instant::from_secs(40), &mut tx)
            .expect("poll")
        {
            jobpoll::Action::Event(Event::ClockWentBackwards) => saw_clamp = true,
            jobpoll::Action::SleepUntil(t) => {
                sleep = Some(t);
                break;
            }
            _ => {}
        }
    }
    assert!(saw_clamp);
    // Scheduled from the last good `now` (100 s), never from the earlier values.
    assert!(
        sleep.is_some_and(|t| t >= Instant::from_secs(101)),
        "{sleep:?} {p:?}"
    );
    assert!(p.deadline() >= Instant::from_secs(100) + Policy::DEFAULT.deadline);
}

#[test]
fn cancel_keeps_the_job() {
    let cfg = test_config();
    let mut p = JobPoller::submit(&cfg, &op(), Instant::ZERO).expect("submit");
    let mut tx = [0u8; 1024];
    p.poll(&cfg, &op(), Instant::ZERO, &mut tx).expect("send");
    let mut rx = response(202, &[], ACCEPTED).into_bytes();
    let n = rx.len();
    p.handle_response(&cfg, Instant::from_secs(1), &mut rx, n)
        .expect("response");
    p.cancel(Instant::from_secs(2));
    let mut last = None;
    for _ in 0..5 {
        last = Some(
            p.poll(&cfg, &op(), Instant::from_secs(2), &mut tx)
                .expect("poll"),
        );
    }
    assert_eq!(last, Some(jobpoll::Action::Done(Outcome::Cancelled)));
    assert_eq!(p.job_id(), Some("u1"));
}

const CANCEL: &str = "PATCH /api/cluster/jobs/u1?action=cancel";

#[test]
fn server_cancel_is_sent_and_the_end_reported_truthfully() {
    // After the first poll (31 s) the caller asks for a cancel: the PATCH goes at once, then a
    // poll at once; ONTAP ends a cancelled job as a failure (or a success), never "cancelled".
    let script = vec![
        accepted_after(30_000),
        poll("running"),
        step(CANCEL, ok_json(50, 202, ACCEPTED)),
        step(
            GET,
            ok_json(
                0,
                200,
                r#"{"state":"failure","message":"Job cancelled by user","code":458753}"#,
            ),
        ),
    ];
    let run = run_hooked(
        &test_config(),
        &op(),
        script,
        Feed::Whole,
        None,
        |p, now, n| {
            if n == 2 {
                p.request_server_cancel(now).expect("ONTAP cancels");
            }
        },
    );
    let t = lines(&run);
    assert!(
        t.contains(&"31.000 PATCH /api/cluster/jobs/u1?action=cancel"),
        "{t:#?}"
    );
    assert!(t.contains(&"31.050 Event(CancelRequested)"));
    assert_eq!(t.last().copied(), Some("31.050 done Failed"));
    assert_eq!(
        run.messages.last().map(String::as_str),
        Some("Job cancelled by user")
    );
}

#[test]
fn refused_server_cancel_keeps_following() {
    let refused = r#"{"error":{"message":"This job does not support cancel.","code":"458784"}}"#;
    let script = vec![
        accepted_after(30_000),
        poll("running"),
        step(CANCEL, ok_json(10, 400, refused)),
        poll("running"),
        poll("success"),
    ];
    let run = run_hooked(
        &test_config(),
        &op(),
        script,
        Feed::Whole,
        None,
        |p, now, n| {
            if n == 2 {
                p.request_server_cancel(now).expect("ONTAP cancels");
            }
        },
    );
    assert_eq!(run.outcome, Outcome::Succeeded);
    assert!(lines(&run).contains(&"31.010 Event(CancelRefused { status: Some(400) })"));
}

#[test]
fn cancel_on_deadline() {
    let mut cfg = test_config();
    cfg.policy.deadline = Duration::from_secs(40);
    cfg.dialect = jobpoll::Dialect::Ontap(jobpoll::dialect::ontap::OntapOptions {
        cancel_on_deadline: true,
        ..Default::default()
    });
    let mut script = vec![accepted_after(30_000)];
    script.extend((0..5).map(|_| poll("running")));
    script.push(step(CANCEL, ok_json(20, 202, ACCEPTED)));
    let run = run(&cfg, &op(), script);
    assert_eq!(run.outcome, Outcome::DeadlineExceeded);
    let t = lines(&run);
    assert!(
        t.contains(&"40.000 PATCH /api/cluster/jobs/u1?action=cancel"),
        "{t:#?}"
    );
    assert_eq!(t.last().copied(), Some("40.020 done DeadlineExceeded"));
}

#[test]
fn server_cancel_needs_a_job() {
    let cfg = test_config();
    let mut p = JobPoller::submit(&cfg, &op(), Instant::ZERO).expect("submit");
    assert_eq!(
        p.request_server_cancel(Instant::ZERO),
        Err(jobpoll::Error::NoJob)
    );
}

#[cfg(feature = "deploy")]
#[test]
fn server_cancel_is_refused_where_the_api_has_none() {
    let mut deploy = test_config();
    deploy.dialect = jobpoll::Dialect::Deploy(Default::default());
    let mut w = JobPoller::watch(&deploy, "d1", Instant::ZERO).expect("watch");
    assert_eq!(
        w.request_server_cancel(Instant::ZERO),
        Err(jobpoll::Error::Config(
            jobpoll::ConfigError::CancelUnsupported
        ))
    );
}

#[test]
fn a_rejected_certificate_ends_at_once_and_keeps_the_job() {
    let script = vec![accepted_after(30_000), step(GET, Answer::Untrusted)];
    let run = run(&test_config(), &op(), script);
    assert_eq!(
        run.outcome,
        Outcome::TransportFailed {
            error: jobpoll::TransportError::Untrusted
        }
    );
    assert_eq!(run.requests, 2, "not retried");
    assert!(run.poller.resume_token().is_some());
}

#[test]
fn a_resumed_job_gets_a_new_deadline() {
    let mut cfg = test_config();
    cfg.policy.deadline = Duration::from_secs(40);
    let mut script = vec![accepted_after(30_000)];
    script.extend((0..5).map(|_| poll("running")));
    let first = run(&cfg, &op(), script);
    assert_eq!(first.outcome, Outcome::DeadlineExceeded);
    let token = first.poller.resume_token().expect("token");
    let mut resumed =
        JobPoller::resume(&cfg, &token, Duration::ZERO, Instant::ZERO).expect("resume");
    resumed.extend_deadline(Instant::ZERO, Duration::from_secs(600));
    let second = run_with(
        &cfg,
        &Submit::NONE,
        vec![poll("success")],
        Feed::Whole,
        Some(resumed),
    );
    assert_eq!(second.outcome, Outcome::Succeeded);
}

/// The request `poller` has due at `at_ms` (events before it are passed over).
fn send(poller: &mut JobPoller, cfg: &jobpoll::Config<'_>, at_ms: u64) -> jobpoll::SendRequest {
    let mut tx = [0u8; 2048];
    loop {
        match poller
            .poll(cfg, &op(), Instant::from_millis(at_ms), &mut tx)
            .unwrap()
        {
            jobpoll::Action::SendRequest(req) => return req,
            jobpoll::Action::Event(_) => continue,
            other => panic!("expected a request at {at_ms} ms, got {other:?}"),
        }
    }
}

/// Sends what `poller` has due and answers it with `answer` at `at_ms`; returns the request.
fn exchange(
    poller: &mut JobPoller,
    cfg: &jobpoll::Config<'_>,
    at_ms: u64,
    answer: &str,
) -> jobpoll::SendRequest {
    let req = send(poller, cfg, at_ms);
    let now = Instant::from_millis(at_ms);
    let mut rx = answer.as_bytes().to_vec();
    let filled = rx.len();
    poller.handle_response(cfg, now, &mut rx, filled).unwrap();
    req
}

#[test]
fn a_submit_goes_on_a_pooled_connection_only_when_allowed_and_just_answered() {
    let kept = response(202, &[("Keep-Alive", "timeout=5")], ACCEPTED);
    let mut cfg = test_config();
    // A first job's submit leaves a connection kept alive for 5 s, answered at 1.000 s.
    let mut first = JobPoller::submit(&cfg, &op(), Instant::from_millis(0)).unwrap();
    let req = exchange(&mut first, &cfg, 1_000, &kept);
    assert_eq!(req.connection, jobpoll::Connection::Fresh);
    let pooled = first.connection_state();
    assert_ne!(pooled, jobpoll::ConnectionState::CLOSED);

    // (policy allows it, ms of the second submit, connection expected)
    let table = [
        (false, 1_500, jobpoll::Connection::Fresh), // default: always a fresh connection
        (true, 1_500, jobpoll::Connection::Reuse),  // answered 0.5 s ago, 4.5 s of window left
        (true, 2_000, jobpoll::Connection::Reuse),  // exactly 1 s since the answer
        (true, 2_001, jobpoll::Connection::Fresh),  // idle for more than 1 s
    ];
    for (allowed, at_ms, expected) in table {
        cfg.policy.reuse_connection_for_submit = allowed;
        let mut second = JobPoller::submit(&cfg, &op(), Instant::from_millis(at_ms)).unwrap();
        second.adopt_connection(pooled);
        let req = send(&mut second, &cfg, at_ms);
        assert_eq!(req.connection, expected, "allowed {allowed}, at {at_ms} ms");
        assert!(!req.idempotent);
    }

    // A window about to close: 1 s or less left refuses the submit even right after an answer.
    let short = response(202, &[("Keep-Alive", "timeout=1")], ACCEPTED);
    let mut third = JobPoller::submit(&cfg, &op(), Instant::from_millis(0)).unwrap();
    exchange(&mut third, &cfg, 1_000, &short);
    let mut fourth = JobPoller::submit(&cfg, &op(), Instant::from_millis(1_000)).unwrap();
    fourth.adopt_connection(third.connection_state());
    let req = send(&mut fourth, &cfg, 1_000);
    assert_eq!(req.connection, jobpoll::Connection::Fresh);
}

#[test]
fn a_submit_lost_on_a_reused_connection_is_never_resent() {
    let kept = response(202, &[("Keep-Alive", "timeout=5")], ACCEPTED);
    let mut cfg = test_config();
    cfg.policy.reuse_connection_for_submit = true;
    let mut first = JobPoller::submit(&cfg, &op(), Instant::from_millis(0)).unwrap();
    exchange(&mut first, &cfg, 1_000, &kept);
    let mut second = JobPoller::submit(&cfg, &op(), Instant::from_millis(1_200)).unwrap();
    second.adopt_connection(first.connection_state());
    let req = send(&mut second, &cfg, 1_200);
    assert_eq!(req.connection, jobpoll::Connection::Reuse);
    assert_eq!(req.purpose, jobpoll::Purpose::Submit);
    let now = Instant::from_millis(1_200);
    let mut tx = [0u8; 2048];
    // The server closed the connection without a byte: a poll would be resent, a submit not.
    let mut rx = [0u8; 16];
    second.handle_eof(&cfg, now, &mut rx, 0).unwrap();
    let mut outcome = None;
    for _ in 0..8 {
        match second.poll(&cfg, &op(), now, &mut tx).unwrap() {
            jobpoll::Action::Done(o) => {
                outcome = Some(o);
                break;
            }
            jobpoll::Action::SendRequest(r) => panic!("the submit was resent: {r:?}"),
            _ => {}
        }
    }
    assert_eq!(outcome, Some(Outcome::SubmitOutcomeUnknown));
    assert_eq!(second.requests(), 1);
}

#[test]
fn retry_after_zero_waits_one_second() {
    // `Retry-After: 0` (or a date already past) must not turn the retry budget into a burst.
    let busy = || Answer::Bytes {
        after_ms: 0,
        bytes: response(503, &[("Retry-After", "0")], "").into_bytes(),
    };
    let script = vec![
        accepted_after(30_000),
        step(GET, busy()),
        step(GET, busy()),
        poll("success"),
    ];
    let run = run(&test_config(), &op(), script);
    assert_eq!(run.outcome, Outcome::Succeeded);
    assert!(
        lines(&run).contains(&"31.000 Event(Retrying { cause: Status(503), at: Instant(32000) })"),
        "{:#?}",
        lines(&run)
    );
    assert_eq!(run.end.as_millis(), 33_000);
}

#[test]
fn the_busiest_answer_loses_no_action() {
    // The most actions one answer can queue: the clock went back, the server closes the
    // connection, and a submit answer names a job in a state nobody knows. Every one of them
    // must come out of `poll`, in order.
    let cfg = test_config();
    let op = op();
    let mut tx = [0u8; 1024];
    let mut job = JobPoller::submit(&cfg, &op, Instant::from_millis(5_000)).unwrap();
    match job
        .poll(&cfg, &op, Instant::from_millis(5_000), &mut tx)
        .unwrap()
    {
        Action::SendRequest(_) => {}
        other => panic!("expected the submit, got {other:?}"),
    }
    let body = r#"{"job":{"uuid":"u1","state":"hibernating"}}"#;
    let answer = response(202, &[("Connection", "close")], body);
    let mut rx = answer.into_bytes();
    let filled = rx.len();
    let earlier = Instant::from_millis(4_000);
    assert!(matches!(
        job.handle_response(&cfg, earlier, &mut rx, filled),
        Ok(jobpoll::Received::Complete(_))
    ));
    let mut actions = Vec::new();
    for _ in 0..6 {
        match job.poll(&cfg, &op, earlier, &mut tx).unwrap() {
            Action::SleepUntil(_) => break,
            action => actions.push(action),
        }
    }
    assert_eq!(
        actions,
        [
            Action::Event(Event::ClockWentBackwards),
            Action::Close,
            Action::Event(Event::Accepted),
            Action::Event(Event::StateChanged(JobState::Unknown)),
            Action::Event(Event::UnknownState),
        ]
    );
}

#[test]
fn no_request_outlives_the_deadline_by_more_than_one_request_timeout() {
    // A server that stops answering: the poll at 1 s hangs until its own timeout (16 s, past
    // the 10 s deadline), then the final poll hangs too. It is cut 15 s after the deadline,
    // as README promises, not 15 s after it was sent.
    let mut cfg = test_config();
    cfg.policy.deadline = Duration::from_secs(10);
    cfg.dialect = jobpoll::Dialect::Ontap(jobpoll::dialect::ontap::OntapOptions {
        return_timeout: Duration::ZERO,
        ..Default::default()
    });
    let script = vec![
        step(
            "POST /api/storage/volumes?return_timeout=0",
            ok_json(0, 202, ACCEPTED),
        ),
        step(GET, Answer::Stall),
        step(GET, Answer::Stall),
    ];
    let run = run(&cfg, &op(), script);
    assert_eq!(run.outcome, Outcome::DeadlineExceeded);
    assert!(
        lines(&run).contains(&"16.000 timeout"),
        "{:#?}",
        lines(&run)
    );
    assert_eq!(run.end.as_millis(), 25_000, "{:#?}", lines(&run));
}

/// A job expected to end between 260 s and 340 s (`Policy::expected`): the submit's hold is
/// raised to the API's maximum (120 s), then sparse probes (30 % of the elapsed time, at least
/// 30 s) until the window's start, then dense polls (80 s / 12).
#[cfg(feature = "estimate")]
#[test]
fn an_expected_duration_raises_the_hold_and_polls_around_the_window() {
    let mut cfg = test_config();
    cfg.policy.expected = Some(jobpoll::Expected::between(
        Duration::from_secs(260),
        Duration::from_secs(340),
    ));
    let mut script = vec![step(
        "POST /api/storage/volumes?return_timeout=120",
        ok_json(120_000, 202, ACCEPTED),
    )];
    for _ in 0..5 {
        script.push(poll("running"));
    }
    script.push(poll("success"));
    let run = run(&cfg, &op(), script);
    let polls: Vec<&str> = lines(&run)
        .into_iter()
        .filter(|l| l.contains(" GET "))
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(
        polls,
        [
            "156.000", "202.800", "260.000", "266.666", "273.332", "279.998"
        ]
    );
    assert_eq!(run.outcome, Outcome::Succeeded);
}

/// The resume token carries the expected window: a machine resumed from it schedules the next
/// poll exactly as the original does, even under a configuration without the hint.
#[cfg(feature = "estimate")]
#[test]
fn a_resumed_machine_keeps_the_expected_window() {
    let mut cfg = test_config();
    cfg.policy.expected = Some(jobpoll::Expected::between(
        Duration::from_secs(260),
        Duration::from_secs(340),
    ));
    let plain = test_config();
    let (mut tx, mut rx) = ([0u8; 2048], [0u8; 4096]);
    // Drives `p` until it sleeps, answering each request with `body` at once.
    let mut until_sleep =
        |p: &mut JobPoller, cfg: &jobpoll::Config<'_>, op: &Submit<'_>, now: u64, body: &str| {
            let now = Instant::from_millis(now);
            for _ in 0..16 {
                match p.poll(cfg, op, now, &mut tx).expect("poll") {
                    Action::SendRequest(_) => {
                        let bytes = response(if body == ACCEPTED { 202 } else { 200 }, &[], body);
                        rx[..bytes.len()].copy_from_slice(bytes.as_bytes());
                        p.handle_response(cfg, now, &mut rx, bytes.len())
                            .expect("in flight");
                    }
                    Action::SleepUntil(t) => return t.as_millis(),
                    _ => {}
                }
            }
            panic!("no sleep");
        };
    let mut original = JobPoller::submit(&cfg, &op(), Instant::ZERO).expect("submit");
    assert_eq!(
        until_sleep(&mut original, &cfg, &op(), 120_000, ACCEPTED),
        156_000
    );
    assert_eq!(
        until_sleep(&mut original, &cfg, &op(), 156_000, &job("running")),
        202_800
    );
    let token = original.resume_token().expect("a token");
    assert_eq!(token.as_bytes()[2], 2, "version 2: the window is in it");
    let at = Instant::from_millis(202_800);
    // Taken at 156 s, resumed at 202.8 s: offline for 46.8 s.
    let offline = Duration::from_millis(46_800);
    let mut resumed = JobPoller::resume(&plain, &token, offline, at).expect("resume");
    let running = job("running");
    assert_eq!(
        until_sleep(&mut original, &cfg, &op(), 202_800, &running),
        260_000
    );
    assert_eq!(
        until_sleep(&mut resumed, &plain, &Submit::NONE, 202_800, &running),
        260_000
    );
    // Without the window, the default ramp (a watch from 0 s: its first answer, 1.5 s).
    let mut watched = JobPoller::watch(&plain, "u1", Instant::ZERO).expect("watch");
    assert_eq!(
        until_sleep(&mut watched, &plain, &Submit::NONE, 202_800, &running),
        204_300
    );
}
