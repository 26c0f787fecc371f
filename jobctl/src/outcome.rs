//! The one mapping from the machine's outcome to jobctl's result string and exit code.
//! `README.md` shows it as a table; a test checks the two agree.

use jobpoll::Outcome;

/// Exit code for a usage error (bad arguments, missing environment variable, bad token).
pub const EXIT_USAGE: i32 = 64;

/// Exit code when SIGINT (Ctrl-C) stopped the wait: 128 + 2, as a shell reports it.
pub const EXIT_SIGINT: i32 = 130;

/// Exit code when SIGTERM stopped the wait: 128 + 15.
pub const EXIT_SIGTERM: i32 = 143;

/// Exit code when SIGHUP stopped the wait: 128 + 1.
pub const EXIT_SIGHUP: i32 = 129;

/// Every result string with its exit code, in the README's order.
pub const RESULTS: &[(&str, i32)] = &[
    ("success", 0),
    ("success_with_warnings", 0),
    ("failure", 1),
    ("partial_failure", 1),
    ("deadline_exceeded", 2),
    ("expired", 3),
    ("submit_outcome_unknown", 3),
    ("rejected", 4),
    ("auth_required", 4),
    ("transport_error", 5),
    ("cancelled", EXIT_SIGINT),
];

/// The result string and exit code of an outcome: the library's verdict
/// ([`Outcome::verdict`], the one many-to-one mapping) and its exit code here.
pub fn classify(outcome: &Outcome) -> (&'static str, i32) {
    let name = outcome.verdict().name();
    (name, exit_code(name))
}

/// The exit code of a result string (usage for an unknown one).
pub fn exit_code(name: &str) -> i32 {
    RESULTS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(EXIT_USAGE, |(_, code)| *code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobpoll::{RetryCause, TransportError};

    /// Every outcome variant, each once.
    fn every_outcome() -> Vec<Outcome> {
        vec![
            Outcome::Succeeded,
            Outcome::SucceededWithWarnings,
            Outcome::PartiallyFailed,
            Outcome::Failed,
            Outcome::CompletedWithoutJob { status: 201 },
            Outcome::MultipleJobs { count: 0 },
            Outcome::DeadlineExceeded,
            Outcome::Expired,
            Outcome::SubmitOutcomeUnknown,
            Outcome::Rejected { status: 400 },
            Outcome::AuthRequired { status: 401 },
            Outcome::Cancelled,
            Outcome::RetriesExhausted {
                last: RetryCause::Transport(TransportError::ConnectFailed),
            },
            Outcome::Paused,
            Outcome::UnknownState,
        ]
    }

    #[test]
    fn mapping_table() {
        let table = [
            (Outcome::Succeeded, "success", 0),
            (Outcome::CompletedWithoutJob { status: 200 }, "success", 0),
            (Outcome::SucceededWithWarnings, "success_with_warnings", 0),
            (Outcome::Failed, "failure", 1),
            (Outcome::PartiallyFailed, "partial_failure", 1),
            (Outcome::DeadlineExceeded, "deadline_exceeded", 2),
            (Outcome::Expired, "expired", 3),
            (Outcome::SubmitOutcomeUnknown, "submit_outcome_unknown", 3),
            (Outcome::Rejected { status: 409 }, "rejected", 4),
            (Outcome::AuthRequired { status: 403 }, "auth_required", 4),
            (
                Outcome::RetriesExhausted {
                    last: RetryCause::Status(503),
                },
                "transport_error",
                5,
            ),
            (Outcome::Cancelled, "cancelled", 130),
        ];
        for (outcome, name, code) in table {
            assert_eq!(classify(&outcome), (name, code), "{outcome:?}");
        }
        for outcome in every_outcome() {
            let (name, _) = classify(&outcome);
            assert!(RESULTS.iter().any(|(n, _)| *n == name), "{outcome:?}");
        }
    }

    /// The rows of the README table under `heading`: (first cell without backticks, second
    /// cell).
    fn readme_rows(heading: &str) -> Vec<(String, String)> {
        let readme = include_str!("../README.md");
        let section = readme
            .split("\n## ")
            .find(|s| s.starts_with(heading))
            .unwrap_or_else(|| panic!("README has no section {heading:?}"));
        section
            .lines()
            .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.starts_with("| result"))
            .filter(|l| !l.starts_with("| exit"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (cells[1].trim_matches('`').to_string(), cells[2].to_string())
            })
            .collect()
    }

    #[test]
    fn readme_table_matches_the_code() {
        let rows = readme_rows("Result and exit codes");
        let from_readme: Vec<(String, i32)> = rows
            .iter()
            .map(|(name, code)| (name.clone(), code.parse().expect("an exit code")))
            .collect();
        let from_code: Vec<(String, i32)> =
            RESULTS.iter().map(|(n, c)| (n.to_string(), *c)).collect();
        assert_eq!(from_readme, from_code);
        let other: Vec<(i32, String)> = readme_rows("Other exit codes")
            .into_iter()
            .map(|(code, meaning)| {
                let word = meaning.split([':', ' ']).next().unwrap_or("").to_string();
                (code.parse().expect("an exit code"), word)
            })
            .collect();
        assert_eq!(
            other,
            [
                (EXIT_USAGE, "usage".to_string()),
                (EXIT_SIGHUP, "interrupted".to_string()),
                (EXIT_SIGINT, "interrupted".to_string()),
                (EXIT_SIGTERM, "interrupted".to_string()),
            ]
        );
        assert_eq!(
            (EXIT_USAGE, EXIT_SIGHUP, EXIT_SIGINT, EXIT_SIGTERM),
            (64, 129, 130, 143)
        );
    }
}
