//! Body framing: `Content-Length`, chunked (de-framed in place, so the body is contiguous) or
//! until the end of the stream.

use super::head::{HeadInfo, is_valid_field_line};
use super::{Facts, HttpError, MAX_CHUNK_LINE, Phase, ResponseParser};

/// Cursors of the in-place chunked decoder: raw bytes before `read` are processed; decoded
/// body bytes are `body_start..write` (always `write <= read`).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct Chunked {
    pub(super) read: usize,
    pub(super) write: usize,
    /// How far a line without its LF has been searched, so no byte is searched twice.
    pub(super) scanned: usize,
    pub(super) state: ChunkState,
}

#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) enum ChunkState {
    Size,
    Data { remaining: u64 },
    DataEnd,
    Trailer,
}

impl ResponseParser {
    /// Chooses the body framing for a final head ending at `head_end`.
    pub(super) fn body_phase(
        &mut self,
        buf: &[u8],
        info: &HeadInfo,
        head_end: usize,
    ) -> Result<Phase, HttpError> {
        if matches!(self.response.status, 204 | 304) {
            return Ok(Phase::Fixed { end: head_end });
        }
        if !info.identity_encoding {
            return Err(HttpError::UnsupportedContentEncoding);
        }
        if info.transfer_encoding_present {
            if info.content_length_present {
                return Err(HttpError::ConflictingFraming);
            }
            if !info.chunked_only {
                return Err(HttpError::UnsupportedTransferEncoding);
            }
            self.response.set(Facts::CHUNKED, true);
            if self.response.minor_version == 0 {
                self.response.set(Facts::KEEP_ALIVE, false);
            }
            return Ok(Phase::Chunked(Chunked {
                read: head_end,
                write: head_end,
                scanned: head_end,
                state: ChunkState::Size,
            }));
        }
        match info.content_length? {
            Some(n) => {
                let room = buf.len().saturating_sub(head_end);
                let fits = usize::try_from(n)
                    .ok()
                    .filter(|&n| n <= self.limits.body_len() && n <= room);
                match fits {
                    Some(n) => Ok(Phase::Fixed {
                        end: head_end.saturating_add(n),
                    }),
                    None => Err(self.body_too_large(buf, Some(n))),
                }
            }
            None => {
                self.response.set(Facts::KEEP_ALIVE, false);
                Ok(Phase::UntilClose)
            }
        }
    }

    /// Advances the chunked decoder over the new bytes; returns whether the last chunk and the
    /// trailers are done.
    pub(super) fn step_chunked(
        &self,
        buf: &mut [u8],
        filled: usize,
        c: &mut Chunked,
    ) -> Result<bool, HttpError> {
        // Every pass consumes at least one byte or returns.
        loop {
            match c.state {
                ChunkState::Size | ChunkState::Trailer => {
                    let Some(line) = take_line(buf, filled, c)? else {
                        return Ok(false);
                    };
                    let line_start = c.read;
                    c.read = line.end;
                    c.scanned = line.end;
                    let text = buf.get(line_start..line.content_end).unwrap_or(&[]);
                    if let ChunkState::Trailer = c.state {
                        if text.is_empty() {
                            return Ok(true);
                        }
                        if !is_valid_field_line(text) {
                            return Err(HttpError::InvalidChunk { offset: line_start });
                        }
                        continue;
                    }
                    let size = parse_chunk_size(text)
                        .ok_or(HttpError::InvalidChunk { offset: line_start })?;
                    if size == 0 {
                        c.state = ChunkState::Trailer;
                        continue;
                    }
                    let decoded = c.write.saturating_sub(self.response.body_start());
                    let total = u64::try_from(decoded)
                        .unwrap_or(u64::MAX)
                        .saturating_add(size);
                    let max = u64::try_from(self.limits.body_len()).unwrap_or(u64::MAX);
                    // The raw chunk and its CRLF must also fit in the buffer.
                    let raw_end = u64::try_from(c.read)
                        .unwrap_or(u64::MAX)
                        .saturating_add(size)
                        .saturating_add(2);
                    let len = u64::try_from(buf.len()).unwrap_or(u64::MAX);
                    if total > max || raw_end > len {
                        return Err(self.body_too_large(buf, None));
                    }
                    c.state = ChunkState::Data { remaining: size };
                }
                ChunkState::Data { remaining } => {
                    let available = filled.saturating_sub(c.read);
                    let n = usize::try_from(remaining)
                        .unwrap_or(usize::MAX)
                        .min(available);
                    if n == 0 {
                        return Ok(false);
                    }
                    let src_end = c.read.checked_add(n).filter(|&e| e <= buf.len());
                    let Some(src_end) = src_end else {
                        return Ok(false);
                    };
                    if c.write > c.read {
                        return Ok(false);
                    }
                    if c.write < c.read {
                        // Moves the chunk data down over the chunk framing in one `memmove`.
                        // The source range ends at the window's own length and starts no
                        // later, and the data lands at 0: `copy_within`'s bounds assertion is
                        // then provably true, so the release build keeps no panic path here
                        // (checked by `.ci/panic-paths`).
                        let shift = c.read.saturating_sub(c.write);
                        if let Some(window) = buf.get_mut(c.write..src_end) {
                            let len = window.len();
                            if shift <= len {
                                window.copy_within(shift..len, 0);
                            }
                        }
                    }
                    c.read = src_end;
                    c.write = c.write.saturating_add(n);
                    c.scanned = c.read;
                    let left = remaining.saturating_sub(u64::try_from(n).unwrap_or(u64::MAX));
                    c.state = if left == 0 {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data { remaining: left }
                    };
                }
                ChunkState::DataEnd => {
                    let tail = buf.get(c.read..filled).unwrap_or(&[]);
                    match tail {
                        [b'\r', b'\n', ..] => {
                            c.read = c.read.saturating_add(2);
                            c.scanned = c.read;
                            c.state = ChunkState::Size;
                        }
                        [] | [b'\r'] => return Ok(false),
                        [b'\r', _, ..] => {
                            return Err(HttpError::InvalidChunk {
                                offset: c.read.saturating_add(1),
                            });
                        }
                        _ => return Err(HttpError::InvalidChunk { offset: c.read }),
                    }
                }
            }
        }
    }
}

/// A complete line in the chunked section: content ends before the CR, the line after the LF.
pub(super) struct Line {
    content_end: usize,
    end: usize,
}

/// Finds the line starting at `c.read`; `None` while its LF has not arrived.
pub(super) fn take_line(
    buf: &[u8],
    filled: usize,
    c: &mut Chunked,
) -> Result<Option<Line>, HttpError> {
    let from = c.scanned.max(c.read);
    let new = buf.get(from..filled).unwrap_or(&[]);
    match new.iter().position(|&b| b == b'\n') {
        Some(pos) => {
            let lf = from.saturating_add(pos);
            let end = lf.saturating_add(1);
            if end.saturating_sub(c.read) > MAX_CHUNK_LINE {
                return Err(HttpError::InvalidChunk { offset: c.read });
            }
            let cr = lf.checked_sub(1).filter(|&cr| cr >= c.read);
            match cr.and_then(|cr| buf.get(cr)) {
                Some(b'\r') => Ok(Some(Line {
                    content_end: lf.saturating_sub(1),
                    end,
                })),
                _ => Err(HttpError::InvalidChunk { offset: lf }),
            }
        }
        None => {
            c.scanned = filled.max(from);
            if filled.saturating_sub(c.read) >= MAX_CHUNK_LINE {
                return Err(HttpError::InvalidChunk { offset: c.read });
            }
            Ok(None)
        }
    }
}

/// `chunk-size [ chunk-ext ]` (RFC 9112 section 7.1.1); extensions are checked for stray
/// control bytes and otherwise ignored.
pub(super) fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return None;
    }
    let (hex, ext) = line.split_at_checked(digits)?;
    let mut size = 0u64;
    for &b in hex {
        let v = match b {
            b'0'..=b'9' => b.wrapping_sub(b'0'),
            b'a'..=b'f' => b.wrapping_sub(b'a').wrapping_add(10),
            _ => b.wrapping_sub(b'A').wrapping_add(10),
        };
        size = size.checked_mul(16)?.checked_add(u64::from(v))?;
    }
    let ext = ext.trim_ascii_start();
    if ext.is_empty() {
        return Some(size);
    }
    let valid =
        ext.first() == Some(&b';') && ext.iter().all(|&b| (b >= 0x20 && b != 0x7f) || b == b'\t');
    valid.then_some(size)
}
