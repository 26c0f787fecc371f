//! Drivers of the job machine for one I/O model each, behind cargo features.
//!
//! Every adapter is the crate's drive loop (see the crate docs) written once for its I/O model:
//! it owns the socket, the clock and the sleeping, and contains no policy. It never retries,
//! never picks a timeout (request deadlines come from [`SendRequest::deadline`]), never reads a
//! status: it classifies transport failures into [`TransportError`] and lets the machine
//! decide. Connections are handled exactly as the machine says: [`Connection::Fresh`] closes any
//! open connection and opens a new one, [`Connection::Reuse`] uses the open one (or opens one),
//! and [`Action::Close`] closes now: the machine says it for every reason to close (the server
//! closes, bytes after an answer, a failed or timed-out request), so no driver decides. Every
//! answer is read through one [`Exchange`].
//!
//! Progress is observed through one trait, [`Observer`], in every adapter: each [`Event`] as it
//! is drained, and each complete answer with the message the machine lends at that moment. A
//! driver run returns the [`Outcome`] and leaves the [`JobPoller`] with the caller, so the job id,
//! the request count, the elapsed time and a resume token stay available.
//!
//! | feature | module | I/O |
//! |---|---|---|
//! | `std` | `blocking` | `std::io::{Read, Write}` streams from a connect function (`TcpStream`, TLS), `std::thread::sleep` |
//! | `rustls` | `tls` | HTTPS for the blocking driver: rustls (ring), webpki roots, CA files, certificate pinning |
//! | `tokio` | `tokio` | `tokio::io::{AsyncRead, AsyncWrite}`, `tokio::time` |
//! | `tokio` | `fleet` | many jobs at once over a bounded pool of keep-alive connections per host |
//! | `tokio` | `journal` | a fleet that survives `kill -9`: each operation's intent, acceptance, progress and outcome in a journal (a trait; SQLite in `jobpoll-journal-sqlite`) |
//! | `tokio-rustls` | `tokio_tls` | HTTPS for the tokio driver and the fleet: the blocking driver's TLS options over tokio-rustls |
//! | `embedded-io` | `embedded` | `embedded_io::{Read, Write, ReadReady}`, `embedded_hal::delay::DelayNs` (no std, no alloc) |
//! | `embedded-io-async` | `embedded_async` | `embedded_io_async::{Read, Write}`, `embedded_hal_async::delay::DelayNs` (no std, no alloc) |
//!
//! [`SendRequest::deadline`]: crate::SendRequest::deadline
//! [`TransportError`]: crate::TransportError
//! [`Connection::Fresh`]: crate::Connection::Fresh
//! [`Connection::Reuse`]: crate::Connection::Reuse
//! [`Action::Close`]: crate::Action::Close
//! [`Event`]: crate::Event
//! [`Outcome`]: crate::Outcome

#[cfg(any(feature = "tokio", feature = "embedded-io-async"))]
use crate::{AfterRead, Config, Error, Exchange, Instant, TransportError};
use crate::{JobPoller, Machine};

/// A monotonic clock for the bare-metal drivers: the caller picks the epoch (boot, usually) and
/// the source (a hardware timer, `embassy_time::Instant`, ...).
#[cfg(any(feature = "embedded-io", feature = "embedded-io-async"))]
pub trait Clock {
    /// Now, in milliseconds since the epoch. Must never go backwards (the machine clamps it if
    /// it does, and reports it).
    fn now(&self) -> crate::Instant;
}

#[cfg(any(feature = "embedded-io", feature = "embedded-io-async"))]
impl<K: Clock + ?Sized> Clock for &K {
    fn now(&self) -> crate::Instant {
        (**self).now()
    }
}

/// Where draining `poll` stops for a bare-metal driver (which keeps a connection only while the
/// machine reuses it). Events are observed on the way.
#[cfg(any(feature = "embedded-io", feature = "embedded-io-async"))]
pub(crate) enum Drained<O> {
    /// Send this request: on the open connection when it says `Reuse`, else on a new one.
    Send(crate::SendRequest),
    /// Nothing to do before this instant.
    Sleep(crate::Instant),
    /// Close the open connection.
    Close,
    /// The machine's result.
    Done(O),
}

/// Drains `poll` to the next thing only the driver can do.
#[cfg(any(feature = "embedded-io", feature = "embedded-io-async"))]
pub(crate) fn drain<M, O>(
    machine: &mut M,
    cfg: &crate::Config<'_>,
    input: M::Input<'_>,
    now: crate::Instant,
    tx: &mut [u8],
    observer: &mut O,
) -> Result<Drained<M::Output>, crate::Error>
where
    M: Machine + ?Sized,
    O: Observer<M>,
{
    loop {
        return Ok(match machine.poll(cfg, input, now, tx)? {
            crate::Step::Event(event) => {
                observer.on_event(machine, event);
                continue;
            }
            crate::Step::SendRequest(req) => Drained::Send(req),
            crate::Step::SleepUntil(t) => Drained::Sleep(t),
            crate::Step::Close => Drained::Close,
            crate::Step::Done(output) => Drained::Done(output),
        });
    }
}

#[cfg(feature = "std")]
mod failure;
#[cfg(feature = "std")]
pub use failure::{ConnectError, IoFailure, classify_connect_error};

#[cfg(feature = "std")]
pub mod blocking;
#[cfg(feature = "embedded-io")]
pub mod embedded;
#[cfg(feature = "embedded-io-async")]
pub mod embedded_async;
#[cfg(feature = "tokio")]
pub mod fleet;
#[cfg(feature = "tokio")]
pub mod journal;
#[cfg(feature = "rustls")]
pub mod tls;
#[cfg(feature = "tokio")]
pub mod tokio;
#[cfg(feature = "tokio-rustls")]
pub mod tokio_tls;

/// What a caller sees of a driver run while it happens, without copying into the machine.
///
/// `M` is the machine run: a [`JobPoller`] by default (events are [`Event`](crate::Event)s, replies
/// [`Reply`](crate::Reply)s), or any other [`Machine`] (a [`JobSet`](crate::JobSet), a
/// [`JobList`](crate::list::JobList) whose replies are its pages...).
///
/// Both methods have empty defaults; `()` observes nothing. Neither can influence the run: to
/// stop following a job, drop the driver's future (async drivers) or call
/// [`JobPoller::cancel`] between runs.
pub trait Observer<M: Machine + ?Sized = JobPoller> {
    /// An event drained from the machine; for a job, `poller.last_seen()` has the raw state
    /// and code.
    fn on_event(&mut self, machine: &M, event: M::Event) {
        let _ = (machine, event);
    }

    /// A complete answer was handled. What it lends (a job's message and `jobs`, a listing's
    /// records) is lent only for this call.
    fn on_reply(&mut self, machine: &M, reply: &M::Reply<'_>) {
        let _ = (machine, reply);
    }
}

/// Observes nothing.
impl<M: Machine + ?Sized> Observer<M> for () {}

impl<M: Machine + ?Sized, O: Observer<M> + ?Sized> Observer<M> for &mut O {
    fn on_event(&mut self, machine: &M, event: M::Event) {
        (**self).on_event(machine, event);
    }

    fn on_reply(&mut self, machine: &M, reply: &M::Reply<'_>) {
        (**self).on_reply(machine, reply);
    }
}

/// A job observer watching a [`JobSet`](crate::JobSet): each event and reply is observed with
/// the job it concerns.
#[cfg(feature = "std")]
pub(crate) struct EachJob<O>(pub(crate) O);

#[cfg(feature = "std")]
impl<O: Observer> Observer<crate::JobSet<'_>> for EachJob<O> {
    fn on_event(&mut self, set: &crate::JobSet<'_>, event: crate::SetEvent) {
        if let Some(job) = set.jobs().get(event.index) {
            self.0.on_event(job, event.event);
        }
    }

    fn on_reply(&mut self, set: &crate::JobSet<'_>, reply: &crate::Reply<'_>) {
        if let Some(job) = set.active() {
            self.0.on_reply(job, reply);
        }
    }
}

/// A connection as the two async drivers see it: send all bytes, read some.
#[cfg(any(feature = "tokio", feature = "embedded-io-async"))]
pub(crate) trait AsyncConnection {
    /// Writes and flushes all of `bytes`; false when that failed.
    async fn send(&mut self, bytes: &[u8]) -> bool;
    /// Reads into `buf`: `Some(0)` at the end of the stream, `None` when the read failed.
    async fn receive(&mut self, buf: &mut [u8]) -> Option<usize>;
}

/// A machine with a request in flight, as an async driver's future holds it: `stage` is the
/// failure the machine is told of if the future is dropped before the request ends.
#[cfg(any(feature = "tokio", feature = "embedded-io-async"))]
pub(crate) struct Pending<'a, M: Machine + ?Sized> {
    pub(crate) machine: &'a mut M,
    /// The configuration the machine runs with (its inputs take it).
    pub(crate) cfg: &'a Config<'a>,
    pub(crate) stage: TransportError,
}

#[cfg(any(feature = "tokio", feature = "embedded-io-async"))]
impl<M: Machine + ?Sized> Pending<'_, M> {
    /// The future is dropped: a request still in flight failed at `stage`. Returns whether it
    /// was in flight (its connection may hold a late answer).
    pub(crate) fn abandon(&mut self, now: Instant) -> bool {
        let in_flight = self.machine.is_request_in_flight();
        if in_flight {
            self.machine
                .handle_transport_error(self.cfg, now, self.stage);
        }
        in_flight
    }
}

/// Sends the request and feeds its answer to the machine through an [`Exchange`]: the part the
/// async drivers share (each races it against the request's deadline). `job.stage` says which
/// failure a dropped future leaves behind.
#[cfg(any(feature = "tokio", feature = "embedded-io-async"))]
pub(crate) async fn send_and_read<C, M, O>(
    conn: &mut C,
    job: &mut Pending<'_, M>,
    now: impl Fn() -> Instant,
    tx: &[u8],
    rx: &mut [u8],
    observer: &mut O,
) -> Result<(), Error>
where
    C: AsyncConnection,
    M: Machine + ?Sized,
    O: Observer<M> + ?Sized,
{
    let Pending {
        machine,
        cfg,
        stage,
    } = job;
    *stage = TransportError::WriteFailed;
    if !conn.send(tx).await {
        machine.handle_transport_error(cfg, now(), TransportError::WriteFailed);
        return Ok(());
    }
    *stage = TransportError::ReadFailed;
    let mut exchange = Exchange::new();
    loop {
        let Some(n) = conn.receive(exchange.free(rx)).await else {
            machine.handle_transport_error(cfg, now(), TransportError::ReadFailed);
            return Ok(());
        };
        match exchange.read(&mut **machine, cfg, now(), rx, n)? {
            AfterRead::ReadMore => {}
            AfterRead::Answered(reply) => {
                observer.on_reply(machine, &reply);
                return Ok(());
            }
            _ => return Ok(()),
        }
    }
}
