//! Cancels: the caller's (stop following) and the server's (ask the API to cancel the job, on
//! request or at the deadline).

use crate::action::{Event, Outcome};
use crate::error::{ConfigError, Error};
use crate::job_ref::RefKind;
use crate::time::Instant;

use super::{JobPoller, Phase};

/// Where a server-side cancel stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum ServerCancel {
    None,
    /// To be sent at the next chance.
    Wanted,
    /// Sent; the answer is awaited (or came).
    Sent,
}

/// Both cancels' state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct Cancels {
    /// The caller stopped following the job: the next `poll` ends with `Cancelled`.
    pub(super) client: bool,
    server: ServerCancel,
    /// The server cancel was asked because the deadline passed: its answer ends the job.
    for_deadline: bool,
}

impl Cancels {
    pub(super) const NONE: Cancels = Cancels {
        client: false,
        server: ServerCancel::None,
        for_deadline: false,
    };

    /// The caller asks for a server cancel; asking again changes nothing.
    pub(super) fn want_server(&mut self) {
        if self.server == ServerCancel::None {
            self.server = ServerCancel::Wanted;
        }
    }

    /// The deadline passed: a server cancel is wanted unless one was already asked for (true
    /// when this one is new, and then its answer ends the job).
    pub(super) fn want_server_for_deadline(&mut self) -> bool {
        if self.server != ServerCancel::None {
            return false;
        }
        self.server = ServerCancel::Wanted;
        self.for_deadline = true;
        true
    }

    /// A server cancel waits to be written.
    pub(super) fn server_due(&self) -> bool {
        self.server == ServerCancel::Wanted
    }

    /// The server cancel was written; it is never written twice.
    pub(super) fn server_sent(&mut self) {
        self.server = ServerCancel::Sent;
    }

    pub(super) fn ends_job_after_answer(&self) -> bool {
        self.for_deadline
    }
}

impl JobPoller {
    /// Stop following the job (client side): the next `poll` gives
    /// [`Outcome::Cancelled`] (after `Close` if a request was in flight). The job id and resume
    /// token stay available. No-op once done.
    pub fn cancel(&mut self, now: Instant) {
        self.clamp(now);
        if self.done.is_some() {
            return;
        }
        self.cancels.client = true;
        if self.in_flight.take().is_some() {
            self.close_connection();
        }
    }

    /// Ask the server to cancel the job (ONTAP `PATCH /api/cluster/jobs/{uuid}?action=cancel`)
    /// and keep following it: the request goes out at the next `poll` (after any request in
    /// flight), its answer is reported as [`Event::CancelRequested`] or
    /// [`Event::CancelRefused`], and the job's own end is reported truthfully (ONTAP ends a
    /// cancelled job as success or failure; there is no cancelled state). Combine with
    /// [`cancel`](Self::cancel) to stop following once the cancel was answered.
    pub fn request_server_cancel(&mut self, now: Instant) -> Result<(), Error> {
        self.clamp(now);
        if self.dialect.profile().cancel.is_none() {
            return Err(Error::Config(ConfigError::CancelUnsupported));
        }
        if self.job.kind == RefKind::None || self.done.is_some() {
            return Err(Error::NoJob);
        }
        self.cancels.want_server();
        Ok(())
    }

    /// After the cancel's answer (or failure): poll at once, or end with the deadline.
    pub(super) fn after_cancel(&mut self, event: Event) {
        self.outbox.push_event(event);
        if self.cancels.ends_job_after_answer() {
            self.finish(Outcome::DeadlineExceeded);
        } else {
            self.phase = Phase::Poll;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_cancel_is_written_once() {
        let mut cancels = Cancels::NONE;
        assert!(!cancels.server_due());
        cancels.want_server();
        cancels.want_server();
        assert!(cancels.server_due());
        cancels.server_sent();
        assert!(!cancels.server_due());
        cancels.want_server();
        assert!(!cancels.server_due(), "asked again after it was sent");
        // Already asked by the caller: the deadline does not ask again, nor end the job early.
        assert!(!cancels.want_server_for_deadline());
        assert!(!cancels.ends_job_after_answer());
    }

    #[test]
    fn a_deadline_cancel_ends_the_job_when_answered() {
        let mut cancels = Cancels::NONE;
        assert!(cancels.want_server_for_deadline());
        assert!(cancels.server_due());
        assert!(cancels.ends_job_after_answer());
        assert!(!cancels.want_server_for_deadline());
        assert!(!cancels.client);
    }
}
