//! A journal store that fails: the submit whose intent cannot be written is never sent (the
//! job is cancelled before its request goes out), and the caller is told it is the store.
//! Against jobsim over TCP.

#![cfg(all(feature = "tokio", feature = "ontap"))]

mod adapters;

use adapters::{config, job};
use jobpoll::Submit;
use jobpoll::adapters::fleet::{Fleet, FleetLimits};
use jobpoll::adapters::journal::{
    Journal, JournalError, JournalOptions, JournaledFleet, MemoryJournal, Operation, Record,
    RunError,
};
use jobpoll::adapters::tokio::Tcp;
use jobpoll_sim::{Scenario, Sim, SimConfig};

/// A store that refuses records of one kind (`"intent"`, `"accepted"`...) and keeps the rest.
struct Refusing {
    kind: &'static str,
    kept: MemoryJournal,
}

impl Journal for Refusing {
    fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        if record.kind() == self.kind {
            return Err(JournalError::new(
                "append a record",
                std::io::Error::other("the disk is full"),
            ));
        }
        self.kept.append(record)
    }
    fn load(&mut self) -> Result<Vec<Record>, JournalError> {
        self.kept.load()
    }
    fn save_estimate(&mut self, class: &str, bytes: &[u8]) -> Result<(), JournalError> {
        self.kept.save_estimate(class, bytes)
    }
    fn load_estimates(&mut self) -> Result<Vec<(String, Vec<u8>)>, JournalError> {
        self.kept.load_estimates()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intent_that_cannot_be_written_is_never_sent() {
    let sim = Sim::start(
        SimConfig::new()
            .time_scale(100.0)
            .scenario(Scenario::new().default_job(job(0.5, 2.0))),
    )
    .await
    .expect("jobsim starts");
    let cfg = config("127.0.0.1", sim.addr().port(), false);
    let fleet = Fleet::new(Tcp, FleetLimits::default());
    let store = Refusing {
        kind: "intent",
        kept: MemoryJournal::new(),
    };
    let journaled =
        JournaledFleet::new(&fleet, store, JournalOptions::default()).expect("store loads");
    let op = Operation::new(
        "create-vol1",
        Submit::post("/api/storage/volumes", br#"{"name":"vol1"}"#),
    );
    let result = journaled.run(&cfg, &op).await;
    match result {
        Err(RunError::Journal(e)) => assert!(e.to_string().contains("disk is full"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.stats().submits, 0, "nothing was sent");
    assert_eq!(sim.stats().jobs_created, 0);
    assert!(
        journaled.into_journal().kept.records().is_empty(),
        "nothing journaled"
    );
}
