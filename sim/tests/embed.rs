//! Embedding: the async API on the caller's runtime, and handles that are dropped.

mod common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_on_the_callers_runtime_and_shut_down() {
    let sim = Sim::start(SimConfig::new().tls().time_scale(100.0))
        .await
        .expect("start");
    let c = Client::new(&sim);
    let addr = sim.addr();
    let r =
        tokio::task::spawn_blocking(move || c.post("/api/storage/volumes", json!({"name": "v"})))
            .await
            .expect("join");
    assert_eq!(r.status, 202);
    assert_eq!(sim.stats().tls_handshakes, 1);
    sim.shutdown().await;
    // The port is closed after shutdown.
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn dropping_a_blocking_handle_stops_the_server() {
    let sim = start(SimConfig::new());
    let addr = sim.addr();
    assert_eq!(Client::new(&sim).get("/api/cluster/jobs").status, 200);
    drop(sim);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn bind_errors_are_reported() {
    let a = start(SimConfig::new());
    let e = Sim::start_blocking(SimConfig::new().listen(a.addr())).expect_err("port in use");
    assert!(matches!(e, StartError::Bind(_)), "{e}");
    a.shutdown_blocking();
}
