//! One logging shim for the core: `log` records, `defmt` frames, or nothing, by feature.
//! Messages never carry credentials, request bodies or job messages (those may hold secrets):
//! only purposes, states, causes, instants and outcomes.

/// A record at debug level.
macro_rules! debug {
    ($($arg:tt)*) => {{
        #[cfg(feature = "log")]
        ::log::debug!($($arg)*);
        #[cfg(feature = "defmt")]
        ::defmt::debug!($($arg)*);
    }};
}

/// A record at info level.
macro_rules! info {
    ($($arg:tt)*) => {{
        #[cfg(feature = "log")]
        ::log::info!($($arg)*);
        #[cfg(feature = "defmt")]
        ::defmt::info!($($arg)*);
    }};
}

/// A record at warn level.
macro_rules! warning {
    ($($arg:tt)*) => {{
        #[cfg(feature = "log")]
        ::log::warn!($($arg)*);
        #[cfg(feature = "defmt")]
        ::defmt::warn!($($arg)*);
    }};
}

pub(crate) use {debug, info, warning};
