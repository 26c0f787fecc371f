//! Fuzz entry points (hidden, behind the `__fuzzing` feature): each exercises the API on
//! arbitrary bytes and `assert!`s its invariants, so a violation is a crash the fuzzer reports.
#![allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs
)]

use super::{
    Accept, Auth, Authority, HttpError, Limits, Method, Request, RequestError, Response,
    ResponseParser, Status,
};

/// Largest response input the response target looks at (the buffers live on the stack).
const MAX_INPUT: usize = 8 * 1024;
const BUF: usize = MAX_INPUT + 128;

/// A small deterministic generator for split points and sizes derived from the input.
struct Rng(u64);

impl Rng {
    fn from_bytes(data: &[u8]) -> Self {
        // FNV-1a.
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for &b in data {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        Rng(h | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn limits_from(config: u8) -> Limits {
    match config & 3 {
        0 => Limits::default(),
        1 => Limits {
            max_headers: 4,
            max_head_len: 128,
            max_body_len: 64,
        },
        2 => Limits {
            max_headers: usize::from(config >> 2) % 40,
            max_head_len: 48 + usize::from(config) * 8,
            max_body_len: usize::from(config) * 4,
        },
        _ => Limits {
            max_headers: usize::MAX,
            max_head_len: usize::MAX,
            max_body_len: usize::MAX,
        },
    }
}

/// Checks what every complete response must satisfy.
fn check_complete(r: &Response, buf: &[u8], input: &[u8], limits: Limits) {
    let filled = input.len();
    assert!(r.head_start < r.body_start, "{r:?}");
    assert!(r.body_start <= r.body_end, "{r:?}");
    assert!(r.body_end <= r.consumed, "{r:?}");
    assert!(r.consumed <= filled, "{r:?}");
    assert!(r.body_end - r.body_start <= limits.max_body_len, "{r:?}");
    assert!(r.minor_version <= 1);
    assert!((100..=999).contains(&r.status) && !(100..=199).contains(&r.status));
    // The head and the bytes after the response are never rewritten.
    assert_eq!(&buf[..r.body_start], &input[..r.body_start]);
    assert_eq!(&buf[r.consumed..filled], &input[r.consumed..]);
    if !r.chunked {
        assert_eq!(r.body(buf), &input[r.body_start..r.body_end]);
    }
    if r.keep_alive {
        assert!(r.chunked || r.content_length.is_some() || matches!(r.status, 204 | 304));
    }
    let _ = r.header(buf, "content-type");
    let _ = r.retry_after.map(|ra| ra.delay(r.date));
}

/// Parses the input whole and fed in pieces at split points derived from the data; both must
/// agree on the outcome, the `Response` and the body, also at end of stream.
pub fn response(data: &[u8]) {
    let Some((&config, input)) = data.split_first() else {
        return;
    };
    let input = &input[..input.len().min(MAX_INPUT)];
    let limits = limits_from(config);
    let size = input.len() + usize::from(config >> 4) * 8;
    let filled = input.len();

    let mut whole = [0u8; BUF];
    let whole = &mut whole[..size];
    whole[..filled].copy_from_slice(input);
    let mut p = ResponseParser::new(limits);
    let got = p.parse(whole, filled);
    // Results are sticky.
    assert_eq!(p.parse(whole, filled), got);
    let mut eof_whole = p;
    let mut eof_buf = [0u8; BUF];
    let eof_buf = &mut eof_buf[..size];
    eof_buf.copy_from_slice(whole);
    let eof_got = eof_whole.parse_eof(eof_buf, filled);
    match got {
        Ok(Status::Partial) => assert!(filled < size),
        Ok(Status::Complete(r)) => {
            check_complete(&r, whole, input, limits);
            assert_eq!(eof_got, got);
        }
        Err(e) => assert_eq!(eof_got, Err(e)),
    }
    match eof_got {
        Ok(Status::Complete(r)) => check_complete(&r, eof_buf, input, limits),
        Ok(Status::Partial) => panic!("parse_eof returned Partial"),
        Err(HttpError::NoResponse) => assert_eq!(filled, 0),
        _ => {}
    }

    // The same bytes in pieces.
    let mut rng = Rng::from_bytes(data);
    let max_piece = 1 + rng.below(97);
    let mut split = [0u8; BUF];
    let split = &mut split[..size];
    let mut q = ResponseParser::new(limits);
    let mut at = 0usize;
    let mut step = q.parse(split, 0);
    while at < filled {
        if step.is_err() {
            break;
        }
        let next = (at + 1 + rng.below(max_piece)).min(filled);
        split[at..next].copy_from_slice(&input[at..next]);
        at = next;
        let before = step;
        step = q.parse(split, at);
        if let Ok(Status::Complete(_)) = before {
            assert_eq!(step, before, "a complete response changed");
        }
    }
    assert_eq!(step, got, "split parse differs from whole");
    if let Ok(Status::Complete(r)) = got {
        assert_eq!(r.body(split), r.body(whole));
        assert_eq!(&split[..filled], &whole[..filled]);
    }
    let eof_split = q.parse_eof(split, filled);
    assert_eq!(eof_split, eof_got, "split parse_eof differs from whole");
    if let Ok(Status::Complete(r)) = eof_split {
        assert_eq!(r.body(split), r.body(eof_buf));
    }
}

/// Longest valid UTF-8 prefix.
fn utf8_prefix(bytes: &[u8]) -> &str {
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
    }
}

fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Whether percent-decoding `encoded` gives exactly the bytes of `original`.
fn decodes_to(encoded: &[u8], original: impl Iterator<Item = u8>) -> bool {
    let mut original = original;
    let mut i = 0;
    while i < encoded.len() {
        let b = if encoded[i] == b'%' {
            let (Some(h), Some(l)) = (
                encoded.get(i + 1).copied().and_then(hex),
                encoded.get(i + 2).copied().and_then(hex),
            ) else {
                return false;
            };
            i += 3;
            h * 16 + l
        } else {
            i += 1;
            encoded[i - 1]
        };
        if original.next() != Some(b) {
            return false;
        }
    }
    original.next().is_none()
}

const MAX_PAIRS: usize = 4;

/// Builds a request from strings cut out of the data; `write` must either refuse it or produce
/// exactly `encoded_len` bytes that httparse reads back to the same method, path, query and
/// headers, with no CR or LF inside any value.
pub fn request(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Some((port, rest)) = rest.split_first_chunk::<2>() else {
        return;
    };
    let mut parts = rest.split(|&b| b == 0xff).map(utf8_prefix);
    let mut next = || parts.next().unwrap_or("");
    let path = next();
    let host = next();
    let user = next();
    let secret = next();
    let user_agent = next();
    let body = next();
    let mut query = [("", ""); MAX_PAIRS];
    let mut headers = [("", ""); MAX_PAIRS];
    let nq = usize::from(flags >> 5) % (MAX_PAIRS + 1);
    let nh = usize::from((flags >> 2) & 7) % (MAX_PAIRS + 1);
    for q in query.iter_mut().take(nq) {
        *q = (next(), next());
    }
    for h in headers.iter_mut().take(nh) {
        *h = (next(), next());
    }
    let methods = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];
    let request = Request {
        method: methods[usize::from(port[0] & 7) % methods.len()],
        authority: Authority {
            host,
            port: u16::from_le_bytes(*port),
            tls: flags & 1 != 0,
        },
        path,
        query: &query[..nq],
        auth: match port[1] & 3 {
            0 => Auth::None,
            1 => Auth::Basic {
                user,
                password: secret,
            },
            _ => Auth::Header(secret),
        },
        accept: if flags & 2 != 0 {
            Accept::Json
        } else {
            Accept::HalJson
        },
        user_agent,
        headers: &headers[..nh],
        body: (port[0] & 8 != 0).then_some(body.as_bytes()),
        connection_close: port[0] & 16 != 0,
    };

    let len = match request.encoded_len() {
        Ok(len) => len,
        Err(e) => {
            assert!(!matches!(e, RequestError::BufferTooSmall { .. }));
            assert_eq!(request.write(&mut [0u8; 64]), Err(e));
            return;
        }
    };
    let mut out = [0u8; 64 * 1024];
    assert!(
        len <= out.len(),
        "inputs this small cannot need {len} bytes"
    );
    assert_eq!(request.write(&mut out[..len]), Ok(len));
    if len > 0 {
        let mut shorter = [0u8; 64 * 1024];
        assert_eq!(
            request.write(&mut shorter[..len - 1]),
            Err(RequestError::BufferTooSmall { required: len })
        );
    }
    let out = &out[..len];

    let mut storage = [httparse::EMPTY_HEADER; 16];
    let mut parsed = httparse::Request::new(&mut storage);
    let head_len = match parsed.parse(out) {
        Ok(httparse::Status::Complete(n)) => n,
        other => panic!("httparse could not read the request back: {other:?}"),
    };
    let body_bytes = request.body.unwrap_or(&[]);
    assert_eq!(head_len + body_bytes.len(), len);
    assert_eq!(&out[head_len..], body_bytes);
    // CR and LF appear only as line ends.
    let head = &out[..head_len];
    for (i, &b) in head.iter().enumerate() {
        if b == b'\r' {
            assert_eq!(head.get(i + 1), Some(&b'\n'));
        }
        if b == b'\n' {
            assert_eq!(i.checked_sub(1).map(|j| head[j]), Some(b'\r'));
        }
    }
    assert_eq!(parsed.method, Some(request.method.as_str()));
    assert_eq!(parsed.version, Some(1));

    // Path and query decode back to what was given.
    let target = parsed.path.unwrap().as_bytes();
    let (enc_path, enc_query) = match target.iter().position(|&b| b == b'?') {
        Some(i) => (&target[..i], Some(&target[i + 1..])),
        None => (target, None),
    };
    if !path.contains('%') {
        assert!(decodes_to(enc_path, path.bytes()));
    }
    match enc_query {
        None => assert_eq!(nq, 0),
        Some(q) => {
            let mut pairs = q.split(|&b| b == b'&');
            for (name, value) in &query[..nq] {
                let pair = pairs.next().unwrap();
                let original = name
                    .bytes()
                    .chain(core::iter::once(b'='))
                    .chain(value.bytes());
                assert!(decodes_to(pair, original));
            }
            assert!(pairs.next().is_none());
        }
    }

    // Every header comes back, in order.
    let mut got = parsed.headers.iter();
    let mut expect = |name: &str, value: &[u8]| {
        let h = got.next().expect("a header is missing");
        assert!(h.name.eq_ignore_ascii_case(name), "{} != {name}", h.name);
        assert_eq!(h.value, trim_ows(value));
        assert!(!h.value.contains(&b'\r') && !h.value.contains(&b'\n'));
    };
    let host_value = parsed.headers[0].value;
    expect("Host", host_value);
    let after_host = if host.contains(':') && !host.starts_with('[') {
        assert_eq!(host_value.first(), Some(&b'['));
        let rest = &host_value[1..];
        assert!(rest.starts_with(host.as_bytes()));
        let rest = &rest[host.len()..];
        assert_eq!(rest.first(), Some(&b']'));
        &rest[1..]
    } else {
        assert!(host_value.starts_with(host.as_bytes()));
        &host_value[host.len()..]
    };
    if let Some((b':', port)) = after_host.split_first().map(|(c, p)| (*c, p)) {
        assert!(!port.is_empty() && port.iter().all(u8::is_ascii_digit));
    } else {
        assert!(after_host.is_empty());
    }
    if !user_agent.is_empty() {
        expect("User-Agent", user_agent.as_bytes());
    }
    expect("Accept", request.accept.as_str().as_bytes());
    expect("Accept-Encoding", b"identity");
    match request.auth {
        Auth::None => {}
        Auth::Basic { .. } => {
            let value = parsed
                .headers
                .iter()
                .find(|h| h.name == "Authorization")
                .unwrap()
                .value;
            assert!(value.starts_with(b"Basic "));
            expect("Authorization", value);
        }
        _ => expect("Authorization", secret.as_bytes()),
    }
    for (name, value) in &headers[..nh] {
        expect(name, value.as_bytes());
    }
    if request.connection_close {
        expect("Connection", b"close");
    }
    if request.body.is_some() {
        expect("Content-Type", b"application/json");
        let cl = parsed
            .headers
            .iter()
            .find(|h| h.name == "Content-Length")
            .unwrap()
            .value;
        expect("Content-Length", cl);
    }
    assert!(got.next().is_none(), "an unexpected header");
}

#[cfg(test)]
mod tests {
    #[test]
    fn entry_points_accept_odd_inputs() {
        for data in [
            &b""[..],
            b"\x00",
            b"\x00HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            b"\x10HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x\r\nok\r\n0\r\n\r\n",
            b"\xf1HTTP/1.1 200 OK\r\n\r\nclose-delimited",
        ] {
            super::response(data);
            super::request(data);
        }
        super::request(b"\xff\x01\x01/p a\xffh\xffu\xffp\xffua\xff{}\xffn\xffv\xffX-A\xff b ");
    }
}
