//! jobpoll: a sans-IO, `no_std`, no-alloc driver for NetApp-style asynchronous job objects.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(all(feature = "defmt", feature = "log"))]
compile_error!("the `defmt` and `log` features are mutually exclusive: pick one logging backend");

pub mod http;
pub mod json;
pub mod policy;
pub mod time;

pub use core::time::Duration;
pub use time::Instant;
