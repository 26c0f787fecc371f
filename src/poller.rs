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
use crate::error::{ConfigError, Error, MAX_QUERY_PAIRS, TransportError};
use crate::http::{self, HttpError, Method, Request, Response, ResponseParser, Status};
use crate::job_ref::{JobRef, MAX_CURSOR, MAX_JOB_REF, RefKind, job_ref_from, url_path};
use crate::json::{Code, JsonStr};
use crate::policy::{PausedPolicy, Rng, UnknownStatePolicy};
use crate::state::JobState;
use crate::time::Instant;
use crate::token::ResumeToken;
use crate::util::Bounded;

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
    /// A long poll answered: poll again at once (the server holds the next one).
    PollNow,
}

/// Where a server-side cancel stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum ServerCancel {
    None,
    /// To be sent at the next chance.
    Wanted,
    /// Sent; the answer is awaited (or came).
    Sent,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Conn {
    Closed,
    /// Open and reusable until `idle_until` (the server's `Keep-Alive: timeout`); its last
    /// answer arrived at `answered_at`.
    Open {
        idle_until: Instant,
        answered_at: Instant,
    },
}

/// A submit goes on a kept-alive connection (when the policy allows it) only if the connection
/// answered within this span and keeps at least this much of its keep-alive window.
const SUBMIT_REUSE_WINDOW: Duration = Duration::from_secs(1);

/// The shortest wait a server's `Retry-After` can ask for.
const MIN_SERVER_WAIT: Duration = Duration::from_secs(1);

/// What a machine knows of the connection its last answer came on: open or closed, and for how
/// long the server keeps it open when idle.
///
/// For adapters that pool connections between jobs (the tokio fleet): keep it with the
/// connection after each exchange ([`JobPoller::connection_state`]) and hand it to the next
/// job that uses that connection ([`JobPoller::adopt_connection`]), so that job's `Fresh` or
/// `Reuse` follows the connection it will really use, not the one it used last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConnectionState(Conn);

impl ConnectionState {
    /// No open connection: the next request opens one.
    pub const CLOSED: ConnectionState = ConnectionState(Conn::Closed);
}

/// An action waiting to be drained. A request keeps only its length here: its deadline,
/// purpose and connection are in the in-flight record it was written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Queued {
    Close,
    Event(Event),
    /// The request in flight, `Pending::send_len` bytes of `tx`.
    Send,
}

/// Up to four actions waiting to be drained (events, `Close`, the request just written).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct Pending {
    items: [Option<Queued>; 4],
    send_len: usize,
}

impl Pending {
    const EMPTY: Pending = Pending {
        items: [None; 4],
        send_len: 0,
    };

    fn push(&mut self, item: Queued) {
        if let Some(slot) = self.items.iter_mut().find(|s| s.is_none()) {
            *slot = Some(item);
        } else if let Some(last) = self.items.last_mut() {
            // Full: the newest replaces the last one. The machine never queues more than three
            // at once, so this is a safety net, not a path.
            *last = Some(item);
        }
    }

    /// Queues the request just written (`len` bytes); at most one is ever waiting.
    fn push_send(&mut self, len: usize) {
        self.send_len = len;
        self.push(Queued::Send);
    }

    /// Puts `item` first, ahead of what is waiting (the last one drops if all four are taken).
    fn push_front(&mut self, item: Queued) {
        self.items.rotate_right(1);
        if let Some(first) = self.items.first_mut() {
            *first = Some(item);
        }
    }

    /// The next action. A queued request whose in-flight record is gone (the job ended
    /// meanwhile) is dropped.
    fn pop(&mut self, in_flight: Option<&InFlight>) -> Option<Action> {
        loop {
            let first = self.items.first_mut()?.take()?;
            self.items.rotate_left(1);
            match first {
                Queued::Close => return Some(Action::Close),
                Queued::Event(event) => return Some(Action::Event(event)),
                Queued::Send => {
                    if let Some(f) = in_flight {
                        return Some(Action::SendRequest(SendRequest {
                            len: self.send_len,
                            deadline: f.deadline,
                            purpose: f.purpose,
                            // Only polls and cancels are queued (a submit is returned at once):
                            // sending either twice is harmless.
                            idempotent: true,
                            connection: if f.reused {
                                Connection::Reuse
                            } else {
                                Connection::Fresh
                            },
                        }));
                    }
                }
            }
        }
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
    dialect: Dialect,
    json_limits: crate::json::Limits,
    phase: Phase,
    done: Option<Outcome>,
    in_flight: Option<InFlight>,
    pending: Pending,
    conn: Conn,
    job: JobRef,
    raw_state: Bounded<MAX_RAW_STATE>,
    /// The server's last change marker, verbatim; empty when none (or too long to keep).
    cursor: Bounded<MAX_CURSOR>,
    /// Digest of the marker, to tell a change from a timed-out long poll.
    cursor_digest: u32,
    /// The server's `last_modified` comparison turned out inclusive: long polls send the
    /// marker advanced by its smallest unit.
    cursor_inclusive: bool,
    state: Option<JobState>,
    /// The last integer code (valid when `has_code`; an `Option<i64>` would cost 8 bytes more).
    code: i64,
    has_code: bool,
    submit_fingerprint: u32,
    /// Digest of the configuration strings the last job GET was written with (they were
    /// validated then); zero before the first.
    config_digest: u32,
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
    server_cancel: ServerCancel,
    /// The deadline passed and the dialect cancels on deadline: end once the cancel is answered.
    deadline_after_cancel: bool,
    resumed_past_purge: bool,
    stale_retry: bool,
    clock_backwards: bool,
}

impl JobPoller {
    fn blank(cfg: &Config<'_>, now: Instant, phase: Phase) -> Self {
        JobPoller {
            dialect: cfg.dialect,
            json_limits: cfg.json_limits,
            phase,
            done: None,
            in_flight: None,
            pending: Pending::EMPTY,
            conn: Conn::Closed,
            job: JobRef::NONE,
            raw_state: Bounded::EMPTY,
            cursor: Bounded::EMPTY,
            cursor_digest: 0,
            cursor_inclusive: false,
            state: None,
            code: 0,
            has_code: false,
            submit_fingerprint: 0,
            config_digest: 0,
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
            server_cancel: ServerCancel::None,
            deadline_after_cancel: false,
            resumed_past_purge: false,
            stale_retry: false,
            clock_backwards: false,
        }
    }

    /// A machine that will submit `op` and follow the job it starts. Validates the operation
    /// and the configuration up front (every string that goes on the wire).
    pub fn submit(cfg: &Config<'_>, op: &Submit<'_>, now: Instant) -> Result<Self, ConfigError> {
        cfg.dialect.validate()?;
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
        cfg.dialect.validate()?;
        let mut poller = Self::blank(cfg, now, Phase::Poll);
        poller.job = job_ref_from(job.as_bytes(), cfg.dialect.keeps_link_query())
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
        poller.cursor = saved.cursor;
        poller.cursor_digest = crate::util::fnv1a(saved.cursor.as_bytes());
        poller.cursor_inclusive = saved.cursor_inclusive;
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

    /// What the machine knows of its connection (see [`ConnectionState`]).
    pub fn connection_state(&self) -> ConnectionState {
        ConnectionState(self.conn)
    }

    /// The next request goes on a connection other than the one this machine last used (a
    /// pooling adapter's): `state` is that connection's, as another machine's
    /// [`connection_state`](Self::connection_state) left it, or [`ConnectionState::CLOSED`].
    /// Ignored while a request is in flight (that request's connection is the one in use).
    pub fn adopt_connection(&mut self, state: ConnectionState) {
        if self.in_flight.is_none() {
            self.conn = state.0;
        }
    }

    /// Raw state, normalized state, id and code last seen.
    pub fn last_seen(&self) -> JobView<'_> {
        JobView {
            job_id: self.job.id(),
            state: self.state,
            raw_state: self.raw_state.as_str(),
            code: self.has_code.then_some(self.code),
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
            dialect_tag: self.dialect.tag(),
            job: self.job,
            seen: self.seen,
            reduced_fields: self.reduced_fields,
            requests: self.requests,
            attempt: self.attempt,
            elapsed: now.saturating_duration_since(self.started),
            remaining: self.deadline.saturating_duration_since(now),
            rng_state: self.rng.state(),
            cursor: self.cursor,
            cursor_inclusive: self.cursor_inclusive,
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
        let parsed = in_flight.parser.parse_lazy_date(rx, filled);
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
        let parsed = in_flight.parser.parse_eof_lazy_date(rx, filled);
        self.finish_parse(now, parsed, rx)
    }

    /// The transport failed for the request in flight. No-op when none is in flight.
    pub fn handle_transport_error(&mut self, now: Instant, error: TransportError) {
        self.clamp(now);
        let Some(in_flight) = self.in_flight.take() else {
            return;
        };
        self.close_connection();
        if error == TransportError::Untrusted {
            self.finish(Outcome::TransportFailed { error });
            return;
        }
        self.request_failed(
            in_flight,
            RetryCause::Transport(error),
            error == TransportError::ConnectFailed,
        );
    }

    /// Time passed. If the request in flight is past its deadline it has failed: `Close` follows
    /// when it went on a kept-alive connection, and the next request asks for a `Fresh` one
    /// either way, so a late answer is never read as the answer to another request. Otherwise
    /// nothing happens, so calling early or twice is harmless.
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

    /// Moves the overall deadline to `now + from_now` when that is later, e.g. to keep following
    /// a job resumed from a token whose deadline had run out. No effect once done.
    pub fn extend_deadline(&mut self, now: Instant, from_now: Duration) {
        let now = self.clamp(now);
        if self.done.is_some() {
            return;
        }
        let new = now.saturating_add(from_now);
        if new > self.deadline {
            self.deadline = new;
            self.final_poll_sent = false;
        }
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

    /// Ask the server to cancel the job (ONTAP `PATCH /api/cluster/jobs/{uuid}?action=cancel`)
    /// and keep following it: the request goes out at the next `poll` (after any request in
    /// flight), its answer is reported as [`Event::CancelRequested`] or
    /// [`Event::CancelRefused`], and the job's own end is reported truthfully (ONTAP ends a
    /// cancelled job as success or failure; there is no cancelled state). Combine with
    /// [`cancel`](Self::cancel) to stop following once the cancel was answered.
    pub fn request_server_cancel(&mut self, now: Instant) -> Result<(), Error> {
        self.clamp(now);
        if !self.dialect.cancels_on_server() {
            return Err(Error::Config(ConfigError::CancelUnsupported));
        }
        if self.job.kind == RefKind::None || self.done.is_some() {
            return Err(Error::NoJob);
        }
        if self.server_cancel == ServerCancel::None {
            self.server_cancel = ServerCancel::Wanted;
        }
        Ok(())
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
        if let Some(action) = self.pending.pop(self.in_flight.as_ref()) {
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
            if self.server_cancel == ServerCancel::Wanted
                && self.job.kind != RefKind::None
                && matches!(self.phase, Phase::Poll | Phase::Sleep { .. })
            {
                self.send_cancel(cfg, now, tx)?;
                if let Some(action) = self.pending.pop(self.in_flight.as_ref()) {
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
                Phase::Decide(decision) => {
                    self.decide(cfg, now, decision);
                    if let Some(action) = self.pending.pop(self.in_flight.as_ref()) {
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
                        self.pending.push_front(Queued::Event(Event::FinalPoll));
                        return Ok(self
                            .pending
                            .pop(self.in_flight.as_ref())
                            .unwrap_or(Action::Event(Event::FinalPoll)));
                    }
                    if now >= self.deadline {
                        return Ok(Action::Done(self.finish(Outcome::DeadlineExceeded)));
                    }
                    self.send_poll(cfg, now, tx, Purpose::Poll)?;
                    return Ok(self
                        .pending
                        .pop(self.in_flight.as_ref())
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
                self.pending.push(Queued::Event(Event::ClockWentBackwards));
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

    fn close_connection(&mut self) {
        if self.conn != Conn::Closed || self.in_flight.is_some() {
            self.pending.push(Queued::Close);
        }
        self.conn = Conn::Closed;
    }

    fn submit_hold(&self, now: Instant) -> Option<(&'static str, u64)> {
        self.dialect
            .submit_hold(self.deadline.saturating_duration_since(now))
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
            hold: self.submit_hold(now),
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
        let hold = Duration::from_secs(writer.hold.map_or(0, |(_, secs)| secs));
        let deadline = now
            .saturating_add(hold)
            .saturating_add(cfg.policy.request_timeout);
        // A submit goes on a fresh connection, unless the policy allows a kept-alive one that
        // has just answered and is far from its idle limit: a server closing it as the submit
        // is written would leave the submit's fate unknown (never resent).
        let reuse = cfg.policy.reuse_connection_for_submit
            && match self.conn {
                Conn::Open {
                    idle_until,
                    answered_at,
                } => {
                    now.saturating_duration_since(answered_at) <= SUBMIT_REUSE_WINDOW
                        && now.saturating_add(SUBMIT_REUSE_WINDOW) < idle_until
                }
                Conn::Closed => false,
            };
        self.start_request(now, Purpose::Submit, deadline, cfg);
        if reuse {
            if let Some(f) = self.in_flight.as_mut() {
                f.reused = true;
            }
        } else {
            self.conn = Conn::Closed;
        }
        Ok(Action::SendRequest(SendRequest {
            len,
            deadline,
            purpose: Purpose::Submit,
            idempotent: op.method.is_safe(),
            connection: if reuse {
                Connection::Reuse
            } else {
                Connection::Fresh
            },
        }))
    }

    /// Writes the server-side cancel and queues its `SendRequest`.
    fn send_cancel(&mut self, cfg: &Config<'_>, now: Instant, tx: &mut [u8]) -> Result<(), Error> {
        let mut path_buf = [0u8; MAX_JOB_REF + 64];
        let path = self
            .job_path(&mut path_buf)
            .ok_or(Error::Config(ConfigError::JobRefLength))?;
        let request = Request {
            method: Method::Patch,
            authority: cfg.authority,
            path,
            query: &[("action", "cancel")],
            auth: cfg.auth,
            accept: cfg.accept,
            user_agent: cfg.user_agent,
            headers: cfg.headers,
            body: Some(b"{}"),
            connection_close: false,
        };
        let len = request.write(tx).map_err(request_error)?;
        let reuse = match self.conn {
            Conn::Open { idle_until, .. } => now < idle_until,
            Conn::Closed => false,
        };
        self.server_cancel = ServerCancel::Sent;
        let deadline = now.saturating_add(cfg.policy.request_timeout);
        self.start_request(now, Purpose::Cancel, deadline, cfg);
        if let Some(f) = self.in_flight.as_mut() {
            f.reused = reuse;
        }
        // Asking twice is harmless (ONTAP answers "already in a terminal state").
        self.pending.push_send(len);
        Ok(())
    }

    /// After the cancel's answer (or failure): poll at once, or end with the deadline.
    fn after_cancel(&mut self, event: Event) {
        self.pending.push(Queued::Event(event));
        if self.deadline_after_cancel {
            self.finish(Outcome::DeadlineExceeded);
        } else {
            self.phase = Phase::Poll;
        }
    }

    /// Writes a job GET and queues its `SendRequest`.
    fn send_poll(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        tx: &mut [u8],
        purpose: Purpose,
    ) -> Result<(), Error> {
        let mut path_buf = [0u8; MAX_JOB_REF + 64];
        // Only zeroed when a link carries a query.
        let mut decoded: [u8; MAX_JOB_REF + 64];
        let whole = self
            .job_path(&mut path_buf)
            .ok_or(Error::Config(ConfigError::JobRefLength))?;
        // A link that carries its own query (e.g. `api-version`): decoded, split into pairs, and
        // encoded again by the writer.
        let (path, link_query) = match crate::http::contains_byte(whole.as_bytes(), b'?') {
            true => {
                decoded = [0u8; MAX_JOB_REF + 64];
                let text = crate::http::percent_decode(whole.as_bytes(), &mut decoded)
                    .ok_or(Error::Config(ConfigError::JobRefLength))?;
                text.split_once('?').unwrap_or((text, ""))
            }
            false => (whole, ""),
        };
        let mut pairs = [("", ""); 8];
        let mut n = 0usize;
        for part in link_query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            if n >= pairs.len().saturating_sub(3) {
                return Err(Error::Config(ConfigError::TooManyQueryPairs));
            }
            push_pair(&mut pairs, &mut n, k, v);
        }
        // Query: `fields` where the API has it; for a long poll, the hold and the server's own
        // change marker (with the API's comparison operator, e.g. `>=`).
        let hold = if self.cursor.is_empty() {
            None
        } else {
            self.dialect
                .long_poll_hold(self.deadline.saturating_duration_since(now))
        };
        let mut hold_digits = [0u8; 20];
        let mut marker = [0u8; MAX_CURSOR + 8];
        if let Some(fields) = self.dialect.poll_fields(self.reduced_fields) {
            push_pair(&mut pairs, &mut n, "fields", fields);
        }
        let (hold_param, cursor_param, _) = self.dialect.long_poll_params();
        let hold = hold.and_then(|secs| {
            let value = self.long_poll_marker(&mut marker)?;
            push_pair(
                &mut pairs,
                &mut n,
                hold_param,
                crate::util::decimal(secs, &mut hold_digits),
            );
            push_pair(&mut pairs, &mut n, cursor_param, value);
            Some(secs)
        });
        let query = pairs.get(..n).unwrap_or(&[]);
        let request = Request {
            method: Method::Get,
            authority: cfg.authority,
            path,
            query,
            auth: cfg.auth,
            accept: cfg.accept,
            user_agent: cfg.user_agent,
            headers: cfg.headers,
            body: None,
            connection_close: false,
        };
        // The configuration strings are checked once per configuration, not on every poll.
        let digest = request.config_digest();
        let written = if digest == self.config_digest {
            request.write_validated_config(tx)
        } else {
            request.write(tx)
        };
        let len = written.map_err(request_error)?;
        self.config_digest = digest;
        let reuse = match self.conn {
            Conn::Open { idle_until, .. } => now < idle_until && !self.stale_retry,
            Conn::Closed => false,
        };
        if !reuse && self.conn != Conn::Closed {
            self.conn = Conn::Closed;
        }
        let held = Duration::from_secs(hold.unwrap_or(0));
        let deadline = now
            .saturating_add(held)
            .saturating_add(cfg.policy.request_timeout);
        self.start_request(now, purpose, deadline, cfg);
        if let Some(f) = self.in_flight.as_mut() {
            f.reused = reuse;
            f.hold_secs = u8::try_from(hold.unwrap_or(0)).unwrap_or(u8::MAX);
        }
        self.pending.push_send(len);
        Ok(())
    }

    fn start_request(
        &mut self,
        now: Instant,
        purpose: Purpose,
        deadline: Instant,
        cfg: &Config<'_>,
    ) {
        crate::log::debug!(
            "jobpoll: sending {:?} at {:?}, deadline {:?}",
            purpose,
            now,
            deadline
        );
        self.requests = self.requests.saturating_add(1);
        self.in_flight = Some(InFlight {
            purpose,
            deadline,
            sent_at: now,
            hold_secs: 0,
            reused: false,
            parser: ResponseParser::new(cfg.http_limits),
        });
    }

    /// `>=` and the change marker (advanced by its smallest unit when the server compares
    /// inclusively), in `buf`.
    fn long_poll_marker<'b>(&self, buf: &'b mut [u8; MAX_CURSOR + 8]) -> Option<&'b str> {
        let cursor = self.cursor.as_bytes();
        let (_, _, prefix) = self.dialect.long_poll_params();
        let start = prefix.len();
        let end = start.checked_add(cursor.len())?;
        buf.get_mut(..start)?.copy_from_slice(prefix.as_bytes());
        buf.get_mut(start..end)?.copy_from_slice(cursor);
        if self.cursor_inclusive && !crate::dialect::advance_timestamp(buf.get_mut(start..end)?) {
            return None;
        }
        core::str::from_utf8(buf.get(..end)?).ok()
    }

    /// Keeps the server's change marker; returns true when it differs from the last one.
    fn record_cursor(&mut self, cursor: Option<JsonStr<'_>>) -> bool {
        let Some(cursor) = cursor else { return false };
        let digest = crate::util::fnv1a(cursor.raw());
        let changed = self.cursor.is_empty() || digest != self.cursor_digest;
        self.cursor = Bounded::new(cursor.raw())
            .filter(|_| !cursor.has_escapes())
            .unwrap_or(Bounded::EMPTY);
        self.cursor_digest = digest;
        changed
    }

    fn job_path<'b>(&self, buf: &'b mut [u8]) -> Option<&'b str> {
        let (base, middle) = match self.job.kind {
            RefKind::None => return None,
            RefKind::Path => ("", ""),
            RefKind::Id => self.dialect.job_path_parts(),
        };
        let mut len = 0usize;
        for part in [base.as_bytes(), middle.as_bytes(), self.job.text.as_bytes()] {
            let end = len.checked_add(part.len())?;
            buf.get_mut(len..end)?.copy_from_slice(part);
            len = end;
        }
        core::str::from_utf8(buf.get(..len)?).ok()
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
                        answered_at: now,
                    };
                } else {
                    self.conn = Conn::Open {
                        idle_until: now,
                        answered_at: now,
                    };
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
        if in_flight.purpose == Purpose::Cancel {
            self.after_cancel(Event::CancelRefused { status: None });
            return;
        }
        if in_flight.purpose == Purpose::Submit {
            // The server had the submit; whatever it did is unknown.
            self.finish(Outcome::SubmitOutcomeUnknown);
            return;
        }
        match error {
            HttpError::BodyTooLarge { status: 200, .. } if !self.reduced_fields => {
                self.reduced_fields = true;
                self.pending.push(Queued::Event(Event::FieldsReduced));
                self.redo_now(in_flight);
            }
            HttpError::NoResponse if in_flight.reused && !self.stale_retry => {
                // The server closed an idle keep-alive connection as we wrote: resend at once on
                // a fresh connection, without counting a failure.
                self.stale_retry = true;
                self.pending.push(Queued::Event(Event::Retrying {
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
        if in_flight.purpose == Purpose::Cancel {
            // Not retried: the job is followed either way, and its end says what happened.
            self.after_cancel(Event::CancelRefused { status: None });
            return;
        }
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
        // The same plain text as last time copies to the same bytes: nothing changes.
        if self.state == Some(state) && !raw.has_escapes() && raw.raw() == self.raw_state.as_bytes()
        {
            return;
        }
        let raw_copy = Bounded::from_chars(raw.chars());
        let changed = self.state != Some(state) || raw_copy != self.raw_state;
        self.raw_state = raw_copy;
        self.state = Some(state);
        if changed {
            crate::log::info!("jobpoll: job state {:?}", state);
            self.pending.push(Queued::Event(Event::StateChanged(state)));
            if state == JobState::Unknown {
                self.pending.push(Queued::Event(Event::UnknownState));
            }
        }
    }

    fn record_code(&mut self, code: Option<Code<'_>>) {
        if let Some(code) = code {
            (self.code, self.has_code) = match code {
                Code::Int(i) => (i, true),
                _ => (0, false),
            };
        }
    }

    fn record_job(&mut self, uuid: Option<JsonStr<'_>>, href: Option<JsonStr<'_>>) -> bool {
        let mut href_buf = [0u8; MAX_JOB_REF];
        let mut id_buf = [0u8; MAX_JOB_REF];
        let from_href = href
            .and_then(|h| h.unescape_into(&mut href_buf).ok())
            .and_then(|h| job_ref_from(h.as_bytes(), self.dialect.keeps_link_query()));
        let from_uuid = uuid
            .and_then(|u| u.unescape_into(&mut id_buf).ok())
            .filter(|u| !u.is_empty() && !u.starts_with('/'))
            .and_then(|u| job_ref_from(u.as_bytes(), false));
        let job = match (from_uuid, from_href) {
            // The standard link adds nothing to the id: keep the shorter form.
            (Some(id), Some(path))
                if is_standard_path(self.dialect, path.text.as_str(), id.text.as_str()) =>
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
        // A wait under a second (`Retry-After: 0`, a date already past) would spend the whole
        // retry budget in a burst: the server gets at least a second.
        let server_wait = response
            .retry_after
            .and_then(|r| r.delay(response.date))
            .map(|wait| wait.max(MIN_SERVER_WAIT));
        if in_flight.purpose == Purpose::Cancel {
            if let Some(error) = self.dialect.parse_error(body, self.json_limits) {
                reply.message = error.message;
            }
            let status = response.status;
            self.after_cancel(if (200..300).contains(&status) {
                Event::CancelRequested
            } else {
                Event::CancelRefused {
                    status: Some(status),
                }
            });
        } else if in_flight.purpose == Purpose::Submit {
            let header_href = self
                .dialect
                .id_header()
                .and_then(|name| response.header(rx, name))
                .and_then(url_path);
            self.on_submit_answer(response.status, body, header_href, server_wait, &mut reply);
        } else {
            self.on_poll_answer(
                now,
                in_flight,
                response.status,
                body,
                server_wait,
                &mut reply,
            );
        }
        reply
    }

    fn on_submit_answer<'r>(
        &mut self,
        status: u16,
        body: &'r [u8],
        header_href: Option<&[u8]>,
        server_wait: Option<Duration>,
        reply: &mut Reply<'r>,
    ) {
        let answer = self
            .dialect
            .parse_submit_answer(body, self.json_limits)
            .ok();
        // A job named by a header (e.g. `Operation-Location`) of a success answer.
        if let (200..=299, Some(href)) = (status, header_href) {
            if let Some(job) = job_ref_from(href, self.dialect.keeps_link_query()) {
                self.job = job;
                self.pending.push(Queued::Event(Event::Accepted));
                let job = answer.and_then(|a| a.job);
                reply.message = job.and_then(|j| j.message_for_state());
                let state = job.and_then(|j| j.state_raw.zip(j.state));
                if let Some((raw, state)) = state {
                    self.seen = true;
                    self.record_state(raw, state);
                    if let Some(outcome) = terminal_outcome(state) {
                        self.finish(outcome);
                        return;
                    }
                }
                self.phase = Phase::Decide(Decision::Accepted);
                return;
            }
        }
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
                    reply.jobs = Some(JobIds {
                        array: jobs,
                        dialect: self.dialect,
                    });
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
                if !self.record_job(job.id, job.href) {
                    // An id we cannot store is a job we cannot follow.
                    self.finish(Outcome::SubmitOutcomeUnknown);
                    return;
                }
                self.pending.push(Queued::Event(Event::Accepted));
                reply.message = job.message_for_state().or(reply.message);
                self.record_cursor(job.cursor);
                self.record_code(job.code);
                let state = job.state_raw.zip(job.state);
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
                    if self.record_job(job.id, job.href) {
                        reply.message = reply.message.or(job.best_message());
                        self.record_code(job.code);
                        let state = job.state_raw.zip(job.state);
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

    /// What follows a non-terminal answer. A long poll that saw a change, or held for its
    /// time, is followed at once by the next long poll (no backoff, not a failure). One that
    /// came back early with nothing changed means the server's `last_modified` comparison is
    /// inclusive: the marker is advanced by its smallest unit from then on; if that does not
    /// help either, polling falls back to the normal backoff, so it never spins.
    fn after_long_poll(
        &mut self,
        now: Instant,
        in_flight: InFlight,
        changed: bool,
        state: JobState,
    ) -> Decision {
        if in_flight.hold_secs == 0 {
            return Decision::Polled(state);
        }
        let left = self.deadline.saturating_duration_since(now);
        if self.cursor.is_empty() || self.dialect.long_poll_hold(left).is_none() {
            // The next request cannot be a long poll: the normal schedule (and the final poll
            // at the deadline) takes over.
            return Decision::Polled(state);
        }
        let held = now.saturating_duration_since(in_flight.sent_at);
        let hold = Duration::from_secs(u64::from(in_flight.hold_secs));
        if changed || held.saturating_mul(2) >= hold {
            return Decision::PollNow;
        }
        if !self.cursor_inclusive {
            self.cursor_inclusive = true;
            return Decision::PollNow;
        }
        Decision::Polled(state)
    }

    fn on_poll_answer<'r>(
        &mut self,
        now: Instant,
        in_flight: InFlight,
        status: u16,
        body: &'r [u8],
        server_wait: Option<Duration>,
        reply: &mut Reply<'r>,
    ) {
        let failed = |cause| {
            Phase::Decide(Decision::Failed {
                cause,
                server_wait,
                next: Next::Poll,
            })
        };
        match status {
            200..=299 => {
                let job = self.dialect.parse_job(body, self.json_limits).ok();
                let Some((job, raw, state)) = job.and_then(|j| Some((j, j.state_raw?, j.state?)))
                else {
                    self.phase = failed(RetryCause::InvalidResponse);
                    return;
                };
                self.seen = true;
                self.failures = 0;
                self.not_found_since = None;
                self.stale_retry = false;
                reply.message = job.message_for_state();
                self.record_code(job.code);
                // The first sighting of a state is not a change the server reported.
                let state_changed = self.state.is_some_and(|s| s != state);
                let cursor_changed = self.record_cursor(job.cursor);
                self.record_state(raw, state);
                if let Some(outcome) = terminal_outcome(state) {
                    self.finish(outcome);
                    return;
                }
                self.phase = Phase::Decide(self.after_long_poll(
                    now,
                    in_flight,
                    state_changed || cursor_changed,
                    state,
                ));
            }
            404 => {
                if let Some(error) = self.dialect.parse_error(body, self.json_limits) {
                    reply.message = error.message;
                }
                self.phase = Phase::Decide(Decision::NotFound);
            }
            401 | 403 => {
                self.finish(Outcome::AuthRequired { status });
            }
            408 | 425 | 429 | 500..=599 => self.phase = failed(RetryCause::Status(status)),
            _ => {
                if let Some(error) = self.dialect.parse_error(body, self.json_limits) {
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
            Decision::Accepted => {
                let left = self.deadline.saturating_duration_since(now);
                if !self.cursor.is_empty() && self.dialect.long_poll_hold(left).is_some() {
                    // The server holds the first poll until the job changes.
                    self.phase = Phase::Poll;
                } else {
                    self.schedule_poll(cfg, now);
                }
            }
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
            Decision::FinishedLinkOnly => {
                if self.dialect.confirms_finished_link() {
                    self.phase = Phase::Poll;
                } else {
                    self.finish(Outcome::Succeeded);
                }
            }
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
                    self.pending.push(Queued::Event(Event::Retrying {
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
                    crate::log::warning!("jobpoll: {:?}; retry at {:?}", cause, self.sleep_until());
                    self.pending.push(Queued::Event(Event::Retrying {
                        cause,
                        at: self.sleep_until(),
                    }));
                }
            }
            Decision::RedoNow | Decision::PollNow => self.phase = Phase::Poll,
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
            if next == Next::Poll
                && self.dialect.cancels_on_deadline()
                && self.server_cancel == ServerCancel::None
                && self.job.kind != RefKind::None
            {
                // Cancel the job on the server before reporting the deadline.
                self.server_cancel = ServerCancel::Wanted;
                self.deadline_after_cancel = true;
                self.phase = Phase::Poll;
                return false;
            }
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

/// True when `path` is exactly the dialect's path for the job `id`.
fn is_standard_path(dialect: Dialect, path: &str, id: &str) -> bool {
    let (base, middle) = dialect.job_path_parts();
    path.strip_prefix(base).and_then(|p| p.strip_prefix(middle)) == Some(id)
}

/// Writes the submit request with the machine's own query pairs added.
struct SubmitWriter<'a> {
    cfg: &'a Config<'a>,
    op: &'a Submit<'a>,
    /// The server-side hold parameter and its seconds, if the dialect has one.
    hold: Option<(&'static str, u64)>,
}

impl SubmitWriter<'_> {
    fn with_request<T>(&self, f: impl FnOnce(&Request<'_>) -> T) -> T {
        let mut digits = [0u8; 20];
        let mut pairs = [("", ""); MAX_QUERY_PAIRS + 1];
        let mut n = 0usize;
        for (slot, pair) in pairs.iter_mut().zip(self.op.query.iter()) {
            *slot = *pair;
            n = n.saturating_add(1);
        }
        if let Some((name, secs)) = self.hold {
            if let Some(slot) = pairs.get_mut(n) {
                *slot = (name, crate::util::decimal(secs, &mut digits));
                n = n.saturating_add(1);
            }
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

fn push_pair<'a>(pairs: &mut [(&'a str, &'a str)], n: &mut usize, name: &'a str, value: &'a str) {
    if let Some(slot) = pairs.get_mut(*n) {
        *slot = (name, value);
        *n = n.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    /// The machine's size for the dialects built in, against a budget: a regression check.
    /// `bash benches/sizes.sh` runs it once per dialect for BENCHMARKS.md.
    #[test]
    fn machine_size_for_the_dialects_built_in() {
        let size = core::mem::size_of::<JobPoller>();
        // 480 B with ONTAP alone (x86_64); the change marker of the long-polling dialects adds
        // 56, the longer job references of the others 72.
        let mut budget = 480;
        if MAX_CURSOR > 0 {
            budget += 56;
        }
        if MAX_JOB_REF > 64 {
            budget += 72;
        }
        std::println!(
            "JobPoller {size} B (budget {budget} B): ResponseParser {} B kept while a request \
             is in flight, job reference {} B, change marker {} B",
            core::mem::size_of::<ResponseParser>(),
            core::mem::size_of::<JobRef>(),
            core::mem::size_of::<Bounded<MAX_CURSOR>>(),
        );
        assert!(
            size <= budget,
            "JobPoller grew to {size} B (budget {budget} B)"
        );
    }
}
