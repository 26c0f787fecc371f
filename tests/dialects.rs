//! Select Deploy, Unified Manager and Service Engine in virtual time, each with its exact
//! timeline (same harness and defaults as `scenarios.rs`: jitter off; Deploy long polls hold at
//! most 120 s; the first plain poll comes 1 s after the accept).

#![cfg(all(feature = "deploy", feature = "aiqum", feature = "nse"))]

mod support;

use jobpoll::dialect::aiqum::AiqumOptions;
use jobpoll::dialect::deploy::DeployOptions;
use jobpoll::dialect::nse::NseOptions;
use jobpoll::{Config, Dialect, Outcome, Submit};
use support::*;

fn deploy_config() -> Config<'static> {
    let mut cfg = test_config();
    cfg.dialect = Dialect::Deploy(DeployOptions::DEFAULT);
    cfg
}

const CREATE: &str = "POST /api/v3/clusters";

fn deploy_op() -> Submit<'static> {
    Submit::post("/api/v3/clusters", br#"{"name":"ots1","node_count":1}"#)
}

fn record(state: &str, modified: &str) -> String {
    format!(
        r#"{{"record":{{"id":"d1","state":"{state}","message":"m {state}","last_modified":"{modified}"}}}}"#
    )
}

fn long_poll(marker: &str) -> String {
    format!(
        "GET /api/jobs/d1?fields=state,message,last_modified&poll_timeout=120&last_modified=%3E={marker}"
    )
}

const T0: &str = "2026-01-01T00:00:00.000001Z";
const T5: &str = "2026-01-01T00:00:05.000000Z";
const T300: &str = "2026-01-01T00:05:00.000000Z";

fn accepted_deploy() -> Step {
    let body = format!(
        r#"{{"job":{{"id":"d1","last_modified":"{T0}","message":"Cluster create queued"}}}}"#
    );
    step(CREATE, ok_json(200, 202, &body))
}

#[test]
fn deploy_long_polls_with_an_exclusive_comparison() {
    // A 300 s job: running at 5 s, success at 300 s. Each long poll returns on a change or after
    // its 120 s hold: 0.2 -> 5 (change), 5 -> 125 (hold), 125 -> 245 (hold), 245 -> 300
    // (change). Requests: 1 submit + 4 polls, within ceil(300/120) + 2 changes + 1 = 6.
    let script = vec![
        accepted_deploy(),
        step(&long_poll(T0), ok_json(4_800, 200, &record("running", T5))),
        step(
            &long_poll(T5),
            ok_json(120_000, 200, &record("running", T5)),
        ),
        step(
            &long_poll(T5),
            ok_json(120_000, 200, &record("running", T5)),
        ),
        step(
            &long_poll(T5),
            ok_json(55_000, 200, &record("success", T300)),
        ),
    ];
    let run = run(&deploy_config(), &deploy_op(), script);
    assert_eq!(run.outcome, Outcome::Succeeded);
    assert_eq!(run.requests, 5);
    assert_eq!(run.end.as_millis(), 300_000, "seen the moment it changed");
    let t = run.timeline.iter().map(String::as_str).collect::<Vec<_>>();
    assert!(t.contains(&"5.000 GET /api/jobs/d1?fields=state,message,last_modified&poll_timeout=120&last_modified=%3E=2026-01-01T00:00:05.000000Z"), "{t:#?}");
    assert_eq!(run.messages.last().map(String::as_str), Some("m success"));
}

#[test]
fn deploy_long_polls_with_an_inclusive_comparison() {
    // The server answers `>=` with the same value at once: the machine advances the marker by
    // its smallest unit (one microsecond here) and long polls keep holding. One extra request.
    let script = vec![
        accepted_deploy(),
        step(&long_poll(T0), ok_json(10, 200, &record("queued", T0))),
        step(
            &long_poll("2026-01-01T00:00:00.000002Z"),
            ok_json(4_790, 200, &record("running", T5)),
        ),
        step(
            &long_poll("2026-01-01T00:00:05.000001Z"),
            ok_json(120_000, 200, &record("running", T5)),
        ),
        step(
            &long_poll("2026-01-01T00:00:05.000001Z"),
            ok_json(120_000, 200, &record("running", T5)),
        ),
        step(
            &long_poll("2026-01-01T00:00:05.000001Z"),
            ok_json(55_000, 200, &record("success", T300)),
        ),
    ];
    let run = run(&deploy_config(), &deploy_op(), script);
    assert_eq!(run.outcome, Outcome::Succeeded);
    assert_eq!(run.requests, 6, "within ceil(300/120) + 2 changes + 1");
    assert_eq!(run.end.as_millis(), 300_000);
}

#[test]
fn deploy_server_without_long_polling_falls_back_to_backoff() {
    // Every poll comes back at once, unchanged: after one try with an advanced marker, the
    // machine uses the normal backoff (1 s, 1.5 s, ...) rather than spinning.
    let same = || step("GET /api/jobs/d1?", ok_json(5, 200, &record("running", T0)));
    let script = vec![
        accepted_deploy(),
        same(),
        same(),
        same(),
        same(),
        step(
            "GET /api/jobs/d1?",
            ok_json(5, 200, &record("success", T300)),
        ),
    ];
    let run = run(&deploy_config(), &deploy_op(), script);
    assert_eq!(run.outcome, Outcome::Succeeded);
    let times: Vec<&str> = run
        .timeline
        .iter()
        .filter(|l| l.contains(" GET "))
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    // 0.200 first long poll, 0.205 with the advanced marker, then the normal gaps: 1 s each
    // (grown 1.5 s, 2.25 s..., but at most 10 % of the elapsed time, floored at 1 s).
    assert_eq!(
        times,
        ["0.200", "0.205", "1.210", "2.215", "3.220"],
        "{:#?}",
        run.timeline
    );
}

#[test]
fn deploy_long_poll_hold_is_clamped_to_the_deadline() {
    let mut cfg = deploy_config();
    cfg.policy.deadline = std::time::Duration::from_secs(50);
    let script = vec![
        accepted_deploy(),
        // 49.8 s left: hold 49 s.
        step(
            "GET /api/jobs/d1?fields=state,message,last_modified&poll_timeout=49&",
            ok_json(49_000, 200, &record("running", T0)),
        ),
        // 0.8 s left: no long poll (the range starts at 1 s); the final poll at the deadline.
        step(
            "GET /api/jobs/d1?fields=state,message,last_modified",
            ok_json(0, 200, &record("running", T0)),
        ),
    ];
    let run = run(&cfg, &deploy_op(), script);
    assert_eq!(run.outcome, Outcome::DeadlineExceeded);
    let last_get = run
        .timeline
        .iter()
        .rfind(|l| l.contains(" GET "))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        last_get,
        "50.000 GET /api/jobs/d1?fields=state,message,last_modified"
    );
}

#[test]
fn deploy_versioned_base_path() {
    let mut cfg = deploy_config();
    cfg.dialect = Dialect::Deploy(DeployOptions {
        base_path: "/api/v3",
        ..DeployOptions::DEFAULT
    });
    let script = vec![
        accepted_deploy(),
        step(
            "GET /api/v3/jobs/d1?",
            ok_json(10, 200, &record("success", T5)),
        ),
    ];
    assert_eq!(run(&cfg, &deploy_op(), script).outcome, Outcome::Succeeded);
}

fn aiqum_config() -> Config<'static> {
    let mut cfg = test_config();
    cfg.dialect = Dialect::Aiqum(AiqumOptions::DEFAULT);
    cfg
}

const KEY: &str = "06a6148bf9e862df:-2611856e:16e8d47e722:-7f87";

fn aiqum_job(state: &str, status: &str) -> String {
    format!(
        r#"{{"key":"{KEY}","name":"Create file share","state":"{state}","status":"{status}","_links":{{"self":{{"href":"/api/management-server/jobs/{KEY}"}}}}}}"#
    )
}

#[test]
fn aiqum_outcomes_from_state_and_status() {
    let get = format!("GET /api/management-server/jobs/{KEY} HTTP");
    let get = get.trim_end_matches(" HTTP").to_string();
    for (status, want) in [
        ("normal", Outcome::Succeeded),
        ("WARNING", Outcome::SucceededWithWarnings),
        ("partial_failures", Outcome::PartiallyFailed),
        ("error", Outcome::Failed),
    ] {
        let op = Submit::post("/api/storage-provider/file-shares", br#"{"name":"fs1"}"#);
        let accepted = format!(
            r#"{{"job":{{"key":"{KEY}","_links":{{"self":{{"href":"/api/management-server/jobs/{KEY}"}}}}}}}}"#
        );
        let script = vec![
            step(
                "POST /api/storage-provider/file-shares",
                ok_json(100, 202, &accepted),
            ),
            step(&get, ok_json(0, 200, &aiqum_job("running", "normal"))),
            step(&get, ok_json(0, 200, &aiqum_job("completed", status))),
        ];
        let run = run(&aiqum_config(), &op, script);
        assert_eq!(run.outcome, want, "{status}");
        assert_eq!(run.poller.job_id(), Some(KEY));
        assert_eq!(run.poller.last_seen().raw_state, status);
        // Polls 1 s after the accept, then 1 s later (1.5 s grown, but at most 10 % of the
        // 1.1 s elapsed, floored at 1 s).
        assert_eq!(run.end.as_millis(), 2_100);
    }
}

#[test]
fn aiqum_429_is_honoured() {
    let get = format!("GET /api/management-server/jobs/{KEY}");
    let busy = response(429, &[("Retry-After", "4")], "");
    let op = Submit::post("/api/storage-provider/file-shares", b"{}");
    let script = vec![
        step(
            "POST",
            ok_json(100, 202, &format!(r#"{{"job":{{"key":"{KEY}"}}}}"#)),
        ),
        step(
            &get,
            Answer::Bytes {
                after_ms: 0,
                bytes: busy.into_bytes(),
            },
        ),
        step(&get, ok_json(0, 200, &aiqum_job("completed", "normal"))),
    ];
    let run = run(&aiqum_config(), &op, script);
    assert_eq!(run.outcome, Outcome::Succeeded);
    assert_eq!(run.end.as_millis(), 5_100);
}

fn nse_config() -> Config<'static> {
    let mut cfg = test_config();
    cfg.dialect = Dialect::Nse(NseOptions::DEFAULT);
    cfg.auth = jobpoll::http::Auth::Header("Bearer eyJhbGciOi");
    cfg
}

fn envelope(status: &str, detail: &str, last_error: &str, task_error: &str) -> String {
    format!(
        r#"{{"status":{{"user_message":"Okay. Returned 1 record.","verbose_message":"","code":200}},"result":{{"total_records":1,"records":[{{"id":"5e66f18e09a74c0001b89640","status":"{status}","status_detail":"{detail}","last_error":"{last_error}","job_tasks":[{{"id":"t1","status":"{status}","last_error":"{task_error}","request_payload":{{"org_password":"netapp01"}}}}]}}]}}}}"#
    )
}

#[test]
fn nse_failure_reports_the_task_error_and_never_the_payload() {
    let accepted = r#"{"status":{"user_message":"Okay. Accepted for processing.","verbose_message":"","code":202},"result":{"returned_records":1,"records":[{"id":"5e66f18e09a74c0001b89640","status":"pending","job_tasks":null}]}}"#;
    let get = "GET /api/v2.1/jobs/5e66f18e09a74c0001b89640";
    let script = vec![
        step(
            "POST /api/v2.1/objectstorage/buckets",
            ok_json(100, 202, accepted),
        ),
        step(
            get,
            ok_json(
                0,
                200,
                &envelope("running", "Worker is processing task.", "", ""),
            ),
        ),
        step(
            get,
            ok_json(
                0,
                200,
                &envelope(
                    "failed",
                    "Worker failed task.",
                    "",
                    "bucket mys3bucket exists",
                ),
            ),
        ),
    ];
    let op = Submit::post(
        "/api/v2.1/objectstorage/buckets",
        br#"{"name":"mys3bucket"}"#,
    );
    let run = run(&nse_config(), &op, script);
    assert_eq!(run.outcome, Outcome::Failed);
    assert_eq!(
        run.messages.last().map(String::as_str),
        Some("bucket mys3bucket exists")
    );
    assert!(run.messages.iter().all(|m| !m.contains("netapp01")));
    assert_eq!(run.poller.last_seen().raw_state, "failed");
    assert_eq!(
        run.poller.last_seen().code,
        None,
        "the envelope's 200 is not the job's code"
    );
}

#[test]
fn nse_success() {
    let accepted = r#"{"status":{"code":202},"result":{"records":[{"id":"j2","status":"pending","job_tasks":null}]}}"#;
    let script = vec![
        step("POST", ok_json(100, 202, accepted)),
        step(
            "GET /api/v2.1/jobs/j2",
            ok_json(
                0,
                200,
                &envelope(
                    "successful",
                    "Creation of s3 bucket completed successfully.",
                    "",
                    "",
                )
                .replace("5e66f18e09a74c0001b89640", "j2"),
            ),
        ),
    ];
    let run = run(
        &nse_config(),
        &Submit::post("/api/v2.1/objectstorage/buckets", b"{}"),
        script,
    );
    assert_eq!(run.outcome, Outcome::Succeeded);
}

#[test]
fn nse_modify_answer_is_a_completion_not_a_job() {
    // "Modify ONTAP cluster" answers 202 with the cluster's record (apis.md 4.2): its id is not
    // a job id. Polled as one, a 404 there would turn an accepted change into `Expired`.
    let modified = r#"{"status":{"user_message":"Okay. Accepted for processing.","verbose_message":"","code":202},"result":{"returned_records":1,"records":[{"id":"5f2b3c4d5e6f708192a3b4c5","name":"cluster1","status":"online","region":"us-east"}]}}"#;
    let put = "PUT /api/v2.1/ontapclusters/5f2b3c4d5e6f708192a3b4c5";
    let script = vec![step(put, ok_json(100, 202, modified))];
    let op = Submit {
        method: jobpoll::http::Method::Put,
        ..Submit::post(
            "/api/v2.1/ontapclusters/5f2b3c4d5e6f708192a3b4c5",
            br#"{"name":"cluster1"}"#,
        )
    };
    let run = run(&nse_config(), &op, script);
    assert_eq!(run.outcome, Outcome::CompletedWithoutJob { status: 202 });
    assert_eq!(run.requests, 1, "nothing polled");
    assert_eq!(run.record_ids, ["5f2b3c4d5e6f708192a3b4c5"]);
    assert_eq!(run.poller.job_id(), None, "the record is not a job");
}

#[test]
fn submit_answers_are_job_shaped_or_records_table() {
    use jobpoll::dialect::aiqum::AiqumOptions as A;
    use jobpoll::dialect::ontap::OntapOptions;
    let l = jobpoll::json::Limits::default();
    // (dialect, body, job id expected, record id expected)
    let table: &[(Dialect, &str, Option<&str>, Option<&str>)] = &[
        (
            Dialect::Ontap(OntapOptions::DEFAULT),
            r#"{"job":{"uuid":"u1"}}"#,
            Some("u1"),
            None,
        ),
        (
            Dialect::Ontap(OntapOptions::DEFAULT),
            r#"{"job":{"state":"running"}}"#,
            None,
            None,
        ),
        (
            Dialect::Ontap(OntapOptions::DEFAULT),
            r#"{"num_records":1,"records":[{"uuid":"v1","name":"vol1"}]}"#,
            None,
            None,
        ),
        (
            Dialect::Deploy(DeployOptions::DEFAULT),
            r#"{"job":{"id":"d1"}}"#,
            Some("d1"),
            None,
        ),
        (
            Dialect::Deploy(DeployOptions::DEFAULT),
            r#"{"record":{"id":"c1","name":"ots"}}"#,
            None,
            Some("c1"),
        ),
        (
            Dialect::Aiqum(A::DEFAULT),
            r#"{"job":{"key":"k:1"}}"#,
            Some("k:1"),
            None,
        ),
        (
            Dialect::Aiqum(A::DEFAULT),
            r#"{"key":"svm:1","name":"vs1"}"#,
            None,
            Some("svm:1"),
        ),
        (
            Dialect::Nse(NseOptions::DEFAULT),
            r#"{"result":{"records":[{"id":"j1","status":"pending","job_tasks":null}]}}"#,
            Some("j1"),
            None,
        ),
        (
            Dialect::Nse(NseOptions::DEFAULT),
            r#"{"result":{"records":[{"id":"c1","status":"online","name":"cluster1"}]}}"#,
            None,
            Some("c1"),
        ),
    ];
    for (dialect, body, job, record) in table {
        let a = dialect.parse_submit_answer(body.as_bytes(), l).expect(body);
        let got_job = a.job.and_then(|j| j.id).map(|i| i.to_string());
        let got_record = a.record_id.map(|i| i.to_string());
        assert_eq!(got_job.as_deref(), *job, "{body}");
        assert_eq!(got_record.as_deref(), *record, "{body}");
    }
}

fn every_dialect() -> Vec<Dialect> {
    vec![
        Dialect::Ontap(jobpoll::dialect::ontap::OntapOptions::DEFAULT),
        Dialect::Deploy(DeployOptions::DEFAULT),
        Dialect::Aiqum(AiqumOptions::DEFAULT),
        Dialect::Nse(NseOptions::DEFAULT),
        Dialect::Generic(&jobpoll::dialect::generic::AZURE_STYLE),
    ]
}

#[test]
fn job_bodies_that_are_not_objects_are_errors_table() {
    let l = jobpoll::json::Limits::default();
    for dialect in every_dialect() {
        for body in [
            "[]",
            r#"[{"state":"success"}]"#,
            r#""success""#,
            "42",
            "null",
            " true ",
        ] {
            let got = dialect.parse_job(body.as_bytes(), l).map(|j| j.state);
            assert_eq!(
                got,
                Err(jobpoll::json::JsonError::NotAnObject),
                "{dialect:?} {body}"
            );
        }
        assert!(
            dialect.parse_job(b"{}", l).is_ok(),
            "{dialect:?}: an object"
        );
    }
}

#[test]
fn error_bodies_keep_code_and_target_table() {
    use jobpoll::json::Code;
    let l = jobpoll::json::Limits::default();
    let ontap_shape = r#"{"error":{"message":"entry doesn't exist","code":"4","target":"uuid"}}"#;
    for dialect in every_dialect() {
        let (body, code, target) = match dialect {
            Dialect::Nse(_) => (
                r#"{"status":{"user_message":"Job not found.","verbose_message":"","code":404},"result":null}"#,
                404,
                None,
            ),
            _ => (ontap_shape, 4, Some("uuid")),
        };
        let e = dialect.parse_error(body.as_bytes(), l).expect(body);
        assert_eq!(e.code, Some(Code::Int(code)), "{dialect:?}");
        assert_eq!(
            e.target.map(|t| t.to_string()).as_deref(),
            target,
            "{dialect:?}"
        );
        assert!(e.message.is_some(), "{dialect:?}");
    }
    // A failed ONTAP job's error object, with and without the job's own code.
    let job = r#"{"uuid":"u1","state":"failure","message":"m","error":{"code":"262179","message":"Unexpected argument","target":"fields"}}"#;
    let j = every_dialect()[0]
        .parse_job(job.as_bytes(), l)
        .expect("job");
    assert_eq!(j.error_code, Some(Code::Int(262_179)));
    assert_eq!(j.best_code(), Some(Code::Int(262_179)));
    assert!(j.error_target.is_some_and(|t| t.eq_str("fields")));
}

#[test]
fn ontap_job_error_code_is_recorded() {
    let mut cfg = test_config();
    cfg.dialect = Dialect::Ontap(jobpoll::dialect::ontap::OntapOptions::DEFAULT);
    let accepted = r#"{"job":{"uuid":"u1"}}"#;
    let failed = r#"{"uuid":"u1","state":"failure","message":"The value is invalid","error":{"code":"262197","message":"The value is invalid","target":"size"}}"#;
    let script = vec![
        step("POST /api/storage/volumes", ok_json(100, 202, accepted)),
        step("GET /api/cluster/jobs/u1", ok_json(0, 200, "[]")),
        step("GET /api/cluster/jobs/u1", ok_json(0, 200, failed)),
    ];
    let op = Submit::post("/api/storage/volumes", b"{}");
    let run = run(&cfg, &op, script);
    assert_eq!(run.outcome, Outcome::Failed);
    assert_eq!(run.poller.last_seen().code, Some(262_197));
    assert!(
        run.timeline.iter().any(|l| l.contains("InvalidResponse")),
        "an array is an unreadable answer: {:#?}",
        run.timeline
    );
}
