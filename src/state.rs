//! The normalized job state shared by every dialect, and small owned copies of raw strings.

/// A job state normalized across dialects. The raw string is always kept next to it
/// (see [`JobView::raw_state`](crate::JobView::raw_state)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum JobState {
    /// Accepted, not started (ONTAP `queued`).
    Pending,
    /// In progress.
    Running,
    /// Stopped by an administrator, resumable (ONTAP `paused`); not terminal.
    Paused,
    /// Finished successfully.
    Succeeded,
    /// Finished successfully with warnings.
    SucceededWithWarnings,
    /// Finished with some parts failed.
    PartiallyFailed,
    /// Finished in failure.
    Failed,
    /// A string the dialect does not know.
    Unknown,
}

impl JobState {
    /// True when the job will not change any more.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Succeeded
                | JobState::SucceededWithWarnings
                | JobState::PartiallyFailed
                | JobState::Failed
        )
    }
}

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

#[cfg(test)]
mod tests {
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
    fn terminal_states() {
        assert!(JobState::Failed.is_terminal());
        assert!(!JobState::Paused.is_terminal());
        assert!(!JobState::Unknown.is_terminal());
    }
}
