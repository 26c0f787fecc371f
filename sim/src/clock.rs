//! The simulator's clock: real `tokio::time` scaled by a factor, and the date formats the APIs use.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Maps real (tokio) time to simulated time.
///
/// Simulated time runs `scale` times faster than real time, so a job scripted to take ten
/// simulated minutes finishes in one real second at a scale of 600. Every duration the simulator
/// is told about in seconds (job steps, `return_timeout`, `poll_timeout`, the purge delay) is
/// simulated time; network faults (stalls, drips, refusals) are real time.
#[derive(Debug, Clone)]
pub struct SimClock {
    start: Instant,
    start_wall_micros: i64,
    scale: f64,
}

impl SimClock {
    /// A clock starting now; a scale that is not finite and positive is taken as 1, and the
    /// scale is kept within 0.001..=1e6 so that every conversion stays finite.
    pub fn new(scale: f64) -> Self {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale.clamp(1e-3, 1e6)
        } else {
            1.0
        };
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Self {
            start: Instant::now(),
            start_wall_micros: wall,
            scale,
        }
    }

    /// The scale factor (simulated seconds per real second).
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Simulated time elapsed since the clock started, at real instant `at`.
    pub fn sim_at(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.start).mul_f64(self.scale)
    }

    /// Simulated time now.
    pub fn sim_now(&self) -> Duration {
        self.sim_at(Instant::now())
    }

    /// The real duration that a simulated span takes.
    pub fn real_for(&self, sim: Duration) -> Duration {
        sim.div_f64(self.scale)
    }

    /// The real instant at which simulated time reaches `sim`.
    pub fn instant_at(&self, sim: Duration) -> Instant {
        self.start + self.real_for(sim)
    }

    /// Wall-clock microseconds since the Unix epoch at simulated time `sim`.
    pub fn wall_micros(&self, sim: Duration) -> i64 {
        let d = i64::try_from(sim.as_micros()).unwrap_or(i64::MAX);
        self.start_wall_micros.saturating_add(d)
    }

    /// Simulated time at a wall-clock microsecond value (inverse of [`Self::wall_micros`]).
    pub fn sim_from_wall(&self, micros: i64) -> Option<Duration> {
        let d = micros.checked_sub(self.start_wall_micros)?;
        u64::try_from(d).ok().map(Duration::from_micros)
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Fractional-second precision of a formatted timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frac {
    /// Whole seconds (`2020-01-09T15:38:08-05:00`, ONTAP).
    None,
    /// Milliseconds (`2020-06-03T04:52:28.478Z`).
    Millis,
    /// Microseconds (`2019-04-04T15:41:29.140265Z`, Deploy).
    Micros,
    /// Nanoseconds (`2020-06-02T07:05:21.130260774Z`, Service Engine).
    Nanos,
}

/// RFC 3339 text for `micros` since the epoch, shown in a zone `offset_minutes` east of UTC
/// (`Z` when zero and `z_for_utc`).
pub fn rfc3339(micros: i64, frac: Frac, offset_minutes: i32, z_for_utc: bool) -> String {
    let local = micros.saturating_add(i64::from(offset_minutes) * 60_000_000);
    let secs = local.div_euclid(1_000_000);
    let sub = local.rem_euclid(1_000_000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let (h, mi, s) = (sod / 3600, (sod % 3600) / 60, sod % 60);
    let mut out = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
    match frac {
        Frac::None => {}
        Frac::Millis => out.push_str(&format!(".{:03}", sub / 1000)),
        Frac::Micros => out.push_str(&format!(".{sub:06}")),
        Frac::Nanos => out.push_str(&format!(".{sub:06}{:03}", (micros.rem_euclid(997)))),
    }
    if offset_minutes == 0 && z_for_utc {
        out.push('Z');
    } else {
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let a = offset_minutes.unsigned_abs();
        out.push_str(&format!("{sign}{:02}:{:02}", a / 60, a % 60));
    }
    out
}

/// Parses RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±hh:mm)`) into microseconds since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let t = b.get(from..from.checked_add(len)?)?;
        if !t.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(t).ok()?.parse().ok()
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || b.get(13) != Some(&b':') {
        return None;
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let mut digits = 0;
        while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if digits < 6 {
                micros = micros * 10 + i64::from(c - b'0');
            }
            digits += 1;
            i += 1;
        }
        if digits == 0 {
            return None;
        }
        for _ in digits..6 {
            micros *= 10;
        }
    }
    let offset_secs = match b.get(i) {
        Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
        Some(&c) if (c == b'+' || c == b'-' || c == b' ') && i + 6 == b.len() => {
            // A `+` left unencoded in a query may have become a space.
            let oh = num(i + 1, 2)?;
            let om = num(i + 4, 2)?;
            let v = oh * 3600 + om * 60;
            if c == b'-' { -v } else { v }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_secs;
    Some(secs * 1_000_000 + micros)
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) for `Retry-After` and `Date`.
pub fn http_date(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let sod = unix_secs.rem_euclid(86_400);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let wd = WD
        .get(days.rem_euclid(7) as usize)
        .copied()
        .unwrap_or("Thu");
    let mon = MO
        .get((mo as usize).saturating_sub(1))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{wd}, {d:02} {mon} {y:04} {:02}:{:02}:{:02} GMT",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// Seconds since the epoch now (wall clock).
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let cases = [
            ("2019-04-04T15:41:29.140265Z", Frac::Micros, 0, true),
            ("2020-01-09T15:38:08-05:00", Frac::None, -300, false),
            ("2020-06-03T04:52:28.478Z", Frac::Millis, 0, true),
            ("2021-04-10T09:51:13+00:00", Frac::None, 0, false),
        ];
        for (text, frac, off, z) in cases {
            let m = parse_rfc3339(text).expect(text);
            assert_eq!(rfc3339(m, frac, off, z), text);
        }
        assert_eq!(
            parse_rfc3339("2019-04-04T15:41:29.1Z"),
            parse_rfc3339("2019-04-04T15:41:29.100000Z")
        );
        assert_eq!(
            parse_rfc3339("2021-04-10T09:51:13 00:00"),
            parse_rfc3339("2021-04-10T09:51:13Z")
        );
        for bad in [
            "",
            "2019",
            "2019-04-04T15:41:29",
            "2019-13-04T15:41:29Z",
            "x019-04-04T15:41:29Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn http_dates() {
        assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
