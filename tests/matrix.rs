//! Every machine through every driver, against jobsim over real sockets: a job
//! ([`JobPoller`]), the jobs of a `jobs[]` answer ([`JobSet`]), the job list ([`JobList`]) and
//! the submit recovery ([`RecoveryPager`]), each run by the blocking, tokio, fleet, embedded and
//! embedded-async drivers through the one [`Machine`] shape.

#![cfg(all(
    feature = "std",
    feature = "tokio",
    feature = "embedded-io",
    feature = "embedded-io-async",
    feature = "ontap"
))]

mod adapters;

use std::collections::BTreeSet;
use std::time::Duration;

use adapters::embedded_host::{AsyncTcp, HostClock, Tcp, ThreadDelay, TokioDelay};
use adapters::{config, job};
use jobpoll::adapters::Observer;
use jobpoll::adapters::fleet::{Fleet, FleetLimits};
use jobpoll::list::{JobList, ListEnd, ListQuery, Page, Recovered, Recovery, RecoveryPager};
use jobpoll::{
    Config, Error, Instant, JobPoller, JobSet, Machine, Outcome, Reply, SetEvent, Submit,
};
use jobpoll_sim::{Scenario, Sim, SimConfig};

/// A driver as the matrix sees it: runs any machine to its end.
trait Runner {
    fn now(&self) -> Instant;
    fn run<M: Machine + ?Sized, O: Observer<M>>(
        &mut self,
        machine: &mut M,
        cfg: &Config<'_>,
        input: M::Input<'_>,
        observer: &mut O,
    ) -> Result<M::Output, Error>;
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

struct Blocking(jobpoll::adapters::blocking::Driver<jobpoll::adapters::blocking::TcpConnector>);

impl Runner for Blocking {
    fn now(&self) -> Instant {
        self.0.now()
    }
    fn run<M: Machine + ?Sized, O: Observer<M>>(
        &mut self,
        machine: &mut M,
        cfg: &Config<'_>,
        input: M::Input<'_>,
        observer: &mut O,
    ) -> Result<M::Output, Error> {
        self.0.run(machine, cfg, input, observer)
    }
}

struct Tokio(
    tokio::runtime::Runtime,
    jobpoll::adapters::tokio::Driver<jobpoll::adapters::tokio::Tcp>,
);

impl Runner for Tokio {
    fn now(&self) -> Instant {
        self.1.now()
    }
    fn run<M: Machine + ?Sized, O: Observer<M>>(
        &mut self,
        machine: &mut M,
        cfg: &Config<'_>,
        input: M::Input<'_>,
        observer: &mut O,
    ) -> Result<M::Output, Error> {
        self.0.block_on(self.1.run(machine, cfg, input, observer))
    }
}

struct FleetRunner(
    tokio::runtime::Runtime,
    Fleet<jobpoll::adapters::tokio::Tcp>,
);

impl Runner for FleetRunner {
    fn now(&self) -> Instant {
        self.1.now()
    }
    fn run<M: Machine + ?Sized, O: Observer<M>>(
        &mut self,
        machine: &mut M,
        cfg: &Config<'_>,
        input: M::Input<'_>,
        observer: &mut O,
    ) -> Result<M::Output, Error> {
        let fleet = &self.1;
        self.0.block_on(async {
            let slot = fleet.slot().await;
            slot.run(machine, cfg, input, observer).await
        })
    }
}

struct Embedded(jobpoll::adapters::embedded::Driver<Tcp, HostClock, ThreadDelay>);

impl Runner for Embedded {
    fn now(&self) -> Instant {
        self.0.now()
    }
    fn run<M: Machine + ?Sized, O: Observer<M>>(
        &mut self,
        machine: &mut M,
        cfg: &Config<'_>,
        input: M::Input<'_>,
        observer: &mut O,
    ) -> Result<M::Output, Error> {
        let (mut tx, mut rx) = ([0u8; 1024], [0u8; 16 * 1024]);
        self.0
            .run(machine, cfg, input, &mut tx, &mut rx, &mut *observer)
    }
}

struct EmbeddedAsync(
    tokio::runtime::Runtime,
    jobpoll::adapters::embedded_async::Driver<AsyncTcp, HostClock, TokioDelay>,
);

impl Runner for EmbeddedAsync {
    fn now(&self) -> Instant {
        self.1.now()
    }
    fn run<M: Machine + ?Sized, O: Observer<M>>(
        &mut self,
        machine: &mut M,
        cfg: &Config<'_>,
        input: M::Input<'_>,
        observer: &mut O,
    ) -> Result<M::Output, Error> {
        let (mut tx, mut rx) = ([0u8; 1024], [0u8; 16 * 1024]);
        self.0.block_on(
            self.1
                .run(machine, cfg, input, &mut tx, &mut rx, &mut *observer),
        )
    }
}

/// What the observers saw: the ids of a `jobs[]` answer, the set's events, the listed jobs.
#[derive(Default)]
struct Seen {
    started: Vec<String>,
    set_events: usize,
    listed: Vec<(String, String)>,
}

impl Observer for Seen {
    fn on_reply(&mut self, _: &JobPoller, reply: &Reply<'_>) {
        if let Some(ids) = reply.jobs {
            self.started = ids.iter().map(|id| id.chars().collect()).collect();
        }
    }
}

impl Observer<JobSet<'_>> for Seen {
    fn on_event(&mut self, set: &JobSet<'_>, event: SetEvent) {
        assert!(event.index < set.jobs().len());
        self.set_events += 1;
    }
}

impl Seen {
    fn page(&mut self, page: &Page<'_>) {
        for job in page.jobs() {
            let text = |s: Option<jobpoll::json::JsonStr<'_>>| {
                s.map(|s| s.chars().collect::<String>()).unwrap_or_default()
            };
            self.listed.push((text(job.id), text(job.description)));
        }
    }
}

impl Observer<JobList> for Seen {
    fn on_reply(&mut self, _: &JobList, page: &Page<'_>) {
        self.page(page);
    }
}

impl Observer<RecoveryPager> for Seen {
    fn on_reply(&mut self, _: &RecoveryPager, page: &Page<'_>) {
        self.page(page);
    }
}

const BODY: &[u8] = br#"{"name":"mx1","svm":{"name":"vs0"}}"#;
const BODY2: &[u8] = br#"{"name":"mx2","svm":{"name":"vs0"}}"#;

fn sim() -> jobpoll_sim::SimHandle {
    Sim::start_blocking(
        SimConfig::new()
            .time_scale(100.0)
            .scenario(Scenario::new().default_job(job(0.5, 2.0))),
    )
    .expect("jobsim starts")
}

/// The recovery of a POST started `since` ago (a wide margin: jobsim's clock runs fast).
fn recovery(cfg: &Config<'_>) -> RecoveryPager {
    let finder = Recovery::new(
        "POST /api/storage/volumes",
        Duration::from_secs(1),
        Duration::from_secs(24 * 3600),
    )
    .expect("description fits");
    RecoveryPager::new(cfg, &ListQuery::default(), finder).expect("ONTAP lists jobs")
}

/// The four machines through one driver, against a jobsim of its own.
fn matrix<R: Runner>(name: &str, make: impl FnOnce(u16) -> R) {
    let sim = sim();
    let port = sim.addr().port();
    let cfg = config("127.0.0.1", port, false);
    let mut driver = make(port);
    let query = ListQuery::default();

    // A job: submitted and followed to its end.
    let op = Submit::post("/api/storage/volumes", BODY);
    let mut first = JobPoller::submit(&cfg, &op, driver.now()).expect("valid");
    let outcome = driver.run(&mut first, &cfg, &op, &mut ()).expect("runs");
    assert_eq!(outcome, Outcome::Succeeded, "{name}: the job");
    let first_id = first.job_id().expect("accepted").to_string();

    // The recovery, with one matching job: found, and it is that job.
    let mut pager = recovery(&cfg);
    let mut seen = Seen::default();
    let verdict = driver
        .run(&mut pager, &cfg, &query, &mut seen)
        .expect("runs");
    assert_eq!(verdict, Recovered::Job, "{name}: one match");
    assert_eq!(pager.finder().job_id(), Some(first_id.as_str()), "{name}");

    // A second volume, then one PATCH addressed by a query: a jobs[] answer of two jobs.
    let op2 = Submit::post("/api/storage/volumes", BODY2);
    let mut second = JobPoller::submit(&cfg, &op2, driver.now()).expect("valid");
    assert_eq!(
        driver.run(&mut second, &cfg, &op2, &mut ()).expect("runs"),
        Outcome::Succeeded,
        "{name}: the second job"
    );
    let patch = Submit::patch("/api/storage/volumes", br#"{"comment":"matrix"}"#)
        .with_query(&[("name", "mx*")]);
    let mut submit = JobPoller::submit(&cfg, &patch, driver.now()).expect("valid");
    let mut seen = Seen::default();
    let outcome = driver
        .run(&mut submit, &cfg, &patch, &mut seen)
        .expect("runs");
    assert!(
        matches!(outcome, Outcome::MultipleJobs { .. }),
        "{name}: {outcome:?}"
    );
    assert_eq!(seen.started.len(), 2, "{name}: two jobs started");

    // The set: both jobs followed together to their ends.
    let now = driver.now();
    let mut jobs: Vec<JobPoller> = seen
        .started
        .iter()
        .map(|id| JobPoller::watch(&cfg, id, now).expect("valid id"))
        .collect();
    let mut set = JobSet::new(&mut jobs);
    let mut set_seen = Seen::default();
    let outcome = driver.run(&mut set, &cfg, (), &mut set_seen).expect("runs");
    assert_eq!(outcome, Outcome::Succeeded, "{name}: the set");
    assert!(set_seen.set_events > 0, "{name}: the set's events observed");
    for job in &jobs {
        assert_eq!(job.outcome(), Some(Outcome::Succeeded), "{name}");
    }

    // The list: every job jobsim created, with its description, in pages of two.
    let small = ListQuery {
        page_size: 2,
        ..ListQuery::default()
    };
    let mut list = JobList::new(&cfg, &small).expect("ONTAP lists jobs");
    let mut seen = Seen::default();
    let end = driver
        .run(&mut list, &cfg, &small, &mut seen)
        .expect("runs");
    assert_eq!(
        end,
        ListEnd::Complete { pages: 2 },
        "{name}: four jobs, two pages"
    );
    let listed: BTreeSet<&str> = seen.listed.iter().map(|(id, _)| id.as_str()).collect();
    let created: BTreeSet<String> = sim.stats().jobs.keys().cloned().collect();
    assert_eq!(
        listed,
        created.iter().map(String::as_str).collect(),
        "{name}: the list is jobsim's"
    );

    // The recovery again, now with two POSTs: ambiguous, both are candidates.
    let mut pager = recovery(&cfg);
    let verdict = driver
        .run(&mut pager, &cfg, &query, &mut Seen::default())
        .expect("runs");
    assert_eq!(verdict, Recovered::Ambiguous, "{name}: two matches");
    let candidates: BTreeSet<&str> = pager.finder().candidates().collect();
    let posts: BTreeSet<&str> = [first_id.as_str(), second.job_id().expect("accepted")].into();
    assert_eq!(candidates, posts, "{name}");

    assert_eq!(sim.stats().submits, 3, "{name}: no submit sent twice");
}

#[test]
fn blocking_driver_runs_every_machine() {
    matrix("blocking", |port| {
        Blocking(jobpoll::adapters::blocking::Driver::new(
            jobpoll::adapters::blocking::connect_tcp("127.0.0.1", port),
        ))
    });
}

#[test]
fn tokio_driver_runs_every_machine() {
    matrix("tokio", |_| {
        let rt = runtime();
        let driver = rt.block_on(async {
            jobpoll::adapters::tokio::Driver::new(jobpoll::adapters::tokio::Tcp)
        });
        Tokio(rt, driver)
    });
}

#[test]
fn fleet_runs_every_machine() {
    matrix("fleet", |_| {
        let rt = runtime();
        let fleet = rt
            .block_on(async { Fleet::new(jobpoll::adapters::tokio::Tcp, FleetLimits::default()) });
        FleetRunner(rt, fleet)
    });
}

#[test]
fn embedded_driver_runs_every_machine() {
    matrix("embedded", |_| {
        Embedded(jobpoll::adapters::embedded::Driver::new(
            Tcp,
            HostClock::new(),
            ThreadDelay,
        ))
    });
}

#[test]
fn embedded_async_driver_runs_every_machine() {
    matrix("embedded-async", |_| {
        EmbeddedAsync(
            runtime(),
            jobpoll::adapters::embedded_async::Driver::new(AsyncTcp, HostClock::new(), TokioDelay),
        )
    });
}
