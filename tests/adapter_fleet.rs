//! The fleet against jobsim: many jobs, few connections.
#![cfg(feature = "tokio")]

mod adapters;

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use adapters::{config, job};
use futures_util::future::join_all;
use jobpoll::adapters::fleet::{Fleet, FleetLimits, FleetStats, SubmitHold};
use jobpoll::adapters::tokio::{Connect, Endpoint};
use jobpoll::dialect::ontap::OntapOptions;
use jobpoll::{Dialect, JobPoller, Outcome, Policy, Submit};
use jobpoll_sim::{Fault, Final, JobScript, Phase, Scenario, Sim, SimConfig, Stats, Step};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Counts the connections open at once, and the most ever open.
#[derive(Default, Debug)]
struct Gauge {
    open: AtomicUsize,
    peak: AtomicUsize,
    opened: AtomicUsize,
}

struct Counted {
    inner: TcpStream,
    gauge: Arc<Gauge>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.gauge.open.fetch_sub(1, Ordering::SeqCst);
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Plain TCP, counting per port.
fn counting(gauges: Arc<Vec<(u16, Arc<Gauge>)>>) -> impl Connect {
    move |endpoint: Endpoint| {
        let gauge = gauges
            .iter()
            .find(|(port, _)| *port == endpoint.port)
            .map(|(_, g)| g.clone())
            .expect("a known port");
        async move {
            let inner = TcpStream::connect((endpoint.host.as_str(), endpoint.port)).await?;
            let open = gauge.open.fetch_add(1, Ordering::SeqCst) + 1;
            gauge.peak.fetch_max(open, Ordering::SeqCst);
            gauge.opened.fetch_add(1, Ordering::SeqCst);
            Ok(Counted { inner, gauge })
        }
    }
}

const BODY: &[u8] = br#"{"name":"vol","svm":{"name":"vs1"}}"#;

/// What 200 jobs through a fleet of four connections left behind.
struct Run {
    stats: Stats,
    /// Requests the jobs' machines counted.
    requests: u32,
    /// Connections open at once, at most; and opened in all, as the connector counted them.
    peak: usize,
    opened: usize,
    took: Duration,
}

/// 200 ONTAP jobs of mixed durations (job n runs 1 + n % 7 simulated seconds, 10 to 70 ms of
/// real time) through one fleet with four connections per host; each must succeed.
async fn two_hundred_jobs(reuse_connection_for_submit: bool) -> Run {
    let mut scenario = Scenario::new();
    for n in 1..=200u64 {
        scenario = scenario.job(n, job(0.5, 1.0 + (n % 7) as f64));
    }
    let sim = Sim::start(SimConfig::new().time_scale(100.0).scenario(scenario))
        .await
        .unwrap();
    let port = sim.addr().port();
    let gauge = Arc::new(Gauge::default());
    let fleet = Fleet::new(
        counting(Arc::new(vec![(port, gauge.clone())])),
        FleetLimits {
            max_connections_per_host: 4,
            ..FleetLimits::DEFAULT
        },
    );
    let mut cfg = config("127.0.0.1", port, false);
    cfg.policy.reuse_connection_for_submit = reuse_connection_for_submit;
    let op = Submit::post("/api/storage/volumes", BODY);
    let started = std::time::Instant::now();
    let runs = (0..200).map(|_| async {
        let slot = fleet.slot().await;
        let mut poller = JobPoller::submit(&cfg, &op, fleet.now()).unwrap();
        let outcome = slot.drive(&mut poller, &cfg, &op, ()).await.unwrap();
        (outcome, poller.requests())
    });
    let results = join_all(runs).await;
    let took = started.elapsed();
    assert!(results.iter().all(|(o, _)| *o == Outcome::Succeeded));
    let run = Run {
        stats: sim.stats(),
        requests: results.iter().map(|(_, r)| r).sum(),
        peak: gauge.peak.load(Ordering::SeqCst),
        opened: gauge.opened.load(Ordering::SeqCst),
        took,
    };
    eprintln!(
        "200 jobs (submits on pooled connections: {reuse_connection_for_submit}) in {took:?}: \
         {} requests, {} connections, peak {} open",
        run.stats.requests, run.stats.connections, run.peak
    );
    sim.shutdown().await;
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_jobs_over_four_connections() {
    let run = two_hundred_jobs(false).await;
    let stats = &run.stats;
    assert_eq!(stats.submits, 200);
    assert_eq!(stats.requests, u64::from(run.requests));
    assert!(run.peak <= 4, "peak {} open", run.peak);
    assert_eq!(stats.connections, run.opened as u64);
    // Every submit opens a fresh connection (the default policy); polls reuse pooled ones,
    // so beyond the submits only a handful of connections are opened.
    assert!(
        stats.connections <= stats.submits + 4,
        "{} connections for {} submits and {} requests",
        stats.connections,
        stats.submits,
        stats.requests
    );
    // Every job was polled at least once (no server-side hold), over a reused connection.
    assert!(stats.requests >= 2 * stats.submits, "{stats:?}");
    assert!(run.took < Duration::from_secs(10), "{:?}", run.took);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_submits_on_pooled_connections_the_pool_bounds_the_connections() {
    let run = two_hundred_jobs(true).await;
    let stats = &run.stats;
    assert_eq!(stats.submits, 200);
    assert_eq!(stats.requests, u64::from(run.requests));
    assert!(run.peak <= 4, "peak {} open", run.peak);
    assert_eq!(stats.connections, run.opened as u64);
    // The pool's four, each reopened at most once should jobsim close it (it closes a
    // connection idle for 5 s; the run takes about a second): not one per submit.
    assert!(
        stats.connections <= 8,
        "{} connections for {} requests",
        stats.connections,
        stats.requests
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_host_has_its_own_bound() {
    let a = Sim::start(
        SimConfig::new()
            .time_scale(100.0)
            .scenario(Scenario::new().default_job(job(0.5, 2.0))),
    )
    .await
    .unwrap();
    let b = Sim::start(
        SimConfig::new()
            .time_scale(100.0)
            .scenario(Scenario::new().default_job(job(0.5, 2.0))),
    )
    .await
    .unwrap();
    let (ga, gb) = (Arc::new(Gauge::default()), Arc::new(Gauge::default()));
    let fleet = Fleet::new(
        counting(Arc::new(vec![
            (a.addr().port(), ga.clone()),
            (b.addr().port(), gb.clone()),
        ])),
        FleetLimits {
            max_connections_per_host: 2,
            max_jobs_in_flight: 16,
            ..FleetLimits::DEFAULT
        },
    );
    let cfg_a = config("127.0.0.1", a.addr().port(), false);
    let cfg_b = config("127.0.0.1", b.addr().port(), false);
    let op = Submit::post("/api/storage/volumes", BODY);
    let runs = (0..40).map(|i| {
        let cfg = if i % 2 == 0 { &cfg_a } else { &cfg_b };
        let (fleet, op) = (&fleet, &op);
        async move {
            let slot = fleet.slot().await;
            let mut poller = JobPoller::submit(cfg, op, fleet.now()).unwrap();
            slot.drive(&mut poller, cfg, op, ()).await.unwrap()
        }
    });
    let outcomes = join_all(runs).await;
    assert!(outcomes.iter().all(|o| *o == Outcome::Succeeded));
    assert_eq!((a.stats().submits, b.stats().submits), (20, 20));
    assert!(ga.peak.load(Ordering::SeqCst) <= 2, "{ga:?}");
    assert!(gb.peak.load(Ordering::SeqCst) <= 2, "{gb:?}");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_job_gives_its_connection_back() {
    // The first poll of job 1 stalls; its future is dropped while it waits for the answer.
    let scenario = Scenario::new().default_job(job(0.5, 1.0)).job(
        1,
        job(0.5, 1.0).fault(1, 1, Fault::Stall { seconds: Some(5.0) }),
    );
    let sim = Sim::start(SimConfig::new().time_scale(100.0).scenario(scenario))
        .await
        .unwrap();
    let port = sim.addr().port();
    let gauge = Arc::new(Gauge::default());
    let fleet = Fleet::new(
        counting(Arc::new(vec![(port, gauge.clone())])),
        FleetLimits {
            max_connections_per_host: 1,
            max_jobs_in_flight: 1,
            ..FleetLimits::DEFAULT
        },
    );
    let cfg = config("127.0.0.1", port, false);
    let op = Submit::post("/api/storage/volumes", BODY);
    let mut stuck = JobPoller::submit(&cfg, &op, fleet.now()).unwrap();
    let cut = tokio::time::timeout(
        Duration::from_millis(300),
        fleet.drive(&mut stuck, &cfg, &op, ()),
    )
    .await;
    assert!(cut.is_err());
    assert!(stuck.job_id().is_some() && stuck.resume_token().is_some());
    assert!(!stuck.is_request_in_flight());
    assert_eq!(
        gauge.open.load(Ordering::SeqCst),
        0,
        "the stalled connection is closed"
    );
    // The only job slot and the only connection permit are free again.
    let mut next = JobPoller::submit(&cfg, &op, fleet.now()).unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(5),
        fleet.drive(&mut next, &cfg, &op, ()),
    )
    .await
    .expect("slot and connection were given back")
    .unwrap();
    assert_eq!(outcome, Outcome::Succeeded);
    sim.shutdown().await;
}

#[test]
fn a_job_costs_about_one_kibibyte_beyond_the_pool() {
    let fleet = Fleet::new(jobpoll::adapters::tokio::Tcp, FleetLimits::DEFAULT);
    let cfg = config("127.0.0.1", 1, false);
    let op = Submit::post("/api/storage/volumes", BODY);
    let mut poller = JobPoller::submit(&cfg, &op, fleet.now()).unwrap();
    let poller_size = std::mem::size_of::<JobPoller>();
    let future = fleet.drive(&mut poller, &cfg, &op, ());
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&future);
    let total = std::mem::size_of_val(&future) + poller_size;
    eprintln!(
        "poller {poller_size} B + drive future {} B = {total} B",
        std::mem::size_of_val(&future)
    );
    // The issue's budget is 2 KiB per job including the runtime's own task overhead.
    assert!(total <= 1280, "{total} B per job");
}

/// Simulated seconds per real second in the hold runs below.
const HOLD_SCALE: f64 = 5.0;

/// What one run of four-second jobs left behind.
struct HoldRun {
    took: Duration,
    /// Requests of each job, as its machine counted them.
    requests: Vec<u32>,
    stats: FleetStats,
    sim: Stats,
    prometheus: String,
}

/// `jobs` ONTAP jobs of 4 simulated seconds submitted at once through a fleet with the
/// default limits (4 connections), `return_timeout` = `hold` (simulated), holds decided by
/// `rule`; the policy's gaps scaled like the jobs.
async fn four_second_jobs(jobs: usize, hold: u64, rule: SubmitHold) -> HoldRun {
    let script = JobScript::new(Final::success()).step(Step::new(Phase::Running, 4.0));
    let sim = Sim::start(
        SimConfig::new()
            .time_scale(HOLD_SCALE)
            .scenario(Scenario::new().default_job(script)),
    )
    .await
    .unwrap();
    let fleet = Fleet::new(
        jobpoll::adapters::tokio::Tcp,
        FleetLimits {
            submit_hold: rule,
            ..FleetLimits::DEFAULT
        },
    );
    let mut cfg = config("127.0.0.1", sim.addr().port(), false);
    cfg.dialect = Dialect::Ontap(OntapOptions {
        return_timeout: Duration::from_secs(hold),
        ..OntapOptions::DEFAULT
    });
    let scaled = |d: Duration| d.div_f64(HOLD_SCALE);
    let d = Policy::DEFAULT;
    let op = Submit::post("/api/storage/volumes", BODY);
    let started = std::time::Instant::now();
    let runs = (0..jobs).map(|n| {
        let mut cfg = cfg;
        cfg.policy = Policy {
            initial_interval: scaled(d.initial_interval),
            max_interval: scaled(d.max_interval),
            retry_initial: scaled(d.retry_initial),
            retry_max: scaled(d.retry_max),
            not_found_grace: scaled(d.not_found_grace),
            deadline: scaled(d.deadline),
            seed: n as u64,
            ..d
        };
        let (fleet, op) = (&fleet, &op);
        async move {
            let slot = fleet.slot().await;
            let mut poller = JobPoller::submit(&cfg, op, fleet.now()).unwrap();
            let outcome = slot.drive(&mut poller, &cfg, op, ()).await.unwrap();
            assert_eq!(outcome, Outcome::Succeeded);
            poller.requests()
        }
    });
    let requests = join_all(runs).await;
    let took = started.elapsed();
    let stats = fleet.stats();
    let mut prometheus = String::new();
    stats.write_prometheus(&mut prometheus).unwrap();
    let run = HoldRun {
        took,
        requests,
        stats,
        sim: sim.stats(),
        prometheus,
    };
    sim.shutdown().await;
    run
}

/// Held submits must not starve the pool: against hold 0, the default hold with the fleet's
/// rule takes at most 1.1 times the wall time and no more requests, and every job whose submit
/// kept its hold needed exactly that one request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_submits_do_not_starve_the_pool() {
    for jobs in [4, 50, 200] {
        let unheld = four_second_jobs(jobs, 0, SubmitHold::WhenIdle).await;
        let adaptive = four_second_jobs(jobs, 30, SubmitHold::WhenIdle).await;
        let total = |r: &HoldRun| r.requests.iter().map(|n| u64::from(*n)).sum::<u64>();
        let single = adaptive.requests.iter().filter(|n| **n == 1).count() as u64;
        let s = &adaptive.stats;
        eprintln!(
            "{jobs} jobs: hold 0 {:?} {} requests; hold 30 when idle {:?} {} requests, \
             {} submits held ({single} jobs in one request), {} waived",
            unheld.took,
            total(&unheld),
            adaptive.took,
            total(&adaptive),
            s.submits_hold_allowed,
            s.submits_hold_waived,
        );
        assert_eq!(s.submits_hold_allowed + s.submits_hold_waived, jobs as u64);
        // A job whose submit is not held is answered 202 and polled: more than one request.
        // So the jobs done in one request are exactly those whose submit kept its hold.
        assert_eq!(single, s.submits_hold_allowed, "{jobs} jobs");
        assert!(s.submits_hold_allowed >= 1, "{jobs} jobs: no submit held");
        assert!(total(&adaptive) <= total(&unheld), "{jobs} jobs: requests");
        // The target is 1.1x (checked by `benches/fleet.rs` on a quiet machine); here other
        // tests run beside this one, so wall time gets a wider margin. Holds that starve the
        // pool cost 10x and more, which this still catches.
        assert!(
            adaptive.took.as_secs_f64() <= 1.5 * unheld.took.as_secs_f64(),
            "{jobs} jobs: {:?} against {:?}",
            adaptive.took,
            unheld.took
        );
    }
}

/// The counters once the fleet is quiet: gauges back to zero, outcomes adding up to the jobs,
/// requests and connections as jobsim counted them; and their Prometheus text well-formed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counters_agree_with_the_server_and_scrape_cleanly() {
    let run = four_second_jobs(20, 30, SubmitHold::WhenIdle).await;
    let s = &run.stats;
    assert_eq!(
        (
            s.jobs_in_flight,
            s.waiting_for_slot,
            s.waiting_for_connection,
            s.requests_in_flight,
            s.sleeping
        ),
        (0, 0, 0, 0, 0),
        "{s:?}"
    );
    assert_eq!(s.outcomes.total(), 20);
    assert_eq!(s.outcomes.get(Outcome::Succeeded), 20);
    assert_eq!((s.errors, s.retries), (0, 0));
    let requests: u64 = run.requests.iter().map(|n| u64::from(*n)).sum();
    assert_eq!(s.requests, requests);
    assert_eq!(run.sim.requests, requests);
    assert_eq!(s.connections_opened, run.sim.connections);
    assert!(s.connections_open <= 4, "{s:?}");
    check_prometheus_text(&run.prometheus);
    assert!(
        run.prometheus
            .contains("jobpoll_fleet_outcomes_total{outcome=\"succeeded\"} 20\n")
    );
    assert!(
        run.prometheus
            .contains(&format!("jobpoll_fleet_requests_total {requests}\n"))
    );
}

/// The text exposition format: `# HELP` then `# TYPE` before a metric's samples, valid names,
/// counters named `_total`, each sample `name{labels} value` with a number.
fn check_prometheus_text(text: &str) {
    let valid_name = |n: &str| {
        !n.is_empty()
            && !n.starts_with(|c: char| c.is_ascii_digit())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut typed: Option<(String, String)> = None;
    let mut helped: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    assert!(text.ends_with('\n'));
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP has a text");
            assert!(valid_name(name) && !help.is_empty(), "{line}");
            assert!(seen.insert(name.to_owned()), "{name} described twice");
            helped = Some(name.to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a kind");
            assert_eq!(helped.as_deref(), Some(name), "TYPE follows its HELP");
            assert!(matches!(kind, "counter" | "gauge"), "{line}");
            if kind == "counter" {
                assert!(name.ends_with("_total"), "{line}");
            }
            typed = Some((name.to_owned(), kind.to_owned()));
        } else {
            let (series, value) = line.rsplit_once(' ').expect("sample has a value");
            value.parse::<u64>().expect("integer value");
            let name = match series.split_once('{') {
                Some((name, labels)) => {
                    let labels = labels.strip_suffix('}').expect("labels closed");
                    for label in labels.split(',') {
                        let (key, v) = label.split_once('=').expect("label=value");
                        assert!(valid_name(key) && !key.starts_with("__"), "{line}");
                        assert!(v.len() >= 2 && v.starts_with('"') && v.ends_with('"'));
                    }
                    name
                }
                None => series,
            };
            assert!(valid_name(name), "{line}");
            assert!(name.starts_with("jobpoll_fleet_"), "{line}");
            let (typed_name, _) = typed.as_ref().expect("sample after its TYPE");
            assert_eq!(typed_name, name, "sample under its own TYPE");
        }
    }
    assert!(seen.len() >= 12, "{seen:?}");
}
