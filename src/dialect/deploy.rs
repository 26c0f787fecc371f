//! ONTAP Select Deploy: 202 `{"job": {"id", "last_modified", ...}}`, `GET {base}/jobs/{id}`
//! answering `{"record": job}`, long polling with `poll_timeout` (1..=120 s) and
//! `last_modified=>=<the server's own last value>`; states `queued`, `running`, `success`,
//! `failure`.
//!
//! Tolerant readings (the API's open facts): a job body is accepted wrapped in `record` or bare;
//! the error body is read like ONTAP's `{"error": {message, code}}` when it has that shape;
//! `last_modified` is kept as the exact string the server sent (its format is not documented)
//! and only ever compared for equality or advanced by its smallest unit.

use core::time::Duration;

use super::profile::{LongPoll, PollFields, Profile};
use super::{Job, SubmitAnswer};
use crate::json::{self, JsonError, JsonStr, Object};
use crate::state::JobState;

/// `fields` asked for on a job GET.
pub const FIELDS: &str = "state,message,last_modified";
/// `fields` when the full body did not fit.
pub const FIELDS_REDUCED: &str = "state,last_modified";
/// The longest hold Deploy accepts.
pub const MAX_POLL_TIMEOUT: Duration = Duration::from_secs(120);

/// Select Deploy options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DeployOptions {
    /// API base path: `/api` (NetApp's sample) or `/api/v3` (the versioned path). Default `/api`.
    pub base_path: &'static str,
    /// The long-poll hold asked for (1..=120 s, clamped to the time left). Default 120 s: NetApp
    /// asks clients to "always use long polling to reduce the workload on the Deploy virtual
    /// machine", and a job of D seconds then costs about D/120 requests plus one per change.
    pub poll_timeout: Duration,
}

impl DeployOptions {
    /// Base `/api`, hold 120 s.
    pub const DEFAULT: DeployOptions = DeployOptions {
        base_path: "/api",
        poll_timeout: MAX_POLL_TIMEOUT,
    };
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Select Deploy's facts: jobs under `{base}/jobs/`, long polls with `poll_timeout` and
/// `last_modified>=`, no cancel, no documented job list.
pub const fn profile(options: &DeployOptions) -> Profile {
    Profile {
        base_path: options.base_path,
        poll_fields: Some(PollFields {
            param: "fields",
            full: FIELDS,
            reduced: FIELDS_REDUCED,
        }),
        long_poll: Some(LongPoll {
            hold_param: "poll_timeout",
            wanted: options.poll_timeout,
            max: MAX_POLL_TIMEOUT,
            marker_param: "last_modified",
            marker_prefix: ">=",
        }),
        ..Profile::at("/jobs/")
    }
}

pub(crate) fn job_from_object(obj: Object<'_>) -> Job<'_> {
    super::job_from_members(obj, |job, key, value| match key {
        "id" => job.id = value.as_str(),
        "state" => job.set_state(value.as_str(), normalize_state),
        "message" => job.message = value.as_str(),
        "last_modified" => job.cursor = value.as_str(),
        "code" => job.code = value.as_code(),
        _ => {}
    })
}

/// Parses the answer to a submit: `{"job": {...}}`, or an error body.
///
/// Job-shaped: a `job` object with an `id`. A `{"record": {...}}` answer is the object itself
/// (its `id` is [`SubmitAnswer::record_id`]), never a job.
pub fn parse_submit_answer(
    body: &[u8],
    limits: json::Limits,
) -> Result<SubmitAnswer<'_>, JsonError> {
    super::job_member_answer(body, limits, job_from_object, |_, key, value| {
        let record = value.as_object().filter(|_| key == "record")?;
        record.get("id")?.as_str()
    })
}

/// Parses a job GET answer: `{"record": job}`, or a bare job object. A body that is JSON but
/// not an object is [`JsonError::NotAnObject`].
pub fn parse_job(body: &[u8], limits: json::Limits) -> Result<Job<'_>, JsonError> {
    let root = super::job_root(body, limits)?;
    let job = root
        .get("record")
        .and_then(|r| r.as_object())
        .unwrap_or(root);
    Ok(job_from_object(job))
}

/// Maps a Deploy state string (any letter case) to the normalized state.
pub fn normalize_state(raw: JsonStr<'_>) -> JobState {
    const TABLE: &[(&str, JobState)] = &[
        ("queued", JobState::Pending),
        ("running", JobState::Running),
        ("success", JobState::Succeeded),
        ("failure", JobState::Failed),
    ];
    super::state_from_table(raw, TABLE)
}

pub use super::advance_timestamp;

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;

    fn advanced(s: &str) -> Option<String> {
        let mut v = s.as_bytes().to_vec();
        advance_timestamp(&mut v).then(|| String::from_utf8(v).unwrap_or_default())
    }

    #[test]
    fn timestamps_advance_by_their_smallest_unit() {
        let table: &[(&str, Option<&str>)] = &[
            (
                "2019-04-04T15:41:29.140265Z",
                Some("2019-04-04T15:41:29.140266Z"),
            ),
            (
                "2019-04-04T15:41:29.140269Z",
                Some("2019-04-04T15:41:29.140270Z"),
            ),
            (
                "2019-04-04T15:41:29.999999Z",
                Some("2019-04-04T15:41:30.000000Z"),
            ),
            (
                "2026-01-01T00:00:00+00:00",
                Some("2026-01-01T00:00:01+00:00"),
            ),
            (
                "2026-01-01T00:00:09-05:00",
                Some("2026-01-01T00:00:10-05:00"),
            ),
            ("2026-01-01T00:00:59Z", None),
            ("2026-01-01T00:00:59.9Z", None),
            ("2026-01-01 10:00:01.5", Some("2026-01-01 10:00:01.6")),
            ("not a time", None),
            ("", None),
        ];
        for (input, want) in table {
            assert_eq!(advanced(input).as_deref(), *want, "{input}");
        }
    }

    #[test]
    fn bodies() {
        let l = json::Limits::default();
        let a = parse_submit_answer(
            br#"{"job":{"id":"j9","last_modified":"2019-04-04T15:41:29.140265Z","message":"m"}}"#,
            l,
        );
        let job = a.ok().and_then(|a| a.job);
        assert!(job.and_then(|j| j.id).is_some_and(|i| i.eq_str("j9")));
        assert!(
            job.and_then(|j| j.cursor)
                .is_some_and(|c| c.eq_str("2019-04-04T15:41:29.140265Z"))
        );
        let j = parse_job(
            br#"{"record":{"id":"j9","state":"running","last_modified":"x"}}"#,
            l,
        )
        .ok();
        assert_eq!(j.and_then(|j| j.state), Some(JobState::Running));
        let j = parse_job(br#"{"id":"j9","state":"FAILURE"}"#, l).ok();
        assert_eq!(j.and_then(|j| j.state), Some(JobState::Failed));
    }
}
