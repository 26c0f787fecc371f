//! Service Engine dialect: envelope shapes, status strings, list pagination.

mod common;
use common::*;

fn sim(sw: Switches, end: Final) -> (SimHandle, Client) {
    // Running for 10 simulated seconds (200 ms at this scale): a poll every few milliseconds
    // sees it even on a loaded machine (1 s, 20 ms, was missed under load).
    let job = JobScript::new(end)
        .step(Step::new(Phase::Queued, 1.0))
        .step(Step::new(Phase::Running, 10.0).message("Creating bucket"));
    let s = start(
        SimConfig::new()
            .time_scale(50.0)
            .switches(sw)
            .scenario(Scenario::new().default_job(job)),
    );
    let c = Client::new(&s);
    (s, c)
}

fn submit(c: &Client, tenant: &str) -> String {
    let r = c.post(
        &format!("/v2.1/storagegrid/buckets?tenant_id={tenant}"),
        json!({"name": "mybucket", "region": "us-east-1"}),
    );
    assert_eq!(r.status, 202);
    r.json()["result"]["records"][0]["id"]
        .as_str()
        .expect("id")
        .to_string()
}

#[test]
fn envelope_shapes_and_statuses() {
    let (s, c) = sim(
        Switches::default(),
        Final::with(
            Outcome::Success,
            "Creation of s3 bucket 'mybucket' completed successfully.",
        ),
    );
    let r = c.post("/v2.1/storagegrid/buckets", json!({"name": "mybucket"}));
    assert_eq!(r.status, 202);
    let b = r.json();
    same_shape(&vector("nse/202-create-s3-bucket-pending.json"), &b).expect("202 shape");
    assert_eq!(b["status"]["code"], 202);
    assert_eq!(
        b["status"]["user_message"],
        "Okay. Accepted for processing."
    );
    let rec = &b["result"]["records"][0];
    assert_eq!(
        (rec["status"].as_str(), rec["object_type"].as_str()),
        (Some("pending"), Some("sg_buckets"))
    );
    assert!(rec["job_tasks"].is_null());
    let id = rec["id"].as_str().expect("id");
    assert_eq!(id.len(), 24);
    let path = format!("/v2.1/jobs/{id}");
    poll_until(&c, &path, 100, 5, |v| {
        v["result"]["records"][0]["status"] == "running"
    });
    let done = poll_until(&c, &format!("/api{path}"), 100, 10, |v| {
        v["result"]["records"][0]["status"] == "successful"
    });
    same_shape(
        &vector("nse/job-by-id-successful-total-records-only.json"),
        &done,
    )
    .expect("job shape");
    assert!(done["result"].get("returned_records").is_none());
    assert_eq!(
        done["result"]["records"][0]["job_tasks"][0]["request_payload"]["name"],
        "mybucket"
    );
    let nf = c.get("/v2.1/jobs/000000000000000000000000");
    assert_eq!(nf.status, 404);
    assert_eq!(nf.json()["status"]["code"], 404);
    let bad = c.clone().auth("admin", "x").get(&path);
    assert_eq!(bad.status, 401);
    assert!(bad.json()["status"]["user_message"].is_string());
    s.shutdown_blocking();
}

#[test]
fn running_and_failed_strings_and_error_code_form_are_switches() {
    for (running, failed, code_string) in
        [("running", "failed", false), ("processing", "error", true)]
    {
        let sw = Switches {
            nse_running_status: running.into(),
            nse_failed_status: failed.into(),
            nse_error_code_string: code_string,
            ..Switches::default()
        };
        let (s, c) = sim(sw, Final::failure("Bucket name already exists", 1));
        let id = submit(&c, "t1");
        let path = format!("/v2.1/jobs/{id}");
        poll_until(&c, &path, 100, 5, |v| {
            v["result"]["records"][0]["status"] == running
        });
        let v = poll_until(&c, &path, 100, 10, |v| {
            v["result"]["records"][0]["status"] == failed
        });
        assert_eq!(
            v["result"]["records"][0]["last_error"],
            "Bucket name already exists"
        );
        let e = c.get("/v2.1/jobs/nope").json();
        assert_eq!(e["status"]["code"].is_string(), code_string);
        s.shutdown_blocking();
    }
}

#[test]
fn list_with_tenant_offset_limit_and_job_tasks() {
    let (s, c) = sim(Switches::default(), Final::success());
    let a: Vec<String> = (0..3).map(|_| submit(&c, "tenantA")).collect();
    let _b = submit(&c, "tenantB");
    std::thread::sleep(std::time::Duration::from_millis(80));
    let l = c.get("/v2.1/jobs?offset=0&limit=1").json();
    same_shape(&vector("nse/jobs-list-successful-paginated.json"), &l).expect("list shape");
    assert_eq!(
        (
            l["result"]["total_records"].as_u64(),
            l["result"]["returned_records"].as_u64()
        ),
        (Some(4), Some(1))
    );
    let l = c
        .get("/v2.1/jobs?tenant_id=tenantA&offset=1&limit=5")
        .json();
    assert_eq!(l["result"]["total_records"], 3);
    assert_eq!(l["result"]["returned_records"], 2);
    assert_eq!(
        l["result"]["records"][0]["id"],
        a[1].as_str(),
        "newest first"
    );
    assert_eq!(l["result"]["offset"], 1);
    assert!(l["result"]["records"][0]["job_tasks"].is_array());
    let l = c.get("/api/v2.1/jobs?job_tasks=false").json();
    assert!(l["result"]["records"][0]["job_tasks"].is_null());
    assert_eq!(c.get("/v2.1/jobs?limit=x").status, 400);
    s.shutdown_blocking();
}
