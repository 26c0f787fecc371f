//! The connection model: which connection the next request goes on, and when to close.

use core::time::Duration;

use crate::time::Instant;

use super::*;

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

    pub(super) fn close_connection(&mut self) {
        if self.conn != Conn::Closed || self.in_flight.is_some() {
            self.pending.push(Queued::Close);
        }
        self.conn = Conn::Closed;
    }
}
