//! ONTAP REST: `return_timeout` on the submit, `GET /api/cluster/jobs/{uuid}`, states `queued`,
//! `running`, `paused`, `success`, `failure`.
//!
//! The parsers are public and pure, so a client with its own HTTP stack can use them. Every
//! field is optional (real bodies omit `message`, `code`, `_links`); `code` arrives as an integer
//! or a string and is never the failure test (ONTAP sends non-zero codes while running).

use core::time::Duration;

use super::profile::{CancelRequest, Hold, ListParam, ListSpec, PollFields, Profile};
use super::{Job, SubmitAnswer};
use crate::http::Method;
use crate::json::{self, JsonError, JsonStr, Object, Value};
use crate::state::JobState;

/// Path prefix of a job, used when the answer names the job only by `uuid`.
pub const JOBS_PATH: &str = "/api/cluster/jobs/";
/// `fields` asked for on a job GET: exactly what the machine reads.
pub const FIELDS: &str = "state,message,code";
/// `fields` asked for when the job body did not fit the receive buffer: no message.
pub const FIELDS_REDUCED: &str = "state,code";
/// The largest `return_timeout` ONTAP accepts.
pub const MAX_RETURN_TIMEOUT: Duration = Duration::from_secs(120);

/// ONTAP options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OntapOptions {
    /// How long the server holds the submit waiting for the job to finish (0..=120 s, whole
    /// seconds; clamped to the time left before the deadline). A job that finishes within it
    /// costs one request and no added delay.
    ///
    /// Default 30 s: most volume, snapshot and SVM operations finish within it, and it bounds
    /// the window in which a dropped connection leaves the job id unknown (the submit is never
    /// re-sent) to 30 s. 120 s saves a few polls on longer jobs at the price of a four times
    /// longer window.
    pub return_timeout: Duration,
    /// After a 200/201 that carries only a job link (finished within `return_timeout`), confirm
    /// with one GET. Off by default: ONTAP documents that no GET is needed.
    pub confirm_with_get: bool,
    /// When the deadline passes, ask the server to cancel the job
    /// (`PATCH /api/cluster/jobs/{uuid}?action=cancel`) before reporting
    /// [`Outcome::DeadlineExceeded`](crate::Outcome::DeadlineExceeded). Off by default: a job
    /// that outlives the caller's patience is not necessarily unwanted.
    pub cancel_on_deadline: bool,
}

impl OntapOptions {
    /// `return_timeout` 30 s, no confirming GET.
    pub const DEFAULT: OntapOptions = OntapOptions {
        return_timeout: Duration::from_secs(30),
        confirm_with_get: false,
        cancel_on_deadline: false,
    };
}

impl Default for OntapOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// ONTAP's facts: jobs under `/api/cluster/jobs/`, `fields` on each GET, `return_timeout` on
/// the submit, a cancel by `PATCH ...?action=cancel`, a job list with `_links.next`.
pub const fn profile(options: &OntapOptions) -> Profile {
    Profile {
        poll_fields: Some(PollFields {
            param: "fields",
            full: FIELDS,
            reduced: FIELDS_REDUCED,
        }),
        submit_hold: Some(Hold {
            param: "return_timeout",
            wanted: options.return_timeout,
            max: MAX_RETURN_TIMEOUT,
        }),
        confirm_finished_link: options.confirm_with_get,
        cancel: Some(CancelRequest {
            method: Method::Patch,
            query: &[("action", "cancel")],
            body: b"{}",
            on_deadline: options.cancel_on_deadline,
        }),
        list: Some(ListSpec {
            path: "/api/cluster/jobs",
            params: &[
                ListParam::Fixed("fields", "uuid,state,description,start_time,message,code"),
                ListParam::PageSize("max_records"),
                ListParam::State("state"),
            ],
            records: &["records"],
            total: None,
            id_field: "uuid",
            description_field: "description",
            start_field: "start_time",
        }),
        record_id: &[&["uuid"], &["_links", "self", "href"]],
        ..Profile::at(JOBS_PATH)
    }
}

pub(crate) fn job_from_object(obj: Object<'_>) -> Job<'_> {
    let mut job = Job::default();
    // One pass over the members; the last duplicate wins, as everywhere in jobpoll.
    for (key, value) in obj.members() {
        job_member(&mut job, key, value);
    }
    job
}

/// Records one member of a job object in `job` (keys with escapes are never job fields).
fn job_member<'a>(job: &mut Job<'a>, key: JsonStr<'a>, value: Value<'a>) {
    if key.has_escapes() {
        return;
    }
    match key.raw() {
        b"uuid" => job.id = value.as_str(),
        b"state" => {
            job.state_raw = value.as_str();
            job.state = job.state_raw.map(normalize_state);
        }
        b"message" => job.message = value.as_str(),
        b"code" => job.code = value.as_code(),
        b"_links" => {
            job.href = value
                .as_object()
                .and_then(|l| l.get_path(&["self", "href"]))
                .and_then(|v| v.as_str())
        }
        b"error" => {
            let error = value.as_object().map(super::api_error).unwrap_or_default();
            job.error_message = error.message;
            job.error_code = error.code;
            job.error_target = error.target;
        }
        _ => {}
    }
}

/// Parses the answer to a submit. An empty body is an answer with no parts.
///
/// Job-shaped: a `job` object that names the job (`uuid` or `_links.self.href`); anything
/// else is not a job. No record id is read: the machine never asks for `return_records`, so a
/// synchronous answer carries no record (and firmware pays no flash for reading one).
pub fn parse_submit_answer(
    body: &[u8],
    limits: json::Limits,
) -> Result<SubmitAnswer<'_>, JsonError> {
    // `jobs` for a change addressed by a query; ONTAP answers no record in place of a job.
    super::job_member_answer(body, limits, job_from_object, |answer, key, value| {
        if key == "jobs" {
            answer.jobs = value.as_array();
        }
        None
    })
}

/// Parses a job GET answer (a bare job object). A body that is valid JSON but not an object
/// is [`JsonError::NotAnObject`].
pub fn parse_job(body: &[u8], limits: json::Limits) -> Result<Job<'_>, JsonError> {
    // One pass: validate and pick the job's fields together. Reading what `job_from_object`
    // reads: the last value at each key path decides, and a value of the wrong type (or an
    // object or array opening at a prefix of the path) clears the field.
    let mut job = Job::default();
    json::parse_visit(body, limits, &mut |path, value| {
        let as_str = value.and_then(|v| v.as_str());
        match path {
            [key] if !key.has_escapes() => match key.raw() {
                b"uuid" => job.id = as_str,
                b"state" => {
                    job.state_raw = as_str;
                    job.state = as_str.map(normalize_state);
                }
                b"message" => job.message = as_str,
                b"code" => job.code = value.and_then(|v| v.as_code()),
                b"_links" => job.href = None,
                b"error" => {
                    job.error_message = None;
                    job.error_code = None;
                    job.error_target = None;
                }
                _ => {}
            },
            [links, this]
                if links.raw() == b"_links" && !links.has_escapes() && this.eq_str("self") =>
            {
                job.href = None;
            }
            [error, field] if error.raw() == b"error" && !error.has_escapes() => {
                if field.eq_str("message") {
                    job.error_message = as_str;
                } else if field.eq_str("code") {
                    job.error_code = value.and_then(|v| v.as_code());
                } else if field.eq_str("target") {
                    job.error_target = as_str;
                }
            }
            [links, this, href]
                if links.raw() == b"_links"
                    && !links.has_escapes()
                    && this.eq_str("self")
                    && href.eq_str("href") =>
            {
                job.href = as_str;
            }
            _ => {}
        }
    })?;
    // Validated above, so the first byte that is not whitespace opens the root.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(JsonError::NotAnObject);
    }
    Ok(job)
}

/// The id of one record of a `jobs[]` list: `uuid`, else `_links.self.href`.
pub fn job_record_id(record: Value<'_>) -> Option<JsonStr<'_>> {
    let obj = record.as_object()?;
    obj.get("uuid").and_then(|v| v.as_str()).or_else(|| {
        obj.get_path(&["_links", "self", "href"])
            .and_then(|v| v.as_str())
    })
}

/// Maps an ONTAP state string (any letter case) to the normalized state.
pub fn normalize_state(raw: JsonStr<'_>) -> JobState {
    const TABLE: &[(&str, JobState)] = &[
        ("queued", JobState::Pending),
        ("running", JobState::Running),
        ("paused", JobState::Paused),
        ("success", JobState::Succeeded),
        ("failure", JobState::Failed),
    ];
    super::state_from_table(raw, TABLE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Code;

    fn lim() -> json::Limits {
        json::Limits::default()
    }

    #[test]
    fn states_table() {
        let table: &[(&[u8], JobState)] = &[
            (br#""queued""#, JobState::Pending),
            (br#""running""#, JobState::Running),
            (br#""paused""#, JobState::Paused),
            (br#""success""#, JobState::Succeeded),
            (br#""failure""#, JobState::Failed),
            (br#""SUCCESS""#, JobState::Succeeded),
            (br#""cancelled""#, JobState::Unknown),
            (br#""""#, JobState::Unknown),
        ];
        for (raw, want) in table {
            let v = json::parse(raw, lim()).ok().and_then(|v| v.as_str());
            assert_eq!(v.map(normalize_state), Some(*want), "{raw:?}");
        }
    }

    #[test]
    fn submit_answers() {
        let a = parse_submit_answer(
            br#"{"job":{"uuid":"u1","_links":{"self":{"href":"/api/cluster/jobs/u1"}}},"cli_output":"x"}"#,
            lim(),
        )
        .ok()
        .and_then(|a| a.job);
        let job = a.as_ref();
        assert!(job.and_then(|j| j.id).is_some_and(|u| u.eq_str("u1")));
        assert!(
            job.and_then(|j| j.href)
                .is_some_and(|h| h.eq_str("/api/cluster/jobs/u1"))
        );

        let a = parse_submit_answer(
            br#"{"jobs":[{"uuid":"a"},{"uuid":"b"}],"num_records":2}"#,
            lim(),
        );
        assert_eq!(a.ok().and_then(|a| a.jobs).map(|j| j.len()), Some(2));

        let a = parse_submit_answer(
            br#"{"error":{"message":"m","code":"262197","target":"t"}}"#,
            lim(),
        );
        let e = a.ok().and_then(|a| a.error);
        assert_eq!(
            e.and_then(|e| e.code).and_then(|c| match c {
                Code::Int(i) => Some(i),
                _ => None,
            }),
            Some(262197)
        );

        let a = parse_submit_answer(b"  ", lim());
        assert!(a.is_ok_and(|a| a.job.is_none() && a.jobs.is_none() && a.error.is_none()));
        assert!(parse_submit_answer(b"{", lim()).is_err());
    }

    /// The one-pass `parse_job` reads exactly what walking the parsed object reads.
    #[test]
    fn one_pass_matches_the_object_walk() {
        extern crate std;
        use std::format;
        let table: &[&[u8]] = &[
            br#"{"uuid":"u","state":"running","message":"m \"q\"","code":"12","_links":{"self":{"href":"/a"}}}"#,
            br#"{"_links":{"self":{"href":"/a"}},"_links":{"next":{}}}"#,
            br#"{"_links":{"self":{"href":"/a"},"self":{}}}"#,
            br#"{"_links":{"self":{"href":"/a","href":7}}}"#,
            br#"{"_links":{"self":{"href":{"x":"/a"}}}}"#,
            br#"{"_links":"x","uuid":["u"],"state":{"a":1},"code":[0]}"#,
            br#"{"_links":{"\u0073elf":{"h\u0072ef":"/b"}}}"#,
            br#"{"\u005flinks":{"self":{"href":"/c"}},"st\u0061te":"success"}"#,
            br#"{"error":{"message":"e1","code":"3"},"error":{"code":4}}"#,
            br#"{"error":{"message":"e1","code":"3","target":"t"},"error":{"code":"x"}}"#,
            br#"{"error":{"code":{"n":1},"target":7,"message":"m"}}"#,
            br#"{"error":"flat","error":{"target":"t","target":"u"}}"#,
            br#"{"error":{"message":"e1"},"message":null,"code":1.5}"#,
            br#"{"jobs":[{"uuid":"a","_links":{"self":{"href":"/d"}}}],"x":{"y":{"z":{"uuid":"n"}}}}"#,
            br#"[{"uuid":"u"}]"#,
            br#""text""#,
            br#"{"state":"running","state":"success","uuid":"a","uuid":7}"#,
        ];
        for body in table {
            let walked = json::parse(body, lim())
                .ok()
                .and_then(|v| v.as_object())
                .map(job_from_object);
            let Some(walked) = walked else {
                assert_eq!(parse_job(body, lim()).err(), Some(JsonError::NotAnObject));
                continue;
            };
            let one_pass = parse_job(body, lim()).unwrap();
            assert_eq!(
                format!("{one_pass:?}"),
                format!("{walked:?}"),
                "{}",
                std::string::String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn job_bodies() {
        let j = parse_job(
            br#"{"uuid":"u","state":"failure","message":"Snapshot copy \"s\" is locked","code":1638555}"#,
            lim(),
        );
        let j = j.ok();
        assert_eq!(j.and_then(|j| j.state), Some(JobState::Failed));
        assert!(matches!(j.and_then(|j| j.code), Some(Code::Int(1638555))));
        let msg = j.and_then(|j| j.best_message());
        assert!(msg.is_some_and(|m| m.eq_str("Snapshot copy \"s\" is locked")));
        // Duplicate keys: the last wins.
        let j = parse_job(br#"{"state":"running","state":"success"}"#, lim()).ok();
        assert_eq!(j.and_then(|j| j.state), Some(JobState::Succeeded));
        // code as a string.
        let j = parse_job(br#"{"state":"success","code":"0"}"#, lim()).ok();
        assert!(matches!(j.and_then(|j| j.code), Some(Code::Int(0))));
    }
}
