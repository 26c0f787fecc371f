//! ONTAP dialect over real sockets.

mod common;
use common::*;

fn quick() -> JobScript {
    // 2 simulated seconds queued, 2 running; at scale 20 that is 0.2 s real.
    JobScript::new(Final::success())
        .step(Step::new(Phase::Queued, 2.0))
        .step(
            Step::new(Phase::Running, 2.0)
                .message("Creating volume")
                .code(2_432_853),
        )
}

fn sim(scale: f64, scenario: Scenario) -> SimHandle {
    start(SimConfig::new().time_scale(scale).scenario(scenario))
}

#[test]
fn volume_create_polls_to_success_with_documented_shapes() {
    let s = sim(20.0, Scenario::new().default_job(quick()));
    let c = Client::new(&s);
    let r = c.post(
        "/api/storage/volumes",
        json!({"name": "vol1", "svm": {"name": "vs0"}}),
    );
    assert_eq!(r.status, 202);
    assert_eq!(r.header("content-type"), Some("application/hal+json"));
    assert!(
        r.header("location")
            .is_some_and(|l| l.starts_with("/api/storage/volumes/"))
    );
    let b = r.json();
    same_shape(&vector("ontap/202-job-link-patch-cluster.json"), &b).expect("202 shape");
    let href = b["job"]["_links"]["self"]["href"]
        .as_str()
        .expect("href")
        .to_string();
    let uuid = b["job"]["uuid"].as_str().expect("uuid");
    assert_eq!(href, format!("/api/cluster/jobs/{uuid}"));
    let first = c.get(&href).json();
    assert_eq!(first["state"], "queued");
    same_shape(&vector("ontap/job-running-cluster-backup-docs.json"), &json!({
        "uuid": first["uuid"], "code": 0, "description": first["description"], "state": "x", "message": "x", "_links": first["_links"]
    })).expect("sanity");
    let running = poll_until(&c, &href, 100, 20, |v| v["state"] == "running");
    assert_eq!(running["message"], "Creating volume");
    assert_eq!(running["code"], 2_432_853);
    let done = poll_until(&c, &href, 100, 20, |v| v["state"] == "success");
    same_shape(&vector("ontap/job-success-cli-volume-create.json"), &done).expect("success shape");
    assert_eq!(done["description"], "POST /api/storage/volumes");
    assert_eq!(done["code"], 0);
    let st = s.stats();
    assert_eq!(st.submits, 1);
    assert_eq!(st.jobs_created, 1);
    assert!(st.endpoint("GET /api/cluster/jobs/{uuid}") >= 3);
    s.shutdown_blocking();
}

#[test]
fn failure_shape_and_code_as_int_or_string() {
    for (form, want) in [
        (config::CodeForm::Integer, json!(4)),
        (config::CodeForm::String, json!("4")),
    ] {
        let sw = Switches {
            ontap_code: form,
            ..Switches::default()
        };
        let s = start(SimConfig::new().time_scale(50.0).switches(sw).scenario(
            Scenario::new().default_job(JobScript::new(Final::failure("entry doesn't exist", 4))),
        ));
        let c = Client::new(&s);
        let b = c
            .send(
                "PATCH",
                "/api/storage/volumes/7d2fd988-8277-11eb-9fc4-080027c8f2a7",
                Some(&json!({"size": 1})),
            )
            .json();
        let href = b["job"]["_links"]["self"]["href"]
            .as_str()
            .expect("href")
            .to_string();
        let v = poll_until(&c, &href, 50, 10, |v| v["state"] == "failure");
        assert_eq!(v["code"], want);
        assert_eq!(v["message"], "entry doesn't exist");
        assert_eq!(v["error"]["code"], "4");
        if form == config::CodeForm::Integer {
            same_shape(
                &vector("ontap/job-failure-entry-doesnt-exist-code4-trident.json"),
                &v,
            )
            .expect("failure shape");
        }
        s.shutdown_blocking();
    }
}

#[test]
fn links_omitted_for_plain_json_accept_is_a_switch() {
    for omit in [true, false] {
        let sw = Switches {
            ontap_omit_links_for_plain_json: omit,
            ..Switches::default()
        };
        let s = start(SimConfig::new().switches(sw));
        let c = Client::new(&s).header("Accept", "application/json");
        let r = c.post("/api/storage/volumes", json!({"name": "v"}));
        assert_eq!(r.status, 202);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let b = r.json();
        assert_eq!(b["job"].get("_links").is_none(), omit);
        let uuid = b["job"]["uuid"].as_str().expect("uuid");
        let j = c.get(&format!("/api/cluster/jobs/{uuid}")).json();
        assert_eq!(j.get("_links").is_none(), omit);
        // hal+json always gets links.
        let hal = Client::new(&s).header("Accept", "application/hal+json");
        assert!(
            hal.post("/api/storage/volumes", json!({"name": "w"}))
                .json()["job"]["_links"]
                .is_object()
        );
        s.shutdown_blocking();
    }
}

#[test]
fn query_targeted_patch_and_delete_answer_jobs_array() {
    let s = start(SimConfig::new());
    let c = Client::new(&s);
    for n in ["data1", "data2", "logs"] {
        assert_eq!(
            c.post("/api/storage/volumes", json!({"name": n})).status,
            202
        );
    }
    let r = c.send(
        "PATCH",
        "/api/storage/volumes?name=data*",
        Some(&json!({"comment": "x"})),
    );
    assert_eq!(r.status, 202);
    let b = r.json();
    assert_eq!(b["num_records"], 2);
    let jobs = b["jobs"].as_array().expect("jobs");
    assert_eq!(jobs.len(), 2);
    for j in jobs {
        assert!(j["uuid"].is_string() && j["_links"]["self"]["href"].is_string());
        assert!(b.get("job").is_none());
    }
    let r = c.send("DELETE", "/api/storage/volumes?name=logs", None);
    assert_eq!((r.status, r.json()["num_records"].clone()), (202, json!(1)));
    let r = c.send("DELETE", "/api/storage/volumes?name=logs", None);
    assert_eq!((r.status, r.json()["num_records"].clone()), (200, json!(0)));
    let r = c.send("PATCH", "/api/storage/volumes", Some(&json!({})));
    assert_eq!(r.status, 400);
    assert_eq!(s.stats().jobs_created, 6);
    s.shutdown_blocking();
}

#[test]
fn return_timeout_range_and_hold() {
    let s = sim(10.0, Scenario::new().default_job(quick()));
    let c = Client::new(&s);
    for bad in ["121", "600", "-1", "x"] {
        let r = c.post(
            &format!("/api/storage/volumes?return_timeout={bad}"),
            json!({"name": "v"}),
        );
        assert_eq!(r.status, 400, "{bad}");
        let e = r.json()["error"].clone();
        same_shape(
            &vector("ontap/error-inner-return-timeout-out-of-range-262197-issue142.json"),
            &e,
        )
        .expect("error shape");
        assert_eq!(e["code"], "262197");
        assert_eq!(
            e["message"],
            format!("The value \"{bad}\" is invalid for field \"return_timeout\" (<0..120>)")
        );
    }
    assert_eq!(s.stats().jobs_created, 0);
    // Job takes 4 simulated seconds: a 1 s hold expires (202), a 10 s hold sees success (200).
    let t = std::time::Instant::now();
    let r = c.post(
        "/api/storage/volumes?return_timeout=1",
        json!({"name": "a"}),
    );
    assert_eq!(r.status, 202);
    assert!(
        t.elapsed() >= std::time::Duration::from_millis(90),
        "held {:?}",
        t.elapsed()
    );
    let r = c.post(
        "/api/storage/volumes?return_timeout=10",
        json!({"name": "b"}),
    );
    assert_eq!(r.status, 200);
    let b = r.json();
    assert!(b["job"]["uuid"].is_string());
    let j = c
        .get(b["job"]["_links"]["self"]["href"].as_str().expect("href"))
        .json();
    assert_eq!(j["state"], "success");
    assert_eq!(
        c.post(
            "/api/storage/volumes?return_timeout=0",
            json!({"name": "c"})
        )
        .status,
        202
    );
    assert_eq!(
        c.post(
            "/api/storage/volumes?return_timeout=120",
            json!({"name": "d"})
        )
        .status,
        200
    );
    s.shutdown_blocking();
}

#[test]
fn failure_within_return_timeout_is_a_switch() {
    use config::FailureWithinTimeout as F;
    for (mode, status) in [(F::Error400, 400), (F::Ok200, 200), (F::Accepted202, 202)] {
        let sw = Switches {
            ontap_failure_within_return_timeout: mode,
            ..Switches::default()
        };
        let sc = Scenario::new().default_job(
            JobScript::new(Final::failure("Duplicate volume name", 917_888))
                .step(Step::new(Phase::Running, 1.0)),
        );
        let s = start(SimConfig::new().time_scale(20.0).switches(sw).scenario(sc));
        let r = Client::new(&s).post(
            "/api/storage/volumes?return_timeout=30",
            json!({"name": "v"}),
        );
        assert_eq!(r.status, status, "{mode:?}");
        let b = r.json();
        if status == 400 {
            assert_eq!(b["error"]["code"], "917888");
            assert_eq!(b["error"]["message"], "Duplicate volume name");
        } else {
            assert!(b["job"]["uuid"].is_string());
        }
        s.shutdown_blocking();
    }
}

#[test]
fn fields_list_and_unknown_arguments() {
    let s = start(SimConfig::new().time_scale(1.0));
    let c = Client::new(&s);
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            c.post("/api/storage/volumes", json!({"name": format!("v{n}")}))
                .json()["job"]["uuid"]
                .as_str()
                .expect("uuid")
                .to_string(),
        );
    }
    let j = c
        .get(&format!("/api/cluster/jobs/{}?fields=state", ids[0]))
        .json();
    let mut keys: Vec<_> = j.as_object().expect("obj").keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["_links", "state", "uuid"]);
    let j = c
        .get(&format!("/api/cluster/jobs/{}?fields=**", ids[0]))
        .json();
    assert!(j["description"].is_string() && j["start_time"].is_string());
    let r = c.get(&format!("/api/cluster/jobs/{}?bogus=1", ids[0]));
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (400, json!("262179"))
    );
    let l = c.get("/api/cluster/jobs").json();
    assert_eq!(l["num_records"], 3);
    assert!(l["records"][0]["uuid"].is_string() && l["records"][0].get("state").is_none());
    let l = c
        .get("/api/cluster/jobs?fields=state,message&max_records=2")
        .json();
    assert_eq!(l["num_records"], 2);
    assert_eq!(l["records"][1]["state"], "queued");
    let l = c.get("/api/cluster/jobs?state=success|failure").json();
    assert_eq!(l["num_records"], 0);
    s.shutdown_blocking();
}

#[test]
fn return_timeout_on_job_get_is_a_switch() {
    for (mode, status) in [
        (config::JobGetWait::Reject, 400),
        (config::JobGetWait::Ignore, 200),
    ] {
        let sw = Switches {
            ontap_job_get_return_timeout: mode,
            ..Switches::default()
        };
        let s = start(SimConfig::new().switches(sw));
        let c = Client::new(&s);
        let id = c.post("/api/storage/volumes", json!({"name": "v"})).json()["job"]["uuid"]
            .as_str()
            .expect("uuid")
            .to_string();
        let r = c.get(&format!(
            "/api/cluster/jobs/{id}?fields=state,message&return_timeout=120"
        ));
        assert_eq!(r.status, status, "{mode:?}");
        if status == 400 {
            assert_eq!(
                r.json()["error"]["message"],
                "Unexpected argument \"return_timeout\"."
            );
        }
        s.shutdown_blocking();
    }
}

#[test]
fn pause_resume_cancel_actions() {
    let long = JobScript::new(Final::success()).step(Step::new(Phase::Running, 1000.0));
    let s = sim(
        1.0,
        Scenario::new().default_job(long.clone()).job(
            3,
            JobScript {
                supports_pause: false,
                supports_cancel: false,
                ..long
            },
        ),
    );
    let c = Client::new(&s);
    let id = c.post("/api/storage/volumes", json!({"name": "v"})).json()["job"]["uuid"]
        .as_str()
        .expect("uuid")
        .to_string();
    let job = format!("/api/cluster/jobs/{id}");
    let act = |a: &str| c.send("PATCH", &format!("{job}?action={a}"), None);
    let code = |r: Reply| r.json()["error"]["code"].as_str().map(str::to_string);
    assert_eq!(code(act("resume")), Some("458776".into()));
    assert_eq!(act("pause").status, 200);
    assert_eq!(c.get(&job).json()["state"], "paused");
    assert_eq!(act("resume").status, 200);
    assert_eq!(c.get(&job).json()["state"], "running");
    assert_eq!(act("cancel").status, 200);
    let v = c.get(&job).json();
    assert_eq!(v["state"], "failure");
    assert_eq!(code(act("cancel")), Some("458762".into()));
    assert_eq!(act("bogus").status, 400);
    // Cancel ending in success is a switch.
    let id2 = c.post("/api/storage/volumes", json!({"name": "w"})).json()["job"]["uuid"]
        .as_str()
        .expect("uuid")
        .to_string();
    let _ = id2;
    let id3 = c.post("/api/storage/volumes", json!({"name": "x"})).json()["job"]["uuid"]
        .as_str()
        .expect("uuid")
        .to_string();
    let r = c.send(
        "PATCH",
        &format!("/api/cluster/jobs/{id3}?action=pause"),
        None,
    );
    assert_eq!(code(r), Some("458783".into()));
    let r = c.send(
        "PATCH",
        &format!("/api/cluster/jobs/{id3}?action=cancel"),
        None,
    );
    assert_eq!(code(r), Some("458784".into()));
    assert_eq!(
        c.send("PATCH", "/api/cluster/jobs/nope?action=cancel", None)
            .status,
        404
    );
    s.shutdown_blocking();

    let sw = Switches {
        ontap_cancel_outcome: Outcome::Success,
        ..Switches::default()
    };
    let s = start(
        SimConfig::new().switches(sw).scenario(
            Scenario::new().default_job(
                JobScript::new(Final::success()).step(Step::new(Phase::Running, 1000.0)),
            ),
        ),
    );
    let c = Client::new(&s);
    let id = c.post("/api/storage/volumes", json!({"name": "v"})).json()["job"]["uuid"]
        .as_str()
        .expect("uuid")
        .to_string();
    assert_eq!(
        c.send(
            "PATCH",
            &format!("/api/cluster/jobs/{id}?action=cancel"),
            None
        )
        .status,
        200
    );
    assert_eq!(
        c.get(&format!("/api/cluster/jobs/{id}")).json()["state"],
        "success"
    );
    s.shutdown_blocking();
}

#[test]
fn purge_after_terminal_then_documented_404() {
    for args in [false, true] {
        let sw = Switches {
            ontap_not_found_arguments: args,
            ..Switches::default()
        };
        // 1 simulated second of work, purge after 300 simulated seconds, at 1000x: 0.3 s real.
        let s =
            start(SimConfig::new().time_scale(1000.0).switches(sw).scenario(
                Scenario::new().default_job(
                    JobScript::new(Final::success()).step(Step::new(Phase::Running, 1.0)),
                ),
            ));
        let c = Client::new(&s);
        let href = c.post("/api/storage/volumes", json!({"name": "v"})).json()["job"]["_links"]["self"]["href"].as_str().expect("href").to_string();
        poll_until(&c, &href, 50, 2, |v| v["state"] == "success");
        std::thread::sleep(std::time::Duration::from_millis(400));
        let r = c.get(&href);
        assert_eq!(r.status, 404);
        let b = r.json();
        assert_eq!(b["error"]["code"], "4");
        assert_eq!(b["error"]["message"], "entry doesn't exist");
        assert_eq!(b["error"]["target"], "uuid");
        assert_eq!(b["error"].get("arguments").is_some(), args);
        if args {
            same_shape(&vector("ontap/error-404-job-not-found-docs.json"), &b).expect("404 shape");
        }
        assert_eq!(
            c.send("PATCH", &format!("{href}?action=cancel"), None)
                .status,
            404
        );
        assert_eq!(c.get("/api/cluster/jobs").json()["num_records"], 0);
        s.shutdown_blocking();
    }
    // Configurable delay.
    let s = start(
        SimConfig::new()
            .time_scale(100.0)
            .purge_after(5.0)
            .scenario(Scenario::new().default_job(JobScript::new(Final::success()))),
    );
    let c = Client::new(&s);
    let href = c.post("/api/storage/volumes", json!({"name": "v"})).json()["job"]["_links"]["self"]
        ["href"]
        .as_str()
        .expect("href")
        .to_string();
    assert_eq!(c.get(&href).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(80));
    assert_eq!(c.get(&href).status, 404);
    s.shutdown_blocking();
}

#[test]
fn basic_auth_401() {
    let s = start(SimConfig::new().credentials("alice", "s3cret"));
    let c = Client::new(&s);
    assert_eq!(c.post("/api/storage/volumes", json!({})).status, 202);
    for bad in [
        Client::new(&s).no_auth(),
        Client::new(&s).auth("alice", "wrong"),
        Client::new(&s).auth("admin", "netapp123"),
    ] {
        let r = bad.post("/api/storage/volumes", json!({}));
        assert_eq!(r.status, 401);
        assert!(r.header("www-authenticate").is_some());
        assert!(r.json()["error"]["message"].is_string());
    }
    assert_eq!(s.stats().jobs_created, 1);
    s.shutdown_blocking();
}

#[test]
fn utc_offset_of_times_is_a_switch() {
    for (offset, suffix) in [(0, "+00:00"), (-300, "-05:00"), (330, "+05:30")] {
        let sw = Switches {
            ontap_utc_offset_minutes: offset,
            ..Switches::default()
        };
        let s = start(
            SimConfig::new()
                .time_scale(1000.0)
                .switches(sw)
                .scenario(Scenario::new().default_job(JobScript::new(Final::success()))),
        );
        let c = Client::new(&s);
        let href =
            c.post("/api/storage/volumes", json!({})).json()["job"]["_links"]["self"]["href"]
                .as_str()
                .expect("href")
                .to_string();
        let v = poll_until(&c, &href, 50, 5, |v| v["state"] == "success");
        for k in ["start_time", "end_time"] {
            let t = v[k].as_str().expect("time");
            assert!(t.ends_with(suffix) && t.len() == 25, "{t}");
            assert!(clock::parse_rfc3339(t).is_some());
        }
        s.shutdown_blocking();
    }
}

#[test]
fn not_found_status_is_a_switch() {
    for status in [404u16, 405] {
        let sw = Switches {
            ontap_not_found_status: status,
            ..Switches::default()
        };
        let s = start(SimConfig::new().switches(sw));
        let r = Client::new(&s).get("/api/cluster/jobs/1cd8a442-86d1-11e0-ae1c-123478563412");
        assert_eq!(r.status, status);
        assert_eq!(r.json()["error"]["code"], "4");
        s.shutdown_blocking();
    }
}

#[test]
fn list_pages_follow_links_next() {
    let s = start(SimConfig::new().time_scale(1.0));
    let c = Client::new(&s);
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            c.post("/api/storage/volumes", json!({"name": format!("v{n}")}))
                .json()["job"]["uuid"]
                .as_str()
                .expect("uuid")
                .to_string(),
        );
    }
    // max_records=2: pages of 2, 2 and 1, each but the last with `_links.next`.
    let mut seen = Vec::new();
    let mut next = Some("/api/cluster/jobs?fields=uuid,state&max_records=2".to_string());
    let mut pages = 0;
    while let Some(href) = next.take() {
        let l = c.get(&href).json();
        pages += 1;
        let n = l["num_records"].as_u64().expect("num_records");
        assert!(n <= 2, "{l}");
        for r in l["records"].as_array().expect("records") {
            assert!(r["state"].is_string(), "the link keeps fields: {r}");
            seen.push(r["uuid"].as_str().expect("uuid").to_string());
        }
        next = l["_links"]["next"]["href"].as_str().map(str::to_string);
        assert!(pages <= 3, "{l}");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ids, "every job once, in creation order");
    s.shutdown_blocking();
}
