//! The blocking bare-metal driver: `embedded_io::{Read, Write, ReadReady}` connections, a
//! [`Clock`], and an `embedded_hal::delay::DelayNs` for sleeping. No std, no alloc: it builds
//! for `thumbv7em-none-eabihf`.
//!
//! ```ignore
//! let mut driver = Driver::new(MyConnector::new(&mut wifi), MyClock, delay);
//! let mut poller = JobPoller::submit(&cfg, &op, driver.now())?;
//! let (mut tx, mut rx) = ([0u8; 1024], [0u8; 4096]);
//! let outcome = driver.drive(&mut poller, &cfg, &op, &mut tx, &mut rx, ())?;
//! ```
//!
//! - **Connections**: as in the async driver ([`Connector`] may lend a connection that borrows
//!   it), kept open while the machine says `Reuse`.
//! - **Deadlines**: a blocking `read` cannot be interrupted, so the driver reads only when the
//!   connection says data (or the end of the stream) is ready (`ReadReady`), and between
//!   checks waits [`Driver::with_ready_poll`] (default 1 ms) on the delay: that is how often it
//!   looks, not a timeout; the request's deadline, read from the clock, ends the wait. Writes
//!   and the connect itself are bounded by the network stack's own send and connect timeouts
//!   (a blocking call cannot be raced); the clock is checked right after them.
//! - **Memory**: caller-given `tx` and `rx`; nothing is allocated.
//! - **TLS**: see the async driver's module docs ([`super::embedded_async`] when that feature
//!   is on): the same stacks exist in blocking form (embedded-tls `blocking`, a module's TLS
//!   socket, an FFI TLS 1.2 stack) with the same limits.

use embedded_hal::delay::DelayNs;
use embedded_io::{Read, ReadReady, Write};

pub use super::Clock;
use super::{Drained, Observer, drain};
use crate::http::Authority;
use crate::{
    AfterRead, Config, Connection, Error, Exchange, Instant, JobPoller, Machine, Outcome, Submit,
    TransportError,
};

/// How often, by default, the driver checks a connection for data while waiting for an answer.
pub const DEFAULT_READY_POLL_US: u32 = 1000;

/// Opens connections for the driver, one at a time; a connection may borrow the connector.
pub trait Connector {
    /// An open connection (plain TCP, or TLS over it).
    type Conn<'c>: Read + Write + ReadReady
    where
        Self: 'c;
    /// Why a connection could not be opened (reported to the machine as `ConnectFailed`).
    type Error;

    /// Opens a connection to `authority`. An error means no byte of a request was written.
    fn connect<'c>(&'c mut self, authority: &Authority<'_>) -> Result<Self::Conn<'c>, Self::Error>;
}

/// Drives jobs with a [`Connector`], a [`Clock`] and a delay.
#[derive(Debug)]
pub struct Driver<C, K, D> {
    connector: C,
    clock: K,
    delay: D,
    ready_poll_us: u32,
}

impl<C: Connector, K: Clock, D: DelayNs> Driver<C, K, D> {
    /// A driver of its parts, checking for data every [`DEFAULT_READY_POLL_US`].
    pub fn new(connector: C, clock: K, delay: D) -> Self {
        Driver {
            connector,
            clock,
            delay,
            ready_poll_us: DEFAULT_READY_POLL_US,
        }
    }

    /// Sets how often (microseconds, at least 1) the driver checks for data while waiting for
    /// an answer: shorter reacts sooner, longer lets the CPU sleep.
    pub fn with_ready_poll(mut self, micros: u32) -> Self {
        self.ready_poll_us = micros.max(1);
        self
    }

    /// Now, on the driver's clock.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The parts back.
    pub fn into_parts(self) -> (C, K, D) {
        (self.connector, self.clock, self.delay)
    }

    /// Drives `poller` until it is done and returns its outcome, with `tx` and `rx` as the
    /// transmit and receive buffers (see the async driver). `Err` is the machine's; the poller
    /// is unchanged by it.
    pub fn drive<O: Observer>(
        &mut self,
        poller: &mut JobPoller,
        cfg: &Config<'_>,
        op: &Submit<'_>,
        tx: &mut [u8],
        rx: &mut [u8],
        observer: O,
    ) -> Result<Outcome, Error> {
        self.run(poller, cfg, op, tx, rx, observer)
    }

    /// Runs any [`Machine`] until it is done (a [`JobPoller`] as [`drive`](Self::drive) does,
    /// a [`JobSet`](crate::JobSet), a [`JobList`](crate::list::JobList), a
    /// [`RecoveryPager`](crate::list::RecoveryPager)) and returns its result.
    pub fn run<M: Machine + ?Sized, O: Observer<M>>(
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
            ready_poll_us,
        } = self;
        let ready_poll_us = *ready_poll_us;
        let mut next = drain(poller, cfg, input, clock.now(), tx, &mut observer)?;
        loop {
            // No connection is open here.
            let mut req = match next {
                Drained::Send(req) => req,
                Drained::Done(output) => return Ok(output),
                waiting => {
                    if let Drained::Sleep(t) = waiting {
                        sleep_until(clock, delay, t);
                    }
                    next = drain(poller, cfg, input, clock.now(), tx, &mut observer)?;
                    continue;
                }
            };
            let Ok(mut conn) = connector.connect(&cfg.authority) else {
                poller.handle_transport_error(cfg, clock.now(), TransportError::ConnectFailed);
                next = drain(poller, cfg, input, clock.now(), tx, &mut observer)?;
                continue;
            };
            // Open: it carries each request the machine reuses it for (and stays open while
            // the machine sleeps); anything else ends it here.
            next = loop {
                let Some(bytes) = tx.get(..req.len) else {
                    return Err(Error::BufferTooSmall { required: req.len });
                };
                let io = (&mut conn, &*clock, &mut *delay, ready_poll_us);
                exchange(io, poller, cfg, bytes, rx, req.deadline, &mut observer)?;
                let mut step = drain(poller, cfg, input, clock.now(), tx, &mut observer)?;
                while let Drained::Sleep(t) = step {
                    sleep_until(clock, delay, t);
                    step = drain(poller, cfg, input, clock.now(), tx, &mut observer)?;
                }
                match step {
                    Drained::Send(reuse) if reuse.connection == Connection::Reuse => req = reuse,
                    other => break other,
                }
            };
        }
    }
}

/// Writes `tx`, then waits for, reads and feeds the answer until `deadline`.
fn exchange<S, K, D, M, O>(
    (conn, clock, delay, ready_poll_us): (&mut S, &K, &mut D, u32),
    poller: &mut M,
    cfg: &Config<'_>,
    tx: &[u8],
    rx: &mut [u8],
    deadline: Instant,
    observer: &mut O,
) -> Result<(), Error>
where
    S: Read + Write + ReadReady,
    K: Clock,
    D: DelayNs,
    M: Machine + ?Sized,
    O: Observer<M> + ?Sized,
{
    if conn.write_all(tx).is_err() || conn.flush().is_err() {
        poller.handle_transport_error(cfg, clock.now(), TransportError::WriteFailed);
        return Ok(());
    }
    let mut exchange = Exchange::new();
    loop {
        // Wait for data (or the end of the stream) until the deadline.
        loop {
            match conn.read_ready() {
                Ok(true) => break,
                Ok(false) if clock.now() >= deadline => {
                    poller.handle_timeout(cfg, clock.now());
                    return Ok(());
                }
                Ok(false) => delay.delay_us(ready_poll_us),
                Err(_) => {
                    poller.handle_transport_error(cfg, clock.now(), TransportError::ReadFailed);
                    return Ok(());
                }
            }
        }
        let Ok(n) = conn.read(exchange.free(rx)) else {
            poller.handle_transport_error(cfg, clock.now(), TransportError::ReadFailed);
            return Ok(());
        };
        match exchange.read(poller, cfg, clock.now(), rx, n)? {
            AfterRead::ReadMore if clock.now() >= deadline => {
                poller.handle_timeout(cfg, clock.now());
                return Ok(());
            }
            AfterRead::ReadMore => {}
            AfterRead::Answered(reply) => {
                observer.on_reply(poller, &reply);
                return Ok(());
            }
            _ => return Ok(()),
        }
    }
}

/// Sleeps until the clock reads `t` or later; the delay is only how it waits.
fn sleep_until<K: Clock, D: DelayNs>(clock: &K, delay: &mut D, t: Instant) {
    loop {
        let left = t.as_millis().saturating_sub(clock.now().as_millis());
        if left == 0 {
            return;
        }
        delay.delay_ms(u32::try_from(left).unwrap_or(u32::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;

    struct Fake<'a>(&'a Cell<u64>);
    impl Clock for Fake<'_> {
        fn now(&self) -> Instant {
            Instant::from_millis(self.0.get())
        }
    }
    struct Early<'a> {
        now: &'a Cell<u64>,
        max_ms: u64,
        waits: u32,
    }
    impl DelayNs for Early<'_> {
        fn delay_ns(&mut self, ns: u32) {
            self.waits += 1;
            let ms = u64::from(ns).div_ceil(1_000_000).clamp(1, self.max_ms);
            self.now.set(self.now.get() + ms);
        }
        fn delay_ms(&mut self, ms: u32) {
            self.waits += 1;
            self.now
                .set(self.now.get() + u64::from(ms).clamp(1, self.max_ms));
        }
    }

    #[test]
    fn sleep_until_trusts_the_clock_not_the_delay_table() {
        // (start, target, longest single wait, waits expected)
        let table = [
            (0u64, 0u64, 1000u64, 0u32),
            (50, 10, 1000, 0),
            (0, 100, 1000, 1),
            (0, 100, 30, 4),
            (0, u64::from(u32::MAX) + 10, u64::MAX, 2),
        ];
        for (start, target, max_ms, waits) in table {
            let now = Cell::new(start);
            let mut delay = Early {
                now: &now,
                max_ms,
                waits: 0,
            };
            sleep_until(&Fake(&now), &mut delay, Instant::from_millis(target));
            assert!(now.get() >= target);
            assert_eq!(delay.waits, waits, "{start} -> {target} by {max_ms}");
        }
    }
}
