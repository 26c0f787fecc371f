//! What the server last said of the job: its state (normalized and raw) and its code.

use crate::json::{Code, JsonStr};
use crate::state::JobState;
use crate::util::Bounded;

use super::{JobView, MAX_RAW_STATE};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct LastSeen {
    state: Option<JobState>,
    raw_state: Bounded<MAX_RAW_STATE>,
    /// The last integer code, valid when `has_code` (an `Option<i64>` would cost 8 bytes more).
    code: i64,
    has_code: bool,
}

impl LastSeen {
    pub(super) const NOTHING: LastSeen = LastSeen {
        state: None,
        raw_state: Bounded::EMPTY,
        code: 0,
        has_code: false,
    };

    pub(super) fn state(&self) -> Option<JobState> {
        self.state
    }

    /// Keeps the state; returns it when it changed (normalized or raw), else `None`.
    pub(super) fn record_state(&mut self, raw: JsonStr<'_>, state: JobState) -> Option<JobState> {
        // The same plain text as last time copies to the same bytes: nothing changes.
        if self.state == Some(state) && !raw.has_escapes() && raw.raw() == self.raw_state.as_bytes()
        {
            return None;
        }
        let raw_copy = Bounded::from_chars(raw.chars());
        let changed = self.state != Some(state) || raw_copy != self.raw_state;
        self.raw_state = raw_copy;
        self.state = Some(state);
        changed.then_some(state)
    }

    /// Keeps an integer code; a code of another kind (a string, a float) clears it, and no code
    /// at all keeps the last.
    pub(super) fn record_code(&mut self, code: Option<Code<'_>>) {
        if let Some(code) = code {
            (self.code, self.has_code) = match code {
                Code::Int(i) => (i, true),
                _ => (0, false),
            };
        }
    }

    pub(super) fn view<'p>(&'p self, job_id: Option<&'p str>) -> JobView<'p> {
        JobView {
            job_id,
            state: self.state,
            raw_state: self.raw_state.as_str(),
            code: self.has_code.then_some(self.code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{self, Limits};

    fn text(body: &'static [u8]) -> JsonStr<'static> {
        let value = json::parse(body, Limits::default()).expect("valid JSON");
        value.as_str().expect("a string")
    }

    #[test]
    fn a_state_is_reported_once_per_change_of_either_form() {
        let mut seen = LastSeen::NOTHING;
        assert_eq!(
            seen.record_state(text(br#""running""#), JobState::Running),
            Some(JobState::Running)
        );
        assert_eq!(
            seen.record_state(text(br#""running""#), JobState::Running),
            None
        );
        // The same state written with an escape is the same text.
        assert_eq!(
            seen.record_state(text(br#""runn\u0069ng""#), JobState::Running),
            None
        );
        // Another raw string for the same normalized state is a change.
        assert_eq!(
            seen.record_state(text(br#""RUNNING""#), JobState::Running),
            Some(JobState::Running)
        );
        assert_eq!(seen.view(None).raw_state, "RUNNING");
        // Longer raw states are cut at a character boundary.
        let long = br#""a state string much longer than twenty-four bytes""#;
        seen.record_state(text(long), JobState::Unknown);
        assert_eq!(seen.view(None).raw_state.len(), MAX_RAW_STATE);
    }

    #[test]
    fn codes_are_kept_only_as_integers() {
        let mut seen = LastSeen::NOTHING;
        seen.record_code(Some(Code::Int(458_784)));
        assert_eq!(seen.view(None).code, Some(458_784));
        seen.record_code(None);
        assert_eq!(seen.view(None).code, Some(458_784));
        seen.record_code(Some(Code::Text(text(br#""E42""#))));
        assert_eq!(seen.view(Some("u1")).code, None);
        assert_eq!(seen.view(Some("u1")).job_id, Some("u1"));
    }
}
