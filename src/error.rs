//! Errors of the job machine, split by who is at fault.
//!
//! Domain results (a failed job, a 503, a purged job) are never errors: they are
//! [`Outcome`](crate::Outcome)s and [`Event`](crate::Event)s. `Err` means the caller misused the
//! API or a local limit was hit, and it never changes the machine's state: fix the cause and
//! call again.

use core::fmt;

use crate::http::RequestError;

/// Most query pairs a [`Submit`](crate::Submit) may carry: the machine adds its own (the
/// server hold, fields) after them. [`ConfigError::TooManyQueryPairs`] reports a longer query.
pub const MAX_QUERY_PAIRS: usize = 8;

/// A problem with the configuration or the submit description: the caller's fault, found
/// before anything is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ConfigError {
    /// A string cannot go into a request (CR, LF or NUL, a bad header name, a reserved header...).
    /// Fix the named string.
    Request(RequestError),
    /// More query pairs than the machine can add its own to (at most
    /// [`MAX_QUERY_PAIRS`](MAX_QUERY_PAIRS)).
    TooManyQueryPairs,
    /// The submit's query sets a parameter the machine owns (`return_timeout` on ONTAP): set it
    /// through the dialect options instead.
    ReservedQueryParameter,
    /// A job id or href longer than the machine stores ([`MAX_JOB_REF`](crate::MAX_JOB_REF)
    /// bytes), or empty.
    JobRefLength,
    /// A server hold above the API's range: ONTAP `return_timeout` or Select Deploy
    /// `poll_timeout` above 120 s.
    ReturnTimeoutOutOfRange,
    /// A dialect base path that does not start with '/' or ends with '/'.
    BasePath,
    /// A resume token that is not a token of this version of jobpoll, or was corrupted.
    BadToken,
    /// A resume token written for another dialect than the configuration's.
    TokenDialectMismatch,
    /// The dialect has no server-side cancel (only ONTAP documents one).
    CancelUnsupported,
    /// The dialect has no documented job list (Select Deploy).
    ListUnsupported,
    /// The submit description differs from the one the machine was created with (its method,
    /// path or body changed): the same operation must be passed to every `poll`.
    SubmitChanged,
    /// The configuration says HTTPS (`Authority::tls`) but the driver's connector speaks plain
    /// TCP: give the driver a TLS connector (e.g. `adapters::tokio_tls::TlsConnector`), or
    /// configure plain HTTP if the server really speaks it. Nothing was sent.
    TlsConnectorRequired,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Request(e) => write!(f, "configuration: {e}"),
            ConfigError::TooManyQueryPairs => write!(f, "configuration: at most {} query pairs", MAX_QUERY_PAIRS),
            ConfigError::ReservedQueryParameter => f.write_str("configuration: return_timeout is set through the dialect options, not the query"),
            ConfigError::JobRefLength => write!(f, "the job id or href is empty or longer than {} bytes", crate::MAX_JOB_REF),
            ConfigError::ReturnTimeoutOutOfRange => f.write_str("configuration: the server hold (return_timeout / poll_timeout) must be at most 120 s"),
            ConfigError::BasePath => f.write_str("configuration: a dialect base path must start with '/' and not end with '/'"),
            ConfigError::BadToken => f.write_str("the resume token is damaged or from another version of jobpoll"),
            ConfigError::TokenDialectMismatch => f.write_str("the resume token was made for another dialect than the configuration's"),
            ConfigError::CancelUnsupported => f.write_str("this API has no server-side cancel"),
            ConfigError::ListUnsupported => f.write_str("this API has no documented job list"),
            ConfigError::SubmitChanged => f.write_str("pass the same Submit to every poll as to JobPoller::submit"),
            ConfigError::TlsConnectorRequired => f.write_str("configuration: HTTPS is configured but the connector speaks plain TCP; use a TLS connector (nothing was sent)"),
        }
    }
}

impl core::error::Error for ConfigError {}

/// Misuse of the machine or a local limit: the caller's fault. State is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The transmit buffer cannot hold the next request; call `poll` again with at least
    /// `required` bytes.
    BufferTooSmall {
        /// Exact size of the request that is waiting to be written.
        required: usize,
    },
    /// See [`ConfigError`].
    Config(ConfigError),
    /// A response, end of stream or timeout was fed while no request was in flight.
    NoRequestInFlight,
    /// `filled` is larger than the receive buffer.
    FilledBeyondBuffer,
    /// The operation needs a job the server named, and there is none (yet), or the machine is
    /// done.
    NoJob,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BufferTooSmall { required } => write!(
                f,
                "the transmit buffer is too small: call again with at least {required} bytes"
            ),
            Error::Config(e) => fmt::Display::fmt(e, f),
            Error::NoRequestInFlight => {
                f.write_str("a response was fed while no request was in flight (a driver bug)")
            }
            Error::FilledBeyondBuffer => {
                f.write_str("`filled` is larger than the receive buffer (a driver bug)")
            }
            Error::NoJob => f.write_str(
                "there is no job to act on (not named by the server yet, or already done)",
            ),
        }
    }
}

impl core::error::Error for Error {}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

/// A transport failure, classified by the adapter that saw it. The machine decides what it
/// means: a connect failure is safe to retry for any request; anything after the first byte of
/// a submit was written may have reached the server and is never retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TransportError {
    /// The connection (TCP, or the TLS handshake) could not be established; no byte of the
    /// request was written.
    ConnectFailed,
    /// Writing the request failed (some bytes may have been sent).
    WriteFailed,
    /// Reading the answer failed (reset, TLS alert, I/O error).
    ReadFailed,
    /// The adapter's own timer for the request fired. (Adapters may instead call
    /// `handle_timeout`; both are handled the same way.)
    TimedOut,
    /// The server could not be trusted: its TLS certificate was rejected (unknown issuer, wrong
    /// name, pin mismatch). Nothing was sent. Not retried: it will not fix itself; fix the
    /// trust configuration (CA file, pin) and resume.
    Untrusted,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportError::ConnectFailed => "could not connect (nothing was sent)",
            TransportError::WriteFailed => "sending the request failed",
            TransportError::ReadFailed => "reading the answer failed",
            TransportError::TimedOut => "the request timed out",
            TransportError::Untrusted => {
                "the server's TLS certificate was rejected; fix the CA file or pin (nothing was sent)"
            }
        })
    }
}

impl core::error::Error for TransportError {}

impl TransportError {
    /// The variant's snake_case name (`connect_failed`, `timed_out`...), for logs and
    /// machine-readable results; [`Display`](fmt::Display) gives the sentence.
    pub const fn name(self) -> &'static str {
        match self {
            TransportError::ConnectFailed => "connect_failed",
            TransportError::WriteFailed => "write_failed",
            TransportError::ReadFailed => "read_failed",
            TransportError::TimedOut => "timed_out",
            TransportError::Untrusted => "untrusted",
        }
    }
}
