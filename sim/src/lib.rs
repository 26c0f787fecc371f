//! jobsim: a simulator of NetApp's asynchronous job APIs (ONTAP REST, ONTAP Select Deploy, Active
//! IQ Unified Manager, NetApp Service Engine) over real HTTP(S) sockets, with scripted job
//! timelines and fault injection, for testing job pollers without the real servers.
//!
//! The server is one hand-written HTTP/1.1 loop on tokio (requests parsed with `httparse`,
//! responses written by hand) so that every byte-level fault (resets, truncation, drips, HTTP/1.0,
//! chunking) is reachable on both plain and TLS streams. It is an independent implementation of
//! the documented server behaviour and shares no code with the `jobpoll` crate.
//!
//! ```no_run
//! # async fn demo() -> Result<(), jobpoll_sim::StartError> {
//! use jobpoll_sim::{Sim, SimConfig};
//! let sim = Sim::start(SimConfig::new().time_scale(60.0)).await?;
//! println!("listening on {}", sim.addr());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod aiqum;
pub mod clock;
pub mod config;
mod deploy;
pub mod http;
pub mod jobs;
mod nse;
mod ontap;
pub mod scenario;
mod server;
pub mod stats;
pub mod tls;

/// The README's Rust examples are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use config::{SimConfig, Switches, Tls};
pub use scenario::{
    Fault, FaultRule, Final, JobScript, Outcome, Phase, RetryAfter, Scenario, Step,
};
pub use stats::Stats;
pub use tls::Certificate;

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// Why the simulator could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// Binding the listen address failed.
    Bind(std::io::Error),
    /// TLS setup failed.
    Tls(tls::TlsError),
    /// The runtime for [`Sim::start_blocking`] could not be built.
    Runtime(std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Bind(e) => write!(f, "cannot bind: {e}"),
            StartError::Tls(e) => write!(f, "TLS: {e}"),
            StartError::Runtime(e) => write!(f, "runtime: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// The simulator.
#[derive(Debug)]
pub struct Sim;

impl Sim {
    /// Binds, then serves in the background of the current tokio runtime.
    pub async fn start(config: SimConfig) -> Result<SimHandle, StartError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = tls::setup(&config.tls).map_err(StartError::Tls)?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(StartError::Bind)?;
        let addr = listener.local_addr().map_err(StartError::Bind)?;
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = watch::channel(false);
        let (acceptor, cert) = match tls {
            Some((a, c)) => (Some(a), Some(c)),
            None => (None, None),
        };
        let shared = Arc::new(server::Shared::new(config, ctl_tx, stop_rx, acceptor));
        let task = tokio::spawn(server::accept_loop(shared.clone(), listener, ctl_rx));
        Ok(SimHandle {
            addr,
            cert,
            shared,
            stop: stop_tx,
            task: Some(task),
            runtime: None,
        })
    }

    /// Starts on a runtime of its own (two worker threads), for tests without async.
    pub fn start_blocking(config: SimConfig) -> Result<SimHandle, StartError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(StartError::Runtime)?;
        let mut h = rt.block_on(Self::start(config))?;
        h.runtime = Some(rt);
        Ok(h)
    }
}

/// A running simulator. Dropping it stops the server (use [`SimHandle::shutdown`] to wait).
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    cert: Option<Certificate>,
    shared: Arc<server::Shared>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl SimHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://addr` or `https://addr`.
    pub fn base_url(&self) -> String {
        let scheme = if self.cert.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The TLS certificate (None over plain HTTP).
    pub fn certificate(&self) -> Option<&Certificate> {
        self.cert.as_ref()
    }

    /// The configured user and password.
    pub fn credentials(&self) -> (&str, &str) {
        (&self.shared.config.user, &self.shared.config.password)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Closes the listening socket for `d` (connections are refused), as the fault does.
    pub fn refuse_connections(&self, d: std::time::Duration) {
        let _ = self
            .shared
            .control
            .send(server::ListenerControl::Refuse(d, None));
    }

    /// Stops accepting for `d` (handshakes still complete: a stall), as the fault does.
    pub fn stall_accept(&self, d: std::time::Duration) {
        let _ = self
            .shared
            .control
            .send(server::ListenerControl::Stall(d, None));
    }

    /// Stops the server and waits for it (blocking handles: use [`SimHandle::shutdown_blocking`]).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    /// Stops a server started with [`Sim::start_blocking`] and waits for it.
    pub fn shutdown_blocking(mut self) {
        let _ = self.stop.send(true);
        if let (Some(rt), Some(t)) = (self.runtime.take(), self.task.take()) {
            let _ = rt.block_on(t);
            rt.shutdown_timeout(std::time::Duration::from_secs(1));
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
