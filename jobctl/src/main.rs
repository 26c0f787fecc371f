//! jobctl: submit a NetApp-style asynchronous REST operation, or pick up a job, and follow it to
//! its outcome. Progress goes to stderr; the result is one JSON line on stdout and the exit code
//! (see README.md).

mod history;
mod outcome;
mod recover;
mod stop;
mod target;
mod terminal;

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use jobpoll::adapters::Observer;
use jobpoll::adapters::blocking::{Cancel, Connect, Driver, Stream, TcpConnector};
use jobpoll::adapters::tls::{TlsConnector, TlsOptions, parse_fingerprint};
use jobpoll::http::{Auth, Authority, Method};
use jobpoll::{
    Config, Event, JobPoller, JobSet, Outcome, Reply, ResumeToken, RetryCause, Submit,
    TransportError,
};

use outcome::{EXIT_USAGE, classify};
use stop::{Report, Run, Stop};
use terminal::{escaped, say};

/// Submit and follow NetApp-style asynchronous REST jobs (ONTAP, Select Deploy, Unified
/// Manager, Service Engine).
///
/// The result is one JSON line on stdout; progress goes to stderr. Passwords and tokens are read
/// from environment variables only.
#[derive(Debug, Parser)]
#[command(name = "jobctl", version, after_help = EXIT_CODES_HELP)]
struct Cli {
    /// The job API.
    #[arg(long, value_parser = PossibleValuesParser::new(target::DIALECT_NAMES))]
    dialect: String,
    /// Scheme, host and port of the server, e.g. https://cluster1.example.com
    #[arg(long)]
    url: String,
    /// User for HTTP Basic authentication (with --password-env).
    #[arg(long, requires = "password_env", conflicts_with = "token_env")]
    user: Option<String>,
    /// Environment variable that holds the password.
    #[arg(long, value_name = "VAR", requires = "user")]
    password_env: Option<String>,
    /// Environment variable that holds a bearer token (or a whole Authorization value such as
    /// "Bearer abc").
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,
    /// Send credentials over plain http:// to a host that is not a loopback address: in clear
    /// text, readable by anyone on the network path.
    #[arg(long)]
    allow_plaintext_credentials: bool,
    /// Trust only the CA certificates in this PEM file.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["pin", "insecure"])]
    ca: Option<PathBuf>,
    /// Trust exactly the server certificate with this SHA-256 fingerprint (hex, colons
    /// allowed): for appliances with self-signed certificates.
    #[arg(long, value_name = "SHA256", conflicts_with = "insecure")]
    pin: Option<String>,
    /// Do not verify the server certificate at all (prints a warning; lab use only).
    #[arg(long)]
    insecure: bool,
    /// Give up waiting after this many seconds (default 600), for submit, wait and resume
    /// alike; the job keeps running.
    #[arg(long, value_name = "SECS")]
    deadline: Option<f64>,
    /// Time allowed for one request and its answer (default 15), on top of any time the server
    /// is asked to hold it.
    #[arg(long, value_name = "SECS")]
    request_timeout: Option<f64>,
    /// When interrupted, also cancel the job on the server where the API has a cancel (ONTAP);
    /// stderr says what the server answered. This takes at most one request timeout (at most
    /// 10 s).
    #[arg(long)]
    cancel_on_exit: bool,
    /// Neither read nor write the history of how long each operation took (kept under the
    /// cache directory, e.g. ~/.cache/jobctl/history, so a repeated submit polls around its
    /// expected end).
    #[arg(long)]
    no_history: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send an operation (POST, PATCH, DELETE, PUT) and follow the job it starts.
    Submit {
        /// HTTP method.
        method: String,
        /// API path, with an optional query (e.g. /api/storage/volumes?name=vol*).
        path: String,
        /// JSON body, or @FILE to read it from a file.
        #[arg(long, value_name = "JSON|@FILE")]
        body: Option<String>,
    },
    /// Follow an existing job, named by its id or its href.
    Wait {
        /// Job id (uuid, key) or href (e.g. /api/cluster/jobs/UUID).
        #[arg(value_name = "JOB_ID_OR_HREF")]
        job: String,
    },
    /// Pick up a job again with the resume token a previous run printed.
    Resume {
        /// The "resume" value of a previous result line.
        token: String,
    },
}

const EXIT_CODES_HELP: &str = "Exit codes: 0 success (with or without warnings); 1 failure or \
partial failure; 2 deadline exceeded; 3 outcome unknown (expired, submit outcome unknown); 4 \
rejected by the API or auth required; 5 transport error; 64 usage; 130, 143, 129 stopped by \
SIGINT, SIGTERM, SIGHUP.";

/// The longest a `--cancel-on-exit` phase lasts (less when the request timeout is shorter): the
/// person or supervisor that interrupted jobctl is waiting for it to end.
const CANCEL_PHASE_LIMIT: Duration = Duration::from_secs(10);

/// The `message` of a submit interrupted before its answer.
const SUBMIT_UNANSWERED: &str = "interrupted before the server answered the submit: it may \
have created the job; check the server before submitting again";

/// A usage error: the message for stderr.
struct Usage(String);

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors.
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let code = match run(&cli) {
        Ok(code) => code,
        Err(Usage(message)) => {
            say(&message);
            EXIT_USAGE
        }
    };
    std::process::exit(code);
}

/// What to do, checked before anything is sent.
enum Work {
    Submit {
        method: Method,
        path: String,
        query: Vec<(String, String)>,
        body: Option<Vec<u8>>,
    },
    Wait(String),
    Resume(ResumeToken),
}

fn env_var(var: &str) -> Result<String, Usage> {
    std::env::var(var).map_err(|_| Usage(format!("environment variable {var} is not set")))
}

fn parse_method(m: &str) -> Result<Method, Usage> {
    Method::from_token(&m.to_ascii_uppercase())
        .filter(|method| *method != Method::Get)
        .ok_or_else(|| {
            Usage(format!(
                "{m:?}: the method must be POST, PATCH, DELETE or PUT"
            ))
        })
}

fn read_body(arg: &str) -> Result<Vec<u8>, Usage> {
    let bytes = match arg.strip_prefix('@') {
        Some(file) => std::fs::read(file).map_err(|e| Usage(format!("--body @{file}: {e}")))?,
        None => arg.as_bytes().to_vec(),
    };
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .map_err(|e| Usage(format!("--body is not JSON: {e}")))?;
    Ok(bytes)
}

/// A positive number of seconds from the command line.
fn seconds(flag: &str, secs: f64) -> Result<Duration, Usage> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Usage(format!("{flag} {secs}: expected a positive number")))
}

fn work(command: &Command) -> Result<Work, Usage> {
    Ok(match command {
        Command::Submit { method, path, body } => {
            let (path, query) = target::split_path(path).map_err(Usage)?;
            Work::Submit {
                method: parse_method(method)?,
                path,
                query,
                body: body.as_deref().map(read_body).transpose()?,
            }
        }
        Command::Wait { job } => Work::Wait(job.clone()),
        Command::Resume { token } => {
            let bytes = URL_SAFE_NO_PAD
                .decode(token.trim())
                .map_err(|e| Usage(format!("the resume token is not URL-safe base64: {e}")))?;
            Work::Resume(
                ResumeToken::from_bytes(&bytes)
                    .map_err(|_| Usage("not a resume token of this jobctl version".into()))?,
            )
        }
    })
}

/// Plain TCP or TLS, chosen by the URL's scheme.
#[derive(Clone)]
enum Connector {
    Tcp(TcpConnector),
    Tls(TlsConnector),
}

impl Connect for Connector {
    type Stream = Box<dyn Stream>;

    fn connect(&mut self, timeout: Duration) -> std::io::Result<Box<dyn Stream>> {
        Ok(match self {
            Connector::Tcp(c) => Box::new(c.connect(timeout)?),
            Connector::Tls(c) => Box::new(c.connect(timeout)?),
        })
    }
}

fn run(cli: &Cli) -> Result<i32, Usage> {
    let dialect = target::dialect(&cli.dialect).map_err(Usage)?;
    let target = target::parse_url(&cli.url).map_err(Usage)?;
    let connector = if target.tls {
        let options = if let Some(ca) = &cli.ca {
            TlsOptions::CaFile(ca.clone())
        } else if let Some(pin) = &cli.pin {
            TlsOptions::Pin(parse_fingerprint(pin).map_err(|e| Usage(format!("--pin: {e}")))?)
        } else if cli.insecure {
            TlsOptions::DangerousAcceptAnyCertificate
        } else {
            TlsOptions::WebPkiRoots
        };
        Connector::Tls(
            TlsConnector::new(&target.host, target.port, &options)
                .map_err(|e| Usage(format!("TLS: {e}")))?,
        )
    } else {
        if cli.ca.is_some() || cli.pin.is_some() || cli.insecure {
            return Err(Usage(
                "--ca, --pin and --insecure apply to https:// URLs only".into(),
            ));
        }
        Connector::Tcp(TcpConnector::new(&target.host, target.port))
    };
    let password = match &cli.password_env {
        Some(var) => Some(env_var(var)?),
        None => None,
    };
    let header = match &cli.token_env {
        Some(var) => {
            let token = env_var(var)?;
            Some(if token.trim().contains(' ') {
                token.trim().to_string()
            } else {
                format!("Bearer {}", token.trim())
            })
        }
        None => None,
    };
    let auth = match (&cli.user, &password, &header) {
        (Some(user), Some(password), _) => Auth::Basic { user, password },
        (_, _, Some(header)) => Auth::Header(header),
        _ => Auth::None,
    };
    if !target.tls
        && !matches!(auth, Auth::None)
        && !target.is_loopback()
        && !cli.allow_plaintext_credentials
    {
        return Err(Usage(format!(
            "refusing to send credentials in clear text over http:// to {}, which is not a \
             loopback address: use https://, or pass --allow-plaintext-credentials to accept that \
             anyone on the network path can read them",
            target.host
        )));
    }
    let mut cfg = Config::new(
        Authority {
            host: &target.host,
            port: target.port,
            tls: target.tls,
        },
        auth,
        dialect,
    );
    cfg.user_agent = concat!("jobctl/", env!("CARGO_PKG_VERSION"));
    if let Some(secs) = cli.deadline {
        cfg.policy.deadline = seconds("--deadline", secs)?;
    }
    if let Some(secs) = cli.request_timeout {
        cfg.policy.request_timeout = seconds("--request-timeout", secs)?;
    }
    let work = work(&cli.command)?;

    let cancel = Cancel::new();
    let run = Run::new(cancel.clone());
    stop::handle_signals(&run).map_err(|e| Usage(format!("cannot handle signals: {e}")))?;

    // A submit of an operation run before: its earlier durations shape the schedule.
    let operation = match &work {
        Work::Submit { method, path, .. } if !cli.no_history => {
            Some(history::key(&cli.dialect, method.as_str(), path))
        }
        _ => None,
    };
    let mut past = operation
        .as_ref()
        .and_then(|_| history::History::open_default());
    if let (Some(key), Some(past)) = (&operation, &past) {
        cfg.policy.expected = past.estimate(key).and_then(|e| e.expected());
    }
    let driver = Driver::new(connector.clone()).with_cancel(cancel);
    let mut report = follow(driver, &cfg, &work, &run)?;
    // Only a job that ran to its end says how long the operation takes.
    let ran_to_its_end = matches!(
        report.outcome,
        "success" | "success_with_warnings" | "failure" | "partial_failure"
    ) && run.stopped().is_none();
    if let (Some(key), Some(past), true) = (&operation, past.as_mut(), ran_to_its_end) {
        past.record(key, run.elapsed());
    }
    // From here on, a second signal prints this line as it is.
    run.set_if_ended_now(report.clone());
    if let Work::Submit { method, path, .. } = &work {
        let unanswered = matches!(run.stopped(), Some(Stop::Signal(_)))
            && report.outcome == "submit_outcome_unknown"
            && report.job.is_none()
            && report.jobs.is_empty();
        if unanswered {
            let found = recover::search(connector.clone(), &cfg, *method, path, run.elapsed());
            recovered(&mut report, found, *method, path);
            run.set_if_ended_now(report.clone());
        }
    }
    // Interrupted while the job may still run (not after it ended).
    let interrupted = matches!(run.stopped(), Some(Stop::Signal(_)))
        && matches!(report.outcome, "cancelled" | "submit_outcome_unknown");
    if interrupted && cli.cancel_on_exit {
        match report.resume.as_deref().and_then(token_of) {
            Some(token) => {
                let answer = cancel_on_server(connector, &cfg, &token);
                say(&format!("--cancel-on-exit: {answer}"));
            }
            None if report.jobs.len() > 1 => {
                say("--cancel-on-exit: cancels a single job; cancel each of \"jobs\" on the server")
            }
            None => say("--cancel-on-exit: the server named no job; nothing to cancel"),
        }
    }
    if let (true, Some(token)) = (interrupted, &report.resume) {
        say(&format!(
            "interrupted; pick the job up again with: jobctl ... resume {token}"
        ));
    }
    report.elapsed_ms = run.elapsed_ms();
    say(&format!(
        "{} after {:.1} s, {} request(s)",
        report.outcome,
        run.elapsed().as_secs_f64(),
        report.requests
    ));
    if let ("transport_error" | "submit_outcome_unknown", Some(message)) =
        (report.outcome, &report.message)
    {
        say(&format!("{}: {message}", report.outcome));
    }
    Ok(run.finish(&report))
}

/// The result line after the job list was searched for an interrupted submit's job: one match
/// is the job, stopped by the signal (`cancelled`, with its id and token); several stay
/// unknown, named in the message; none, or a list that could not be read, stay unknown.
fn recovered(report: &mut Report, found: Option<recover::Found>, method: Method, path: &str) {
    let what = format!("{} {path}", method.as_str());
    match found {
        Some(recover::Found::Job(id, token)) => {
            say(&format!(
                "the job list shows the job the submit started: {id}"
            ));
            report.outcome = "cancelled";
            report.message = Some(format!(
                "interrupted before the server answered the submit; the job list shows the job \
                 it started ({what}): {id}"
            ));
            report.job = Some(id);
            report.resume = token;
        }
        Some(recover::Found::Several(candidates, matches)) => {
            report.message = Some(format!(
                "{SUBMIT_UNANSWERED}; {matches} recent jobs in the job list match {what}: {} \
                 (follow the right one with: jobctl ... wait ID)",
                candidates.join(", ")
            ));
        }
        Some(recover::Found::None) => {
            report.message = Some(format!(
                "{SUBMIT_UNANSWERED}; no recent job in the job list matches {what} (yet)"
            ));
        }
        Some(recover::Found::Unreadable(why)) => {
            report.message = Some(format!(
                "{SUBMIT_UNANSWERED}; the job list could not be searched: {why}"
            ));
        }
        None => {}
    }
}

/// The token of a result line, decoded.
fn token_of(text: &str) -> Option<ResumeToken> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    ResumeToken::from_bytes(&bytes).ok()
}

fn token_text(token: &ResumeToken) -> String {
    URL_SAFE_NO_PAD.encode(token.as_bytes())
}

/// Asks the server to cancel the job of `token` and waits for its answer, at most one request
/// timeout (at most [`CANCEL_PHASE_LIMIT`]); describes what happened. The job itself is not
/// followed further.
fn cancel_on_server(connector: Connector, cfg: &Config<'_>, token: &ResumeToken) -> String {
    let limit = cfg.policy.request_timeout.min(CANCEL_PHASE_LIMIT);
    let mut phase_cfg = *cfg;
    phase_cfg.policy.request_timeout = limit;
    // Ends the phase: the observer once the cancel is answered, a timer after `limit`.
    let phase_over = Cancel::new();
    let mut driver = Driver::new(connector).with_cancel(phase_over.clone());
    let now = driver.now();
    let Ok(mut poller) = JobPoller::resume(&phase_cfg, token, Duration::ZERO, now) else {
        return "the resume token does not fit this configuration".into();
    };
    // The token may have no time left (e.g. interrupted at the deadline's final poll).
    poller.extend_deadline(now, limit);
    if let Err(e) = poller.request_server_cancel(now) {
        return format!("not possible for --dialect {:?}: {e}", cfg.dialect);
    }
    let job = poller.job_id().unwrap_or("?").to_string();
    say(&format!(
        "--cancel-on-exit: asking the server to cancel job {job} (for at most {:.1} s; a second \
         signal ends jobctl at once)",
        limit.as_secs_f64()
    ));
    let timer = phase_over.clone();
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        timer.cancel();
    });
    struct UntilAnswered {
        said: Option<&'static str>,
        phase_over: Cancel,
    }
    impl Observer for UntilAnswered {
        fn on_event(&mut self, _: &JobPoller, event: Event) {
            self.said = Some(match event {
                Event::CancelRequested => {
                    "the server accepted the cancel request; the job ends as success or failure"
                }
                Event::CancelRefused { status: Some(_) } => "the server refused the cancel request",
                Event::CancelRefused { status: None } => "the cancel request got no answer",
                _ => return,
            });
            self.phase_over.cancel();
        }
    }
    let mut seen = UntilAnswered {
        said: None,
        phase_over,
    };
    let outcome = driver.drive(&mut poller, &phase_cfg, &Submit::NONE, &mut seen);
    match (seen.said, outcome) {
        (Some(said), _) => format!("job {job}: {said}"),
        (None, Ok(Outcome::Cancelled)) => format!(
            "job {job}: no answer to the cancel request within {:.1} s",
            limit.as_secs_f64()
        ),
        (None, Ok(end)) => format!("job {job}: no answer to the cancel request ({end:?})"),
        (None, Err(e)) => format!("job {job}: cancel request not sent: {e}"),
    }
}

/// How following a job ended: an outcome from the machine, or a local limit met after the
/// server had been asked (e.g. a job id from the server that no request can carry).
enum End {
    Outcome(Outcome),
    CannotFollow(jobpoll::Error),
}

/// Runs the work on `driver` and builds the result line (its `elapsed_ms` is set by the caller).
fn follow<C: Connect>(
    mut driver: Driver<C>,
    cfg: &Config<'_>,
    work: &Work,
    run: &Arc<Run>,
) -> Result<Report, Usage> {
    let submitting = matches!(work, Work::Submit { .. });
    let mut progress = Progress::new(Arc::clone(run), submitting);
    let pairs: Vec<(&str, &str)> = match work {
        Work::Submit { query, .. } => query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        _ => Vec::new(),
    };
    let op = match work {
        Work::Submit {
            method, path, body, ..
        } => Submit {
            method: *method,
            path,
            query: &pairs,
            body: body.as_deref(),
        },
        _ => Submit::NONE,
    };
    let now = driver.now();
    let made = match work {
        Work::Submit { .. } => JobPoller::submit(cfg, &op, now),
        Work::Wait(job) => JobPoller::watch(cfg, job, now),
        Work::Resume(token) => JobPoller::resume(cfg, token, Duration::ZERO, now),
    };
    let mut poller = made.map_err(|e| Usage(e.to_string()))?;
    if let Work::Resume(_) = work {
        // `--deadline` (or its default) counts from now, whatever the token had left: the
        // machine's deadline only moves later, so a shorter one is a wall-clock stop.
        poller.extend_deadline(now, cfg.policy.deadline);
        if poller.deadline() > now.saturating_add(cfg.policy.deadline) {
            stop::stop_after(run, cfg.policy.deadline);
        }
    }
    run.set_if_ended_now(progress.interim(&poller));
    let mut end = match driver.drive(&mut poller, cfg, &op, &mut progress) {
        Ok(outcome) => End::Outcome(outcome),
        // Nothing was sent: the arguments are at fault.
        Err(e) if poller.requests() == 0 => return Err(Usage(e.to_string())),
        Err(e) => End::CannotFollow(e),
    };
    let mut requests = u64::from(poller.requests());
    let mut jobs: Vec<String> = poller.job_id().map(String::from).into_iter().collect();
    let mut single = true;

    // A jobs[] answer: follow every job it named, over the same driver, and sum them up.
    if let End::Outcome(Outcome::MultipleJobs { .. }) = end {
        jobs = std::mem::take(&mut progress.job_ids);
        if !jobs.is_empty() {
            single = false;
            let (set_end, set_requests) =
                follow_set(&mut driver, cfg, &poller, &jobs, &mut progress);
            end = set_end;
            requests += set_requests;
        }
    }
    // An ONTAP 200 after the hold names the job but not its state: one GET shows how it ended.
    if let (End::Outcome(Outcome::Succeeded), true) = (&end, single) {
        if poller.last_seen().raw_state.is_empty() {
            if let Some(confirm) = look_up_finished(&mut driver, cfg, &poller, &mut progress) {
                requests += u64::from(confirm.requests());
                // Could not be seen (purged, unreachable): the success stands.
                if let Some(outcome) = confirm.outcome().filter(Outcome::is_job_finished) {
                    end = End::Outcome(outcome);
                    poller = confirm;
                }
            }
        }
    }
    driver.close();
    progress.finish();

    let stopped = run.stopped();
    let job_named = !jobs.is_empty();
    let (name, message) = match &end {
        End::CannotFollow(e) if job_named => (
            "transport_error",
            Some(format!("the server named a job jobctl cannot follow: {e}")),
        ),
        End::CannotFollow(e) => (
            "submit_outcome_unknown",
            Some(format!(
                "the server's answer to the submit cannot be followed ({e}): it may have \
                 created a job"
            )),
        ),
        End::Outcome(Outcome::Cancelled) if stopped == Some(Stop::Deadline) => {
            ("deadline_exceeded", progress.message.clone())
        }
        End::Outcome(Outcome::Cancelled) if submitting && !job_named => {
            if poller.requests() == 0 {
                (
                    "cancelled",
                    Some(
                        "interrupted before the submit was sent: nothing reached the server".into(),
                    ),
                )
            } else {
                ("submit_outcome_unknown", Some(SUBMIT_UNANSWERED.into()))
            }
        }
        // The submit never got through (never connected, refused with 503 until the
        // deadline): no job exists to resume.
        End::Outcome(Outcome::DeadlineExceeded) if !job_named => (
            "transport_error",
            Some(format!(
                "the server did not accept the submit before the deadline; the last failure: {}",
                progress.last_failure(driver.last_io_error())
            )),
        ),
        End::Outcome(outcome @ Outcome::TransportFailed { error }) => (
            classify(outcome).0,
            Some(match driver.last_io_error() {
                Some(io) => format!("{error}: {io}"),
                None => error.to_string(),
            }),
        ),
        End::Outcome(outcome @ Outcome::RetriesExhausted { .. }) => (
            classify(outcome).0,
            Some(format!(
                "retries exhausted; the last failure: {}",
                progress.last_failure(driver.last_io_error())
            )),
        ),
        End::Outcome(outcome) => (classify(outcome).0, progress.message.clone()),
    };
    if !single && name == "deadline_exceeded" {
        say("several jobs: pick each up again with: jobctl ... wait ID (the ids are in \"jobs\")");
    }
    // A token only for a job that may still be followed: not for one that ended, nor for one
    // the server no longer knows.
    let followable = match &end {
        End::CannotFollow(_) => true,
        End::Outcome(outcome) => !outcome.is_job_finished() && *outcome != Outcome::Expired,
    };
    let seen = poller.last_seen();
    Ok(Report {
        outcome: name,
        job: if single {
            poller.job_id().map(String::from)
        } else {
            None
        },
        jobs,
        state: (single && !seen.raw_state.is_empty()).then(|| seen.raw_state.to_string()),
        code: if single { seen.code } else { None },
        message,
        requests,
        elapsed_ms: 0,
        resume: if single && followable {
            poller.resume_token().as_ref().map(token_text)
        } else {
            None
        },
    })
}

/// Follows the jobs of a jobs[] answer as one set; returns how the set ended and the requests
/// its jobs sent.
fn follow_set<C: Connect>(
    driver: &mut Driver<C>,
    cfg: &Config<'_>,
    submitted: &JobPoller,
    jobs: &[String],
    progress: &mut Progress,
) -> (End, u64) {
    let mut set_cfg = *cfg;
    set_cfg.policy.deadline = cfg.policy.deadline.saturating_sub(submitted.elapsed());
    let now = driver.now();
    let machines = jobs
        .iter()
        .map(|id| JobPoller::watch(&set_cfg, id, now))
        .collect::<Result<Vec<_>, _>>();
    let mut machines = match machines {
        Ok(machines) => machines,
        Err(e) => return (End::CannotFollow(e.into()), 0),
    };
    progress.in_set = true;
    let mut set = JobSet::new(&mut machines);
    let end = match driver.drive_set(&mut set, &set_cfg, progress) {
        Ok(outcome) => End::Outcome(outcome),
        Err(e) => End::CannotFollow(e),
    };
    let requests = machines.iter().map(|m| u64::from(m.requests())).sum();
    (end, requests)
}

/// One GET of a job the machine ended as a success without seeing its state (ONTAP answers a
/// submit whose job finished within the hold with a 200 that carries only the job's link),
/// bounded by one request timeout. Returns the machine that looked (with no outcome when it
/// could not look); `None` when the job cannot be named in a request.
fn look_up_finished<C: Connect>(
    driver: &mut Driver<C>,
    cfg: &Config<'_>,
    submitted: &JobPoller,
    progress: &mut Progress,
) -> Option<JobPoller> {
    let job = submitted.job_href().or(submitted.job_id())?;
    let mut look_cfg = *cfg;
    look_cfg.policy.deadline = cfg.policy.request_timeout;
    let mut poller = JobPoller::watch(&look_cfg, job, driver.now()).ok()?;
    // A local error leaves the machine without an outcome, which the caller reads as "not seen".
    let _ = driver.drive(&mut poller, &look_cfg, &Submit::NONE, progress);
    Some(poller)
}

/// Progress on stderr: a spinner on a terminal, one plain line per change otherwise. Everything
/// the server said is shown escaped (see [`terminal`]).
struct Progress {
    bar: Option<ProgressBar>,
    run: Arc<Run>,
    /// The run submits (rather than follows a named job).
    submitting: bool,
    state: String,
    message: Option<String>,
    shown: String,
    job_ids: Vec<String>,
    in_set: bool,
    last_retry: Option<RetryCause>,
}

impl Progress {
    fn new(run: Arc<Run>, submitting: bool) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Progress {
            bar,
            run,
            submitting,
            state: String::new(),
            message: None,
            shown: String::new(),
            job_ids: Vec::new(),
            in_set: false,
            last_retry: None,
        }
    }

    fn note(&self, line: &str) {
        let line = format!("{:>6.1}s {line}", self.run.elapsed().as_secs_f64());
        match &self.bar {
            Some(bar) => bar.println(format!("jobctl: {}", escaped(&line))),
            None => say(&line),
        }
    }

    fn show(&mut self, poller: &JobPoller) {
        let prefix = if self.in_set {
            format!("{} ", poller.job_id().unwrap_or("?"))
        } else {
            String::new()
        };
        let text = format!(
            "{prefix}{} {}",
            self.state,
            self.message.as_deref().unwrap_or("")
        );
        if text == self.shown {
            return;
        }
        self.shown.clone_from(&text);
        match &self.bar {
            Some(bar) => bar.set_message(escaped(&text)),
            None => self.note(text.trim_end()),
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    /// The result line should the run end now (a second signal): the job and its token once
    /// the server named it; before that, a submit's outcome is unknown (it may be on the wire
    /// at any moment, and the machine reports no event when it is sent).
    fn interim(&self, poller: &JobPoller) -> Report {
        let seen = poller.last_seen();
        let (outcome, job, resume) = if self.in_set {
            ("cancelled", None, None)
        } else if let Some(job) = poller.job_id() {
            (
                "cancelled",
                Some(job.to_string()),
                poller.resume_token().as_ref().map(token_text),
            )
        } else if self.submitting {
            ("submit_outcome_unknown", None, None)
        } else {
            ("cancelled", None, None)
        };
        Report {
            outcome,
            job,
            jobs: if self.in_set {
                self.job_ids.clone()
            } else {
                poller.job_id().map(String::from).into_iter().collect()
            },
            state: (!self.in_set && !seen.raw_state.is_empty()).then(|| seen.raw_state.to_string()),
            code: seen.code.filter(|_| !self.in_set),
            message: if outcome == "submit_outcome_unknown" {
                Some(SUBMIT_UNANSWERED.into())
            } else {
                self.message.clone()
            },
            requests: u64::from(poller.requests()),
            elapsed_ms: 0,
            resume,
        }
    }

    /// The last failure, in words: the I/O error behind a transport failure, or what the
    /// server answered.
    fn last_failure(&self, io: Option<&std::io::Error>) -> String {
        let said = self.message.as_deref().map(|m| format!(": {m}"));
        match (self.last_retry, io) {
            (Some(RetryCause::Transport(TransportError::TimedOut)), _) => {
                "no answer within the request timeout".into()
            }
            (Some(RetryCause::Transport(error)), Some(io)) => format!("{error}: {io}"),
            (Some(RetryCause::Transport(error)), None) => error.to_string(),
            (Some(RetryCause::Status(status)), _) => {
                format!("HTTP {status}{}", said.unwrap_or_default())
            }
            (Some(RetryCause::InvalidResponse), _) => "an answer that could not be read".into(),
            (Some(cause), _) => format!("{cause:?}"),
            (None, Some(io)) => io.to_string(),
            (None, None) => "none recorded".into(),
        }
    }
}

impl Observer for Progress {
    fn on_event(&mut self, poller: &JobPoller, event: Event) {
        match event {
            Event::Accepted => {
                self.note(&format!("accepted: job {}", poller.job_id().unwrap_or("?")))
            }
            Event::StateChanged(_) => {
                self.state = poller.last_seen().raw_state.to_string();
                self.show(poller);
            }
            Event::Retrying { cause, .. } => {
                self.last_retry = Some(cause);
                self.note(&format!("retrying: {cause:?}"));
            }
            Event::FinalPoll => self.note("deadline reached: one final poll"),
            other => self.note(&format!("{other:?}")),
        }
        self.run.set_if_ended_now(self.interim(poller));
    }

    fn on_reply(&mut self, poller: &JobPoller, reply: &Reply<'_>) {
        if let Some(m) = reply.message {
            // The machine has recorded this answer's state already: show both together.
            self.state = poller.last_seen().raw_state.to_string();
            self.message = Some(m.chars().collect());
            self.show(poller);
        }
        if let Some(ids) = reply.jobs {
            self.job_ids = ids.iter().map(|id| id.chars().collect()).collect();
            self.note(&format!(
                "the operation started {} jobs",
                self.job_ids.len()
            ));
        }
        self.run.set_if_ended_now(self.interim(poller));
    }
}
