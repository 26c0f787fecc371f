//! The tokio driver: one job (or several, one after the other) over one keep-alive connection
//! of any `AsyncRead + AsyncWrite` stream a [`Connect`] opens.
//!
//! ```no_run
//! # async fn demo() -> Result<(), jobpoll::Error> {
//! use jobpoll::adapters::tokio::{Driver, Tcp};
//! use jobpoll::http::{Auth, Authority};
//! use jobpoll::{Config, Dialect, JobPoller, Submit};
//!
//! let cfg = Config::new(
//!     Authority { host: "127.0.0.1", port: 8080, tls: false },
//!     Auth::Basic { user: "admin", password: "secret" },
//!     Dialect::default(),
//! );
//! let op = Submit::post("/api/storage/volumes", br#"{"name":"vol1","svm":{"name":"vs1"}}"#);
//! let mut driver = Driver::new(Tcp);
//! let mut poller = JobPoller::submit(&cfg, &op, driver.now())?;
//! let outcome = driver.drive(&mut poller, &cfg, &op, ()).await?;
//! println!("{outcome:?} after {} requests, job {:?}", poller.requests(), poller.job_id());
//! # Ok(()) }
//! ```
//!
//! - **Clock**: a [`Clock`] holds a `tokio::time::Instant` captured when the driver is made;
//!   [`Instant`]s are milliseconds since then. Sleeps use `tokio::time::sleep_until`, and the
//!   clock is read again after waking: a timer that fires early is slept on again, never
//!   trusted.
//! - **Deadlines**: connecting, writing and reading are bounded by the request's
//!   [`SendRequest::deadline`](crate::SendRequest::deadline) (`tokio::time::timeout_at`). A
//!   connect that does not finish in time is `ConnectFailed` (no byte was written); a request
//!   that does not finish in time is fed to `handle_timeout` once the clock has reached it.
//! - **TLS**: the connector does it: `adapters::tokio_tls::TlsConnector` (feature
//!   `tokio-rustls`) with the blocking driver's options, or any `Fn(Endpoint) -> Future<Output =
//!   io::Result<S>>` returning a TLS stream after its handshake (tokio-native-tls...). A
//!   handshake failure is an `Err`: a rejected certificate (rustls' errors, or
//!   [`ConnectError::Untrusted`](super::ConnectError)) ends the job at once as `Untrusted`,
//!   anything else is a retried `ConnectFailed` (see
//!   [`classify_connect_error`]); the reason is
//!   [`Driver::last_io_error`]. The plain [`Tcp`] connector cannot do HTTPS: a run with an HTTPS
//!   configuration ends at once with `ConfigError::TlsConnectorRequired`.
//! - **Cancel-safety**: the driver spawns no task. Dropping the future of [`Driver::drive`]
//!   while a request is in flight closes the connection and reports the request to the machine
//!   as a transport failure of the stage it was in (connect, write or read), so the
//!   `JobPoller`, which the caller still holds, stays consistent: a resume token can be taken,
//!   or the job driven again (a submit that may have been written ends as
//!   `SubmitOutcomeUnknown`, as after any other failure there). Dropped during a sleep, nothing
//!   is in flight and the idle connection stays open for the next run.

use core::future::Future;
use core::time::Duration;

use ::tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use ::tokio::time::Instant as TokioInstant;
use std::io;
use std::string::{String, ToString};
use std::vec::Vec;

use std::sync::{Mutex, PoisonError};

use super::{AsyncConnection, IoFailure, Observer, Pending, classify_connect_error, send_and_read};
use crate::error::ConfigError;
use crate::http::Authority;
use crate::{
    Config, Connection, Error, Instant, JobPoller, Machine, Outcome, SendRequest, Step, Submit,
    TransportError,
};

/// Default receive buffer of a connection. The machine treats an answer that does not fit as
/// too large (and asks for fewer fields), so this bounds the largest job body accepted.
pub const DEFAULT_RX_BUFFER: usize = 16 * 1024;

/// Initial transmit buffer of a connection; it grows to the size the machine asks for.
pub const DEFAULT_TX_BUFFER: usize = 1024;

/// Where a connection goes: the configuration's [`Authority`], owned, so a connector's future
/// need not borrow it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// Host name or IP literal, as configured.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Whether the configuration says HTTPS: the connector must then return a TLS stream.
    pub tls: bool,
}

impl Endpoint {
    /// The endpoint of a configuration's authority.
    pub fn from_authority(authority: &Authority<'_>) -> Self {
        Endpoint {
            host: authority.host.to_string(),
            port: authority.port,
            tls: authority.tls,
        }
    }
}

/// Opens connections. Implemented by every `Fn(Endpoint) -> impl Future<Output =
/// io::Result<S>>`, so a closure that connects (and does TLS) is a connector.
pub trait Connect {
    /// The connection, plain or TLS.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send;

    /// Opens a connection to `endpoint` (TCP connect, and the TLS handshake when the endpoint
    /// says `tls`). Any error means no byte of a request was written. A rejected server
    /// certificate is told apart from other failures by
    /// [`classify_connect_error`]: rustls' certificate errors as
    /// they are, any other stack's wrapped in [`ConnectError::Untrusted`](super::ConnectError).
    fn connect(&self, endpoint: Endpoint) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// Whether this connector can give the TLS an HTTPS configuration asks for. Plain [`Tcp`]
    /// cannot: a driver then refuses the run at once
    /// ([`ConfigError::TlsConnectorRequired`])
    /// instead of retrying connects that cannot succeed. Default `true` (a closure's TLS is its
    /// own business).
    fn offers_tls(&self) -> bool {
        true
    }
}

/// The check every tokio driver makes before a run: HTTPS configured, plain TCP given. The
/// connector's own message is kept as the last I/O error.
pub(crate) fn check_connector<C: Connect>(
    connector: &C,
    endpoint: &Endpoint,
    last_error: &Mutex<Option<IoFailure>>,
) -> Result<(), Error> {
    if endpoint.tls && !connector.offers_tls() {
        let refusal = io::Error::new(io::ErrorKind::Unsupported, TLS_REQUIRED);
        note(
            last_error,
            IoFailure::new(TransportError::ConnectFailed, &refusal),
        );
        return Err(Error::Config(ConfigError::TlsConnectorRequired));
    }
    Ok(())
}

/// Why [`Tcp`] refuses an HTTPS endpoint.
const TLS_REQUIRED: &str =
    "the configuration says HTTPS and this connector speaks plain TCP: use a TLS connector";

/// Keeps `failure` as the last I/O error.
pub(crate) fn note(last_error: &Mutex<Option<IoFailure>>, failure: IoFailure) {
    *last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(failure);
}

/// The failure [`note`]d last.
pub(crate) fn last_noted(last_error: &Mutex<Option<IoFailure>>) -> Option<IoFailure> {
    last_error
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

impl<F, Fut, S> Connect for F
where
    F: Fn(Endpoint) -> Fut,
    Fut: Future<Output = io::Result<S>> + Send,
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    type Stream = S;

    fn connect(&self, endpoint: Endpoint) -> impl Future<Output = io::Result<S>> + Send {
        self(endpoint)
    }
}

/// Plain TCP (`TCP_NODELAY` on). Refuses an endpoint marked `tls` with
/// `io::ErrorKind::Unsupported`: give a TLS connector for HTTPS.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tcp;

impl Connect for Tcp {
    type Stream = ::tokio::net::TcpStream;

    async fn connect(&self, endpoint: Endpoint) -> io::Result<Self::Stream> {
        if endpoint.tls {
            return Err(io::Error::new(io::ErrorKind::Unsupported, TLS_REQUIRED));
        }
        let host = endpoint.host.trim_start_matches('[').trim_end_matches(']');
        let stream = ::tokio::net::TcpStream::connect((host, endpoint.port)).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    fn offers_tls(&self) -> bool {
        false
    }
}

/// The driver's monotonic clock: milliseconds since a `tokio::time::Instant` taken at its
/// creation (so tokio's paused test time applies to it too).
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    epoch: TokioInstant,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        Clock {
            epoch: TokioInstant::now(),
        }
    }

    /// Now, in the machine's terms.
    pub fn now(&self) -> Instant {
        let ms = self.epoch.elapsed().as_millis();
        Instant::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// The tokio instant of `t` (a far future for instants tokio cannot represent).
    pub fn to_tokio(&self, t: Instant) -> TokioInstant {
        self.epoch
            .checked_add(Duration::from_millis(t.as_millis()))
            .unwrap_or_else(far_future)
    }

    /// Sleeps until this clock reads `t` or later. The timer is only a hint: the clock is read
    /// after every wake-up.
    pub async fn sleep_until(&self, t: Instant) {
        while self.now() < t {
            ::tokio::time::sleep_until(self.to_tokio(t)).await;
        }
    }
}

/// About 30 years from now: tokio's own "never" for a timer.
fn far_future() -> TokioInstant {
    let now = TokioInstant::now();
    now.checked_add(Duration::from_secs(86_400 * 365 * 30))
        .or_else(|| now.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(now)
}

/// Drives jobs over one connection at a time. Holds the connector, the clock, the open
/// keep-alive connection and the buffers; the [`JobPoller`] stays with the caller.
#[derive(Debug)]
pub struct Driver<C: Connect> {
    connector: C,
    clock: Clock,
    stream: Option<C::Stream>,
    tx: Vec<u8>,
    rx: Vec<u8>,
    last_error: Mutex<Option<IoFailure>>,
}

impl<C: Connect> Driver<C> {
    /// A driver with a new clock and the default buffers ([`DEFAULT_TX_BUFFER`], growing, and
    /// [`DEFAULT_RX_BUFFER`]).
    pub fn new(connector: C) -> Self {
        Self::with_clock(connector, Clock::new())
    }

    /// A driver on a given clock (e.g. one shared with the code that made the poller).
    pub fn with_clock(connector: C, clock: Clock) -> Self {
        Driver {
            connector,
            clock,
            stream: None,
            tx: std::vec![0; DEFAULT_TX_BUFFER],
            rx: std::vec![0; DEFAULT_RX_BUFFER],
            last_error: Mutex::new(None),
        }
    }

    /// The I/O error behind the last transport failure (the TLS stack's reason for a rejected
    /// certificate, the connector's refusal, a reset), for showing to a person; the machine
    /// only sees its class.
    pub fn last_io_error(&self) -> Option<IoFailure> {
        last_noted(&self.last_error)
    }

    /// Sets the receive buffer size: the largest answer accepted.
    pub fn with_rx_buffer(mut self, bytes: usize) -> Self {
        self.rx = std::vec![0; bytes];
        self
    }

    /// The driver's clock.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Now, on the driver's clock: pass it to `JobPoller::submit`, `watch` or `resume`.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Whether a keep-alive connection is open.
    pub fn is_connected(&self) -> bool {
        self.stream.is_some()
    }

    /// Closes the open connection, if any.
    pub fn close(&mut self) {
        self.stream = None;
    }

    /// Drives `poller` until it is done and returns its outcome. `op` is the operation the
    /// poller was made with ([`Submit::NONE`] for a watched or resumed job). `Err` is the
    /// machine's (a configuration the machine rejects); the poller is unchanged by it.
    ///
    /// Cancel-safe: see the module docs.
    pub async fn drive<O: Observer>(
        &mut self,
        poller: &mut JobPoller,
        cfg: &Config<'_>,
        op: &Submit<'_>,
        observer: O,
    ) -> Result<Outcome, Error> {
        self.run(poller, cfg, op, observer).await
    }

    /// Runs any [`Machine`] until it is done (a [`JobPoller`], a [`JobSet`](crate::JobSet), a
    /// [`JobList`](crate::list::JobList), a [`RecoveryPager`](crate::list::RecoveryPager)) and
    /// returns its result. Cancel-safe like [`drive`](Self::drive).
    pub async fn run<M: Machine + ?Sized, O: Observer<M>>(
        &mut self,
        machine: &mut M,
        cfg: &Config<'_>,
        input: M::Input<'_>,
        mut observer: O,
    ) -> Result<M::Output, Error> {
        let endpoint = Endpoint::from_authority(&cfg.authority);
        check_connector(&self.connector, &endpoint, &self.last_error)?;
        let clock = self.clock;
        loop {
            let step = match machine.poll(cfg, input, clock.now(), &mut self.tx) {
                Err(Error::BufferTooSmall { required }) if required > self.tx.len() => {
                    self.tx.resize(required, 0);
                    continue;
                }
                other => other?,
            };
            match step {
                Step::SendRequest(req) => {
                    let Some(bytes) = self.tx.get(..req.len) else {
                        return Err(Error::BufferTooSmall { required: req.len });
                    };
                    if req.connection == Connection::Fresh {
                        self.stream = None;
                    }
                    exchange(
                        InFlight {
                            job: Pending {
                                machine: &mut *machine,
                                cfg,
                                stage: TransportError::ConnectFailed,
                            },
                            stream: &mut self.stream,
                            clock,
                            last_error: &self.last_error,
                        },
                        || self.connector.connect(endpoint.clone()),
                        bytes,
                        &mut self.rx,
                        req,
                        &mut observer,
                    )
                    .await?;
                }
                Step::Close => self.stream = None,
                Step::SleepUntil(t) => clock.sleep_until(t).await,
                Step::Event(event) => observer.on_event(machine, event),
                Step::Done(output) => return Ok(output),
            }
        }
    }
}

/// A tokio connection as the shared send-and-read sees it, keeping the I/O error behind a
/// failure for the caller.
struct Tokio<'a, S> {
    stream: &'a mut S,
    last_error: &'a Mutex<Option<IoFailure>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncConnection for Tokio<'_, S> {
    async fn send(&mut self, bytes: &[u8]) -> bool {
        let sent = write_request(self.stream, bytes).await;
        if let Err(e) = &sent {
            note(
                self.last_error,
                IoFailure::new(TransportError::WriteFailed, e),
            );
        }
        sent.is_ok()
    }
    async fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        let read = self.stream.read(buf).await;
        if let Err(e) = &read {
            note(
                self.last_error,
                IoFailure::new(TransportError::ReadFailed, e),
            );
        }
        read.ok()
    }
}

/// One request in flight, with what a dropped future must clean up: if it is dropped while the
/// machine still has the request in flight, the connection is closed and the machine told.
pub(crate) struct InFlight<'a, S, M: Machine + ?Sized> {
    /// The machine, and what it is told if the future is dropped now.
    pub(crate) job: Pending<'a, M>,
    pub(crate) stream: &'a mut Option<S>,
    pub(crate) clock: Clock,
    /// Where the I/O error behind a failure is kept for the caller.
    pub(crate) last_error: &'a Mutex<Option<IoFailure>>,
}

impl<S, M: Machine + ?Sized> Drop for InFlight<'_, S, M> {
    fn drop(&mut self) {
        if self.job.abandon(self.clock.now()) {
            *self.stream = None;
        }
    }
}

/// Sends `tx` for `req` (opening a connection with `connect` when none is open) and feeds the
/// answer to the machine, all before `req.deadline`. Whether the connection stays open is the
/// machine's to say (`Close`).
pub(crate) async fn exchange<S, M, F, Fut, O>(
    mut ex: InFlight<'_, S, M>,
    connect: F,
    tx: &[u8],
    rx: &mut [u8],
    req: SendRequest,
    observer: &mut O,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    M: Machine + ?Sized,
    F: FnOnce() -> Fut,
    Fut: Future<Output = io::Result<S>>,
    O: Observer<M> + ?Sized,
{
    let clock = ex.clock;
    let deadline = clock.to_tokio(req.deadline);
    if ex.stream.is_none() {
        ex.job.stage = TransportError::ConnectFailed;
        let class = match ::tokio::time::timeout_at(deadline, connect()).await {
            Ok(Ok(stream)) => {
                *ex.stream = Some(stream);
                None
            }
            Ok(Err(e)) => {
                let class = classify_connect_error(&e);
                note(ex.last_error, IoFailure::new(class, &e));
                Some(class)
            }
            Err(_) => Some(TransportError::ConnectFailed),
        };
        if let Some(class) = class {
            let Pending { machine, cfg, .. } = &mut ex.job;
            machine.handle_transport_error(cfg, clock.now(), class);
            return Ok(());
        }
    }
    let ex = &mut ex;
    let timed = ::tokio::time::timeout_at(deadline, async {
        let Some(stream) = ex.stream.as_mut() else {
            return Ok::<(), Error>(());
        };
        let mut conn = Tokio {
            stream,
            last_error: ex.last_error,
        };
        send_and_read(&mut conn, &mut ex.job, || clock.now(), tx, rx, observer).await
    })
    .await;
    match timed {
        Ok(result) => result,
        Err(_elapsed) => {
            // Never trust the timer: wait until the clock has reached the deadline.
            clock.sleep_until(req.deadline).await;
            let Pending { machine, cfg, .. } = &mut ex.job;
            machine.handle_timeout(cfg, clock.now());
            Ok(())
        }
    }
}

/// Writes the whole request and flushes it (a TLS stream holds records until flushed).
async fn write_request<S: AsyncWrite + Unpin>(stream: &mut S, tx: &[u8]) -> io::Result<()> {
    stream.write_all(tx).await?;
    stream.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn clock_sleeps_until_the_instant_table() {
        let clock = Clock::new();
        for (target, at_least) in [(0u64, 0u64), (1, 1), (250, 250), (1000, 1000)] {
            clock.sleep_until(Instant::from_millis(target)).await;
            assert!(clock.now().as_millis() >= at_least, "{target}");
        }
    }

    #[test]
    fn clock_far_instants_do_not_panic() {
        let rt = ::tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let clock = Clock::new();
            for t in [Instant::MAX, Instant::from_millis(u64::MAX / 2)] {
                assert!(clock.to_tokio(t) > TokioInstant::now());
            }
        });
    }

    #[test]
    fn endpoint_from_authority_table() {
        let table = [
            ("h", 80, false),
            ("cluster.example", 443, true),
            ("[::1]", 8443, true),
        ];
        for (host, port, tls) in table {
            let e = Endpoint::from_authority(&Authority { host, port, tls });
            assert_eq!((e.host.as_str(), e.port, e.tls), (host, port, tls));
        }
    }

    #[tokio::test]
    async fn tcp_refuses_tls_endpoints() {
        let e = Endpoint {
            host: "127.0.0.1".into(),
            port: 1,
            tls: true,
        };
        let err = Tcp.connect(e).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    }
}
