//! With the `log` feature the core reports requests, states, retries and outcomes, and never a
//! credential or a job message (which may carry secrets).

#![cfg(all(feature = "log", feature = "ontap"))]

mod support;

use std::sync::Mutex;

use jobpoll::http::Auth;
use jobpoll::{Outcome, Submit};
use support::*;

static RECORDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        RECORDS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("{} {}", record.level(), record.args()));
    }
    fn flush(&self) {}
}

#[test]
fn records_say_what_happened_and_nothing_secret() {
    let _ = log::set_logger(&Capture);
    log::set_max_level(log::LevelFilter::Trace);
    let mut cfg = test_config();
    cfg.auth = Auth::Basic {
        user: "admin",
        password: "s3cr3t-Pa55",
    };
    let op = Submit::post(
        "/api/storage/volumes",
        br#"{"name":"vol1","password":"body-secret"}"#,
    );
    let accepted = r#"{"job":{"uuid":"u1"}}"#;
    let busy = response(503, &[("Retry-After", "2")], "");
    let script = vec![
        step("POST", ok_json(100, 202, accepted)),
        step(
            "GET",
            Answer::Bytes {
                after_ms: 0,
                bytes: busy.into_bytes(),
            },
        ),
        step(
            "GET",
            ok_json(
                0,
                200,
                r#"{"state":"success","message":"token=msg-secret"}"#,
            ),
        ),
    ];
    let run = run(&cfg, &op, script);
    assert_eq!(run.outcome, Outcome::Succeeded);
    let records = RECORDS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let all = records.join("\n");
    for needle in [
        "sending Submit",
        "sending Poll",
        "Status(503)",
        "job state Succeeded",
        "done Succeeded",
    ] {
        assert!(all.contains(needle), "no record with {needle:?}:\n{all}");
    }
    for secret in [
        "s3cr3t-Pa55",
        "YWRtaW46czNjcjN0LVBhNTU",
        "body-secret",
        "msg-secret",
    ] {
        assert!(!all.contains(secret), "a record leaks {secret:?}:\n{all}");
    }
    // Debug output of the configuration redacts the credentials too.
    assert!(!format!("{cfg:?}").contains("s3cr3t-Pa55"));
}
