//! A fleet's counters in the Prometheus text exposition format, while 300 ONTAP jobs run
//! against an in-process jobsim.
//!
//! Run: `cargo run --example fleet_prometheus --features tokio` prints a scrape every half
//! second and the last one when every job has ended. With `-- 127.0.0.1:9184` it also serves
//! the scrape at `http://127.0.0.1:9184/metrics` until the jobs end (`curl` it meanwhile).
//!
//! The jobs last 2 to 12 simulated seconds, played 20 times faster than real time; every
//! seventh one fails. The submits ask for ONTAP's default `return_timeout` (30 s): the fleet
//! keeps it only while a connection would otherwise sit idle (`jobpoll_fleet_submits_held_total`
//! against `jobpoll_fleet_submits_hold_waived_total`).

use std::sync::Arc;
use std::time::Duration;

use jobpoll::adapters::fleet::{Fleet, FleetLimits};
use jobpoll::adapters::tokio::Tcp;
use jobpoll::http::{Auth, Authority};
use jobpoll::{Config, Dialect, JobPoller, Policy, Submit};
use jobpoll_sim::{Final, JobScript, Phase, Scenario, Sim, SimConfig, Step};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SCALE: f64 = 20.0;
const JOBS: u64 = 300;

fn script(n: u64) -> JobScript {
    let end = if n.is_multiple_of(7) {
        Final::failure("entry doesn't exist", 4)
    } else {
        Final::success()
    };
    JobScript::new(end).step(Step::new(Phase::Running, 2.0 + (n % 11) as f64))
}

/// The scrape: the fleet's snapshot as Prometheus text.
fn scrape(fleet: &Fleet<Tcp>) -> String {
    let mut text = String::new();
    // Writing to a String cannot fail.
    let _ = fleet.stats().write_prometheus(&mut text);
    text
}

/// Serves `GET /metrics` (any path, in fact) until the task is aborted.
async fn serve(listener: tokio::net::TcpListener, fleet: Arc<Fleet<Tcp>>) {
    while let Ok((mut socket, _)) = listener.accept().await {
        let mut request = [0u8; 1024];
        let _ = socket.read(&mut request).await;
        let body = scrape(&fleet);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = socket.write_all(head.as_bytes()).await;
        let _ = socket.write_all(body.as_bytes()).await;
    }
}

#[tokio::main]
async fn main() {
    let mut scenario = Scenario::new();
    for n in 1..=JOBS {
        scenario = scenario.job(n, script(n));
    }
    let sim = Sim::start(SimConfig::new().time_scale(SCALE).scenario(scenario))
        .await
        .expect("jobsim starts");
    let (user, password) = sim.credentials();
    let (user, password): (Arc<str>, Arc<str>) = (user.into(), password.into());
    let port = sim.addr().port();
    let fleet = Arc::new(Fleet::new(Tcp, FleetLimits::default()));
    let server = match std::env::args().nth(1) {
        Some(addr) => {
            let listener = tokio::net::TcpListener::bind(&addr)
                .await
                .expect("the metrics address is free");
            eprintln!("serving the scrape at http://{addr}/metrics");
            Some(tokio::spawn(serve(listener, fleet.clone())))
        }
        None => None,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..JOBS {
        let (fleet, user, password) = (fleet.clone(), user.clone(), password.clone());
        tasks.spawn(async move {
            let mut cfg = Config::new(
                Authority {
                    host: "127.0.0.1",
                    port,
                    tls: false,
                },
                Auth::Basic {
                    user: &user,
                    password: &password,
                },
                Dialect::default(),
            );
            // The default policy's gaps, scaled like the jobs.
            let d = Policy::DEFAULT;
            cfg.policy = Policy {
                initial_interval: d.initial_interval.div_f64(SCALE),
                max_interval: d.max_interval.div_f64(SCALE),
                retry_initial: d.retry_initial.div_f64(SCALE),
                retry_max: d.retry_max.div_f64(SCALE),
                seed: n,
                ..d
            };
            let op = Submit::post("/api/storage/volumes", br#"{"name":"vol"}"#);
            let slot = fleet.slot().await;
            let Ok(mut poller) = JobPoller::submit(&cfg, &op, fleet.now()) else {
                return;
            };
            // Ended jobs are counted by the fleet: their outcomes show in the scrape.
            let _ = slot.drive(&mut poller, &cfg, &op, ()).await;
        });
    }
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            done = tasks.join_next() => if done.is_none() { break },
            _ = tick.tick() => {
                let s = fleet.stats();
                println!(
                    "# {} in flight: {} waiting for a connection, {} requesting, {} sleeping; {} ended",
                    s.jobs_in_flight,
                    s.waiting_for_connection,
                    s.requests_in_flight,
                    s.sleeping,
                    s.outcomes.total()
                );
            }
        }
    }
    println!("{}", scrape(&fleet));
    if let Some(server) = server {
        server.abort();
    }
    sim.shutdown().await;
}
