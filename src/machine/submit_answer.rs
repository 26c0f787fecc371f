//! The submit's answer: the job it names (or the jobs of a `jobs[]` answer, or the record a
//! synchronous change returned), and the job reference stored from it.

use core::time::Duration;

use crate::action::{Event, JobIds, Outcome, Reply, RetryCause};
use crate::config::Config;
use crate::dialect::Profile;
use crate::job_ref::{MAX_JOB_REF, job_ref_from, link_is_followable};
use crate::json::JsonStr;
use crate::time::Instant;

use super::{Decision, JobPoller, Next, terminal_outcome};

/// What a submit's answer brings: the status, the body, the job link from the id header, the
/// server's wait.
#[derive(Clone, Copy)]
pub(super) struct SubmitAnswer<'r, 'h> {
    pub(super) status: u16,
    pub(super) body: &'r [u8],
    pub(super) header_href: Option<&'h [u8]>,
    pub(super) server_wait: Option<Duration>,
}

/// True when `path` is exactly the dialect's path for the job `id`.
#[inline(always)]
pub(super) fn is_standard_path(profile: &Profile, path: &str, id: &str) -> bool {
    path.strip_prefix(profile.base_path)
        .and_then(|p| p.strip_prefix(profile.job_path))
        == Some(id)
}

impl JobPoller {
    pub(super) fn on_submit_answer<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        answer: SubmitAnswer<'r, '_>,
        reply: &mut Reply<'r>,
    ) {
        let SubmitAnswer {
            status,
            body,
            header_href,
            server_wait,
        } = answer;
        let answer = self
            .dialect
            .parse_submit_answer(body, self.json_limits)
            .ok();
        // A job named by a header (e.g. `Operation-Location`) of a success answer.
        if let (200..=299, Some(href)) = (status, header_href) {
            let profile = self.dialect.profile();
            let followable = link_is_followable(href, profile.base_path, profile.job_path);
            if let Some(job) = job_ref_from(href, profile.link_keeps_query).filter(|_| followable) {
                self.job = job;
                self.outbox.push_event(Event::Accepted);
                let job = answer.and_then(|a| a.job);
                reply.message = job.and_then(|j| j.message_for_state());
                let state = job.and_then(|j| j.state_raw.zip(j.state));
                if let Some((raw, state)) = state {
                    self.seen = true;
                    self.record_state(raw, state);
                    if let Some(outcome) = terminal_outcome(state) {
                        self.finish(outcome);
                        return;
                    }
                }
                self.decide(cfg, now, Decision::Accepted);
                return;
            }
        }
        if let Some(error) = answer.and_then(|a| a.error) {
            reply.message = error.message;
            self.last_seen.record_code(error.code);
        }
        match status {
            401 | 403 => {
                self.finish(Outcome::AuthRequired { status });
            }
            // Refused before any work was done: safe to send again.
            429 | 503 => {
                let failed = Decision::Failed {
                    cause: RetryCause::Status(status),
                    server_wait,
                    next: Next::Submit,
                };
                self.decide(cfg, now, failed);
            }
            200..=299 => {
                let Some(answer) = answer else {
                    let outcome = if status == 202 {
                        Outcome::SubmitOutcomeUnknown
                    } else {
                        Outcome::CompletedWithoutJob { status }
                    };
                    self.finish(outcome);
                    return;
                };
                if let (Some(jobs), None) = (answer.jobs, answer.job) {
                    let count = u32::try_from(jobs.len()).unwrap_or(u32::MAX);
                    reply.jobs = Some(JobIds {
                        array: jobs,
                        dialect: self.dialect,
                    });
                    self.finish(Outcome::MultipleJobs { count });
                    return;
                }
                let job = answer.job.filter(|j| j.has_id());
                let Some(job) = job else {
                    // A record that is not a job (the object a change modified) is a
                    // synchronous completion, whatever the status: there is nothing to poll.
                    reply.record_id = answer.record_id;
                    let outcome = if status == 202 && answer.record_id.is_none() {
                        Outcome::SubmitOutcomeUnknown
                    } else {
                        Outcome::CompletedWithoutJob { status }
                    };
                    self.finish(outcome);
                    return;
                };
                if !self.record_job(job.id, job.href) {
                    // An id we cannot store is a job we cannot follow.
                    self.finish(Outcome::SubmitOutcomeUnknown);
                    return;
                }
                self.outbox.push_event(Event::Accepted);
                reply.message = job.message_for_state().or(reply.message);
                if let Some(marker) = job.cursor {
                    self.marker.record(marker);
                }
                self.last_seen.record_code(job.best_code());
                let state = job.state_raw.zip(job.state);
                if let Some((raw, state)) = state {
                    self.seen = true;
                    self.record_state(raw, state);
                    if let Some(outcome) = terminal_outcome(state) {
                        self.finish(outcome);
                        return;
                    }
                }
                let decision = match (status, state) {
                    (202, _) => Decision::Accepted,
                    (_, Some((_, state))) => Decision::Polled(state),
                    (_, None) => Decision::FinishedLinkOnly,
                };
                self.decide(cfg, now, decision);
            }
            _ => {
                // An error after the hold may still name the job that failed.
                let job = answer.and_then(|a| a.job).filter(|j| j.has_id());
                if let Some(job) = job {
                    if self.record_job(job.id, job.href) {
                        reply.message = reply.message.or(job.best_message());
                        self.last_seen.record_code(job.best_code());
                        let state = job.state_raw.zip(job.state);
                        if let Some((raw, state)) = state {
                            self.seen = true;
                            self.record_state(raw, state);
                        }
                        let outcome = state
                            .and_then(|(_, s)| terminal_outcome(s))
                            .unwrap_or(Outcome::Failed);
                        self.finish(outcome);
                        return;
                    }
                }
                let outcome = match status {
                    500 | 502 | 504 => Outcome::SubmitOutcomeUnknown,
                    _ => Outcome::Rejected { status },
                };
                self.finish(outcome);
            }
        }
    }

    pub(super) fn record_job(
        &mut self,
        uuid: Option<JsonStr<'_>>,
        href: Option<JsonStr<'_>>,
    ) -> bool {
        let profile = self.dialect.profile();
        let mut href_buf = [0u8; MAX_JOB_REF];
        let mut id_buf = [0u8; MAX_JOB_REF];
        let from_href = href
            .and_then(|h| h.unescape_into(&mut href_buf).ok())
            .filter(|h| link_is_followable(h.as_bytes(), profile.base_path, profile.job_path))
            .and_then(|h| job_ref_from(h.as_bytes(), profile.link_keeps_query));
        let from_uuid = uuid
            .and_then(|u| u.unescape_into(&mut id_buf).ok())
            .filter(|u| !u.is_empty() && !u.starts_with('/'))
            .and_then(|u| job_ref_from(u.as_bytes(), false));
        let job = match (from_uuid, from_href) {
            // The standard link adds nothing to the id: keep the shorter form.
            (Some(id), Some(path))
                if is_standard_path(&profile, path.text.as_str(), id.text.as_str()) =>
            {
                Some(id)
            }
            (_, Some(path)) => Some(path),
            (id, None) => id,
        };
        match job {
            Some(job) => {
                self.job = job;
                true
            }
            None => false,
        }
    }
}
