//! The NetApp Service Engine dialect: the `{status, result}` envelope, submits answering the job
//! in `result.records[0]` with status `pending`, `GET /v2.1/jobs/{id}` and the paginated list.

use crate::clock::{Frac, rfc3339};
use crate::http::{Request, Response};
use crate::jobs::{Dialect, Job, NewJob, Status, View};
use crate::scenario::{Outcome, Phase};
use crate::server::{
    Ctx, Handled, Route, Shared, error_response, job_poll_fault, not_found, observe, replace,
    state_override, wire_state,
};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const USER_ID: &str = "5ec626c0f038943eb46b0af1";

fn status_str(sh: &Shared, s: Status) -> String {
    match s {
        Status::Active(Phase::Queued) => "pending".into(),
        Status::Active(_) => sh.config.switches.nse_running_status.clone(),
        Status::Done(Outcome::Success | Outcome::Warning) => "successful".into(),
        Status::Done(_) => sh.config.switches.nse_failed_status.clone(),
    }
}

fn ts(sh: &Shared, sim: Duration) -> String {
    rfc3339(sh.clock.wall_micros(sim), Frac::Nanos, 0, true)
}

fn action(method: &str) -> &'static str {
    match method {
        "POST" => "create",
        "DELETE" => "delete",
        _ => "update",
    }
}

fn object_type(path: &str) -> String {
    for (k, t) in [
        ("bucket", "sg_buckets"),
        ("group", "sg_groups"),
        ("user", "sg_users"),
        ("account", "sg_accounts"),
    ] {
        if path.contains(k) {
            return t.into();
        }
    }
    path.rsplit('/').next().unwrap_or("object").to_string()
}

fn render(sh: &Shared, job: &Job, view: &View, over: &Option<String>, tasks: bool) -> Value {
    let status = wire_state(view, over, |s| status_str(sh, s));
    let failed = matches!(
        view.status,
        Status::Done(Outcome::Failure | Outcome::PartialFailures)
    );
    let detail = view.message.clone().unwrap_or_default();
    let last_error = if failed {
        detail.clone()
    } else {
        String::new()
    };
    let act = action(&job.method);
    let otype = object_type(&job.path);
    let mut rec = json!({
        "id": job.id,
        "action": act,
        "job_summary": format!("{} request is successfully submitted", if act == "create" { "Create" } else if act == "delete" { "Delete" } else { "Update" }),
        "created": ts(sh, job.created),
        "updated": ts(sh, view.last_change),
        "object_id": job.object_id,
        "object_type": otype,
        "status": status,
        "status_detail": detail,
        "last_error": last_error,
        "user_id": USER_ID,
        "job_tasks": null,
    });
    if let Some(n) = &job.object_name {
        rec["object_name"] = json!(n);
    }
    if tasks && view.status != Status::Active(Phase::Queued) {
        rec["job_tasks"] = json!([{
            "id": format!("{}t1", job.id.get(..22).unwrap_or(&job.id)),
            "job_id": job.id,
            "action": act,
            "driver": "storagegrid_ansible",
            "object_id": job.object_id,
            "object_type": otype,
            "resource_type": otype.trim_end_matches('s'),
            "status": status,
            "status_detail": if failed { "Worker failed task." } else if view.is_done() { "Worker completed task successfully." } else { "Worker is processing task." },
            "last_error": last_error,
            "user_id": USER_ID,
            "request_payload": job.payload,
        }]);
    }
    rec
}

fn envelope(code: u16, msg: &str, result: Value) -> Value {
    json!({"status": {"user_message": msg, "verbose_message": "", "code": code}, "result": result})
}

pub(crate) async fn handle(sh: &Arc<Shared>, req: &Request, route: Route, ctx: Ctx) -> Handled {
    match route {
        Route::NseJob(id) => get_job(sh, &id, ctx),
        Route::NseJobs => list(sh, req, ctx),
        Route::NseSubmit => submit(sh, req, ctx),
        _ => Handled {
            response: not_found(sh, Dialect::Nse),
            fault: ctx.fault,
        },
    }
}

fn get_job(sh: &Shared, id: &str, ctx: Ctx) -> Handled {
    let now = ctx.now;
    let mut st = sh.lock();
    let Some(job) = st.store.get_mut(id).filter(|j| j.dialect == Dialect::Nse) else {
        return Handled {
            response: not_found(sh, Dialect::Nse),
            fault: ctx.fault,
        };
    };
    let fault = job_poll_fault(job, ctx.fault);
    if let Some(f) = fault.as_ref().filter(|f| f.replaces_answer()) {
        let f = f.clone();
        drop(st);
        return replace(sh, Dialect::Nse, f);
    }
    let view = job.view(now);
    observe(job, &view, now);
    let rec = render(sh, job, &view, &state_override(&fault), true);
    let body = envelope(
        200,
        "Okay. Returned 1 record.",
        json!({"total_records": 1, "records": [rec]}),
    );
    Handled {
        response: Response::json(200, "application/json", &body),
        fault,
    }
}

fn list(sh: &Shared, req: &Request, ctx: Ctx) -> Handled {
    let now = ctx.now;
    let num = |k: &str, d: usize| -> Result<usize, Response> {
        match req.query(k) {
            None => Ok(d),
            Some(v) => v.parse::<usize>().map_err(|_| {
                error_response(
                    sh,
                    Dialect::Nse,
                    400,
                    "400",
                    &format!("Invalid value for {k}: {v}"),
                    None,
                )
            }),
        }
    };
    let (offset, limit) = match (num("offset", 0), num("limit", 20)) {
        (Ok(o), Ok(l)) => (o, l),
        (Err(r), _) | (_, Err(r)) => {
            return Handled {
                response: r,
                fault: ctx.fault,
            };
        }
    };
    let tasks = !matches!(req.query("job_tasks"), Some("false" | "0" | "no"));
    let tenant = req.query("tenant_id");
    let mut st = sh.lock();
    let mut jobs: Vec<String> = st
        .store
        .list(Dialect::Nse)
        .iter()
        .filter(|j| tenant.is_none_or(|t| j.tenant_id.as_deref() == Some(t)))
        .map(|j| j.id.clone())
        .collect();
    jobs.reverse(); // newest first: sort_by created, order_by desc
    let total = jobs.len();
    let mut records = Vec::new();
    for id in jobs.iter().skip(offset).take(limit) {
        let Some(job) = st.store.get_mut(id) else {
            continue;
        };
        let view = job.view(now);
        observe(job, &view, now);
        records.push(render(sh, job, &view, &None, tasks));
    }
    let n = records.len();
    let body = envelope(
        200,
        &format!(
            "Okay. Returned {n} record{}.",
            if n == 1 { "" } else { "s" }
        ),
        json!({
            "returned_records": n, "total_records": total, "sort_by": "created", "order_by": "desc",
            "offset": offset, "limit": limit, "records": records,
        }),
    );
    Handled {
        response: Response::json(200, "application/json", &body),
        fault: ctx.fault,
    }
}

fn submit(sh: &Shared, req: &Request, ctx: Ctx) -> Handled {
    let now = ctx.now;
    let body = req.json().unwrap_or(Value::Null);
    let path = req.path.trim_end_matches('/').to_string();
    let tenant = req.query("tenant_id").map(str::to_string).or_else(|| {
        body.get("tenant_id")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let rec = {
        let mut st = sh.lock();
        let script = sh
            .config
            .scenario
            .script_for(st.store.next_number(), &req.method, &path);
        let nj = NewJob {
            dialect: Dialect::Nse,
            method: &req.method,
            path: &path,
            tenant_id: tenant,
            object_name: body.get("name").and_then(Value::as_str).map(str::to_string),
            payload: body,
        };
        let job = st.store.create(nj, script, now).clone();
        st.stats.jobs_created = st.stats.jobs_created.saturating_add(1);
        // The 202 always shows the job as accepted: pending, no tasks, no detail.
        let mut view = job.view(now);
        view.status = Status::Active(Phase::Queued);
        view.raw_state = None;
        view.message = Some(String::new());
        render(sh, &job, &view, &None, false)
    };
    sh.changed.notify_waiters();
    let body = envelope(
        202,
        "Okay. Accepted for processing.",
        json!({"returned_records": 1, "records": [rec]}),
    );
    Handled {
        response: Response::json(202, "application/json", &body),
        fault: ctx.fault,
    }
}
