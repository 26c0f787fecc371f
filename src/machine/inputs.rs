//! The inputs: answers, end of stream, transport failures, time, and the caller's cancel.

use core::time::Duration;

use crate::action::{Outcome, Received, RetryCause};
use crate::config::Config;
use crate::error::{Error, TransportError};
use crate::time::Instant;

use super::JobPoller;
use super::conn::Conn;

impl JobPoller {
    /// Feed the answer received so far: `rx[..filled]` holds every byte read for the request
    /// in flight (append and call again on `NeedMore`). The machine may rewrite `rx[..filled]` in
    /// place (chunked framing removed). When `filled == rx.len()` and the answer is incomplete,
    /// it is treated as too large.
    pub fn handle_response<'r>(
        &mut self,
        cfg: &Config<'_>,
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
        self.finish_parse(cfg, now, parsed, rx, filled, false)
    }

    /// The peer closed the connection cleanly after `rx[..filled]`: this completes an answer
    /// delimited by the close; anything else incomplete is a failed request.
    pub fn handle_eof<'r>(
        &mut self,
        cfg: &Config<'_>,
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
        self.finish_parse(cfg, now, parsed, rx, filled, true)
    }

    /// The transport failed for the request in flight. No-op when none is in flight.
    pub fn handle_transport_error(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        error: TransportError,
    ) {
        let now = self.clamp(now);
        let Some(in_flight) = self.in_flight.take() else {
            return;
        };
        if error == TransportError::ConnectFailed || error == TransportError::Untrusted {
            // No connection was made, or the driver dropped the one it refused.
            self.conn = Conn::Closed;
        } else {
            self.close_connection();
        }
        if error == TransportError::Untrusted {
            self.finish(Outcome::TransportFailed { error });
            return;
        }
        self.request_failed(
            cfg,
            now,
            in_flight,
            RetryCause::Transport(error),
            error == TransportError::ConnectFailed,
        );
    }

    /// Time passed. If the request in flight is past its deadline it has failed: `Close` follows,
    /// so a late answer is never read as the answer to another request. Otherwise nothing
    /// happens, so calling early or twice is harmless.
    pub fn handle_timeout(&mut self, cfg: &Config<'_>, now: Instant) {
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
            cfg,
            now,
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
}
