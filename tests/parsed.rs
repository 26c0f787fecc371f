//! The machine fed by another HTTP client: requests read back with `RequestView`, answers given
//! as `ParsedAnswer`. The same script through raw bytes and through parsed answers gives the
//! same actions, request for request.

#![cfg(feature = "ontap")]

mod support;

use jobpoll::http::{Method, RequestView};
use jobpoll::{Action, Connection, Instant, JobPoller, Outcome, ParsedAnswer, Submit};
use support::test_config;

/// One canned answer: status, fields, body.
type Canned = (u16, Vec<(&'static str, &'static str)>, &'static str);

fn raw(answer: &Canned) -> Vec<u8> {
    let (status, fields, body) = answer;
    let mut s = format!("HTTP/1.1 {status} X\r\n");
    for (name, value) in fields {
        s.push_str(&format!("{name}: {value}\r\n"));
    }
    s.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.into_bytes()
}

/// Runs the machine over `script`, feeding each answer raw or parsed; returns every action and
/// each request's method, target and connection.
fn drive(script: &[Canned], parsed: bool) -> (Vec<String>, Outcome) {
    let cfg = test_config();
    let op = Submit::post("/api/storage/volumes", br#"{"name":"v"}"#);
    let mut job = JobPoller::submit(&cfg, &op, Instant::ZERO).unwrap();
    let (mut tx, mut rx) = (vec![0u8; 2048], vec![0u8; 4096]);
    let mut now = Instant::ZERO;
    let mut log = Vec::new();
    let mut answers = script.iter();
    for _ in 0..1000 {
        match job.poll(&cfg, &op, now, &mut tx).unwrap() {
            Action::SendRequest(req) => {
                let view = RequestView::parse(&tx[..req.len]).expect("a request");
                log.push(format!(
                    "{} {:?} {} {:?}",
                    now.as_millis(),
                    view.method,
                    view.target,
                    req.connection
                ));
                if view.method == Method::Post {
                    assert_eq!(
                        req.connection,
                        Connection::Fresh,
                        "a submit on a fresh connection"
                    );
                }
                let answer = answers.next().expect("an answer for every request");
                if parsed {
                    let fields: Vec<(&str, &[u8])> =
                        answer.1.iter().map(|(n, v)| (*n, v.as_bytes())).collect();
                    job.handle_parsed(
                        &cfg,
                        now,
                        ParsedAnswer {
                            status: answer.0,
                            fields: &fields,
                            body: answer.2.as_bytes(),
                        },
                    )
                    .unwrap();
                } else {
                    let bytes = raw(answer);
                    rx[..bytes.len()].copy_from_slice(&bytes);
                    job.handle_response(&cfg, now, &mut rx, bytes.len())
                        .unwrap();
                }
            }
            Action::SleepUntil(t) => now = t,
            Action::Done(outcome) => {
                assert!(answers.next().is_none(), "script not used up");
                return (log, outcome);
            }
            other => log.push(format!("{} {other:?}", now.as_millis())),
        }
    }
    panic!("no end: {log:#?}");
}

const ACCEPTED: &str = r#"{"job":{"uuid":"u1","_links":{"self":{"href":"/api/cluster/jobs/u1"}}}}"#;

#[test]
fn parsed_answers_drive_the_machine_as_raw_bytes_do() {
    let script: Vec<Canned> = vec![
        (202, vec![], ACCEPTED),
        (
            200,
            vec![],
            r#"{"uuid":"u1","state":"running","message":"m"}"#,
        ),
        // A busy server asks for a second: the machine waits for it.
        (503, vec![("Retry-After", "1")], ""),
        // The server closes the connection after this answer: Close, then a fresh one.
        (
            200,
            vec![("Connection", "close")],
            r#"{"uuid":"u1","state":"running"}"#,
        ),
        (200, vec![], r#"{"uuid":"u1","state":"success","code":0}"#),
    ];
    let (raw_log, raw_outcome) = drive(&script, false);
    let (parsed_log, parsed_outcome) = drive(&script, true);
    assert_eq!(raw_outcome, Outcome::Succeeded);
    assert_eq!(parsed_outcome, raw_outcome);
    assert_eq!(parsed_log, raw_log);
    assert!(
        parsed_log.iter().any(|l| l.ends_with(" Close")),
        "{parsed_log:#?}"
    );
    assert!(
        parsed_log
            .iter()
            .any(|l| l.contains("Retrying { cause: Status(503)"))
    );
}

#[test]
fn a_parsed_answer_without_a_request_in_flight_changes_nothing() {
    let cfg = test_config();
    let mut job = JobPoller::watch(&cfg, "u1", Instant::ZERO).unwrap();
    let answer = ParsedAnswer {
        status: 200,
        fields: &[],
        body: b"{}",
    };
    assert_eq!(
        job.handle_parsed(&cfg, Instant::ZERO, answer).err(),
        Some(jobpoll::Error::NoRequestInFlight)
    );
    assert_eq!(job.requests(), 0);
}
