//! Every real body in the shared test vectors (copied into the JSON fuzz corpus under their own
//! names) parsed by its dialect, with what a person reading it expects written down per file.

#![cfg(all(
    feature = "ontap",
    feature = "deploy",
    feature = "aiqum",
    feature = "nse"
))]

use std::path::Path;

use jobpoll::JobState;
use jobpoll::dialect::Dialect;
use jobpoll::json::{self, Code, JsonStr};

#[derive(Clone, Copy, Debug)]
enum Want {
    /// A job GET body: its state, id, integer code and the start of its message.
    Job {
        state: Option<JobState>,
        id: Option<&'static str>,
        code: Option<i64>,
        message: Option<&'static str>,
    },
    /// A submit answer naming one job.
    Submit { id: &'static str },
    /// An API error body: its code and the start of its message.
    Error { code: i64, message: &'static str },
    /// Not valid JSON: a typed error.
    Invalid,
}

use Want::*;

fn ontap() -> Dialect {
    Dialect::Ontap(Default::default())
}
fn deploy() -> Dialect {
    Dialect::Deploy(Default::default())
}
fn aiqum() -> Dialect {
    Dialect::Aiqum(Default::default())
}
fn nse() -> Dialect {
    Dialect::Nse(Default::default())
}

const U_CLUSTER: &str = "d877f5bb-3aa7-11e9-b6c6-005056a78c89";

fn table() -> Vec<(&'static str, Dialect, Want)> {
    use JobState::*;
    vec![
        // ONTAP submit answers: the job is named by uuid (the link is the standard path).
        (
            "202-job-link-patch-cluster.json",
            ontap(),
            Submit { id: U_CLUSTER },
        ),
        (
            "202-job-link-file-security-patch.json",
            ontap(),
            Submit {
                id: "6f89e612-5bbd-11eb-9c4e-0050568e8682",
            },
        ),
        (
            "202-job-link-metrocluster-post.json",
            ontap(),
            Submit {
                id: "f23abbdb-331f-11ea-acd3-005056a708b2",
            },
        ),
        (
            "202-job-link-snapshot-patch-2019-content-type-json.json",
            ontap(),
            Submit {
                id: "6f7c3a82-45e2-11e9-8fc7-005056bbc848",
            },
        ),
        (
            "202-job-link-with-cli-output.json",
            ontap(),
            Submit {
                id: "bce9cad6-afbe-11ea-8a81-005056bbe450",
            },
        ),
        // ONTAP job bodies.
        (
            "job-success-patch-cluster-docs.json",
            ontap(),
            Job {
                state: Some(Succeeded),
                id: Some(U_CLUSTER),
                code: Some(0),
                message: Some("success"),
            },
        ),
        (
            "job-running-metrocluster-diagnostics-code.json",
            ontap(),
            Job {
                state: Some(Running),
                id: Some("f7d3804c-fcf7-11ea-acaf-005056bb47c1"),
                code: Some(2_432_853),
                message: Some("Checking nodes..."),
            },
        ),
        (
            "job-success-metrocluster-diagnostics.json",
            ontap(),
            Job {
                state: Some(Succeeded),
                id: Some("f7d3804c-fcf7-11ea-acaf-005056bb47c1"),
                code: Some(0),
                message: Some("success"),
            },
        ),
        (
            "job-success-metrocluster-final.json",
            ontap(),
            Job {
                state: Some(Succeeded),
                id: Some("f23abbdb-331f-11ea-acd3-005056a708b2"),
                code: Some(0),
                message: None,
            },
        ),
        (
            "job-success-cli-volume-create.json",
            ontap(),
            Job {
                state: Some(Succeeded),
                id: Some("bce9cad6-afbe-11ea-8a81-005056bbe450"),
                code: Some(0),
                message: Some("Complete: Successful [0]"),
            },
        ),
        (
            "job-success-svm-migration-gzip.json",
            ontap(),
            Job {
                state: Some(Succeeded),
                id: Some("5184a3e1-05d7-11ec-a40f-005056bba9a5"),
                code: Some(0),
                message: Some("success"),
            },
        ),
        (
            "job-running-mediator-no-message-no-code.json",
            ontap(),
            Job {
                state: Some(Running),
                id: Some("f567b48b-fca6-11ea-acaf-005056bb47c1"),
                code: None,
                message: None,
            },
        ),
        (
            "job-running-cluster-backup-docs.json",
            ontap(),
            Job {
                state: Some(Running),
                id: None,
                code: Some(0),
                message: Some("creating_node_backups"),
            },
        ),
        (
            "job-schema-example-97-code-int-state-queued.json",
            ontap(),
            Job {
                state: Some(Pending),
                id: Some("1cd8a442-86d1-11e0-ae1c-123478563412"),
                code: Some(0),
                message: Some("Complete: Successful"),
            },
        ),
        (
            "job-schema-example-991-error-arguments-object.json",
            ontap(),
            Job {
                state: Some(Pending),
                id: Some("1cd8a442-86d1-11e0-ae1c-123478563412"),
                code: Some(0),
                message: Some("Complete: Successful"),
            },
        ),
        (
            "job-success-no-links-no-times-2019.json",
            ontap(),
            Job {
                state: Some(Succeeded),
                id: Some("6f7c3a82-45e2-11e9-8fc7-005056bbc848"),
                code: Some(0),
                message: Some("success"),
            },
        ),
        (
            "job-failure-entry-doesnt-exist-code4-trident.json",
            ontap(),
            Job {
                state: Some(Failed),
                id: Some("493e64d1-99e2-11eb-9fc4-080027c8f2a7"),
                code: Some(4),
                message: Some("entry doesn't exist"),
            },
        ),
        (
            "job-failure-snapshot-locked-escaped-quotes-trident.json",
            ontap(),
            Job {
                state: Some(Failed),
                id: Some("2453aafc-a9a6-11eb-9fc7-080027c8f2a7"),
                code: Some(1_638_555),
                message: Some("Snapshot copy \"snapshot-60f627c7"),
            },
        ),
        // code 0 with a failure: the state, not the code, decides.
        (
            "job-failure-with-code-0-ansible-synthetic.json",
            ontap(),
            Job {
                state: Some(Failed),
                id: Some("f03ccbb6-d8bb-11eb-ac81-00505690980f"),
                code: Some(0),
                message: Some("Forcing some error"),
            },
        ),
        // "Complete:" in the message of a running job: the state, not the message, decides.
        (
            "job-running-with-end-time-and-complete-message-ansible-synthetic.json",
            ontap(),
            Job {
                state: Some(Running),
                id: Some("f03ccbb6-d8bb-11eb-ac81-00505690980f"),
                code: Some(0),
                message: Some("Complete: Operation completed"),
            },
        ),
        (
            "job-success-no-message-no-code-ansible-ntp.json",
            ontap(),
            Job {
                state: Some(Succeeded),
                id: Some("fde79888-692a-11ea-80c2-005056b39fe7"),
                code: None,
                message: None,
            },
        ),
        (
            "job-running-metrocluster-nonzero-code-TRUNCATED-invalid.json",
            ontap(),
            Invalid,
        ),
        // A collection is not a job: no state at its top level (listing is a separate pager).
        (
            "jobs-collection-example-96-records-is-object.json",
            ontap(),
            Job {
                state: None,
                id: None,
                code: None,
                message: None,
            },
        ),
        // ONTAP error bodies (code as a string).
        (
            "error-404-job-not-found-docs.json",
            ontap(),
            Error {
                code: 4,
                message: "entry doesn't exist",
            },
        ),
        (
            "error-404-unexpected-argument-262179-captured.json",
            ontap(),
            Error {
                code: 262_179,
                message: "Unexpected argument",
            },
        ),
        // Inner error objects as Ansible prints them (wrapper stripped): no `error` key, and no
        // state either, so the machine would treat such a body as unreadable, not as a job.
        (
            "error-404-job-not-found-inner-ansible.json",
            ontap(),
            Job {
                state: None,
                id: None,
                code: Some(4),
                message: Some("entry doesn't exist"),
            },
        ),
        (
            "error-inner-403-not-authorized-code6-issue139.json",
            ontap(),
            Job {
                state: None,
                id: None,
                code: Some(6),
                message: Some("not authorized"),
            },
        ),
        (
            "error-inner-return-timeout-out-of-range-262197-issue142.json",
            ontap(),
            Job {
                state: None,
                id: None,
                code: Some(262_197),
                message: Some("The value \"600\" is invalid"),
            },
        ),
        // Select Deploy (synthetic shapes).
        (
            "SYNTHETIC-202-job-fields-read-by-netapp-sample.json",
            deploy(),
            Submit {
                id: "SYNTHETIC-job-id",
            },
        ),
        (
            "SYNTHETIC-get-job-record-wrapper.json",
            deploy(),
            Job {
                state: Some(Running),
                id: Some("SYNTHETIC-job-id"),
                code: None,
                message: Some("SYNTHETIC message"),
            },
        ),
        // Unified Manager.
        (
            "SYNTHETIC-202-job-key.json",
            aiqum(),
            Submit {
                id: "06a6148bf9e862df:-2611856e:16e8d47e722:-7f87",
            },
        ),
        (
            "SYNTHETIC-rediscover-202-operationId.json",
            aiqum(),
            Submit {
                id: "SYNTHETIC-job-key",
            },
        ),
        (
            "SYNTHETIC-job-completed-normal-lowercase.json",
            aiqum(),
            Job {
                state: Some(Succeeded),
                id: Some("06a6148bf9e862df:-2611856e:16e8d47e722:-7f87"),
                code: None,
                message: None,
            },
        ),
        (
            "job-tail-fragment-job-results-fileshare-key-INVALID-fragment.json",
            aiqum(),
            Invalid,
        ),
        // Service Engine: 202 envelopes name a pending job.
        (
            "202-create-objectiam-group-pending.json",
            nse(),
            Submit {
                id: "5ed5fa312c356a0001a73841",
            },
        ),
        (
            "202-create-objectiam-user-pending-activate-summary.json",
            nse(),
            Submit {
                id: "5ed603712c356a0001a7386c",
            },
        ),
        (
            "202-create-objectstorage-account-pending.json",
            nse(),
            Submit { id: "" },
        ),
        (
            "202-create-s3-bucket-pending.json",
            nse(),
            Submit { id: "" },
        ),
        (
            "202-modify-objectiam-group-pending.json",
            nse(),
            Submit { id: "" },
        ),
        (
            "202-modify-objectstorage-account-pending.json",
            nse(),
            Submit { id: "" },
        ),
        (
            "job-by-id-successful-total-records-only.json",
            nse(),
            Job {
                state: Some(Succeeded),
                id: Some("5e66f18e09a74c0001b89640"),
                code: None,
                message: Some("Creation of s3 bucket 'mys3bucket' completed successfully."),
            },
        ),
        // The list's first record, read as a job.
        (
            "jobs-list-successful-paginated.json",
            nse(),
            Job {
                state: Some(Succeeded),
                id: Some("5ed72c8c6342e90001439d54"),
                code: None,
                message: None,
            },
        ),
    ]
}

fn text(s: Option<JsonStr<'_>>) -> Option<String> {
    s.map(|s| s.chars().collect())
}

fn int(code: Option<Code<'_>>) -> Option<i64> {
    match code {
        Some(Code::Int(i)) => Some(i),
        _ => None,
    }
}

fn starts(got: &Option<String>, want: Option<&str>) -> bool {
    match (got, want) {
        (_, None) => true,
        (Some(g), Some(w)) => g.starts_with(w),
        (None, Some(_)) => false,
    }
}

#[test]
fn every_vector_has_its_expected_reading() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/json");
    let table = table();
    let vectors: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        // Hand-made edge cases and inputs the fuzzer found (named by hash) are not vectors.
        .filter(|n| !n.starts_with("edge-") && n.ends_with(".json"))
        .collect();
    assert_eq!(vectors.len(), 42, "the 42 shared vectors");
    for name in &vectors {
        assert!(
            table.iter().any(|(n, _, _)| n == name),
            "no expectation written for {name}"
        );
    }
    let limits = json::Limits::default();
    for (name, dialect, want) in table {
        let body = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        match want {
            Job {
                state,
                id,
                code,
                message,
            } => {
                let job = dialect
                    .parse_job(&body, limits)
                    .unwrap_or_else(|e| panic!("{name}: {e:?}"));
                // Inner error objects carry their fields at the top level: read them as a
                // person would, through the error shape.
                let (got_code, got_message) = if job.state.is_none() && job.message.is_none() {
                    let obj = json::parse(&body, limits).ok().and_then(|v| v.as_object());
                    (
                        int(obj.and_then(|o| o.get("code")).and_then(|c| c.as_code())),
                        text(obj.and_then(|o| o.get("message")).and_then(|m| m.as_str())),
                    )
                } else {
                    (int(job.code), text(job.message_for_state()))
                };
                assert_eq!(job.state, state, "{name}: state");
                if let Some(id) = id {
                    assert_eq!(text(job.id).as_deref(), Some(id), "{name}: id");
                }
                assert_eq!(got_code, code, "{name}: code");
                assert!(
                    starts(&got_message, message),
                    "{name}: message {got_message:?}"
                );
            }
            Submit { id } => {
                let answer = dialect
                    .parse_submit_answer(&body, limits)
                    .unwrap_or_else(|e| panic!("{name}: {e:?}"));
                let job = answer.job.unwrap_or_else(|| panic!("{name}: no job"));
                let got = text(job.id).or_else(|| text(job.href)).unwrap_or_default();
                assert!(!got.is_empty(), "{name}: job has no id");
                if !id.is_empty() {
                    assert_eq!(got, id, "{name}");
                }
                assert!(answer.error.is_none(), "{name}: an accept is not an error");
            }
            Error { code, message } => {
                let error = dialect
                    .parse_error(&body, limits)
                    .unwrap_or_else(|| panic!("{name}: not an error"));
                assert_eq!(int(error.code), Some(code), "{name}");
                assert!(starts(&text(error.message), Some(message)), "{name}");
            }
            Invalid => {
                assert!(dialect.parse_job(&body, limits).is_err(), "{name}: parsed");
                assert!(
                    dialect.parse_submit_answer(&body, limits).is_err(),
                    "{name}: parsed"
                );
            }
        }
    }
}
