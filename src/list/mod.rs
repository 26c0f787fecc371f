//! Listing jobs as a sans-IO pager, and recovering the job of a submit whose answer was lost.
//!
//! [`JobList`] writes one page request at a time into the caller's buffer and lends the page's
//! records from the caller's receive buffer: memory stays bounded whatever the number of jobs
//! (one page in the caller's buffer, a next-page link or offset in the pager). Pages:
//! - ONTAP: `GET /api/cluster/jobs?fields=...&max_records=N[&state=S]`, then `_links.next.href`;
//! - Unified Manager: `GET {base}/management-server/jobs?max_records=N&offset=K` (newest first
//!   is the server's default order), until `total_records`;
//! - Service Engine: `GET {base}/jobs?offset=K&limit=N[&tenant_id=T]`, until `total_records`.
//!
//! Where the total count is missing from an answer, a full page is followed by another.
//!
//! Select Deploy documents no job list, so it has none here.
//!
//! [`Recovery`] uses the list when a submit's connection died before its answer
//! ([`Outcome::SubmitOutcomeUnknown`](crate::Outcome::SubmitOutcomeUnknown)): it looks for the
//! job that submit started, by its description (ONTAP writes `"POST /api/storage/volumes"`) and
//! a start time no earlier than the server's own clock (the list answer's `Date`) minus the time
//! elapsed since the submit on the monotonic clock, minus a margin. Exactly one match is
//! "recovered"; none or several stay "outcome unknown", with the candidates. The submit is never
//! sent again.

use core::convert::Infallible;

use crate::action::{Connection, Purpose, SendRequest, Step};
use crate::config::Config;
use crate::dialect::{Dialect, ListParam};
use crate::error::{ConfigError, Error, TransportError};
use crate::http::{self, HttpError, Method, Request, ResponseParser, Status};
use crate::json::{self, Array, JsonStr, Object, Value};
use crate::machine::{AfterRead, ConnectionState, Machine};
use crate::state::JobState;
use crate::time::Instant;
use crate::util::Bounded;

mod recovery;
pub use recovery::{MAX_CANDIDATES, Recovered, Recovery, RecoveryPager};

/// Longest next-page link kept.
pub const MAX_NEXT_LINK: usize = 192;

/// What to list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ListQuery<'a> {
    /// Records per page (ONTAP `max_records`, Unified Manager `max_records`, Service Engine
    /// `limit`). Default 100.
    pub page_size: u16,
    /// Stop after this many pages (a bound on the work, whatever the server says). Default 10.
    pub max_pages: u16,
    /// ONTAP only: a `state` filter, e.g. `"running"` or `"!success"`.
    pub state: Option<&'a str>,
    /// Service Engine only: `tenant_id`.
    pub tenant_id: Option<&'a str>,
}

impl Default for ListQuery<'_> {
    fn default() -> Self {
        ListQuery {
            page_size: 100,
            max_pages: 10,
            state: None,
            tenant_id: None,
        }
    }
}

/// One listed job, lent from the page.
#[derive(Clone, Copy, Debug)]
pub struct ListedJob<'r> {
    /// Its id (uuid, key, id).
    pub id: Option<JsonStr<'r>>,
    /// The raw state.
    pub state_raw: Option<JsonStr<'r>>,
    /// The normalized state.
    pub state: Option<JobState>,
    /// What it is (ONTAP `description`, Unified Manager `name`, Service Engine `job_summary`).
    pub description: Option<JsonStr<'r>>,
    /// When it started (ONTAP `start_time`, Unified Manager `submit_time`, Service Engine
    /// `created`), as the server wrote it.
    pub start_time: Option<JsonStr<'r>>,
}

impl ListedJob<'_> {
    /// `start_time` as Unix seconds, when it is an RFC 3339 date-time.
    pub fn start_unix(&self) -> Option<i64> {
        let mut buf = [0u8; 40];
        let text = self.start_time?.unescape_into(&mut buf).ok()?;
        parse_rfc3339(text.as_bytes())
    }
}

/// A page of jobs: its records are read from the caller's buffer on demand.
#[derive(Clone, Copy, Debug)]
pub struct Page<'r> {
    dialect: Dialect,
    records: Option<PageRecords<'r>>,
    /// The answer's `Date` header as Unix seconds (the server's clock).
    pub server_date: Option<u64>,
    /// Whether another page follows.
    pub more: bool,
}

#[derive(Clone, Copy, Debug)]
enum PageRecords<'r> {
    Array(Array<'r>),
    /// A single record where a list was expected (seen in ONTAP documentation).
    One(Object<'r>),
}

impl<'r> Page<'r> {
    /// The records of this page, in the server's order.
    pub fn jobs(&self) -> impl Iterator<Item = ListedJob<'r>> + 'r {
        let dialect = self.dialect;
        let (array, one) = match self.records {
            Some(PageRecords::Array(a)) => (Some(a), None),
            Some(PageRecords::One(o)) => (None, Some(o)),
            None => (None, None),
        };
        array
            .into_iter()
            .flat_map(|a| a.iter())
            .filter_map(|v| v.as_object())
            .chain(one)
            .map(move |o| listed(dialect, o))
    }
}

fn text_of<'a>(obj: Object<'a>, key: &str) -> Option<JsonStr<'a>> {
    obj.get(key).and_then(|v| v.as_str())
}

fn listed(dialect: Dialect, obj: Object<'_>) -> ListedJob<'_> {
    // Only a dialect with a list makes pages, so the fields are always named.
    let (id, description, start) = match dialect.profile().list {
        Some(list) => (
            text_of(obj, list.id_field),
            text_of(obj, list.description_field),
            text_of(obj, list.start_field),
        ),
        None => (None, None, None),
    };
    // The state through the dialect's own job reader, so every reading stays in one place.
    let job = dialect.job_from_object(obj);
    ListedJob {
        id,
        state_raw: job.state_raw,
        state: job.state,
        description,
        start_time: start,
    }
}

/// What a page answer gave.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum ListReceived<'r> {
    /// Read more, append, call again.
    NeedMore,
    /// A page.
    Page(Page<'r>),
    /// The server answered with an error status, or the answer was unusable; the listing is
    /// over.
    Failed {
        /// The HTTP status, when there was a readable answer.
        status: Option<u16>,
        /// The HTTP-level problem, when the answer was unreadable.
        error: Option<HttpError>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Next {
    /// The first page.
    First,
    /// A page at this record offset.
    Offset(u32),
    /// A page at the server's link.
    Link(Bounded<MAX_NEXT_LINK>),
    /// No more pages.
    End,
}

/// The sans-IO job-list pager. See the module docs.
#[derive(Clone, Debug)]
pub struct JobList {
    dialect: Dialect,
    page_size: u16,
    pages_left: u16,
    pages_read: u16,
    next: Next,
    parser: Option<ResponseParser>,
    json_limits: json::Limits,
    /// The connection the last page came on.
    conn: ConnectionState,
    /// `Close` is owed to the driver (a connection the server closes, or abandoned mid-answer).
    close: bool,
    /// Why the listing stopped early, once it did.
    failure: Option<ListEnd>,
    /// When the page request in flight is given up.
    deadline: Instant,
}

impl JobList {
    /// A pager for `cfg`'s dialect. Select Deploy has no documented job list.
    pub fn new(cfg: &Config<'_>, query: &ListQuery<'_>) -> Result<Self, ConfigError> {
        cfg.dialect.validate()?;
        if cfg.dialect.profile().list.is_none() {
            return Err(ConfigError::ListUnsupported);
        }
        Ok(JobList {
            dialect: cfg.dialect,
            page_size: query.page_size.max(1),
            pages_left: query.max_pages,
            pages_read: 0,
            next: Next::First,
            parser: None,
            json_limits: cfg.json_limits,
            conn: ConnectionState::CLOSED,
            close: false,
            failure: None,
            deadline: Instant::ZERO,
        })
    }

    /// True when no page is left to request.
    pub fn is_done(&self) -> bool {
        self.next == Next::End || self.pages_left == 0 || self.failure.is_some()
    }

    /// How the listing ended, once it has ([`is_done`](Self::is_done) with no request in
    /// flight).
    pub fn end(&self) -> Option<ListEnd> {
        if self.parser.is_some() || !self.is_done() {
            return None;
        }
        Some(self.failure.unwrap_or(ListEnd::Complete {
            pages: self.pages_read,
        }))
    }

    /// The request in flight ends without its page: `end` says why (its connection may still
    /// carry the answer, so it closes). Nothing happens with no request in flight.
    fn give_up(&mut self, end: ListEnd) {
        if self.parser.take().is_some() {
            self.abandon(end);
        }
    }

    /// A request abandoned mid-answer: its connection may still carry the answer, so it closes.
    fn abandon(&mut self, end: ListEnd) {
        self.close = true;
        self.conn = ConnectionState::CLOSED;
        self.failure.get_or_insert(end);
    }

    /// Writes the next page request into `tx` (send it on any connection; it is a GET).
    /// `None` when the listing is over.
    pub fn write_request(
        &mut self,
        cfg: &Config<'_>,
        query: &ListQuery<'_>,
        tx: &mut [u8],
    ) -> Result<Option<usize>, Error> {
        if self.is_done() {
            return Ok(None);
        }
        let mut path_buf = [0u8; 96];
        let mut link_buf = [0u8; MAX_NEXT_LINK];
        let mut size_digits = [0u8; 20];
        let mut offset_digits = [0u8; 20];
        let size = crate::util::decimal(u64::from(self.page_size), &mut size_digits);
        let offset = match self.next {
            Next::Offset(k) => k,
            _ => 0,
        };
        let offset = crate::util::decimal(u64::from(offset), &mut offset_digits);
        let mut pairs = [("", ""); 8];
        let mut n = 0usize;
        let mut push = |name, value| {
            let slot = pairs
                .get_mut(n)
                .ok_or(Error::Config(ConfigError::TooManyQueryPairs))?;
            *slot = (name, value);
            n = n.saturating_add(1);
            Ok::<(), Error>(())
        };
        let path = if let Next::Link(link) = &self.next {
            // The server's own link: decoded here, split into path and pairs, and encoded
            // again by the writer (so nothing is encoded twice).
            let decoded = http::percent_decode(link.as_bytes(), &mut link_buf)
                .ok_or(Error::Config(ConfigError::JobRefLength))?;
            let (path, q) = decoded.split_once('?').unwrap_or((decoded, ""));
            for part in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = part.split_once('=').unwrap_or((part, ""));
                push(k, v)?;
            }
            path
        } else {
            let profile = self.dialect.profile();
            let list = profile
                .list
                .ok_or(Error::Config(ConfigError::ListUnsupported))?;
            for param in list.params {
                match *param {
                    ListParam::Fixed(name, value) => push(name, value)?,
                    ListParam::PageSize(name) => push(name, size)?,
                    ListParam::Offset(name) => push(name, offset)?,
                    ListParam::State(name) => {
                        if let Some(state) = query.state {
                            push(name, state)?;
                        }
                    }
                    ListParam::Tenant(name) => {
                        if let Some(tenant) = query.tenant_id {
                            push(name, tenant)?;
                        }
                    }
                    // A parameter of a later version of the profile: not sent.
                    #[allow(unreachable_patterns)]
                    _ => {}
                }
            }
            join(&mut path_buf, &[profile.base_path, list.path])
                .ok_or(Error::Config(ConfigError::BasePath))?
        };
        let request = Request {
            method: Method::Get,
            authority: cfg.authority,
            path,
            query: pairs.get(..n).unwrap_or(&[]),
            auth: cfg.auth,
            accept: cfg.accept,
            user_agent: cfg.user_agent,
            headers: cfg.headers,
            body: None,
            connection_close: false,
        };
        let len = request.write(tx).map_err(|e| match e {
            http::RequestError::BufferTooSmall { required } => Error::BufferTooSmall { required },
            other => Error::Config(ConfigError::Request(other)),
        })?;
        self.parser = Some(ResponseParser::new(cfg.http_limits));
        self.pages_left = self.pages_left.saturating_sub(1);
        Ok(Some(len))
    }

    /// Feeds the page answer received so far (`rx[..filled]`, growing).
    pub fn handle_response<'r>(
        &mut self,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<ListReceived<'r>, Error> {
        self.feed(now, rx, filled, false)
    }

    /// The peer closed the connection after `rx[..filled]`.
    pub fn handle_eof<'r>(
        &mut self,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<ListReceived<'r>, Error> {
        self.feed(now, rx, filled, true)
    }

    fn feed<'r>(
        &mut self,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
        eof: bool,
    ) -> Result<ListReceived<'r>, Error> {
        let parser = self.parser.as_mut().ok_or(Error::NoRequestInFlight)?;
        if filled > rx.len() {
            return Err(Error::FilledBeyondBuffer);
        }
        let parsed = if eof {
            parser.parse_eof(rx, filled)
        } else {
            parser.parse(rx, filled)
        };
        let rx: &'r [u8] = rx;
        let response = match parsed {
            Ok(Status::Complete(r)) => r,
            Ok(_) => return Ok(ListReceived::NeedMore),
            Err(error) => {
                self.parser = None;
                self.next = Next::End;
                self.abandon(ListEnd::Unreadable(Some(error)));
                return Ok(ListReceived::Failed {
                    status: None,
                    error: Some(error),
                });
            }
        };
        self.parser = None;
        self.conn = ConnectionState::after_response(&response, filled, eof, now);
        if !self.conn.reusable(now) {
            self.close = true;
        }
        if !(200..300).contains(&response.status) {
            self.next = Next::End;
            self.failure = Some(ListEnd::Refused {
                status: response.status,
            });
            return Ok(ListReceived::Failed {
                status: Some(response.status),
                error: None,
            });
        }
        let body = response.body(rx);
        let Some(root) = json::parse(body, self.json_limits)
            .ok()
            .and_then(|v| v.as_object())
        else {
            self.next = Next::End;
            self.failure = Some(ListEnd::Unreadable(None));
            return Ok(ListReceived::Failed {
                status: Some(response.status),
                error: None,
            });
        };
        self.pages_read = self.pages_read.saturating_add(1);
        let (records, next) = self.read_page(root);
        self.next = if self.pages_left == 0 {
            Next::End
        } else {
            next
        };
        Ok(ListReceived::Page(Page {
            dialect: self.dialect,
            records,
            server_date: response.date,
            more: self.next != Next::End,
        }))
    }

    fn read_page<'r>(&self, root: Object<'r>) -> (Option<PageRecords<'r>>, Next) {
        let current = match self.next {
            Next::Offset(k) => k,
            _ => 0,
        };
        let as_records = |v: Option<Value<'r>>| match v {
            Some(Value::Array(a)) => Some(PageRecords::Array(a)),
            Some(Value::Object(o)) => Some(PageRecords::One(o)),
            _ => None,
        };
        let count = |r: &Option<PageRecords<'r>>| match r {
            Some(PageRecords::Array(a)) => a.len(),
            Some(PageRecords::One(_)) => 1,
            None => 0,
        };
        let link = root
            .get_path(&["_links", "next", "href"])
            .and_then(|v| v.as_str())
            .and_then(|h| {
                let mut buf = [0u8; MAX_NEXT_LINK];
                let s = h.unescape_into(&mut buf).ok()?;
                Bounded::new(s.as_bytes())
            })
            .filter(|l| l.as_str().starts_with('/'));
        let Some(list) = self.dialect.profile().list else {
            return (None, Next::End);
        };
        let records = as_records(root.get_path(list.records));
        let n = u32::try_from(count(&records)).unwrap_or(u32::MAX);
        let total = list
            .total
            .and_then(|path| root.get_path(path))
            .and_then(|v| v.as_i64_lenient());
        if let Some(total) = total {
            // Paged by the total count (Unified Manager, Service Engine): more while the offset
            // is below it. An answer without the count falls back to the full-page rule below.
            let next_offset = current.saturating_add(n);
            let more = n > 0 && i64::from(next_offset) < total;
            return (
                records,
                if more {
                    Next::Offset(next_offset)
                } else {
                    Next::End
                },
            );
        }
        if let Some(link) = link {
            return (records, Next::Link(link));
        }
        // Without a link, a full page may be followed by another (Unified Manager).
        let full = n >= u32::from(self.page_size);
        let next = if full && list.pages_by_offset() {
            Next::Offset(current.saturating_add(n))
        } else {
            Next::End
        };
        (records, next)
    }
}

/// How a [`JobList`] ended: the `Done` of its [`poll`](JobList::poll).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ListEnd {
    /// Every page was read, or [`ListQuery::max_pages`] were.
    Complete {
        /// Pages read.
        pages: u16,
    },
    /// The server answered a page with this error status (the server's or the credentials'
    /// fault: its message says which).
    Refused {
        /// The HTTP status.
        status: u16,
    },
    /// A page's answer was unreadable: the HTTP problem, or `None` for a body that is not a
    /// JSON object (the server's fault; a list of another API answers like that).
    Unreadable(Option<HttpError>),
    /// A page's request failed in transport or timed out (the network's or the server's; list
    /// again later). Pages are not retried: the caller decides whether a listing is worth it.
    Transport(TransportError),
    /// The caller cancelled.
    Cancelled,
}

impl core::fmt::Display for ListEnd {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ListEnd::Complete { pages } => write!(f, "listed {pages} page(s)"),
            ListEnd::Refused { status } => {
                write!(f, "the server refused the job list: HTTP {status}")
            }
            ListEnd::Unreadable(Some(e)) => write!(f, "the job list answer was unreadable: {e}"),
            ListEnd::Unreadable(None) => f.write_str("the job list answer was not a JSON object"),
            ListEnd::Transport(e) => write!(f, "the job list request failed: {e}"),
            ListEnd::Cancelled => f.write_str("the listing was cancelled"),
        }
    }
}

/// The pager as a [`Machine`]: any driver runs it; each page is lent to the driver's observer.
impl Machine for JobList {
    type Input<'a> = &'a ListQuery<'a>;
    type Reply<'r> = Page<'r>;
    type Event = Infallible;
    type Output = ListEnd;

    /// The next step: a page request written into `tx`, a `Close` owed, or the end. An `Err`
    /// changes nothing (grow `tx` to `required` on [`Error::BufferTooSmall`]).
    fn poll(
        &mut self,
        cfg: &Config<'_>,
        query: &ListQuery<'_>,
        now: Instant,
        tx: &mut [u8],
    ) -> Result<Step<Infallible, ListEnd>, Error> {
        if self.close {
            self.close = false;
            return Ok(Step::Close);
        }
        if let Some(end) = self.end() {
            return Ok(Step::Done(end));
        }
        if self.parser.is_some() {
            // Asked again before the answer: wait for it until its deadline, then give up.
            if now < self.deadline {
                return Ok(Step::SleepUntil(self.deadline));
            }
            self.give_up(ListEnd::Transport(TransportError::TimedOut));
            self.close = false;
            return Ok(Step::Close);
        }
        let connection = if self.conn.reusable(now) {
            Connection::Reuse
        } else {
            Connection::Fresh
        };
        let Some(len) = self.write_request(cfg, query, tx)? else {
            return Ok(Step::Done(self.end().unwrap_or(ListEnd::Complete {
                pages: self.pages_read,
            })));
        };
        self.deadline = now.saturating_add(cfg.policy.request_timeout);
        Ok(Step::SendRequest(SendRequest {
            len,
            deadline: self.deadline,
            purpose: Purpose::List,
            idempotent: true,
            connection,
        }))
    }
    fn handle_response<'r>(
        &mut self,
        _cfg: &Config<'_>,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<AfterRead<Page<'r>>, Error> {
        JobList::handle_response(self, now, rx, filled).map(page_read)
    }
    fn handle_eof<'r>(
        &mut self,
        _cfg: &Config<'_>,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<AfterRead<Page<'r>>, Error> {
        JobList::handle_eof(self, now, rx, filled).map(page_read)
    }
    /// The page request failed in transport: the listing ends (pages are not retried).
    fn handle_transport_error(&mut self, _: &Config<'_>, _: Instant, error: TransportError) {
        self.give_up(ListEnd::Transport(error));
    }
    /// The page request's deadline passed: the listing ends.
    fn handle_timeout(&mut self, _: &Config<'_>, now: Instant) {
        if self.parser.is_some() && now >= self.deadline {
            self.give_up(ListEnd::Transport(TransportError::TimedOut));
        }
    }
    /// Stops listing (a page in flight is abandoned, its connection closed).
    fn cancel(&mut self, _: Instant) {
        if self.parser.is_some() {
            self.give_up(ListEnd::Cancelled);
        } else if self.failure.is_none() && !self.is_done() {
            self.failure = Some(ListEnd::Cancelled);
        }
    }
    fn is_request_in_flight(&self) -> bool {
        self.parser.is_some()
    }
    fn adopt_connection(&mut self, state: ConnectionState) {
        if self.parser.is_none() {
            self.conn = state;
        }
    }
    fn connection_state(&self) -> Option<ConnectionState> {
        Some(self.conn)
    }
}

/// What a page answer said, in the shape every machine shares.
fn page_read(received: ListReceived<'_>) -> AfterRead<Page<'_>> {
    match received {
        ListReceived::NeedMore => AfterRead::ReadMore,
        ListReceived::Page(page) => AfterRead::Answered(page),
        _ => AfterRead::Failed,
    }
}

fn join<'b>(buf: &'b mut [u8], parts: &[&str]) -> Option<&'b str> {
    let mut len = 0usize;
    for part in parts {
        let end = len.checked_add(part.len())?;
        buf.get_mut(len..end)?.copy_from_slice(part.as_bytes());
        len = end;
    }
    core::str::from_utf8(buf.get(..len)?).ok()
}

/// An RFC 3339 date-time (`2020-01-09T15:38:08-05:00`, `2020-06-03T04:52:28.478Z`) as Unix
/// seconds (fractions dropped). `None` for anything else or a date before 1970.
pub fn parse_rfc3339(s: &[u8]) -> Option<i64> {
    let num = |range: core::ops::Range<usize>| -> Option<u64> {
        let digits = s.get(range)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        digits.iter().try_fold(0u64, |acc, d| {
            acc.checked_mul(10)?
                .checked_add(u64::from(d.checked_sub(b'0')?))
        })
    };
    if s.get(4) != Some(&b'-')
        || s.get(7) != Some(&b'-')
        || !matches!(s.get(10), Some(b'T' | b't' | b' '))
    {
        return None;
    }
    if s.get(13) != Some(&b':') || s.get(16) != Some(&b':') {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19usize;
    if s.get(i) == Some(&b'.') {
        i = i.saturating_add(1);
        while s.get(i).is_some_and(u8::is_ascii_digit) {
            i = i.saturating_add(1);
        }
    }
    let offset: i64 = match s.get(i) {
        Some(b'Z' | b'z') if s.len() == i.saturating_add(1) => 0,
        Some(sign @ (b'+' | b'-'))
            if s.len() == i.saturating_add(6) && s.get(i.saturating_add(3)) == Some(&b':') =>
        {
            let h = num(i.saturating_add(1)..i.saturating_add(3))?;
            let m = num(i.saturating_add(4)..i.saturating_add(6))?;
            let secs = i64::try_from(h.checked_mul(3600)?.checked_add(m.checked_mul(60)?)?).ok()?;
            if *sign == b'+' {
                secs
            } else {
                secs.checked_neg()?
            }
        }
        _ => return None,
    };
    let days = crate::http::date::days_from_civil(year, month, day)?;
    let local = days.checked_mul(86_400)?.checked_add(
        hour.checked_mul(3600)?
            .checked_add(minute.checked_mul(60)?)?
            .checked_add(second)?,
    )?;
    i64::try_from(local).ok()?.checked_sub(offset)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// What the test does while a page request is in flight and no answer comes.
    type Input = fn(&mut JobList, &Config<'_>, &mut [u8]);

    /// What the pager asked for, without the borrowed parts.
    #[derive(Debug, PartialEq)]
    enum Seen {
        Send(Connection),
        Close,
        Sleep,
        Done(ListEnd),
    }

    /// One page request, then `input` for its answer (`None`: the answer never comes and the
    /// deadline passes), then every step until the end.
    #[cfg(feature = "ontap")]
    fn run(answer: Option<&str>, input: Input) -> Vec<Seen> {
        let cfg = Config::new(
            crate::http::Authority {
                host: "cluster",
                port: 443,
                tls: true,
            },
            crate::http::Auth::None,
            Dialect::Ontap(Default::default()),
        );
        let query = ListQuery::default();
        let mut list = JobList::new(&cfg, &query).expect("ONTAP lists jobs");
        let mut tx = [0u8; 512];
        let mut seen = Vec::new();
        let mut now = Instant::ZERO;
        for _ in 0..8 {
            let step = Machine::poll(&mut list, &cfg, &query, now, &mut tx).expect("fits");
            seen.push(match step {
                Step::SendRequest(req) => {
                    match answer {
                        Some(text) => {
                            let mut rx = text.as_bytes().to_vec();
                            let n = rx.len();
                            let _ = Machine::handle_response(&mut list, &cfg, now, &mut rx, n);
                        }
                        None => input(&mut list, &cfg, &mut tx),
                    }
                    now = req.deadline;
                    Seen::Send(req.connection)
                }
                Step::Close => Seen::Close,
                Step::SleepUntil(_) => Seen::Sleep,
                Step::Done(end) => {
                    seen.push(Seen::Done(end));
                    break;
                }
                _ => unreachable!(),
            });
        }
        seen
    }

    const PAGE: &str =
        "HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n{\"records\":[],\"num_records\":0}";
    const PAGE_THEN_CLOSE: &str = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 30\r\n\r\n{\"records\":[],\"num_records\":0}";
    const REFUSED: &str = "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\n{}";
    const NOT_JSON: &str = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]";

    #[test]
    #[cfg(feature = "ontap")]
    fn the_pager_ends_with_the_reason_and_closes_what_it_abandons_table() {
        use Seen::*;
        let nothing: Input = |_, _, _| {};
        let table: &[(&str, Option<&str>, Input, &[Seen])] = &[
            (
                "a last page",
                Some(PAGE),
                nothing,
                &[
                    Send(Connection::Fresh),
                    Done(ListEnd::Complete { pages: 1 }),
                ],
            ),
            (
                "the server closes",
                Some(PAGE_THEN_CLOSE),
                nothing,
                &[
                    Send(Connection::Fresh),
                    Close,
                    Done(ListEnd::Complete { pages: 1 }),
                ],
            ),
            (
                "an error status",
                Some(REFUSED),
                nothing,
                &[
                    Send(Connection::Fresh),
                    Done(ListEnd::Refused { status: 403 }),
                ],
            ),
            (
                "not a list",
                Some(NOT_JSON),
                nothing,
                &[Send(Connection::Fresh), Done(ListEnd::Unreadable(None))],
            ),
            (
                "a reset",
                None,
                |l, cfg, _| {
                    Machine::handle_transport_error(
                        l,
                        cfg,
                        Instant::ZERO,
                        TransportError::ReadFailed,
                    )
                },
                &[
                    Send(Connection::Fresh),
                    Close,
                    Done(ListEnd::Transport(TransportError::ReadFailed)),
                ],
            ),
            (
                "no answer by the deadline",
                None,
                nothing,
                &[
                    Send(Connection::Fresh),
                    Close,
                    Done(ListEnd::Transport(TransportError::TimedOut)),
                ],
            ),
            (
                "a cancel mid-page",
                None,
                |l, _, _| Machine::cancel(l, Instant::ZERO),
                &[Send(Connection::Fresh), Close, Done(ListEnd::Cancelled)],
            ),
        ];
        for (case, answer, input, want) in table {
            assert_eq!(run(*answer, *input), *want, "{case}");
        }
    }

    /// A page whose connection the server closed right after it (read to the end of the
    /// stream): the pager says `Close` before its next request, as the job machine does.
    #[test]
    #[cfg(feature = "ontap")]
    fn a_page_read_to_the_end_of_the_stream_closes_the_connection() {
        let cfg = Config::new(
            crate::http::Authority {
                host: "cluster",
                port: 443,
                tls: true,
            },
            crate::http::Auth::None,
            Dialect::Ontap(Default::default()),
        );
        let query = ListQuery {
            page_size: 1,
            ..ListQuery::default()
        };
        let mut list = JobList::new(&cfg, &query).expect("ONTAP lists jobs");
        let mut tx = [0u8; 512];
        let step = Machine::poll(&mut list, &cfg, &query, Instant::ZERO, &mut tx).expect("fits");
        assert!(matches!(step, Step::SendRequest(_)), "{step:?}");
        // A full page with a next link: another page follows.
        let body =
            r#"{"records":[{"uuid":"j1"}],"_links":{"next":{"href":"/api/cluster/jobs?start=2"}}}"#;
        let answer = std::format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut rx = answer.into_bytes();
        let n = rx.len();
        let got =
            Machine::handle_eof(&mut list, &cfg, Instant::ZERO, &mut rx, n).expect("in flight");
        assert!(matches!(got, AfterRead::Answered(_)));
        let next = Machine::poll(&mut list, &cfg, &query, Instant::ZERO, &mut tx).expect("fits");
        assert_eq!(next, Step::Close);
        let after = Machine::poll(&mut list, &cfg, &query, Instant::ZERO, &mut tx).expect("fits");
        assert!(
            matches!(after, Step::SendRequest(req) if req.connection == Connection::Fresh),
            "{after:?}"
        );
    }

    #[test]
    fn rfc3339_table() {
        let table: &[(&str, Option<i64>)] = &[
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2020-01-09T15:38:08-05:00", Some(1_578_602_288)),
            ("2021-04-10T09:51:13+00:00", Some(1_618_048_273)),
            ("2020-06-03T04:52:28.478Z", Some(1_591_159_948)),
            ("2020-06-02T07:05:21.130260774Z", Some(1_591_081_521)),
            ("2020-01-09T15:38:08", None),
            ("string", None),
            ("2020-13-09T15:38:08Z", None),
            ("", None),
        ];
        for (s, want) in table {
            assert_eq!(parse_rfc3339(s.as_bytes()), *want, "{s}");
        }
    }
}
