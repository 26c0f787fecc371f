//! [`JobPoller`]: the one state machine that takes a job from submit to outcome.
//!
//! It owns no buffer, no socket and no clock. Inputs are `handle_*` calls carrying `now`;
//! outputs come from [`JobPoller::poll`], drained in one loop (see the crate docs).

use core::time::Duration;

use crate::action::{
    Action, Connection, Event, JobIds, Outcome, Purpose, Received, Reply, RetryCause, SendRequest,
};
use crate::config::{Config, Submit};
use crate::dialect::Dialect;
use crate::error::{ConfigError, Error, TransportError};
use crate::http::{self, HttpError, Method, Request, Response, ResponseParser, Status};
use crate::json::{Code, JsonStr};
use crate::policy::{PausedPolicy, Rng, UnknownStatePolicy};
use crate::state::{Bounded, JobState};
use crate::time::Instant;
use crate::token::ResumeToken;

/// Longest job id or job href the machine stores, in bytes.
pub const MAX_JOB_REF: usize = 128;
/// Most query pairs a [`Submit`] may carry.
pub const MAX_QUERY_PAIRS: usize = 8;
/// Longest raw state string kept (longer ones are cut at a character boundary).
pub const MAX_RAW_STATE: usize = 24;

/// How the machine names the job to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) enum RefKind {
    /// No job yet.
    None,
    /// A bare id: the path is built from the dialect's template.
    Id,
    /// A path taken from the server's link (query stripped).
    Path,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct JobRef {
    pub(crate) kind: RefKind,
    pub(crate) text: Bounded<MAX_JOB_REF>,
}

impl JobRef {
    const NONE: JobRef = JobRef {
        kind: RefKind::None,
        text: Bounded::EMPTY,
    };

    /// The job id: the bare id, or the last segment of the path.
    fn id(&self) -> Option<&str> {
        match self.kind {
            RefKind::None => None,
            RefKind::Id => Some(self.text.as_str()),
            RefKind::Path => self.text.as_str().rsplit('/').find(|s| !s.is_empty()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Phase {
    /// The submit is to be written.
    Submit,
    /// A job GET is to be written.
    Poll,
    /// Waiting; then `then`.
    Sleep { until: Instant, then: Next },
    /// An answer or a failure was recorded by a `handle_*` call; the next `poll`, which has
    /// the configuration, turns it into the next step.
    Decide(Decision),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Decision {
    /// The server accepted the submit and named the job: schedule the first poll.
    Accepted,
    /// A poll answered with a non-terminal state.
    Polled(JobState),
    /// A 200/201 named the job but gave no state: it finished within `return_timeout`.
    FinishedLinkOnly,
    /// 404 for the job.
    NotFound,
    /// The request failed; retry `next` after the policy's delay or the server's wait.
    Failed {
        cause: RetryCause,
        server_wait: Option<Duration>,
        next: Next,
    },
    /// Redo the poll at once (fewer fields, stale connection).
    RedoNow,
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
    reused: bool,
    parser: ResponseParser,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Conn {
    Closed,
    /// Open and reusable until `idle_until` (the server's `Keep-Alive: timeout`).
    Open {
        idle_until: Instant,
    },
}

/// Up to four actions waiting to be drained (events, `Close`).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct Pending {
    items: [Option<Action>; 4],
}

impl Pending {
    const EMPTY: Pending = Pending { items: [None; 4] };

    fn push(&mut self, action: Action) {
        if let Some(slot) = self.items.iter_mut().find(|s| s.is_none()) {
            *slot = Some(action);
        } else if let Some(last) = self.items.last_mut() {
            // Full: the newest replaces the last one. The machine never queues more than three
            // at once, so this is a safety net, not a path.
            *last = Some(action);
        }
    }

    fn pop(&mut self) -> Option<Action> {
        let first = self.items.first_mut()?.take()?;
        self.items.rotate_left(1);
        Some(first)
    }
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
    dialect_tag: u8,
    json_limits: crate::json::Limits,
    phase: Phase,
    done: Option<Outcome>,
    in_flight: Option<InFlight>,
    pending: Pending,
    conn: Conn,
    job: JobRef,
    raw_state: Bounded<MAX_RAW_STATE>,
    state: Option<JobState>,
    code: Option<i64>,
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
    cancel_requested: bool,
    resumed_past_purge: bool,
    stale_retry: bool,
    clock_backwards: bool,
}

impl JobPoller {
    fn blank(cfg: &Config<'_>, now: Instant, phase: Phase) -> Self {
        JobPoller {
            dialect_tag: cfg.dialect.tag(),
            json_limits: cfg.json_limits,
            phase,
            done: None,
            in_flight: None,
            pending: Pending::EMPTY,
            conn: Conn::Closed,
            job: JobRef::NONE,
            raw_state: Bounded::EMPTY,
            state: None,
            code: None,
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
            cancel_requested: false,
            resumed_past_purge: false,
            stale_retry: false,
            clock_backwards: false,
        }
    }

    /// A machine that will submit `op` and follow the job it starts. Validates the operation
    /// and the configuration up front (every string that goes on the wire).
    pub fn submit(cfg: &Config<'_>, op: &Submit<'_>, now: Instant) -> Result<Self, ConfigError> {
        check_dialect_options(cfg)?;
        if op.query.len() > MAX_QUERY_PAIRS {
            return Err(ConfigError::TooManyQueryPairs);
        }
        if op
            .query
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("return_timeout"))
        {
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
        check_dialect_options(cfg)?;
        let mut poller = Self::blank(cfg, now, Phase::Poll);
        poller.job = job_ref_from(job.as_bytes()).ok_or(ConfigError::JobRefLength)?;
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
        check_dialect_options(cfg)?;
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
        poller.resumed_past_purge = offline_for > cfg.policy.purge_window;
        poller.submit_fingerprint = Submit::NONE.fingerprint();
        Ok(poller)
    }

    // ---------------------------------------------------------------- getters

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
        JobView {
            job_id: self.job.id(),
            state: self.state,
            raw_state: self.raw_state.as_str(),
            code: self.code,
        }
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
            dialect_tag: self.dialect_tag,
            job: self.job,
            seen: self.seen,
            reduced_fields: self.reduced_fields,
            requests: self.requests,
            attempt: self.attempt,
            elapsed: now.saturating_duration_since(self.started),
            remaining: self.deadline.saturating_duration_since(now),
            rng_state: self.rng.state(),
        }))
    }

    // ---------------------------------------------------------------- inputs

    /// Feed the answer received so far: `rx[..filled]` holds every byte read for the request
    /// in flight (append and call again on `NeedMore`). The machine may rewrite `rx[..filled]` in
    /// place (chunked framing removed). When `filled == rx.len()` and the answer is incomplete,
    /// it is treated as too large.
    pub fn handle_response<'r>(
        &mut self,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<Received<'r>, Error> {
        let now = self.clamp(now);
        let Some(in_flight) = self.in_flight.as_mut() else {
            return Err(Error::NoRequestInFlight);
        };
        if filled > rx.len() {
            return Err(Error::FilledBeyondBuffer);
        }
        let parsed = in_flight.parser.parse(rx, filled);
        self.finish_parse(now, parsed, rx)
    }

    /// The peer closed the connection cleanly after `rx[..filled]`: this completes an answer
    /// delimited by the close; anything else incomplete is a failed request.
    pub fn handle_eof<'r>(
        &mut self,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<Received<'r>, Error> {
        let now = self.clamp(now);
        let Some(in_flight) = self.in_flight.as_mut() else {
            return Err(Error::NoRequestInFlight);
        };
        if filled > rx.len() {
            return Err(Error::FilledBeyondBuffer);
        }
        let parsed = in_flight.parser.parse_eof(rx, filled);
        self.finish_parse(now, parsed, rx)
    }

    /// The transport failed for the request in flight. No-op when none is in flight.
    pub fn handle_transport_error(&mut self, now: Instant, error: TransportError) {
        self.clamp(now);
        let Some(in_flight) = self.in_flight.take() else {
            return;
        };
        self.close_connection();
        self.request_failed(
            in_flight,
            RetryCause::Transport(error),
            error == TransportError::ConnectFailed,
        );
    }

    /// Time passed. If the request in flight is past its deadline it has failed (and `Close`
    /// follows); otherwise nothing happens, so calling early or twice is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clamp(now);
        let Some(in_flight) = self.in_flight else {
            return;
        };
        if now < in_flight.deadline {
            return;
        }
        self.in_flight = None;
        self.close_connection();
        self.request_failed(
            in_flight,
            RetryCause::Transport(TransportError::TimedOut),
            false,
        );
    }

    /// Stop following the job (client side): the next `poll` gives
    /// [`Outcome::Cancelled`] (after `Close` if a request was in flight). The job id and resume
    /// token stay available. No-op once done.
    pub fn cancel(&mut self, now: Instant) {
        self.clamp(now);
        if self.done.is_some() {
            return;
        }
        self.cancel_requested = true;
        if self.in_flight.take().is_some() {
            self.close_connection();
        }
    }

    // ---------------------------------------------------------------- output

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
        if let Some(action) = self.pending.pop() {
            return Ok(action);
        }
        if let Some(outcome) = self.done {
            return Ok(Action::Done(outcome));
        }
        if self.cancel_requested {
            return Ok(Action::Done(self.finish(Outcome::Cancelled)));
        }
        if let Some(in_flight) = self.in_flight {
            if now >= in_flight.deadline {
                self.handle_timeout(now);
                return self.poll(cfg, op, now, tx);
            }
            return Ok(Action::SleepUntil(in_flight.deadline));
        }
        loop {
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
                Phase::Decide(decision) => {
                    self.decide(cfg, now, decision);
                    if let Some(action) = self.pending.pop() {
                        return Ok(action);
                    }
                    if let Some(outcome) = self.done {
                        return Ok(Action::Done(outcome));
                    }
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
                        let send = self.pending.pop();
                        self.pending.push(Action::Event(Event::FinalPoll));
                        if let Some(send) = send {
                            self.pending.push(send);
                        }
                        return Ok(self
                            .pending
                            .pop()
                            .unwrap_or(Action::Event(Event::FinalPoll)));
                    }
                    if now >= self.deadline {
                        return Ok(Action::Done(self.finish(Outcome::DeadlineExceeded)));
                    }
                    self.send_poll(cfg, now, tx, Purpose::Poll)?;
                    return Ok(self
                        .pending
                        .pop()
                        .unwrap_or(Action::Done(Outcome::DeadlineExceeded)));
                }
            }
        }
    }

    // ---------------------------------------------------------------- internals

    fn clamp(&mut self, now: Instant) -> Instant {
        if now < self.last_now {
            // Reported once per episode, so a drain loop that keeps passing the same stale
            // `now` still ends.
            if self.done.is_none() && !self.clock_backwards {
                self.clock_backwards = true;
                self.pending.push(Action::Event(Event::ClockWentBackwards));
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
        let outcome = *self.done.get_or_insert(outcome);
        if self.in_flight.take().is_some() {
            self.close_connection();
        }
        outcome
    }

    fn close_connection(&mut self) {
        if self.conn != Conn::Closed || self.in_flight.is_some() {
            self.pending.push(Action::Close);
        }
        self.conn = Conn::Closed;
    }

    fn return_timeout_secs(&self, cfg: &Config<'_>, now: Instant) -> u64 {
        match cfg.dialect {
            #[cfg(feature = "ontap")]
            Dialect::Ontap(o) => {
                let left = self.deadline.saturating_duration_since(now).as_secs();
                o.return_timeout
                    .as_secs()
                    .min(left)
                    .min(crate::dialect::ontap::MAX_RETURN_TIMEOUT.as_secs())
            }
        }
    }

    fn submit_request<'a>(
        &self,
        cfg: &'a Config<'a>,
        op: &'a Submit<'a>,
        now: Instant,
    ) -> SubmitWriter<'a> {
        SubmitWriter {
            cfg,
            op,
            return_timeout: self.return_timeout_secs(cfg, now),
        }
    }

    fn send_submit(
        &mut self,
        cfg: &Config<'_>,
        op: &Submit<'_>,
        now: Instant,
        tx: &mut [u8],
    ) -> Result<Action, Error> {
        if op.fingerprint() != self.submit_fingerprint {
            return Err(Error::Config(ConfigError::SubmitChanged));
        }
        let writer = self.submit_request(cfg, op, now);
        let len = writer.write(tx).map_err(request_error)?;
        let hold = Duration::from_secs(writer.return_timeout);
        let deadline = now
            .saturating_add(hold)
            .saturating_add(cfg.policy.request_timeout);
        self.start_request(now, Purpose::Submit, deadline, cfg);
        // A submit always goes on a fresh connection.
        self.conn = Conn::Closed;
        Ok(Action::SendRequest(SendRequest {
            len,
            deadline,
            purpose: Purpose::Submit,
            idempotent: op.method.is_safe(),
            connection: Connection::Fresh,
        }))
    }

    /// Writes a job GET and queues its `SendRequest`.
    fn send_poll(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        tx: &mut [u8],
        purpose: Purpose,
    ) -> Result<(), Error> {
        let mut path_buf = [0u8; MAX_JOB_REF + 32];
        let path = self
            .job_path(cfg, &mut path_buf)
            .ok_or(Error::Config(ConfigError::JobRefLength))?;
        let fields = if self.reduced_fields {
            crate::dialect::ontap::FIELDS_REDUCED
        } else {
            crate::dialect::ontap::FIELDS
        };
        let query = [("fields", fields)];
        let request = Request {
            method: Method::Get,
            authority: cfg.authority,
            path,
            query: &query,
            auth: cfg.auth,
            accept: cfg.accept,
            user_agent: cfg.user_agent,
            headers: cfg.headers,
            body: None,
            connection_close: false,
        };
        let len = request.write(tx).map_err(request_error)?;
        let reuse = match self.conn {
            Conn::Open { idle_until } => now < idle_until && !self.stale_retry,
            Conn::Closed => false,
        };
        if !reuse && self.conn != Conn::Closed {
            self.conn = Conn::Closed;
        }
        let deadline = now.saturating_add(cfg.policy.request_timeout);
        self.start_request(now, purpose, deadline, cfg);
        if let Some(f) = self.in_flight.as_mut() {
            f.reused = reuse;
        }
        self.pending.push(Action::SendRequest(SendRequest {
            len,
            deadline,
            purpose,
            idempotent: true,
            connection: if reuse {
                Connection::Reuse
            } else {
                Connection::Fresh
            },
        }));
        Ok(())
    }

    fn start_request(
        &mut self,
        _now: Instant,
        purpose: Purpose,
        deadline: Instant,
        cfg: &Config<'_>,
    ) {
        self.requests = self.requests.saturating_add(1);
        self.in_flight = Some(InFlight {
            purpose,
            deadline,
            reused: false,
            parser: ResponseParser::new(cfg.http_limits),
        });
    }

    fn job_path<'b>(&self, _cfg: &Config<'_>, buf: &'b mut [u8]) -> Option<&'b str> {
        let (prefix, text): (&[u8], &[u8]) = match self.job.kind {
            RefKind::None => return None,
            RefKind::Path => (b"", self.job.text.as_bytes()),
            RefKind::Id => (
                crate::dialect::ontap::JOBS_PATH.as_bytes(),
                self.job.text.as_bytes(),
            ),
        };
        let total = prefix.len().checked_add(text.len())?;
        let (head, tail) = buf.get_mut(..total)?.split_at_mut(prefix.len());
        head.copy_from_slice(prefix);
        tail.copy_from_slice(text);
        core::str::from_utf8(buf.get(..total)?).ok()
    }

    fn finish_parse<'r>(
        &mut self,
        now: Instant,
        parsed: Result<Status, HttpError>,
        rx: &'r mut [u8],
    ) -> Result<Received<'r>, Error> {
        let rx: &'r [u8] = rx;
        let Some(in_flight) = self.in_flight else {
            return Err(Error::NoRequestInFlight);
        };
        match parsed {
            Ok(Status::Complete(response)) => {
                self.in_flight = None;
                if response.keep_alive {
                    let idle = response.keep_alive_timeout.unwrap_or(Duration::MAX);
                    self.conn = Conn::Open {
                        idle_until: now.saturating_add(idle),
                    };
                } else {
                    self.conn = Conn::Open { idle_until: now };
                    self.close_connection();
                }
                Ok(Received::Complete(
                    self.on_response(now, in_flight, &response, rx),
                ))
            }
            Ok(_) => Ok(Received::NeedMore),
            Err(error) => {
                self.in_flight = None;
                self.close_connection();
                self.on_invalid(now, in_flight, error);
                Ok(Received::Invalid(error))
            }
        }
    }

    fn on_invalid(&mut self, now: Instant, in_flight: InFlight, error: HttpError) {
        if in_flight.purpose == Purpose::Submit {
            // The server had the submit; whatever it did is unknown.
            self.finish(Outcome::SubmitOutcomeUnknown);
            return;
        }
        match error {
            HttpError::BodyTooLarge { status: 200, .. } if !self.reduced_fields => {
                self.reduced_fields = true;
                self.pending.push(Action::Event(Event::FieldsReduced));
                self.redo_now(in_flight);
            }
            HttpError::NoResponse if in_flight.reused && !self.stale_retry => {
                // The server closed an idle keep-alive connection as we wrote: resend at once on
                // a fresh connection, without counting a failure.
                self.stale_retry = true;
                self.pending.push(Action::Event(Event::Retrying {
                    cause: RetryCause::StaleConnection,
                    at: now,
                }));
                self.redo_now(in_flight);
            }
            HttpError::NoResponse | HttpError::Truncated => self.request_failed(
                in_flight,
                RetryCause::Transport(TransportError::ReadFailed),
                false,
            ),
            _ => self.request_failed(in_flight, RetryCause::InvalidResponse, false),
        }
    }

    /// The same poll again, at once. A redone final poll is still the final poll.
    fn redo_now(&mut self, in_flight: InFlight) {
        if in_flight.purpose == Purpose::FinalPoll {
            self.final_poll_sent = false;
        }
        self.phase = Phase::Decide(Decision::RedoNow);
    }

    /// A request failed without a usable answer.
    fn request_failed(&mut self, in_flight: InFlight, cause: RetryCause, nothing_sent: bool) {
        let next = if in_flight.purpose == Purpose::Submit {
            if !nothing_sent {
                // It may have reached the server: never sent again.
                self.finish(Outcome::SubmitOutcomeUnknown);
                return;
            }
            Next::Submit
        } else {
            Next::Poll
        };
        self.phase = Phase::Decide(Decision::Failed {
            cause,
            server_wait: None,
            next,
        });
    }

    fn record_state(&mut self, raw: JsonStr<'_>, state: JobState) {
        let raw_copy = Bounded::from_chars(raw.chars());
        let changed = self.state != Some(state) || raw_copy != self.raw_state;
        self.raw_state = raw_copy;
        self.state = Some(state);
        if changed {
            self.pending.push(Action::Event(Event::StateChanged(state)));
            if state == JobState::Unknown {
                self.pending.push(Action::Event(Event::UnknownState));
            }
        }
    }

    fn record_code(&mut self, code: Option<Code<'_>>) {
        if let Some(code) = code {
            self.code = match code {
                Code::Int(i) => Some(i),
                _ => None,
            };
        }
    }

    fn record_job(&mut self, uuid: Option<JsonStr<'_>>, href: Option<JsonStr<'_>>) -> bool {
        let mut href_buf = [0u8; MAX_JOB_REF];
        let mut id_buf = [0u8; MAX_JOB_REF];
        let from_href = href
            .and_then(|h| h.unescape_into(&mut href_buf).ok())
            .and_then(|h| job_ref_from(h.as_bytes()));
        let from_uuid = uuid
            .and_then(|u| u.unescape_into(&mut id_buf).ok())
            .filter(|u| !u.is_empty() && !u.starts_with('/'))
            .and_then(|u| job_ref_from(u.as_bytes()));
        let job = match (from_uuid, from_href) {
            // The standard link adds nothing to the id: keep the shorter form.
            (Some(id), Some(path))
                if path
                    .text
                    .as_str()
                    .strip_prefix(crate::dialect::ontap::JOBS_PATH)
                    == Some(id.text.as_str()) =>
            {
                Some(id)
            }
            (_, Some(path)) => Some(path),
            (id, None) => id,
        };
        match job {
            Some(job) => {
                self.job = job;
                true
            }
            None => false,
        }
    }

    fn on_response<'r>(
        &mut self,
        now: Instant,
        in_flight: InFlight,
        response: &Response,
        rx: &'r [u8],
    ) -> Reply<'r> {
        let body = response.body(rx);
        let mut reply = Reply {
            status: response.status,
            consumed: response.consumed,
            keep_alive: response.keep_alive,
            message: None,
            jobs: None,
        };
        let server_wait = response.retry_after.and_then(|r| r.delay(response.date));
        if in_flight.purpose == Purpose::Submit {
            self.on_submit_answer(response.status, body, server_wait, &mut reply);
        } else {
            self.on_poll_answer(now, response.status, body, server_wait, &mut reply);
        }
        reply
    }

    fn on_submit_answer<'r>(
        &mut self,
        status: u16,
        body: &'r [u8],
        server_wait: Option<Duration>,
        reply: &mut Reply<'r>,
    ) {
        use crate::dialect::ontap;
        let answer = ontap::parse_submit_answer(body, self.json_limits).ok();
        if let Some(error) = answer.and_then(|a| a.error) {
            reply.message = error.message;
            self.record_code(error.code);
        }
        match status {
            401 | 403 => {
                self.finish(Outcome::AuthRequired { status });
            }
            // Refused before any work was done: safe to send again.
            429 | 503 => {
                self.phase = Phase::Decide(Decision::Failed {
                    cause: RetryCause::Status(status),
                    server_wait,
                    next: Next::Submit,
                });
            }
            200..=299 => {
                let Some(answer) = answer else {
                    let outcome = if status == 202 {
                        Outcome::SubmitOutcomeUnknown
                    } else {
                        Outcome::CompletedWithoutJob { status }
                    };
                    self.finish(outcome);
                    return;
                };
                if let (Some(jobs), None) = (answer.jobs, answer.job) {
                    let count = u32::try_from(jobs.len()).unwrap_or(u32::MAX);
                    reply.jobs = Some(JobIds { array: jobs });
                    self.finish(Outcome::MultipleJobs { count });
                    return;
                }
                let job = answer.job.filter(|j| j.has_id());
                let Some(job) = job else {
                    let outcome = if status == 202 {
                        Outcome::SubmitOutcomeUnknown
                    } else {
                        Outcome::CompletedWithoutJob { status }
                    };
                    self.finish(outcome);
                    return;
                };
                if !self.record_job(job.uuid, job.href) {
                    // An id we cannot store is a job we cannot follow.
                    self.finish(Outcome::SubmitOutcomeUnknown);
                    return;
                }
                self.pending.push(Action::Event(Event::Accepted));
                reply.message = job.best_message().or(reply.message);
                self.record_code(job.code);
                let state = job.state.map(|raw| (raw, ontap::normalize_state(raw)));
                if let Some((raw, state)) = state {
                    self.seen = true;
                    self.record_state(raw, state);
                    if let Some(outcome) = terminal_outcome(state) {
                        self.finish(outcome);
                        return;
                    }
                }
                self.phase = Phase::Decide(match (status, state) {
                    (202, _) => Decision::Accepted,
                    (_, Some((_, state))) => Decision::Polled(state),
                    (_, None) => Decision::FinishedLinkOnly,
                });
            }
            _ => {
                // An error after the hold may still name the job that failed.
                let job = answer.and_then(|a| a.job).filter(|j| j.has_id());
                if let Some(job) = job {
                    if self.record_job(job.uuid, job.href) {
                        reply.message = reply.message.or(job.best_message());
                        self.record_code(job.code);
                        let state = job.state.map(|raw| (raw, ontap::normalize_state(raw)));
                        if let Some((raw, state)) = state {
                            self.seen = true;
                            self.record_state(raw, state);
                        }
                        let outcome = state
                            .and_then(|(_, s)| terminal_outcome(s))
                            .unwrap_or(Outcome::Failed);
                        self.finish(outcome);
                        return;
                    }
                }
                let outcome = match status {
                    500 | 502 | 504 => Outcome::SubmitOutcomeUnknown,
                    _ => Outcome::Rejected { status },
                };
                self.finish(outcome);
            }
        }
    }

    fn on_poll_answer<'r>(
        &mut self,
        now: Instant,
        status: u16,
        body: &'r [u8],
        server_wait: Option<Duration>,
        reply: &mut Reply<'r>,
    ) {
        use crate::dialect::ontap;
        let failed = |cause| {
            Phase::Decide(Decision::Failed {
                cause,
                server_wait,
                next: Next::Poll,
            })
        };
        match status {
            200..=299 => {
                let job = ontap::parse_job(body, self.json_limits).ok();
                let Some((job, raw)) = job.and_then(|j| Some((j, j.state?))) else {
                    self.phase = failed(RetryCause::InvalidResponse);
                    return;
                };
                let _ = now;
                self.seen = true;
                self.failures = 0;
                self.not_found_since = None;
                self.stale_retry = false;
                reply.message = job.best_message();
                self.record_code(job.code);
                let state = ontap::normalize_state(raw);
                self.record_state(raw, state);
                match terminal_outcome(state) {
                    Some(outcome) => {
                        self.finish(outcome);
                    }
                    None => self.phase = Phase::Decide(Decision::Polled(state)),
                }
            }
            404 => {
                if let Some(error) = ontap::parse_error(body, self.json_limits) {
                    reply.message = error.message;
                }
                self.phase = Phase::Decide(Decision::NotFound);
            }
            401 | 403 => {
                self.finish(Outcome::AuthRequired { status });
            }
            408 | 425 | 429 | 500..=599 => self.phase = failed(RetryCause::Status(status)),
            _ => {
                if let Some(error) = ontap::parse_error(body, self.json_limits) {
                    reply.message = error.message;
                    self.record_code(error.code);
                }
                self.finish(Outcome::Rejected { status });
            }
        }
    }

    /// Turns a recorded answer into the next step, with the configuration at hand.
    fn decide(&mut self, cfg: &Config<'_>, now: Instant, decision: Decision) {
        let policy = &cfg.policy;
        match decision {
            Decision::Accepted => self.schedule_poll(cfg, now),
            Decision::Polled(state) => {
                self.attempt = self.attempt.saturating_add(1);
                if state == JobState::Paused && policy.on_paused == PausedPolicy::Stop {
                    self.finish(Outcome::Paused);
                } else if state == JobState::Unknown
                    && policy.on_unknown_state == UnknownStatePolicy::Stop
                {
                    self.finish(Outcome::UnknownState);
                } else {
                    self.schedule_poll(cfg, now);
                }
            }
            Decision::FinishedLinkOnly => match cfg.dialect {
                #[cfg(feature = "ontap")]
                Dialect::Ontap(o) if o.confirm_with_get => self.phase = Phase::Poll,
                #[allow(unreachable_patterns)]
                _ => {
                    self.finish(Outcome::Succeeded);
                }
            },
            Decision::NotFound => {
                let since = *self.not_found_since.get_or_insert(now);
                if self.seen
                    || self.resumed_past_purge
                    || now.saturating_duration_since(since) >= policy.not_found_grace
                {
                    self.finish(Outcome::Expired);
                    return;
                }
                let gap = policy.poll_interval(self.attempt, self.elapsed(), self.rng.next_u32());
                let at = now.saturating_add(gap);
                if self.schedule(now, at, Next::Poll) {
                    self.pending.push(Action::Event(Event::Retrying {
                        cause: RetryCause::NotYetVisible,
                        at: self.sleep_until(),
                    }));
                }
            }
            Decision::Failed {
                cause,
                server_wait,
                next,
            } => {
                self.failures = self.failures.saturating_add(1);
                if self.failures > policy.max_retries {
                    self.finish(Outcome::RetriesExhausted { last: cause });
                    return;
                }
                if next == Next::Poll && now >= self.deadline && !self.final_poll_sent {
                    // The failure came after the deadline with no answer at or after it: the
                    // final poll still happens, now.
                    self.phase = Phase::Poll;
                    return;
                }
                let wait = server_wait
                    .unwrap_or_else(|| policy.retry_delay(self.failures, self.rng.next_u32()));
                let at = now.saturating_add(wait);
                if self.schedule(now, at, next) {
                    self.pending.push(Action::Event(Event::Retrying {
                        cause,
                        at: self.sleep_until(),
                    }));
                }
            }
            Decision::RedoNow => self.phase = Phase::Poll,
        }
    }

    fn sleep_until(&self) -> Instant {
        match self.phase {
            Phase::Sleep { until, .. } => until,
            _ => self.last_now,
        }
    }

    fn schedule_poll(&mut self, cfg: &Config<'_>, now: Instant) {
        let gap = cfg
            .policy
            .poll_interval(self.attempt, self.elapsed(), self.rng.next_u32());
        self.schedule(now, now.saturating_add(gap), Next::Poll);
    }

    /// Sleeps until `at` then does `next`, within the deadline: a poll due after the deadline is
    /// moved to the deadline (the final poll); an answer that arrives at or after the deadline
    /// ends the wait. Returns false when it finished instead.
    fn schedule(&mut self, now: Instant, at: Instant, next: Next) -> bool {
        if now >= self.deadline || (next == Next::Submit && at >= self.deadline) {
            self.finish(Outcome::DeadlineExceeded);
            return false;
        }
        self.phase = Phase::Sleep {
            until: at.min(self.deadline),
            then: next,
        };
        true
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

fn request_error(e: http::RequestError) -> Error {
    match e {
        http::RequestError::BufferTooSmall { required } => Error::BufferTooSmall { required },
        other => Error::Config(ConfigError::Request(other)),
    }
}

fn check_dialect_options(cfg: &Config<'_>) -> Result<(), ConfigError> {
    match cfg.dialect {
        #[cfg(feature = "ontap")]
        Dialect::Ontap(o) => {
            if o.return_timeout > crate::dialect::ontap::MAX_RETURN_TIMEOUT {
                return Err(ConfigError::ReturnTimeoutOutOfRange);
            }
        }
    }
    Ok(())
}

/// A job reference from an id or an href: an href (starts with '/') keeps its path without
/// any query or fragment; anything else is a bare id.
fn job_ref_from(text: &[u8]) -> Option<JobRef> {
    if text.first() == Some(&b'/') {
        let end = text
            .iter()
            .position(|&b| b == b'?' || b == b'#')
            .unwrap_or(text.len());
        let path = text.get(..end)?;
        let bounded = Bounded::new(path).filter(|_| path.len() > 1)?;
        core::str::from_utf8(path).ok()?;
        return Some(JobRef {
            kind: RefKind::Path,
            text: bounded,
        });
    }
    core::str::from_utf8(text).ok()?;
    let bounded = Bounded::new(text).filter(|b| !b.is_empty())?;
    Some(JobRef {
        kind: RefKind::Id,
        text: bounded,
    })
}

/// Writes the submit request with the machine's own query pairs added.
struct SubmitWriter<'a> {
    cfg: &'a Config<'a>,
    op: &'a Submit<'a>,
    return_timeout: u64,
}

impl SubmitWriter<'_> {
    fn with_request<T>(&self, f: impl FnOnce(&Request<'_>) -> T) -> T {
        let mut digits = [0u8; 20];
        let rt = format_u64(self.return_timeout, &mut digits);
        let mut pairs = [("", ""); MAX_QUERY_PAIRS + 1];
        let mut n = 0usize;
        for (slot, pair) in pairs.iter_mut().zip(self.op.query.iter()) {
            *slot = *pair;
            n = n.saturating_add(1);
        }
        if let Some(slot) = pairs.get_mut(n) {
            *slot = ("return_timeout", rt);
            n = n.saturating_add(1);
        }
        let request = Request {
            method: self.op.method,
            authority: self.cfg.authority,
            path: self.op.path,
            query: pairs.get(..n).unwrap_or(&[]),
            auth: self.cfg.auth,
            accept: self.cfg.accept,
            user_agent: self.cfg.user_agent,
            headers: self.cfg.headers,
            body: self.op.body,
            connection_close: false,
        };
        f(&request)
    }

    fn encoded_len(&self) -> Result<usize, http::RequestError> {
        self.with_request(|r| r.encoded_len())
    }

    fn write(&self, tx: &mut [u8]) -> Result<usize, http::RequestError> {
        self.with_request(|r| r.write(tx))
    }
}

/// Decimal digits of `n` in `buf`.
fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    while let Some(next) = i.checked_sub(1) {
        i = next;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0'.saturating_add((n % 10) as u8);
        }
        n /= 10;
        if n == 0 {
            break;
        }
    }
    core::str::from_utf8(buf.get(i..).unwrap_or(&[])).unwrap_or("0")
}
