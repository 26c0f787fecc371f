//! Select Deploy dialect: shapes, states and long polling.

mod common;
use common::*;
use std::time::{Duration, Instant};

fn enc(s: &str) -> String {
    s.replace('>', "%3E")
        .replace('=', "%3D")
        .replace('+', "%2B")
        .replace(':', "%3A")
}

fn script(queued: f64, running: f64) -> JobScript {
    JobScript::new(Final::with(Outcome::Success, "Cluster created"))
        .step(Step::new(Phase::Queued, queued).message("Job queued"))
        .step(Step::new(Phase::Running, running).message("Deploying nodes"))
}

fn sim(scale: f64, job: JobScript, sw: Switches) -> (SimHandle, Client) {
    let s = start(
        SimConfig::new()
            .time_scale(scale)
            .switches(sw)
            .scenario(Scenario::new().default_job(job)),
    );
    let c = Client::new(&s);
    (s, c)
}

fn submit(c: &Client) -> (String, String) {
    let r = c.post("/api/v3/clusters?node_count=1", json!({"name": "c1"}));
    assert_eq!(r.status, 202);
    let j = r.json()["job"].clone();
    (
        j["id"].as_str().expect("id").to_string(),
        j["last_modified"].as_str().expect("lm").to_string(),
    )
}

#[test]
fn shapes_states_and_paths() {
    let (s, c) = sim(20.0, script(1.0, 1.0), Switches::default());
    let r = c.post("/api/v3/clusters?node_count=1", json!({"name": "c1"}));
    assert_eq!(r.status, 202);
    assert!(r.header("request-id").is_some());
    let b = r.json();
    same_shape(
        &vector("deploy/SYNTHETIC-202-job-fields-read-by-netapp-sample.json"),
        &b,
    )
    .expect("202 shape");
    assert!(b["job"].get("_links").is_none() && b["job"].get("uuid").is_none());
    let id = b["job"]["id"].as_str().expect("id");
    let lm = b["job"]["last_modified"].as_str().expect("lm");
    assert!(lm.ends_with('Z') && lm.len() == 27, "{lm}");
    let g = c.get(&format!("/api/v3/jobs/{id}"));
    assert!(g.header("request-id").is_some());
    let rec = g.json();
    same_shape(
        &vector("deploy/SYNTHETIC-get-job-record-wrapper.json"),
        &rec,
    )
    .expect("record shape");
    assert_eq!(rec["record"]["state"], "queued");
    let done = poll_until(&c, &format!("/api/jobs/{id}"), 100, 20, |v| {
        v["record"]["state"] == "success"
    });
    assert_eq!(done["record"]["message"], "Cluster created");
    // fields=state,message (as NetApp's sample asks) returns no last_modified.
    let f = c
        .get(&format!("/api/v3/jobs/{id}?fields=state,message"))
        .json();
    assert!(f["record"].get("last_modified").is_none() && f["record"]["state"] == "success");
    let l = c.get("/api/v3/jobs").json();
    assert_eq!(l["num_records"], 1);
    assert_eq!(c.get("/api/v3/jobs/nope").status, 404);
    s.shutdown_blocking();
}

#[test]
fn long_poll_returns_the_moment_the_job_changes() {
    // Queued for 0.4 s real, then running.
    let (s, c) = sim(1.0, script(0.4, 100.0), Switches::default());
    let (id, lm) = submit(&c);
    let t = Instant::now();
    let r = c.get(&format!(
        "/api/v3/jobs/{id}?fields=state,message,last_modified&poll_timeout=10&last_modified={}",
        enc(&format!(">={lm}"))
    ));
    let took = t.elapsed();
    let rec = r.json()["record"].clone();
    assert_eq!(rec["state"], "running");
    assert_ne!(rec["last_modified"], lm.as_str());
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    // Unencoded `>=` as NetApp's sample sends it works as well.
    let t = Instant::now();
    let r = c.get(&format!(
        "/api/v3/jobs/{id}?poll_timeout=10&last_modified=>={lm}"
    ));
    assert_eq!(r.json()["record"]["state"], "running");
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "already changed since lm: at once"
    );
    s.shutdown_blocking();
}

#[test]
fn long_poll_times_out_with_the_current_job() {
    // poll_timeout=2 simulated seconds at scale 10 = 0.2 s real.
    let (s, c) = sim(10.0, script(1000.0, 1.0), Switches::default());
    let (id, lm) = submit(&c);
    let t = Instant::now();
    let r = c.get(&format!(
        "/api/v3/jobs/{id}?poll_timeout=2&last_modified={}",
        enc(&format!(">={lm}"))
    ));
    let took = t.elapsed();
    let rec = r.json()["record"].clone();
    assert_eq!(rec["state"], "queued");
    assert_eq!(rec["last_modified"], lm.as_str());
    assert!(
        took >= Duration::from_millis(180) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    // Without last_modified the wait is for any change after the request.
    let t = Instant::now();
    let r = c.get(&format!("/api/v3/jobs/{id}?poll_timeout=2"));
    assert_eq!(r.json()["record"]["state"], "queued");
    assert!(t.elapsed() >= Duration::from_millis(180));
    s.shutdown_blocking();
}

#[test]
fn inclusive_last_modified_is_a_switch() {
    for inclusive in [false, true] {
        let sw = Switches {
            deploy_last_modified_inclusive: inclusive,
            ..Switches::default()
        };
        let (s, c) = sim(10.0, script(1000.0, 1.0), sw);
        let (id, lm) = submit(&c);
        let t = Instant::now();
        let r = c.get(&format!(
            "/api/v3/jobs/{id}?poll_timeout=3&last_modified={}",
            enc(&format!(">={lm}"))
        ));
        assert_eq!(r.status, 200);
        let took = t.elapsed();
        if inclusive {
            assert!(
                took < Duration::from_millis(150),
                "inclusive answers at once: {took:?}"
            );
        } else {
            assert!(
                took >= Duration::from_millis(280),
                "exclusive holds: {took:?}"
            );
        }
        // An explicit `>` is always strict.
        let t = Instant::now();
        c.get(&format!(
            "/api/v3/jobs/{id}?poll_timeout=1&last_modified={}",
            enc(&format!(">{lm}"))
        ));
        assert!(t.elapsed() >= Duration::from_millis(90));
        s.shutdown_blocking();
    }
}

#[test]
fn timestamp_format_is_a_switch_and_echoed_values_hold() {
    let sw = Switches {
        deploy_timestamp: config::DeployTimestamp::SecondsOffset,
        ..Switches::default()
    };
    let (s, c) = sim(10.0, script(1000.0, 1.0), sw);
    let (id, lm) = submit(&c);
    assert!(lm.ends_with("+00:00") && lm.len() == 25, "{lm}");
    let t = Instant::now();
    // The `+` left unencoded arrives as a space in many clients' hands; both work.
    for v in [enc(&format!(">={lm}")), format!(">={lm}")] {
        let r = c.get(&format!(
            "/api/v3/jobs/{id}?poll_timeout=1&last_modified={v}"
        ));
        assert_eq!(r.json()["record"]["last_modified"], lm.as_str());
    }
    assert!(t.elapsed() >= Duration::from_millis(180));
    s.shutdown_blocking();
}

#[test]
fn parameter_errors_and_auth_status_switch() {
    let (s, c) = sim(1.0, script(1.0, 1.0), Switches::default());
    let (id, _) = submit(&c);
    for q in [
        "poll_timeout=0",
        "poll_timeout=121",
        "poll_timeout=x",
        "last_modified=yesterday",
    ] {
        let r = c.get(&format!("/api/v3/jobs/{id}?{q}"));
        assert_eq!(r.status, 400, "{q}");
        assert!(r.json()["error"]["message"].is_string());
    }
    assert_eq!(
        c.clone()
            .auth("admin", "bad")
            .get(&format!("/api/v3/jobs/{id}"))
            .status,
        401
    );
    s.shutdown_blocking();
    let sw = Switches {
        deploy_auth_status: 403,
        ..Switches::default()
    };
    let (s, c) = sim(1.0, script(1.0, 1.0), sw);
    assert_eq!(c.no_auth().post("/api/v3/clusters", json!({})).status, 403);
    s.shutdown_blocking();
}

#[test]
fn failure_outcome() {
    let (s, c) = sim(
        50.0,
        JobScript::new(Final::failure("Node deploy failed", 1))
            .step(Step::new(Phase::Running, 1.0)),
        Switches::default(),
    );
    let (id, _) = submit(&c);
    let v = poll_until(&c, &format!("/api/v3/jobs/{id}"), 50, 10, |v| {
        v["record"]["state"] == "failure"
    });
    assert_eq!(v["record"]["message"], "Node deploy failed");
    s.shutdown_blocking();
}
