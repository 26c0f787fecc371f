//! A submit whose connection is cut before its answer: the outcome is unknown and the submit is
//! never sent again; the job it started is then found in the server's job list (by description
//! and start time against the server's own clock) and followed to its end. Against jobsim over
//! real sockets.

#![cfg(all(feature = "std", feature = "ontap"))]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use jobpoll::adapters::blocking::{Driver, connect_tcp};
use jobpoll::http::{Auth, Authority};
use jobpoll::list::{JobList, ListQuery, ListReceived, Recovered, Recovery};
use jobpoll::{Config, Dialect, Outcome, Submit};
use jobpoll_sim::{Fault, FaultRule, Final, JobScript, Phase, Scenario, Sim, SimConfig, Step};

#[test]
fn a_lost_submit_is_recovered_from_the_job_list() {
    let job = JobScript::new(Final::success())
        .step(Step::new(Phase::Queued, 0.5))
        .step(Step::new(Phase::Running, 1.5).message("working"));
    // The first volume create is processed, then its connection is reset before the answer.
    let scenario = Scenario::new().default_job(job).fault(FaultRule::on(
        "POST",
        "/api/storage/volumes",
        1,
        Fault::ResetBeforeHeaders,
    ));
    let sim = Sim::start_blocking(SimConfig::new().scenario(scenario)).expect("jobsim starts");
    let (user, password) = sim.credentials();
    let (user, password) = (user.to_string(), password.to_string());
    let port = sim.addr().port();
    let cfg = Config::new(
        Authority {
            host: "127.0.0.1",
            port,
            tls: false,
        },
        Auth::Basic {
            user: &user,
            password: &password,
        },
        Dialect::Ontap(Default::default()),
    );
    let op = Submit::post(
        "/api/storage/volumes",
        br#"{"name":"vol1","svm":{"name":"vs0"}}"#,
    );

    let sent = Instant::now();
    let mut driver = Driver::new(connect_tcp("127.0.0.1", port));
    let (outcome, _) = driver.submit(&cfg, &op, &mut ()).expect("runs");
    assert_eq!(outcome, Outcome::SubmitOutcomeUnknown);
    assert_eq!(sim.stats().submits, 1, "never sent again");
    assert_eq!(sim.stats().jobs_created, 1, "the server did start it");

    // Recovery: page through the job list on a plain socket, check every page.
    let mut recovery = Recovery::new(
        "POST /api/storage/volumes",
        sent.elapsed(),
        Duration::from_secs(5),
    )
    .expect("recovery");
    let query = ListQuery::default();
    let mut list = JobList::new(&cfg, &query).expect("ONTAP lists jobs");
    let mut tx = [0u8; 512];
    let mut rx = vec![0u8; 64 * 1024];
    while let Some(len) = list.write_request(&cfg, &query, &mut tx).expect("request") {
        let mut sock = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        sock.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        sock.write_all(&tx[..len]).expect("write");
        let mut filled = 0;
        loop {
            let n = sock.read(&mut rx[filled..]).expect("read");
            let got = if n == 0 {
                list.handle_eof(&mut rx, filled).expect("page")
            } else {
                filled += n;
                list.handle_response(&mut rx, filled).expect("page")
            };
            match got {
                ListReceived::NeedMore => continue,
                ListReceived::Page(page) => {
                    recovery.check_page(&page);
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(recovery.verdict(), Recovered::Job);
    let id = recovery.job_id().expect("one job").to_string();
    assert!(
        sim.stats().jobs.contains_key(&id),
        "the recovered id is the job jobsim created"
    );

    // And the recovered job is followed to its end.
    let (outcome, poller) = driver.watch(&cfg, &id, &mut ()).expect("runs");
    assert_eq!(outcome, Outcome::Succeeded);
    assert_eq!(poller.job_id(), Some(id.as_str()));
    assert_eq!(sim.stats().submits, 1);
}
