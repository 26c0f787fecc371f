//! Small helpers every layer uses, one copy each: owned short strings, the FNV-1a digest and
//! decimal formatting without a 64-bit division.

/// A short string copied into the machine (ids, raw states), at most `N` bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounded<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> Bounded<N> {
    pub(crate) const EMPTY: Self = Bounded {
        len: 0,
        bytes: [0; N],
    };

    /// Copies `s`, or `None` when it is longer than `N` (or than 255) bytes.
    pub(crate) fn new(s: &[u8]) -> Option<Self> {
        let len = u8::try_from(s.len()).ok()?;
        let mut out = Self::EMPTY;
        out.bytes.get_mut(..s.len())?.copy_from_slice(s);
        out.len = len;
        Some(out)
    }

    /// Copies as much of the characters of `chars` as fits, stopping at a char boundary.
    pub(crate) fn from_chars(chars: impl Iterator<Item = char>) -> Self {
        let mut out = Self::EMPTY;
        let mut len = 0usize;
        for c in chars.take(N) {
            let mut buf = [0u8; 4];
            let enc = c.encode_utf8(&mut buf).as_bytes();
            let end = match len.checked_add(enc.len()) {
                Some(end) if end <= N && end <= 255 => end,
                _ => break,
            };
            match out.bytes.get_mut(len..end) {
                Some(dst) => dst.copy_from_slice(enc),
                None => break,
            }
            len = end;
        }
        out.len = u8::try_from(len).unwrap_or(0);
        out
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    pub(crate) fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const N: usize> core::fmt::Debug for Bounded<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for Bounded<N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=str}", self.as_str())
    }
}

/// 32-bit FNV-1a: a cheap digest for change detection and checksums (not a defence against a
/// chosen collision).
pub(crate) fn fnv1a(bytes: &[u8]) -> u32 {
    fnv1a_continue(FNV1A_START, bytes)
}

/// The FNV-1a state before any byte.
pub(crate) const FNV1A_START: u32 = 0x811c_9dc5;

/// Feeds `bytes` into an FNV-1a state (to digest several pieces as one).
pub(crate) fn fnv1a_continue(state: u32, bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(state, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// The decimal digits of `n`, written at the end of `buf` (20 bytes hold any `u64`).
pub(crate) fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut start = buf.len();
    for slot in buf.iter_mut().rev() {
        let (rest, digit) = crate::time::div_rem_small(n, 10);
        *slot = b'0'.saturating_add(digit as u8);
        n = rest;
        start = start.saturating_sub(1);
        if n == 0 {
            break;
        }
    }
    core::str::from_utf8(buf.get(start..).unwrap_or(&[])).unwrap_or("0")
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn bounded_copies() {
        assert_eq!(Bounded::<4>::new(b"abcd").map(|b| b.len), Some(4));
        assert!(Bounded::<4>::new(b"abcde").is_none());
        let b = Bounded::<4>::from_chars("ab\u{e9}x".chars());
        assert_eq!(b.as_str(), "ab\u{e9}");
        let b = Bounded::<4>::from_chars("\u{1F600}z".chars());
        assert_eq!(b.as_str(), "\u{1F600}");
        assert!(Bounded::<4>::EMPTY.is_empty());
    }

    #[test]
    fn decimal_digits() {
        let mut buf = [0u8; 20];
        for (n, text) in [
            (0u64, "0"),
            (7, "7"),
            (10, "10"),
            (120, "120"),
            (u64::MAX, "18446744073709551615"),
        ] {
            assert_eq!(decimal(n, &mut buf), text);
        }
    }

    #[test]
    fn fnv1a_reference_values() {
        // Reference vectors of the FNV-1a 32-bit specification.
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a(b"foobar"), 0xbf9c_f968);
        assert_eq!(fnv1a_continue(fnv1a(b"foo"), b"bar"), fnv1a(b"foobar"));
    }
}
