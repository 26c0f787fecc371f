//! What the std drivers know of a transport failure beyond its class: a connector's typed
//! reason ([`ConnectError`]), the one classification every driver applies to a failed connect
//! ([`classify_connect_error`]), and the last I/O error kept for a person ([`IoFailure`]).

use core::fmt;
use std::io;
use std::string::{String, ToString};

use crate::TransportError;

/// A connector's own word on why a connection could not be opened, carried inside the
/// `io::Error` it returns (`io::Error::other(ConnectError::Untrusted(reason))`), so that every
/// driver classifies it the same way whatever the TLS stack. rustls' certificate errors are
/// recognised without it.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectError {
    /// The server's certificate was rejected (unknown issuer, wrong name, expired, pin
    /// mismatch): the machine is told [`TransportError::Untrusted`] and does not retry. Fix the
    /// trust configuration (CA file, pin) and resume.
    Untrusted(String),
    /// Anything else: the machine is told [`TransportError::ConnectFailed`] and retries.
    Failed(String),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Untrusted(why) => write!(f, "the server is not trusted: {why}"),
            ConnectError::Failed(why) => write!(f, "could not connect: {why}"),
        }
    }
}

impl std::error::Error for ConnectError {}

/// The class of a failed connect, the same in every driver: a rejected server certificate
/// (rustls' `InvalidCertificate` or `NoCertificatesPresented`, or a connector's
/// [`ConnectError::Untrusted`]) is [`TransportError::Untrusted`] (not retried: it will not fix
/// itself); anything else is [`TransportError::ConnectFailed`] (nothing was sent; retried).
pub fn classify_connect_error(e: &io::Error) -> TransportError {
    let inner = e.get_ref();
    if matches!(
        inner.and_then(|i| i.downcast_ref::<ConnectError>()),
        Some(ConnectError::Untrusted(_))
    ) {
        return TransportError::Untrusted;
    }
    #[cfg(feature = "rustls")]
    {
        let tls = inner.and_then(|i| i.downcast_ref::<rustls::Error>());
        if matches!(
            tls,
            Some(rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)
        ) {
            return TransportError::Untrusted;
        }
    }
    TransportError::ConnectFailed
}

/// The I/O error behind a driver's last transport failure, for a person to read: the machine
/// only sees its class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IoFailure {
    /// What the machine was told.
    pub class: TransportError,
    /// The error's kind.
    pub kind: io::ErrorKind,
    /// Its text (for a rejected certificate, the TLS stack's reason).
    pub message: String,
}

impl IoFailure {
    /// The failure `error`, told to the machine as `class`.
    pub fn new(class: TransportError, error: &io::Error) -> Self {
        IoFailure {
            class,
            kind: error.kind(),
            message: error.to_string(),
        }
    }

    /// The same failure as an `io::Error` (kind and text).
    pub fn to_io_error(&self) -> io::Error {
        io::Error::new(self.kind, self.message.clone())
    }
}

impl fmt::Display for IoFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class, self.message)
    }
}

impl std::error::Error for IoFailure {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_table() {
        let table = [
            (
                io::Error::from(io::ErrorKind::ConnectionRefused),
                TransportError::ConnectFailed,
            ),
            (
                io::Error::other(ConnectError::Untrusted("pin mismatch".into())),
                TransportError::Untrusted,
            ),
            (
                io::Error::other(ConnectError::Failed("no route".into())),
                TransportError::ConnectFailed,
            ),
            (
                io::Error::new(io::ErrorKind::InvalidData, "some other TLS error"),
                TransportError::ConnectFailed,
            ),
        ];
        for (e, want) in table {
            assert_eq!(classify_connect_error(&e), want, "{e}");
        }
        #[cfg(feature = "rustls")]
        {
            let e = io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
            );
            assert_eq!(classify_connect_error(&e), TransportError::Untrusted);
        }
    }
}
