//! The async bare-metal driver: `embedded_io_async::{Read, Write}` connections, a [`Clock`], and
//! an `embedded_hal_async::delay::DelayNs` for sleeping and deadlines. No std, no alloc: it
//! builds for `thumbv7em-none-eabihf` and runs on any executor (embassy, or tokio on a host).
//!
//! ```ignore
//! let mut driver = Driver::new(MyConnector::new(stack), MyClock, embassy_time::Delay);
//! let mut poller = JobPoller::submit(&cfg, &op, driver.now())?;
//! let (mut tx, mut rx) = ([0u8; 1024], [0u8; 4096]);
//! let outcome = driver.drive(&mut poller, &cfg, &op, &mut tx, &mut rx, ()).await?;
//! ```
//! (The crate's `bare_metal` example is a complete, runnable version.)
//!
//! - **Connections**: a [`Connector`] opens one connection at a time; the connection may
//!   borrow the connector (its socket buffers, its TLS record buffers), which is how
//!   embassy-net's `TcpSocket<'a>` and embedded-tls's `TlsConnection<'a, ..>` work. The driver
//!   keeps it open across polls while the machine says `Reuse`, and drops it on `Close`, on a
//!   `Fresh` request, on an answer that is not kept alive, and on any failure.
//! - **Deadlines**: connecting, writing and reading race against the delay until the request's
//!   deadline; the clock, not the timer, decides when it has passed. A connect that does not
//!   finish in time is `ConnectFailed`; a request that does not, goes to `handle_timeout`.
//! - **Memory**: the caller gives the transmit and receive buffers (`tx` must hold the largest
//!   request, the submit with its body; `rx` the largest answer, or the machine asks for
//!   fewer fields). The driver allocates nothing.
//! - **Cancel-safety**: dropping the future while a request is in flight drops the connection
//!   and reports the request to the machine as a failure of the stage it was in.
//!
//! # TLS
//!
//! The connector returns whatever stream does TLS; the driver sees only `Read + Write`.
//!
//! - **embedded-tls** (no std, no alloc, async and blocking) implements the embedded-io traits
//!   directly and speaks **TLS 1.3 only**, with 16 KiB record buffers in each direction for
//!   arbitrary servers (smaller ones only if the server honours the max-fragment-length
//!   extension). Of the four APIs:
//!   - ONTAP: TLS 1.3 is available from ONTAP 9.11.1 (NetApp's "Manage the web protocol
//!     engine" page: from 9.11.1, FIPS mode leaves "only TLSv1.2 and TLSv1.3" enabled).
//!     Whether 1.3 is on outside FIPS mode depends on the cluster's `security config`
//!     (unverified default): an older cluster, or one limited to 1.2, is out of reach.
//!   - Select Deploy: documents "TLS version 1.2 is supported" only: not reachable.
//!   - Unified Manager and Service Engine: TLS versions unverified; try it, expect 1.2.
//! - Otherwise a firmware author:
//!   - uses a network module that terminates TLS itself (an ESP32 running ESP-AT with its SSL
//!     commands, a cellular modem's TLS socket): the connector wraps the module's socket,
//!     the certificate check is the module's (load the appliance's CA or pin there);
//!   - or links a TLS 1.2 stack such as mbedTLS through an FFI crate and wraps it in the
//!     embedded-io traits (RAM: tens of KiB);
//!   - or talks plain HTTP to a TLS-terminating proxy on a trusted network segment next to
//!     the device.
//!
//! Whatever the stack, verify the server: appliances ship self-signed certificates, so pin
//! the certificate (or its CA) rather than turning verification off.

use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use embedded_hal_async::delay::DelayNs;
use embedded_io_async::{Read, Write};

pub use super::Clock;
use super::{AsyncConnection, Drained, Observer, Pending, drain, send_and_read};
use crate::http::Authority;
use crate::{
    Config, Connection, Error, Instant, JobPoller, Machine, Outcome, Submit, TransportError,
};

/// Opens connections for the driver, one at a time.
///
/// `connect` borrows the connector for as long as the connection lives, so a connection can
/// use the connector's own socket and TLS buffers; the driver drops it before connecting again.
// Bare-metal executors are mostly single-threaded: no `Send` bound is promised on the future.
#[allow(async_fn_in_trait)]
pub trait Connector {
    /// An open connection (plain TCP, or TLS over it).
    type Conn<'c>: Read + Write
    where
        Self: 'c;
    /// Why a connection could not be opened (the driver reports `ConnectFailed` to the
    /// machine, whatever it is; log it in the connector if it matters).
    type Error;

    /// Opens a connection to `authority` (host, port, and whether it is HTTPS). An error means
    /// no byte of a request was written.
    async fn connect(&mut self, authority: &Authority<'_>) -> Result<Self::Conn<'_>, Self::Error>;
}

/// Drives jobs with a [`Connector`], a [`Clock`] and a delay.
#[derive(Debug)]
pub struct Driver<C, K, D> {
    connector: C,
    clock: K,
    delay: D,
}

impl<C: Connector, K: Clock, D: DelayNs> Driver<C, K, D> {
    /// A driver of its parts.
    pub fn new(connector: C, clock: K, delay: D) -> Self {
        Driver {
            connector,
            clock,
            delay,
        }
    }

    /// Now, on the driver's clock: pass it to `JobPoller::submit`, `watch` or `resume`.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The parts back.
    pub fn into_parts(self) -> (C, K, D) {
        (self.connector, self.clock, self.delay)
    }

    /// Drives `poller` until it is done and returns its outcome, with `tx` and `rx` as the
    /// transmit and receive buffers. `op` is the operation the poller was made with
    /// ([`Submit::NONE`] for a watched or resumed job). `Err` is the machine's (e.g. `tx` too
    /// small for the submit: `BufferTooSmall { required }`); the poller is unchanged by it.
    pub async fn drive<O: Observer>(
        &mut self,
        poller: &mut JobPoller,
        cfg: &Config<'_>,
        op: &Submit<'_>,
        tx: &mut [u8],
        rx: &mut [u8],
        observer: O,
    ) -> Result<Outcome, Error> {
        self.run(poller, cfg, op, tx, rx, observer).await
    }

    /// Runs any [`Machine`] until it is done (a [`JobPoller`] as [`drive`](Self::drive) does,
    /// a [`JobSet`](crate::JobSet), a [`JobList`](crate::list::JobList), a
    /// [`RecoveryPager`](crate::list::RecoveryPager)) and returns its result.
    pub async fn run<M: Machine + ?Sized, O: Observer<M>>(
        &mut self,
        poller: &mut M,
        cfg: &Config<'_>,
        input: M::Input<'_>,
        tx: &mut [u8],
        rx: &mut [u8],
        mut observer: O,
    ) -> Result<M::Output, Error> {
        let Driver {
            connector,
            clock,
            delay,
        } = self;
        let mut next = until_due(poller, cfg, input, tx, (clock, delay), &mut observer).await?;
        loop {
            // No connection is open here.
            let mut req = match next {
                Drained::Send(req) => req,
                Drained::Done(output) => return Ok(output),
                _ => {
                    next = until_due(poller, cfg, input, tx, (clock, delay), &mut observer).await?;
                    continue;
                }
            };
            let mut guard = InFlight {
                job: Pending {
                    machine: &mut *poller,
                    cfg,
                    stage: TransportError::ConnectFailed,
                },
                clock: &*clock,
                armed: true,
            };
            let connected = race(
                connector.connect(&cfg.authority),
                timer(clock, delay, req.deadline),
            )
            .await;
            let Some(Ok(mut conn)) = connected else {
                let failed = TransportError::ConnectFailed;
                guard
                    .job
                    .machine
                    .handle_transport_error(cfg, clock.now(), failed);
                drop(guard);
                next = until_due(poller, cfg, input, tx, (clock, delay), &mut observer).await?;
                continue;
            };
            // Connected: the request is still in flight, now for `exchange` to finish.
            guard.armed = false;
            drop(guard);
            // The connection carries each request the machine reuses it for; it is dropped
            // (closed) when anything else comes.
            next = loop {
                let Some(bytes) = tx.get(..req.len) else {
                    return Err(Error::BufferTooSmall { required: req.len });
                };
                let job = Pending {
                    machine: &mut *poller,
                    cfg,
                    stage: TransportError::WriteFailed,
                };
                let ex = InFlight {
                    job,
                    clock: &*clock,
                    armed: true,
                };
                exchange(&mut conn, ex, delay, bytes, rx, req.deadline, &mut observer).await?;
                match until_due(poller, cfg, input, tx, (clock, delay), &mut observer).await? {
                    Drained::Send(reuse) if reuse.connection == Connection::Reuse => req = reuse,
                    other => break other,
                }
            };
        }
    }
}

/// Drains the machine, sleeping while it waits (an open connection stays open meanwhile),
/// until it wants a request sent, the connection closed, or is done.
async fn until_due<M, O, K, D>(
    machine: &mut M,
    cfg: &Config<'_>,
    input: M::Input<'_>,
    tx: &mut [u8],
    (clock, delay): (&K, &mut D),
    observer: &mut O,
) -> Result<Drained<M::Output>, Error>
where
    M: Machine + ?Sized,
    O: Observer<M>,
    K: Clock,
    D: DelayNs,
{
    loop {
        match drain(machine, cfg, input, clock.now(), tx, observer)? {
            Drained::Sleep(t) => sleep_until(clock, delay, t).await,
            other => return Ok(other),
        }
    }
}

/// A request the machine has in flight: while armed, the machine is told of a failure at
/// `stage` if the future is dropped with the request unfinished.
struct InFlight<'a, K: Clock, M: Machine + ?Sized> {
    job: Pending<'a, M>,
    clock: &'a K,
    armed: bool,
}

impl<K: Clock, M: Machine + ?Sized> Drop for InFlight<'_, K, M> {
    fn drop(&mut self) {
        if self.armed {
            self.job.abandon(self.clock.now());
        }
    }
}

/// Writes `tx`, then reads and feeds the answer, racing the deadline.
async fn exchange<S, K, D, M, O>(
    conn: &mut S,
    mut ex: InFlight<'_, K, M>,
    delay: &mut D,
    tx: &[u8],
    rx: &mut [u8],
    deadline: Instant,
    observer: &mut O,
) -> Result<(), Error>
where
    S: Read + Write,
    K: Clock,
    D: DelayNs,
    M: Machine + ?Sized,
    O: Observer<M> + ?Sized,
{
    let clock = ex.clock;
    let ex = &mut ex;
    let mut conn = Embedded(conn);
    let work = send_and_read(&mut conn, &mut ex.job, || clock.now(), tx, rx, observer);
    match race(work, timer(clock, delay, deadline)).await {
        Some(result) => result,
        None => {
            let Pending { machine, cfg, .. } = &mut ex.job;
            machine.handle_timeout(cfg, clock.now());
            Ok(())
        }
    }
}

/// An `embedded_io_async` connection as the shared send-and-read sees it.
struct Embedded<'a, S>(&'a mut S);

impl<S: Read + Write> AsyncConnection for Embedded<'_, S> {
    async fn send(&mut self, bytes: &[u8]) -> bool {
        self.0.write_all(bytes).await.is_ok() && self.0.flush().await.is_ok()
    }
    async fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        self.0.read(buf).await.ok()
    }
}

/// Completes when the clock reads `t` or later; the delay is only how it waits.
async fn timer<K: Clock, D: DelayNs>(clock: &K, delay: &mut D, t: Instant) {
    loop {
        let left = t.as_millis().saturating_sub(clock.now().as_millis());
        if left == 0 {
            return;
        }
        delay
            .delay_ms(u32::try_from(left).unwrap_or(u32::MAX))
            .await;
    }
}

async fn sleep_until<K: Clock, D: DelayNs>(clock: &K, delay: &mut D, t: Instant) {
    timer(clock, delay, t).await;
}

/// `Some(a's output)` if `a` completes first, `None` if `b` does.
async fn race<A: Future, B: Future<Output = ()>>(a: A, b: B) -> Option<A::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    poll_fn(|cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if b.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;

    /// A clock that advances by what the delay waited.
    struct Fake<'a>(&'a Cell<u64>);
    impl Clock for Fake<'_> {
        fn now(&self) -> Instant {
            Instant::from_millis(self.0.get())
        }
    }
    struct Step<'a> {
        now: &'a Cell<u64>,
        /// Each wait advances the clock by at most this much (a timer that fires early).
        early_ms: u64,
        waits: u32,
    }
    impl DelayNs for Step<'_> {
        async fn delay_ns(&mut self, ns: u32) {
            self.waits += 1;
            let ms = u64::from(ns).div_ceil(1_000_000).clamp(1, self.early_ms);
            self.now.set(self.now.get() + ms);
        }
        async fn delay_ms(&mut self, ms: u32) {
            self.waits += 1;
            self.now
                .set(self.now.get() + u64::from(ms).clamp(1, self.early_ms));
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        let waker = core::task::Waker::noop();
        let mut cx = core::task::Context::from_waker(waker);
        for _ in 0..100_000 {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
        panic!("did not complete");
    }

    #[test]
    fn timer_waits_until_the_clock_says_so_table() {
        // (start, target, early_ms, waits expected)
        let table = [
            (0u64, 0u64, 1000u64, 0u32),
            (10, 5, 1000, 0),
            (0, 100, 1000, 1),
            (0, 100, 30, 4),
            (0, u64::from(u32::MAX) + 10, u64::MAX, 2),
        ];
        for (start, target, early_ms, waits) in table {
            let now = Cell::new(start);
            let mut delay = Step {
                now: &now,
                early_ms,
                waits: 0,
            };
            block_on(timer(&Fake(&now), &mut delay, Instant::from_millis(target)));
            assert!(now.get() >= target, "{target}");
            assert_eq!(delay.waits, waits, "{start} -> {target} by {early_ms}");
        }
    }

    #[test]
    fn race_table() {
        assert_eq!(block_on(race(async { 1 }, async {})), Some(1));
        assert_eq!(
            block_on(race(core::future::pending::<u8>(), async {})),
            None
        );
    }
}
