//! The tokio driver against jobsim over real sockets (TCP and TLS).
#![cfg(feature = "tokio")]

mod adapters;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use adapters::{Record, config, job};
use jobpoll::adapters::fleet::{Fleet, FleetLimits};
use jobpoll::adapters::tokio::{Connect, Driver, Endpoint, Tcp};
use jobpoll::{Event, JobPoller, Outcome, RetryCause, Submit, TransportError};
use jobpoll_sim::{Fault, FaultRule, Final, JobScript, Phase, Scenario, Sim, SimConfig, Step};
use tokio_rustls::rustls;

const BODY: &[u8] = br#"{"name":"vol1","svm":{"name":"vs1"}}"#;

fn volume_create() -> Submit<'static> {
    Submit::post("/api/storage/volumes", BODY)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_over_tcp_reuses_one_keep_alive_connection() {
    let sim = Sim::start(
        SimConfig::new()
            .time_scale(100.0)
            .scenario(Scenario::new().default_job(job(2.0, 6.0))),
    )
    .await
    .unwrap();
    let port = sim.addr().port();
    let cfg = config("127.0.0.1", port, false);
    let op = volume_create();
    let mut driver = Driver::new(Tcp);
    let mut poller = JobPoller::submit(&cfg, &op, driver.now()).unwrap();
    let record = Record::default();
    let outcome = driver
        .drive(&mut poller, &cfg, &op, record.clone())
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Succeeded);
    let stats = sim.stats();
    assert_eq!(stats.submits, 1);
    assert!(poller.requests() >= 3, "{} requests", poller.requests());
    assert_eq!(stats.requests, u64::from(poller.requests()));
    // The submit opens a fresh connection; every poll reuses it.
    assert_eq!(stats.connections, 1, "{stats:?}");
    assert!(poller.job_id().is_some());
    assert!(record.saw(|e| *e == Event::Accepted));
    assert!(record.messages().iter().any(|m| m == "Creating volume"));
    assert_eq!(record.statuses().first(), Some(&202));
    assert!(
        driver.is_connected(),
        "the keep-alive connection stays open"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_outcome_and_message() {
    let script = JobScript::new(Final::failure("entry doesn't exist", 4))
        .step(Step::new(Phase::Running, 2.0));
    let sim = Sim::start(
        SimConfig::new()
            .time_scale(100.0)
            .scenario(Scenario::new().default_job(script)),
    )
    .await
    .unwrap();
    let cfg = config("127.0.0.1", sim.addr().port(), false);
    let op = volume_create();
    let mut driver = Driver::new(Tcp);
    let mut poller = JobPoller::submit(&cfg, &op, driver.now()).unwrap();
    let record = Record::default();
    let outcome = driver
        .drive(&mut poller, &cfg, &op, record.clone())
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Failed);
    assert_eq!(poller.last_seen().code, Some(4));
    assert!(
        record.messages().iter().any(|m| m == "entry doesn't exist"),
        "{:?}",
        record.messages()
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_and_refused_connections_are_survived() {
    // The first job GET is answered and then the port is closed for 0.15 s (jobsim closes that
    // connection too); the second GET is reset mid-body. Five retries of the test policy span
    // 0.3 s, longer than the refusal.
    let scenario = Scenario::new()
        .default_job(job(1.0, 30.0).fault(2, 1, Fault::ResetMidBody))
        .fault(FaultRule::on(
            "GET",
            "/api/cluster/jobs/",
            1,
            Fault::RefuseConnections { seconds: 0.15 },
        ));
    let sim = Sim::start(SimConfig::new().time_scale(100.0).scenario(scenario))
        .await
        .unwrap();
    let cfg = config("127.0.0.1", sim.addr().port(), false);
    let op = volume_create();
    let mut driver = Driver::new(Tcp);
    let mut poller = JobPoller::submit(&cfg, &op, driver.now()).unwrap();
    let record = Record::default();
    let outcome = driver
        .drive(&mut poller, &cfg, &op, record.clone())
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Succeeded, "{:?}", record.events());
    let retried = |cause: RetryCause| {
        record.saw(|e| matches!(e, Event::Retrying { cause: c, .. } if *c == cause))
    };
    assert!(
        retried(RetryCause::Transport(TransportError::ReadFailed)),
        "{:?}",
        record.events()
    );
    assert!(
        retried(RetryCause::Transport(TransportError::ConnectFailed)),
        "{:?}",
        record.events()
    );
    let stats = sim.stats();
    assert_eq!(stats.submits, 1);
    assert!(stats.connections >= 2, "{stats:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_submit_is_retried_and_sent_once() {
    let sim = Sim::start(
        SimConfig::new()
            .time_scale(100.0)
            .scenario(Scenario::new().default_job(job(1.0, 2.0))),
    )
    .await
    .unwrap();
    sim.refuse_connections(Duration::from_millis(300));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let cfg = config("127.0.0.1", sim.addr().port(), false);
    let op = volume_create();
    let mut driver = Driver::new(Tcp);
    let mut poller = JobPoller::submit(&cfg, &op, driver.now()).unwrap();
    let record = Record::default();
    let outcome = driver
        .drive(&mut poller, &cfg, &op, record.clone())
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Succeeded, "{:?}", record.events());
    assert!(record.saw(|e| matches!(
        e,
        Event::Retrying {
            cause: RetryCause::Transport(TransportError::ConnectFailed),
            ..
        }
    )));
    assert_eq!(sim.stats().submits, 1);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_poll_times_out_at_its_deadline_and_is_retried() {
    let script = job(1.0, 2.0).fault(1, 1, Fault::Stall { seconds: Some(5.0) });
    let sim = Sim::start(
        SimConfig::new()
            .time_scale(100.0)
            .scenario(Scenario::new().default_job(script)),
    )
    .await
    .unwrap();
    let mut cfg = config("127.0.0.1", sim.addr().port(), false);
    cfg.policy.request_timeout = Duration::from_millis(300);
    let op = volume_create();
    let mut driver = Driver::new(Tcp);
    let mut poller = JobPoller::submit(&cfg, &op, driver.now()).unwrap();
    let record = Record::default();
    let started = std::time::Instant::now();
    let outcome = driver
        .drive(&mut poller, &cfg, &op, record.clone())
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Succeeded);
    assert!(record.saw(|e| matches!(
        e,
        Event::Retrying {
            cause: RetryCause::Transport(TransportError::TimedOut),
            ..
        }
    )));
    // The stalled request waited its whole deadline, and no longer than the stall itself.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_future_mid_read_closes_the_connection_and_keeps_the_job() {
    // The first poll's answer drips a byte every 50 ms: the future is dropped while reading it.
    let script = job(1.0, 3.0).fault(
        1,
        1,
        Fault::SlowDrip {
            chunk: 1,
            interval_ms: 50,
        },
    );
    let sim = Sim::start(
        SimConfig::new()
            .time_scale(100.0)
            .scenario(Scenario::new().default_job(script)),
    )
    .await
    .unwrap();
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks();
    let cfg = config("127.0.0.1", sim.addr().port(), false);
    let op = volume_create();
    let mut driver = Driver::new(Tcp);
    let mut poller = JobPoller::submit(&cfg, &op, driver.now()).unwrap();
    let record = Record::default();
    let cut = tokio::time::timeout(
        Duration::from_millis(400),
        driver.drive(&mut poller, &cfg, &op, record.clone()),
    )
    .await;
    assert!(cut.is_err(), "the drip outlasts the timeout");
    assert!(record.saw(|e| *e == Event::Accepted));
    // The machine was told; the connection is closed; the job and its token are kept.
    assert!(!poller.is_request_in_flight());
    assert!(!driver.is_connected());
    assert!(poller.job_id().is_some());
    let token = poller.resume_token().expect("a token after a drop");
    assert_eq!(poller.outcome(), None);
    // jobsim's connection task ends once it sees the close; nothing of ours is left running.
    let mut settled = false;
    for _ in 0..100 {
        if metrics.num_alive_tasks() <= baseline {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        settled,
        "{} tasks alive, {baseline} before",
        metrics.num_alive_tasks()
    );
    // The same poller can be driven on; a resumed one too.
    let outcome = driver.drive(&mut poller, &cfg, &op, ()).await.unwrap();
    assert_eq!(outcome, Outcome::Succeeded);
    let mut resumed = JobPoller::resume(&cfg, &token, Duration::ZERO, driver.now()).unwrap();
    let outcome = driver
        .drive(&mut resumed, &cfg, &Submit::NONE, ())
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Succeeded);
    assert_eq!(sim.stats().submits, 1);
    sim.shutdown().await;
}

/// A tokio-rustls connector (ring provider) that trusts only `root`.
fn tls_connector(root: &[u8]) -> impl Connect {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from(root.to_vec()))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    move |endpoint: Endpoint| {
        let connector = connector.clone();
        async move {
            let name = rustls_pki_types::ServerName::try_from(endpoint.host.clone())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let tcp =
                tokio::net::TcpStream::connect((endpoint.host.as_str(), endpoint.port)).await?;
            connector.connect(name, tcp).await
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_jobsims_certificate_as_the_only_root() {
    let sim = Sim::start(
        SimConfig::new()
            .tls()
            .time_scale(100.0)
            .scenario(Scenario::new().default_job(job(1.0, 4.0))),
    )
    .await
    .unwrap();
    let der = sim.certificate().unwrap().der.clone();
    let cfg = config("localhost", sim.addr().port(), true);
    let op = volume_create();
    let mut driver = Driver::new(tls_connector(&der));
    let mut poller = JobPoller::submit(&cfg, &op, driver.now()).unwrap();
    let outcome = driver.drive(&mut poller, &cfg, &op, ()).await.unwrap();
    assert_eq!(outcome, Outcome::Succeeded);
    let stats = sim.stats();
    assert_eq!(stats.tls_handshakes, 1, "{stats:?}");
    assert!(stats.requests >= 3, "{stats:?}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_wrong_root_never_sends_the_submit() {
    let sim = Sim::start(SimConfig::new().tls()).await.unwrap();
    let other = Sim::start(SimConfig::new().tls()).await.unwrap();
    let wrong = other.certificate().unwrap().der.clone();
    let cfg = config("localhost", sim.addr().port(), true);
    let op = volume_create();
    let mut driver = Driver::new(tls_connector(&wrong));
    let mut poller = JobPoller::submit(&cfg, &op, driver.now()).unwrap();
    let started = std::time::Instant::now();
    let outcome = driver.drive(&mut poller, &cfg, &op, ()).await.unwrap();
    // As the blocking driver says it: at once, not after the retry budget.
    assert_eq!(
        outcome,
        Outcome::TransportFailed {
            error: TransportError::Untrusted
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let why = driver
        .last_io_error()
        .expect("the TLS stack's reason is kept");
    assert_eq!(why.class, TransportError::Untrusted);
    assert!(why.message.contains("certificate"), "{why}");
    assert_eq!(sim.stats().submits, 0);
    assert_eq!(sim.stats().requests, 0);

    // The fleet classifies the same way.
    let fleet = Fleet::new(tls_connector(&wrong), FleetLimits::default());
    let mut poller = JobPoller::submit(&cfg, &op, fleet.now()).unwrap();
    let outcome = fleet.drive(&mut poller, &cfg, &op, ()).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::TransportFailed {
            error: TransportError::Untrusted
        }
    );
    let why = fleet
        .last_io_error()
        .expect("the fleet keeps the reason too");
    assert_eq!(why.class, TransportError::Untrusted);
    assert_eq!(sim.stats().requests, 0);
    sim.shutdown().await;
    other.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_tcp_connector_refuses_an_https_configuration() {
    let sim = Sim::start(SimConfig::new()).await.unwrap();
    let cfg = config("127.0.0.1", sim.addr().port(), true);
    let op = volume_create();
    let mut driver = Driver::new(Tcp);
    let mut poller = JobPoller::submit(&cfg, &op, driver.now()).unwrap();
    let started = std::time::Instant::now();
    let run = driver.drive(&mut poller, &cfg, &op, ()).await;
    assert_eq!(
        run,
        Err(jobpoll::Error::Config(
            jobpoll::ConfigError::TlsConnectorRequired
        ))
    );
    assert!(started.elapsed() < Duration::from_secs(1));
    let why = driver
        .last_io_error()
        .expect("the connector's message is kept");
    assert!(why.message.contains("use a TLS connector"), "{why}");
    assert_eq!(poller.requests(), 0, "the poller is untouched");
    // The fleet refuses the same way.
    let fleet = Fleet::new(Tcp, FleetLimits::default());
    let run = fleet.drive(&mut poller, &cfg, &op, ()).await;
    assert_eq!(
        run,
        Err(jobpoll::Error::Config(
            jobpoll::ConfigError::TlsConnectorRequired
        ))
    );
    assert!(fleet.last_io_error().is_some());
    assert_eq!(sim.stats().connections, 0);
    sim.shutdown().await;
}

/// The crate's tokio TLS connector against jobsim over TLS, with each of the blocking driver's
/// trust options, in the tokio driver and the fleet.
#[cfg(feature = "tokio-rustls")]
mod tokio_tls {
    use super::*;
    use jobpoll::adapters::tls::{TlsOptions, fingerprint};
    use jobpoll::adapters::tokio_tls::TlsConnector;

    async fn tls_sim() -> jobpoll_sim::SimHandle {
        Sim::start(
            SimConfig::new()
                .tls()
                .time_scale(100.0)
                .scenario(Scenario::new().default_job(job(1.0, 4.0))),
        )
        .await
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn trusted_options_follow_the_job_to_its_end() {
        let sim = tls_sim().await;
        let cert = sim.certificate().unwrap().clone();
        // The host comes from the configuration: `localhost` is the name jobsim's certificate
        // carries, and the name checked under a CA.
        let cfg = config("localhost", sim.addr().port(), true);
        let op = volume_create();
        for options in [
            TlsOptions::Pin(fingerprint(&cert.der)),
            TlsOptions::CaPem(cert.pem.clone().into_bytes()),
            TlsOptions::DangerousAcceptAnyCertificate,
        ] {
            let mut driver = Driver::new(TlsConnector::new(&options).unwrap());
            let mut poller = JobPoller::submit(&cfg, &op, driver.now()).unwrap();
            let outcome = driver.drive(&mut poller, &cfg, &op, ()).await.unwrap();
            assert_eq!(outcome, Outcome::Succeeded, "{options:?}");
            assert_eq!(driver.last_io_error(), None, "{options:?}");
        }
        // The fleet, with a pin, several jobs over its pool.
        let fleet = Fleet::new(
            TlsConnector::new(&TlsOptions::Pin(fingerprint(&cert.der))).unwrap(),
            FleetLimits::default(),
        );
        let runs = (0..4).map(|_| async {
            let mut poller = JobPoller::submit(&cfg, &op, fleet.now()).unwrap();
            fleet.drive(&mut poller, &cfg, &op, ()).await.unwrap()
        });
        for outcome in futures_util::future::join_all(runs).await {
            assert_eq!(outcome, Outcome::Succeeded);
        }
        assert!(sim.stats().tls_handshakes >= 4, "{:?}", sim.stats());
        assert_eq!(sim.stats().submits, 7);
        sim.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn untrusted_servers_end_at_once_with_the_reason() {
        let sim = tls_sim().await;
        let other = Sim::start(SimConfig::new().tls()).await.unwrap();
        let other_der = other.certificate().unwrap().der.clone();
        let cfg = config("localhost", sim.addr().port(), true);
        let op = volume_create();
        for options in [
            // jobsim's self-signed certificate is in no public root list.
            TlsOptions::WebPkiRoots,
            TlsOptions::Pin(fingerprint(&other_der)),
            TlsOptions::CaPem(other.certificate().unwrap().pem.clone().into_bytes()),
        ] {
            let mut driver = Driver::new(TlsConnector::new(&options).unwrap());
            let mut poller = JobPoller::submit(&cfg, &op, driver.now()).unwrap();
            let started = std::time::Instant::now();
            let outcome = driver.drive(&mut poller, &cfg, &op, ()).await.unwrap();
            assert_eq!(
                outcome,
                Outcome::TransportFailed {
                    error: TransportError::Untrusted
                },
                "{options:?}"
            );
            assert!(started.elapsed() < Duration::from_secs(5), "{options:?}");
            let why = driver.last_io_error().expect("the reason is kept");
            assert_eq!(why.class, TransportError::Untrusted, "{options:?}");
            assert!(!why.message.is_empty(), "{options:?}");

            let fleet = Fleet::new(TlsConnector::new(&options).unwrap(), FleetLimits::default());
            let mut poller = JobPoller::submit(&cfg, &op, fleet.now()).unwrap();
            let outcome = fleet.drive(&mut poller, &cfg, &op, ()).await.unwrap();
            assert_eq!(
                outcome,
                Outcome::TransportFailed {
                    error: TransportError::Untrusted
                },
                "fleet {options:?}"
            );
        }
        assert_eq!(sim.stats().requests, 0, "nothing was sent");
        sim.shutdown().await;
        other.shutdown().await;
    }
}
