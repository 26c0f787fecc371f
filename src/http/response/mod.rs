//! The incremental response parser: heads through httparse, bodies framed by
//! `Content-Length`, chunked (de-framed in place) or the end of the stream.
//!
//! Choices worth knowing:
//! - `101 Switching Protocols` is an error ([`HttpError::UnexpectedSwitchingProtocols`]): no
//!   request of ours asks for an upgrade, and after a 101 the bytes are no longer HTTP. Other
//!   1xx responses are skipped. A status below 100 is [`MalformedKind::StatusLine`].
//! - 1xx, 204 and 304 have no body whatever their framing headers say; their framing and
//!   `Content-Encoding` headers are not checked (`content_length` is reported when valid).
//! - `max_head_len` bounds every head (a complete head longer than it is refused too, so the
//!   outcome never depends on how the bytes were split).
//! - Chunked framing: a chunk-size or trailer line may be at most [`MAX_CHUNK_LINE`] bytes and
//!   must end in CRLF; a chunked HTTP/1.0 response is read but never kept alive.
//! - After a result (complete or error) every further call returns the same result.
//! - httparse is stateless, so an incomplete head is re-read from its start on each call (at most
//!   `max_head_len` bytes); body framing and the chunked decoder only look at new bytes.

mod dates;
mod framing;
mod head;

use core::time::Duration;

use framing::Chunked;
use head::{Dates, HeadInfo};

pub use dates::RetryAfter;

/// The most headers a head may have (the size of the parser's stack array).
const MAX_HEADERS: usize = 32;

/// The longest chunk-size line (with extensions) or trailer line, CRLF included.
pub const MAX_CHUNK_LINE: usize = 4096;

/// Bounds on what a response may take from the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// Most header fields in one head; values above 32 act as 32.
    pub max_headers: usize,
    /// Most bytes in one head (status line, fields and the blank line).
    pub max_head_len: usize,
    /// Most bytes in a decoded body.
    pub max_body_len: usize,
}

impl Default for Limits {
    /// 32 headers, 8 KiB head, 1 MiB body.
    fn default() -> Self {
        Limits {
            max_headers: MAX_HEADERS,
            max_head_len: 8 * 1024,
            max_body_len: 1024 * 1024,
        }
    }
}

/// What [`ResponseParser::parse`] has so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Status {
    /// More bytes are needed.
    Partial,
    /// A whole response is in the buffer.
    Complete(Response),
}

/// A complete response: offsets into the caller's buffer plus the header facts a poller needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Response {
    /// Status code (100..=999).
    pub status: u16,
    /// HTTP/1.x minor version: 0 or 1.
    pub minor_version: u8,
    /// Offset of the final (non-1xx) status line in the buffer.
    pub head_start: usize,
    /// Start of the decoded body (also the end of the head).
    pub body_start: usize,
    /// End of the decoded body.
    pub body_end: usize,
    /// Raw bytes of the buffer this response used (1xx heads, head, framing, trailers); bytes
    /// after it belong to the next response.
    pub consumed: usize,
    /// Whether the connection may carry another request after this response.
    pub keep_alive: bool,
    /// From `Keep-Alive: timeout=N`: how long the server keeps an idle connection.
    pub keep_alive_timeout: Option<Duration>,
    /// From `Retry-After`.
    pub retry_after: Option<RetryAfter>,
    /// The `Date` header as Unix seconds (always `None` without the feature `http-date`).
    pub date: Option<u64>,
    /// The `Content-Length` header, when present and valid.
    pub content_length: Option<u64>,
    /// Whether the body was sent with chunked framing (already removed).
    pub chunked: bool,
}

impl Response {
    /// The decoded body; an empty slice if the offsets do not fit `buf`.
    pub fn body<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        buf.get(self.body_start..self.body_end).unwrap_or(&[])
    }

    /// The value of the last header named `name` (case-insensitive), re-read from the head.
    pub fn header<'b>(&self, buf: &'b [u8], name: &str) -> Option<&'b [u8]> {
        let head = buf.get(self.head_start..self.body_start)?;
        let mut found = None;
        // The first line is the status line; the head ends at the blank line.
        for line in head.split(|&b| b == b'\n').skip(1) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                break;
            }
            if let Some(colon) = line.iter().position(|&b| b == b':') {
                let (field, rest) = line.split_at_checked(colon)?;
                if field.eq_ignore_ascii_case(name.as_bytes()) {
                    found = Some(rest.get(1..).unwrap_or(&[]).trim_ascii());
                }
            }
        }
        found
    }
}

/// Why a response could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HttpError {
    /// httparse rejected the status line or a header (or the status is below 100).
    Malformed {
        /// Which part was wrong.
        kind: MalformedKind,
    },
    /// More header fields than [`Limits::max_headers`].
    TooManyHeaders {
        /// The limit in force.
        limit: usize,
    },
    /// The head is longer than [`Limits::max_head_len`] or the buffer.
    HeadTooLarge {
        /// The limit in force (the smaller of the limit and the room in the buffer).
        limit: usize,
    },
    /// The body does not fit (declared or seen); `status` lets the caller react (e.g. ask for less).
    BodyTooLarge {
        /// The response status.
        status: u16,
        /// The declared `Content-Length`, if any.
        declared: Option<u64>,
        /// The limit in force (the smaller of `max_body_len` and the room in the buffer).
        limit: usize,
    },
    /// Content-Length together with Transfer-Encoding, or differing Content-Length values.
    ConflictingFraming,
    /// A `Content-Length` that is not a decimal number fitting `u64`.
    InvalidContentLength,
    /// Transfer-Encoding other than exactly `chunked`.
    UnsupportedTransferEncoding,
    /// Content-Encoding other than `identity` (the request asked for identity).
    UnsupportedContentEncoding,
    /// Bad chunk-size line, missing CRLF after chunk data, chunk-size overflow, bad trailer.
    InvalidChunk {
        /// Offset in the buffer of the line or byte at fault.
        offset: usize,
    },
    /// The stream ended inside a response.
    Truncated,
    /// The stream ended before any byte of a response.
    NoResponse,
    /// Not HTTP/1.0 or HTTP/1.1.
    UnsupportedVersion,
    /// A `101 Switching Protocols`, which no request of ours asks for.
    UnexpectedSwitchingProtocols,
}

impl core::fmt::Display for HttpError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
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

impl core::error::Error for HttpError {}

/// The part of a head httparse rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MalformedKind {
    /// The status code or reason phrase.
    StatusLine,
    /// A header name.
    HeaderName,
    /// A header value.
    HeaderValue,
    /// A line ending.
    NewLine,
    /// The protocol version is not `HTTP/<digit>...`.
    Version,
    /// Anything else httparse reports.
    Other,
}

/// An incremental HTTP/1.x response parser over a caller buffer: small, `Copy`, no lifetime.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ResponseParser {
    limits: Bounds,
    /// Start of the head being looked for (after any 1xx heads).
    head_start: u32,
    phase: Phase,
    /// The response being built; complete once `phase` is `Done`.
    response: Facts,
}

/// The parser reads at most this many bytes of a buffer, so every offset fits a `u32` (the
/// parser is kept in the job machine for as long as a request is in flight: it stays small).
const MAX_BUFFER: usize = u32::MAX as usize;

/// `buf` cut to [`MAX_BUFFER`] bytes.
#[allow(clippy::unnecessary_min_or_max)] // a no-op where `usize` has 32 bits
fn usable(buf: &mut [u8]) -> &mut [u8] {
    let len = buf.len().min(MAX_BUFFER);
    buf.get_mut(..len).unwrap_or_default()
}

/// An offset into a buffer cut by [`usable`]: always fits.
fn offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

fn index(at: u32) -> usize {
    usize::try_from(at).unwrap_or(usize::MAX)
}

/// [`Limits`] as the parser applies them, and the date option, in 10 bytes instead of 24.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct Bounds {
    max_head_len: u32,
    max_body_len: u32,
    max_headers: u8,
    /// Which answers get their `Date` read (in the struct's padding).
    dates: Dates,
}

impl Bounds {
    const fn new(limits: Limits) -> Bounds {
        // Lengths above the usable buffer and header counts above MAX_HEADERS act as those.
        const fn clamp(n: usize) -> u32 {
            let n = n as u64;
            if n > u32::MAX as u64 {
                u32::MAX
            } else {
                n as u32
            }
        }
        Bounds {
            max_head_len: clamp(limits.max_head_len),
            max_body_len: clamp(limits.max_body_len),
            max_headers: if limits.max_headers > MAX_HEADERS {
                MAX_HEADERS as u8
            } else {
                limits.max_headers as u8
            },
            dates: Dates::All,
        }
    }

    fn head_len(self) -> usize {
        index(self.max_head_len)
    }

    fn body_len(self) -> usize {
        index(self.max_body_len)
    }

    fn headers(self) -> usize {
        usize::from(self.max_headers)
    }

    const fn limits(self) -> Limits {
        Limits {
            max_headers: self.max_headers as usize,
            max_head_len: self.max_head_len as usize,
            max_body_len: self.max_body_len as usize,
        }
    }
}

/// A [`Response`] packed into 32-bit offsets and flag bits (56 bytes instead of 104).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct Facts {
    content_length: u64,
    date: u64,
    retry_after: u64,
    keep_alive_secs: u64,
    head_start: u32,
    body_start: u32,
    body_end: u32,
    consumed: u32,
    status: u16,
    minor_version: u8,
    flags: u8,
}

impl Facts {
    const KEEP_ALIVE: u8 = 1;
    const CHUNKED: u8 = 1 << 1;
    const HAS_CONTENT_LENGTH: u8 = 1 << 2;
    const HAS_DATE: u8 = 1 << 3;
    const HAS_KEEP_ALIVE_TIMEOUT: u8 = 1 << 4;
    const RETRY_AFTER_SECONDS: u8 = 1 << 5;
    const RETRY_AFTER_DATE: u8 = 1 << 6;

    const EMPTY: Facts = Facts {
        content_length: 0,
        date: 0,
        retry_after: 0,
        keep_alive_secs: 0,
        head_start: 0,
        body_start: 0,
        body_end: 0,
        consumed: 0,
        status: 0,
        minor_version: 1,
        flags: 0,
    };

    fn set(&mut self, flag: u8, on: bool) {
        if on {
            self.flags |= flag;
        } else {
            self.flags &= !flag;
        }
    }

    fn has(self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    fn content_length(self) -> Option<u64> {
        self.has(Self::HAS_CONTENT_LENGTH)
            .then_some(self.content_length)
    }

    fn body_start(self) -> usize {
        index(self.body_start)
    }

    fn end_body(&mut self, body_end: usize, consumed: usize) {
        self.body_end = offset(body_end);
        self.consumed = offset(consumed);
    }

    fn response(self) -> Response {
        Response {
            status: self.status,
            minor_version: self.minor_version,
            head_start: index(self.head_start),
            body_start: index(self.body_start),
            body_end: index(self.body_end),
            consumed: index(self.consumed),
            keep_alive: self.has(Self::KEEP_ALIVE),
            keep_alive_timeout: self
                .has(Self::HAS_KEEP_ALIVE_TIMEOUT)
                .then(|| Duration::from_secs(self.keep_alive_secs)),
            retry_after: if self.has(Self::RETRY_AFTER_SECONDS) {
                Some(RetryAfter::Seconds(
                    u32::try_from(self.retry_after).unwrap_or(u32::MAX),
                ))
            } else if self.has(Self::RETRY_AFTER_DATE) {
                Some(RetryAfter::Date(self.retry_after))
            } else {
                None
            },
            date: self.has(Self::HAS_DATE).then_some(self.date),
            content_length: self.content_length(),
            chunked: self.has(Self::CHUNKED),
        }
    }
}

#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Phase {
    Head,
    /// `Content-Length` body ending at this offset.
    Fixed {
        end: usize,
    },
    Chunked(Chunked),
    /// Body until the peer closes.
    UntilClose,
    Done,
    Failed(HttpError),
}

impl ResponseParser {
    /// A parser for one response at the start of the buffer.
    pub const fn new(limits: Limits) -> Self {
        ResponseParser {
            limits: Bounds::new(limits),
            head_start: 0,
            phase: Phase::Head,
            response: Facts::EMPTY,
        }
    }

    /// The same parser, filling [`Response::date`] only when `Retry-After` is an HTTP-date
    /// (the only use a job machine has for it): no date parse on other answers.
    pub const fn lazy_date(mut self) -> Self {
        self.limits.dates = Dates::ForRetryAfter;
        self
    }

    /// Forgets everything, ready for a new response at the start of a (compacted) buffer.
    pub fn reset(&mut self) {
        *self = ResponseParser {
            limits: self.limits,
            head_start: 0,
            phase: Phase::Head,
            response: Facts::EMPTY,
        };
    }

    /// The limits in force: header counts above 32 read as 32, lengths above 4 GiB as 4 GiB.
    pub const fn limits(&self) -> Limits {
        self.limits.limits()
    }

    /// `buf[..filled]` holds every byte received so far for this response (the caller appends
    /// at `filled` and calls again). Returns `Partial` until complete. May rewrite `buf[..filled]`
    /// in place (chunked framing removed so the body becomes contiguous). When `filled ==
    /// buf.len()` and the response is still incomplete, returns the matching *TooLarge error
    /// (the caller cannot give more room).
    pub fn parse(&mut self, buf: &mut [u8], filled: usize) -> Result<Status, HttpError> {
        let buf = usable(buf);
        let filled = filled.min(buf.len());
        let status = self.advance(buf, filled)?;
        if status == Status::Partial && filled >= buf.len() {
            let error = match self.phase {
                Phase::Head => HttpError::HeadTooLarge {
                    limit: self
                        .limits
                        .head_len()
                        .min(buf.len().saturating_sub(index(self.head_start))),
                },
                _ => self.body_too_large(buf, self.response.content_length()),
            };
            return Err(self.fail(error));
        }
        Ok(status)
    }

    /// The peer closed the stream cleanly after `filled` bytes: completes a close-delimited body;
    /// anything else incomplete is `Truncated` (or `NoResponse` when `filled == 0`).
    pub fn parse_eof(&mut self, buf: &mut [u8], filled: usize) -> Result<Status, HttpError> {
        let buf = usable(buf);
        let filled = filled.min(buf.len());
        let status = self.advance(buf, filled)?;
        if status != Status::Partial {
            return Ok(status);
        }
        match self.phase {
            Phase::UntilClose => {
                self.response.end_body(filled, filled);
                self.phase = Phase::Done;
                Ok(Status::Complete(self.response.response()))
            }
            _ if filled == 0 => Err(self.fail(HttpError::NoResponse)),
            _ => Err(self.fail(HttpError::Truncated)),
        }
    }

    fn fail(&mut self, error: HttpError) -> HttpError {
        self.phase = Phase::Failed(error);
        error
    }

    fn body_too_large(&self, buf: &[u8], declared: Option<u64>) -> HttpError {
        HttpError::BodyTooLarge {
            status: self.response.status,
            declared,
            limit: self
                .limits
                .body_len()
                .min(buf.len().saturating_sub(self.response.body_start())),
        }
    }

    /// Processes what `buf[..filled]` adds; no buffer-full rule (the callers apply theirs).
    fn advance(&mut self, buf: &mut [u8], filled: usize) -> Result<Status, HttpError> {
        match self.step(buf, filled) {
            Ok(true) => {
                self.phase = Phase::Done;
                Ok(Status::Complete(self.response.response()))
            }
            Ok(false) => Ok(Status::Partial),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Returns whether the response is complete.
    fn step(&mut self, buf: &mut [u8], filled: usize) -> Result<bool, HttpError> {
        if let Phase::Head = self.phase {
            if !self.parse_head(buf, filled)? {
                return Ok(false);
            }
        }
        match self.phase {
            Phase::Head => Ok(false),
            Phase::Fixed { end } => {
                if filled >= end {
                    self.response.end_body(end, end);
                    Ok(true)
                } else {
                    Ok(false)
                }
            }
            Phase::Chunked(mut chunked) => {
                let result = self.step_chunked(buf, filled, &mut chunked);
                self.phase = Phase::Chunked(chunked);
                if result? {
                    self.response.end_body(chunked.write, chunked.read);
                    Ok(true)
                } else {
                    Ok(false)
                }
            }
            Phase::UntilClose => {
                let seen = filled.saturating_sub(self.response.body_start());
                if seen > self.limits.body_len() {
                    Err(self.body_too_large(buf, None))
                } else {
                    Ok(false)
                }
            }
            Phase::Done => Ok(true),
            Phase::Failed(e) => Err(e),
        }
    }
}

/// What the machine reads from an answer another HTTP client has parsed: whether the server
/// keeps the connection (HTTP/1.1 rules: yes unless `Connection: close`), its `Keep-Alive`
/// timeout, and the wait its `Retry-After` asks for (a date measured against its `Date`).
pub(crate) fn foreign_answer<'h>(
    fields: impl Iterator<Item = (&'h str, &'h [u8])>,
) -> (bool, Option<Duration>, Option<Duration>) {
    let info = HeadInfo::read(fields, Dates::ForRetryAfter);
    let wait = info.retry_after.and_then(|r| r.delay(info.date));
    (!info.close, info.keep_alive_timeout, wait)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;
    use std::{format, vec};

    use super::*;

    const CL: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/hal+json\r\nContent-Length: 5\r\n\r\nhello";

    /// Parses `input` in a buffer of `size` bytes, whole and then one byte at a time, checks both
    /// agree and returns the result with the buffer.
    fn run_in(
        input: &[u8],
        limits: Limits,
        size: usize,
        eof: bool,
    ) -> (Result<Status, HttpError>, Vec<u8>) {
        let mut whole = vec![0u8; size];
        whole[..input.len()].copy_from_slice(input);
        let mut p = ResponseParser::new(limits);
        let mut got = p.parse(&mut whole, input.len());
        if eof && got == Ok(Status::Partial) {
            got = p.parse_eof(&mut whole, input.len());
        }
        // Sticky.
        assert_eq!(p.parse(&mut whole, input.len()), got);

        let mut split = vec![0u8; size];
        let mut p = ResponseParser::new(limits);
        let mut step = Ok(Status::Partial);
        for n in 0..=input.len() {
            if n > 0 {
                // Only the new byte: earlier bytes may have been rewritten in place.
                split[n - 1] = input[n - 1];
            }
            if let Ok(Status::Complete(r)) = step {
                // Complete stays complete; the decoded part is not rewritten again.
                assert_eq!(p.parse(&mut split, n), Ok(Status::Complete(r)));
                continue;
            }
            step = p.parse(&mut split, n);
            if step.is_err() {
                break;
            }
        }
        if eof && step == Ok(Status::Partial) {
            step = p.parse_eof(&mut split, input.len());
        }
        assert_eq!(
            step,
            got,
            "split vs whole for {:?}",
            std::string::String::from_utf8_lossy(input)
        );
        if let Ok(Status::Complete(r)) = got {
            assert_eq!(r.body(&split), r.body(&whole));
        }
        (got, whole)
    }

    fn run(input: &[u8]) -> (Result<Status, HttpError>, Vec<u8>) {
        run_in(input, Limits::default(), 4096, false)
    }

    fn complete(input: &[u8]) -> (Response, Vec<u8>) {
        match run(input) {
            (Ok(Status::Complete(r)), buf) => (r, buf),
            (other, _) => panic!(
                "{other:?} for {:?}",
                std::string::String::from_utf8_lossy(input)
            ),
        }
    }

    fn error(input: &[u8]) -> HttpError {
        match run(input).0 {
            Err(e) => e,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn content_length_exact_body_and_next_response() {
        let mut input = CL.to_vec();
        input.extend_from_slice(b"HTTP/1.1 204 No Content\r\n\r\n");
        let (r, buf) = complete(&input);
        assert_eq!(r.status, 200);
        assert_eq!(r.minor_version, 1);
        assert_eq!(r.body(&buf), b"hello");
        assert_eq!(r.consumed, CL.len());
        assert_eq!(r.head_start, 0);
        assert_eq!(r.body_start, CL.len() - 5);
        assert_eq!(r.content_length, Some(5));
        assert!(r.keep_alive && !r.chunked);
        assert_eq!(
            r.header(&buf, "content-type"),
            Some(&b"application/hal+json"[..])
        );
        // The next response parses from `consumed`.
        let rest = &input[r.consumed..];
        let (r2, _) = complete(rest);
        assert_eq!((r2.status, r2.consumed), (204, rest.len()));
    }

    #[test]
    fn content_length_table() {
        type Expect = Result<(Option<u64>, &'static str), HttpError>;
        let table: &[(&str, Expect)] = &[
            ("Content-Length: 0\r\n", Ok((Some(0), ""))),
            ("Content-Length: 3\r\n", Ok((Some(3), "abc"))),
            ("Content-Length:  3 \r\n", Ok((Some(3), "abc"))),
            ("Content-Length: 003\r\n", Ok((Some(3), "abc"))),
            (
                "Content-Length: 3\r\nContent-Length: 3\r\n",
                Ok((Some(3), "abc")),
            ),
            ("Content-Length: 3, 3\r\n", Ok((Some(3), "abc"))),
            (
                "Content-Length: 3\r\nContent-Length: 4\r\n",
                Err(HttpError::ConflictingFraming),
            ),
            (
                "Content-Length: 3, 4\r\n",
                Err(HttpError::ConflictingFraming),
            ),
            (
                "Content-Length: abc\r\n",
                Err(HttpError::InvalidContentLength),
            ),
            (
                "Content-Length: -1\r\n",
                Err(HttpError::InvalidContentLength),
            ),
            (
                "Content-Length: +3\r\n",
                Err(HttpError::InvalidContentLength),
            ),
            (
                "Content-Length: 3a\r\n",
                Err(HttpError::InvalidContentLength),
            ),
            ("Content-Length: \r\n", Err(HttpError::InvalidContentLength)),
            (
                "Content-Length: 3,\r\n",
                Err(HttpError::InvalidContentLength),
            ),
            (
                "Content-Length: 18446744073709551616\r\n",
                Err(HttpError::InvalidContentLength),
            ),
            (
                "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
                Err(HttpError::ConflictingFraming),
            ),
            (
                "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
                Err(HttpError::ConflictingFraming),
            ),
        ];
        for (headers, expect) in table {
            let input = format!("HTTP/1.1 200 OK\r\n{headers}\r\nabcdef");
            let got = run(input.as_bytes());
            match (expect, got) {
                (Ok((cl, body)), (Ok(Status::Complete(r)), buf)) => {
                    assert_eq!(r.content_length, *cl, "{headers}");
                    assert_eq!(r.body(&buf), body.as_bytes(), "{headers}");
                }
                (Err(e), (Err(g), _)) => assert_eq!(*e, g, "{headers}"),
                (e, (g, _)) => panic!("{headers}: expected {e:?}, got {g:?}"),
            }
        }
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let input = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n\
            5;name=value\r\nhello\r\n6 ; x\r\n world\r\nA\r\n, chunked!\r\n0;last\r\nX-Trailer: 1\r\nChecksum:\tab\r\n\r\nNEXT";
        let (r, buf) = complete(input);
        assert_eq!(r.body(&buf), b"hello world, chunked!");
        assert!(r.chunked && r.keep_alive);
        assert_eq!(r.content_length, None);
        assert_eq!(r.consumed, input.len() - 4);
        assert_eq!(&buf[r.consumed..input.len()], b"NEXT");
        // Trailers are skipped, not headers.
        assert_eq!(r.header(&buf, "X-Trailer"), None);
        assert_eq!(r.header(&buf, "transfer-encoding"), Some(&b"Chunked"[..]));
    }

    #[test]
    fn chunked_table() {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        let off = head.len();
        let table: &[(&str, Result<&str, HttpError>)] = &[
            ("0\r\n\r\n", Ok("")),
            ("000\r\n\r\n", Ok("")),
            ("1\r\na\r\n0\r\n\r\n", Ok("a")),
            ("f\r\n0123456789abcde\r\n0\r\n\r\n", Ok("0123456789abcde")),
            ("F\r\n0123456789abcde\r\n0\r\n\r\n", Ok("0123456789abcde")),
            ("0000000000000000001\r\nz\r\n0\r\n\r\n", Ok("z")),
            ("2\r\nab\r\n1\r\nc\r\n0\r\nA: b\r\n\r\n", Ok("abc")),
            ("zz\r\n", Err(HttpError::InvalidChunk { offset: off })),
            ("\r\n", Err(HttpError::InvalidChunk { offset: off })),
            ("-1\r\n", Err(HttpError::InvalidChunk { offset: off })),
            ("1x\r\n", Err(HttpError::InvalidChunk { offset: off })),
            ("1\n", Err(HttpError::InvalidChunk { offset: off + 1 })),
            ("1;a\rb\r\n", Err(HttpError::InvalidChunk { offset: off })),
            (
                "10000000000000000\r\n",
                Err(HttpError::InvalidChunk { offset: off }),
            ),
            (
                "1\r\nab\r\n",
                Err(HttpError::InvalidChunk { offset: off + 4 }),
            ),
            (
                "1\r\na\rx",
                Err(HttpError::InvalidChunk { offset: off + 5 }),
            ),
            (
                "1\r\na\n\r\n",
                Err(HttpError::InvalidChunk { offset: off + 4 }),
            ),
            (
                "0\r\nbad trailer\r\n\r\n",
                Err(HttpError::InvalidChunk { offset: off + 3 }),
            ),
            (
                "0\r\n: x\r\n\r\n",
                Err(HttpError::InvalidChunk { offset: off + 3 }),
            ),
            (
                "0\r\nA: \x01\r\n\r\n",
                Err(HttpError::InvalidChunk { offset: off + 3 }),
            ),
            ("0\r\n\n", Err(HttpError::InvalidChunk { offset: off + 3 })),
        ];
        for (body, expect) in table {
            let input = format!("{head}{body}");
            match (expect, run(input.as_bytes())) {
                (Ok(b), (Ok(Status::Complete(r)), buf)) => {
                    assert_eq!(r.body(&buf), b.as_bytes(), "{body:?}");
                    assert_eq!(r.consumed, input.len(), "{body:?}");
                }
                (Err(e), (Err(g), _)) => assert_eq!(*e, g, "{body:?}"),
                (e, (g, _)) => panic!("{body:?}: expected {e:?}, got {g:?}"),
            }
        }
    }

    #[test]
    fn chunk_line_length_bound() {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        let ext_ok = "x".repeat(MAX_CHUNK_LINE - 4);
        let input = format!("{head}1;{ext_ok}\r\na\r\n0\r\n\r\n");
        assert!(matches!(
            run_in(input.as_bytes(), Limits::default(), 16384, false).0,
            Ok(Status::Complete(_))
        ));
        let ext_long = "x".repeat(MAX_CHUNK_LINE - 3);
        let input = format!("{head}1;{ext_long}\r\na\r\n0\r\n\r\n");
        assert_eq!(
            run_in(input.as_bytes(), Limits::default(), 16384, false).0,
            Err(HttpError::InvalidChunk { offset: head.len() })
        );
        // Still without its LF.
        let input = format!("{head}1;{ext_long}\r");
        assert_eq!(
            run_in(input.as_bytes(), Limits::default(), 16384, false).0,
            Err(HttpError::InvalidChunk { offset: head.len() })
        );
    }

    #[test]
    fn transfer_and_content_encoding() {
        let table: &[(&str, Option<HttpError>)] = &[
            ("Transfer-Encoding: chunked\r\n", None),
            ("Transfer-Encoding: CHUNKED \r\n", None),
            (
                "Transfer-Encoding: chunked\r\nContent-Encoding: identity\r\n",
                None,
            ),
            (
                "Transfer-Encoding: chunked\r\nContent-Encoding: Identity\r\n",
                None,
            ),
            (
                "Transfer-Encoding: gzip, chunked\r\n",
                Some(HttpError::UnsupportedTransferEncoding),
            ),
            (
                "Transfer-Encoding: chunked, chunked\r\n",
                Some(HttpError::UnsupportedTransferEncoding),
            ),
            (
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                Some(HttpError::UnsupportedTransferEncoding),
            ),
            (
                "Transfer-Encoding: identity\r\n",
                Some(HttpError::UnsupportedTransferEncoding),
            ),
            (
                "Transfer-Encoding: \r\n",
                Some(HttpError::UnsupportedTransferEncoding),
            ),
            (
                "Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n",
                Some(HttpError::UnsupportedContentEncoding),
            ),
            (
                "Content-Length: 0\r\nContent-Encoding: GZIP\r\n",
                Some(HttpError::UnsupportedContentEncoding),
            ),
            (
                "Content-Length: 0\r\nContent-Encoding: identity, br\r\n",
                Some(HttpError::UnsupportedContentEncoding),
            ),
            ("Content-Length: 0\r\nContent-Encoding:\r\n", None),
        ];
        for (headers, expect) in table {
            let input = format!("HTTP/1.1 200 OK\r\n{headers}\r\n");
            let mut input = input.into_bytes();
            if headers.to_ascii_lowercase().contains("chunked") {
                input.extend_from_slice(b"0\r\n\r\n");
            }
            match (expect, run(&input).0) {
                (None, Ok(Status::Complete(_))) => {}
                (Some(e), Err(g)) => assert_eq!(*e, g, "{headers}"),
                (e, g) => panic!("{headers}: expected {e:?}, got {g:?}"),
            }
        }
    }

    #[test]
    fn close_delimited() {
        let input = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n{\"a\":1}";
        assert_eq!(run(input).0, Ok(Status::Partial));
        let (got, buf) = run_in(input, Limits::default(), 4096, true);
        let Ok(Status::Complete(r)) = got else {
            panic!("{got:?}")
        };
        assert_eq!(r.body(&buf), b"{\"a\":1}");
        assert!(!r.keep_alive);
        assert_eq!(r.consumed, input.len());
        // Empty close-delimited body.
        let input = b"HTTP/1.0 500 Oops\r\n\r\n";
        let (got, _) = run_in(input, Limits::default(), 64, true);
        let Ok(Status::Complete(r)) = got else {
            panic!("{got:?}")
        };
        assert_eq!(
            (r.status, r.body_start, r.body_end),
            (500, input.len(), input.len())
        );
        // A close-delimited body that exactly fills the buffer completes at EOF.
        let mut buf = input.to_vec();
        let mut p = ResponseParser::new(Limits::default());
        assert!(matches!(
            p.parse_eof(&mut buf, input.len()),
            Ok(Status::Complete(_))
        ));
        // `parse` cannot know the stream ends there: the buffer is full.
        let mut buf = input.to_vec();
        let mut p = ResponseParser::new(Limits::default());
        assert!(matches!(
            p.parse(&mut buf, input.len()),
            Err(HttpError::BodyTooLarge {
                status: 500,
                declared: None,
                limit: 0
            })
        ));
    }

    #[test]
    fn interim_responses_are_skipped() {
        let input =
            b"\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
            HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nLocation: /api/cluster/jobs/1\r\n\r\n{}";
        let (r, buf) = complete(input);
        assert_eq!(r.status, 202);
        let final_line = input
            .windows(12)
            .position(|w| w == b"HTTP/1.1 202")
            .unwrap();
        assert_eq!(r.head_start, final_line);
        assert_eq!(r.body(&buf), b"{}");
        assert_eq!(r.header(&buf, "link"), None);
        assert_eq!(
            r.header(&buf, "LOCATION"),
            Some(&b"/api/cluster/jobs/1"[..])
        );
        // 1xx then EOF.
        let (got, _) = run_in(
            b"HTTP/1.1 100 Continue\r\n\r\n",
            Limits::default(),
            64,
            true,
        );
        assert_eq!(got, Err(HttpError::Truncated));
        assert_eq!(
            error(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"),
            HttpError::UnexpectedSwitchingProtocols
        );
    }

    #[test]
    fn no_body_statuses() {
        for status in ["204 No Content", "304 Not Modified"] {
            let input = format!(
                "HTTP/1.1 {status}\r\nContent-Length: 10\r\nContent-Encoding: gzip\r\n\r\nHTTP/1.1 200 OK\r\n"
            );
            let (r, buf) = complete(input.as_bytes());
            assert_eq!(r.body(&buf), b"");
            assert_eq!(r.consumed, input.find("HTTP/1.1 200").unwrap());
            assert_eq!(r.content_length, Some(10));
        }
        let (r, _) = complete(b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert!(!r.chunked);
    }

    #[test]
    fn keep_alive_rules() {
        let table: &[(&str, &str, bool, Option<u64>)] = &[
            ("1.1", "", true, None),
            ("1.1", "Connection: close\r\n", false, None),
            ("1.1", "Connection: Keep-Alive, CLOSE\r\n", false, None),
            (
                "1.1",
                "Connection: upgrade\r\nConnection: close\r\n",
                false,
                None,
            ),
            (
                "1.1",
                "Connection: keep-alive\r\nKeep-Alive: timeout=5, max=100\r\n",
                true,
                Some(5),
            ),
            (
                "1.1",
                "Keep-Alive: max=100, Timeout = 30\r\n",
                true,
                Some(30),
            ),
            ("1.1", "Keep-Alive: timeout=\"7\"\r\n", true, Some(7)),
            ("1.1", "Keep-Alive: timeout=x\r\n", true, None),
            ("1.1", "Keep-Alive: max=5\r\n", true, None),
            ("1.0", "", false, None),
            ("1.0", "Connection: keep-alive\r\n", true, None),
            (
                "1.0",
                "Connection: Keep-Alive\r\nKeep-Alive: timeout=15\r\n",
                true,
                Some(15),
            ),
            ("1.0", "Connection: keep-alive, close\r\n", false, None),
            ("1.0", "Connection: close\r\n", false, None),
        ];
        for (version, headers, keep_alive, timeout) in table {
            let input = format!("HTTP/{version} 200 OK\r\n{headers}Content-Length: 0\r\n\r\n");
            let (r, _) = complete(input.as_bytes());
            assert_eq!(r.keep_alive, *keep_alive, "{version} {headers}");
            assert_eq!(
                r.keep_alive_timeout,
                timeout.map(Duration::from_secs),
                "{headers}"
            );
            assert_eq!(r.minor_version, if *version == "1.0" { 0 } else { 1 });
        }
        // Chunked in HTTP/1.0 and close-delimited never keep the connection.
        let (r, _) = complete(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        assert!(!r.keep_alive && r.chunked);
    }

    #[test]
    fn limits_read_back_as_applied_and_the_parser_stays_small() {
        let parser = ResponseParser::new(Limits {
            max_headers: 1000,
            max_head_len: 512,
            max_body_len: usize::MAX,
        });
        let expected_body = if usize::BITS > 32 {
            u32::MAX as usize
        } else {
            usize::MAX
        };
        assert_eq!(
            parser.limits(),
            Limits {
                max_headers: 32,
                max_head_len: 512,
                max_body_len: expected_body,
            }
        );
        // Kept in the job machine while a request is in flight.
        assert!(core::mem::size_of::<ResponseParser>() <= 112);
    }

    #[test]
    #[cfg(not(feature = "http-date"))]
    fn without_http_date_a_date_retry_after_counts_as_absent() {
        let (r, _) = complete(
            b"HTTP/1.1 503 X\r\nDate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\
              Retry-After: Thu, 01 Jan 2026 00:01:30 GMT\r\nContent-Length: 0\r\n\r\n",
        );
        assert_eq!((r.status, r.retry_after, r.date), (503, None, None));
        let (r, _) = complete(b"HTTP/1.1 503 X\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(r.retry_after, Some(RetryAfter::Seconds(7)));
    }

    #[test]
    #[cfg(feature = "http-date")]
    fn retry_after_and_date() {
        let date = "Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n";
        let table: &[(&str, Option<RetryAfter>, Option<u64>)] = &[
            (
                "Retry-After: 120\r\n",
                Some(RetryAfter::Seconds(120)),
                Some(120),
            ),
            ("Retry-After: 0\r\n", Some(RetryAfter::Seconds(0)), Some(0)),
            (
                "Retry-After: 99999999999\r\n",
                Some(RetryAfter::Seconds(u32::MAX)),
                Some(u64::from(u32::MAX)),
            ),
            (
                "Retry-After: Thu, 01 Jan 2026 00:01:30 GMT\r\n",
                Some(RetryAfter::Date(1_767_225_690)),
                Some(90),
            ),
            (
                "Retry-After: Wed, 31 Dec 2025 23:00:00 GMT\r\n",
                Some(RetryAfter::Date(1_767_222_000)),
                Some(0),
            ),
            (
                "Retry-After: Thursday, 01-Jan-26 00:00:10 GMT\r\n",
                Some(RetryAfter::Date(1_767_225_610)),
                Some(10),
            ),
            ("Retry-After: soon\r\n", None, None),
            ("Retry-After: -1\r\n", None, None),
            ("Retry-After: 1.5\r\n", None, None),
            ("", None, None),
        ];
        for (header, retry, delay) in table {
            let input = format!(
                "HTTP/1.1 503 Service Unavailable\r\n{date}{header}Content-Length: 0\r\n\r\n"
            );
            let (r, _) = complete(input.as_bytes());
            assert_eq!(r.status, 503);
            assert_eq!(r.date, Some(1_767_225_600));
            assert_eq!(r.retry_after, *retry, "{header}");
            assert_eq!(
                r.retry_after.and_then(|ra| ra.delay(r.date)),
                delay.map(Duration::from_secs),
                "{header}"
            );
        }
        assert_eq!(RetryAfter::Date(10).delay(None), None);
        assert_eq!(
            RetryAfter::Seconds(3).delay(None),
            Some(Duration::from_secs(3))
        );
        let (r, _) = complete(b"HTTP/1.1 200 OK\r\nDate: garbage\r\nContent-Length: 0\r\n\r\n");
        assert_eq!(r.date, None);
    }

    #[test]
    fn malformed_heads() {
        let table: &[(&[u8], HttpError)] = &[
            (b"HTTP/2.0 200 OK\r\n\r\n", HttpError::UnsupportedVersion),
            (b"HTTP/2 200 OK\r\n\r\n", HttpError::UnsupportedVersion),
            (b"HTTP/1.2 200 OK\r\n\r\n", HttpError::UnsupportedVersion),
            (
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
                HttpError::Malformed {
                    kind: MalformedKind::Version,
                },
            ),
            (
                b"<html>",
                HttpError::Malformed {
                    kind: MalformedKind::Version,
                },
            ),
            (
                b"HTTP/1.1 2000 OK\r\n\r\n",
                HttpError::Malformed {
                    kind: MalformedKind::StatusLine,
                },
            ),
            (
                b"HTTP/1.1 20 OK\r\n\r\n",
                HttpError::Malformed {
                    kind: MalformedKind::StatusLine,
                },
            ),
            (
                b"HTTP/1.1 099 Low\r\n\r\n",
                HttpError::Malformed {
                    kind: MalformedKind::StatusLine,
                },
            ),
            (
                b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
                HttpError::Malformed {
                    kind: MalformedKind::HeaderName,
                },
            ),
            (
                b"HTTP/1.1 200 OK\r\nA: x\x01y\r\n\r\n",
                HttpError::Malformed {
                    kind: MalformedKind::HeaderValue,
                },
            ),
            (
                b"HTTP/1.1 200 OK\r\nA: x\rZ\r\n\r\n",
                HttpError::Malformed {
                    kind: MalformedKind::HeaderValue,
                },
            ),
            (
                b"\rX",
                HttpError::Malformed {
                    kind: MalformedKind::NewLine,
                },
            ),
        ];
        for (input, expect) in table {
            assert_eq!(
                error(input),
                *expect,
                "{:?}",
                std::string::String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn limits() {
        let small = Limits {
            max_headers: 2,
            max_head_len: 64,
            max_body_len: 8,
        };
        let three = b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert_eq!(
            run_in(three, small, 256, false).0,
            Err(HttpError::TooManyHeaders { limit: 2 })
        );
        let big = Limits {
            max_headers: 1000,
            ..Limits::default()
        };
        let many: std::string::String = (0..33).map(|i| format!("H{i}: v\r\n")).collect();
        let input = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
        assert_eq!(
            run_in(input.as_bytes(), big, 4096, false).0,
            Err(HttpError::TooManyHeaders { limit: 32 })
        );
        // A head of exactly the limit passes; one byte more fails, complete or not.
        let exact = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: {}\r\n\r\n",
            "a".repeat(21)
        );
        assert_eq!(exact.len(), 64);
        assert!(matches!(
            run_in(exact.as_bytes(), small, 256, false).0,
            Ok(Status::Complete(_))
        ));
        let over = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: {}\r\n\r\n",
            "a".repeat(22)
        );
        assert_eq!(
            run_in(over.as_bytes(), small, 256, false).0,
            Err(HttpError::HeadTooLarge { limit: 64 })
        );
        assert_eq!(
            run_in(&over.as_bytes()[..65], small, 256, false).0,
            Err(HttpError::HeadTooLarge { limit: 64 })
        );
        assert_eq!(
            run_in(&over.as_bytes()[..63], small, 256, false).0,
            Ok(Status::Partial)
        );
        // Buffer full inside the head.
        assert_eq!(
            run_in(&over.as_bytes()[..40], small, 40, false).0,
            Err(HttpError::HeadTooLarge { limit: 40 })
        );
        // Declared bodies: over the limit, over the room, both at once before any body byte.
        let head = b"HTTP/1.1 413 Big\r\nContent-Length: 9\r\n\r\n";
        assert_eq!(
            run_in(head, small, 256, false).0,
            Err(HttpError::BodyTooLarge {
                status: 413,
                declared: Some(9),
                limit: 8
            })
        );
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n";
        assert_eq!(
            run_in(head, small, head.len() + 7, false).0,
            Err(HttpError::BodyTooLarge {
                status: 200,
                declared: Some(8),
                limit: 7
            })
        );
        assert!(matches!(
            run_in(
                &[head.as_slice(), b"12345678"].concat(),
                small,
                head.len() + 8,
                false
            )
            .0,
            Ok(Status::Complete(_))
        ));
        // Chunked: decoded size over the limit, and a chunk too big for the buffer.
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n5\r\nefghi\r\n0\r\n\r\n";
        assert_eq!(
            run_in(chunked, small, 256, false).0,
            Err(HttpError::BodyTooLarge {
                status: 200,
                declared: None,
                limit: 8
            })
        );
        let roomy = Limits {
            max_body_len: 100,
            ..small
        };
        let at = chunked.iter().position(|&b| b == b'5').unwrap() + 3;
        assert_eq!(
            run_in(&chunked[..at], roomy, at + 5, false).0,
            Err(HttpError::BodyTooLarge {
                status: 200,
                declared: None,
                limit: at + 5 - 47
            })
        );
        // Buffer full while chunked framing is still incomplete.
        let at = chunked.len() - 2;
        assert_eq!(
            run_in(&chunked[..at], roomy, at, false).0,
            Err(HttpError::BodyTooLarge {
                status: 200,
                declared: None,
                limit: at - 47
            })
        );
        // Close-delimited over the limit.
        let input = b"HTTP/1.1 200 OK\r\n\r\n123456789";
        assert_eq!(
            run_in(input, small, 256, true).0,
            Err(HttpError::BodyTooLarge {
                status: 200,
                declared: None,
                limit: 8
            })
        );
        assert!(matches!(
            run_in(&input[..input.len() - 1], small, 256, true).0,
            Ok(Status::Complete(_))
        ));
        assert_eq!(
            Limits::default(),
            Limits {
                max_headers: 32,
                max_head_len: 8192,
                max_body_len: 1 << 20
            }
        );
    }

    #[test]
    fn end_of_stream() {
        let table: &[(&[u8], HttpError)] = &[
            (b"", HttpError::NoResponse),
            (b"H", HttpError::Truncated),
            (b"\r\n", HttpError::Truncated),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
                HttpError::Truncated,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell",
                HttpError::Truncated,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                HttpError::Truncated,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
                HttpError::Truncated,
            ),
        ];
        for (input, expect) in table {
            assert_eq!(
                run_in(input, Limits::default(), 256, true).0,
                Err(*expect),
                "{:?}",
                std::string::String::from_utf8_lossy(input)
            );
        }
        // A complete response is complete at EOF too.
        assert!(matches!(
            run_in(CL, Limits::default(), 256, true).0,
            Ok(Status::Complete(_))
        ));
    }

    #[test]
    fn header_lookup() {
        let input = b"HTTP/1.1 200 OK\r\nX-A: first\r\nx-a:  second \r\nEmpty:\r\nContent-Length: 0\r\n\r\n";
        let (r, buf) = complete(input);
        assert_eq!(r.header(&buf, "X-A"), Some(&b"second"[..]));
        assert_eq!(r.header(&buf, "empty"), Some(&b""[..]));
        assert_eq!(r.header(&buf, "missing"), None);
        assert_eq!(r.header(&buf, "HTTP/1.1 200 OK"), None);
        assert_eq!(r.header(&[], "x-a"), None);
        assert_eq!(r.body(&[]), b"");
    }

    #[test]
    fn zero_and_tiny_buffers_do_not_panic() {
        let mut p = ResponseParser::new(Limits::default());
        assert_eq!(
            p.parse(&mut [], 0),
            Err(HttpError::HeadTooLarge { limit: 0 })
        );
        let mut p = ResponseParser::new(Limits::default());
        assert_eq!(p.parse_eof(&mut [], 5), Err(HttpError::NoResponse));
        let mut p = ResponseParser::new(Limits::default());
        let mut buf = *b"HTTP/1.1 200 OK\r\n\r\n";
        assert_eq!(
            p.parse(&mut buf, 100),
            Err(HttpError::BodyTooLarge {
                status: 200,
                declared: None,
                limit: 0
            })
        );
        p.reset();
        assert_eq!(p.parse(&mut buf, 3), Ok(Status::Partial));
    }
}
