//! jobctl at its edges, against a byte-level test server (or jobsim): hung and hostile servers,
//! signals at every phase, closed outputs, TLS rejections, and the flags that bound the time.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Answer, TestServer, json, ontap_accepted, ontap_job, result};

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
