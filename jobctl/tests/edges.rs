//! jobctl at its edges, against a byte-level test server (or jobsim): hung and hostile servers,
//! signals at every phase, closed outputs, TLS rejections, and the flags that bound the time.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jobpoll::adapters::tls::{fingerprint, format_fingerprint};
use jobpoll_sim::{Sim, SimConfig};
use serde_json::Value;
use support::{Answer, Request, Running, TestServer, json, ontap_accepted, ontap_job, result};

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

const SUBMIT_BODY: &str = r#"{"name":"vol1","svm":{"name":"vs1"}}"#;
const JOB: &str = "1cd8a442-86d1-11e0-ae1c-123478563412";

fn submit(cmd: &mut Command) -> &mut Command {
    cmd.args([
        "submit",
        "POST",
        "/api/storage/volumes",
        "--body",
        SUBMIT_BODY,
    ])
}

/// ONTAP: the submit starts `JOB`, which runs until the end of the test.
fn running_forever(request: &Request) -> Answer {
    match request.method.as_str() {
        "POST" => ontap_accepted(JOB),
        _ => ontap_job(JOB, "running", "Creating volume"),
    }
}

/// Starts `cmd` and waits for the server to accept the submit.
fn running_once_accepted(cmd: &mut Command) -> Running {
    let running = Running::spawn(submit(cmd));
    running.wait_for("accepted: job");
    running
}

/// Any of the three stop signals before the submit's answer: the server may have created the
/// job, so the outcome is unknown (exit 3), never `cancelled` with no job (which a script
/// would submit again). `--cancel-on-exit` has no job to cancel, and says so.
#[test]
fn a_signal_before_the_submit_is_answered_leaves_its_outcome_unknown() {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        let server = TestServer::start(|_| Answer::Hang);
        let running = Running::spawn(submit(server.jobctl().arg("--cancel-on-exit")));
        server.wait_for_request("POST");
        running.signal(signal);
        let (out, stderr) = running.finish_within(Duration::from_secs(5));
        assert!(stderr.contains("nothing to cancel"), "{stderr}");
        let (v, code) = result(&out);
        assert_eq!(
            (v["outcome"].as_str(), code),
            (Some("submit_outcome_unknown"), 3),
            "signal {signal}: {v}"
        );
        assert_eq!(v["job"], Value::Null);
        assert!(
            v["message"].as_str().is_some_and(|m| m.contains("may")),
            "{v}"
        );
    }
}

/// SIGTERM (timeout(1), systemd) and SIGHUP stop like Ctrl-C: the result line with the job and
/// its resume token, exit 143 and 129.
#[test]
fn sigterm_and_sighup_print_the_result_line_and_token() {
    let server = TestServer::start(running_forever);
    for (signal, exit) in [(libc::SIGTERM, 143), (libc::SIGHUP, 129)] {
        let running = running_once_accepted(&mut server.jobctl());
        running.signal(signal);
        let (out, _) = running.finish_within(Duration::from_secs(5));
        let (v, code) = result(&out);
        assert_eq!(
            (v["outcome"].as_str(), code),
            (Some("cancelled"), exit),
            "{v}"
        );
        assert_eq!(v["job"], JOB);
        assert!(v["resume"].is_string(), "{v}");
    }
}

/// A server that never answers the cancel: the `--cancel-on-exit` phase lasts one request
/// timeout, and `elapsed_ms` counts it.
#[test]
fn cancel_on_exit_is_bounded_by_one_request_timeout() {
    let server = TestServer::start(|request| match request.method.as_str() {
        "PATCH" => Answer::Hang,
        _ => running_forever(request),
    });
    let running = running_once_accepted(server.jobctl().arg("--cancel-on-exit"));
    let interrupted = Instant::now();
    running.signal(libc::SIGINT);
    let (out, stderr) = running.finish_within(Duration::from_secs(8));
    let phase = interrupted.elapsed();
    let (v, code) = result(&out);
    assert_eq!(
        (v["outcome"].as_str(), code),
        (Some("cancelled"), 130),
        "{v}"
    );
    assert!(v["resume"].is_string(), "{v}");
    assert!(phase < Duration::from_secs(4), "{phase:?}");
    assert!(
        stderr.contains("no answer to the cancel request"),
        "{stderr}"
    );
    let cancels = server
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .count();
    assert_eq!(cancels, 1);
    // The run took at least the 1 s the cancel was waited for.
    assert!(v["elapsed_ms"].as_u64() >= Some(1000), "{v}");
}

/// A second signal ends jobctl at once, during the cancel phase too, with the result line and
/// the token.
#[test]
fn a_second_signal_ends_at_once() {
    let server = TestServer::start(|request| match request.method.as_str() {
        "PATCH" => Answer::Hang,
        _ => running_forever(request),
    });
    // With a 30 s request timeout, the cancel phase would last its 10 s limit.
    let mut cmd = server.command("ontap", "30");
    cmd.arg("--cancel-on-exit");
    let running = running_once_accepted(&mut cmd);
    running.signal(libc::SIGINT);
    server.wait_for_request("PATCH");
    let second = Instant::now();
    running.signal(libc::SIGINT);
    let (out, _) = running.finish_within(Duration::from_secs(8));
    assert!(
        second.elapsed() < Duration::from_secs(2),
        "{:?}",
        second.elapsed()
    );
    let (v, code) = result(&out);
    assert_eq!(
        (v["outcome"].as_str(), code),
        (Some("cancelled"), 130),
        "{v}"
    );
    assert_eq!(v["job"], JOB);
    assert!(v["resume"].is_string(), "{v}");
}

/// `--deadline` is the deadline of a resumed run, shorter or longer than the time its token has
/// left.
#[test]
fn resume_keeps_the_deadline_it_is_given() {
    let server = TestServer::start(running_forever);
    // A token with about 60 s left...
    let running = running_once_accepted(server.jobctl().args(["--deadline", "60"]));
    running.signal(libc::SIGINT);
    let (out, _) = running.finish_within(Duration::from_secs(5));
    let token = result(&out).0["resume"]
        .as_str()
        .expect("a token")
        .to_string();
    // ...resumed for 1.5 s.
    let started = Instant::now();
    let running = Running::spawn(
        server
            .jobctl()
            .args(["--deadline", "1.5", "resume", &token]),
    );
    let (out, _) = running.finish_within(Duration::from_secs(8));
    let took = started.elapsed();
    let (v, code) = result(&out);
    assert_eq!(
        (v["outcome"].as_str(), code),
        (Some("deadline_exceeded"), 2),
        "{v}"
    );
    assert!(v["resume"].is_string(), "{v}");
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(4),
        "{took:?}"
    );

    // A token with no time left, resumed for 2 s.
    let out = submit(server.jobctl().args(["--deadline", "0.5"]))
        .output()
        .expect("runs");
    let token = result(&out).0["resume"]
        .as_str()
        .expect("a token")
        .to_string();
    let started = Instant::now();
    let out = server
        .jobctl()
        .args(["--deadline", "2", "resume", &token])
        .output()
        .expect("runs");
    let took = started.elapsed();
    assert_eq!(result(&out).0["outcome"], "deadline_exceeded");
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

/// After the server accepted the submit, no answer turns into a usage error or loses the job:
/// a job id with CR and LF is kept in the result line.
#[test]
fn a_job_id_with_crlf_is_not_a_usage_error() {
    let id = "ab\r\nX-Injected: 1";
    let escaped = r"ab\r\nX-Injected: 1";
    let server = TestServer::start(move |request| match request.method.as_str() {
        "POST" => json(
            202,
            &format!(
                r#"{{"job":{{"uuid":"{escaped}","_links":{{"self":{{"href":"/api/cluster/jobs/{escaped}"}}}}}}}}"#
            ),
        ),
        _ => ontap_job("ab", "success", "done"),
    });
    let out = submit(&mut server.jobctl()).output().expect("runs");
    let (v, code) = result(&out);
    assert_ne!(code, 64, "{v}");
    assert_eq!(v["job"], id, "{v}");
    // Either the job was followed (its id written as one encoded path segment), or the result
    // says why not and carries the token.
    assert!(code == 0 || v["resume"].is_string(), "{v}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("\nX-Injected"), "{stderr}");
}

/// Server text reaches stderr escaped: no escape sequence, bell, C1 control or bidirectional
/// override, and a newline cannot forge a jobctl line. The JSON line escapes them too.
#[test]
fn server_text_is_escaped_on_the_terminal() {
    let hostile =
        r"\u001b]0;owned\u0007\u001b[2J\u0085\u202egnp.exe\u007f\njobctl: success after 0.1 s";
    let server = TestServer::start(move |request| match request.method.as_str() {
        "POST" => ontap_accepted(JOB),
        _ => json(
            200,
            &format!(r#"{{"uuid":"{JOB}","state":"failure","message":"{hostile}","code":4}}"#),
        ),
    });
    let out = submit(&mut server.jobctl()).output().expect("runs");
    let (v, code) = result(&out);
    assert_eq!((v["outcome"].as_str(), code), (Some("failure"), 1), "{v}");
    let raw: String = serde_json::from_str(&format!("\"{hostile}\"")).expect("a JSON string");
    assert_eq!(v["message"].as_str(), Some(raw.as_str()));
    let unsafe_char =
        |c: char| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.chars().any(unsafe_char), "{stderr:?}");
    assert!(stderr.contains(r"\x1b]0;owned\x07"), "{stderr}");
    assert!(
        !stderr.lines().any(|l| l.starts_with("jobctl: success")),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.trim_end().chars().any(unsafe_char), "{stdout:?}");
}

/// Retries exhausted (here five 503s with no body) say so in `message`, with the last cause.
#[test]
fn retries_exhausted_name_the_last_cause() {
    let server = TestServer::start(|_| {
        Answer::Bytes(
            b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\nContent-Length: 0\r\n\r\n"
                .to_vec(),
        )
    });
    let out = submit(&mut server.jobctl()).output().expect("runs");
    let (v, code) = result(&out);
    assert_eq!(
        (v["outcome"].as_str(), code),
        (Some("transport_error"), 5),
        "{v}"
    );
    let message = v["message"].as_str().unwrap_or_default();
    assert!(message.contains("503"), "{v}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(message),
        "{v}"
    );
}

/// A result line that cannot be written (stdout on a full disk, or a closed pipe) is said on
/// stderr; the exit code still gives the job's outcome.
#[test]
fn an_unwritable_result_keeps_the_exit_code() {
    let server = TestServer::start(|request| match request.method.as_str() {
        "POST" => ontap_accepted(JOB),
        _ => ontap_job(JOB, "failure", "entry doesn't exist"),
    });
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = submit(&mut server.jobctl())
        .stdout(full)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write the result line"), "{stderr}");

    let mut child = submit(&mut server.jobctl())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("exits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write the result line"), "{stderr}");
}

/// A submit that never reached a server is a transport error (exit 5) naming why, not a
/// deadline with nothing to resume.
#[test]
fn a_submit_that_never_connects_is_a_transport_error() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        listener.local_addr().expect("address").port()
    };
    let refused = format!("http://127.0.0.1:{closed_port}");
    for (url, cause) in [
        (refused.as_str(), "refused"),
        ("http://nothing.invalid", ""),
    ] {
        let out = submit(Command::new(env!("CARGO_BIN_EXE_jobctl")).args([
            "--dialect",
            "ontap",
            "--url",
            url,
            "--deadline",
            "1.5",
        ]))
        .output()
        .expect("runs");
        let (v, code) = result(&out);
        assert_eq!(
            (v["outcome"].as_str(), code),
            (Some("transport_error"), 5),
            "{url}: {v}"
        );
        assert_eq!(v["resume"], Value::Null);
        let message = v["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty() && message.contains(cause), "{url}: {v}");
    }
}

/// jobctl with `args` and the password in `JOBCTL_PW`, waiting for a job; its output.
fn wait_with(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_jobctl"))
        .args(["--dialect", "ontap", "--deadline", "1"])
        .args(args)
        .env("JOBCTL_PW", "s3cret")
        .args(["wait", JOB])
        .output()
        .expect("runs")
}

/// A usage error (exit 64) before anything is sent, whose message does not hold the password.
fn assert_usage_error(case: &str, out: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{case}: {stderr}");
    assert!(out.stdout.is_empty(), "{case}");
    assert!(!stderr.contains("s3cret"), "{case}: {stderr}");
}

/// A password in `--url` is refused and never repeated, even when the URL is wrong in other
/// ways.
#[test]
fn a_password_in_the_url_is_never_repeated() {
    for url in [
        "https://admin:s3cret@cluster1",
        "htps://admin:s3cret@cluster1/api",
        "https://admin:s3cret@cluster1:x",
    ] {
        assert_usage_error(url, &wait_with(&["--url", url]));
    }
}

/// An IPv6 address without brackets is refused: its last group would be read as the port.
#[test]
fn an_ipv6_address_needs_brackets() {
    for url in ["https://fe80::1", "http://::1:8080"] {
        assert_usage_error(url, &wait_with(&["--url", url]));
    }
}

/// Credentials go over plain HTTP only to a loopback address, or with the loudly named flag.
#[test]
fn credentials_over_plain_http_need_loopback_or_the_flag() {
    let credentials = ["--user", "admin", "--password-env", "JOBCTL_PW"];
    for url in ["http://192.0.2.1", "http://nothing.invalid:8080"] {
        let out = wait_with(&[&["--url", url][..], &credentials].concat());
        assert_usage_error(url, &out);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--allow-plaintext-credentials"), "{stderr}");
    }
    let out = wait_with(
        &[
            &["--url", "http://nothing.invalid"][..],
            &credentials,
            &["--allow-plaintext-credentials"],
        ]
        .concat(),
    );
    // Past the check: the host does not resolve, and the wait ends at its deadline.
    assert_eq!(result(&out).0["outcome"], "deadline_exceeded");
}

/// A job the server no longer knows has no token: there is nothing to resume.
#[test]
fn expired_carries_no_token() {
    let server = TestServer::start(|request| match (request.method.as_str(), request.index) {
        ("POST", _) => ontap_accepted(JOB),
        (_, 1) => ontap_job(JOB, "running", "Creating volume"),
        _ => json(
            404,
            r#"{"error":{"code":"4","message":"entry doesn't exist","target":"uuid"}}"#,
        ),
    });
    let out = submit(&mut server.jobctl()).output().expect("runs");
    let (v, code) = result(&out);
    assert_eq!((v["outcome"].as_str(), code), (Some("expired"), 3), "{v}");
    assert_eq!(v["job"], JOB);
    assert_eq!(v["resume"], Value::Null, "{v}");
}

/// Several jobs at the deadline: no single token; stderr says how to pick each one up.
#[test]
fn several_jobs_at_the_deadline() {
    let server = TestServer::start(|request| match request.method.as_str() {
        "PATCH" => json(
            202,
            r#"{"jobs":[{"uuid":"a1"},{"uuid":"b2"}],"num_records":2}"#,
        ),
        _ => ontap_job("a1", "running", "Resizing"),
    });
    let out = server
        .jobctl()
        .args([
            "--deadline",
            "1.5",
            "submit",
            "PATCH",
            "/api/storage/volumes?name=v*",
        ])
        .args(["--body", r#"{"size":"2GB"}"#])
        .output()
        .expect("runs");
    let (v, code) = result(&out);
    assert_eq!(
        (v["outcome"].as_str(), code),
        (Some("deadline_exceeded"), 2),
        "{v}"
    );
    assert_eq!(v["jobs"], serde_json::json!(["a1", "b2"]));
    assert_eq!(v["resume"], Value::Null);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("jobctl ... wait ID"), "{stderr}");
    for job in ["a1", "b2"] {
        let polled = server.requests().iter().any(|r| {
            r.method == "GET" && r.target.starts_with(&format!("/api/cluster/jobs/{job}"))
        });
        assert!(polled, "{job} is followed");
    }
}

/// ONTAP answers a submit whose job ended within the hold with a 200 that carries only the
/// job's link: one GET shows how it ended (a success, or, from servers that answer a failure
/// with 200 too, the failure).
#[test]
fn a_job_that_ends_inside_the_hold_shows_its_state() {
    for (state, outcome, exit) in [("success", "success", 0), ("failure", "failure", 1)] {
        let server = TestServer::start(move |request| match request.method.as_str() {
            "POST" => json(
                200,
                &format!(
                    r#"{{"job":{{"uuid":"{JOB}","_links":{{"self":{{"href":"/api/cluster/jobs/{JOB}"}}}}}}}}"#
                ),
            ),
            _ => ontap_job(JOB, state, "Complete"),
        });
        let out = submit(&mut server.jobctl()).output().expect("runs");
        let (v, code) = result(&out);
        assert_eq!((v["outcome"].as_str(), code), (Some(outcome), exit), "{v}");
        assert_eq!(v["state"], state, "{v}");
        assert_eq!(v["code"], 0, "{v}");
        assert_eq!(v["message"], "Complete", "{v}");
    }
}

/// jobctl/README.md says what this build does: every dialect works.
#[test]
fn readme_says_every_dialect_works() {
    let readme = include_str!("../README.md");
    let bullet = readme
        .lines()
        .skip_while(|l| !l.starts_with("- `--dialect`"))
        .take_while(|l| l.starts_with("- `--dialect`") || l.starts_with("  "))
        .collect::<Vec<_>>()
        .join(" ");
    for dialect in ["ontap", "deploy", "aiqum", "nse"] {
        assert!(bullet.contains(&format!("`{dialect}`")), "{bullet}");
    }
    assert!(!bullet.contains("usage error"), "{bullet}");
}

/// A rejected certificate names its cause in `message` and on stderr; a pin mismatch shows the
/// fingerprint the server presented. jobsim's certificate is for localhost, 127.0.0.1 and ::1:
/// at 127.0.0.2 (loopback too, on Linux) its name does not match.
#[test]
fn tls_rejections_name_their_cause() {
    let listen = "127.0.0.2:0".parse().expect("an address");
    let sim = Sim::start_blocking(SimConfig::new().tls().listen(listen)).expect("jobsim starts");
    let other = Sim::start_blocking(SimConfig::new().tls()).expect("a second jobsim starts");
    let pem_file = |sim: &jobpoll_sim::SimHandle, name: &str| {
        let path =
            std::env::temp_dir().join(format!("jobctl-edges-{}-{name}.pem", std::process::id()));
        std::fs::write(&path, &sim.certificate().expect("TLS").pem).expect("CA file written");
        path.to_string_lossy().into_owned()
    };
    let (own_ca, other_ca) = (pem_file(&sim, "own"), pem_file(&other, "other"));
    let der = &sim.certificate().expect("TLS").der;
    let presented = format_fingerprint(&fingerprint(der));
    let wrong_pin = "00".repeat(32);
    let url = format!("https://127.0.0.2:{}", sim.addr().port());
    let cases: [(&str, Vec<&str>, &str); 4] = [
        ("a wrong pin", vec!["--pin", &wrong_pin], &presented),
        (
            "another CA",
            vec!["--ca", &other_ca],
            "invalid peer certificate",
        ),
        (
            "a self-signed certificate under the web PKI",
            vec![],
            "issuer",
        ),
        (
            "a name the certificate does not have",
            vec!["--ca", &own_ca],
            "name",
        ),
    ];
    for (name, args, cause) in cases {
        let out = submit(
            Command::new(env!("CARGO_BIN_EXE_jobctl"))
                .args(["--dialect", "ontap", "--url", &url])
                .args(args),
        )
        .output()
        .expect("runs");
        let (v, code) = result(&out);
        assert_eq!(
            (v["outcome"].as_str(), code),
            (Some("transport_error"), 5),
            "{name}: {v}"
        );
        let message = v["message"].as_str().unwrap_or_default();
        assert!(
            message.to_lowercase().contains(&cause.to_lowercase()),
            "{name}: {v}"
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{name}: {stderr}");
    }
    assert_eq!(sim.stats().requests, 0);
    for file in [own_ca, other_ca] {
        let _ = std::fs::remove_file(file);
    }
}

/// ONTAP's job list with `jobs` (uuid, description), all started at the answer's `Date`.
fn ontap_job_list(jobs: &[(&str, &str)]) -> Answer {
    let records: Vec<String> = jobs
        .iter()
        .map(|(uuid, description)| {
            format!(
                r#"{{"uuid":"{uuid}","description":"{description}","state":"running","start_time":"2026-12-03T18:00:00+00:00"}}"#
            )
        })
        .collect();
    let body = format!(
        r#"{{"records":[{}],"num_records":{}}}"#,
        records.join(","),
        jobs.len()
    );
    Answer::Bytes(
        format!(
            "HTTP/1.1 200 OK\r\nDate: Thu, 03 Dec 2026 18:00:01 GMT\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

/// A server whose submit never answers and whose job list shows `jobs`.
fn unanswered_submit_listing(jobs: &'static [(&'static str, &'static str)]) -> TestServer {
    TestServer::start(move |request| {
        if request.method == "GET" && request.target.starts_with("/api/cluster/jobs?") {
            ontap_job_list(jobs)
        } else {
            Answer::Hang
        }
    })
}

/// A signal before the submit's answer, where the job list shows exactly one job the submit
/// could have started: that job is reported (`cancelled`, with its id and a token), so a script
/// resumes it rather than submitting again; the submit is never re-sent.
#[test]
fn a_signal_before_the_answer_finds_the_job_in_the_list() {
    let server = unanswered_submit_listing(&[
        (JOB, "POST /api/storage/volumes"),
        ("other-job", "DELETE /api/storage/volumes/x"),
    ]);
    let running = Running::spawn(submit(&mut server.jobctl()));
    server.wait_for_request("POST");
    running.signal(libc::SIGINT);
    let (out, stderr) = running.finish_within(Duration::from_secs(5));
    let (v, code) = result(&out);
    assert_eq!(
        (v["outcome"].as_str(), code),
        (Some("cancelled"), 130),
        "{v}"
    );
    assert_eq!(v["job"], JOB, "{v}");
    assert!(v["resume"].is_string(), "{v}");
    assert!(stderr.contains("job list"), "{stderr}");
    let posts = server
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 1, "the submit is never re-sent");
}

/// Several jobs in the list match the interrupted submit: the outcome stays unknown (exit 3),
/// and the message names the candidates rather than guessing.
#[test]
fn a_signal_before_the_answer_with_several_candidates_stays_unknown() {
    let server = unanswered_submit_listing(&[
        ("cand-1", "POST /api/storage/volumes"),
        ("cand-2", "POST /api/storage/volumes"),
    ]);
    let running = Running::spawn(submit(&mut server.jobctl()));
    server.wait_for_request("POST");
    running.signal(libc::SIGTERM);
    let (out, _) = running.finish_within(Duration::from_secs(5));
    let (v, code) = result(&out);
    assert_eq!(
        (v["outcome"].as_str(), code),
        (Some("submit_outcome_unknown"), 3),
        "{v}"
    );
    assert_eq!(v["job"], Value::Null, "{v}");
    let message = v["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("cand-1") && message.contains("cand-2"),
        "{message}"
    );
}
