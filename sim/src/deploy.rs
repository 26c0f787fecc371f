//! The ONTAP Select Deploy dialect: `{"job": {"id", ...}}` submits, `{"record": job}` GETs and
//! long polling with `poll_timeout` and `last_modified`.

use crate::clock::{Frac, parse_rfc3339, rfc3339};
use crate::config::DeployTimestamp;
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

fn state_str(s: Status) -> String {
    match s {
        Status::Active(Phase::Queued) => "queued",
        Status::Active(_) => "running",
        Status::Done(Outcome::Success | Outcome::Warning) => "success",
        Status::Done(_) => "failure",
    }
    .into()
}

/// `last_modified` as shown on the wire.
fn shown(sh: &Shared, sim: Duration) -> String {
    let micros = sh.clock.wall_micros(sim);
    match sh.config.switches.deploy_timestamp {
        DeployTimestamp::MicrosZ => rfc3339(micros, Frac::Micros, 0, true),
        DeployTimestamp::SecondsOffset => rfc3339(micros, Frac::None, 0, false),
    }
}

/// `last_modified` at the precision the client can see (so a client echoing it compares equal).
fn shown_micros(sh: &Shared, sim: Duration) -> i64 {
    parse_rfc3339(&shown(sh, sim)).unwrap_or(i64::MIN)
}

fn render(sh: &Shared, job: &Job, view: &View, over: &Option<String>) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(job.id));
    m.insert("state".into(), json!(wire_state(view, over, state_str)));
    m.insert(
        "message".into(),
        json!(view.message.clone().unwrap_or_default()),
    );
    m.insert("last_modified".into(), json!(shown(sh, view.last_change)));
    Value::Object(m)
}

fn select_fields(v: Value, fields: Option<&str>) -> Value {
    let Some(f) = fields.filter(|f| !f.split(',').any(|x| x == "*" || x == "**")) else {
        return v;
    };
    let Value::Object(m) = v else { return v };
    let want: Vec<&str> = f.split(',').collect();
    Value::Object(
        m.into_iter()
            .filter(|(k, _)| k == "id" || want.contains(&k.as_str()))
            .collect(),
    )
}

fn respond(status: u16, v: &Value, rid: u64) -> Response {
    Response::json(status, "application/json", v).header("request-id", rid.to_string())
}

fn bad(sh: &Shared, msg: &str, target: &str) -> Response {
    error_response(
        sh,
        Dialect::Deploy,
        400,
        "InvalidArgument",
        msg,
        Some(target),
    )
}

pub(crate) async fn handle(sh: &Arc<Shared>, req: &Request, route: Route, ctx: Ctx) -> Handled {
    let rid = sh.lock().stats.requests;
    let mut h = match route {
        Route::DeployJob(id) => get_job(sh, req, &id, ctx).await,
        Route::DeployJobs => list(sh, req, ctx),
        _ => submit(sh, req, ctx),
    };
    h.response = h.response.header("request-id", rid.to_string());
    h
}

/// Parses `>=TS`, `>TS`, `=TS` or `TS`; returns (micros, strict).
fn parse_last_modified(v: &str) -> Option<(i64, bool)> {
    let (strict, ts) = if let Some(t) = v.strip_prefix(">=") {
        (false, t)
    } else if let Some(t) = v.strip_prefix('>') {
        (true, t)
    } else {
        (false, v.strip_prefix('=').unwrap_or(v))
    };
    parse_rfc3339(ts).map(|m| (m, strict))
}

async fn get_job(sh: &Arc<Shared>, req: &Request, id: &str, ctx: Ctx) -> Handled {
    let now = ctx.now;
    let timeout = match req.query("poll_timeout") {
        None => None,
        Some(v) => match v.parse::<u64>().ok().filter(|n| (1..=120).contains(n)) {
            Some(n) => Some(n),
            None => {
                let msg =
                    format!("Invalid value \"{v}\" for poll_timeout: must be between 1 and 120");
                return Handled {
                    response: bad(sh, &msg, "poll_timeout"),
                    fault: ctx.fault,
                };
            }
        },
    };
    let since = match req.query("last_modified") {
        None => None,
        Some(v) => match parse_last_modified(v) {
            Some(x) => Some(x),
            None => {
                let msg = format!("Invalid value \"{v}\" for last_modified");
                return Handled {
                    response: bad(sh, &msg, "last_modified"),
                    fault: ctx.fault,
                };
            }
        },
    };
    // Look up and count the poll without holding the lock across the wait.
    let looked_up: Result<(Option<crate::scenario::Fault>, i64), Handled> = (|| {
        let mut st = sh.lock();
        let Some(job) = st
            .store
            .get_mut(id)
            .filter(|j| j.dialect == Dialect::Deploy)
        else {
            return Err(Handled {
                response: not_found(sh, Dialect::Deploy),
                fault: ctx.fault.clone(),
            });
        };
        let fault = job_poll_fault(job, ctx.fault.clone());
        if let Some(f) = fault.as_ref().filter(|f| f.replaces_answer()) {
            return Err(replace(sh, Dialect::Deploy, f.clone()));
        }
        Ok((fault, shown_micros(sh, job.view(now).last_change)))
    })();
    let (fault, current) = match looked_up {
        Ok(x) => x,
        Err(h) => return h,
    };
    if let Some(t) = timeout {
        // Long poll: the baseline is the client's value, else the state as of now.
        let (base, strict) = since.unwrap_or((current, true));
        let strict = strict || !sh.config.switches.deploy_last_modified_inclusive;
        let deadline = now.saturating_add(Duration::from_secs(t));
        sh.hold(deadline, |sh| {
            let st = sh.lock();
            let Some(j) = st.store.get(id) else {
                return (true, None);
            };
            let v = j.view(sh.clock.sim_now());
            let m = shown_micros(sh, v.last_change);
            (if strict { m > base } else { m >= base }, v.next_change)
        })
        .await;
    }
    let t = sh.clock.sim_now();
    let mut st = sh.lock();
    let Some(job) = st.store.get_mut(id) else {
        return Handled {
            response: not_found(sh, Dialect::Deploy),
            fault,
        };
    };
    let view = job.view(t);
    observe(job, &view, t);
    let over = state_override(&fault);
    let rec = select_fields(render(sh, job, &view, &over), req.query("fields"));
    Handled {
        response: respond(200, &json!({ "record": rec }), 0),
        fault,
    }
}

fn list(sh: &Shared, req: &Request, ctx: Ctx) -> Handled {
    let now = ctx.now;
    let max = req
        .query("max_records")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let mut st = sh.lock();
    let ids: Vec<String> = st
        .store
        .list(Dialect::Deploy)
        .iter()
        .map(|j| j.id.clone())
        .collect();
    let mut records = Vec::new();
    for id in ids.iter().take(max) {
        let Some(job) = st.store.get_mut(id) else {
            continue;
        };
        let view = job.view(now);
        observe(job, &view, now);
        records.push(select_fields(
            render(sh, job, &view, &None),
            req.query("fields"),
        ));
    }
    let n = records.len();
    Handled {
        response: respond(200, &json!({"num_records": n, "records": records}), 0),
        fault: ctx.fault,
    }
}

fn submit(sh: &Shared, req: &Request, ctx: Ctx) -> Handled {
    let now = ctx.now;
    let body = req.json().unwrap_or(Value::Null);
    let path = req.path.trim_end_matches('/').to_string();
    let rec = {
        let mut st = sh.lock();
        let script = sh
            .config
            .scenario
            .script_for(st.store.next_number(), &req.method, &path);
        let nj = NewJob {
            dialect: Dialect::Deploy,
            method: &req.method,
            path: &path,
            tenant_id: None,
            object_name: body.get("name").and_then(Value::as_str).map(str::to_string),
            payload: body,
        };
        let job = st.store.create(nj, script, now);
        let view = job.view(now);
        let rec = json!({
            "id": job.id,
            "last_modified": shown(sh, view.last_change),
            "message": view.message.clone().unwrap_or_else(|| "Job queued".into()),
        });
        st.stats.jobs_created = st.stats.jobs_created.saturating_add(1);
        rec
    };
    sh.changed.notify_waiters();
    Handled {
        response: respond(202, &json!({ "job": rec }), 0),
        fault: ctx.fault,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_modified_operators() {
        let t = "2019-04-04T15:41:29.140265Z";
        let m = parse_rfc3339(t);
        let cases = [
            (format!(">={t}"), m.map(|m| (m, false))),
            (format!(">{t}"), m.map(|m| (m, true))),
            (format!("={t}"), m.map(|m| (m, false))),
            (t.to_string(), m.map(|m| (m, false))),
            (">=yesterday".to_string(), None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_last_modified(&input), want, "{input}");
        }
    }
}
