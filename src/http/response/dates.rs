//! Dates and `Retry-After`: a wait is measured against the answer's own `Date`, never a device
//! clock.

use core::time::Duration;

#[cfg(feature = "http-date")]
use crate::http::date::parse_http_date;

use super::head::parse_decimal;

/// An HTTP-date as Unix seconds, when the parser reads dates (feature `http-date`).
#[cfg(feature = "http-date")]
pub(super) fn read_http_date(value: &[u8]) -> Option<u64> {
    parse_http_date(value)
}
/// Without the feature `http-date` the parser reads no date: a `Retry-After` date counts as
/// absent (the policy's own backoff applies) and [`Response::date`] is `None`.
#[cfg(not(feature = "http-date"))]
pub(super) fn read_http_date(_value: &[u8]) -> Option<u64> {
    None
}

/// A `Retry-After` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RetryAfter {
    /// Delta-seconds (capped at `u32::MAX`).
    Seconds(u32),
    /// An HTTP-date, as Unix seconds.
    Date(u64),
}

impl RetryAfter {
    /// The wait it asks for. A date is measured against the response's own `Date` (never a
    /// device clock): `None` when it is a date and `date` is `None`. Past dates give zero.
    pub fn delay(self, date: Option<u64>) -> Option<Duration> {
        match self {
            RetryAfter::Seconds(s) => Some(Duration::from_secs(u64::from(s))),
            RetryAfter::Date(at) => date.map(|now| Duration::from_secs(at.saturating_sub(now))),
        }
    }

    /// Reads a `Retry-After` field value; `None` when it is neither form (or a date, without the
    /// feature `http-date`).
    pub fn parse(value: &[u8]) -> Option<RetryAfter> {
        let value = value.trim_ascii();
        match parse_decimal(value) {
            Some(n) => Some(RetryAfter::Seconds(u32::try_from(n).unwrap_or(u32::MAX))),
            None => read_http_date(value).map(RetryAfter::Date),
        }
    }
}
