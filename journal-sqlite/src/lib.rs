//! The default store of jobpoll's journaled fleet
//! ([`jobpoll::adapters::journal`]): one SQLite file.
//!
//! ```no_run
//! use jobpoll_journal_sqlite::SqliteJournal;
//! use jobpoll::adapters::fleet::{Fleet, FleetLimits};
//! use jobpoll::adapters::journal::{JournalOptions, JournaledFleet};
//! use jobpoll::adapters::tokio::Tcp;
//!
//! let journal = SqliteJournal::open("jobs.journal").expect("the journal file opens");
//! let fleet = Fleet::new(Tcp, FleetLimits::default());
//! let journaled = JournaledFleet::new(&fleet, journal, JournalOptions::default())
//!     .expect("the journal reads");
//! ```
//!
//! Durability: WAL mode with `synchronous=NORMAL`, one transaction per record. A record is in
//! the operating system's hands when [`Journal::append`] returns, so it survives a killed
//! process (`kill -9`, a panic, an out-of-memory kill); the last records before a power loss
//! or a kernel crash may be lost (SQLite's WAL then rolls back to the last checkpoint, and
//! the database stays consistent). Where power loss matters, use
//! [`SqliteJournal::open_with`] with [`Sync::Full`] (an `fsync` per record, far slower).
//!
//! Tables (kept small and readable with the `sqlite3` shell):
//!
//! ```sql
//! records(seq INTEGER PRIMARY KEY, key TEXT, kind TEXT, method TEXT, path TEXT,
//!         description TEXT, token BLOB, outcome TEXT, verdict TEXT, job_id TEXT,
//!         candidates TEXT, at_unix_ms INTEGER)
//! estimates(class TEXT PRIMARY KEY, bytes BLOB)
//! ```
//!
//! No body, query string, credential or header is ever written: the journal only has what
//! [`Record`] holds.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::path::Path;

use jobpoll::adapters::journal::{Finished, Intent, Journal, JournalError, Record};
use rusqlite::{Connection, OptionalExtension, params};

/// How hard SQLite works to keep each record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sync {
    /// `synchronous=NORMAL`: safe against a killed process, not against power loss (the
    /// default).
    Normal,
    /// `synchronous=FULL`: an `fsync` per record; safe against power loss too.
    Full,
}

/// A [`Journal`] in one SQLite file. See the crate docs.
#[derive(Debug)]
pub struct SqliteJournal {
    conn: Connection,
    writes: u64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    method TEXT,
    path TEXT,
    description TEXT,
    token BLOB,
    outcome TEXT,
    verdict TEXT,
    job_id TEXT,
    candidates TEXT,
    at_unix_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS records_by_key ON records (key, seq);
CREATE TABLE IF NOT EXISTS estimates (
    class TEXT PRIMARY KEY,
    bytes BLOB NOT NULL
);
";

fn err(doing: &'static str) -> impl FnOnce(rusqlite::Error) -> JournalError {
    move |e| JournalError::new(doing, e)
}

/// A column that does not hold what its kind needs: the file was changed by another program.
#[derive(Debug)]
struct Damaged(String);

impl std::fmt::Display for Damaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (the file was changed by something other than this store)",
            self.0
        )
    }
}

impl std::error::Error for Damaged {}

impl SqliteJournal {
    /// Opens (or creates) the journal at `path` with [`Sync::Normal`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, JournalError> {
        Self::open_with(path, Sync::Normal)
    }

    /// Opens (or creates) the journal at `path`.
    pub fn open_with(path: impl AsRef<Path>, sync: Sync) -> Result<Self, JournalError> {
        let conn = Connection::open(path).map_err(err("open its file"))?;
        // Another process (a reader, or the fleet before a restart) may hold the file briefly.
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(err("set its busy timeout"))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
            .map_err(err("switch to WAL mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(JournalError::new(
                "switch to WAL mode",
                Damaged(format!("SQLite kept journal mode {mode:?}")),
            ));
        }
        let level = match sync {
            Sync::Normal => "NORMAL",
            Sync::Full => "FULL",
        };
        conn.execute_batch(&format!("PRAGMA synchronous={level};"))
            .map_err(err("set its synchronous level"))?;
        conn.execute_batch(SCHEMA)
            .map_err(err("create its tables"))?;
        Ok(SqliteJournal { conn, writes: 0 })
    }

    /// Records and estimates written through this handle (each one transaction).
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// Every record in the order written (for inspection and tests; a restart needs only
    /// [`Journal::load`]).
    pub fn all(&self) -> Result<Vec<Record>, JournalError> {
        self.select("SELECT * FROM records ORDER BY seq")
    }

    fn select(&self, sql: &str) -> Result<Vec<Record>, JournalError> {
        let mut stmt = self.conn.prepare(sql).map_err(err("read the records"))?;
        let rows = stmt
            .query_map([], |row| {
                Ok(Row {
                    key: row.get("key")?,
                    kind: row.get("kind")?,
                    method: row.get("method")?,
                    path: row.get("path")?,
                    description: row.get("description")?,
                    token: row.get("token")?,
                    outcome: row.get("outcome")?,
                    verdict: row.get("verdict")?,
                    job_id: row.get("job_id")?,
                    candidates: row.get("candidates")?,
                    at_unix_ms: row.get("at_unix_ms")?,
                })
            })
            .map_err(err("read the records"))?;
        let mut out = Vec::new();
        for row in rows {
            let row = row.map_err(err("read the records"))?;
            out.push(
                row.record()
                    .map_err(|e| JournalError::new("read the records", e))?,
            );
        }
        Ok(out)
    }
}

/// A row as stored.
struct Row {
    key: String,
    kind: String,
    method: Option<String>,
    path: Option<String>,
    description: Option<String>,
    token: Option<Vec<u8>>,
    outcome: Option<String>,
    verdict: Option<String>,
    job_id: Option<String>,
    candidates: Option<String>,
    at_unix_ms: i64,
}

impl Row {
    fn record(self) -> Result<Record, Damaged> {
        let missing = |what: &str| {
            Damaged(format!(
                "a {} record of {:?} has no {what}",
                self.kind, self.key
            ))
        };
        let at_unix_ms = u64::try_from(self.at_unix_ms).unwrap_or(0);
        Ok(match self.kind.as_str() {
            "intent" => {
                let method = self
                    .method
                    .as_deref()
                    .and_then(jobpoll::http::Method::from_token)
                    .ok_or_else(|| missing("method"))?;
                Record::Intent(Intent {
                    method,
                    path: self.path.clone().ok_or_else(|| missing("path"))?,
                    description: self
                        .description
                        .clone()
                        .ok_or_else(|| missing("description"))?,
                    key: self.key,
                    at_unix_ms,
                })
            }
            "accepted" | "progress" => {
                let token = self.token.clone().ok_or_else(|| missing("token"))?;
                if self.kind == "accepted" {
                    Record::Accepted {
                        key: self.key,
                        token,
                        at_unix_ms,
                    }
                } else {
                    Record::Progress {
                        key: self.key,
                        token,
                        at_unix_ms,
                    }
                }
            }
            "outcome" => Record::Outcome(Finished {
                outcome: self.outcome.clone().ok_or_else(|| missing("outcome"))?,
                verdict: self.verdict.clone().ok_or_else(|| missing("verdict"))?,
                job_id: self.job_id,
                candidates: self
                    .candidates
                    .as_deref()
                    .unwrap_or("")
                    .split(' ')
                    .filter(|c| !c.is_empty())
                    .map(String::from)
                    .collect(),
                key: self.key,
                at_unix_ms,
            }),
            other => return Err(Damaged(format!("unknown record kind {other:?}"))),
        })
    }
}

fn at(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

impl Journal for SqliteJournal {
    fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        const INSERT: &str = "INSERT INTO records (key, kind, method, path, description, token, \
            outcome, verdict, job_id, candidates, at_unix_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, \
            ?8, ?9, ?10, ?11)";
        let none: Option<&str> = None;
        let no_token: Option<&[u8]> = None;
        let kind = record.kind();
        // Each statement is its own transaction (autocommit): durable, in order, on return.
        let done = match record {
            Record::Intent(i) => self.conn.execute(
                INSERT,
                params![
                    i.key,
                    kind,
                    i.method.as_str(),
                    i.path,
                    i.description,
                    no_token,
                    none,
                    none,
                    none,
                    none,
                    at(i.at_unix_ms)
                ],
            ),
            Record::Accepted {
                key,
                token,
                at_unix_ms,
            }
            | Record::Progress {
                key,
                token,
                at_unix_ms,
            } => self.conn.execute(
                INSERT,
                params![
                    key,
                    kind,
                    none,
                    none,
                    none,
                    token,
                    none,
                    none,
                    none,
                    none,
                    at(*at_unix_ms)
                ],
            ),
            Record::Outcome(f) => self.conn.execute(
                INSERT,
                params![
                    f.key,
                    kind,
                    none,
                    none,
                    none,
                    no_token,
                    f.outcome,
                    f.verdict,
                    f.job_id,
                    f.candidates.join(" "),
                    at(f.at_unix_ms)
                ],
            ),
            _ => {
                return Err(JournalError::new(
                    "append a record",
                    Damaged(format!(
                        "this store does not know {kind:?} records: update jobpoll-journal-sqlite"
                    )),
                ));
            }
        };
        done.map_err(err("append a record"))?;
        self.writes = self.writes.saturating_add(1);
        Ok(())
    }

    fn load(&mut self) -> Result<Vec<Record>, JournalError> {
        self.select(
            "SELECT * FROM records WHERE seq IN (SELECT MAX(seq) FROM records GROUP BY key) \
             ORDER BY seq",
        )
    }

    fn save_estimate(&mut self, class: &str, bytes: &[u8]) -> Result<(), JournalError> {
        self.conn
            .execute(
                "INSERT INTO estimates (class, bytes) VALUES (?1, ?2) \
                 ON CONFLICT (class) DO UPDATE SET bytes = excluded.bytes",
                params![class, bytes],
            )
            .map_err(err("save an estimate"))?;
        self.writes = self.writes.saturating_add(1);
        Ok(())
    }

    fn load_estimates(&mut self) -> Result<Vec<(String, Vec<u8>)>, JournalError> {
        let mut stmt = self
            .conn
            .prepare("SELECT class, bytes FROM estimates ORDER BY class")
            .map_err(err("read the estimates"))?;
        let rows = stmt
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(err("read the estimates"))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(err("read the estimates"))
    }
}

/// The last record of `key` (`None` if it has none): for a supervisor that checks one
/// operation.
impl SqliteJournal {
    /// The last record of `key`, if any.
    pub fn last(&self, key: &str) -> Result<Option<Record>, JournalError> {
        let seq: Option<i64> = self
            .conn
            .query_row(
                "SELECT MAX(seq) FROM records WHERE key = ?1",
                params![key],
                |row| row.get(0),
            )
            .optional()
            .map_err(err("read the records"))?
            .flatten();
        let Some(seq) = seq else { return Ok(None) };
        Ok(self
            .select(&format!("SELECT * FROM records WHERE seq = {seq}"))?
            .into_iter()
            .next())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobpoll::http::Method;

    fn temp(name: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("jobpoll-journal-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        p
    }

    #[test]
    fn records_round_trip_and_load_keeps_the_last_per_key() {
        let path = temp("roundtrip");
        let intent = Record::Intent(Intent {
            key: "op-1".into(),
            method: Method::Patch,
            path: "/api/storage/volumes/1".into(),
            description: "PATCH /api/storage/volumes/1".into(),
            at_unix_ms: 5,
        });
        let accepted = Record::Accepted {
            key: "op-1".into(),
            token: vec![1, 2, 3],
            at_unix_ms: 6,
        };
        let unknown = Record::Outcome(Finished {
            key: "op-2".into(),
            outcome: "submit_outcome_unknown".into(),
            verdict: "submit_outcome_unknown".into(),
            job_id: None,
            candidates: vec!["a".into(), "b".into()],
            at_unix_ms: 7,
        });
        {
            let mut j = SqliteJournal::open(&path).unwrap();
            for r in [&intent, &accepted, &unknown] {
                j.append(r).unwrap();
            }
            j.save_estimate("PATCH x", &[9; 4]).unwrap();
            j.save_estimate("PATCH x", &[8; 4]).unwrap();
            assert_eq!(j.writes(), 5);
        }
        let mut j = SqliteJournal::open(&path).unwrap();
        assert_eq!(
            j.all().unwrap(),
            vec![intent, accepted.clone(), unknown.clone()]
        );
        assert_eq!(j.load().unwrap(), vec![accepted.clone(), unknown]);
        assert_eq!(j.last("op-1").unwrap(), Some(accepted));
        assert_eq!(j.last("nothing").unwrap(), None);
        assert_eq!(
            j.load_estimates().unwrap(),
            vec![("PATCH x".to_string(), vec![8; 4])]
        );
        drop(j);
        let _ = std::fs::remove_file(&path);
    }
}
