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
                list.handle_eof(jobpoll::Instant::ZERO, &mut rx, filled)
                    .expect("page")
            } else {
                filled += n;
                list.handle_response(jobpoll::Instant::ZERO, &mut rx, filled)
                    .expect("page")
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

/// Sends one request on a fresh connection and returns the answer's status (a reset or an
/// unreadable answer is 0: the caller only needs the job created).
fn send_raw(cfg: &Config<'_>, port: u16, op: &Submit<'_>) -> u16 {
    let mut tx = vec![0u8; 2048];
    let request = jobpoll::http::Request {
        method: op.method,
        authority: cfg.authority,
        path: op.path,
        query: &[],
        auth: cfg.auth,
        accept: cfg.accept,
        user_agent: cfg.user_agent,
        headers: &[],
        body: op.body,
        connection_close: true,
    };
    let len = request.write(&mut tx).expect("request fits");
    let mut sock = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    sock.write_all(&tx[..len]).expect("write");
    let mut answer = Vec::new();
    let _ = sock.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Pages through the job list with the crate's pager over real sockets, one connection per
/// page; returns every listed id (in page order) and the number of pages.
fn list_all(
    cfg: &Config<'_>,
    port: u16,
    query: &ListQuery<'_>,
    recovery: &mut Recovery,
) -> (Vec<String>, usize) {
    let mut list = JobList::new(cfg, query).expect("the dialect lists jobs");
    let mut tx = [0u8; 512];
    let mut rx = vec![0u8; 64 * 1024];
    let (mut ids, mut pages) = (Vec::new(), 0);
    while let Some(len) = list.write_request(cfg, query, &mut tx).expect("request") {
        let mut sock = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        sock.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        sock.write_all(&tx[..len]).expect("write");
        let mut filled = 0;
        loop {
            let n = sock.read(&mut rx[filled..]).expect("read");
            let got = if n == 0 {
                list.handle_eof(jobpoll::Instant::ZERO, &mut rx, filled)
                    .expect("page")
            } else {
                filled += n;
                list.handle_response(jobpoll::Instant::ZERO, &mut rx, filled)
                    .expect("page")
            };
            match got {
                ListReceived::NeedMore => continue,
                ListReceived::Page(page) => {
                    pages += 1;
                    recovery.check_page(&page);
                    ids.extend(page.jobs().filter_map(|j| j.id).map(|i| i.to_string()));
                    break;
                }
                other => panic!("page {}: {other:?}", pages + 1),
            }
        }
    }
    (ids, pages)
}

/// Five decoy jobs and one lost submit, listed three pages of two: the pager sees every job
/// once and the recovery finds the lost one on whichever page the server's order puts it.
fn pages_and_recovery(
    dialect: Dialect,
    lost: Submit<'static>,
    description: &str,
    decoy: Submit<'static>,
    newest_first: bool,
) {
    let scenario = Scenario::new().fault(FaultRule::on(
        lost.method.as_str(),
        lost.path,
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
        dialect,
    );
    let sent = Instant::now();
    // The server's order puts the lost job on the last page.
    if newest_first {
        assert_eq!(send_raw(&cfg, port, &lost), 0, "the answer is lost");
    }
    for _ in 0..5 {
        assert!((200..300).contains(&send_raw(&cfg, port, &decoy)));
    }
    if !newest_first {
        assert_eq!(send_raw(&cfg, port, &lost), 0, "the answer is lost");
    }
    assert_eq!(sim.stats().jobs_created, 6);
    let mut recovery =
        Recovery::new(description, sent.elapsed(), Duration::from_secs(5)).expect("recovery");
    let query = ListQuery {
        page_size: 2,
        ..ListQuery::default()
    };
    let (ids, pages) = list_all(&cfg, port, &query, &mut recovery);
    assert_eq!(pages, 3, "{dialect:?}: six jobs in pages of two");
    let mut listed = ids.clone();
    listed.sort();
    listed.dedup();
    let mut created: Vec<String> = sim.stats().jobs.keys().cloned().collect();
    created.sort();
    assert_eq!(listed, created, "{dialect:?}: every job exactly once");
    assert_eq!(ids.len(), 6, "{dialect:?}: no job twice");
    assert_eq!(recovery.verdict(), Recovered::Job, "{dialect:?}");
    let id = recovery.job_id().expect("one job").to_string();
    assert_eq!(
        ids.last(),
        Some(&id),
        "{dialect:?}: the lost job is on the last page"
    );
    assert_eq!(sim.stats().submits, 6, "never sent again");
}

#[test]
fn ontap_pages_by_links_next_and_recovers_from_the_last_page() {
    pages_and_recovery(
        Dialect::Ontap(Default::default()),
        Submit::post("/api/storage/volumes", br#"{"name":"vol1"}"#),
        "POST /api/storage/volumes",
        Submit::post("/api/storage/luns", br#"{"name":"lun1"}"#),
        false,
    );
}

#[cfg(feature = "aiqum")]
#[test]
fn aiqum_pages_by_offset_and_recovers_from_the_last_page() {
    pages_and_recovery(
        Dialect::Aiqum(Default::default()),
        Submit::post("/api/storage-provider/file-shares", br#"{"name":"share1"}"#),
        "POST /api/storage-provider/file-shares",
        Submit::post("/api/storage-provider/luns", br#"{"name":"lun1"}"#),
        true,
    );
}

#[cfg(feature = "nse")]
#[test]
fn nse_pages_by_offset_and_total_and_recovers_from_the_last_page() {
    pages_and_recovery(
        Dialect::Nse(Default::default()),
        Submit::patch("/api/v2.1/objectstorage/buckets/b1", br#"{"name":"b1"}"#),
        "Update request is successfully submitted",
        Submit::post("/api/v2.1/objectstorage/buckets", br#"{"name":"b2"}"#),
        true,
    );
}
