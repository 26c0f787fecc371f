//! HTTPS for the tokio driver and the fleet (feature `tokio-rustls`): tokio-rustls over the
//! rustls configuration the blocking driver uses, so the options are the same
//! ([`TlsOptions`]: web PKI roots, a CA file or PEM, a SHA-256 pin, the loud
//! `DangerousAcceptAnyCertificate`) and so is the classification of a failure: a rejected
//! certificate is [`TransportError::Untrusted`](crate::TransportError::Untrusted) at once
//! (nothing sent, not retried), anything else a retried `ConnectFailed`; the TLS stack's reason
//! is the driver's [`last_io_error`](super::tokio::Driver::last_io_error).
//!
//! Host and port come from the configuration's [`Authority`](crate::http::Authority), as every
//! connect's [`Endpoint`]: the host names the server for SNI and verification (an IP literal
//! is verified against the certificate's IP addresses), so one connector serves a fleet of
//! hosts.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use jobpoll::adapters::tls::{TlsOptions, parse_fingerprint};
//! use jobpoll::adapters::tokio::Driver;
//! use jobpoll::adapters::tokio_tls::TlsConnector;
//! use jobpoll::http::{Auth, Authority};
//! use jobpoll::{Config, Dialect, JobPoller, Submit};
//!
//! let cfg = Config::new(
//!     Authority { host: "cluster1.example.com", port: 443, tls: true },
//!     Auth::Basic { user: "admin", password: "netapp123" },
//!     Dialect::default(),
//! );
//! let pin = parse_fingerprint(
//!     "5E:1B:08:D6:3C:A1:7F:42:90:13:C8:55:AA:01:6D:9E:7B:3F:20:C4:81:FE:99:12:0A:6B:35:D7:E2:4C:18:F0",
//! )?;
//! let mut driver = Driver::new(TlsConnector::new(&TlsOptions::Pin(pin))?);
//! let op = Submit::post("/api/storage/volumes", br#"{"name":"vol1","svm":{"name":"vs1"}}"#);
//! let mut poller = JobPoller::submit(&cfg, &op, driver.now())?;
//! let outcome = driver.drive(&mut poller, &cfg, &op, ()).await?;
//! if let Some(why) = driver.last_io_error() {
//!     eprintln!("last transport failure: {why}");
//! }
//! println!("{outcome:?}");
//! # Ok(()) }
//! ```

use core::fmt;
use std::io;
use std::string::ToString;
use std::sync::Arc;

use ::tokio::net::TcpStream;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;

use super::tls::{TlsError, TlsOptions, client_config};
use super::tokio::{Connect, Endpoint, Tcp};

/// The stream a [`TlsConnector`] opens: TLS over TCP.
pub type TlsStream = tokio_rustls::client::TlsStream<TcpStream>;

/// Opens TCP connections to the configuration's host and port and completes the TLS handshake
/// on each (within the request's deadline, which the driver applies).
#[derive(Clone)]
pub struct TlsConnector {
    config: Arc<ClientConfig>,
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector").finish_non_exhaustive()
    }
}

impl TlsConnector {
    /// HTTPS trusting what `options` says (the blocking driver's
    /// [`client_config`]; the insecure mode warns as it does
    /// there).
    pub fn new(options: &TlsOptions) -> Result<Self, TlsError> {
        Ok(Self::with_config(client_config(options)?))
    }

    /// HTTPS with a rustls configuration built elsewhere (client certificates, other roots).
    pub fn with_config(config: Arc<ClientConfig>) -> Self {
        TlsConnector { config }
    }
}

impl Connect for TlsConnector {
    type Stream = TlsStream;

    async fn connect(&self, endpoint: Endpoint) -> io::Result<TlsStream> {
        let host = endpoint.host.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(host.to_string()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                std::format!("{:?} is not a DNS name or an IP address", endpoint.host),
            )
        })?;
        let tcp = Tcp
            .connect(Endpoint {
                tls: false,
                ..endpoint
            })
            .await?;
        // A certificate rustls rejects comes back as `InvalidData` holding the rustls error,
        // which `classify_connect_error` reads: `Untrusted`, never retried.
        tokio_rustls::TlsConnector::from(Arc::clone(&self.config))
            .connect(name, tcp)
            .await
    }
}
