//! What jobctl writes for people: every stderr line goes through [`say`], which escapes what a
//! server could use to drive a terminal, and never panics.
//!
//! A server's text (a job message, an id, a state) reaches stderr inside jobctl's own lines. Raw,
//! it could clear the screen, set the window title (OSC), ring the bell, reorder what follows
//! (bidirectional overrides) or start a new line that looks like jobctl's own
//! (`\njobctl: success after 0.1 s`). Escaped, it is shown as text, one line per message.

use std::fmt::Write as _;
use std::io::Write as _;

/// Whether `c` must not reach a terminal as is: C0 and C1 controls and DEL (escape sequences,
/// line breaks, bell), and the Unicode bidirectional controls (embeddings and overrides
/// U+202A..U+202E, isolates U+2066..U+2069, and the marks U+200E, U+200F, U+061C), which
/// reorder the text shown after them.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}'
        )
}

/// `text` with every [unsafe](is_unsafe) character escaped: `\x1b` for one below U+0100,
/// `\u{202e}` above.
pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if !is_unsafe(c) {
            out.push(c);
        } else if u32::from(c) < 0x100 {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    out
}

/// Writes `jobctl: {line}` to stderr, escaped. A stderr that cannot be written (closed, full) is
/// ignored: the result line and the exit code still carry the outcome.
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "jobctl: {}", escaped(line));
}

/// A JSON text in which the characters JSON leaves raw but a terminal acts on (DEL, C1
/// controls, bidirectional controls) are `\u` escapes too. They can only occur inside strings
/// (JSON's own syntax is ASCII), where the escape means the same character.
pub fn json_for_terminal(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_unsafe(c) {
            // Every unsafe character is in the Basic Multilingual Plane: one \u escape each.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_table() {
        let table = [
            ("plain text, ünïcode", "plain text, ünïcode"),
            ("\u{1b}]0;title\u{7}", "\\x1b]0;title\\x07"),
            ("a\nb\r\tc", "a\\x0ab\\x0d\\x09c"),
            ("del\u{7f} csi\u{9b}", "del\\x7f csi\\x9b"),
            ("\u{202e}txt.exe", "\\u{202e}txt.exe"),
            (
                "\u{2066}\u{2069}\u{200f}\u{61c}",
                "\\u{2066}\\u{2069}\\u{200f}\\u{61c}",
            ),
        ];
        for (given, want) in table {
            assert_eq!(escaped(given), want, "{given:?}");
        }
    }

    #[test]
    fn json_escapes_stay_json() {
        let raw = serde_json::to_string(&"x\u{7f}\u{85}\u{202e}\u{1b}y").expect("serializes");
        let safe = json_for_terminal(&raw);
        assert!(!safe.chars().any(is_unsafe), "{safe}");
        let back: String = serde_json::from_str(&safe).expect("still JSON");
        assert_eq!(back, "x\u{7f}\u{85}\u{202e}\u{1b}y");
    }
}
