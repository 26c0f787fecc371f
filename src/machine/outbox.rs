//! The actions waiting to be drained by `poll`.

use crate::action::{Action, Connection, Event, SendRequest};

use super::*;

/// An action waiting to be drained. A request keeps only its length here: its deadline,
/// purpose and connection are in the in-flight record it was written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) enum Queued {
    Close,
    Event(Event),
    /// The request in flight, `Pending::send_len` bytes of `tx`.
    Send,
}

/// Up to four actions waiting to be drained (events, `Close`, the request just written).
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct Pending {
    items: [Option<Queued>; 4],
    send_len: usize,
}

impl Pending {
    pub(super) const EMPTY: Pending = Pending {
        items: [None; 4],
        send_len: 0,
    };

    pub(super) fn push(&mut self, item: Queued) {
        if let Some(slot) = self.items.iter_mut().find(|s| s.is_none()) {
            *slot = Some(item);
        } else if let Some(last) = self.items.last_mut() {
            // Full: the newest replaces the last one. The machine never queues more than three
            // at once, so this is a safety net, not a path.
            *last = Some(item);
        }
    }

    /// Queues the request just written (`len` bytes); at most one is ever waiting.
    pub(super) fn push_send(&mut self, len: usize) {
        self.send_len = len;
        self.push(Queued::Send);
    }

    /// Puts `item` first, ahead of what is waiting (the last one drops if all four are taken).
    pub(super) fn push_front(&mut self, item: Queued) {
        self.items.rotate_right(1);
        if let Some(first) = self.items.first_mut() {
            *first = Some(item);
        }
    }

    /// The next action. A queued request whose in-flight record is gone (the job ended
    /// meanwhile) is dropped.
    pub(super) fn pop(&mut self, in_flight: Option<&InFlight>) -> Option<Action> {
        loop {
            let first = self.items.first_mut()?.take()?;
            self.items.rotate_left(1);
            match first {
                Queued::Close => return Some(Action::Close),
                Queued::Event(event) => return Some(Action::Event(event)),
                Queued::Send => {
                    if let Some(f) = in_flight {
                        return Some(Action::SendRequest(SendRequest {
                            len: self.send_len,
                            deadline: f.deadline,
                            purpose: f.purpose,
                            // Only polls and cancels are queued (a submit is returned at once):
                            // sending either twice is harmless.
                            idempotent: true,
                            connection: if f.reused {
                                Connection::Reuse
                            } else {
                                Connection::Fresh
                            },
                        }));
                    }
                }
            }
        }
    }
}
