//! The ONTAP REST dialect: asynchronous submits, `/api/cluster/jobs`, actions, purge.

use crate::clock::{Frac, rfc3339};
use crate::config::{CodeForm, FailureWithinTimeout, JobGetWait};
use crate::http::{Request, Response};
use crate::jobs::{ActionError, Dialect, Job, NewJob, Status, View};
use crate::scenario::{Outcome, Phase};
use crate::server::{
    Ctx, Handled, Route, Shared, error_response, job_poll_fault, not_found, observe,
    state_override, wire_state,
};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;

fn state_str(s: Status) -> String {
    match s {
        Status::Active(Phase::Queued) => "queued",
        Status::Active(Phase::Paused) => "paused",
        Status::Active(_) => "running",
        Status::Done(Outcome::Success | Outcome::Warning) => "success",
        Status::Done(_) => "failure",
    }
    .into()
}

fn links_wanted(sh: &Shared, req: &Request) -> bool {
    let plain = req
        .header("accept")
        .is_some_and(|a| a.contains("application/json") && !a.contains("hal+json"));
    !(plain && sh.config.switches.ontap_omit_links_for_plain_json)
}

fn content_type(req: &Request) -> &'static str {
    match req.header("accept") {
        Some(a) if a.contains("application/json") && !a.contains("hal+json") => "application/json",
        _ => "application/hal+json",
    }
}

fn href(id: &str) -> String {
    format!("/api/cluster/jobs/{id}")
}

fn job_link(id: &str, links: bool) -> Value {
    let mut v = json!({ "uuid": id });
    if links {
        v["_links"] = json!({"self": {"href": href(id)}});
    }
    v
}

fn ts(sh: &Shared, sim: Duration) -> String {
    let off = sh.config.switches.ontap_utc_offset_minutes;
    rfc3339(sh.clock.wall_micros(sim), Frac::None, off, false)
}

/// A terminal job past the purge delay is gone.
fn visible(sh: &Shared, view: &View, now: Duration) -> bool {
    view.end
        .is_none_or(|e| now.saturating_sub(e) < sh.purge_after())
}

/// The full job object.
pub(crate) fn render(
    sh: &Shared,
    job: &Job,
    view: &View,
    over: &Option<String>,
    links: bool,
) -> Value {
    let mut m = Map::new();
    m.insert("uuid".into(), json!(job.id));
    m.insert(
        "description".into(),
        json!(format!("{} {}", job.method, job.path)),
    );
    m.insert("state".into(), json!(wire_state(view, over, state_str)));
    if let Some(msg) = &view.message {
        m.insert("message".into(), json!(msg));
    }
    if let Some(c) = view.code {
        let v = match sh.config.switches.ontap_code {
            CodeForm::Integer => json!(c),
            CodeForm::String => json!(c.to_string()),
        };
        m.insert("code".into(), v);
    }
    if let (Status::Done(o), Some(e)) = (view.status, &view.error) {
        if !matches!(o, Outcome::Success | Outcome::Warning) {
            m.insert("error".into(), serde_json::to_value(e).unwrap_or_default());
        }
    }
    m.insert("start_time".into(), json!(ts(sh, job.created)));
    if let Some(end) = view.end {
        m.insert("end_time".into(), json!(ts(sh, end)));
    }
    m.insert("node".into(), json!({"name": "sim-01"}));
    if links {
        m.insert("_links".into(), json!({"self": {"href": href(&job.id)}}));
    }
    Value::Object(m)
}

/// Keeps only `fields` (plus `uuid` and `_links`); `*`/`**` keep everything.
fn select_fields(v: Value, fields: Option<&str>) -> Value {
    let Some(f) = fields else { return v };
    if f.split(',').any(|x| x == "*" || x == "**") {
        return v;
    }
    let Value::Object(m) = v else { return v };
    let want: Vec<&str> = f
        .split(',')
        .map(|x| x.split('.').next().unwrap_or(x))
        .collect();
    Value::Object(
        m.into_iter()
            .filter(|(k, _)| k == "uuid" || k == "_links" || want.contains(&k.as_str()))
            .collect(),
    )
}

fn bad_value(sh: &Shared, field: &str, value: &str, range: &str) -> Response {
    let msg = format!("The value \"{value}\" is invalid for field \"{field}\" ({range})");
    error_response(sh, Dialect::Ontap, 400, "262197", &msg, Some(field))
}

fn unexpected(sh: &Shared, arg: &str) -> Response {
    error_response(
        sh,
        Dialect::Ontap,
        400,
        "262179",
        &format!("Unexpected argument \"{arg}\"."),
        None,
    )
}

pub(crate) async fn handle(sh: &Arc<Shared>, req: &Request, route: Route, ctx: Ctx) -> Handled {
    match route {
        Route::OntapJob(id) if req.method == "PATCH" => action(sh, req, &id, ctx),
        Route::OntapJob(id) => get_job(sh, req, &id, ctx),
        Route::OntapJobs => list(sh, req, ctx),
        _ => submit(sh, req, ctx).await,
    }
}

fn get_job(sh: &Shared, req: &Request, id: &str, ctx: Ctx) -> Handled {
    for (k, _) in &req.query {
        match k.as_str() {
            "fields" => {}
            "return_timeout"
                if sh.config.switches.ontap_job_get_return_timeout == JobGetWait::Ignore => {}
            other => {
                return Handled {
                    response: unexpected(sh, other),
                    fault: ctx.fault,
                };
            }
        }
    }
    let now = ctx.now;
    let mut st = sh.lock();
    let Some(job) = st.store.get_mut(id).filter(|j| j.dialect == Dialect::Ontap) else {
        return Handled {
            response: not_found(sh, Dialect::Ontap),
            fault: ctx.fault,
        };
    };
    let view = job.view(now);
    if !visible(sh, &view, now) {
        job.requests = job.requests.saturating_add(1);
        return Handled {
            response: not_found(sh, Dialect::Ontap),
            fault: ctx.fault,
        };
    }
    let fault = job_poll_fault(job, ctx.fault);
    if let Some(f) = fault.as_ref().filter(|f| f.replaces_answer()) {
        let f = f.clone();
        drop(st);
        return crate::server::replace(sh, Dialect::Ontap, f);
    }
    observe(job, &view, now);
    let over = state_override(&fault);
    let body = select_fields(
        render(sh, job, &view, &over, links_wanted(sh, req)),
        req.query("fields"),
    );
    Handled {
        response: Response::json(200, content_type(req), &body),
        fault,
    }
}

fn list(sh: &Shared, req: &Request, ctx: Ctx) -> Handled {
    let now = ctx.now;
    let max = match req.query("max_records") {
        None => usize::MAX,
        Some(v) => match v.parse::<usize>() {
            Ok(n) => n,
            Err(_) => {
                return Handled {
                    response: bad_value(sh, "max_records", v, "<1..>"),
                    fault: ctx.fault,
                };
            }
        },
    };
    if let Some(v) = req.query("return_timeout") {
        if v.parse::<u64>().ok().filter(|n| *n <= 120).is_none() {
            return Handled {
                response: bad_value(sh, "return_timeout", v, "<0..120>"),
                fault: ctx.fault,
            };
        }
    }
    let states: Option<Vec<&str>> = req.query("state").map(|s| s.split('|').collect());
    let links = links_wanted(sh, req);
    let fields = req.query("fields");
    let mut st = sh.lock();
    let mut records = Vec::new();
    let ids: Vec<String> = st
        .store
        .list(Dialect::Ontap)
        .iter()
        .map(|j| j.id.clone())
        .collect();
    // A next page starts at the job its link names (`start.uuid`, as ONTAP's links do); an
    // unknown one gives an empty page.
    let start = match req.query("start.uuid") {
        Some(uuid) => ids.iter().position(|id| id == uuid).unwrap_or(ids.len()),
        None => 0,
    };
    let mut next_start = None;
    for id in ids.into_iter().skip(start) {
        let Some(job) = st.store.get_mut(&id) else {
            continue;
        };
        let view = job.view(now);
        if !visible(sh, &view, now) {
            continue;
        }
        let full = render(sh, job, &view, &None, links);
        if let Some(s) = &states {
            if !full
                .get("state")
                .and_then(Value::as_str)
                .is_some_and(|x| s.contains(&x))
            {
                continue;
            }
        }
        if records.len() >= max {
            next_start = Some(job.id.clone());
            break;
        }
        observe(job, &view, now);
        let rec = if fields.is_some() {
            select_fields(full, fields)
        } else {
            job_link(&job.id, links)
        };
        records.push(rec);
    }
    let mut page_links = json!({"self": {"href": "/api/cluster/jobs"}});
    if let Some(uuid) = next_start {
        // The next batch: the same query from the first job not returned yet.
        let mut next = format!(
            "/api/cluster/jobs?max_records={max}&start.uuid={}",
            crate::http::percent_encode(&uuid)
        );
        for name in ["fields", "state"] {
            if let Some(v) = req.query(name) {
                next.push_str(&format!("&{name}={}", crate::http::percent_encode(v)));
            }
        }
        page_links["next"] = json!({ "href": next });
    }
    let body = json!({"records": records, "num_records": records.len(), "_links": page_links});
    Handled {
        response: Response::json(200, content_type(req), &body),
        fault: ctx.fault,
    }
}

fn action(sh: &Shared, req: &Request, id: &str, ctx: Ctx) -> Handled {
    let now = ctx.now;
    let act = req.query("action").unwrap_or("");
    if !matches!(act, "pause" | "resume" | "cancel") {
        return Handled {
            response: bad_value(sh, "action", act, "pause|resume|cancel"),
            fault: ctx.fault,
        };
    }
    let res = {
        let mut st = sh.lock();
        let Some(job) = st.store.get_mut(id).filter(|j| j.dialect == Dialect::Ontap) else {
            return Handled {
                response: not_found(sh, Dialect::Ontap),
                fault: ctx.fault,
            };
        };
        job.requests = job.requests.saturating_add(1);
        if !visible(sh, &job.view(now), now) {
            return Handled {
                response: not_found(sh, Dialect::Ontap),
                fault: ctx.fault,
            };
        }
        match act {
            "pause" => job.pause(now),
            "resume" => job.resume(now),
            _ => job.cancel(now, &sh.config.switches),
        }
    };
    let response = match res {
        Ok(()) => {
            sh.changed.notify_waiters();
            Response::json(200, content_type(req), &json!({}))
        }
        Err(e) => {
            let (code, msg) = match e {
                ActionError::Terminal => ("458762", "Job is already in a terminal state"),
                ActionError::NotRunning => ("458776", "The specified job is not currently running"),
                ActionError::NoPause => ("458783", "This job does not support pause"),
                ActionError::NoCancel => ("458784", "This job does not support cancel"),
            };
            error_response(sh, Dialect::Ontap, 400, code, msg, None)
        }
    };
    Handled {
        response,
        fault: ctx.fault,
    }
}

/// Glob match with `*` (ONTAP query syntax), case-sensitive.
fn glob(pat: &str, s: &str) -> bool {
    match pat.split_once('*') {
        None => pat == s,
        Some((pre, rest)) => {
            let Some(tail) = s.strip_prefix(pre) else {
                return false;
            };
            (0..=tail.len())
                .filter(|i| tail.is_char_boundary(*i))
                .any(|i| glob(rest, tail.get(i..).unwrap_or("")))
        }
    }
}

async fn submit(sh: &Arc<Shared>, req: &Request, ctx: Ctx) -> Handled {
    let now = ctx.now;
    let hold = match req.query("return_timeout") {
        None => 0,
        Some(v) => match v.parse::<u64>().ok().filter(|n| *n <= 120) {
            Some(n) => n,
            None => {
                return Handled {
                    response: bad_value(sh, "return_timeout", v, "<0..120>"),
                    fault: ctx.fault,
                };
            }
        },
    };
    let links = links_wanted(sh, req);
    let ct = content_type(req);
    let path = req.path.trim_end_matches('/').to_string();
    let body = req.json().unwrap_or(Value::Null);
    let filters: Vec<(String, String)> = req
        .query
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "return_timeout" | "return_records" | "fields"))
        .cloned()
        .collect();
    let is_volumes = path == "/api/storage/volumes";
    // Query-targeted PATCH/DELETE on the volume collection: one job per matching volume.
    if is_volumes && (req.method == "PATCH" || req.method == "DELETE") {
        if filters.is_empty() {
            let r = error_response(
                sh,
                Dialect::Ontap,
                400,
                "2",
                "A query is required for a PATCH or DELETE on a collection",
                None,
            );
            return Handled {
                response: r,
                fault: ctx.fault,
            };
        }
        let mut st = sh.lock();
        let targets: Vec<(String, String)> = st
            .store
            .volumes
            .iter()
            .filter(|(u, n)| {
                filters.iter().all(|(k, v)| match k.as_str() {
                    "name" => v.split('|').any(|p| glob(p, n)),
                    "uuid" => v.split('|').any(|p| glob(p, u)),
                    _ => true,
                })
            })
            .cloned()
            .collect();
        let mut jobs = Vec::new();
        for (uuid, name) in &targets {
            let jpath = format!("{path}/{uuid}");
            let script = sh
                .config
                .scenario
                .script_for(st.store.next_number(), &req.method, &jpath);
            let nj = NewJob {
                dialect: Dialect::Ontap,
                method: &req.method,
                path: &jpath,
                tenant_id: None,
                object_name: Some(name.clone()),
                payload: body.clone(),
            };
            let id = st.store.create(nj, script, now).id.clone();
            st.stats.jobs_created = st.stats.jobs_created.saturating_add(1);
            jobs.push(job_link(&id, links));
        }
        if req.method == "DELETE" {
            st.store.volumes.retain(|v| !targets.contains(v));
        }
        drop(st);
        sh.changed.notify_waiters();
        let status = if jobs.is_empty() { 200 } else { 202 };
        let n = jobs.len();
        return Handled {
            response: Response::json(status, ct, &json!({"jobs": jobs, "num_records": n})),
            fault: ctx.fault,
        };
    }
    let (id, location) = {
        let mut st = sh.lock();
        let mut location = None;
        let mut object_name = body.get("name").and_then(Value::as_str).map(str::to_string);
        if is_volumes && req.method == "POST" {
            let vol = st.store.uuid();
            let name = object_name
                .clone()
                .unwrap_or_else(|| format!("vol_{}", vol.get(..8).unwrap_or(&vol)));
            st.store.volumes.push((vol.clone(), name.clone()));
            object_name = Some(name);
            location = Some(format!("/api/storage/volumes/{vol}"));
        }
        if let Some(uuid) = path.strip_prefix("/api/storage/volumes/") {
            if req.method == "DELETE" {
                st.store.volumes.retain(|(u, _)| u != uuid);
            }
        }
        let script = sh
            .config
            .scenario
            .script_for(st.store.next_number(), &req.method, &path);
        let nj = NewJob {
            dialect: Dialect::Ontap,
            method: &req.method,
            path: &path,
            tenant_id: None,
            object_name,
            payload: body,
        };
        let id = st.store.create(nj, script, now).id.clone();
        st.stats.jobs_created = st.stats.jobs_created.saturating_add(1);
        (id, location)
    };
    sh.changed.notify_waiters();
    let mut status = 202;
    if hold > 0 {
        let deadline = now.saturating_add(Duration::from_secs(hold));
        let done = sh
            .hold(deadline, |sh| {
                let st = sh.lock();
                match st.store.get(&id) {
                    Some(j) => {
                        let v = j.view(sh.clock.sim_now());
                        (v.is_done(), v.next_change)
                    }
                    None => (true, None),
                }
            })
            .await;
        if done {
            let t = sh.clock.sim_now();
            let mut st = sh.lock();
            if let Some(job) = st.store.get_mut(&id) {
                let view = job.view(t);
                observe(job, &view, t);
                match view.status {
                    Status::Done(Outcome::Success | Outcome::Warning) => status = 200,
                    Status::Done(_) => match sh.config.switches.ontap_failure_within_return_timeout
                    {
                        FailureWithinTimeout::Ok200 => status = 200,
                        FailureWithinTimeout::Accepted202 => {}
                        FailureWithinTimeout::Error400 => {
                            let (code, msg) = match &view.error {
                                Some(e) => (e.code.clone(), e.message.clone()),
                                None => (
                                    view.code.unwrap_or(0).to_string(),
                                    view.message.clone().unwrap_or_default(),
                                ),
                            };
                            let r = error_response(sh, Dialect::Ontap, 400, &code, &msg, None);
                            return Handled {
                                response: r,
                                fault: ctx.fault,
                            };
                        }
                    },
                    Status::Active(_) => {}
                }
            }
        }
    }
    let mut r = Response::json(status, ct, &json!({"job": job_link(&id, links)}));
    if let Some(l) = location {
        r = r.header("Location", l);
    }
    Handled {
        response: r,
        fault: ctx.fault,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let cases = [
            ("vol*", "vol1", true),
            ("vol*", "avol", false),
            ("*1", "vol1", true),
            ("a*b*c", "axxbyyc", true),
            ("x", "x", true),
            ("x", "y", false),
        ];
        for (p, s, want) in cases {
            assert_eq!(glob(p, s), want, "{p} {s}");
        }
    }

    #[test]
    fn fields_filter() {
        let v = json!({"uuid": "u", "state": "running", "message": "m", "code": 0, "_links": {}});
        let cases = [
            (Some("state"), vec!["_links", "state", "uuid"]),
            (
                Some("state,message"),
                vec!["_links", "message", "state", "uuid"],
            ),
            (
                Some("**"),
                vec!["_links", "code", "message", "state", "uuid"],
            ),
            (None, vec!["_links", "code", "message", "state", "uuid"]),
        ];
        for (f, keys) in cases {
            let out = select_fields(v.clone(), f);
            let mut got: Vec<&str> = out
                .as_object()
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            got.sort();
            assert_eq!(got, keys, "{f:?}");
        }
    }
}
