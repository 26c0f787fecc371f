//! The fleet at scale: 10,000 concurrent jobs (mixed dialects and durations) through the tokio
//! fleet, against jobsim running as a separate process on loopback.
//!
//! Run: `cargo bench --bench fleet --features tokio [-- JOBS] [fresh-submits]`. Submits go on
//! pooled connections (`Policy::reuse_connection_for_submit`, the setting the fleet's docs
//! recommend); `fresh-submits` keeps the default policy, one new connection per submit. It builds and starts the
//! `jobsim` binary (release), runs every job to its end, checks every outcome, and prints:
//! client CPU seconds per 1,000 polls and peak RSS (both from the OS, `getrusage`), the RSS
//! growth per in-flight job, and the TCP connections jobsim accepted (from `/_sim/stats`).
//!
//! `cargo bench --bench fleet --features tokio -- holds [SIZES...]` prints instead the table of
//! held submits against the pool: four-second ONTAP jobs (time x5) submitted at once through
//! `FleetLimits::DEFAULT`, for each size (default 4, 50, 200 and 10,000) with
//! `return_timeout` 0, 30 s with every submit held (`SubmitHold::AsConfigured`, the fleet
//! before its rule; skipped above 200 jobs, where it would take jobs x 4 s / 4 connections),
//! and 30 s with the fleet's rule (`SubmitHold::WhenIdle`, the default).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jobpoll::adapters::fleet::{Fleet, FleetLimits, SubmitHold};
use jobpoll::adapters::tokio::Tcp;
use jobpoll::dialect::{
    aiqum::AiqumOptions, deploy::DeployOptions, nse::NseOptions, ontap::OntapOptions,
};
use jobpoll::http::{Auth, Authority};
use jobpoll::{Config, Dialect, JobPoller, Outcome, Policy, Submit};

/// Simulated seconds per real second: the jobs below last 5 to 60 simulated seconds.
const SCALE: f64 = 50.0;

const SCENARIO: &str = r#"{
  "default_job": { "steps": [ { "state": "running", "seconds": 5 } ], "final": { "outcome": "success" } },
  "jobs": [
    { "match": { "path": { "path": "/api/storage/volumes" } },
      "steps": [ { "state": "queued", "seconds": 2 }, { "state": "running", "seconds": 28, "message": "Creating volume" } ],
      "final": { "outcome": "success", "message": "success", "code": 0 } },
    { "match": { "path": { "path": "/api/v3/clusters" } },
      "steps": [ { "state": "running", "seconds": 60, "message": "Deploying" } ],
      "final": { "outcome": "success" } },
    { "match": { "path": { "path": "/api/v2/storage-provider/file-shares" } },
      "steps": [ { "state": "running", "seconds": 10 } ],
      "final": { "outcome": "success" } },
    { "match": { "path": { "path": "/api/v2.1/objectstorage/buckets" } },
      "steps": [ { "state": "running", "seconds": 20, "message": "Worker is processing task." } ],
      "final": { "outcome": "success" } }
  ]
}"#;

struct Jobsim(Child);

impl Drop for Jobsim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_jobsim() -> (Jobsim, u16) {
    // ONTAP purges a finished job 300 s after it ends. Job time runs SCALE times faster
    // here, but the client's request rate does not: with 10,000 jobs queued on four
    // connections, a poll can wait several real seconds for a connection, longer than 300
    // simulated seconds (6 real ones). Keep the purge at 300 real seconds, as a client on a
    // real cluster sees it.
    spawn_jobsim(SCALE, SCENARIO, 300.0 * SCALE)
}

fn spawn_jobsim(scale: f64, scenario_json: &str, purge_after: f64) -> (Jobsim, u16) {
    let root = env!("CARGO_MANIFEST_DIR");
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "-q",
            "-p",
            "jobpoll-sim",
            "--bin",
            "jobsim",
        ])
        .current_dir(root)
        .status()
        .expect("cargo builds jobsim");
    assert!(status.success());
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| format!("{root}/target"));
    let scenario = std::env::temp_dir().join(format!("jobpoll-fleet-{}.json", std::process::id()));
    std::fs::write(&scenario, scenario_json).expect("scenario written");
    let mut child = Command::new(format!("{target}/release/jobsim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--time-scale",
            &scale.to_string(),
            "--purge-after",
            &purge_after.to_string(),
            "--scenario",
        ])
        .arg(&scenario)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("jobsim starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    // Keep reading jobsim's output until it exits, so its writes never hit a closed pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("jobsim listening on ") {
                let _ = tx.send(
                    url.rsplit(':')
                        .next()
                        .and_then(|p| p.trim().parse::<u16>().ok()),
                );
            }
        }
    });
    let port = rx.recv_timeout(Duration::from_secs(30)).ok().flatten();
    (Jobsim(child), port.expect("jobsim printed its address"))
}

fn sim_stats(port: u16) -> serde_json::Value {
    let mut sock = TcpStream::connect(("127.0.0.1", port)).expect("stats connection");
    sock.write_all(b"GET /_sim/stats HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("request");
    let mut answer = String::new();
    sock.read_to_string(&mut answer).expect("answer");
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("{}");
    serde_json::from_str(body).expect("stats JSON")
}

/// CPU seconds (user + system) and peak RSS in KiB of this process, from the OS.
fn usage() -> (f64, i64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(ru.ru_utime) + secs(ru.ru_stime), ru.ru_maxrss)
}

/// Current RSS in KiB (from /proc), for the growth while jobs are in flight.
fn rss_now() -> i64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<i64>().ok())
        })
        .map_or(0, |pages| pages * 4)
}

const OPS: [(&str, &str); 4] = [
    ("ontap", "/api/storage/volumes"),
    ("deploy", "/api/v3/clusters"),
    ("aiqum", "/api/v2/storage-provider/file-shares"),
    ("nse", "/api/v2.1/objectstorage/buckets"),
];

fn dialect(name: &str) -> Dialect {
    match name {
        "ontap" => Dialect::Ontap(OntapOptions {
            return_timeout: Duration::ZERO,
            ..OntapOptions::DEFAULT
        }),
        // No long poll hold: with many jobs sharing few connections, a held request would keep
        // a connection busy (the fleet's docs).
        "deploy" => Dialect::Deploy(DeployOptions {
            poll_timeout: Duration::from_secs(1),
            ..DeployOptions::DEFAULT
        }),
        "aiqum" => Dialect::Aiqum(AiqumOptions::DEFAULT),
        _ => Dialect::Nse(NseOptions::DEFAULT),
    }
}

fn main() {
    if std::env::args().any(|a| a == "holds") {
        return holds();
    }
    let jobs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let fresh_submits = std::env::args().any(|a| a == "fresh-submits");
    let (_jobsim, port) = start_jobsim();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let rss_before = rss_now();
    let (cpu_before, _) = usage();
    let limits = FleetLimits {
        max_jobs_in_flight: jobs,
        ..FleetLimits::DEFAULT
    };
    let fleet = Arc::new(Fleet::new(Tcp, limits));
    let started = Instant::now();
    let peak_in_flight_rss = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let results = runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..jobs {
            let fleet = fleet.clone();
            tasks.spawn(async move {
                let (name, path) = OPS[n % OPS.len()];
                let mut cfg = Config::new(
                    Authority {
                        host: "127.0.0.1",
                        port,
                        tls: false,
                    },
                    Auth::Basic {
                        user: "admin",
                        password: "netapp123",
                    },
                    dialect(name),
                );
                // Real time runs SCALE times slower than the jobs: scale the gaps too.
                cfg.policy = Policy {
                    initial_interval: Duration::from_millis(20),
                    max_interval: Duration::from_millis(600),
                    retry_initial: Duration::from_millis(20),
                    deadline: Duration::from_secs(120),
                    seed: n as u64,
                    reuse_connection_for_submit: !fresh_submits,
                    ..Policy::DEFAULT
                };
                let op = Submit::post(path, b"{\"name\":\"x\"}");
                let slot = fleet.slot().await;
                let mut poller = JobPoller::submit(&cfg, &op, fleet.now()).expect("valid");
                let outcome = slot
                    .drive(&mut poller, &cfg, &op, ())
                    .await
                    .expect("drives");
                (outcome, poller.requests(), name)
            });
        }
        // Sample RSS while every job is in flight (after all were spawned and started).
        let sampler = {
            let peak = peak_in_flight_rss.clone();
            tokio::spawn(async move {
                for _ in 0..200 {
                    peak.fetch_max(rss_now(), std::sync::atomic::Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        };
        let mut results = Vec::with_capacity(jobs);
        while let Some(done) = tasks.join_next().await {
            results.push(done.expect("job task"));
        }
        sampler.abort();
        results
    });
    let took = started.elapsed();
    let (cpu_after, peak_rss) = usage();
    let succeeded = results
        .iter()
        .filter(|(o, _, _)| *o == Outcome::Succeeded)
        .count();
    let requests: u64 = results.iter().map(|(_, r, _)| u64::from(*r)).sum();
    let polls = requests.saturating_sub(jobs as u64);
    let stats = sim_stats(port);
    let cpu = cpu_after - cpu_before;
    let growth = peak_in_flight_rss.load(std::sync::atomic::Ordering::Relaxed) - rss_before;
    println!(
        "fleet: {jobs} jobs (4 dialects, 5 to 60 simulated s, time x{SCALE}), jobsim in another process, submits on {}",
        if fresh_submits {
            "fresh connections (default policy)"
        } else {
            "pooled connections"
        }
    );
    println!("| measure | value |");
    println!("|---|---:|");
    println!("| jobs succeeded | {succeeded} of {jobs} |");
    println!("| wall time | {:.1} s |", took.as_secs_f64());
    println!("| requests (submits + polls) | {requests} ({polls} polls) |");
    println!("| client CPU (user + system) | {cpu:.2} s |");
    println!(
        "| client CPU per 1,000 polls | {:.3} s |",
        cpu / (polls.max(1) as f64 / 1000.0)
    );
    println!("| client peak RSS (getrusage) | {} KiB |", peak_rss);
    println!(
        "| RSS growth with every job in flight | {growth} KiB = {:.2} KiB per job |",
        growth as f64 / jobs as f64
    );
    println!(
        "| TCP connections accepted by jobsim | {} |",
        stats["connections"]
    );
    println!(
        "| TLS handshakes | {} (plain TCP) |",
        stats["tls_handshakes"]
    );
    println!("| submits received by jobsim | {} |", stats["submits"]);
    let mut others: std::collections::BTreeMap<String, usize> = Default::default();
    for (o, _, name) in results.iter().filter(|(o, _, _)| *o != Outcome::Succeeded) {
        *others.entry(format!("{name} {o:?}")).or_default() += 1;
    }
    for (o, n) in &others {
        println!("| other outcome: {o} | {n} |");
    }
    let per_job = growth as f64 / jobs as f64;
    println!(
        "target: at most 2 KiB per in-flight job beyond the pool: {} ({per_job:.2} KiB)",
        if per_job <= 2.0 { "MET" } else { "MISSED" }
    );
    // jobsim counts the stats request's own connection too.
    let job_connections = stats["connections"]
        .as_u64()
        .unwrap_or(u64::MAX)
        .saturating_sub(1);
    let pool = limits.max_connections_per_host as u64;
    println!(
        "target: connections bounded by the pool ({pool}), not by the jobs: {} ({job_connections} for {jobs} jobs)",
        if job_connections <= pool {
            "MET"
        } else {
            "MISSED"
        }
    );
    if succeeded == jobs {
        println!("target: every outcome correct: MET");
    } else {
        println!(
            "target: every outcome correct: MISSED ({} of {jobs} jobs did not succeed)",
            jobs - succeeded
        );
    }
}

/// Counts the heap in use and its peak, for the memory per job of the holds table.
struct CountingAlloc;

static HEAP: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static HEAP_PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting.
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        use std::sync::atomic::Ordering::Relaxed;
        let now = HEAP.fetch_add(layout.size(), Relaxed) + layout.size();
        HEAP_PEAK.fetch_max(now, Relaxed);
        // SAFETY: the caller's layout, passed on.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        HEAP.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: allocated above with this layout.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Simulated seconds per real second in the holds table.
const HOLD_SCALE: f64 = 5.0;

const FOUR_SECOND_JOBS: &str = r#"{
  "default_job": { "steps": [ { "state": "running", "seconds": 4 } ], "final": { "outcome": "success" } }
}"#;

/// One row of the holds table.
struct HoldRow {
    wall: Duration,
    requests: u64,
    held: u64,
    held_in_one: u64,
    /// Peak heap growth beyond the pool's buffers, per job.
    heap_per_job: f64,
    succeeded: usize,
}

fn hold_run(port: u16, jobs: usize, hold: u64, rule: SubmitHold) -> HoldRow {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let limits = FleetLimits {
        submit_hold: rule,
        ..FleetLimits::DEFAULT
    };
    let heap_before = HEAP.load(std::sync::atomic::Ordering::Relaxed);
    HEAP_PEAK.store(heap_before, std::sync::atomic::Ordering::Relaxed);
    let fleet = Arc::new(Fleet::new(Tcp, limits));
    let started = Instant::now();
    let results = runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..jobs {
            let fleet = fleet.clone();
            tasks.spawn(async move {
                let mut cfg = Config::new(
                    Authority {
                        host: "127.0.0.1",
                        port,
                        tls: false,
                    },
                    Auth::Basic {
                        user: "admin",
                        password: "netapp123",
                    },
                    Dialect::Ontap(OntapOptions {
                        return_timeout: Duration::from_secs(hold),
                        ..OntapOptions::DEFAULT
                    }),
                );
                // The default policy, its gaps scaled like the jobs.
                let d = Policy::DEFAULT;
                cfg.policy = Policy {
                    initial_interval: d.initial_interval.div_f64(HOLD_SCALE),
                    max_interval: d.max_interval.div_f64(HOLD_SCALE),
                    retry_initial: d.retry_initial.div_f64(HOLD_SCALE),
                    retry_max: d.retry_max.div_f64(HOLD_SCALE),
                    not_found_grace: d.not_found_grace.div_f64(HOLD_SCALE),
                    seed: n as u64,
                    ..d
                };
                let op = Submit::post("/api/storage/volumes", b"{\"name\":\"x\"}");
                let slot = fleet.slot().await;
                let mut poller = JobPoller::submit(&cfg, &op, fleet.now()).expect("valid");
                let outcome = slot
                    .drive(&mut poller, &cfg, &op, ())
                    .await
                    .expect("drives");
                (outcome, poller.requests())
            });
        }
        let mut results = Vec::with_capacity(jobs);
        while let Some(done) = tasks.join_next().await {
            results.push(done.expect("job task"));
        }
        results
    });
    let wall = started.elapsed();
    let stats = fleet.stats();
    let pool = limits.max_connections_per_host
        * (jobpoll::adapters::tokio::DEFAULT_TX_BUFFER + limits.rx_buffer);
    let peak = HEAP_PEAK.load(std::sync::atomic::Ordering::Relaxed);
    let growth = peak.saturating_sub(heap_before).saturating_sub(pool);
    HoldRow {
        wall,
        requests: results.iter().map(|(_, r)| u64::from(*r)).sum(),
        held: stats.submits_hold_allowed,
        held_in_one: results.iter().filter(|(_, r)| *r == 1).count() as u64,
        heap_per_job: growth as f64 / jobs as f64,
        succeeded: results
            .iter()
            .filter(|(o, _)| *o == Outcome::Succeeded)
            .count(),
    }
}

fn holds() {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![4, 50, 200, 10_000];
    }
    let (_jobsim, port) = spawn_jobsim(HOLD_SCALE, FOUR_SECOND_JOBS, 300.0 * HOLD_SCALE);
    println!(
        "held submits against the pool: 4 s ONTAP jobs (time x{HOLD_SCALE}), FleetLimits::DEFAULT (4 connections, 256 jobs in flight), wall time in simulated seconds"
    );
    println!(
        "| jobs | return_timeout | holds | wall | vs hold 0 | requests | submits held | of them in 1 request | heap per job beyond the pool | targets |"
    );
    println!("|---:|---|---|---:|---:|---:|---:|---:|---:|---|");
    for jobs in sizes {
        let base = hold_run(port, jobs, 0, SubmitHold::WhenIdle);
        let mut rows = vec![("0", "-", Some(base))];
        rows.push((
            "30 s",
            "every submit (`AsConfigured`)",
            (jobs <= 200).then(|| hold_run(port, jobs, 30, SubmitHold::AsConfigured)),
        ));
        rows.push((
            "30 s",
            "when idle (`WhenIdle`, default)",
            Some(hold_run(port, jobs, 30, SubmitHold::WhenIdle)),
        ));
        let (base_wall, base_requests) = {
            let b = rows[0].2.as_ref().expect("hold 0 ran");
            (b.wall.as_secs_f64(), b.requests)
        };
        for (hold, rule, row) in rows {
            let Some(r) = row else {
                println!(
                    "| {jobs} | {hold} | {rule} | not run (about {:.0} s: {jobs} x 4 s / 4 connections) | | | | | | |",
                    jobs as f64
                );
                continue;
            };
            assert_eq!(r.succeeded, jobs, "every job succeeds");
            let wall = r.wall.as_secs_f64();
            let met = wall <= 1.1 * base_wall
                && r.requests <= base_requests
                && r.held_in_one >= r.held
                && r.heap_per_job < 2048.0;
            println!(
                "| {jobs} | {hold} | {rule} | {:.1} s | {:.2} x | {} | {} | {} | {:.0} B | {} |",
                wall * HOLD_SCALE,
                wall / base_wall,
                r.requests,
                if hold == "0" {
                    "-".to_string()
                } else {
                    r.held.to_string()
                },
                if hold == "0" {
                    "-".to_string()
                } else {
                    r.held_in_one.min(r.held).to_string()
                },
                r.heap_per_job,
                if hold == "0" {
                    "(the reference)"
                } else if met {
                    "MET"
                } else {
                    "MISSED"
                },
            );
        }
    }
}
