//! HTTPS: self-signed certificate at start, PEM files, and byte-level faults on the TLS stream.

mod common;
use common::*;
use std::io::ErrorKind;

#[test]
fn https_round_trip_with_the_published_certificate() {
    let s = start(
        SimConfig::new()
            .tls()
            .time_scale(50.0)
            .scenario(Scenario::new().default_job(
                JobScript::new(Final::success()).step(Step::new(Phase::Running, 1.0)),
            )),
    );
    assert!(s.base_url().starts_with("https://127.0.0.1:"));
    let cert = s.certificate().expect("certificate");
    assert!(
        cert.pem.starts_with("-----BEGIN CERTIFICATE-----\n")
            && cert.pem.ends_with("-----END CERTIFICATE-----\n")
    );
    assert!(!cert.der.is_empty());
    let c = Client::new(&s);
    let href = c.post("/api/storage/volumes", json!({"name": "v"})).json()["job"]["_links"]["self"]
        ["href"]
        .as_str()
        .expect("href")
        .to_string();
    let v = poll_until(&c, &href, 100, 10, |v| v["state"] == "success");
    assert_eq!(v["code"], 0);
    let id = c.post("/api/v3/clusters", json!({})).json()["job"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_eq!(
        c.get(&format!("/api/v3/jobs/{id}?poll_timeout=1")).status,
        200
    );
    let st = s.stats();
    assert_eq!(st.tls_handshakes, st.connections);
    assert!(st.tls_handshakes >= 4);
    // A client that does not trust the certificate fails the handshake.
    let mut other = c.clone();
    let wrong = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    other.cert = Some(wrong.cert.der().to_vec());
    assert!(other.try_send("GET", "/api/cluster/jobs", None).is_err());
    s.shutdown_blocking();
}

#[test]
fn certificate_and_key_from_pem_files() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let dir = std::env::temp_dir().join(format!("jobsim-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).expect("write");
    std::fs::write(&key, ck.key_pair.serialize_pem()).expect("write");
    let mut cfg = SimConfig::new();
    cfg.tls = Tls::Files {
        cert: cert.clone(),
        key: key.clone(),
    };
    let s = start(cfg);
    assert_eq!(s.certificate().expect("cert").der, ck.cert.der().to_vec());
    assert_eq!(Client::new(&s).get("/api/cluster/jobs").status, 200);
    s.shutdown_blocking();
    let mut bad = SimConfig::new();
    bad.tls = Tls::Files {
        cert: dir.join("missing.pem"),
        key,
    };
    assert!(matches!(Sim::start_blocking(bad), Err(StartError::Tls(_))));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn byte_level_faults_reach_the_tls_stream() {
    let sc = Scenario::new().default_job(
        JobScript::default()
            .fault(1, 1, Fault::ResetMidBody)
            .fault(2, 1, Fault::TruncatedBody)
            .fault(3, 1, Fault::Chunked { chunk: 3 })
            .fault(4, 1, Fault::Http10)
            .fault(5, 1, Fault::Gzip)
            .fault(6, 1, Fault::ResetBeforeHeaders),
    );
    let s = start(SimConfig::new().tls().scenario(sc));
    let c = Client::new(&s);
    let href = c.post("/api/storage/volumes", json!({})).json()["job"]["_links"]["self"]["href"]
        .as_str()
        .expect("href")
        .to_string();
    let (bytes, err) = c.raw("GET", &href);
    assert!(!bytes.is_empty());
    assert!(
        matches!(
            err,
            Some(ErrorKind::ConnectionReset | ErrorKind::UnexpectedEof)
        ),
        "{err:?}"
    );
    let (bytes, err) = c.raw("GET", &href);
    assert_eq!(err, None, "clean close_notify after a short body");
    let text = String::from_utf8_lossy(&bytes);
    let (head, body) = text.split_once("\r\n\r\n").expect("head");
    let cl: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .expect("cl")
        .parse()
        .expect("n");
    assert!(body.len() < cl);
    let r = c.get(&href);
    assert!(r.chunked && r.json()["uuid"].is_string());
    let r = c.get(&href);
    assert_eq!(r.version, 0);
    assert!(r.json()["uuid"].is_string());
    let r = c.get(&href);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    assert!(r.json()["uuid"].is_string());
    let (bytes, err) = c.raw("GET", &href);
    assert!(bytes.is_empty() && err.is_some(), "{err:?}");
    s.shutdown_blocking();
}
