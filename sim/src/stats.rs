//! Counters for tests and benchmarks, served as JSON at `GET /_sim/stats`.

use serde::Serialize;
use std::collections::BTreeMap;

/// Per-job counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JobStats {
    /// Creation order, from 1.
    pub number: u64,
    /// API (`ontap`, `deploy`, `aiqum`, `nse`).
    pub dialect: String,
    /// The submit that created it (`POST /api/storage/volumes`).
    pub submit: String,
    /// Requests that addressed this job (GETs and actions).
    pub requests: u64,
    /// Whether the job has reached a terminal state.
    pub terminal: bool,
    /// How it ended, once terminal: the scripted outcome (`success`, `failure`, `warning`,
    /// `partial_failures`); the truth a client's reported outcome is checked against.
    pub outcome: Option<crate::Outcome>,
    /// Simulated milliseconds from the terminal state to the first request that saw it.
    pub terminal_seen_after_ms: Option<f64>,
    /// The same span in real milliseconds (simulated divided by the time scale).
    pub terminal_seen_after_real_ms: Option<f64>,
}

/// A snapshot of the simulator's counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Requests received (all paths, including faulted ones and this endpoint).
    pub requests: u64,
    /// TCP connections accepted.
    pub connections: u64,
    /// TLS handshakes completed.
    pub tls_handshakes: u64,
    /// Submit requests received (POST/PATCH/DELETE/PUT that start jobs), whatever the answer.
    pub submits: u64,
    /// Jobs created.
    pub jobs_created: u64,
    /// Faults injected: request rules that matched and job-script faults delivered.
    pub faults_injected: u64,
    /// Requests per endpoint (`GET /api/cluster/jobs/{uuid}`).
    pub endpoints: BTreeMap<String, u64>,
    /// Per-job counters, by job id.
    pub jobs: BTreeMap<String, JobStats>,
}

impl Stats {
    /// Requests counted for an endpoint (0 if none).
    pub fn endpoint(&self, name: &str) -> u64 {
        self.endpoints.get(name).copied().unwrap_or(0)
    }
}
