//! The normalized job state shared by every dialect.

/// A job state normalized across dialects. The raw string is always kept next to it
/// (see [`JobView::raw_state`](crate::JobView::raw_state)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum JobState {
    /// Accepted, not started (ONTAP `queued`).
    Pending,
    /// In progress.
    Running,
    /// Stopped by an administrator, resumable (ONTAP `paused`); not terminal.
    Paused,
    /// Finished successfully.
    Succeeded,
    /// Finished successfully with warnings.
    SucceededWithWarnings,
    /// Finished with some parts failed.
    PartiallyFailed,
    /// Finished in failure.
    Failed,
    /// A string the dialect does not know.
    Unknown,
}

/// One distinct snake_case word per variant: `pending`, `running`, `succeeded_with_warnings`...
impl core::fmt::Display for JobState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Paused => "paused",
            JobState::Succeeded => "succeeded",
            JobState::SucceededWithWarnings => "succeeded_with_warnings",
            JobState::PartiallyFailed => "partially_failed",
            JobState::Failed => "failed",
            JobState::Unknown => "unknown",
        })
    }
}

impl JobState {
    /// True when the job will not change any more.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Succeeded
                | JobState::SucceededWithWarnings
                | JobState::PartiallyFailed
                | JobState::Failed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_are_distinct_snake_case() {
        extern crate std;
        use std::string::ToString;
        let all = [
            JobState::Pending,
            JobState::Running,
            JobState::Paused,
            JobState::Succeeded,
            JobState::SucceededWithWarnings,
            JobState::PartiallyFailed,
            JobState::Failed,
            JobState::Unknown,
        ];
        let names: std::vec::Vec<_> = all.iter().map(ToString::to_string).collect();
        for (i, name) in names.iter().enumerate() {
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
            assert!(!names[..i].contains(name), "{name} twice");
        }
    }

    #[test]
    fn terminal_states() {
        assert!(JobState::Failed.is_terminal());
        assert!(!JobState::Paused.is_terminal());
        assert!(!JobState::Unknown.is_terminal());
    }
}
