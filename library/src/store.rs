//! [`Library`]: reading and writing tracks, analyses, DNA vectors and plays.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::hash::{content_hash, stat, stored_path, Stat};
use super::{schema, LibraryEntry, Query, StemFiles, Track, TrackId, TrackRef};
use crate::SegueError;
use segue_analysis::music::Key;
use segue_analysis::{Analysis, ANALYSER_VERSION};

/// An open library file. One `Library` is one SQLite connection: use it from one thread at a
/// time (it is `Send`); open another for another thread (WAL lets readers run beside the
/// writer).
#[derive(Debug)]
pub struct Library {
    conn: Connection,
    path: PathBuf,
}

/// Maps an SQLite error to a [`SegueError::Library`] about `path`.
pub(super) fn db_err(path: &Path) -> impl Fn(rusqlite::Error) -> SegueError + '_ {
    move |e| SegueError::Library {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Unix time in seconds.
pub(super) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// What the library knows about a file on disk, found by path (when size and modification
/// time still match) or else by content hash.
#[derive(Debug, Clone)]
pub(super) struct Identity {
    /// Absolute path as given (symlinks kept).
    pub path: PathBuf,
    /// The same, as stored.
    pub path_text: String,
    pub stat: Stat,
    pub hash: String,
    /// True when the path, size and modification time matched a stored track (the hash was
    /// taken from the library, not computed).
    pub stat_matched: bool,
    /// The track with this content, if the library has it.
    pub known: Option<Known>,
}

#[derive(Debug, Clone)]
pub(super) struct Known {
    pub id: TrackId,
    pub stored_path: Option<String>,
    /// Analyser version of its analysis, if analysed.
    pub analyser_version: Option<u32>,
}

impl Identity {
    /// True when the file has no analysis by the current analyser.
    pub fn needs_analysis(&self) -> bool {
        self.known
            .as_ref()
            .and_then(|k| k.analyser_version)
            .is_none_or(|v| v < ANALYSER_VERSION)
    }
}

/// Finds out which track `path` holds. Hashes the file only when the path is unknown or its
/// size or modification time changed.
pub(super) fn identify(conn: &Connection, db: &Path, path: &Path) -> Result<Identity, SegueError> {
    let (abs, path_text) = stored_path(path)?;
    let st = stat(&abs)?;
    let by_path = conn
        .query_row(
            "SELECT t.id, t.content_hash, t.size, t.mtime_ns, a.analyser_version
             FROM tracks t LEFT JOIN analyses a ON a.track_id = t.id WHERE t.path = ?",
            [&path_text],
            |r| {
                Ok((
                    r.get::<_, TrackId>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<u32>>(4)?,
                ))
            },
        )
        .optional()
        .map_err(db_err(db))?;
    if let Some((id, hash, size, mtime_ns, analyser_version)) = by_path {
        if size as u64 == st.size && mtime_ns == st.mtime_ns {
            return Ok(Identity {
                path: abs,
                stat: st,
                hash,
                stat_matched: true,
                known: Some(Known {
                    id,
                    stored_path: Some(path_text.clone()),
                    analyser_version,
                }),
                path_text,
            });
        }
    }
    let hash = content_hash(&abs)?;
    let known = conn
        .query_row(
            "SELECT t.id, t.path, a.analyser_version
             FROM tracks t LEFT JOIN analyses a ON a.track_id = t.id WHERE t.content_hash = ?",
            [&hash],
            |r| {
                Ok(Known {
                    id: r.get(0)?,
                    stored_path: r.get(1)?,
                    analyser_version: r.get(2)?,
                })
            },
        )
        .optional()
        .map_err(db_err(db))?;
    Ok(Identity {
        path: abs,
        path_text,
        stat: st,
        hash,
        stat_matched: false,
        known,
    })
}

/// True when the known track's recorded path should move to `ident.path`: the track was seen
/// elsewhere and that file is gone (a duplicate copy keeps the first path).
fn should_move(ident: &Identity) -> bool {
    match ident.known.as_ref().map(|k| k.stored_path.as_deref()) {
        Some(Some(stored)) => stored != ident.path_text && !Path::new(stored).exists(),
        Some(None) => true,
        None => false,
    }
}

/// Points the track `id` at `ident`'s path, taking the path from any other track that held
/// it (that track's file was replaced: its path becomes NULL). Inside the caller's
/// transaction.
fn take_path(tx: &Connection, id: Option<TrackId>, ident: &Identity) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE tracks SET path = NULL WHERE path = ?1 AND id IS NOT ?2",
        params![ident.path_text, id],
    )?;
    if let Some(id) = id {
        tx.execute(
            "UPDATE tracks SET path = ?1, size = ?2, mtime_ns = ?3 WHERE id = ?4",
            params![
                ident.path_text,
                ident.stat.size as i64,
                ident.stat.mtime_ns,
                id
            ],
        )?;
    }
    Ok(())
}

/// Writes `analysis` for the file `ident` in one transaction: the track (inserted, or its
/// path updated when it moved), the analysis (replacing an older one), and the removal of a
/// recorded failure for the path.
pub(super) fn write_analysis(
    conn: &mut Connection,
    db: &Path,
    ident: &Identity,
    analysis: &Analysis,
) -> Result<TrackId, SegueError> {
    let json = serde_json::to_string(analysis).map_err(|e| SegueError::Library {
        path: ident.path.clone(),
        reason: format!("cannot serialise the analysis: {e}"),
    })?;
    let camelot = analysis
        .camelot
        .parse::<Key>()
        .or_else(|_| analysis.key.parse::<Key>())
        .map_or_else(|_| analysis.camelot.clone(), Key::camelot);
    let title = ident.path.file_stem().map_or_else(
        || ident.path_text.clone(),
        |s| s.to_string_lossy().into_owned(),
    );
    let at = now();
    let write = |tx: &rusqlite::Transaction<'_>| -> rusqlite::Result<TrackId> {
        // Look the hash up again inside the transaction: the caller's view may be stale.
        let existing: Option<(TrackId, Option<String>)> = tx
            .query_row(
                "SELECT id, path FROM tracks WHERE content_hash = ?",
                [&ident.hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let id = match existing {
            Some((id, stored)) => {
                let fresh = Identity {
                    known: Some(Known {
                        id,
                        stored_path: stored.clone(),
                        analyser_version: None,
                    }),
                    ..ident.clone()
                };
                if stored.as_deref() == Some(ident.path_text.as_str()) {
                    take_path(tx, Some(id), ident)?;
                } else if should_move(&fresh) {
                    take_path(tx, Some(id), ident)?;
                    tx.execute(
                        "UPDATE tracks SET title = ? WHERE id = ?",
                        params![title, id],
                    )?;
                }
                tx.execute(
                    "UPDATE tracks SET duration = ? WHERE id = ?",
                    params![analysis.duration, id],
                )?;
                id
            }
            None => {
                take_path(tx, None, ident)?;
                tx.execute(
                    "INSERT INTO tracks (content_hash, path, size, mtime_ns, title, duration,
                                         added_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                    params![
                        ident.hash,
                        ident.path_text,
                        ident.stat.size as i64,
                        ident.stat.mtime_ns,
                        title,
                        analysis.duration,
                        at
                    ],
                )?;
                tx.last_insert_rowid()
            }
        };
        tx.execute(
            "INSERT OR REPLACE INTO analyses (track_id, analyser_version, dna_version, bpm,
                 key_camelot, energy, lufs, analysis_json, analysed_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                id,
                analysis.analyser_version,
                analysis.dna_version,
                analysis.bpm,
                camelot,
                analysis.energy,
                analysis.lufs,
                json,
                at
            ],
        )?;
        if !analysis.dna.is_empty() {
            let blob: Vec<u8> = analysis.dna.iter().flat_map(|x| x.to_le_bytes()).collect();
            tx.execute(
                "INSERT OR REPLACE INTO dna_vectors (track_id, dna_version, dims, vector)
                 VALUES (?, ?, ?, ?)",
                params![id, analysis.dna_version, analysis.dna.len() as i64, blob],
            )?;
        }
        tx.execute("DELETE FROM scan_state WHERE path = ?", [&ident.path_text])?;
        Ok(id)
    };
    let tx = conn.transaction().map_err(db_err(db))?;
    let id = write(&tx).map_err(db_err(db))?;
    tx.commit().map_err(db_err(db))?;
    Ok(id)
}

/// Records the known track in `ident` as living at `ident.path` if it moved there, or its new
/// size and modification time if only those changed (a touched file, so the next scan need
/// not hash it again). Returns whether it moved.
pub(super) fn relocate(
    conn: &mut Connection,
    db: &Path,
    ident: &Identity,
) -> Result<bool, SegueError> {
    let Some(known) = ident.known.as_ref() else {
        return Ok(false);
    };
    if !should_move(ident) {
        if !ident.stat_matched && known.stored_path.as_deref() == Some(ident.path_text.as_str()) {
            conn.execute(
                "UPDATE tracks SET size = ?, mtime_ns = ? WHERE id = ?",
                params![ident.stat.size as i64, ident.stat.mtime_ns, known.id],
            )
            .map_err(db_err(db))?;
        }
        return Ok(false);
    }
    let title = ident
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    let tx = conn.transaction().map_err(db_err(db))?;
    take_path(&tx, Some(known.id), ident).map_err(db_err(db))?;
    if let Some(title) = title {
        tx.execute(
            "UPDATE tracks SET title = ? WHERE id = ?",
            params![title, known.id],
        )
        .map_err(db_err(db))?;
    }
    tx.commit().map_err(db_err(db))?;
    Ok(true)
}

/// Remembers that analysing `path` failed and why (replaces an earlier failure).
pub(super) fn record_failure(
    conn: &Connection,
    db: &Path,
    path: &Path,
    reason: &str,
) -> Result<(), SegueError> {
    let Some(text) = path.to_str() else {
        return Ok(()); // not storable; the scan report still names it
    };
    let st = stat(path).unwrap_or(Stat {
        size: 0,
        mtime_ns: 0,
    });
    conn.execute(
        "INSERT OR REPLACE INTO scan_state (path, size, mtime_ns, analyser_version, status,
             reason, updated_at)
         VALUES (?, ?, ?, ?, 'failed', ?, ?)",
        params![
            text,
            st.size as i64,
            st.mtime_ns,
            ANALYSER_VERSION,
            reason,
            now()
        ],
    )
    .map_err(db_err(db))?;
    Ok(())
}

const ENTRY_SELECT: &str = "
SELECT t.id, t.content_hash, t.path, t.size, t.mtime_ns, t.title, t.duration, t.added_at,
       a.analysis_json, a.analysed_at,
       (SELECT count(*) FROM play_history p WHERE p.track_id = t.id),
       (SELECT max(p.played_at) FROM play_history p WHERE p.track_id = t.id),
       s.drums, s.bass, s.other, s.vocals, s.separator, s.sample_rate, s.frames,
       s.separated_at
FROM tracks t LEFT JOIN analyses a ON a.track_id = t.id
     LEFT JOIN stems s ON s.track_id = t.id";

const ENTRY_ORDER: &str = " ORDER BY t.title COLLATE NOCASE, t.id";

/// A row of `ENTRY_SELECT` before its analysis JSON is parsed.
struct RawEntry {
    track: Track,
    json: Option<String>,
    analysed_at: Option<i64>,
    play_count: u64,
    last_played: Option<i64>,
    stems: Option<StemFiles>,
}

/// The stem columns of a row, from column `at` on (all NULL when none are registered).
pub(super) fn stem_row(r: &Row<'_>, at: usize) -> rusqlite::Result<Option<StemFiles>> {
    let Some(drums) = r.get::<_, Option<String>>(at)? else {
        return Ok(None);
    };
    Ok(Some(StemFiles {
        files: [
            PathBuf::from(drums),
            PathBuf::from(r.get::<_, String>(at + 1)?),
            PathBuf::from(r.get::<_, String>(at + 2)?),
            PathBuf::from(r.get::<_, String>(at + 3)?),
        ],
        separator: r.get(at + 4)?,
        sample_rate: r.get(at + 5)?,
        frames: r.get::<_, i64>(at + 6)? as u64,
        separated_at: r.get(at + 7)?,
    }))
}

fn raw_entry(r: &Row<'_>) -> rusqlite::Result<RawEntry> {
    Ok(RawEntry {
        track: Track {
            id: r.get(0)?,
            content_hash: r.get(1)?,
            path: r.get::<_, Option<String>>(2)?.map(PathBuf::from),
            size: r.get::<_, i64>(3)? as u64,
            mtime_ns: r.get(4)?,
            title: r.get(5)?,
            duration: r.get(6)?,
            added_at: r.get(7)?,
        },
        json: r.get(8)?,
        analysed_at: r.get(9)?,
        play_count: r.get::<_, i64>(10)? as u64,
        last_played: r.get(11)?,
        stems: stem_row(r, 12)?,
    })
}

impl Library {
    /// Opens the library file at `path`, creating it if missing, with WAL journaling,
    /// `synchronous=NORMAL`, foreign keys on and a busy timeout; migrates an older schema.
    ///
    /// Errors: [`SegueError::Library`] when the file is not an SQLite database, cannot be
    /// written, or was written by a newer Segue (its `user_version` is above
    /// [`SCHEMA_VERSION`](super::SCHEMA_VERSION)).
    pub fn open(path: &Path) -> Result<Library, SegueError> {
        let conn = schema::open_rw(path)?;
        Ok(Library {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The library file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs SQLite's `PRAGMA integrity_check`: `"ok"` when the file is sound, else the
    /// problems it found.
    pub fn check(&self) -> Result<String, SegueError> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(db_err(&self.path))?;
        let lines = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(db_err(&self.path))?;
        Ok(lines.join("\n"))
    }

    /// Stores `analysis` as the analysis of the file at `path` (hashing the file), in one
    /// transaction: a new track, or the known track with the same content (its path updated
    /// if the file moved, its previous analysis replaced). Returns the track's id.
    pub fn add_analysis(
        &mut self,
        path: &Path,
        analysis: &Analysis,
    ) -> Result<TrackId, SegueError> {
        let (abs, path_text) = stored_path(path)?;
        let st = stat(&abs)?;
        let hash = content_hash(&abs)?;
        let ident = Identity {
            path: abs,
            path_text,
            stat: st,
            hash,
            stat_matched: false,
            known: None,
        };
        write_analysis(&mut self.conn, &self.path, &ident, analysis)
    }

    /// True when the file at `path` has no analysis by the current
    /// [`ANALYSER_VERSION`]: it is not in the library, its content changed, or an older
    /// analyser analysed it. A file whose path, size and modification time match a stored
    /// track is not re-hashed.
    pub fn needs_analysis(&self, path: &Path) -> Result<bool, SegueError> {
        Ok(identify(&self.conn, &self.path, path)?.needs_analysis())
    }

    /// The track named by id, path or content hash, with its analysis and play count.
    pub fn get<'a>(
        &self,
        which: impl Into<TrackRef<'a>>,
    ) -> Result<Option<LibraryEntry>, SegueError> {
        let (clause, value): (&str, rusqlite::types::Value) = match which.into() {
            TrackRef::Id(id) => ("t.id = ?", id.into()),
            TrackRef::Path(p) => ("t.path = ?", stored_path(p)?.1.into()),
            TrackRef::Hash(h) => ("t.content_hash = ?", h.to_ascii_lowercase().into()),
        };
        let sql = format!("{ENTRY_SELECT} WHERE {clause}");
        let raw = self
            .conn
            .query_row(&sql, [value], raw_entry)
            .optional()
            .map_err(db_err(&self.path))?;
        raw.map(|r| self.parse_entry(r)).transpose()
    }

    /// Every track, ordered by title.
    pub fn list(&self) -> Result<Vec<LibraryEntry>, SegueError> {
        self.entries(&format!("{ENTRY_SELECT}{ENTRY_ORDER}"), Vec::new(), None)
    }

    /// The tracks matching every filter of `query`, ordered by title.
    pub fn search(&self, query: &Query) -> Result<Vec<LibraryEntry>, SegueError> {
        let (clause, params) = query.sql();
        let sql = format!("{ENTRY_SELECT} WHERE {clause}{ENTRY_ORDER}");
        self.entries(&sql, params, query.needle())
    }

    /// Adds a play of track `id` now.
    pub fn record_play(&self, id: TrackId) -> Result<(), SegueError> {
        self.insert_play(id, None)
    }

    /// Adds a play of track `id` now, with where it was played (a set name, a deck, a plan).
    pub fn record_play_with_context(&self, id: TrackId, context: &str) -> Result<(), SegueError> {
        self.insert_play(id, Some(context))
    }

    fn insert_play(&self, id: TrackId, context: Option<&str>) -> Result<(), SegueError> {
        self.conn
            .execute(
                "INSERT INTO play_history (track_id, played_at, context) VALUES (?, ?, ?)",
                params![id, now(), context],
            )
            .map_err(|e| self.no_track(id, e))?;
        Ok(())
    }

    /// Stores the compact Musical DNA vector of track `id` (replacing an earlier one), as
    /// little-endian `f32`s.
    pub fn set_dna_vector(
        &self,
        id: TrackId,
        dna_version: u32,
        vector: &[f32],
    ) -> Result<(), SegueError> {
        let blob: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.conn
            .execute(
                "INSERT OR REPLACE INTO dna_vectors (track_id, dna_version, dims, vector)
                 VALUES (?, ?, ?, ?)",
                params![id, dna_version, vector.len() as i64, blob],
            )
            .map_err(|e| self.no_track(id, e))?;
        Ok(())
    }

    /// The DNA vector of track `id` and its DNA version, if stored.
    pub fn dna_vector(&self, id: TrackId) -> Result<Option<(u32, Vec<f32>)>, SegueError> {
        let row: Option<(u32, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT dna_version, vector FROM dna_vectors WHERE track_id = ?",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_err(&self.path))?;
        Ok(row.map(|(version, blob)| {
            let v = blob
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            (version, v)
        }))
    }

    /// Files the last scans could not analyse, with the reason, ordered by path.
    pub fn failures(&self) -> Result<Vec<(PathBuf, String)>, SegueError> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, reason FROM scan_state WHERE status = 'failed' ORDER BY path")
            .map_err(db_err(&self.path))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((PathBuf::from(r.get::<_, String>(0)?), r.get(1)?))
            })
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(db_err(&self.path))?;
        Ok(rows)
    }

    /// Removes track `id` and everything about it (analysis, DNA vector, plays,
    /// transitions). Returns whether it existed. The similarity index drops it at its next
    /// sync.
    pub fn remove(&self, id: TrackId) -> Result<bool, SegueError> {
        let n = self
            .conn
            .execute("DELETE FROM tracks WHERE id = ?", [id])
            .map_err(db_err(&self.path))?;
        Ok(n > 0)
    }

    /// Registers `stems` as the stem files of track `id` (replacing earlier ones), stamped
    /// now. The paths are stored absolute.
    pub fn set_stems(&self, id: TrackId, stems: &StemFiles) -> Result<(), SegueError> {
        let mut text = Vec::with_capacity(4);
        for f in &stems.files {
            text.push(stored_path(f)?.1);
        }
        self.conn
            .execute(
                "INSERT OR REPLACE INTO stems (track_id, drums, bass, other, vocals, separator,
                 sample_rate, frames, separated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    id,
                    text[0],
                    text[1],
                    text[2],
                    text[3],
                    stems.separator,
                    stems.sample_rate,
                    stems.frames as i64,
                    now()
                ],
            )
            .map_err(|e| self.no_track(id, e))?;
        Ok(())
    }

    /// The stem files registered for track `id`, if any (whether or not they still exist:
    /// see [`StemFiles::exist`]).
    pub fn stems(&self, id: TrackId) -> Result<Option<StemFiles>, SegueError> {
        self.conn
            .query_row(
                "SELECT drums, bass, other, vocals, separator, sample_rate, frames, separated_at
                 FROM stems WHERE track_id = ?",
                [id],
                |r| stem_row(r, 0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(db_err(&self.path))
    }

    /// The stem files registered for the track last seen at `path`, if any.
    pub fn stems_at(&self, path: &Path) -> Result<Option<StemFiles>, SegueError> {
        let text = stored_path(path)?.1;
        self.conn
            .query_row(
                "SELECT s.drums, s.bass, s.other, s.vocals, s.separator, s.sample_rate, s.frames,
                        s.separated_at
                 FROM stems s JOIN tracks t ON t.id = s.track_id WHERE t.path = ?",
                [text],
                |r| stem_row(r, 0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(db_err(&self.path))
    }

    /// Forgets the stems of track `id` (the files stay). Returns whether there were any.
    pub fn remove_stems(&self, id: TrackId) -> Result<bool, SegueError> {
        let n = self
            .conn
            .execute("DELETE FROM stems WHERE track_id = ?", [id])
            .map_err(db_err(&self.path))?;
        Ok(n > 0)
    }

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(super) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    fn no_track(&self, id: TrackId, e: rusqlite::Error) -> SegueError {
        let reason = match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                format!("no track with id {id}")
            }
            e => e.to_string(),
        };
        SegueError::Library {
            path: self.path.clone(),
            reason,
        }
    }

    fn entries(
        &self,
        sql: &str,
        params: Vec<rusqlite::types::Value>,
        needle: Option<String>,
    ) -> Result<Vec<LibraryEntry>, SegueError> {
        let mut stmt = self.conn.prepare(sql).map_err(db_err(&self.path))?;
        let raws = stmt
            .query_map(rusqlite::params_from_iter(params), raw_entry)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(db_err(&self.path))?;
        raws.into_iter()
            .filter(|r| {
                needle.as_deref().is_none_or(|n| {
                    r.track.title.to_lowercase().contains(n)
                        || r.track
                            .path
                            .as_deref()
                            .is_some_and(|p| p.to_string_lossy().to_lowercase().contains(n))
                })
            })
            .map(|r| self.parse_entry(r))
            .collect()
    }

    fn parse_entry(&self, raw: RawEntry) -> Result<LibraryEntry, SegueError> {
        let analysis = raw
            .json
            .map(|j| serde_json::from_str::<Analysis>(&j))
            .transpose()
            .map_err(|e| SegueError::Library {
                path: self.path.clone(),
                reason: format!("track {}: stored analysis is unreadable: {e}", raw.track.id),
            })?;
        Ok(LibraryEntry {
            track: raw.track,
            analysis,
            analysed_at: raw.analysed_at,
            play_count: raw.play_count,
            last_played: raw.last_played,
            stems: raw.stems,
        })
    }
}
