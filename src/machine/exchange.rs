//! [`Exchange`]: reading one answer, the same way in every driver.
//!
//! What every read loop used to repeat lives here: the bytes filled so far, the end of the
//! stream, a full buffer. Whether the connection is kept is the machine's to say (it queues
//! `Close` for every reason to close: the server closes it, it sent bytes after the answer, the
//! answer was cut or unreadable, the request failed), so a driver only connects, writes, reads
//! and sleeps.

use crate::action::{Event, Outcome, Received, Reply, Step};
use crate::config::{Config, Submit};
use crate::error::{Error, TransportError};
use crate::time::Instant;

use super::{ConnectionState, JobPoller};

/// The one shape of every sans-IO machine in this crate ([`JobPoller`], [`JobSet`],
/// [`JobList`], [`RecoveryPager`]), so one driver loop runs each of them: `poll` says what to do
/// next, `handle_*` take what happened. The drain rule is [`Action`](crate::Action)'s.
///
/// [`JobSet`]: crate::JobSet
/// [`JobList`]: crate::list::JobList
/// [`RecoveryPager`]: crate::list::RecoveryPager
pub trait Machine {
    /// What `poll` reads besides the configuration, the clock and the buffer: the operation
    /// ([`Submit`]) for a job, the query for a listing, nothing for a set.
    type Input<'a>: Copy;
    /// What a complete answer lends an observer (for a job, the [`Reply`]; for a listing, the
    /// page).
    type Reply<'r>;
    /// What the machine reports as it goes.
    type Event: Copy;
    /// What it ends with.
    type Output: Copy;

    /// The next step; see [`JobPoller::poll`]. An `Err` changes nothing.
    fn poll(
        &mut self,
        cfg: &Config<'_>,
        input: Self::Input<'_>,
        now: Instant,
        tx: &mut [u8],
    ) -> Result<Step<Self::Event, Self::Output>, Error>;
    /// The answer read so far (`rx[..filled]`, growing); see [`JobPoller::handle_response`].
    fn handle_response<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<AfterRead<Self::Reply<'r>>, Error>;
    /// The peer closed the stream after `rx[..filled]`; see [`JobPoller::handle_eof`].
    fn handle_eof<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<AfterRead<Self::Reply<'r>>, Error>;
    /// The request failed in transport; see [`JobPoller::handle_transport_error`].
    fn handle_transport_error(&mut self, cfg: &Config<'_>, now: Instant, error: TransportError);
    /// The request's deadline passed; see [`JobPoller::handle_timeout`].
    fn handle_timeout(&mut self, cfg: &Config<'_>, now: Instant);
    /// The caller wants to stop (a signal, a shutdown); see [`JobPoller::cancel`].
    fn cancel(&mut self, now: Instant);
    /// Whether a request was sent whose answer is not yet fed (a driver dropping its future
    /// then tells the machine the request failed).
    fn is_request_in_flight(&self) -> bool;
    /// A pooled connection is about to carry this machine's next request; see
    /// [`JobPoller::adopt_connection`]. The default ignores it (a machine that always reuses).
    fn adopt_connection(&mut self, state: ConnectionState) {
        let _ = state;
    }
    /// What this machine knows of the connection it used last, for the next user of a pooled
    /// connection; `None` when it keeps no such knowledge.
    fn connection_state(&self) -> Option<ConnectionState> {
        None
    }
    /// Whether the next submit may ask the server to hold it; see
    /// [`JobPoller::allow_submit_hold`]. A pooling driver says `false` when other work waits
    /// for the connection. The default ignores it (a machine that sends no submit).
    fn allow_submit_hold(&mut self, allowed: bool) {
        let _ = allowed;
    }
}

/// What a job's `handle_*` said, in the shape every machine shares.
pub(crate) fn after_read(received: Received<'_>) -> AfterRead<Reply<'_>> {
    match received {
        Received::NeedMore => AfterRead::ReadMore,
        Received::Complete(reply) => AfterRead::Answered(reply),
        _ => AfterRead::Failed,
    }
}

impl Machine for JobPoller {
    type Input<'a> = &'a Submit<'a>;
    type Reply<'r> = Reply<'r>;
    type Event = Event;
    type Output = Outcome;

    fn poll(
        &mut self,
        cfg: &Config<'_>,
        op: &Submit<'_>,
        now: Instant,
        tx: &mut [u8],
    ) -> Result<Step<Event, Outcome>, Error> {
        JobPoller::poll(self, cfg, op, now, tx).map(Step::from)
    }
    fn handle_response<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<AfterRead<Reply<'r>>, Error> {
        JobPoller::handle_response(self, cfg, now, rx, filled).map(after_read)
    }
    fn handle_eof<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<AfterRead<Reply<'r>>, Error> {
        JobPoller::handle_eof(self, cfg, now, rx, filled).map(after_read)
    }
    fn handle_transport_error(&mut self, cfg: &Config<'_>, now: Instant, error: TransportError) {
        JobPoller::handle_transport_error(self, cfg, now, error);
    }
    fn handle_timeout(&mut self, cfg: &Config<'_>, now: Instant) {
        JobPoller::handle_timeout(self, cfg, now);
    }
    fn cancel(&mut self, now: Instant) {
        JobPoller::cancel(self, now);
    }
    fn is_request_in_flight(&self) -> bool {
        JobPoller::is_request_in_flight(self)
    }
    fn adopt_connection(&mut self, state: ConnectionState) {
        JobPoller::adopt_connection(self, state);
    }
    fn connection_state(&self) -> Option<ConnectionState> {
        Some(JobPoller::connection_state(self))
    }
    fn allow_submit_hold(&mut self, allowed: bool) {
        JobPoller::allow_submit_hold(self, allowed);
    }
}

/// What the driver does after feeding bytes to an [`Exchange`] (or to a machine's
/// `handle_*`): `A` is the machine's [`Reply`](Machine::Reply).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AfterRead<A> {
    /// Read more into [`Exchange::free`], until the request's deadline (then
    /// `handle_timeout`).
    ReadMore,
    /// The answer is complete; here is what it said (for an observer). Drain `poll` next.
    Answered(A),
    /// The answer was cut, too large or unreadable; the machine has decided what follows.
    /// Drain `poll` next.
    Failed,
}

/// One request's answer being read into the caller's receive buffer.
///
/// ```text
/// let mut exchange = Exchange::new();
/// loop {
///     let n = read(exchange.free(&mut rx))?;      // 0 at the end of the stream
///     match exchange.read(&mut job, &cfg, now, &mut rx, n)? {
///         AfterRead::ReadMore => continue,
///         _ => break,                             // then drain poll (it may say Close)
///     }
/// }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Exchange {
    filled: usize,
}

impl Exchange {
    /// An exchange with nothing read yet: start one for each request sent.
    pub const fn new() -> Self {
        Exchange { filled: 0 }
    }

    /// Bytes of the answer read so far, at the start of the receive buffer.
    pub const fn filled(&self) -> usize {
        self.filled
    }

    /// Where the next read goes: the receive buffer after the bytes already read. Never empty
    /// while [`AfterRead::ReadMore`] is the answer (a full buffer is an answer too large).
    pub fn free<'b>(&self, rx: &'b mut [u8]) -> &'b mut [u8] {
        rx.get_mut(self.filled..).unwrap_or_default()
    }

    /// Feeds the `n` bytes just read into [`free`](Self::free); `n == 0` is the end of the
    /// stream. The machine may rewrite `rx` in place (chunked framing removed).
    pub fn read<'r, M: Machine + ?Sized>(
        &mut self,
        machine: &mut M,
        cfg: &Config<'_>,
        now: Instant,
        rx: &'r mut [u8],
        n: usize,
    ) -> Result<AfterRead<M::Reply<'r>>, Error> {
        let capacity = rx.len();
        let end_of_stream = n == 0;
        let after = if end_of_stream {
            machine.handle_eof(cfg, now, rx, self.filled)?
        } else {
            self.filled = self.filled.saturating_add(n).min(capacity);
            machine.handle_response(cfg, now, rx, self.filled)?
        };
        Ok(match after {
            AfterRead::ReadMore if !end_of_stream && self.filled < capacity => AfterRead::ReadMore,
            AfterRead::ReadMore => {
                // The machine judges the end of the stream and a full buffer itself (cut, too
                // large) and never asks for more then; were it to, the request has failed.
                machine.handle_transport_error(cfg, now, TransportError::ReadFailed);
                AfterRead::Failed
            }
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::action::{Action, Connection};
    use crate::config::{Config, Submit};
    use crate::dialect::Dialect;
    use crate::http::{Auth, Authority};

    fn config() -> Config<'static> {
        Config::new(
            Authority {
                host: "cluster",
                port: 443,
                tls: true,
            },
            Auth::None,
            Dialect::default(),
        )
    }

    /// What each read gave, without the reply (which borrows the buffer).
    #[derive(Debug, PartialEq)]
    enum Kind {
        ReadMore,
        Answered,
        Failed,
    }

    /// A machine with its submit in flight, and what `poll` said after `answer` was fed in
    /// the pieces given (0: end of stream).
    fn feed(
        answer: &[u8],
        pieces: &[usize],
        rx_len: usize,
    ) -> (std::vec::Vec<Kind>, std::vec::Vec<Action>) {
        let cfg = config();
        let op = Submit::post("/api/storage/volumes", b"{}");
        let mut job = JobPoller::submit(&cfg, &op, Instant::ZERO).expect("valid");
        let mut tx = [0u8; 512];
        assert!(matches!(
            job.poll(&cfg, &op, Instant::ZERO, &mut tx),
            Ok(Action::SendRequest(s)) if s.connection == Connection::Fresh
        ));
        let mut rx = std::vec![0u8; rx_len];
        let mut exchange = Exchange::new();
        let mut steps = std::vec::Vec::new();
        let mut sent = 0;
        for &piece in pieces {
            let free = exchange.free(&mut rx);
            let n = piece.min(free.len()).min(answer.len() - sent);
            free[..n].copy_from_slice(&answer[sent..sent + n]);
            sent += n;
            let step = match exchange
                .read(&mut job, &cfg, Instant::ZERO, &mut rx, n)
                .expect("in flight")
            {
                AfterRead::ReadMore => Kind::ReadMore,
                AfterRead::Answered(_) => Kind::Answered,
                _ => Kind::Failed,
            };
            let done = step != Kind::ReadMore;
            steps.push(step);
            if done {
                break;
            }
        }
        let mut actions = std::vec::Vec::new();
        for _ in 0..4 {
            match job.poll(&cfg, &op, Instant::ZERO, &mut tx) {
                Ok(Action::Event(e)) => actions.push(Action::Event(e)),
                Ok(action) => {
                    actions.push(action);
                    if action != Action::Close {
                        break;
                    }
                }
                Err(e) => panic!("{e:?}"),
            }
        }
        (steps, actions)
    }

    const ACCEPTED: &[u8] =
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 20\r\n\r\n{\"job\":{\"uuid\":\"u\"}}";

    #[test]
    fn the_machine_keeps_a_connection_only_after_a_clean_answer() {
        let n = ACCEPTED.len();
        // Whole, in pieces: the connection stays (no Close before the sleep).
        let (steps, actions) = feed(ACCEPTED, &[n], 1024);
        assert_eq!(steps, [Kind::Answered]);
        assert!(!actions.contains(&Action::Close), "{actions:?}");
        let (steps, actions) = feed(ACCEPTED, &[10, 10, n], 1024);
        assert_eq!(steps, [Kind::ReadMore, Kind::ReadMore, Kind::Answered]);
        assert!(!actions.contains(&Action::Close), "{actions:?}");
        // Bytes after the answer: never read as the next answer, so the connection goes.
        let mut extra = ACCEPTED.to_vec();
        extra.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        let (_, actions) = feed(&extra, &[extra.len()], 1024);
        assert_eq!(actions.first(), Some(&Action::Close), "{actions:?}");
    }

    #[test]
    fn the_end_of_the_stream_and_a_full_buffer_end_the_exchange() {
        // The peer closes mid-answer: cut, and the submit's fate is unknown.
        let (steps, actions) = feed(ACCEPTED, &[30, 0], 1024);
        assert_eq!(steps, [Kind::ReadMore, Kind::Failed]);
        assert_eq!(actions.first(), Some(&Action::Close));
        assert!(actions.contains(&Action::Done(crate::Outcome::SubmitOutcomeUnknown)));
        // A receive buffer too small for the answer: the exchange ends, never a read into
        // nothing.
        let (steps, actions) = feed(ACCEPTED, &[16, 16, 16], 32);
        assert_eq!(steps, [Kind::ReadMore, Kind::Failed]);
        assert_eq!(actions.first(), Some(&Action::Close));
    }
}
