//! The accept loop, the per-connection HTTP/1.1 loop, routing, auth, faults and stats.

use crate::clock::SimClock;
use crate::config::SimConfig;
use crate::http::{self, After, ReadError, Request, Resp, Response};
use crate::jobs::{Dialect, Job, Status, Store, View};
use crate::scenario::{Fault, FaultRule, RetryAfter};
use crate::stats::{JobStats, Stats};
use base64::Engine as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::time::Instant;

/// Mutable state behind one lock (never held across an await).
#[derive(Debug)]
pub(crate) struct State {
    pub store: Store,
    pub stats: Stats,
    rule_counts: Vec<u64>,
}

/// Commands to the accept loop; the sender, if any, is told once the command took effect.
#[derive(Debug)]
pub(crate) enum ListenerControl {
    /// Close the listening socket, bind again after the duration.
    Refuse(Duration, Option<oneshot::Sender<()>>),
    /// Stop accepting for the duration.
    Stall(Duration, Option<oneshot::Sender<()>>),
}

/// Everything the connection tasks share.
pub(crate) struct Shared {
    pub config: SimConfig,
    pub clock: SimClock,
    state: Mutex<State>,
    /// Woken whenever a job changes other than by its timeline (created, paused, cancelled).
    pub changed: Notify,
    pub control: mpsc::UnboundedSender<ListenerControl>,
    pub shutdown: watch::Receiver<bool>,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(
        config: SimConfig,
        control: mpsc::UnboundedSender<ListenerControl>,
        shutdown: watch::Receiver<bool>,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> Self {
        let clock = SimClock::new(config.time_scale);
        let seed = clock.wall_micros(Duration::ZERO) as u64 ^ 0x9e37_79b9_7f4a_7c15;
        let rules = config.scenario.faults.len();
        Self {
            config,
            clock,
            state: Mutex::new(State {
                store: Store::new(seed),
                stats: Stats::default(),
                rule_counts: vec![0; rules],
            }),
            changed: Notify::new(),
            control,
            shutdown,
            tls,
        }
    }

    /// Locks the state (a poisoned lock is still used: the state stays consistent per call).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A snapshot of the counters, with per-job entries.
    pub(crate) fn stats(&self) -> Stats {
        let now = self.clock.sim_now();
        let st = self.lock();
        let mut s = st.stats.clone();
        let scale = self.clock.scale();
        for j in st.store.all() {
            // Request rules are counted as they match; a job script's faults where delivered.
            s.faults_injected = s.faults_injected.saturating_add(j.faults_delivered);
            let seen = j.terminal_seen_after.map(|d| d.as_secs_f64() * 1000.0);
            let view = j.view(now);
            let outcome = match view.status {
                crate::jobs::Status::Done(o) => Some(o),
                crate::jobs::Status::Active(_) => None,
            };
            s.jobs.insert(
                j.id.clone(),
                JobStats {
                    number: j.number,
                    dialect: format!("{:?}", j.dialect).to_ascii_lowercase(),
                    submit: format!("{} {}", j.method, j.path),
                    requests: j.requests,
                    terminal: view.is_done(),
                    outcome,
                    terminal_seen_after_ms: seen,
                    terminal_seen_after_real_ms: seen.map(|ms| ms / scale),
                },
            );
        }
        s
    }

    /// Simulated seconds after which a terminal ONTAP job is gone.
    pub(crate) fn purge_after(&self) -> Duration {
        crate::jobs::secs(self.config.purge_after_secs)
    }

    /// Waits until `check` says yes, or simulated `deadline` passes; `check` returns whether the
    /// wait is over and the next scheduled change.
    pub(crate) async fn hold(
        &self,
        deadline: Duration,
        mut check: impl FnMut(&Self) -> (bool, Option<Duration>),
    ) -> bool {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (ok, next) = check(self);
            if ok {
                return true;
            }
            let now = self.clock.sim_now();
            if now >= deadline {
                return false;
            }
            let wake = next.map_or(deadline, |n| n.min(deadline));
            let at = self.clock.instant_at(wake) + Duration::from_micros(200);
            tokio::select! {
                _ = tokio::time::sleep_until(at) => {}
                _ = &mut notified => {}
            }
        }
    }
}

/// Marks a job as seen by a request; records the first sight of its terminal state.
pub(crate) fn observe(job: &mut Job, view: &View, now: Duration) {
    if let (Some(end), None) = (view.end, job.terminal_seen_after) {
        job.terminal_seen_after = Some(now.saturating_sub(end));
    }
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Stats,
    OntapSubmit,
    OntapJobs,
    OntapJob(String),
    DeploySubmit,
    DeployJobs,
    DeployJob(String),
    AiqumSubmit { rediscover: bool },
    AiqumJobs,
    AiqumJob(String),
    NseSubmit,
    NseJobs,
    NseJob(String),
    NotFound(Dialect),
}

impl Route {
    /// The dialect answering (for error bodies).
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Route::Stats | Route::OntapSubmit | Route::OntapJobs | Route::OntapJob(_) => {
                Dialect::Ontap
            }
            Route::DeploySubmit | Route::DeployJobs | Route::DeployJob(_) => Dialect::Deploy,
            Route::AiqumSubmit { .. } | Route::AiqumJobs | Route::AiqumJob(_) => Dialect::Aiqum,
            Route::NseSubmit | Route::NseJobs | Route::NseJob(_) => Dialect::Nse,
            Route::NotFound(d) => *d,
        }
    }
    fn is_submit(&self) -> bool {
        matches!(
            self,
            Route::OntapSubmit | Route::DeploySubmit | Route::AiqumSubmit { .. } | Route::NseSubmit
        )
    }
}

fn is_write(method: &str) -> bool {
    matches!(method, "POST" | "PATCH" | "DELETE" | "PUT")
}

/// Maps a request to a route and an endpoint name for the stats.
pub(crate) fn route(method: &str, path: &str) -> (Route, String) {
    let p = path.trim_end_matches('/');
    let seg = |rest: &str| -> Option<String> {
        (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_string())
    };
    let write = is_write(method);
    let r = if p == "/_sim/stats" {
        (Route::Stats, "/_sim/stats".to_string())
    } else if let Some(rest) = p
        .strip_prefix("/api/v2.1/")
        .or_else(|| p.strip_prefix("/v2.1/"))
    {
        let base = if p.starts_with("/api/") {
            "/api/v2.1"
        } else {
            "/v2.1"
        };
        if rest == "jobs" {
            (
                if method == "GET" {
                    Route::NseJobs
                } else {
                    Route::NotFound(Dialect::Nse)
                },
                format!("{base}/jobs"),
            )
        } else if let Some(id) = rest.strip_prefix("jobs/").and_then(seg) {
            (
                if method == "GET" {
                    Route::NseJob(id)
                } else {
                    Route::NotFound(Dialect::Nse)
                },
                format!("{base}/jobs/{{id}}"),
            )
        } else if write && !rest.starts_with("auth/") {
            (Route::NseSubmit, format!("{base}/{rest}"))
        } else {
            (Route::NotFound(Dialect::Nse), format!("{base}/{rest}"))
        }
    } else if let Some(rest) = p.strip_prefix("/api/v3/").or_else(|| {
        (p == "/api/jobs" || p.starts_with("/api/jobs/")).then(|| p.trim_start_matches("/api/"))
    }) {
        let base = if p.starts_with("/api/v3/") {
            "/api/v3"
        } else {
            "/api"
        };
        if rest == "jobs" {
            (
                if method == "GET" {
                    Route::DeployJobs
                } else {
                    Route::NotFound(Dialect::Deploy)
                },
                format!("{base}/jobs"),
            )
        } else if let Some(id) = rest.strip_prefix("jobs/").and_then(seg) {
            (
                if method == "GET" {
                    Route::DeployJob(id)
                } else {
                    Route::NotFound(Dialect::Deploy)
                },
                format!("{base}/jobs/{{id}}"),
            )
        } else if write {
            (Route::DeploySubmit, format!("{base}/{rest}"))
        } else {
            (Route::NotFound(Dialect::Deploy), format!("{base}/{rest}"))
        }
    } else if let Some(rest) = p.strip_prefix("/api/v2/").or_else(|| {
        [
            "/api/management-server/",
            "/api/storage-provider/",
            "/api/datacenter/",
        ]
        .iter()
        .find(|pre| p.starts_with(**pre))
        .map(|_| p.trim_start_matches("/api/"))
    }) {
        let base = if p.starts_with("/api/v2/") {
            "/api/v2"
        } else {
            "/api"
        };
        if rest == "management-server/jobs" {
            (
                if method == "GET" {
                    Route::AiqumJobs
                } else {
                    Route::NotFound(Dialect::Aiqum)
                },
                format!("{base}/management-server/jobs"),
            )
        } else if let Some(key) = rest.strip_prefix("management-server/jobs/").and_then(seg) {
            (
                if method == "GET" {
                    Route::AiqumJob(key)
                } else {
                    Route::NotFound(Dialect::Aiqum)
                },
                format!("{base}/management-server/jobs/{{key}}"),
            )
        } else if write {
            let rediscover = rest.starts_with("management-server/admin/datasources/")
                && rest.ends_with("/discover");
            let name = if rediscover {
                format!("{base}/management-server/admin/datasources/{{key}}/discover")
            } else {
                format!("{base}/{rest}")
            };
            (Route::AiqumSubmit { rediscover }, name)
        } else {
            (Route::NotFound(Dialect::Aiqum), format!("{base}/{rest}"))
        }
    } else if p == "/api/cluster/jobs" {
        (
            if method == "GET" {
                Route::OntapJobs
            } else {
                Route::NotFound(Dialect::Ontap)
            },
            "/api/cluster/jobs".into(),
        )
    } else if let Some(id) = p.strip_prefix("/api/cluster/jobs/").and_then(seg) {
        (
            if method == "GET" || method == "PATCH" {
                Route::OntapJob(id)
            } else {
                Route::NotFound(Dialect::Ontap)
            },
            "/api/cluster/jobs/{uuid}".into(),
        )
    } else if p.starts_with("/api/") && write {
        // Collapse one trailing id so that per-object submits share an endpoint name.
        let name = match p.rsplit_once('/') {
            Some((head, last)) if last.len() >= 32 && last.contains('-') => {
                format!("{head}/{{uuid}}")
            }
            _ => p.to_string(),
        };
        (Route::OntapSubmit, name)
    } else {
        (Route::NotFound(Dialect::Ontap), p.to_string())
    };
    (r.0, format!("{method} {}", r.1))
}

/// The outcome of handling one request.
#[derive(Debug)]
pub(crate) struct Handled {
    pub response: Response,
    pub fault: Option<Fault>,
}

impl Handled {
    pub(crate) fn ok(response: Response) -> Self {
        Self {
            response,
            fault: None,
        }
    }
}

/// Per-request context for the dialect handlers.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// A delivery fault matched by a request rule (job GETs may add their own).
    pub fault: Option<Fault>,
    /// Simulated time when the request arrived.
    pub now: Duration,
}

/// An error answer in the dialect's error shape.
pub(crate) fn error_response(
    sh: &Shared,
    d: Dialect,
    status: u16,
    code: &str,
    message: &str,
    target: Option<&str>,
) -> Response {
    let body = match d {
        Dialect::Nse => {
            let code_v = if sh.config.switches.nse_error_code_string {
                serde_json::Value::String(status.to_string())
            } else {
                serde_json::json!(status)
            };
            serde_json::json!({
                "status": {"user_message": message, "verbose_message": format!("{code}: {message}"), "code": code_v},
                "result": null
            })
        }
        _ => {
            let mut e = serde_json::json!({"message": message, "code": code});
            if let Some(t) = target {
                e["target"] = serde_json::json!(t);
            }
            if d == Dialect::Ontap && code == "4" && sh.config.switches.ontap_not_found_arguments {
                e["arguments"] = serde_json::json!([{"code": "4", "message": message}]);
            }
            serde_json::json!({ "error": e })
        }
    };
    let ct = if d == Dialect::Ontap {
        "application/hal+json"
    } else {
        "application/json"
    };
    Response::json(status, ct, &body)
}

/// The dialect's "no such job" answer.
pub(crate) fn not_found(sh: &Shared, d: Dialect) -> Response {
    match d {
        Dialect::Ontap => {
            let status = sh.config.switches.ontap_not_found_status;
            error_response(sh, d, status, "4", "entry doesn't exist", Some("uuid"))
        }
        Dialect::Nse => error_response(sh, d, 404, "404", "Job not found.", None),
        _ => error_response(sh, d, 404, "4", "Job not found", Some("id")),
    }
}

/// A replacing fault's answer, as a handled request.
pub(crate) fn replace(sh: &Shared, d: Dialect, fault: Fault) -> Handled {
    Handled {
        response: replacement(sh, d, &fault),
        fault: Some(fault),
    }
}

fn replacement(sh: &Shared, d: Dialect, fault: &Fault) -> Response {
    match fault {
        Fault::Status { status } => {
            let msg = http::reason(*status);
            let mut r = error_response(sh, d, *status, &status.to_string(), msg, None);
            r.status = *status;
            r
        }
        Fault::RetryAfter { status, after } => {
            let msg = http::reason(*status);
            let value = match after {
                RetryAfter::Seconds(s) => s.to_string(),
                RetryAfter::HttpDate(s) => crate::clock::http_date(
                    crate::clock::unix_now().saturating_add(i64::try_from(*s).unwrap_or(0)),
                ),
            };
            error_response(sh, d, *status, &status.to_string(), msg, None)
                .header("Retry-After", value)
        }
        _ => not_found(sh, d),
    }
}

fn authorized(sh: &Shared, req: &Request) -> bool {
    let Some(v) = req.header("authorization") else {
        return false;
    };
    let Some(b64) = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))
    else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return false;
    };
    let want = format!("{}:{}", sh.config.user, sh.config.password);
    raw == want.as_bytes()
}

fn match_rules(sh: &Shared, st: &mut State, req: &Request) -> Option<Fault> {
    let mut hit = None;
    for (i, rule) in sh.config.scenario.faults.iter().enumerate() {
        if !rule_matches(rule, req) {
            continue;
        }
        let Some(c) = st.rule_counts.get_mut(i) else {
            continue;
        };
        *c = c.saturating_add(1);
        if hit.is_none() && *c >= rule.nth && *c < rule.nth.saturating_add(rule.count) {
            hit = Some(rule.fault.clone());
        }
    }
    hit
}

fn rule_matches(rule: &FaultRule, req: &Request) -> bool {
    rule.method
        .as_deref()
        .is_none_or(|m| m.eq_ignore_ascii_case(&req.method))
        && rule.path.as_deref().is_none_or(|p| req.path.starts_with(p))
}

/// Handles one request end to end (stats, faults, auth, dialect).
pub(crate) async fn handle(sh: &Arc<Shared>, req: &Request) -> Handled {
    let (route, endpoint) = route(&req.method, &req.path);
    let now = sh.clock.sim_now();
    let fault = {
        let mut st = sh.lock();
        st.stats.requests = st.stats.requests.saturating_add(1);
        *st.stats.endpoints.entry(endpoint).or_insert(0) += 1;
        if route.is_submit() {
            st.stats.submits = st.stats.submits.saturating_add(1);
        }
        let f = if route == Route::Stats {
            None
        } else {
            match_rules(sh, &mut st, req)
        };
        if f.is_some() {
            st.stats.faults_injected = st.stats.faults_injected.saturating_add(1);
        }
        f
    };
    let d = route.dialect();
    if route == Route::Stats {
        let v = serde_json::to_value(sh.stats()).unwrap_or_default();
        return Handled::ok(Response::json(200, "application/json", &v));
    }
    if let Some(f) = &fault {
        if f.replaces_answer() {
            return Handled {
                response: replacement(sh, d, f),
                fault: Some(f.clone()),
            };
        }
    }
    if !authorized(sh, req) {
        let status = if d == Dialect::Deploy {
            sh.config.switches.deploy_auth_status
        } else {
            401
        };
        let r = match d {
            Dialect::Nse => error_response(
                sh,
                d,
                status,
                "401",
                "Unauthorized: invalid credentials.",
                None,
            ),
            _ => error_response(sh, d, status, "6", "not authorized for that command", None),
        };
        return Handled {
            response: r.header("WWW-Authenticate", "Basic realm=\"jobsim\""),
            fault,
        };
    }
    let ctx = Ctx { fault, now };
    match route {
        Route::OntapSubmit | Route::OntapJobs | Route::OntapJob(_) => {
            crate::ontap::handle(sh, req, route, ctx).await
        }
        Route::DeploySubmit | Route::DeployJobs | Route::DeployJob(_) => {
            crate::deploy::handle(sh, req, route, ctx).await
        }
        Route::AiqumSubmit { .. } | Route::AiqumJobs | Route::AiqumJob(_) => {
            crate::aiqum::handle(sh, req, route, ctx).await
        }
        Route::NseSubmit | Route::NseJobs | Route::NseJob(_) => {
            crate::nse::handle(sh, req, route, ctx).await
        }
        Route::Stats | Route::NotFound(_) => {
            let r = match d {
                Dialect::Ontap => error_response(sh, d, 404, "4", "API not found", None),
                _ => error_response(sh, d, 404, "404", "Not found", None),
            };
            Handled {
                response: r,
                fault: ctx.fault,
            }
        }
    }
}

/// Looks up a job's GET fault (per-job script, by poll number) and counts the poll.
/// Returns the effective fault: the request rule's if any, else the job's.
pub(crate) fn job_poll_fault(job: &mut Job, request_fault: Option<Fault>) -> Option<Fault> {
    job.polls = job.polls.saturating_add(1);
    job.requests = job.requests.saturating_add(1);
    if request_fault.is_some() {
        return request_fault;
    }
    let n = job.polls;
    let fault = job
        .script
        .faults
        .iter()
        .find(|f| n >= f.poll && n < f.poll.saturating_add(f.count))
        .map(|f| f.fault.clone());
    if fault.is_some() {
        job.faults_delivered = job.faults_delivered.saturating_add(1);
    }
    fault
}

/// Returns the state string override of an `UnknownState` fault.
pub(crate) fn state_override(f: &Option<Fault>) -> Option<String> {
    match f {
        Some(Fault::UnknownState { state }) => Some(state.clone()),
        _ => None,
    }
}

/// Wire state helper: the raw override from the script or fault, else `f(status)`.
pub(crate) fn wire_state(
    view: &View,
    over: &Option<String>,
    f: impl Fn(Status) -> String,
) -> String {
    over.clone()
        .or_else(|| view.raw_state.clone())
        .unwrap_or_else(|| f(view.status))
}

/// Streams the simulator can serve on (plain TCP or TLS over TCP).
pub(crate) trait Conn: AsyncRead + AsyncWrite + Unpin + Send {
    fn tcp(&self) -> &TcpStream;
}
impl Conn for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}
impl Conn for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

fn reset<S: Conn>(s: S) {
    let _ = socket2::SockRef::from(s.tcp()).set_linger(Some(Duration::ZERO));
    drop(s);
}

async fn serve_conn<S: Conn>(sh: Arc<Shared>, mut s: S) {
    let mut shutdown = sh.shutdown.clone();
    let mut buf = Vec::new();
    loop {
        // An idle keep-alive connection is closed after `keep_alive_idle` (what the
        // `Keep-Alive: timeout=5` header promises); a request under way is not cut.
        let idle = sh.config.keep_alive_idle;
        let req = tokio::select! {
            r = http::read_request(&mut s, &mut buf, sh.config.max_request_body) => r,
            _ = shutdown.changed() => return,
            _ = tokio::time::sleep(idle), if buf.is_empty() && !idle.is_zero() => {
                let _ = s.shutdown().await;
                return;
            }
        };
        let req = match req {
            Ok(r) => r,
            Err(ReadError::Closed) | Err(ReadError::Io) => return,
            Err(e) => {
                let (status, msg) = match e {
                    ReadError::HeadersTooLarge => (431, "request headers too large"),
                    ReadError::BodyTooLarge => (413, "request body too large"),
                    _ => (400, "malformed request"),
                };
                let mut r = error_response(&sh, Dialect::Ontap, status, "2", msg, None);
                r.close = true;
                let _ = http::write_response(
                    &mut s,
                    Resp {
                        response: r,
                        fault: None,
                        keep_alive: false,
                    },
                )
                .await;
                let _ = s.shutdown().await;
                return;
            }
        };
        let handled = tokio::select! {
            h = handle(&sh, &req) => h,
            _ = shutdown.changed() => return,
        };
        let Handled {
            mut response,
            fault,
        } = handled;
        if let Some(Fault::Stall { seconds }) = &fault {
            match seconds {
                Some(secs) => {
                    tokio::select! {
                        _ = tokio::time::sleep(crate::jobs::secs(*secs)) => {}
                        _ = shutdown.changed() => {}
                    }
                }
                None => {
                    let _ = shutdown.changed().await;
                }
            }
            return;
        }
        // Listener faults take effect before the answer is written, so that a client that has
        // its answer finds the port already closed (or the accept loop already paused).
        let (ack_tx, ack_rx) = oneshot::channel();
        let control = match &fault {
            Some(Fault::RefuseConnections { seconds }) => Some(ListenerControl::Refuse(
                crate::jobs::secs(*seconds),
                Some(ack_tx),
            )),
            Some(Fault::StallAccept { seconds }) => Some(ListenerControl::Stall(
                crate::jobs::secs(*seconds),
                Some(ack_tx),
            )),
            _ => None,
        };
        if let Some(c) = control {
            response.close = true;
            if sh.control.send(c).is_ok() {
                let _ = tokio::time::timeout(Duration::from_secs(2), ack_rx).await;
            }
        }
        let gz = sh.config.switches.gzip_when_accepted
            && req
                .header("accept-encoding")
                .is_some_and(|v| v.to_ascii_lowercase().contains("gzip"));
        http::transform_body(&mut response, fault.as_ref(), gz);
        let after = http::write_response(
            &mut s,
            Resp {
                response,
                fault: fault.as_ref(),
                keep_alive: req.keep_alive(),
            },
        )
        .await;
        match after {
            Ok(After::KeepAlive) => continue,
            Ok(After::Close) => {
                let _ = s.shutdown().await;
                return;
            }
            Ok(After::Reset) => {
                reset(s);
                return;
            }
            Err(_) => return,
        }
    }
}

fn count_connection(sh: &Shared) {
    let mut st = sh.lock();
    st.stats.connections = st.stats.connections.saturating_add(1);
}

async fn on_accept(sh: Arc<Shared>, tcp: TcpStream) {
    count_connection(&sh);
    let _ = tcp.set_nodelay(true);
    match sh.tls.clone() {
        None => serve_conn(sh, tcp).await,
        Some(acc) => {
            let mut shutdown = sh.shutdown.clone();
            let tls = tokio::select! {
                r = tokio::time::timeout(Duration::from_secs(10), acc.accept(tcp)) => r,
                _ = shutdown.changed() => return,
            };
            if let Ok(Ok(stream)) = tls {
                {
                    let mut st = sh.lock();
                    st.stats.tls_handshakes = st.stats.tls_handshakes.saturating_add(1);
                }
                serve_conn(sh, stream).await;
            }
        }
    }
}

async fn rebind(addr: SocketAddr, shutdown: &mut watch::Receiver<bool>) -> Option<TcpListener> {
    let give_up = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(l) = TcpListener::bind(addr).await {
            return Some(l);
        }
        if Instant::now() > give_up {
            return None;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            _ = shutdown.changed() => return None,
        }
    }
}

/// The accept loop: serves until shutdown; obeys refuse/stall commands.
pub(crate) async fn accept_loop(
    sh: Arc<Shared>,
    listener: TcpListener,
    mut control: mpsc::UnboundedReceiver<ListenerControl>,
) {
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    let mut shutdown = sh.shutdown.clone();
    let mut listener = Some(listener);
    let mut tasks = tokio::task::JoinSet::new();
    while let Some(l) = listener.as_ref() {
        tokio::select! {
            r = l.accept() => {
                if let Ok((tcp, _)) = r {
                    tasks.spawn(on_accept(sh.clone(), tcp));
                }
            }
            Some(c) = control.recv() => match c {
                ListenerControl::Refuse(d, ack) => {
                    listener = None;
                    if let Some(a) = ack {
                        let _ = a.send(());
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = shutdown.changed() => break,
                    }
                    listener = rebind(addr, &mut shutdown).await;
                }
                ListenerControl::Stall(d, ack) => {
                    if let Some(a) = ack {
                        let _ = a.send(());
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = shutdown.changed() => break,
                    }
                }
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    // Connection tasks watch the shutdown signal themselves; wait for them briefly.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let cases: &[(&str, &str, Route, &str)] = &[
            (
                "GET",
                "/api/cluster/jobs/abc",
                Route::OntapJob("abc".into()),
                "GET /api/cluster/jobs/{uuid}",
            ),
            (
                "PATCH",
                "/api/cluster/jobs/abc",
                Route::OntapJob("abc".into()),
                "PATCH /api/cluster/jobs/{uuid}",
            ),
            (
                "GET",
                "/api/cluster/jobs",
                Route::OntapJobs,
                "GET /api/cluster/jobs",
            ),
            (
                "POST",
                "/api/storage/volumes",
                Route::OntapSubmit,
                "POST /api/storage/volumes",
            ),
            (
                "DELETE",
                "/api/storage/volumes/0353dc05-405f-11e9-acb6-005056bbc848",
                Route::OntapSubmit,
                "DELETE /api/storage/volumes/{uuid}",
            ),
            (
                "GET",
                "/api/storage/volumes",
                Route::NotFound(Dialect::Ontap),
                "GET /api/storage/volumes",
            ),
            (
                "POST",
                "/api/v3/clusters",
                Route::DeploySubmit,
                "POST /api/v3/clusters",
            ),
            (
                "GET",
                "/api/v3/jobs/x1",
                Route::DeployJob("x1".into()),
                "GET /api/v3/jobs/{id}",
            ),
            (
                "GET",
                "/api/jobs/x1",
                Route::DeployJob("x1".into()),
                "GET /api/jobs/{id}",
            ),
            ("GET", "/api/v3/jobs", Route::DeployJobs, "GET /api/v3/jobs"),
            (
                "GET",
                "/api/management-server/jobs/a:-b:c:-d",
                Route::AiqumJob("a:-b:c:-d".into()),
                "GET /api/management-server/jobs/{key}",
            ),
            (
                "GET",
                "/api/v2/management-server/jobs",
                Route::AiqumJobs,
                "GET /api/v2/management-server/jobs",
            ),
            (
                "POST",
                "/api/v2/storage-provider/file-shares",
                Route::AiqumSubmit { rediscover: false },
                "POST /api/v2/storage-provider/file-shares",
            ),
            (
                "POST",
                "/api/management-server/admin/datasources/k1/discover",
                Route::AiqumSubmit { rediscover: true },
                "POST /api/management-server/admin/datasources/{key}/discover",
            ),
            (
                "GET",
                "/v2.1/jobs/5e66",
                Route::NseJob("5e66".into()),
                "GET /v2.1/jobs/{id}",
            ),
            (
                "GET",
                "/api/v2.1/jobs",
                Route::NseJobs,
                "GET /api/v2.1/jobs",
            ),
            (
                "POST",
                "/v2.1/storagegrid/buckets",
                Route::NseSubmit,
                "POST /v2.1/storagegrid/buckets",
            ),
            (
                "POST",
                "/v2.1/auth/signin",
                Route::NotFound(Dialect::Nse),
                "POST /v2.1/auth/signin",
            ),
            ("GET", "/_sim/stats", Route::Stats, "GET /_sim/stats"),
        ];
        for (m, p, r, name) in cases {
            assert_eq!(route(m, p), (r.clone(), name.to_string()), "{m} {p}");
        }
    }
}
