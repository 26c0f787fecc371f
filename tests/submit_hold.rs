//! A driver's say over the submit's server-side hold (`JobPoller::allow_submit_hold`): the
//! pooling fleet waives it when other work waits for the connection.

#![cfg(feature = "ontap")]

use std::time::Duration;

use jobpoll::http::{Auth, Authority};
use jobpoll::{Action, Config, Dialect, Instant, JobPoller, Submit};

fn cfg() -> Config<'static> {
    Config::new(
        Authority {
            host: "cluster",
            port: 443,
            tls: true,
        },
        Auth::Basic {
            user: "admin",
            password: "secret",
        },
        Dialect::default(),
    )
}

/// The request line and deadline of the first request, with the hold allowed or not.
fn first_request(allowed: Option<bool>) -> (String, Instant) {
    let cfg = cfg();
    let op = Submit::post("/api/storage/volumes", b"{}");
    let now = Instant::from_millis(1_000);
    let mut job = JobPoller::submit(&cfg, &op, now).unwrap();
    if let Some(allowed) = allowed {
        job.allow_submit_hold(allowed);
    }
    let mut tx = [0u8; 1024];
    match job.poll(&cfg, &op, now, &mut tx).unwrap() {
        Action::SendRequest(req) => {
            let text = String::from_utf8_lossy(&tx[..req.len]);
            (text.lines().next().unwrap().to_owned(), req.deadline)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_waived_hold_is_written_as_zero_and_shortens_the_request_deadline() {
    let timeout = cfg().policy.request_timeout;
    let start = Instant::from_millis(1_000);
    let (line, deadline) = first_request(None);
    assert_eq!(line, "POST /api/storage/volumes?return_timeout=30 HTTP/1.1");
    assert_eq!(deadline, start + Duration::from_secs(30) + timeout);
    assert_eq!(first_request(Some(true)), (line, deadline));
    let (line, deadline) = first_request(Some(false));
    assert_eq!(line, "POST /api/storage/volumes?return_timeout=0 HTTP/1.1");
    assert_eq!(deadline, start + timeout);
}
