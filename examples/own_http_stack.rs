//! jobpoll's whole machine over somebody else's HTTP client (ureq).
//!
//! The machine writes each request; `RequestView` reads it back as method, target, fields and
//! body, ureq sends it, and `JobPoller::handle_parsed` takes ureq's answer (status, fields,
//! body). The machine still decides everything: when to poll, retries, `Retry-After`, the 404
//! window, and never resending a submit.
//!
//! ureq pools connections inside its `Agent`, so the example honours the machine's connection
//! orders through the agent: `Connection::Fresh` (every submit) gets a new agent, and `Close`
//! drops the agent. A client that pools by itself and cannot do this (reqwest) gives up one
//! guarantee: a submit sent on a reused connection that the server closes as it arrives ends
//! as `SubmitOutcomeUnknown` instead of going out on a fresh one.
//!
//! The example follows an ONTAP job and a Service Engine job through ureq and through the
//! blocking driver against the same jobsim scenario, prints both, and exits with an error
//! unless both succeed with the same number of requests.
//!
//! Run: `cargo run --example own_http_stack` (starts jobsim in-process on plain HTTP).

use std::process::ExitCode;
use std::time::Duration;

use jobpoll::adapters::blocking::{Driver, connect_tcp};
use jobpoll::dialect::nse::NseOptions;
use jobpoll::dialect::ontap::OntapOptions;
use jobpoll::http::{Auth, Authority, RequestView};
use jobpoll::{
    Action, Config, Connection, Dialect, Instant, JobPoller, Outcome, ParsedAnswer, Submit,
    TransportError,
};
use jobpoll_sim::{Final, JobScript, Phase, Scenario, Sim, SimConfig, Step};

fn main() -> ExitCode {
    // Every job runs 2.5 s (0.5 s queued, 2 s running): between the polls at 2 s and 3 s, so
    // both clients see the same number of polls.
    let job = || {
        JobScript::new(Final::success())
            .step(Step::new(Phase::Queued, 0.5))
            .step(Step::new(Phase::Running, 2.0))
    };
    let scenario = Scenario::new().default_job(job());
    let sim = match Sim::start_blocking(SimConfig::new().scenario(scenario)) {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("jobsim did not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (user, password) = sim.credentials();
    let port = sim.addr().port();
    let cases = [
        (
            "ONTAP",
            // No server hold: the job is polled, as an API without one would be.
            Dialect::Ontap(OntapOptions {
                return_timeout: Duration::ZERO,
                ..OntapOptions::DEFAULT
            }),
            Submit::post(
                "/api/storage/volumes",
                br#"{"name":"vol1","svm":{"name":"vs0"}}"#,
            ),
        ),
        (
            "Service Engine",
            Dialect::Nse(NseOptions::DEFAULT),
            Submit::post("/api/v2.1/storage/file-shares", br#"{"name":"share1"}"#),
        ),
    ];
    let mut all_agree = true;
    for (name, dialect, op) in cases {
        let mut cfg = Config::new(
            Authority {
                host: "127.0.0.1",
                port,
                tls: false,
            },
            Auth::Basic { user, password },
            dialect,
        );
        // No jitter: both runs ask at the same instants.
        cfg.policy.jitter_percent = 0;
        let through_ureq = follow_with_ureq(&cfg, &op);
        let mut driver = Driver::new(connect_tcp("127.0.0.1", port));
        let through_driver = driver
            .submit(&cfg, &op, &mut ())
            .map(|(outcome, job)| (outcome, job.requests()));
        println!("{name}: ureq {through_ureq:?}, blocking driver {through_driver:?}");
        let agree = matches!(
            (&through_ureq, &through_driver),
            (Ok(a), Ok(b)) if a == b && a.0 == Outcome::Succeeded
        );
        all_agree &= agree;
    }
    sim.shutdown_blocking();
    if all_agree {
        println!("both clients: the same outcome with the same number of requests");
        ExitCode::SUCCESS
    } else {
        eprintln!("the clients disagree (or a job did not succeed)");
        ExitCode::FAILURE
    }
}

/// Follows the job of `op` with ureq sending every request; returns the outcome and the
/// number of requests.
fn follow_with_ureq(cfg: &Config<'_>, op: &Submit<'_>) -> Result<(Outcome, u32), jobpoll::Error> {
    let start = std::time::Instant::now();
    let now = || Instant::from_millis(start.elapsed().as_millis() as u64);
    let mut job = JobPoller::submit(cfg, op, now())?;
    let mut tx = vec![0u8; 4096];
    let mut agent: Option<ureq::Agent> = None;
    loop {
        match job.poll(cfg, op, now(), &mut tx)? {
            Action::SendRequest(req) => {
                if req.connection == Connection::Fresh {
                    agent = None;
                }
                let timeout = Duration::from_millis(
                    req.deadline.as_millis().saturating_sub(now().as_millis()),
                );
                let agent = agent.get_or_insert_with(|| new_agent(timeout));
                let Some(view) = RequestView::parse(&tx[..req.len]) else {
                    // Not reachable: the machine wrote it.
                    job.handle_transport_error(cfg, now(), TransportError::WriteFailed);
                    continue;
                };
                match send(agent, cfg, &view) {
                    Ok((status, fields, body)) => {
                        let fields: Vec<(&str, &[u8])> = fields
                            .iter()
                            .map(|(n, v)| (n.as_str(), v.as_slice()))
                            .collect();
                        let answer = ParsedAnswer {
                            status,
                            fields: &fields,
                            body: &body,
                        };
                        job.handle_parsed(cfg, now(), answer)?;
                    }
                    // ureq cannot tell whether the request left; the machine treats a failed
                    // submit as possibly delivered and never sends it again.
                    Err(ureq::Error::Timeout(_)) => job.handle_timeout(cfg, req.deadline),
                    Err(ureq::Error::Io(e))
                        if e.kind() == std::io::ErrorKind::ConnectionRefused =>
                    {
                        job.handle_transport_error(cfg, now(), TransportError::ConnectFailed)
                    }
                    Err(_) => job.handle_transport_error(cfg, now(), TransportError::ReadFailed),
                }
            }
            Action::Close => agent = None,
            Action::SleepUntil(t) => {
                std::thread::sleep(Duration::from_millis(
                    t.as_millis().saturating_sub(now().as_millis()),
                ));
            }
            Action::Event(_) => {}
            Action::Done(outcome) => return Ok((outcome, job.requests())),
            _ => {}
        }
    }
}

/// An agent that hands every status to the machine (none is an error here) and gives up at
/// the request's deadline.
fn new_agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .build()
        .new_agent()
}

/// The answer's status, fields and body.
type Answer = (u16, Vec<(String, Vec<u8>)>, Vec<u8>);

/// Sends the request the machine wrote, as its parts say.
fn send(
    agent: &ureq::Agent,
    cfg: &Config<'_>,
    view: &RequestView<'_>,
) -> Result<Answer, ureq::Error> {
    let scheme = if cfg.authority.tls { "https" } else { "http" };
    let url = format!(
        "{scheme}://{}:{}{}",
        cfg.authority.host, cfg.authority.port, view.target
    );
    let mut request = ureq::http::Request::builder()
        .method(view.method.as_str())
        .uri(url);
    for (name, value) in view.fields() {
        // ureq writes the framing and the host itself, from the URL and the body.
        if !["host", "content-length"]
            .iter()
            .any(|f| name.eq_ignore_ascii_case(f))
        {
            request = request.header(name, value);
        }
    }
    let request = request.body(view.body.to_vec())?;
    let mut response = agent.run(request)?;
    let status = response.status().as_u16();
    let fields = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
        .collect();
    let body = response.body_mut().read_to_vec()?;
    Ok((status, fields, body))
}
