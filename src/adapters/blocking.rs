//! The blocking driver: the drive loop over `std::io::{Read, Write}`, for threads and scripts.
//!
//! [`Driver`] owns the connection, the clock and the sleeping; the [`JobPoller`] decides
//! everything else. The connection comes from a [`Connect`] implementation: [`connect_tcp`] for
//! plain HTTP, `adapters::tls::TlsConnector` for HTTPS (feature `rustls`), or any closure
//! `FnMut(Duration) -> io::Result<S>` returning a [`Stream`].
//!
//! Timeouts: every limit comes from the machine. A request's [`SendRequest::deadline`] bounds
//! the connect (the connect function receives the time left), and before every read and write
//! the stream is re-armed with the time left through [`Stream::set_io_timeout`]. Both are needed
//! because one keep-alive connection carries many requests, each with its own deadline, so the
//! limit cannot be fixed when the connection is opened.
//!
//! Clock: a `std::time::Instant` captured when the driver is made is the epoch of the
//! [`Instant`]s given to the machine; make the poller with [`Driver::now`] (or use
//! [`Driver::submit`] / [`Driver::watch`]).
//!
//! ```no_run
//! use jobpoll::adapters::blocking::{connect_tcp, Driver};
//! use jobpoll::http::{Auth, Authority};
//! use jobpoll::{Config, Dialect, Submit};
//!
//! let cfg = Config::new(
//!     Authority { host: "127.0.0.1", port: 8080, tls: false },
//!     Auth::Basic { user: "admin", password: "netapp123" },
//!     Dialect::default(),
//! );
//! let op = Submit::post("/api/storage/volumes", br#"{"name":"vol1","svm":{"name":"vs1"}}"#);
//! let mut driver = Driver::new(connect_tcp("127.0.0.1", 8080));
//! let (outcome, poller) = driver.submit(&cfg, &op, &mut ())?;
//! println!("{outcome:?}: job {:?} in {} requests", poller.job_id(), poller.requests());
//! # Ok::<(), jobpoll::Error>(())
//! ```

use core::time::Duration;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::string::String;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::vec::Vec;

use super::{EachJob, Observer, classify_connect_error};
use crate::{
    AfterRead, Config, Connection, Error, Exchange, Instant, JobPoller, JobSet, Machine, Outcome,
    SendRequest, Step, Submit, TransportError,
};

/// Default size of the receive buffer: an ONTAP job body with its message is well under 1 KiB;
/// a larger answer makes the machine ask for fewer fields.
pub const DEFAULT_RX_CAPACITY: usize = 16 * 1024;

/// Initial size of the transmit buffer; it grows to what the machine asks for.
pub const DEFAULT_TX_CAPACITY: usize = 2 * 1024;

/// How often a blocked read looks at the [`Cancel`] handle, when one is attached. It only
/// bounds how long a cancel waits; it is not a timeout (a read still ends at the request's
/// deadline).
pub const CANCEL_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// A byte stream whose reads and writes can be bounded in time.
pub trait Stream: Read + Write {
    /// Bounds each following read and write to `timeout` (always at least 1 ms): a read or
    /// write that waits longer fails with `TimedOut` or `WouldBlock`.
    fn set_io_timeout(&mut self, timeout: Duration) -> io::Result<()>;
}

impl Stream for TcpStream {
    fn set_io_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.set_read_timeout(Some(timeout))?;
        self.set_write_timeout(Some(timeout))
    }
}

impl<S: Stream + ?Sized> Stream for std::boxed::Box<S> {
    fn set_io_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        (**self).set_io_timeout(timeout)
    }
}

/// Opens connections: TCP, TCP plus a TLS handshake, or anything else that yields a
/// [`Stream`].
///
/// An error means no byte of a request was written (the machine may retry any request); a TLS
/// handshake belongs here, so that its failures are classified as connect failures.
pub trait Connect {
    /// The stream it opens.
    type Stream: Stream;

    /// Opens a connection within `timeout` (the time left before the request's deadline).
    fn connect(&mut self, timeout: Duration) -> io::Result<Self::Stream>;
}

impl<F, S> Connect for F
where
    F: FnMut(Duration) -> io::Result<S>,
    S: Stream,
{
    type Stream = S;

    fn connect(&mut self, timeout: Duration) -> io::Result<S> {
        self(timeout)
    }
}

/// Plain TCP to a host and port, resolved again on every connect (addresses may change while a
/// long job runs). Each resolved address is tried in turn within the time given.
#[derive(Clone, Debug)]
pub struct TcpConnector {
    host: String,
    port: u16,
}

/// Plain TCP to `host:port` (a name, an IPv4 literal, or an IPv6 literal with or without
/// brackets).
pub fn connect_tcp(host: &str, port: u16) -> TcpConnector {
    TcpConnector::new(host, port)
}

impl TcpConnector {
    /// See [`connect_tcp`].
    pub fn new(host: &str, port: u16) -> Self {
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        TcpConnector {
            host: String::from(host),
            port,
        }
    }

    /// The host, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Connect for TcpConnector {
    type Stream = TcpStream;

    fn connect(&mut self, timeout: Duration) -> io::Result<TcpStream> {
        let start = std::time::Instant::now();
        let mut last = io::Error::new(ErrorKind::NotFound, "the host resolved to no address");
        for addr in (self.host.as_str(), self.port).to_socket_addrs()? {
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(io::Error::new(ErrorKind::TimedOut, "connect timed out"));
            }
            match TcpStream::connect_timeout(&addr, left) {
                Ok(s) => {
                    // Requests are written whole: no point delaying the last segment.
                    s.set_nodelay(true)?;
                    return Ok(s);
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

/// A handle that stops a driver run from another thread (a Ctrl-C handler, a supervisor): the
/// run calls [`JobPoller::cancel`] at its next step and ends with [`Outcome::Cancelled`],
/// keeping the job id and the resume token. A sleep is interrupted at once, a read or write
/// within [`CANCEL_CHECK_INTERVAL`]; a connect (with its TLS handshake) runs to its end or its
/// deadline.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<(Mutex<bool>, Condvar)>);

impl Cancel {
    /// A handle not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every run holding a clone of this handle to stop.
    pub fn cancel(&self) {
        let (flag, wake) = &*self.0;
        *flag.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        *self.0.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits up to `d`; true when cancelled.
    fn wait(&self, d: Duration) -> bool {
        let (flag, wake) = &*self.0;
        let guard = flag.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = wake
            .wait_timeout_while(guard, d, |cancelled| !*cancelled)
            .unwrap_or_else(PoisonError::into_inner);
        *guard
    }
}

/// The blocking driver: one connection at a time, reused while the machine says so.
///
/// Generic over its [`Connect`]; buffers are owned (`Vec`), the transmit buffer grows to what
/// the machine asks for, the receive buffer keeps its size (a larger answer is the machine's to
/// handle).
pub struct Driver<C: Connect> {
    connector: C,
    stream: Option<C::Stream>,
    epoch: std::time::Instant,
    tx: Vec<u8>,
    rx: Vec<u8>,
    cancel: Option<Cancel>,
    last_io_error: Option<io::Error>,
    connections: u64,
}

impl<C: Connect> core::fmt::Debug for Driver<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Driver")
            .field("connected", &self.stream.is_some())
            .field("connections", &self.connections)
            .field("tx", &self.tx.len())
            .field("rx", &self.rx.len())
            .field("cancel", &self.cancel)
            .field("last_io_error", &self.last_io_error)
            .finish_non_exhaustive()
    }
}

impl<C: Connect> Driver<C> {
    /// A driver with the default buffer sizes; its clock starts now.
    pub fn new(connector: C) -> Self {
        Self::with_capacity(connector, DEFAULT_TX_CAPACITY, DEFAULT_RX_CAPACITY)
    }

    /// A driver with the given initial transmit and fixed receive buffer sizes.
    pub fn with_capacity(connector: C, tx: usize, rx: usize) -> Self {
        Driver {
            connector,
            stream: None,
            epoch: std::time::Instant::now(),
            tx: std::vec![0; tx],
            rx: std::vec![0; rx],
            cancel: None,
            last_io_error: None,
            connections: 0,
        }
    }

    /// Attaches a [`Cancel`] handle that stops the runs of this driver.
    pub fn with_cancel(mut self, cancel: Cancel) -> Self {
        self.cancel = Some(cancel);
        self
    }

    /// The driver's clock: milliseconds since the driver was made.
    pub fn now(&self) -> Instant {
        let ms = self.epoch.elapsed().as_millis();
        Instant::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// The connector, e.g. to read its address.
    pub fn connector(&self) -> &C {
        &self.connector
    }

    /// Connections opened so far.
    pub fn connections_opened(&self) -> u64 {
        self.connections
    }

    /// Whether a connection is open now.
    pub fn is_connected(&self) -> bool {
        self.stream.is_some()
    }

    /// The I/O error behind the last transport failure (e.g. the TLS certificate error behind
    /// a `ConnectFailed`), for showing to a person. The machine only sees its class.
    pub fn last_io_error(&self) -> Option<&io::Error> {
        self.last_io_error.as_ref()
    }

    /// Closes the connection, if one is open.
    pub fn close(&mut self) {
        self.stream = None;
    }

    /// Submits `op` and follows the job to its outcome. Returns the outcome and the machine
    /// (job id, request count, elapsed time, resume token).
    pub fn submit(
        &mut self,
        cfg: &Config<'_>,
        op: &Submit<'_>,
        observer: &mut impl Observer,
    ) -> Result<(Outcome, JobPoller), Error> {
        let mut poller = JobPoller::submit(cfg, op, self.now())?;
        let outcome = self.drive(&mut poller, cfg, op, observer)?;
        Ok((outcome, poller))
    }

    /// Follows an existing job, named by its id or href, to its outcome.
    pub fn watch(
        &mut self,
        cfg: &Config<'_>,
        job: &str,
        observer: &mut impl Observer,
    ) -> Result<(Outcome, JobPoller), Error> {
        let mut poller = JobPoller::watch(cfg, job, self.now())?;
        let outcome = self.drive(&mut poller, cfg, &Submit::NONE, observer)?;
        Ok((outcome, poller))
    }

    /// Runs `poller` until it is done: the drive loop. `op` is the operation the poller was
    /// made with ([`Submit::NONE`] for a watched or resumed job). The machine stays with the
    /// caller; an `Err` is a misuse or a local limit and leaves it as it was.
    ///
    /// The connection is kept open after the outcome, so another run on this driver may reuse
    /// it when its machine says so; [`close`](Self::close) it when done.
    pub fn drive(
        &mut self,
        poller: &mut JobPoller,
        cfg: &Config<'_>,
        op: &Submit<'_>,
        observer: &mut impl Observer,
    ) -> Result<Outcome, Error> {
        self.run(poller, cfg, op, observer)
    }

    /// Runs a [`JobSet`] until every job in it is done (e.g. the jobs of an ONTAP `jobs[]`
    /// answer, each made with [`JobPoller::watch`] on this driver's clock). Events and replies
    /// are observed with the job they concern. Returns the set's aggregate outcome.
    pub fn drive_set(
        &mut self,
        set: &mut JobSet<'_>,
        cfg: &Config<'_>,
        observer: &mut impl Observer,
    ) -> Result<Outcome, Error> {
        self.run(set, cfg, (), &mut EachJob(observer))
    }

    /// Runs any [`Machine`] until it is done: a [`JobPoller`] (input: its [`Submit`]), a
    /// [`JobSet`] (`()`), a [`JobList`](crate::list::JobList) or a
    /// [`RecoveryPager`](crate::list::RecoveryPager) (their [`ListQuery`](crate::list::ListQuery)).
    /// Returns the machine's result; the machine stays with the caller.
    pub fn run<M: Machine + ?Sized>(
        &mut self,
        machine: &mut M,
        cfg: &Config<'_>,
        input: M::Input<'_>,
        observer: &mut impl Observer<M>,
    ) -> Result<M::Output, Error> {
        loop {
            if self.cancel.as_ref().is_some_and(Cancel::is_cancelled) {
                machine.cancel(self.now());
            }
            let step = match machine.poll(cfg, input, self.now(), &mut self.tx) {
                Err(Error::BufferTooSmall { required }) if required > self.tx.len() => {
                    self.tx.resize(required, 0);
                    continue;
                }
                other => other?,
            };
            match step {
                Step::SendRequest(req) => self.exchange(machine, cfg, req, observer)?,
                Step::Close => self.close(),
                Step::SleepUntil(t) => self.sleep_until(t),
                Step::Event(event) => observer.on_event(machine, event),
                Step::Done(output) => return Ok(output),
            }
        }
    }

    /// Sleeps until `t` on the driver's clock (or until cancelled).
    fn sleep_until(&self, t: Instant) {
        loop {
            let left = t.saturating_duration_since(self.now());
            if left.is_zero() {
                return;
            }
            match &self.cancel {
                Some(cancel) => {
                    if cancel.wait(left) {
                        return;
                    }
                }
                None => std::thread::sleep(left),
            }
        }
    }

    /// One request: connect if needed, write, read until the machine has a complete answer (or
    /// a failure).
    fn exchange<M: Machine + ?Sized>(
        &mut self,
        poller: &mut M,
        cfg: &Config<'_>,
        req: SendRequest,
        observer: &mut impl Observer<M>,
    ) -> Result<(), Error> {
        if req.connection == Connection::Fresh {
            self.close();
        }
        let clock = Clock {
            epoch: self.epoch,
            cancel: self.cancel.as_ref(),
        };
        let stream = match &mut self.stream {
            Some(s) => s,
            slot @ None => {
                let left = clock.left(req.deadline);
                if left.is_zero() {
                    poller.handle_timeout(cfg, clock.now());
                    return Ok(());
                }
                match self.connector.connect(left) {
                    Ok(s) => {
                        self.connections = self.connections.saturating_add(1);
                        slot.insert(s)
                    }
                    Err(e) => {
                        let class = classify_connect_error(&e);
                        self.last_io_error = Some(e);
                        poller.handle_transport_error(cfg, clock.now(), class);
                        return Ok(());
                    }
                }
            }
        };
        let request = self.tx.get(..req.len).unwrap_or_default();
        if let Err(failure) = write_request(stream, request, req.deadline, &clock) {
            let now = clock.now();
            if let Some(e) = report(poller, cfg, failure, TransportError::WriteFailed, now) {
                self.last_io_error = Some(e);
            }
            return Ok(());
        }
        let mut exchange = Exchange::new();
        loop {
            let n = match read_some(stream, exchange.free(&mut self.rx), req.deadline, &clock) {
                Ok(n) => n,
                Err(failure) => {
                    let now = clock.now();
                    if let Some(e) = report(poller, cfg, failure, TransportError::ReadFailed, now) {
                        self.last_io_error = Some(e);
                    }
                    return Ok(());
                }
            };
            match exchange.read(poller, cfg, clock.now(), &mut self.rx, n)? {
                AfterRead::ReadMore => {}
                AfterRead::Answered(reply) => {
                    observer.on_reply(poller, &reply);
                    return Ok(());
                }
                _ => return Ok(()),
            }
        }
    }
}

/// Tells the machine why a write or read stopped (`class` for an I/O error); returns the I/O
/// error to keep for [`Driver::last_io_error`].
fn report(
    poller: &mut (impl Machine + ?Sized),
    cfg: &Config<'_>,
    failure: Failure,
    class: TransportError,
    now: Instant,
) -> Option<io::Error> {
    match failure {
        Failure::TimedOut => poller.handle_timeout(cfg, now),
        Failure::Cancelled => poller.cancel(now),
        Failure::Io(e) => {
            poller.handle_transport_error(cfg, now, class);
            return Some(e);
        }
    }
    None
}

/// Why a read or write stopped without bytes.
enum Failure {
    /// The request's deadline passed.
    TimedOut,
    /// The run was cancelled.
    Cancelled,
    /// Any other I/O error (reset, TLS alert...).
    Io(io::Error),
}

/// The driver's clock and cancel handle, borrowed apart from its stream and buffers.
struct Clock<'a> {
    epoch: std::time::Instant,
    cancel: Option<&'a Cancel>,
}

impl Clock<'_> {
    fn now(&self) -> Instant {
        let ms = self.epoch.elapsed().as_millis();
        Instant::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    fn left(&self, deadline: Instant) -> Duration {
        deadline.saturating_duration_since(self.now())
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(Cancel::is_cancelled)
    }

    /// Arms `stream` for the time left before `deadline` (shortened to the cancel check
    /// interval when a cancel handle is attached), or says why not.
    fn arm<S: Stream + ?Sized>(&self, stream: &mut S, deadline: Instant) -> Result<(), Failure> {
        if self.cancelled() {
            return Err(Failure::Cancelled);
        }
        let mut left = self.left(deadline);
        if left.is_zero() {
            return Err(Failure::TimedOut);
        }
        if self.cancel.is_some() {
            left = left.min(CANCEL_CHECK_INTERVAL);
        }
        stream
            .set_io_timeout(left.max(Duration::from_millis(1)))
            .map_err(Failure::Io)
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock)
}

fn write_request<S: Stream + ?Sized>(
    stream: &mut S,
    mut bytes: &[u8],
    deadline: Instant,
    clock: &Clock<'_>,
) -> Result<(), Failure> {
    while !bytes.is_empty() {
        clock.arm(stream, deadline)?;
        match stream.write(bytes) {
            Ok(0) => {
                return Err(Failure::Io(io::Error::new(
                    ErrorKind::WriteZero,
                    "the connection accepted no bytes",
                )));
            }
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == ErrorKind::Interrupted || is_timeout(&e) => {}
            Err(e) => return Err(Failure::Io(e)),
        }
    }
    // A TLS stream holds records until flushed.
    loop {
        clock.arm(stream, deadline)?;
        match stream.flush() {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted || is_timeout(&e) => {}
            Err(e) => return Err(Failure::Io(e)),
        }
    }
}

/// One successful read into `buf`: `Ok(0)` is a clean end of stream.
fn read_some<S: Stream + ?Sized>(
    stream: &mut S,
    buf: &mut [u8],
    deadline: Instant,
    clock: &Clock<'_>,
) -> Result<usize, Failure> {
    loop {
        clock.arm(stream, deadline)?;
        match stream.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::Interrupted || is_timeout(&e) => {}
            // A TLS peer that closes the TCP connection without close_notify: the end of the
            // stream as far as HTTP framing goes. The machine checks the framing (a
            // Content-Length or chunked answer cut short is still an error there).
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(0),
            Err(e) => return Err(Failure::Io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Auth, Authority};
    use crate::{Dialect, Event, Policy};
    use std::collections::VecDeque;
    use std::string::ToString;

    /// An in-memory stream: each write consumes the next scripted answer.
    #[derive(Debug, Default)]
    struct Scripted {
        answers: VecDeque<Script>,
        pending: VecDeque<u8>,
        eof_after: bool,
        read_error: Option<ErrorKind>,
        /// Largest read; small, so answers arrive in pieces.
        chunk: usize,
        written: Vec<u8>,
    }

    #[derive(Clone, Debug)]
    enum Script {
        /// These bytes, then wait for the next request.
        Bytes(&'static str),
        /// These bytes, then end of stream.
        BytesThenEof(&'static str),
        /// These bytes, then the error a TLS stream gives when the peer closes without
        /// close_notify.
        BytesThenUncleanEof(&'static str),
        /// These bytes, all in one read.
        Whole(&'static str),
        /// A write error of this kind.
        WriteError(ErrorKind),
        /// A read error of this kind.
        ReadError(ErrorKind),
    }

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.pending.is_empty() {
                if let Some(kind) = self.read_error.take() {
                    return Err(io::Error::from(kind));
                }
                if self.eof_after {
                    return Ok(0);
                }
                return Err(io::Error::from(ErrorKind::WouldBlock));
            }
            let n = buf.len().min(self.pending.len()).min(self.chunk);
            for (slot, b) in buf.iter_mut().zip(self.pending.drain(..n)) {
                *slot = b;
            }
            Ok(n)
        }
    }

    impl Write for Scripted {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.written.extend_from_slice(buf);
            if self.written.ends_with(b"\r\n\r\n") || self.written.ends_with(b"}") {
                match self.answers.pop_front() {
                    Some(Script::Bytes(s)) => {
                        self.pending.extend(s.as_bytes());
                        self.chunk = 7;
                    }
                    Some(Script::Whole(s)) => {
                        self.pending.extend(s.as_bytes());
                        self.chunk = usize::MAX;
                    }
                    Some(Script::BytesThenEof(s)) => {
                        self.pending.extend(s.as_bytes());
                        self.eof_after = true;
                    }
                    Some(Script::BytesThenUncleanEof(s)) => {
                        self.pending.extend(s.as_bytes());
                        self.read_error = Some(ErrorKind::UnexpectedEof);
                    }
                    Some(Script::WriteError(kind)) => return Err(io::Error::from(kind)),
                    Some(Script::ReadError(kind)) => self.read_error = Some(kind),
                    None => {}
                }
                self.written.clear();
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Stream for Scripted {
        fn set_io_timeout(&mut self, _: Duration) -> io::Result<()> {
            Ok(())
        }
    }

    fn cfg() -> Config<'static> {
        let mut cfg = Config::new(
            Authority {
                host: "cluster.example",
                port: 443,
                tls: true,
            },
            Auth::Basic {
                user: "admin",
                password: "pw",
            },
            Dialect::default(),
        );
        cfg.policy = Policy {
            initial_interval: Duration::from_millis(1),
            retry_initial: Duration::from_millis(1),
            retry_max: Duration::from_millis(2),
            request_timeout: Duration::from_millis(200),
            deadline: Duration::from_secs(5),
            ..Policy::DEFAULT
        };
        // The scripted answers are ONTAP bodies; no server hold.
        cfg.dialect = Dialect::Ontap(crate::dialect::ontap::OntapOptions {
            return_timeout: Duration::ZERO,
            ..crate::dialect::ontap::OntapOptions::DEFAULT
        });
        cfg
    }

    fn ok(body: &'static str) -> std::string::String {
        std::format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    #[derive(Default)]
    struct Seen {
        events: Vec<Event>,
        messages: Vec<std::string::String>,
    }

    impl Observer for Seen {
        fn on_event(&mut self, _: &JobPoller, event: Event) {
            self.events.push(event);
        }
        fn on_reply(&mut self, _: &JobPoller, reply: &crate::Reply<'_>) {
            if let Some(m) = reply.message {
                self.messages.push(m.chars().collect());
            }
        }
    }

    /// Every connection gets the next list of answers; counts connects.
    fn run(conns: Vec<Vec<Script>>, cancel: Option<Cancel>) -> (Result<Outcome, Error>, Seen, u64) {
        let mut conns: VecDeque<Vec<Script>> = conns.into();
        let connector = move |_: Duration| -> io::Result<Scripted> {
            match conns.pop_front() {
                Some(answers) => Ok(Scripted {
                    answers: answers.into(),
                    chunk: 7,
                    ..Scripted::default()
                }),
                None => Err(io::Error::from(ErrorKind::ConnectionRefused)),
            }
        };
        let mut driver = Driver::new(connector);
        if let Some(c) = cancel {
            driver = driver.with_cancel(c);
        }
        let cfg = cfg();
        let op = Submit::post("/api/storage/volumes", b"{}");
        let mut seen = Seen::default();
        let r = driver.submit(&cfg, &op, &mut seen).map(|(o, _)| o);
        (r, seen, driver.connections_opened())
    }

    const ACCEPTED: &str =
        "HTTP/1.1 202 Accepted\r\nContent-Length: 22\r\n\r\n{\"job\":{\"uuid\":\"j-1\"}}";

    #[test]
    fn table() {
        use crate::RetryCause::{StaleConnection, Transport};
        let running = ok(r#"{"state":"running","message":"half"}"#).leak();
        let success = ok(r#"{"state":"success","message":"done"}"#).leak();
        let failure = ok(r#"{"state":"failure","message":"no","code":4}"#).leak();
        let closing = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 19\r\n\r\n{\"state\":\"running\"}";
        let with_extra = std::format!("{running}HTTP/1.1 200 OK\r\n").leak();
        // (name, answers per connection, outcome, connections opened, retry causes seen)
        type Case = (
            &'static str,
            Vec<Vec<Script>>,
            Outcome,
            u64,
            Vec<crate::RetryCause>,
        );
        let cases: Vec<Case> = std::vec![
            (
                "submit and two polls on the submit's kept-alive connection",
                std::vec![std::vec![
                    Script::Bytes(ACCEPTED),
                    Script::Bytes(running),
                    Script::Bytes(success)
                ]],
                Outcome::Succeeded,
                1,
                std::vec![],
            ),
            (
                "job failure",
                std::vec![std::vec![Script::Bytes(ACCEPTED), Script::Bytes(failure)]],
                Outcome::Failed,
                1,
                std::vec![],
            ),
            (
                "writing the submit fails: never re-sent",
                std::vec![std::vec![Script::WriteError(ErrorKind::ConnectionReset)]],
                Outcome::SubmitOutcomeUnknown,
                1,
                std::vec![],
            ),
            (
                "reset while reading the submit's answer: never re-sent",
                std::vec![std::vec![Script::ReadError(ErrorKind::ConnectionReset)]],
                Outcome::SubmitOutcomeUnknown,
                1,
                std::vec![],
            ),
            (
                "writing a poll fails: retried on a new connection",
                std::vec![
                    std::vec![
                        Script::Bytes(ACCEPTED),
                        Script::WriteError(ErrorKind::BrokenPipe)
                    ],
                    std::vec![Script::Bytes(success)],
                ],
                Outcome::Succeeded,
                2,
                std::vec![Transport(TransportError::WriteFailed)],
            ),
            (
                "reset while reading a poll: retried on a new connection",
                std::vec![
                    std::vec![
                        Script::Bytes(ACCEPTED),
                        Script::ReadError(ErrorKind::ConnectionReset)
                    ],
                    std::vec![Script::Bytes(success)],
                ],
                Outcome::Succeeded,
                2,
                std::vec![Transport(TransportError::ReadFailed)],
            ),
            (
                "TLS peer gone without close_notify after a close-delimited answer",
                std::vec![std::vec![
                    Script::Bytes(ACCEPTED),
                    Script::BytesThenUncleanEof("HTTP/1.0 200 OK\r\n\r\n{\"state\":\"success\"}"),
                ]],
                Outcome::Succeeded,
                1,
                std::vec![],
            ),
            (
                "kept-alive connection closed by the server: the poll is resent on a new one",
                std::vec![
                    std::vec![Script::Bytes(ACCEPTED), Script::BytesThenEof(running)],
                    std::vec![Script::Bytes(success)],
                ],
                Outcome::Succeeded,
                2,
                std::vec![StaleConnection],
            ),
            (
                "Connection: close: the next poll opens a new connection",
                std::vec![
                    std::vec![Script::Bytes(ACCEPTED), Script::Bytes(closing)],
                    std::vec![Script::Bytes(success)],
                ],
                Outcome::Succeeded,
                2,
                std::vec![],
            ),
            (
                "bytes after a complete answer: the connection is dropped, never read again",
                std::vec![
                    std::vec![Script::Bytes(ACCEPTED), Script::Whole(with_extra)],
                    std::vec![Script::Bytes(success)],
                ],
                Outcome::Succeeded,
                2,
                std::vec![],
            ),
            (
                "no connection at all",
                std::vec![],
                Outcome::RetriesExhausted {
                    last: Transport(TransportError::ConnectFailed)
                },
                0,
                std::vec![Transport(TransportError::ConnectFailed); 5],
            ),
        ];
        for (name, conns, want, connections, retries) in cases {
            let (got, seen, opened) = run(conns, None);
            assert_eq!(got, Ok(want), "{name}");
            assert_eq!(opened, connections, "{name}");
            let causes: Vec<_> = seen
                .events
                .iter()
                .filter_map(|e| match e {
                    Event::Retrying { cause, .. } => Some(*cause),
                    _ => None,
                })
                .collect();
            assert_eq!(causes, retries, "{name}");
        }
    }

    #[test]
    fn observer_sees_events_and_messages() {
        let running = ok(r#"{"state":"running","message":"half \u00e9"}"#).leak();
        let success = ok(r#"{"state":"success","message":"done"}"#).leak();
        let (got, seen, _) = run(
            std::vec![std::vec![
                Script::Bytes(ACCEPTED),
                Script::Bytes(running),
                Script::Bytes(success),
            ]],
            None,
        );
        assert_eq!(got, Ok(Outcome::Succeeded));
        assert_eq!(seen.messages, ["half é", "done"]);
        assert!(seen.events.contains(&Event::Accepted));
        assert!(
            seen.events
                .contains(&Event::StateChanged(crate::JobState::Succeeded))
        );
    }

    #[test]
    fn a_set_of_jobs() {
        let success = ok(r#"{"state":"success","message":"done"}"#).leak();
        let failure = ok(r#"{"state":"failure","message":"no","code":4}"#).leak();
        let mut conns: VecDeque<Vec<Script>> = std::vec![
            std::vec![Script::Bytes(success)],
            std::vec![Script::Bytes(failure)]
        ]
        .into();
        let connector = move |_: Duration| -> io::Result<Scripted> {
            conns
                .pop_front()
                .map(|answers| Scripted {
                    answers: answers.into(),
                    chunk: 7,
                    ..Scripted::default()
                })
                .ok_or_else(|| io::Error::from(ErrorKind::ConnectionRefused))
        };
        let mut driver = Driver::new(connector);
        let cfg = cfg();
        let mut jobs = [
            JobPoller::watch(&cfg, "j-1", driver.now()).expect("id"),
            JobPoller::watch(&cfg, "j-2", driver.now()).expect("id"),
        ];
        let mut set = JobSet::new(&mut jobs);
        let mut seen = Seen::default();
        let outcome = driver.drive_set(&mut set, &cfg, &mut seen);
        assert_eq!(outcome, Ok(set.aggregate()));
        assert_eq!(outcome, Ok(Outcome::PartiallyFailed));
        assert_eq!(seen.messages, ["done", "no"]);
        // Each job's first poll asks for a fresh connection.
        assert_eq!(driver.connections_opened(), 2);
        assert_eq!(jobs[0].outcome(), Some(Outcome::Succeeded));
        assert_eq!(jobs[1].outcome(), Some(Outcome::Failed));
    }

    #[test]
    fn a_read_that_never_ends_times_out_at_the_deadline() {
        // The stream never answers (WouldBlock forever): the run ends through the machine's
        // deadline handling, not by hanging.
        let (got, _, _) = run(std::vec![std::vec![]], None);
        assert_eq!(got, Ok(Outcome::SubmitOutcomeUnknown));
    }

    #[test]
    fn cancel_before_the_run_ends_it_cancelled() {
        let cancel = Cancel::new();
        cancel.cancel();
        let (got, _, opened) = run(std::vec![std::vec![Script::Bytes(ACCEPTED)]], Some(cancel));
        assert_eq!(got, Ok(Outcome::Cancelled));
        assert_eq!(opened, 0);
    }

    #[test]
    fn cancel_wakes_a_sleep() {
        let cancel = Cancel::new();
        let other = cancel.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            other.cancel();
        });
        let start = std::time::Instant::now();
        assert!(cancel.wait(Duration::from_secs(10)));
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(t.join().is_ok());
        assert!(cancel.is_cancelled());
    }

    #[test]
    fn tcp_connector_strips_brackets() {
        let table = [
            ("[::1]", "::1"),
            ("::1", "::1"),
            ("host", "host"),
            ("[x", "[x"),
        ];
        for (given, want) in table {
            assert_eq!(connect_tcp(given, 1).host(), want.to_string());
        }
    }
}
