#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(all(feature = "defmt", feature = "log"))]
compile_error!("the `defmt` and `log` features are mutually exclusive: pick one logging backend");

#[cfg(feature = "std")]
extern crate std;

/// Drivers over real I/O (std blocking, TLS), each behind its feature.
#[cfg(feature = "std")]
pub mod adapters;
pub mod dialect;
pub mod http;
pub mod json;
pub mod policy;
pub mod time;

mod action;
mod config;
mod error;
#[cfg(feature = "__fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod jobset;
mod poller;
mod state;
mod token;

pub use action::{
    Action, Connection, Event, JobIds, Outcome, Purpose, Received, Reply, RetryCause, SendRequest,
};
pub use config::{Config, Submit};
pub use core::time::Duration;
pub use dialect::Dialect;
pub use error::{ConfigError, Error, TransportError};
pub use jobset::{JobSet, SetAction};
pub use policy::{PausedPolicy, Policy, UnknownStatePolicy};
pub use poller::{JobPoller, JobView, MAX_JOB_REF, MAX_QUERY_PAIRS, MAX_RAW_STATE};
pub use state::JobState;
pub use time::Instant;
pub use token::{MAX_TOKEN_LEN, ResumeToken};
