//! JSON strings kept as their raw, still-escaped bytes and unescaped on demand.
//!
//! Unescaping is lenient on purpose: a server message with one broken escape or one stray byte
//! must not cost the whole body. Anything that cannot be decoded becomes U+FFFD.

use core::fmt;

/// The replacement character produced for anything that cannot be decoded.
const REPLACEMENT: char = char::REPLACEMENT_CHARACTER;

/// A JSON string as it appears between the quotes, still escaped; unescaped on demand, leniently.
///
/// It borrows the body, so it is `Copy` and costs nothing until it is read. `Debug` shows the
/// unescaped text quoted and escaped as `str`'s `Debug` does; `Display` shows it as is.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct JsonStr<'a> {
    raw: &'a [u8],
    escapes: bool,
}

/// The buffer given to [`JsonStr::unescape_into`] was too small: nothing useful was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StrTooLong {
    /// The number of bytes the unescaped UTF-8 needs.
    pub required: usize,
}

impl fmt::Display for StrTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unescaped string needs {} bytes", self.required)
    }
}

impl core::error::Error for StrTooLong {}

impl<'a> JsonStr<'a> {
    /// A string from its raw bytes between the quotes; `escapes` tells whether it holds a `\`.
    pub(crate) fn from_raw_parts(raw: &'a [u8], escapes: bool) -> Self {
        JsonStr { raw, escapes }
    }

    /// The escaped bytes, without the quotes.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the raw text holds at least one escape sequence (a `\`).
    pub fn has_escapes(&self) -> bool {
        self.escapes
    }

    /// Characters after unescaping. Lenient: `\uD83D\uDE00` pairs combine; a lone surrogate, an
    /// unknown escape (`\x`), a short `\u12`, or invalid UTF-8 each become U+FFFD; never an error.
    pub fn chars(&self) -> Chars<'a> {
        Chars { rest: self.raw }
    }

    /// The UTF-8 length of what [`JsonStr::chars`] yields.
    pub fn unescaped_len(&self) -> usize {
        if let Some(s) = self.as_plain_str() {
            return s.len();
        }
        self.segments()
            .fold(0usize, |n, seg| n.saturating_add(seg.len()))
    }

    /// Writes the unescaped UTF-8 into `out`; `Err(StrTooLong { required })` changes nothing
    /// useful.
    pub fn unescape_into<'b>(&self, out: &'b mut [u8]) -> Result<&'b str, StrTooLong> {
        // Fast path: copy the runs between escapes in bulk and decode the escapes, then check
        // UTF-8 once over the result. Escapes always produce whole characters, so the result is
        // valid exactly when every raw run is; otherwise (or when `out` is too small) the
        // lenient path below redoes it with replacement characters and the exact size.
        let fast = self.unescape_fast(out).filter(|&n| {
            out.get(..n)
                .is_some_and(|d| core::str::from_utf8(d).is_ok())
        });
        if let Some(written) = fast {
            let dst = out.get(..written).unwrap_or_default();
            return core::str::from_utf8(dst).map_err(|_| StrTooLong { required: written });
        }
        let mut written = 0usize;
        let mut required = 0usize;
        let mut utf8 = [0u8; 4];
        for seg in self.segments() {
            let bytes = match seg {
                Segment::Text(t) => t.as_bytes(),
                Segment::Char(c) => c.encode_utf8(&mut utf8).as_bytes(),
            };
            required = required.saturating_add(bytes.len());
            if required == written.saturating_add(bytes.len()) {
                if let Some(dst) = out.get_mut(written..required) {
                    dst.copy_from_slice(bytes);
                    written = required;
                }
            }
        }
        if required != written {
            return Err(StrTooLong { required });
        }
        let dst = out.get(..written).unwrap_or_default();
        core::str::from_utf8(dst).map_err(|_| StrTooLong { required })
    }

    /// Unescapes into `out` without checking UTF-8; the number of bytes written, or `None` when
    /// `out` is too small.
    fn unescape_fast(&self, out: &mut [u8]) -> Option<usize> {
        let mut rest = self.raw;
        let mut written = 0usize;
        loop {
            let run = if self.escapes {
                crate::json::scan::find_special(rest, false).unwrap_or(rest.len())
            } else {
                rest.len()
            };
            let (text, tail) = rest.split_at_checked(run)?;
            let end = written.checked_add(text.len())?;
            out.get_mut(written..end)?.copy_from_slice(text);
            written = end;
            let Some((&first, after)) = tail.split_first() else {
                return Some(written);
            };
            if first != b'\\' {
                // A quote cannot appear unescaped in validated text; copy it as it is.
                *out.get_mut(written)? = first;
                written = written.checked_add(1)?;
                rest = after;
                continue;
            }
            let (c, used) = decode_escape(after);
            let end = written.checked_add(c.len_utf8())?;
            c.encode_utf8(out.get_mut(written..end)?);
            written = end;
            rest = tail.get(used..).unwrap_or_default();
        }
    }

    /// Unescaped equality with `s`, with a fast path when the raw text has no escapes.
    pub fn eq_str(&self, s: &str) -> bool {
        if !self.escapes {
            if self.raw == s.as_bytes() {
                return true;
            }
            if self.raw.is_ascii() {
                return false;
            }
        }
        let mut rest = s;
        for seg in self.segments() {
            let next = match seg {
                Segment::Text(t) => rest.strip_prefix(t),
                Segment::Char(c) => rest.strip_prefix(c),
            };
            match next {
                Some(r) => rest = r,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// Unescaped equality with `s`, ignoring ASCII case (for state strings such as `COMPLETED`).
    pub fn eq_ignore_ascii_case(&self, s: &str) -> bool {
        if !self.escapes {
            if self.raw.eq_ignore_ascii_case(s.as_bytes()) {
                return true;
            }
            if self.raw.is_ascii() {
                return false;
            }
        }
        // ASCII case folding keeps byte lengths, so the text can be compared run by run.
        let mut rest = s;
        let mut utf8 = [0u8; 4];
        for seg in self.segments() {
            let ours = match seg {
                Segment::Text(t) => t,
                Segment::Char(c) => c.encode_utf8(&mut utf8),
            };
            match (rest.get(..ours.len()), rest.get(ours.len()..)) {
                (Some(head), Some(tail)) if head.eq_ignore_ascii_case(ours) => rest = tail,
                _ => return false,
            }
        }
        rest.is_empty()
    }

    /// The unescaped text as runs of plain text and single decoded characters.
    fn segments(&self) -> Segments<'a> {
        Segments { rest: self.raw }
    }

    /// The raw text as `&str` when it has no escapes and is valid UTF-8 (zero-copy fast path).
    pub fn as_plain_str(&self) -> Option<&'a str> {
        if self.escapes {
            None
        } else {
            core::str::from_utf8(self.raw).ok()
        }
    }
}

impl fmt::Display for JsonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = self.as_plain_str() {
            return f.write_str(s);
        }
        for seg in self.segments() {
            match seg {
                Segment::Text(t) => f.write_str(t)?,
                Segment::Char(c) => fmt::Write::write_char(f, c)?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for JsonStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        f.write_char('"')?;
        for c in self.chars() {
            // As `str`'s `Debug`: a single quote needs no escape inside double quotes.
            if c == '\'' {
                f.write_char(c)?;
            } else {
                for e in c.escape_debug() {
                    f.write_char(e)?;
                }
            }
        }
        f.write_char('"')
    }
}

/// The characters of a [`JsonStr`] after lenient unescaping (see [`JsonStr::chars`]).
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Chars<'a> {
    rest: &'a [u8],
}

impl Iterator for Chars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let (&first, tail) = self.rest.split_first()?;
        if first < 0x80 && first != b'\\' {
            self.rest = tail;
            return Some(char::from(first));
        }
        let (c, used) = if first == b'\\' {
            decode_escape(tail)
        } else {
            decode_utf8(self.rest)
        };
        self.rest = self.rest.get(used..).unwrap_or_default();
        Some(c)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Every character takes at least one raw byte; four bytes make at least one character.
        (self.rest.len().div_ceil(12), Some(self.rest.len()))
    }
}

impl core::iter::FusedIterator for Chars<'_> {}

/// A piece of unescaped text: a run copied as is, or one character decoded from an escape or
/// standing for an invalid byte sequence.
enum Segment<'a> {
    Text(&'a str),
    Char(char),
}

impl Segment<'_> {
    /// The UTF-8 length of the piece.
    fn len(&self) -> usize {
        match self {
            Segment::Text(t) => t.len(),
            Segment::Char(c) => c.len_utf8(),
        }
    }
}

/// Splits raw string contents into [`Segment`]s; yields the same characters as [`Chars`], but
/// whole runs between escapes at a time.
struct Segments<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        let (&first, tail) = self.rest.split_first()?;
        if first == b'\\' {
            let (c, used) = decode_escape(tail);
            self.rest = self.rest.get(used..).unwrap_or_default();
            return Some(Segment::Char(c));
        }
        let run_len = self
            .rest
            .iter()
            .position(|&b| b == b'\\')
            .unwrap_or(self.rest.len());
        let (run, after) = self.rest.split_at_checked(run_len)?;
        match core::str::from_utf8(run) {
            Ok(text) => {
                self.rest = after;
                Some(Segment::Text(text))
            }
            Err(e) => {
                let valid = e.valid_up_to();
                if let Some(text) = run
                    .get(..valid)
                    .filter(|v| !v.is_empty())
                    .and_then(|v| core::str::from_utf8(v).ok())
                {
                    self.rest = self.rest.get(valid..).unwrap_or_default();
                    return Some(Segment::Text(text));
                }
                // The maximal invalid prefix, as `String::from_utf8_lossy` replaces it.
                let used = e.error_len().unwrap_or(run.len()).max(1);
                self.rest = self.rest.get(used..).unwrap_or_default();
                Some(Segment::Char(REPLACEMENT))
            }
        }
    }
}

/// Decodes the escape whose backslash was just read; `tail` follows the backslash.
/// Returns the character and the number of raw bytes used, backslash included.
fn decode_escape(tail: &[u8]) -> (char, usize) {
    let Some((&kind, after)) = tail.split_first() else {
        return (REPLACEMENT, 1);
    };
    let c = match kind {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => return decode_unicode_escape(after),
        _ if kind < 0x80 => return (REPLACEMENT, 2),
        _ => {
            // An unknown escape of a multi-byte character: replace the whole character.
            let (_, used) = decode_utf8(tail);
            return (REPLACEMENT, used.saturating_add(1));
        }
    };
    (c, 2)
}

/// Decodes `\uXXXX` (and a following low surrogate); `after` follows the `u`.
fn decode_unicode_escape(after: &[u8]) -> (char, usize) {
    let (high, digits) = hex4(after);
    if digits < 4 {
        // `\u` plus the hex digits that were there.
        return (REPLACEMENT, digits.saturating_add(2));
    }
    match high {
        0xD800..=0xDBFF => {
            let low = after
                .get(4..)
                .and_then(|r| r.strip_prefix(b"\\u"))
                .map(hex4);
            match low {
                Some((low @ 0xDC00..=0xDFFF, 4)) => {
                    let code = 0x10000u32
                        .saturating_add((high.saturating_sub(0xD800)) << 10)
                        .saturating_add(low.saturating_sub(0xDC00));
                    (char::from_u32(code).unwrap_or(REPLACEMENT), 12)
                }
                _ => (REPLACEMENT, 6),
            }
        }
        _ => (char::from_u32(high).unwrap_or(REPLACEMENT), 6),
    }
}

/// Reads up to four hex digits; returns their value and how many there were.
fn hex4(bytes: &[u8]) -> (u32, usize) {
    let mut value = 0u32;
    let mut digits = 0usize;
    for &b in bytes.iter().take(4) {
        let Some(d) = char::from(b).to_digit(16) else {
            break;
        };
        value = (value << 4) | d;
        digits = digits.saturating_add(1);
    }
    (value, digits)
}

/// Decodes one UTF-8 character at the start of `bytes` (which is not empty and does not start
/// with ASCII). An invalid sequence gives U+FFFD for its maximal valid prefix, as
/// `String::from_utf8_lossy` does.
fn decode_utf8(bytes: &[u8]) -> (char, usize) {
    // The first character is at most four bytes long, so a four-byte window always holds it.
    let window = bytes.get(..4).unwrap_or(bytes);
    match window.utf8_chunks().next() {
        Some(chunk) => match chunk.valid().chars().next() {
            Some(c) => (c, c.len_utf8()),
            None => (REPLACEMENT, chunk.invalid().len().max(1)),
        },
        None => (REPLACEMENT, 1),
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    fn js(raw: &[u8]) -> JsonStr<'_> {
        JsonStr::from_raw_parts(raw, raw.contains(&b'\\'))
    }

    #[test]
    fn debug_prints_the_text_escaped_like_str_table() {
        let table: &[(&[u8], &str)] = &[
            (b"running", "running"),
            (br#"entry doesn't exist"#, "entry doesn't exist"),
            (br#"say \"hi\""#, "say \"hi\""),
            (br"tab\tnew\nline", "tab\tnew\nline"),
            (br"\u00e9t\u00e9 \ud83d\ude00", "\u{e9}t\u{e9} \u{1f600}"),
            (b"\x1b[31m", "\x1b[31m"),
        ];
        for (raw, text) in table {
            let got = std::format!("{:?}", js(raw));
            assert_eq!(got, std::format!("{text:?}"), "{raw:?}");
        }
    }

    fn collect(raw: &[u8]) -> String {
        js(raw).chars().collect()
    }

    #[test]
    fn unescape_table() {
        let table: &[(&[u8], &str)] = &[
            (b"", ""),
            (b"plain", "plain"),
            (br#"a\"b"#, "a\"b"),
            (br"a\\b", "a\\b"),
            (br"a\/b", "a/b"),
            (br"\b\f\n\r\t", "\u{8}\u{c}\n\r\t"),
            (br"\u00e9", "\u{e9}"),
            (br"\u00E9t\u00e9", "\u{e9}t\u{e9}"),
            (br"\u0000", "\u{0}"),
            (br"\uD83D\uDE00", "\u{1F600}"),
            (br"\ud83d\ude00!", "\u{1F600}!"),
            (br"\uDBFF\uDFFF", "\u{10FFFF}"),
            // Lone surrogates.
            (br"\uD83D", "\u{FFFD}"),
            (br"\uD83Dx", "\u{FFFD}x"),
            (br"\uDE00", "\u{FFFD}"),
            (br"\uD83D\u0041", "\u{FFFD}A"),
            (br"\uD83D\uD83D\uDE00", "\u{FFFD}\u{1F600}"),
            (br"\uD83D\u00", "\u{FFFD}\u{FFFD}"),
            // Unknown and short escapes.
            (br"\x", "\u{FFFD}"),
            (br"a\xb", "a\u{FFFD}b"),
            (br"\u12", "\u{FFFD}"),
            (br"\u12zz", "\u{FFFD}zz"),
            (br"\u", "\u{FFFD}"),
            (br"\", "\u{FFFD}"),
            ("\\\u{e9}x".as_bytes(), "\u{FFFD}x"),
            // UTF-8, valid and not.
            ("h\u{e9}llo \u{1F600}".as_bytes(), "h\u{e9}llo \u{1F600}"),
            (b"a\xffb", "a\u{FFFD}b"),
            (b"\xe2\x82", "\u{FFFD}"),
            (b"\xe2\x82x", "\u{FFFD}x"),
            (b"\xed\xa0\x80", "\u{FFFD}\u{FFFD}\u{FFFD}"),
            (b"\xf0\x9f\x98", "\u{FFFD}"),
            (b"\xc0\xaf", "\u{FFFD}\u{FFFD}"),
            (b"\xe2\x82\\n", "\u{FFFD}\n"),
        ];
        for &(raw, want) in table {
            assert_eq!(collect(raw), want, "raw {:?}", raw);
            let s = js(raw);
            assert_eq!(s.unescaped_len(), want.len(), "raw {:?}", raw);
            let mut buf = [0u8; 64];
            assert_eq!(s.unescape_into(&mut buf), Ok(want), "raw {:?}", raw);
            assert!(s.eq_str(want), "raw {:?}", raw);
            assert_eq!(std::format!("{s}"), want);
            if !raw.contains(&b'\\') {
                assert_eq!(collect(raw), String::from_utf8_lossy(raw));
            }
        }
    }

    #[test]
    fn unescape_into_too_small() {
        let s = js(br"caf\u00e9");
        let mut buf = [0u8; 4];
        assert_eq!(s.unescape_into(&mut buf), Err(StrTooLong { required: 5 }));
        let mut buf = [0u8; 5];
        assert_eq!(s.unescape_into(&mut buf), Ok("caf\u{e9}"));
        let plain = js(b"abc");
        assert_eq!(
            plain.unescape_into(&mut [0u8; 2]),
            Err(StrTooLong { required: 3 })
        );
        assert_eq!(plain.unescape_into(&mut [0u8; 3]), Ok("abc"));
        assert_eq!(js(b"").unescape_into(&mut []), Ok(""));
    }

    #[test]
    fn comparisons() {
        let table: &[(&[u8], &str, bool, bool)] = &[
            // raw, other, eq_str, eq_ignore_ascii_case
            (b"success", "success", true, true),
            (b"SUCCESS", "success", false, true),
            (b"succes", "success", false, false),
            (br"succ\u0065ss", "success", true, true),
            (br"SUCC\u0045SS", "success", false, true),
            (b"\xff", "\u{FFFD}", true, true),
            (b"\xff", "x", false, false),
            ("\u{c9}T\u{c9}".as_bytes(), "\u{c9}t\u{c9}", false, true),
            (b"", "", true, true),
            (b"a", "", false, false),
        ];
        for &(raw, other, eq, eq_case) in table {
            let s = js(raw);
            assert_eq!(s.eq_str(other), eq, "{raw:?} vs {other:?}");
            assert_eq!(
                s.eq_ignore_ascii_case(other),
                eq_case,
                "{raw:?} vs {other:?}"
            );
        }
    }

    #[test]
    fn accessors() {
        let s = js(br"a\nb");
        assert!(s.has_escapes());
        assert_eq!(s.raw(), br"a\nb");
        assert_eq!(s.as_plain_str(), None);
        let p = js(b"ab");
        assert!(!p.has_escapes());
        assert_eq!(p.as_plain_str(), Some("ab"));
        assert_eq!(js(b"a\xff").as_plain_str(), None);
        let chars: Vec<char> = s.chars().collect();
        assert_eq!(chars, ['a', '\n', 'b']);
    }
}
