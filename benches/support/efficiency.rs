//! Polling efficiency in virtual time: the real machine against a small model of each job API,
//! and every peer's default policy (from the peers' own numbers) replayed on the same draws.
//!
//! Time model (all in milliseconds, 0 = the moment the submit is sent):
//! - every message takes `ONE_WAY` to cross (a round trip is `2 * ONE_WAY`); the server answers
//!   at once unless it holds the request (`return_timeout`, long poll);
//! - the job starts when the submit reaches the server (`ONE_WAY`) and ends `D` later, so its
//!   terminal state begins at `end = ONE_WAY + D`;
//! - it is `queued` until `min(1 s, D/2)` after its start, then `running`, then `success`;
//! - the detection delay is the instant the client holds the answer that shows the terminal
//!   state, minus `end` (so it is at least `ONE_WAY`).
//!
//! Duration draws: `D * U(0.9, 1.1)`, seeded; every policy runs on the same draws.

#![allow(dead_code)]

use std::time::Duration;

use jobpoll::dialect::aiqum::AiqumOptions;
use jobpoll::dialect::deploy::DeployOptions;
use jobpoll::dialect::nse::NseOptions;
use jobpoll::dialect::ontap::OntapOptions;
use jobpoll::http::{Auth, Authority};
use jobpoll::{
    Action, Config, Dialect, Estimate, Expected, Instant, JobPoller, Outcome, Received, Submit,
};

/// One-way network delay.
pub const ONE_WAY: u64 = 10;
/// A round trip.
pub const RTT: u64 = 2 * ONE_WAY;
/// The job durations of the issue, in seconds.
pub const DURATIONS: [u64; 8] = [1, 4, 27, 61, 127, 299, 601, 3600];
/// Stops a runaway policy (the Deploy sample against an inclusive server spins).
const MAX_REQUESTS: u32 = 200_000;

// ------------------------------------------------------------------------------ draws

/// SplitMix64: small, seeded, the same everywhere.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in `[lo, hi]` milliseconds.
    pub fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// `n` job durations in milliseconds, `secs * U(0.9, 1.1)`.
pub fn draws(secs: u64, n: usize) -> Vec<u64> {
    let mut rng = Rng::new(0x0EFF_1C1E_0000 ^ secs);
    (0..n)
        .map(|_| (secs as f64 * 1000.0 * rng.between(0.9, 1.1)).round() as u64)
        .collect()
}

// ------------------------------------------------------------------------ the job and servers

/// One job on the server: when it starts running and when it ends.
#[derive(Clone, Copy, Debug)]
pub struct Job {
    pub running_at: u64,
    pub end: u64,
}

impl Job {
    pub fn new(duration_ms: u64) -> Self {
        Job {
            running_at: ONE_WAY + (duration_ms / 2).min(1_000),
            end: ONE_WAY + duration_ms,
        }
    }
    fn state_at(&self, t: u64) -> u8 {
        if t >= self.end {
            2
        } else if t >= self.running_at {
            1
        } else {
            0
        }
    }
    /// Deploy's `last_modified`: the last change at or before `t`.
    fn last_modified_at(&self, t: u64) -> u64 {
        match self.state_at(t) {
            2 => self.end,
            1 => self.running_at,
            _ => ONE_WAY,
        }
    }
}

/// The state changes a client can see (queued -> running -> success).
pub const STATE_CHANGES: u64 = 2;

/// How the Deploy server compares `last_modified=>=X` (the documentation says "changed more
/// recently than", i.e. strictly newer; a server may also compare inclusively).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    Exclusive,
    Inclusive,
}

/// Which model serves the requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    Ontap,
    Deploy(Reading),
    Aiqum,
    Nse,
}

fn timestamp(ms: u64) -> String {
    let us = ms * 1000;
    let s = us / 1_000_000;
    format!(
        "2026-01-01T{:02}:{:02}:{:02}.{:06}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        us % 1_000_000
    )
}

fn http(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn query<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let q = line.split(' ').nth(1)?.split_once('?')?.1;
    q.split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

const UUID: &str = "2453aafc-a9a6-11eb-9fc7-080027c8f2a7";

/// The server's answer to a request that reaches it at `at`: when it answers and what.
pub fn serve(api: Api, job: &Job, line: &str, at: u64) -> (u64, Vec<u8>) {
    let submit = line.starts_with("POST");
    let state = job.state_at(at);
    match api {
        Api::Ontap => {
            if submit {
                let hold = query(line, "return_timeout")
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
                    * 1000;
                let link = format!(
                    r#"{{"uuid":"{UUID}","_links":{{"self":{{"href":"/api/cluster/jobs/{UUID}"}}}}}}"#
                );
                if job.end <= at + hold {
                    // Finished within the hold: 200 and the job link.
                    return (job.end, http(200, &format!(r#"{{"job":{link}}}"#)));
                }
                return (at + hold, http(202, &format!(r#"{{"job":{link}}}"#)));
            }
            let s = ["queued", "running", "success"][usize::from(state)];
            let body = format!(
                r#"{{"uuid":"{UUID}","state":"{s}","message":"Deleting Snapshot copy \"s1\"","code":0}}"#
            );
            (at, http(200, &body))
        }
        Api::Deploy(reading) => {
            if submit {
                let body = format!(
                    r#"{{"job":{{"id":"d1","last_modified":"{}","message":"Cluster create queued"}}}}"#,
                    timestamp(ONE_WAY)
                );
                return (at, http(202, &body));
            }
            let hold = query(line, "poll_timeout")
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
                * 1000;
            let marker = query(line, "last_modified").map(|m| m.trim_start_matches("%3E="));
            let satisfied = |t: u64| {
                let lm = timestamp(job.last_modified_at(t));
                match (marker, reading) {
                    (None, _) => true,
                    (Some(x), Reading::Exclusive) => lm.as_str() > x,
                    (Some(x), Reading::Inclusive) => lm.as_str() >= x,
                }
            };
            let answer_at = if hold == 0 || satisfied(at) {
                at
            } else {
                [job.running_at, job.end]
                    .into_iter()
                    .filter(|&c| c > at && c <= at + hold && satisfied(c))
                    .min()
                    .unwrap_or(at + hold)
            };
            let s = ["queued", "running", "success"][usize::from(job.state_at(answer_at))];
            let body = format!(
                r#"{{"record":{{"id":"d1","state":"{s}","message":"m","last_modified":"{}"}}}}"#,
                timestamp(job.last_modified_at(answer_at))
            );
            (answer_at, http(200, &body))
        }
        Api::Aiqum => {
            const KEY: &str = "06a6148bf9e862df:-2611856e:16e8d47e722:-7f87";
            if submit {
                let body = format!(
                    r#"{{"job":{{"key":"{KEY}","_links":{{"self":{{"href":"/api/management-server/jobs/{KEY}"}}}}}}}}"#
                );
                return (at, http(202, &body));
            }
            let s = ["scheduled", "running", "completed"][usize::from(state)];
            let body = format!(r#"{{"key":"{KEY}","state":"{s}","status":"normal"}}"#);
            (at, http(200, &body))
        }
        Api::Nse => {
            if submit {
                let body = r#"{"status":{"code":202},"result":{"records":[{"id":"j2","status":"pending","job_tasks":null}]}}"#;
                return (at, http(202, body));
            }
            let s = ["pending", "running", "successful"][usize::from(state)];
            let body = format!(
                r#"{{"status":{{"code":200}},"result":{{"total_records":1,"records":[{{"id":"j2","status":"{s}","status_detail":"d","last_error":""}}]}}}}"#
            );
            (at, http(200, &body))
        }
    }
}

// ---------------------------------------------------------------------------- jobpoll

/// The machine's configurations measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ours {
    Ontap { return_timeout: u64 },
    Deploy(Reading),
    Aiqum,
    Nse,
}

impl Ours {
    pub const ALL: [Ours; 6] = [
        Ours::Ontap { return_timeout: 30 },
        Ours::Ontap {
            return_timeout: 120,
        },
        Ours::Deploy(Reading::Exclusive),
        Ours::Deploy(Reading::Inclusive),
        Ours::Aiqum,
        Ours::Nse,
    ];

    pub fn name(self) -> String {
        match self {
            Ours::Ontap { return_timeout } => {
                format!("jobpoll ONTAP return_timeout {return_timeout}")
            }
            Ours::Deploy(Reading::Exclusive) => "jobpoll Deploy (exclusive last_modified)".into(),
            Ours::Deploy(Reading::Inclusive) => "jobpoll Deploy (inclusive last_modified)".into(),
            Ours::Aiqum => "jobpoll Unified Manager".into(),
            Ours::Nse => "jobpoll Service Engine".into(),
        }
    }

    fn api(self) -> Api {
        match self {
            Ours::Ontap { .. } => Api::Ontap,
            Ours::Deploy(r) => Api::Deploy(r),
            Ours::Aiqum => Api::Aiqum,
            Ours::Nse => Api::Nse,
        }
    }

    fn dialect(self) -> Dialect {
        match self {
            Ours::Ontap { return_timeout } => Dialect::Ontap(OntapOptions {
                return_timeout: Duration::from_secs(return_timeout),
                ..OntapOptions::DEFAULT
            }),
            Ours::Deploy(_) => Dialect::Deploy(DeployOptions::DEFAULT),
            Ours::Aiqum => Dialect::Aiqum(AiqumOptions::DEFAULT),
            Ours::Nse => Dialect::Nse(NseOptions::DEFAULT),
        }
    }
}

/// What one run of one policy on one draw gave.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    /// Requests sent, submit included.
    pub requests: u32,
    /// Detection delay in ms; `None` when the client gave up (or reported something else).
    pub delay: Option<u64>,
}

/// The deadline of the efficiency runs: 2 hours, so no draw is cut (the default 10 min would
/// end about half of the 601 s draws and every 3,600 s draw with `DeadlineExceeded`, by design).
pub const DEADLINE: Duration = Duration::from_secs(7200);

/// Drives the real machine against the model, default policy (jitter on, seeded per draw)
/// except the deadline (`DEADLINE` when `None`).
pub fn run_ours(
    ours: Ours,
    duration_ms: u64,
    seed: u64,
    deadline: Option<Duration>,
) -> (Run, Outcome) {
    run_ours_with(ours, duration_ms, seed, deadline, None)
}

/// [`run_ours`] with another `elapsed_share_percent` (to show a proposed policy).
pub fn run_ours_with(
    ours: Ours,
    duration_ms: u64,
    seed: u64,
    deadline: Option<Duration>,
    share: Option<u8>,
) -> (Run, Outcome) {
    let (run, outcome, _) = run_ours_full(ours, duration_ms, seed, deadline, share, None);
    (run, outcome)
}

/// [`run_ours`] with `Policy::expected` set (the rest of the policy by default).
pub fn run_ours_expecting(
    ours: Ours,
    duration_ms: u64,
    seed: u64,
    expected: Option<Expected>,
) -> (Run, Outcome) {
    let (run, outcome, _) = run_ours_full(ours, duration_ms, seed, None, None, expected);
    (run, outcome)
}

/// The whole run: also the machine's `elapsed()` at the end (what a caller records in its
/// estimate).
pub fn run_ours_full(
    ours: Ours,
    duration_ms: u64,
    seed: u64,
    deadline: Option<Duration>,
    share: Option<u8>,
    expected: Option<Expected>,
) -> (Run, Outcome, Duration) {
    let job = Job::new(duration_ms);
    let mut cfg = Config::new(
        Authority {
            host: "cluster1.example.com",
            port: 443,
            tls: true,
        },
        Auth::Basic {
            user: "admin",
            password: "netapp123",
        },
        ours.dialect(),
    );
    cfg.policy.seed = seed;
    cfg.policy.deadline = deadline.unwrap_or(DEADLINE);
    if let Some(share) = share {
        cfg.policy.elapsed_share_percent = share;
    }
    cfg.policy.expected = expected;
    let op = Submit::post("/api/storage/volumes", br#"{"name":"vol1"}"#);
    let mut now = Instant::ZERO;
    let (mut tx, mut rx) = ([0u8; 2048], [0u8; 4096]);
    let mut poller = JobPoller::submit(&cfg, &op, now).expect("valid submit");
    loop {
        match poller.poll(&cfg, &op, now, &mut tx).expect("poll") {
            Action::SendRequest(req) => {
                let text = std::str::from_utf8(&tx[..req.len]).expect("ascii");
                let line = text.lines().next().unwrap_or_default();
                let (answer_at, bytes) = serve(ours.api(), &job, line, now.as_millis() + ONE_WAY);
                let back = Instant::from_millis(answer_at + ONE_WAY);
                if back > req.deadline {
                    now = req.deadline;
                    poller.handle_timeout(&cfg, now);
                    continue;
                }
                now = back;
                rx[..bytes.len()].copy_from_slice(&bytes);
                match poller
                    .handle_response(&cfg, now, &mut rx, bytes.len())
                    .expect("in flight")
                {
                    Received::Complete(_) => {}
                    other => panic!("unexpected {other:?}"),
                }
            }
            Action::SleepUntil(t) => now = t,
            Action::Done(outcome) => {
                let delay = matches!(outcome, Outcome::Succeeded)
                    .then(|| now.as_millis().saturating_sub(job.end));
                return (
                    Run {
                        requests: poller.requests(),
                        delay,
                    },
                    outcome,
                    poller.elapsed(),
                );
            }
            _ => {}
        }
    }
}

// ------------------------------------------------------------------------------ estimates

/// Earlier runs an estimate learns from before each measured draw.
pub const PRIOR_RUNS: usize = 5;

/// Which estimate a run is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hint {
    /// Learnt from [`PRIOR_RUNS`] earlier runs of the same operation (durations drawn with
    /// another seed than the measured draws, each run through the machine with what was learnt
    /// before it, its `elapsed()` recorded).
    Learnt,
    /// Learnt from five runs of a job ten times shorter (their durations recorded as drawn).
    TenTimesShort,
    /// Learnt from five runs of a job ten times longer (their durations recorded as drawn).
    TenTimesLong,
}

impl Hint {
    pub const ALL: [Hint; 3] = [Hint::Learnt, Hint::TenTimesShort, Hint::TenTimesLong];

    pub fn label(self) -> &'static str {
        match self {
            Hint::Learnt => "estimate (5 prior runs, other seed)",
            Hint::TenTimesShort => "estimate 10x too short",
            Hint::TenTimesLong => "estimate 10x too long",
        }
    }
}

/// The durations of the runs before measured draw `index`, in ms: `secs * U(0.9, 1.1)` from a
/// seed that the measured draws never use.
pub fn prior_draws(secs: u64, index: usize) -> Vec<u64> {
    let mut rng = Rng::new(0x9A57_0000_0000 ^ (secs << 16) ^ index as u64);
    (0..PRIOR_RUNS)
        .map(|_| (secs as f64 * 1000.0 * rng.between(0.9, 1.1)).round() as u64)
        .collect()
}

/// The estimate `ours` has before measured draw `index` of duration `secs`.
pub fn estimate_for(ours: Ours, hint: Hint, secs: u64, index: usize) -> Estimate {
    let mut estimate = Estimate::new();
    for (k, ms) in prior_draws(secs, index).into_iter().enumerate() {
        match hint {
            Hint::Learnt => {
                let seed = 0x9A57 ^ ((index as u64) << 8) ^ k as u64;
                let (_, outcome, elapsed) =
                    run_ours_full(ours, ms, seed, None, None, estimate.expected());
                if outcome == Outcome::Succeeded {
                    estimate.record(elapsed);
                }
            }
            Hint::TenTimesShort => estimate.record(Duration::from_millis(ms / 10)),
            Hint::TenTimesLong => estimate.record(Duration::from_millis(ms * 10)),
        }
    }
    estimate
}

/// `ours` on every draw, each with its own estimate.
pub fn runs_with_estimate(ours: Ours, hint: Hint, secs: u64, draws_ms: &[u64]) -> Vec<Run> {
    draws_ms
        .iter()
        .enumerate()
        .map(|(i, &ms)| {
            let expected = estimate_for(ours, hint, secs, i).expected();
            run_ours_expecting(ours, ms, i as u64, expected).0
        })
        .collect()
}

/// The rows with an estimate, by name: ONTAP (default `return_timeout` 30) with each hint,
/// Unified Manager and Service Engine with a learnt one.
pub fn estimate_rows(secs: u64, draws_ms: &[u64]) -> Vec<(Ours, Hint, Row)> {
    let mut rows = Vec::new();
    let ontap = Ours::Ontap { return_timeout: 30 };
    for hint in Hint::ALL {
        let runs = runs_with_estimate(ontap, hint, secs, draws_ms);
        rows.push((
            ontap,
            hint,
            summarize(format!("jobpoll ONTAP, {}", hint.label()), &runs),
        ));
    }
    for ours in [Ours::Aiqum, Ours::Nse] {
        let runs = runs_with_estimate(ours, Hint::Learnt, secs, draws_ms);
        let name = format!("{}, {}", ours.name(), Hint::Learnt.label());
        rows.push((ours, Hint::Learnt, summarize(name, &runs)));
    }
    rows
}

// ------------------------------------------------------------------------------ peers

/// The peers' default policies, replayed from the table "Default polling policies,
/// numerically" in peers.md. Each model's reading of its row is written next to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// netapp_ontap (Python): no `return_timeout` (0); first check at once after the 202;
    /// then every 5 s; the 30 s budget counts sleeps only: polls at sleep sums 0, 5, ..., 25,
    /// then it fails at 30 with no final poll.
    NetappOntap,
    /// Ansible `*_async` defaults: `return_timeout=30`; first check at once, also after a 200
    /// (one GET even when the job is done); interval `min(max(job_timeout/6, 5), 60)` = 5 s for
    /// the default `job_timeout` 30; budget = sum of sleeps with a final poll at it: polls at
    /// 0, 5, ..., 30, then it fails.
    Ansible,
    /// Ansible with the volume module's `time_out` 180: interval 30 s, polls at 0, 30, ...,
    /// 180 (sleep sums), then it fails. Otherwise as [`Peer::Ansible`].
    AnsibleVolume,
    /// Trident: no `return_timeout`; first check at once; intervals 1, 1.414, 2, 2, ... s
    /// (x1.414, cap 2 s), each scaled by U(0.9, 1.1); 120 s of wall clock since polling began:
    /// it stops when elapsed + next interval > 120 s.
    Trident,
    /// Terraform ONTAP provider: `return_timeout=60`; first check at once, also after a 200;
    /// every 10 s; gives up after 60 in-progress polls.
    Terraform,
    /// azure_core Poller: the submit is the LRO start (no server wait); ONTAP sends no
    /// `Retry-After`, so the first check is 30 s after the 202, then every 30 s; no timeout.
    AzureCore,
    /// google-cloud-lro: first check 1 s after the start, then 2, 4, 8, 16, 32, 60, 60, ... s;
    /// no timeout.
    GoogleLro,
    /// smithy-rs waiter: first check at once; the delay after attempt n is U(2, 2 * 2^(n-1))
    /// capped at 120 s, and U(2, 120) once n exceeds floor(log2(120/2) + 1) = 6; `max_wait` is
    /// required and has no default: 7200 s here (the deadline the jobpoll rows use); the last
    /// delay is cut to the time left and one final poll happens at `max_wait`.
    Smithy,
    /// botocore waiter (EC2 InstanceRunning numbers): first check at once; every 15 s;
    /// 40 attempts (the last at 585 s of sleeps), then it fails.
    Botocore,
}

impl Peer {
    pub const ALL: [Peer; 9] = [
        Peer::NetappOntap,
        Peer::Ansible,
        Peer::AnsibleVolume,
        Peer::Trident,
        Peer::Terraform,
        Peer::AzureCore,
        Peer::GoogleLro,
        Peer::Smithy,
        Peer::Botocore,
    ];

    /// Whether the policy is a generic one that sends no server-side wait, so its numbers hold
    /// against any API that answers at once (Unified Manager, Service Engine too).
    pub fn generic(self) -> bool {
        matches!(
            self,
            Peer::AzureCore | Peer::GoogleLro | Peer::Smithy | Peer::Botocore
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Peer::NetappOntap => "netapp_ontap",
            Peer::Ansible => "Ansible (job_timeout 30)",
            Peer::AnsibleVolume => "Ansible volume (time_out 180)",
            Peer::Trident => "Trident",
            Peer::Terraform => "Terraform ONTAP",
            Peer::AzureCore => "azure_core Poller",
            Peer::GoogleLro => "google-cloud-lro",
            Peer::Smithy => "smithy-rs waiter (max_wait 7200)",
            Peer::Botocore => "botocore waiter",
        }
    }

    fn return_timeout_ms(self) -> u64 {
        match self {
            Peer::Ansible | Peer::AnsibleVolume => 30_000,
            Peer::Terraform => 60_000,
            _ => 0,
        }
    }

    fn gets_after_200(self) -> bool {
        matches!(self, Peer::Ansible | Peer::AnsibleVolume | Peer::Terraform)
    }
}

/// Replays `peer` against the ONTAP model on one draw.
pub fn run_peer(peer: Peer, duration_ms: u64, seed: u64) -> Run {
    let job = Job::new(duration_ms);
    let mut rng = Rng::new(seed ^ 0x5EED);
    let mut requests = 1u32;
    // The submit, held up to the peer's return_timeout.
    let hold = peer.return_timeout_ms();
    let arrive = ONE_WAY;
    let mut now;
    if job.end <= arrive + hold {
        now = job.end + ONE_WAY;
        if !peer.gets_after_200() {
            return Run {
                requests,
                delay: Some(now - job.end),
            };
        }
    } else {
        now = arrive + hold + ONE_WAY;
    }
    let start = now;
    // A poll at `now`: returns true when it saw the end.
    let poll = |now: &mut u64, requests: &mut u32| -> bool {
        *requests += 1;
        let seen = job.state_at(*now + ONE_WAY) == 2;
        *now += RTT;
        seen
    };
    let done = |now: u64, requests: u32| Run {
        requests,
        delay: Some(now - job.end),
    };
    let gave_up = |requests: u32| Run {
        requests,
        delay: None,
    };
    match peer {
        Peer::NetappOntap | Peer::Ansible | Peer::AnsibleVolume | Peer::Botocore => {
            // Fixed interval; the budget counts sleeps.
            let (interval, budget, final_poll) = match peer {
                Peer::NetappOntap => (5_000, 30_000, false),
                Peer::Ansible => (5_000, 30_000, true),
                Peer::AnsibleVolume => (30_000, 180_000, true),
                _ => (15_000, 39 * 15_000, true),
            };
            let mut slept = 0;
            loop {
                if poll(&mut now, &mut requests) {
                    return done(now, requests);
                }
                slept += interval;
                now += interval;
                if slept > budget || (slept == budget && !final_poll) {
                    return gave_up(requests);
                }
            }
        }
        Peer::Trident => {
            let mut interval = 1_000.0f64;
            loop {
                if poll(&mut now, &mut requests) {
                    return done(now, requests);
                }
                let next = (interval * rng.between(0.9, 1.1)).round() as u64;
                if now - start + next > 120_000 {
                    return gave_up(requests);
                }
                now += next;
                interval = (interval * 1.414).min(2_000.0);
            }
        }
        Peer::Terraform => {
            let mut in_progress = 0;
            loop {
                if poll(&mut now, &mut requests) {
                    return done(now, requests);
                }
                in_progress += 1;
                if in_progress >= 60 {
                    return gave_up(requests);
                }
                now += 10_000;
            }
        }
        Peer::AzureCore | Peer::GoogleLro => {
            let mut k = 0u32;
            loop {
                let wait = if peer == Peer::AzureCore {
                    30_000
                } else {
                    if k >= 6 { 60_000 } else { 1_000u64 << k }
                };
                now += wait;
                k += 1;
                if poll(&mut now, &mut requests) {
                    return done(now, requests);
                }
                if requests >= MAX_REQUESTS {
                    return gave_up(requests);
                }
            }
        }
        Peer::Smithy => {
            let (min, max, max_wait) = (2_000.0f64, 120_000.0f64, 7_200_000u64);
            let mut attempt = 0u32;
            loop {
                if poll(&mut now, &mut requests) {
                    return done(now, requests);
                }
                attempt += 1;
                let elapsed = now - start;
                if elapsed >= max_wait {
                    return gave_up(requests);
                }
                let hi = if attempt > 6 {
                    max
                } else {
                    (min * f64::from(1u32 << (attempt - 1))).min(max)
                };
                let delay = rng.between(min, hi).round() as u64;
                now += delay.min(max_wait - elapsed);
            }
        }
    }
}

/// The Deploy documentation's sample: long polls with `poll_timeout=120` and
/// `last_modified=>=` the last `last_modified` it read, at once after each answer; no
/// deadline. Against a server that compares inclusively it gets the same answer back at once
/// and spins (capped here at `MAX_REQUESTS`).
pub fn run_deploy_sample(reading: Reading, duration_ms: u64) -> Run {
    let job = Job::new(duration_ms);
    let mut requests = 1u32;
    let mut now = RTT; // the 202, with last_modified = the submit's arrival
    let mut marker = job.last_modified_at(ONE_WAY);
    loop {
        requests += 1;
        let at = now + ONE_WAY;
        let satisfied = |t: u64| {
            let lm = job.last_modified_at(t);
            match reading {
                Reading::Exclusive => lm > marker,
                Reading::Inclusive => lm >= marker,
            }
        };
        let answer_at = if satisfied(at) {
            at
        } else {
            [job.running_at, job.end]
                .into_iter()
                .filter(|&c| c > at && c <= at + 120_000 && satisfied(c))
                .min()
                .unwrap_or(at + 120_000)
        };
        now = answer_at + ONE_WAY;
        if job.state_at(answer_at) == 2 {
            return Run {
                requests,
                delay: Some(now - job.end),
            };
        }
        marker = job.last_modified_at(answer_at);
        if requests >= MAX_REQUESTS {
            return Run {
                requests,
                delay: None,
            };
        }
    }
}

// ---------------------------------------------------------------------------- summary

/// Means over the draws of one duration.
#[derive(Clone, Debug)]
pub struct Row {
    pub name: String,
    pub mean_requests: f64,
    /// Mean delay over the draws that detected the end, in seconds.
    pub mean_delay: f64,
    pub max_delay: f64,
    /// Draws in which the client gave up (or never learnt the outcome).
    pub gave_up: usize,
    pub draws: usize,
}

pub fn summarize(name: String, runs: &[Run]) -> Row {
    let detected: Vec<u64> = runs.iter().filter_map(|r| r.delay).collect();
    Row {
        name,
        mean_requests: runs.iter().map(|r| f64::from(r.requests)).sum::<f64>() / runs.len() as f64,
        mean_delay: detected.iter().sum::<u64>() as f64 / 1000.0 / detected.len().max(1) as f64,
        max_delay: detected.iter().copied().max().unwrap_or(0) as f64 / 1000.0,
        gave_up: runs.len() - detected.len(),
        draws: runs.len(),
    }
}

/// A peer beats us when it saw every draw through and has both fewer requests and a shorter
/// mean delay.
pub fn dominates(peer: &Row, ours: &Row) -> bool {
    peer.gave_up == 0
        && peer.mean_requests < ours.mean_requests
        && peer.mean_delay < ours.mean_delay
}

/// The item-3 targets, checked for one duration; each entry is (target, holds, detail).
pub fn check_targets(secs: u64, draws_ms: &[u64]) -> Vec<(String, bool, String)> {
    let mut out = Vec::new();
    // ONTAP: shorter than return_timeout -> one request, no added delay; longer -> seen within
    // 10 % of the duration and within 30 s (plus the answer's one-way trip).
    for rt in [30u64, 120] {
        let ours = Ours::Ontap { return_timeout: rt };
        let mut short_ok = true;
        let mut long_ok = true;
        let mut worst = String::new();
        let (mut shorts, mut longs) = (0, 0);
        for (i, &d) in draws_ms.iter().enumerate() {
            let (run, _) = run_ours(ours, d, i as u64, None);
            let delay = run.delay.unwrap_or(u64::MAX);
            if d < rt * 1000 {
                shorts += 1;
                if run.requests != 1 || delay > ONE_WAY {
                    short_ok = false;
                    worst = format!("D={d} ms: {} requests, delay {delay} ms", run.requests);
                }
            } else {
                longs += 1;
                let bound = (d / 10).min(30_000) + ONE_WAY;
                if delay > bound {
                    long_ok = false;
                    worst = format!("D={d} ms: delay {delay} ms > {bound} ms");
                }
            }
        }
        if shorts > 0 {
            out.push((
                format!("{secs} s, ONTAP rt {rt}: jobs shorter than return_timeout take 1 request, no added delay ({shorts} draws)"),
                short_ok,
                worst.clone(),
            ));
        }
        if longs > 0 {
            out.push((
                format!("{secs} s, ONTAP rt {rt}: longer jobs seen within min(10 % of D, 30 s) ({longs} draws)"),
                long_ok,
                worst,
            ));
        }
    }
    // No peer with both fewer requests and a shorter mean delay: ONTAP against every peer;
    // Unified Manager and Service Engine (no server-side wait) against the generic peers.
    let peer_rows: Vec<(Peer, Row)> = Peer::ALL
        .iter()
        .map(|&p| {
            let runs: Vec<Run> = draws_ms
                .iter()
                .enumerate()
                .map(|(i, &d)| run_peer(p, d, i as u64))
                .collect();
            (p, summarize(p.name().into(), &runs))
        })
        .collect();
    let contenders = [
        Ours::Ontap { return_timeout: 30 },
        Ours::Ontap {
            return_timeout: 120,
        },
        Ours::Aiqum,
    ];
    for ours in contenders {
        let runs: Vec<Run> = draws_ms
            .iter()
            .enumerate()
            .map(|(i, &d)| run_ours(ours, d, i as u64, None).0)
            .collect();
        let row = summarize(ours.name(), &runs);
        let generic_only = ours == Ours::Aiqum;
        let beaten: Vec<String> = peer_rows
            .iter()
            .filter(|(p, r)| (!generic_only || p.generic()) && dominates(r, &row))
            .map(|(p, r)| {
                format!(
                    "{}: {:.2} requests, {:.3} s vs {:.2}, {:.3} s",
                    p.name(),
                    r.mean_requests,
                    r.mean_delay,
                    row.mean_requests,
                    row.mean_delay
                )
            })
            .collect();
        let who = if generic_only {
            "jobpoll Unified Manager / Service Engine vs the generic peers".to_string()
        } else {
            ours.name()
        };
        out.push((
            format!(
                "{secs} s: no peer has both fewer requests and a shorter mean delay than {who}"
            ),
            beaten.is_empty(),
            beaten.join("; "),
        ));
    }
    // Deploy: at most ceil(D/120) + changes + 1 requests, seen within one round trip.
    for reading in [Reading::Exclusive, Reading::Inclusive] {
        let mut ok = true;
        let mut worst = String::new();
        for (i, &d) in draws_ms.iter().enumerate() {
            let (run, _) = run_ours(Ours::Deploy(reading), d, i as u64, None);
            let budget = d.div_ceil(120_000) + STATE_CHANGES + 1;
            let delay = run.delay.unwrap_or(u64::MAX);
            if u64::from(run.requests) > budget || delay > RTT {
                ok = false;
                worst = format!(
                    "D={d} ms: {} requests (budget {budget}), delay {delay} ms",
                    run.requests
                );
            }
        }
        out.push((
            format!("{secs} s, Deploy {reading:?}: at most ceil(D/120)+changes+1 requests, seen within one round trip"),
            ok,
            worst,
        ));
    }
    // A deadline of D plus one round trip never reports a timeout, in every dialect.
    let mut ok = true;
    let mut worst = String::new();
    for ours in Ours::ALL {
        for (i, &d) in draws_ms.iter().enumerate() {
            let (_, outcome) = run_ours(ours, d, i as u64, Some(Duration::from_millis(d + RTT)));
            if outcome != Outcome::Succeeded {
                ok = false;
                worst = format!("{}: D={d} ms gave {outcome:?}", ours.name());
            }
        }
    }
    out.push((
        format!("{secs} s: a deadline of D + one round trip never times out (every dialect)"),
        ok,
        worst,
    ));
    out
}

/// The targets with an estimate, for one duration, from the rows of [`estimate_rows`]; each
/// entry is (target, holds, detail).
/// - with a learnt estimate, from 61 s up: no peer that saw every draw through has fewer mean
///   requests, and none has a shorter mean delay, than jobpoll ONTAP;
/// - below 30 s: every draw 1 request and the one-way delay, whatever the estimate;
/// - with an estimate 10x off either way: mean delay at most max(25 % of D, 30 s), mean
///   requests at most the default schedule's + 3;
/// - Unified Manager and Service Engine with a learnt estimate: fewer mean requests and a
///   shorter mean delay than without; against the generic peers, the comparison above is
///   reported (not a target: "(reported)" in its text).
pub fn check_estimate_targets(
    secs: u64,
    draws_ms: &[u64],
    rows: &[(Ours, Hint, Row)],
) -> Vec<(String, bool, String)> {
    let mut out = Vec::new();
    let peer_rows: Vec<(Peer, Row)> = Peer::ALL
        .iter()
        .map(|&p| {
            let runs: Vec<Run> = draws_ms
                .iter()
                .enumerate()
                .map(|(i, &d)| run_peer(p, d, i as u64))
                .collect();
            (p, summarize(p.name().into(), &runs))
        })
        .collect();
    let ontap = Ours::Ontap { return_timeout: 30 };
    let default_row = {
        let runs: Vec<Run> = draws_ms
            .iter()
            .enumerate()
            .map(|(i, &d)| run_ours(ontap, d, i as u64, None).0)
            .collect();
        summarize(ontap.name(), &runs)
    };
    let rival = |row: &Row, generic_only: bool| -> Vec<String> {
        peer_rows
            .iter()
            .filter(|(p, r)| (!generic_only || p.generic()) && r.gave_up == 0)
            .filter(|(_, r)| r.mean_requests < row.mean_requests || r.mean_delay < row.mean_delay)
            .map(|(p, r)| {
                format!(
                    "{}: {:.2} requests, {:.3} s vs {:.2}, {:.3} s",
                    p.name(),
                    r.mean_requests,
                    r.mean_delay,
                    row.mean_requests,
                    row.mean_delay
                )
            })
            .collect()
    };
    for (ours, hint, row) in rows {
        if *ours == ontap && *hint == Hint::Learnt && secs >= 61 {
            let beaten = rival(row, false);
            out.push((
                format!("{secs} s, ONTAP with a learnt estimate: no peer has fewer mean requests, none a shorter mean delay"),
                beaten.is_empty(),
                beaten.join("; "),
            ));
        }
        if *ours == ontap && secs * 1100 < 30_000 {
            let ok = row.mean_requests == 1.0
                && row.gave_up == 0
                && row.max_delay <= ONE_WAY as f64 / 1000.0;
            out.push((
                format!(
                    "{secs} s, ONTAP {}: every draw 1 request and the one-way delay",
                    hint.label()
                ),
                ok,
                format!(
                    "{:.2} requests, max delay {:.3} s",
                    row.mean_requests, row.max_delay
                ),
            ));
        }
        if *ours == ontap && *hint != Hint::Learnt {
            let delay_bound = (secs as f64 * 0.25).max(30.0);
            let requests_bound = default_row.mean_requests + 3.0;
            let ok = row.gave_up == 0
                && row.mean_delay <= delay_bound
                && row.mean_requests <= requests_bound;
            out.push((
                format!("{secs} s, ONTAP {}: mean delay at most max(25 % of D, 30 s), requests at most the default's + 3", hint.label()),
                ok,
                format!(
                    "{:.3} s (bound {delay_bound:.3} s), {:.2} requests (bound {requests_bound:.2})",
                    row.mean_delay, row.mean_requests
                ),
            ));
        }
        if *ours != ontap {
            let without = {
                let runs: Vec<Run> = draws_ms
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| run_ours(*ours, d, i as u64, None).0)
                    .collect();
                summarize(ours.name(), &runs)
            };
            out.push((
                format!("{secs} s, {} with a learnt estimate: fewer mean requests and a shorter mean delay than without", ours.name()),
                row.gave_up == 0
                    && row.mean_requests < without.mean_requests
                    && row.mean_delay < without.mean_delay,
                format!(
                    "{:.2} requests, {:.3} s vs {:.2}, {:.3} s",
                    row.mean_requests, row.mean_delay, without.mean_requests, without.mean_delay
                ),
            ));
            let beaten = rival(row, true);
            out.push((
                format!("{secs} s, {} with a learnt estimate (reported): no generic peer has fewer mean requests, none a shorter mean delay", ours.name()),
                beaten.is_empty(),
                beaten.join("; "),
            ));
        }
    }
    out
}
