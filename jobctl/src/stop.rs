//! Stopping a run, and the one result line.
//!
//! SIGINT, SIGTERM and SIGHUP all stop a run the same way: the driver's [`Cancel`] handle ends the
//! wait, and the result line is printed with the job id and the resume token (exit 130, 143 and
//! 129, the shell's codes for those signals). A second signal ends jobctl at once: it prints the
//! result line as it stands (the last one [`Run::set_if_ended_now`] recorded) and exits, so a
//! slow connect or a `--cancel-on-exit` phase can always be cut short without losing the token.
//!
//! The result line is written exactly once, by whichever thread ends the run, under one lock.

use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use jobpoll::adapters::blocking::Cancel;
use serde::Serialize;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::outcome;
use crate::terminal::{json_for_terminal, say};

/// The result line.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub outcome: &'static str,
    pub job: Option<String>,
    pub jobs: Vec<String>,
    pub state: Option<String>,
    pub code: Option<i64>,
    pub message: Option<String>,
    pub requests: u64,
    pub elapsed_ms: u64,
    pub resume: Option<String>,
}

/// A signal that stops a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (timeout(1), systemd, Kubernetes).
    Terminate,
    /// SIGHUP (the terminal went away).
    Hangup,
}

impl Signal {
    fn from_number(number: i32) -> Option<Self> {
        match number {
            SIGINT => Some(Signal::Interrupt),
            SIGTERM => Some(Signal::Terminate),
            SIGHUP => Some(Signal::Hangup),
            _ => None,
        }
    }

    /// 128 + the signal number, as a shell reports a process the signal ended.
    pub fn exit_code(self) -> i32 {
        match self {
            Signal::Interrupt => outcome::EXIT_SIGINT,
            Signal::Terminate => outcome::EXIT_SIGTERM,
            Signal::Hangup => outcome::EXIT_SIGHUP,
        }
    }

    /// The signal's usual name, for stderr.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
            Signal::Hangup => "SIGHUP",
        }
    }
}

/// Why a run was stopped from outside the drive loop. The first reason wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    Signal(Signal),
    /// The `--deadline` of a resumed run, shorter than the time left in its token, passed.
    Deadline,
}

/// What the main thread and the signal thread share.
pub struct Run {
    cancel: Cancel,
    started: Instant,
    stop: Mutex<Option<Stop>>,
    result: Mutex<ResultLine>,
}

#[derive(Default)]
struct ResultLine {
    /// The exit code, once the line was written (or its write failed).
    written: Option<i32>,
    /// The line a second signal prints: the run as it stands.
    if_ended_now: Option<Report>,
}

impl Run {
    /// A run whose drivers stop through `cancel`; its wall time starts now.
    pub fn new(cancel: Cancel) -> Arc<Self> {
        Arc::new(Run {
            cancel,
            started: Instant::now(),
            stop: Mutex::new(None),
            result: Mutex::new(ResultLine::default()),
        })
    }

    /// Wall time since the run started (argument checks excluded).
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// [`elapsed`](Self::elapsed) in whole milliseconds, for the result line.
    pub fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Why the run was stopped, if it was.
    pub fn stopped(&self) -> Option<Stop> {
        *self.stop.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops the run for `why`; false when it was stopped already.
    pub fn stop(&self, why: Stop) -> bool {
        let mut stop = self.stop.lock().unwrap_or_else(PoisonError::into_inner);
        if stop.is_some() {
            return false;
        }
        *stop = Some(why);
        self.cancel.cancel();
        true
    }

    /// Records the line to print should a second signal end jobctl now.
    pub fn set_if_ended_now(&self, report: Report) {
        self.result
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .if_ended_now = Some(report);
    }

    /// The exit code of a result: a stop by a signal gives that signal's code to `cancelled`.
    pub fn exit_code(&self, outcome_name: &str) -> i32 {
        match (outcome_name, self.stopped()) {
            ("cancelled", Some(Stop::Signal(signal))) => signal.exit_code(),
            _ => outcome::exit_code(outcome_name),
        }
    }

    /// Writes the result line (once) and returns the exit code. A failed write (a closed pipe,
    /// a full disk) is said on stderr; the exit code still tells the outcome.
    pub fn finish(&self, report: &Report) -> i32 {
        let mut result = self.result.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(code) = result.written {
            return code;
        }
        let code = self.exit_code(report.outcome);
        write_line(report);
        result.written = Some(code);
        code
    }

    /// A second signal: print the run as it stands and exit now.
    fn end_now(&self, signal: Signal) -> ! {
        let mut result = self.result.lock().unwrap_or_else(PoisonError::into_inner);
        let code = match (result.written, result.if_ended_now.take()) {
            (Some(code), _) => code,
            (None, Some(mut report)) => {
                report.elapsed_ms = self.elapsed_ms();
                say(&format!(
                    "{}: a second signal; ending now ({} after {:.1} s)",
                    signal.name(),
                    report.outcome,
                    self.elapsed().as_secs_f64()
                ));
                let code = self.exit_code(report.outcome);
                write_line(&report);
                code
            }
            // Before anything was sent: nothing to report but the signal.
            (None, None) => signal.exit_code(),
        };
        std::process::exit(code)
    }
}

fn write_line(report: &Report) {
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

/// Handles SIGINT, SIGTERM and SIGHUP from now on: the first stops `run`, a later one ends
/// jobctl at once.
pub fn handle_signals(run: &Arc<Run>) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let run = Arc::clone(run);
    std::thread::spawn(move || {
        for number in signals.forever() {
            let Some(signal) = Signal::from_number(number) else {
                continue;
            };
            if run.stop(Stop::Signal(signal)) {
                say(&format!(
                    "{}: stopping (send it again to end at once)",
                    signal.name()
                ));
            } else {
                run.end_now(signal);
            }
        }
    });
    Ok(())
}

/// Stops `run` with [`Stop::Deadline`] after `after`, unless it was stopped before.
pub fn stop_after(run: &Arc<Run>, after: Duration) {
    let run = Arc::clone(run);
    std::thread::spawn(move || {
        std::thread::sleep(after);
        run.stop(Stop::Deadline);
    });
}
