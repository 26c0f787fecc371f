//! The data-described dialect, shown with an API that is not NetApp's: an Azure-style
//! long-running operation (`Operation-Location` header, `status` field), and a Deploy-shaped
//! long poll under other parameter names.

#![cfg(feature = "generic")]

mod support;

use std::time::Duration;

use jobpoll::dialect::generic::{AZURE_STYLE, GenericDialect};
use jobpoll::dialect::{LongPoll, Profile};
use jobpoll::{Dialect, JobState, Outcome, Submit};
use support::*;

fn azure() -> jobpoll::Config<'static> {
    let mut cfg = test_config();
    cfg.dialect = Dialect::Generic(&AZURE_STYLE);
    cfg
}

fn accepted_with_header() -> Answer {
    let head = response(
        202,
        &[(
            "Operation-Location",
            "https://management.example.com/operations/op-1?api-version=2023-01-01",
        )],
        "",
    );
    Answer::Bytes {
        after_ms: 150,
        bytes: head.into_bytes(),
    }
}

const GET: &str = "GET /operations/op-1?api-version=2023-01-01";

#[test]
fn azure_style_operation_location() {
    let op = Submit::post(
        "/subscriptions/s/resourceGroups/g/providers/Example/widgets/w1/create",
        b"{}",
    );
    let script = vec![
        step(
            "POST /subscriptions/s/resourceGroups/g/providers/Example/widgets/w1/create",
            accepted_with_header(),
        ),
        step(
            GET,
            ok_json(0, 200, r#"{"id":"op-1","status":"NotStarted"}"#),
        ),
        step(
            GET,
            ok_json(
                0,
                200,
                r#"{"id":"op-1","status":"Running","percentComplete":40}"#,
            ),
        ),
        step(
            GET,
            ok_json(0, 200, r#"{"id":"op-1","status":"Succeeded"}"#),
        ),
    ];
    let run = run(&azure(), &op, script);
    assert_eq!(run.outcome, Outcome::Succeeded);
    // The submit has no hold parameter; polls keep the operation URL's own query.
    assert_eq!(
        run.timeline[0],
        "0.000 POST /subscriptions/s/resourceGroups/g/providers/Example/widgets/w1/create"
    );
    assert_eq!(
        run.poller.job_href(),
        Some("/operations/op-1?api-version=2023-01-01")
    );
    assert_eq!(run.poller.last_seen().state, Some(JobState::Succeeded));
}

#[test]
fn azure_style_failure_and_cancel_spellings() {
    for (body, want, message) in [
        (
            r#"{"status":"Failed","error":{"code":"Conflict","message":"widget exists"}}"#,
            Outcome::Failed,
            Some("widget exists"),
        ),
        (r#"{"status":"Canceled"}"#, Outcome::Failed, None),
        (r#"{"status":"succeeded"}"#, Outcome::Succeeded, None),
    ] {
        let op = Submit::post("/widgets", b"{}");
        let script = vec![
            step("POST /widgets", accepted_with_header()),
            step(GET, ok_json(0, 200, body)),
        ];
        let run = run(&azure(), &op, script);
        assert_eq!(run.outcome, want, "{body}");
        assert_eq!(run.messages.last().map(String::as_str), message, "{body}");
    }
}

#[test]
fn azure_style_without_a_header_is_outcome_unknown() {
    // A 202 that names no operation cannot be followed, and the submit is never re-sent.
    let op = Submit::post("/widgets", b"{}");
    let run = run(
        &azure(),
        &op,
        vec![step("POST /widgets", ok_json(10, 202, ""))],
    );
    assert_eq!(run.outcome, Outcome::SubmitOutcomeUnknown);
    assert_eq!(run.requests, 1);
}

static TASKS: GenericDialect = GenericDialect {
    profile: Profile {
        long_poll: Some(LongPoll {
            hold_param: "wait",
            wanted: Duration::from_secs(60),
            max: Duration::from_secs(60),
            marker_param: "after",
            marker_prefix: "",
        }),
        link_keeps_query: true,
        ..Profile::at("/v1/tasks/")
    },
    submit_id: &["task", "id"],
    job_root: &["task"],
    state_field: "phase",
    outcome_field: Some("result"),
    terminal_state: Some("done"),
    message_field: Some("note"),
    states: &[
        ("waiting", JobState::Pending),
        ("working", JobState::Running),
        ("ok", JobState::Succeeded),
        ("ok_with_warnings", JobState::SucceededWithWarnings),
        ("broken", JobState::Failed),
    ],
    marker_field: Some("version"),
};

#[test]
fn a_long_polled_task_api_with_a_terminal_state_and_an_outcome_field() {
    let mut cfg = test_config();
    cfg.dialect = Dialect::Generic(&TASKS);
    let task = |phase: &str, result: &str, version: &str| {
        format!(
            r#"{{"task":{{"id":"t7","phase":"{phase}","result":"{result}","version":"{version}","note":"n-{phase}"}}}}"#
        )
    };
    let op = Submit::post("/v1/tasks", br#"{"kind":"resize"}"#);
    let script = vec![
        step(
            "POST /v1/tasks",
            ok_json(20, 202, &task("waiting", "", "2026-01-01T00:00:00Z")),
        ),
        step(
            "GET /v1/tasks/t7?wait=60&after=2026-01-01T00:00:00Z",
            ok_json(3_000, 200, &task("working", "", "2026-01-01T00:00:03Z")),
        ),
        step(
            "GET /v1/tasks/t7?wait=60&after=2026-01-01T00:00:03Z",
            ok_json(
                10_000,
                200,
                &task("done", "ok_with_warnings", "2026-01-01T00:00:13Z"),
            ),
        ),
    ];
    let run = run(&cfg, &op, script);
    assert_eq!(run.outcome, Outcome::SucceededWithWarnings);
    assert_eq!(run.poller.last_seen().raw_state, "ok_with_warnings");
    assert_eq!(run.requests, 3);
    assert_eq!(run.end.as_millis(), 13_020);
}
