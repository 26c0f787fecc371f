//! A fleet that survives `kill -9`: every operation's progress written to a [`Journal`] before
//! and while it runs, and picked up from there after a restart (feature `tokio`).
//!
//! For each operation, [`JournaledFleet::run`] writes, in order:
//!
//! 1. an [`Intent`] before the submit is sent: the caller's operation key, the method, the path
//!    and the description the server gives the job (ONTAP: `"POST /api/storage/volumes"`).
//!    Never the body, the query, the credentials or any header: a journal can be read by more
//!    people than the cluster's administrators;
//! 2. [`Record::Accepted`] with the job's [`ResumeToken`] bytes once the server named the job;
//! 3. [`Record::Progress`] with a fresh token after each state change;
//! 4. [`Record::Outcome`]: how it ended (the outcome's and the verdict's names, the job id).
//!
//! On a restart with the same journal, `run` with the same operation key does what the last
//! record says, and nothing else:
//!
//! | last record | what `run` does |
//! |---|---|
//! | none | writes the intent, submits, follows the job ([`How::Submitted`]) |
//! | intent | never submits again: looks for the job in the server's job list by its description, started no earlier than the intent (wall-clock time) minus a margin; exactly one match is followed ([`How::Recovered`]); none or several end as [`Outcome::SubmitOutcomeUnknown`] with the candidates ([`How::Unresolved`]) |
//! | accepted, progress | resumes the job from the token ([`How::Resumed`]) |
//! | outcome | reports it ([`How::Finished`]) |
//!
//! A listing that fails (the server refused it, a transport error) ends [`How::ListFailed`] and
//! writes nothing: the next start looks again.
//!
//! Duration estimates: the fleet keeps one [`Estimate`] per operation class (by default the
//! description: `"POST /api/storage/volumes"`), in memory and in the journal, feeds it the
//! duration of each job that succeeded, and gives the next submit of that class the expected
//! window ([`Policy::expected`](crate::Policy::expected), feature `estimate`).
//!
//! # Writing another store
//!
//! [`Journal`] is four synchronous calls; the `jobpoll-journal-sqlite` crate is the default
//! store (SQLite in WAL mode). A store must make each [`Journal::append`] durable, in order,
//! before it returns: the fleet sends a submit only after its intent's `append` returned `Ok`.
//! How durable is the store's promise: SQLite with `synchronous=NORMAL` survives a killed
//! process but may lose the last records on power loss; PostgreSQL with a committed
//! transaction survives both. A store for a durable workflow engine (an activity per record)
//! fits the same calls. The calls are made from the fleet's futures while a lock is held, so
//! they should be quick (a local database write); a store behind a network should buffer and
//! flush in the background only if it accepts losing the unflushed records in a crash, which
//! breaks the "never submitted twice" promise for those operations. [`MemoryJournal`] is the
//! reference implementation.

use core::fmt;
use core::time::Duration;
use std::boxed::Box;
use std::collections::HashMap;
use std::format;
use std::string::{String, ToString};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};
use std::vec::Vec;

use super::Observer;
use super::fleet::Fleet;
use super::tokio::Connect;
use crate::http::Method;
use crate::list::{ListQuery, Recovered, Recovery, RecoveryPager};
use crate::{
    AfterRead, Config, ConfigError, ConnectionState, Error, Estimate, Event, Instant, JobPoller,
    Machine, Outcome, Purpose, Reply, ResumeToken, Step, Submit, TransportError,
};

/// Wall-clock milliseconds since the Unix epoch (0 if the clock is before it).
pub fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Written before a submit is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intent {
    /// The caller's operation key: names one operation, for good (a retry of the same
    /// operation after a restart uses the same key).
    pub key: String,
    /// The submit's method.
    pub method: Method,
    /// The submit's path, without query.
    pub path: String,
    /// The description the server gives the job, which the recovery looks for.
    pub description: String,
    /// When the intent was written: wall-clock milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
}

/// How an operation ended, as written to the journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    /// The caller's operation key.
    pub key: String,
    /// The outcome's name ([`Outcome::name`]: `succeeded`, `failed`, `submit_outcome_unknown`...).
    pub outcome: String,
    /// The verdict's name ([`Verdict::name`](crate::Verdict::name): `success`, `failure`...).
    pub verdict: String,
    /// The job, when the server named it (or the recovery found it).
    pub job_id: Option<String>,
    /// For a submit whose job could not be told apart: the jobs that match (at most
    /// [`MAX_CANDIDATES`](crate::list::MAX_CANDIDATES)); check them by hand.
    pub candidates: Vec<String>,
    /// When it was written: wall-clock milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
}

/// One journal record. See the module docs for the order they are written in.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Record {
    /// Before the submit.
    Intent(Intent),
    /// The server named the job: a token to resume it.
    Accepted {
        /// The caller's operation key.
        key: String,
        /// [`ResumeToken::as_bytes`].
        token: Vec<u8>,
        /// When it was written: wall-clock milliseconds since the Unix epoch.
        at_unix_ms: u64,
    },
    /// The job's state changed: a fresh token.
    Progress {
        /// The caller's operation key.
        key: String,
        /// [`ResumeToken::as_bytes`].
        token: Vec<u8>,
        /// When it was written: wall-clock milliseconds since the Unix epoch.
        at_unix_ms: u64,
    },
    /// How it ended.
    Outcome(Finished),
}

impl Record {
    /// The operation key.
    pub fn key(&self) -> &str {
        match self {
            Record::Intent(i) => &i.key,
            Record::Accepted { key, .. } | Record::Progress { key, .. } => key,
            Record::Outcome(f) => &f.key,
        }
    }

    /// The record's kind as one word: `intent`, `accepted`, `progress`, `outcome` (what a store
    /// may keep in a column).
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Intent(_) => "intent",
            Record::Accepted { .. } => "accepted",
            Record::Progress { .. } => "progress",
            Record::Outcome(_) => "outcome",
        }
    }
}

/// A store's failure, with what the fleet was doing.
#[derive(Debug)]
pub struct JournalError {
    doing: &'static str,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl JournalError {
    /// A store's error while `doing` (`"append a record"`, `"load the records"`...).
    pub fn new(
        doing: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        JournalError {
            doing,
            source: source.into(),
        }
    }
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the journal could not {}: {} (the store's fault: check its disk, permissions or \
             connection, then start again; what was written stays)",
            self.doing, self.source
        )
    }
}

impl std::error::Error for JournalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

/// Where a [`JournaledFleet`] writes. See the module docs ("Writing another store").
///
/// Object-safe: `Box<dyn Journal + Send>` is a journal too.
pub trait Journal {
    /// Makes `record` durable, after every record appended before it. Return only once it
    /// would survive what the store promises to survive (a killed process at least).
    fn append(&mut self, record: &Record) -> Result<(), JournalError>;

    /// The last record of each operation, in any order.
    fn load(&mut self) -> Result<Vec<Record>, JournalError>;

    /// Stores an operation class's estimate ([`Estimate::to_bytes`]), replacing the last one.
    fn save_estimate(&mut self, class: &str, bytes: &[u8]) -> Result<(), JournalError>;

    /// Every stored estimate: class and bytes.
    fn load_estimates(&mut self) -> Result<Vec<(String, Vec<u8>)>, JournalError>;
}

impl<J: Journal + ?Sized> Journal for Box<J> {
    fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        (**self).append(record)
    }
    fn load(&mut self) -> Result<Vec<Record>, JournalError> {
        (**self).load()
    }
    fn save_estimate(&mut self, class: &str, bytes: &[u8]) -> Result<(), JournalError> {
        (**self).save_estimate(class, bytes)
    }
    fn load_estimates(&mut self) -> Result<Vec<(String, Vec<u8>)>, JournalError> {
        (**self).load_estimates()
    }
}

/// A journal in memory: for tests, and as the reference of what a store does. Survives
/// nothing.
#[derive(Clone, Debug, Default)]
pub struct MemoryJournal {
    records: Vec<Record>,
    estimates: Vec<(String, Vec<u8>)>,
}

impl MemoryJournal {
    /// An empty journal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every record appended, in order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }
}

impl Journal for MemoryJournal {
    fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        self.records.push(record.clone());
        Ok(())
    }

    fn load(&mut self) -> Result<Vec<Record>, JournalError> {
        let mut last: Vec<Record> = Vec::new();
        for r in &self.records {
            match last.iter_mut().find(|l| l.key() == r.key()) {
                Some(l) => *l = r.clone(),
                None => last.push(r.clone()),
            }
        }
        Ok(last)
    }

    fn save_estimate(&mut self, class: &str, bytes: &[u8]) -> Result<(), JournalError> {
        match self.estimates.iter_mut().find(|(c, _)| c == class) {
            Some((_, b)) => *b = bytes.to_vec(),
            None => self.estimates.push((class.to_string(), bytes.to_vec())),
        }
        Ok(())
    }

    fn load_estimates(&mut self) -> Result<Vec<(String, Vec<u8>)>, JournalError> {
        Ok(self.estimates.clone())
    }
}

/// One operation for a [`JournaledFleet`].
#[derive(Clone, Debug)]
pub struct Operation<'a> {
    /// The caller's key: unique, and the same for the same operation after a restart.
    pub key: &'a str,
    /// The submit (its body and query are sent, never journaled).
    pub submit: Submit<'a>,
    /// What the server calls the job; [`Operation::new`] sets ONTAP's `"METHOD path"`.
    pub description: String,
    /// The class whose duration estimate this operation uses and feeds; by default the
    /// description.
    pub class: String,
}

impl<'a> Operation<'a> {
    /// An operation described as ONTAP describes a REST job: `"POST /api/storage/volumes"`.
    pub fn new(key: &'a str, submit: Submit<'a>) -> Self {
        let description = format!("{} {}", submit.method.as_str(), submit.path);
        Operation {
            key,
            submit,
            class: description.clone(),
            description,
        }
    }

    /// Another description (the job list's text for this operation on your server).
    pub fn with_description(mut self, description: &str) -> Self {
        self.description = description.to_string();
        self
    }

    /// Another estimate class.
    pub fn with_class(mut self, class: &str) -> Self {
        self.class = class.to_string();
        self
    }
}

/// What [`JournaledFleet::run`] did with an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum How {
    /// Submitted and followed.
    Submitted,
    /// Resumed from the journal's last token and followed.
    Resumed,
    /// The submit had been sent before a restart: its job was found in the job list (the only
    /// match) and followed.
    Recovered,
    /// The submit had been sent before a restart and its job cannot be told apart: none or
    /// several jobs match (the candidates). The outcome is `SubmitOutcomeUnknown`; it was not
    /// submitted again.
    Unresolved,
    /// As [`Unresolved`](Self::Unresolved), but the job list could not be read; nothing was
    /// written, the next start looks again.
    ListFailed,
    /// The journal already had the outcome.
    Finished,
}

/// The result of one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The operation key.
    pub key: String,
    /// What was done.
    pub how: How,
    /// The outcome, when this run followed the job (`None` for [`How::Finished`]: see
    /// `outcome_name`).
    pub outcome: Option<Outcome>,
    /// The outcome's name ([`Outcome::name`]), also for an outcome read from the journal.
    pub outcome_name: String,
    /// The verdict's name.
    pub verdict: String,
    /// The job id, when known.
    pub job_id: Option<String>,
    /// The jobs that match an unresolved submit.
    pub candidates: Vec<String>,
}

/// Why an operation could not be run.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// The journal failed; the operation may have been sent (the journal has its intent if
    /// so): fix the store and start again.
    Journal(JournalError),
    /// The operation or the configuration is wrong (the caller's fault).
    Config(ConfigError),
    /// The driver failed (see [`Error`]).
    Job(Error),
    /// The key was journaled for another operation: keys must name one operation for good.
    KeyReused {
        /// The key.
        key: String,
        /// What the journal has for it (`"POST /api/storage/volumes"`).
        journaled: String,
    },
    /// The journal's token for the key does not read (a damaged store, or a token of another
    /// dialect): the job id is lost to this fleet; look it up on the server.
    BadToken {
        /// The key.
        key: String,
        /// Why.
        error: ConfigError,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Journal(e) => e.fmt(f),
            RunError::Config(e) => write!(f, "the operation cannot be sent: {e}"),
            RunError::Job(e) => e.fmt(f),
            RunError::KeyReused { key, journaled } => write!(
                f,
                "operation key {key:?} was journaled for {journaled}: the caller reused a key \
                 for another operation (a key names one operation for good)"
            ),
            RunError::BadToken { key, error } => write!(
                f,
                "the journal's resume token for {key:?} does not read ({error}): the store is \
                 damaged or was written for another dialect; find the job on the server"
            ),
        }
    }
}

impl std::error::Error for RunError {}

impl From<JournalError> for RunError {
    fn from(e: JournalError) -> Self {
        RunError::Journal(e)
    }
}

impl From<Error> for RunError {
    fn from(e: Error) -> Self {
        RunError::Job(e)
    }
}

impl From<ConfigError> for RunError {
    fn from(e: ConfigError) -> Self {
        RunError::Config(e)
    }
}

/// Settings of a [`JournaledFleet`].
#[derive(Clone, Copy, Debug)]
pub struct JournalOptions {
    /// How the recovery lists jobs. Default: pages of 50 records (they fit the fleet's default
    /// receive buffer), at most 400 pages.
    pub list: ListQuery<'static>,
    /// Jobs that started this long before the intent was written still count (the server's
    /// and this host's clocks differ). Default 30 s.
    pub margin: Duration,
}

impl Default for JournalOptions {
    fn default() -> Self {
        JournalOptions {
            list: ListQuery {
                page_size: 50,
                max_pages: 400,
                ..ListQuery::default()
            },
            margin: Duration::from_secs(30),
        }
    }
}

/// A [`Fleet`] whose operations are journaled. See the module docs.
pub struct JournaledFleet<'f, C: Connect, J: Journal> {
    fleet: &'f Fleet<C>,
    journal: Mutex<J>,
    last: HashMap<String, Record>,
    estimates: Mutex<HashMap<String, Estimate>>,
    options: JournalOptions,
}

impl<C: Connect, J: Journal> fmt::Debug for JournaledFleet<'_, C, J> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JournaledFleet")
            .field("fleet", &self.fleet)
            .field("operations_in_journal", &self.last.len())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<'f, C: Connect, J: Journal> JournaledFleet<'f, C, J> {
    /// Reads the journal (each operation's last record, the estimates) and runs over `fleet`.
    pub fn new(
        fleet: &'f Fleet<C>,
        mut journal: J,
        options: JournalOptions,
    ) -> Result<Self, JournalError> {
        let last = journal
            .load()?
            .into_iter()
            .map(|r| (r.key().to_string(), r))
            .collect();
        let estimates = journal
            .load_estimates()?
            .into_iter()
            .filter_map(|(class, bytes)| Some((class, Estimate::from_bytes(&bytes).ok()?)))
            .collect();
        Ok(JournaledFleet {
            fleet,
            journal: Mutex::new(journal),
            last,
            estimates: Mutex::new(estimates),
            options,
        })
    }

    /// The last record the journal had for `key` when this fleet started.
    pub fn journaled(&self, key: &str) -> Option<&Record> {
        self.last.get(key)
    }

    /// The estimate of an operation class, as learnt so far.
    pub fn estimate(&self, class: &str) -> Option<Estimate> {
        self.estimates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(class)
            .copied()
    }

    /// Gives the journal back.
    pub fn into_journal(self) -> J {
        self.journal
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn append(&self, record: &Record) -> Result<(), JournalError> {
        self.journal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .append(record)
    }

    /// Runs one operation to its end as the journal says (see the module docs); run many at
    /// once by joining their futures, as with [`Fleet`].
    pub async fn run(&self, cfg: &Config<'_>, op: &Operation<'_>) -> Result<Report, RunError> {
        match self.last.get(op.key) {
            None => self.submit(cfg, op).await,
            Some(Record::Intent(intent)) => {
                check_same(op, intent)?;
                self.recover(cfg, op, intent).await
            }
            Some(
                Record::Accepted {
                    token, at_unix_ms, ..
                }
                | Record::Progress {
                    token, at_unix_ms, ..
                },
            ) => self.resume(cfg, op, token, *at_unix_ms).await,
            Some(Record::Outcome(done)) => Ok(Report {
                key: done.key.clone(),
                how: How::Finished,
                outcome: None,
                outcome_name: done.outcome.clone(),
                verdict: done.verdict.clone(),
                job_id: done.job_id.clone(),
                candidates: done.candidates.clone(),
            }),
        }
    }

    #[cfg_attr(not(feature = "estimate"), allow(unused_variables))]
    fn config_for<'c>(&self, cfg: &Config<'c>, op: &Operation<'_>) -> Config<'c> {
        #[allow(unused_mut)]
        let mut cfg = *cfg;
        #[cfg(feature = "estimate")]
        if let Some(expected) = self.estimate(&op.class).and_then(|e| e.expected()) {
            cfg.policy.expected = Some(expected);
        }
        cfg
    }

    async fn submit(&self, cfg: &Config<'_>, op: &Operation<'_>) -> Result<Report, RunError> {
        let cfg = self.config_for(cfg, op);
        let slot = self.fleet.slot().await;
        // Validated first: an operation that cannot be sent leaves no record.
        let poller = JobPoller::submit(&cfg, &op.submit, self.fleet.now())?;
        // The intent is written when the submit is about to go on a connection (not while the
        // job waits for one), so that few intents are outstanding at any time.
        let mut job = Intending {
            job: poller,
            fleet: self,
            intent: Some(Intent {
                key: op.key.to_string(),
                method: op.submit.method,
                path: op.submit.path.to_string(),
                description: op.description.clone(),
                at_unix_ms: 0,
            }),
            failed: None,
        };
        let mut writer = Writer::new(self, op.key);
        let outcome = slot.run(&mut job, &cfg, &op.submit, &mut writer).await?;
        if let Some(e) = job.failed {
            return Err(e.into());
        }
        writer.into_result()?;
        self.finish(op, How::Submitted, outcome, &job.job)
    }

    async fn resume(
        &self,
        cfg: &Config<'_>,
        op: &Operation<'_>,
        token: &[u8],
        at_unix_ms: u64,
    ) -> Result<Report, RunError> {
        let bad = |error| RunError::BadToken {
            key: op.key.to_string(),
            error,
        };
        let token = ResumeToken::from_bytes(token).map_err(bad)?;
        let offline = Duration::from_millis(unix_millis().saturating_sub(at_unix_ms));
        let slot = self.fleet.slot().await;
        let mut poller = JobPoller::resume(cfg, &token, offline, self.fleet.now()).map_err(bad)?;
        let mut writer = Writer::new(self, op.key);
        let outcome = slot
            .drive(&mut poller, cfg, &Submit::NONE, &mut writer)
            .await?;
        writer.into_result()?;
        self.finish(op, How::Resumed, outcome, &poller)
    }

    async fn recover(
        &self,
        cfg: &Config<'_>,
        op: &Operation<'_>,
        intent: &Intent,
    ) -> Result<Report, RunError> {
        let since = Duration::from_millis(unix_millis().saturating_sub(intent.at_unix_ms));
        let query = self.options.list;
        let finder = Recovery::new(&intent.description, since, self.options.margin)?;
        let mut pager = RecoveryPager::new(cfg, &query, finder)?;
        let verdict = self
            .fleet
            .slot()
            .await
            .run(&mut pager, cfg, &query, ())
            .await?;
        let finder = pager.finder();
        let job = match (verdict, finder.job_id()) {
            (Recovered::Job, Some(id)) => id.to_string(),
            (Recovered::Job | Recovered::NotFound | Recovered::Ambiguous, _) => {
                let candidates: Vec<String> = finder.candidates().map(String::from).collect();
                let unknown = Outcome::SubmitOutcomeUnknown;
                self.append(&Record::Outcome(Finished {
                    key: op.key.to_string(),
                    outcome: unknown.name().to_string(),
                    verdict: unknown.verdict().name().to_string(),
                    job_id: None,
                    candidates: candidates.clone(),
                    at_unix_ms: unix_millis(),
                }))?;
                return Ok(report(op, How::Unresolved, unknown, None, candidates));
            }
            _ => {
                let unknown = Outcome::SubmitOutcomeUnknown;
                return Ok(report(op, How::ListFailed, unknown, None, Vec::new()));
            }
        };
        let slot = self.fleet.slot().await;
        let mut poller = JobPoller::watch(cfg, &job, self.fleet.now())?;
        if let Some(token) = poller.resume_token() {
            self.append(&Record::Accepted {
                key: op.key.to_string(),
                token: token.as_bytes().to_vec(),
                at_unix_ms: unix_millis(),
            })?;
        }
        let mut writer = Writer::new(self, op.key);
        let outcome = slot
            .drive(&mut poller, cfg, &Submit::NONE, &mut writer)
            .await?;
        writer.into_result()?;
        self.finish(op, How::Recovered, outcome, &poller)
    }

    fn finish(
        &self,
        op: &Operation<'_>,
        how: How,
        outcome: Outcome,
        poller: &JobPoller,
    ) -> Result<Report, RunError> {
        let job_id = poller.job_id().map(String::from);
        self.append(&Record::Outcome(Finished {
            key: op.key.to_string(),
            outcome: outcome.name().to_string(),
            verdict: outcome.verdict().name().to_string(),
            job_id: job_id.clone(),
            candidates: Vec::new(),
            at_unix_ms: unix_millis(),
        }))?;
        // The duration of a job that succeeded is what the next one of its class may take
        // (a failure may end early, a resumed job's elapsed time counts its whole life).
        if outcome == Outcome::Succeeded {
            let bytes = {
                let mut estimates = self
                    .estimates
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let estimate = estimates.entry(op.class.clone()).or_default();
                estimate.record(poller.elapsed());
                estimate.to_bytes()
            };
            self.journal
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .save_estimate(&op.class, &bytes)?;
        }
        Ok(report(op, how, outcome, job_id, Vec::new()))
    }
}

fn report(
    op: &Operation<'_>,
    how: How,
    outcome: Outcome,
    job_id: Option<String>,
    candidates: Vec<String>,
) -> Report {
    Report {
        key: op.key.to_string(),
        how,
        outcome: Some(outcome),
        outcome_name: outcome.name().to_string(),
        verdict: outcome.verdict().name().to_string(),
        job_id,
        candidates,
    }
}

/// The journal's intent must be this operation's.
fn check_same(op: &Operation<'_>, intent: &Intent) -> Result<(), RunError> {
    if intent.method == op.submit.method && intent.path == op.submit.path {
        return Ok(());
    }
    Err(RunError::KeyReused {
        key: op.key.to_string(),
        journaled: format!("{} {}", intent.method.as_str(), intent.path),
    })
}

/// The observer that journals a job's acceptance and state changes.
struct Writer<'a, 'f, C: Connect, J: Journal> {
    fleet: &'a JournaledFleet<'f, C, J>,
    key: &'a str,
    failed: Option<JournalError>,
}

impl<'a, 'f, C: Connect, J: Journal> Writer<'a, 'f, C, J> {
    fn new(fleet: &'a JournaledFleet<'f, C, J>, key: &'a str) -> Self {
        Writer {
            fleet,
            key,
            failed: None,
        }
    }

    fn into_result(self) -> Result<(), JournalError> {
        self.failed.map_or(Ok(()), Err)
    }
}

impl<C: Connect, J: Journal> Writer<'_, '_, C, J> {
    fn observe(&mut self, poller: &JobPoller, event: Event) {
        if self.failed.is_some() {
            return;
        }
        let accepted = match event {
            Event::Accepted => true,
            Event::StateChanged(_) => false,
            _ => return,
        };
        let Some(token) = poller.resume_token() else {
            return;
        };
        let key = self.key.to_string();
        let token = token.as_bytes().to_vec();
        let at_unix_ms = unix_millis();
        let record = if accepted {
            Record::Accepted {
                key,
                token,
                at_unix_ms,
            }
        } else {
            Record::Progress {
                key,
                token,
                at_unix_ms,
            }
        };
        if let Err(e) = self.fleet.append(&record) {
            self.failed = Some(e);
        }
    }
}

impl<C: Connect, J: Journal> Observer for Writer<'_, '_, C, J> {
    fn on_event(&mut self, poller: &JobPoller, event: Event) {
        self.observe(poller, event);
    }
}

impl<C: Connect, J: Journal> Observer<Intending<'_, '_, C, J>> for Writer<'_, '_, C, J> {
    fn on_event(&mut self, job: &Intending<'_, '_, C, J>, event: Event) {
        self.observe(&job.job, event);
    }
}

/// A submitting job that writes its intent just before the submit is sent: when `poll` hands
/// the submit to the driver (which has a connection for it by then). If the intent cannot be
/// written, the job is cancelled before anything is sent.
struct Intending<'a, 'f, C: Connect, J: Journal> {
    job: JobPoller,
    fleet: &'a JournaledFleet<'f, C, J>,
    intent: Option<Intent>,
    failed: Option<JournalError>,
}

impl<C: Connect, J: Journal> Machine for Intending<'_, '_, C, J> {
    type Input<'i> = &'i Submit<'i>;
    type Reply<'r> = Reply<'r>;
    type Event = Event;
    type Output = Outcome;

    fn poll(
        &mut self,
        cfg: &Config<'_>,
        op: &Submit<'_>,
        now: Instant,
        tx: &mut [u8],
    ) -> Result<Step<Event, Outcome>, Error> {
        let step = Machine::poll(&mut self.job, cfg, op, now, tx)?;
        let submit = matches!(step, Step::SendRequest(req) if req.purpose == Purpose::Submit);
        if !submit {
            return Ok(step);
        }
        let Some(mut intent) = self.intent.take() else {
            return Ok(step); // a retry of a submit the server refused: the intent is written
        };
        intent.at_unix_ms = unix_millis();
        if let Err(e) = self.fleet.append(&Record::Intent(intent)) {
            // Not sent: the driver sends only after this call returns.
            self.failed = Some(e);
            self.job.cancel(now);
            return Ok(Step::Close);
        }
        Ok(step)
    }

    fn handle_response<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<AfterRead<Reply<'r>>, Error> {
        Machine::handle_response(&mut self.job, cfg, now, rx, filled)
    }

    fn handle_eof<'r>(
        &mut self,
        cfg: &Config<'_>,
        now: Instant,
        rx: &'r mut [u8],
        filled: usize,
    ) -> Result<AfterRead<Reply<'r>>, Error> {
        Machine::handle_eof(&mut self.job, cfg, now, rx, filled)
    }

    fn handle_transport_error(&mut self, cfg: &Config<'_>, now: Instant, error: TransportError) {
        Machine::handle_transport_error(&mut self.job, cfg, now, error);
    }

    fn handle_timeout(&mut self, cfg: &Config<'_>, now: Instant) {
        Machine::handle_timeout(&mut self.job, cfg, now);
    }

    fn cancel(&mut self, now: Instant) {
        Machine::cancel(&mut self.job, now);
    }

    fn is_request_in_flight(&self) -> bool {
        Machine::is_request_in_flight(&self.job)
    }

    fn adopt_connection(&mut self, state: ConnectionState) {
        Machine::adopt_connection(&mut self.job, state);
    }

    fn connection_state(&self) -> Option<ConnectionState> {
        Machine::connection_state(&self.job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_journal_loads_the_last_record_of_each_operation() {
        let mut j = MemoryJournal::new();
        let intent = |key: &str| {
            Record::Intent(Intent {
                key: key.into(),
                method: Method::Post,
                path: "/api/storage/volumes".into(),
                description: "POST /api/storage/volumes".into(),
                at_unix_ms: 1,
            })
        };
        j.append(&intent("a")).unwrap();
        j.append(&intent("b")).unwrap();
        let accepted = Record::Accepted {
            key: "a".into(),
            token: std::vec![1, 2],
            at_unix_ms: 2,
        };
        j.append(&accepted).unwrap();
        let last = j.load().unwrap();
        assert_eq!(last, std::vec![accepted, intent("b")]);
        assert_eq!(j.records().len(), 3);
        j.save_estimate("c", &[1]).unwrap();
        j.save_estimate("c", &[2]).unwrap();
        assert_eq!(
            j.load_estimates().unwrap(),
            std::vec![("c".into(), std::vec![2])]
        );
    }
}
