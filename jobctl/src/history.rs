//! How long each operation took before: a small file under the user's cache directory, so the
//! next run of the same operation polls around its expected end (`jobpoll::estimate`).
//!
//! The file is text: a version line, then one line per operation, oldest use first:
//! `KEY<TAB>ESTIMATE` where KEY is the dialect, the method and the path with its ids stripped
//! (`ontap POST /api/storage/volumes`, `ontap PATCH /api/storage/volumes/{id}`) and ESTIMATE the
//! estimate's bytes in base64url. At most [`MAX_OPERATIONS`] lines are kept (the least recently
//! used go first). A file that cannot be read as this version is ignored with a warning, never a
//! failure; it is replaced when the next run records a duration.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jobpoll::estimate::Estimate;

/// The first line of a file of this format.
const VERSION_LINE: &str = "jobctl-history 1";

/// Operations kept (a line each, about 80 bytes).
pub const MAX_OPERATIONS: usize = 256;

/// The history file, read once per run.
pub struct History {
    path: PathBuf,
    /// `(key, estimate)`, least recently used first.
    entries: Vec<(String, Estimate)>,
}

impl History {
    /// The history at its usual place (`$XDG_CACHE_HOME/jobctl/history` on Linux, the
    /// platform's cache directory elsewhere); `None` when there is no cache directory.
    pub fn open_default() -> Option<History> {
        let dir = dirs::cache_dir()?;
        Some(History::open(&dir.join("jobctl").join("history")))
    }

    /// The history in `path`: empty when the file is missing; when it cannot be read, empty
    /// too, with a warning on stderr (the run goes on).
    pub fn open(path: &Path) -> History {
        let entries = match std::fs::read_to_string(path) {
            Ok(text) => parse(&text).unwrap_or_else(|why| {
                crate::terminal::say(&format!(
                    "warning: ignoring the history file {}: {why}",
                    path.display()
                ));
                Vec::new()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                crate::terminal::say(&format!(
                    "warning: ignoring the history file {}: {e}",
                    path.display()
                ));
                Vec::new()
            }
        };
        History {
            path: path.to_path_buf(),
            entries,
        }
    }

    /// What is known of the operation `key`.
    pub fn estimate(&self, key: &str) -> Option<&Estimate> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, e)| e)
    }

    /// Learns that `key` took `duration`, and writes the file (replaced whole, through a
    /// temporary file, so a reader never sees half of it). A failed write is a warning.
    pub fn record(&mut self, key: &str, duration: Duration) {
        let mut estimate = match self.entries.iter().position(|(k, _)| k == key) {
            Some(i) => self.entries.remove(i).1,
            None => Estimate::new(),
        };
        estimate.record(duration);
        self.entries.push((key.to_string(), estimate));
        if self.entries.len() > MAX_OPERATIONS {
            let extra = self.entries.len() - MAX_OPERATIONS;
            self.entries.drain(..extra);
        }
        if let Err(e) = self.write() {
            crate::terminal::say(&format!(
                "warning: cannot write the history file {}: {e}",
                self.path.display()
            ));
        }
    }

    fn write(&self) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut text = String::from(VERSION_LINE);
        text.push('\n');
        for (key, estimate) in &self.entries {
            text.push_str(key);
            text.push('\t');
            text.push_str(&URL_SAFE_NO_PAD.encode(estimate.to_bytes()));
            text.push('\n');
        }
        let temporary = self
            .path
            .with_extension(format!("tmp{}", std::process::id()));
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, &self.path)
    }
}

/// The entries of a history file's text, or why it is not one.
fn parse(text: &str) -> Result<Vec<(String, Estimate)>, String> {
    let mut lines = text.lines();
    match lines.next() {
        Some(VERSION_LINE) => {}
        Some(other) => return Err(format!("unknown format {:?}", truncate(other))),
        None => return Err("empty".into()),
    }
    let mut entries = Vec::new();
    for (n, line) in lines.enumerate() {
        let number = n + 2;
        let (key, encoded) = line
            .split_once('\t')
            .ok_or_else(|| format!("line {number} has no tab"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|e| format!("line {number}: {e}"))?;
        let estimate = Estimate::from_bytes(&bytes).map_err(|e| format!("line {number}: {e}"))?;
        entries.push((key.to_string(), estimate));
    }
    if entries.len() > MAX_OPERATIONS {
        return Err(format!("more than {MAX_OPERATIONS} operations"));
    }
    Ok(entries)
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// The key of an operation: the dialect, the method and the path with every segment that names
/// one object (an id) replaced by `{id}`, so runs on different objects share their history.
pub fn key(dialect: &str, method: &str, path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path
        .split('/')
        .map(|segment| if is_id(segment) { "{id}" } else { segment })
        .collect();
    format!("{dialect} {method} {}", segments.join("/"))
}

/// A segment that names one object: any digit with 8 or more characters (UUIDs, keys, hex
/// ids), all digits, or a `:`-separated key (Unified Manager).
fn is_id(segment: &str) -> bool {
    let has_digit = segment.bytes().any(|b| b.is_ascii_digit());
    let all_digits = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
    all_digits || (has_digit && segment.len() >= 8) || segment.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_strips_ids_table() {
        let table = [
            (
                "POST",
                "/api/storage/volumes",
                "ontap POST /api/storage/volumes",
            ),
            (
                "PATCH",
                "/api/storage/volumes/1cd8a442-86d1-11e0-ae1c-123478563412",
                "ontap PATCH /api/storage/volumes/{id}",
            ),
            (
                "DELETE",
                "/api/storage/volumes/42?return_timeout=0",
                "ontap DELETE /api/storage/volumes/{id}",
            ),
            (
                "POST",
                "/api/v2/datacenter/svm/svms/a1b2:type=x,uuid=y/jobs",
                "ontap POST /api/v2/datacenter/svm/svms/{id}/jobs",
            ),
            ("POST", "/api/v3/clusters", "ontap POST /api/v3/clusters"),
        ];
        for (method, path, want) in table {
            assert_eq!(key("ontap", method, path), want, "{path}");
        }
    }

    #[test]
    fn a_file_round_trips_and_stays_bounded() {
        let dir = std::env::temp_dir().join(format!("jobctl-history-{}", std::process::id()));
        let path = dir.join("history");
        let _ = std::fs::remove_dir_all(&dir);
        let mut h = History::open(&path);
        for i in 0..(MAX_OPERATIONS + 10) {
            h.record(&format!("k{i}"), Duration::from_secs(10));
        }
        h.record("k300", Duration::from_secs(30));
        let again = History::open(&path);
        assert_eq!(again.entries.len(), MAX_OPERATIONS);
        assert!(
            again.estimate("k0").is_none(),
            "the least recently used went"
        );
        assert_eq!(
            again.estimate("k300").map(Estimate::len),
            Some(1),
            "one duration recorded"
        );
        let text = std::fs::read_to_string(&path).expect("written");
        assert!(text.starts_with("jobctl-history 1\n"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unreadable_files_are_refused_with_the_reason_table() {
        let table = [
            ("", "empty"),
            ("jobctl-history 9\n", "unknown format"),
            ("jobctl-history 1\nno tab here\n", "line 2 has no tab"),
            ("jobctl-history 1\nk\t!!!\n", "line 2"),
            ("jobctl-history 1\nk\tAAAA\n", "line 2"),
        ];
        for (text, why) in table {
            let err = parse(text).expect_err(text);
            assert!(err.contains(why), "{text:?}: {err}");
        }
    }
}
