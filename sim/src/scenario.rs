//! Scripted job timelines and fault injection: what the simulator does, per job and per request.

use serde::{Deserialize, Serialize};

/// A non-terminal phase of a job's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Phase {
    /// Accepted, not started (ONTAP/Deploy `queued`, Service Engine `pending`).
    Queued,
    /// Working (ONTAP/Deploy `running`, Service Engine `running` or `processing`).
    Running,
    /// Paused by the server (ONTAP only; other dialects show it as running).
    Paused,
}

/// How a job ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Success (ONTAP `success`, AIQUM `completed`/`normal`, NSE `successful`).
    Success,
    /// Failure (ONTAP `failure`, AIQUM `completed`/`error`, NSE `failed` or `error`).
    Failure,
    /// Success with warnings (AIQUM `warning`; success elsewhere).
    Warning,
    /// Some parts failed (AIQUM `partial_failures`; failure elsewhere).
    PartialFailures,
}

/// One step of a timeline: a phase held for a simulated duration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The phase shown during this step.
    pub state: Phase,
    /// Simulated seconds this step lasts.
    pub seconds: f64,
    /// Progress text shown while in this step (ONTAP `message`, NSE `status_detail`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// ONTAP `code` shown while in this step (real servers show non-zero codes while running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// A raw wire state string shown instead of the phase's usual one (e.g. an unknown state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_state: Option<String>,
}

impl Step {
    /// A step in `state` lasting `seconds` simulated seconds.
    pub fn new(state: Phase, seconds: f64) -> Self {
        Self {
            state,
            seconds,
            message: None,
            code: None,
            raw_state: None,
        }
    }
    /// Sets the progress message.
    pub fn message(mut self, m: impl Into<String>) -> Self {
        self.message = Some(m.into());
        self
    }
    /// Sets the ONTAP code shown during the step.
    pub fn code(mut self, c: i64) -> Self {
        self.code = Some(c);
        self
    }
    /// Shows a raw state string instead of the phase's wire value.
    pub fn raw_state(mut self, s: impl Into<String>) -> Self {
        self.raw_state = Some(s.into());
        self
    }
}

/// The error object a failed job carries (ONTAP 9.9+ `error`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobError {
    /// Error code (sent as a string, as ONTAP does).
    pub code: String,
    /// Error message.
    pub message: String,
    /// Optional target field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// The final state of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Final {
    /// Outcome.
    pub outcome: Outcome,
    /// Final message (ONTAP `message`, Deploy `message`, NSE `status_detail`/`last_error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Final ONTAP code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// Error object of a failed job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<JobError>,
    /// A raw wire state shown instead of the outcome's usual one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_state: Option<String>,
}

impl Final {
    /// A success with ONTAP's usual `"success"` message and code 0.
    pub fn success() -> Self {
        Self {
            outcome: Outcome::Success,
            message: Some("success".into()),
            code: Some(0),
            error: None,
            raw_state: None,
        }
    }
    /// A failure with this message and code (the `error` object mirrors them).
    pub fn failure(message: impl Into<String>, code: i64) -> Self {
        let message = message.into();
        Self {
            outcome: Outcome::Failure,
            error: Some(JobError {
                code: code.to_string(),
                message: message.clone(),
                target: None,
            }),
            message: Some(message),
            code: Some(code),
            raw_state: None,
        }
    }
    /// Any outcome with a message.
    pub fn with(outcome: Outcome, message: impl Into<String>) -> Self {
        Self {
            outcome,
            message: Some(message.into()),
            code: Some(0),
            error: None,
            raw_state: None,
        }
    }
}

/// When `Retry-After` says to come back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`.
    Seconds(u64),
    /// `Retry-After: <IMF-fixdate>` this many seconds from now.
    HttpDate(u64),
}

/// A fault injected into one answer (or into the listener). Durations here are real time.
///
/// Faults that replace the answer ([`Fault::Status`], [`Fault::RetryAfter`], [`Fault::Stall`],
/// [`Fault::NotYetVisible`]) skip processing: a submit so answered creates no job. All others
/// process the request first and damage only the delivery of the answer, so a submit answered
/// with a reset still created its job (the case that tempts clients into a duplicate submit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Fault {
    /// Answer, then close the listening socket and bind it again after `seconds`: new
    /// connections are refused (RST) meanwhile.
    RefuseConnections {
        /// Real seconds the port stays closed.
        seconds: f64,
    },
    /// Answer, then stop accepting for `seconds`: the kernel still completes TCP handshakes, so
    /// clients see a connection that never answers (a stall, not a refusal).
    StallAccept {
        /// Real seconds the accept loop stays paused.
        seconds: f64,
    },
    /// Reset the connection (RST) without sending anything.
    ResetBeforeHeaders,
    /// Send the status line and headers, then reset.
    ResetAfterHeaders,
    /// Send headers and half the body, then reset.
    ResetMidBody,
    /// Send headers with the correct `Content-Length` and half the body, then close cleanly.
    TruncatedBody,
    /// Send the answer a few bytes at a time.
    SlowDrip {
        /// Bytes per write.
        chunk: usize,
        /// Real milliseconds between writes.
        interval_ms: u64,
    },
    /// Read the request and never answer; close after `seconds` (or at shutdown if absent).
    Stall {
        /// Real seconds before the connection is closed without an answer.
        #[serde(default)]
        seconds: Option<f64>,
    },
    /// Answer with this status (500, 502, 503, ...) and the dialect's error body.
    Status {
        /// HTTP status code.
        status: u16,
    },
    /// Answer with 429 or 503 and a `Retry-After` header.
    RetryAfter {
        /// HTTP status code (429 or 503).
        status: u16,
        /// Header value form.
        after: RetryAfter,
    },
    /// Send the body with `Transfer-Encoding: chunked` in chunks of this size.
    Chunked {
        /// Bytes per chunk.
        chunk: usize,
    },
    /// Send `Connection: close` and close after the answer.
    ConnectionClose,
    /// Answer as HTTP/1.0 with no `Content-Length`: the body ends when the connection closes.
    Http10,
    /// Pad the JSON body with a leading string field so that it is at least this many bytes.
    Oversize {
        /// Minimum body size in bytes.
        bytes: usize,
    },
    /// Send a body that is not valid JSON (cut in half) with a matching `Content-Length`.
    MalformedJson,
    /// Show this string as the job's state (job GETs only).
    UnknownState {
        /// The state string.
        state: String,
    },
    /// Gzip the body (`Content-Encoding: gzip`) even if the client asked for identity.
    Gzip,
    /// Answer 404 with the dialect's not-found body, as for a job that is not yet visible.
    NotYetVisible,
}

impl Fault {
    /// True for faults that replace the answer instead of damaging its delivery.
    pub fn replaces_answer(&self) -> bool {
        matches!(
            self,
            Fault::Status { .. }
                | Fault::RetryAfter { .. }
                | Fault::Stall { .. }
                | Fault::NotYetVisible
        )
    }
}

fn one() -> u64 {
    1
}

/// A fault on the n-th request (1-based) among those matching `method` and `path`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Only requests with this method count (any if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Only requests whose path starts with this count (any if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The first matching request (1-based) that gets the fault.
    pub nth: u64,
    /// How many consecutive matching requests get it.
    #[serde(default = "one")]
    pub count: u64,
    /// The fault.
    pub fault: Fault,
}

impl FaultRule {
    /// The `nth` request of all requests (1-based).
    pub fn request(nth: u64, fault: Fault) -> Self {
        Self {
            method: None,
            path: None,
            nth,
            count: 1,
            fault,
        }
    }
    /// The `nth` request with this method under this path prefix.
    pub fn on(method: &str, path: &str, nth: u64, fault: Fault) -> Self {
        Self {
            method: Some(method.into()),
            path: Some(path.into()),
            nth,
            count: 1,
            fault,
        }
    }
    /// Applies to `count` consecutive matching requests.
    pub fn times(mut self, count: u64) -> Self {
        self.count = count;
        self
    }
}

/// A fault on the n-th GET (1-based) of one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobFault {
    /// The first poll of this job (1-based) that gets the fault.
    pub poll: u64,
    /// How many consecutive polls get it.
    #[serde(default = "one")]
    pub count: u64,
    /// The fault.
    pub fault: Fault,
}

fn yes() -> bool {
    true
}

/// A job's script: its timeline, its end, and faults on its polls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobScript {
    /// Non-terminal steps in order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// The terminal state reached after the last step.
    #[serde(rename = "final")]
    pub end: Final,
    /// Faults on this job's GETs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<JobFault>,
    /// Whether `action=pause`/`resume` is accepted (ONTAP 458783 otherwise).
    #[serde(default = "yes")]
    pub supports_pause: bool,
    /// Whether `action=cancel` is accepted (ONTAP 458784 otherwise).
    #[serde(default = "yes")]
    pub supports_cancel: bool,
}

impl Default for JobScript {
    /// Queued for 1 s, running for 3 s, then success.
    fn default() -> Self {
        Self {
            steps: vec![
                Step::new(Phase::Queued, 1.0),
                Step::new(Phase::Running, 3.0)
                    .message("Job is running")
                    .code(0),
            ],
            end: Final::success(),
            faults: Vec::new(),
            supports_pause: true,
            supports_cancel: true,
        }
    }
}

impl JobScript {
    /// A script with no steps ending in `end`.
    pub fn new(end: Final) -> Self {
        Self {
            steps: Vec::new(),
            end,
            ..Self::default()
        }
    }
    /// Appends a step.
    pub fn step(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }
    /// Appends a fault on polls `poll..poll+count` of this job.
    pub fn fault(mut self, poll: u64, count: u64, fault: Fault) -> Self {
        self.faults.push(JobFault { poll, count, fault });
        self
    }
    /// Total simulated seconds before the terminal state.
    pub fn total_seconds(&self) -> f64 {
        self.steps.iter().map(|s| s.seconds.max(0.0)).sum()
    }
}

/// Which jobs a [`JobRule`] scripts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobMatch {
    /// The n-th job created (1-based, all dialects).
    Job(u64),
    /// Jobs submitted with this method (any if absent) to a path starting with `path`.
    Path {
        /// Method (e.g. `POST`).
        #[serde(default)]
        method: Option<String>,
        /// Path prefix (e.g. `/api/storage/volumes`).
        path: String,
    },
}

/// A script for the jobs a matcher selects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRule {
    /// Which jobs.
    #[serde(rename = "match")]
    pub matcher: JobMatch,
    /// Their script.
    #[serde(flatten)]
    pub script: JobScript,
}

/// Everything scripted: job timelines (first matching rule wins, else the default) and
/// request faults. Built in Rust or read from JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Script for jobs no rule matches (queued 1 s, running 3 s, success if absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_job: Option<JobScript>,
    /// Per-job rules.
    #[serde(default)]
    pub jobs: Vec<JobRule>,
    /// Per-request faults.
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    /// Switches for the open questions; when present they replace the configured ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub switches: Option<crate::config::Switches>,
}

impl Scenario {
    /// An empty scenario: every job runs the default script, no faults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the script for unmatched jobs.
    pub fn default_job(mut self, script: JobScript) -> Self {
        self.default_job = Some(script);
        self
    }
    /// Scripts the n-th job created (1-based).
    pub fn job(mut self, n: u64, script: JobScript) -> Self {
        self.jobs.push(JobRule {
            matcher: JobMatch::Job(n),
            script,
        });
        self
    }
    /// Scripts jobs submitted with `method` (e.g. "POST", or "*") under `path`.
    pub fn path(mut self, method: &str, path: &str, script: JobScript) -> Self {
        let method = (method != "*").then(|| method.to_string());
        self.jobs.push(JobRule {
            matcher: JobMatch::Path {
                method,
                path: path.into(),
            },
            script,
        });
        self
    }
    /// Adds a request fault rule.
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.push(rule);
        self
    }

    /// The script for job number `n` submitted with `method` to `path`.
    pub fn script_for(&self, n: u64, method: &str, path: &str) -> JobScript {
        self.jobs
            .iter()
            .find(|r| match &r.matcher {
                JobMatch::Job(k) => *k == n,
                JobMatch::Path { method: m, path: p } => {
                    m.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
                        && path.starts_with(p.as_str())
                }
            })
            .map(|r| r.script.clone())
            .or_else(|| self.default_job.clone())
            .unwrap_or_default()
    }

    /// Reads a scenario from JSON text.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_selection() {
        let s = Scenario::new()
            .job(2, JobScript::new(Final::failure("two", 2)))
            .path(
                "POST",
                "/api/storage/volumes",
                JobScript::new(Final::failure("vol", 3)),
            );
        let cases = [
            (1, "POST", "/api/storage/volumes", Some(3)),
            (2, "POST", "/api/storage/volumes", Some(2)),
            (3, "PATCH", "/api/storage/volumes/x", Some(0)),
            (4, "post", "/api/storage/volumes/x", Some(3)),
        ];
        for (n, m, p, code) in cases {
            assert_eq!(s.script_for(n, m, p).end.code, code, "{n} {m} {p}");
        }
    }

    #[test]
    fn json_round_trip() {
        let s = Scenario::new()
            .job(1, JobScript::default().fault(1, 2, Fault::Gzip))
            .fault(FaultRule::request(
                3,
                Fault::RetryAfter {
                    status: 429,
                    after: RetryAfter::HttpDate(5),
                },
            ));
        let text = serde_json::to_string(&s).expect("serialize");
        assert_eq!(Scenario::from_json(&text).expect("parse"), s);
    }
}
