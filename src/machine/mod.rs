//! [`JobPoller`]: the one state machine that takes a job from submit to outcome.
//!
//! It owns no buffer, no socket and no clock. Inputs are `handle_*` calls carrying `now`;
//! outputs come from [`JobPoller::poll`], drained in one loop (see the crate docs).

mod answer;
mod cancel;
mod conn;
mod exchange;
mod inputs;
mod last_seen;
mod outbox;
mod parsed;
mod request;
mod schedule;
mod submit_answer;

use core::time::Duration;

use crate::action::{Action, Event, Outcome, Purpose, RetryCause};
use crate::config::{Config, Submit};
use crate::dialect::Dialect;
use crate::error::{ConfigError, Error, MAX_QUERY_PAIRS};
use crate::http::ResponseParser;
use crate::job_ref::{ChangeMarker, JobRef, RefKind, job_ref_from};
use crate::policy::Rng;
use crate::state::JobState;
use crate::time::Instant;
use crate::token::ResumeToken;

use cancel::Cancels;
use conn::Conn;
use last_seen::LastSeen;
use outbox::Outbox;

pub use conn::ConnectionState;
pub(crate) use exchange::after_read;
pub use exchange::{AfterRead, Exchange, Machine};
pub use parsed::ParsedAnswer;

/// Longest raw state string kept (longer ones are cut at a character boundary).
pub const MAX_RAW_STATE: usize = 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Phase {
    /// The submit is to be written.
    Submit,
    /// A job GET is to be written.
    Poll,
    /// Waiting; then `then`.
    Sleep { until: Instant, then: Next },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Decision {
    /// The server accepted the submit and named the job: schedule the first poll.
    Accepted,
    /// A poll answered with a non-terminal state.
    Polled(JobState),
    /// A 200/201 named the job but gave no state: it finished within the submit's hold.
    FinishedLinkOnly,
    /// 404 for the job.
    NotFound,
    /// The request failed; retry `next` after the policy's delay or the server's wait.
    Failed {
        cause: RetryCause,
        server_wait: Option<Duration>,
        next: Next,
    },
    /// A long poll answered: poll again at once (the server holds the next one).
    PollNow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Next {
    Submit,
    Poll,
}

#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct InFlight {
    purpose: Purpose,
    deadline: Instant,
    sent_at: Instant,
    /// Seconds the server was asked to hold the request (long poll), zero for a plain request.
    hold_secs: u8,
    reused: bool,
    parser: ResponseParser,
}

/// The raw facts last seen about the job, for reporting.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct JobView<'p> {
    /// The job id, once the server named it.
    pub job_id: Option<&'p str>,
    /// The normalized state, once seen.
    pub state: Option<JobState>,
    /// The raw state string as received (cut at [`MAX_RAW_STATE`] bytes); empty before any.
    pub raw_state: &'p str,
    /// The job's `code` (or the API error's code), when it was an integer or a numeric string.
    pub code: Option<i64>,
}

/// The job state machine. Owned, `Clone`, no lifetime, no type parameter: it fits a `'static`
/// task and is snapshotted into a [`ResumeToken`].
///
/// Method families: constructors ([`submit`](Self::submit), [`watch`](Self::watch),
/// [`resume`](Self::resume)); inputs `handle_*` and [`cancel`](Self::cancel); the output
/// [`poll`](Self::poll); getters on `&self`.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct JobPoller {
    dialect: Dialect,
    json_limits: crate::json::Limits,
    phase: Phase,
    done: Option<Outcome>,
    in_flight: Option<InFlight>,
    outbox: Outbox,
    conn: Conn,
    job: JobRef,
    last_seen: LastSeen,
    /// The server's change marker, for long polls.
    marker: ChangeMarker,
    submit_fingerprint: u32,
    started: Instant,
    deadline: Instant,
    last_now: Instant,
    not_found_since: Option<Instant>,
    requests: u32,
    attempt: u16,
    failures: u8,
    rng: Rng,
    seen: bool,
    reduced_fields: bool,
    final_poll_sent: bool,
    cancels: Cancels,
    resumed_past_purge: bool,
    stale_retry: bool,
    clock_backwards: bool,
    /// The driver asked for no server-side hold on the submit ([`JobPoller::allow_submit_hold`]).
    submit_hold_waived: bool,
    /// When the job is expected to end (`Policy::expected` when the machine was made, or the
    /// resume token's).
    #[cfg(feature = "estimate")]
    expected: Option<crate::estimate::Expected>,
}

impl JobPoller {
    fn blank(cfg: &Config<'_>, now: Instant, phase: Phase) -> Self {
        JobPoller {
            dialect: cfg.dialect,
            json_limits: cfg.json_limits,
            phase,
            done: None,
            in_flight: None,
            outbox: Outbox::EMPTY,
            conn: Conn::Closed,
            job: JobRef::NONE,
            last_seen: LastSeen::NOTHING,
            marker: ChangeMarker::NONE,
            submit_fingerprint: 0,
            started: now,
            deadline: now.saturating_add(cfg.policy.deadline),
            last_now: now,
            not_found_since: None,
            requests: 0,
            attempt: 0,
            failures: 0,
            rng: Rng::new(cfg.policy.seed),
            seen: false,
            reduced_fields: false,
            final_poll_sent: false,
            cancels: Cancels::NONE,
            resumed_past_purge: false,
            stale_retry: false,
            clock_backwards: false,
            submit_hold_waived: false,
            #[cfg(feature = "estimate")]
            expected: cfg.policy.expected,
        }
    }

    /// A machine that will submit `op` and follow the job it starts. Validates the operation
    /// and the configuration up front (every string that goes on the wire).
    pub fn submit(cfg: &Config<'_>, op: &Submit<'_>, now: Instant) -> Result<Self, ConfigError> {
        cfg.dialect.validate()?;
        if op.query.len() > MAX_QUERY_PAIRS {
            return Err(ConfigError::TooManyQueryPairs);
        }
        let profile = cfg.dialect.profile();
        if op.query.iter().any(|(k, _)| profile.reserves_query_name(k)) {
            return Err(ConfigError::ReservedQueryParameter);
        }
        let mut poller = Self::blank(cfg, now, Phase::Submit);
        poller.submit_fingerprint = op.fingerprint();
        // Validate by sizing the real request once.
        poller
            .submit_request(cfg, op, now)
            .encoded_len()
            .map_err(ConfigError::Request)?;
        Ok(poller)
    }

    /// A machine that follows an existing job, named by its id or by its href
    /// (e.g. `/api/cluster/jobs/{uuid}`; a query part is ignored).
    pub fn watch(cfg: &Config<'_>, job: &str, now: Instant) -> Result<Self, ConfigError> {
        cfg.dialect.validate()?;
        // The caller's own string: a line break is a mistake to report, not to encode.
        crate::http::check_crlf_nul(job.as_bytes(), crate::http::RequestPart::Path)
            .map_err(ConfigError::Request)?;
        let mut poller = Self::blank(cfg, now, Phase::Poll);
        poller.job = job_ref_from(job.as_bytes(), cfg.dialect.profile().link_keeps_query)
            .ok_or(ConfigError::JobRefLength)?;
        poller.submit_fingerprint = Submit::NONE.fingerprint();
        Ok(poller)
    }

    /// A machine restored from a [`ResumeToken`] after `offline_for` (the time the caller was
    /// down, as well as it knows it: the caller's epoch does not survive a restart). The
    /// deadline left in the token is reduced by `offline_for`; when the offline time exceeds
    /// the server's purge window, a 404 means the job expired.
    pub fn resume(
        cfg: &Config<'_>,
        token: &ResumeToken,
        offline_for: Duration,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        cfg.dialect.validate()?;
        let saved = token.decode()?;
        if saved.dialect_tag != cfg.dialect.tag() {
            return Err(ConfigError::TokenDialectMismatch);
        }
        let mut poller = Self::blank(cfg, now, Phase::Poll);
        poller.job = saved.job;
        poller.seen = saved.seen;
        poller.reduced_fields = saved.reduced_fields;
        poller.requests = saved.requests;
        poller.attempt = saved.attempt;
        poller.started = now.saturating_sub(saved.elapsed.saturating_add(offline_for));
        poller.deadline = now.saturating_add(saved.remaining.saturating_sub(offline_for));
        poller.rng = Rng::new(saved.rng_state);
        poller.marker = saved.marker;
        poller.resumed_past_purge = offline_for > cfg.policy.purge_window;
        #[cfg(feature = "estimate")]
        if saved.expected.is_some() {
            poller.expected = saved.expected;
        }
        poller.submit_fingerprint = Submit::NONE.fingerprint();
        Ok(poller)
    }

    /// The job id, once the server named it (a uuid, key or id; for a job known only by its
    /// link, the link's last segment).
    pub fn job_id(&self) -> Option<&str> {
        self.job.id()
    }

    /// The job's path on the server, as the machine polls it (without query), when known
    /// by link; `None` when the path is built from the id.
    pub fn job_href(&self) -> Option<&str> {
        match self.job.kind {
            RefKind::Path => Some(self.job.text.as_str()),
            _ => None,
        }
    }

    /// Raw state, normalized state, id and code last seen.
    pub fn last_seen(&self) -> JobView<'_> {
        self.last_seen.view(self.job.id())
    }

    /// Requests written so far (submit and polls, retries included).
    pub fn requests(&self) -> u32 {
        self.requests
    }

    /// Time since the submit (or, after a resume, since the original submit as far as known).
    pub fn elapsed(&self) -> Duration {
        self.last_now.saturating_duration_since(self.started)
    }

    /// The overall deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The outcome, once there is one.
    pub fn outcome(&self) -> Option<Outcome> {
        self.done
    }

    /// True while a request is in flight (written and not yet answered).
    pub fn is_request_in_flight(&self) -> bool {
        self.in_flight.is_some()
    }

    /// When the machine next needs the driver's attention without any input: the end of a
    /// sleep or the deadline of the request in flight. `None` once done (or when `poll` has
    /// work right now).
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.done.is_some() {
            return None;
        }
        if let Some(f) = &self.in_flight {
            return Some(f.deadline);
        }
        match self.phase {
            Phase::Sleep { until, .. } => Some(until),
            _ => None,
        }
    }

    /// A snapshot to pick the job up again after a restart, once the server named the job.
    /// Available after `Done` too (e.g. after a deadline, a 401, a transport failure).
    pub fn resume_token(&self) -> Option<ResumeToken> {
        if self.job.kind == RefKind::None {
            return None;
        }
        let now = self.last_now;
        Some(ResumeToken::encode(&crate::token::Saved {
            dialect_tag: self.dialect.tag(),
            job: self.job,
            seen: self.seen,
            reduced_fields: self.reduced_fields,
            requests: self.requests,
            attempt: self.attempt,
            elapsed: now.saturating_duration_since(self.started),
            remaining: self.deadline.saturating_duration_since(now),
            rng_state: self.rng.state(),
            marker: self.marker,
            #[cfg(feature = "estimate")]
            expected: self.expected,
        }))
    }

    /// The next action. Writes a request into `tx` when one is due. Pass the same `op` as to
    /// [`submit`](Self::submit) (or [`Submit::NONE`] for a watched or resumed job).
    ///
    /// `Err` changes nothing: `BufferTooSmall` asks for a larger `tx`, `Config` for a fixed
    /// configuration.
    pub fn poll(
        &mut self,
        cfg: &Config<'_>,
        op: &Submit<'_>,
        now: Instant,
        tx: &mut [u8],
    ) -> Result<Action, Error> {
        let now = self.clamp(now);
        if let Some(action) = self.outbox.pop(self.in_flight.as_ref()) {
            return Ok(action);
        }
        if let Some(outcome) = self.done {
            return Ok(Action::Done(outcome));
        }
        if self.cancels.client {
            return Ok(Action::Done(self.finish(Outcome::Cancelled)));
        }
        if let Some(in_flight) = self.in_flight {
            if now >= in_flight.deadline {
                self.handle_timeout(cfg, now);
                return self.poll(cfg, op, now, tx);
            }
            return Ok(Action::SleepUntil(in_flight.deadline));
        }
        loop {
            if self.cancels.server_due()
                && self.job.kind != RefKind::None
                && matches!(self.phase, Phase::Poll | Phase::Sleep { .. })
            {
                self.send_cancel(cfg, now, tx)?;
                if let Some(action) = self.outbox.pop(self.in_flight.as_ref()) {
                    return Ok(action);
                }
            }
            match self.phase {
                Phase::Sleep { until, then } => {
                    if now < until {
                        return Ok(Action::SleepUntil(until));
                    }
                    self.phase = match then {
                        Next::Submit => Phase::Submit,
                        Next::Poll => Phase::Poll,
                    };
                }
                Phase::Submit => return self.send_submit(cfg, op, now, tx),
                Phase::Poll => {
                    if now >= self.deadline && !self.final_poll_sent {
                        self.final_poll_sent = true;
                        if let Err(e) = self.send_poll(cfg, now, tx, Purpose::FinalPoll) {
                            self.final_poll_sent = false;
                            return Err(e);
                        }
                        // The request is written; report the final poll before it.
                        self.outbox.push_event(Event::FinalPoll);
                        return Ok(self
                            .outbox
                            .pop(self.in_flight.as_ref())
                            .unwrap_or(Action::Event(Event::FinalPoll)));
                    }
                    if now >= self.deadline {
                        return Ok(Action::Done(self.finish(Outcome::DeadlineExceeded)));
                    }
                    self.send_poll(cfg, now, tx, Purpose::Poll)?;
                    return Ok(self
                        .outbox
                        .pop(self.in_flight.as_ref())
                        .unwrap_or(Action::Done(Outcome::DeadlineExceeded)));
                }
            }
        }
    }

    fn clamp(&mut self, now: Instant) -> Instant {
        if now < self.last_now {
            // Reported once per episode, so a drain loop that keeps passing the same stale
            // `now` still ends.
            if self.done.is_none() && !self.clock_backwards {
                self.clock_backwards = true;
                self.outbox.push_event(Event::ClockWentBackwards);
            }
            return self.last_now;
        }
        if now > self.last_now {
            self.clock_backwards = false;
        }
        self.last_now = now;
        now
    }

    fn finish(&mut self, outcome: Outcome) -> Outcome {
        if self.done.is_none() {
            crate::log::info!(
                "jobpoll: done {:?} after {:?} requests",
                outcome,
                self.requests
            );
        }
        let outcome = *self.done.get_or_insert(outcome);
        if self.in_flight.take().is_some() {
            self.close_connection();
        }
        outcome
    }
}

fn terminal_outcome(state: JobState) -> Option<Outcome> {
    match state {
        JobState::Succeeded => Some(Outcome::Succeeded),
        JobState::SucceededWithWarnings => Some(Outcome::SucceededWithWarnings),
        JobState::PartiallyFailed => Some(Outcome::PartiallyFailed),
        JobState::Failed => Some(Outcome::Failed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::job_ref::{MAX_CURSOR, MAX_JOB_REF};

    /// The machine's size for the dialects built in, against a budget: a regression check.
    /// `bash benches/sizes.sh` runs it once per dialect for BENCHMARKS.md.
    #[test]
    fn machine_size_for_the_dialects_built_in() {
        let size = core::mem::size_of::<JobPoller>();
        // 464 B with ONTAP alone (x86_64); the change marker of the long-polling dialects adds
        // 56, the longer job references of the others 72, the expected window 8.
        let mut budget = 464;
        if MAX_CURSOR > 0 {
            budget += 56;
        }
        if MAX_JOB_REF > 64 {
            budget += 72;
        }
        // The expected window (`Policy::expected`, feature `estimate`): two 32-bit offsets and
        // the option's tag, 8 B once packed (at most 16 B were allowed for it).
        if cfg!(feature = "estimate") {
            budget += 8;
        }
        std::println!(
            "JobPoller {size} B (budget {budget} B): ResponseParser {} B kept while a request \
             is in flight, job reference {} B, change marker {} B",
            core::mem::size_of::<ResponseParser>(),
            core::mem::size_of::<JobRef>(),
            core::mem::size_of::<ChangeMarker>(),
        );
        assert!(
            size <= budget,
            "JobPoller grew to {size} B (budget {budget} B)"
        );
    }
}
