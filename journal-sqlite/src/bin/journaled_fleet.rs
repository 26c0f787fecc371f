//! `journaled-fleet`: runs a plan of operations through jobpoll's journaled fleet over plain
//! HTTP to an ONTAP-style server, with a SQLite journal; run it again on the same journal after
//! a crash and it picks up where it was (the crash test and the journal bench use it).
//!
//! ```text
//! journaled-fleet --port PORT --plan FILE [--journal FILE | --no-journal] [--scale S]
//!                 [--connections N] [--user U --password P]
//! ```
//!
//! The plan has one operation a line: `KEY METHOD PATH [BODY]` (the body is the rest of the
//! line). `--scale S` divides the polling policy's intervals by S, for a simulator whose time
//! runs S times faster. The password comes from `--password` or `JOBPOLL_PASSWORD` and is never
//! journaled. At the end it prints one line per operation (`key how outcome verdict job_id
//! candidates`) and a summary line starting with `summary`.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use jobpoll::adapters::fleet::{Fleet, FleetLimits};
use jobpoll::adapters::journal::{
    How, Journal, JournalError, JournalOptions, JournaledFleet, MemoryJournal, Operation, Record,
};
use jobpoll::adapters::tokio::Tcp;
use jobpoll::dialect::ontap::OntapOptions;
use jobpoll::http::{Auth, Authority};
use jobpoll::{Config, Dialect, Policy, Submit};
use jobpoll_journal_sqlite::SqliteJournal;

struct Args {
    port: u16,
    plan: String,
    journal: Option<String>,
    scale: f64,
    connections: usize,
    user: String,
    password: String,
}

fn usage(msg: &str) -> ExitCode {
    eprintln!(
        "journaled-fleet: {msg}\nusage: journaled-fleet --port PORT --plan FILE [--journal FILE | \
         --no-journal] [--scale S] [--connections N] [--user U] [--password P]"
    );
    ExitCode::from(2)
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        port: 0,
        plan: String::new(),
        journal: None,
        scale: 1.0,
        connections: 16,
        user: "admin".into(),
        password: std::env::var("JOBPOLL_PASSWORD").unwrap_or_else(|_| "netapp123".into()),
    };
    let mut no_journal = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--port" => args.port = value()?.parse().map_err(|_| "--port: a port number")?,
            "--plan" => args.plan = value()?,
            "--journal" => args.journal = Some(value()?),
            "--no-journal" => no_journal = true,
            "--scale" => args.scale = value()?.parse().map_err(|_| "--scale: a number")?,
            "--connections" => {
                args.connections = value()?.parse().map_err(|_| "--connections: a number")?
            }
            "--user" => args.user = value()?,
            "--password" => args.password = value()?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if args.port == 0 || args.plan.is_empty() {
        return Err("--port and --plan are needed".into());
    }
    if args.journal.is_none() != no_journal {
        return Err("give --journal FILE or --no-journal".into());
    }
    if !(args.scale.is_finite() && args.scale > 0.0) {
        return Err("--scale must be positive".into());
    }
    Ok(args)
}

/// The plan's operations: (key, method, path, body).
fn read_plan(text: &str) -> Result<Vec<(String, jobpoll::http::Method, String, String)>, String> {
    let mut ops = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(4, ' ');
        let (Some(key), Some(method), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("plan line {}: want KEY METHOD PATH [BODY]", n + 1));
        };
        let method = jobpoll::http::Method::from_token(method)
            .ok_or(format!("plan line {}: unknown method {method:?}", n + 1))?;
        ops.push((
            key.to_string(),
            method,
            path.to_string(),
            parts.next().unwrap_or("").to_string(),
        ));
    }
    Ok(ops)
}

/// CPU seconds (user + system) of this process, from `/proc/self/stat` (Linux: clock ticks of
/// 1/100 s); 0 elsewhere.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// The store: SQLite, or a journal that keeps nothing (the baseline without a journal).
enum Store {
    Sqlite(SqliteJournal),
    Nothing(u64),
}

impl Journal for Store {
    fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        match self {
            Store::Sqlite(j) => j.append(record),
            Store::Nothing(n) => {
                *n += 1;
                Ok(())
            }
        }
    }
    fn load(&mut self) -> Result<Vec<Record>, JournalError> {
        match self {
            Store::Sqlite(j) => j.load(),
            Store::Nothing(_) => MemoryJournal::new().load(),
        }
    }
    fn save_estimate(&mut self, class: &str, bytes: &[u8]) -> Result<(), JournalError> {
        match self {
            Store::Sqlite(j) => j.save_estimate(class, bytes),
            Store::Nothing(n) => {
                *n += 1;
                Ok(())
            }
        }
    }
    fn load_estimates(&mut self) -> Result<Vec<(String, Vec<u8>)>, JournalError> {
        match self {
            Store::Sqlite(j) => j.load_estimates(),
            Store::Nothing(_) => Ok(Vec::new()),
        }
    }
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => return usage(&e),
    };
    let plan = match std::fs::read_to_string(&args.plan)
        .map_err(|e| format!("{}: {e}", args.plan))
        .and_then(|t| read_plan(&t))
    {
        Ok(p) => p,
        Err(e) => return usage(&e),
    };
    let store = match &args.journal {
        Some(path) => match SqliteJournal::open(path) {
            Ok(j) => Store::Sqlite(j),
            Err(e) => {
                eprintln!("journaled-fleet: {path}: {e}");
                return ExitCode::from(1);
            }
        },
        None => Store::Nothing(0),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("journaled-fleet: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let scaled = |d: Duration| d.div_f64(args.scale);
    let mut cfg = Config::new(
        Authority {
            host: "127.0.0.1",
            port: args.port,
            tls: false,
        },
        Auth::Basic {
            user: &args.user,
            password: &args.password,
        },
        // A short server-side hold: many submits share few connections.
        Dialect::Ontap(OntapOptions {
            return_timeout: Duration::from_secs(2),
            ..OntapOptions::DEFAULT
        }),
    );
    cfg.policy = Policy {
        initial_interval: scaled(Policy::DEFAULT.initial_interval),
        max_interval: scaled(Policy::DEFAULT.max_interval),
        retry_initial: scaled(Policy::DEFAULT.retry_initial),
        retry_max: scaled(Policy::DEFAULT.retry_max),
        reuse_connection_for_submit: true,
        ..Policy::DEFAULT
    };
    let fleet = Fleet::new(
        Tcp,
        FleetLimits {
            max_connections_per_host: args.connections,
            ..FleetLimits::DEFAULT
        },
    );
    let journaled = match JournaledFleet::new(&fleet, store, JournalOptions::default()) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("journaled-fleet: {e}");
            return ExitCode::from(1);
        }
    };
    let ops: Vec<Operation<'_>> = plan
        .iter()
        .map(|(key, method, path, body)| {
            let submit = Submit {
                method: *method,
                path,
                query: &[],
                body: (!body.is_empty()).then_some(body.as_bytes()),
            };
            Operation::new(key, submit)
        })
        .collect();
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let results = runtime.block_on(join_all(ops.iter().map(|op| journaled.run(&cfg, op))));
    let took = started.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    let mut failed = 0;
    let count = |how: How| {
        results
            .iter()
            .filter(|r| r.as_ref().is_ok_and(|r| r.how == how))
            .count()
    };
    let summary = format!(
        "submitted {} resumed {} recovered {} unresolved {} list_failed {} finished {}",
        count(How::Submitted),
        count(How::Resumed),
        count(How::Recovered),
        count(How::Unresolved),
        count(How::ListFailed),
        count(How::Finished),
    );
    for (op, result) in ops.iter().zip(&results) {
        match result {
            Ok(r) => println!(
                "{} {:?} {} {} {} {}",
                r.key,
                r.how,
                r.outcome_name,
                r.verdict,
                r.job_id.as_deref().unwrap_or("-"),
                r.candidates.join(",")
            ),
            Err(e) => {
                failed += 1;
                println!("{} error {e}", op.key);
            }
        }
    }
    let writes = match journaled.into_journal() {
        Store::Sqlite(j) => j.writes(),
        Store::Nothing(n) => n,
    };
    println!(
        "summary ops {} {summary} errors {failed} writes {writes} seconds {:.3} cpu {cpu:.2}",
        ops.len(),
        took.as_secs_f64()
    );
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
