//! The job-list pager per dialect and the recovery of a lost submit's job.

#![cfg(all(
    feature = "ontap",
    feature = "deploy",
    feature = "aiqum",
    feature = "nse"
))]

use std::time::Duration;

use jobpoll::dialect::{aiqum::AiqumOptions, nse::NseOptions};
use jobpoll::http::{Auth, Authority};
use jobpoll::list::{JobList, ListQuery, ListReceived, Recovered, Recovery};
use jobpoll::{Config, Dialect, JobState};

fn config(dialect: Dialect) -> Config<'static> {
    let mut cfg = Config::new(
        Authority {
            host: "h",
            port: 443,
            tls: true,
        },
        Auth::None,
        dialect,
    );
    cfg.user_agent = "";
    cfg
}

fn answer(body: &str, date: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

const DATE: &str = "Mon, 23 Nov 2026 12:00:30 GMT";

/// Requests every page, answering with `pages` in order; returns the request lines and, per
/// page, the (id, state) pairs listed.
type Listed = Vec<Vec<(String, Option<JobState>)>>;

fn list_all(
    cfg: &Config<'_>,
    query: &ListQuery<'_>,
    pages: &[String],
    recovery: Option<&mut Recovery>,
) -> (Vec<String>, Listed) {
    let mut list = JobList::new(cfg, query).expect("list");
    let mut lines = Vec::new();
    let mut seen = Vec::new();
    let mut tx = [0u8; 512];
    let mut rx = vec![0u8; 8192];
    let mut pages = pages.iter();
    let mut recovery = recovery;
    while let Some(len) = list.write_request(cfg, query, &mut tx).expect("request") {
        let text = String::from_utf8_lossy(&tx[..len]).to_string();
        lines.push(
            text.lines()
                .next()
                .unwrap_or("")
                .trim_end_matches(" HTTP/1.1")
                .to_string(),
        );
        let page = pages.next().expect("a page for every request");
        let bytes = answer(page, DATE);
        rx[..bytes.len()].copy_from_slice(&bytes);
        match list
            .handle_response(jobpoll::Instant::ZERO, &mut rx, bytes.len())
            .expect("in flight")
        {
            ListReceived::Page(p) => {
                seen.push(
                    p.jobs()
                        .map(|j| (j.id.map(|i| i.to_string()).unwrap_or_default(), j.state))
                        .collect(),
                );
                if let Some(r) = recovery.as_deref_mut() {
                    r.check_page(&p);
                }
            }
            other => panic!("{other:?}"),
        }
        assert!(lines.len() < 50, "runaway paging");
    }
    (lines, seen)
}

#[test]
fn ontap_follows_the_next_link() {
    let cfg = config(Dialect::Ontap(Default::default()));
    let page1 = r#"{"records":[{"uuid":"a","state":"running"},{"uuid":"b","state":"success"}],"num_records":2,
        "_links":{"next":{"href":"/api/cluster/jobs?start.uuid=b&fields=uuid%2Cstate&max_records=2"}}}"#;
    let page2 = r#"{"records":[{"uuid":"c","state":"failure"}],"num_records":1,"_links":{"self":{"href":"/api/cluster/jobs"}}}"#;
    let query = ListQuery {
        page_size: 2,
        state: Some("!queued"),
        ..ListQuery::default()
    };
    let (lines, seen) = list_all(&cfg, &query, &[page1.to_string(), page2.to_string()], None);
    assert_eq!(
        lines,
        [
            "GET /api/cluster/jobs?fields=uuid,state,description,start_time,message,code&max_records=2&state=!queued",
            "GET /api/cluster/jobs?start.uuid=b&fields=uuid,state&max_records=2",
        ]
    );
    assert_eq!(
        seen,
        [
            vec![
                ("a".to_string(), Some(JobState::Running)),
                ("b".to_string(), Some(JobState::Succeeded))
            ],
            vec![("c".to_string(), Some(JobState::Failed))],
        ]
    );
}

#[test]
fn ontap_records_as_an_object_are_one_record() {
    let cfg = config(Dialect::Ontap(Default::default()));
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fuzz/corpus/json/jobs-collection-example-96-records-is-object.json"
    ))
    .expect("vector");
    // Its `_links.next` points at a placeholder path: answer that page with an empty list.
    let (_, seen) = list_all(
        &cfg,
        &ListQuery::default(),
        &[body, r#"{"records":[]}"#.to_string()],
        None,
    );
    assert_eq!(
        seen[0],
        [(
            "1cd8a442-86d1-11e0-ae1c-123478563412".to_string(),
            Some(JobState::Pending)
        )]
    );
}

#[test]
fn unified_manager_pages_by_offset() {
    let cfg = config(Dialect::Aiqum(AiqumOptions::DEFAULT));
    let rec = |k: &str| format!(r#"{{"key":"{k}","state":"completed","status":"normal"}}"#);
    let pages = [
        format!(r#"{{"records":[{},{}]}}"#, rec("k:1"), rec("k:2")),
        format!(r#"{{"records":[{}]}}"#, rec("k:3")),
    ];
    let query = ListQuery {
        page_size: 2,
        ..ListQuery::default()
    };
    let (lines, seen) = list_all(&cfg, &query, &pages, None);
    assert_eq!(
        lines,
        [
            "GET /api/management-server/jobs?max_records=2&offset=0",
            "GET /api/management-server/jobs?max_records=2&offset=2"
        ]
    );
    assert_eq!(seen.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(seen[0][0].1, Some(JobState::Succeeded));
}

#[test]
fn service_engine_pages_until_the_total() {
    let cfg = config(Dialect::Nse(NseOptions::DEFAULT));
    let rec = |i: &str| {
        format!(r#"{{"id":"{i}","status":"successful","request_payload":{{"org_password":"x"}}}}"#)
    };
    let pages = [
        format!(
            r#"{{"result":{{"total_records":3,"offset":0,"limit":2,"records":[{},{}]}}}}"#,
            rec("1"),
            rec("2")
        ),
        format!(
            r#"{{"result":{{"total_records":3,"offset":2,"limit":2,"records":[{}]}}}}"#,
            rec("3")
        ),
    ];
    let query = ListQuery {
        page_size: 2,
        tenant_id: Some("t-1"),
        ..ListQuery::default()
    };
    let (lines, seen) = list_all(&cfg, &query, &pages, None);
    assert_eq!(
        lines,
        [
            "GET /api/v2.1/jobs?offset=0&limit=2&tenant_id=t-1",
            "GET /api/v2.1/jobs?offset=2&limit=2&tenant_id=t-1"
        ]
    );
    assert_eq!(seen.concat().len(), 3);
}

#[test]
fn pages_are_bounded() {
    let cfg = config(Dialect::Aiqum(AiqumOptions::DEFAULT));
    let full = r#"{"records":[{"key":"a"}]}"#.to_string();
    let query = ListQuery {
        page_size: 1,
        max_pages: 3,
        ..ListQuery::default()
    };
    let (lines, _) = list_all(
        &cfg,
        &query,
        &[full.clone(), full.clone(), full.clone(), full],
        None,
    );
    assert_eq!(lines.len(), 3);
}

#[test]
fn deploy_has_no_job_list() {
    let cfg = config(Dialect::Deploy(Default::default()));
    assert_eq!(
        JobList::new(&cfg, &ListQuery::default()).err(),
        Some(jobpoll::ConfigError::ListUnsupported)
    );
}

fn ontap_job(uuid: &str, description: &str, start: &str) -> String {
    format!(
        r#"{{"uuid":"{uuid}","description":"{description}","state":"running","start_time":"{start}"}}"#
    )
}

#[test]
fn recovery_finds_the_one_job_the_lost_submit_started() {
    // The server's clock says 12:00:30 UTC; the submit was sent 30 s ago (monotonic), margin 5 s:
    // a match must have started at 11:59:55 or later and be described as the submit.
    let cfg = config(Dialect::Ontap(Default::default()));
    let page = format!(
        r#"{{"records":[{},{},{},{}]}}"#,
        ontap_job("older", "POST /api/storage/volumes", "2026-11-23T11:50:00Z"),
        ontap_job(
            "other-op",
            "DELETE /api/storage/volumes/x",
            "2026-11-23T12:00:10Z"
        ),
        ontap_job(
            "mine",
            "POST /api/storage/volumes",
            "2026-11-23T07:00:01-05:00"
        ),
        ontap_job("no-time", "POST /api/storage/volumes", "string"),
    );
    let mut recovery = Recovery::new(
        "POST /api/storage/volumes",
        Duration::from_secs(30),
        Duration::from_secs(5),
    )
    .expect("recovery");
    list_all(&cfg, &ListQuery::default(), &[page], Some(&mut recovery));
    assert_eq!(recovery.verdict(), Recovered::Job);
    assert_eq!(recovery.job_id(), Some("mine"));
}

#[test]
fn recovery_with_several_matches_stays_unknown_with_the_candidates() {
    let cfg = config(Dialect::Ontap(Default::default()));
    let page = format!(
        r#"{{"records":[{},{}]}}"#,
        ontap_job("m1", "POST /api/storage/volumes", "2026-11-23T12:00:01Z"),
        ontap_job("m2", "POST /api/storage/volumes", "2026-11-23T12:00:02Z"),
    );
    let mut recovery = Recovery::new(
        "POST /api/storage/volumes",
        Duration::from_secs(30),
        Duration::from_secs(5),
    )
    .expect("recovery");
    list_all(&cfg, &ListQuery::default(), &[page], Some(&mut recovery));
    assert_eq!(recovery.verdict(), Recovered::Ambiguous);
    assert_eq!(recovery.job_id(), None);
    assert_eq!(recovery.candidates().collect::<Vec<_>>(), ["m1", "m2"]);
}

#[test]
fn recovery_without_a_match_stays_unknown() {
    let cfg = config(Dialect::Ontap(Default::default()));
    let page = format!(
        r#"{{"records":[{}]}}"#,
        ontap_job("x", "POST /api/svm/svms", "2026-11-23T12:00:01Z")
    );
    let mut recovery = Recovery::new(
        "POST /api/storage/volumes",
        Duration::from_secs(30),
        Duration::from_secs(5),
    )
    .expect("recovery");
    list_all(&cfg, &ListQuery::default(), &[page], Some(&mut recovery));
    assert_eq!(recovery.verdict(), Recovered::NotFound);
}
