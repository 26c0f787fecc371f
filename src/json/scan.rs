//! The validating scanner and the skipping that iteration relies on.
//!
//! [`validate`] checks a whole body in one iterative pass; the container stack is a `u128` bit
//! set (one bit per level: object or array), so nesting costs no stack and is bounded before
//! anything is descended into. The `skip_*` and [`read_value`] helpers walk text that was
//! validated already: they cannot fail on it, but they return `None` rather than panic on
//! anything unexpected.

use super::{Array, JsonError, JsonStr, Number, Object, Value};

/// The deepest nesting the bit-set stack can track.
pub(crate) const MAX_DEPTH: u8 = 128;

/// JSON whitespace (RFC 8259: space, tab, line feed, carriage return).
#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The offset of the first non-whitespace byte at or after `pos` (`bytes.len()` if none).
#[inline]
pub(crate) fn skip_ws(bytes: &[u8], pos: usize) -> usize {
    // Most tokens follow the previous one directly.
    if bytes.get(pos).is_some_and(|&b| b > b' ') {
        return pos;
    }
    skip_ws_run(bytes, pos)
}

/// [`skip_ws`] past the first byte: pretty-printed bodies put a line break and then a run of
/// indentation spaces before most tokens, so spaces are counted up to eight at a time.
fn skip_ws_run(bytes: &[u8], mut pos: usize) -> usize {
    loop {
        let Some(&b) = bytes.get(pos) else {
            return bytes.len();
        };
        if b == b' ' {
            let run = match bytes.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
                // The lowest differing byte ends the run (little-endian: lowest = first).
                Some(&w) => match u64::from_le_bytes(w) ^ SPACES {
                    0 => 8,
                    x => (x.trailing_zeros() >> 3) as usize,
                },
                None => 1,
            };
            pos = pos.wrapping_add(run);
        } else if is_ws(b) {
            pos = pos.wrapping_add(1);
        } else {
            return pos;
        }
    }
}

/// Eight copies of a byte value, for the word-at-a-time string scan.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
const QUOTES: u64 = 0x2222_2222_2222_2222;
const BACKSLASHES: u64 = 0x5C5C_5C5C_5C5C_5C5C;
const SPACES: u64 = 0x2020_2020_2020_2020;

/// The offset of the first `"` or `\` in `bytes` (and, with `controls`, of the first byte below
/// 0x20). Strings are most of a job body, so this looks at eight bytes per step: a byte-wise
/// "has zero" / "has less than" test on a little-endian word, whose lowest flagged byte is always
/// a true match (false positives only appear above one).
#[inline]
pub(crate) fn find_special(bytes: &[u8], controls: bool) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0usize;
    for chunk in &mut chunks {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let v = u64::from_le_bytes(word);
        // A byte below 0x80 gets its high bit set by `x - 1` only when `x` is zero, and by
        // `v - 0x20` only when `v < 0x20`; bytes from 0x80 up are masked out by `!v` (no special
        // byte is that high). Borrows only run upwards from a true match, so the lowest flagged
        // byte is always the first special one.
        let below = if controls { v.wrapping_sub(SPACES) } else { 0 };
        let mask = ((v ^ QUOTES).wrapping_sub(ONES) | (v ^ BACKSLASHES).wrapping_sub(ONES) | below)
            & !v
            & HIGH_BITS;
        if mask != 0 {
            let k = (mask.trailing_zeros() >> 3) as usize;
            return Some(offset.wrapping_add(k));
        }
        // At most `bytes.len()`: no wrap.
        offset = offset.wrapping_add(8);
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || (controls && b < 0x20))
        .map(|k| offset.wrapping_add(k))
}

/// Validates `body` as exactly one JSON value with nesting depth `<= limit` (capped at
/// [`MAX_DEPTH`]) and returns the span `start..end` of the root value (whitespace excluded).
pub(crate) fn validate(body: &[u8], limit: u8) -> Result<(usize, usize), JsonError> {
    validate_visit(body, limit, &mut |_, _| {})
}

/// How many object keys from the root [`validate_visit`] tracks.
pub(crate) const VISIT_DEPTH: usize = 3;

/// What [`validate_visit`] reports: the keys from the root object down to a value, and the
/// value when it is a scalar (`None` for an object or array, reported where it opens).
pub(crate) type Visit<'v, 'a> = dyn FnMut(&[JsonStr<'a>], Option<Value<'a>>) + 'v;

/// [`validate`], calling `visit` for every value reached from the root object through object
/// keys only, at most [`VISIT_DEPTH`] keys deep, in body order (values inside arrays are not
/// reported): one pass both checks the body and picks what the caller wants. Values seen
/// before an error are still reported.
pub(crate) fn validate_visit<'a>(
    body: &'a [u8],
    limit: u8,
    visit: &mut Visit<'_, 'a>,
) -> Result<(usize, usize), JsonError> {
    let limit = limit.min(MAX_DEPTH);
    let start = skip_ws(body, 0);
    if start >= body.len() {
        return Err(JsonError::Empty);
    }
    let mut walk = Walk {
        body,
        keys: [JsonStr::from_raw_parts(&[], false); VISIT_DEPTH],
        keyed: 0,
        stack: 0,
        depth: 0,
        in_object: false,
    };
    let mut pos = start;
    // Each pass of the outer loop reads one value at `pos` (whitespace skipped), then the
    // inner loop reads separators and closing brackets up to the next value. Every pass
    // consumes at least one byte or returns, so this ends.
    loop {
        let Some(&b) = body.get(pos) else {
            return Err(JsonError::UnexpectedEnd);
        };
        let unexpected = JsonError::UnexpectedByte {
            offset: pos,
            byte: b,
        };
        // The keys leading here, when every level above is an object and tracked.
        let depth = walk.depth;
        let path = if walk.keyed >= depth {
            walk.keys
                .get(..usize::from(depth))
                .filter(|p| !p.is_empty())
        } else {
            None
        };
        match b {
            b'{' | b'[' => {
                if depth >= limit {
                    return Err(JsonError::TooDeep { offset: pos, limit });
                }
                if let Some(path) = path {
                    visit(path, None);
                }
                let bit = 1u128.checked_shl(u32::from(depth)).unwrap_or(0);
                walk.depth = depth.saturating_add(1);
                pos = skip_ws(body, pos.saturating_add(1));
                let Some(&c) = body.get(pos) else {
                    return Err(JsonError::UnexpectedEnd);
                };
                if b == b'{' {
                    walk.stack |= bit;
                    walk.in_object = true;
                    if walk.keyed == depth {
                        walk.keyed = walk.keyed.saturating_add(1);
                    }
                    match c {
                        b'"' => {
                            pos = walk.key(pos)?;
                            continue;
                        }
                        b'}' => {
                            walk.close();
                            pos = pos.saturating_add(1);
                        }
                        _ => {
                            return Err(JsonError::UnexpectedByte {
                                offset: pos,
                                byte: c,
                            });
                        }
                    }
                } else {
                    walk.stack &= !bit;
                    walk.in_object = false;
                    if c != b']' {
                        continue;
                    }
                    walk.close();
                    pos = pos.saturating_add(1);
                }
            }
            b'"' => {
                let (end, escapes) = validate_string(body, pos.saturating_add(1))?;
                if let Some(path) = path {
                    let raw = body
                        .get(pos.saturating_add(1)..end.saturating_sub(1))
                        .unwrap_or_default();
                    visit(
                        path,
                        Some(Value::String(JsonStr::from_raw_parts(raw, escapes))),
                    );
                }
                pos = end;
            }
            b't' | b'f' | b'n' => {
                let (word, value): (&[u8], _) = match b {
                    b't' => (b"true", Value::Bool(true)),
                    b'f' => (b"false", Value::Bool(false)),
                    _ => (b"null", Value::Null),
                };
                let end = validate_literal(body, pos, word)?;
                if let Some(path) = path {
                    visit(path, Some(value));
                }
                pos = end;
            }
            b'-' | b'0'..=b'9' => {
                let end = validate_number(body, pos)?;
                if let Some(path) = path {
                    if let Some(raw) = body
                        .get(pos..end)
                        .and_then(|raw| core::str::from_utf8(raw).ok())
                    {
                        visit(path, Some(Value::Number(Number::new(raw))));
                    }
                }
                pos = end;
            }
            _ => return Err(unexpected),
        }
        // After a value: separators and closing brackets, up to the next value or the end.
        loop {
            if walk.depth == 0 {
                let after = skip_ws(body, pos);
                return if after < body.len() {
                    Err(JsonError::TrailingBytes { offset: after })
                } else {
                    Ok((start, pos))
                };
            }
            pos = skip_ws(body, pos);
            let Some(&c) = body.get(pos) else {
                return Err(JsonError::UnexpectedEnd);
            };
            match (c, walk.in_object) {
                (b',', true) => {
                    pos = skip_ws(body, pos.saturating_add(1));
                    match body.get(pos) {
                        Some(b'"') => {
                            pos = walk.key(pos)?;
                            break;
                        }
                        Some(&other) => {
                            return Err(JsonError::UnexpectedByte {
                                offset: pos,
                                byte: other,
                            });
                        }
                        None => return Err(JsonError::UnexpectedEnd),
                    }
                }
                (b',', false) => {
                    pos = skip_ws(body, pos.saturating_add(1));
                    break;
                }
                (b'}', true) | (b']', false) => {
                    walk.close();
                    pos = pos.saturating_add(1);
                }
                _ => {
                    return Err(JsonError::UnexpectedByte {
                        offset: pos,
                        byte: c,
                    });
                }
            }
        }
    }
}

/// The validator's nesting: the container stack (bit `d` set: the container at depth `d + 1`
/// is an object) and the object keys tracked for the visitor.
struct Walk<'a> {
    body: &'a [u8],
    keys: [JsonStr<'a>; VISIT_DEPTH],
    /// How many levels from the root are objects (keys tracked up to [`VISIT_DEPTH`]).
    keyed: u8,
    stack: u128,
    depth: u8,
    /// Whether the innermost open container is an object (bit `depth - 1` of `stack`), kept
    /// so that separators need no shift of the 128-bit stack.
    in_object: bool,
}

impl<'a> Walk<'a> {
    /// Leaves the current container.
    #[inline]
    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
        self.keyed = self.keyed.min(self.depth);
        let top = self.depth.wrapping_sub(1);
        self.in_object =
            self.depth > 0 && self.stack.checked_shr(u32::from(top)).unwrap_or(0) & 1 == 1;
    }

    /// Validates the key whose quote is at `open`, the `:` after it and the whitespace around,
    /// and records the key; returns the offset of its value.
    #[inline]
    fn key(&mut self, open: usize) -> Result<usize, JsonError> {
        let body = self.body;
        let (end, escapes) = validate_string(body, open.saturating_add(1))?;
        if self.keyed >= self.depth {
            if let Some(slot) = self.keys.get_mut(usize::from(self.depth).wrapping_sub(1)) {
                let raw = body
                    .get(open.saturating_add(1)..end.saturating_sub(1))
                    .unwrap_or_default();
                *slot = JsonStr::from_raw_parts(raw, escapes);
            }
        }
        let colon = skip_ws(body, end);
        match body.get(colon) {
            Some(b':') => {
                let after = colon.saturating_add(1);
                // The usual spacing, `"key": value`: one space, then the value.
                let next = after.saturating_add(1);
                if body.get(after) == Some(&b' ') && body.get(next).is_some_and(|&b| b > b' ') {
                    return Ok(next);
                }
                Ok(skip_ws(body, after))
            }
            Some(&byte) => Err(JsonError::UnexpectedByte {
                offset: colon,
                byte,
            }),
            None => Err(JsonError::UnexpectedEnd),
        }
    }
}

/// Validates string contents starting just after the opening quote; returns the offset just
/// after the closing quote and whether the string holds escapes. Any byte `>= 0x20` is accepted
/// (UTF-8 and escapes are judged only when unescaping); a `\` skips the next byte; a raw
/// control byte is an error.
fn validate_string(body: &[u8], mut pos: usize) -> Result<(usize, bool), JsonError> {
    let mut escapes = false;
    loop {
        let rest = body.get(pos..).unwrap_or_default();
        let Some(k) = find_special(rest, true) else {
            return Err(JsonError::UnexpectedEnd);
        };
        pos = pos.saturating_add(k);
        match rest.get(k) {
            Some(b'"') => return Ok((pos.saturating_add(1), escapes)),
            Some(b'\\') => {
                escapes = true;
                let escaped = pos.saturating_add(1);
                match body.get(escaped) {
                    None => return Err(JsonError::UnexpectedEnd),
                    Some(&c) if c < 0x20 => {
                        return Err(JsonError::ControlInString { offset: escaped });
                    }
                    Some(_) => pos = escaped.saturating_add(1),
                }
            }
            _ => return Err(JsonError::ControlInString { offset: pos }),
        }
    }
}

/// Validates the literal `word` at `pos`; returns the offset after it.
fn validate_literal(body: &[u8], pos: usize, word: &[u8]) -> Result<usize, JsonError> {
    let rest = body.get(pos..).unwrap_or_default();
    if rest.starts_with(word) {
        Ok(pos.saturating_add(word.len()))
    } else if word.starts_with(rest) {
        Err(JsonError::UnexpectedEnd)
    } else {
        Err(JsonError::InvalidLiteral { offset: pos })
    }
}

/// The offset of the first byte at or after `pos` that is not an ASCII digit.
#[inline]
fn skip_digits(body: &[u8], pos: usize) -> usize {
    let rest = body.get(pos..).unwrap_or_default();
    match rest.iter().position(|b| !b.is_ascii_digit()) {
        Some(k) => pos.saturating_add(k),
        None => body.len(),
    }
}

/// Validates a number (`-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`) at `pos`; returns the offset
/// after it. The error offset is where the grammar broke (the body length if it ran out).
fn validate_number(body: &[u8], mut pos: usize) -> Result<usize, JsonError> {
    if body.get(pos) == Some(&b'-') {
        pos = pos.saturating_add(1);
    }
    match body.get(pos) {
        Some(b'0') => {
            pos = pos.saturating_add(1);
            if body.get(pos).is_some_and(u8::is_ascii_digit) {
                return Err(JsonError::InvalidNumber { offset: pos });
            }
        }
        Some(b'1'..=b'9') => pos = skip_digits(body, pos.saturating_add(1)),
        _ => return Err(JsonError::InvalidNumber { offset: pos }),
    }
    if body.get(pos) == Some(&b'.') {
        pos = pos.saturating_add(1);
        let end = skip_digits(body, pos);
        if end == pos {
            return Err(JsonError::InvalidNumber { offset: pos });
        }
        pos = end;
    }
    if matches!(body.get(pos), Some(b'e' | b'E')) {
        pos = pos.saturating_add(1);
        if matches!(body.get(pos), Some(b'+' | b'-')) {
            pos = pos.saturating_add(1);
        }
        let end = skip_digits(body, pos);
        if end == pos {
            return Err(JsonError::InvalidNumber { offset: pos });
        }
        pos = end;
    }
    Ok(pos)
}

/// In validated text: skips string contents starting just after the opening quote. Returns the
/// offset just after the closing quote and whether the string holds escapes.
#[inline]
pub(crate) fn skip_string(bytes: &[u8], mut pos: usize) -> Option<(usize, bool)> {
    let mut escapes = false;
    loop {
        let rest = bytes.get(pos..)?;
        let k = find_special(rest, false)?;
        pos = pos.saturating_add(k);
        if rest.get(k) == Some(&b'"') {
            return Some((pos.saturating_add(1), escapes));
        }
        escapes = true;
        pos = pos.saturating_add(2);
    }
}

/// In validated text: skips the object or array whose opening bracket is at `open`, counting
/// brackets outside strings. Returns the offset just after the matching closing bracket.
pub(crate) fn skip_container(bytes: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut pos = open;
    loop {
        let rest = bytes.get(pos..)?;
        let k = rest
            .iter()
            .position(|&b| matches!(b, b'"' | b'{' | b'}' | b'[' | b']'))?;
        pos = pos.saturating_add(k);
        match rest.get(k)? {
            b'"' => {
                pos = skip_string(bytes, pos.saturating_add(1))?.0;
                continue;
            }
            b'{' | b'[' => depth = depth.saturating_add(1),
            _ => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(pos.saturating_add(1));
                }
            }
        }
        pos = pos.saturating_add(1);
    }
}

/// In validated text: reads the value starting at `pos` (no leading whitespace). Returns it and
/// the offset just after it.
#[inline]
pub(crate) fn read_value(bytes: &[u8], pos: usize) -> Option<(Value<'_>, usize)> {
    let value = match bytes.get(pos)? {
        b'"' => {
            let start = pos.saturating_add(1);
            let (end, escapes) = skip_string(bytes, start)?;
            let raw = bytes.get(start..end.saturating_sub(1))?;
            return Some((Value::String(JsonStr::from_raw_parts(raw, escapes)), end));
        }
        b'{' => {
            let end = skip_container(bytes, pos)?;
            return Some((Value::Object(Object::new(bytes.get(pos..end)?)), end));
        }
        b'[' => {
            let end = skip_container(bytes, pos)?;
            return Some((Value::Array(Array::new(bytes.get(pos..end)?)), end));
        }
        b't' => (Value::Bool(true), 4),
        b'f' => (Value::Bool(false), 5),
        b'n' => (Value::Null, 4),
        _ => {
            let rest = bytes.get(pos..)?;
            let len = rest
                .iter()
                .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .unwrap_or(rest.len());
            let raw = core::str::from_utf8(rest.get(..len)?).ok()?;
            if raw.is_empty() {
                return None;
            }
            (Value::Number(Number::new(raw)), len)
        }
    };
    let end = pos.checked_add(value.1)?;
    if end > bytes.len() {
        return None;
    }
    Some((value.0, end))
}

/// Reads the root value of a validated body whose span is exactly `root`.
pub(crate) fn read_root(root: &[u8]) -> Option<Value<'_>> {
    match root.first()? {
        // The validator already found the end of the root: no need to skip it again.
        b'{' => Some(Value::Object(Object::new(root))),
        b'[' => Some(Value::Array(Array::new(root))),
        _ => read_value(root, 0).map(|(v, _)| v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_ws_table() {
        let table: &[(&[u8], usize, usize)] = &[
            (b"", 0, 0),
            (b"  x", 0, 2),
            (b" \t\r\nx", 0, 4),
            (b"x", 0, 0),
            (b"  ", 0, 2),
            (b"\x0cx", 0, 0),
            (b"ab", 5, 2),
            // Indentation runs: shorter, as long as and longer than one word.
            (b"\n   x", 0, 4),
            (b"\n        x", 0, 9),
            (b"\n                  \t x", 0, 21),
            (b"x          ", 1, 11),
            (b"         \x0c", 0, 9),
            (b" \x00       ", 0, 1),
            (b":  \r\n  y", 1, 7),
        ];
        for &(bytes, pos, want) in table {
            assert_eq!(skip_ws(bytes, pos), want, "{bytes:?} at {pos}");
        }
    }

    #[test]
    fn any_whitespace_after_a_colon_is_accepted() {
        // The one-space fast path after a key must not change what is accepted.
        let bodies: [&[u8]; 7] = [
            b"{\"a\":1}",
            b"{\"a\": 1}",
            b"{\"a\":  1}",
            b"{\"a\": \n1}",
            b"{\"a\": \t 1}",
            b"{\"a\":\n  1}",
            b"{\"a\": \r\n[1, {\"b\":  2}]}",
        ];
        for (i, body) in bodies.iter().enumerate() {
            assert!(validate(body, 8).is_ok(), "body {i}");
        }
        // A control byte that is not whitespace is refused where it stands.
        assert_eq!(
            validate(b"{\"a\": \x011}", 8),
            Err(JsonError::UnexpectedByte { offset: 6, byte: 1 })
        );
    }

    #[test]
    fn only_a_control_byte_after_a_backslash_is_refused_by_the_validator() {
        // The escape itself is judged when unescaping; a space (0x20) is no control byte.
        assert_eq!(validate(b"\"a\\ b\"", 4), Ok((0, 6)));
        assert_eq!(
            validate(b"\"a\\\x1fb\"", 4),
            Err(JsonError::ControlInString { offset: 3 })
        );
    }

    #[test]
    fn skip_container_table() {
        let table: &[(&[u8], Option<usize>)] = &[
            (b"{}", Some(2)),
            (b"[]x", Some(2)),
            (br#"{"a":[1,{"b":"}]"}],"c":"\"}"}tail"#, Some(30)),
            (br#"["\\", "]"]"#, Some(11)),
            (b"[[", None),
            (b"[\"", None),
        ];
        for &(bytes, want) in table {
            assert_eq!(
                skip_container(bytes, 0),
                want,
                "{:?}",
                core::str::from_utf8(bytes)
            );
        }
    }

    #[test]
    fn find_special_matches_a_plain_scan() {
        let mut bytes = [b'a'; 40];
        for len in 0..bytes.len() {
            for at in 0..len {
                for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                    bytes = [b'a'; 40];
                    // Bytes that trip a naive word test: just above the thresholds, high bits.
                    bytes[at.saturating_sub(1)] = 0x21;
                    if at + 1 < len {
                        bytes[at + 1] = 0xff;
                    }
                    bytes[at] = special;
                    let slice = &bytes[..len];
                    let want = |controls: bool| {
                        slice
                            .iter()
                            .position(|&b| b == b'"' || b == b'\\' || (controls && b < 0x20))
                    };
                    assert_eq!(find_special(slice, true), want(true), "{slice:?}");
                    assert_eq!(find_special(slice, false), want(false), "{slice:?}");
                }
            }
        }
        let tricky: &[&[u8]] = &[
            b"\x21\x21\x21\x21\x21\x21\x21\x21\"",
            b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x20\x1f",
            b"\xa2\xdc\x5d\x23\x21\xff\xfe\x20\\",
            b"\x01\x22",
            b"",
        ];
        for &t in tricky {
            for controls in [false, true] {
                let want = t
                    .iter()
                    .position(|&b| b == b'"' || b == b'\\' || (controls && b < 0x20));
                assert_eq!(find_special(t, controls), want, "{t:?}");
            }
        }
    }

    #[test]
    fn skip_string_table() {
        type Row = (&'static [u8], Option<(usize, bool)>);
        let table: &[Row] = &[
            (b"\"", Some((1, false))),
            (b"abc\"x", Some((4, false))),
            (br#"a\"b"x"#, Some((5, true))),
            (br#"a\\"x"#, Some((4, true))),
            (b"abc", None),
            (b"a\\", None),
        ];
        for &(bytes, want) in table {
            assert_eq!(skip_string(bytes, 0), want, "{bytes:?}");
        }
    }

    #[test]
    fn read_value_on_broken_text_is_none() {
        for bytes in [
            &b""[..],
            b"\"abc",
            b"{",
            b"[1",
            b"x",
            b"tr",
            b"fals",
            b"nul",
        ] {
            assert!(read_value(bytes, 0).is_none(), "{bytes:?}");
        }
    }
}
