//! The journaled fleet survives `kill -9`: `journaled-fleet` (a separate process) runs a plan
//! against jobsim (this process), is killed with SIGKILL while submits are outstanding (the
//! journal shows intents without acceptance), and runs again on the same journal. Then, from
//! jobsim's own counters: no operation was submitted twice, every job the server created is
//! accounted for (followed to its end by exactly one operation, or named a candidate of an
//! operation left unresolved), and every followed job's reported outcome is the one jobsim
//! scripted.
//!
//! The plan mixes operations whose job descriptions differ (a `PATCH` of a distinct volume
//! each: ONTAP describes the job as `"PATCH /api/storage/volumes/{uuid}"`) with identical
//! creates (`"POST /api/storage/volumes"`, submitted concurrently), whose lost submits must come
//! back as candidates, never as a guess.
//!
//! Size: `CRASH_JOBS` (default 200; the figures in BENCHMARKS.md come from 1,000).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jobpoll::adapters::journal::{Journal, Record};
use jobpoll_journal_sqlite::SqliteJournal;
use jobpoll_sim::{Scenario, Sim, SimConfig};

/// Simulated seconds per real second.
const SCALE: f64 = 50.0;

const SCENARIO: &str = r#"{
  "default_job": { "steps": [ { "state": "running", "seconds": 10 } ], "final": { "outcome": "success" } },
  "jobs": [
    { "match": { "path": { "method": "PATCH", "path": "/api/storage/volumes/f" } },
      "steps": [ { "state": "running", "seconds": 6 } ],
      "final": { "outcome": "failure", "message": "entry doesn't exist", "code": 4 } },
    { "match": { "path": { "method": "POST", "path": "/api/storage/volumes" } },
      "steps": [ { "state": "queued", "seconds": 2 }, { "state": "running", "seconds": 20 } ],
      "final": { "outcome": "success", "message": "success", "code": 0 } }
  ]
}"#;

struct Op {
    key: String,
    method: &'static str,
    path: String,
    body: String,
}

fn plan(n: usize) -> Vec<Op> {
    (0..n)
        .map(|i| {
            let key = format!("op-{i:05}");
            if i % 10 == 3 {
                Op {
                    key,
                    method: "POST",
                    path: "/api/storage/volumes".into(),
                    body: format!(r#"{{"name":"vol{i}","svm":{{"name":"vs1"}}}}"#),
                }
            } else {
                // Every seventh volume's change fails (jobsim scripts it by the path prefix).
                let first = if i % 7 == 0 { 'f' } else { '0' };
                Op {
                    key,
                    method: "PATCH",
                    path: format!("/api/storage/volumes/{first}{i:07x}-0000-4000-8000-{i:012x}"),
                    body: format!(r#"{{"comment":"change {i}"}}"#),
                }
            }
        })
        .collect()
}

fn temp(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("jobpoll-crash-{}-{name}", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
    }
    p
}

fn fleet(port: u16, plan: &Path, journal: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_journaled-fleet"));
    c.args(["--port", &port.to_string(), "--scale", &SCALE.to_string()])
        .arg("--plan")
        .arg(plan)
        .arg("--journal")
        .arg(journal)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Each operation's last record, by key.
fn last_records(journal: &Path) -> HashMap<String, Record> {
    let mut j = SqliteJournal::open(journal).expect("the journal opens while the fleet runs");
    j.load()
        .expect("the journal reads")
        .into_iter()
        .map(|r| (r.key().to_string(), r))
        .collect()
}

#[test]
fn a_fleet_killed_with_sigkill_resumes_from_its_journal() {
    let n: usize = std::env::var("CRASH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let sim = Sim::start_blocking(
        SimConfig::new()
            .time_scale(SCALE)
            // Finished jobs stay listed and pollable for the whole test (60 real seconds).
            .purge_after(3000.0)
            .scenario(Scenario::from_json(SCENARIO).expect("scenario")),
    )
    .expect("jobsim starts");
    let port = sim.addr().port();
    let ops = plan(n);
    let plan_file = temp("plan");
    let text: String = ops
        .iter()
        .map(|o| format!("{} {} {} {}\n", o.key, o.method, o.path, o.body))
        .collect();
    std::fs::write(&plan_file, text).expect("plan written");
    let journal = temp("journal.sqlite");

    // First run: killed once the journal shows a submit outstanding (an intent without
    // acceptance) for a create and for a change, with some jobs accepted before them.
    let mut child = fleet(port, &plan_file, &journal)
        .spawn()
        .expect("journaled-fleet starts");
    let started = Instant::now();
    let at_kill = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the journal never showed an outstanding submit of each kind"
        );
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("journaled-fleet ended before it was killed: {status}");
        }
        std::thread::sleep(Duration::from_millis(5));
        if !journal.exists() {
            continue;
        }
        let last = last_records(&journal);
        let intent_only = |method: &str| {
            last.values()
                .filter(|r| matches!(r, Record::Intent(i) if i.method.as_str() == method))
                .count()
        };
        let past_intent = last
            .values()
            .filter(|r| !matches!(r, Record::Intent(_)))
            .count();
        if intent_only("POST") >= 1 && intent_only("PATCH") >= 1 && past_intent >= n / 10 {
            child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
            let _ = child.wait();
            break last_records(&journal);
        }
    };
    let outstanding: HashSet<String> = at_kill
        .values()
        .filter(|r| matches!(r, Record::Intent(_)))
        .map(|r| r.key().to_string())
        .collect();
    let submits_at_kill = sim.stats().submits;

    // Second run, same journal: to the end.
    let out = fleet(port, &plan_file, &journal)
        .output()
        .expect("journaled-fleet runs again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the restarted fleet failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("summary"))
        .unwrap_or("");

    let last = last_records(&journal);
    let stats = sim.stats();
    let by_key: HashMap<&str, &Op> = ops.iter().map(|o| (o.key.as_str(), o)).collect();

    // Every operation ended, in the journal.
    let mut claimed: HashMap<String, String> = HashMap::new(); // job -> key
    let mut unresolved_creates = 0usize;
    let mut recovered = 0usize;
    for op in &ops {
        let Some(Record::Outcome(done)) = last.get(&op.key) else {
            panic!("{} has no outcome: {:?}", op.key, last.get(&op.key));
        };
        match &done.job_id {
            Some(job) => {
                if let Some(other) = claimed.insert(job.clone(), op.key.clone()) {
                    panic!("job {job} claimed by {other} and {}", op.key);
                }
                let truth = stats
                    .jobs
                    .get(job)
                    .unwrap_or_else(|| panic!("{}: jobsim has no job {job}", op.key));
                assert_eq!(
                    truth.submit,
                    format!("{} {}", op.method, op.path),
                    "{}: followed another operation's job",
                    op.key
                );
                let want = match truth.outcome {
                    Some(jobpoll_sim::Outcome::Success) => "success",
                    Some(jobpoll_sim::Outcome::Failure) => "failure",
                    other => panic!("{}: jobsim's job {job} ended {other:?}", op.key),
                };
                assert_eq!(done.verdict, want, "{}: not the true outcome", op.key);
                if outstanding.contains(&op.key) {
                    recovered += 1;
                }
            }
            None => {
                assert_eq!(done.outcome, "submit_outcome_unknown", "{}", op.key);
                assert!(
                    outstanding.contains(&op.key),
                    "{} is unresolved without a lost submit",
                    op.key
                );
                if op.method == "POST" {
                    unresolved_creates += 1;
                    // Identical creates: candidates, never one picked.
                    for c in &done.candidates {
                        assert_eq!(
                            stats.jobs.get(c).map(|j| j.submit.as_str()),
                            Some("POST /api/storage/volumes"),
                            "{}: candidate {c} is not a create",
                            op.key
                        );
                    }
                } else {
                    // A distinct description that matched nothing: the submit never reached
                    // jobsim.
                    let path = format!("{} {}", op.method, op.path);
                    assert!(
                        !stats.jobs.values().any(|j| j.submit == path),
                        "{}: jobsim has a job for it, but it was not found",
                        op.key
                    );
                }
            }
        }
    }

    // 0 submits sent twice: one job per submit, at most one per operation, none for an
    // operation after its intent (the restart sent only operations without one).
    assert_eq!(stats.submits, stats.jobs_created, "{stats:?}");
    let mut per_path: HashMap<&str, usize> = HashMap::new();
    for job in stats.jobs.values() {
        *per_path.entry(job.submit.as_str()).or_default() += 1;
    }
    let creates = ops.iter().filter(|o| o.method == "POST").count();
    for (path, count) in &per_path {
        if *path == "POST /api/storage/volumes" {
            assert!(
                *count <= creates,
                "{count} creates for {creates} operations"
            );
        } else {
            assert_eq!(*count, 1, "{path} submitted {count} times");
        }
    }
    assert!(stats.submits as usize <= n);
    // 0 lost: every job jobsim created is followed by exactly one operation, or is a create
    // that an unresolved create operation may own.
    let unclaimed: Vec<_> = stats
        .jobs
        .iter()
        .filter(|(id, _)| !claimed.contains_key(*id))
        .collect();
    for (id, job) in &unclaimed {
        assert_eq!(
            job.submit, "POST /api/storage/volumes",
            "job {id} ({}) is lost: no operation followed it",
            job.submit
        );
    }
    assert!(unclaimed.len() <= unresolved_creates);
    let _ = by_key;

    eprintln!(
        "crash test: {n} operations, killed with {} submits outstanding ({submits_at_kill} \
         submits sent by then); restart: {summary}; {} recovered from the list, {} creates \
         unresolved with candidates, jobsim: {} submits, {} jobs, 0 twice, 0 lost",
        outstanding.len(),
        recovered,
        unresolved_creates,
        stats.submits,
        stats.jobs_created
    );
    for p in [&plan_file, &journal] {
        let _ = std::fs::remove_file(p);
    }
    sim.shutdown_blocking();
}
