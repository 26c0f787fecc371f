//! Human-readable errors: each says who is at fault and what to do. Every error type also
//! implements `core::error::Error`, so it works with `?` into `Box<dyn Error>` and error crates.

use core::fmt;

use crate::error::{ConfigError, Error, TransportError};
use crate::http::{HttpError, RequestError};

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Malformed { kind } => write!(f, "the server sent a malformed HTTP response ({kind:?})"),
            HttpError::TooManyHeaders { limit } => write!(f, "the server sent more than {limit} headers; raise the header limit if that is expected"),
            HttpError::HeadTooLarge { limit } => write!(f, "the server's response head exceeds {limit} bytes; raise the head limit or give a larger receive buffer"),
            HttpError::BodyTooLarge { status, declared, limit } => match declared {
                Some(n) => write!(f, "the {status} response body of {n} bytes does not fit ({limit} bytes allowed); give a larger receive buffer or ask for fewer fields"),
                None => write!(f, "the {status} response body exceeds {limit} bytes; give a larger receive buffer or ask for fewer fields"),
            },
            HttpError::ConflictingFraming => f.write_str("the server sent conflicting Content-Length / Transfer-Encoding headers (a protocol error on its side)"),
            HttpError::InvalidContentLength => f.write_str("the server sent an invalid Content-Length"),
            HttpError::UnsupportedTransferEncoding => f.write_str("the server used a transfer coding other than chunked"),
            HttpError::UnsupportedContentEncoding => f.write_str("the server compressed the body although identity was asked for"),
            HttpError::InvalidChunk { offset } => write!(f, "the server sent a malformed chunk at byte {offset}"),
            HttpError::Truncated => f.write_str("the connection closed in the middle of the response"),
            HttpError::NoResponse => f.write_str("the connection closed before any response"),
            HttpError::UnsupportedVersion => f.write_str("the server answered with an HTTP version other than 1.0 or 1.1"),
            HttpError::UnexpectedSwitchingProtocols => f.write_str("the server switched protocols, which was not asked for"),
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::BufferTooSmall { required } => write!(f, "the transmit buffer is too small: the request needs {required} bytes"),
            RequestError::InvalidByte { part, byte } => write!(f, "the {part:?} given contains byte 0x{byte:02x}, which a request cannot carry; fix the configuration"),
            RequestError::InvalidHeaderName => f.write_str("a configured header name is not a valid HTTP token"),
            RequestError::ReservedHeader => f.write_str("a configured header is one the request writer sets itself (Host, Content-Length, Authorization, ...)"),
            RequestError::InvalidPath => f.write_str("the path must start with '/'"),
            RequestError::InvalidUser => f.write_str("a Basic-auth user name cannot contain ':'"),
            RequestError::EmptyHost => f.write_str("the host is empty"),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Request(e) => write!(f, "configuration: {e}"),
            ConfigError::TooManyQueryPairs => write!(f, "configuration: at most {} query pairs", crate::MAX_QUERY_PAIRS),
            ConfigError::ReservedQueryParameter => f.write_str("configuration: return_timeout is set through the dialect options, not the query"),
            ConfigError::JobRefLength => write!(f, "the job id or href is empty or longer than {} bytes", crate::MAX_JOB_REF),
            ConfigError::ReturnTimeoutOutOfRange => f.write_str("configuration: the server hold (return_timeout / poll_timeout) must be at most 120 s"),
            ConfigError::BasePath => f.write_str("configuration: a dialect base path must start with '/' and not end with '/'"),
            ConfigError::BadToken => f.write_str("the resume token is damaged or from another version of jobpoll"),
            ConfigError::TokenDialectMismatch => f.write_str("the resume token was made for another dialect than the configuration's"),
            ConfigError::CancelUnsupported => f.write_str("this API has no server-side cancel"),
            ConfigError::ListUnsupported => f.write_str("this API has no documented job list"),
            ConfigError::SubmitChanged => f.write_str("pass the same Submit to every poll as to JobPoller::submit"),
        }
    }
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

impl core::error::Error for HttpError {}
impl core::error::Error for RequestError {}
impl core::error::Error for ConfigError {}
impl core::error::Error for Error {}
impl core::error::Error for TransportError {}
impl core::error::Error for crate::json::JsonError {}
impl core::error::Error for crate::json::StrTooLong {}
#[cfg(feature = "serde")]
impl core::error::Error for crate::json::TypedError {}
