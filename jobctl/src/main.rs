//! jobctl: submit a NetApp-style asynchronous REST operation, or pick up a job, and follow it to
//! its outcome. Progress goes to stderr; the result is one JSON line on stdout and the exit code
//! (see README.md).

mod outcome;
mod target;
mod terminal;

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use jobpoll::adapters::Observer;
use jobpoll::adapters::blocking::{Cancel, Connect, Driver, connect_tcp};
use jobpoll::adapters::tls::{TlsConnector, TlsOptions, parse_fingerprint};
use jobpoll::http::{Auth, Authority, Method};
use jobpoll::{Config, Event, JobPoller, JobSet, Outcome, Reply, ResumeToken, RetryCause, Submit};
use serde::Serialize;

use outcome::{EXIT_USAGE, classify};
use terminal::{escaped, json_for_terminal, say};

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
    /// Give up waiting after this many seconds (default 600); the job keeps running.
    #[arg(long, value_name = "SECS")]
    deadline: Option<f64>,
    /// Time allowed for one request and its answer (default 15), on top of any time the server
    /// is asked to hold it.
    #[arg(long, value_name = "SECS")]
    request_timeout: Option<f64>,
    /// On Ctrl-C, also cancel the job on the server where the API has a cancel (ONTAP); stderr
    /// says what the server answered.
    #[arg(long)]
    cancel_on_exit: bool,
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
rejected by the API or auth required; 5 transport error; 64 usage; 130 interrupted.";

/// The result line.
#[derive(Debug, Serialize)]
struct Report {
    outcome: &'static str,
    job: Option<String>,
    jobs: Vec<String>,
    state: Option<String>,
    code: Option<i64>,
    message: Option<String>,
    requests: u64,
    elapsed_ms: u64,
    resume: Option<String>,
}

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
    match m.to_ascii_uppercase().as_str() {
        "POST" => Ok(Method::Post),
        "PATCH" => Ok(Method::Patch),
        "DELETE" => Ok(Method::Delete),
        "PUT" => Ok(Method::Put),
        _ => Err(Usage(format!(
            "{m:?}: the method must be POST, PATCH, DELETE or PUT"
        ))),
    }
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

fn run(cli: &Cli) -> Result<i32, Usage> {
    let dialect = target::dialect(&cli.dialect).map_err(Usage)?;
    let target = target::parse_url(&cli.url).map_err(Usage)?;
    let tls = if target.tls {
        Some(if let Some(ca) = &cli.ca {
            TlsOptions::CaFile(ca.clone())
        } else if let Some(pin) = &cli.pin {
            TlsOptions::Pin(parse_fingerprint(pin).map_err(|e| Usage(format!("--pin: {e}")))?)
        } else if cli.insecure {
            TlsOptions::DangerousAcceptAnyCertificate
        } else {
            TlsOptions::WebPkiRoots
        })
    } else {
        if cli.ca.is_some() || cli.pin.is_some() || cli.insecure {
            return Err(Usage(
                "--ca, --pin and --insecure apply to https:// URLs only".into(),
            ));
        }
        None
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
    let on_signal = cancel.clone();
    ctrlc::set_handler(move || on_signal.cancel())
        .map_err(|e| Usage(format!("cannot handle Ctrl-C: {e}")))?;

    let report = match &tls {
        Some(options) => {
            let connector = TlsConnector::new(&target.host, target.port, options)
                .map_err(|e| Usage(format!("TLS: {e}")))?;
            follow(Driver::new(connector).with_cancel(cancel), &cfg, &work)?
        }
        None => follow(
            Driver::new(connect_tcp(&target.host, target.port)).with_cancel(cancel),
            &cfg,
            &work,
        )?,
    };
    let code = outcome::exit_code(report.outcome);
    if report.outcome == "cancelled" {
        if cli.cancel_on_exit {
            match report.resume.as_deref().and_then(token_of) {
                Some(token) => {
                    let answer = match &tls {
                        Some(options) => {
                            let connector = TlsConnector::new(&target.host, target.port, options)
                                .map_err(|e| Usage(format!("TLS: {e}")))?;
                            cancel_on_server(Driver::new(connector), &cfg, &token)
                        }
                        None => cancel_on_server(
                            Driver::new(connect_tcp(&target.host, target.port)),
                            &cfg,
                            &token,
                        ),
                    };
                    say(&format!("--cancel-on-exit: {answer}"));
                }
                None => {
                    say("--cancel-on-exit: no job was named by the server yet; nothing to cancel")
                }
            }
        }
        if let Some(token) = &report.resume {
            say(&format!(
                "interrupted; pick the job up again with: jobctl ... resume {token}"
            ));
        }
    }
    write_result_line(&report);
    Ok(code)
}

/// Writes the result line to stdout. A failed write (a closed pipe, a full disk) is said on
/// stderr; the exit code still gives the outcome.
fn write_result_line(report: &Report) {
    let line = match serde_json::to_string(report) {
        Ok(json) => json_for_terminal(&json),
        Err(e) => {
            say(&format!("cannot format the result line: {e}"));
            return;
        }
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        say(&format!(
            "cannot write the result line to stdout ({e}); the exit code still gives the outcome"
        ));
    }
}

/// The token of a result line, decoded.
fn token_of(text: &str) -> Option<ResumeToken> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    ResumeToken::from_bytes(&bytes).ok()
}

/// Asks the server to cancel the job of `token` and waits (at most 30 s) for its answer to the
/// cancel request; describes what happened. The job itself is not followed further.
fn cancel_on_server<C: Connect>(
    mut driver: Driver<C>,
    cfg: &Config<'_>,
    token: &ResumeToken,
) -> String {
    let now = driver.now();
    let Ok(mut poller) = JobPoller::resume(cfg, token, Duration::ZERO, now) else {
        return "the resume token does not fit this configuration".into();
    };
    poller.extend_deadline(now, Duration::from_secs(30));
    if let Err(e) = poller.request_server_cancel(now) {
        return format!("not possible for --dialect {:?}: {e}", cfg.dialect);
    }
    struct UntilAnswered(Option<String>);
    impl Observer for UntilAnswered {
        fn on_event(&mut self, poller: &JobPoller, event: Event) {
            let said = match event {
                Event::CancelRequested => {
                    "the server accepted the cancel request; the job ends as success or failure"
                }
                Event::CancelRefused { status: Some(_) } => "the server refused the cancel request",
                Event::CancelRefused { status: None } => "the cancel request got no answer",
                _ => return,
            };
            self.0 = Some(format!("job {}: {said}", poller.job_id().unwrap_or("?")));
        }
    }
    let mut seen = UntilAnswered(None);
    // Follow until the cancel is answered: the observer cannot stop the driver, so the run goes
    // on to the job's end or the short deadline, which is what a person waiting expects anyway.
    let outcome = driver.drive(&mut poller, cfg, &Submit::NONE, &mut seen);
    match (seen.0, outcome) {
        (Some(said), Ok(end)) => format!("{said} (then: {end:?})"),
        (Some(said), Err(_)) => said,
        (None, Ok(end)) => format!("no answer to the cancel request ({end:?})"),
        (None, Err(e)) => format!("cancel request not sent: {e}"),
    }
}

/// Runs the work on `driver` and builds the result line.
fn follow<C: Connect>(
    mut driver: Driver<C>,
    cfg: &Config<'_>,
    work: &Work,
) -> Result<Report, Usage> {
    let started = std::time::Instant::now();
    let mut progress = Progress::new();
    let misuse = |e: jobpoll::Error| Usage(format!("{e:?}"));
    let (mut outcome, poller) = match work {
        Work::Submit {
            method,
            path,
            query,
            body,
        } => {
            let pairs: Vec<(&str, &str)> = query
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let op = Submit {
                method: *method,
                path,
                query: &pairs,
                body: body.as_deref(),
            };
            driver.submit(cfg, &op, &mut progress).map_err(misuse)?
        }
        Work::Wait(job) => driver.watch(cfg, job, &mut progress).map_err(misuse)?,
        Work::Resume(token) => {
            let mut poller = JobPoller::resume(cfg, token, Duration::ZERO, driver.now())
                .map_err(|e| misuse(e.into()))?;
            // The token carries what was left of the old deadline (nothing, after a deadline):
            // a resumed run gets the configured one again.
            poller.extend_deadline(driver.now(), cfg.policy.deadline);
            let outcome = driver
                .drive(&mut poller, cfg, &Submit::NONE, &mut progress)
                .map_err(misuse)?;
            (outcome, poller)
        }
    };
    let mut requests = u64::from(poller.requests());
    let mut jobs: Vec<String> = poller.job_id().map(String::from).into_iter().collect();
    let mut single = true;

    // A jobs[] answer: follow every job it named, over the same driver, and sum them up.
    if let Outcome::MultipleJobs { .. } = outcome {
        jobs = std::mem::take(&mut progress.job_ids);
        if !jobs.is_empty() {
            single = false;
            let mut set_cfg = *cfg;
            set_cfg.policy.deadline = cfg.policy.deadline.saturating_sub(poller.elapsed());
            let now = driver.now();
            let mut machines = jobs
                .iter()
                .map(|id| JobPoller::watch(&set_cfg, id, now))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| misuse(e.into()))?;
            progress.in_set = true;
            let mut set = JobSet::new(&mut machines);
            outcome = driver
                .drive_set(&mut set, &set_cfg, &mut progress)
                .map_err(misuse)?;
            requests += machines
                .iter()
                .map(|m| u64::from(m.requests()))
                .sum::<u64>();
        }
    }
    driver.close();
    progress.finish();

    let (name, _) = classify(&outcome);
    let seen = poller.last_seen();
    let transport = matches!(
        outcome,
        Outcome::RetriesExhausted {
            last: RetryCause::Transport(_)
        }
    );
    let message = if transport {
        driver.last_io_error().map(|e| e.to_string())
    } else {
        progress.message.clone()
    };
    let report = Report {
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
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        resume: if single && !outcome.is_job_finished() {
            poller
                .resume_token()
                .map(|t| URL_SAFE_NO_PAD.encode(t.as_bytes()))
        } else {
            None
        },
    };
    say(&format!(
        "{name} after {:.1} s, {} request(s)",
        started.elapsed().as_secs_f64(),
        report.requests
    ));
    Ok(report)
}

/// Progress on stderr: a spinner on a terminal, one plain line per change otherwise. Everything
/// the server said is shown escaped (see [`terminal`]).
struct Progress {
    bar: Option<ProgressBar>,
    started: std::time::Instant,
    state: String,
    message: Option<String>,
    shown: String,
    job_ids: Vec<String>,
    in_set: bool,
}

impl Progress {
    fn new() -> Self {
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
            started: std::time::Instant::now(),
            state: String::new(),
            message: None,
            shown: String::new(),
            job_ids: Vec::new(),
            in_set: false,
        }
    }

    fn note(&self, line: &str) {
        let line = format!("{:>6.1}s {line}", self.started.elapsed().as_secs_f64());
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
            Event::Retrying { cause, .. } => self.note(&format!("retrying: {cause:?}")),
            Event::FinalPoll => self.note("deadline reached: one final poll"),
            other => self.note(&format!("{other:?}")),
        }
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
    }
}
