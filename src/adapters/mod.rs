//! Drivers that run the machine over real I/O, one per I/O model, each behind its own feature.
//!
//! An adapter is the README's drive loop for one I/O model: it owns the socket, the clock and
//! the sleeping, and contains no policy (no retry, no timeout of its own, no status read). What
//! it reports goes through one [`Observer`](crate::adapters::Observer) shape shared by every
//! adapter.

#[cfg(feature = "std")]
pub mod blocking;
#[cfg(feature = "rustls")]
pub mod tls;

use crate::{Event, JobPoller, Reply};

/// Watches a driver run without copying anything into the machine: every [`Event`] as it is
/// drained, and every complete answer with the borrowed parts the machine lends only then
/// (the job's message, the ids of a `jobs[]` answer).
///
/// Both methods do nothing by default; `()` is the observer that watches nothing.
pub trait Observer {
    /// An event was drained; `poller.last_seen()` has the state, code and id behind it.
    fn on_event(&mut self, poller: &JobPoller, event: Event) {
        let _ = (poller, event);
    }

    /// A complete answer was handled; `reply.message` and `reply.jobs` borrow the receive
    /// buffer and are valid only during this call.
    fn on_reply(&mut self, poller: &JobPoller, reply: &Reply<'_>) {
        let _ = (poller, reply);
    }
}

impl Observer for () {}

impl<O: Observer + ?Sized> Observer for &mut O {
    fn on_event(&mut self, poller: &JobPoller, event: Event) {
        (**self).on_event(poller, event);
    }

    fn on_reply(&mut self, poller: &JobPoller, reply: &Reply<'_>) {
        (**self).on_reply(poller, reply);
    }
}
