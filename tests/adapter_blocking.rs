//! The blocking driver against jobsim over real sockets, plain TCP and TLS: success, failure,
//! keep-alive reuse (counted by the server), resets, refused connections, stalls, idle closes,
//! deadlines and resume, cancel, and certificate checks (pin, CA, webpki roots, insecure mode).
#![cfg(feature = "rustls")]

use std::net::TcpStream;
use std::time::Duration;

use jobpoll::adapters::Observer;
use jobpoll::adapters::blocking::{Cancel, Connect, Driver, connect_tcp};
use jobpoll::adapters::tls::{TlsConnector, TlsError, TlsOptions, fingerprint};
use jobpoll::dialect::ontap::OntapOptions;
use jobpoll::http::{Auth, Authority};
use jobpoll::{
    Config, Dialect, Event, JobPoller, JobState, Outcome, Policy, Reply, RetryCause, Submit,
    TransportError,
};
use jobpoll_sim::{
    Fault, FaultRule, Final, JobScript, Phase, Scenario, Sim, SimConfig, SimHandle, Step,
};

/// Simulated seconds per real second: a 10 s job takes 0.1 s.
const SCALE: f64 = 100.0;

const VOLUME: &[u8] = br#"{"name":"vol1","svm":{"name":"vs1"}}"#;

fn op() -> Submit<'static> {
    Submit::post("/api/storage/volumes", VOLUME)
}

/// A job of `secs` simulated seconds with two messages, then `end`.
fn script(secs: f64, end: Final) -> JobScript {
    JobScript::new(end)
        .step(Step::new(Phase::Queued, secs * 0.2))
        .step(Step::new(Phase::Running, secs * 0.4).message("Creating volume"))
        .step(Step::new(Phase::Running, secs * 0.4).message("Mounting volume"))
}

fn start(tls: bool, scenario: Scenario) -> SimHandle {
    start_with(tls, scenario, |c| c)
}

fn start_with(tls: bool, scenario: Scenario, f: impl FnOnce(SimConfig) -> SimConfig) -> SimHandle {
    let mut cfg = SimConfig::new().time_scale(SCALE).scenario(scenario);
    if tls {
        cfg = cfg.tls();
    }
    Sim::start_blocking(f(cfg)).expect("jobsim starts")
}

/// Fast polling for a scaled server; everything else is the default policy. No server hold
/// (`return_timeout` 0), so the polls are exercised.
fn config<'a>(host: &'a str, port: u16, tls: bool, sim: &'a SimHandle) -> Config<'a> {
    let (user, password) = sim.credentials();
    let mut cfg = Config::new(
        Authority { host, port, tls },
        Auth::Basic { user, password },
        Dialect::Ontap(OntapOptions {
            return_timeout: Duration::ZERO,
            ..OntapOptions::DEFAULT
        }),
    );
    cfg.policy = Policy {
        initial_interval: Duration::from_millis(20),
        max_interval: Duration::from_millis(40),
        retry_initial: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
        request_timeout: Duration::from_secs(5),
        deadline: Duration::from_secs(20),
        ..Policy::DEFAULT
    };
    cfg
}

#[derive(Default)]
struct Recorder {
    events: Vec<Event>,
    messages: Vec<String>,
    statuses: Vec<u16>,
}

impl Observer for Recorder {
    fn on_event(&mut self, _: &JobPoller, event: Event) {
        self.events.push(event);
    }
    fn on_reply(&mut self, _: &JobPoller, reply: &Reply<'_>) {
        self.statuses.push(reply.status);
        if let Some(m) = reply.message {
            let m: String = m.chars().collect();
            if self.messages.last() != Some(&m) {
                self.messages.push(m);
            }
        }
    }
}

impl Recorder {
    fn retried(&self, cause: RetryCause) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Event::Retrying { cause: c, .. } if *c == cause))
    }
}

fn pin_of(sim: &SimHandle) -> TlsOptions {
    TlsOptions::Pin(fingerprint(&sim.certificate().expect("TLS").der))
}

fn run<C: Connect>(connector: C, cfg: &Config<'_>) -> (Outcome, JobPoller, Recorder, Driver<C>) {
    let mut driver = Driver::new(connector);
    let mut rec = Recorder::default();
    let (outcome, poller) = driver.submit(cfg, &op(), &mut rec).expect("no misuse");
    (outcome, poller, rec, driver)
}

#[test]
fn tcp_success_reuses_one_connection_for_the_polls() {
    let sim = start(
        false,
        Scenario::new().default_job(script(10.0, Final::success())),
    );
    let port = sim.addr().port();
    let cfg = config("127.0.0.1", port, false, &sim);
    let (outcome, poller, rec, driver) = run(connect_tcp("127.0.0.1", port), &cfg);
    assert_eq!(outcome, Outcome::Succeeded);
    let stats = sim.stats();
    assert_eq!(stats.submits, 1);
    assert_eq!(stats.requests, u64::from(poller.requests()));
    assert!(poller.requests() >= 4, "{} requests", poller.requests());
    // One connection for everything: the submit's fresh one, then kept alive for the polls.
    assert_eq!(stats.connections, 1, "{stats:?}");
    assert_eq!(driver.connections_opened(), 1);
    assert!(rec.messages.iter().any(|m| m == "Creating volume"));
    assert!(rec.messages.iter().any(|m| m == "Mounting volume"));
    assert!(rec.events.contains(&Event::Accepted));
    assert!(
        rec.events
            .contains(&Event::StateChanged(JobState::Succeeded))
    );
    assert_eq!(poller.last_seen().raw_state, "success");
    assert!(poller.job_id().is_some());
}

#[test]
fn tcp_failure_keeps_the_code_and_message() {
    let sim = start(
        false,
        Scenario::new().default_job(script(2.0, Final::failure("entry doesn't exist", 4))),
    );
    let port = sim.addr().port();
    let cfg = config("127.0.0.1", port, false, &sim);
    let (outcome, poller, rec, _) = run(connect_tcp("127.0.0.1", port), &cfg);
    assert_eq!(outcome, Outcome::Failed);
    assert_eq!(poller.last_seen().code, Some(4));
    assert_eq!(
        rec.messages.last().map(String::as_str),
        Some("entry doesn't exist")
    );
}

#[test]
fn tls_with_a_pinned_certificate_reuses_the_connection() {
    let sim = start(
        true,
        Scenario::new().default_job(script(10.0, Final::success())),
    );
    let port = sim.addr().port();
    let cfg = config("localhost", port, true, &sim);
    let connector = TlsConnector::new("localhost", port, &pin_of(&sim)).expect("config");
    let (outcome, poller, _, _) = run(connector, &cfg);
    assert_eq!(outcome, Outcome::Succeeded);
    let stats = sim.stats();
    assert_eq!(stats.submits, 1);
    assert!(poller.requests() >= 4);
    assert_eq!(
        (stats.connections, stats.tls_handshakes),
        (1, 1),
        "{stats:?}"
    );
}

#[test]
fn tls_trusting_the_servers_certificate_as_ca() {
    let sim = start(
        true,
        Scenario::new().default_job(script(2.0, Final::success())),
    );
    let port = sim.addr().port();
    let pem = sim.certificate().expect("TLS").pem.clone().into_bytes();
    for host in ["localhost", "127.0.0.1"] {
        let cfg = config(host, port, true, &sim);
        let connector =
            TlsConnector::new(host, port, &TlsOptions::CaPem(pem.clone())).expect("config");
        let (outcome, _, _, _) = run(connector, &cfg);
        assert_eq!(outcome, Outcome::Succeeded, "{host}");
    }
}

#[test]
fn tls_insecure_mode_accepts_the_self_signed_certificate() {
    let sim = start(
        true,
        Scenario::new().default_job(script(2.0, Final::success())),
    );
    let port = sim.addr().port();
    let cfg = config("localhost", port, true, &sim);
    let connector = TlsConnector::new(
        "localhost",
        port,
        &TlsOptions::DangerousAcceptAnyCertificate,
    )
    .expect("config");
    let (outcome, _, _, _) = run(connector, &cfg);
    assert_eq!(outcome, Outcome::Succeeded);
}

/// A certificate that is not trusted: nothing reaches the server, the failure ends the run at
/// once (`Untrusted` is not retried), and the reason is kept for people.
#[test]
fn untrusted_certificates_are_rejected_before_any_request() {
    let sim = start(true, Scenario::new());
    let other = start(true, Scenario::new());
    let port = sim.addr().port();
    let other_pem = other.certificate().expect("TLS").pem.clone().into_bytes();
    let cases = [
        ("a wrong pin", TlsOptions::Pin([0x5a; 32])),
        ("the pin of another server", pin_of(&other)),
        (
            "another server's certificate as CA",
            TlsOptions::CaPem(other_pem),
        ),
        ("the public web PKI", TlsOptions::WebPkiRoots),
    ];
    for (name, options) in cases {
        let mut cfg = config("localhost", port, true, &sim);
        cfg.policy.max_retries = 1;
        let connector = TlsConnector::new("localhost", port, &options).expect("config");
        let (outcome, poller, rec, driver) = run(connector, &cfg);
        // Not retried: a rejected certificate will not fix itself.
        assert_eq!(
            outcome,
            Outcome::TransportFailed {
                error: TransportError::Untrusted
            },
            "{name}"
        );
        assert!(!rec.retried(RetryCause::Transport(TransportError::ConnectFailed)));
        assert_eq!(poller.requests(), 1, "{name}");
        let why = driver
            .last_io_error()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(why.contains("certificate"), "{name}: {why}");
    }
    let stats = sim.stats();
    assert_eq!(
        (stats.requests, stats.submits, stats.tls_handshakes),
        (0, 0, 0)
    );
}

/// The first poll is reset halfway through its body: the poll is retried on a new connection
/// and the job still ends well, with one submit.
#[test]
fn a_reset_mid_body_is_survived_over_tcp_and_tls() {
    for tls in [false, true] {
        let sim = start(
            tls,
            Scenario::new().default_job(script(4.0, Final::success()).fault(
                1,
                1,
                Fault::ResetMidBody,
            )),
        );
        let port = sim.addr().port();
        let cfg = config("localhost", port, tls, &sim);
        let (outcome, rec) = if tls {
            let c = TlsConnector::new("localhost", port, &pin_of(&sim)).expect("config");
            let (o, _, r, _) = run(c, &cfg);
            (o, r)
        } else {
            let (o, _, r, _) = run(connect_tcp("localhost", port), &cfg);
            (o, r)
        };
        assert_eq!(outcome, Outcome::Succeeded, "tls {tls}");
        assert!(
            rec.retried(RetryCause::Transport(TransportError::ReadFailed)),
            "tls {tls}"
        );
        assert_eq!(sim.stats().submits, 1, "tls {tls}");
    }
}

/// The server goes away after a poll (closes the connection and refuses new ones for 0.3 s, as
/// during a node reboot): the driver reconnects once it is back.
#[test]
fn a_server_that_refuses_connections_for_a_while_is_survived() {
    let sim = start(
        false,
        Scenario::new().default_job(script(10.0, Final::success()).fault(
            1,
            1,
            Fault::ConnectionClose,
        )),
    );
    let port = sim.addr().port();
    let cfg = config("127.0.0.1", port, false, &sim);

    /// On the first poll answer, refuse connections and wait until they are refused.
    struct Restart<'s> {
        sim: &'s SimHandle,
        rec: Recorder,
        done: bool,
    }
    impl Observer for Restart<'_> {
        fn on_event(&mut self, p: &JobPoller, e: Event) {
            self.rec.on_event(p, e);
        }
        fn on_reply(&mut self, p: &JobPoller, reply: &Reply<'_>) {
            self.rec.on_reply(p, reply);
            if self.done || reply.status != 200 {
                return;
            }
            self.done = true;
            self.sim.refuse_connections(Duration::from_millis(300));
            for _ in 0..200 {
                if TcpStream::connect(self.sim.addr()).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            panic!("the listener never closed");
        }
    }
    let mut obs = Restart {
        sim: &sim,
        rec: Recorder::default(),
        done: false,
    };
    let mut driver = Driver::new(connect_tcp("127.0.0.1", port));
    let (outcome, _) = driver.submit(&cfg, &op(), &mut obs).expect("no misuse");
    assert_eq!(outcome, Outcome::Succeeded);
    assert!(obs.done);
    assert!(
        obs.rec
            .retried(RetryCause::Transport(TransportError::ConnectFailed))
    );
    assert_eq!(sim.stats().submits, 1);
}

/// The submit itself meets a refused port: nothing was written, so the machine may send it
/// again, and does so once the port is back: one job.
#[test]
fn a_refused_submit_is_sent_once_the_server_is_back() {
    let sim = start(
        false,
        Scenario::new().default_job(script(2.0, Final::success())),
    );
    let port = sim.addr().port();
    sim.refuse_connections(Duration::from_millis(200));
    let mut refused = false;
    for _ in 0..200 {
        if TcpStream::connect(sim.addr()).is_err() {
            refused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(refused);
    let cfg = config("127.0.0.1", port, false, &sim);
    let (outcome, _, rec, _) = run(connect_tcp("127.0.0.1", port), &cfg);
    assert_eq!(outcome, Outcome::Succeeded);
    assert!(rec.retried(RetryCause::Transport(TransportError::ConnectFailed)));
    let stats = sim.stats();
    assert_eq!((stats.submits, stats.jobs_created), (1, 1));
}

/// A poll that is never answered times out at the request deadline (the socket timeout comes
/// from it), the connection is dropped, and the next poll gets through.
#[test]
fn a_stalled_poll_times_out_at_its_deadline() {
    let sim = start(
        false,
        Scenario::new().default_job(script(4.0, Final::success()).fault(
            1,
            1,
            Fault::Stall { seconds: None },
        )),
    );
    let port = sim.addr().port();
    let mut cfg = config("127.0.0.1", port, false, &sim);
    cfg.policy.request_timeout = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let (outcome, _, rec, driver) = run(connect_tcp("127.0.0.1", port), &cfg);
    assert_eq!(outcome, Outcome::Succeeded);
    assert!(rec.retried(RetryCause::Transport(TransportError::TimedOut)));
    assert!(started.elapsed() >= Duration::from_millis(300));
    // The stalled connection was dropped: the next poll went on a new one.
    assert_eq!(driver.connections_opened(), 2);
}

/// The server closes idle keep-alive connections sooner than the client polls: each reuse
/// finds the connection closed and the poll is resent at once on a fresh one.
#[test]
fn idle_connections_closed_by_the_server_are_replaced() {
    let sim = start_with(
        false,
        Scenario::new().default_job(script(10.0, Final::success())),
        |mut c| {
            c.keep_alive_idle = Duration::from_millis(5);
            c
        },
    );
    let port = sim.addr().port();
    let mut cfg = config("127.0.0.1", port, false, &sim);
    cfg.policy.initial_interval = Duration::from_millis(60);
    cfg.policy.max_interval = Duration::from_millis(60);
    let (outcome, poller, rec, _) = run(connect_tcp("127.0.0.1", port), &cfg);
    assert_eq!(outcome, Outcome::Succeeded);
    assert!(rec.retried(RetryCause::StaleConnection), "{:?}", rec.events);
    assert_eq!(sim.stats().submits, 1);
    assert!(poller.requests() >= 3);
}

/// HTTP/1.0 answers end at the close; over TLS the close may come without close_notify.
#[test]
fn close_delimited_answers_over_tls() {
    let sim = start(
        true,
        Scenario::new()
            .default_job(script(2.0, Final::success()))
            .fault(FaultRule::on("GET", "/api/cluster/jobs/", 1, Fault::Http10).times(100)),
    );
    let port = sim.addr().port();
    let cfg = config("localhost", port, true, &sim);
    let c = TlsConnector::new("localhost", port, &pin_of(&sim)).expect("config");
    let (outcome, poller, _, driver) = run(c, &cfg);
    assert_eq!(outcome, Outcome::Succeeded);
    // The submit's connection carried the first poll; each HTTP/1.0 answer then closed its
    // connection, so every later poll had a new one.
    assert_eq!(
        driver.connections_opened(),
        u64::from(poller.requests()) - 1
    );
}

/// A short deadline ends the run with the job still running; the job is kept, and watching it
/// again by its id follows it to success.
#[test]
fn deadline_exceeded_keeps_the_job() {
    let sim = start(
        false,
        Scenario::new().default_job(script(60.0, Final::success())),
    );
    let port = sim.addr().port();
    let mut cfg = config("127.0.0.1", port, false, &sim);
    cfg.policy.deadline = Duration::from_millis(150);
    let (outcome, poller, rec, mut driver) = run(connect_tcp("127.0.0.1", port), &cfg);
    assert_eq!(outcome, Outcome::DeadlineExceeded);
    // A final poll at the deadline, unless (on a loaded machine) the answer to the last request
    // sent before the deadline came after it: an answer at or after the deadline counts as the
    // last look. (The virtual-time scenarios pin this rule exactly; wall time cannot.)
    assert!(
        rec.events.contains(&Event::FinalPoll) || poller.elapsed() >= Duration::from_millis(150)
    );
    assert!(poller.resume_token().is_some());
    cfg.policy.deadline = Duration::from_secs(20);
    let (outcome, again) = driver
        .watch(&cfg, poller.job_id().expect("job id"), &mut ())
        .expect("watch");
    assert_eq!(outcome, Outcome::Succeeded);
    assert_eq!(again.job_id(), poller.job_id());
    assert_eq!(sim.stats().submits, 1);
}

/// A cancel from another thread ends the run at once (the 5 s sleep before the first poll is
/// woken), with the job id
/// and a resume token kept; the token, stored as bytes, resumes the job on another driver (a
/// new clock, as after a restart) to success.
#[test]
fn cancel_from_another_thread_then_resume_from_the_token() {
    let sim = start(
        true,
        Scenario::new().default_job(script(100.0, Final::success())),
    );
    let port = sim.addr().port();
    let mut cfg = config("localhost", port, true, &sim);
    cfg.policy.initial_interval = Duration::from_secs(5);
    cfg.policy.max_interval = Duration::from_secs(5);
    let cancel = Cancel::new();
    let c = TlsConnector::new("localhost", port, &pin_of(&sim)).expect("config");
    let mut driver = Driver::new(c.clone()).with_cancel(cancel.clone());

    struct CancelOnState(Cancel);
    impl Observer for CancelOnState {
        fn on_event(&mut self, _: &JobPoller, e: Event) {
            if e == Event::Accepted {
                let c = self.0.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(50));
                    c.cancel();
                });
            }
        }
    }
    let started = std::time::Instant::now();
    let (outcome, poller) = driver
        .submit(&cfg, &op(), &mut CancelOnState(cancel))
        .expect("no misuse");
    assert_eq!(outcome, Outcome::Cancelled);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(poller.job_id().is_some());
    let bytes = poller.resume_token().expect("token").as_bytes().to_vec();

    let token = jobpoll::ResumeToken::from_bytes(&bytes).expect("valid token");
    cfg.policy = config("localhost", port, true, &sim).policy;
    let mut driver = Driver::new(c);
    let mut resumed =
        JobPoller::resume(&cfg, &token, Duration::ZERO, driver.now()).expect("resumes");
    let outcome = driver
        .drive(&mut resumed, &cfg, &Submit::NONE, &mut ())
        .expect("no misuse");
    assert_eq!(outcome, Outcome::Succeeded);
    assert_eq!(resumed.job_id(), poller.job_id());
    assert!(resumed.requests() > poller.requests());
    assert_eq!(sim.stats().submits, 1);
}

/// The TLS connector made from the configuration's authority connects to exactly that host and
/// port, and refuses a plain-HTTP authority.
#[test]
fn the_tls_connector_takes_host_and_port_from_the_configuration() {
    let sim = start(
        true,
        Scenario::new().default_job(script(0.2, Final::success())),
    );
    let port = sim.addr().port();
    let cfg = config("localhost", port, true, &sim);
    let options = pin_of(&sim);
    let connector = TlsConnector::for_authority(&cfg.authority, &options).expect("config");
    let (outcome, _, _, _) = run(connector, &cfg);
    assert_eq!(outcome, Outcome::Succeeded);
    let plain = config("localhost", port, false, &sim);
    assert!(matches!(
        TlsConnector::for_authority(&plain.authority, &options),
        Err(TlsError::PlainAuthority)
    ));
}
