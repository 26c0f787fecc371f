//! The fault matrix: every dialect against jobsim over real sockets (the tokio driver), with
//! every jobsim fault injected once on the submit and once on the first job GET. Each cell has
//! its expected outcome in the table below (the job's own outcome, or the documented typed
//! outcome such as `SubmitOutcomeUnknown`), is bounded in time, and checks with jobsim's own
//! counters that no job was created twice and that a submit was sent again only when the
//! server refused it before doing anything (429/503, refused connection).

#![cfg(all(
    feature = "tokio",
    feature = "ontap",
    feature = "deploy",
    feature = "aiqum",
    feature = "nse"
))]

use std::sync::Arc;
use std::time::Duration;

use jobpoll::adapters::tokio::{Driver, Tcp};
use jobpoll::dialect::aiqum::AiqumOptions;
use jobpoll::dialect::deploy::DeployOptions;
use jobpoll::dialect::nse::NseOptions;
use jobpoll::dialect::ontap::OntapOptions;
use jobpoll::http::{Auth, Authority};
use jobpoll::{Config, Dialect, JobPoller, Outcome, Policy, Submit};
use jobpoll_sim::{
    Fault, FaultRule, Final, JobScript, Phase, RetryAfter, Scenario, Sim, SimConfig, Step,
};

/// Every cell ends within this (real) time, or fails.
const CELL_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    Ontap,
    Deploy,
    Aiqum,
    Nse,
}

const APIS: [Api; 4] = [Api::Ontap, Api::Deploy, Api::Aiqum, Api::Nse];

impl Api {
    fn dialect(self) -> Dialect {
        match self {
            Api::Ontap => Dialect::Ontap(OntapOptions {
                return_timeout: Duration::ZERO,
                ..OntapOptions::DEFAULT
            }),
            Api::Deploy => Dialect::Deploy(DeployOptions {
                base_path: "/api/v3",
                poll_timeout: Duration::from_secs(1),
            }),
            Api::Aiqum => Dialect::Aiqum(AiqumOptions::DEFAULT),
            Api::Nse => Dialect::Nse(NseOptions::DEFAULT),
        }
    }

    /// (method, path, body) of a submit jobsim routes to this dialect.
    fn submit(self) -> Submit<'static> {
        match self {
            Api::Ontap => Submit::post("/api/storage/volumes", br#"{"name":"vol1"}"#),
            Api::Deploy => Submit::post("/api/v3/clusters", br#"{"name":"ots1"}"#),
            Api::Aiqum => {
                Submit::post("/api/v2/storage-provider/file-shares", br#"{"name":"fs1"}"#)
            }
            Api::Nse => Submit::post("/api/v2.1/storagegrid/buckets", br#"{"name":"b1"}"#),
        }
    }

    fn submit_path(self) -> &'static str {
        match self {
            Api::Ontap => "/api/storage/volumes",
            Api::Deploy => "/api/v3/clusters",
            Api::Aiqum => "/api/v2/storage-provider/file-shares",
            Api::Nse => "/api/v2.1/storagegrid/buckets",
        }
    }
}

/// Where the fault is injected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    Submit,
    FirstPoll,
}

/// What a cell must end with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    /// This outcome, with exactly this many submits received by the server.
    Outcome(Outcome, u64),
}

use Want::Outcome as W;

const OK1: Want = W(Outcome::Succeeded, 1);
const OK2: Want = W(Outcome::Succeeded, 2);
const UNKNOWN: Want = W(Outcome::SubmitOutcomeUnknown, 1);

/// The faults, with the expected result on the submit and on the first poll.
fn table() -> Vec<(&'static str, Fault, Want, Want)> {
    vec![
        // Listener faults act after the faulted answer: the next connection is refused or
        // stalls; retries (or the kept-alive connection) carry the job through.
        (
            "refuse_connections",
            Fault::RefuseConnections { seconds: 0.1 },
            OK1,
            OK1,
        ),
        (
            "stall_accept",
            Fault::StallAccept { seconds: 0.1 },
            OK1,
            OK1,
        ),
        // A submit whose answer is lost may have started the job: never re-sent.
        (
            "reset_before_headers",
            Fault::ResetBeforeHeaders,
            UNKNOWN,
            OK1,
        ),
        (
            "reset_after_headers",
            Fault::ResetAfterHeaders,
            UNKNOWN,
            OK1,
        ),
        ("reset_mid_body", Fault::ResetMidBody, UNKNOWN, OK1),
        ("truncated_body", Fault::TruncatedBody, UNKNOWN, OK1),
        (
            "slow_drip",
            Fault::SlowDrip {
                chunk: 7,
                interval_ms: 1,
            },
            OK1,
            OK1,
        ),
        ("stall", Fault::Stall { seconds: Some(0.2) }, UNKNOWN, OK1),
        ("status_500", Fault::Status { status: 500 }, UNKNOWN, OK1),
        ("status_502", Fault::Status { status: 502 }, UNKNOWN, OK1),
        // Refused before any work: the submit is sent again, once.
        ("status_503", Fault::Status { status: 503 }, OK2, OK1),
        (
            "retry_after_429_seconds",
            Fault::RetryAfter {
                status: 429,
                after: RetryAfter::Seconds(1),
            },
            OK2,
            OK1,
        ),
        (
            "retry_after_503_date",
            Fault::RetryAfter {
                status: 503,
                after: RetryAfter::HttpDate(1),
            },
            OK2,
            OK1,
        ),
        ("chunked", Fault::Chunked { chunk: 5 }, OK1, OK1),
        ("connection_close", Fault::ConnectionClose, OK1, OK1),
        ("http10", Fault::Http10, OK1, OK1),
        // Larger than the receive buffer given below: unreadable, so unknown for a submit.
        ("oversize", Fault::Oversize { bytes: 6000 }, UNKNOWN, OK1),
        ("malformed_json", Fault::MalformedJson, UNKNOWN, OK1),
        // Job GETs only: the submit is untouched; an unknown state keeps polling.
        (
            "unknown_state",
            Fault::UnknownState {
                state: "weird".into(),
            },
            OK1,
            OK1,
        ),
        ("gzip", Fault::Gzip, UNKNOWN, OK1),
        // A 404 for the submit is a rejection; for a job not seen yet, "not visible yet".
        (
            "not_yet_visible",
            Fault::NotYetVisible,
            W(Outcome::Rejected { status: 404 }, 1),
            OK1,
        ),
    ]
}

/// Dialect-specific expectations that differ from the table, with the reason.
fn exception(api: Api, fault: &str, at: At) -> Option<Want> {
    match (api, fault, at) {
        // Service Engine's 202 carries the job record with its status, so the job has been
        // seen: a 404 after that means it is gone (documented as `Expired`), not "not yet
        // visible".
        (Api::Nse, "not_yet_visible", At::FirstPoll) => Some(W(Outcome::Expired, 1)),
        _ => None,
    }
}

fn config(api: Api, port: u16) -> Config<'static> {
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
        api.dialect(),
    );
    cfg.policy = Policy {
        initial_interval: Duration::from_millis(20),
        max_interval: Duration::from_millis(80),
        retry_initial: Duration::from_millis(20),
        retry_max: Duration::from_millis(80),
        request_timeout: Duration::from_secs(1),
        not_found_grace: Duration::from_secs(5),
        deadline: Duration::from_secs(15),
        ..Policy::DEFAULT
    };
    cfg
}

fn job() -> JobScript {
    JobScript::new(Final::success())
        .step(Step::new(Phase::Queued, 1.0))
        .step(Step::new(Phase::Running, 2.0).message("working"))
}

struct Cell {
    api: Api,
    fault: &'static str,
    at: At,
    want: Want,
    got: Result<(Outcome, u64, u64), String>,
    ms: u128,
}

async fn run_cell(
    api: Api,
    name: &'static str,
    fault: Fault,
    at: At,
) -> Result<(Outcome, u64, u64), String> {
    let script = match at {
        At::Submit => job(),
        At::FirstPoll => job().fault(1, 1, fault.clone()),
    };
    let mut scenario = Scenario::new().default_job(script);
    if at == At::Submit {
        scenario = scenario.fault(FaultRule::on("POST", api.submit_path(), 1, fault));
    }
    let sim = Sim::start(SimConfig::new().time_scale(100.0).scenario(scenario))
        .await
        .map_err(|e| format!("jobsim: {e:?}"))?;
    let cfg = config(api, sim.addr().port());
    let op = api.submit();
    let mut driver = Driver::new(Tcp).with_rx_buffer(4096);
    let mut poller = JobPoller::submit(&cfg, &op, driver.now()).map_err(|e| format!("{e:?}"))?;
    let result = tokio::time::timeout(CELL_TIMEOUT, driver.drive(&mut poller, &cfg, &op, ())).await;
    let stats = sim.stats();
    sim.shutdown().await;
    let outcome = match result {
        Err(_) => return Err(format!("{name}: no outcome within {CELL_TIMEOUT:?}")),
        Ok(Err(e)) => return Err(format!("{name}: driver error {e:?}")),
        Ok(Ok(o)) => o,
    };
    Ok((outcome, stats.submits, stats.jobs_created))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_dialect_times_every_fault() {
    let started = std::time::Instant::now();
    let limit = Arc::new(tokio::sync::Semaphore::new(12));
    let mut tasks = tokio::task::JoinSet::new();
    for api in APIS {
        for (name, fault, on_submit, on_poll) in table() {
            for (at, want) in [(At::Submit, on_submit), (At::FirstPoll, on_poll)] {
                let want = exception(api, name, at).unwrap_or(want);
                let fault = fault.clone();
                let limit = limit.clone();
                tasks.spawn(async move {
                    let _permit = limit.acquire_owned().await.unwrap();
                    let t0 = std::time::Instant::now();
                    let got = run_cell(api, name, fault, at).await;
                    Cell {
                        api,
                        fault: name,
                        at,
                        want,
                        got,
                        ms: t0.elapsed().as_millis(),
                    }
                });
            }
        }
    }
    let mut cells = Vec::new();
    while let Some(cell) = tasks.join_next().await {
        cells.push(cell.expect("no cell panics"));
    }
    cells.sort_by_key(|c| (format!("{:?}", c.api), c.fault, format!("{:?}", c.at)));
    let mut failed = Vec::new();
    for c in &cells {
        let Want::Outcome(outcome, submits) = c.want;
        let verdict = match &c.got {
            Ok((o, s, created)) if *o == outcome && *s == submits && *created <= 1 => "ok",
            _ => "FAIL",
        };
        println!(
            "{verdict:4} {:6?} {:24} {:9?} want {:?} x{} got {:?} ({} ms)",
            c.api, c.fault, c.at, outcome, submits, c.got, c.ms
        );
        if verdict != "ok" {
            failed.push(format!(
                "{:?} {} {:?}: want {:?} x{submits}, got {:?}",
                c.api, c.fault, c.at, outcome, c.got
            ));
        }
    }
    println!(
        "fault matrix: {}/{} cells pass ({} dialects x {} faults x 2 positions) in {:?}",
        cells.len() - failed.len(),
        cells.len(),
        APIS.len(),
        table().len(),
        started.elapsed()
    );
    assert!(failed.is_empty(), "failing cells:\n{}", failed.join("\n"));
}
