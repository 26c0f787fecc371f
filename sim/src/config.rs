//! Simulator configuration, including a switch for every fact the API documentation leaves open.

use crate::scenario::{Outcome, Scenario};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// How the ONTAP job `code` field is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CodeForm {
    /// `"code": 0` (real captures).
    #[default]
    Integer,
    /// `"code": "0"` (some documentation examples).
    String,
}

/// What ONTAP does with `return_timeout` on `GET /api/cluster/jobs/{uuid}` (apis.md §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobGetWait {
    /// 400 with `262179 Unexpected argument`, as for any unknown parameter.
    #[default]
    Reject,
    /// Ignored: the job is returned at once.
    Ignore,
}

/// ONTAP's answer when a job fails within `return_timeout` (apis.md §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailureWithinTimeout {
    /// 400 with the job's error as the `error` body.
    #[default]
    Error400,
    /// 200 with the job link, like a success; the job GET shows the failure.
    Ok200,
    /// 202 with the job link, as if the timer had expired.
    Accepted202,
}

/// Format of Deploy's `last_modified` (apis.md §6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeployTimestamp {
    /// `2019-04-04T15:41:29.140265Z` (the Deploy docs' filter example).
    #[default]
    MicrosZ,
    /// `2019-04-04T15:41:29+00:00` (whole seconds, numeric offset, like ONTAP).
    SecondsOffset,
}

fn s_running() -> String {
    "running".into()
}
fn s_failed() -> String {
    "failed".into()
}
fn d401() -> u16 {
    401
}
fn d404() -> u16 {
    404
}

/// One switch per open question of apis.md §6; defaults are the most likely reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Switches {
    /// ONTAP job `code` as integer or string (§6 "code as integer or string").
    pub ontap_code: CodeForm,
    /// ONTAP `return_timeout` on a job GET (§6.1).
    pub ontap_job_get_return_timeout: JobGetWait,
    /// ONTAP answer to a job failing within `return_timeout` (§6.2).
    pub ontap_failure_within_return_timeout: FailureWithinTimeout,
    /// ONTAP omits `_links` when the client sends `Accept: application/json` (§6.3).
    pub ontap_omit_links_for_plain_json: bool,
    /// ONTAP's not-found body carries the documented `arguments` array (§6.4).
    pub ontap_not_found_arguments: bool,
    /// HTTP status of ONTAP's not-found answer: real replies use 404, the docs' error table
    /// says 405 for code 4 (§6.10).
    #[serde(default = "d404")]
    pub ontap_not_found_status: u16,
    /// Outcome of a cancelled ONTAP job ("changes to either success or failure", §1.5).
    pub ontap_cancel_outcome: Outcome,
    /// Minutes east of UTC of ONTAP's `start_time`/`end_time`.
    pub ontap_utc_offset_minutes: i32,
    /// Deploy's `last_modified=>=X` also returns at once when the job changed exactly at X (§6.6).
    pub deploy_last_modified_inclusive: bool,
    /// Deploy's `last_modified` format (§6.6).
    pub deploy_timestamp: DeployTimestamp,
    /// Deploy's status on bad credentials: 401 or 403 (§6.6).
    #[serde(default = "d401")]
    pub deploy_auth_status: u16,
    /// Unified Manager sends `state`/`status` in upper case (`COMPLETED`, `NORMAL`) (§6.7).
    pub aiqum_upper_case: bool,
    /// Service Engine status of a running job (§6.8): `running` or e.g. `processing`.
    #[serde(default = "s_running")]
    pub nse_running_status: String,
    /// Service Engine status of a failed job (§6.8): `failed` or e.g. `error`.
    #[serde(default = "s_failed")]
    pub nse_failed_status: String,
    /// Service Engine error envelopes carry `status.code` as a string (§6.8).
    pub nse_error_code_string: bool,
    /// Gzip a body when the client's `Accept-Encoding` allows it (ONTAP does on job GETs).
    pub gzip_when_accepted: bool,
}

impl Default for Switches {
    fn default() -> Self {
        Self {
            ontap_code: CodeForm::Integer,
            ontap_job_get_return_timeout: JobGetWait::Reject,
            ontap_failure_within_return_timeout: FailureWithinTimeout::Error400,
            ontap_omit_links_for_plain_json: true,
            ontap_not_found_arguments: false,
            ontap_not_found_status: 404,
            ontap_cancel_outcome: Outcome::Failure,
            ontap_utc_offset_minutes: 0,
            deploy_last_modified_inclusive: false,
            deploy_timestamp: DeployTimestamp::MicrosZ,
            deploy_auth_status: 401,
            aiqum_upper_case: false,
            nse_running_status: s_running(),
            nse_failed_status: s_failed(),
            nse_error_code_string: false,
            gzip_when_accepted: true,
        }
    }
}

/// Transport security of the listener.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Tls {
    /// Plain HTTP.
    #[default]
    Off,
    /// HTTPS with a self-signed certificate made at start for `localhost`, `127.0.0.1`, `::1`.
    SelfSigned,
    /// HTTPS with a PEM certificate chain and private key read from files.
    Files {
        /// Certificate chain (PEM).
        cert: PathBuf,
        /// Private key (PEM).
        key: PathBuf,
    },
}

/// Everything [`crate::Sim::start`] needs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Plain HTTP or TLS.
    pub tls: Tls,
    /// Basic auth user.
    pub user: String,
    /// Basic auth password.
    pub password: String,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    /// Simulated seconds a terminal ONTAP job is kept before GETs answer 404.
    pub purge_after_secs: f64,
    /// Open-question switches.
    pub switches: Switches,
    /// Job scripts and faults.
    pub scenario: Scenario,
    /// Largest request body accepted (413 beyond).
    pub max_request_body: usize,
    /// Real time an idle keep-alive connection is kept open (zero: forever).
    pub keep_alive_idle: std::time::Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: Tls::Off,
            user: "admin".into(),
            password: "netapp123".into(),
            time_scale: 1.0,
            purge_after_secs: 300.0,
            switches: Switches::default(),
            scenario: Scenario::default(),
            max_request_body: 1 << 20,
            keep_alive_idle: std::time::Duration::from_secs(5),
        }
    }
}

impl SimConfig {
    /// Plain HTTP on 127.0.0.1 with a free port and default credentials.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the listen address.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }
    /// Serves HTTPS with a self-signed certificate.
    pub fn tls(mut self) -> Self {
        self.tls = Tls::SelfSigned;
        self
    }
    /// Sets the credentials.
    pub fn credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.user = user.into();
        self.password = password.into();
        self
    }
    /// Sets the time scale (simulated seconds per real second).
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }
    /// Sets the ONTAP purge delay in simulated seconds.
    pub fn purge_after(mut self, secs: f64) -> Self {
        self.purge_after_secs = secs;
        self
    }
    /// Sets the switches.
    pub fn switches(mut self, switches: Switches) -> Self {
        self.switches = switches;
        self
    }
    /// Sets the scenario (its `switches`, if any, replace the configured ones).
    pub fn scenario(mut self, scenario: Scenario) -> Self {
        if let Some(s) = scenario.switches.clone() {
            self.switches = s;
        }
        self.scenario = scenario;
        self
    }
}
