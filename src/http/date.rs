//! HTTP-date (RFC 9110 section 5.6.7) to Unix seconds.

const SHORT_DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
const LONG_DAYS: [&[u8]; 7] = [
    b"Monday",
    b"Tuesday",
    b"Wednesday",
    b"Thursday",
    b"Friday",
    b"Saturday",
    b"Sunday",
];
const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Parses an HTTP-date into Unix seconds (UTC).
///
/// Accepts the preferred IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) and the two obsolete
/// forms RFC 9110 asks recipients to read: RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`, a
/// two-digit year below 70 read as 20xx, else 19xx) and asctime (`Sun Nov  6 08:49:37 1994`).
/// Names are matched case-insensitively and surrounding spaces are ignored; the weekday is
/// checked to be a weekday name but not against the date. Anything else, an impossible date
/// (`31 Feb`, hour 24) or a date before 1970 gives `None`. A leap second (`:60`) is accepted and
/// counts as the next second.
pub fn parse_http_date(value: &[u8]) -> Option<u64> {
    let value = value.trim_ascii();
    imf_fixdate(value)
        .or_else(|| rfc850(value))
        .or_else(|| asctime(value))
}

/// A calendar date and time of day, not yet checked.
struct Civil {
    year: u64,
    month: u64,
    day: u64,
    hour: u64,
    minute: u64,
    second: u64,
}

fn imf_fixdate(s: &[u8]) -> Option<u64> {
    let (name, s) = s.split_at_checked(3)?;
    one_of(&SHORT_DAYS, name)?;
    let s = tag(s, b", ")?;
    let (day, s) = digits(s, 2)?;
    let s = tag(s, b" ")?;
    let (month, s) = month(s)?;
    let s = tag(s, b" ")?;
    let (year, s) = digits(s, 4)?;
    let s = tag(s, b" ")?;
    let ((hour, minute, second), s) = time(s)?;
    let s = tag(s, b" GMT")?;
    end(s)?;
    unix(Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
    })
}

fn rfc850(s: &[u8]) -> Option<u64> {
    let comma = s.iter().position(|&b| b == b',')?;
    let (name, s) = s.split_at_checked(comma)?;
    one_of(&LONG_DAYS, name)?;
    let s = tag(s, b", ")?;
    let (day, s) = digits(s, 2)?;
    let s = tag(s, b"-")?;
    let (month, s) = month(s)?;
    let s = tag(s, b"-")?;
    let (yy, s) = digits(s, 2)?;
    let s = tag(s, b" ")?;
    let ((hour, minute, second), s) = time(s)?;
    let s = tag(s, b" GMT")?;
    end(s)?;
    let century = if yy < 70 { 2000 } else { 1900 };
    let year = yy.checked_add(century)?;
    unix(Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
    })
}

fn asctime(s: &[u8]) -> Option<u64> {
    let (name, s) = s.split_at_checked(3)?;
    one_of(&SHORT_DAYS, name)?;
    let s = tag(s, b" ")?;
    let (month, s) = month(s)?;
    let s = tag(s, b" ")?;
    let (day, s) = match s {
        [b' ', ..] => digits(s.get(1..)?, 1)?,
        _ => digits(s, 2)?,
    };
    let s = tag(s, b" ")?;
    let ((hour, minute, second), s) = time(s)?;
    let s = tag(s, b" ")?;
    let (year, s) = digits(s, 4)?;
    end(s)?;
    unix(Civil {
        year,
        month,
        day,
        hour,
        minute,
        second,
    })
}

/// Hours, minutes, seconds.
type Hms = (u64, u64, u64);

/// `HH:MM:SS`.
fn time(s: &[u8]) -> Option<(Hms, &[u8])> {
    let (hour, s) = digits(s, 2)?;
    let s = tag(s, b":")?;
    let (minute, s) = digits(s, 2)?;
    let s = tag(s, b":")?;
    let (second, s) = digits(s, 2)?;
    Some(((hour, minute, second), s))
}

/// A three-letter month name, returned as 1..=12.
fn month(s: &[u8]) -> Option<(u64, &[u8])> {
    let (name, rest) = s.split_at_checked(3)?;
    let index = one_of(&MONTHS, name)?;
    Some((u64::try_from(index).ok()?.checked_add(1)?, rest))
}

/// Index of `name` in `names`, case-insensitively.
fn one_of(names: &[&[u8]], name: &[u8]) -> Option<usize> {
    names.iter().position(|n| n.eq_ignore_ascii_case(name))
}

fn tag<'s>(s: &'s [u8], expected: &[u8]) -> Option<&'s [u8]> {
    let (head, rest) = s.split_at_checked(expected.len())?;
    head.eq_ignore_ascii_case(expected).then_some(rest)
}

fn end(s: &[u8]) -> Option<()> {
    s.is_empty().then_some(())
}

/// Exactly `n` ASCII digits as a number.
fn digits(s: &[u8], n: usize) -> Option<(u64, &[u8])> {
    let (head, rest) = s.split_at_checked(n)?;
    let mut value = 0u64;
    for &b in head {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value
            .checked_mul(10)?
            .checked_add(u64::from(b.wrapping_sub(b'0')))?;
    }
    Some((value, rest))
}

fn is_leap(year: u64) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Checks ranges and converts to Unix seconds.
fn unix(c: Civil) -> Option<u64> {
    if c.year < 1970
        || !(1..=12).contains(&c.month)
        || c.day == 0
        || c.day > days_in_month(c.year, c.month)
        || c.hour > 23
        || c.minute > 59
        || c.second > 60
    {
        return None;
    }
    let days = days_from_civil(c.year, c.month, c.day)?;
    days.checked_mul(86_400)?
        .checked_add(c.hour.checked_mul(3600)?)?
        .checked_add(c.minute.checked_mul(60)?)?
        .checked_add(c.second)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`),
/// for years from 1970 on (so every intermediate value is non-negative).
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let y = if month <= 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let era = y / 400;
    let yoe = y % 400;
    let mp = if month > 2 {
        month.checked_sub(3)?
    } else {
        month.checked_add(9)?
    };
    let doy = mp
        .checked_mul(153)?
        .checked_add(2)?
        .checked_div(5)?
        .checked_add(day)?
        .checked_sub(1)?;
    let doe = yoe
        .checked_mul(365)?
        .checked_add(yoe / 4)?
        .checked_sub(yoe / 100)?
        .checked_add(doy)?;
    era.checked_mul(146_097)?
        .checked_add(doe)?
        .checked_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::parse_http_date;

    #[test]
    fn table() {
        let table: &[(&str, Option<u64>)] = &[
            // The three forms of RFC 9110's example.
            ("Sun, 06 Nov 1994 08:49:37 GMT", Some(784_111_777)),
            ("Sunday, 06-Nov-94 08:49:37 GMT", Some(784_111_777)),
            ("Sun Nov  6 08:49:37 1994", Some(784_111_777)),
            ("Sun Nov 06 08:49:37 1994", Some(784_111_777)),
            ("  Sun, 06 Nov 1994 08:49:37 GMT\t", Some(784_111_777)),
            ("sun, 06 nov 1994 08:49:37 gmt", Some(784_111_777)),
            ("Thu, 01 Jan 1970 00:00:00 GMT", Some(0)),
            ("Thu, 01 Jan 1970 00:00:01 GMT", Some(1)),
            ("Wed, 31 Dec 1969 23:59:59 GMT", None),
            // Leap years.
            ("Thu, 29 Feb 2024 12:00:00 GMT", Some(1_709_208_000)),
            ("Fri, 01 Mar 2024 00:00:00 GMT", Some(1_709_251_200)),
            ("Tue, 29 Feb 2000 00:00:00 GMT", Some(951_782_400)),
            ("Thu, 29 Feb 2100 00:00:00 GMT", None),
            ("Sun, 29 Feb 2023 00:00:00 GMT", None),
            ("Sat, 31 Dec 2016 23:59:60 GMT", Some(1_483_228_800)),
            ("Tue, 19 Jan 2038 03:14:08 GMT", Some(2_147_483_648)),
            ("Fri, 31 Dec 9999 23:59:59 GMT", Some(253_402_300_799)),
            ("Thu, 01 Jan 2026 00:00:00 GMT", Some(1_767_225_600)),
            // RFC 850 two-digit years.
            ("Thursday, 01-Jan-70 00:00:00 GMT", Some(0)),
            ("Monday, 01-Jan-69 00:00:00 GMT", Some(3_124_224_000)),
            ("Friday, 01-Jan-99 00:00:00 GMT", Some(915_148_800)),
            // Junk.
            ("", None),
            ("0", None),
            ("120", None),
            ("Sun, 06 Nov 1994 08:49:37 UTC", None),
            ("Sun, 06 Nov 1994 08:49:37 GMT x", None),
            ("Sun, 6 Nov 1994 08:49:37 GMT", None),
            ("Xyz, 06 Nov 1994 08:49:37 GMT", None),
            ("Sun, 06 Foo 1994 08:49:37 GMT", None),
            ("Sun, 32 Jan 1994 08:49:37 GMT", None),
            ("Sun, 00 Jan 1994 08:49:37 GMT", None),
            ("Sun, 31 Apr 1994 08:49:37 GMT", None),
            ("Sun, 06 Nov 1994 24:00:00 GMT", None),
            ("Sun, 06 Nov 1994 23:60:00 GMT", None),
            ("Sun, 06 Nov 1994 23:59:61 GMT", None),
            ("Sun, 06 Nov 19a4 08:49:37 GMT", None),
            ("Sun, 06 Nov 1994 08:49 GMT", None),
            ("Sun, 06 Nov 1994 08:49:37", None),
            ("Sunday, 06-Nov-1994 08:49:37 GMT", None),
            ("Sun, 06-Nov-94 08:49:37 GMT", None),
            ("Sun Nov 6 08:49:37 1994", None),
            ("Sun Nov  6 08:49:37 94", None),
            ("Sun, 06 Nov +994 08:49:37 GMT", None),
            ("2026-01-01T00:00:00Z", None),
            ("Sun, 06 Nov 1994 08:49:37 GMT\u{e9}", None),
        ];
        for (text, expect) in table {
            assert_eq!(parse_http_date(text.as_bytes()), *expect, "{text:?}");
        }
    }

    #[test]
    fn every_day_of_some_years_is_consecutive() {
        const M: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let mut expect = 0u64;
        for year in 1970..2110u64 {
            for (mi, name) in M.iter().enumerate() {
                for day in 1..=31u64 {
                    let text = std::format!("Mon, {day:02} {name} {year} 00:00:00 GMT");
                    let got = parse_http_date(text.as_bytes());
                    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
                    let len = [
                        31,
                        if leap { 29 } else { 28 },
                        31,
                        30,
                        31,
                        30,
                        31,
                        31,
                        30,
                        31,
                        30,
                        31,
                    ][mi];
                    if day <= len {
                        assert_eq!(got, Some(expect), "{text}");
                        expect += 86_400;
                    } else {
                        assert_eq!(got, None, "{text}");
                    }
                }
            }
        }
    }

    extern crate std;
}
