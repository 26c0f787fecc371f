//! The job APIs the machine speaks. Each dialect is data plus pure functions behind one enum,
//! so [`JobPoller`](crate::JobPoller) has no type parameter, and each sits behind its own cargo
//! feature so firmware pays flash only for the API it uses.
//!
//! The body parsers are public and pure: a client with its own HTTP stack (reqwest, hyper, a
//! vendor SDK) can use jobpoll's knowledge of each API without its codec. They all produce the
//! same dialect-neutral [`Job`] and [`SubmitAnswer`].

use crate::json::{self, Array, Code, JsonError, JsonStr};
use crate::state::JobState;

#[cfg(feature = "aiqum")]
pub mod aiqum;
#[cfg(feature = "deploy")]
pub mod deploy;
#[cfg(feature = "nse")]
pub mod nse;
#[cfg(feature = "ontap")]
pub mod ontap;

#[cfg(not(any(
    feature = "ontap",
    feature = "deploy",
    feature = "aiqum",
    feature = "nse"
)))]
compile_error!("enable at least one dialect feature (`ontap`, `deploy`, `aiqum` or `nse`)");

/// The job API of the server, with its options. Fixed when a machine is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Dialect {
    /// ONTAP REST (`/api/cluster/jobs/{uuid}`).
    #[cfg(feature = "ontap")]
    Ontap(ontap::OntapOptions),
    /// ONTAP Select Deploy (`{base}/jobs/{id}`, long polling).
    #[cfg(feature = "deploy")]
    Deploy(deploy::DeployOptions),
    /// Active IQ Unified Manager (`{base}/management-server/jobs/{key}`).
    #[cfg(feature = "aiqum")]
    Aiqum(aiqum::AiqumOptions),
    /// NetApp Service Engine (`{base}/jobs/{id}` in a `{status, result}` envelope).
    #[cfg(feature = "nse")]
    Nse(nse::NseOptions),
}

impl Default for Dialect {
    /// ONTAP when its feature is on, else the first dialect built in.
    #[allow(unreachable_code)]
    fn default() -> Self {
        #[cfg(feature = "ontap")]
        return Dialect::Ontap(ontap::OntapOptions::DEFAULT);
        #[cfg(feature = "deploy")]
        return Dialect::Deploy(deploy::DeployOptions::DEFAULT);
        #[cfg(feature = "aiqum")]
        return Dialect::Aiqum(aiqum::AiqumOptions::DEFAULT);
        #[cfg(feature = "nse")]
        return Dialect::Nse(nse::NseOptions::DEFAULT);
    }
}

/// What a job body says, in any dialect. Every field is optional: real bodies omit most of
/// them at one time or another.
#[derive(Clone, Copy, Debug, Default)]
pub struct Job<'a> {
    /// The job's id (ONTAP `uuid`).
    pub id: Option<JsonStr<'a>>,
    /// The job's own link (`_links.self.href`).
    pub href: Option<JsonStr<'a>>,
    /// The raw string the state was read from.
    pub state_raw: Option<JsonStr<'a>>,
    /// The normalized state, when the body has one.
    pub state: Option<JobState>,
    /// The progress or final message.
    pub message: Option<JsonStr<'a>>,
    /// A numeric or textual code (ONTAP `code`).
    pub code: Option<Code<'a>>,
    /// The server's own change marker (Select Deploy `last_modified`), kept verbatim.
    pub cursor: Option<JsonStr<'a>>,
    /// A failure detail separate from the message (ONTAP 9.9+ `error.message`).
    pub error_message: Option<JsonStr<'a>>,
}

impl<'a> Job<'a> {
    /// The message to show: `message`, else the error detail.
    pub fn best_message(&self) -> Option<JsonStr<'a>> {
        self.message.or(self.error_message)
    }

    /// The message to report for the job's state: the error detail first for a failure
    /// (e.g. Service Engine's `last_error` over its generic `status_detail`).
    pub fn message_for_state(&self) -> Option<JsonStr<'a>> {
        match self.state {
            Some(JobState::Failed | JobState::PartiallyFailed) => {
                self.error_message.or(self.message)
            }
            _ => self.best_message(),
        }
    }

    /// True when the job names itself (by id or by link).
    pub fn has_id(&self) -> bool {
        self.id.is_some() || self.href.is_some()
    }
}

/// An API error body.
#[derive(Clone, Copy, Debug, Default)]
pub struct ApiError<'a> {
    /// The error message.
    pub message: Option<JsonStr<'a>>,
    /// The error code (ONTAP sends it as a string such as `"262179"`).
    pub code: Option<Code<'a>>,
    /// The field or parameter at fault, when named.
    pub target: Option<JsonStr<'a>>,
}

/// What the answer to a submit carries. Every part is optional; the machine decides what the
/// combination means with the HTTP status.
#[derive(Clone, Copy, Debug, Default)]
pub struct SubmitAnswer<'a> {
    /// The job it started.
    pub job: Option<Job<'a>>,
    /// Several jobs (ONTAP `jobs[]` for a PATCH or DELETE addressed by a query).
    pub jobs: Option<Array<'a>>,
    /// An API error.
    pub error: Option<ApiError<'a>>,
}

impl Dialect {
    /// A stable one-byte tag, used in resume tokens.
    pub(crate) const fn tag(&self) -> u8 {
        match self {
            #[cfg(feature = "ontap")]
            Dialect::Ontap(_) => 1,
            #[cfg(feature = "deploy")]
            Dialect::Deploy(_) => 2,
            #[cfg(feature = "aiqum")]
            Dialect::Aiqum(_) => 3,
            #[cfg(feature = "nse")]
            Dialect::Nse(_) => 4,
        }
    }

    /// Parses the answer to a submit (any status). An empty body is an answer with no parts.
    pub fn parse_submit_answer<'a>(
        &self,
        body: &'a [u8],
        limits: json::Limits,
    ) -> Result<SubmitAnswer<'a>, JsonError> {
        match self {
            #[cfg(feature = "ontap")]
            Dialect::Ontap(_) => ontap::parse_submit_answer(body, limits),
            #[cfg(feature = "deploy")]
            Dialect::Deploy(_) => deploy::parse_submit_answer(body, limits),
            #[cfg(feature = "aiqum")]
            Dialect::Aiqum(_) => aiqum::parse_submit_answer(body, limits),
            #[cfg(feature = "nse")]
            Dialect::Nse(_) => nse::parse_submit_answer(body, limits),
        }
    }

    /// Parses the answer to a job GET.
    pub fn parse_job<'a>(
        &self,
        body: &'a [u8],
        limits: json::Limits,
    ) -> Result<Job<'a>, JsonError> {
        match self {
            #[cfg(feature = "ontap")]
            Dialect::Ontap(_) => ontap::parse_job(body, limits),
            #[cfg(feature = "deploy")]
            Dialect::Deploy(_) => deploy::parse_job(body, limits),
            #[cfg(feature = "aiqum")]
            Dialect::Aiqum(_) => aiqum::parse_job(body, limits),
            #[cfg(feature = "nse")]
            Dialect::Nse(_) => nse::parse_job(body, limits),
        }
    }

    /// Parses an error body; `None` when it is not one.
    pub fn parse_error<'a>(&self, body: &'a [u8], limits: json::Limits) -> Option<ApiError<'a>> {
        self.parse_submit_answer(body, limits).ok()?.error
    }

    /// The id of one record of a job list (ONTAP `jobs[]`).
    pub fn job_record_id<'a>(&self, record: json::Value<'a>) -> Option<JsonStr<'a>> {
        match self {
            #[cfg(feature = "ontap")]
            Dialect::Ontap(_) => ontap::job_record_id(record),
            #[allow(unreachable_patterns)]
            _ => {
                let obj = record.as_object()?;
                ["id", "key", "uuid"]
                    .iter()
                    .find_map(|k| obj.get(k).and_then(|v| v.as_str()))
            }
        }
    }

    /// Path of a job known by its bare id: `base` then `middle` then the id.
    pub(crate) const fn job_path_parts(&self) -> (&'static str, &'static str) {
        match self {
            #[cfg(feature = "ontap")]
            Dialect::Ontap(_) => ("", ontap::JOBS_PATH),
            #[cfg(feature = "deploy")]
            Dialect::Deploy(o) => (o.base_path, "/jobs/"),
            #[cfg(feature = "aiqum")]
            Dialect::Aiqum(o) => (o.base_path, "/management-server/jobs/"),
            #[cfg(feature = "nse")]
            Dialect::Nse(o) => (o.base_path, "/jobs/"),
        }
    }

    /// The `fields` query of a job GET (fewer when the full body did not fit), if the API has
    /// one.
    pub(crate) const fn poll_fields(&self, reduced: bool) -> Option<&'static str> {
        match self {
            #[cfg(feature = "ontap")]
            Dialect::Ontap(_) => Some(if reduced {
                ontap::FIELDS_REDUCED
            } else {
                ontap::FIELDS
            }),
            #[cfg(feature = "deploy")]
            Dialect::Deploy(_) => Some(if reduced {
                deploy::FIELDS_REDUCED
            } else {
                deploy::FIELDS
            }),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The name and whole seconds of the server-side hold sent with the submit, if the API has
    /// one, given the time left before the deadline.
    pub(crate) fn submit_hold(&self, left: core::time::Duration) -> Option<(&'static str, u64)> {
        match self {
            #[cfg(feature = "ontap")]
            Dialect::Ontap(o) => Some((
                "return_timeout",
                o.return_timeout
                    .min(ontap::MAX_RETURN_TIMEOUT)
                    .min(left)
                    .as_secs(),
            )),
            #[allow(unreachable_patterns)]
            _ => {
                let _ = left;
                None
            }
        }
    }

    /// The long-poll hold in whole seconds for a job GET, given the time left before the
    /// deadline: `None` when the API has no long poll or less than a second is left (the range
    /// starts at 1).
    pub(crate) fn long_poll_hold(&self, left: core::time::Duration) -> Option<u64> {
        match self {
            #[cfg(feature = "deploy")]
            Dialect::Deploy(o) => {
                let secs = o
                    .poll_timeout
                    .min(deploy::MAX_POLL_TIMEOUT)
                    .min(left)
                    .as_secs();
                (secs >= 1).then_some(secs)
            }
            #[allow(unreachable_patterns)]
            _ => {
                let _ = left;
                None
            }
        }
    }

    /// Whether a job link alone in a 200/201 (finished within the hold) is confirmed with a GET.
    pub(crate) const fn confirms_finished_link(&self) -> bool {
        match self {
            #[cfg(feature = "ontap")]
            Dialect::Ontap(o) => o.confirm_with_get,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Whether the API has a server-side cancel.
    pub(crate) const fn cancels_on_server(&self) -> bool {
        match self {
            #[cfg(feature = "ontap")]
            Dialect::Ontap(_) => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Whether the job is cancelled on the server when the deadline passes.
    pub(crate) const fn cancels_on_deadline(&self) -> bool {
        match self {
            #[cfg(feature = "ontap")]
            Dialect::Ontap(o) => o.cancel_on_deadline,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Checks the options.
    pub(crate) fn validate(&self) -> Result<(), crate::ConfigError> {
        let (base, _) = self.job_path_parts();
        if !base.is_empty() && (!base.starts_with('/') || base.ends_with('/')) {
            return Err(crate::ConfigError::BasePath);
        }
        let hold_in_range = match self {
            #[cfg(feature = "ontap")]
            Dialect::Ontap(o) => o.return_timeout <= ontap::MAX_RETURN_TIMEOUT,
            #[cfg(feature = "deploy")]
            Dialect::Deploy(o) => o.poll_timeout <= deploy::MAX_POLL_TIMEOUT,
            #[allow(unreachable_patterns)]
            _ => true,
        };
        if hold_in_range {
            Ok(())
        } else {
            Err(crate::ConfigError::ReturnTimeoutOutOfRange)
        }
    }
}
