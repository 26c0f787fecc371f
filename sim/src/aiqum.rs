//! The Active IQ Unified Manager dialect: `{"job": {"key"}}` submits, bare job GETs with `state`
//! (lifecycle) and `status` (outcome), and the job list with `max_records` and `order_by`.

use crate::clock::{Frac, rfc3339};
use crate::http::{Request, Response};
use crate::jobs::{Dialect, Job, NewJob, Status, View};
use crate::scenario::{Outcome, Phase};
use crate::server::{
    Ctx, Handled, Route, Shared, error_response, job_poll_fault, not_found, observe, replace,
    state_override, wire_state,
};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::time::Duration;

fn case(sh: &Shared, s: &str) -> String {
    if sh.config.switches.aiqum_upper_case {
        s.to_ascii_uppercase()
    } else {
        s.to_string()
    }
}

fn state_str(s: Status) -> &'static str {
    match s {
        Status::Active(Phase::Queued) => "queued",
        Status::Active(_) => "running",
        Status::Done(_) => "completed",
    }
}

fn status_str(s: Status) -> &'static str {
    match s {
        Status::Active(_) | Status::Done(Outcome::Success) => "normal",
        Status::Done(Outcome::Warning) => "warning",
        Status::Done(Outcome::PartialFailures) => "partial_failures",
        Status::Done(_) => "error",
    }
}

fn href(key: &str) -> String {
    format!("/api/management-server/jobs/{key}")
}

fn ts(sh: &Shared, sim: Duration) -> String {
    rfc3339(sh.clock.wall_micros(sim), Frac::Millis, 0, false)
}

fn render(sh: &Shared, job: &Job, view: &View, over: &Option<String>) -> Value {
    let mut m = Map::new();
    m.insert("key".into(), json!(job.id));
    m.insert("name".into(), json!(format!("{} {}", job.method, job.path)));
    m.insert(
        "state".into(),
        json!(wire_state(view, over, |s| case(sh, state_str(s)))),
    );
    m.insert("status".into(), json!(case(sh, status_str(view.status))));
    m.insert("submit_time".into(), json!(ts(sh, job.created)));
    if let Some(end) = view.end {
        m.insert("complete_time".into(), json!(ts(sh, end)));
    }
    if let Some(msg) = &view.message {
        m.insert("description".into(), json!(msg));
    }
    let mut results = Vec::new();
    if let Status::Done(o) = view.status {
        if o != Outcome::Failure {
            let name = if job.path.contains("file-shares") {
                "fileshareKey"
            } else if job.path.contains("svms") {
                "svmKey"
            } else {
                "objectKey"
            };
            results.push(json!({"name": name, "value": job.object_id}));
        }
    }
    m.insert("job_results".into(), json!(results));
    m.insert("_links".into(), json!({"self": {"href": href(&job.id)}}));
    Value::Object(m)
}

pub(crate) async fn handle(sh: &Arc<Shared>, req: &Request, route: Route, ctx: Ctx) -> Handled {
    match route {
        Route::AiqumJob(key) => get_job(sh, &key, ctx),
        Route::AiqumJobs => list(sh, req, ctx),
        Route::AiqumSubmit { rediscover } => submit(sh, req, rediscover, ctx),
        _ => Handled {
            response: not_found(sh, Dialect::Aiqum),
            fault: ctx.fault,
        },
    }
}

fn get_job(sh: &Shared, key: &str, ctx: Ctx) -> Handled {
    let now = ctx.now;
    let mut st = sh.lock();
    let Some(job) = st
        .store
        .get_mut(key)
        .filter(|j| j.dialect == Dialect::Aiqum)
    else {
        return Handled {
            response: not_found(sh, Dialect::Aiqum),
            fault: ctx.fault,
        };
    };
    let fault = job_poll_fault(job, ctx.fault);
    if let Some(f) = fault.as_ref().filter(|f| f.replaces_answer()) {
        let f = f.clone();
        drop(st);
        return replace(sh, Dialect::Aiqum, f);
    }
    let view = job.view(now);
    observe(job, &view, now);
    let body = render(sh, job, &view, &state_override(&fault));
    Handled {
        response: Response::json(200, "application/json", &body),
        fault,
    }
}

fn list(sh: &Shared, req: &Request, ctx: Ctx) -> Handled {
    let now = ctx.now;
    let max = match req.query("max_records") {
        None => 20,
        Some(v) => match v.parse::<usize>() {
            Ok(n) => n.min(1000),
            Err(_) => {
                let r = error_response(
                    sh,
                    Dialect::Aiqum,
                    400,
                    "400",
                    "Invalid max_records",
                    Some("max_records"),
                );
                return Handled {
                    response: r,
                    fault: ctx.fault,
                };
            }
        },
    };
    let offset = req
        .query("offset")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let order = req
        .query("order_by")
        .unwrap_or("submit_time desc")
        .to_ascii_lowercase();
    let mut parts = order.split_whitespace();
    let field = parts.next().unwrap_or("submit_time").to_string();
    let desc = parts.next() == Some("desc") || (order == "submit_time desc");
    if !matches!(
        field.as_str(),
        "submit_time" | "key" | "name" | "state" | "status"
    ) {
        let r = error_response(
            sh,
            Dialect::Aiqum,
            400,
            "400",
            "Invalid order_by field",
            Some("order_by"),
        );
        return Handled {
            response: r,
            fault: ctx.fault,
        };
    }
    let mut st = sh.lock();
    let ids: Vec<String> = st
        .store
        .list(Dialect::Aiqum)
        .iter()
        .map(|j| j.id.clone())
        .collect();
    let mut all: Vec<(u64, Value)> = Vec::new();
    for id in &ids {
        let Some(job) = st.store.get_mut(id) else {
            continue;
        };
        let view = job.view(now);
        all.push((job.number, render(sh, job, &view, &None)));
    }
    all.sort_by(|(na, a), (nb, b)| {
        let o = if field == "submit_time" {
            na.cmp(nb)
        } else {
            let ka = a.get(&field).and_then(Value::as_str).unwrap_or("");
            let kb = b.get(&field).and_then(Value::as_str).unwrap_or("");
            ka.cmp(kb).then(na.cmp(nb))
        };
        if desc { o.reverse() } else { o }
    });
    let total = all.len();
    let records: Vec<Value> = all
        .into_iter()
        .skip(offset)
        .take(max)
        .map(|(_, v)| v)
        .collect();
    for r in &records {
        if let Some(job) = r
            .get("key")
            .and_then(Value::as_str)
            .and_then(|k| st.store.get_mut(k))
        {
            let view = job.view(now);
            observe(job, &view, now);
        }
    }
    let body = json!({
        "records": records,
        "num_records": records.len(),
        "total_records": total,
        "_links": {"self": {"href": "/api/management-server/jobs"}},
    });
    Handled {
        response: Response::json(200, "application/json", &body),
        fault: ctx.fault,
    }
}

fn submit(sh: &Shared, req: &Request, rediscover: bool, ctx: Ctx) -> Handled {
    let now = ctx.now;
    let body = req.json().unwrap_or(Value::Null);
    let path = req.path.trim_end_matches('/').to_string();
    let key = {
        let mut st = sh.lock();
        let script = sh
            .config
            .scenario
            .script_for(st.store.next_number(), &req.method, &path);
        let nj = NewJob {
            dialect: Dialect::Aiqum,
            method: &req.method,
            path: &path,
            tenant_id: None,
            object_name: body.get("name").and_then(Value::as_str).map(str::to_string),
            payload: body,
        };
        let key = st.store.create(nj, script, now).id.clone();
        st.stats.jobs_created = st.stats.jobs_created.saturating_add(1);
        key
    };
    sh.changed.notify_waiters();
    let body = if rediscover {
        json!({ "operationId": key })
    } else {
        json!({"job": {"key": key, "_links": {"self": {"href": href(&key)}}}})
    };
    Handled {
        response: Response::json(202, "application/json", &body),
        fault: ctx.fault,
    }
}
