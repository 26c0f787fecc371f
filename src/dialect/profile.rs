//! [`Profile`]: everything the machine and the list pager know of one job API, as data.
//!
//! Each dialect's file writes its profile once, beside its parsers; [`Dialect::profile`]
//! is the one `match` that selects it, and a [`GenericDialect`](super::generic::GenericDialect)
//! carries one. Nothing outside `src/dialect/` names an API's path, parameter or field.

use core::time::Duration;

use crate::error::ConfigError;
use crate::http::Method;

#[cfg(doc)]
use super::Dialect;

/// The facts of one job API: where its jobs live, what its requests carry, and what it offers
/// (a server-side hold, long polls, a cancel, a job list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Profile {
    /// The API's base path (`/api/v3`), empty when the job path is absolute.
    pub base_path: &'static str,
    /// What follows the base path before a job's id (`/api/cluster/jobs/`); starts with `/`.
    pub job_path: &'static str,
    /// The `fields` query of a job GET, if the API has one.
    pub poll_fields: Option<PollFields>,
    /// The server-side hold sent with the submit (ONTAP `return_timeout`), if the API has one.
    pub submit_hold: Option<Hold>,
    /// Long polling of the job GET (Select Deploy), if the API has it.
    pub long_poll: Option<LongPoll>,
    /// The response header of a submit answer that names the job (`Operation-Location`).
    pub id_header: Option<&'static str>,
    /// A job's link keeps its query (an Azure-style operation URL carries `api-version`).
    pub link_keeps_query: bool,
    /// A 200/201 that carries only the job's link (it finished within the hold) is confirmed
    /// with one GET.
    pub confirm_finished_link: bool,
    /// The server-side cancel, if the API has one.
    pub cancel: Option<CancelRequest>,
    /// The job list, if the API documents one.
    pub list: Option<ListSpec>,
    /// Where a record of a several-jobs answer (ONTAP `jobs[]`) names its job: the first of
    /// these key paths that holds a string.
    pub record_id: &'static [&'static [&'static str]],
}

// The machine builds a profile at each place it reads a fact; the methods below are inlined
// so that only the facts read are kept (often constants), which keeps a firmware small.
impl Profile {
    /// An API with jobs at `job_path` followed by the id, and nothing else: no base path, no
    /// fields, no hold, no cancel, no list. A start for a description with struct update
    /// syntax (`Profile { id_header: Some("Location"), ..Profile::at("/operations/") }`).
    pub const fn at(job_path: &'static str) -> Profile {
        Profile {
            base_path: "",
            job_path,
            poll_fields: None,
            submit_hold: None,
            long_poll: None,
            id_header: None,
            link_keeps_query: false,
            confirm_finished_link: false,
            cancel: None,
            list: None,
            record_id: &[&["id"], &["key"], &["uuid"]],
        }
    }

    /// The query names the machine sets itself, which a submit may not carry: the submit
    /// hold's (any ASCII case) and the long poll's.
    #[inline(always)]
    pub fn reserves_query_name(&self, name: &str) -> bool {
        self.submit_hold
            .is_some_and(|hold| hold.param.eq_ignore_ascii_case(name))
            || self
                .long_poll
                .is_some_and(|l| l.hold_param == name || l.marker_param == name)
    }

    /// The hold to send with the submit, in whole seconds, given the time left before the
    /// deadline: the parameter's name and value.
    #[inline(always)]
    pub fn submit_hold_secs(&self, left: Duration) -> Option<(&'static str, u64)> {
        let hold = self.submit_hold?;
        Some((hold.param, hold.wanted.min(hold.max).min(left).as_secs()))
    }

    /// The long-poll hold in whole seconds, given the time left before the deadline: `None`
    /// when the API has no long poll or less than a second is left (the range starts at 1).
    #[inline(always)]
    pub fn long_poll_secs(&self, left: Duration) -> Option<u64> {
        let long_poll = self.long_poll?;
        let secs = long_poll.wanted.min(long_poll.max).min(left).as_secs();
        (secs >= 1).then_some(secs)
    }

    /// Checks a profile written by hand or built from options: paths that join, holds within
    /// the API's range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let base = self.base_path;
        if !base.is_empty() && (!base.starts_with('/') || base.ends_with('/')) {
            return Err(ConfigError::BasePath);
        }
        if !self.job_path.starts_with('/') {
            return Err(ConfigError::BasePath);
        }
        if self.list.is_some_and(|list| !list.path.starts_with('/')) {
            return Err(ConfigError::BasePath);
        }
        let submit_hold_ok = self.submit_hold.is_none_or(|h| h.wanted <= h.max);
        let long_poll_ok = self.long_poll.is_none_or(|l| l.wanted <= l.max);
        if submit_hold_ok && long_poll_ok {
            Ok(())
        } else {
            Err(ConfigError::ReturnTimeoutOutOfRange)
        }
    }
}

/// The `fields` query of a job GET: all the machine reads, and the least it needs (asked for
/// when the whole answer did not fit the receive buffer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PollFields {
    /// The query parameter (`fields`).
    pub param: &'static str,
    /// The fields of a normal poll.
    pub full: &'static str,
    /// The fields after an answer too large for the receive buffer.
    pub reduced: &'static str,
}

/// A server-side hold of the submit: the server answers when the job ends or the hold passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Hold {
    /// The query parameter, in whole seconds (`return_timeout`).
    pub param: &'static str,
    /// The hold asked for (clamped to the time left before the deadline).
    pub wanted: Duration,
    /// The longest hold the API accepts.
    pub max: Duration,
}

/// Long polling in the shape of Select Deploy: a hold and the server's own change marker from
/// its last answer, compared by the server (`last_modified>=...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LongPoll {
    /// The query parameter of the hold in seconds (`poll_timeout`).
    pub hold_param: &'static str,
    /// The hold asked for (clamped to the time left before the deadline).
    pub wanted: Duration,
    /// The longest hold the API accepts.
    pub max: Duration,
    /// The query parameter carrying the marker (`last_modified`).
    pub marker_param: &'static str,
    /// Written before the marker (`>=`).
    pub marker_prefix: &'static str,
}

/// The request that asks the server to cancel a job, sent to the job's own path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CancelRequest {
    /// The method (ONTAP: `PATCH`).
    pub method: Method,
    /// The query (ONTAP: `action=cancel`).
    pub query: &'static [(&'static str, &'static str)],
    /// The body (ONTAP: `{}`).
    pub body: &'static [u8],
    /// Cancel the job on the server when the deadline passes, before reporting it.
    pub on_deadline: bool,
}

/// How the API lists jobs, page by page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ListSpec {
    /// The list's path after the base path (`/management-server/jobs`).
    pub path: &'static str,
    /// The query of the first page, in order.
    pub params: &'static [ListParam],
    /// Keys leading to the page's records (`["records"]`, `["result", "records"]`).
    pub records: &'static [&'static str],
    /// Keys leading to the total count of jobs, when the API pages by it (Unified Manager,
    /// Service Engine); an answer without it is paged by the full-page rule.
    pub total: Option<&'static [&'static str]>,
    /// A record's id field.
    pub id_field: &'static str,
    /// A record's description field (what recovery matches a lost submit by).
    pub description_field: &'static str,
    /// A record's start time field.
    pub start_field: &'static str,
}

impl ListSpec {
    /// The API pages by offset (a full page is followed by another).
    pub fn pages_by_offset(&self) -> bool {
        self.params
            .iter()
            .any(|p| matches!(p, ListParam::Offset(_)))
    }
}

/// One query pair of a list request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ListParam {
    /// A fixed pair (ONTAP `fields=uuid,state,...`).
    Fixed(&'static str, &'static str),
    /// The page size under this name (`max_records`, `limit`).
    PageSize(&'static str),
    /// The offset of the page under this name (`offset`).
    Offset(&'static str),
    /// The caller's state filter under this name, when it gives one (`state`).
    State(&'static str),
    /// The caller's tenant under this name, when it gives one (`tenant_id`).
    Tenant(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOLD: Hold = Hold {
        param: "return_timeout",
        wanted: Duration::from_secs(30),
        max: Duration::from_secs(120),
    };

    #[test]
    fn holds_are_clamped_to_the_time_left() {
        let profile = Profile {
            submit_hold: Some(HOLD),
            ..Profile::at("/jobs/")
        };
        let table = [(100, 30), (30, 30), (12, 12), (0, 0)];
        for (left, secs) in table {
            assert_eq!(
                profile.submit_hold_secs(Duration::from_secs(left)),
                Some(("return_timeout", secs))
            );
        }
        assert!(profile.reserves_query_name("Return_Timeout"));
        assert!(!profile.reserves_query_name("fields"));
        assert_eq!(Profile::at("/jobs/").submit_hold_secs(Duration::MAX), None);
    }

    #[test]
    fn a_long_poll_needs_a_second_left() {
        let profile = Profile {
            long_poll: Some(LongPoll {
                hold_param: "poll_timeout",
                wanted: Duration::from_secs(200),
                max: Duration::from_secs(120),
                marker_param: "last_modified",
                marker_prefix: ">=",
            }),
            ..Profile::at("/jobs/")
        };
        assert_eq!(profile.long_poll_secs(Duration::from_secs(500)), Some(120));
        assert_eq!(
            profile.long_poll_secs(Duration::from_millis(1_999)),
            Some(1)
        );
        assert_eq!(profile.long_poll_secs(Duration::from_millis(999)), None);
        assert_eq!(
            profile.validate(),
            Err(ConfigError::ReturnTimeoutOutOfRange)
        );
    }

    #[test]
    fn paths_must_join() {
        let table: [(&str, &str, bool); 5] = [
            ("", "/jobs/", true),
            ("/api/v3", "/jobs/", true),
            ("api", "/jobs/", false),
            ("/api/", "/jobs/", false),
            ("/api", "jobs/", false),
        ];
        for (base, job_path, ok) in table {
            let profile = Profile {
                base_path: base,
                ..Profile::at(job_path)
            };
            assert_eq!(profile.validate().is_ok(), ok, "{base:?} {job_path:?}");
        }
    }
}
