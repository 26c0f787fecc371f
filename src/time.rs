//! Monotonic time as the caller sees it.
//!
//! The core never reads a clock. Every input carries `now`, an [`Instant`] counted in
//! milliseconds from an epoch the caller picks (boot, process start, anything monotonic).
//! Spans are [`core::time::Duration`]. All arithmetic saturates: no input can overflow or
//! panic, and a `now` that goes backwards is clamped by the state machine to the last value
//! it saw.

use core::time::Duration;

/// A point on the caller's monotonic clock, in milliseconds since the caller's epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instant(u64);

impl Instant {
    /// The caller's epoch.
    pub const ZERO: Instant = Instant(0);
    /// The latest representable instant; used as "never".
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis)
    }

    /// An instant `secs` seconds after the epoch (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        Instant(secs.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at [`Instant::MAX`]. Sub-millisecond parts of `d` are rounded up,
    /// so a deadline is never earlier than asked.
    pub fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(duration_to_millis_ceil(d)))
    }

    /// `self - d`, saturating at [`Instant::ZERO`].
    pub fn saturating_sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(duration_to_millis_ceil(d)))
    }

    /// The span from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        millis(self.0.saturating_sub(earlier.0))
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        self.saturating_add(rhs)
    }
}

impl core::ops::Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, rhs: Duration) -> Instant {
        self.saturating_sub(rhs)
    }
}

impl core::ops::Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

/// Whole milliseconds in `d`, rounded up, saturating at `u64::MAX`.
/// `Duration::from_millis` without a 64-bit division (see [`div_rem_small`]).
pub(crate) fn millis(ms: u64) -> Duration {
    let (secs, rem) = div_rem_small(ms, 1000);
    // rem < 1000, so the nanoseconds stay below one second.
    Duration::new(secs, u32::from(rem).saturating_mul(1_000_000))
}

/// `n / d` and `n % d` for a divisor of at most 16 bits, by long division in 16-bit digits:
/// four 32-bit divisions. Small targets have no 64-bit divide instruction, and the library
/// routine that stands in for it costs almost a kilobyte of flash. A zero divisor acts as 1.
pub(crate) fn div_rem_small(n: u64, d: u16) -> (u64, u16) {
    let d = u32::from(d.max(1));
    let mut quotient = 0u64;
    let mut rem = 0u32;
    for shift in [48u32, 32, 16, 0] {
        let digit = u32::from((n >> shift) as u16);
        // rem < d <= 0xffff, so the shifted remainder and the digit fit in 32 bits.
        let current = (rem << 16) | digit;
        quotient = (quotient << 16) | u64::from(current.checked_div(d).unwrap_or(0));
        rem = current.checked_rem(d).unwrap_or(0);
    }
    (quotient, rem as u16)
}

pub(crate) fn duration_to_millis_ceil(d: Duration) -> u64 {
    let ms = d.as_millis();
    let ms = if !d.subsec_nanos().is_multiple_of(1_000_000) {
        ms.saturating_add(1)
    } else {
        ms
    };
    u64::try_from(ms).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_by_small_divisors_matches_u64_division() {
        let numbers = [
            0,
            1,
            999,
            1_000,
            1_001,
            65_535,
            65_536,
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 1,
            0x0123_4567_89ab_cdef,
            u64::MAX - 1,
            u64::MAX,
        ];
        for n in numbers {
            for d in [1u16, 2, 7, 10, 100, 1_000, 65_535] {
                assert_eq!(
                    div_rem_small(n, d),
                    (n / u64::from(d), (n % u64::from(d)) as u16),
                    "{n} / {d}"
                );
            }
            assert_eq!(millis(n), Duration::from_millis(n), "{n} ms");
        }
        assert_eq!(div_rem_small(5, 0), (5, 0));
    }

    #[test]
    fn an_instant_moves_back_by_a_span() {
        let t = Instant::from_millis(5_000);
        assert_eq!(t - Duration::from_secs(2), Instant::from_millis(3_000));
        assert_eq!(
            t.saturating_sub(Duration::from_micros(1_500)),
            Instant::from_millis(4_998)
        );
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(Instant::ZERO - Duration::from_secs(1), Instant::ZERO);
        assert_eq!(
            Instant::from_millis(5) - Instant::from_millis(9),
            Duration::ZERO
        );
        assert_eq!(Instant::from_secs(u64::MAX), Instant::MAX);
        assert_eq!(Instant::ZERO + Duration::MAX, Instant::MAX);
    }

    #[test]
    fn sub_millisecond_spans_round_up() {
        assert_eq!(
            Instant::ZERO + Duration::from_micros(1),
            Instant::from_millis(1)
        );
        assert_eq!(
            Instant::ZERO + Duration::from_micros(1000),
            Instant::from_millis(1)
        );
        assert_eq!(
            Instant::ZERO + Duration::from_micros(1001),
            Instant::from_millis(2)
        );
    }

    #[test]
    fn span_between_instants() {
        let a = Instant::from_millis(1_500);
        let b = Instant::from_secs(4);
        assert_eq!(b - a, Duration::from_millis(2_500));
    }
}
