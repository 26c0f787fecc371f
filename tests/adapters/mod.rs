//! Shared by the adapter tests: a jobsim-friendly configuration and observers.

#![allow(dead_code)]

#[cfg(any(feature = "embedded-io", feature = "embedded-io-async"))]
pub mod embedded_host;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jobpoll::adapters::Observer;
use jobpoll::dialect::ontap::OntapOptions;
use jobpoll::http::{Auth, Authority};
use jobpoll::{Config, Dialect, Event, JobPoller, Policy, Reply};
use jobpoll_sim::{Final, JobScript, Phase, Step};

/// Policy scaled for tests: gaps of tens of milliseconds, short request timeouts.
pub fn fast_policy() -> Policy {
    Policy {
        initial_interval: Duration::from_millis(20),
        max_interval: Duration::from_millis(80),
        retry_initial: Duration::from_millis(20),
        retry_max: Duration::from_millis(80),
        request_timeout: Duration::from_secs(2),
        deadline: Duration::from_secs(30),
        ..Policy::DEFAULT
    }
}

/// ONTAP against jobsim on `host:port`, admin/netapp123, no server-side hold (so the job is
/// followed by polls), the fast policy.
pub fn config(host: &str, port: u16, tls: bool) -> Config<'_> {
    let mut cfg = Config::new(
        Authority { host, port, tls },
        Auth::Basic {
            user: "admin",
            password: "netapp123",
        },
        Dialect::Ontap(OntapOptions {
            return_timeout: Duration::ZERO,
            ..OntapOptions::DEFAULT
        }),
    );
    cfg.policy = fast_policy();
    cfg
}

/// A job of `queued` then `running` simulated seconds that succeeds.
pub fn job(queued: f64, running: f64) -> JobScript {
    JobScript::new(Final::success())
        .step(Step::new(Phase::Queued, queued))
        .step(Step::new(Phase::Running, running).message("Creating volume"))
}

/// Records events and reply messages (shareable across tasks).
#[derive(Clone, Default, Debug)]
pub struct Record(pub Arc<Mutex<Log>>);

#[derive(Default, Debug)]
pub struct Log {
    pub events: Vec<Event>,
    pub statuses: Vec<u16>,
    pub messages: Vec<String>,
    pub raw_states: Vec<String>,
}

impl Record {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().events.clone()
    }
    pub fn messages(&self) -> Vec<String> {
        self.0.lock().unwrap().messages.clone()
    }
    pub fn statuses(&self) -> Vec<u16> {
        self.0.lock().unwrap().statuses.clone()
    }
    pub fn saw(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.0.lock().unwrap().events.iter().any(f)
    }
}

impl Observer for Record {
    fn on_event(&mut self, poller: &JobPoller, event: Event) {
        let mut log = self.0.lock().unwrap();
        log.events.push(event);
        log.raw_states
            .push(poller.last_seen().raw_state.to_string());
    }
    fn on_reply(&mut self, _poller: &JobPoller, reply: &Reply<'_>) {
        let mut log = self.0.lock().unwrap();
        log.statuses.push(reply.status);
        if let Some(m) = reply.message {
            log.messages.push(m.to_string());
        }
    }
}
