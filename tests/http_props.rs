//! Properties of the HTTP codec: split-independence of the response parser, the writer's
//! framing safety and exact lengths, and no panics on arbitrary bytes.

use jobpoll::http::{
    Accept, Auth, Authority, HttpError, Limits, Method, Request, RequestError, Response,
    ResponseParser, Status,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Response parser

/// One response on the wire and the body it carries.
#[derive(Debug, Clone)]
struct Wire {
    bytes: Vec<u8>,
    body: Vec<u8>,
}

fn header_strategy() -> impl Strategy<Value = (String, String)> {
    (
        prop::sample::select(vec![
            "X-Request-Id",
            "Server",
            "Cache-Control",
            "Vary",
            "x-a",
        ]),
        "[ -~]{0,20}",
    )
        .prop_map(|(n, v)| (n.to_string(), v.trim().to_string()))
}

fn response_strategy() -> impl Strategy<Value = Wire> {
    (
        prop::sample::select(vec![200u16, 201, 202, 400, 404, 500, 503]),
        any::<bool>(),                                  // HTTP/1.0?
        prop::collection::vec(header_strategy(), 0..6), // extra headers
        prop::collection::vec(any::<u8>(), 0..400),     // body
        any::<bool>(),                                  // chunked?
        prop::collection::vec(1usize..64, 1..8),        // chunk sizes (cycled)
        any::<bool>(),                                  // chunk extensions
        prop::collection::vec(header_strategy(), 0..3), // trailers
        prop::option::of(0u8..3),                       // interim 1xx count
    )
        .prop_map(
            |(status, http10, headers, body, chunked, sizes, ext, trailers, interim)| {
                let mut w = Vec::new();
                for _ in 0..interim.unwrap_or(0) {
                    w.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
                }
                let version = if http10 { "1.0" } else { "1.1" };
                w.extend_from_slice(format!("HTTP/{version} {status} Reason\r\n").as_bytes());
                for (n, v) in &headers {
                    w.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
                }
                if chunked {
                    w.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                    let mut rest = &body[..];
                    let mut i = 0;
                    while !rest.is_empty() {
                        let n = sizes[i % sizes.len()].min(rest.len());
                        let (part, tail) = rest.split_at(n);
                        w.extend_from_slice(format!("{n:x}").as_bytes());
                        if ext {
                            w.extend_from_slice(format!(";i={i};flag").as_bytes());
                        }
                        w.extend_from_slice(b"\r\n");
                        w.extend_from_slice(part);
                        w.extend_from_slice(b"\r\n");
                        rest = tail;
                        i += 1;
                    }
                    w.extend_from_slice(b"0\r\n");
                    for (n, v) in &trailers {
                        w.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
                    }
                    w.extend_from_slice(b"\r\n");
                } else {
                    w.extend_from_slice(
                        format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes(),
                    );
                    w.extend_from_slice(&body);
                }
                Wire { bytes: w, body }
            },
        )
}

fn parse_whole(input: &[u8], size: usize) -> (Result<Status, HttpError>, Vec<u8>) {
    let mut buf = vec![0u8; size];
    buf[..input.len()].copy_from_slice(input);
    let mut p = ResponseParser::new(Limits::default());
    (p.parse(&mut buf, input.len()), buf)
}

/// Feeds `input` as a growing prefix, cut at `cuts` (sorted offsets).
fn parse_split(input: &[u8], size: usize, cuts: &[usize]) -> (Result<Status, HttpError>, Vec<u8>) {
    let mut buf = vec![0u8; size];
    let mut p = ResponseParser::new(Limits::default());
    let mut at = 0;
    let mut last = Ok(Status::Partial);
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(at, input.len());
        buf[at..cut].copy_from_slice(&input[at..cut]);
        at = cut;
        let r = p.parse(&mut buf, at);
        if let Ok(Status::Complete(done)) = last {
            assert_eq!(r, Ok(Status::Complete(done)));
        }
        last = r;
        if last.is_err() {
            break;
        }
    }
    (last, buf)
}

fn complete(r: Result<Status, HttpError>) -> Response {
    match r {
        Ok(Status::Complete(r)) => r,
        other => panic!("not complete: {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_split_gives_the_whole_result(
        wire in response_strategy(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
        trailing in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut input = wire.bytes.clone();
        input.extend_from_slice(&trailing);
        let size = input.len() + 64;
        let (whole, whole_buf) = parse_whole(&input, size);
        let r = complete(whole);
        prop_assert_eq!(r.body(&whole_buf), &wire.body[..]);
        prop_assert_eq!(r.consumed, wire.bytes.len());
        prop_assert_eq!(&whole_buf[r.consumed..input.len()], &trailing[..]);

        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
        cuts.sort_unstable();
        let (split, split_buf) = parse_split(&input, size, &cuts);
        prop_assert_eq!(split, whole);
        prop_assert_eq!(r.body(&split_buf), &wire.body[..]);

        // One byte at a time too.
        let every: Vec<usize> = (0..input.len()).collect();
        let (bytewise, bytewise_buf) = parse_split(&input, size, &every);
        prop_assert_eq!(bytewise, whole);
        prop_assert_eq!(r.body(&bytewise_buf), &wire.body[..]);
    }

    #[test]
    fn truncated_prefixes_are_partial_then_truncated(wire in response_strategy(), cut in any::<prop::sample::Index>()) {
        let cut = cut.index(wire.bytes.len());
        let input = &wire.bytes[..cut];
        let mut buf = vec![0u8; wire.bytes.len() + 8];
        buf[..cut].copy_from_slice(input);
        let mut p = ResponseParser::new(Limits::default());
        prop_assert_eq!(p.parse(&mut buf, cut), Ok(Status::Partial));
        let eof = p.parse_eof(&mut buf, cut);
        let expect = if cut == 0 { HttpError::NoResponse } else { HttpError::Truncated };
        prop_assert_eq!(eof, Err(expect));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        input in prop::collection::vec(any::<u8>(), 0..600),
        spare in 0usize..64,
        filled_extra in 0usize..8,
        max_headers in 0usize..40,
        max_head_len in 0usize..700,
        max_body_len in 0usize..700,
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let limits = Limits { max_headers, max_head_len, max_body_len };
        let mut buf = input.clone();
        buf.resize(input.len() + spare, 0);
        let mut p = ResponseParser::new(limits);
        let mut at = 0;
        for cut in &cuts {
            at = at.max(cut.index(input.len() + 1));
            if let Ok(Status::Complete(r)) = p.parse(&mut buf, at) {
                let _ = r.header(&buf, "date");
                prop_assert!(r.body_end <= r.consumed && r.consumed <= at);
            }
        }
        // A `filled` past the buffer end is clamped, never a panic.
        let _ = p.parse(&mut buf, input.len() + filled_extra);
        let _ = p.parse_eof(&mut buf, input.len());
        let mut fresh = ResponseParser::new(limits);
        let _ = fresh.parse_eof(&mut buf, input.len() + filled_extra);
    }

    #[test]
    fn prefixes_of_http_like_bytes_never_panic(
        wire in response_strategy(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let mut input = wire.bytes.clone();
        for (i, b) in flips {
            let i = i.index(input.len());
            input[i] = b;
        }
        let (whole, _) = parse_whole(&input, input.len() + 16);
        let every: Vec<usize> = (0..input.len()).collect();
        let (split, _) = parse_split(&input, input.len() + 16, &every);
        prop_assert_eq!(split, whole);
    }
}

// ---------------------------------------------------------------------------------------------
// Request writer

/// Characters that exercise every encoding and validation rule.
const ALPHABET: &[char] = &[
    'a', 'Z', '0', '9', '-', '.', '_', '~', '%', 'F', '2', ' ', '\t', '\r', '\n', '\0', '\u{1}',
    '\u{7f}', ':', '@', '/', '?', '#', '[', ']', '&', '=', '+', '!', '*', ',', '<', '>', '"', '\'',
    '(', ')', ';', '$', '|', '^', '`', '{', '}', '\\', 'é', '€',
];

/// Mostly strings a valid request can carry, sometimes any character of [`ALPHABET`].
fn text(max: usize) -> impl Strategy<Value = String> {
    let clean: Vec<char> = ALPHABET
        .iter()
        .copied()
        .filter(|c| !c.is_control())
        .collect();
    prop_oneof![
        8 => prop::collection::vec(prop::sample::select(clean), 0..max),
        1 => prop::collection::vec(prop::sample::select(ALPHABET), 0..max),
    ]
    .prop_map(|v| v.into_iter().collect())
}

fn token(max: usize) -> impl Strategy<Value = String> {
    // Mostly valid header names, sometimes not.
    prop_oneof![
        16 => "[A-Za-z][A-Za-z0-9-]{0,12}",
        1 => text(max),
        1 => prop::sample::select(vec!["Host", "content-length", "Connection", "Accept-Encoding"]).prop_map(String::from),
    ]
}

#[derive(Debug, Clone)]
struct Parts {
    method: Method,
    host: String,
    port: u16,
    tls: bool,
    path: String,
    query: Vec<(String, String)>,
    auth: u8,
    user: String,
    secret: String,
    user_agent: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    close: bool,
    json: bool,
}

fn parts_strategy() -> impl Strategy<Value = Parts> {
    (
        (
            prop::sample::select(vec![
                Method::Get,
                Method::Post,
                Method::Put,
                Method::Patch,
                Method::Delete,
            ]),
            prop_oneof![3 => "[a-z0-9.-]{1,20}", 1 => "[0-9a-f:]{2,12}", 1 => text(8)],
            prop_oneof![Just(443u16), Just(80), any::<u16>()],
            any::<bool>(),
            prop_oneof![12 => text(24).prop_map(|s| format!("/{s}")), 1 => text(8)],
        ),
        prop::collection::vec((text(10), text(10)), 0..4),
        (0u8..3, text(10), text(10), text(10)),
        prop::collection::vec((token(10), text(12)), 0..4),
        (
            prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (method, host, port, tls, path),
                query,
                (auth, user, secret, user_agent),
                headers,
                (body, close, json),
            )| {
                Parts {
                    method,
                    host,
                    port,
                    tls,
                    path,
                    query,
                    auth,
                    user,
                    secret,
                    user_agent,
                    headers,
                    body,
                    close,
                    json,
                }
            },
        )
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            if let (Some(h), Some(l)) = (
                s.get(i + 1).and_then(|c| (*c as char).to_digit(16)),
                s.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn writer_is_exact_and_reads_back(p in parts_strategy()) {
        let query = pairs(&p.query);
        let headers = pairs(&p.headers);
        let request = Request {
            method: p.method,
            authority: Authority { host: &p.host, port: p.port, tls: p.tls },
            path: &p.path,
            query: &query,
            auth: match p.auth {
                0 => Auth::None,
                1 => Auth::Basic { user: &p.user, password: &p.secret },
                _ => Auth::Header(&p.secret),
            },
            accept: if p.json { Accept::Json } else { Accept::HalJson },
            user_agent: &p.user_agent,
            headers: &headers,
            body: p.body.as_deref(),
            connection_close: p.close,
        };
        let len = match request.encoded_len() {
            Ok(len) => {
                len
            }
            Err(e) => {
                prop_assert!(!matches!(e, RequestError::BufferTooSmall { .. }), "not a size error");
                prop_assert_eq!(request.write(&mut vec![0u8; 4096]), Err(e));
                return Ok(());
            }
        };
        // Exact size: fits in `len`, one byte less is refused with the exact requirement.
        let mut buf = vec![0u8; len];
        prop_assert_eq!(request.write(&mut buf), Ok(len));
        prop_assert_eq!(
            request.write(&mut vec![0u8; len - 1]),
            Err(RequestError::BufferTooSmall { required: len })
        );
        let mut bigger = vec![0u8; len + 7];
        prop_assert_eq!(request.write(&mut bigger), Ok(len));
        prop_assert_eq!(&bigger[..len], &buf[..]);

        // httparse reads it back.
        let mut storage = [httparse::EMPTY_HEADER; 16];
        let mut parsed = httparse::Request::new(&mut storage);
        let head_len = match parsed.parse(&buf) {
            Ok(httparse::Status::Complete(n)) => n,
            other => return Err(TestCaseError::fail(format!("httparse: {other:?}"))),
        };
        let body = p.body.as_deref().unwrap_or(&[]);
        prop_assert_eq!(head_len + body.len(), len);
        prop_assert_eq!(&buf[head_len..], body);
        // CR and LF only as CRLF line ends in the head.
        let head = &buf[..head_len];
        let lines = head.windows(2).filter(|w| w == b"\r\n").count();
        prop_assert_eq!(head.iter().filter(|&&b| b == b'\r').count(), lines);
        prop_assert_eq!(head.iter().filter(|&&b| b == b'\n').count(), lines);
        prop_assert_eq!(parsed.method, Some(p.method.as_str()));

        // Path and query decode back.
        let target = parsed.path.unwrap();
        let (path, query_text) = match target.split_once('?') {
            Some((a, b)) => (a, Some(b)),
            None => (target, None),
        };
        if !p.path.contains('%') {
            prop_assert_eq!(percent_decode(path.as_bytes()), p.path.as_bytes());
        }
        match query_text {
            None => prop_assert!(p.query.is_empty()),
            Some(q) => {
                let got: Vec<&str> = q.split('&').collect();
                prop_assert_eq!(got.len(), p.query.len());
                for (enc, (n, v)) in got.iter().zip(&p.query) {
                    prop_assert_eq!(percent_decode(enc.as_bytes()), format!("{n}={v}").into_bytes());
                }
            }
        }

        // Headers: ours in order, then the caller's.
        let names: Vec<&str> = parsed.headers.iter().map(|h| h.name).collect();
        let value = |name: &str| parsed.headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value);
        prop_assert_eq!(names[0], "Host");
        let trim = |s: &str| s.trim_matches([' ', '\t']).to_string();
        if !p.user_agent.is_empty() {
            let ua = trim(&p.user_agent);
            prop_assert_eq!(value("User-Agent"), Some(ua.as_bytes()));
        }
        prop_assert_eq!(value("Accept-Encoding"), Some(&b"identity"[..]));
        for (n, v) in &p.headers {
            prop_assert!(parsed.headers.iter().any(|h| h.name == n && h.value == trim(v).as_bytes()));
        }
        prop_assert_eq!(value("Connection").is_some(), p.close);
        if let Some(b) = &p.body {
            let cl = b.len().to_string();
            prop_assert_eq!(value("Content-Length"), Some(cl.as_bytes()));
        }
    }
}

#[test]
fn reserved_header_is_refused_whatever_the_case() {
    for name in ["HOST", "Transfer-encoding", "AUTHORIZATION"] {
        let headers = [(name, "x")];
        let r = Request {
            method: Method::Get,
            authority: Authority {
                host: "h",
                port: 443,
                tls: true,
            },
            path: "/",
            query: &[],
            auth: Auth::None,
            accept: Accept::Json,
            user_agent: "",
            headers: &headers,
            body: None,
            connection_close: false,
        };
        assert_eq!(r.encoded_len(), Err(RequestError::ReservedHeader));
    }
}
