//! What the machine tells its driver: [`Action`]s out of `poll`, [`Received`] out of
//! `handle_response` / `handle_eof`, and the [`Outcome`] at the end.

use crate::error::TransportError;
use crate::json::JsonStr;
use crate::state::JobState;
use crate::time::Instant;

/// The next thing the driver must do. `Action` is small and `Copy`; data too large for it
/// (ids, the resume token, the raw state) is read through getters on the machine.
///
/// The drain rule: after every `handle_*` call, call `poll` until it returns something other
/// than an [`Action::Event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Action {
    /// Send `tx[..len]`, then feed the answer to `handle_response` (or `handle_eof`,
    /// `handle_transport_error`, `handle_timeout`).
    SendRequest(SendRequest),
    /// Close the current connection (if any) now. The machine says this after a timeout or an
    /// aborted read, so a late answer is never read as the answer to the next request, and when
    /// the server asked to close.
    Close,
    /// Nothing to do before this instant; then call `poll` again. Calling earlier is harmless.
    SleepUntil(Instant),
    /// Something worth reporting happened; keep draining.
    Event(Event),
    /// The end. Sticky: every later `poll` returns the same `Done`.
    Done(Outcome),
}

/// The next thing a driver must do for any [`Machine`](crate::Machine): [`Action`]'s shape,
/// with the machine's own event and result types. Drained the same way: after every `handle_*`
/// call, `poll` until it returns something other than a [`Step::Event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Step<E, O> {
    /// Send `tx[..len]`, then feed the answer to the machine's `handle_*`.
    SendRequest(SendRequest),
    /// Close the current connection (if any) now.
    Close,
    /// Nothing to do before this instant; then call `poll` again.
    SleepUntil(Instant),
    /// Something worth reporting happened; keep draining.
    Event(E),
    /// The end. Sticky: every later `poll` returns the same `Done`.
    Done(O),
}

impl From<Action> for Step<Event, Outcome> {
    fn from(action: Action) -> Self {
        match action {
            Action::SendRequest(request) => Step::SendRequest(request),
            Action::Close => Step::Close,
            Action::SleepUntil(t) => Step::SleepUntil(t),
            Action::Event(event) => Step::Event(event),
            Action::Done(outcome) => Step::Done(outcome),
        }
    }
}

/// A request written into the caller's transmit buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SendRequest {
    /// Bytes of `tx` to send.
    pub len: usize,
    /// Give up waiting for the whole answer at this instant (then call `handle_timeout`).
    pub deadline: Instant,
    /// Why it is sent.
    pub purpose: Purpose,
    /// Whether sending it twice is harmless. A non-idempotent submit is never sent twice by the
    /// machine once it may have reached the server.
    pub idempotent: bool,
    /// Which connection to send it on.
    pub connection: Connection,
}

/// Why a request is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Purpose {
    /// The operation that starts the job (POST, PATCH, DELETE...).
    Submit,
    /// A status GET of the job.
    Poll,
    /// The poll sent exactly at the overall deadline.
    FinalPoll,
    /// A server-side cancel of the job (ONTAP `PATCH ...?action=cancel`).
    Cancel,
    /// A page of the server's job list ([`JobList`](crate::list::JobList)).
    List,
}

/// Which connection a request goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Connection {
    /// Open a new connection (closing any open one first). Always used for a submit, so a stale
    /// keep-alive connection can never turn a submit into "outcome unknown".
    Fresh,
    /// Reuse the open keep-alive connection; if none is open, open one.
    Reuse,
}

/// Something the driver may report; the machine carries on by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Event {
    /// The server accepted the submit and named the job (read it with `job_id()`).
    Accepted,
    /// The job's state changed (first sighting included); the raw string is in `last_seen()`.
    StateChanged(JobState),
    /// The job reports a state string its dialect does not know (raw in `last_seen()`); the
    /// [`UnknownStatePolicy`](crate::UnknownStatePolicy) decides what follows.
    UnknownState,
    /// A request failed or was refused; the machine retries at `at`.
    Retrying {
        /// What went wrong.
        cause: RetryCause,
        /// When the retry is sent.
        at: Instant,
    },
    /// The job body did not fit the receive buffer; polls now ask for fewer fields (no message).
    FieldsReduced,
    /// The overall deadline is reached; one final poll is sent now.
    FinalPoll,
    /// The server accepted the cancel request; the job's own end follows (ONTAP ends a
    /// cancelled job as success or failure).
    CancelRequested,
    /// The server refused the cancel (e.g. ONTAP 458784 "This job does not support cancel", or
    /// 458762 "already in a terminal state"), or it got no answer (`None`); the job is still
    /// followed.
    CancelRefused {
        /// The HTTP status, when there was an answer.
        status: Option<u16>,
    },
    /// `now` went backwards and was clamped to the last value seen (a driver bug, or a clock
    /// that is not monotonic).
    ClockWentBackwards,
}

/// One snake_case word per variant, then its payload: `state_changed running`,
/// `retrying status 503 at 31000 ms`, `cancel_refused status 458`.
impl core::fmt::Display for Event {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Event::Accepted => f.write_str("accepted"),
            Event::StateChanged(state) => write!(f, "state_changed {state}"),
            Event::UnknownState => f.write_str("unknown_state"),
            Event::Retrying { cause, at } => {
                write!(f, "retrying {cause} at {} ms", at.as_millis())
            }
            Event::FieldsReduced => f.write_str("fields_reduced"),
            Event::FinalPoll => f.write_str("final_poll"),
            Event::CancelRequested => f.write_str("cancel_requested"),
            Event::CancelRefused {
                status: Some(status),
            } => {
                write!(f, "cancel_refused status {status}")
            }
            Event::CancelRefused { status: None } => f.write_str("cancel_refused no_answer"),
            Event::ClockWentBackwards => f.write_str("clock_went_backwards"),
        }
    }
}

/// Why a request is retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RetryCause {
    /// See [`TransportError`].
    Transport(TransportError),
    /// The server answered with this status (429, 503, other 5xx).
    Status(u16),
    /// The answer could not be parsed (malformed HTTP or JSON, no state).
    InvalidResponse,
    /// 404 for a job not seen yet: not visible yet.
    NotYetVisible,
    /// The kept-alive connection was closed by the server before it answered; resent on a
    /// fresh connection (not counted as a failure).
    StaleConnection,
}

/// One snake_case word per variant, then its payload: `transport timed_out`, `status 503`.
impl core::fmt::Display for RetryCause {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RetryCause::Transport(error) => write!(f, "transport {}", error.name()),
            RetryCause::Status(status) => write!(f, "status {status}"),
            RetryCause::InvalidResponse => f.write_str("invalid_response"),
            RetryCause::NotYetVisible => f.write_str("not_yet_visible"),
            RetryCause::StaleConnection => f.write_str("stale_connection"),
        }
    }
}

/// How it ended. After any outcome that follows the server's acceptance the machine still
/// answers for the job id(s), the request count, the elapsed time and a resume token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Outcome {
    /// The job ended successfully.
    Succeeded,
    /// The job ended successfully with warnings (Unified Manager `WARNING`).
    SucceededWithWarnings,
    /// The job ended with some parts failed (Unified Manager `PARTIAL_FAILURES`).
    PartiallyFailed,
    /// The job ended in failure; code and state in `last_seen()`, the message was lent by the
    /// call that parsed it.
    Failed,
    /// The operation completed synchronously, without a job (e.g. ONTAP 200/201 with no job,
    /// or a success answer whose record is not job-shaped, such as Service Engine's modify
    /// answers: that record's id is [`Reply::record_id`]).
    CompletedWithoutJob {
        /// The HTTP status of the answer.
        status: u16,
    },
    /// The submit started several jobs (ONTAP `jobs[]` for a query-targeted PATCH/DELETE). Their
    /// ids were lent by the `handle_response` call that parsed them (see
    /// [`Reply::jobs`]); drive one machine per id (see [`JobSet`](crate::JobSet)).
    MultipleJobs {
        /// Number of job records in the answer.
        count: u32,
    },
    /// The overall deadline passed (after the final poll) with the job still running; resume it
    /// later with the token.
    DeadlineExceeded,
    /// The server no longer knows the job (404 after it was seen, after the purge window, or
    /// for longer than the not-visible grace): its outcome is unknown.
    Expired,
    /// The submit may or may not have reached the server (a reset or timeout after it was
    /// written, a 500/502/504, a 202 without a job id). It is never re-sent: check the server.
    SubmitOutcomeUnknown,
    /// The server refused the operation or the poll (4xx other than 401/403/404/429, or a 5xx
    /// for the submit that says it was not done); code in `last_seen()`.
    Rejected {
        /// The HTTP status.
        status: u16,
    },
    /// 401 or 403. On a poll the job id and a resume token are kept: refresh the credentials
    /// and resume.
    AuthRequired {
        /// The HTTP status.
        status: u16,
    },
    /// `cancel` was called. (Client side only: the job keeps running on the server.)
    Cancelled,
    /// A transport failure that retrying cannot fix (the server's certificate was rejected).
    /// Nothing was sent by the failed request; after the server accepted the job, its id and a
    /// resume token remain.
    TransportFailed {
        /// What failed.
        error: TransportError,
    },
    /// Too many consecutive failed requests.
    RetriesExhausted {
        /// The last failure.
        last: RetryCause,
    },
    /// The job is paused and the policy says stop.
    Paused,
    /// The job reports an unknown state and the policy says stop.
    UnknownState,
}

impl Outcome {
    /// The variant's snake_case name, without its payload: what [`Display`](core::fmt::Display)
    /// prints, for logs and machine-readable results.
    pub const fn name(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::SucceededWithWarnings => "succeeded_with_warnings",
            Outcome::PartiallyFailed => "partially_failed",
            Outcome::Failed => "failed",
            Outcome::CompletedWithoutJob { .. } => "completed_without_job",
            Outcome::MultipleJobs { .. } => "multiple_jobs",
            Outcome::DeadlineExceeded => "deadline_exceeded",
            Outcome::Expired => "expired",
            Outcome::SubmitOutcomeUnknown => "submit_outcome_unknown",
            Outcome::Rejected { .. } => "rejected",
            Outcome::AuthRequired { .. } => "auth_required",
            Outcome::Cancelled => "cancelled",
            Outcome::TransportFailed { .. } => "transport_failed",
            Outcome::RetriesExhausted { .. } => "retries_exhausted",
            Outcome::Paused => "paused",
            Outcome::UnknownState => "unknown_state",
        }
    }
}

/// What an outcome means to a script that acts on it: many outcomes to one verdict (jobctl
/// prints its [`Display`](core::fmt::Display) word and picks its exit code by it).
///
/// | verdict | outcomes |
/// |---|---|
/// | `success` | `Succeeded`, `CompletedWithoutJob` (a synchronous operation), `MultipleJobs` (each job is followed on its own) |
/// | `success_with_warnings` | `SucceededWithWarnings` |
/// | `failure` | `Failed` |
/// | `partial_failure` | `PartiallyFailed` |
/// | `deadline_exceeded` | `DeadlineExceeded`, `Paused` and `UnknownState` (stops a policy asked for: the job did not finish while waited for) |
/// | `expired` | `Expired` |
/// | `submit_outcome_unknown` | `SubmitOutcomeUnknown` |
/// | `rejected` | `Rejected` |
/// | `auth_required` | `AuthRequired` |
/// | `transport_error` | `TransportFailed`, `RetriesExhausted` |
/// | `cancelled` | `Cancelled` |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Verdict {
    /// The job (or a synchronous operation) succeeded.
    Success,
    /// The job succeeded with warnings.
    SuccessWithWarnings,
    /// The job failed.
    Failure,
    /// Some parts of the job failed.
    PartialFailure,
    /// The job did not finish while waited for; resume it with the token.
    DeadlineExceeded,
    /// The server no longer knows the job.
    Expired,
    /// The submit may or may not have been done: check the server, never simply re-run.
    SubmitOutcomeUnknown,
    /// The server refused the operation.
    Rejected,
    /// The credentials were refused.
    AuthRequired,
    /// The server could not be reached or trusted.
    TransportError,
    /// The caller stopped waiting.
    Cancelled,
}

impl Verdict {
    /// The snake_case word, as [`Display`](core::fmt::Display) prints it.
    pub const fn name(self) -> &'static str {
        match self {
            Verdict::Success => "success",
            Verdict::SuccessWithWarnings => "success_with_warnings",
            Verdict::Failure => "failure",
            Verdict::PartialFailure => "partial_failure",
            Verdict::DeadlineExceeded => "deadline_exceeded",
            Verdict::Expired => "expired",
            Verdict::SubmitOutcomeUnknown => "submit_outcome_unknown",
            Verdict::Rejected => "rejected",
            Verdict::AuthRequired => "auth_required",
            Verdict::TransportError => "transport_error",
            Verdict::Cancelled => "cancelled",
        }
    }
}

impl core::fmt::Display for Verdict {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl Outcome {
    /// The verdict a script acts on (see [`Verdict`] for the table).
    pub const fn verdict(self) -> Verdict {
        match self {
            Outcome::Succeeded
            | Outcome::CompletedWithoutJob { .. }
            | Outcome::MultipleJobs { .. } => Verdict::Success,
            Outcome::SucceededWithWarnings => Verdict::SuccessWithWarnings,
            Outcome::Failed => Verdict::Failure,
            Outcome::PartiallyFailed => Verdict::PartialFailure,
            Outcome::DeadlineExceeded | Outcome::Paused | Outcome::UnknownState => {
                Verdict::DeadlineExceeded
            }
            Outcome::Expired => Verdict::Expired,
            Outcome::SubmitOutcomeUnknown => Verdict::SubmitOutcomeUnknown,
            Outcome::Rejected { .. } => Verdict::Rejected,
            Outcome::AuthRequired { .. } => Verdict::AuthRequired,
            Outcome::TransportFailed { .. } | Outcome::RetriesExhausted { .. } => {
                Verdict::TransportError
            }
            Outcome::Cancelled => Verdict::Cancelled,
        }
    }
}

/// One distinct snake_case word per variant ([`Outcome::name`]).
impl core::fmt::Display for Outcome {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

impl Outcome {
    /// True for outcomes where the job itself finished (whatever its result).
    pub const fn is_job_finished(&self) -> bool {
        matches!(
            self,
            Outcome::Succeeded
                | Outcome::SucceededWithWarnings
                | Outcome::PartiallyFailed
                | Outcome::Failed
                | Outcome::CompletedWithoutJob { .. }
        )
    }
}

/// What `handle_response` / `handle_eof` made of the bytes so far.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Received<'r> {
    /// The answer is incomplete: read more, append, call again.
    NeedMore,
    /// The answer is complete and was handled; stop reading and drain `poll`.
    Complete(Reply<'r>),
    /// The answer was unusable (malformed, too large, wrong encoding); stop reading and drain
    /// `poll` (which will say `Close`).
    Invalid(crate::http::HttpError),
}

/// A complete answer, with the borrowed parts the machine does not keep.
#[derive(Clone, Copy, Debug)]
pub struct Reply<'r> {
    /// HTTP status.
    pub status: u16,
    /// Bytes of the receive buffer this answer used; anything after belongs to the next one.
    pub consumed: usize,
    /// Whether the connection may be reused.
    pub keep_alive: bool,
    /// The job's message or the API error's message, escaped as received; lent, never copied.
    pub message: Option<JsonStr<'r>>,
    /// The job ids of a `jobs[]` answer, read straight from the body.
    pub jobs: Option<JobIds<'r>>,
    /// The id of the record a submit's success answer carried instead of a job (the object
    /// the change created or modified: [`Outcome::CompletedWithoutJob`]), as received.
    pub record_id: Option<JsonStr<'r>>,
}

/// The job ids listed in a `jobs[]` answer, read from the body on demand (no copy, no limit).
#[derive(Clone, Copy, Debug)]
pub struct JobIds<'r> {
    pub(crate) array: crate::json::Array<'r>,
    pub(crate) dialect: crate::dialect::Dialect,
}

impl<'r> JobIds<'r> {
    /// The ids, in body order. A record without a usable id is skipped.
    pub fn iter(&self) -> impl Iterator<Item = JsonStr<'r>> + 'r {
        let dialect = self.dialect;
        self.array
            .iter()
            .filter_map(move |record| dialect.job_record_id(record))
    }

    /// Number of records in the list (including any without a usable id).
    pub fn len(&self) -> usize {
        self.array.len()
    }

    /// True when the list is empty.
    pub fn is_empty(&self) -> bool {
        self.array.is_empty()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;
    use std::vec::Vec;

    #[test]
    fn outcome_names_are_distinct_snake_case() {
        let all = [
            Outcome::Succeeded,
            Outcome::SucceededWithWarnings,
            Outcome::PartiallyFailed,
            Outcome::Failed,
            Outcome::CompletedWithoutJob { status: 201 },
            Outcome::MultipleJobs { count: 2 },
            Outcome::DeadlineExceeded,
            Outcome::Expired,
            Outcome::SubmitOutcomeUnknown,
            Outcome::Rejected { status: 400 },
            Outcome::AuthRequired { status: 401 },
            Outcome::Cancelled,
            Outcome::TransportFailed {
                error: TransportError::Untrusted,
            },
            Outcome::RetriesExhausted {
                last: RetryCause::Status(503),
            },
            Outcome::Paused,
            Outcome::UnknownState,
        ];
        let names: Vec<_> = all.iter().map(ToString::to_string).collect();
        for (i, name) in names.iter().enumerate() {
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
            assert!(!names[..i].contains(name), "{name} twice");
        }
    }

    #[test]
    fn verdicts_follow_the_documented_table() {
        let table = [
            (Outcome::CompletedWithoutJob { status: 201 }, "success"),
            (Outcome::MultipleJobs { count: 3 }, "success"),
            (Outcome::Paused, "deadline_exceeded"),
            (Outcome::UnknownState, "deadline_exceeded"),
            (
                Outcome::RetriesExhausted {
                    last: RetryCause::Status(503),
                },
                "transport_error",
            ),
            (Outcome::SubmitOutcomeUnknown, "submit_outcome_unknown"),
            (Outcome::Cancelled, "cancelled"),
        ];
        for (outcome, verdict) in table {
            assert_eq!(outcome.verdict().to_string(), verdict, "{outcome:?}");
        }
    }

    #[test]
    fn events_print_their_payload() {
        let cases = [
            (Event::Accepted, "accepted"),
            (
                Event::StateChanged(JobState::Running),
                "state_changed running",
            ),
            (
                Event::Retrying {
                    cause: RetryCause::Status(503),
                    at: Instant::from_millis(31_000),
                },
                "retrying status 503 at 31000 ms",
            ),
            (
                Event::Retrying {
                    cause: RetryCause::Transport(TransportError::TimedOut),
                    at: Instant::from_millis(5),
                },
                "retrying transport timed_out at 5 ms",
            ),
            (
                Event::CancelRefused { status: Some(409) },
                "cancel_refused status 409",
            ),
            (
                Event::CancelRefused { status: None },
                "cancel_refused no_answer",
            ),
            (Event::ClockWentBackwards, "clock_went_backwards"),
        ];
        for (event, text) in cases {
            assert_eq!(event.to_string(), text);
        }
    }
}
