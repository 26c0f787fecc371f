//! Many jobs at once over a bounded pool of keep-alive connections per host (feature `tokio`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), jobpoll::Error> {
//! use jobpoll::adapters::fleet::{Fleet, FleetLimits};
//! use jobpoll::adapters::tokio::Tcp;
//! use jobpoll::http::{Auth, Authority};
//! use jobpoll::{Config, Dialect, JobPoller, Submit};
//!
//! let cfg = Config::new(
//!     Authority { host: "127.0.0.1", port: 8080, tls: false },
//!     Auth::Basic { user: "admin", password: "secret" },
//!     Dialect::default(),
//! );
//! let fleet = Fleet::new(Tcp, FleetLimits::default());
//! let ops: Vec<_> = (0..100).map(|_| Submit::post("/api/storage/volumes", b"{}")).collect();
//! let runs = ops.iter().map(|op| async {
//!     let slot = fleet.slot().await; // waits while `max_jobs_in_flight` jobs run
//!     let mut poller = JobPoller::submit(&cfg, op, fleet.now())?;
//!     let outcome = slot.drive(&mut poller, &cfg, op, ()).await?;
//!     Ok::<_, jobpoll::Error>((outcome, poller))
//! });
//! for run in futures_util::future::join_all(runs).await {
//!     let (outcome, poller) = run?;
//!     println!("{outcome:?} {:?}", poller.job_id());
//! }
//! # Ok(()) }
//! ```
//!
//! How it works, and what it costs:
//! - **Connections belong to the pool, not to jobs.** A job leases a connection (with its
//!   transmit and receive buffers) only from the moment a request is due until its answer is
//!   handled and the machine says what comes next; a job waiting on `SleepUntil` holds no
//!   connection, no buffer and no exchange state (the exchange of a request in flight is
//!   boxed). So memory per job is its [`JobPoller`] plus its future (about 1 KiB together,
//!   checked by a test), whatever the buffer sizes; buffers exist at most
//!   `max_connections_per_host` times per host.
//! - **At most `max_connections_per_host` connections per host are open**, idle ones
//!   included: a job that needs a connection waits for a lease. Leases are handed out first
//!   come, first served (tokio's fair semaphore).
//! - **The machine's connection rules hold per request, for the connection really used**: a
//!   leased connection comes with what the machine that used it last knew of it (its
//!   keep-alive window, [`ConnectionState`]), handed to the job's machine before it writes its
//!   request. A `Fresh` request (a submit under the default policy, a poll past the server's
//!   keep-alive window, a retry after a stale connection) closes the leased connection if it
//!   is open and opens a new one; a `Reuse` request goes on it. An answer that is not kept
//!   alive, or is followed by extra bytes, closes the connection; so does `Close`.
//! - **Submits**: under the default policy each opens a connection (a submit is never sent
//!   where a server's idle close could race it). For large fleets set
//!   [`Policy::reuse_connection_for_submit`](crate::Policy::reuse_connection_for_submit):
//!   submits then go on pooled connections that answered within the last second, and the
//!   connections opened stay bounded by the pool (10,000 jobs: 4 connections instead of
//!   10,000; BENCHMARKS.md).
//! - **No policy**: the fleet neither retries nor times out anything itself; each job's machine
//!   does, with its own deadlines.
//!
//! - **Held submits do not starve the pool.** A submit with a server-side hold (ONTAP
//!   `return_timeout`) keeps its connection busy until the job ends or the hold passes. The
//!   fleet decides from its own queue, when the submit is written ([`SubmitHold::WhenIdle`],
//!   the default): the hold is kept only when no job waits for a connection of that host and
//!   another connection stays free; otherwise the submit asks for a hold of 0 and the job is
//!   polled. A hold cannot be shortened once sent, so jobs arriving during it share the other
//!   connections until it ends. 50 four-second jobs over the default pool: 52 s when every
//!   submit holds 30 s, about the time of `return_timeout` 0 with the rule (BENCHMARKS.md).
//! - **Counters**: [`Fleet::stats`] reads jobs by phase, connections, requests, holds, retries
//!   and outcomes at any time, without a lock; [`FleetStats::write_prometheus`] writes them in
//!   the Prometheus text format (`examples/fleet_prometheus.rs`).
//!
//! A caution for large fleets: a long poll (Select Deploy `poll_timeout`) keeps its connection
//! busy for the whole hold too, and the fleet does not shorten it: the other jobs' polls queue
//! behind it. Keep long-poll holds short when many jobs share few connections.

use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use core::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};
use std::boxed::Box;
use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::vec::Vec;

mod stats;
use stats::{Counters, Raised};
pub use stats::{FleetStats, OutcomeCounts};

use super::tokio::{
    Clock, Connect, DEFAULT_RX_BUFFER, DEFAULT_TX_BUFFER, Endpoint, InFlight, check_connector,
    exchange, last_noted,
};
use super::{IoFailure, Observer, Pending};
use crate::TransportError;
use crate::{
    Config, Connection, ConnectionState, Error, Event, Instant, JobPoller, Machine, Outcome,
    Purpose, Reply, SendRequest, Step, Submit,
};

/// Limits of a [`Fleet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FleetLimits {
    /// Connections open at once to one host (scheme, host and port), idle ones included.
    ///
    /// Default 4: ONTAP refuses new connections when its REST input queue is full, so a client
    /// should keep few of them; job polls are short GETs, so four connections carry hundreds of
    /// jobs polled every few seconds, and every job's submit still gets a fresh connection
    /// within the limit.
    pub max_connections_per_host: usize,
    /// Jobs driven at once; further [`Fleet::slot`] calls wait.
    ///
    /// Default 256: about half a megabyte of jobs, far more than four connections can poll at
    /// a useful rate, and a bound on how many jobs one client starts on a server at once.
    pub max_jobs_in_flight: usize,
    /// Receive buffer of each pooled connection: the largest answer accepted (the machine asks
    /// for fewer fields when a job body does not fit). Default [`DEFAULT_RX_BUFFER`].
    pub rx_buffer: usize,
    /// When a submit may ask the server to hold it (ONTAP `return_timeout`). Default
    /// [`SubmitHold::WhenIdle`]: only on a connection no other work needs.
    pub submit_hold: SubmitHold,
}

/// When the fleet lets a submit carry the server-side hold its configuration asks for (ONTAP
/// `return_timeout`): a held submit keeps its connection busy until the job ends or the hold
/// passes, and polls of other jobs cannot use that connection meanwhile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubmitHold {
    /// Decided from the host's pool when the submit is written: the hold is kept when no job
    /// waits for a connection of that host and, this connection taken, at least one more is
    /// free (the last free connection is never held, so jobs arriving during the hold still
    /// find one). Otherwise the hold is waived: the submit asks for a hold of 0, is answered
    /// at once, and the job is polled like any other.
    ///
    /// Its limits: a hold cannot be shortened once sent, so jobs that arrive during a hold
    /// share the remaining connections until it ends; and the rule sees only this fleet's own
    /// queue, not other clients of the server.
    #[default]
    WhenIdle,
    /// Always as configured (every submit held; the fleet's behaviour before the rule above).
    AsConfigured,
}

impl FleetLimits {
    /// 4 connections per host, 256 jobs in flight, [`DEFAULT_RX_BUFFER`] per connection.
    pub const DEFAULT: FleetLimits = FleetLimits {
        max_connections_per_host: 4,
        max_jobs_in_flight: 256,
        rx_buffer: DEFAULT_RX_BUFFER,
        submit_hold: SubmitHold::WhenIdle,
    };
}

impl Default for FleetLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Runs many jobs at once over pooled keep-alive connections. Share it by reference (or in an
/// `Arc`) between the jobs' futures; it spawns no task.
pub struct Fleet<C: Connect> {
    connector: C,
    clock: Clock,
    limits: FleetLimits,
    jobs: Semaphore,
    pools: Mutex<HashMap<Endpoint, Arc<HostPool<C>>>>,
    last_error: Mutex<Option<IoFailure>>,
    counters: Arc<Counters>,
}

impl<C: Connect> core::fmt::Debug for Fleet<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Fleet")
            .field("limits", &self.limits)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// The right to drive one job in a [`Fleet`] (one of `max_jobs_in_flight`), held until the
/// job's drive ends.
#[derive(Debug)]
pub struct Slot<'f, C: Connect> {
    fleet: &'f Fleet<C>,
    _permit: Option<SemaphorePermit<'f>>,
}

/// A pooled connection's parts: the stream when open, what the machine that used it last knows
/// of it (its keep-alive window), and its buffers.
struct Conn<S> {
    stream: Option<S>,
    state: ConnectionState,
    tx: Vec<u8>,
    rx: Vec<u8>,
}

/// One host's pool: a permit per connection that may exist, and the parked connections
/// (open and idle, or closed with their buffers kept).
struct Pool<S> {
    permits: Arc<Semaphore>,
    parked: Mutex<Vec<Box<Conn<S>>>>,
    rx_buffer: usize,
    /// Jobs waiting for a lease now.
    waiting: AtomicU64,
    submit_hold: SubmitHold,
}

/// A host's pool of a fleet whose connector is `C`.
type HostPool<C> = Pool<Tracked<<C as Connect>::Stream>>;

/// An open connection of the fleet: counted as open from its connect until it is dropped.
struct Tracked<S> {
    stream: S,
    counters: Arc<Counters>,
}

impl<S> Tracked<S> {
    fn new(stream: S, counters: Arc<Counters>) -> Self {
        Counters::bump(&counters.connections_opened);
        Counters::bump(&counters.connections_open);
        Tracked { stream, counters }
    }
}

impl<S> Drop for Tracked<S> {
    fn drop(&mut self) {
        self.counters.connections_open.fetch_sub(1, Relaxed);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// A connection leased to one job; returned to its pool on drop (open only if it was left
/// open, which the exchange does only after a clean keep-alive answer).
struct Lease<S> {
    conn: Option<Box<Conn<S>>>,
    pool: Arc<Pool<S>>,
    _permit: OwnedSemaphorePermit,
}

impl<S> Drop for Lease<S> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool
                .parked
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
    }
}

impl<S> Pool<S> {
    fn new(limits: &FleetLimits) -> Self {
        Pool {
            permits: Arc::new(Semaphore::new(limits.max_connections_per_host.max(1))),
            parked: Mutex::new(Vec::new()),
            rx_buffer: limits.rx_buffer,
            waiting: AtomicU64::new(0),
            submit_hold: limits.submit_hold,
        }
    }

    /// Whether a submit written now, on a connection just leased from this pool, may carry
    /// its hold ([`SubmitHold`]).
    fn hold_allowed(&self) -> bool {
        match self.submit_hold {
            SubmitHold::AsConfigured => true,
            SubmitHold::WhenIdle => {
                self.waiting.load(Relaxed) == 0 && self.permits.available_permits() > 0
            }
        }
    }

    /// Waits for a connection permit, then takes a parked connection (an open one first) or
    /// makes new buffers. At most one parked entry exists per permit not in use, so open
    /// connections never exceed the permits.
    async fn lease(self: &Arc<Self>) -> Option<Lease<S>> {
        let permit = {
            let _waiting = Raised::new(&self.waiting);
            self.permits.clone().acquire_owned().await.ok()?
        };
        let conn = {
            let mut parked = self.parked.lock().unwrap_or_else(PoisonError::into_inner);
            match parked.iter().rposition(|c| c.stream.is_some()) {
                Some(i) => Some(parked.swap_remove(i)),
                None => parked.pop(),
            }
        };
        let conn = conn.unwrap_or_else(|| {
            Box::new(Conn {
                stream: None,
                state: ConnectionState::CLOSED,
                tx: std::vec![0; DEFAULT_TX_BUFFER],
                rx: std::vec![0; self.rx_buffer],
            })
        });
        Some(Lease {
            conn: Some(conn),
            pool: Arc::clone(self),
            _permit: permit,
        })
    }
}

impl<C: Connect> Fleet<C> {
    /// A fleet with a new clock. Limits of zero are raised to one.
    pub fn new(connector: C, limits: FleetLimits) -> Self {
        Fleet {
            connector,
            clock: Clock::new(),
            limits,
            jobs: Semaphore::new(limits.max_jobs_in_flight.clamp(1, Semaphore::MAX_PERMITS)),
            pools: Mutex::new(HashMap::new()),
            last_error: Mutex::new(None),
            counters: Arc::default(),
        }
    }

    /// The fleet's counters now: jobs by phase, connections, requests, holds, retries and
    /// outcomes ([`FleetStats`]). Cheap (a few atomic loads, no lock); call it at any time,
    /// from any thread. [`FleetStats::write_prometheus`] formats it for a scrape.
    pub fn stats(&self) -> FleetStats {
        let slots = self
            .limits
            .max_jobs_in_flight
            .clamp(1, Semaphore::MAX_PERMITS);
        let taken = slots.saturating_sub(self.jobs.available_permits());
        self.counters
            .snapshot(u64::try_from(taken).unwrap_or(u64::MAX))
    }

    /// The I/O error behind the last transport failure of any of the fleet's jobs (the TLS
    /// stack's reason for a rejected certificate, the connector's refusal, a reset), for
    /// showing to a person; each job's machine only sees its class.
    pub fn last_io_error(&self) -> Option<IoFailure> {
        last_noted(&self.last_error)
    }

    /// The limits.
    pub fn limits(&self) -> FleetLimits {
        self.limits
    }

    /// The fleet's clock.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Now, on the fleet's clock: pass it to `JobPoller::submit`, `watch` or `resume`.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Waits until fewer than `max_jobs_in_flight` jobs run, and reserves a place. Take it
    /// before making the poller, so the wait does not count against the job's deadline.
    pub async fn slot(&self) -> Slot<'_, C> {
        let _waiting = Raised::new(&self.counters.waiting_for_slot);
        Slot {
            fleet: self,
            _permit: self.jobs.acquire().await.ok(),
        }
    }

    /// [`slot`](Self::slot), then [`Slot::drive`].
    pub async fn drive<O: Observer>(
        &self,
        poller: &mut JobPoller,
        cfg: &Config<'_>,
        op: &Submit<'_>,
        observer: O,
    ) -> Result<Outcome, Error> {
        self.slot().await.drive(poller, cfg, op, observer).await
    }

    fn pool(&self, endpoint: &Endpoint) -> Arc<HostPool<C>> {
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(pool) = pools.get(endpoint) {
            return Arc::clone(pool);
        }
        let pool = Arc::new(Pool::new(&self.limits));
        pools.insert(endpoint.clone(), Arc::clone(&pool));
        pool
    }
}

/// The caller's observer, with the fleet counting retries on the way.
struct Counted<'c, O> {
    observer: O,
    counters: &'c Counters,
}

impl<O: Observer> Observer for Counted<'_, O> {
    fn on_event(&mut self, job: &JobPoller, event: Event) {
        if let Event::Retrying { .. } = event {
            Counters::bump(&self.counters.retries);
        }
        self.observer.on_event(job, event);
    }

    fn on_reply(&mut self, job: &JobPoller, reply: &Reply<'_>) {
        self.observer.on_reply(job, reply);
    }
}

type BoxedConnect<'a, S> = Pin<Box<dyn Future<Output = io::Result<S>> + Send + 'a>>;

impl<C: Connect> Slot<'_, C> {
    /// Drives `poller` to its outcome over the fleet's pool for `cfg.authority`. `op` is the
    /// operation the poller was made with ([`Submit::NONE`] for a watched or resumed job).
    ///
    /// Cancel-safe like [`Driver::drive`](super::tokio::Driver::drive): dropped while a
    /// request is in flight, its connection is closed and the machine told; a leased
    /// connection returns to the pool; the poller stays with the caller.
    pub async fn drive<O: Observer>(
        self,
        poller: &mut JobPoller,
        cfg: &Config<'_>,
        op: &Submit<'_>,
        observer: O,
    ) -> Result<Outcome, Error> {
        let counters = &*self.fleet.counters;
        let observer = Counted { observer, counters };
        let ended = self.run(poller, cfg, op, observer).await;
        match ended {
            Ok(outcome) => counters.outcome(outcome),
            Err(_) => Counters::bump(&counters.errors),
        }
        ended
    }

    /// Runs any [`Machine`] to its end over the fleet's pool (a [`JobSet`](crate::JobSet), a
    /// [`JobList`](crate::list::JobList), a [`RecoveryPager`](crate::list::RecoveryPager), or a
    /// [`JobPoller`] as [`drive`](Self::drive) does). Cancel-safe like `drive`.
    pub async fn run<M: Machine + ?Sized, O: Observer<M>>(
        self,
        poller: &mut M,
        cfg: &Config<'_>,
        input: M::Input<'_>,
        mut observer: O,
    ) -> Result<M::Output, Error> {
        let fleet = self.fleet;
        let endpoint = Endpoint::from_authority(&cfg.authority);
        check_connector(&fleet.connector, &endpoint, &fleet.last_error)?;
        let pool = fleet.pool(&endpoint);
        let counters = &*fleet.counters;
        // The connection leased for the request due, and whether its submit may be held.
        let mut lease: Option<(Lease<Tracked<C::Stream>>, bool)> = None;
        loop {
            let conn = lease.as_mut().and_then(|(l, _)| l.conn.as_deref_mut());
            let tx = conn.map_or(&mut [][..], |c| &mut c.tx[..]);
            // Without a lease the buffer is empty: a due request answers `BufferTooSmall`,
            // which changes nothing, and a connection is leased for it.
            let step = match poller.poll(cfg, input, fleet.clock.now(), tx) {
                Err(Error::BufferTooSmall { required }) => {
                    match lease.as_mut().and_then(|(l, _)| l.conn.as_deref_mut()) {
                        None => lease = Some(take_lease(&pool, poller, counters, required).await?),
                        Some(conn) if required > conn.tx.len() => conn.tx.resize(required, 0),
                        Some(_) => return Err(Error::BufferTooSmall { required }),
                    }
                    continue;
                }
                other => other?,
            };
            match step {
                Step::SendRequest(req) => {
                    let Some(leased) = lease.as_mut() else {
                        return Err(Error::BufferTooSmall { required: req.len });
                    };
                    // Boxed: only jobs with a request in flight (at most the pool's
                    // connections) carry the exchange's state; a waiting job's future stays
                    // small.
                    let sent = send(fleet, &endpoint, leased, poller, cfg, req, &mut observer);
                    Box::pin(sent).await?;
                }
                Step::Close => {
                    if let Some(conn) = lease.as_mut().and_then(|(l, _)| l.conn.as_deref_mut()) {
                        conn.stream = None;
                    }
                }
                Step::SleepUntil(t) => {
                    // Waiting jobs hold no connection.
                    lease = None;
                    let _sleeping = Raised::new(&counters.sleeping);
                    fleet.clock.sleep_until(t).await;
                }
                Step::Event(event) => observer.on_event(poller, event),
                Step::Done(output) => return Ok(output),
            }
        }
    }
}

/// Leases a connection of the host's pool (with its buffers) for the request due, tells the
/// machine what that connection is (another job may have used it last, so its `Fresh` or
/// `Reuse` fits the connection really used), and decides, with this connection taken, whether a
/// submit written on it may keep its server-side hold (other requests ignore it).
async fn take_lease<S, M: Machine + ?Sized>(
    pool: &Arc<Pool<S>>,
    machine: &mut M,
    counters: &Counters,
    required: usize,
) -> Result<(Lease<S>, bool), Error> {
    let lease = {
        let _waiting = Raised::new(&counters.waiting_for_connection);
        pool.lease().await
    };
    let Some(lease) = lease else {
        return Err(Error::BufferTooSmall { required });
    };
    let Some(conn) = lease.conn.as_deref() else {
        return Err(Error::BufferTooSmall { required });
    };
    machine.adopt_connection(match conn.stream {
        Some(_) => conn.state,
        None => ConnectionState::CLOSED,
    });
    let hold = pool.hold_allowed();
    machine.allow_submit_hold(hold);
    Ok((lease, hold))
}

/// Sends `req` on the leased connection (opening it when closed) and feeds the answer to the
/// machine; counts the request, and keeps what the machine learnt of the connection with it.
async fn send<C: Connect, M: Machine + ?Sized, O: Observer<M>>(
    fleet: &Fleet<C>,
    endpoint: &Endpoint,
    (lease, hold): &mut (Lease<Tracked<C::Stream>>, bool),
    machine: &mut M,
    cfg: &Config<'_>,
    req: SendRequest,
    observer: &mut O,
) -> Result<(), Error> {
    let Some(Conn {
        stream,
        state,
        tx,
        rx,
    }) = lease.conn.as_deref_mut()
    else {
        return Err(Error::BufferTooSmall { required: req.len });
    };
    let Some(bytes) = tx.get(..req.len) else {
        return Err(Error::BufferTooSmall { required: req.len });
    };
    if req.connection == Connection::Fresh {
        *stream = None;
    }
    let counters = &*fleet.counters;
    Counters::bump(&counters.requests);
    if req.purpose == Purpose::Submit {
        // Written with the hold decided at the lease.
        Counters::bump(if *hold {
            &counters.submits_hold_allowed
        } else {
            &counters.submits_hold_waived
        });
    }
    let connect = || -> BoxedConnect<'_, Tracked<C::Stream>> {
        let connecting = fleet.connector.connect(endpoint.clone());
        let counters = Arc::clone(&fleet.counters);
        Box::pin(async move { Ok(Tracked::new(connecting.await?, counters)) })
    };
    let _requesting = Raised::new(&counters.requests_in_flight);
    let in_flight = InFlight {
        job: Pending {
            machine: &mut *machine,
            cfg,
            stage: TransportError::ConnectFailed,
        },
        stream,
        clock: fleet.clock,
        last_error: &fleet.last_error,
    };
    exchange(in_flight, connect, bytes, rx, req, observer).await?;
    if let Some(known) = machine.connection_state() {
        *state = known;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits() {
        let l = FleetLimits::default();
        assert_eq!(
            (
                l.max_connections_per_host,
                l.max_jobs_in_flight,
                l.rx_buffer
            ),
            (4, 256, DEFAULT_RX_BUFFER)
        );
    }

    #[tokio::test]
    async fn pool_never_holds_more_entries_than_permits() {
        let limits = FleetLimits {
            max_connections_per_host: 2,
            ..FleetLimits::DEFAULT
        };
        let pool: Arc<Pool<::tokio::io::DuplexStream>> = Arc::new(Pool::new(&limits));
        let a = pool.lease().await.unwrap();
        let b = pool.lease().await.unwrap();
        // A third lease waits for one of the two.
        let third = ::tokio::time::timeout(std::time::Duration::from_millis(20), pool.lease());
        assert!(third.await.is_err());
        drop(a);
        let c = pool.lease().await.unwrap();
        drop((b, c));
        assert_eq!(pool.parked.lock().unwrap().len(), 2);
        // An open parked connection is leased before a closed one.
        let (s, _peer) = ::tokio::io::duplex(8);
        {
            let mut parked = pool.parked.lock().unwrap();
            parked.first_mut().unwrap().stream = Some(s);
        }
        let d = pool.lease().await.unwrap();
        assert!(d.conn.as_ref().unwrap().stream.is_some());
    }

    #[test]
    fn zero_limits_are_raised_to_one() {
        let fleet = Fleet::new(
            super::super::tokio::Tcp,
            FleetLimits {
                max_connections_per_host: 0,
                max_jobs_in_flight: 0,
                rx_buffer: 64,
                submit_hold: SubmitHold::WhenIdle,
            },
        );
        assert_eq!(fleet.jobs.available_permits(), 1);
        let pool = fleet.pool(&Endpoint {
            host: "h".into(),
            port: 1,
            tls: false,
        });
        assert_eq!(pool.permits.available_permits(), 1);
    }
}
