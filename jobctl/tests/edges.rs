//! jobctl at its edges, against a byte-level test server (or jobsim): hung and hostile servers,
//! signals at every phase, closed outputs, TLS rejections, and the flags that bound the time.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Answer, TestServer, result};

/// `--request-timeout` bounds a request: a submit the server never answers ends after about one
/// request timeout, as `submit_outcome_unknown` (never re-sent). Unified Manager: its submit has
/// no server hold (an ONTAP submit may be held 30 s on top).
#[test]
fn request_timeout_bounds_an_unanswered_submit() {
    let server = TestServer::start(|_| Answer::Hang);
    let started = Instant::now();
    let out = server
        .jobctl_for("aiqum")
        .args([
            "submit",
            "POST",
            "/api/v2/storage-provider/file-shares",
            "--body",
            "{}",
        ])
        .output()
        .expect("runs");
    let (v, code) = result(&out);
    assert_eq!(
        (v["outcome"].as_str(), code),
        (Some("submit_outcome_unknown"), 3),
        "{v}"
    );
    assert_eq!(v["job"], Value::Null);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.requests().len(), 1, "the submit is never re-sent");
}
