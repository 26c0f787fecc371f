//! How the machine names a job to the server, and the server's change marker: what a resume
//! token carries across a restart, below both the machine and the token.

use crate::util::Bounded;

/// Longest job id or job href the machine stores, in bytes: 128 when a dialect with opaque
/// keys or links is built in (Unified Manager, Service Engine, generic), else 64, which holds
/// what ONTAP and Select Deploy name a job by (a UUID; `/api/cluster/jobs/` and a UUID is 54).
pub const MAX_JOB_REF: usize = if cfg!(any(feature = "aiqum", feature = "nse", feature = "generic"))
{
    128
} else {
    64
};
/// Longest change marker (Select Deploy `last_modified`) kept; a longer one disables long
/// polling for that job (it is never cut, since a cut value would compare wrongly). Zero
/// unless a dialect that long-polls is built in (Select Deploy, generic).
pub const MAX_CURSOR: usize = if cfg!(any(feature = "deploy", feature = "generic")) {
    48
} else {
    0
};

/// How the machine names the job to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) enum RefKind {
    /// No job yet.
    None,
    /// A bare id: the path is built from the dialect's template.
    Id,
    /// A path taken from the server's link (query stripped).
    Path,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct JobRef {
    pub(crate) kind: RefKind,
    pub(crate) text: Bounded<MAX_JOB_REF>,
}

impl JobRef {
    pub(crate) const NONE: JobRef = JobRef {
        kind: RefKind::None,
        text: Bounded::EMPTY,
    };

    /// The job id: the bare id, or the last segment of the path.
    pub(crate) fn id(&self) -> Option<&str> {
        match self.kind {
            RefKind::None => None,
            RefKind::Id => Some(self.text.as_str()),
            RefKind::Path => self.text.as_str().rsplit('/').find(|s| !s.is_empty()),
        }
    }
}

/// The path and query of a URL (`https://host:port/operations/1?api-version=2`), or the value
/// itself when it already is a path.
pub(crate) fn url_path(value: &[u8]) -> Option<&[u8]> {
    let value = value.trim_ascii();
    if value.first() == Some(&b'/') {
        return Some(value);
    }
    let scheme_end = value.windows(3).position(|w| w == b"://")?;
    let rest = value.get(scheme_end.checked_add(3)?..)?;
    let path_start = rest.iter().position(|&b| b == b'/')?;
    rest.get(path_start..)
}

/// A job reference from an id or an href: an href (starts with '/') keeps its path without
/// any fragment, and without its query unless the dialect needs it; anything else is a bare id.
pub(crate) fn job_ref_from(text: &[u8], keep_query: bool) -> Option<JobRef> {
    if text.first() == Some(&b'/') {
        let end = text
            .iter()
            .position(|&b| b == b'#' || (b == b'?' && !keep_query))
            .unwrap_or(text.len());
        let path = text.get(..end)?;
        let bounded = Bounded::new(path).filter(|_| path.len() > 1)?;
        core::str::from_utf8(path).ok()?;
        return Some(JobRef {
            kind: RefKind::Path,
            text: bounded,
        });
    }
    core::str::from_utf8(text).ok()?;
    let bounded = Bounded::new(text).filter(|b| !b.is_empty())?;
    Some(JobRef {
        kind: RefKind::Id,
        text: bounded,
    })
}
