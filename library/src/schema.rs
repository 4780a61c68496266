//! Opening the SQLite file and migrating its schema, keyed by `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes a database from version `i` to `i + 1`. Steps are only ever
//! appended: a released step never changes, because files in the wild already ran it.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::store::db_err;
use crate::SegueError;

/// Migration 1: the whole schema as documented in the module doc.
const MIGRATION_1: &str = "
CREATE TABLE tracks (
    id INTEGER PRIMARY KEY,
    content_hash TEXT NOT NULL UNIQUE,
    path TEXT UNIQUE,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    title TEXT NOT NULL,
    duration REAL,
    added_at INTEGER NOT NULL
);
CREATE TABLE analyses (
    track_id INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
    analyser_version INTEGER NOT NULL,
    dna_version INTEGER NOT NULL,
    bpm REAL NOT NULL,
    key_camelot TEXT NOT NULL,
    energy INTEGER NOT NULL,
    lufs REAL NOT NULL,
    analysis_json TEXT NOT NULL,
    analysed_at INTEGER NOT NULL
);
CREATE INDEX analyses_bpm ON analyses(bpm);
CREATE INDEX analyses_key ON analyses(key_camelot);
CREATE INDEX analyses_energy ON analyses(energy);
CREATE TABLE dna_vectors (
    track_id INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
    dna_version INTEGER NOT NULL,
    dims INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE TABLE play_history (
    id INTEGER PRIMARY KEY,
    track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    played_at INTEGER NOT NULL,
    context TEXT
);
CREATE INDEX play_history_track ON play_history(track_id, played_at);
CREATE TABLE scan_state (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    analyser_version INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
";

/// Migration 2: the similarity index's change log (filled by triggers on `dna_vectors` and
/// `analyses`, seeded with every stored vector) and the play graph (sessions, transitions,
/// the session of a play).
const MIGRATION_2: &str = "
CREATE TABLE index_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    track_id INTEGER NOT NULL
);
CREATE TRIGGER index_dna_insert AFTER INSERT ON dna_vectors
    BEGIN INSERT INTO index_changes (track_id) VALUES (NEW.track_id); END;
CREATE TRIGGER index_dna_update AFTER UPDATE ON dna_vectors
    BEGIN INSERT INTO index_changes (track_id) VALUES (NEW.track_id); END;
CREATE TRIGGER index_dna_delete AFTER DELETE ON dna_vectors
    BEGIN INSERT INTO index_changes (track_id) VALUES (OLD.track_id); END;
CREATE TRIGGER index_analysis_insert AFTER INSERT ON analyses
    BEGIN INSERT INTO index_changes (track_id) VALUES (NEW.track_id); END;
CREATE TRIGGER index_analysis_update AFTER UPDATE ON analyses
    BEGIN INSERT INTO index_changes (track_id) VALUES (NEW.track_id); END;
CREATE TRIGGER index_analysis_delete AFTER DELETE ON analyses
    BEGIN INSERT INTO index_changes (track_id) VALUES (OLD.track_id); END;
INSERT INTO index_changes (track_id) SELECT track_id FROM dna_vectors ORDER BY track_id;
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    source TEXT,
    started_at INTEGER NOT NULL
);
CREATE TABLE transitions (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    from_track INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    to_track INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
    at INTEGER NOT NULL
);
CREATE INDEX transitions_from ON transitions(from_track);
CREATE INDEX transitions_to ON transitions(to_track);
ALTER TABLE play_history ADD COLUMN session_id INTEGER REFERENCES sessions(id) ON DELETE SET NULL;
";

/// Migration 3: the stem files of a track (`segue separate`, `segue library add --stems`),
/// one row per track, in the engine's stem order.
const MIGRATION_3: &str = "
CREATE TABLE stems (
    track_id INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
    drums TEXT NOT NULL,
    bass TEXT NOT NULL,
    other TEXT NOT NULL,
    vocals TEXT NOT NULL,
    separator TEXT NOT NULL,
    sample_rate INTEGER NOT NULL,
    frames INTEGER NOT NULL,
    separated_at INTEGER NOT NULL
);
";

/// The migration steps, in order. Append new ones; never edit a released one.
const MIGRATIONS: &[&str] = &[MIGRATION_1, MIGRATION_2, MIGRATION_3];

/// The schema version this build writes (`PRAGMA user_version` after [`Library::open`]).
///
/// [`Library::open`]: super::Library::open
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// How long a connection waits for another one's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens (creating if needed) the library file for reading and writing, sets the pragmas and
/// brings the schema up to [`SCHEMA_VERSION`].
pub(super) fn open_rw(path: &Path) -> Result<Connection, SegueError> {
    let conn = Connection::open(path).map_err(db_err(path))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err(path))?;
    let found = user_version(&conn).map_err(db_err(path))?;
    refuse_newer(path, found)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(db_err(path))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(SegueError::Library {
            path: path.to_path_buf(),
            reason: format!("cannot switch to WAL journaling (journal mode is {mode})"),
        });
    }
    conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;")
        .map_err(db_err(path))?;
    migrate(path, &conn, found, MIGRATIONS)?;
    Ok(conn)
}

/// Opens an existing library file read-only (scan workers, tools). Does not migrate; refuses
/// a file whose schema is not the one this build knows.
pub(super) fn open_ro(path: &Path) -> Result<Connection, SegueError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(db_err(path))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(db_err(path))?;
    let found = user_version(&conn).map_err(db_err(path))?;
    refuse_newer(path, found)?;
    if found != SCHEMA_VERSION {
        return Err(SegueError::Library {
            path: path.to_path_buf(),
            reason: format!(
                "schema version {found}, expected {SCHEMA_VERSION}; open it read-write once to \
                 migrate it"
            ),
        });
    }
    Ok(conn)
}

fn user_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

fn refuse_newer(path: &Path, found: u32) -> Result<(), SegueError> {
    if found > SCHEMA_VERSION {
        return Err(SegueError::Library {
            path: path.to_path_buf(),
            reason: format!(
                "written by a newer Segue (schema version {found}; this Segue knows up to \
                 {SCHEMA_VERSION}); upgrade Segue to open it"
            ),
        });
    }
    Ok(())
}

/// Runs the steps from `from` up, each with its `user_version` bump in one transaction, so an
/// interrupted migration leaves the file at the last completed version. The version is read
/// again under the write lock, so two processes opening a fresh file at once do not both run
/// a step.
fn migrate(
    path: &Path,
    conn: &Connection,
    from: u32,
    migrations: &[&str],
) -> Result<(), SegueError> {
    for (i, step) in migrations.iter().enumerate().skip(from as usize) {
        let to = i + 1;
        let run = || -> rusqlite::Result<()> {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            if user_version(conn)? as usize == i {
                conn.execute_batch(step)?;
                conn.execute_batch(&format!("PRAGMA user_version = {to}"))?;
            }
            conn.execute_batch("COMMIT")
        };
        if let Err(e) = run() {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(SegueError::Library {
                path: path.to_path_buf(),
                reason: format!("migration to schema version {to} failed: {e}"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(conn: &Connection) -> u32 {
        user_version(conn).unwrap()
    }

    #[test]
    fn later_steps_run_in_order_from_the_stored_version() {
        let conn = Connection::open_in_memory().unwrap();
        let path = Path::new(":memory:");
        let steps = [MIGRATION_1, "ALTER TABLE tracks ADD COLUMN artist TEXT;"];
        migrate(path, &conn, 0, &steps[..1]).unwrap();
        assert_eq!(version(&conn), 1);
        migrate(path, &conn, version(&conn), &steps).unwrap();
        assert_eq!(version(&conn), 2);
        conn.execute_batch("SELECT artist FROM tracks").unwrap();
        // Up to date: nothing runs (the ALTER would fail if it ran twice).
        migrate(path, &conn, version(&conn), &steps).unwrap();
        assert_eq!(version(&conn), 2);
    }

    #[test]
    fn version_2_logs_the_vectors_of_a_version_1_file_and_every_later_write() {
        let conn = Connection::open_in_memory().unwrap();
        let path = Path::new(":memory:");
        migrate(path, &conn, 0, &MIGRATIONS[..1]).unwrap();
        conn.execute_batch(
            "INSERT INTO tracks VALUES (7, 'h', '/a', 1, 1, 'a', NULL, 0);
             INSERT INTO dna_vectors VALUES (7, 1, 1, x'0000803f');
             INSERT INTO play_history (track_id, played_at) VALUES (7, 5);",
        )
        .unwrap();
        migrate(path, &conn, 1, MIGRATIONS).unwrap();
        let log = |conn: &Connection| -> Vec<i64> {
            conn.prepare("SELECT track_id FROM index_changes ORDER BY seq")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(log(&conn), [7], "existing vectors are seeded");
        conn.execute_batch("PRAGMA foreign_keys=ON; DELETE FROM tracks WHERE id = 7;")
            .unwrap();
        assert_eq!(log(&conn), [7, 7], "a cascaded delete is logged too");
        let plays: i64 = conn
            .query_row("SELECT count(*) FROM play_history", [], |r| r.get(0))
            .unwrap();
        assert_eq!(plays, 0);
    }

    #[test]
    fn a_failed_step_rolls_back_to_the_last_complete_version() {
        let conn = Connection::open_in_memory().unwrap();
        let path = Path::new(":memory:");
        let steps = [
            MIGRATION_1,
            "CREATE TABLE half_done (x INTEGER); SELECT no_such_function();",
        ];
        let err = migrate(path, &conn, 0, &steps).unwrap_err();
        assert!(err.to_string().contains("schema version 2"), "{err}");
        assert_eq!(version(&conn), 1);
        let half: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'half_done'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(half, 0, "the failed step left nothing behind");
    }
}
