//! After a signal stopped jobctl before the submit's answer: look for the job the submit may
//! have started in the server's job list, for a bounded time, with the crate's recovery.

use std::time::Duration;

use jobpoll::adapters::blocking::{Cancel, Connect, Driver};
use jobpoll::http::Method;
use jobpoll::list::{ListEnd, ListQuery, Recovered, Recovery, RecoveryPager};
use jobpoll::{Config, JobPoller};

use crate::terminal::say;

/// The longest the search lasts (less when the request timeout is shorter): the person or
/// supervisor that interrupted jobctl is waiting for it to end.
pub const RECOVERY_PHASE_LIMIT: Duration = Duration::from_secs(10);

/// Jobs that started this long before the submit was sent still count: the server's clock
/// stamps a job's start a little after it read the submit, and jobctl's elapsed time is
/// measured from its own start, so the window only grows.
const MARGIN: Duration = Duration::from_secs(5);

/// What the job list said about the submit.
pub enum Found {
    /// Exactly one job matches: its id, and a resume token (as printed) to follow it.
    Job(String, Option<String>),
    /// Several jobs match: the first candidates, and how many matched.
    Several(Vec<String>, usize),
    /// No job matches (yet).
    None,
    /// The list could not be read in time (or at all): why.
    Unreadable(String),
}

/// Looks for the job a `method path` submit started within `since` (time since jobctl
/// started); `None` when the dialect lists no jobs.
pub fn search<C: Connect>(
    connector: C,
    cfg: &Config<'_>,
    method: Method,
    path: &str,
    since: Duration,
) -> Option<Found> {
    let limit = cfg.policy.request_timeout.min(RECOVERY_PHASE_LIMIT);
    let description = format!("{} {path}", method.as_str());
    let finder = match Recovery::new(&description, since, MARGIN) {
        Ok(finder) => finder,
        Err(e) => return Some(Found::Unreadable(e.to_string())),
    };
    let query = ListQuery::default();
    // A dialect without a job list (Select Deploy): nothing to search.
    let mut pager = RecoveryPager::new(cfg, &query, finder).ok()?;
    let mut phase_cfg = *cfg;
    phase_cfg.policy.request_timeout = limit;
    let phase_over = Cancel::new();
    let mut driver = Driver::new(connector).with_cancel(phase_over.clone());
    say(&format!(
        "looking for the job in the server's job list (for at most {:.1} s; a second signal \
         ends jobctl at once)",
        limit.as_secs_f64()
    ));
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        phase_over.cancel();
    });
    let verdict = driver.run(&mut pager, &phase_cfg, &query, &mut ());
    let finder = pager.finder();
    Some(match verdict {
        Ok(Recovered::Job) => {
            let id = finder.job_id().unwrap_or_default().to_string();
            let token = JobPoller::watch(cfg, &id, driver.now())
                .ok()
                .and_then(|job| job.resume_token())
                .map(|token| crate::token_text(&token));
            Found::Job(id, token)
        }
        Ok(Recovered::Ambiguous) => Found::Several(
            finder.candidates().map(String::from).collect(),
            finder.matches(),
        ),
        Ok(Recovered::NotFound) => Found::None,
        Ok(_) => Found::Unreadable(match pager.pager().end() {
            Some(ListEnd::Cancelled) | None => format!("not within {:.1} s", limit.as_secs_f64()),
            Some(end) => end.to_string(),
        }),
        Err(e) => Found::Unreadable(e.to_string()),
    })
}
