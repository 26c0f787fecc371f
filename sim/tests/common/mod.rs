//! A tiny blocking HTTP/1.1 client for the simulator's tests (std sockets, httparse, rustls).
#![allow(dead_code)]

use base64::Engine as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

pub use jobpoll_sim::*;
pub use serde_json::{Value, json};

/// A decoded reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub version: u8,
    pub headers: Vec<(String, String)>,
    /// Body after de-chunking and gunzip.
    pub body: Vec<u8>,
    /// Body bytes as received (before gunzip).
    pub wire_body: Vec<u8>,
    /// Content-Length promised more than arrived.
    pub truncated: bool,
    pub chunked: bool,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

#[derive(Clone)]
pub struct Client {
    pub addr: SocketAddr,
    pub auth: Option<(String, String)>,
    pub cert: Option<Vec<u8>>,
    pub timeout: Duration,
    pub extra: Vec<(String, String)>,
}

impl Client {
    pub fn new(sim: &SimHandle) -> Self {
        let (u, p) = sim.credentials();
        Self {
            addr: sim.addr(),
            auth: Some((u.into(), p.into())),
            cert: sim.certificate().map(|c| c.der.clone()),
            timeout: Duration::from_secs(10),
            extra: Vec::new(),
        }
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.extra.push((k.into(), v.into()));
        self
    }
    pub fn no_auth(mut self) -> Self {
        self.auth = None;
        self
    }
    pub fn auth(mut self, u: &str, p: &str) -> Self {
        self.auth = Some((u.into(), p.into()));
        self
    }

    fn connect(&self) -> io::Result<Box<dyn Stream>> {
        let tcp = TcpStream::connect_timeout(&self.addr, self.timeout)?;
        tcp.set_read_timeout(Some(self.timeout))?;
        tcp.set_nodelay(true)?;
        match &self.cert {
            None => Ok(Box::new(tcp)),
            Some(der) => {
                let mut roots = rustls::RootCertStore::empty();
                roots
                    .add(rustls_pki_types::CertificateDer::from(der.clone()))
                    .map_err(|e| io::Error::other(e.to_string()))?;
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let cfg = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| io::Error::other(e.to_string()))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                let name = rustls_pki_types::ServerName::try_from("localhost")
                    .map_err(|e| io::Error::other(e.to_string()))?;
                let conn = rustls::ClientConnection::new(Arc::new(cfg), name)
                    .map_err(|e| io::Error::other(e.to_string()))?;
                Ok(Box::new(rustls::StreamOwned::new(conn, tcp)))
            }
        }
    }

    pub fn request_bytes(&self, method: &str, path: &str, body: Option<&Value>) -> Vec<u8> {
        let mut r = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        if let Some((u, p)) = &self.auth {
            let b = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            r.push_str(&format!("Authorization: Basic {b}\r\n"));
        }
        for (k, v) in &self.extra {
            r.push_str(&format!("{k}: {v}\r\n"));
        }
        let b = body.map(|b| b.to_string()).unwrap_or_default();
        if body.is_some() {
            r.push_str("Content-Type: application/json\r\n");
        }
        r.push_str(&format!("Content-Length: {}\r\n\r\n{b}", b.len()));
        r.into_bytes()
    }

    /// One request on a fresh connection; the error is the transport's.
    pub fn try_send(&self, method: &str, path: &str, body: Option<&Value>) -> io::Result<Reply> {
        let mut s = self.connect()?;
        s.write_all(&self.request_bytes(method, path, body))?;
        s.flush()?;
        read_reply(&mut s)
    }

    pub fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        self.try_send(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }
    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None)
    }
    pub fn post(&self, path: &str, body: Value) -> Reply {
        self.send("POST", path, Some(&body))
    }

    /// Raw bytes until EOF, reset or timeout (and the error that ended it, if any).
    pub fn raw(&self, method: &str, path: &str) -> (Vec<u8>, Option<io::ErrorKind>) {
        let mut s = match self.connect() {
            Ok(s) => s,
            Err(e) => return (Vec::new(), Some(e.kind())),
        };
        if let Err(e) = s.write_all(&self.request_bytes(method, path, None)) {
            return (Vec::new(), Some(e.kind()));
        }
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) => return (out, None),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return (out, Some(e.kind())),
            }
        }
    }
}

fn read_reply(s: &mut dyn Read) -> io::Result<Reply> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (status, version, headers, head_len) = loop {
        let mut h = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut h);
        match resp.parse(&buf) {
            Ok(httparse::Status::Complete(n)) => {
                let hs = resp
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).to_string(),
                        )
                    })
                    .collect::<Vec<_>>();
                break (resp.code.unwrap_or(0), resp.version.unwrap_or(1), hs, n);
            }
            Ok(httparse::Status::Partial) => {}
            Err(e) => return Err(io::Error::other(format!("bad response head: {e}"))),
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "EOF before response head",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let mut rest = buf.split_off(head_len);
    let hdr = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let chunked = hdr("transfer-encoding").is_some_and(|v| v.contains("chunked"));
    let mut truncated = false;
    // Read to EOF (all test requests send Connection: close), tolerating a reset after data.
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => rest.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
        if let Some(cl) = hdr("content-length").and_then(|v| v.parse::<usize>().ok()) {
            if rest.len() >= cl && !chunked {
                break;
            }
        }
    }
    let wire = if chunked {
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            let Some(p) = rest[i..].windows(2).position(|w| w == b"\r\n") else {
                return Err(io::Error::other("bad chunk"));
            };
            let size = usize::from_str_radix(
                std::str::from_utf8(&rest[i..i + p])
                    .map_err(io::Error::other)?
                    .trim(),
                16,
            )
            .map_err(io::Error::other)?;
            i += p + 2;
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[i..i + size]);
            i += size + 2;
        }
        out
    } else {
        if let Some(cl) = hdr("content-length").and_then(|v| v.parse::<usize>().ok()) {
            truncated = rest.len() < cl;
            rest.truncate(cl);
        }
        rest
    };
    let body = if hdr("content-encoding").is_some_and(|v| v.contains("gzip")) {
        let mut d = flate2::read::GzDecoder::new(&wire[..]);
        let mut out = Vec::new();
        d.read_to_end(&mut out)?;
        out
    } else {
        wire.clone()
    };
    Ok(Reply {
        status,
        version,
        headers,
        body,
        wire_body: wire,
        truncated,
        chunked,
    })
}

/// Polls `path` until `pred` holds on the JSON body or the attempts run out.
pub fn poll_until(
    c: &Client,
    path: &str,
    tries: usize,
    pause_ms: u64,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..tries {
        let r = c.get(path);
        if r.status == 200 {
            let v = r.json();
            if pred(&v) {
                return v;
            }
        }
        std::thread::sleep(Duration::from_millis(pause_ms));
    }
    panic!("condition not reached on {path}");
}

/// Checks that `v` has every key of `shape` with the same JSON type (recursively for objects).
pub fn same_shape(shape: &Value, v: &Value) -> Result<(), String> {
    match (shape, v) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, sv) in a {
                let Some(bv) = b.get(k) else {
                    return Err(format!("missing key {k}"));
                };
                if k == "request_payload" {
                    // Free-form: the submit's own body.
                    continue;
                }
                same_shape(sv, bv).map_err(|e| format!("{k}.{e}"))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(b)) => match (a.first(), b.first()) {
            (Some(x), Some(y)) => same_shape(x, y),
            _ => Ok(()),
        },
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_)) => Ok(()),
        (Value::Null, _) | (_, Value::Null) => Ok(()),
        _ => Err(format!("type differs: {shape} vs {v}")),
    }
}

pub fn vector(rel: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(rel);
    let t = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&t).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn start(cfg: SimConfig) -> SimHandle {
    Sim::start_blocking(cfg).expect("sim starts")
}
