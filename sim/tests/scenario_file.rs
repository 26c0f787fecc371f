//! The committed example scenario and the standalone binary.

mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn example() -> Scenario {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/example.json");
    Scenario::from_json(&std::fs::read_to_string(p).expect("read")).expect("valid scenario")
}

#[test]
fn example_scenario_drives_the_timelines_and_faults() {
    let sc = example();
    assert_eq!(sc.jobs.len(), 4);
    let s = start(SimConfig::new().time_scale(20.0).scenario(sc));
    let c = Client::new(&s);
    let href = c
        .post("/api/storage/volumes", json!({"name": "vol1"}))
        .json()["job"]["_links"]["self"]["href"]
        .as_str()
        .expect("href")
        .to_string();
    assert_eq!(c.get(&href).json()["state"], "queued");
    let v = poll_until(&c, &href, 100, 10, |v| v["message"] == "Creating volume");
    assert_eq!(v["code"], 2_432_844);
    poll_until(&c, &href, 100, 10, |v| v["message"] == "Mounting volume");
    let v = poll_until(&c, &href, 100, 10, |v| v["state"] == "success");
    assert_eq!(v["message"], "Complete: Successful [0]");
    // PATCH: first poll 404 (not yet visible), then a failure.
    let uuid = href.rsplit('/').next().expect("uuid");
    let p = c
        .send(
            "PATCH",
            &format!("/api/storage/volumes/{uuid}"),
            Some(&json!({"size": "2g"})),
        )
        .json();
    let ph = p["job"]["_links"]["self"]["href"]
        .as_str()
        .expect("href")
        .to_string();
    assert_eq!(c.get(&ph).status, 404);
    let v = poll_until(&c, &ph, 100, 10, |v| v["state"] == "failure");
    assert_eq!(v["error"]["target"], "uuid");
    // Request faults.
    let r = c.get("/v2.1/jobs");
    assert_eq!((r.status, r.header("retry-after")), (503, Some("5")));
    assert_eq!(c.get("/v2.1/jobs").status, 200);
    assert!(
        c.try_send("POST", "/api/storage/luns", Some(&json!({})))
            .is_err()
    );
    let id = c.post("/api/v3/clusters", json!({})).json()["job"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        c.get(&format!("/api/v3/jobs/{id}")).json()["record"]["message"],
        "Job queued"
    );
    s.shutdown_blocking();
}

#[test]
fn binary_starts_prints_address_and_credentials_and_serves() {
    let scenario = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/example.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_jobsim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tls",
            "--time-scale",
            "100",
            "--user",
            "bob",
            "--password",
            "pw",
        ])
        .arg("--scenario")
        .arg(&scenario)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn jobsim");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    let mut pem = String::new();
    let mut line = String::new();
    while out.read_line(&mut line).expect("read") > 0 {
        let l = line.trim_end().to_string();
        line.clear();
        if l.starts_with("-----BEGIN") || !pem.is_empty() {
            pem.push_str(&l);
            pem.push('\n');
        }
        let done = l.starts_with("stats: ");
        lines.push(l);
        if done {
            break;
        }
    }
    let url = lines[0]
        .strip_prefix("jobsim listening on https://")
        .expect("address line")
        .to_string();
    assert_eq!(lines[1], "credentials: user \"bob\", password \"pw\"");
    let der = {
        use rustls_pki_types::pem::PemObject;
        rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
            .expect("printed PEM")
            .to_vec()
    };
    let c = Client {
        addr: url.parse().expect("addr"),
        auth: Some(("bob".into(), "pw".into())),
        cert: Some(der),
        timeout: std::time::Duration::from_secs(5),
        extra: Vec::new(),
    };
    let href = c.post("/api/storage/volumes", json!({"name": "v"})).json()["job"]["_links"]["self"]
        ["href"]
        .as_str()
        .expect("href")
        .to_string();
    poll_until(&c, &href, 100, 20, |v| v["state"] == "success");
    assert_eq!(c.get("/_sim/stats").json()["submits"], 1);
    child.kill().expect("kill");
    let _ = child.wait();
}
