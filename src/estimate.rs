//! Duration estimates: what an operation's earlier runs say about when the next one ends.
//!
//! [`Estimate`] learns from finished jobs of one operation (a few dozen bytes, no heap) and
//! gives an [`Expected`] window, which the policy takes as a hint
//! ([`Policy::expected`](crate::Policy::expected)): probe sparsely before the window, poll
//! densely in it, then fall back to the normal backoff. The statistic is robust: a job that
//! failed fast or ran ten times longer does not move the window (see [`Estimate::expected`]).
//!
//! Byte format of an estimate ([`Estimate::to_bytes`], [`ESTIMATE_LEN`] bytes, version 1,
//! integers little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 2 | magic `JE` |
//! | 1 | version (1) |
//! | 1 | durations kept, N (0..=8) |
//! | 32 | eight durations in milliseconds (`u32`), oldest first; the N kept, then zeros |
//! | 4 | FNV-1a checksum of everything before |
//!
//! Other bytes are a typed [`EstimateError`], never a panic.

use core::fmt;
use core::time::Duration;

use crate::time::div_rem_small;
use crate::util::fnv1a;

/// Durations an [`Estimate`] keeps (the most recent ones).
pub const SAMPLES: usize = 8;
/// Length of an estimate's bytes ([`Estimate::to_bytes`]).
pub const ESTIMATE_LEN: usize = 2 + 1 + 1 + SAMPLES * 4 + 4;

const MAGIC: &[u8; 2] = b"JE";
const VERSION: u8 = 1;
/// From this many durations on, the window is read from the quartiles (Tukey's fences), which
/// one outlier on each side cannot move (two of eight); below it, from the median alone.
const QUARTILES_FROM: usize = 4;
/// The window's half-width around the median when fewer durations are known, in percent.
const FEW_SAMPLES_SPREAD_PERCENT: u16 = 15;
/// The least half-width of the window around the median, in percent (durations that were all
/// equal still vary a little).
const MIN_SPREAD_PERCENT: u16 = 5;

/// The durations of an operation's last runs, and what they say about the next one.
///
/// Record the elapsed time of each finished job of the operation
/// ([`JobPoller::elapsed`](crate::JobPoller::elapsed) once it is done, best after
/// [`Outcome::Succeeded`](crate::Outcome::Succeeded)); give the next submit
/// [`expected`](Self::expected) through [`Policy::expected`](crate::Policy::expected); keep it
/// between runs with [`to_bytes`](Self::to_bytes) and [`from_bytes`](Self::from_bytes). It keeps
/// the last [`SAMPLES`] durations in milliseconds (up to 49 days; longer ones count as 49 days).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Estimate {
    len: u8,
    /// Milliseconds, oldest first; zero after the first `len`.
    samples: [u32; SAMPLES],
}

impl Estimate {
    /// No history: [`expected`](Self::expected) is `None` and the schedule is the default one.
    pub const EMPTY: Estimate = Estimate {
        len: 0,
        samples: [0; SAMPLES],
    };

    /// An estimate with no history.
    pub const fn new() -> Self {
        Self::EMPTY
    }

    /// Records the duration of a finished run; the oldest of [`SAMPLES`] is dropped.
    pub fn record(&mut self, duration: Duration) {
        let ms = u32::try_from(duration.as_millis()).unwrap_or(u32::MAX);
        let len = usize::from(self.len);
        if len < SAMPLES {
            if let Some(slot) = self.samples.get_mut(len) {
                *slot = ms;
                self.len = self.len.saturating_add(1);
            }
        } else {
            self.samples.rotate_left(1);
            if let Some(last) = self.samples.last_mut() {
                *last = ms;
            }
        }
    }

    /// Durations kept.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The kept durations, oldest first.
    pub fn durations(&self) -> impl Iterator<Item = Duration> + '_ {
        self.kept()
            .iter()
            .map(|&ms| Duration::from_millis(u64::from(ms)))
    }

    /// The median of the kept durations (of the two middle ones, their mean).
    pub fn median(&self) -> Option<Duration> {
        let (sorted, n) = self.sorted();
        let sorted = sorted.get(..n)?;
        median_ms(sorted).map(|ms| Duration::from_millis(u64::from(ms)))
    }

    /// When the next run should end, counted from its submit: `None` without history.
    ///
    /// From four durations on, Tukey's fences: the lower quartile minus 1.5 times the
    /// interquartile range to the upper quartile plus as much (quartiles are the sorted
    /// durations at ranks N/4 and N-1-N/4), so one duration far off on each side (two of
    /// eight) moves neither edge; with fewer, the median plus or minus 15 % (from three on, one
    /// outlier cannot move the median either). The window is always at least the median plus
    /// or minus 5 %. With the durations of normal runs within a band [a, b], the window lies
    /// within [a - 1.5 (b - a), b + 1.5 (b - a)] whatever one outlier does.
    pub fn expected(&self) -> Option<Expected> {
        let (sorted, n) = self.sorted();
        let sorted = sorted.get(..n)?;
        let median = u64::from(median_ms(sorted)?);
        let (mut low, mut high) = if n >= QUARTILES_FROM {
            let q1 = u64::from(*sorted.get(n / 4)?);
            let q3 = u64::from(*sorted.get(n.saturating_sub(1).saturating_sub(n / 4))?);
            let fence = q3.saturating_sub(q1).saturating_mul(3) >> 1;
            (q1.saturating_sub(fence), q3.saturating_add(fence))
        } else {
            let spread = percent(median, FEW_SAMPLES_SPREAD_PERCENT);
            (median.saturating_sub(spread), median.saturating_add(spread))
        };
        let min_spread = percent(median, MIN_SPREAD_PERCENT);
        low = low.min(median.saturating_sub(min_spread));
        high = high.max(median.saturating_add(min_spread));
        Some(Expected {
            earliest_ms: u32::try_from(low).unwrap_or(u32::MAX),
            latest_ms: u32::try_from(high).unwrap_or(u32::MAX),
        })
    }

    /// The estimate as bytes to store (the format is in the module docs).
    pub fn to_bytes(&self) -> [u8; ESTIMATE_LEN] {
        let mut out = [0u8; ESTIMATE_LEN];
        let mut body = [0u8; ESTIMATE_LEN - 4];
        let (head, samples) = body.split_at_mut(4);
        head.copy_from_slice(&[MAGIC[0], MAGIC[1], VERSION, self.len]);
        for (chunk, ms) in samples.chunks_exact_mut(4).zip(self.samples) {
            chunk.copy_from_slice(&ms.to_le_bytes());
        }
        let (front, sum) = out.split_at_mut(ESTIMATE_LEN - 4);
        front.copy_from_slice(&body);
        sum.copy_from_slice(&fnv1a(&body).to_le_bytes());
        out
    }

    /// An estimate from stored bytes: checks the length, magic, version, checksum and layout.
    pub fn from_bytes(bytes: &[u8]) -> Result<Estimate, EstimateError> {
        let bytes: &[u8; ESTIMATE_LEN] = bytes.try_into().map_err(|_| EstimateError::Length)?;
        let (body, sum) = bytes.split_at(ESTIMATE_LEN - 4);
        let (head, samples) = body.split_at(4);
        let &[m0, m1, version, len] = head else {
            return Err(EstimateError::Length);
        };
        if [m0, m1] != *MAGIC {
            return Err(EstimateError::NotAnEstimate);
        }
        if version != VERSION {
            return Err(EstimateError::Version(version));
        }
        if sum != fnv1a(body).to_le_bytes() {
            return Err(EstimateError::Checksum);
        }
        if usize::from(len) > SAMPLES {
            return Err(EstimateError::Layout);
        }
        let mut estimate = Estimate {
            len,
            samples: [0; SAMPLES],
        };
        for (slot, chunk) in estimate.samples.iter_mut().zip(samples.chunks_exact(4)) {
            let mut le = [0u8; 4];
            le.copy_from_slice(chunk);
            *slot = u32::from_le_bytes(le);
        }
        // The unused slots are zero, so that bytes and estimate correspond one to one.
        if estimate
            .samples
            .get(usize::from(len)..)
            .is_some_and(|rest| rest.iter().any(|&ms| ms != 0))
        {
            return Err(EstimateError::Layout);
        }
        Ok(estimate)
    }

    fn kept(&self) -> &[u32] {
        self.samples.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The kept durations sorted (an insertion sort of at most eight values), and how many.
    fn sorted(&self) -> ([u32; SAMPLES], usize) {
        let mut sorted = self.samples;
        let n = self.kept().len();
        if let Some(slice) = sorted.get_mut(..n) {
            slice.sort_unstable();
        }
        (sorted, n)
    }
}

fn median_ms(sorted: &[u32]) -> Option<u32> {
    let n = sorted.len();
    let a = u64::from(*sorted.get(n.checked_sub(1)? / 2)?);
    let b = u64::from(*sorted.get(n / 2)?);
    u32::try_from(a.saturating_add(b) >> 1).ok()
}

/// `value * percent / 100` without a 64-bit division.
fn percent(value: u64, percent: u16) -> u64 {
    div_rem_small(value.saturating_mul(u64::from(percent)), 100).0
}

/// When a job is expected to end, counted from its submit: the window between `earliest` and
/// `latest`. Made by [`Estimate::expected`], or by [`Expected::between`] when the caller knows
/// its operation; given to the machine through [`Policy::expected`](crate::Policy::expected).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Expected {
    earliest_ms: u32,
    latest_ms: u32,
}

impl Expected {
    /// The window between two durations from the submit (in either order; milliseconds, up
    /// to 49 days).
    pub fn between(a: Duration, b: Duration) -> Expected {
        let ms = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
        let (a, b) = (ms(a), ms(b));
        Expected {
            earliest_ms: a.min(b),
            latest_ms: a.max(b),
        }
    }

    /// The window's start.
    pub fn earliest(&self) -> Duration {
        Duration::from_millis(u64::from(self.earliest_ms))
    }

    /// The window's end.
    pub fn latest(&self) -> Duration {
        Duration::from_millis(u64::from(self.latest_ms))
    }

    #[cfg_attr(not(feature = "estimate"), allow(dead_code))]
    pub(crate) const fn from_ms(earliest_ms: u32, latest_ms: u32) -> Expected {
        Expected {
            earliest_ms,
            latest_ms,
        }
    }

    pub(crate) const fn earliest_ms(&self) -> u32 {
        self.earliest_ms
    }

    pub(crate) const fn latest_ms(&self) -> u32 {
        self.latest_ms
    }

    /// The server-side hold worth asking of the submit (ONTAP `return_timeout`): the window's
    /// end plus half its width, in whole seconds rounded up. The machine asks for it when it is
    /// longer than the configured hold, up to the API's maximum (ONTAP: 120 s).
    pub fn submit_hold(&self) -> Duration {
        let width = self.latest_ms.saturating_sub(self.earliest_ms);
        let ms = u64::from(self.latest_ms).saturating_add(u64::from(width >> 1));
        let (secs, rem) = div_rem_small(ms, 1000);
        Duration::from_secs(secs.saturating_add(u64::from(rem > 0)))
    }
}

/// Why stored bytes are not an [`Estimate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum EstimateError {
    /// Not [`ESTIMATE_LEN`] bytes.
    Length,
    /// The magic is not `JE`: the bytes are something else.
    NotAnEstimate,
    /// A version this build does not read.
    Version(u8),
    /// The checksum does not match: the bytes were damaged.
    Checksum,
    /// More than [`SAMPLES`] durations, or a non-zero unused slot.
    Layout,
}

impl fmt::Display for EstimateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EstimateError::Length => write!(f, "a duration estimate is {ESTIMATE_LEN} bytes"),
            EstimateError::NotAnEstimate => f.write_str("the bytes are not a duration estimate"),
            EstimateError::Version(v) => write!(f, "duration estimate version {v} is not known"),
            EstimateError::Checksum => f.write_str("the duration estimate is damaged (checksum)"),
            EstimateError::Layout => f.write_str("the duration estimate is malformed"),
        }
    }
}

impl core::error::Error for EstimateError {}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    fn learnt(secs: &[u64]) -> Estimate {
        let mut e = Estimate::new();
        for &s in secs {
            e.record(Duration::from_secs(s));
        }
        e
    }

    fn window(secs: &[u64]) -> Option<(u64, u64)> {
        learnt(secs)
            .expected()
            .map(|w| (u64::from(w.earliest_ms), u64::from(w.latest_ms)))
    }

    #[test]
    fn windows_table() {
        // (durations in seconds, expected window in ms)
        type Row = (&'static [u64], Option<(u64, u64)>);
        let table: &[Row] = &[
            (&[], None),
            (&[100], Some((85_000, 115_000))),
            (&[100, 200], Some((127_500, 172_500))), // median 150 +- 15 %
            (&[100, 110, 1000], Some((93_500, 126_500))), // the outlier leaves the median
            // Five runs: quartiles 95 and 105, fences 80 and 120.
            (&[90, 95, 100, 105, 110], Some((80_000, 120_000))),
            // A run ten times longer, or one that failed fast: the window stays near.
            (&[1000, 95, 100, 105, 110], Some((85_000, 125_000))),
            (&[95, 100, 105, 110, 2], Some((80_000, 120_000))),
            // Equal durations: at least the median +- 5 %.
            (&[300, 300, 300, 300, 300], Some((285_000, 315_000))),
        ];
        for (secs, want) in table {
            assert_eq!(window(secs), *want, "{secs:?}");
        }
    }

    #[test]
    fn keeps_the_last_eight() {
        let e = learnt(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(e.len(), SAMPLES);
        let kept: std::vec::Vec<u64> = e.durations().map(|d| d.as_secs()).collect();
        assert_eq!(kept.as_slice(), &[3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(e.median(), Some(Duration::from_millis(6_500)));
    }

    #[test]
    fn median_table() {
        let table: &[(&[u64], Option<u64>)] = &[
            (&[], None),
            (&[7], Some(7_000)),
            (&[7, 8], Some(7_500)),
            (&[9, 1, 5], Some(5_000)),
            (
                &[u64::MAX / 1000, u64::MAX / 1000],
                Some(u64::from(u32::MAX)),
            ),
        ];
        for (secs, want) in table {
            let got = learnt(secs).median().map(|d| d.as_millis() as u64);
            assert_eq!(got, *want, "{secs:?}");
        }
    }

    #[test]
    fn submit_hold_table() {
        // (earliest ms, latest ms, hold s): the end plus half the width, rounded up.
        let table: &[(u64, u64, u64)] = &[
            (0, 0, 0),
            (53_000, 69_000, 77),
            (5_300, 6_900, 8),
            (80_000, 120_000, 140),
            (u64::from(u32::MAX), 0, 6_442_451),
        ];
        for &(a, b, want) in table {
            let w = Expected::between(Duration::from_millis(a), Duration::from_millis(b));
            assert_eq!(w.submit_hold(), Duration::from_secs(want), "{a} {b}");
        }
    }

    #[test]
    fn bytes_round_trip_and_layout() {
        let e = learnt(&[90, 95, 100]);
        let bytes = e.to_bytes();
        assert_eq!(&bytes[..4], b"JE\x01\x03");
        assert_eq!(&bytes[4..8], &90_000u32.to_le_bytes());
        assert_eq!(&bytes[16..36], &[0u8; 20]);
        assert_eq!(Estimate::from_bytes(&bytes), Ok(e));
        assert_eq!(
            Estimate::from_bytes(&Estimate::EMPTY.to_bytes()),
            Ok(Estimate::EMPTY)
        );
    }

    #[test]
    fn bad_bytes_are_typed_errors() {
        let good = learnt(&[90, 95, 100]).to_bytes();
        assert_eq!(
            Estimate::from_bytes(&good[..39]),
            Err(EstimateError::Length)
        );
        assert_eq!(Estimate::from_bytes(&[]), Err(EstimateError::Length));
        let with = |i: usize, v: u8| {
            let mut b = good;
            b[i] = v;
            let sum = fnv1a(&b[..36]).to_le_bytes();
            b[36..].copy_from_slice(&sum);
            Estimate::from_bytes(&b)
        };
        assert_eq!(with(0, b'X'), Err(EstimateError::NotAnEstimate));
        assert_eq!(with(2, 2), Err(EstimateError::Version(2)));
        assert_eq!(with(3, 9), Err(EstimateError::Layout));
        assert_eq!(with(20, 1), Err(EstimateError::Layout));
        for i in 0..ESTIMATE_LEN {
            let mut b = good;
            b[i] ^= 0x20;
            assert!(Estimate::from_bytes(&b).is_err(), "byte {i}");
        }
    }
}
