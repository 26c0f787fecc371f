//! The built jobctl binary against an in-process jobsim over HTTPS: the JSON result line and the
//! exit code for a success, a failure, a deadline, a 401, usage errors, and Ctrl-C followed by
//! `resume`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use jobpoll_sim::{Final, JobScript, Phase, Scenario, Sim, SimConfig, SimHandle, Step};
use serde_json::Value;

/// Simulated seconds per real second. jobctl polls with the default policy (first poll after
/// 1 s real), so the jobs below are sized in real time.
const SCALE: f64 = 100.0;

const PASSWORD_VAR: &str = "JOBCTL_TEST_PASSWORD";

struct Server {
    sim: SimHandle,
    ca: PathBuf,
    /// The cache directory the runs against this server use.
    cache: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca);
        let _ = std::fs::remove_dir_all(&self.cache);
    }
}

/// jobsim over HTTPS; every volume create runs `secs` simulated seconds and ends with `end`.
fn server(secs: f64, end: Final) -> Server {
    let job = JobScript::new(end)
        .step(Step::new(Phase::Queued, secs * 0.1))
        .step(Step::new(Phase::Running, secs * 0.9).message("Creating volume"));
    let sim = Sim::start_blocking(
        SimConfig::new()
            .tls()
            .time_scale(SCALE)
            .scenario(Scenario::new().path("POST", "/api/storage/volumes", job)),
    )
    .expect("jobsim starts");
    let ca = std::env::temp_dir().join(format!(
        "jobctl-test-{}-{}.pem",
        std::process::id(),
        sim.addr().port()
    ));
    std::fs::write(&ca, &sim.certificate().expect("TLS").pem).expect("CA file written");
    let cache = ca.with_extension("cache");
    Server { sim, ca, cache }
}

impl Server {
    /// jobctl with the URL, the CA and the credentials (password from the environment).
    fn jobctl(&self, password: &str) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_jobctl"));
        c.args(["--dialect", "ontap", "--url"])
            .arg(format!("https://localhost:{}", self.sim.addr().port()))
            .arg("--ca")
            .arg(&self.ca)
            .args(["--user", "admin", "--password-env", PASSWORD_VAR])
            .env(PASSWORD_VAR, password)
            // The history file goes to a directory of the test's, never the user's.
            .env("XDG_CACHE_HOME", &self.cache)
            .stdin(Stdio::null());
        c
    }

    /// The history file jobctl keeps in this server's cache directory.
    fn history(&self) -> PathBuf {
        self.cache.join("jobctl").join("history")
    }
}

fn submit(cmd: &mut Command) -> &mut Command {
    cmd.args([
        "submit",
        "POST",
        "/api/storage/volumes",
        "--body",
        r#"{"name":"vol1","svm":{"name":"vs1"}}"#,
    ])
}

/// The one JSON line on stdout, and the exit code.
fn result(out: &Output) -> (Value, i32) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout {stdout:?}, stderr {stderr}");
    let v: Value = serde_json::from_str(lines[0]).expect("JSON");
    (v, out.status.code().expect("exited"))
}

/// Every documented field is present, in the documented order.
fn assert_shape(v: &Value, line: &str) {
    let keys: Vec<&str> = v
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "outcome",
            "job",
            "jobs",
            "state",
            "code",
            "message",
            "requests",
            "elapsed_ms",
            "resume"
        ],
        "{line}"
    );
}

#[test]
fn success() {
    let s = server(2.0, Final::success());
    let out = submit(&mut s.jobctl("netapp123")).output().expect("runs");
    let (v, code) = result(&out);
    assert_shape(&v, &String::from_utf8_lossy(&out.stdout));
    assert_eq!((v["outcome"].as_str(), code), (Some("success"), 0), "{v}");
    let job = v["job"].as_str().expect("a job id");
    assert_eq!(v["jobs"], serde_json::json!([job]));
    assert_eq!(v["resume"], Value::Null);
    assert!(v["requests"].as_u64() >= Some(1));
    let stats = s.sim.stats();
    assert_eq!(stats.submits, 1);
    assert!(stats.jobs.contains_key(job));
    // The password went to the server only.
    let all = [out.stdout, out.stderr].concat();
    assert!(!String::from_utf8_lossy(&all).contains("netapp123"));
}

#[test]
fn success_with_a_pinned_certificate() {
    let s = server(2.0, Final::success());
    let der = &s.sim.certificate().expect("TLS").der;
    let pin = jobpoll::adapters::tls::format_fingerprint(&jobpoll::adapters::tls::fingerprint(der));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jobctl"));
    cmd.args(["--dialect", "ontap", "--url"])
        .arg(format!("https://127.0.0.1:{}", s.sim.addr().port()))
        .args([
            "--pin",
            &pin,
            "--user",
            "admin",
            "--password-env",
            PASSWORD_VAR,
        ])
        .env(PASSWORD_VAR, "netapp123");
    let (v, code) = result(&submit(&mut cmd).output().expect("runs"));
    assert_eq!((v["outcome"].as_str(), code), (Some("success"), 0), "{v}");
}

#[test]
fn failure() {
    // 60 s simulated: longer than the 30 s the server holds the submit, so it is polled.
    let s = server(60.0, Final::failure("entry doesn't exist", 4));
    let out = submit(&mut s.jobctl("netapp123")).output().expect("runs");
    let (v, code) = result(&out);
    assert_eq!((v["outcome"].as_str(), code), (Some("failure"), 1), "{v}");
    assert_eq!(v["state"], "failure");
    assert_eq!(v["code"], 4);
    assert_eq!(v["message"], "entry doesn't exist");
    assert!(v["job"].is_string());
    assert_eq!(v["resume"], Value::Null);
}

#[test]
fn deadline() {
    let s = server(3000.0, Final::success());
    let mut cmd = s.jobctl("netapp123");
    cmd.args(["--deadline", "1.5"]);
    let started = Instant::now();
    let (v, code) = result(&submit(&mut cmd).output().expect("runs"));
    assert_eq!(
        (v["outcome"].as_str(), code),
        (Some("deadline_exceeded"), 2),
        "{v}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(v["job"].is_string());
    // Queued for the first 300 simulated seconds (3 s real).
    assert_eq!(v["state"], "queued");
    assert!(v["resume"].is_string(), "{v}");
}

#[test]
fn unauthorized() {
    let s = server(2.0, Final::success());
    let out = submit(&mut s.jobctl("wrong password"))
        .output()
        .expect("runs");
    let (v, code) = result(&out);
    assert_eq!(
        (v["outcome"].as_str(), code),
        (Some("auth_required"), 4),
        "{v}"
    );
    assert_eq!(v["job"], Value::Null);
    assert_eq!(s.sim.stats().jobs_created, 0);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("wrong password"));
}

#[test]
fn usage_errors_exit_64_without_a_request() {
    let s = server(2.0, Final::success());
    let port = s.sim.addr().port().to_string();
    let url = format!("https://localhost:{port}");
    let http = format!("http://localhost:{port}");
    let cases: [(&str, Vec<&str>); 7] = [
        (
            "an unknown dialect",
            vec!["--dialect", "foo", "--url", &url, "wait", "1"],
        ),
        (
            "a URL with a path",
            vec!["--dialect", "ontap", "--url", "https://h/api", "wait", "1"],
        ),
        (
            "a pin on plain HTTP",
            vec![
                "--dialect",
                "ontap",
                "--url",
                &http,
                "--pin",
                "00",
                "wait",
                "1",
            ],
        ),
        (
            "a missing environment variable",
            vec![
                "--dialect",
                "ontap",
                "--url",
                &url,
                "--user",
                "u",
                "--password-env",
                "JOBCTL_TEST_UNSET",
                "wait",
                "1",
            ],
        ),
        (
            "a body that is not JSON",
            vec![
                "--dialect",
                "ontap",
                "--url",
                &url,
                "submit",
                "POST",
                "/api/x",
                "--body",
                "{",
            ],
        ),
        (
            "a bad resume token",
            vec!["--dialect", "ontap", "--url", &url, "resume", "AAAA"],
        ),
        (
            "a method that starts no job",
            vec![
                "--dialect",
                "ontap",
                "--url",
                &url,
                "submit",
                "GET",
                "/api/x",
            ],
        ),
    ];
    for (name, args) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_jobctl"))
            .args(&args)
            .env_remove("JOBCTL_TEST_UNSET")
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(64), "{name}: {out:?}");
        assert!(out.stdout.is_empty(), "{name}");
        assert!(!out.stderr.is_empty(), "{name}");
    }
    assert_eq!(s.sim.stats().requests, 0);
}

/// A PATCH addressed by a query starts one job per volume (`jobs[]`): every job is followed and
/// the result sums them up.
#[test]
fn several_jobs_are_followed_and_summed_up() {
    let job = JobScript::new(Final::success()).step(Step::new(Phase::Running, 1.0));
    let sim = Sim::start_blocking(
        SimConfig::new().tls().time_scale(SCALE).scenario(
            Scenario::new()
                .default_job(job)
                // Jobs 1 and 2 create the volumes; the PATCH starts 3 and 4.
                .job(4, JobScript::new(Final::failure("volume is offline", 13))),
        ),
    )
    .expect("jobsim starts");
    let ca = std::env::temp_dir().join(format!("jobctl-test-{}-multi.pem", std::process::id()));
    std::fs::write(&ca, &sim.certificate().expect("TLS").pem).expect("CA file written");
    let cache = ca.with_extension("cache");
    let s = Server { sim, ca, cache };
    for name in ["multi1", "multi2"] {
        let out = s
            .jobctl("netapp123")
            .args(["submit", "POST", "/api/storage/volumes", "--body"])
            .arg(format!(r#"{{"name":"{name}","svm":{{"name":"vs1"}}}}"#))
            .output()
            .expect("runs");
        assert_eq!(result(&out).1, 0);
    }
    let out = s
        .jobctl("netapp123")
        .args([
            "submit",
            "PATCH",
            "/api/storage/volumes?name=multi*",
            "--body",
            r#"{"size":"200GB"}"#,
        ])
        .output()
        .expect("runs");
    let (v, code) = result(&out);
    assert_eq!(
        (v["outcome"].as_str(), code),
        (Some("partial_failure"), 1),
        "{v}"
    );
    assert_eq!(v["job"], Value::Null);
    assert_eq!(v["jobs"].as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(s.sim.stats().jobs_created, 4);
}

/// Runs a volume-create submit with `cmd`, sends SIGINT once jobctl reports the job accepted,
/// and returns its output and its stderr lines joined.
fn interrupt_once_accepted(cmd: &mut Command) -> (Output, String) {
    let mut child = submit(cmd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("accepted: job") {
                let _ = tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the job is accepted");
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = child.wait_with_output().expect("exits");
    let stderr = reader.join().expect("reader").join("\n");
    (out, stderr)
}

/// Ctrl-C while the job runs: a clean stop with the resume token (exit 130); `resume` with it
/// follows the same job to success, without a second submit.
#[test]
fn sigint_then_resume() {
    let s = server(400.0, Final::success());
    let mut cmd = s.jobctl("netapp123");
    let (out, stderr) = interrupt_once_accepted(&mut cmd);
    let (v, code) = result(&out);
    assert_eq!(
        (v["outcome"].as_str(), code),
        (Some("cancelled"), 130),
        "{v}"
    );
    let job = v["job"].as_str().expect("job id").to_string();
    let token = v["resume"].as_str().expect("a resume token").to_string();
    assert!(stderr.contains(&token), "{stderr}");

    let out = s
        .jobctl("netapp123")
        .args(["resume", &token])
        .output()
        .expect("runs");
    let (v, code) = result(&out);
    assert_eq!((v["outcome"].as_str(), code), (Some("success"), 0), "{v}");
    assert_eq!(v["job"].as_str(), Some(job.as_str()));
    assert_eq!(s.sim.stats().submits, 1);
}

/// Ctrl-C with `--cancel-on-exit`: the job is cancelled on the server (ONTAP
/// `PATCH /api/cluster/jobs/{uuid}?action=cancel`), and jobctl says what the server answered.
#[test]
fn sigint_with_cancel_on_exit_cancels_on_the_server() {
    let s = server(400.0, Final::success());
    let mut cmd = s.jobctl("netapp123");
    cmd.arg("--cancel-on-exit");
    let (out, stderr) = interrupt_once_accepted(&mut cmd);
    let (v, code) = result(&out);
    assert_eq!(
        (v["outcome"].as_str(), code),
        (Some("cancelled"), 130),
        "{v}"
    );
    assert!(
        stderr.contains("the server accepted the cancel request"),
        "{stderr}"
    );
    assert_eq!(s.sim.stats().endpoint("PATCH /api/cluster/jobs/{uuid}"), 1);
}

/// Every dialect end to end: submit, follow to success, one JSON line, exit 0.
#[test]
fn every_dialect_end_to_end() {
    let script = JobScript::new(Final::success())
        .step(Step::new(Phase::Queued, 50.0))
        .step(Step::new(Phase::Running, 150.0).message("working"));
    let sim = Sim::start_blocking(
        SimConfig::new()
            .tls()
            .time_scale(SCALE)
            .scenario(Scenario::new().default_job(script)),
    )
    .expect("jobsim starts");
    let ca = std::env::temp_dir().join(format!("jobctl-dialects-{}.pem", std::process::id()));
    std::fs::write(&ca, &sim.certificate().expect("TLS").pem).expect("CA file written");
    let url = format!("https://localhost:{}", sim.addr().port());
    let cases = [
        ("ontap", "/api/storage/volumes", r#"{"name":"vol1"}"#),
        (
            "deploy",
            "/api/v3/clusters?node_count=1",
            r#"{"name":"ots1"}"#,
        ),
        (
            "aiqum",
            "/api/v2/storage-provider/file-shares",
            r#"{"name":"fs1"}"#,
        ),
        ("nse", "/api/v2.1/objectstorage/buckets", r#"{"name":"b1"}"#),
    ];
    for (dialect, path, body) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_jobctl"))
            .args(["--dialect", dialect, "--url", &url, "--ca"])
            .arg(&ca)
            .args(["--user", "admin", "--password-env", PASSWORD_VAR])
            .env(PASSWORD_VAR, "netapp123")
            .args(["submit", "POST", path, "--body", body])
            .stdin(Stdio::null())
            .output()
            .expect("runs");
        let (v, code) = result(&out);
        assert_eq!(
            (v["outcome"].as_str(), code),
            (Some("success"), 0),
            "{dialect}: {v}"
        );
        assert!(
            v["job"].as_str().is_some_and(|j| !j.is_empty()),
            "{dialect}: {v}"
        );
    }
    assert_eq!(
        sim.stats().submits,
        4,
        "one submit per dialect, never re-sent"
    );
    let _ = std::fs::remove_file(&ca);
}

/// The operations's durations are kept per operation under the cache directory and read by the
/// next run; `--no-history` neither reads nor writes; a file that is not a history is ignored
/// with a warning and replaced, never a failure.
#[test]
fn history_is_kept_per_operation_and_a_bad_file_is_only_a_warning() {
    let server = server(150.0, Final::success());
    let estimate = |path: &PathBuf| {
        let text = std::fs::read_to_string(path).expect("history written");
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("jobctl-history 1"), "{text}");
        let entries: Vec<&str> = lines.collect();
        assert_eq!(entries.len(), 1, "{text}");
        let (key, encoded) = entries[0].split_once('\t').expect("key and estimate");
        assert_eq!(key, "ontap POST /api/storage/volumes");
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .expect("base64url");
        jobpoll::estimate::Estimate::from_bytes(&bytes).expect("an estimate")
    };

    let out = submit(server.jobctl("netapp123").arg("--no-history"))
        .output()
        .expect("runs");
    assert_eq!(result(&out).1, 0);
    assert!(!server.history().exists(), "--no-history writes nothing");

    for run in 1..=2 {
        let out = submit(&mut server.jobctl("netapp123"))
            .output()
            .expect("runs");
        assert_eq!(result(&out).1, 0);
        let learnt = estimate(&server.history());
        assert_eq!(learnt.len(), run, "one duration per finished run");
        let median = learnt.median().expect("a duration");
        assert!(
            median > Duration::from_millis(500) && median < Duration::from_secs(10),
            "{median:?}"
        );
    }

    std::fs::write(server.history(), "not a history\n").expect("overwritten");
    let out = submit(&mut server.jobctl("netapp123"))
        .output()
        .expect("runs");
    assert_eq!(result(&out).1, 0, "a bad history file never fails the run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: ignoring the history file") && stderr.contains("unknown format"),
        "{stderr}"
    );
    assert_eq!(
        estimate(&server.history()).len(),
        1,
        "replaced by a fresh one"
    );
}
