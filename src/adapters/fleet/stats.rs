//! The fleet's counters: plain atomics bumped on the way (no lock), read as one [`FleetStats`].

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::Outcome;

/// One of each outcome kind (payloads do not count), in the order [`OutcomeCounts`] keeps them.
const KINDS: [Outcome; 16] = [
    Outcome::Succeeded,
    Outcome::SucceededWithWarnings,
    Outcome::PartiallyFailed,
    Outcome::Failed,
    Outcome::CompletedWithoutJob { status: 0 },
    Outcome::MultipleJobs { count: 0 },
    Outcome::DeadlineExceeded,
    Outcome::Expired,
    Outcome::SubmitOutcomeUnknown,
    Outcome::Rejected { status: 0 },
    Outcome::AuthRequired { status: 0 },
    Outcome::Cancelled,
    Outcome::TransportFailed {
        error: crate::TransportError::ConnectFailed,
    },
    Outcome::RetriesExhausted {
        last: crate::RetryCause::Status(0),
    },
    Outcome::Paused,
    Outcome::UnknownState,
];

/// Where `outcome`'s kind is counted.
const fn kind(outcome: Outcome) -> usize {
    match outcome {
        Outcome::Succeeded => 0,
        Outcome::SucceededWithWarnings => 1,
        Outcome::PartiallyFailed => 2,
        Outcome::Failed => 3,
        Outcome::CompletedWithoutJob { .. } => 4,
        Outcome::MultipleJobs { .. } => 5,
        Outcome::DeadlineExceeded => 6,
        Outcome::Expired => 7,
        Outcome::SubmitOutcomeUnknown => 8,
        Outcome::Rejected { .. } => 9,
        Outcome::AuthRequired { .. } => 10,
        Outcome::Cancelled => 11,
        Outcome::TransportFailed { .. } => 12,
        Outcome::RetriesExhausted { .. } => 13,
        Outcome::Paused => 14,
        Outcome::UnknownState => 15,
    }
}

/// The live counters, shared by the fleet, its jobs' futures and its open connections.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) waiting_for_slot: AtomicU64,
    pub(super) waiting_for_connection: AtomicU64,
    pub(super) requests_in_flight: AtomicU64,
    pub(super) sleeping: AtomicU64,
    pub(super) connections_open: AtomicU64,
    pub(super) connections_opened: AtomicU64,
    pub(super) requests: AtomicU64,
    pub(super) submits_hold_allowed: AtomicU64,
    pub(super) submits_hold_waived: AtomicU64,
    pub(super) retries: AtomicU64,
    pub(super) errors: AtomicU64,
    outcomes: [AtomicU64; KINDS.len()],
}

impl Counters {
    pub(super) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    pub(super) fn outcome(&self, outcome: Outcome) {
        if let Some(count) = self.outcomes.get(kind(outcome)) {
            Self::bump(count);
        }
    }

    pub(super) fn snapshot(&self, jobs_in_flight: u64) -> FleetStats {
        let read = |a: &AtomicU64| a.load(Relaxed);
        FleetStats {
            jobs_in_flight,
            waiting_for_slot: read(&self.waiting_for_slot),
            waiting_for_connection: read(&self.waiting_for_connection),
            requests_in_flight: read(&self.requests_in_flight),
            sleeping: read(&self.sleeping),
            connections_open: read(&self.connections_open),
            connections_opened: read(&self.connections_opened),
            requests: read(&self.requests),
            submits_hold_allowed: read(&self.submits_hold_allowed),
            submits_hold_waived: read(&self.submits_hold_waived),
            retries: read(&self.retries),
            errors: read(&self.errors),
            outcomes: OutcomeCounts(self.outcomes.each_ref().map(read)),
        }
    }
}

/// A gauge raised for as long as this lives (a phase a job is in; an open connection).
pub(super) struct Raised<'a>(&'a AtomicU64);

impl<'a> Raised<'a> {
    pub(super) fn new(gauge: &'a AtomicU64) -> Self {
        gauge.fetch_add(1, Relaxed);
        Raised(gauge)
    }
}

impl Drop for Raised<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// What a [`Fleet`](super::Fleet) is doing and has done, read at any time with
/// [`Fleet::stats`](super::Fleet::stats).
///
/// Gauges (now) and counters (since the fleet was made, never decreasing). Each field is read
/// on its own, without a lock, so a snapshot taken while jobs run may be off by the few jobs
/// changing phase at that instant; once the fleet is quiet the figures agree (for instance the
/// outcomes and errors add up to the drives that ended).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FleetStats {
    /// Gauge: jobs holding a [`Slot`](super::Slot) (at most `max_jobs_in_flight`); a job is in
    /// one of the three phases below most of that time, and briefly in none while its machine
    /// decides.
    pub jobs_in_flight: u64,
    /// Gauge: callers waiting in [`Fleet::slot`](super::Fleet::slot) for a job's place.
    pub waiting_for_slot: u64,
    /// Gauge: jobs with a request due, waiting for a connection of their host's pool.
    pub waiting_for_connection: u64,
    /// Gauge: jobs with a request on a leased connection (connecting, writing, or waiting for
    /// and reading the answer, server-side holds included).
    pub requests_in_flight: u64,
    /// Gauge: jobs sleeping until their next request; they hold no connection.
    pub sleeping: u64,
    /// Gauge: connections open, all hosts (leased or idle in a pool).
    pub connections_open: u64,
    /// Counter: connections opened.
    pub connections_opened: u64,
    /// Counter: requests sent (submits, polls, cancels, list pages), retries included.
    pub requests: u64,
    /// Counter: submits sent with the server-side hold the configuration asks for (ONTAP
    /// `return_timeout`); see [`SubmitHold`](super::SubmitHold).
    pub submits_hold_allowed: u64,
    /// Counter: submits sent with the hold waived (as 0) because other work waited for the
    /// host's connections.
    pub submits_hold_waived: u64,
    /// Counter: retries scheduled by the jobs' machines ([`Event::Retrying`](crate::Event)),
    /// for jobs driven with [`Slot::drive`](super::Slot::drive).
    pub retries: u64,
    /// Counter: drives that ended with an `Err` (a configuration error), for jobs driven with
    /// [`Slot::drive`](super::Slot::drive).
    pub errors: u64,
    /// Counters: drives that ended with each outcome kind, for jobs driven with
    /// [`Slot::drive`](super::Slot::drive).
    pub outcomes: OutcomeCounts,
}

/// How many drives ended with each [`Outcome`] kind (payloads such as a status are not told
/// apart).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutcomeCounts([u64; KINDS.len()]);

impl OutcomeCounts {
    /// Drives that ended with `outcome`'s kind.
    pub fn get(&self, outcome: Outcome) -> u64 {
        self.0.get(kind(outcome)).copied().unwrap_or(0)
    }

    /// Every kind, by [`Outcome::name`], with its count (zeros included), in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        KINDS.iter().zip(self.0.iter()).map(|(o, n)| (o.name(), *n))
    }

    /// Drives that ended with any outcome.
    pub fn total(&self) -> u64 {
        self.0.iter().fold(0u64, |sum, n| sum.saturating_add(*n))
    }
}

impl FleetStats {
    /// Writes the snapshot in the Prometheus text exposition format (version 0.0.4): one
    /// `# HELP` and `# TYPE` line per metric, names prefixed `jobpoll_fleet_`, counters ending
    /// in `_total`, the outcomes as one counter labelled `outcome="<Outcome::name>"`.
    pub fn write_prometheus<W: fmt::Write>(&self, out: &mut W) -> fmt::Result {
        let gauges: [(&str, &str, u64); 6] = [
            (
                "jobs_in_flight",
                "Jobs holding a slot of the fleet.",
                self.jobs_in_flight,
            ),
            (
                "jobs_waiting_for_slot",
                "Callers waiting for a job slot.",
                self.waiting_for_slot,
            ),
            (
                "jobs_waiting_for_connection",
                "Jobs with a request due, waiting for a pooled connection.",
                self.waiting_for_connection,
            ),
            (
                "jobs_requesting",
                "Jobs with a request in flight on a leased connection.",
                self.requests_in_flight,
            ),
            (
                "jobs_sleeping",
                "Jobs sleeping until their next request.",
                self.sleeping,
            ),
            (
                "connections_open",
                "Connections open, all hosts.",
                self.connections_open,
            ),
        ];
        for (name, help, value) in gauges {
            writeln!(out, "# HELP jobpoll_fleet_{name} {help}")?;
            writeln!(out, "# TYPE jobpoll_fleet_{name} gauge")?;
            writeln!(out, "jobpoll_fleet_{name} {value}")?;
        }
        let counters: [(&str, &str, u64); 6] = [
            (
                "connections_opened",
                "Connections opened.",
                self.connections_opened,
            ),
            (
                "requests",
                "Requests sent, retries included.",
                self.requests,
            ),
            (
                "submits_held",
                "Submits sent with the configured server-side hold.",
                self.submits_hold_allowed,
            ),
            (
                "submits_hold_waived",
                "Submits sent with the hold waived because work waited for a connection.",
                self.submits_hold_waived,
            ),
            ("retries", "Retries scheduled.", self.retries),
            (
                "drive_errors",
                "Drives that ended with an error.",
                self.errors,
            ),
        ];
        for (name, help, value) in counters {
            writeln!(out, "# HELP jobpoll_fleet_{name}_total {help}")?;
            writeln!(out, "# TYPE jobpoll_fleet_{name}_total counter")?;
            writeln!(out, "jobpoll_fleet_{name}_total {value}")?;
        }
        writeln!(
            out,
            "# HELP jobpoll_fleet_outcomes_total Drives that ended, by outcome."
        )?;
        writeln!(out, "# TYPE jobpoll_fleet_outcomes_total counter")?;
        for (name, value) in self.outcomes.iter() {
            writeln!(
                out,
                "jobpoll_fleet_outcomes_total{{outcome=\"{name}\"}} {value}"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_counted_in_its_own_place() {
        for (i, outcome) in KINDS.iter().enumerate() {
            assert_eq!(kind(*outcome), i, "{outcome:?}");
        }
        let counters = Counters::default();
        counters.outcome(Outcome::Rejected { status: 409 });
        counters.outcome(Outcome::Rejected { status: 400 });
        counters.outcome(Outcome::Succeeded);
        let stats = counters.snapshot(0);
        assert_eq!(stats.outcomes.get(Outcome::Rejected { status: 1 }), 2);
        assert_eq!(stats.outcomes.total(), 3);
        assert_eq!(stats.outcomes.iter().count(), 16);
    }

    #[test]
    fn a_raised_gauge_falls_when_dropped() {
        let gauge = AtomicU64::new(0);
        let a = Raised::new(&gauge);
        let b = Raised::new(&gauge);
        assert_eq!(gauge.load(Relaxed), 2);
        drop((a, b));
        assert_eq!(gauge.load(Relaxed), 0);
    }
}
