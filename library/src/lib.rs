//! The track library: one embedded SQLite file holding every track Segue knows, its analysis,
//! its Musical DNA vector and its play history.
//!
//! What it guarantees:
//! * **Tracks are their content.** A track is identified by the blake3 hash of its file bytes
//!   (streamed, never read whole into memory). A file that was moved or renamed is recognised
//!   by its hash: its path is updated and its analysis kept. A file whose bytes changed is a
//!   new track.
//! * **Crash safety.** The file runs in WAL mode and every track is written in its own
//!   transaction, so killing the process (even `kill -9`) loses at most the track being
//!   written; the database stays intact (`PRAGMA integrity_check` says `ok`) and a rerun of
//!   [`scan`] continues where the killed one stopped. With `synchronous=NORMAL` a power cut
//!   may lose the last few commits, never consistency.
//! * **Versioned schema.** `PRAGMA user_version` is the schema version ([`SCHEMA_VERSION`]);
//!   [`Library::open`] runs the missing migrations in order, each in one transaction, and
//!   refuses a file written by a newer Segue rather than guess at it.
//! * **Re-analysis on demand.** Every analysis carries its
//!   [`analyser_version`](segue_analysis::Analysis::analyser_version); a track analysed by an
//!   older [`ANALYSER_VERSION`](segue_analysis::ANALYSER_VERSION) [needs
//!   analysis](Library::needs_analysis) again and [`scan`] redoes it.
//!
//! It never decodes audio itself: [`scan`] takes the analyser as a closure, so the library is
//! tested with a real database and a stand-in analyser.
//!
//! ```no_run
//! use segue_library::{Library, Query};
//! use segue_analysis::music::Key;
//!
//! let lib = Library::open("segue.db".as_ref())?;
//! let query = Query {
//!     bpm: Some((120.0, 130.0)),
//!     key: Some("8A".parse::<Key>().unwrap()), // also 7A, 9A and 8B
//!     energy: Some((6, 8)),
//!     text: None,
//! };
//! for entry in lib.search(&query)? {
//!     println!("{}", serde_json::to_string(&entry).unwrap());
//! }
//! # Ok::<(), segue_decode::SegueError>(())
//! ```
//!
//! # Schema (version 3)
//!
//! ```sql
//! tracks(id INTEGER PRIMARY KEY,
//!        content_hash TEXT NOT NULL UNIQUE,  -- blake3 of the file bytes, 64 hex digits
//!        path TEXT UNIQUE,                   -- absolute; NULL once the file is gone/changed
//!        size INTEGER NOT NULL,              -- bytes
//!        mtime_ns INTEGER NOT NULL,          -- file modification time, ns since 1970
//!        title TEXT NOT NULL,                -- file stem until tags are read
//!        duration REAL,                      -- seconds
//!        added_at INTEGER NOT NULL)          -- unix seconds
//! analyses(track_id INTEGER PRIMARY KEY REFERENCES tracks ON DELETE CASCADE,
//!          analyser_version INTEGER NOT NULL, dna_version INTEGER NOT NULL,
//!          bpm REAL NOT NULL, key_camelot TEXT NOT NULL, energy INTEGER NOT NULL,
//!          lufs REAL NOT NULL,
//!          analysis_json TEXT NOT NULL,      -- the whole Analysis record, serde JSON
//!          analysed_at INTEGER NOT NULL)     -- indexes on bpm, key_camelot, energy
//! dna_vectors(track_id INTEGER PRIMARY KEY REFERENCES tracks ON DELETE CASCADE,
//!             dna_version INTEGER NOT NULL, dims INTEGER NOT NULL,
//!             vector BLOB NOT NULL)          -- dims little-endian f32
//! play_history(id INTEGER PRIMARY KEY, track_id INTEGER NOT NULL REFERENCES tracks
//!              ON DELETE CASCADE, played_at INTEGER NOT NULL, context TEXT,
//!              session_id INTEGER REFERENCES sessions ON DELETE SET NULL)   -- v2
//! sessions(id INTEGER PRIMARY KEY, kind TEXT NOT NULL,   -- 'live' | 'playlist'   (v2)
//!          name TEXT NOT NULL, source TEXT,              -- imported file, if any
//!          started_at INTEGER NOT NULL)
//! transitions(id INTEGER PRIMARY KEY,                    -- B played right after A  (v2)
//!             session_id INTEGER NOT NULL REFERENCES sessions ON DELETE CASCADE,
//!             from_track INTEGER NOT NULL REFERENCES tracks ON DELETE CASCADE,
//!             to_track INTEGER NOT NULL REFERENCES tracks ON DELETE CASCADE,
//!             at INTEGER NOT NULL)                       -- indexes on from_track, to_track
//! index_changes(seq INTEGER PRIMARY KEY AUTOINCREMENT,   -- the similarity index's log (v2):
//!               track_id INTEGER NOT NULL)               -- triggers on dna_vectors, analyses
//! scan_state(path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
//!            analyser_version INTEGER NOT NULL, status TEXT NOT NULL,  -- 'failed'
//!            reason TEXT NOT NULL, updated_at INTEGER NOT NULL)
//! stems(track_id INTEGER PRIMARY KEY REFERENCES tracks ON DELETE CASCADE,        -- v3
//!       drums TEXT NOT NULL, bass TEXT NOT NULL, other TEXT NOT NULL,
//!       vocals TEXT NOT NULL,               -- absolute paths of the four stem files
//!       separator TEXT NOT NULL,            -- 'dsp', 'onnx'
//!       sample_rate INTEGER NOT NULL, frames INTEGER NOT NULL,
//!       separated_at INTEGER NOT NULL)      -- unix seconds
//! ```
//!
//! Version 2 added the play graph (`sessions`, `transitions`, `play_history.session_id`;
//! [`graph`]) and the change log the similarity index ([`index`]) catches up from. Version 3
//! added `stems`: where a track's separated stems lie ([`Library::set_stems`],
//! [`Library::stems`]; the deck loader plays them).
//!
//! Only `analyses` columns that queries filter on are broken out of `analysis_json`; the JSON
//! stays the source of truth, so a new analysis field needs no migration. A scan resumes
//! without re-hashing: a file whose path, size and modification time match a stored track is
//! taken to be that track (as rsync and DJ software do); any other file is hashed. A
//! duplicate copy of a known file (same hash, the first copy still on disk) keeps the first
//! path. `scan_state` remembers why a file failed; the failure row goes when the file is
//! analysed successfully.
//!
//! # Mapping onto PostgreSQL + pgvector
//!
//! The same tables, column for column, for users who outgrow one machine (the backend itself
//! comes later):
//! * `INTEGER PRIMARY KEY` → `bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY`; other
//!   `INTEGER` → `bigint`, `REAL` → `double precision`, `TEXT` → `text`.
//! * unix-second columns (`added_at`, `analysed_at`, `played_at`, `updated_at`) →
//!   `timestamptz` (`to_timestamp(x)`); `mtime_ns` stays `bigint`.
//! * `content_hash` → `text` (or `bytea` of the 32 raw bytes) with the same `UNIQUE`.
//! * `analysis_json` → `jsonb`, so ad-hoc queries can reach fields not broken out.
//! * `dna_vectors.vector` (little-endian `f32` × `dims`) → pgvector `vector(128)` (the DNA
//!   vector's documented dimension), with an HNSW index
//!   (`USING hnsw (vector vector_cosine_ops)`) for the similarity search; `dims` becomes a
//!   `CHECK`.
//! * `user_version` → a one-row `schema_version` table; the migration steps are the same
//!   SQL, with the types above.
//! * Foreign keys, `ON DELETE CASCADE` and the indexes carry over unchanged.

pub use segue_decode::SegueError;

pub mod decks;
pub mod graph;
mod hash;
pub mod import;
pub mod index;
mod query;
pub mod record;
mod scan;
mod schema;
pub mod sort;
mod store;
pub mod vocals;
pub mod worker;

use std::path::{Path, PathBuf};

use serde::Serialize;

use segue_analysis::Analysis;

pub use hash::content_hash;
pub use query::Query;
pub use scan::{is_track_file, scan, ScanEvent, ScanReport, ScanStage, AUDIO_EXTENSIONS};
pub use schema::SCHEMA_VERSION;
pub use store::Library;

/// Where the library lives unless told otherwise: `$SEGUE_LIBRARY`, else
/// `$XDG_DATA_HOME/segue/library.sqlite`, else `~/.local/share/segue/library.sqlite`. The CLI,
/// `segue serve` and the plugin all default to it, so a track analysed by one is known to all.
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SEGUE_LIBRARY") {
        return PathBuf::from(p);
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("segue/library.sqlite")
}

/// A track's row id in the library. Stable for the life of the library file.
pub type TrackId = i64;

/// A file the library knows (one row of `tracks`). Serialises to the `--json` shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Track {
    /// Row id.
    pub id: TrackId,
    /// blake3 hash of the file bytes, 64 lower-case hex digits.
    pub content_hash: String,
    /// Where the file was last seen (absolute); `None` once another file took that path.
    pub path: Option<PathBuf>,
    /// File size in bytes.
    pub size: u64,
    /// File modification time, nanoseconds since 1970.
    pub mtime_ns: i64,
    /// Display title (the file name without extension until tags are read).
    pub title: String,
    /// Length in seconds, once analysed.
    pub duration: Option<f64>,
    /// When the track entered the library, unix seconds.
    pub added_at: i64,
}

/// A track with everything the library holds about it: what `segue library show` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LibraryEntry {
    /// The file.
    #[serde(flatten)]
    pub track: Track,
    /// Its latest analysis, if any.
    pub analysis: Option<Analysis>,
    /// When it was last analysed, unix seconds.
    pub analysed_at: Option<i64>,
    /// How many times it was played.
    pub play_count: u64,
    /// When it was last played, unix seconds.
    pub last_played: Option<i64>,
    /// Its registered stem files, if any (left out of the JSON when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stems: Option<StemFiles>,
}

/// A track's separated stems as the library registers them: four audio files (WAV or
/// FLAC) in the engine's stem order, and what made them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StemFiles {
    /// Drums, bass, other, vocals: absolute paths.
    pub files: [PathBuf; 4],
    /// The separator that made them ("dsp", "onnx").
    pub separator: String,
    /// Their sample rate (the track's own when separated from it).
    pub sample_rate: u32,
    /// Their length in frames (each).
    pub frames: u64,
    /// When they were registered, unix seconds (0 until stored).
    pub separated_at: i64,
}

impl StemFiles {
    /// Whether all four files are still there.
    pub fn exist(&self) -> bool {
        self.files.iter().all(|f| f.is_file())
    }
}

/// How to name a track: by row id, by path or by content hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackRef<'a> {
    /// Row id.
    Id(TrackId),
    /// The path it was last seen at (made absolute before lookup).
    Path(&'a Path),
    /// Its content hash (64 hex digits; case-insensitive).
    Hash(&'a str),
}

impl<'a> TrackRef<'a> {
    /// Reads a command-line argument: all digits is an id, 64 hex digits a content hash,
    /// anything else a path.
    ///
    /// ```
    /// use segue_library::TrackRef;
    /// assert_eq!(TrackRef::from_arg("12"), TrackRef::Id(12));
    /// assert!(matches!(TrackRef::from_arg("music/a.flac"), TrackRef::Path(_)));
    /// ```
    pub fn from_arg(arg: &'a str) -> TrackRef<'a> {
        if !arg.is_empty() && arg.len() <= 18 && arg.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(id) = arg.parse() {
                return TrackRef::Id(id);
            }
        }
        if arg.len() == 64 && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
            return TrackRef::Hash(arg);
        }
        TrackRef::Path(Path::new(arg))
    }
}

impl From<TrackId> for TrackRef<'_> {
    fn from(id: TrackId) -> Self {
        TrackRef::Id(id)
    }
}

impl<'a> From<&'a Path> for TrackRef<'a> {
    fn from(path: &'a Path) -> Self {
        TrackRef::Path(path)
    }
}

impl<'a> From<&'a PathBuf> for TrackRef<'a> {
    fn from(path: &'a PathBuf) -> Self {
        TrackRef::Path(path)
    }
}
