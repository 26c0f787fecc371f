//! RAM figures: `size_of` the machine and its companions for the dialect features this build
//! has, and the smallest transmit and receive buffers that carry a realistic job through the
//! machine in each dialect (found by driving the job with ever smaller buffers).
//!
//! Run: `cargo run --release --example sizes` (one feature set), or `bash benches/sizes.sh`
//! for every single-dialect feature set and the default one.

use std::mem::size_of;

use jobpoll::http::{Auth, Authority};
use jobpoll::{
    Action, Config, Dialect, Event, Instant, JobPoller, Outcome, Received, ResumeToken, Submit,
};

/// Head fields as an ONTAP 9 cluster sends them (the other APIs' heads are similar).
const HEAD: &str = "Date: Fri, 30 Apr 2021 11:21:05 GMT\r\n\
Server: libzapid-httpd\r\n\
X-Content-Type-Options: nosniff\r\n\
Cache-Control: no-cache,no-store,must-revalidate\r\n\
Content-Type: application/hal+json\r\n\
Keep-Alive: timeout=5, max=100\r\n\
Connection: Keep-Alive\r\n";

fn http(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\n{HEAD}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A shared test vector, from its copy in the JSON fuzz corpus (`dialect/name` names it).
fn vector(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    let file = format!("{}/fuzz/corpus/json/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"))
}

type Answer = Box<dyn Fn(usize, &str) -> Vec<u8>>;

/// One dialect's realistic job: the configuration, the submit and a server that answers each
/// request line (it honours `fields`, so a reduced poll gets a smaller body).
struct Case {
    name: &'static str,
    dialect: Dialect,
    auth: Auth<'static>,
    op: Submit<'static>,
    /// The answer to request number `i` (0 submit, 1 running, 2 final) given its request line.
    answer: Answer,
    outcome: Outcome,
}

fn cases() -> Vec<Case> {
    let mut v: Vec<Case> = Vec::new();
    #[cfg(feature = "ontap")]
    {
        let uuid = "2453aafc-a9a6-11eb-9fc7-080027c8f2a7";
        let accepted = vector("ontap/202-job-link-patch-cluster.json");
        let job = move |state: &str, with_message: bool| {
            let message = if with_message {
                "  \"message\": \"Deleting Snapshot copy \\\"snapshot-60f627c7-576b-42a5-863e-9ea174856f2f\\\" of volume \\\"rippy_pvc_e8f1cc49_7949_403c_9f83_786d1480af38\\\" on Vserver \\\"nfs_vs\\\": 40% complete.\",\n"
            } else {
                ""
            };
            format!(
                "{{\n  \"uuid\": \"{uuid}\",\n  \"state\": \"{state}\",\n{message}  \"code\": 0,\n  \"_links\": {{\n    \"self\": {{\n      \"href\": \"/api/cluster/jobs/{uuid}\"\n    }}\n  }}\n}}"
            )
        };
        v.push(Case {
            name: "ONTAP (fields=state,message,code)",
            dialect: Dialect::default(),
            auth: Auth::Basic {
                user: "admin",
                password: "netapp123",
            },
            op: Submit::post(
                "/api/storage/volumes",
                br#"{"name":"vol1","svm":{"name":"vs1"},"aggregates":[{"name":"aggr1"}],"size":"100GB"}"#,
            ),
            answer: Box::new(move |i, line| {
                let full = line.contains("message");
                match i {
                    0 => http("202 Accepted", &accepted),
                    1 => http("200 OK", &job("running", full)),
                    _ => http("200 OK", &job("success", full)),
                }
            }),
            outcome: Outcome::Succeeded,
        });
    }
    #[cfg(feature = "deploy")]
    {
        let accepted = vector("deploy/SYNTHETIC-202-job-fields-read-by-netapp-sample.json");
        let record = vector("deploy/SYNTHETIC-get-job-record-wrapper.json");
        v.push(Case {
            name: "Select Deploy (long poll)",
            dialect: Dialect::Deploy(jobpoll::dialect::deploy::DeployOptions::DEFAULT),
            auth: Auth::Basic {
                user: "admin",
                password: "netapp123",
            },
            op: Submit::post("/api/v3/clusters", br#"{"name":"ots1","node_count":1}"#),
            answer: Box::new(move |i, line| {
                let full = line.contains("message");
                let body = |state: &str, modified: &str| {
                    let mut b = record
                        .replace("\"running\"", &format!("\"{state}\""))
                        .replace("2019-04-04T15:41:29.140265Z", modified);
                    if !full {
                        b = b.replace("    \"message\": \"SYNTHETIC message text\",\n", "");
                    }
                    b
                };
                match i {
                    0 => http("202 Accepted", &accepted),
                    1 => http("200 OK", &body("running", "2019-04-04T15:41:30.000000Z")),
                    _ => http("200 OK", &body("success", "2019-04-04T15:45:00.000000Z")),
                }
            }),
            outcome: Outcome::Succeeded,
        });
    }
    #[cfg(feature = "aiqum")]
    {
        let accepted = vector("aiqum/SYNTHETIC-202-job-key.json");
        let done = vector("aiqum/SYNTHETIC-job-completed-normal-lowercase.json");
        v.push(Case {
            name: "Unified Manager",
            dialect: Dialect::Aiqum(jobpoll::dialect::aiqum::AiqumOptions::DEFAULT),
            auth: Auth::Basic {
                user: "admin",
                password: "netapp123",
            },
            op: Submit::post(
                "/api/storage-provider/file-shares",
                br#"{"name":"fs1","svm":{"key":"k"}}"#,
            ),
            answer: Box::new(move |i, _| match i {
                0 => http("202 Accepted", &accepted),
                1 => http(
                    "200 OK",
                    &done
                        .replace("\"completed\"", "\"running\"")
                        .replace("\"normal\"", "\"unknown\""),
                ),
                _ => http("200 OK", &done),
            }),
            outcome: Outcome::Succeeded,
        });
    }
    #[cfg(feature = "nse")]
    {
        let accepted = vector("nse/202-create-s3-bucket-pending.json");
        let done = vector("nse/job-by-id-successful-total-records-only.json")
            .replace("5e66f18e09a74c0001b89640", "5ed60a232c356a0001a7389e");
        v.push(Case {
            name: "Service Engine",
            dialect: Dialect::Nse(jobpoll::dialect::nse::NseOptions::DEFAULT),
            auth: Auth::Header(
                "Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyIn0.c2ln",
            ),
            op: Submit::post(
                "/api/v2.1/objectstorage/buckets",
                br#"{"name":"mys3bucket"}"#,
            ),
            answer: Box::new(move |i, _| match i {
                0 => http("202 Accepted", &accepted),
                1 => http("200 OK", &done.replace("\"successful\"", "\"running\"")),
                _ => http("200 OK", &done),
            }),
            outcome: Outcome::Succeeded,
        });
    }
    v
}

/// Drives the case's job with buffers of these sizes; `Some(reduced)` when it ended as
/// expected (`reduced`: polls had to drop the message), `None` otherwise.
fn drive(case: &Case, tx_len: usize, rx_len: usize) -> Option<bool> {
    let cfg = Config::new(
        Authority {
            host: "cluster1.example.com",
            port: 443,
            tls: true,
        },
        case.auth,
        case.dialect,
    );
    let mut tx = vec![0u8; tx_len];
    let mut rx = vec![0u8; rx_len];
    let mut now = Instant::ZERO;
    let mut job = JobPoller::submit(&cfg, &case.op, now).ok()?;
    let mut answered = 0usize;
    let mut reduced = false;
    for _ in 0..1_000 {
        match job.poll(&cfg, &case.op, now, &mut tx).ok()? {
            Action::SendRequest(req) => {
                let line = String::from_utf8_lossy(&tx[..req.len])
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let bytes = (case.answer)(answered.min(2), &line);
                now = Instant::from_millis(now.as_millis() + 20);
                let n = bytes.len().min(rx.len());
                rx[..n].copy_from_slice(&bytes[..n]);
                match job.handle_response(&cfg, now, &mut rx, n).ok()? {
                    Received::NeedMore => {
                        job.handle_eof(&cfg, now, &mut rx, n).ok()?;
                    }
                    Received::Complete(_) => answered += 1,
                    _ => {}
                }
            }
            Action::SleepUntil(t) => now = t,
            Action::Event(Event::FieldsReduced) => reduced = true,
            Action::Done(outcome) => return (outcome == case.outcome).then_some(reduced),
            _ => {}
        }
    }
    None
}

/// The smallest size in `1..=max` for which `works` holds (scanning down from `max`, so a
/// non-monotonic corner would show as a larger figure, never a wrong one).
fn smallest(max: usize, works: impl Fn(usize) -> bool) -> Option<usize> {
    if !works(max) {
        return None;
    }
    let mut n = max;
    while n > 1 && works(n - 1) {
        n -= 1;
    }
    Some(n)
}

fn main() {
    let features: Vec<&str> = [
        ("ontap", cfg!(feature = "ontap")),
        ("deploy", cfg!(feature = "deploy")),
        ("aiqum", cfg!(feature = "aiqum")),
        ("nse", cfg!(feature = "nse")),
    ]
    .iter()
    .filter(|(_, on)| *on)
    .map(|(n, _)| *n)
    .collect();
    println!("features: {}", features.join(","));
    println!(
        "size_of: JobPoller {} B, Config {} B, Action {} B, ResumeToken {} B",
        size_of::<JobPoller>(),
        size_of::<Config<'static>>(),
        size_of::<Action>(),
        size_of::<ResumeToken>()
    );
    println!(
        "  parts: ResponseParser {} B (kept while a request is in flight), Dialect {} B, Policy {} B, Outcome {} B, Event {} B",
        size_of::<jobpoll::http::ResponseParser>(),
        size_of::<Dialect>(),
        size_of::<jobpoll::Policy>(),
        size_of::<Outcome>(),
        size_of::<Event>()
    );
    println!(
        "| dialect | smallest tx | smallest rx (message kept) | smallest rx (fields reduced) | largest answer |"
    );
    println!("|---|---:|---:|---:|---:|");
    for case in cases() {
        let big = 8192;
        let tx = smallest(big, |n| drive(&case, n, big).is_some());
        let rx_full = smallest(big, |n| drive(&case, big, n) == Some(false));
        let rx_any = smallest(big, |n| drive(&case, big, n).is_some());
        let largest = (0..3)
            .map(|i| (case.answer)(i, "fields=state,message").len())
            .max()
            .unwrap_or(0);
        let show = |v: Option<usize>| v.map_or("-".to_string(), |n| format!("{n} B"));
        println!(
            "| {} | {} | {} | {} | {largest} B |",
            case.name,
            show(tx),
            show(rx_full),
            if rx_any == rx_full {
                "same".to_string()
            } else {
                show(rx_any)
            }
        );
    }
}
