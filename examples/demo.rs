//! An ONTAP volume create over HTTPS, from submit to success, against an in-process jobsim.
//!
//! jobsim serves HTTPS with a self-signed certificate made at start; the client pins that
//! certificate by its SHA-256 (the safe way to talk to an appliance with a self-signed
//! certificate: no insecure mode). The job runs 30 simulated seconds, five times faster than
//! real time, with changing messages; the std blocking driver submits it and follows it with
//! the default polling policy, printing progress as it comes.
//!
//! Run: `cargo run --example demo`

use std::time::Duration;

use jobpoll::adapters::Observer;
use jobpoll::adapters::blocking::Driver;
use jobpoll::adapters::tls::{TlsConnector, TlsOptions, fingerprint, format_fingerprint};
use jobpoll::dialect::ontap::OntapOptions;
use jobpoll::http::{Auth, Authority};
use jobpoll::{Config, Dialect, Event, JobPoller, Reply, Submit};
use jobpoll_sim::{Final, JobScript, Phase, Scenario, Sim, SimConfig, Step};

/// Simulated seconds per real second.
const TIME_SCALE: f64 = 5.0;

/// Prints what happens, with the time since the start.
struct Progress {
    start: std::time::Instant,
    message: String,
    shown: String,
}

impl Progress {
    fn line(&self, what: std::fmt::Arguments<'_>) {
        println!("[{:>6.2}s] {what}", self.start.elapsed().as_secs_f64());
    }

    /// The job's state and message, once per change.
    fn show(&mut self, poller: &JobPoller) {
        let now = format!("{:<8} {}", poller.last_seen().raw_state, self.message);
        if now != self.shown {
            self.line(format_args!("{now}"));
            self.shown = now;
        }
    }
}

impl Observer for Progress {
    fn on_event(&mut self, poller: &JobPoller, event: Event) {
        match event {
            Event::Accepted => self.line(format_args!(
                "accepted: job {}",
                poller.job_id().unwrap_or("?")
            )),
            Event::StateChanged(_) => self.show(poller),
            Event::Retrying { cause, .. } => self.line(format_args!("retrying after {cause:?}")),
            other => self.line(format_args!("{other:?}")),
        }
    }

    fn on_reply(&mut self, poller: &JobPoller, reply: &Reply<'_>) {
        // The message is lent only now: keep a copy.
        if let Some(m) = reply.message {
            self.message = m.chars().collect();
            self.show(poller);
        }
    }
}

fn main() {
    // 1. The server: ONTAP over HTTPS, a 30 s volume create with progress messages.
    let job = JobScript::new(Final::with(
        jobpoll_sim::Outcome::Success,
        "Complete: Successful [0]",
    ))
    .step(Step::new(Phase::Queued, 3.0).message("Queued"))
    .step(Step::new(Phase::Running, 9.0).message("Creating the volume (25%)"))
    .step(Step::new(Phase::Running, 9.0).message("Creating the volume (75%)"))
    .step(Step::new(Phase::Running, 9.0).message("Mounting the junction path"));
    let scenario = Scenario::new().path("POST", "/api/storage/volumes", job);
    let sim = Sim::start_blocking(
        SimConfig::new()
            .tls()
            .time_scale(TIME_SCALE)
            .scenario(scenario),
    )
    .unwrap_or_else(|e| {
        eprintln!("cannot start jobsim: {e}");
        std::process::exit(1)
    });
    let cert = sim.certificate().expect("jobsim serves HTTPS");
    let pin = fingerprint(&cert.der);
    let port = sim.addr().port();
    println!("jobsim (in-process) at https://localhost:{port}, {TIME_SCALE}x real time");
    println!("pinned certificate SHA-256 {}", format_fingerprint(&pin));

    // 2. The client: credentials from the server handle (never printed), ONTAP with a short
    // server hold so the polls show; every other setting is the default policy.
    let (user, password) = sim.credentials();
    let cfg = Config::new(
        Authority {
            host: "localhost",
            port,
            tls: true,
        },
        Auth::Basic { user, password },
        Dialect::Ontap(OntapOptions {
            return_timeout: Duration::from_secs(2),
            ..OntapOptions::DEFAULT
        }),
    );
    let body =
        br#"{"name":"vol1","svm":{"name":"vs1"},"aggregates":[{"name":"aggr1"}],"size":"100GB"}"#;
    let op = Submit::post("/api/storage/volumes", body);
    let connector = TlsConnector::new("localhost", port, &TlsOptions::Pin(pin))
        .expect("a valid TLS configuration");
    let mut driver = Driver::new(connector);

    // 3. Submit and follow the job.
    let mut progress = Progress {
        start: std::time::Instant::now(),
        message: String::new(),
        shown: String::new(),
    };
    progress.line(format_args!(
        "POST /api/storage/volumes {}",
        String::from_utf8_lossy(body)
    ));
    let (outcome, poller) = driver
        .submit(&cfg, &op, &mut progress)
        .expect("a valid configuration");

    // 4. The result.
    let stats = sim.stats();
    println!();
    println!("outcome:  {outcome:?}");
    println!("job:      {}", poller.job_id().unwrap_or("-"));
    println!("requests: {}", poller.requests());
    println!("elapsed:  {:.2} s", poller.elapsed().as_secs_f64());
    println!(
        "server:   {} requests on {} connection(s), {} TLS handshake(s), {} submit",
        stats.requests, stats.connections, stats.tls_handshakes, stats.submits
    );
    sim.shutdown_blocking();
    if !outcome.is_job_finished() {
        std::process::exit(1);
    }
}
