//! A virtual-time harness: a scripted server and a clock that jumps to the next wakeup.
//!
//! Each scenario lists the requests it expects, in order, with the answer each gets and how
//! long the server takes. The harness drives the real machine through the drive loop every
//! adapter uses, records a timeline, and fails on any request the script did not expect, on a
//! sleep into the past, or after a step cap (so a livelock fails instead of hanging).

#![allow(dead_code)]

use std::fmt::Write as _;

use jobpoll::http::{Auth, Authority};
use jobpoll::{
    Action, AfterRead, Config, Connection, Dialect, Exchange, Instant, JobPoller, Outcome, Policy,
    Submit, TransportError,
};

/// What the scripted server does with one request.
#[derive(Clone, Debug)]
pub enum Answer {
    /// These bytes, after `after_ms`.
    Bytes { after_ms: u64, bytes: Vec<u8> },
    /// These bytes, then a clean close (for close-delimited bodies), after `after_ms`.
    BytesThenEof { after_ms: u64, bytes: Vec<u8> },
    /// Connection refused (nothing sent).
    Refuse,
    /// The server's certificate was rejected (nothing sent).
    Untrusted,
    /// The connection is reset after `after_ms` (the request was written).
    Reset { after_ms: u64 },
    /// No answer at all: the driver's timer fires at the request deadline; then these late
    /// bytes would arrive (they must never be read, since the machine says `Close`).
    Stall,
}

pub struct Step {
    /// Expected request line prefix, e.g. "GET /api/cluster/jobs/u1?fields=state,message,code".
    pub expect: String,
    pub answer: Answer,
}

pub fn step(expect: &str, answer: Answer) -> Step {
    Step {
        expect: expect.to_string(),
        answer,
    }
}

pub fn ok_json(after_ms: u64, status: u16, body: &str) -> Answer {
    Answer::Bytes {
        after_ms,
        bytes: response(status, &[], body).into_bytes(),
    }
}

pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> String {
    let mut s = format!("HTTP/1.1 {status} X\r\nContent-Type: application/hal+json\r\n");
    for (k, v) in headers {
        let _ = write!(s, "{k}: {v}\r\n");
    }
    let _ = write!(s, "Content-Length: {}\r\n\r\n{body}", body.len());
    s
}

pub fn chunked(status: u16, body: &str, chunk: usize) -> String {
    let mut s = format!("HTTP/1.1 {status} X\r\nTransfer-Encoding: chunked\r\n\r\n");
    for part in body.as_bytes().chunks(chunk.max(1)) {
        let _ = write!(
            s,
            "{:x};ext=1\r\n{}\r\n",
            part.len(),
            std::str::from_utf8(part).unwrap_or("")
        );
    }
    s.push_str("0\r\nX-Trailer: t\r\n\r\n");
    s
}

pub fn test_config() -> Config<'static> {
    let mut cfg = Config::new(
        Authority {
            host: "cluster.example",
            port: 443,
            tls: true,
        },
        Auth::Basic {
            user: "admin",
            password: "netapp123",
        },
        Dialect::default(),
    );
    cfg.user_agent = "";
    // Timelines are derived by hand from the documented defaults; jitter only shortens gaps,
    // so the scenarios switch it off to make every instant exact.
    cfg.policy = Policy {
        jitter_percent: 0,
        ..Policy::DEFAULT
    };
    cfg
}

pub struct Run {
    pub outcome: Outcome,
    pub timeline: Vec<String>,
    pub requests: u32,
    pub poller: JobPoller,
    pub connections: u32,
    pub end: Instant,
    pub messages: Vec<String>,
    pub job_ids: Vec<String>,
    /// Ids of records answered instead of a job (`Reply::record_id`).
    pub record_ids: Vec<String>,
}

/// How answers are fed: whole, or a byte at a time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    Whole,
    ByteByByte,
    SplitAt(usize),
}

pub fn run(cfg: &Config<'_>, op: &Submit<'_>, script: Vec<Step>) -> Run {
    run_with(cfg, op, script, Feed::Whole, None)
}

pub fn run_with(
    cfg: &Config<'_>,
    op: &Submit<'_>,
    script: Vec<Step>,
    feed: Feed,
    start: Option<JobPoller>,
) -> Run {
    run_hooked(cfg, op, script, feed, start, |_, _, _| {})
}

/// Like `run_with`, calling `hook(poller, now, answers_so_far)` after each request is handled.
pub fn run_hooked(
    cfg: &Config<'_>,
    op: &Submit<'_>,
    script: Vec<Step>,
    feed: Feed,
    start: Option<JobPoller>,
    mut hook: impl FnMut(&mut JobPoller, Instant, usize),
) -> Run {
    let mut handled = 0usize;
    let mut now = Instant::ZERO;
    let mut poller = match start {
        Some(p) => p,
        None => JobPoller::submit(cfg, op, now).expect("valid submit"),
    };
    let mut tx = vec![0u8; 2048];
    let mut rx = vec![0u8; 4096];
    let mut script = script.into_iter();
    let mut timeline = Vec::new();
    let mut messages = Vec::new();
    let mut job_ids = Vec::new();
    let mut record_ids = Vec::new();
    let mut connections = 0u32;
    let mut open = false;
    for _ in 0..100_000 {
        let action = poller.poll(cfg, op, now, &mut tx).expect("poll");
        match action {
            Action::SendRequest(req) => {
                assert!(poller.is_request_in_flight());
                let bytes = &tx[..req.len];
                let text = String::from_utf8_lossy(bytes).to_string();
                let line = text
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_end_matches(" HTTP/1.1")
                    .to_string();
                if req.connection == Connection::Fresh || !open {
                    connections += 1;
                    open = true;
                }
                timeline.push(format!("{} {}", secs(now), line));
                let step = script.next().unwrap_or_else(|| {
                    panic!("unexpected request at {}: {line}\n{timeline:#?}", secs(now))
                });
                assert!(
                    line.starts_with(&step.expect),
                    "expected {:?}, got {line:?}\n{timeline:#?}",
                    step.expect
                );
                match step.answer {
                    Answer::Refuse => {
                        open = false;
                        poller.handle_transport_error(cfg, now, TransportError::ConnectFailed);
                    }
                    Answer::Untrusted => {
                        open = false;
                        poller.handle_transport_error(cfg, now, TransportError::Untrusted);
                    }
                    Answer::Reset { after_ms } => {
                        now = Instant::from_millis(now.as_millis() + after_ms);
                        poller.handle_transport_error(cfg, now, TransportError::ReadFailed);
                    }
                    Answer::Stall => {
                        now = req.deadline;
                        timeline.push(format!("{} timeout", secs(now)));
                        poller.handle_timeout(cfg, now);
                    }
                    Answer::Bytes { after_ms, bytes }
                    | Answer::BytesThenEof { after_ms, bytes } => {
                        now = Instant::from_millis(now.as_millis() + after_ms);
                        feed_bytes(
                            &mut poller,
                            cfg,
                            now,
                            &mut rx,
                            &bytes,
                            feed,
                            &mut messages,
                            (&mut job_ids, &mut record_ids),
                        );
                    }
                }
                handled += 1;
                hook(&mut poller, now, handled);
            }
            Action::Close => {
                assert!(!poller.is_request_in_flight());
                open = false;
                timeline.push(format!("{} close", secs(now)));
            }
            Action::SleepUntil(t) => {
                assert!(t > now, "sleep into the past: {t:?} at {now:?}");
                assert!(!poller.is_request_in_flight());
                now = t;
            }
            Action::Event(e) => timeline.push(format!("{} {:?}", secs(now), Action::Event(e))),
            Action::Done(outcome) => {
                // Sticky.
                assert_eq!(
                    poller.poll(cfg, op, now, &mut tx).ok(),
                    Some(Action::Done(outcome))
                );
                assert!(script.next().is_none(), "script not used up\n{timeline:#?}");
                timeline.push(format!("{} done {outcome:?}", secs(now)));
                return Run {
                    outcome,
                    timeline,
                    requests: poller.requests(),
                    poller,
                    connections,
                    end: now,
                    messages,
                    job_ids,
                    record_ids,
                };
            }
            other => panic!("unknown action {other:?}"),
        }
    }
    panic!("step cap reached: livelock?\n{timeline:#?}");
}

/// Feeds `bytes` through an `Exchange`, as a driver reads them (whole, byte by byte, or in two
/// pieces), then the end of the stream if the machine still wants more.
#[allow(clippy::too_many_arguments)]
fn feed_bytes(
    poller: &mut JobPoller,
    cfg: &Config<'_>,
    now: Instant,
    rx: &mut [u8],
    bytes: &[u8],
    feed: Feed,
    messages: &mut Vec<String>,
    (job_ids, record_ids): (&mut Vec<String>, &mut Vec<String>),
) {
    let n = bytes.len();
    let cuts: Vec<usize> = match feed {
        Feed::Whole => vec![n],
        Feed::ByteByByte => (1..=n).collect(),
        Feed::SplitAt(k) => vec![k.min(n), n],
    };
    let mut exchange = Exchange::new();
    let mut sent = 0;
    for cut in cuts.into_iter().chain([n]) {
        let free = exchange.free(rx);
        let piece = cut.saturating_sub(sent).min(free.len());
        if piece == 0 && sent < n {
            continue;
        }
        // Everything sent and the machine still reads: the peer closes (piece 0).
        free[..piece].copy_from_slice(&bytes[sent..sent + piece]);
        sent += piece;
        match exchange
            .read(poller, cfg, now, rx, piece)
            .expect("request in flight")
        {
            AfterRead::ReadMore => {}
            AfterRead::Answered(reply) => {
                if let Some(m) = reply.message {
                    messages.push(m.to_string());
                }
                if let Some(jobs) = reply.jobs {
                    job_ids.extend(jobs.iter().map(|id| id.to_string()));
                }
                if let Some(id) = reply.record_id {
                    record_ids.push(id.to_string());
                }
                return;
            }
            _ => return,
        }
    }
}

pub fn secs(t: Instant) -> String {
    format!("{}.{:03}", t.as_millis() / 1000, t.as_millis() % 1000)
}
