//! Unified Manager dialect: shapes, state/status, letter case, list.

mod common;
use common::*;

fn sim(sw: Switches, end: Final) -> (SimHandle, Client) {
    let job = JobScript::new(end).step(Step::new(Phase::Running, 1.0).message("Provisioning"));
    let s = start(
        SimConfig::new()
            .time_scale(50.0)
            .switches(sw)
            .scenario(Scenario::new().default_job(job)),
    );
    let c = Client::new(&s);
    (s, c)
}

#[test]
fn submit_and_job_shapes() {
    let (s, c) = sim(Switches::default(), Final::success());
    let r = c.post(
        "/api/v2/storage-provider/file-shares",
        json!({"name": "share1"}),
    );
    assert_eq!(r.status, 202);
    let b = r.json();
    same_shape(&vector("aiqum/SYNTHETIC-202-job-key.json"), &b).expect("202 shape");
    let key = b["job"]["key"].as_str().expect("key").to_string();
    assert!(key.contains(":-"), "{key}");
    let href = b["job"]["_links"]["self"]["href"]
        .as_str()
        .expect("href")
        .to_string();
    let running = c.get(&href).json();
    assert_eq!(
        (running["state"].as_str(), running["status"].as_str()),
        (Some("running"), Some("normal"))
    );
    let done = poll_until(
        &c,
        &format!("/api/v2/management-server/jobs/{key}"),
        100,
        10,
        |v| v["state"] == "completed",
    );
    same_shape(
        &vector("aiqum/SYNTHETIC-job-completed-normal-lowercase.json"),
        &done,
    )
    .expect("job shape");
    assert_eq!(done["status"], "normal");
    assert_eq!(done["job_results"][0]["name"], "fileshareKey");
    // Rediscovery answers an operationId that is a job key.
    let r = c.post(
        "/api/management-server/admin/datasources/abc/discover",
        json!({}),
    );
    assert_eq!(r.status, 202);
    let op = r.json();
    same_shape(
        &vector("aiqum/SYNTHETIC-rediscover-202-operationId.json"),
        &op,
    )
    .expect("operationId");
    let k = op["operationId"].as_str().expect("op");
    assert_eq!(
        c.get(&format!("/api/management-server/jobs/{k}")).status,
        200
    );
    assert_eq!(c.get("/api/management-server/jobs/nope").status, 404);
    assert_eq!(c.clone().no_auth().get(&href).status, 401);
    s.shutdown_blocking();
}

#[test]
fn outcomes_and_letter_case_switch() {
    let cases = [
        (Final::success(), "normal"),
        (Final::failure("boom", 1), "error"),
        (Final::with(Outcome::Warning, "some warnings"), "warning"),
        (
            Final::with(Outcome::PartialFailures, "2 of 3 failed"),
            "partial_failures",
        ),
    ];
    for upper in [false, true] {
        for (end, status) in cases.clone() {
            let sw = Switches {
                aiqum_upper_case: upper,
                ..Switches::default()
            };
            let (s, c) = sim(sw, end);
            let key = c.post("/api/storage-provider/luns", json!({})).json()["job"]["key"]
                .as_str()
                .expect("key")
                .to_string();
            let want_state = if upper { "COMPLETED" } else { "completed" };
            let v = poll_until(
                &c,
                &format!("/api/management-server/jobs/{key}"),
                100,
                10,
                |v| v["state"] == want_state,
            );
            let want = if upper {
                status.to_ascii_uppercase()
            } else {
                status.to_string()
            };
            assert_eq!(v["status"], want.as_str());
            s.shutdown_blocking();
        }
    }
}

#[test]
fn list_max_records_and_order_by() {
    let (s, c) = sim(Switches::default(), Final::success());
    let keys: Vec<String> = (0..25)
        .map(|i| {
            c.post(
                "/api/storage-provider/file-shares",
                json!({"name": format!("s{i}")}),
            )
            .json()["job"]["key"]
                .as_str()
                .expect("key")
                .to_string()
        })
        .collect();
    let l = c.get("/api/management-server/jobs").json();
    assert_eq!(
        (l["num_records"].as_u64(), l["total_records"].as_u64()),
        (Some(20), Some(25)),
        "default 20"
    );
    assert_eq!(l["records"][0]["key"], keys[24].as_str(), "newest first");
    let l = c
        .get("/api/management-server/jobs?max_records=3&order_by=submit_time%20asc")
        .json();
    assert_eq!(l["num_records"], 3);
    assert_eq!(l["records"][0]["key"], keys[0].as_str());
    let l = c
        .get("/api/v2/management-server/jobs?max_records=2&order_by=submit_time&offset=1")
        .json();
    assert_eq!(l["records"][0]["key"], keys[1].as_str());
    assert_eq!(
        c.get("/api/management-server/jobs?max_records=x").status,
        400
    );
    assert_eq!(
        c.get("/api/management-server/jobs?order_by=nonsense")
            .status,
        400
    );
    s.shutdown_blocking();
}
