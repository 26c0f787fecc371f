//! How the machine names a job to the server, and the server's change marker: what a resume
//! token carries across a restart, below both the machine and the token.

use crate::json::JsonStr;
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
    /// A bare id of bytes a path segment carries as they are (a UUID, a key): the path is
    /// built from the dialect's template.
    Id,
    /// A bare id with bytes that must be percent-encoded in the path (checked once, when it is
    /// stored, so the poll path of a plain id is a copy).
    IdToEncode,
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
            RefKind::Id | RefKind::IdToEncode => Some(self.text.as_str()),
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

/// Writes an id that [`id_kind`] found needing it into `out` as one path segment: every byte
/// outside the unreserved set, `:` and `@` percent-encoded, and its dots too (so `.` and `..`
/// cannot be dot segments): no id a server sends can add a segment, climb the path, start a
/// query or break the request line. Returns the length written, or `None` when `out` is too
/// small.
pub(crate) fn write_segment(id: &[u8], out: &mut [u8]) -> Option<usize> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut len = 0usize;
    for &b in id {
        // Dots are encoded too: an id that needs encoding may be a dots-only segment.
        let keep = b != b'.' && is_segment_byte(b);
        let end = len.checked_add(if keep { 1 } else { 3 })?;
        let slot = out.get_mut(len..end)?;
        match slot {
            [one] => *one = b,
            [pct, hi, lo] => {
                *pct = b'%';
                *hi = *HEX.get(usize::from(b >> 4))?;
                *lo = *HEX.get(usize::from(b & 0x0f))?;
            }
            _ => return None,
        }
        len = end;
    }
    Some(len)
}

/// Whether a server's link may be followed: a path under the dialect's base and job paths with
/// no dot segment (`/./`, `/../`) that could climb out of it.
pub(crate) fn link_is_followable(path: &[u8], base_path: &str, job_path: &str) -> bool {
    let under = path
        .strip_prefix(base_path.as_bytes())
        .is_some_and(|rest| rest.starts_with(job_path.as_bytes()));
    let end = path
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(path.len());
    let target = path.get(..end).unwrap_or(path);
    under
        && !target
            .split(|&b| b == b'/')
            .any(|segment| segment == b"." || segment == b"..")
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
        kind: id_kind(text),
        text: bounded,
    })
}

/// Whether an id goes into a path as it is, or percent-encoded ([`write_segment`]).
pub(crate) fn id_kind(id: &[u8]) -> RefKind {
    let dots_only = id.iter().all(|&b| b == b'.');
    if !dots_only && id.iter().all(|&b| is_segment_byte(b)) {
        RefKind::Id
    } else {
        RefKind::IdToEncode
    }
}

/// The bytes a path segment carries as they are: unreserved, `:` and `@`.
fn is_segment_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':' | b'@')
}

/// The server's change marker (Select Deploy `last_modified`), kept verbatim, and how the server
/// compares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct ChangeMarker {
    /// Empty when the server gave none, or one too long or escaped to send back as it came.
    text: Bounded<MAX_CURSOR>,
    /// The server's comparison turned out inclusive: long polls send the marker advanced by
    /// its smallest unit.
    pub(crate) inclusive: bool,
}

impl ChangeMarker {
    pub(crate) const NONE: ChangeMarker = ChangeMarker {
        text: Bounded::EMPTY,
        inclusive: false,
    };

    /// A marker restored from a resume token.
    pub(crate) fn restored(text: &[u8], inclusive: bool) -> Option<ChangeMarker> {
        Some(ChangeMarker {
            text: Bounded::new(text)?,
            inclusive,
        })
    }

    /// Keeps the server's latest marker; true when it differs from the one kept (or none was).
    /// The bytes are compared, not a digest, so no collision can hide a change.
    pub(crate) fn record(&mut self, marker: JsonStr<'_>) -> bool {
        let changed = self.text.is_empty() || marker.raw() != self.text.as_bytes();
        self.text = Bounded::new(marker.raw())
            .filter(|_| !marker.has_escapes())
            .unwrap_or(Bounded::EMPTY);
        changed
    }

    /// The marker's bytes, as the server sent them; empty when none is kept.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// No marker is kept: the next poll cannot be a long poll.
    pub(crate) fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    #[test]
    fn ids_are_written_as_one_segment() {
        let table: [(&[u8], &str); 7] = [
            (b"1cd8a442-86d1-11e0", "1cd8a442-86d1-11e0"),
            (b"key:12@a~b_c.d", "key:12@a~b_c%2Ed"),
            (b"../x", "%2E%2E%2Fx"),
            (b"..", "%2E%2E"),
            (b".", "%2E"),
            (b"a?b#c d", "a%3Fb%23c%20d"),
            (b"\r\n\xff", "%0D%0A%FF"),
        ];
        for (id, want) in table {
            let mut out = [0u8; 64];
            let n = write_segment(id, &mut out).expect("fits");
            assert_eq!(core::str::from_utf8(&out[..n]), Ok(want), "{id:?}");
        }
        assert_eq!(write_segment(b"a/b", &mut [0u8; 4]), None);
    }

    #[test]
    fn links_are_followed_only_under_the_job_path() {
        let table = [
            ("/api/cluster/jobs/u1", true),
            ("/api/cluster/jobs/u1?fields=state", true),
            ("/api/cluster/jobs/../../private", false),
            ("/api/cluster/jobs/./u1", false),
            ("/api/cluster/jobsx/u1", false),
            ("/api/private", false),
        ];
        for (path, ok) in table {
            assert_eq!(
                link_is_followable(path.as_bytes(), "", "/api/cluster/jobs/"),
                ok,
                "{path}"
            );
        }
        assert!(link_is_followable(
            b"/api/v2.1/jobs/9",
            "/api/v2.1",
            "/jobs/"
        ));
        assert!(!link_is_followable(
            b"/api/v3/jobs/9",
            "/api/v2.1",
            "/jobs/"
        ));
    }
    use crate::json::{self, Limits};

    fn marker_in(body: &'static [u8]) -> JsonStr<'static> {
        let value = json::parse(body, Limits::default()).expect("valid JSON");
        let object = value.as_object().expect("an object");
        object
            .get("m")
            .and_then(|m| m.as_str())
            .expect("a string m")
    }

    #[test]
    fn a_marker_is_a_change_only_when_its_bytes_change() {
        if MAX_CURSOR == 0 {
            return; // no long-polling dialect built in: nothing is ever kept
        }
        let mut kept = ChangeMarker::NONE;
        assert!(kept.record(marker_in(br#"{"m":"2019-04-04T15:41:29.140265Z"}"#)));
        assert!(!kept.record(marker_in(br#"{"m":"2019-04-04T15:41:29.140265Z"}"#)));
        assert!(kept.record(marker_in(br#"{"m":"2019-04-04T15:41:30Z"}"#)));
        assert_eq!(kept.as_bytes(), b"2019-04-04T15:41:30Z");
        // An escaped marker cannot be sent back as it came: none is kept.
        assert!(kept.record(marker_in(br#"{"m":"a\u0041"}"#)));
        assert!(kept.is_empty());
        assert!(ChangeMarker::restored(&[b'x'; MAX_CURSOR + 1], false).is_none());
    }
}
