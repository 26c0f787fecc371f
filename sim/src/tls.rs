//! TLS: a self-signed certificate made at start, or PEM files.

use crate::config::Tls;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// The server certificate in both encodings, for clients to trust.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// DER of the leaf certificate.
    pub der: Vec<u8>,
    /// PEM of the leaf certificate.
    pub pem: String,
}

impl Certificate {
    /// The SHA-256 of the DER bytes as upper-case hex pairs separated by `:`: the form
    /// `openssl x509 -noout -fingerprint -sha256` prints after its label, and that a client
    /// pins (`jobctl --pin`, jobpoll's `parse_fingerprint`).
    pub fn sha256_fingerprint(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.der);
        let pairs: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
        pairs.join(":")
    }
}

/// Why TLS could not be set up.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// Certificate generation failed.
    Generate(String),
    /// A PEM file could not be read or parsed.
    Pem(String),
    /// rustls rejected the certificate or key.
    Rustls(rustls::Error),
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsError::Generate(e) => write!(f, "certificate generation failed: {e}"),
            TlsError::Pem(e) => write!(f, "cannot read PEM: {e}"),
            TlsError::Rustls(e) => write!(f, "TLS configuration rejected: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// Builds the acceptor and the certificate to publish.
pub(crate) fn setup(
    tls: &Tls,
) -> Result<Option<(tokio_rustls::TlsAcceptor, Certificate)>, TlsError> {
    let (chain, key) = match tls {
        Tls::Off => return Ok(None),
        Tls::SelfSigned => {
            let names = vec![
                "localhost".to_string(),
                "127.0.0.1".to_string(),
                "::1".to_string(),
            ];
            let ck = rcgen::generate_simple_self_signed(names)
                .map_err(|e| TlsError::Generate(e.to_string()))?;
            let der = ck.cert.der().clone();
            let key = PrivateKeyDer::try_from(ck.key_pair.serialize_der())
                .map_err(|e| TlsError::Generate(e.to_string()))?;
            (vec![der], key)
        }
        Tls::Files { cert, key } => {
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .map_err(|e| TlsError::Pem(format!("{}: {e}", cert.display())))?
                .collect::<Result<_, _>>()
                .map_err(|e| TlsError::Pem(format!("{}: {e}", cert.display())))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| TlsError::Pem(format!("{}: {e}", key.display())))?;
            (chain, key)
        }
    };
    let leaf = chain
        .first()
        .cloned()
        .ok_or_else(|| TlsError::Pem("no certificate in chain".into()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Rustls)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(TlsError::Rustls)?;
    let pem = pem_encode(&leaf);
    Ok(Some((
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        Certificate {
            der: leaf.to_vec(),
            pem,
        },
    )))
}

fn pem_encode(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_the_sha256_of_the_der_in_openssl_form() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let cert = Certificate {
            der: b"abc".to_vec(),
            pem: String::new(),
        };
        assert_eq!(
            cert.sha256_fingerprint(),
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }
}
