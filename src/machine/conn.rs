//! The connection model: which connection the next request goes on, and when to close.

use core::time::Duration;

use crate::http::Response;
use crate::time::Instant;

use super::JobPoller;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) enum Conn {
    Closed,
    /// Open and reusable until `idle_until` (the server's `Keep-Alive: timeout`); its last
    /// answer arrived at `answered_at`.
    Open {
        idle_until: Instant,
        answered_at: Instant,
    },
}

impl Conn {
    /// The connection after a complete answer: open until the server's keep-alive timeout, or,
    /// when the server closes it (`keep_alive` false), to be closed now (`None`).
    pub(super) fn after_answer(
        keep_alive: bool,
        keep_alive_timeout: Option<Duration>,
        now: Instant,
    ) -> Option<Conn> {
        keep_alive.then(|| Conn::Open {
            idle_until: now.saturating_add(keep_alive_timeout.unwrap_or(Duration::MAX)),
            answered_at: now,
        })
    }

    /// The one keep-or-close rule for an answer read from the stream: the connection is kept
    /// only when the server keeps it, has not closed it (end of stream), and sent nothing after
    /// the answer (no pipelining: bytes after an answer are never read as the next one).
    pub(super) fn after_response(
        response: &Response,
        filled: usize,
        end_of_stream: bool,
        now: Instant,
    ) -> Option<Conn> {
        if end_of_stream || response.consumed != filled {
            return None;
        }
        Conn::after_answer(response.keep_alive, response.keep_alive_timeout, now)
    }

    /// A poll or a cancel may go on this connection: it is open and within its idle time.
    /// (Either is safe to resend if the server closes it as the request is written.)
    pub(super) fn reusable(self, now: Instant) -> bool {
        match self {
            Conn::Open { idle_until, .. } => now < idle_until,
            Conn::Closed => false,
        }
    }

    /// A submit may go on this connection: it answered within [`SUBMIT_REUSE_WINDOW`] and keeps
    /// more than that of its idle time. A server closing it as the submit is written would leave
    /// the submit's fate unknown (it is never resent), so only a connection that is surely alive
    /// qualifies.
    pub(super) fn reusable_for_submit(self, now: Instant) -> bool {
        match self {
            Conn::Open {
                idle_until,
                answered_at,
            } => {
                now.saturating_duration_since(answered_at) <= SUBMIT_REUSE_WINDOW
                    && now.saturating_add(SUBMIT_REUSE_WINDOW) < idle_until
            }
            Conn::Closed => false,
        }
    }
}

/// A submit goes on a kept-alive connection (when the policy allows it) only if the connection
/// answered within this span and keeps at least this much of its keep-alive window.
pub(super) const SUBMIT_REUSE_WINDOW: Duration = Duration::from_secs(1);

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

    /// The connection after an answer read from the stream, by the machine's one rule (see
    /// [`Conn::after_response`]).
    pub(crate) fn after_response(
        response: &Response,
        filled: usize,
        end_of_stream: bool,
        now: Instant,
    ) -> Self {
        ConnectionState(
            Conn::after_response(response, filled, end_of_stream, now).unwrap_or(Conn::Closed),
        )
    }

    /// An idempotent request may go on it (see [`Conn::reusable`]).
    pub(crate) fn reusable(self, now: Instant) -> bool {
        self.0.reusable(now)
    }
}

impl JobPoller {
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

    /// The connection ends: the server closes it or sent more than the answer, or the request
    /// on it was abandoned (failed, timed out, cancelled, unreadable) and it may hold a late
    /// answer. `Close` tells the driver, whatever the machine knew of it (closing when nothing
    /// is open is harmless).
    pub(super) fn close_connection(&mut self) {
        self.outbox.push_close();
        self.conn = Conn::Closed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn an_answer_keeps_the_connection_until_the_servers_idle_time() {
        let open = Conn::after_answer(true, Some(Duration::from_secs(5)), at(1_000));
        assert_eq!(
            open,
            Some(Conn::Open {
                idle_until: at(6_000),
                answered_at: at(1_000)
            })
        );
        assert_eq!(
            Conn::after_answer(false, Some(Duration::from_secs(5)), at(0)),
            None
        );
        // No Keep-Alive timeout: open for as long as the server keeps it.
        let forever = Conn::after_answer(true, None, at(0)).expect("open");
        assert!(forever.reusable(at(u64::MAX - 1)));
    }

    #[test]
    fn reuse_rules_for_polls_and_submits() {
        let conn = Conn::Open {
            idle_until: at(10_000),
            answered_at: at(2_000),
        };
        // (now, a poll may reuse it, a submit may reuse it)
        let table = [
            (2_000, true, true),
            (3_000, true, true),  // answered 1 s ago: still within the window
            (3_001, true, false), // answered longer ago than the window
            (8_999, true, false),
            (9_999, true, false),   // a submit needs a second of idle time left
            (10_000, false, false), // the idle time is over
        ];
        for (now, poll, submit) in table {
            assert_eq!(conn.reusable(at(now)), poll, "poll at {now}");
            assert_eq!(conn.reusable_for_submit(at(now)), submit, "submit at {now}");
        }
        let near_idle_end = Conn::Open {
            idle_until: at(2_900),
            answered_at: at(2_000),
        };
        assert!(!near_idle_end.reusable_for_submit(at(2_000)));
        assert!(!Conn::Closed.reusable(at(0)));
        assert!(!Conn::Closed.reusable_for_submit(at(0)));
    }
}
