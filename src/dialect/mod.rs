//! The job APIs the machine speaks. Each dialect's file holds its facts as one value (a
//! [`Profile`]: paths, fields, the submit hold, the long poll, the cancel request, the job list)
//! beside its pure parsers; [`Dialect`] selects one with a single `match`, so
//! [`JobPoller`](crate::JobPoller) has no type parameter, and each sits behind its own cargo
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
pub mod profile;

pub use profile::{CancelRequest, Hold, ListParam, ListSpec, LongPoll, PollFields, Profile};

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
    /// The code of the job's error object (ONTAP 9.9+ `error.code`), kept when the job's own
    /// `code` is absent.
    pub error_code: Option<Code<'a>>,
    /// The field or parameter the job's error names (ONTAP 9.9+ `error.target`).
    pub error_target: Option<JsonStr<'a>>,
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

    /// The job's code: its own `code`, else its error object's.
    pub fn best_code(&self) -> Option<Code<'a>> {
        self.code.or(self.error_code)
    }

    /// True when the job names itself (by id or by link).
    pub fn has_id(&self) -> bool {
        self.id.is_some() || self.href.is_some()
    }

    /// A job known only by its id.
    #[cfg_attr(not(feature = "aiqum"), allow(dead_code))]
    pub(crate) fn with_id(id: JsonStr<'a>) -> Self {
        Job {
            id: Some(id),
            ..Job::default()
        }
    }

    /// Records the raw state and its normalized value.
    #[cfg_attr(not(any(feature = "deploy", feature = "nse")), allow(dead_code))]
    pub(crate) fn set_state(
        &mut self,
        raw: Option<JsonStr<'a>>,
        normalize: fn(JsonStr<'_>) -> JobState,
    ) {
        self.state_raw = raw;
        self.state = raw.map(normalize);
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
///
/// `job` is set only when the answer holds something *job-shaped*, as each dialect defines it
/// (its module docs say how); a record that is not a job (the object a synchronous change
/// created or modified) is never read as one: its id is `record_id`.
#[derive(Clone, Copy, Debug, Default)]
pub struct SubmitAnswer<'a> {
    /// The job it started.
    pub job: Option<Job<'a>>,
    /// The id of a record the answer carries that is not a job: the object a synchronous
    /// change created or modified (Service Engine's modify answers, a Select Deploy `record`,
    /// a Unified Manager object). Set only when `job` is not.
    pub record_id: Option<JsonStr<'a>>,
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

/// The root object of a job body; a body that is well-formed JSON but not an object (an
/// array, a string, a number) is [`JsonError::NotAnObject`], never an empty job. (ONTAP's
/// one-pass reader checks the root itself.)
#[cfg_attr(
    not(any(
        feature = "deploy",
        feature = "aiqum",
        feature = "nse",
        feature = "generic"
    )),
    allow(dead_code)
)]
pub(crate) fn job_root(body: &[u8], limits: json::Limits) -> Result<json::Object<'_>, JsonError> {
    json::parse(body, limits)?
        .as_object()
        .ok_or(JsonError::NotAnObject)
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

/// A submit answer whose root object names the job in a `job` member and an error in an `error`
/// member (ONTAP, Unified Manager, Select Deploy). `own` reads each other member with a plain
/// key: it may fill the answer and returns the id of a record it found, kept only when no job
/// was (the last one wins).
#[cfg_attr(
    not(any(feature = "ontap", feature = "deploy", feature = "aiqum")),
    allow(dead_code)
)]
pub(crate) fn job_member_answer<'a>(
    body: &'a [u8],
    limits: json::Limits,
    job_from_object: fn(json::Object<'a>) -> Job<'a>,
    mut own: impl FnMut(&mut SubmitAnswer<'a>, &str, json::Value<'a>) -> Option<JsonStr<'a>>,
) -> Result<SubmitAnswer<'a>, JsonError> {
    let mut answer = SubmitAnswer::default();
    let Some(root) = root_object(body, limits)? else {
        return Ok(answer);
    };
    let mut record_id = None;
    for (key, value) in root.members() {
        match key.as_plain_str() {
            Some("job") => answer.job = value.as_object().map(job_from_object).filter(Job::has_id),
            Some("error") => answer.error = value.as_object().map(api_error),
            Some(key) => record_id = own(&mut answer, key, value).or(record_id),
            None => {}
        }
    }
    answer.record_id = record_id.filter(|_| answer.job.is_none());
    Ok(answer)
}

/// A job read member by member: `field` gets each member with a plain key (the last duplicate
/// wins, as everywhere in jobpoll).
#[cfg_attr(
    not(any(feature = "deploy", feature = "aiqum", feature = "nse")),
    allow(dead_code)
)]
pub(crate) fn job_from_members<'a>(
    obj: json::Object<'a>,
    mut field: impl FnMut(&mut Job<'a>, &str, json::Value<'a>),
) -> Job<'a> {
    let mut job = Job::default();
    for (key, value) in obj.members() {
        if let Some(key) = key.as_plain_str() {
            field(&mut job, key, value);
        }
    }
    job
}

/// What [`Dialect::select`] finds: the dialect's token tag, its facts and its parsers.
struct Selected {
    tag: u8,
    profile: Profile,
    parsers: &'static dyn Parsers,
}

/// A dialect's body parsers, behind one vtable so that selecting a dialect is one `match`.
trait Parsers: Sync {
    fn parse_submit_answer<'a>(
        &self,
        body: &'a [u8],
        limits: json::Limits,
    ) -> Result<SubmitAnswer<'a>, JsonError>;
    fn parse_job<'a>(&self, body: &'a [u8], limits: json::Limits) -> Result<Job<'a>, JsonError>;
    fn job_from_object<'a>(&self, obj: json::Object<'a>) -> Job<'a>;
}

/// The parsers of a built-in dialect, whose module has the three functions.
#[cfg(any(
    feature = "ontap",
    feature = "deploy",
    feature = "aiqum",
    feature = "nse"
))]
macro_rules! builtin_parsers {
    ($name:ident, $module:ident) => {
        struct $name;
        impl Parsers for $name {
            fn parse_submit_answer<'a>(
                &self,
                body: &'a [u8],
                limits: json::Limits,
            ) -> Result<SubmitAnswer<'a>, JsonError> {
                $module::parse_submit_answer(body, limits)
            }
            fn parse_job<'a>(
                &self,
                body: &'a [u8],
                limits: json::Limits,
            ) -> Result<Job<'a>, JsonError> {
                $module::parse_job(body, limits)
            }
            fn job_from_object<'a>(&self, obj: json::Object<'a>) -> Job<'a> {
                $module::job_from_object(obj)
            }
        }
    };
}
#[cfg(feature = "ontap")]
builtin_parsers!(OntapParsers, ontap);
#[cfg(feature = "deploy")]
builtin_parsers!(DeployParsers, deploy);
#[cfg(feature = "aiqum")]
builtin_parsers!(AiqumParsers, aiqum);
#[cfg(feature = "nse")]
builtin_parsers!(NseParsers, nse);

#[cfg(feature = "generic")]
impl Parsers for generic::GenericDialect {
    fn parse_submit_answer<'a>(
        &self,
        body: &'a [u8],
        limits: json::Limits,
    ) -> Result<SubmitAnswer<'a>, JsonError> {
        generic::GenericDialect::parse_submit_answer(self, body, limits)
    }
    fn parse_job<'a>(&self, body: &'a [u8], limits: json::Limits) -> Result<Job<'a>, JsonError> {
        generic::GenericDialect::parse_job(self, body, limits)
    }
    fn job_from_object<'a>(&self, obj: json::Object<'a>) -> Job<'a> {
        generic::GenericDialect::job_from_object(self, obj)
    }
}

impl Dialect {
    /// The one place a dialect is told apart: its resume-token tag (stable across versions),
    /// its facts and its parsers.
    // Inlined everywhere, so each call site keeps only the facts it reads (often a constant):
    // a firmware is smaller than with one shared copy.
    #[inline(always)]
    fn select(&self) -> Selected {
        match self {
            #[cfg(feature = "ontap")]
            Dialect::Ontap(o) => Selected {
                tag: 1,
                profile: ontap::profile(o),
                parsers: &OntapParsers,
            },
            #[cfg(feature = "deploy")]
            Dialect::Deploy(o) => Selected {
                tag: 2,
                profile: deploy::profile(o),
                parsers: &DeployParsers,
            },
            #[cfg(feature = "aiqum")]
            Dialect::Aiqum(o) => Selected {
                tag: 3,
                profile: aiqum::profile(o),
                parsers: &AiqumParsers,
            },
            #[cfg(feature = "nse")]
            Dialect::Nse(o) => Selected {
                tag: 4,
                profile: nse::profile(o),
                parsers: &NseParsers,
            },
            #[cfg(feature = "generic")]
            Dialect::Generic(g) => Selected {
                tag: 5,
                profile: g.profile,
                parsers: *g,
            },
        }
    }

    /// The API's facts: paths, parameters, what it offers (see [`Profile`]).
    #[inline(always)]
    pub fn profile(&self) -> Profile {
        self.select().profile
    }

    /// A stable one-byte tag, used in resume tokens.
    pub(crate) fn tag(&self) -> u8 {
        self.select().tag
    }

    /// Parses the answer to a submit (any status). An empty body is an answer with no parts.
    pub fn parse_submit_answer<'a>(
        &self,
        body: &'a [u8],
        limits: json::Limits,
    ) -> Result<SubmitAnswer<'a>, JsonError> {
        self.select().parsers.parse_submit_answer(body, limits)
    }

    /// Parses the answer to a job GET. A body that is JSON but not an object is
    /// [`JsonError::NotAnObject`].
    pub fn parse_job<'a>(
        &self,
        body: &'a [u8],
        limits: json::Limits,
    ) -> Result<Job<'a>, JsonError> {
        self.select().parsers.parse_job(body, limits)
    }

    /// Parses an error body; `None` when it is not one.
    pub fn parse_error<'a>(&self, body: &'a [u8], limits: json::Limits) -> Option<ApiError<'a>> {
        self.parse_submit_answer(body, limits).ok()?.error
    }

    /// The id of one record of a several-jobs answer (ONTAP `jobs[]`), where the profile's
    /// [`record_id`](Profile::record_id) says.
    pub fn job_record_id<'a>(&self, record: json::Value<'a>) -> Option<JsonStr<'a>> {
        let obj = record.as_object()?;
        self.profile()
            .record_id
            .iter()
            .find_map(|path| obj.get_path(path).and_then(|v| v.as_str()))
    }

    /// A job read from an object already located (a list record).
    pub(crate) fn job_from_object<'a>(&self, obj: json::Object<'a>) -> Job<'a> {
        self.select().parsers.job_from_object(obj)
    }

    /// Checks the options.
    pub(crate) fn validate(&self) -> Result<(), crate::ConfigError> {
        self.profile().validate()
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
