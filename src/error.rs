//! Errors of the job machine, split by who is at fault.
//!
//! Domain results (a failed job, a 503, a purged job) are never errors: they are
//! [`Outcome`](crate::Outcome)s and [`Event`](crate::Event)s. `Err` means the caller misused the
//! API or a local limit was hit, and it never changes the machine's state: fix the cause and
//! call again.

use crate::http::RequestError;

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
    /// [`MAX_QUERY_PAIRS`](crate::MAX_QUERY_PAIRS)).
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
}

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
