//! Resume tokens: a small, versioned byte snapshot of a machine, so an agent or a firmware
//! that restarts picks the job up again before the server purges it.
//!
//! Format, version 1 (all integers little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 2 | magic `JP` |
//! | 1 | version (1) |
//! | 1 | dialect tag (1 ONTAP, 2 Select Deploy, 3 Unified Manager, 4 Service Engine, 5 generic) |
//! | 1 | flags: bit 0 job seen, bit 1 reduced fields, bit 2 inclusive change-marker comparison |
//! | 1 | job reference kind: 1 id, 2 path |
//! | 1 | job reference length N (1..=128) |
//! | N | job reference, UTF-8 |
//! | 1 | change marker length M (0..=48) |
//! | M | change marker (Select Deploy `last_modified`), verbatim |
//! | 4 | requests sent so far |
//! | 2 | polls answered (backoff position) |
//! | 8 | milliseconds elapsed since the submit |
//! | 8 | milliseconds left before the deadline |
//! | 8 | jitter generator state |
//! | 4 | FNV-1a checksum of everything before |
//!
//! Version 2 (written when the machine follows an expected duration, `Policy::expected`; needs
//! the `estimate` feature to read) is version 1 with, before the checksum:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | start of the expected window, milliseconds since the submit |
//! | 4 | end of the expected window, milliseconds since the submit |
//!
//! A machine without an expected duration writes version 1, byte for byte as before, and
//! every version 1 token still reads. A token from another version or dialect, or a damaged
//! one, is a typed error, never a panic.

use core::time::Duration;

use crate::error::ConfigError;
use crate::job_ref::{ChangeMarker, JobRef, MAX_CURSOR, MAX_JOB_REF, RefKind, id_kind};
use crate::util::{Bounded, fnv1a};

const MAGIC: &[u8; 2] = b"JP";
const VERSION: u8 = 1;
/// The version that carries an expected window.
#[cfg(feature = "estimate")]
const VERSION_EXPECTED: u8 = 2;
const FIXED: usize = 7 + 1 + 4 + 2 + 8 + 8 + 8 + 4;
/// The expected window of a version 2 token.
#[cfg(feature = "estimate")]
const EXPECTED_LEN: usize = 8;
#[cfg(not(feature = "estimate"))]
const EXPECTED_LEN: usize = 0;
/// The largest token, in bytes.
pub const MAX_TOKEN_LEN: usize = FIXED + MAX_JOB_REF + MAX_CURSOR + EXPECTED_LEN;

/// A resume token: opaque bytes the caller stores (flash, a file) and hands back to
/// [`JobPoller::resume`](crate::JobPoller::resume).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ResumeToken {
    len: u8,
    bytes: [u8; MAX_TOKEN_LEN],
}

impl core::fmt::Debug for ResumeToken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ResumeToken")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for ResumeToken {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "ResumeToken({=[u8]:x})", self.as_bytes())
    }
}

/// What a token holds, decoded.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Saved {
    pub(crate) dialect_tag: u8,
    pub(crate) job: JobRef,
    pub(crate) seen: bool,
    pub(crate) reduced_fields: bool,
    pub(crate) requests: u32,
    pub(crate) attempt: u16,
    pub(crate) elapsed: Duration,
    pub(crate) remaining: Duration,
    pub(crate) rng_state: u64,
    pub(crate) marker: ChangeMarker,
    #[cfg(feature = "estimate")]
    pub(crate) expected: Option<crate::estimate::Expected>,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A cursor that writes into a fixed array and ignores what does not fit (the sizes are fixed
/// by construction; `len` tells what was written).
struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let end = self.len.saturating_add(bytes.len());
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            dst.copy_from_slice(bytes);
            self.len = end;
        }
    }
}

struct Reader<'b> {
    rest: &'b [u8],
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Result<&'b [u8], ConfigError> {
        let (head, tail) = self.rest.split_at_checked(n).ok_or(ConfigError::BadToken)?;
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ConfigError> {
        self.take(N)?.try_into().map_err(|_| ConfigError::BadToken)
    }

    fn u8(&mut self) -> Result<u8, ConfigError> {
        Ok(u8::from_le_bytes(self.array()?))
    }
}

impl ResumeToken {
    pub(crate) fn encode(saved: &Saved) -> ResumeToken {
        let mut bytes = [0u8; MAX_TOKEN_LEN];
        let mut w = Writer {
            buf: &mut bytes,
            len: 0,
        };
        let flags = u8::from(saved.seen)
            | (u8::from(saved.reduced_fields) << 1)
            | (u8::from(saved.marker.inclusive) << 2);
        let kind = match saved.job.kind {
            RefKind::Path => 2,
            _ => 1,
        };
        let text = saved.job.text.as_bytes();
        #[cfg(feature = "estimate")]
        let version = if saved.expected.is_some() {
            VERSION_EXPECTED
        } else {
            VERSION
        };
        #[cfg(not(feature = "estimate"))]
        let version = VERSION;
        w.put(MAGIC);
        w.put(&[
            version,
            saved.dialect_tag,
            flags,
            kind,
            u8::try_from(text.len()).unwrap_or(0),
        ]);
        w.put(text);
        let cursor = saved.marker.as_bytes();
        w.put(&[u8::try_from(cursor.len()).unwrap_or(0)]);
        w.put(cursor);
        w.put(&saved.requests.to_le_bytes());
        w.put(&saved.attempt.to_le_bytes());
        w.put(&millis(saved.elapsed).to_le_bytes());
        w.put(&millis(saved.remaining).to_le_bytes());
        w.put(&saved.rng_state.to_le_bytes());
        #[cfg(feature = "estimate")]
        if let Some(expected) = &saved.expected {
            w.put(&expected.earliest_ms().to_le_bytes());
            w.put(&expected.latest_ms().to_le_bytes());
        }
        let len = w.len;
        let sum = fnv1a(w.buf.get(..len).unwrap_or(&[]));
        w.put(&sum.to_le_bytes());
        ResumeToken {
            len: u8::try_from(w.len).unwrap_or(0),
            bytes,
        }
    }

    /// The token's bytes, to store.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// A token from stored bytes. Checks the length, magic, version and checksum.
    pub fn from_bytes(stored: &[u8]) -> Result<ResumeToken, ConfigError> {
        if stored.len() > MAX_TOKEN_LEN || stored.len() < FIXED {
            return Err(ConfigError::BadToken);
        }
        let mut bytes = [0u8; MAX_TOKEN_LEN];
        bytes
            .get_mut(..stored.len())
            .ok_or(ConfigError::BadToken)?
            .copy_from_slice(stored);
        let token = ResumeToken {
            len: u8::try_from(stored.len()).map_err(|_| ConfigError::BadToken)?,
            bytes,
        };
        token.decode()?;
        Ok(token)
    }

    pub(crate) fn decode(&self) -> Result<Saved, ConfigError> {
        let all = self.as_bytes();
        let body_len = all.len().checked_sub(4).ok_or(ConfigError::BadToken)?;
        let (body, sum) = all
            .split_at_checked(body_len)
            .ok_or(ConfigError::BadToken)?;
        if sum != fnv1a(body).to_le_bytes() {
            return Err(ConfigError::BadToken);
        }
        let mut r = Reader { rest: body };
        if r.take(2)? != MAGIC {
            return Err(ConfigError::BadToken);
        }
        let version = r.u8()?;
        #[cfg(feature = "estimate")]
        let known = version == VERSION || version == VERSION_EXPECTED;
        #[cfg(not(feature = "estimate"))]
        let known = version == VERSION;
        if !known {
            return Err(ConfigError::BadToken);
        }
        let dialect_tag = r.u8()?;
        let flags = r.u8()?;
        let kind = r.u8()?;
        let n = usize::from(r.u8()?);
        let text = r.take(n)?;
        if n == 0 || core::str::from_utf8(text).is_err() {
            return Err(ConfigError::BadToken);
        }
        let kind = match kind {
            1 => id_kind(text),
            2 => RefKind::Path,
            _ => return Err(ConfigError::BadToken),
        };
        let text = Bounded::new(text).ok_or(ConfigError::BadToken)?;
        let m = usize::from(r.u8()?);
        let cursor = r.take(m)?;
        if m > MAX_CURSOR || core::str::from_utf8(cursor).is_err() {
            return Err(ConfigError::BadToken);
        }
        let marker = ChangeMarker::restored(cursor, flags & 4 != 0).ok_or(ConfigError::BadToken)?;
        let saved = Saved {
            dialect_tag,
            job: JobRef { kind, text },
            seen: flags & 1 != 0,
            reduced_fields: flags & 2 != 0,
            requests: u32::from_le_bytes(r.array()?),
            attempt: u16::from_le_bytes(r.array()?),
            elapsed: crate::time::millis(u64::from_le_bytes(r.array()?)),
            remaining: crate::time::millis(u64::from_le_bytes(r.array()?)),
            rng_state: u64::from_le_bytes(r.array()?),
            marker,
            #[cfg(feature = "estimate")]
            expected: if version == VERSION_EXPECTED {
                let earliest = u32::from_le_bytes(r.array()?);
                let latest = u32::from_le_bytes(r.array()?);
                if earliest > latest {
                    return Err(ConfigError::BadToken);
                }
                Some(crate::estimate::Expected::from_ms(earliest, latest))
            } else {
                None
            },
        };
        if !r.rest.is_empty() {
            return Err(ConfigError::BadToken);
        }
        Ok(saved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Saved {
        Saved {
            dialect_tag: 1,
            job: JobRef {
                kind: RefKind::Id,
                text: Bounded::new(b"1cd8a442-86d1-11e0-ae1c-123478563412")
                    .unwrap_or(Bounded::EMPTY),
            },
            seen: true,
            reduced_fields: false,
            requests: 7,
            attempt: 5,
            elapsed: Duration::from_millis(12_345),
            remaining: Duration::from_secs(500),
            rng_state: 0xdead_beef,
            marker: ChangeMarker::restored(b"2019-04-04T15:41:29.140265Z", true)
                .unwrap_or(ChangeMarker::NONE),
            #[cfg(feature = "estimate")]
            expected: None,
        }
    }

    /// The sample's cursor as stored: builds without a long-polling dialect keep none.
    const CURSOR: &str = if MAX_CURSOR == 0 {
        ""
    } else {
        "2019-04-04T15:41:29.140265Z"
    };

    #[test]
    fn round_trip() {
        let token = ResumeToken::encode(&sample());
        assert_eq!(token.as_bytes().len(), FIXED + 36 + CURSOR.len());
        let again = ResumeToken::from_bytes(token.as_bytes());
        assert_eq!(again, Ok(token));
        let saved = token.decode();
        assert!(saved.is_ok_and(|s| s.requests == 7
            && s.attempt == 5
            && s.seen
            && s.job.text.as_str() == "1cd8a442-86d1-11e0-ae1c-123478563412"
            && s.remaining == Duration::from_secs(500)
            && s.marker.as_bytes() == CURSOR.as_bytes()
            && (s.marker.inclusive || MAX_CURSOR == 0)));
    }

    /// A machine without an expected duration writes version 1, byte for byte as before this
    /// format had a version 2 (the bytes of that time, for the sample).
    #[test]
    fn version_1_bytes_are_unchanged_and_still_read() {
        let token = ResumeToken::encode(&sample());
        let bytes = token.as_bytes();
        // magic, version 1, ONTAP, flags (seen; inclusive marker where one is kept), id, 36 B
        let flags = if MAX_CURSOR == 0 { 1 } else { 5 };
        assert_eq!(&bytes[..7], &[b'J', b'P', 1, 1, flags, 1, 36]);
        let n = bytes.len();
        // requests 7, attempt 5, 12,345 ms elapsed, 500,000 ms left, rng 0xdeadbeef
        assert_eq!(
            &bytes[n - 34..n - 4],
            &[
                7, 0, 0, 0, 5, 0, 0x39, 0x30, 0, 0, 0, 0, 0, 0, 0x20, 0xa1, 0x07, 0, 0, 0, 0, 0,
                0xef, 0xbe, 0xad, 0xde, 0, 0, 0, 0
            ]
        );
        assert_eq!(ResumeToken::from_bytes(bytes), Ok(token));
    }

    #[cfg(feature = "estimate")]
    #[test]
    fn version_2_carries_the_expected_window() {
        let window = crate::estimate::Expected::from_ms(260_000, 340_000);
        let saved = Saved {
            expected: Some(window),
            ..sample()
        };
        let token = ResumeToken::encode(&saved);
        let bytes = token.as_bytes();
        assert_eq!(bytes[2], 2);
        assert_eq!(bytes.len(), FIXED + 36 + CURSOR.len() + 8);
        let n = bytes.len();
        assert_eq!(&bytes[n - 12..n - 8], &260_000u32.to_le_bytes());
        assert_eq!(&bytes[n - 8..n - 4], &340_000u32.to_le_bytes());
        let again = ResumeToken::from_bytes(bytes);
        assert_eq!(again, Ok(token));
        assert!(token.decode().is_ok_and(|s| s.expected == Some(window)
            && s.requests == 7
            && s.remaining == Duration::from_secs(500)));
        // A window whose start is after its end is not one jobpoll writes.
        let mut bad = [0u8; MAX_TOKEN_LEN];
        bad[..n].copy_from_slice(bytes);
        bad[n - 12..n - 8].copy_from_slice(&400_000u32.to_le_bytes());
        let sum = fnv1a(&bad[..n - 4]).to_le_bytes();
        bad[n - 4..n].copy_from_slice(&sum);
        assert_eq!(
            ResumeToken::from_bytes(&bad[..n]),
            Err(ConfigError::BadToken)
        );
        // Version 1 with the window's bytes, or version 2 without them, is damaged.
        let mut v1 = bad;
        v1[n - 12..n - 8].copy_from_slice(&260_000u32.to_le_bytes());
        v1[2] = 1;
        let sum = fnv1a(&v1[..n - 4]).to_le_bytes();
        v1[n - 4..n].copy_from_slice(&sum);
        assert_eq!(
            ResumeToken::from_bytes(&v1[..n]),
            Err(ConfigError::BadToken)
        );
    }

    #[test]
    fn damaged_tokens_are_rejected() {
        let token = ResumeToken::encode(&sample());
        let good = token.as_bytes();
        for i in 0..good.len() {
            let mut bad = [0u8; MAX_TOKEN_LEN];
            bad[..good.len()].copy_from_slice(good);
            bad[i] ^= 0x40;
            assert_eq!(
                ResumeToken::from_bytes(&bad[..good.len()]),
                Err(ConfigError::BadToken),
                "byte {i}"
            );
        }
        for n in 0..good.len() {
            assert_eq!(
                ResumeToken::from_bytes(&good[..n]),
                Err(ConfigError::BadToken)
            );
        }
        assert_eq!(
            ResumeToken::from_bytes(&[0u8; MAX_TOKEN_LEN + 1]),
            Err(ConfigError::BadToken)
        );
    }
}

/// With the `serde` feature a token serializes as its bytes (a byte string where the format has
/// one, else a sequence of numbers) and deserializes through [`ResumeToken::from_bytes`], so a
/// damaged or foreign token is an error, never a panic.
#[cfg(feature = "serde")]
mod serde_impl {
    use super::{MAX_TOKEN_LEN, ResumeToken};

    impl serde::Serialize for ResumeToken {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_bytes(self.as_bytes())
        }
    }

    struct TokenVisitor;

    impl<'de> serde::de::Visitor<'de> for TokenVisitor {
        type Value = ResumeToken;

        fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("the bytes of a jobpoll resume token")
        }

        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<ResumeToken, E> {
            ResumeToken::from_bytes(v).map_err(|_| E::custom("not a valid jobpoll resume token"))
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<ResumeToken, A::Error> {
            let mut buf = [0u8; MAX_TOKEN_LEN];
            let mut len = 0usize;
            while let Some(byte) = seq.next_element::<u8>()? {
                let slot = buf
                    .get_mut(len)
                    .ok_or_else(|| serde::de::Error::custom("resume token too long"))?;
                *slot = byte;
                len = len.saturating_add(1);
            }
            self.visit_bytes(buf.get(..len).unwrap_or(&[]))
        }
    }

    impl<'de> serde::Deserialize<'de> for ResumeToken {
        fn deserialize<D: serde::Deserializer<'de>>(
            deserializer: D,
        ) -> Result<ResumeToken, D::Error> {
            deserializer.deserialize_bytes(TokenVisitor)
        }
    }
}
