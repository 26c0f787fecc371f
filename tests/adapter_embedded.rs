//! The bare-metal drivers on the host, over real TCP through embedded-io-adapters, against
//! jobsim.
#![cfg(any(feature = "embedded-io", feature = "embedded-io-async"))]

mod adapters;

use std::time::Duration;

use adapters::embedded_host::HostClock;
use adapters::{Record, config, job};
use jobpoll::{Event, JobPoller, Outcome, RetryCause, Submit, TransportError};
use jobpoll_sim::{Fault, Scenario, SimConfig};

const BODY: &[u8] = br#"{"name":"vol1","svm":{"name":"vs1"}}"#;

fn scenario_with_faults() -> Scenario {
    // Job 1 runs cleanly; job 2's first poll is reset mid-body; job 3's first poll stalls.
    Scenario::new()
        .default_job(job(1.0, 20.0))
        .job(2, job(1.0, 20.0).fault(1, 1, Fault::ResetMidBody))
        .job(
            3,
            job(1.0, 20.0).fault(1, 1, Fault::Stall { seconds: Some(5.0) }),
        )
}

#[cfg(feature = "embedded-io-async")]
mod asynchronous {
    use super::*;
    use adapters::embedded_host::{AsyncTcp as Tcp, TokioDelay};
    use jobpoll::adapters::embedded_async::Driver;
    use jobpoll_sim::Sim;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_over_tcp_with_reuse_reset_and_stall() {
        let sim = Sim::start(
            SimConfig::new()
                .time_scale(100.0)
                .scenario(scenario_with_faults()),
        )
        .await
        .unwrap();
        let mut cfg = config("127.0.0.1", sim.addr().port(), false);
        cfg.policy.request_timeout = Duration::from_millis(300);
        let op = Submit::post("/api/storage/volumes", BODY);
        let mut driver = Driver::new(Tcp, HostClock(std::time::Instant::now()), TokioDelay);
        let (mut tx, mut rx) = ([0u8; 1024], [0u8; 4096]);
        let mut causes = Vec::new();
        for n in 1..=3 {
            let before = sim.stats();
            let mut poller = JobPoller::submit(&cfg, &op, driver.now()).unwrap();
            let record = Record::default();
            let outcome = driver
                .drive(&mut poller, &cfg, &op, &mut tx, &mut rx, record.clone())
                .await
                .unwrap();
            assert_eq!(
                outcome,
                Outcome::Succeeded,
                "job {n}: {:?}",
                record.events()
            );
            let after = sim.stats();
            assert_eq!(after.submits - before.submits, 1);
            if n == 1 {
                assert!(record.messages().iter().any(|m| m == "Creating volume"));
                // One connection for the submit and every poll.
                assert_eq!(after.connections - before.connections, 1, "{after:?}");
                assert!(after.requests - before.requests >= 3);
            }
            causes.push(record.events().into_iter().find_map(|e| match e {
                Event::Retrying { cause, .. } => Some(cause),
                _ => None,
            }));
        }
        assert_eq!(
            causes,
            [
                None,
                Some(RetryCause::Transport(TransportError::ReadFailed)),
                Some(RetryCause::Transport(TransportError::TimedOut)),
            ]
        );
        sim.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tx_buffer_too_small_for_the_submit_is_an_error_that_changes_nothing() {
        let sim = Sim::start(SimConfig::new()).await.unwrap();
        let cfg = config("127.0.0.1", sim.addr().port(), false);
        let op = Submit::post("/api/storage/volumes", BODY);
        let mut driver = Driver::new(Tcp, HostClock(std::time::Instant::now()), TokioDelay);
        let mut poller = JobPoller::submit(&cfg, &op, driver.now()).unwrap();
        let (mut tx, mut rx) = ([0u8; 64], [0u8; 4096]);
        let err = driver
            .drive(&mut poller, &cfg, &op, &mut tx, &mut rx, ())
            .await
            .unwrap_err();
        assert!(matches!(err, jobpoll::Error::BufferTooSmall { required } if required > 64));
        assert_eq!(poller.requests(), 0);
        assert_eq!(sim.stats().connections, 0);
        sim.shutdown().await;
    }
}

#[cfg(feature = "embedded-io")]
mod blocking {
    use super::*;
    use adapters::embedded_host::{Tcp, ThreadDelay};
    use jobpoll::adapters::embedded::Driver;
    use jobpoll_sim::Sim;

    #[test]
    fn jobs_over_tcp_with_reuse_reset_and_stall() {
        let sim = Sim::start_blocking(
            SimConfig::new()
                .time_scale(100.0)
                .scenario(scenario_with_faults()),
        )
        .unwrap();
        let mut cfg = config("127.0.0.1", sim.addr().port(), false);
        cfg.policy.request_timeout = Duration::from_millis(300);
        let op = Submit::post("/api/storage/volumes", BODY);
        let mut driver = Driver::new(Tcp, HostClock(std::time::Instant::now()), ThreadDelay);
        let (mut tx, mut rx) = ([0u8; 1024], [0u8; 4096]);
        let mut causes = Vec::new();
        for n in 1..=3 {
            let before = sim.stats();
            let mut poller = JobPoller::submit(&cfg, &op, driver.now()).unwrap();
            let record = Record::default();
            let started = std::time::Instant::now();
            let outcome = driver
                .drive(&mut poller, &cfg, &op, &mut tx, &mut rx, record.clone())
                .unwrap();
            assert_eq!(
                outcome,
                Outcome::Succeeded,
                "job {n}: {:?}",
                record.events()
            );
            let after = sim.stats();
            assert_eq!(after.submits - before.submits, 1);
            if n == 1 {
                assert_eq!(after.connections - before.connections, 1, "{after:?}");
            }
            if n == 3 {
                // The stalled poll was given up at its deadline, not after the 5 s stall.
                assert!(started.elapsed() < Duration::from_secs(3));
            }
            causes.push(record.events().into_iter().find_map(|e| match e {
                Event::Retrying { cause, .. } => Some(cause),
                _ => None,
            }));
        }
        assert_eq!(
            causes,
            [
                None,
                Some(RetryCause::Transport(TransportError::ReadFailed)),
                Some(RetryCause::Transport(TransportError::TimedOut)),
            ]
        );
        sim.shutdown_blocking();
    }
}
