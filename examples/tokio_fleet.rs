//! N concurrent ONTAP volume creates against an in-process jobsim, over a pool of four
//! keep-alive connections, with a summary.
//!
//! Run: `cargo run --example tokio_fleet --features tokio` (add `-- 500` for 500 jobs).
//!
//! Each job is its own tokio task (the fleet is shared in an `Arc`); jobs last 2 to 60
//! simulated seconds, played 100 times faster than real time, and every tenth one fails.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jobpoll::adapters::fleet::{Fleet, FleetLimits};
use jobpoll::adapters::tokio::Tcp;
use jobpoll::dialect::ontap::OntapOptions;
use jobpoll::http::{Auth, Authority};
use jobpoll::{Config, Dialect, JobPoller, Outcome, Policy, Submit};
use jobpoll_sim::{Final, JobScript, Phase, Scenario, Sim, SimConfig, Step};

const SCALE: f64 = 100.0;

fn script(n: u64) -> JobScript {
    let seconds = 2.0 + (n * 37 % 59) as f64;
    let end = if n.is_multiple_of(10) {
        Final::failure("entry doesn't exist", 4)
    } else {
        Final::success()
    };
    JobScript::new(end)
        .step(Step::new(Phase::Queued, 1.0))
        .step(Step::new(Phase::Running, seconds).message("Creating volume"))
}

#[tokio::main]
async fn main() {
    let jobs: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let mut scenario = Scenario::new();
    for n in 1..=jobs {
        scenario = scenario.job(n, script(n));
    }
    let sim = Sim::start(SimConfig::new().time_scale(SCALE).scenario(scenario))
        .await
        .expect("jobsim starts");
    let (user, password) = sim.credentials();
    let (user, password): (Arc<str>, Arc<str>) = (user.into(), password.into());
    let port = sim.addr().port();
    let limits = FleetLimits::default();
    println!(
        "{jobs} jobs against jobsim at {} (time x{SCALE}), {} connections per host, {} jobs in flight",
        sim.base_url(),
        limits.max_connections_per_host,
        limits.max_jobs_in_flight
    );
    let fleet = Arc::new(Fleet::new(Tcp, limits));
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..jobs {
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
                // No server-side hold: with many jobs on few connections, a held submit would
                // keep a connection busy (see the fleet's docs).
                Dialect::Ontap(OntapOptions {
                    return_timeout: Duration::ZERO,
                    ..OntapOptions::DEFAULT
                }),
            );
            // Real time runs 100 times slower than the simulated jobs: scale the gaps too.
            cfg.policy = Policy {
                initial_interval: Duration::from_millis(10),
                max_interval: Duration::from_millis(300),
                retry_initial: Duration::from_millis(10),
                seed: n,
                // Submits on pooled connections that have just answered, so the connections
                // opened stay bounded by the pool (the default opens one per submit).
                reuse_connection_for_submit: true,
                ..Policy::DEFAULT
            };
            let name = format!(r#"{{"name":"vol{n}","svm":{{"name":"vs1"}}}}"#);
            let op = Submit::post("/api/storage/volumes", name.as_bytes());
            let slot = fleet.slot().await;
            let mut poller = JobPoller::submit(&cfg, &op, fleet.now()).expect("valid operation");
            let outcome = slot
                .drive(&mut poller, &cfg, &op, ())
                .await
                .expect("buffers and configuration are valid");
            (outcome, poller.requests(), poller.elapsed())
        });
    }
    let mut outcomes: BTreeMap<String, u32> = BTreeMap::new();
    let (mut requests, mut longest) = (0u32, Duration::ZERO);
    while let Some(done) = tasks.join_next().await {
        let (outcome, n, elapsed) = done.expect("job task");
        let name = match outcome {
            Outcome::Succeeded => "succeeded".to_string(),
            Outcome::Failed => "failed".to_string(),
            other => format!("{other:?}"),
        };
        *outcomes.entry(name).or_default() += 1;
        requests += n;
        longest = longest.max(elapsed);
    }
    let took = started.elapsed();
    let stats = sim.stats();
    println!("done in {took:.2?} (longest job {longest:.2?})");
    for (outcome, count) in &outcomes {
        println!("  {outcome:<12} {count}");
    }
    println!(
        "requests: {requests} by the jobs, {} seen by jobsim ({} submits)",
        stats.requests, stats.submits
    );
    println!(
        "connections: {} opened (submits and polls share the pool)",
        stats.connections
    );
    println!(
        "requests per connection: {:.1}",
        stats.requests as f64 / stats.connections.max(1) as f64
    );
    sim.shutdown().await;
}
