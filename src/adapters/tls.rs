//! HTTPS for the blocking driver: rustls 0.23 with the `ring` provider (TLS 1.2 and 1.3).
//!
//! [`TlsConnector`] opens TCP, completes the TLS handshake within the request's time (so that a
//! handshake failure is a connect failure: no byte of the request was written) and yields a
//! [`TlsStream`]. Who the server must be is a [`TlsOptions`]:
//!
//! - [`TlsOptions::WebPkiRoots`] (the default): the usual public CA roots.
//! - [`TlsOptions::CaFile`] / [`TlsOptions::CaPem`]: only the CA certificates given (a company
//!   CA, or an appliance's self-signed certificate used as its own CA).
//! - [`TlsOptions::Pin`]: exactly one end-entity certificate, named by the SHA-256 of its DER
//!   bytes (`openssl x509 -noout -fingerprint -sha256`). For appliances with self-signed
//!   certificates: the safe alternative to turning verification off. The handshake signatures
//!   are still checked against the pinned certificate's key; its names and validity dates are
//!   not (the pin is the identity).
//! - [`TlsOptions::DangerousAcceptAnyCertificate`]: no verification at all. Anyone on the path
//!   can read the credentials. Building a connector with it prints a warning on stderr (and a
//!   `log` warning with the `log` feature).
//!
//! ```no_run
//! use jobpoll::adapters::blocking::Driver;
//! use jobpoll::adapters::tls::{TlsConnector, TlsOptions};
//!
//! let pin = jobpoll::adapters::tls::parse_fingerprint(
//!     "5E:1B:08:D6:3C:A1:7F:42:90:13:C8:55:AA:01:6D:9E:7B:3F:20:C4:81:FE:99:12:0A:6B:35:D7:E2:4C:18:F0",
//! )?;
//! let connector = TlsConnector::new("cluster1.example.com", 443, &TlsOptions::Pin(pin))?;
//! let driver = Driver::new(connector);
//! # Ok::<(), jobpoll::adapters::tls::TlsError>(())
//! ```

use core::fmt;
use core::time::Duration;
use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::string::{String, ToString};
use std::sync::Arc;
use std::vec::Vec;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};

use super::blocking::{Connect, Stream, TcpConnector};

/// Length of a SHA-256 certificate fingerprint.
pub const FINGERPRINT_LEN: usize = 32;

/// Whom the client trusts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsOptions {
    /// The public web PKI roots (Mozilla's list, built in through `webpki-roots`).
    #[default]
    WebPkiRoots,
    /// Only the CA certificates in this PEM file.
    CaFile(PathBuf),
    /// Only the CA certificates in these PEM bytes.
    CaPem(Vec<u8>),
    /// Exactly the end-entity certificate whose DER bytes have this SHA-256.
    Pin([u8; FINGERPRINT_LEN]),
    /// Any certificate, even an attacker's. For a lab only; prints a warning when used.
    DangerousAcceptAnyCertificate,
}

/// Why a TLS configuration could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// The CA file could not be read.
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// The CA PEM holds no certificate, or the PEM is malformed.
    CaPem(rustls::pki_types::pem::Error),
    /// The CA PEM holds no `CERTIFICATE` section.
    NoCaCertificate,
    /// A CA certificate was refused as a trust anchor (at this 0-based position in the PEM).
    BadCaCertificate {
        /// Position of the certificate in the PEM.
        index: usize,
        /// rustls' reason.
        error: rustls::Error,
    },
    /// The host is neither a DNS name nor an IP address.
    ServerName(String),
    /// A fingerprint is not 32 hex bytes (colons and whitespace allowed, openssl's
    /// `sha256 Fingerprint=` label too); `at` is the offending character's byte offset, or the
    /// length when it is too short or too long.
    Fingerprint {
        /// Byte offset in the given text.
        at: usize,
    },
    /// rustls refused the configuration (protocol versions of the provider).
    Config(rustls::Error),
    /// The configuration's authority is plain HTTP (`tls: false`): a TLS connector for it
    /// would speak TLS to a plain port. Set `tls: true`, or use the plain TCP connector.
    PlainAuthority,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::CaFile { path, error } => write!(f, "{}: {error}", path.display()),
            TlsError::CaPem(e) => write!(f, "CA PEM: {e:?}"),
            TlsError::NoCaCertificate => f.write_str("the CA PEM holds no certificate"),
            TlsError::BadCaCertificate { index, error } => {
                write!(f, "CA certificate #{index} refused: {error}")
            }
            TlsError::ServerName(h) => write!(f, "{h:?} is not a DNS name or an IP address"),
            TlsError::Fingerprint { at } => write!(
                f,
                "a SHA-256 fingerprint is 32 hex bytes (colons allowed, after `sha256 Fingerprint=` \
                 or alone); bad at offset {at}"
            ),
            TlsError::Config(e) => write!(f, "TLS configuration: {e}"),
            TlsError::PlainAuthority => f.write_str(
                "the configuration's authority is plain HTTP (tls: false): set tls: true for \
                 HTTPS, or use the plain TCP connector",
            ),
        }
    }
}

impl std::error::Error for TlsError {}

/// The SHA-256 of a certificate's DER bytes, as [`TlsOptions::Pin`] expects.
pub fn fingerprint(der: &[u8]) -> [u8; FINGERPRINT_LEN] {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let mut out = [0u8; FINGERPRINT_LEN];
    for (o, b) in out.iter_mut().zip(digest.as_ref()) {
        *o = *b;
    }
    out
}

/// What `openssl x509 -noout -fingerprint -sha256` prints before the hex, compared without
/// regard to case: OpenSSL 3 writes `sha256 Fingerprint=`, OpenSSL 1.1 `SHA256 Fingerprint=`.
const OPENSSL_SHA256_LABEL: &str = "sha256 fingerprint";

/// Parses a SHA-256 fingerprint written as hex, with or without `:` or whitespace separators,
/// in any case: plain hex, or openssl's whole line (`sha256 Fingerprint=5E:1B:...`, as
/// `openssl x509 -noout -fingerprint -sha256` prints it). A label other than openssl's SHA-256
/// one (`SHA1 Fingerprint=...`) is refused at its first character.
pub fn parse_fingerprint(text: &str) -> Result<[u8; FINGERPRINT_LEN], TlsError> {
    let (hex, hex_at) = match text.split_once('=') {
        Some((label, hex)) => {
            if !label.trim().eq_ignore_ascii_case(OPENSSL_SHA256_LABEL) {
                let label_at = text.len().saturating_sub(text.trim_start().len());
                return Err(TlsError::Fingerprint { at: label_at });
            }
            (hex, label.len().saturating_add(1))
        }
        None => (text, 0),
    };
    let mut out = [0u8; FINGERPRINT_LEN];
    let mut nibbles = 0usize;
    for (at, c) in hex.char_indices() {
        if c == ':' || c.is_ascii_whitespace() {
            continue;
        }
        let at = hex_at.saturating_add(at);
        let v = c.to_digit(16).ok_or(TlsError::Fingerprint { at })?;
        let byte = out
            .get_mut(nibbles / 2)
            .ok_or(TlsError::Fingerprint { at })?;
        // v < 16, so the shifted value fits a byte.
        let v = u8::try_from(v).map_err(|_| TlsError::Fingerprint { at })?;
        *byte = if nibbles.is_multiple_of(2) {
            v << 4
        } else {
            *byte | v
        };
        nibbles = nibbles.saturating_add(1);
    }
    if nibbles != FINGERPRINT_LEN.saturating_mul(2) {
        return Err(TlsError::Fingerprint { at: text.len() });
    }
    Ok(out)
}

/// Formats a fingerprint as upper-case hex pairs separated by `:`.
pub fn format_fingerprint(fp: &[u8; FINGERPRINT_LEN]) -> String {
    let mut s = String::with_capacity(FINGERPRINT_LEN.saturating_mul(3));
    for (i, b) in fp.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&std::format!("{b:02X}"));
    }
    s
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the rustls client configuration for `options` (ring provider, TLS 1.2 and 1.3).
pub fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?;
    let config = match options {
        TlsOptions::WebPkiRoots => {
            let roots = RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            builder.with_root_certificates(roots)
        }
        TlsOptions::CaFile(path) => {
            let pem = std::fs::read(path).map_err(|error| TlsError::CaFile {
                path: path.clone(),
                error,
            })?;
            builder.with_root_certificates(roots_from_pem(&pem)?)
        }
        TlsOptions::CaPem(pem) => builder.with_root_certificates(roots_from_pem(pem)?),
        TlsOptions::Pin(pin) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedCertificate {
                pin: *pin,
                algorithms: provider.signature_verification_algorithms,
            })),
        TlsOptions::DangerousAcceptAnyCertificate => {
            warn_insecure();
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate {
                    algorithms: provider.signature_verification_algorithms,
                }))
        }
    };
    Ok(Arc::new(config.with_no_client_auth()))
}

fn warn_insecure() {
    const WARNING: &str = "WARNING: TLS certificate verification is OFF \
        (DangerousAcceptAnyCertificate): anyone on the network path can impersonate the server \
        and read the credentials. Pin the certificate's SHA-256 or trust its CA instead.";
    std::eprintln!("{WARNING}");
    #[cfg(feature = "log")]
    log::warn!("{WARNING}");
}

fn roots_from_pem(pem: &[u8]) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for (index, cert) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let cert = cert.map_err(TlsError::CaPem)?;
        roots
            .add(cert)
            .map_err(|error| TlsError::BadCaCertificate { index, error })?;
    }
    if roots.is_empty() {
        return Err(TlsError::NoCaCertificate);
    }
    Ok(roots)
}

/// A pinned certificate that did not match. It names the fingerprint the server presented, so
/// a person can compare it with the pin (a renewed certificate, or another server).
struct PinMismatch([u8; FINGERPRINT_LEN]);

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server's certificate has SHA-256 fingerprint {}, not the pinned one",
            format_fingerprint(&self.0)
        )
    }
}

// rustls shows a `CertificateError::Other` with `Debug`: make that the readable text too.
impl fmt::Debug for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for PinMismatch {}

/// Accepts exactly the pinned end-entity certificate; checks the handshake signatures with its
/// key.
#[derive(Debug)]
struct PinnedCertificate {
    pin: [u8; FINGERPRINT_LEN],
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // Not constant-time: the fingerprint of a certificate the server sends is public.
        let presented = fingerprint(end_entity.as_ref());
        if presented == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Other(rustls::OtherError(Arc::new(PinMismatch(
                    presented,
                )))),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Accepts any certificate (the insecure mode); still checks that the handshake is signed by
/// the key of the certificate presented.
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A TLS connection over TCP, with its handshake done.
pub struct TlsStream(StreamOwned<ClientConnection, TcpStream>);

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("peer", &self.0.sock.peer_addr().ok())
            .field("protocol", &self.0.conn.protocol_version())
            .finish_non_exhaustive()
    }
}

impl TlsStream {
    /// The negotiated protocol version, e.g. `TLSv1_3`.
    pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        self.0.conn.protocol_version()
    }

    /// The server's end-entity certificate (DER), e.g. to show its fingerprint.
    pub fn peer_certificate(&self) -> Option<&[u8]> {
        self.0
            .conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| c.as_ref())
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Stream for TlsStream {
    fn set_io_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.0.sock.set_io_timeout(timeout)
    }
}

/// Opens TCP connections and completes the TLS handshake on each, within the time given.
#[derive(Clone)]
pub struct TlsConnector {
    tcp: TcpConnector,
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector")
            .field("tcp", &self.tcp)
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// HTTPS to `host:port` trusting what `options` says; see [`TlsConnector::new`].
pub fn connect_tls(host: &str, port: u16, options: &TlsOptions) -> Result<TlsConnector, TlsError> {
    TlsConnector::new(host, port, options)
}

impl TlsConnector {
    /// HTTPS to `host:port` (the host also names the server for SNI and verification; an IP
    /// literal is verified against the certificate's IP addresses).
    pub fn new(host: &str, port: u16, options: &TlsOptions) -> Result<Self, TlsError> {
        Self::with_config(host, port, client_config(options)?)
    }

    /// HTTPS to the configuration's own host and port (`cfg.authority`), so the two cannot
    /// disagree: the host the machine writes in `Host` is the one connected to and verified.
    /// An authority without `tls` is refused ([`TlsError::PlainAuthority`]).
    pub fn for_authority(
        authority: &crate::http::Authority<'_>,
        options: &TlsOptions,
    ) -> Result<Self, TlsError> {
        if !authority.tls {
            return Err(TlsError::PlainAuthority);
        }
        Self::new(authority.host, authority.port, options)
    }

    /// HTTPS with a rustls configuration built elsewhere (client certificates, other roots).
    pub fn with_config(host: &str, port: u16, config: Arc<ClientConfig>) -> Result<Self, TlsError> {
        let tcp = TcpConnector::new(host, port);
        let server_name = ServerName::try_from(tcp.host().to_string())
            .map_err(|_| TlsError::ServerName(host.to_string()))?;
        Ok(TlsConnector {
            tcp,
            config,
            server_name,
        })
    }
}

impl Connect for TlsConnector {
    type Stream = TlsStream;

    fn connect(&mut self, timeout: Duration) -> io::Result<TlsStream> {
        let start = std::time::Instant::now();
        let mut sock = self.tcp.connect(timeout)?;
        let mut conn = ClientConnection::new(self.config.clone(), self.server_name.clone())
            .map_err(|e| io::Error::new(ErrorKind::InvalidInput, e))?;
        while conn.is_handshaking() {
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    "TLS handshake timed out",
                ));
            }
            sock.set_io_timeout(left)?;
            match conn.complete_io(&mut sock) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(TlsStream(StreamOwned::new(conn, sock)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_parsing_table() {
        let hex = "5e1b08d63ca17f429013c855aa016d9e7b3f20c481fe99120a6b35d7e24c18f0";
        let colons = "5E:1B:08:D6:3C:A1:7F:42:90:13:C8:55:AA:01:6D:9E:7B:3F:20:C4:81:FE:99:12:0A:6B:35:D7:E2:4C:18:F0";
        let want = parse_fingerprint(hex).ok();
        assert!(want.is_some());
        let openssl3 = std::format!("sha256 Fingerprint={colons}");
        let openssl1 = std::format!("SHA256 Fingerprint={colons}\n");
        let label_len = "sha256 Fingerprint=".len();
        let bad_digit_after_label = std::format!("sha256 Fingerprint=zz{}", &colons[2..]);
        let sha1 = "SHA1 Fingerprint=A9:99:3E:36:47:06:81:6A:BA:3E:25:71:78:50:C2:6C:9C:D0:D8:9D";
        let cases: [(&str, Result<(), usize>); 12] = [
            (hex, Ok(())),
            (colons, Ok(())),
            (&openssl3, Ok(())),
            (&openssl1, Ok(())),
            (&colons[..colons.len() - 3], Err(colons.len() - 3)),
            ("zz", Err(0)),
            ("", Err(0)),
            (
                "5e1b08d63ca17f429013c855aa016d9e7b3f20c481fe99120a6b35d7e24c18f000",
                Err(64),
            ),
            (&bad_digit_after_label, Err(label_len)),
            ("sha256 Fingerprint=", Err(label_len)),
            (sha1, Err(0)),
            ("  Fingerprint=5E", Err(2)),
        ];
        for (text, expect) in cases {
            match (parse_fingerprint(text), expect) {
                (Ok(fp), Ok(())) => assert_eq!(Some(fp), want, "{text}"),
                (Err(TlsError::Fingerprint { at }), Err(e)) => assert_eq!(at, e, "{text}"),
                (other, _) => panic!("{text}: {other:?}"),
            }
        }
        if let Some(fp) = want {
            assert_eq!(format_fingerprint(&fp), colons);
        }
    }

    #[test]
    fn sha256_of_known_input() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            format_fingerprint(&fingerprint(b"abc")),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }

    #[test]
    fn ca_pem_errors() {
        assert!(matches!(
            client_config(&TlsOptions::CaPem(b"no pem here".to_vec())),
            Err(TlsError::NoCaCertificate)
        ));
        let garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            client_config(&TlsOptions::CaPem(garbage.to_vec())),
            Err(TlsError::BadCaCertificate { index: 0, .. })
        ));
        assert!(matches!(
            client_config(&TlsOptions::CaFile(PathBuf::from("/nonexistent/ca.pem"))),
            Err(TlsError::CaFile { .. })
        ));
        assert!(client_config(&TlsOptions::WebPkiRoots).is_ok());
    }

    #[test]
    fn server_names() {
        let table = [
            ("localhost", true),
            ("127.0.0.1", true),
            ("[::1]", true),
            ("bad host", false),
        ];
        for (host, ok) in table {
            assert_eq!(
                TlsConnector::new(host, 443, &TlsOptions::WebPkiRoots).is_ok(),
                ok,
                "{host}"
            );
        }
    }
}
