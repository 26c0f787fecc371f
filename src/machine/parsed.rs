//! Answers read by another HTTP client (ureq, reqwest, hyper, a vendor SDK): the machine still
//! decides everything (retries, the 404 window, `Retry-After`, never resending a submit).

use crate::action::Reply;
use crate::config::Config;
use crate::error::Error;
use crate::http::foreign_answer;
use crate::time::Instant;

use super::JobPoller;
use super::answer::Answer;
use super::conn::Conn;

/// An answer another HTTP client has already read: its status, its header fields as the
/// client got them, and its body with any transfer or content coding removed.
///
/// The machine reads `Retry-After` (and the `Date` it is measured against), `Connection`,
/// `Keep-Alive` and the dialect's id header (`Operation-Location` for an Azure-style API) from
/// `fields`; the rest is ignored.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ParsedAnswer<'b> {
    /// The final status code (not a 1xx).
    pub status: u16,
    /// The header fields, as (name, value); a name may repeat (the last counts).
    pub fields: &'b [(&'b str, &'b [u8])],
    /// The decoded body.
    pub body: &'b [u8],
}

impl JobPoller {
    /// The answer to the request in flight, read by another HTTP client (see
    /// [`ParsedAnswer`]); the counterpart of [`handle_response`](Self::handle_response) for a
    /// client that sends the request from its [`RequestView`](crate::http::RequestView). Then
    /// drain [`poll`](Self::poll) as after any input: it says `Close` when the connection
    /// must go, and which connection the next request needs.
    ///
    /// A client that pools connections itself and cannot honour `Fresh` and `Close` gives up
    /// one guarantee: a submit sent on a reused connection that the server closes as it arrives
    /// ends as [`Outcome::SubmitOutcomeUnknown`](crate::Outcome::SubmitOutcomeUnknown) rather
    /// than being sent on a fresh one. A transport failure goes to
    /// [`handle_transport_error`](Self::handle_transport_error), a timeout to
    /// [`handle_timeout`](Self::handle_timeout), as usual.
    pub fn handle_parsed<'b>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        answer: ParsedAnswer<'b>,
    ) -> Result<Reply<'b>, Error> {
        let now = self.clamp(now);
        let Some(in_flight) = self.in_flight else {
            return Err(Error::NoRequestInFlight);
        };
        self.in_flight = None;
        let (keep_alive, keep_alive_timeout, server_wait) =
            foreign_answer(answer.fields.iter().copied());
        match Conn::after_answer(keep_alive, keep_alive_timeout, now) {
            Some(open) => self.conn = open,
            None => self.close_connection(),
        }
        let id_header = self.dialect.profile().id_header.and_then(|name| {
            answer
                .fields
                .iter()
                .rev()
                .find(|(field, _)| field.eq_ignore_ascii_case(name))
                .map(|(_, value)| *value)
        });
        let mut reply = self.on_answer(
            cfg,
            now,
            in_flight,
            Answer {
                status: answer.status,
                body: answer.body,
                server_wait,
                id_header,
            },
        );
        reply.keep_alive = keep_alive;
        Ok(reply)
    }
}
