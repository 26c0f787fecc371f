//! Every fault of the simulator does what it says, over real sockets.

mod common;
use common::*;
use std::io::ErrorKind;
use std::net::TcpStream;
use std::time::{Duration, Instant};

const VOLS: &str = "/api/storage/volumes";

/// A sim whose first POST to the volumes gets `fault`.
fn on_submit(fault: Fault) -> SimHandle {
    start(SimConfig::new().scenario(Scenario::new().fault(FaultRule::on("POST", VOLS, 1, fault))))
}

/// A sim whose first job's GETs 1.. get `fault` (per-job script).
fn on_poll(fault: Fault) -> (SimHandle, Client, String) {
    let s = start(
        SimConfig::new().scenario(Scenario::new().job(1, JobScript::default().fault(1, 1, fault))),
    );
    let c = Client::new(&s);
    let href = c.post(VOLS, json!({"name": "v"})).json()["job"]["_links"]["self"]["href"]
        .as_str()
        .expect("href")
        .to_string();
    (s, c, href)
}

fn split_head(raw: &[u8]) -> Option<(&[u8], &[u8])> {
    let p = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some((&raw[..p + 4], &raw[p + 4..]))
}

fn content_length(head: &[u8]) -> Option<usize> {
    let h = String::from_utf8_lossy(head).to_ascii_lowercase();
    h.lines().find_map(|l| {
        l.strip_prefix("content-length: ")
            .and_then(|v| v.trim().parse().ok())
    })
}

#[test]
fn reset_before_headers_still_processes_the_submit() {
    let s = on_submit(Fault::ResetBeforeHeaders);
    let c = Client::new(&s);
    let (bytes, err) = c.raw("POST", VOLS);
    assert!(bytes.is_empty());
    assert_eq!(err, Some(ErrorKind::ConnectionReset));
    let st = s.stats();
    assert_eq!((st.submits, st.jobs_created, st.faults_injected), (1, 1, 1));
    // The next request is answered normally.
    assert_eq!(c.post(VOLS, json!({})).status, 202);
    assert_eq!(s.stats().submits, 2);
    s.shutdown_blocking();
}

#[test]
fn reset_after_headers_and_mid_body() {
    for (fault, want_body) in [
        (Fault::ResetAfterHeaders, false),
        (Fault::ResetMidBody, true),
    ] {
        let (s, c, href) = on_poll(fault.clone());
        let (bytes, err) = c.raw("GET", &href);
        assert_eq!(err, Some(ErrorKind::ConnectionReset), "{fault:?}");
        let (head, body) = split_head(&bytes).expect("head arrived");
        assert!(head.starts_with(b"HTTP/1.1 200"));
        let cl = content_length(head).expect("content-length");
        assert_eq!(!body.is_empty(), want_body, "{fault:?}");
        assert!(body.len() < cl);
        // Poll 2 is fine.
        assert_eq!(c.get(&href).status, 200);
        s.shutdown_blocking();
    }
}

#[test]
fn truncated_body_with_correct_content_length() {
    let (s, c, href) = on_poll(Fault::TruncatedBody);
    let (bytes, err) = c.raw("GET", &href);
    assert_eq!(err, None, "clean close");
    let (head, body) = split_head(&bytes).expect("head");
    let cl = content_length(head).expect("content-length");
    assert!(
        !body.is_empty() && body.len() < cl,
        "{} of {cl}",
        body.len()
    );
    let full = c.get(&href);
    assert_eq!(full.body.len(), cl);
    s.shutdown_blocking();
}

#[test]
fn slow_drip() {
    let (s, c, href) = on_poll(Fault::SlowDrip {
        chunk: 64,
        interval_ms: 10,
    });
    let t = Instant::now();
    let r = c.get(&href);
    let took = t.elapsed();
    assert_eq!(r.status, 200);
    assert!(r.json()["uuid"].is_string());
    let writes = (r.body.len() + 200) / 64;
    assert!(
        took >= Duration::from_millis(10 * writes as u64 / 2),
        "{took:?} for {writes} writes"
    );
    s.shutdown_blocking();
}

#[test]
fn stall_with_no_answer() {
    let (s, c, href) = on_poll(Fault::Stall { seconds: Some(0.3) });
    let mut short = c.clone();
    short.timeout = Duration::from_millis(100);
    let (bytes, err) = short.raw("GET", &href);
    assert!(bytes.is_empty());
    assert!(
        matches!(err, Some(ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "{err:?}"
    );
    // The stalled connection is closed without an answer after 0.3 s.
    let t = Instant::now();
    let (bytes, err) = c.raw("GET", "/api/cluster/jobs");
    assert!(!bytes.is_empty() && err.is_none() && t.elapsed() < Duration::from_secs(2));
    s.shutdown_blocking();
    // Forever-stall is released at shutdown.
    let (s, c, href) = on_poll(Fault::Stall { seconds: None });
    let h = std::thread::spawn(move || c.raw("GET", &href));
    std::thread::sleep(Duration::from_millis(150));
    s.shutdown_blocking();
    let (bytes, _) = h.join().expect("join");
    assert!(bytes.is_empty());
}

#[test]
fn error_statuses_do_not_process_the_request() {
    for status in [500u16, 502, 503] {
        let s = on_submit(Fault::Status { status });
        let c = Client::new(&s);
        let r = c.post(VOLS, json!({"name": "v"}));
        assert_eq!(r.status, status);
        assert!(r.json()["error"]["message"].is_string());
        let st = s.stats();
        assert_eq!((st.submits, st.jobs_created), (1, 0));
        assert_eq!(c.post(VOLS, json!({"name": "v"})).status, 202);
        s.shutdown_blocking();
    }
}

#[test]
fn retry_after_seconds_and_http_date() {
    for (status, after) in [
        (429u16, RetryAfter::Seconds(7)),
        (503, RetryAfter::HttpDate(30)),
        (429, RetryAfter::HttpDate(0)),
    ] {
        let s = on_submit(Fault::RetryAfter {
            status,
            after: after.clone(),
        });
        let r = Client::new(&s).post(VOLS, json!({}));
        assert_eq!(r.status, status);
        let v = r.header("retry-after").expect("Retry-After").to_string();
        match after {
            RetryAfter::Seconds(n) => assert_eq!(v, n.to_string()),
            RetryAfter::HttpDate(_) => {
                assert!(v.ends_with(" GMT") && v.len() == 29, "{v}");
                let micros = clock::parse_rfc3339(&format!(
                    "{}-{:02}-{}T{}Z",
                    &v[12..16],
                    [
                        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                        "Nov", "Dec"
                    ]
                    .iter()
                    .position(|m| *m == &v[8..11])
                    .expect("month")
                        + 1,
                    &v[5..7],
                    &v[17..25]
                ))
                .expect("date");
                let delta = micros / 1_000_000 - clock::unix_now();
                let RetryAfter::HttpDate(want) = after else {
                    unreachable!()
                };
                assert!((delta - want as i64).abs() <= 2, "{delta} vs {want}");
            }
            _ => unreachable!(),
        }
        s.shutdown_blocking();
    }
}

#[test]
fn chunked_close_and_http10_framings() {
    let (s, c, href) = on_poll(Fault::Chunked { chunk: 5 });
    let r = c.get(&href);
    assert!(r.chunked && r.header("content-length").is_none());
    assert!(r.json()["uuid"].is_string());
    s.shutdown_blocking();

    let (s, c, href) = on_poll(Fault::ConnectionClose);
    let r = c.get(&href);
    assert_eq!(r.header("connection"), Some("close"));
    assert!(r.json()["uuid"].is_string());
    s.shutdown_blocking();

    let (s, c, href) = on_poll(Fault::Http10);
    let r = c.get(&href);
    assert_eq!(r.version, 0);
    assert!(r.header("content-length").is_none() && !r.chunked);
    assert!(r.json()["uuid"].is_string());
    s.shutdown_blocking();
}

#[test]
fn keep_alive_by_default_and_close_on_fault() {
    let s = start(
        SimConfig::new()
            .scenario(Scenario::new().fault(FaultRule::request(2, Fault::ConnectionClose))),
    );
    let c = Client::new(&s);
    let auth = c.request_bytes("GET", "/api/cluster/jobs", None);
    let keep = String::from_utf8_lossy(&auth).replace("Connection: close\r\n", "");
    let mut t = TcpStream::connect(s.addr()).expect("connect");
    t.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    use std::io::{Read, Write};
    // Three pipelined requests: 1 keep-alive, 2 gets Connection: close, 3 is never answered.
    t.write_all(format!("{keep}{keep}{keep}").as_bytes())
        .expect("write");
    let mut all = Vec::new();
    t.read_to_end(&mut all).expect("read");
    let text = String::from_utf8_lossy(&all);
    assert_eq!(text.matches("HTTP/1.1 200").count(), 2, "{text}");
    assert_eq!(text.matches("Connection: close").count(), 1);
    assert_eq!(s.stats().connections, 1);
    s.shutdown_blocking();
}

#[test]
fn oversize_and_malformed_bodies() {
    let (s, c, href) = on_poll(Fault::Oversize { bytes: 100_000 });
    let r = c.get(&href);
    assert!(r.body.len() >= 100_000);
    assert!(r.json()["uuid"].is_string(), "still valid JSON");
    s.shutdown_blocking();

    let (s, c, href) = on_poll(Fault::MalformedJson);
    let r = c.get(&href);
    assert!(!r.truncated);
    assert!(serde_json::from_slice::<Value>(&r.body).is_err());
    assert!(c.get(&href).json()["uuid"].is_string());
    s.shutdown_blocking();
}

#[test]
fn unknown_state_strings() {
    let (s, c, href) = on_poll(Fault::UnknownState {
        state: "cancelled".into(),
    });
    assert_eq!(c.get(&href).json()["state"], "cancelled");
    assert_ne!(c.get(&href).json()["state"], "cancelled");
    s.shutdown_blocking();
    // Also scriptable as a timeline step.
    let sc = Scenario::new().default_job(
        JobScript::new(Final::success())
            .step(Step::new(Phase::Running, 1000.0).raw_state("dormant")),
    );
    let s = start(SimConfig::new().scenario(sc));
    let c = Client::new(&s);
    let href = c.post(VOLS, json!({})).json()["job"]["_links"]["self"]["href"]
        .as_str()
        .expect("href")
        .to_string();
    assert_eq!(c.get(&href).json()["state"], "dormant");
    s.shutdown_blocking();
}

#[test]
fn gzip_even_when_identity_was_asked_and_gzip_when_accepted_switch() {
    let (s, c, href) = on_poll(Fault::Gzip);
    let c = c.header("Accept-Encoding", "identity");
    let r = c.get(&href);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert_eq!(&r.wire_body[..2], &[0x1f, 0x8b]);
    assert!(r.json()["uuid"].is_string());
    assert_eq!(c.get(&href).header("content-encoding"), None);
    let g = Client::new(&s).header("Accept-Encoding", "gzip, deflate");
    assert_eq!(g.get(&href).header("content-encoding"), Some("gzip"));
    s.shutdown_blocking();
    let sw = Switches {
        gzip_when_accepted: false,
        ..Switches::default()
    };
    let s = start(SimConfig::new().switches(sw));
    let g = Client::new(&s).header("Accept-Encoding", "gzip");
    assert_eq!(g.post(VOLS, json!({})).header("content-encoding"), None);
    s.shutdown_blocking();
}

#[test]
fn not_yet_visible_job() {
    let s = start(SimConfig::new().scenario(
        Scenario::new().default_job(JobScript::default().fault(1, 2, Fault::NotYetVisible)),
    ));
    let c = Client::new(&s);
    let href = c.post(VOLS, json!({})).json()["job"]["_links"]["self"]["href"]
        .as_str()
        .expect("href")
        .to_string();
    for _ in 0..2 {
        let r = c.get(&href);
        assert_eq!(r.status, 404);
        assert_eq!(r.json()["error"]["code"], "4");
    }
    assert_eq!(c.get(&href).status, 200);
    s.shutdown_blocking();
}

#[test]
fn request_rules_count_by_method_path_nth_and_count() {
    let sc = Scenario::new().fault(
        FaultRule::on("GET", "/api/cluster/jobs", 2, Fault::Status { status: 503 }).times(2),
    );
    let s = start(SimConfig::new().scenario(sc));
    let c = Client::new(&s);
    let statuses: Vec<u16> = (0..5).map(|_| c.get("/api/cluster/jobs").status).collect();
    assert_eq!(statuses, [200, 503, 503, 200, 200]);
    assert_eq!(c.post(VOLS, json!({})).status, 202, "POSTs do not count");
    assert_eq!(s.stats().faults_injected, 2);
    s.shutdown_blocking();
    // Global request numbers.
    let s = start(
        SimConfig::new()
            .scenario(Scenario::new().fault(FaultRule::request(3, Fault::Status { status: 500 }))),
    );
    let c = Client::new(&s);
    let statuses: Vec<u16> = (0..4).map(|_| c.get("/api/cluster/jobs").status).collect();
    assert_eq!(statuses, [200, 200, 500, 200]);
    s.shutdown_blocking();
}

#[test]
fn refuse_connections_closes_and_rebinds_the_port() {
    let s = on_submit(Fault::RefuseConnections { seconds: 0.4 });
    let c = Client::new(&s);
    let r = c.post(VOLS, json!({}));
    assert_eq!(r.status, 202, "the triggering request is answered");
    let e = TcpStream::connect(s.addr()).expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(c.get("/api/cluster/jobs").status, 200);
    // Also from the handle.
    s.refuse_connections(Duration::from_millis(300));
    std::thread::sleep(Duration::from_millis(50));
    assert!(TcpStream::connect(s.addr()).is_err());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(c.get("/api/cluster/jobs").status, 200);
    s.shutdown_blocking();
}

#[test]
fn stall_accept_completes_handshakes_but_does_not_answer() {
    let s = on_submit(Fault::StallAccept { seconds: 0.5 });
    let c = Client::new(&s);
    assert_eq!(c.post(VOLS, json!({})).status, 202);
    let mut short = c.clone();
    short.timeout = Duration::from_millis(150);
    let (bytes, err) = short.raw("GET", "/api/cluster/jobs");
    assert!(bytes.is_empty(), "connected but no answer");
    assert!(
        matches!(err, Some(ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "{err:?}"
    );
    // A connection made during the stall is served once accepting resumes.
    let t = Instant::now();
    let r = c.get("/api/cluster/jobs");
    assert_eq!(r.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(100));
    s.shutdown_blocking();
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let mut cfg = SimConfig::new();
    cfg.keep_alive_idle = Duration::from_millis(200);
    let s = start(cfg);
    let c = Client::new(&s);
    let req = String::from_utf8_lossy(&c.request_bytes("GET", "/api/cluster/jobs", None))
        .replace("Connection: close\r\n", "");
    let mut t = TcpStream::connect(s.addr()).expect("connect");
    t.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    use std::io::{Read, Write};
    t.write_all(req.as_bytes()).expect("write");
    let started = Instant::now();
    let mut all = Vec::new();
    t.read_to_end(&mut all)
        .expect("server closes the idle connection");
    assert!(String::from_utf8_lossy(&all).starts_with("HTTP/1.1 200"));
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    s.shutdown_blocking();
}

#[test]
fn job_script_faults_are_counted() {
    let (s, c, href) = on_poll(Fault::Status { status: 503 });
    assert_eq!(c.get(&href).status, 503);
    assert_eq!(c.get(&href).status, 200);
    assert_eq!(
        s.stats().faults_injected,
        1,
        "the job's scripted fault counts"
    );
    s.shutdown_blocking();
}
