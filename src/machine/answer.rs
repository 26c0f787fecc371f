//! Reading answers: what a complete, invalid or missing answer says about the job.

use core::time::Duration;

use crate::action::{Event, Outcome, Purpose, Received, Reply, RetryCause};
use crate::config::Config;
use crate::error::{Error, TransportError};
use crate::http::{HttpError, Response, Status};
use crate::job_ref::url_path;
use crate::json::JsonStr;
use crate::state::JobState;
use crate::time::Instant;

use super::conn::Conn;
use super::submit_answer::SubmitAnswer;
use super::{Decision, InFlight, JobPoller, Next, terminal_outcome};

/// The shortest wait a server's `Retry-After` can ask for.
pub(super) const MIN_SERVER_WAIT: Duration = Duration::from_secs(1);

/// An answer as the machine reads it: the status, the body, the server's wait and the header
/// that may name the job.
#[derive(Clone, Copy)]
pub(super) struct Answer<'r> {
    pub(super) status: u16,
    pub(super) body: &'r [u8],
    /// From `Retry-After` (a date measured against the answer's `Date`).
    pub(super) server_wait: Option<Duration>,
    /// The value of the dialect's id header (`Operation-Location`), when it has one.
    pub(super) id_header: Option<&'r [u8]>,
}

/// What a poll's answer brings: the status, the body, the server's wait.
#[derive(Clone, Copy)]
pub(super) struct PollAnswer<'r> {
    pub(super) status: u16,
    pub(super) body: &'r [u8],
    pub(super) server_wait: Option<Duration>,
}

impl JobPoller {
    pub(super) fn finish_parse<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        parsed: Result<Status, HttpError>,
        rx: &'r mut [u8],
        filled: usize,
        eof: bool,
    ) -> Result<Received<'r>, Error> {
        let rx: &'r [u8] = rx;
        let Some(in_flight) = self.in_flight else {
            return Err(Error::NoRequestInFlight);
        };
        match parsed {
            Ok(Status::Complete(response)) => {
                self.in_flight = None;
                match Conn::after_response(&response, filled, eof, now) {
                    Some(open) => self.conn = open,
                    None => self.close_connection(),
                }
                Ok(Received::Complete(
                    self.on_response(cfg, now, in_flight, &response, rx),
                ))
            }
            Ok(_) => Ok(Received::NeedMore),
            Err(error) => {
                self.in_flight = None;
                self.close_connection();
                self.on_invalid(cfg, now, in_flight, error);
                Ok(Received::Invalid(error))
            }
        }
    }

    pub(super) fn on_invalid(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        in_flight: InFlight,
        error: HttpError,
    ) {
        if in_flight.purpose == Purpose::Cancel {
            self.after_cancel(Event::CancelRefused { status: None });
            return;
        }
        if in_flight.purpose == Purpose::Submit {
            // The server had the submit; whatever it did is unknown.
            self.finish(Outcome::SubmitOutcomeUnknown);
            return;
        }
        match error {
            HttpError::BodyTooLarge { status: 200, .. } if !self.reduced_fields => {
                self.reduced_fields = true;
                self.outbox.push_event(Event::FieldsReduced);
                self.redo_now(in_flight);
            }
            HttpError::NoResponse if in_flight.reused && !self.stale_retry => {
                // The server closed an idle keep-alive connection as we wrote: resend at once on
                // a fresh connection, without counting a failure.
                self.stale_retry = true;
                self.outbox.push_event(Event::Retrying {
                    cause: RetryCause::StaleConnection,
                    at: now,
                });
                self.redo_now(in_flight);
            }
            HttpError::NoResponse | HttpError::Truncated => self.request_failed(
                cfg,
                now,
                in_flight,
                RetryCause::Transport(TransportError::ReadFailed),
                false,
            ),
            _ => self.request_failed(cfg, now, in_flight, RetryCause::InvalidResponse, false),
        }
    }

    pub(super) fn on_response<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        in_flight: InFlight,
        response: &Response,
        rx: &'r [u8],
    ) -> Reply<'r> {
        let id_header = self.dialect.profile().id_header;
        let answer = Answer {
            status: response.status,
            body: response.body(rx),
            server_wait: response.retry_after.and_then(|r| r.delay(response.date)),
            id_header: id_header.and_then(|name| response.header(rx, name)),
        };
        let mut reply = self.on_answer(cfg, now, in_flight, answer);
        reply.consumed = response.consumed;
        reply.keep_alive = response.keep_alive;
        reply
    }

    /// What an answer says, however it was read (by the machine's parser, or by another HTTP
    /// client).
    pub(super) fn on_answer<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        in_flight: InFlight,
        answer: Answer<'r>,
    ) -> Reply<'r> {
        let Answer { status, body, .. } = answer;
        let mut reply = Reply {
            status,
            consumed: 0,
            keep_alive: false,
            message: None,
            jobs: None,
            record_id: None,
        };
        // A wait under a second (`Retry-After: 0`, a date already past) would spend the whole
        // retry budget in a burst: the server gets at least a second.
        let server_wait = answer.server_wait.map(|wait| wait.max(MIN_SERVER_WAIT));
        if in_flight.purpose == Purpose::Cancel {
            if let Some(error) = self.dialect.parse_error(body, self.json_limits) {
                reply.message = error.message;
            }
            self.after_cancel(if (200..300).contains(&status) {
                Event::CancelRequested
            } else {
                Event::CancelRefused {
                    status: Some(status),
                }
            });
        } else if in_flight.purpose == Purpose::Submit {
            let header_href = answer.id_header.and_then(url_path);
            let submit = SubmitAnswer {
                status,
                body,
                header_href,
                server_wait,
            };
            self.on_submit_answer(cfg, now, submit, &mut reply);
        } else {
            let poll = PollAnswer {
                status,
                body,
                server_wait,
            };
            self.on_poll_answer(cfg, now, in_flight, poll, &mut reply);
        }
        reply
    }

    pub(super) fn on_poll_answer<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        in_flight: InFlight,
        answer: PollAnswer<'r>,
        reply: &mut Reply<'r>,
    ) {
        let PollAnswer {
            status,
            body,
            server_wait,
        } = answer;
        let failed = |cause| Decision::Failed {
            cause,
            server_wait,
            next: Next::Poll,
        };
        match status {
            200..=299 => {
                let job = self.dialect.parse_job(body, self.json_limits).ok();
                let Some((job, raw, state)) = job.and_then(|j| Some((j, j.state_raw?, j.state?)))
                else {
                    self.decide(cfg, now, failed(RetryCause::InvalidResponse));
                    return;
                };
                self.seen = true;
                self.failures = 0;
                self.not_found_since = None;
                self.stale_retry = false;
                reply.message = job.message_for_state();
                self.last_seen.record_code(job.best_code());
                // The first sighting of a state is not a change the server reported.
                let state_changed = self.last_seen.state().is_some_and(|s| s != state);
                let cursor_changed = job.cursor.is_some_and(|marker| self.marker.record(marker));
                self.record_state(raw, state);
                if let Some(outcome) = terminal_outcome(state) {
                    self.finish(outcome);
                    return;
                }
                let decision =
                    self.after_long_poll(now, in_flight, state_changed || cursor_changed, state);
                self.decide(cfg, now, decision);
            }
            404 => {
                if let Some(error) = self.dialect.parse_error(body, self.json_limits) {
                    reply.message = error.message;
                }
                self.decide(cfg, now, Decision::NotFound);
            }
            401 | 403 => {
                self.finish(Outcome::AuthRequired { status });
            }
            408 | 425 | 429 | 500..=599 => {
                self.decide(cfg, now, failed(RetryCause::Status(status)));
            }
            _ => {
                if let Some(error) = self.dialect.parse_error(body, self.json_limits) {
                    reply.message = error.message;
                    self.last_seen.record_code(error.code);
                }
                self.finish(Outcome::Rejected { status });
            }
        }
    }

    pub(super) fn record_state(&mut self, raw: JsonStr<'_>, state: JobState) {
        if let Some(state) = self.last_seen.record_state(raw, state) {
            crate::log::info!("jobpoll: job state {:?}", state);
            self.outbox.push_event(Event::StateChanged(state));
            if state == JobState::Unknown {
                self.outbox.push_event(Event::UnknownState);
            }
        }
    }
}
