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
#[cfg(feature = "generic")]
pub mod generic;
#[cfg(feature = "nse")]
pub mod nse;
#[cfg(feature = "ontap")]
pub mod ontap;

#[cfg(not(any(
    feature = "ontap",
    feature = "deploy",
    feature = "aiqum",
    feature = "nse",
    feature = "generic"
)))]
compile_error!(
    "enable at least one dialect feature (`ontap`, `deploy`, `aiqum`, `nse` or `generic`)"
);

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
    /// Any API of the same shape, described with data.
    #[cfg(feature = "generic")]
    Generic(&'static generic::GenericDialect),
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
        #[cfg(feature = "generic")]
        return Dialect::Generic(&generic::AZURE_STYLE);
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

/// The state a table gives a raw string (ASCII case ignored); `Unknown` when it is not listed.
pub(crate) fn state_from_table(raw: JsonStr<'_>, table: &[(&str, JobState)]) -> JobState {
    lookup(raw, table).unwrap_or(JobState::Unknown)
}

/// The state a table gives a raw string (ASCII case ignored), if listed.
#[cfg_attr(not(feature = "aiqum"), allow(dead_code))]
pub(crate) fn lookup(raw: JsonStr<'_>, table: &[(&str, JobState)]) -> Option<JobState> {
    // Without escapes, equal bytes (ASCII case ignored) are a match, and plain ASCII that
    // matches nothing needs no further look; anything else goes through the unescaping
    // comparison.
    let bytes = raw.raw();
    let plain = !raw.has_escapes();
    let found = match plain {
        true => table
            .iter()
            .find(|(name, _)| bytes.eq_ignore_ascii_case(name.as_bytes())),
        false => None,
    };
    let found = match found {
        Some(hit) => Some(hit),
        None if plain && bytes.is_ascii() => None,
        None => table
            .iter()
            .find(|(name, _)| raw.eq_ignore_ascii_case(name)),
    };
    found.map(|(_, state)| *state)
}

/// The root object of an answer body; `None` for an empty body or one that is not an object
/// (both are answers with no parts, not errors).
pub(crate) fn root_object(
    body: &[u8],
    limits: json::Limits,
) -> Result<Option<json::Object<'_>>, JsonError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(None);
    }
    Ok(json::parse(body, limits)?.as_object())
}

/// An error object in the ONTAP shape `{message, code, target}` (also used where an API's
/// error shape is not documented).
#[cfg_attr(
    not(any(
        feature = "ontap",
        feature = "deploy",
        feature = "aiqum",
        feature = "generic"
    )),
    allow(dead_code)
)]
pub(crate) fn api_error(obj: json::Object<'_>) -> ApiError<'_> {
    ApiError {
        message: obj.get("message").and_then(|v| v.as_str()),
        code: obj.get("code").and_then(|v| v.as_code()),
        target: obj.get("target").and_then(|v| v.as_str()),
    }
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
            #[cfg(feature = "generic")]
            Dialect::Generic(_) => 5,
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
            #[cfg(feature = "generic")]
            Dialect::Generic(g) => g.parse_submit_answer(body, limits),
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
            #[cfg(feature = "generic")]
            Dialect::Generic(g) => g.parse_job(body, limits),
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

    /// A job read from an object already located (a list record).
    pub(crate) fn job_from_object<'a>(&self, obj: json::Object<'a>) -> Job<'a> {
        match self {
            #[cfg(feature = "ontap")]
            Dialect::Ontap(_) => ontap::job_from_object(obj),
            #[cfg(feature = "deploy")]
            Dialect::Deploy(_) => deploy::job_from_object(obj),
            #[cfg(feature = "aiqum")]
            Dialect::Aiqum(_) => aiqum::job_from_object(obj),
            #[cfg(feature = "nse")]
            Dialect::Nse(_) => nse::job_from_object(obj),
            #[cfg(feature = "generic")]
            Dialect::Generic(g) => g.job_from_object(obj),
        }
    }

    /// Whether the API has a documented job list (Select Deploy has none).
    pub(crate) const fn has_job_list(&self) -> bool {
        match self {
            #[cfg(feature = "deploy")]
            Dialect::Deploy(_) => false,
            #[cfg(feature = "generic")]
            Dialect::Generic(_) => false,
            #[allow(unreachable_patterns)]
            _ => true,
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
            #[cfg(feature = "generic")]
            Dialect::Generic(g) => ("", g.job_path_prefix),
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
            _ => {
                let _ = reduced;
                None
            }
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
            #[cfg(feature = "generic")]
            Dialect::Generic(g) => {
                let secs = g.long_poll?.max_hold.min(left).as_secs();
                (secs >= 1).then_some(secs)
            }
            #[allow(unreachable_patterns)]
            _ => {
                let _ = left;
                None
            }
        }
    }

    /// The long poll's query parameters: the hold, the change marker, and the marker's prefix.
    pub(crate) fn long_poll_params(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            #[cfg(feature = "generic")]
            Dialect::Generic(g) => g
                .long_poll
                .map_or(("poll_timeout", "last_modified", ">="), |l| {
                    (l.hold_param, l.cursor_param, l.cursor_prefix)
                }),
            #[allow(unreachable_patterns)]
            _ => ("poll_timeout", "last_modified", ">="),
        }
    }

    /// The response header that names the job in a submit answer, if the API uses one.
    pub(crate) fn id_header(&self) -> Option<&'static str> {
        match self {
            #[cfg(feature = "generic")]
            Dialect::Generic(g) => g.id_header,
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// Whether a job's link keeps its query (an Azure-style operation URL carries a required
    /// `api-version`); the built-in APIs' links are plain paths.
    pub(crate) const fn keeps_link_query(&self) -> bool {
        match self {
            #[cfg(feature = "generic")]
            Dialect::Generic(_) => true,
            #[allow(unreachable_patterns)]
            _ => false,
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
        let (base, middle) = self.job_path_parts();
        if !base.is_empty() && (!base.starts_with('/') || base.ends_with('/')) {
            return Err(crate::ConfigError::BasePath);
        }
        if !middle.starts_with('/') {
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

/// Advances a `last_modified` value by its smallest unit (the last digit of its fraction of a
/// second, or of its seconds), in place, keeping its format. Used when the server's comparison
/// turns out inclusive, so the next long poll waits for a real change. Returns false when the
/// value has no recognizable time of day or the carry would leave the seconds field.
pub fn advance_timestamp(ts: &mut [u8]) -> bool {
    // The time of day starts after 'T' (or a space); the zone, if any, starts at the first
    // 'Z', '+' or '-' after it.
    let Some(t) = ts.iter().position(|&b| b == b'T' || b == b't' || b == b' ') else {
        return false;
    };
    let zone = ts
        .iter()
        .enumerate()
        .skip(t.saturating_add(1))
        .find(|(_, b)| matches!(b, b'Z' | b'z' | b'+' | b'-'))
        .map_or(ts.len(), |(i, _)| i);
    let Some(time) = ts.get_mut(t.saturating_add(1)..zone) else {
        return false;
    };
    // Walk back over the fraction and the seconds, carrying; stop at the ':' before seconds.
    let mut i = time.len();
    let mut seconds_digits = 0u8;
    let mut in_seconds = !time.contains(&b'.');
    while let Some(prev) = i.checked_sub(1) {
        i = prev;
        let Some(b) = time.get_mut(i) else {
            return false;
        };
        match *b {
            b'.' => {
                in_seconds = true;
                continue;
            }
            b':' => return false,
            b'0'..=b'8' => {
                *b = b.saturating_add(1);
                // Seconds may not reach 60.
                if in_seconds && seconds_digits == 1 && *b >= b'6' {
                    return false;
                }
                return true;
            }
            b'9' => {
                *b = b'0';
                if in_seconds {
                    seconds_digits = seconds_digits.saturating_add(1);
                }
            }
            _ => return false,
        }
    }
    false
}
