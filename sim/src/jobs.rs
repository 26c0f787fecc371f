//! Jobs: their scripted timelines evaluated against the simulated clock, and the job store.

use crate::config::Switches;
use crate::scenario::{Final, JobError, JobScript, Outcome, Phase};
use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;

/// The four job APIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Dialect {
    /// ONTAP REST (`/api/cluster/jobs`).
    Ontap,
    /// ONTAP Select Deploy (`/api/v3/jobs`).
    Deploy,
    /// Active IQ Unified Manager (`/api/management-server/jobs`).
    Aiqum,
    /// NetApp Service Engine (`/v2.1/jobs`).
    Nse,
}

/// Converts scripted seconds to a duration, never panicking.
pub fn secs(f: f64) -> Duration {
    if f.is_finite() && f > 0.0 {
        Duration::try_from_secs_f64(f).unwrap_or(Duration::MAX)
    } else {
        Duration::ZERO
    }
}

/// Where a job is at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Not finished.
    Active(Phase),
    /// Finished.
    Done(Outcome),
}

/// A job as seen at one simulated instant.
#[derive(Debug, Clone)]
pub struct View {
    /// Phase or outcome.
    pub status: Status,
    /// Raw wire state override from the script.
    pub raw_state: Option<String>,
    /// Current message.
    pub message: Option<String>,
    /// Current ONTAP code.
    pub code: Option<i64>,
    /// Error of a failed job.
    pub error: Option<JobError>,
    /// Simulated instant of the last visible change.
    pub last_change: Duration,
    /// Simulated instant the job became terminal.
    pub end: Option<Duration>,
    /// Simulated instant of the next scripted change, if any is scheduled.
    pub next_change: Option<Duration>,
}

impl View {
    /// True once terminal.
    pub fn is_done(&self) -> bool {
        matches!(self.status, Status::Done(_))
    }
}

/// Why a pause/resume/cancel was refused (ONTAP codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionError {
    /// 458762 "Job is already in a terminal state".
    Terminal,
    /// 458776 "The specified job is not currently running" (resume of a job not paused, pause of
    /// a paused job).
    NotRunning,
    /// 458783 "This job does not support pause".
    NoPause,
    /// 458784 "This job does not support cancel".
    NoCancel,
}

/// One simulated job.
#[derive(Debug, Clone)]
pub struct Job {
    /// Id, uuid or key, as the dialect shows it.
    pub id: String,
    /// Creation order, from 1.
    pub number: u64,
    /// API.
    pub dialect: Dialect,
    /// Method of the submit.
    pub method: String,
    /// Path of the submit.
    pub path: String,
    /// Its script.
    pub script: JobScript,
    /// Simulated creation instant.
    pub created: Duration,
    paused_total: Duration,
    paused_since: Option<Duration>,
    last_resume: Option<Duration>,
    forced: Option<(Final, Duration)>,
    /// GETs of this job received.
    pub polls: u64,
    /// Simulated time from terminal state to the first GET that showed it.
    pub terminal_seen_after: Option<Duration>,
    /// Service Engine tenant (from the submit's `tenant_id`).
    pub tenant_id: Option<String>,
    /// Object id this job works on (Service Engine `object_id`).
    pub object_id: String,
    /// Object name from the submit body (`name`), if any.
    pub object_name: Option<String>,
    /// The submit's JSON body (Service Engine `request_payload`).
    pub payload: serde_json::Value,
    /// Requests that addressed this job.
    pub requests: u64,
    /// Faults of this job's script delivered (counted in `faults_injected`).
    pub faults_delivered: u64,
}

impl Job {
    fn elapsed(&self, now: Duration) -> Duration {
        let mut t = now
            .saturating_sub(self.created)
            .saturating_sub(self.paused_total);
        if let Some(ps) = self.paused_since {
            t = t.saturating_sub(now.saturating_sub(ps));
        }
        t
    }

    /// The job at simulated instant `now`.
    pub fn view(&self, now: Duration) -> View {
        if let Some((f, at)) = &self.forced {
            return done_view(f, *at);
        }
        let t = self.elapsed(now);
        let mut acc = Duration::ZERO;
        for step in &self.script.steps {
            let end = acc.saturating_add(secs(step.seconds));
            if t < end {
                let (status, last_change, next) = if let Some(ps) = self.paused_since {
                    (Status::Active(Phase::Paused), ps, None)
                } else {
                    let since_step = t.saturating_sub(acc);
                    let mut lc = now.saturating_sub(since_step);
                    if let Some(r) = self.last_resume {
                        lc = lc.max(r);
                    }
                    (
                        Status::Active(step.state),
                        lc,
                        Some(now.saturating_add(end.saturating_sub(t))),
                    )
                };
                let message = if self.paused_since.is_some() && step.state != Phase::Paused {
                    Some("Job paused".to_string())
                } else {
                    step.message.clone()
                };
                return View {
                    status,
                    raw_state: if self.paused_since.is_some() {
                        None
                    } else {
                        step.raw_state.clone()
                    },
                    message,
                    code: step.code,
                    error: None,
                    last_change,
                    end: None,
                    next_change: next,
                };
            }
            acc = end;
        }
        let at = now.saturating_sub(t.saturating_sub(acc));
        let at = self.last_resume.map_or(at, |r| at.max(r));
        done_view(&self.script.end, at)
    }

    /// Pauses the job (ONTAP `action=pause`).
    pub fn pause(&mut self, now: Duration) -> Result<(), ActionError> {
        let v = self.view(now);
        if v.is_done() {
            return Err(ActionError::Terminal);
        }
        if !self.script.supports_pause {
            return Err(ActionError::NoPause);
        }
        if self.paused_since.is_some() {
            return Err(ActionError::NotRunning);
        }
        self.paused_since = Some(now);
        Ok(())
    }

    /// Resumes a paused job (ONTAP `action=resume`).
    pub fn resume(&mut self, now: Duration) -> Result<(), ActionError> {
        if self.view(now).is_done() {
            return Err(ActionError::Terminal);
        }
        if !self.script.supports_pause {
            return Err(ActionError::NoPause);
        }
        let Some(ps) = self.paused_since.take() else {
            return Err(ActionError::NotRunning);
        };
        self.paused_total = self.paused_total.saturating_add(now.saturating_sub(ps));
        self.last_resume = Some(now);
        Ok(())
    }

    /// Cancels the job (ONTAP `action=cancel`): it ends at once with the configured outcome.
    pub fn cancel(&mut self, now: Duration, switches: &Switches) -> Result<(), ActionError> {
        if self.view(now).is_done() {
            return Err(ActionError::Terminal);
        }
        if !self.script.supports_cancel {
            return Err(ActionError::NoCancel);
        }
        let end = match switches.ontap_cancel_outcome {
            Outcome::Success => Final::with(Outcome::Success, "Job cancelled"),
            o => Final {
                outcome: o,
                ..Final::failure("Job cancelled", 458_787)
            },
        };
        self.paused_since = None;
        self.forced = Some((end, now));
        Ok(())
    }
}

fn done_view(f: &Final, at: Duration) -> View {
    View {
        status: Status::Done(f.outcome),
        raw_state: f.raw_state.clone(),
        message: f.message.clone(),
        code: f.code,
        error: f.error.clone(),
        last_change: at,
        end: Some(at),
        next_change: None,
    }
}

/// All jobs, in creation order.
#[derive(Debug, Default)]
pub struct Store {
    jobs: HashMap<String, Job>,
    order: Vec<String>,
    next: u64,
    rng: u64,
    /// ONTAP volumes created so far: uuid to name (for query-targeted PATCH/DELETE).
    pub volumes: Vec<(String, String)>,
}

/// What a new job needs.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    /// API.
    pub dialect: Dialect,
    /// Submit method.
    pub method: &'a str,
    /// Submit path.
    pub path: &'a str,
    /// Service Engine tenant.
    pub tenant_id: Option<String>,
    /// Object name from the submit body.
    pub object_name: Option<String>,
    /// The submit's JSON body.
    pub payload: serde_json::Value,
}

impl Store {
    /// An empty store with ids seeded from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: seed | 1,
            ..Self::default()
        }
    }

    /// A pseudo-random 64-bit value (xorshift), for ids.
    pub fn random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// A fresh UUID-shaped string.
    pub fn uuid(&mut self) -> String {
        let (a, b) = (self.random(), self.random());
        format!(
            "{:08x}-{:04x}-11ef-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }

    /// Number the next job will get.
    pub fn next_number(&self) -> u64 {
        self.next.saturating_add(1)
    }

    /// Creates a job with `script` at simulated instant `now`.
    pub fn create(&mut self, new: NewJob<'_>, script: JobScript, now: Duration) -> &Job {
        self.next = self.next.saturating_add(1);
        let id = match new.dialect {
            Dialect::Ontap | Dialect::Deploy => self.uuid(),
            Dialect::Aiqum => {
                let (a, b) = (self.random(), self.random());
                format!(
                    "{a:016x}:-{:08x}:{:011x}:-{:04x}",
                    b >> 32,
                    (b >> 4) & 0xfff_ffff_ffff,
                    b & 0xffff
                )
            }
            Dialect::Nse => {
                let (a, b) = (self.random(), self.random());
                format!("{a:016x}{:08x}", b >> 32)
            }
        };
        let object_id = {
            let (a, b) = (self.random(), self.random());
            format!("{a:016x}{:08x}", b >> 32)
        };
        let job = Job {
            id: id.clone(),
            number: self.next,
            dialect: new.dialect,
            method: new.method.to_string(),
            path: new.path.to_string(),
            script,
            created: now,
            paused_total: Duration::ZERO,
            paused_since: None,
            last_resume: None,
            forced: None,
            polls: 0,
            terminal_seen_after: None,
            tenant_id: new.tenant_id,
            object_id,
            object_name: new.object_name,
            payload: new.payload,
            requests: 0,
            faults_delivered: 0,
        };
        self.order.push(id.clone());
        self.jobs.entry(id).or_insert(job)
    }

    /// A job by id.
    pub fn get(&self, id: &str) -> Option<&Job> {
        self.jobs.get(id)
    }

    /// A job by id, mutable.
    pub fn get_mut(&mut self, id: &str) -> Option<&mut Job> {
        self.jobs.get_mut(id)
    }

    /// Jobs of one dialect in creation order.
    pub fn list(&self, dialect: Dialect) -> Vec<&Job> {
        self.order
            .iter()
            .filter_map(|id| self.jobs.get(id))
            .filter(|j| j.dialect == dialect)
            .collect()
    }

    /// All jobs in creation order.
    pub fn all(&self) -> Vec<&Job> {
        self.order
            .iter()
            .filter_map(|id| self.jobs.get(id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Step;

    fn s(x: f64) -> Duration {
        secs(x)
    }

    fn job() -> Job {
        let script = JobScript::new(Final::success())
            .step(Step::new(Phase::Queued, 2.0))
            .step(Step::new(Phase::Running, 3.0).message("working"));
        let mut st = Store::new(7);
        st.create(
            NewJob {
                dialect: Dialect::Ontap,
                method: "POST",
                path: "/x",
                tenant_id: None,
                object_name: None,
                payload: serde_json::Value::Null,
            },
            script,
            s(10.0),
        )
        .clone()
    }

    #[test]
    fn timeline_table() {
        let j = job();
        // (now, status, last_change, next_change)
        let cases = [
            (10.0, Status::Active(Phase::Queued), 10.0, Some(12.0)),
            (11.9, Status::Active(Phase::Queued), 10.0, Some(12.0)),
            (12.0, Status::Active(Phase::Running), 12.0, Some(15.0)),
            (14.0, Status::Active(Phase::Running), 12.0, Some(15.0)),
            (15.0, Status::Done(Outcome::Success), 15.0, None),
            (99.0, Status::Done(Outcome::Success), 15.0, None),
        ];
        for (now, st, lc, next) in cases {
            let v = j.view(s(now));
            assert_eq!(v.status, st, "at {now}");
            assert_eq!(v.last_change, s(lc), "at {now}");
            assert_eq!(v.next_change, next.map(s), "at {now}");
        }
    }

    #[test]
    fn pause_resume_cancel() {
        let mut j = job();
        assert_eq!(j.resume(s(12.5)), Err(ActionError::NotRunning));
        j.pause(s(13.0)).expect("pause");
        assert_eq!(j.pause(s(13.5)), Err(ActionError::NotRunning));
        let v = j.view(s(50.0));
        assert_eq!(v.status, Status::Active(Phase::Paused));
        assert_eq!(v.last_change, s(13.0));
        j.resume(s(60.0)).expect("resume");
        let v = j.view(s(60.5));
        assert_eq!(v.status, Status::Active(Phase::Running));
        assert_eq!(v.last_change, s(60.0));
        assert_eq!(j.view(s(62.0)).status, Status::Done(Outcome::Success));
        assert_eq!(j.view(s(62.0)).end, Some(s(62.0)));
        let mut k = job();
        k.cancel(s(11.0), &Switches::default()).expect("cancel");
        assert_eq!(k.view(s(11.0)).status, Status::Done(Outcome::Failure));
        assert_eq!(
            k.cancel(s(12.0), &Switches::default()),
            Err(ActionError::Terminal)
        );
        assert_eq!(k.pause(s(12.0)), Err(ActionError::Terminal));
    }
}
