//! `GET /_sim/stats` and the handle's stats accessor.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn stats_count_requests_connections_submits_and_terminal_latency() {
    let job = JobScript::new(Final::success()).step(Step::new(Phase::Running, 0.1));
    let s = start(SimConfig::new().scenario(Scenario::new().default_job(job)));
    let c = Client::new(&s);
    let href = c.post("/api/storage/volumes", json!({"name": "v"})).json()["job"]["_links"]["self"]
        ["href"]
        .as_str()
        .expect("href")
        .to_string();
    let id = href.rsplit('/').next().expect("id").to_string();
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(c.get(&href).json()["state"], "success");
    assert_eq!(c.get(&href).status, 200);
    let did = c.post("/api/v3/clusters", json!({})).json()["job"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    c.get(&format!("/api/v3/jobs/{did}"));

    // The endpoint needs no credentials.
    let r = Client::new(&s).no_auth().get("/_sim/stats");
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["submits"], 2);
    assert_eq!(v["jobs_created"], 2);
    assert_eq!(v["connections"], 6);
    assert_eq!(v["tls_handshakes"], 0);
    assert_eq!(v["requests"], 6);
    assert_eq!(v["endpoints"]["GET /api/cluster/jobs/{uuid}"], 2);
    assert_eq!(v["endpoints"]["POST /api/storage/volumes"], 1);
    assert_eq!(v["endpoints"]["GET /api/v3/jobs/{id}"], 1);
    assert_eq!(v["endpoints"]["GET /_sim/stats"], 1);
    let j = &v["jobs"][&id];
    assert_eq!(j["requests"], 2);
    assert_eq!(j["dialect"], "ontap");
    assert_eq!(j["submit"], "POST /api/storage/volumes");
    assert_eq!(j["terminal"], true);
    let seen = j["terminal_seen_after_real_ms"].as_f64().expect("latency");
    assert!((200.0..=700.0).contains(&seen), "{seen}");
    assert_eq!(v["jobs"][&did]["dialect"], "deploy");
    assert!(v["jobs"][&did]["terminal_seen_after_ms"].is_null());

    let st = s.stats();
    assert_eq!(st.submits, 2);
    assert_eq!(st.endpoint("GET /_sim/stats"), 1);
    assert_eq!(st.jobs.get(&id).map(|j| j.requests), Some(2));
    s.shutdown_blocking();
}

#[test]
fn terminal_latency_is_in_simulated_and_real_time() {
    // 10 simulated seconds of work at scale 100 = 0.1 s real; the client looks 0.3 s after the submit.
    let job = JobScript::new(Final::success()).step(Step::new(Phase::Running, 10.0));
    let s = start(
        SimConfig::new()
            .time_scale(100.0)
            .scenario(Scenario::new().default_job(job)),
    );
    let c = Client::new(&s);
    let href = c.post("/api/storage/volumes", json!({})).json()["job"]["_links"]["self"]["href"]
        .as_str()
        .expect("href")
        .to_string();
    std::thread::sleep(Duration::from_millis(300));
    c.get(&href);
    let st = s.stats();
    let j = st.jobs.values().next().expect("job");
    let sim_ms = j.terminal_seen_after_ms.expect("seen");
    let real_ms = j.terminal_seen_after_real_ms.expect("seen");
    assert!((15_000.0..=60_000.0).contains(&sim_ms), "{sim_ms}");
    assert!((sim_ms / real_ms - 100.0).abs() < 0.01);
    s.shutdown_blocking();
}
