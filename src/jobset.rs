//! [`JobSet`]: several jobs followed over one connection, for answers that start more than one
//! (ONTAP `jobs[]` for a PATCH or DELETE addressed by a query).
//!
//! The caller owns the storage: one [`JobPoller`] per id, made with
//! [`JobPoller::watch`] from the ids lent by the submit's [`Reply::jobs`](crate::Reply::jobs),
//! as many as it chooses to hold. The set interleaves them (the one due first goes next), so a
//! job that ends early is seen before the server purges it, and never has two requests in
//! flight.

use crate::action::{Action, Event, Outcome, Received, Reply, SendRequest, Step};
use crate::config::{Config, Submit};
use crate::error::{Error, TransportError};
use crate::machine::{AfterRead, ConnectionState, JobPoller, Machine, after_read};
use crate::time::Instant;

/// What a [`JobSet`] asks of its driver: the same as [`Action`], with the index of the job
/// concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SetAction {
    /// Send `tx[..len]` for job `index`; feed the answer to the set's `handle_*`.
    SendRequest {
        /// Which job.
        index: usize,
        /// The request.
        request: SendRequest,
    },
    /// Close the connection.
    Close,
    /// Nothing to do before this instant.
    SleepUntil(Instant),
    /// An event of job `index`.
    Event {
        /// Which job.
        index: usize,
        /// What happened.
        event: Event,
    },
    /// Every job has an outcome; this one sums them up (see [`JobSet::aggregate`]).
    Done(Outcome),
}

/// Several machines driven as one. See the module docs.
#[derive(Debug)]
pub struct JobSet<'s> {
    jobs: &'s mut [JobPoller],
    active: Option<usize>,
}

impl<'s> JobSet<'s> {
    /// A set over the caller's machines (usually made with [`JobPoller::watch`]).
    pub fn new(jobs: &'s mut [JobPoller]) -> Self {
        JobSet { jobs, active: None }
    }

    /// The machines, e.g. to read each outcome and id.
    pub fn jobs(&self) -> &[JobPoller] {
        self.jobs
    }

    /// The next action. Drain it like [`JobPoller::poll`].
    pub fn poll(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        tx: &mut [u8],
    ) -> Result<SetAction, Error> {
        if let Some(index) = self.active {
            if let Some(job) = self.jobs.get_mut(index) {
                if job.is_request_in_flight() {
                    match job.poll(cfg, &Submit::NONE, now, tx)? {
                        Action::Done(_) => {}
                        other => return Ok(map(index, other)),
                    }
                }
            }
            self.active = None;
        }
        let mut earliest: Option<Instant> = None;
        for (index, job) in self.jobs.iter_mut().enumerate() {
            if job.outcome().is_some() {
                // Drain what it still has to say (a last Close or event), once.
                match job.poll(cfg, &Submit::NONE, now, tx)? {
                    Action::Done(_) => continue,
                    other => return Ok(map(index, other)),
                }
            }
            match job.poll(cfg, &Submit::NONE, now, tx)? {
                Action::SleepUntil(t) => {
                    earliest = Some(earliest.map_or(t, |e| e.min(t)));
                }
                Action::SendRequest(request) => {
                    self.active = Some(index);
                    return Ok(SetAction::SendRequest { index, request });
                }
                Action::Done(_) => continue,
                other => return Ok(map(index, other)),
            }
        }
        Ok(match earliest {
            Some(t) => SetAction::SleepUntil(t),
            None => SetAction::Done(self.aggregate()),
        })
    }

    /// The answer for the job in flight; see [`JobPoller::handle_response`].
    pub fn handle_response<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<Received<'r>, Error> {
        self.active_job()?.handle_response(cfg, now, rx, filled)
    }

    /// End of stream for the job in flight; see [`JobPoller::handle_eof`].
    pub fn handle_eof<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<Received<'r>, Error> {
        self.active_job()?.handle_eof(cfg, now, rx, filled)
    }

    /// A transport failure for the job in flight.
    pub fn handle_transport_error(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        error: TransportError,
    ) {
        if let Ok(job) = self.active_job() {
            job.handle_transport_error(cfg, now, error);
        }
    }

    /// Time passed; see [`JobPoller::handle_timeout`].
    pub fn handle_timeout(&mut self, cfg: &Config<'_>, now: Instant) {
        if let Ok(job) = self.active_job() {
            job.handle_timeout(cfg, now);
        }
    }

    /// Stops following every job (client side).
    pub fn cancel(&mut self, now: Instant) {
        for job in self.jobs.iter_mut() {
            job.cancel(now);
        }
    }

    /// The sum of the outcomes: `Succeeded` when every job succeeded (with warnings if any had
    /// them), `Failed` when every job failed, `PartiallyFailed` when they finished with mixed
    /// results; otherwise the first outcome in which a job did not finish (e.g. `Expired`). A
    /// job without an outcome yet (only possible before [`SetAction::Done`]) counts as
    /// `DeadlineExceeded`.
    pub fn aggregate(&self) -> Outcome {
        let mut succeeded = 0usize;
        let mut warned = false;
        let mut failed = 0usize;
        for job in self.jobs.iter() {
            match job.outcome() {
                Some(Outcome::Succeeded) => succeeded = succeeded.saturating_add(1),
                Some(Outcome::SucceededWithWarnings) => {
                    succeeded = succeeded.saturating_add(1);
                    warned = true;
                }
                Some(Outcome::Failed) => failed = failed.saturating_add(1),
                Some(Outcome::PartiallyFailed) => return Outcome::PartiallyFailed,
                Some(other) => return other,
                None => return Outcome::DeadlineExceeded,
            }
        }
        match (succeeded, failed) {
            (_, 0) if warned => Outcome::SucceededWithWarnings,
            (_, 0) => Outcome::Succeeded,
            (0, _) => Outcome::Failed,
            _ => Outcome::PartiallyFailed,
        }
    }

    /// The job whose request is in flight, if one is.
    pub fn active(&self) -> Option<&JobPoller> {
        self.jobs.get(self.active?)
    }

    fn active_job(&mut self) -> Result<&mut JobPoller, Error> {
        let index = self.active.ok_or(Error::NoRequestInFlight)?;
        self.jobs.get_mut(index).ok_or(Error::NoRequestInFlight)
    }
}

/// One job's action as the set's. Never called with `Done`: a job's end is not the set's.
fn map(index: usize, action: Action) -> SetAction {
    match action {
        Action::SendRequest(request) => SetAction::SendRequest { index, request },
        Action::SleepUntil(t) => SetAction::SleepUntil(t),
        Action::Event(event) => SetAction::Event { index, event },
        Action::Close | Action::Done(_) => SetAction::Close,
    }
}

/// An event of one job of a [`JobSet`]: the [`Step::Event`] of the set run as a [`Machine`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SetEvent {
    /// Which job (an index into [`JobSet::jobs`]).
    pub index: usize,
    /// What happened.
    pub event: Event,
}

/// The active job of the set is the machine with the request in flight.
impl Machine for JobSet<'_> {
    type Input<'a> = ();
    type Reply<'r> = Reply<'r>;
    type Event = SetEvent;
    type Output = Outcome;

    fn poll(
        &mut self,
        cfg: &Config<'_>,
        (): (),
        now: Instant,
        tx: &mut [u8],
    ) -> Result<Step<SetEvent, Outcome>, Error> {
        Ok(match JobSet::poll(self, cfg, now, tx)? {
            SetAction::SendRequest { request, .. } => Step::SendRequest(request),
            SetAction::Close => Step::Close,
            SetAction::SleepUntil(t) => Step::SleepUntil(t),
            SetAction::Event { index, event } => Step::Event(SetEvent { index, event }),
            SetAction::Done(outcome) => Step::Done(outcome),
        })
    }
    fn handle_response<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<AfterRead<Reply<'r>>, Error> {
        JobSet::handle_response(self, cfg, now, rx, filled).map(after_read)
    }
    fn handle_eof<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<AfterRead<Reply<'r>>, Error> {
        JobSet::handle_eof(self, cfg, now, rx, filled).map(after_read)
    }
    fn handle_transport_error(&mut self, cfg: &Config<'_>, now: Instant, error: TransportError) {
        JobSet::handle_transport_error(self, cfg, now, error);
    }
    fn handle_timeout(&mut self, cfg: &Config<'_>, now: Instant) {
        JobSet::handle_timeout(self, cfg, now);
    }
    fn cancel(&mut self, now: Instant) {
        JobSet::cancel(self, now);
    }
    fn is_request_in_flight(&self) -> bool {
        self.active().is_some_and(JobPoller::is_request_in_flight)
    }
    /// The jobs of a set share its connection: each learns what it is.
    fn adopt_connection(&mut self, state: ConnectionState) {
        for job in self.jobs.iter_mut() {
            job.adopt_connection(state);
        }
    }
    fn connection_state(&self) -> Option<ConnectionState> {
        self.active().map(JobPoller::connection_state)
    }
}
