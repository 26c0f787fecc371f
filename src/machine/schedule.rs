//! Scheduling: what follows an answer or a failure (backoff, retries, the deadline, the
//! final poll, long polls, the cancel's end).

use core::time::Duration;

use crate::action::{Event, Outcome, Purpose, RetryCause};
use crate::config::Config;
use crate::job_ref::RefKind;
use crate::policy::{PausedPolicy, UnknownStatePolicy};
use crate::state::JobState;
use crate::time::Instant;

use super::{Decision, InFlight, JobPoller, Next, Phase};

impl JobPoller {
    /// Turns an answer or a failure into the next step, as it is handled (`handle_*` have the
    /// configuration, so nothing waits for the next `poll`).
    pub(super) fn decide(&mut self, cfg: &Config<'_>, now: Instant, decision: Decision) {
        let policy = &cfg.policy;
        match decision {
            Decision::Accepted => {
                let left = self.deadline.saturating_duration_since(now);
                if !self.marker.is_empty() && self.dialect.profile().long_poll_secs(left).is_some()
                {
                    // The server holds the first poll until the job changes.
                    self.phase = Phase::Poll;
                } else {
                    self.schedule_poll(cfg, now);
                }
            }
            Decision::Polled(state) => {
                self.attempt = self.attempt.saturating_add(1);
                if state == JobState::Paused && policy.on_paused == PausedPolicy::Stop {
                    self.finish(Outcome::Paused);
                } else if state == JobState::Unknown
                    && policy.on_unknown_state == UnknownStatePolicy::Stop
                {
                    self.finish(Outcome::UnknownState);
                } else {
                    self.schedule_poll(cfg, now);
                }
            }
            Decision::FinishedLinkOnly => {
                if self.dialect.profile().confirm_finished_link {
                    self.phase = Phase::Poll;
                } else {
                    self.finish(Outcome::Succeeded);
                }
            }
            Decision::NotFound => {
                let since = *self.not_found_since.get_or_insert(now);
                if self.seen
                    || self.resumed_past_purge
                    || now.saturating_duration_since(since) >= policy.not_found_grace
                {
                    self.finish(Outcome::Expired);
                    return;
                }
                let gap = policy.poll_interval(self.attempt, self.elapsed(), self.rng.next_u32());
                let at = now.saturating_add(gap);
                if self.schedule(now, at, Next::Poll) {
                    self.outbox.push_event(Event::Retrying {
                        cause: RetryCause::NotYetVisible,
                        at: self.sleep_until(),
                    });
                }
            }
            Decision::Failed {
                cause,
                server_wait,
                next,
            } => {
                self.failures = self.failures.saturating_add(1);
                if self.failures > policy.max_retries {
                    self.finish(Outcome::RetriesExhausted { last: cause });
                    return;
                }
                if next == Next::Poll && now >= self.deadline && !self.final_poll_sent {
                    // The failure came after the deadline with no answer at or after it: the
                    // final poll still happens, now.
                    self.phase = Phase::Poll;
                    return;
                }
                let wait = server_wait
                    .unwrap_or_else(|| policy.retry_delay(self.failures, self.rng.next_u32()));
                let at = now.saturating_add(wait);
                if self.schedule(now, at, next) {
                    crate::log::warning!("jobpoll: {:?}; retry at {:?}", cause, self.sleep_until());
                    self.outbox.push_event(Event::Retrying {
                        cause,
                        at: self.sleep_until(),
                    });
                }
            }
            Decision::PollNow => self.phase = Phase::Poll,
        }
    }

    /// What follows a non-terminal answer. A long poll that saw a change, or held for its
    /// time, is followed at once by the next long poll (no backoff, not a failure). One that
    /// came back early with nothing changed means the server's `last_modified` comparison is
    /// inclusive: the marker is advanced by its smallest unit from then on; if that does not
    /// help either, polling falls back to the normal backoff, so it never spins.
    pub(super) fn after_long_poll(
        &mut self,
        now: Instant,
        in_flight: InFlight,
        changed: bool,
        state: JobState,
    ) -> Decision {
        if in_flight.hold_secs == 0 {
            return Decision::Polled(state);
        }
        let left = self.deadline.saturating_duration_since(now);
        if self.marker.is_empty() || self.dialect.profile().long_poll_secs(left).is_none() {
            // The next request cannot be a long poll: the normal schedule (and the final poll
            // at the deadline) takes over.
            return Decision::Polled(state);
        }
        let held = now.saturating_duration_since(in_flight.sent_at);
        let hold = Duration::from_secs(u64::from(in_flight.hold_secs));
        if changed || held.saturating_mul(2) >= hold {
            return Decision::PollNow;
        }
        if !self.marker.inclusive {
            self.marker.inclusive = true;
            return Decision::PollNow;
        }
        Decision::Polled(state)
    }

    /// A request failed without a usable answer.
    pub(super) fn request_failed(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        in_flight: InFlight,
        cause: RetryCause,
        nothing_sent: bool,
    ) {
        if in_flight.purpose == Purpose::Cancel {
            // Not retried: the job is followed either way, and its end says what happened.
            self.after_cancel(Event::CancelRefused { status: None });
            return;
        }
        let next = if in_flight.purpose == Purpose::Submit {
            if !nothing_sent {
                // It may have reached the server: never sent again.
                self.finish(Outcome::SubmitOutcomeUnknown);
                return;
            }
            Next::Submit
        } else {
            Next::Poll
        };
        let failed = Decision::Failed {
            cause,
            server_wait: None,
            next,
        };
        self.decide(cfg, now, failed);
    }

    /// The same poll again, at once. A redone final poll is still the final poll.
    pub(super) fn redo_now(&mut self, in_flight: InFlight) {
        if in_flight.purpose == Purpose::FinalPoll {
            self.final_poll_sent = false;
        }
        self.phase = Phase::Poll;
    }

    pub(super) fn sleep_until(&self) -> Instant {
        match self.phase {
            Phase::Sleep { until, .. } => until,
            _ => self.last_now,
        }
    }

    pub(super) fn schedule_poll(&mut self, cfg: &Config<'_>, now: Instant) {
        #[cfg(feature = "estimate")]
        if let Some(expected) = &self.expected {
            let gap = cfg
                .policy
                .expected_interval(expected, self.elapsed(), self.rng.next_u32());
            self.schedule(now, now.saturating_add(gap), Next::Poll);
            return;
        }
        let gap = cfg
            .policy
            .poll_interval(self.attempt, self.elapsed(), self.rng.next_u32());
        self.schedule(now, now.saturating_add(gap), Next::Poll);
    }

    /// Sleeps until `at` then does `next`, within the deadline: a poll due after the deadline is
    /// moved to the deadline (the final poll); an answer that arrives at or after the deadline
    /// ends the wait. Returns false when it finished instead.
    pub(super) fn schedule(&mut self, now: Instant, at: Instant, next: Next) -> bool {
        if now >= self.deadline || (next == Next::Submit && at >= self.deadline) {
            if next == Next::Poll
                && self.dialect.profile().cancel.is_some_and(|c| c.on_deadline)
                && self.job.kind != RefKind::None
                && self.cancels.want_server_for_deadline()
            {
                // Cancel the job on the server before reporting the deadline.
                self.phase = Phase::Poll;
                return false;
            }
            self.finish(Outcome::DeadlineExceeded);
            return false;
        }
        self.phase = Phase::Sleep {
            until: at.min(self.deadline),
            then: next,
        };
        true
    }
}
