//! NetApp Service Engine: the `{status, result: {records: [...]}}` envelope, the job in
//! `result.records[0]`, `GET {base}/jobs/{id}`, `status` pending → running → successful /
//! failed, `status_detail` as progress, `last_error` and `job_tasks[].last_error` on failure.
//!
//! Tolerant readings (the API's open facts): the running and failed status strings are not
//! documented, so several spellings are accepted (`running`, `processing`, `in_progress`;
//! `failed`, `failure`, `error`); anything else is an unknown state handled by the policy. The
//! envelope's `status` is an error only when its `code` is 400 or more (a 202 carries
//! `"code": 202` there). Job tasks carry credentials in `request_payload`: it is never read.
//!
//! Job-shaped: a submit answer's record is a job only with a string `status` and at least one
//! field only jobs have (`job_tasks`, `job_summary`, `status_detail`, `object_type`,
//! `object_id`; see [`is_job_record`]). A modify such as `PUT {base}/ontapclusters/{id}`
//! answers with the modified object's record instead: that is a synchronous completion
//! carrying the record's id, never a job id to poll.

use super::profile::{ListParam, ListSpec, Profile};
use super::{ApiError, Job, SubmitAnswer};
use crate::json::{self, JsonError, JsonStr, Object, Value};
use crate::state::JobState;

/// Service Engine options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NseOptions {
    /// API base path, default `/api/v2.1` (the documented base `https://<host>/api` plus the
    /// `v2.1` version; use `/v2.1` for a server mounted at the root).
    pub base_path: &'static str,
}

impl NseOptions {
    /// Base `/api/v2.1`.
    pub const DEFAULT: NseOptions = NseOptions {
        base_path: "/api/v2.1",
    };
}

impl Default for NseOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Service Engine's facts: jobs under `{base}/jobs/`, a list paged by `offset` and `limit` with
/// its total count, an optional tenant, no hold, no cancel.
pub const fn profile(options: &NseOptions) -> Profile {
    Profile {
        base_path: options.base_path,
        list: Some(ListSpec {
            path: "/jobs",
            params: &[
                ListParam::Offset("offset"),
                ListParam::PageSize("limit"),
                ListParam::Tenant("tenant_id"),
            ],
            records: &["result", "records"],
            total: Some(&["result", "total_records"]),
            id_field: "id",
            description_field: "job_summary",
            start_field: "created",
        }),
        ..Profile::at("/jobs/")
    }
}

/// Maps a status string (any letter case) to the normalized state.
pub fn normalize_state(raw: JsonStr<'_>) -> JobState {
    const TABLE: &[(&str, JobState)] = &[
        ("pending", JobState::Pending),
        ("queued", JobState::Pending),
        ("running", JobState::Running),
        ("processing", JobState::Running),
        ("in_progress", JobState::Running),
        ("successful", JobState::Succeeded),
        ("success", JobState::Succeeded),
        ("completed", JobState::Succeeded),
        ("failed", JobState::Failed),
        ("failure", JobState::Failed),
        ("error", JobState::Failed),
    ];
    super::state_from_table(raw, TABLE)
}

fn non_empty(v: Option<Value<'_>>) -> Option<JsonStr<'_>> {
    v.and_then(|v| v.as_str()).filter(|s| !s.raw().is_empty())
}

pub(crate) fn job_from_object(obj: Object<'_>) -> Job<'_> {
    let mut task_error = None;
    let mut job = super::job_from_members(obj, |job, key, value| match key {
        "id" => job.id = value.as_str(),
        "status" => job.set_state(value.as_str(), normalize_state),
        "status_detail" => job.message = value.as_str(),
        "last_error" => job.error_message = non_empty(Some(value)),
        "job_tasks" => {
            task_error = value.as_array().and_then(|tasks| {
                tasks
                    .iter()
                    .find_map(|t| non_empty(t.as_object().and_then(|t| t.get("last_error"))))
            });
        }
        _ => {}
    });
    job.error_message = job.error_message.or(task_error);
    job
}

/// The first record of the envelope's `result.records`, or the root itself when it looks like a
/// bare job (has `id` and a string `status`).
fn first_record(root: Object<'_>) -> Option<Object<'_>> {
    let records = root.get_path(&["result", "records"]);
    if let Some(first) = records.and_then(|r| r.as_array()).and_then(|a| a.get(0)) {
        return first.as_object();
    }
    // Some documentation examples show `records` as an object.
    if let Some(obj) = records.and_then(|r| r.as_object()) {
        return Some(obj);
    }
    let bare = root.get("id").is_some() && root.get("status").and_then(|s| s.as_str()).is_some();
    bare.then_some(root)
}

fn envelope_error(root: Object<'_>) -> Option<ApiError<'_>> {
    let status = root.get("status")?.as_object()?;
    let code = status.get("code").and_then(|c| c.as_code());
    let is_error = match code.map(|c| match c {
        json::Code::Int(i) => Some(i),
        _ => None,
    }) {
        Some(Some(code)) => code >= 400,
        // A non-numeric or missing code: an error only when there is no result.
        _ => root.get("result").is_none(),
    };
    is_error.then(|| ApiError {
        message: non_empty(status.get("user_message")).or(non_empty(status.get("verbose_message"))),
        code,
        target: None,
    })
}

/// The fields only a job record has (apis.md section 4.2): the object a modify answers with
/// may well have an `id` and a `status` of its own, but none of these.
const JOB_ONLY_FIELDS: &[&str] = &[
    "job_tasks",
    "job_summary",
    "status_detail",
    "object_type",
    "object_id",
];

/// Whether a record is a job: a string `status` and at least one of the job's own fields.
/// Anything else in a submit answer is the object the change modified (Service Engine's
/// "Modify ONTAP cluster" answers 202 with the cluster's record, not a job).
pub fn is_job_record(record: Object<'_>) -> bool {
    let status = record.get("status").and_then(|s| s.as_str()).is_some();
    status && JOB_ONLY_FIELDS.iter().any(|f| record.get(f).is_some())
}

/// Parses the answer to a submit (the envelope with the job in `result.records[0]`).
///
/// Job-shaped: a record for which [`is_job_record`] holds. A record that is not a job is the
/// modified object: its `id` is [`SubmitAnswer::record_id`], and it is never polled.
pub fn parse_submit_answer(
    body: &[u8],
    limits: json::Limits,
) -> Result<SubmitAnswer<'_>, JsonError> {
    let mut answer = SubmitAnswer::default();
    let Some(root) = super::root_object(body, limits)? else {
        return Ok(answer);
    };
    match first_record(root) {
        Some(record) if is_job_record(record) => answer.job = Some(job_from_object(record)),
        Some(record) => answer.record_id = record.get("id").and_then(|v| v.as_str()),
        None => {}
    }
    answer.error = envelope_error(root);
    Ok(answer)
}

/// Parses a job GET answer (the envelope, or a bare job record). A body that is JSON but not
/// an object is [`JsonError::NotAnObject`].
pub fn parse_job(body: &[u8], limits: json::Limits) -> Result<Job<'_>, JsonError> {
    let root = super::job_root(body, limits)?;
    Ok(first_record(root).map(job_from_object).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_bodies() {
        let l = json::Limits::default();
        let body = br#"{"status":{"user_message":"Okay. Accepted for processing.","verbose_message":"","code":202},
            "result":{"returned_records":1,"records":[{"id":"5ed5b0f1","status":"pending","job_tasks":null}]}}"#;
        let a = parse_submit_answer(body, l).ok();
        assert!(
            a.and_then(|a| a.error).is_none(),
            "a 202 envelope is not an error"
        );
        let job = a.and_then(|a| a.job);
        assert_eq!(job.and_then(|j| j.state), Some(JobState::Pending));
        assert!(job.and_then(|j| j.id).is_some_and(|i| i.eq_str("5ed5b0f1")));

        let failed = br#"{"result":{"records":[{"id":"x","status":"failed","status_detail":"Worker failed task.","last_error":"",
            "job_tasks":[{"last_error":""},{"last_error":"bucket exists","request_payload":{"org_password":"p"}}]}]}}"#;
        let job = parse_job(failed, l).ok();
        assert_eq!(job.and_then(|j| j.state), Some(JobState::Failed));
        assert!(
            job.and_then(|j| j.error_message)
                .is_some_and(|e| e.eq_str("bucket exists"))
        );

        let err = br#"{"status":{"user_message":"Unauthorized","verbose_message":"token expired","code":401}}"#;
        let e = parse_submit_answer(err, l).ok().and_then(|a| a.error);
        assert!(
            e.and_then(|e| e.message)
                .is_some_and(|m| m.eq_str("Unauthorized"))
        );
    }
}
