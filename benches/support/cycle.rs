//! Shared fixtures of the poll-cycle benchmarks (criterion times and callgrind instruction
//! counts run the very same functions).
//!
//! One poll cycle = build the job GET request, parse the answer (an ONTAP job: a realistic
//! head and about 600 bytes of pretty-printed body, with `Content-Length` or chunked), and
//! extract the same four fields everywhere: the state, the message unescaped, the code and the
//! job id. Four implementations side by side:
//!
//! - `jobpoll`: the crate (request writer, response parser, ONTAP dialect parser; and for the
//!   whole cycle the machine itself: `poll` writes the GET, `handle_response` parses the answer,
//!   `poll` schedules the next one).
//! - `typical` (a): `format!` for the request, httparse for the head, serde_json into owned
//!   `String`s (what a reqwest-style client does).
//! - `strong` (b): `write!` into a reused `Vec`, the `Authorization` value computed once,
//!   httparse, serde_json borrowing `&str` / `Cow` (the message has escapes, so it is owned).
//! - `floor` (c): the request bytes appended to a reused buffer, httparse on the same head, and
//!   `memchr::memmem` for `"state"` over the body: no JSON parsing at all. No client can do
//!   less and still know anything about the job.
//!
//! Fairness notes. Every variant gets its answer in a buffer it owns. httparse and memmem only
//! read it; jobpoll removes chunked framing in place, so its chunked variants first copy the
//! raw answer back into the receive buffer (a `memcpy` of about 900 bytes the others do not
//! pay: it stands for the `recv` that filled the buffer). The baselines' chunked variants
//! de-frame into a `Vec` (new for (a), reused for (b)).

#![allow(dead_code)]

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

use base64::Engine as _;
use jobpoll::dialect::ontap;
use jobpoll::http::{
    Accept, Auth, Authority, Limits as HttpLimits, Method, Request, ResponseParser, Status,
};
use jobpoll::json::{Code, Limits as JsonLimits};
use jobpoll::{Action, Config, Dialect, Instant, JobPoller, JobState, Policy, Received, Submit};
use serde::Deserialize;

pub const HOST: &str = "cluster1.example.com";
pub const USER: &str = "admin";
pub const PASSWORD: &str = "netapp123";
pub const USER_AGENT: &str = "jobpoll/0.1.0";
pub const UUID: &str = "2453aafc-a9a6-11eb-9fc7-080027c8f2a7";
pub const JOBS_PATH: &str = "/api/cluster/jobs/";
pub const FIELDS: &str = "state,message,code";

/// A running ONTAP job as ONTAP prints it (pretty, two-space indent): uuid, description,
/// state, a 180-character message with escaped quotes, code, start time, svm and links.
/// 611 bytes.
pub const BODY: &str = r#"{
  "uuid": "2453aafc-a9a6-11eb-9fc7-080027c8f2a7",
  "description": "DELETE /api/storage/volumes/60018ffd-a9a3-11eb-9fc7-080027c8f2a7/snapshots/6365e696-a9a3-11eb-9fc7-080027c8f2a7",
  "state": "running",
  "message": "Deleting Snapshot copy \"snapshot-60f627c7-576b-42a5-863e-9ea174856f2f\" of volume \"rippy_pvc_e8f1cc49_7949_403c_9f83_786d1480af38\" on Vserver \"nfs_vs\": 40% complete.",
  "code": 0,
  "start_time": "2021-04-30T07:21:00-04:00",
  "svm": {
    "name": "nfs_vs",
    "uuid": "02c9e252-41be-11e9-81d5-00a0986138f7"
  },
  "_links": {
    "self": {
      "href": "/api/cluster/jobs/2453aafc-a9a6-11eb-9fc7-080027c8f2a7"
    }
  }
}"#;

/// The message above, unescaped: what every variant must produce.
pub const MESSAGE: &str = "Deleting Snapshot copy \"snapshot-60f627c7-576b-42a5-863e-9ea174856f2f\" of volume \"rippy_pvc_e8f1cc49_7949_403c_9f83_786d1480af38\" on Vserver \"nfs_vs\": 40% complete.";

/// Head fields as an ONTAP 9 cluster sends them (besides the framing one).
const HEAD: &str = "HTTP/1.1 200 OK\r\n\
Date: Fri, 30 Apr 2021 11:21:05 GMT\r\n\
Server: libzapid-httpd\r\n\
X-Content-Type-Options: nosniff\r\n\
Cache-Control: no-cache,no-store,must-revalidate\r\n\
Content-Type: application/hal+json\r\n\
Keep-Alive: timeout=5, max=100\r\n\
Connection: Keep-Alive\r\n";

/// The answer with `Content-Length`.
pub fn response_content_length() -> Vec<u8> {
    format!("{HEAD}Content-Length: {}\r\n\r\n{BODY}", BODY.len()).into_bytes()
}

/// The answer chunked (chunks of 256 bytes, as a server flushing its buffer would).
pub fn response_chunked() -> Vec<u8> {
    let mut s = format!("{HEAD}Transfer-Encoding: chunked\r\n\r\n");
    for part in BODY.as_bytes().chunks(256) {
        let _ = write!(s, "{:x}\r\n", part.len());
        s.push_str(std::str::from_utf8(part).unwrap());
        s.push_str("\r\n");
    }
    s.push_str("0\r\n\r\n");
    s.into_bytes()
}

pub fn response(chunked: bool) -> Vec<u8> {
    if chunked {
        response_chunked()
    } else {
        response_content_length()
    }
}

/// What each variant extracts; only lengths and scalars, so `black_box` sees everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extracted {
    pub state_running: bool,
    pub message_len: usize,
    pub code: Option<i64>,
    pub id_len: usize,
}

pub const EXPECTED: Extracted = Extracted {
    state_running: true,
    message_len: MESSAGE.len(),
    code: Some(0),
    id_len: UUID.len(),
};

// ------------------------------------------------------------------------------------ jobpoll

pub fn jobpoll_config() -> Config<'static> {
    let mut cfg = Config::new(
        Authority {
            host: HOST,
            port: 443,
            tls: true,
        },
        Auth::Basic {
            user: USER,
            password: PASSWORD,
        },
        Dialect::default(),
    );
    cfg.user_agent = USER_AGENT;
    // A job that never reaches its deadline, so every measured cycle is a plain poll.
    cfg.policy = Policy {
        deadline: Duration::from_secs(100 * 365 * 24 * 3600),
        ..Policy::DEFAULT
    };
    cfg
}

/// The job GET as the machine writes it (path assembled from the id into a stack buffer).
pub fn jobpoll_request(cfg: &Config<'_>, id: &str, tx: &mut [u8]) -> usize {
    let mut path_buf = [0u8; 192];
    let (a, rest) = path_buf.split_at_mut(JOBS_PATH.len());
    a.copy_from_slice(JOBS_PATH.as_bytes());
    rest[..id.len()].copy_from_slice(id.as_bytes());
    let path = std::str::from_utf8(&path_buf[..JOBS_PATH.len() + id.len()]).unwrap();
    let request = Request {
        method: Method::Get,
        authority: cfg.authority,
        path,
        query: &[("fields", FIELDS)],
        auth: cfg.auth,
        accept: Accept::Json,
        user_agent: cfg.user_agent,
        headers: &[],
        body: None,
        connection_close: false,
    };
    request.write(tx).unwrap()
}

/// Parses the answer in `rx[..filled]` (rewritten in place when chunked) and extracts the
/// fields; the message is unescaped into `msg`.
pub fn jobpoll_parse(rx: &mut [u8], filled: usize, msg: &mut [u8]) -> Extracted {
    let mut parser = ResponseParser::new(HttpLimits::default());
    let Ok(Status::Complete(response)) = parser.parse(rx, filled) else {
        panic!("incomplete")
    };
    let body = response.body(rx);
    let job = ontap::parse_job(body, JsonLimits::default()).unwrap();
    let message = job.message.map(|m| m.unescape_into(msg).unwrap());
    Extracted {
        state_running: job.state == Some(JobState::Running),
        message_len: message.map_or(0, str::len),
        code: match job.code {
            Some(Code::Int(i)) => Some(i),
            _ => None,
        },
        id_len: job.id.and_then(|i| i.as_plain_str()).map_or(0, str::len),
    }
}

/// A machine following a running job, in its steady state (the state already seen once), with
/// its buffers: each [`cycle`](Self::cycle) is one poll.
pub struct JobpollCycle {
    pub cfg: Config<'static>,
    pub poller: JobPoller,
    pub now: Instant,
    pub tx: [u8; 1024],
    pub rx: [u8; 2048],
    pub msg: [u8; 512],
    pub answer: Vec<u8>,
    pub chunked: bool,
}

impl JobpollCycle {
    pub fn new(chunked: bool) -> Self {
        let cfg = jobpoll_config();
        let poller = JobPoller::watch(&cfg, UUID, Instant::ZERO).unwrap();
        let answer = response(chunked);
        let mut rx = [0u8; 2048];
        rx[..answer.len()].copy_from_slice(&answer);
        let mut c = JobpollCycle {
            cfg,
            poller,
            now: Instant::ZERO,
            tx: [0; 1024],
            rx,
            msg: [0; 512],
            answer,
            chunked,
        };
        // Warm up: the first answer reports the state change; later ones are steady.
        for _ in 0..3 {
            assert_eq!(c.cycle(), EXPECTED);
        }
        c
    }

    /// `poll` writes the GET, `handle_response` parses the answer, `poll` schedules the next.
    #[inline(never)]
    pub fn cycle(&mut self) -> Extracted {
        let op = Submit::NONE;
        let sent = loop {
            match self.poller.poll(&self.cfg, &op, self.now, &mut self.tx) {
                Ok(Action::SendRequest(req)) => break req.len,
                Ok(Action::Event(_) | Action::Close) => {}
                other => panic!("unexpected {other:?}"),
            }
        };
        std::hint::black_box(&self.tx[..sent]);
        let n = self.answer.len();
        if self.chunked {
            self.rx[..n].copy_from_slice(&self.answer);
        }
        let extracted = match self
            .poller
            .handle_response(&self.cfg, self.now, &mut self.rx, n)
        {
            Ok(Received::Complete(reply)) => {
                let message = reply
                    .message
                    .map(|m| m.unescape_into(&mut self.msg).unwrap());
                let seen = self.poller.last_seen();
                Extracted {
                    state_running: seen.state == Some(JobState::Running),
                    message_len: message.map_or(0, str::len),
                    code: seen.code,
                    id_len: seen.job_id.map_or(0, str::len),
                }
            }
            other => panic!("unexpected {other:?}"),
        };
        loop {
            match self.poller.poll(&self.cfg, &op, self.now, &mut self.tx) {
                Ok(Action::SleepUntil(t)) => {
                    self.now = t;
                    break;
                }
                Ok(Action::Event(_) | Action::Close) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        extracted
    }
}

// -------------------------------------------------------------------------------- baselines

/// Finds the body of a parsed head: `Content-Length` or chunked, by header names.
fn framing(headers: &[httparse::Header<'_>]) -> (Option<usize>, bool) {
    let mut length = None;
    let mut chunked = false;
    for h in headers {
        if h.name.eq_ignore_ascii_case("content-length") {
            length = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok());
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = h
                .value
                .windows(7)
                .any(|w| w.eq_ignore_ascii_case(b"chunked"));
        }
    }
    (length, chunked)
}

/// Appends the de-framed chunked body in `raw` to `out`.
fn dechunk(mut raw: &[u8], out: &mut Vec<u8>) {
    loop {
        let Ok(httparse::Status::Complete((start, size))) = httparse::parse_chunk_size(raw) else {
            panic!("bad chunk")
        };
        let size = usize::try_from(size).unwrap();
        if size == 0 {
            return;
        }
        out.extend_from_slice(&raw[start..start + size]);
        raw = &raw[start + size + 2..];
    }
}

/// The head parsed by httparse: the status and where the body starts, with its framing.
fn parse_head(raw: &[u8]) -> (u16, usize, Option<usize>, bool) {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(head_len)) = response.parse(raw) else {
        panic!("bad head")
    };
    let (length, chunked) = framing(response.headers);
    (response.code.unwrap_or(0), head_len, length, chunked)
}

// (a) typical

#[derive(Deserialize)]
pub struct OwnedJob {
    pub uuid: Option<String>,
    pub state: String,
    pub message: Option<String>,
    pub code: Option<i64>,
}

pub fn typical_request(id: &str) -> String {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    format!(
        "GET {JOBS_PATH}{id}?fields={FIELDS} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Basic {credentials}\r\nAccept: application/json\r\nAccept-Encoding: identity\r\nUser-Agent: {USER_AGENT}\r\n\r\n"
    )
}

pub fn typical_parse(raw: &[u8]) -> (OwnedJob, Extracted) {
    let (_, head_len, length, chunked) = parse_head(raw);
    let rest = &raw[head_len..];
    let job: OwnedJob = if chunked {
        let mut body = Vec::new();
        dechunk(rest, &mut body);
        serde_json::from_slice(&body).unwrap()
    } else {
        serde_json::from_slice(&rest[..length.unwrap()]).unwrap()
    };
    let e = Extracted {
        state_running: job.state == "running",
        message_len: job.message.as_ref().map_or(0, String::len),
        code: job.code,
        id_len: job.uuid.as_ref().map_or(0, String::len),
    };
    (job, e)
}

/// Request, answer, and a fixed 5 s interval to the next poll (what these clients do).
#[inline(never)]
pub fn typical_cycle(raw: &[u8], now: u64) -> (String, OwnedJob, Extracted, u64) {
    let request = typical_request(UUID);
    std::hint::black_box(request.as_bytes());
    let (job, e) = typical_parse(raw);
    (request, job, e, now + 5_000)
}

// (b) strong

#[derive(Deserialize)]
pub struct BorrowedJob<'a> {
    #[serde(borrow)]
    pub uuid: Option<&'a str>,
    #[serde(borrow)]
    pub state: Cow<'a, str>,
    #[serde(borrow)]
    pub message: Option<Cow<'a, str>>,
    pub code: Option<i64>,
}

/// Reused buffers and the `Authorization` value computed once.
pub struct Strong {
    pub tx: Vec<u8>,
    pub body: Vec<u8>,
    pub authorization: String,
}

impl Strong {
    pub fn new() -> Self {
        Strong {
            tx: Vec::with_capacity(1024),
            body: Vec::with_capacity(2048),
            authorization: format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
            ),
        }
    }

    pub fn request(&mut self, id: &str) -> usize {
        self.tx.clear();
        write!(
            self.tx,
            "GET {JOBS_PATH}{id}?fields={FIELDS} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: {}\r\nAccept: application/json\r\nAccept-Encoding: identity\r\nUser-Agent: {USER_AGENT}\r\n\r\n",
            self.authorization
        )
        .unwrap();
        self.tx.len()
    }

    pub fn parse<'a>(&'a mut self, raw: &'a [u8]) -> (BorrowedJob<'a>, Extracted) {
        let (_, head_len, length, chunked) = parse_head(raw);
        let rest = &raw[head_len..];
        let body: &'a [u8] = if chunked {
            self.body.clear();
            dechunk(rest, &mut self.body);
            &self.body
        } else {
            &rest[..length.unwrap()]
        };
        let job: BorrowedJob<'a> = serde_json::from_slice(body).unwrap();
        let e = Extracted {
            state_running: job.state == "running",
            message_len: job.message.as_deref().map_or(0, str::len),
            code: job.code,
            id_len: job.uuid.map_or(0, str::len),
        };
        (job, e)
    }

    #[inline(never)]
    pub fn cycle(&mut self, raw: &[u8], now: u64) -> (Extracted, u64) {
        let n = self.request(UUID);
        std::hint::black_box(&self.tx[..n]);
        let (job, e) = self.parse(raw);
        drop(std::hint::black_box(job));
        (e, now + 5_000)
    }
}

impl Default for Strong {
    fn default() -> Self {
        Self::new()
    }
}

// (c) floor

pub struct Floor {
    pub tx: Vec<u8>,
    pub prefix: Vec<u8>,
    pub suffix: Vec<u8>,
    pub finder: memchr::memmem::Finder<'static>,
}

impl Floor {
    pub fn new() -> Self {
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        Floor {
            tx: Vec::with_capacity(1024),
            prefix: format!("GET {JOBS_PATH}").into_bytes(),
            suffix: format!(
                "?fields={FIELDS} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Basic {credentials}\r\nAccept: application/json\r\nAccept-Encoding: identity\r\nUser-Agent: {USER_AGENT}\r\n\r\n"
            )
            .into_bytes(),
            finder: memchr::memmem::Finder::new(b"\"state\""),
        }
    }

    pub fn request(&mut self, id: &str) -> usize {
        self.tx.clear();
        self.tx.extend_from_slice(&self.prefix);
        self.tx.extend_from_slice(id.as_bytes());
        self.tx.extend_from_slice(&self.suffix);
        self.tx.len()
    }

    /// Where `"state"` is in the body (chunks searched one by one).
    pub fn parse(&self, raw: &[u8]) -> Option<usize> {
        let (_, head_len, length, chunked) = parse_head(raw);
        let mut rest = &raw[head_len..];
        if !chunked {
            return self.finder.find(&rest[..length?]);
        }
        let mut offset = 0;
        loop {
            let Ok(httparse::Status::Complete((start, size))) = httparse::parse_chunk_size(rest)
            else {
                return None;
            };
            let size = usize::try_from(size).ok()?;
            if size == 0 {
                return None;
            }
            if let Some(at) = self.finder.find(&rest[start..start + size]) {
                return Some(offset + at);
            }
            offset += size;
            rest = &rest[start + size + 2..];
        }
    }

    #[inline(never)]
    pub fn cycle(&mut self, raw: &[u8]) -> Option<usize> {
        let n = self.request(UUID);
        std::hint::black_box(&self.tx[..n]);
        self.parse(raw)
    }
}

impl Default for Floor {
    fn default() -> Self {
        Self::new()
    }
}

/// Checks that every variant reads the same thing (run before measuring).
pub fn self_check() {
    let cfg = jobpoll_config();
    for chunked in [false, true] {
        let raw = response(chunked);
        let mut rx = raw.clone();
        let mut msg = [0u8; 512];
        let n = rx.len();
        assert_eq!(jobpoll_parse(&mut rx, n, &mut msg), EXPECTED);
        assert_eq!(std::str::from_utf8(&msg[..MESSAGE.len()]).unwrap(), MESSAGE);
        let (job, e) = typical_parse(&raw);
        assert_eq!(e, EXPECTED);
        assert_eq!(job.message.as_deref(), Some(MESSAGE));
        let mut strong = Strong::new();
        assert_eq!(strong.parse(&raw).1, EXPECTED);
        let floor = Floor::new();
        assert!(floor.parse(&raw).is_some());
        assert_eq!(JobpollCycle::new(chunked).cycle(), EXPECTED);
    }
    let mut tx = [0u8; 1024];
    let n = jobpoll_request(&cfg, UUID, &mut tx);
    let ours = std::str::from_utf8(&tx[..n]).unwrap();
    let typical = typical_request(UUID);
    let mut strong = Strong::new();
    let sn = strong.request(UUID);
    let mut floor = Floor::new();
    let fln = floor.request(UUID);
    // Same request line and the same header set (order may differ).
    let lines = |s: &str| {
        let mut v: Vec<String> = s.split("\r\n").map(str::to_owned).collect();
        v.sort();
        v
    };
    assert_eq!(lines(ours), lines(&typical), "{ours}\n{typical}");
    assert_eq!(ours.len(), typical.len());
    assert_eq!(
        lines(&typical),
        lines(std::str::from_utf8(&strong.tx[..sn]).unwrap())
    );
    assert_eq!(
        lines(&typical),
        lines(std::str::from_utf8(&floor.tx[..fln]).unwrap())
    );
}
