//! The journal's cost: the same plan of jobs through `journaled-fleet` (its own process) with
//! the SQLite journal and with a journal that keeps nothing, against jobsim (this process,
//! time-scaled). Prints wall time, jobs per second, the fleet process's CPU time (from
//! `/proc/self/stat`) and the journal's writes per job.
//!
//! Run: `cargo bench -p jobpoll-journal-sqlite --bench journal [-- JOBS]` (default 10,000).

use std::path::Path;
use std::process::Command;

use jobpoll_sim::{Scenario, Sim, SimConfig};

const SCALE: f64 = 50.0;
const SCENARIO: &str = r#"{
  "default_job": { "steps": [ { "state": "running", "seconds": 10 } ], "final": { "outcome": "success" } }
}"#;

struct Run {
    seconds: f64,
    cpu: f64,
    writes: f64,
    file_bytes: u64,
}

fn field(summary: &str, name: &str) -> f64 {
    let mut words = summary.split_whitespace();
    while let Some(w) = words.next() {
        if w == name {
            return words.next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        }
    }
    0.0
}

fn run(port: u16, plan: &Path, journal: Option<&Path>) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_journaled-fleet"));
    c.args(["--port", &port.to_string(), "--scale", &SCALE.to_string()])
        .arg("--plan")
        .arg(plan);
    match journal {
        Some(j) => c.arg("--journal").arg(j),
        None => c.arg("--no-journal"),
    };
    let out = c.output().expect("journaled-fleet runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("summary"))
        .expect("a summary line");
    assert_eq!(
        field(summary, "errors"),
        0.0,
        "every job ends without error: {summary}"
    );
    let file_bytes = journal
        .map(|j| {
            ["", "-wal"]
                .iter()
                .filter_map(|s| std::fs::metadata(format!("{}{s}", j.display())).ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    Run {
        seconds: field(summary, "seconds"),
        cpu: field(summary, "cpu"),
        writes: field(summary, "writes"),
        file_bytes,
    }
}

fn main() {
    let jobs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let sim = Sim::start_blocking(
        SimConfig::new()
            .time_scale(SCALE)
            .purge_after(30_000.0)
            .scenario(Scenario::from_json(SCENARIO).expect("scenario")),
    )
    .expect("jobsim starts");
    let port = sim.addr().port();
    let dir = std::env::temp_dir();
    let plan = dir.join(format!("jobpoll-journal-bench-{}.plan", std::process::id()));
    let text: String = (0..jobs)
        .map(|i| format!("op-{i:06} PATCH /api/storage/volumes/0{i:07x}-0000-4000-8000-{i:012x} {{\"comment\":\"{i}\"}}\n"))
        .collect();
    std::fs::write(&plan, text).expect("plan written");
    let journal = dir.join(format!(
        "jobpoll-journal-bench-{}.sqlite",
        std::process::id()
    ));
    let clean = || {
        for s in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{s}", journal.display()));
        }
    };
    clean();
    let without = run(port, &plan, None);
    let with = run(port, &plan, Some(&journal));
    clean();
    let _ = std::fs::remove_file(&plan);
    let n = jobs as f64;
    println!("{jobs} jobs, jobsim at {SCALE}x (10 simulated seconds each), 16 connections\n");
    println!("| | no journal | SQLite journal |");
    println!("|---|---|---|");
    println!(
        "| wall time | {:.2} s | {:.2} s |",
        without.seconds, with.seconds
    );
    println!(
        "| throughput | {:.0} jobs/s | {:.0} jobs/s |",
        n / without.seconds,
        n / with.seconds
    );
    println!(
        "| fleet CPU (user + system) | {:.2} s | {:.2} s |",
        without.cpu, with.cpu
    );
    println!(
        "| CPU per job | {:.0} µs | {:.0} µs |",
        without.cpu / n * 1e6,
        with.cpu / n * 1e6
    );
    println!(
        "| journal writes per job (records + estimates) | ({:.2} counted, none kept) | {:.2} |",
        without.writes / n,
        with.writes / n
    );
    println!(
        "| journal file (database + WAL) | | {:.1} MiB ({:.0} B per job) |",
        with.file_bytes as f64 / 1048576.0,
        with.file_bytes as f64 / n
    );
    let stats = sim.stats();
    println!(
        "\njobsim: {} submits, {} jobs created (two runs of {jobs})",
        stats.submits, stats.jobs_created
    );
    sim.shutdown_blocking();
}
