//! A job API described with data, not code: for services of the same 202-plus-job shape.
//!
//! The description is a `static` the caller writes once (see the example below): where the
//! submit answer names the job (a header holding its URL, or a field path in the body), the
//! job's path, where the state is and how its strings map onto [`JobState`], and optionally a
//! long poll. The machine treats it exactly like the built-in dialects.
//!
//! An Azure-style long-running operation: the submit answers 202 with an `Operation-Location`
//! header; the operation answers `{"status": "Running" | "Succeeded" | "Failed" | "Canceled"}`.
//!
//! ```
//! use jobpoll::dialect::generic::GenericDialect;
//! use jobpoll::dialect::Profile;
//! use jobpoll::{Dialect, JobState};
//!
//! static AZURE_LRO: GenericDialect = GenericDialect {
//!     profile: Profile {
//!         id_header: Some("Operation-Location"),
//!         link_keeps_query: true,
//!         ..Profile::at("/operations/")
//!     },
//!     submit_id: &["id"],
//!     job_root: &[],
//!     state_field: "status",
//!     outcome_field: None,
//!     terminal_state: None,
//!     message_field: Some("error.message"),
//!     states: &[
//!         ("NotStarted", JobState::Pending),
//!         ("Running", JobState::Running),
//!         ("Succeeded", JobState::Succeeded),
//!         ("Failed", JobState::Failed),
//!         ("Canceled", JobState::Failed),
//!     ],
//!     marker_field: None,
//! };
//! let dialect = Dialect::Generic(&AZURE_LRO);
//! # let _ = dialect;
//! ```

use super::{Job, Profile, SubmitAnswer};
use crate::json::{self, JsonError, JsonStr, Object, Value};
use crate::state::JobState;

/// An Azure-style long-running operation: the job's URL in `Operation-Location`, `status`
/// `NotStarted` / `Running` / `Succeeded` / `Failed` / `Canceled`, the error in
/// `error.message`. Also the default dialect when `generic` is the only dialect built in.
pub static AZURE_STYLE: GenericDialect = GenericDialect {
    profile: Profile {
        id_header: Some("Operation-Location"),
        // The operation's URL carries the `api-version` it must be polled with.
        link_keeps_query: true,
        ..Profile::at("/operations/")
    },
    submit_id: &["id"],
    job_root: &[],
    state_field: "status",
    outcome_field: None,
    terminal_state: None,
    message_field: Some("error.message"),
    states: &[
        ("NotStarted", JobState::Pending),
        ("Running", JobState::Running),
        ("Succeeded", JobState::Succeeded),
        ("Failed", JobState::Failed),
        ("Canceled", JobState::Failed),
        ("Cancelled", JobState::Failed),
    ],
    marker_field: None,
};

/// The description of a job API. Field paths are dotted (`"error.message"`) or given as a
/// slice of keys.
#[derive(Debug, PartialEq, Eq)]
pub struct GenericDialect {
    /// The API's facts, as for the built-in dialects: the job path (a job known by a bare id
    /// is polled at the base path, the job path and the id), the response header holding the
    /// job's URL (`Operation-Location`, `Location`), whether its links keep their query, a
    /// long poll, a cancel. A generic dialect has no job list for now (`list` is ignored).
    pub profile: Profile,
    /// Keys leading to the job's id (or href, if it starts with '/') in the submit answer body,
    /// e.g. `&["id"]` or `&["job", "uuid"]`.
    pub submit_id: &'static [&'static str],
    /// Keys leading to the job object in a GET answer (empty: the root).
    pub job_root: &'static [&'static str],
    /// The field holding the state (dotted path inside the job object).
    pub state_field: &'static str,
    /// When the state field says `terminal_state`, the outcome is read from this field instead.
    pub outcome_field: Option<&'static str>,
    /// The state value that sends the outcome to `outcome_field` (e.g. `"completed"`).
    pub terminal_state: Option<&'static str>,
    /// The field holding the progress or error message (dotted path).
    pub message_field: Option<&'static str>,
    /// State (and outcome) strings, compared without regard to ASCII case; anything else is
    /// [`JobState::Unknown`].
    pub states: &'static [(&'static str, JobState)],
    /// The job field holding the change marker of a long poll (`last_modified`), when the
    /// profile has a long poll.
    pub marker_field: Option<&'static str>,
}

#[cfg(feature = "defmt")]
impl defmt::Format for GenericDialect {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "GenericDialect({=str})", self.profile.job_path)
    }
}

/// Follows a dotted path (`"error.message"`) inside `obj`.
fn dotted<'a>(obj: Object<'a>, path: &str) -> Option<Value<'a>> {
    let mut value = Value::Object(obj);
    for key in path.split('.') {
        value = value.as_object()?.get(key)?;
    }
    Some(value)
}

fn keys<'a>(obj: Object<'a>, keys: &[&str]) -> Option<Value<'a>> {
    let mut value = Value::Object(obj);
    for key in keys {
        value = match value {
            Value::Object(o) => o.get(key)?,
            // A numeric key indexes an array (`["records", "0"]`).
            Value::Array(a) => a.get(key.parse().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

impl GenericDialect {
    fn state_of(&self, raw: JsonStr<'_>) -> JobState {
        super::state_from_table(raw, self.states)
    }

    pub(crate) fn job_from_object<'a>(&self, obj: Object<'a>) -> Job<'a> {
        let mut job = Job::default();
        let state = dotted(obj, self.state_field).and_then(|v| v.as_str());
        let terminal = match (state, self.terminal_state) {
            (Some(s), Some(t)) => s.eq_ignore_ascii_case(t),
            _ => false,
        };
        let outcome = self
            .outcome_field
            .and_then(|f| dotted(obj, f))
            .and_then(|v| v.as_str());
        let raw = if terminal { outcome.or(state) } else { state };
        job.state_raw = raw;
        job.state = raw.map(|r| self.state_of(r));
        job.message = self
            .message_field
            .and_then(|f| dotted(obj, f))
            .and_then(|v| v.as_str());
        let id_key = self.submit_id.last().copied().unwrap_or("id");
        job.id = obj
            .get(id_key)
            .and_then(|v| v.as_str())
            .filter(|s| !s.raw().starts_with(b"/"));
        job.cursor = self
            .marker_field
            .filter(|_| self.profile.long_poll.is_some())
            .and_then(|field| dotted(obj, field))
            .and_then(|v| v.as_str());
        job
    }

    /// Parses the answer to a submit.
    ///
    /// Job-shaped: a string at `submit_id` (or the job's URL in the profile's `id_header`,
    /// which the machine reads). Without it the answer names no job, and no record id is
    /// read either: a success without one is a completion without a job.
    pub fn parse_submit_answer<'a>(
        &self,
        body: &'a [u8],
        limits: json::Limits,
    ) -> Result<SubmitAnswer<'a>, JsonError> {
        let mut answer = SubmitAnswer::default();
        let Some(root) = super::root_object(body, limits)? else {
            return Ok(answer);
        };
        let named = keys(root, self.submit_id).and_then(|v| v.as_str());
        if let Some(named) = named {
            // The job object is the one that holds the id (e.g. `task` in `task.id`).
            let parent = self.submit_id.split_last().map_or(&[][..], |(_, p)| p);
            let holder = keys(root, parent)
                .and_then(|v| v.as_object())
                .unwrap_or(root);
            let mut job = self.job_from_object(holder);
            if named.raw().starts_with(b"/") {
                job.href = Some(named);
                job.id = None;
            } else {
                job.id = Some(named);
            }
            // A state only counts when the answer really is the job object.
            answer.job = Some(job);
        }
        answer.error = root
            .get("error")
            .and_then(|e| e.as_object())
            .map(super::api_error);
        Ok(answer)
    }

    /// Parses a job GET answer. A body that is JSON but not an object is
    /// [`JsonError::NotAnObject`].
    pub fn parse_job<'a>(
        &self,
        body: &'a [u8],
        limits: json::Limits,
    ) -> Result<Job<'a>, JsonError> {
        let root = super::job_root(body, limits)?;
        let job = keys(root, self.job_root).and_then(|v| v.as_object());
        Ok(job.map(|o| self.job_from_object(o)).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static AIQUM_LIKE: GenericDialect = GenericDialect {
        profile: Profile::at("/api/management-server/jobs/"),
        submit_id: &["job", "key"],
        job_root: &[],
        state_field: "state",
        outcome_field: Some("status"),
        terminal_state: Some("completed"),
        message_field: Some("detail.text"),
        states: &[
            ("running", JobState::Running),
            ("normal", JobState::Succeeded),
            ("error", JobState::Failed),
        ],
        marker_field: None,
    };

    #[test]
    fn data_describes_the_api() {
        let l = json::Limits::default();
        let a = AIQUM_LIKE
            .parse_submit_answer(br#"{"job":{"key":"k:1"}}"#, l)
            .ok()
            .and_then(|a| a.job);
        assert!(a.and_then(|j| j.id).is_some_and(|i| i.eq_str("k:1")));
        let j = AIQUM_LIKE
            .parse_job(
                br#"{"state":"completed","status":"ERROR","detail":{"text":"boom"}}"#,
                l,
            )
            .ok();
        assert_eq!(j.and_then(|j| j.state), Some(JobState::Failed));
        assert!(j.and_then(|j| j.message).is_some_and(|m| m.eq_str("boom")));
        let j = AIQUM_LIKE.parse_job(br#"{"state":"RUNNING"}"#, l).ok();
        assert_eq!(j.and_then(|j| j.state), Some(JobState::Running));
        let j = AIQUM_LIKE.parse_job(br#"{"state":"dormant"}"#, l).ok();
        assert_eq!(j.and_then(|j| j.state), Some(JobState::Unknown));
    }
}
