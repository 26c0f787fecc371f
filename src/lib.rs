// README.md is the front page here too. Its quick start needs the `rustls` feature, and
// rustdoc cannot gate one example on a feature: while doctests are collected without it
// (`cfg(doctest)`), the crate docs are a pointer instead, so that `cargo test` passes with any
// feature set; built docs always show the README.
#![cfg_attr(any(feature = "rustls", not(doctest)), doc = include_str!("../README.md"))]
#![cfg_attr(
    all(doctest, not(feature = "rustls")),
    doc = "jobpoll: README.md's examples are tested with the `rustls` feature."
)]
// docs.rs builds with `--cfg docsrs` (Cargo.toml's `[package.metadata.docs.rs]`): every
// feature-gated item then shows the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Panic sources are compile errors outside tests; each exception is allowed where it is, with
// its reason.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

#[cfg(feature = "std")]
extern crate std;

#[cfg(all(feature = "defmt", feature = "log"))]
compile_error!("the `defmt` and `log` features are mutually exclusive: pick one logging backend");

// Drivers for tokio and bare-metal I/O (features `tokio`, `embedded-io`, `embedded-io-async`).
#[cfg(any(
    feature = "std",
    feature = "embedded-io",
    feature = "embedded-io-async"
))]
pub mod adapters;
pub mod dialect;
pub mod estimate;
pub mod http;
pub mod json;
pub mod list;
pub mod policy;
pub mod time;

mod action;
mod config;
mod error;
#[cfg(feature = "__fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod job_ref;
mod jobset;
mod log;
mod machine;
mod state;
mod token;
mod util;

pub use action::{
    Action, Connection, Event, JobIds, Outcome, Purpose, Received, Reply, RetryCause, SendRequest,
    Step, Verdict,
};
pub use config::{Config, Submit};
pub use core::time::Duration;
pub use dialect::Dialect;
pub use error::{ConfigError, Error, MAX_QUERY_PAIRS, TransportError};
pub use estimate::{Estimate, EstimateError, Expected};
pub use job_ref::MAX_JOB_REF;
pub use jobset::{JobSet, SetAction, SetEvent};
pub use machine::{
    AfterRead, ConnectionState, Exchange, JobPoller, JobView, MAX_RAW_STATE, Machine, ParsedAnswer,
};
pub use policy::{PausedPolicy, Policy, UnknownStatePolicy};
pub use state::JobState;
pub use time::Instant;
pub use token::{MAX_TOKEN_LEN, ResumeToken};
