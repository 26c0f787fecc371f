//! A small hand-written HTTP/1.1 server side: request parsing with `httparse`, and a response
//! writer that can damage its own output on purpose (the byte-level faults).

use crate::scenario::Fault;
use std::io::Write as _;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// A parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    /// Method (`GET`, `POST`, ...).
    pub method: String,
    /// Path without the query, percent-decoded.
    pub path: String,
    /// Query parameters in order, percent-decoded (`+` is kept as is).
    pub query: Vec<(String, String)>,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// Headers (names lower-cased).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Request {
    /// First header value with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// First query value with this name.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// Whether the client wants the connection kept open.
    pub fn keep_alive(&self) -> bool {
        let conn = self.header("connection").map(str::to_ascii_lowercase);
        match self.version {
            0 => conn.as_deref() == Some("keep-alive"),
            _ => conn.as_deref() != Some("close"),
        }
    }
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub enum ReadError {
    /// Clean end of stream between requests.
    Closed,
    /// Headers over the limit (answer 431).
    HeadersTooLarge,
    /// Body over the limit (answer 413).
    BodyTooLarge,
    /// Not HTTP (answer 400).
    Malformed(&'static str),
    /// Transport error or EOF inside a request.
    Io,
}

const MAX_HEAD: usize = 16 * 1024;

/// Percent-encodes everything outside RFC 3986's unreserved set, for a query value in a link.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decodes `s` (invalid escapes are kept verbatim).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads one request; `buf` keeps bytes of a pipelined next request.
pub async fn read_request<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    buf: &mut Vec<u8>,
    max_body: usize,
) -> Result<Request, ReadError> {
    let mut chunk = [0u8; 4096];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(buf) {
            Ok(httparse::Status::Complete(n)) => {
                let method = req.method.unwrap_or("GET").to_string();
                let target = req.path.unwrap_or("/");
                let version = req.version.unwrap_or(1);
                let hdrs: Vec<(String, String)> = req
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(h.value).trim().to_string(),
                        )
                    })
                    .collect();
                let (p, q) = target.split_once('?').unwrap_or((target, ""));
                let query = q
                    .split('&')
                    .filter(|kv| !kv.is_empty())
                    .map(|kv| {
                        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                        (percent_decode(k), percent_decode(v))
                    })
                    .collect();
                let path = percent_decode(p);
                let te = hdrs.iter().any(|(k, v)| {
                    k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked")
                });
                buf.drain(..n);
                // curl sends `Expect: 100-continue` for larger bodies and waits a second for it.
                let expect = hdrs
                    .iter()
                    .any(|(k, v)| k == "expect" && v.eq_ignore_ascii_case("100-continue"));
                if expect && buf.is_empty() {
                    s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                        .await
                        .map_err(|_| ReadError::Io)?;
                    s.flush().await.map_err(|_| ReadError::Io)?;
                }
                let body = if te {
                    read_chunked(s, buf, max_body).await?
                } else {
                    let len = match hdrs.iter().find(|(k, _)| k == "content-length") {
                        Some((_, v)) => v
                            .parse::<usize>()
                            .map_err(|_| ReadError::Malformed("content-length"))?,
                        None => 0,
                    };
                    if len > max_body {
                        return Err(ReadError::BodyTooLarge);
                    }
                    while buf.len() < len {
                        let k = s.read(&mut chunk).await.map_err(|_| ReadError::Io)?;
                        if k == 0 {
                            return Err(ReadError::Io);
                        }
                        buf.extend_from_slice(chunk.get(..k).unwrap_or_default());
                    }
                    buf.drain(..len).collect()
                };
                return Ok(Request {
                    method,
                    path,
                    query,
                    version,
                    headers: hdrs,
                    body,
                });
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > MAX_HEAD {
                    return Err(ReadError::HeadersTooLarge);
                }
            }
            Err(_) => return Err(ReadError::Malformed("request head")),
        }
        let k = s.read(&mut chunk).await.map_err(|_| ReadError::Io)?;
        if k == 0 {
            return Err(if buf.is_empty() {
                ReadError::Closed
            } else {
                ReadError::Io
            });
        }
        buf.extend_from_slice(chunk.get(..k).unwrap_or_default());
    }
}

async fn read_chunked<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut S,
    buf: &mut Vec<u8>,
    max: usize,
) -> Result<Vec<u8>, ReadError> {
    let mut body = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // Need a full size line.
        let line_end = loop {
            if let Some(p) = buf.windows(2).position(|w| w == b"\r\n") {
                break p;
            }
            if buf.len() > 1024 {
                return Err(ReadError::Malformed("chunk size"));
            }
            let k = s.read(&mut chunk).await.map_err(|_| ReadError::Io)?;
            if k == 0 {
                return Err(ReadError::Io);
            }
            buf.extend_from_slice(chunk.get(..k).unwrap_or_default());
        };
        let line = String::from_utf8_lossy(buf.get(..line_end).unwrap_or_default()).into_owned();
        let size_txt = line.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size_txt, 16).map_err(|_| ReadError::Malformed("chunk size"))?;
        if body.len().saturating_add(size) > max {
            return Err(ReadError::BodyTooLarge);
        }
        let need = line_end + 2 + size + 2;
        while buf.len() < need {
            let k = s.read(&mut chunk).await.map_err(|_| ReadError::Io)?;
            if k == 0 {
                return Err(ReadError::Io);
            }
            buf.extend_from_slice(chunk.get(..k).unwrap_or_default());
        }
        body.extend_from_slice(
            buf.get(line_end + 2..line_end + 2 + size)
                .unwrap_or_default(),
        );
        buf.drain(..need);
        if size == 0 {
            return Ok(body);
        }
    }
}

/// A response before it is written.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers (besides `Content-Length`, `Connection` and `Date`, which the writer adds).
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
    /// Close after writing.
    pub close: bool,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, content_type: &str, v: &serde_json::Value) -> Self {
        let mut body = serde_json::to_vec_pretty(v).unwrap_or_default();
        body.push(b'\n');
        Self {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
            close: false,
        }
    }
    /// Adds a header.
    pub fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
}

/// Reason phrase.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

/// What the connection does after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Keep serving requests.
    KeepAlive,
    /// Close cleanly.
    Close,
    /// Reset (RST).
    Reset,
}

/// Gzip-compresses bytes.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    if e.write_all(data).is_err() {
        return data.to_vec();
    }
    e.finish().unwrap_or_else(|_| data.to_vec())
}

/// Applies body-changing faults (oversize, malformed JSON, gzip) before framing.
pub fn transform_body(resp: &mut Response, fault: Option<&Fault>, client_accepts_gzip: bool) {
    match fault {
        Some(Fault::Oversize { bytes }) => {
            let pad = bytes.saturating_sub(resp.body.len()).saturating_add(16);
            let rest = resp.body.strip_prefix(b"{").unwrap_or(&resp.body);
            let rest_trim = String::from_utf8_lossy(rest);
            let sep = if rest_trim.trim_start().starts_with('}') {
                ""
            } else {
                ","
            };
            let mut b = Vec::with_capacity(pad + resp.body.len() + 32);
            b.extend_from_slice(b"{\"padding\": \"");
            b.extend(std::iter::repeat_n(b'x', pad));
            b.extend_from_slice(b"\"");
            b.extend_from_slice(sep.as_bytes());
            b.extend_from_slice(rest);
            resp.body = b;
        }
        Some(Fault::MalformedJson) => {
            let half = resp.body.len() / 2;
            resp.body.truncate(half);
            resp.body.extend_from_slice(b"\"\x01{,");
        }
        _ => {}
    }
    if matches!(fault, Some(Fault::Gzip)) || (client_accepts_gzip && !resp.body.is_empty()) {
        resp.body = gzip(&resp.body);
        resp.headers
            .push(("Content-Encoding".into(), "gzip".into()));
        resp.headers.push(("Vary".into(), "Accept-Encoding".into()));
    }
}

/// Writes `resp`, damaged as `fault` says; returns what to do with the connection next.
pub async fn write_response<S: AsyncWrite + Unpin>(
    s: &mut S,
    mut resp: Resp<'_>,
) -> std::io::Result<After> {
    let fault = resp.fault;
    let r = &mut resp.response;
    let http10 = matches!(fault, Some(Fault::Http10));
    let chunked = match fault {
        Some(Fault::Chunked { chunk }) => Some((*chunk).max(1)),
        _ => None,
    };
    let close =
        r.close || http10 || matches!(fault, Some(Fault::ConnectionClose)) || !resp.keep_alive;
    let mut head = format!(
        "HTTP/1.{} {} {}\r\n",
        if http10 { 0 } else { 1 },
        r.status,
        reason(r.status)
    );
    head.push_str("Server: libzapid-httpd\r\n");
    head.push_str(&format!(
        "Date: {}\r\n",
        crate::clock::http_date(crate::clock::unix_now())
    ));
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(_n) = chunked {
        head.push_str("Transfer-Encoding: chunked\r\n");
    } else if !http10 {
        head.push_str(&format!("Content-Length: {}\r\n", r.body.len()));
    }
    if close && !http10 {
        head.push_str("Connection: close\r\n");
    } else if !close {
        head.push_str("Keep-Alive: timeout=5, max=100\r\n");
    }
    head.push_str("\r\n");
    let mut wire = head.into_bytes();
    let head_len = wire.len();
    match chunked {
        Some(n) => {
            for c in r.body.chunks(n) {
                wire.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                wire.extend_from_slice(c);
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(b"0\r\n\r\n");
        }
        None => wire.extend_from_slice(&r.body),
    }
    let half_body = head_len + r.body.len() / 2;
    match fault {
        Some(Fault::ResetBeforeHeaders) => return Ok(After::Reset),
        Some(Fault::ResetAfterHeaders) => {
            s.write_all(wire.get(..head_len).unwrap_or_default())
                .await?;
            s.flush().await?;
            return Ok(After::Reset);
        }
        Some(Fault::ResetMidBody) => {
            s.write_all(wire.get(..half_body).unwrap_or_default())
                .await?;
            s.flush().await?;
            return Ok(After::Reset);
        }
        Some(Fault::TruncatedBody) => {
            s.write_all(wire.get(..half_body).unwrap_or_default())
                .await?;
            s.flush().await?;
            return Ok(After::Close);
        }
        Some(Fault::SlowDrip { chunk, interval_ms }) => {
            for c in wire.chunks((*chunk).max(1)) {
                s.write_all(c).await?;
                s.flush().await?;
                tokio::time::sleep(Duration::from_millis(*interval_ms)).await;
            }
        }
        _ => {
            s.write_all(&wire).await?;
            s.flush().await?;
        }
    }
    Ok(if close {
        After::Close
    } else {
        After::KeepAlive
    })
}

/// A response with the delivery fault to apply and the client's keep-alive wish.
#[derive(Debug)]
pub struct Resp<'a> {
    /// The response.
    pub response: Response,
    /// Delivery fault.
    pub fault: Option<&'a Fault>,
    /// The client asked to keep the connection.
    pub keep_alive: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_round_trips_table() {
        for s in [
            "uuid,state,description",
            "!success",
            "running|queued",
            "a b&c=d",
            "é",
        ] {
            assert_eq!(percent_decode(&percent_encode(s)), s);
        }
        assert_eq!(percent_encode("a,b"), "a%2Cb");
    }

    #[test]
    fn decode_table() {
        let cases = [
            ("a%20b", "a b"),
            (">%3D2019", ">=2019"),
            ("+00:00", "+00:00"),
            ("%zz", "%zz"),
            ("%", "%"),
        ];
        for (i, o) in cases {
            assert_eq!(percent_decode(i), o);
        }
    }

    /// A stream that reads `data` and discards writes.
    fn tokio_test_stream(data: &[u8]) -> tokio::io::Join<&[u8], tokio::io::Sink> {
        tokio::io::join(data, tokio::io::sink())
    }

    #[tokio::test]
    async fn expect_100_continue_is_answered() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        let t = tokio::spawn(async move {
            let mut buf = Vec::new();
            read_request(&mut server, &mut buf, 100)
                .await
                .map(|r| r.body)
        });
        client
            .write_all(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
            .await
            .expect("w");
        let mut got = [0u8; 25];
        client.read_exact(&mut got).await.expect("100");
        assert_eq!(&got, b"HTTP/1.1 100 Continue\r\n\r\n");
        client.write_all(b"{}").await.expect("w");
        assert_eq!(t.await.expect("join").expect("req"), b"{}");
    }

    #[tokio::test]
    async fn parses_pipelined_and_chunked() {
        let raw = b"GET /a?x=1&y=%3E%3D2 HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        let mut s = tokio_test_stream(raw);
        let mut buf = Vec::new();
        let a = read_request(&mut s, &mut buf, 100).await.expect("a");
        assert_eq!(
            (a.method.as_str(), a.path.as_str(), a.query("y")),
            ("GET", "/a", Some(">=2"))
        );
        let b = read_request(&mut s, &mut buf, 100).await.expect("b");
        assert_eq!(b.body, b"abc");
        assert!(matches!(
            read_request(&mut s, &mut buf, 100).await,
            Err(ReadError::Closed)
        ));
        let mut s = tokio_test_stream(b"POST / HTTP/1.1\r\nContent-Length: 500\r\n\r\n");
        assert!(matches!(
            read_request(&mut s, &mut Vec::new(), 100).await,
            Err(ReadError::BodyTooLarge)
        ));
        let mut s = tokio_test_stream(b"\x00\x01garbage\r\n\r\n");
        assert!(matches!(
            read_request(&mut s, &mut Vec::new(), 100).await,
            Err(ReadError::Malformed(_))
        ));
    }

    #[test]
    fn body_transforms() {
        let base = Response::json(200, "application/json", &serde_json::json!({"a": 1}));
        let mut r = base.clone();
        transform_body(&mut r, Some(&Fault::Oversize { bytes: 1000 }), false);
        assert!(r.body.len() >= 1000);
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("still JSON");
        assert_eq!(v["a"], 1);
        let mut r = base.clone();
        transform_body(&mut r, Some(&Fault::MalformedJson), false);
        assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());
        let mut r = base;
        transform_body(&mut r, Some(&Fault::Gzip), false);
        assert_eq!(r.body.get(..2), Some(&[0x1f, 0x8b][..]));
    }
}
