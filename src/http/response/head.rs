//! Reading a head: the status line and fields through httparse, skipping 1xx, and the few
//! fields the machine reads (framing, `Connection`, `Keep-Alive`, `Retry-After`, `Date`).

use core::time::Duration;

use super::dates::read_http_date;
use super::{
    Facts, HttpError, MAX_HEADERS, MalformedKind, ResponseParser, RetryAfter, index, offset,
};

impl ResponseParser {
    /// Parses heads (skipping 1xx) until the final one; returns whether it was found and the
    /// body phase set.
    pub(super) fn parse_head(&mut self, buf: &[u8], filled: usize) -> Result<bool, HttpError> {
        let dates = self.limits.dates;
        // Each pass either returns or moves `head_start` forward by a whole head.
        while let Some(avail) = buf.get(index(self.head_start)..filled) {
            let region = avail.get(..self.limits.head_len()).unwrap_or(avail);
            let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let max_headers = self.limits.headers();
            let headers = storage.get_mut(..max_headers).unwrap_or(&mut []);
            let mut head = httparse::Response::new(headers);
            let len = match head.parse(region) {
                Ok(httparse::Status::Complete(len)) => len,
                Ok(httparse::Status::Partial) => {
                    if avail.len() >= self.limits.head_len() {
                        return Err(HttpError::HeadTooLarge {
                            limit: self.limits.head_len(),
                        });
                    }
                    return Ok(false);
                }
                Err(e) => return Err(map_httparse_error(e, region, max_headers)),
            };
            let code = head.code.unwrap_or(0);
            let minor = head.version.unwrap_or(1);
            let head_end = index(self.head_start).saturating_add(len);
            let leading = region
                .iter()
                .take_while(|&&b| b == b'\r' || b == b'\n')
                .count();
            let line_start = index(self.head_start).saturating_add(leading);
            match code {
                0..=99 => {
                    return Err(HttpError::Malformed {
                        kind: MalformedKind::StatusLine,
                    });
                }
                101 => return Err(HttpError::UnexpectedSwitchingProtocols),
                100..=199 => {
                    self.head_start = offset(head_end);
                    continue;
                }
                _ => {}
            }
            let info = HeadInfo::read(head.headers.iter().map(|h| (h.name, h.value)), dates);
            let mut facts = Facts {
                content_length: 0,
                date: info.date.unwrap_or(0),
                retry_after: match info.retry_after {
                    Some(RetryAfter::Seconds(n)) => u64::from(n),
                    Some(RetryAfter::Date(d)) => d,
                    None => 0,
                },
                keep_alive_secs: info.keep_alive_timeout.map_or(0, |t| t.as_secs()),
                head_start: offset(line_start),
                body_start: offset(head_end),
                body_end: offset(head_end),
                consumed: offset(head_end),
                status: code,
                minor_version: minor,
                flags: 0,
            };
            if let Ok(Some(n)) = info.content_length {
                facts.content_length = n;
                facts.set(Facts::HAS_CONTENT_LENGTH, true);
            }
            facts.set(
                Facts::KEEP_ALIVE,
                if minor == 0 {
                    info.keep_alive_token && !info.close
                } else {
                    !info.close
                },
            );
            facts.set(
                Facts::HAS_KEEP_ALIVE_TIMEOUT,
                info.keep_alive_timeout.is_some(),
            );
            facts.set(
                Facts::RETRY_AFTER_SECONDS,
                matches!(info.retry_after, Some(RetryAfter::Seconds(_))),
            );
            facts.set(
                Facts::RETRY_AFTER_DATE,
                matches!(info.retry_after, Some(RetryAfter::Date(_))),
            );
            facts.set(Facts::HAS_DATE, info.date.is_some());
            self.response = facts;
            self.phase = self.body_phase(buf, &info, head_end)?;
            return Ok(true);
        }
        Ok(false)
    }
}

/// A trailer field line: a token name, `:`, a value without control bytes other than HTAB.
pub(super) fn is_valid_field_line(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let Some((name, value)) = line.split_at_checked(colon) else {
        return false;
    };
    !name.is_empty()
        && name.iter().all(|&b| is_tchar(b))
        && value
            .iter()
            .all(|&b| (b >= 0x20 && b != 0x7f) || b == b'\t')
}

pub(super) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Digits only (at least one), saturating at `u64::MAX`.
pub(super) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |acc, &b| {
        acc.saturating_mul(10)
            .saturating_add(u64::from(b.wrapping_sub(b'0')))
    }))
}

/// Digits only, `None` when empty, not digits, or above `u64::MAX`.
pub(super) fn parse_decimal_exact(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?
            .checked_add(u64::from(b.wrapping_sub(b'0')))
    })
}

pub(super) fn map_httparse_error(
    e: httparse::Error,
    region: &[u8],
    max_headers: usize,
) -> HttpError {
    let kind = match e {
        httparse::Error::TooManyHeaders => {
            return HttpError::TooManyHeaders { limit: max_headers };
        }
        httparse::Error::Version => {
            // A well-formed `HTTP/<digit>` that is not 1.0 or 1.1 is a version we do not speak.
            let start = region
                .iter()
                .position(|&b| b != b'\r' && b != b'\n')
                .unwrap_or(0);
            let line = region.get(start..).unwrap_or(&[]);
            if line.len() > 5
                && line.starts_with(b"HTTP/")
                && line.get(5).is_some_and(u8::is_ascii_digit)
            {
                return HttpError::UnsupportedVersion;
            }
            MalformedKind::Version
        }
        httparse::Error::Status => MalformedKind::StatusLine,
        httparse::Error::HeaderName => MalformedKind::HeaderName,
        httparse::Error::HeaderValue => MalformedKind::HeaderValue,
        httparse::Error::NewLine => MalformedKind::NewLine,
        httparse::Error::Token => MalformedKind::Other,
    };
    HttpError::Malformed { kind }
}

/// Which answers get their `Date` header parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) enum Dates {
    /// Every answer (the public parser).
    All,
    /// Only an answer whose `Retry-After` is an HTTP-date.
    ForRetryAfter,
}

/// The header facts of a final head.
pub(super) struct HeadInfo {
    pub(super) content_length: Result<Option<u64>, HttpError>,
    pub(super) content_length_present: bool,
    pub(super) transfer_encoding_present: bool,
    /// Exactly one coding, `chunked`, over all Transfer-Encoding fields.
    pub(super) chunked_only: bool,
    pub(super) identity_encoding: bool,
    pub(super) close: bool,
    pub(super) keep_alive_token: bool,
    pub(super) keep_alive_timeout: Option<Duration>,
    pub(super) retry_after: Option<RetryAfter>,
    pub(super) date: Option<u64>,
}

impl HeadInfo {
    pub(super) fn read<'h>(
        fields: impl Iterator<Item = (&'h str, &'h [u8])>,
        dates: Dates,
    ) -> HeadInfo {
        let mut info = HeadInfo {
            content_length: Ok(None),
            content_length_present: false,
            transfer_encoding_present: false,
            chunked_only: false,
            identity_encoding: true,
            close: false,
            keep_alive_token: false,
            keep_alive_timeout: None,
            retry_after: None,
            date: None,
        };
        let mut codings = 0usize;
        let mut other_coding = false;
        let mut date = None;
        for (name, value) in fields {
            let name = name.as_bytes();
            // Dispatch on the length first: most fields are compared with nothing.
            match name.len() {
                14 if name.eq_ignore_ascii_case(b"content-length") => {
                    info.content_length_present = true;
                    for item in value.split(|&b| b == b',') {
                        info.content_length = merge_length(info.content_length, item.trim_ascii());
                    }
                }
                17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                    info.transfer_encoding_present = true;
                    for item in list_items(value) {
                        if item.eq_ignore_ascii_case(b"chunked") {
                            codings = codings.saturating_add(1);
                        } else {
                            other_coding = true;
                        }
                    }
                }
                16 if name.eq_ignore_ascii_case(b"content-encoding")
                    && list_items(value).any(|item| !item.eq_ignore_ascii_case(b"identity")) =>
                {
                    info.identity_encoding = false;
                }
                10 if name.eq_ignore_ascii_case(b"connection") => {
                    for item in list_items(value) {
                        if item.eq_ignore_ascii_case(b"close") {
                            info.close = true;
                        } else if item.eq_ignore_ascii_case(b"keep-alive") {
                            info.keep_alive_token = true;
                        }
                    }
                }
                10 if name.eq_ignore_ascii_case(b"keep-alive") => {
                    if let Some(t) = keep_alive_timeout(value) {
                        info.keep_alive_timeout = Some(t);
                    }
                }
                11 if name.eq_ignore_ascii_case(b"retry-after") => {
                    info.retry_after = RetryAfter::parse(value);
                }
                4 if name.eq_ignore_ascii_case(b"date") => date = Some(value),
                _ => {}
            }
        }
        // The last `Date` counts; it is read only when asked for or when `Retry-After` is a
        // date measured against it.
        if dates == Dates::All || matches!(info.retry_after, Some(RetryAfter::Date(_))) {
            info.date = date.and_then(read_http_date);
        }
        info.chunked_only = codings == 1 && !other_coding;
        info
    }
}

/// Folds one Content-Length list item into what was seen so far.
pub(super) fn merge_length(
    seen: Result<Option<u64>, HttpError>,
    item: &[u8],
) -> Result<Option<u64>, HttpError> {
    let seen = seen?;
    let n = parse_decimal_exact(item).ok_or(HttpError::InvalidContentLength)?;
    match seen {
        Some(m) if m != n => Err(HttpError::ConflictingFraming),
        _ => Ok(Some(n)),
    }
}

/// Non-empty, trimmed items of a comma-separated field value.
pub(super) fn list_items(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|item| !item.is_empty())
}

/// `timeout=N` from a `Keep-Alive` value such as `timeout=5, max=100`.
pub(super) fn keep_alive_timeout(value: &[u8]) -> Option<Duration> {
    list_items(value).find_map(|item| {
        let eq = item.iter().position(|&b| b == b'=')?;
        let (name, rest) = item.split_at_checked(eq)?;
        if !name.trim_ascii().eq_ignore_ascii_case(b"timeout") {
            return None;
        }
        let v = rest.get(1..)?.trim_ascii();
        let v = v
            .strip_prefix(b"\"")
            .and_then(|v| v.strip_suffix(b"\""))
            .unwrap_or(v);
        parse_decimal(v).map(Duration::from_secs)
    })
}
