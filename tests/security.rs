//! Security properties of what jobpoll writes and prints:
//! - CR, LF or NUL in any caller-supplied string (host, path, query names and values, header
//!   names and values, user, password, bearer value, user agent, the job id given to `watch`)
//!   is refused with a typed error and never reaches the wire (property test);
//! - credentials and bearer tokens are redacted in `Debug` of `Config`, `Auth`, `Request` and
//!   the machine (`defmt` uses the hand-written `Format` of `Auth`, by construction);
//! - a Service Engine job task's `request_payload` (which carries passwords) never surfaces in
//!   what jobpoll returns: messages, `last_seen`, `Debug` of a parsed job or of the machine;
//! - a server's job id goes on the wire as one percent-encoded path segment, and its links are
//!   followed only under the dialect's job path, without dot segments.

#![cfg(all(feature = "ontap", feature = "nse"))]

mod support;

use std::sync::atomic::{AtomicU64, Ordering};

use jobpoll::dialect::nse::NseOptions;
use jobpoll::http::{Accept, Auth, Authority, Method, Request};
use jobpoll::{Action, Config, Dialect, Error, Instant, JobPoller, Received, Submit};
use proptest::prelude::*;

const PASSWORD: &str = "hunter2-Pa55";
const TOKEN: &str = "Bearer tok-3f9a-SECRET";

/// Which caller-supplied string gets the bad byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Host,
    Path,
    QueryName,
    QueryValue,
    HeaderName,
    HeaderValue,
    User,
    Password,
    Bearer,
    UserAgent,
    WatchedJob,
}

const FIELDS: [Field; 11] = [
    Field::Host,
    Field::Path,
    Field::QueryName,
    Field::QueryValue,
    Field::HeaderName,
    Field::HeaderValue,
    Field::User,
    Field::Password,
    Field::Bearer,
    Field::UserAgent,
    Field::WatchedJob,
];

static CASES: AtomicU64 = AtomicU64::new(0);

fn tainted(base: &str, bad: char, at: usize) -> String {
    let at = at % (base.len() + 1);
    let mut s = base.to_string();
    s.insert(at, bad);
    s
}

/// Drives the machine until it sends or fails; returns the first request's bytes, if any.
fn first_request(cfg: &Config<'_>, op: &Submit<'_>, watched: Option<&str>) -> Option<Vec<u8>> {
    let now = Instant::from_secs(10);
    let mut job = match watched {
        Some(id) => JobPoller::watch(cfg, id, now).ok()?,
        None => JobPoller::submit(cfg, op, now).ok()?,
    };
    let mut tx = vec![0u8; 4096];
    for _ in 0..10 {
        match job.poll(cfg, op, now, &mut tx) {
            Ok(Action::SendRequest(req)) => return Some(tx[..req.len].to_vec()),
            Ok(Action::Event(_)) | Ok(Action::Close) => {}
            Ok(other) => panic!("unexpected {other:?}"),
            Err(Error::Config(_)) => return None,
            Err(e) => panic!("untyped refusal: {e:?}"),
        }
    }
    None
}

fn check(field: Field, bad: char, at: usize) -> Result<(), TestCaseError> {
    CASES.fetch_add(1, Ordering::Relaxed);
    let t = |base: &str, f: Field| {
        if f == field {
            tainted(base, bad, at)
        } else {
            base.to_string()
        }
    };
    let host = t("cluster1.example.com", Field::Host);
    let path = t("/api/storage/volumes", Field::Path);
    let qname = t("fields", Field::QueryName);
    let qvalue = t("uuid,name", Field::QueryValue);
    let hname = t("X-Dot-SVM-Name", Field::HeaderName);
    let hvalue = t("vs1", Field::HeaderValue);
    let user = t("admin", Field::User);
    let password = t(PASSWORD, Field::Password);
    let bearer = t(TOKEN, Field::Bearer);
    let agent = t("ops-tool/1.0", Field::UserAgent);
    let job_id = t("1cd8a442-86d1-11e0-ae1c-123478563412", Field::WatchedJob);
    let auth = if field == Field::Bearer {
        Auth::Header(&bearer)
    } else {
        Auth::Basic {
            user: &user,
            password: &password,
        }
    };
    let headers = [(hname.as_str(), hvalue.as_str())];
    let mut cfg = Config::new(
        Authority {
            host: &host,
            port: 443,
            tls: true,
        },
        auth,
        Dialect::default(),
    );
    cfg.user_agent = &agent;
    cfg.headers = &headers;
    let query = [(qname.as_str(), qvalue.as_str())];
    let op = Submit::post(&path, b"{}").with_query(&query);
    let watched = (field == Field::WatchedJob).then_some(job_id.as_str());
    let sent = first_request(&cfg, &op, watched);
    if let Some(bytes) = &sent {
        // Nothing with the bad byte in it may be written: only the head's own CRLFs.
        let head_end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete head");
        let head = &bytes[..head_end];
        prop_assert!(!head.contains(&0), "NUL on the wire for {field:?}");
        for line in head.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            prop_assert!(!line.contains(&b'\r'), "bare CR on the wire for {field:?}");
        }
    }
    // Every tainted field is refused before anything is written.
    prop_assert!(
        sent.is_none(),
        "{field:?} with {bad:?} reached the wire: {:?}",
        sent.map(|b| String::from_utf8_lossy(&b).to_string())
    );
    Ok(())
}

#[test]
fn control_bytes_in_caller_strings_are_refused() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 3_000,
        ..ProptestConfig::default()
    });
    let strategy = (
        prop::sample::select(FIELDS.to_vec()),
        prop::sample::select(vec!['\r', '\n', '\0']),
        any::<usize>(),
    );
    let result = runner.run(&strategy, |(field, bad, at)| check(field, bad, at));
    if let Err(e) = result {
        panic!("{e}");
    }
    // And every field, every byte, at the start, middle and end, exhaustively.
    for field in FIELDS {
        for bad in ['\r', '\n', '\0'] {
            for at in [0, 3, usize::MAX] {
                check(field, bad, at).unwrap();
            }
        }
    }
    println!("control bytes: {} cases run", CASES.load(Ordering::Relaxed));
}

#[test]
fn clean_strings_do_reach_the_wire() {
    // The control for the property above: the same configuration without a bad byte sends.
    let headers = [("X-Dot-SVM-Name", "vs1")];
    let mut cfg = Config::new(
        Authority {
            host: "cluster1.example.com",
            port: 443,
            tls: true,
        },
        Auth::Basic {
            user: "admin",
            password: PASSWORD,
        },
        Dialect::default(),
    );
    cfg.headers = &headers;
    let query = [("fields", "uuid,name")];
    let op = Submit::post("/api/storage/volumes", b"{}").with_query(&query);
    let sent = first_request(&cfg, &op, None).expect("sent");
    let text = String::from_utf8_lossy(&sent);
    assert!(text.starts_with("POST /api/storage/volumes?"), "{text}");
    assert!(text.contains("X-Dot-SVM-Name: vs1\r\n"), "{text}");
    assert!(first_request(&cfg, &Submit::NONE, Some("1cd8a442")).is_some());
}

fn assert_redacted(what: &str, text: &str) {
    for secret in [PASSWORD, "tok-3f9a-SECRET", "aHVudGVy"] {
        assert!(!text.contains(secret), "{what} shows a secret: {text}");
    }
}

#[test]
fn credentials_are_redacted_in_debug() {
    let basic = Auth::Basic {
        user: "admin",
        password: PASSWORD,
    };
    let bearer = Auth::Header(TOKEN);
    for auth in [basic, bearer] {
        assert_redacted("Auth", &format!("{auth:?}"));
        assert_redacted("Auth (alternate)", &format!("{auth:#?}"));
        let cfg = Config::new(
            Authority {
                host: "h",
                port: 443,
                tls: true,
            },
            auth,
            Dialect::default(),
        );
        assert_redacted("Config", &format!("{cfg:?}"));
        assert_redacted("Config (alternate)", &format!("{cfg:#?}"));
        let request = Request {
            method: Method::Get,
            authority: cfg.authority,
            path: "/api/cluster/jobs/j1",
            query: &[],
            auth,
            accept: Accept::Json,
            user_agent: "",
            headers: &[],
            body: None,
            connection_close: false,
        };
        assert_redacted("Request", &format!("{request:?}"));
        let op = Submit::post("/api/storage/volumes", b"{}");
        let job = JobPoller::submit(&cfg, &op, Instant::ZERO).unwrap();
        assert_redacted("JobPoller", &format!("{job:?}"));
    }
    // The user name is not a secret: shown, so a wrong account is easy to spot.
    assert!(format!("{basic:?}").contains("admin"));
}

/// A Service Engine job whose task carries credentials in `request_payload`, as real ones do.
const NSE_JOB: &str = r#"{"status":{"code":200},"result":{"total_records":1,"records":[{
  "id":"5e66","status":"failed","status_detail":"Creating bucket",
  "job_tasks":[{"name":"create","request_payload":{"user":"root","password":"hunter2-Pa55",
    "last_error":"hunter2-Pa55","status_detail":"hunter2-Pa55"},"last_error":"bucket exists"}]
}]}}"#;

#[test]
fn service_engine_request_payload_never_surfaces() {
    let dialect = Dialect::Nse(NseOptions::DEFAULT);
    let job = dialect
        .parse_job(NSE_JOB.as_bytes(), jobpoll::json::Limits::default())
        .unwrap();
    assert_redacted("parsed job", &format!("{job:?}"));
    let message = job.message_for_state().unwrap().to_string();
    assert_eq!(message, "bucket exists");

    // Through the machine: last_seen, the reply message, Debug of the machine.
    let cfg = Config::new(
        Authority {
            host: "h",
            port: 443,
            tls: true,
        },
        Auth::None,
        dialect,
    );
    let mut poller = JobPoller::watch(&cfg, "5e66", Instant::ZERO).unwrap();
    let mut tx = vec![0u8; 2048];
    let mut now = Instant::ZERO;
    let mut replies = Vec::new();
    for _ in 0..20 {
        match poller.poll(&cfg, &Submit::NONE, now, &mut tx).unwrap() {
            Action::SendRequest(_) => {
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{NSE_JOB}",
                    NSE_JOB.len()
                );
                let mut rx = answer.into_bytes();
                let n = rx.len();
                if let Received::Complete(reply) =
                    poller.handle_response(&cfg, now, &mut rx, n).unwrap()
                {
                    replies.push(format!(
                        "{reply:?} {:?}",
                        reply.message.map(|m| m.to_string())
                    ));
                }
            }
            Action::SleepUntil(t) => now = t,
            Action::Done(_) => break,
            _ => {}
        }
    }
    assert!(!replies.is_empty());
    for r in &replies {
        assert_redacted("reply", r);
    }
    let seen = poller.last_seen();
    assert_redacted("last_seen", &format!("{seen:?}"));
    assert_redacted("machine", &format!("{poller:?}"));
}

/// A server's job id becomes one percent-encoded path segment: no `..`, `/`, `?` or line
/// break of it reaches the request line as such.
#[test]
fn a_server_id_is_one_encoded_segment() {
    let cases = [
        (
            "../../../private/secret",
            "/api/cluster/jobs/%2E%2E%2F%2E%2E%2F%2E%2E%2Fprivate%2Fsecret",
        ),
        ("a?b#c", "/api/cluster/jobs/a%3Fb%23c"),
        (
            "x\r\nX-Injected: 1",
            "/api/cluster/jobs/x%0D%0AX-Injected:%201",
        ),
        ("..", "/api/cluster/jobs/%2E%2E"),
        ("u:1@2~-._", "/api/cluster/jobs/u:1@2~-._"),
    ];
    for (id, path) in cases {
        let body = format!(
            r#"{{"job":{{"uuid":{}}}}}"#,
            serde_json::to_string(id).unwrap()
        );
        let target = first_poll_target(&body);
        assert_eq!(
            target,
            format!("{path}?fields=state,message,code"),
            "id {id:?}"
        );
    }
}

/// A server's link is followed only under the dialect's job path, without dot segments;
/// otherwise the id is used.
#[test]
fn a_server_link_is_followed_only_under_the_job_path() {
    let cases = [
        ("/api/cluster/jobs/u1", "/api/cluster/jobs/u1"),
        (
            "/api/cluster/jobs/../../private/secret",
            "/api/cluster/jobs/u1",
        ),
        ("/api/private/secret", "/api/cluster/jobs/u1"),
        (
            "https://cluster1/api/cluster/jobs/./u1",
            "/api/cluster/jobs/u1",
        ),
    ];
    for (link, path) in cases {
        let body = format!(
            r#"{{"job":{{"uuid":"u1","_links":{{"self":{{"href":{}}}}}}}}}"#,
            serde_json::to_string(link).unwrap()
        );
        let target = first_poll_target(&body);
        assert_eq!(
            target,
            format!("{path}?fields=state,message,code"),
            "link {link:?}"
        );
    }
}

/// The target of the first poll after a 202 carrying `body`.
fn first_poll_target(body: &str) -> String {
    let cfg = {
        let mut cfg = support::test_config();
        cfg.dialect = jobpoll::Dialect::Ontap(jobpoll::dialect::ontap::OntapOptions {
            return_timeout: std::time::Duration::ZERO,
            ..Default::default()
        });
        cfg
    };
    let op = jobpoll::Submit::post("/api/storage/volumes", b"{}");
    let mut job = jobpoll::JobPoller::submit(&cfg, &op, jobpoll::Instant::ZERO).unwrap();
    let mut tx = vec![0u8; 2048];
    let mut now = jobpoll::Instant::ZERO;
    assert!(matches!(
        job.poll(&cfg, &op, now, &mut tx),
        Ok(jobpoll::Action::SendRequest(_))
    ));
    let answer = support::response(202, &[], body).into_bytes();
    let mut rx = answer.clone();
    let n = rx.len();
    job.handle_response(&cfg, now, &mut rx, n).unwrap();
    for _ in 0..20 {
        match job.poll(&cfg, &op, now, &mut tx).unwrap() {
            jobpoll::Action::SendRequest(req) => {
                let line = String::from_utf8_lossy(&tx[..req.len])
                    .lines()
                    .next()
                    .unwrap()
                    .to_string();
                return line
                    .trim_start_matches("GET ")
                    .trim_end_matches(" HTTP/1.1")
                    .to_string();
            }
            jobpoll::Action::SleepUntil(t) => now = t,
            other => assert!(!matches!(other, jobpoll::Action::Done(_)), "{other:?}"),
        }
    }
    panic!("no poll");
}
