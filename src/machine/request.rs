//! Writing requests: the submit, the job GET (plain or long poll) and the server-side cancel.

use core::time::Duration;

use crate::action::{Action, Connection, Purpose, SendRequest};
use crate::config::{Config, Submit};
use crate::error::{ConfigError, Error, MAX_QUERY_PAIRS};
use crate::http::{self, Method, Request, ResponseParser};
use crate::job_ref::{MAX_CURSOR, MAX_JOB_REF, RefKind, write_segment};
use crate::time::Instant;

use super::conn::Conn;
use super::{InFlight, JobPoller};

pub(super) fn request_error(e: http::RequestError) -> Error {
    match e {
        http::RequestError::BufferTooSmall { required } => Error::BufferTooSmall { required },
        other => Error::Config(ConfigError::Request(other)),
    }
}

/// Writes the submit request with the machine's own query pairs added.
pub(super) struct SubmitWriter<'a> {
    cfg: &'a Config<'a>,
    op: &'a Submit<'a>,
    /// The server-side hold parameter and its seconds, if the dialect has one.
    hold: Option<(&'static str, u64)>,
}

impl SubmitWriter<'_> {
    pub(super) fn with_request<T>(&self, f: impl FnOnce(&Request<'_>) -> T) -> T {
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

    pub(super) fn encoded_len(&self) -> Result<usize, http::RequestError> {
        self.with_request(|r| r.encoded_len())
    }

    pub(super) fn write(&self, tx: &mut [u8]) -> Result<usize, http::RequestError> {
        self.with_request(|r| r.write(tx))
    }
}

pub(super) fn push_pair<'a>(
    pairs: &mut [(&'a str, &'a str)],
    n: &mut usize,
    name: &'a str,
    value: &'a str,
) {
    if let Some(slot) = pairs.get_mut(*n) {
        *slot = (name, value);
        *n = n.saturating_add(1);
    }
}

/// Room for a job's path: a base and job path of up to 64 bytes, and the longest id with every
/// byte percent-encoded.
const JOB_PATH_BUF: usize = MAX_JOB_REF * 3 + 64;

impl JobPoller {
    /// Whether the next submit written may ask the server to hold it until the job ends (ONTAP
    /// `return_timeout`, as configured). On by default. A driver that shares connections
    /// between jobs turns it off when other work waits for the connection this submit will
    /// use: the submit is then written with a hold of 0, answered at once (202), and the job
    /// is polled as usual. Read only when a submit is written (a submit already sent keeps its
    /// hold; none is ever sent again for this); not kept in a resume token. Dialects without a
    /// submit hold ignore it.
    pub fn allow_submit_hold(&mut self, allowed: bool) {
        self.submit_hold_waived = !allowed;
    }

    pub(super) fn submit_hold(&self, now: Instant) -> Option<(&'static str, u64)> {
        #[allow(unused_mut)]
        let mut profile = self.dialect.profile();
        #[cfg(feature = "estimate")]
        if let (Some(expected), Some(hold)) = (&self.expected, profile.submit_hold.as_mut()) {
            // A job expected to end later than the configured hold: ask the server to hold the
            // submit until the window's end (the API's maximum still applies).
            hold.wanted = hold.wanted.max(expected.submit_hold());
        }
        if self.submit_hold_waived {
            if let Some(hold) = profile.submit_hold.as_mut() {
                // Still written, as 0: a server's own default hold must not apply either.
                hold.wanted = Duration::ZERO;
            }
        }
        profile.submit_hold_secs(self.deadline.saturating_duration_since(now))
    }

    pub(super) fn submit_request<'a>(
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

    pub(super) fn send_submit(
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
        let deadline = self.request_deadline(cfg, now, hold);
        // A submit goes on a fresh connection unless the policy allows a kept-alive one.
        let reuse = cfg.policy.reuse_connection_for_submit && self.conn.reusable_for_submit(now);
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
    pub(super) fn send_cancel(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        tx: &mut [u8],
    ) -> Result<(), Error> {
        let cancel = self
            .dialect
            .profile()
            .cancel
            .ok_or(Error::Config(ConfigError::CancelUnsupported))?;
        let mut path_buf = [0u8; JOB_PATH_BUF];
        let path = self
            .job_path(&mut path_buf)
            .ok_or(Error::Config(ConfigError::JobRefLength))?;
        let request = Request {
            method: cancel.method,
            authority: cfg.authority,
            path,
            query: cancel.query,
            auth: cfg.auth,
            accept: cfg.accept,
            user_agent: cfg.user_agent,
            headers: cfg.headers,
            body: Some(cancel.body),
            connection_close: false,
        };
        let len = request.write(tx).map_err(request_error)?;
        let reuse = self.conn.reusable(now);
        self.cancels.server_sent();
        let deadline = self.request_deadline(cfg, now, Duration::ZERO);
        self.start_request(now, Purpose::Cancel, deadline, cfg);
        if let Some(f) = self.in_flight.as_mut() {
            f.reused = reuse;
        }
        // Asking twice is harmless (ONTAP answers "already in a terminal state").
        self.outbox.push_send(len);
        Ok(())
    }

    /// Writes a job GET and queues its `SendRequest`.
    pub(super) fn send_poll(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        tx: &mut [u8],
        purpose: Purpose,
    ) -> Result<(), Error> {
        let mut path_buf = [0u8; JOB_PATH_BUF];
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
        let profile = self.dialect.profile();
        let long_poll = profile.long_poll.filter(|_| !self.marker.is_empty());
        let hold = long_poll
            .and_then(|_| profile.long_poll_secs(self.deadline.saturating_duration_since(now)));
        let mut hold_digits = [0u8; 20];
        let mut marker = [0u8; MAX_CURSOR + 8];
        if let Some(fields) = profile.poll_fields {
            let value = if self.reduced_fields {
                fields.reduced
            } else {
                fields.full
            };
            push_pair(&mut pairs, &mut n, fields.param, value);
        }
        let hold = hold.zip(long_poll).and_then(|(secs, long_poll)| {
            let value = self.long_poll_marker(long_poll.marker_prefix, &mut marker)?;
            push_pair(
                &mut pairs,
                &mut n,
                long_poll.hold_param,
                crate::util::decimal(secs, &mut hold_digits),
            );
            push_pair(&mut pairs, &mut n, long_poll.marker_param, value);
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
        // Every caller string is checked for CR, LF and NUL on every write.
        let len = request.write(tx).map_err(request_error)?;
        // A poll redone after a stale connection goes on a fresh one.
        let reuse = self.conn.reusable(now) && !self.stale_retry;
        if !reuse && self.conn != Conn::Closed {
            self.conn = Conn::Closed;
        }
        let held = Duration::from_secs(hold.unwrap_or(0));
        let deadline = self.request_deadline(cfg, now, held);
        self.start_request(now, purpose, deadline, cfg);
        if let Some(f) = self.in_flight.as_mut() {
            f.reused = reuse;
            f.hold_secs = u8::try_from(hold.unwrap_or(0)).unwrap_or(u8::MAX);
        }
        self.outbox.push_send(len);
        Ok(())
    }

    /// When the request being written gives up: after the server's hold and one request
    /// timeout, and never later than one request timeout after the overall deadline, so a
    /// request sent late (the final poll after a request that hung until its own end, a retry)
    /// cannot stretch the run past it. A driver that comes back even later than that gets a
    /// whole timeout (never a deadline already past).
    fn request_deadline(&self, cfg: &Config<'_>, now: Instant, hold: Duration) -> Instant {
        let timeout = cfg.policy.request_timeout;
        let whole = now.saturating_add(hold).saturating_add(timeout);
        let cap = self.deadline.saturating_add(timeout);
        if now < cap { whole.min(cap) } else { whole }
    }

    pub(super) fn start_request(
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
            parser: ResponseParser::new(cfg.http_limits).lazy_date(),
        });
    }

    /// The marker's prefix (`>=`) and the change marker (advanced by its smallest unit when the
    /// server compares inclusively), in `buf`.
    pub(super) fn long_poll_marker<'b>(
        &self,
        prefix: &str,
        buf: &'b mut [u8; MAX_CURSOR + 8],
    ) -> Option<&'b str> {
        let cursor = self.marker.as_bytes();
        let start = prefix.len();
        let end = start.checked_add(cursor.len())?;
        buf.get_mut(..start)?.copy_from_slice(prefix.as_bytes());
        buf.get_mut(start..end)?.copy_from_slice(cursor);
        if self.marker.inclusive && !crate::dialect::advance_timestamp(buf.get_mut(start..end)?) {
            return None;
        }
        core::str::from_utf8(buf.get(..end)?).ok()
    }

    /// The job's path: the server's link as kept, or the dialect's path with the id written as
    /// one percent-encoded segment.
    pub(super) fn job_path<'b>(&self, buf: &'b mut [u8]) -> Option<&'b str> {
        let len = match self.job.kind {
            RefKind::None => return None,
            RefKind::Path => {
                let text = self.job.text.as_bytes();
                buf.get_mut(..text.len())?.copy_from_slice(text);
                text.len()
            }
            RefKind::Id | RefKind::IdToEncode => {
                let profile = self.dialect.profile();
                let mut len = 0usize;
                for part in [profile.base_path.as_bytes(), profile.job_path.as_bytes()] {
                    let end = len.checked_add(part.len())?;
                    buf.get_mut(len..end)?.copy_from_slice(part);
                    len = end;
                }
                let id = self.job.text.as_bytes();
                let segment = if self.job.kind == RefKind::Id {
                    // Checked when stored: every byte goes into the path as it is.
                    buf.get_mut(len..len.checked_add(id.len())?)?
                        .copy_from_slice(id);
                    id.len()
                } else {
                    write_segment(id, buf.get_mut(len..)?)?
                };
                len.checked_add(segment)?
            }
        };
        core::str::from_utf8(buf.get(..len)?).ok()
    }
}
