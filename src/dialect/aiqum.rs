//! Active IQ Unified Manager: 202 `{"job": {"key"}}` (keys are opaque strings with `:` and
//! `-`), `GET {base}/management-server/jobs/{key}`, a lifecycle `state` and an outcome
//! `status`.
//!
//! Tolerant readings (the API's open facts): the job is finished when `state` is `completed`,
//! and its outcome comes from `status` (`normal` → succeeded, `warning` → succeeded with
//! warnings, `partial_failures` → partially failed, `error` → failed), in either letter case;
//! the documented list NORMAL / WARNING / PARTIAL_FAILURES / ERROR is also accepted when it
//! appears in `state` itself. A submit answer may name the job as `job.key`, a top-level
//! `operationId` (rediscovery) or `job_key` (the older Service Level Manager).

use super::profile::{ListParam, ListSpec, Profile};
use super::{Job, SubmitAnswer};
use crate::json::{self, JsonError, JsonStr, Object};
use crate::state::JobState;

/// Unified Manager options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AiqumOptions {
    /// API base path: `/api` (the latest version) or `/api/v2`. Default `/api`.
    pub base_path: &'static str,
}

impl AiqumOptions {
    /// Base `/api`.
    pub const DEFAULT: AiqumOptions = AiqumOptions { base_path: "/api" };
}

impl Default for AiqumOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Unified Manager's facts: jobs under `{base}/management-server/jobs/`, a list paged by
/// `max_records` and `offset` with its `total_records`, no hold, no cancel.
pub const fn profile(options: &AiqumOptions) -> Profile {
    Profile {
        base_path: options.base_path,
        list: Some(ListSpec {
            path: "/management-server/jobs",
            params: &[
                ListParam::PageSize("max_records"),
                ListParam::Offset("offset"),
            ],
            records: &["records"],
            total: Some(&["total_records"]),
            id_field: "key",
            description_field: "name",
            start_field: "submit_time",
        }),
        ..Profile::at("/management-server/jobs/")
    }
}

fn outcome_of(raw: JsonStr<'_>) -> Option<JobState> {
    const TABLE: &[(&str, JobState)] = &[
        ("normal", JobState::Succeeded),
        ("warning", JobState::SucceededWithWarnings),
        ("partial_failures", JobState::PartiallyFailed),
        ("error", JobState::Failed),
    ];
    super::lookup(raw, TABLE)
}

fn lifecycle_of(raw: JsonStr<'_>) -> JobState {
    const TABLE: &[(&str, JobState)] = &[
        ("queued", JobState::Pending),
        ("pending", JobState::Pending),
        ("scheduled", JobState::Pending),
        ("running", JobState::Running),
        ("in_progress", JobState::Running),
    ];
    super::state_from_table(raw, TABLE)
}

/// The normalized state from `state` and `status`, and the raw string it was read from.
pub fn job_state<'a>(
    state: Option<JsonStr<'a>>,
    status: Option<JsonStr<'a>>,
) -> Option<(JsonStr<'a>, JobState)> {
    let state = state?;
    if state.eq_ignore_ascii_case("completed") {
        return Some(match status {
            Some(status) => (status, outcome_of(status).unwrap_or(JobState::Unknown)),
            None => (state, JobState::Unknown),
        });
    }
    if let Some(outcome) = outcome_of(state) {
        return Some((state, outcome));
    }
    Some((state, lifecycle_of(state)))
}

pub(crate) fn job_from_object(obj: Object<'_>) -> Job<'_> {
    let (mut state, mut status) = (None, None);
    let mut job = super::job_from_members(obj, |job, key, value| match key {
        "key" => job.id = value.as_str(),
        "state" => state = value.as_str(),
        "status" => status = value.as_str(),
        "message" | "description" => job.message = value.as_str().or(job.message),
        "_links" => {
            job.href = value
                .as_object()
                .and_then(|l| l.get_path(&["self", "href"]))
                .and_then(|v| v.as_str())
        }
        _ => {}
    });
    if let Some((raw, s)) = job_state(state, status) {
        job.state_raw = Some(raw);
        job.state = Some(s);
    }
    job
}

/// Parses the answer to a submit.
///
/// Job-shaped: a `job` object with a `key` (or `_links.self.href`), or a top-level
/// `operationId` or `job_key`. An object answered in place of a job (its own `key` at the
/// root) is a record: its key is [`SubmitAnswer::record_id`].
pub fn parse_submit_answer(
    body: &[u8],
    limits: json::Limits,
) -> Result<SubmitAnswer<'_>, JsonError> {
    super::job_member_answer(body, limits, job_from_object, |answer, key, value| {
        match key {
            "operationId" | "job_key" if answer.job.is_none() => {
                answer.job = value.as_str().map(Job::with_id);
                None
            }
            // The object answered in place of a job.
            "key" => value.as_str(),
            _ => None,
        }
    })
}

/// Parses a job GET answer (a bare job object). A body that is JSON but not an object is
/// [`JsonError::NotAnObject`].
pub fn parse_job(body: &[u8], limits: json::Limits) -> Result<Job<'_>, JsonError> {
    Ok(job_from_object(super::job_root(body, limits)?))
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;

    #[test]
    fn state_and_status_table() {
        let l = json::Limits::default();
        let table: &[(&[u8], Option<JobState>, &str)] = &[
            (
                br#"{"state":"completed","status":"normal"}"#,
                Some(JobState::Succeeded),
                "normal",
            ),
            (
                br#"{"state":"COMPLETED","status":"WARNING"}"#,
                Some(JobState::SucceededWithWarnings),
                "WARNING",
            ),
            (
                br#"{"state":"completed","status":"partial_failures"}"#,
                Some(JobState::PartiallyFailed),
                "partial_failures",
            ),
            (
                br#"{"state":"completed","status":"error"}"#,
                Some(JobState::Failed),
                "error",
            ),
            (
                br#"{"state":"completed"}"#,
                Some(JobState::Unknown),
                "completed",
            ),
            (
                br#"{"state":"NORMAL"}"#,
                Some(JobState::Succeeded),
                "NORMAL",
            ),
            (br#"{"state":"ERROR"}"#, Some(JobState::Failed), "ERROR"),
            (
                br#"{"state":"running","status":"normal"}"#,
                Some(JobState::Running),
                "running",
            ),
            (br#"{"state":"queued"}"#, Some(JobState::Pending), "queued"),
            (
                br#"{"state":"dormant"}"#,
                Some(JobState::Unknown),
                "dormant",
            ),
            (br#"{"status":"normal"}"#, None, ""),
        ];
        for (body, want, raw) in table {
            let job = parse_job(body, l).ok();
            assert_eq!(job.and_then(|j| j.state), *want, "{body:?}");
            let got_raw: String = job
                .and_then(|j| j.state_raw)
                .map(|r| r.chars().collect())
                .unwrap_or_default();
            assert_eq!(got_raw, *raw);
        }
    }

    #[test]
    fn submit_answers_name_the_job() {
        let l = json::Limits::default();
        for body in [
            &br#"{"job":{"key":"06a6148bf9e862df:-2611856e:16e8d47e722:-7f87"}}"#[..],
            br#"{"operationId":"06a6148bf9e862df:-2611856e:16e8d47e722:-7f87"}"#,
            br#"{"job_key":"06a6148bf9e862df:-2611856e:16e8d47e722:-7f87"}"#,
        ] {
            let id = parse_submit_answer(body, l)
                .ok()
                .and_then(|a| a.job)
                .and_then(|j| j.id);
            assert!(
                id.is_some_and(|i| i.eq_str("06a6148bf9e862df:-2611856e:16e8d47e722:-7f87")),
                "{body:?}"
            );
        }
    }
}
