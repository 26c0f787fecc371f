//! [`Recovery`]: the job a lost submit started, found in the job list; [`RecoveryPager`]: the
//! pager and the finder as one machine any driver runs.

use core::convert::Infallible;
use core::time::Duration;

use crate::action::Step;
use crate::config::Config;
use crate::error::{ConfigError, Error, TransportError};
use crate::machine::{AfterRead, ConnectionState, Machine};
use crate::time::Instant;
use crate::util::Bounded;

use super::{JobList, ListEnd, ListQuery, Page};

/// How a [`Recovery`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Recovered {
    /// Exactly one job matches: follow it with [`JobPoller::watch`](crate::JobPoller::watch).
    Job,
    /// No job matches: the outcome stays unknown.
    NotFound,
    /// Several jobs match: the outcome stays unknown; the candidates are listed.
    Ambiguous,
    /// The listing failed (an error status or an unreadable answer).
    ListFailed,
}

/// Most candidates a [`Recovery`] keeps.
pub const MAX_CANDIDATES: usize = 4;

/// Finds the job a lost submit started. See the module docs.
#[derive(Clone, Debug)]
pub struct Recovery {
    /// The description the job carries (ONTAP: `"POST /api/storage/volumes"`).
    description: Bounded<96>,
    /// Time since the submit was sent (monotonic), plus the margin.
    window: Duration,
    candidates: [Bounded<64>; MAX_CANDIDATES],
    found: usize,
}

impl Recovery {
    /// Looks for a job described as `description` that started no earlier than
    /// `since_submit + margin` before the server's clock. ONTAP's description of a REST job is
    /// the method and path, e.g. `"POST /api/storage/volumes"`; pass what your server writes.
    pub fn new(
        description: &str,
        since_submit: Duration,
        margin: Duration,
    ) -> Result<Self, ConfigError> {
        Ok(Recovery {
            description: Bounded::new(description.as_bytes()).ok_or(ConfigError::JobRefLength)?,
            window: since_submit.saturating_add(margin),
            candidates: [Bounded::EMPTY; MAX_CANDIDATES],
            found: 0,
        })
    }

    /// Checks one page; call for each page of a [`JobList`].
    pub fn check_page(&mut self, page: &Page<'_>) {
        let Some(server_now) = page.server_date.and_then(|d| i64::try_from(d).ok()) else {
            return;
        };
        let earliest =
            server_now.saturating_sub(i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX));
        for job in page.jobs() {
            let described = job
                .description
                .is_some_and(|d| d.eq_str(self.description.as_str()));
            let recent = job.start_unix().is_some_and(|t| t >= earliest);
            if !(described && recent) {
                continue;
            }
            let Some(id) = job.id.and_then(|i| i.as_plain_str()) else {
                continue;
            };
            if let Some(slot) = self.candidates.get_mut(self.found) {
                *slot = Bounded::new(id.as_bytes()).unwrap_or(Bounded::EMPTY);
            }
            self.found = self.found.saturating_add(1);
        }
    }

    /// The verdict so far (final once the listing is over).
    pub fn verdict(&self) -> Recovered {
        match self.found {
            0 => Recovered::NotFound,
            1 => Recovered::Job,
            _ => Recovered::Ambiguous,
        }
    }

    /// The job found, when exactly one matched.
    pub fn job_id(&self) -> Option<&str> {
        (self.found == 1)
            .then(|| self.candidates.first().map(Bounded::as_str))
            .flatten()
    }

    /// Every matching job id kept (at most [`MAX_CANDIDATES`]).
    pub fn candidates(&self) -> impl Iterator<Item = &str> {
        self.candidates
            .iter()
            .take(self.found.min(MAX_CANDIDATES))
            .map(Bounded::as_str)
    }

    /// Number of matching jobs seen (may exceed the candidates kept).
    pub fn matches(&self) -> usize {
        self.found
    }
}

/// A [`JobList`] whose every page a [`Recovery`] checks: the submit recovery as one machine.
/// Its `Done` is the verdict; [`finder`](Self::finder) has the id or the candidates.
///
/// A listing that fails part-way ends [`Recovered::ListFailed`] even when a page matched: the
/// pages not read could hold another match, so a unique match cannot be claimed.
#[derive(Clone, Debug)]
pub struct RecoveryPager {
    pager: JobList,
    finder: Recovery,
}

impl RecoveryPager {
    /// Pages through `cfg`'s job list with `query`, checking each page with `finder`.
    pub fn new(
        cfg: &Config<'_>,
        query: &ListQuery<'_>,
        finder: Recovery,
    ) -> Result<Self, ConfigError> {
        Ok(RecoveryPager {
            pager: JobList::new(cfg, query)?,
            finder,
        })
    }

    /// The finder: the job id found or the candidates.
    pub fn finder(&self) -> &Recovery {
        &self.finder
    }

    /// The pager (how the listing ended: [`JobList::end`]).
    pub fn pager(&self) -> &JobList {
        &self.pager
    }

    /// The verdict once the listing is over, for a finished pager.
    fn verdict(&self, end: ListEnd) -> Recovered {
        match end {
            ListEnd::Complete { .. } => self.finder.verdict(),
            _ => Recovered::ListFailed,
        }
    }

    fn checked<'r>(&mut self, after: AfterRead<Page<'r>>) -> AfterRead<Page<'r>> {
        if let AfterRead::Answered(page) = &after {
            self.finder.check_page(page);
        }
        after
    }
}

impl Machine for RecoveryPager {
    type Input<'a> = &'a ListQuery<'a>;
    type Reply<'r> = Page<'r>;
    type Event = Infallible;
    type Output = Recovered;

    fn poll(
        &mut self,
        cfg: &Config<'_>,
        query: &ListQuery<'_>,
        now: Instant,
        tx: &mut [u8],
    ) -> Result<Step<Infallible, Recovered>, Error> {
        Ok(match self.pager.poll(cfg, query, now, tx)? {
            Step::Done(end) => Step::Done(self.verdict(end)),
            Step::SendRequest(request) => Step::SendRequest(request),
            Step::SleepUntil(t) => Step::SleepUntil(t),
            _ => Step::Close,
        })
    }
    fn handle_response<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<AfterRead<Page<'r>>, Error> {
        let after = Machine::handle_response(&mut self.pager, cfg, now, rx, filled)?;
        Ok(self.checked(after))
    }
    fn handle_eof<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<AfterRead<Page<'r>>, Error> {
        let after = Machine::handle_eof(&mut self.pager, cfg, now, rx, filled)?;
        Ok(self.checked(after))
    }
    fn handle_transport_error(&mut self, cfg: &Config<'_>, now: Instant, error: TransportError) {
        self.pager.handle_transport_error(cfg, now, error);
    }
    fn handle_timeout(&mut self, cfg: &Config<'_>, now: Instant) {
        self.pager.handle_timeout(cfg, now);
    }
    fn cancel(&mut self, now: Instant) {
        self.pager.cancel(now);
    }
    fn is_request_in_flight(&self) -> bool {
        self.pager.is_request_in_flight()
    }
    fn adopt_connection(&mut self, state: ConnectionState) {
        self.pager.adopt_connection(state);
    }
    fn connection_state(&self) -> Option<ConnectionState> {
        self.pager.connection_state()
    }
}
