//! The actions waiting to be drained by `poll`, in a fixed shape that cannot overflow.

use crate::action::{Action, Connection, Event, SendRequest};

use super::InFlight;

/// The most events one step can queue: a submit answer that names the job (`Accepted`) in a
/// state nobody knows (`StateChanged`, then `UnknownState`). Every other step queues fewer.
///
/// Nothing else can be waiting then: the events of a step are drained before the request that
/// leads to the next answer (that request is drained last), and a `poll` queues its own events
/// (a retry, the final poll, the cancel's answer) only when the outbox is empty.
const MAX_EVENTS: usize = 3;

/// What `poll` hands out before anything else, in this order: the clock report, `Close`, the
/// events in the order they happened, then the request just written.
///
/// `ClockWentBackwards` and `Close` are flags (twice means once); only one request is ever in
/// flight; [`MAX_EVENTS`] bounds the rest.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct Outbox {
    events: [Option<Event>; MAX_EVENTS],
    /// Bytes of `tx` holding the request to send; zero when none is waiting.
    send_len: u32,
    clock_went_backwards: bool,
    close: bool,
}

impl Outbox {
    pub(super) const EMPTY: Outbox = Outbox {
        events: [None; MAX_EVENTS],
        send_len: 0,
        clock_went_backwards: false,
        close: false,
    };

    /// Queues an event after those waiting. The outbox is sized so that this always finds room
    /// (see [`MAX_EVENTS`]); were it ever full, the newest event would replace the last one
    /// rather than panic.
    pub(super) fn push_event(&mut self, event: Event) {
        if event == Event::ClockWentBackwards {
            self.clock_went_backwards = true;
            return;
        }
        match self.events.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => *slot = Some(event),
            None => {
                if let Some(last) = self.events.last_mut() {
                    *last = Some(event);
                }
            }
        }
    }

    /// Asks the driver to close the connection before anything but the clock report.
    pub(super) fn push_close(&mut self) {
        self.close = true;
    }

    /// Queues the request just written (`len` bytes of `tx`), to be handed out last.
    pub(super) fn push_send(&mut self, len: usize) {
        // A request longer than 4 GiB cannot have been written into a caller's buffer here.
        self.send_len = u32::try_from(len).unwrap_or(u32::MAX);
    }

    /// The next action. A queued request whose in-flight record is gone (the job ended
    /// meanwhile) is dropped.
    pub(super) fn pop(&mut self, in_flight: Option<&InFlight>) -> Option<Action> {
        if core::mem::take(&mut self.clock_went_backwards) {
            return Some(Action::Event(Event::ClockWentBackwards));
        }
        if core::mem::take(&mut self.close) {
            return Some(Action::Close);
        }
        if let Some(event) = self.events.first_mut().and_then(Option::take) {
            self.events.rotate_left(1);
            return Some(Action::Event(event));
        }
        let len = core::mem::take(&mut self.send_len);
        let f = in_flight.filter(|_| len > 0)?;
        Some(Action::SendRequest(SendRequest {
            len: len as usize,
            deadline: f.deadline,
            purpose: f.purpose,
            // Only polls and cancels are queued (a submit is returned at once): sending either
            // twice is harmless.
            idempotent: true,
            connection: if f.reused {
                Connection::Reuse
            } else {
                Connection::Fresh
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Purpose;
    use crate::http::{Limits, ResponseParser};
    use crate::state::JobState;
    use crate::time::Instant;

    fn in_flight() -> InFlight {
        InFlight {
            purpose: Purpose::Poll,
            deadline: Instant::from_millis(9),
            sent_at: Instant::from_millis(0),
            hold_secs: 0,
            reused: true,
            parser: ResponseParser::new(Limits::default()),
        }
    }

    fn drain(outbox: &mut Outbox, in_flight: Option<&InFlight>) -> [Option<Action>; 7] {
        core::array::from_fn(|_| outbox.pop(in_flight))
    }

    #[test]
    fn the_order_is_clock_close_events_then_the_request() {
        let mut outbox = Outbox::EMPTY;
        let f = in_flight();
        outbox.push_send(120);
        outbox.push_event(Event::Accepted);
        outbox.push_close();
        outbox.push_event(Event::StateChanged(JobState::Unknown));
        outbox.push_event(Event::ClockWentBackwards);
        outbox.push_event(Event::UnknownState);
        outbox.push_close();
        outbox.push_event(Event::ClockWentBackwards);
        let request = Action::SendRequest(SendRequest {
            len: 120,
            deadline: Instant::from_millis(9),
            purpose: Purpose::Poll,
            idempotent: true,
            connection: Connection::Reuse,
        });
        assert_eq!(
            drain(&mut outbox, Some(&f)),
            [
                Some(Action::Event(Event::ClockWentBackwards)),
                Some(Action::Close),
                Some(Action::Event(Event::Accepted)),
                Some(Action::Event(Event::StateChanged(JobState::Unknown))),
                Some(Action::Event(Event::UnknownState)),
                Some(request),
                None,
            ]
        );
    }

    #[test]
    fn a_request_without_its_in_flight_record_is_dropped() {
        let mut outbox = Outbox::EMPTY;
        outbox.push_send(64);
        assert_eq!(outbox.pop(None), None);
        // And it does not come back once a request is in flight again.
        assert_eq!(outbox.pop(Some(&in_flight())), None);
    }

    #[test]
    fn a_full_outbox_keeps_the_newest_event_last() {
        let mut outbox = Outbox::EMPTY;
        for _ in 0..MAX_EVENTS {
            outbox.push_event(Event::Accepted);
        }
        outbox.push_event(Event::FinalPoll);
        let drained = drain(&mut outbox, None);
        assert_eq!(
            drained[MAX_EVENTS - 1],
            Some(Action::Event(Event::FinalPoll))
        );
        assert_eq!(drained[MAX_EVENTS], None);
    }
}
