//! A scripted ONTAP volume create in virtual time: no network, no real clock.
//!
//! The "server" below is a model of ONTAP: it holds the submit for `return_timeout`, answers
//! 202 with a job link, and reports the job queued, then running with progress messages, then
//! successful after 47 s. The drive loop is the same one every adapter runs; only the clock is
//! virtual (it jumps to the next wakeup), so the whole job takes microseconds.
//!
//! Run: `cargo run --example simulate` (add `-- 600` for a 10-minute job).

use jobpoll::http::{Auth, Authority};
use jobpoll::{Action, Config, Dialect, Instant, JobPoller, Received, Submit};

const JOB: &str = "1cd8a442-86d1-11e0-ae1c-123478563412";

/// The job's state at `t` seconds after the submit, and its message.
fn job_at(t: f64, length: f64) -> (&'static str, &'static str) {
    if t < 2.0 {
        ("queued", "Queued")
    } else if t < length * 0.8 {
        ("running", "Creating the volume")
    } else if t < length {
        ("running", "Mounting the junction path")
    } else {
        ("success", "Complete: Successful [0]")
    }
}

/// What the model server answers to `request` at `t` seconds, and how long it takes.
fn serve(request: &str, t: f64, length: f64) -> (f64, String) {
    let body = if request.starts_with("POST") {
        let hold: f64 = request
            .split("return_timeout=")
            .nth(1)
            .and_then(|r| r.split([' ', '&']).next())
            .and_then(|r| r.parse().ok())
            .unwrap_or(0.0);
        let link = format!(
            r#"{{"uuid":"{JOB}","_links":{{"self":{{"href":"/api/cluster/jobs/{JOB}"}}}}}}"#
        );
        if length <= hold {
            return (length, http(200, &format!(r#"{{"job":{link}}}"#)));
        }
        return (hold, http(202, &format!(r#"{{"job":{link}}}"#)));
    } else {
        let (state, message) = job_at(t, length);
        format!(r#"{{"state":"{state}","message":"{message}","code":0}}"#)
    };
    (0.02, http(200, &body))
}

fn http(status: u16, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/hal+json\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn main() {
    let length: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(47.0);
    let cfg = Config::new(
        Authority {
            host: "cluster1.example.com",
            port: 443,
            tls: true,
        },
        Auth::Basic {
            user: "admin",
            password: "netapp123",
        },
        Dialect::default(),
    );
    let op = Submit::post(
        "/api/storage/volumes",
        br#"{"name":"vol1","svm":{"name":"vs1"},"aggregates":[{"name":"aggr1"}],"size":"100GB"}"#,
    );
    let mut now = Instant::ZERO;
    let (mut tx, mut rx) = ([0u8; 1024], [0u8; 2048]);
    let secs = |t: Instant| t.as_millis() as f64 / 1000.0;
    println!("simulated ONTAP job of {length} s, default policy (return_timeout 30 s)");
    let mut poller = JobPoller::submit(&cfg, &op, now).expect("valid operation");
    let outcome = loop {
        match poller
            .poll(&cfg, &op, now, &mut tx)
            .expect("buffers are large enough")
        {
            Action::SendRequest(req) => {
                let request = String::from_utf8_lossy(&tx[..req.len]).into_owned();
                let line = request.lines().next().unwrap_or_default();
                println!("[{:>8.3}s] -> {line}", secs(now));
                let (took, answer) = serve(line, secs(now), length);
                now = now + std::time::Duration::from_secs_f64(took);
                let n = answer.len();
                rx[..n].copy_from_slice(answer.as_bytes());
                match poller
                    .handle_response(&cfg, now, &mut rx, n)
                    .expect("request in flight")
                {
                    Received::Complete(reply) => {
                        let message = reply.message.map(|m| m.to_string()).unwrap_or_default();
                        println!("[{:>8.3}s] <- {} {message}", secs(now), reply.status);
                    }
                    other => println!("[{:>8.3}s] <- {other:?}", secs(now)),
                }
            }
            Action::SleepUntil(t) => {
                println!("[{:>8.3}s]    sleep {:.3}s", secs(now), secs(t) - secs(now));
                now = t;
            }
            Action::Event(event) => {
                let seen = poller.last_seen();
                println!(
                    "[{:>8.3}s]    {event:?} (state {:?})",
                    secs(now),
                    seen.raw_state
                );
            }
            Action::Close => println!("[{:>8.3}s]    close connection", secs(now)),
            Action::Done(outcome) => break outcome,
            _ => {}
        }
    };
    println!(
        "[{:>8.3}s] outcome {outcome:?}: job {}, {} requests, seen {:.3} s after it ended",
        secs(now),
        poller.job_id().unwrap_or("-"),
        poller.requests(),
        (secs(now) - length).max(0.0)
    );
}
