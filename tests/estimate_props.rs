//! Properties of the duration estimate: its bytes round-trip, arbitrary bytes never panic, and
//! outliers (a run that failed fast, one that ran ten times longer or more) move neither the
//! median nor the window out of bounds set by the normal runs alone.

use std::time::Duration;

use jobpoll::estimate::{ESTIMATE_LEN, SAMPLES};
use jobpoll::{Estimate, Expected};
use proptest::prelude::*;

fn learnt(ms: &[u64]) -> Estimate {
    let mut e = Estimate::new();
    for &m in ms {
        e.record(Duration::from_millis(m));
    }
    e
}

/// An outlier: zero, a fast failure, ten times and more the band's end, or the largest value.
fn outlier(band_end: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        0..band_end / 2,
        (band_end * 10)..(band_end * 100),
        Just(u64::from(u32::MAX)),
        Just(u64::MAX / 2),
    ]
}

/// Normal runs within `[a, a * 1.2]` (a band like the bench's 0.9 D to 1.1 D).
fn normal_runs(n: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = (u64, Vec<u64>)> {
    (1_000u64..10_000_000).prop_flat_map(move |a| {
        let b = a + a / 5;
        (Just(a), prop::collection::vec(a..=b, n.clone()))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn bytes_round_trip(ms in prop::collection::vec(any::<u64>(), 0..20)) {
        let e = learnt(&ms);
        prop_assert_eq!(Estimate::from_bytes(&e.to_bytes()), Ok(e));
        prop_assert!(e.len() <= SAMPLES);
    }

    #[test]
    fn arbitrary_bytes_are_an_error_or_round_trip(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            // The right length with the right head, so that the checksum and layout are reached.
            prop::collection::vec(any::<u8>(), ESTIMATE_LEN - 4).prop_map(|mut b| {
                b[..3].copy_from_slice(b"JE\x01");
                b[3] %= 10;
                let mut sum: u32 = 0x811c_9dc5;
                for &x in &b {
                    sum = (sum ^ u32::from(x)).wrapping_mul(0x0100_0193);
                }
                b.extend_from_slice(&sum.to_le_bytes());
                b
            }),
        ]
    ) {
        if let Ok(e) = Estimate::from_bytes(&bytes) {
            prop_assert_eq!(&e.to_bytes()[..], &bytes[..]);
            let _ = e.expected();
            let _ = e.median();
        }
    }

    /// Four to seven normal runs and one outlier, in any order: the median stays in the band
    /// and the window within the band widened by 1.5 times its width (and the least spread of
    /// 5 % of the median).
    #[test]
    fn one_outlier_does_not_wreck_it(
        (a, mut runs) in normal_runs(4..=7),
        at in any::<prop::sample::Index>(),
        extra in outlier(12_000_000),
    ) {
        let b = a + a / 5;
        let i = at.index(runs.len() + 1);
        runs.insert(i, extra);
        check(a, b, &learnt(&runs))?;
    }

    /// Six normal runs and two outliers on the same side, or one on each side.
    #[test]
    fn two_outliers_of_eight_do_not_wreck_it(
        (a, mut runs) in normal_runs(6..=6),
        x in outlier(12_000_000),
        y in outlier(12_000_000),
        at in any::<prop::sample::Index>(),
    ) {
        let b = a + a / 5;
        runs.insert(at.index(runs.len() + 1), x);
        runs.push(y);
        check(a, b, &learnt(&runs))?;
    }

    /// Three runs, one of them an outlier: the median is still a normal run's.
    #[test]
    fn three_runs_one_outlier(
        (a, mut runs) in normal_runs(2..=2),
        x in outlier(12_000_000),
        at in any::<prop::sample::Index>(),
    ) {
        let b = a + a / 5;
        runs.insert(at.index(3), x);
        let e = learnt(&runs);
        let m = e.median().map_or(0, |d| d.as_millis() as u64);
        prop_assert!(m >= a && m <= b, "median {} outside [{}, {}]", m, a, b);
        let w = e.expected().unwrap_or(Expected::between(Duration::ZERO, Duration::ZERO));
        prop_assert!(w.earliest().as_millis() as u64 >= a - a * 15 / 100 - 1);
        prop_assert!(w.latest().as_millis() as u64 <= b + b * 15 / 100 + 1);
    }

    /// Whatever was recorded, the window is ordered and holds the median.
    #[test]
    fn the_window_holds_the_median(ms in prop::collection::vec(any::<u32>(), 1..12)) {
        let e = learnt(&ms.iter().map(|&m| u64::from(m)).collect::<Vec<_>>());
        let w = e.expected().expect("history");
        let m = e.median().expect("history");
        prop_assert!(w.earliest() <= m && m <= w.latest(), "{:?} {:?}", w, m);
    }
}

fn check(a: u64, b: u64, e: &Estimate) -> Result<(), TestCaseError> {
    let m = e.median().map_or(0, |d| d.as_millis() as u64);
    prop_assert!(m >= a && m <= b, "median {} outside [{}, {}]", m, a, b);
    let w = e.expected().expect("history");
    let width = b - a;
    let low = (a - width * 3 / 2).min(m - m / 20);
    let high = (b + width * 3 / 2).max(m + m / 20);
    let (earliest, latest) = (
        w.earliest().as_millis() as u64,
        w.latest().as_millis() as u64,
    );
    prop_assert!(
        earliest + 1 >= low && latest <= high + 1,
        "window [{}, {}] outside [{}, {}] for the band [{}, {}]",
        earliest,
        latest,
        low,
        high,
        a,
        b
    );
    Ok(())
}
