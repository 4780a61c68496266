//! The similarity index: an HNSW graph ([`hnsw_rs`]) over the tracks' compact Musical DNA
//! vectors ([`COMPACT_DIMS`] values, unit length), answering "which tracks sound like this
//! one" in well under a millisecond for a 100 k-track library, with filters a DJ uses
//! (tempo range counting half and double tempo, Camelot-compatible keys, energy range).
//!
//! What it guarantees:
//! * **It is a cache of the library, never the truth.** It lives beside the library file
//!   (`library.sqlite` → `library.sqlite.hnsw.{graph,data,map}`) and can always be rebuilt
//!   from the `dna_vectors` table. Every write to `dna_vectors` or `analyses` is logged by
//!   SQLite triggers in `index_changes` (schema version 2), so whoever opens the index
//!   ([`SimilarityIndex::open`]) or calls [`SimilarityIndex::sync`] applies exactly the
//!   tracks that changed since the index was saved: adding one track inserts one point and
//!   never rebuilds the graph.
//! * **Deleted and re-analysed tracks.** A track whose vector went away is tombstoned (its
//!   point stays in the graph, filtered out of every answer); a re-analysed track is
//!   tombstoned and inserted again with its new vector under a new point id. When tombstones
//!   exceed [`REBUILD_TOMBSTONE_SHARE`] of the points the graph is rebuilt from the library.
//! * **Out of sync is detected, not trusted.** The `.map` file records the blake3 hash of the
//!   graph and data files it belongs with and the change-log position it has seen; a torn
//!   save, a missing or foreign file, a library restored from an older copy, or a count of
//!   indexed tracks that disagrees with the library all lead to a rebuild (with the reason in
//!   the [`SyncReport`]).
//! * **Distances**: L2 on unit vectors, reported as cosine similarity (`1 − d²/2`, 1 = same
//!   sound). Vectors of the wrong length, zero or non-finite ones are not indexed (counted in
//!   [`SyncReport::skipped`]); the query vector is checked the same way.
//!
//! ```no_run
//! use segue_library::index::{Filter, SimilarityIndex};
//! use segue_library::Library;
//!
//! let lib = Library::open("library.sqlite".as_ref())?;
//! let (index, _report) = SimilarityIndex::open(&lib)?;
//! let filter = Filter::default().bpm(120.0, 130.0).energy(5, 8);
//! for (track, similarity) in index.similar(12, 10, &filter)? {
//!     println!("{track}: {similarity:.3}");
//! }
//! # Ok::<(), segue_decode::SegueError>(())
//! ```

use std::collections::{BTreeSet, HashMap};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use hnsw_rs::anndists::dist::Distance;
use hnsw_rs::api::AnnT;
use hnsw_rs::hnsw::Hnsw;
use hnsw_rs::hnswio::HnswIo;
use rusqlite::OptionalExtension;

use crate::{Library, SegueError, TrackId};
use segue_analysis::dna::COMPACT_DIMS;
use segue_analysis::music::{Key, Mode};

/// Share of tombstoned points above which [`SimilarityIndex::sync`] rebuilds the graph.
pub const REBUILD_TOMBSTONE_SHARE: f64 = 0.25;

/// HNSW links per point and layer (`M`).
const MAX_CONNECTIONS: usize = 16;
/// Candidates examined while inserting (`efConstruction`).
const EF_CONSTRUCTION: usize = 100;
/// Layers at most.
const MAX_LAYERS: usize = 16;
/// Candidates examined per query (`ef`), at least `n`.
const EF_SEARCH: usize = 40;
/// At or below this many matching tracks, a filtered query is answered by exact search
/// over just those tracks (a few ms at most, and exact); above it the HNSW graph is searched
/// without the filter for enough candidates and the filter applied to them.
const EXACT_BELOW: usize = 20_000;
/// Tries of a graph search (each asking for twice as many candidates) before a query falls
/// back to exact search.
const GRAPH_TRIES: usize = 3;

const MAP_MAGIC: &[u8; 8] = b"SEGUEIDX";
const MAP_VERSION: u32 = 2;

/// What a track brings to the filters: its tempo, key and energy from its analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackMeta {
    /// Tempo, BPM (0 when unknown).
    pub bpm: f32,
    /// Key, when known.
    pub key: Option<Key>,
    /// Energy 1..=10 (0 when unknown).
    pub energy: u8,
}

/// Which tracks a query may return. Every filter that is set must match; the default
/// matches everything.
///
/// ```
/// use segue_library::index::{Filter, TrackMeta};
/// let f = Filter::default().bpm(120.0, 130.0).key("8A".parse().unwrap()).energy(5, 8);
/// let half_time = TrackMeta { bpm: 62.5, key: Some("9A".parse().unwrap()), energy: 6 };
/// assert!(f.matches(&half_time)); // 125 BPM double-time, 9A is one step from 8A
/// assert!(!f.exact_tempo().matches(&half_time));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Tempo range in BPM, inclusive. A track matches when its tempo, or (unless
    /// `exact_tempo`) half or double its tempo, falls inside.
    pub bpm: Option<(f64, f64)>,
    /// Only the tempo itself counts, not half/double.
    pub exact_tempo: bool,
    /// A key: matches the keys that mix with it on the Camelot wheel (same, ±1, relative
    /// major/minor: [`Key::compatible`]).
    pub key: Option<Key>,
    /// Energy range 1..=10, inclusive.
    pub energy: Option<(u8, u8)>,
    /// Tracks never to return (the query track is always left out).
    pub exclude: Vec<TrackId>,
}

impl Filter {
    /// Tempo between `lo` and `hi` BPM (either order), half/double counting.
    pub fn bpm(mut self, lo: f64, hi: f64) -> Self {
        self.bpm = Some((lo.min(hi), lo.max(hi)));
        self
    }

    /// Within `percent` % of `bpm` (a deck's pitch range), half/double counting.
    pub fn bpm_around(self, bpm: f64, percent: f64) -> Self {
        let d = bpm * percent.abs() / 100.0;
        self.bpm(bpm - d, bpm + d)
    }

    /// Only the tempo itself counts, not half or double.
    pub fn exact_tempo(mut self) -> Self {
        self.exact_tempo = true;
        self
    }

    /// Keys compatible with `key`.
    pub fn key(mut self, key: Key) -> Self {
        self.key = Some(key);
        self
    }

    /// Energy between `lo` and `hi` (either order).
    pub fn energy(mut self, lo: u8, hi: u8) -> Self {
        self.energy = Some((lo.min(hi), lo.max(hi)));
        self
    }

    /// Never return `track`.
    pub fn exclude(mut self, track: TrackId) -> Self {
        self.exclude.push(track);
        self
    }

    /// True when no filter is set (exclusions aside).
    pub fn is_open(&self) -> bool {
        self.bpm.is_none() && self.key.is_none() && self.energy.is_none()
    }

    /// Whether a track with `meta` passes the tempo, key and energy filters.
    pub fn matches(&self, meta: &TrackMeta) -> bool {
        Compiled::new(self).matches(meta)
    }
}

/// A [`Filter`] made ready to test many tracks: the compatible keys as a bit set, computed
/// once per query instead of once per track.
struct Compiled {
    bpm: Option<(f64, f64)>,
    exact_tempo: bool,
    /// Bit `key_bit(k)` set for every key that passes; `None`: any key (or none) passes.
    keys: Option<u32>,
    energy: Option<(u8, u8)>,
}

fn key_bit(k: Key) -> u32 {
    1 << (u32::from(k.tonic % 12) + if k.mode == Mode::Minor { 12 } else { 0 })
}

impl Compiled {
    fn new(f: &Filter) -> Compiled {
        Compiled {
            bpm: f.bpm,
            exact_tempo: f.exact_tempo,
            keys: f
                .key
                .map(|k| k.compatible().iter().fold(0, |m, c| m | key_bit(*c))),
            energy: f.energy,
        }
    }

    /// Without branches (`&`, not `&&`): a scan of 100 k tracks at a selective filter
    /// mispredicted most of its jumps.
    #[inline]
    fn matches(&self, meta: &TrackMeta) -> bool {
        let tempo = match self.bpm {
            None => true,
            Some((lo, hi)) => {
                let b = f64::from(meta.bpm);
                let within = |x: f64| (x >= lo - 1e-9) & (x <= hi + 1e-9);
                (b > 0.0) & (within(b) | (!self.exact_tempo & (within(2.0 * b) | within(b / 2.0))))
            }
        };
        let key = match self.keys {
            None => true,
            Some(keys) => meta.key.is_some_and(|m| keys & key_bit(m) != 0),
        };
        let energy = match self.energy {
            None => true,
            Some((lo, hi)) => (meta.energy >= lo) & (meta.energy <= hi),
        };
        tempo & key & energy
    }
}

/// What to look for neighbours of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Probe<'a> {
    /// A track in the index (left out of its own answer).
    Track(TrackId),
    /// A DNA vector (e.g. of a file that is not in the library); normalised before use.
    Vector(&'a [f32]),
}

impl From<TrackId> for Probe<'_> {
    fn from(id: TrackId) -> Self {
        Probe::Track(id)
    }
}

impl<'a> From<&'a [f32]> for Probe<'a> {
    fn from(v: &'a [f32]) -> Self {
        Probe::Vector(v)
    }
}

impl<'a> From<&'a Vec<f32>> for Probe<'a> {
    fn from(v: &'a Vec<f32>) -> Self {
        Probe::Vector(v)
    }
}

/// What [`SimilarityIndex::open`] / [`SimilarityIndex::sync`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Why the graph was built from scratch, if it was (`None`: loaded and/or updated).
    pub rebuilt: Option<String>,
    /// Tracks inserted (new, or re-analysed).
    pub inserted: usize,
    /// Tracks removed (tombstoned).
    pub removed: usize,
    /// Library vectors not indexed (wrong length, zero or not finite).
    pub skipped: usize,
    /// Tracks in the index now.
    pub tracks: usize,
}

impl SyncReport {
    /// Whether the index changed (and should be saved).
    pub fn changed(&self) -> bool {
        self.rebuilt.is_some() || self.inserted > 0 || self.removed > 0
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    track: TrackId,
    alive: bool,
    meta: TrackMeta,
}

/// The index (see the module doc). Answers queries from memory; [`save`](Self::save) writes
/// it beside the library. `Send + Sync`: queries may run from several threads.
pub struct SimilarityIndex {
    hnsw: Hnsw<'static, f32, DnaL2>,
    /// Point id → track; tombstones stay until a rebuild.
    slots: Vec<Slot>,
    /// Unit vectors, `COMPACT_DIMS` per slot (exact search for selective filters).
    vectors: Vec<f32>,
    by_track: HashMap<TrackId, usize>,
    /// Library vectors that could not be indexed.
    skipped: BTreeSet<TrackId>,
    /// The last `index_changes.seq` applied.
    last_seq: i64,
    /// The library file this index belongs to.
    library: PathBuf,
    /// Filtered queries matching at most this many tracks are answered exactly.
    exact_below: usize,
}

impl std::fmt::Debug for SimilarityIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimilarityIndex")
            .field("library", &self.library)
            .field("tracks", &self.len())
            .field("points", &self.slots.len())
            .field("last_seq", &self.last_seq)
            .finish()
    }
}

fn new_hnsw(capacity: usize) -> Hnsw<'static, f32, DnaL2> {
    Hnsw::new(
        MAX_CONNECTIONS,
        capacity.max(1_000),
        MAX_LAYERS,
        EF_CONSTRUCTION,
        DnaL2,
    )
}

/// `v` scaled to unit length, or `None` when it has the wrong length, is zero or is not
/// finite.
pub fn unit_vector(v: &[f32]) -> Option<Vec<f32>> {
    if v.len() != COMPACT_DIMS || !v.iter().all(|x| x.is_finite()) {
        return None;
    }
    let norm = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if norm.is_nan() || norm <= 1e-12 || !norm.is_finite() {
        return None;
    }
    Some(v.iter().map(|x| (f64::from(*x) / norm) as f32).collect())
}

/// Cosine similarity of two unit vectors from their L2 distance.
fn similarity(l2: f32) -> f32 {
    (1.0 - l2 * l2 / 2.0).clamp(-1.0, 1.0)
}

fn l2(a: &[f32], b: &[f32]) -> f32 {
    // Eight independent sums: the compiler keeps them in SIMD lanes (one sequential sum, as
    // `hnsw_rs`'s scalar `DistL2` takes, is bound by the latency of each addition).
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    for (ca, cb) in ca.zip(cb) {
        for i in 0..8 {
            let d = ca[i] - cb[i];
            acc[i] += d * d;
        }
    }
    (acc.iter().sum::<f32>() + tail).sqrt()
}

/// The graph's distance: L2 like `hnsw_rs`'s `DistL2`, computed in eight lanes.
#[derive(Debug, Clone, Copy, Default)]
pub struct DnaL2;

impl Distance<f32> for DnaL2 {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        l2(va, vb)
    }
}

/// The index files of `library`: `<library>.hnsw.{graph,data,map}`, as (folder, basename).
fn files(library: &Path) -> (PathBuf, String) {
    let dir = library
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let name = library
        .file_name()
        .map_or_else(|| "library".into(), |n| n.to_string_lossy().into_owned());
    (dir, name)
}

fn index_err(library: &Path, reason: impl Into<String>) -> SegueError {
    SegueError::Library {
        path: library.to_path_buf(),
        reason: format!("similarity index: {}", reason.into()),
    }
}

/// A row of the library: track, vector blob, dims, bpm, camelot, energy.
type VectorRow = (
    TrackId,
    Vec<u8>,
    i64,
    Option<f64>,
    Option<String>,
    Option<i64>,
);

fn decode_row(row: VectorRow) -> (TrackId, Option<(Vec<f32>, TrackMeta)>) {
    let (track, blob, dims, bpm, camelot, energy) = row;
    if dims as usize != COMPACT_DIMS || blob.len() != COMPACT_DIMS * 4 {
        return (track, None);
    }
    let raw: Vec<f32> = blob
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let meta = TrackMeta {
        bpm: bpm.filter(|b| b.is_finite() && *b > 0.0).unwrap_or(0.0) as f32,
        key: camelot.and_then(|c| c.parse::<Key>().ok()),
        energy: energy.map_or(0, |e| e.clamp(0, 255) as u8),
    };
    (track, unit_vector(&raw).map(|v| (v, meta)))
}

const ROW_SELECT: &str = "SELECT d.track_id, d.vector, d.dims, a.bpm, a.key_camelot, a.energy
     FROM dna_vectors d LEFT JOIN analyses a ON a.track_id = d.track_id";

impl SimilarityIndex {
    /// An empty in-memory index for `library` (nothing read or written). Fill it with
    /// [`insert`](Self::insert) (benches, tests) or [`sync`](Self::sync).
    pub fn new(library: &Path, capacity: usize) -> Self {
        Self {
            hnsw: new_hnsw(capacity),
            slots: Vec::with_capacity(capacity),
            vectors: Vec::with_capacity(capacity * COMPACT_DIMS),
            by_track: HashMap::with_capacity(capacity),
            skipped: BTreeSet::new(),
            last_seq: 0,
            library: library.to_path_buf(),
            exact_below: EXACT_BELOW,
        }
    }

    /// Sets how many matching tracks a filtered query may have and still be answered by
    /// exact search over just them (default 20 000); above it the graph is searched. For
    /// tests of the graph path and for tuning on very large libraries.
    pub fn set_exact_below(&mut self, tracks: usize) {
        self.exact_below = tracks;
    }

    /// Builds an in-memory index of `items` at once (parallel insertion on all cores).
    /// Items with a bad vector are left out and counted in the returned number.
    pub fn build(
        library: &Path,
        items: impl IntoIterator<Item = (TrackId, Vec<f32>, TrackMeta)>,
    ) -> (Self, usize) {
        let mut bad = 0;
        let mut unique: HashMap<TrackId, (Vec<f32>, TrackMeta)> = HashMap::new();
        for (t, v, m) in items {
            match unit_vector(&v) {
                Some(u) => {
                    unique.insert(t, (u, m));
                }
                None => bad += 1,
            }
        }
        let mut rows: Vec<(TrackId, Vec<f32>, TrackMeta)> =
            unique.into_iter().map(|(t, (v, m))| (t, v, m)).collect();
        rows.sort_by_key(|r| r.0);
        let mut index = Self::new(library, rows.len());
        for (t, v, m) in &rows {
            index.push_slot(*t, v, *m);
        }
        let data: Vec<(&[f32], usize)> = index
            .vectors
            .chunks_exact(COMPACT_DIMS)
            .enumerate()
            .map(|(i, v)| (v, i))
            .collect();
        index.hnsw.parallel_insert_slice(&data);
        (index, bad)
    }

    /// Opens the index of `lib`: loads it from beside the library file when its files are
    /// there and belong together, else builds it from the library; then applies what changed
    /// in the library since ([`sync`](Self::sync)) and saves it if anything changed (a
    /// failed save is logged, not returned: the index in memory is still right).
    pub fn open(lib: &Library) -> Result<(Self, SyncReport), SegueError> {
        let (mut index, why) = match Self::load(lib.path()) {
            Ok(index) => (index, None),
            Err(why) => (Self::new(lib.path(), 0), Some(why)),
        };
        let mut report = match why {
            Some(why) => index.rebuild(lib, why)?,
            None => index.sync(lib)?,
        };
        report.tracks = index.len();
        if report.changed() {
            // A library on a read-only medium still answers; it just cannot keep the cache.
            if let Err(e) = index.save(lib) {
                tracing::warn!("{e}");
            }
        }
        Ok((index, report))
    }

    /// Applies the library's changes since this index last looked (new, re-analysed and
    /// deleted tracks), one point each; rebuilds instead when the change log does not
    /// continue from where this index stopped, when tombstones exceed
    /// [`REBUILD_TOMBSTONE_SHARE`], or when the indexed tracks do not add up to the library's.
    /// Does not save.
    pub fn sync(&mut self, lib: &Library) -> Result<SyncReport, SegueError> {
        let db = lib.path();
        let conn = lib.conn();
        let err = |e: rusqlite::Error| index_err(db, e.to_string());
        let head = change_head(lib)?;
        if head < self.last_seq {
            return self.rebuild(
                lib,
                format!(
                    "the library's change log ends at {head}, before this index ({}): the \
                     library was replaced or restored",
                    self.last_seq
                ),
            );
        }
        let oldest: Option<i64> = conn
            .query_row(
                "SELECT min(seq) FROM index_changes WHERE seq > ?",
                [self.last_seq],
                |r| r.get(0),
            )
            .map_err(err)?;
        if oldest.is_some_and(|first| first > self.last_seq + 1) {
            // The log has a hole after this index's position: another copy of the index
            // pruned changes this one never saw.
            return self.rebuild(lib, "changes this index never saw were pruned".into());
        }
        let mut report = SyncReport::default();
        let changed: Vec<TrackId> = {
            let mut stmt = conn
                .prepare("SELECT DISTINCT track_id FROM index_changes WHERE seq > ? AND seq <= ?")
                .map_err(err)?;
            let rows = stmt
                .query_map([self.last_seq, head], |r| r.get(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(err)?;
            rows
        };
        {
            let mut stmt = conn
                .prepare(&format!("{ROW_SELECT} WHERE d.track_id = ?"))
                .map_err(err)?;
            for track in changed {
                let row: Option<VectorRow> = stmt
                    .query_row([track], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                        ))
                    })
                    .optional()
                    .map_err(err)?;
                let fresh = row.map(decode_row);
                let had = self.by_track.contains_key(&track);
                self.skipped.remove(&track);
                match fresh {
                    Some((_, Some((v, meta)))) => {
                        let same = self.by_track.get(&track).is_some_and(|&s| {
                            self.slot_vector(s) == v.as_slice() && self.slots[s].meta == meta
                        });
                        if !same {
                            self.insert_unit(track, &v, meta);
                            report.inserted += 1;
                        }
                    }
                    Some((_, None)) => {
                        self.skipped.insert(track);
                        if self.remove(track) {
                            report.removed += 1;
                        }
                    }
                    None => {
                        if had && self.remove(track) {
                            report.removed += 1;
                        }
                    }
                }
            }
        }
        self.last_seq = head;
        let in_library: i64 = conn
            .query_row("SELECT count(*) FROM dna_vectors", [], |r| r.get(0))
            .map_err(err)?;
        let accounted = self.len() + self.skipped.len();
        if accounted as i64 != in_library {
            return self.rebuild(
                lib,
                format!("it holds {accounted} tracks, the library {in_library}: out of sync"),
            );
        }
        let dead = self.slots.len() - self.len();
        if self.slots.len() > 32 && dead as f64 > REBUILD_TOMBSTONE_SHARE * self.slots.len() as f64
        {
            return self.rebuild(
                lib,
                format!("{dead} of {} points were tombstones", self.slots.len()),
            );
        }
        report.skipped = self.skipped.len();
        report.tracks = self.len();
        Ok(report)
    }

    /// Builds the graph from every vector in the library, replacing this one.
    pub fn rebuild(&mut self, lib: &Library, why: String) -> Result<SyncReport, SegueError> {
        let db = lib.path();
        let err = |e: rusqlite::Error| index_err(db, e.to_string());
        let head = change_head(lib)?;
        let rows: Vec<VectorRow> = {
            let mut stmt = lib.conn().prepare(ROW_SELECT).map_err(err)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                })
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(err)?;
            rows
        };
        let mut skipped = BTreeSet::new();
        let mut good = Vec::with_capacity(rows.len());
        for row in rows {
            match decode_row(row) {
                (t, Some((v, m))) => good.push((t, v, m)),
                (t, None) => {
                    skipped.insert(t);
                }
            }
        }
        let (mut fresh, _) = Self::build(db, good);
        fresh.skipped = skipped;
        fresh.last_seq = head;
        *self = fresh;
        Ok(SyncReport {
            rebuilt: Some(why),
            inserted: self.len(),
            removed: 0,
            skipped: self.skipped.len(),
            tracks: self.len(),
        })
    }

    /// Adds `track` with DNA `vector` (normalised here), or replaces it (its old point is
    /// tombstoned). In memory only. Errors when the vector is not [`COMPACT_DIMS`] finite,
    /// non-zero values.
    pub fn insert(
        &mut self,
        track: TrackId,
        vector: &[f32],
        meta: TrackMeta,
    ) -> Result<(), SegueError> {
        let v = unit_vector(vector).ok_or_else(|| {
            index_err(
                &self.library,
                format!(
                    "track {track}: a DNA vector must be {COMPACT_DIMS} finite values, not all \
                     zero (got {})",
                    vector.len()
                ),
            )
        })?;
        self.insert_unit(track, &v, meta);
        Ok(())
    }

    fn push_slot(&mut self, track: TrackId, unit: &[f32], meta: TrackMeta) -> usize {
        let slot = self.slots.len();
        self.slots.push(Slot {
            track,
            alive: true,
            meta,
        });
        self.vectors.extend_from_slice(unit);
        self.by_track.insert(track, slot);
        slot
    }

    fn insert_unit(&mut self, track: TrackId, unit: &[f32], meta: TrackMeta) {
        self.remove(track);
        let slot = self.push_slot(track, unit, meta);
        self.hnsw.insert_slice((unit, slot));
    }

    /// Takes `track` out of the answers (its point becomes a tombstone). In memory only.
    /// Returns whether it was there.
    pub fn remove(&mut self, track: TrackId) -> bool {
        match self.by_track.remove(&track) {
            Some(slot) => {
                self.slots[slot].alive = false;
                true
            }
            None => false,
        }
    }

    /// Number of tracks indexed (tombstones not counted).
    pub fn len(&self) -> usize {
        self.by_track.len()
    }

    /// Whether no track is indexed.
    pub fn is_empty(&self) -> bool {
        self.by_track.is_empty()
    }

    /// Whether `track` is indexed.
    pub fn contains(&self, track: TrackId) -> bool {
        self.by_track.contains_key(&track)
    }

    /// Tempo, key and energy the index holds for `track`.
    pub fn meta(&self, track: TrackId) -> Option<TrackMeta> {
        self.by_track.get(&track).map(|&s| self.slots[s].meta)
    }

    /// The unit DNA vector the index holds for `track`.
    pub fn vector(&self, track: TrackId) -> Option<&[f32]> {
        self.by_track.get(&track).map(|&s| self.slot_vector(s))
    }

    fn slot_vector(&self, slot: usize) -> &[f32] {
        &self.vectors[slot * COMPACT_DIMS..(slot + 1) * COMPACT_DIMS]
    }

    /// The `n` tracks most similar to `probe` that pass `filter`, most similar first, with
    /// their cosine similarity. Approximate (HNSW) for open or loose filters; exact when at
    /// most a few thousand tracks pass the filter.
    ///
    /// Errors: the probe track is not indexed, or the probe vector is not a valid DNA vector.
    pub fn similar<'a>(
        &self,
        probe: impl Into<Probe<'a>>,
        n: usize,
        filter: &Filter,
    ) -> Result<Vec<(TrackId, f32)>, SegueError> {
        let (query, me): (Vec<f32>, Option<TrackId>) = match probe.into() {
            Probe::Track(t) => (
                self.vector(t)
                    .ok_or_else(|| {
                        index_err(
                            &self.library,
                            format!("track {t} is not in the index (not analysed, or no DNA)"),
                        )
                    })?
                    .to_vec(),
                Some(t),
            ),
            Probe::Vector(v) => (
                unit_vector(v).ok_or_else(|| {
                    index_err(
                        &self.library,
                        format!(
                            "the query vector must be {COMPACT_DIMS} finite values, not all zero \
                             (got {})",
                            v.len()
                        ),
                    )
                })?,
                None,
            ),
        };
        if n == 0 || self.is_empty() {
            return Ok(Vec::new());
        }
        let compiled = Compiled::new(filter);
        let passes = |slot: usize| {
            let s = &self.slots[slot];
            (s.alive & (Some(s.track) != me) & compiled.matches(&s.meta))
                && !filter.exclude.contains(&s.track)
        };
        // How many candidates pass: all live tracks for an open filter, else counted (and
        // kept, for an exact search over just them).
        let (matching, subset) = if filter.is_open() {
            (self.len(), None)
        } else {
            let subset: Vec<usize> = (0..self.slots.len()).filter(|&s| passes(s)).collect();
            (subset.len(), Some(subset))
        };
        if matching == 0 {
            return Ok(Vec::new());
        }
        if let Some(subset) = subset.as_ref().filter(|s| s.len() <= self.exact_below) {
            return Ok(self.exact_over(&query, n, subset.iter().copied()));
        }
        // The graph is searched without the filter (`hnsw_rs` explores a filtered search far
        // beyond its beam), for as many candidates as should hold `n` that pass; the filter
        // is applied to them. Too few pass → twice as many, then exact search.
        let share = (matching as f64 / self.slots.len().max(1) as f64).clamp(1e-3, 1.0);
        let mut want = ((n as f64 / share) * 1.2) as usize + 2 + filter.exclude.len();
        for _ in 0..GRAPH_TRIES {
            let want_now = want.min(self.slots.len());
            let ef = EF_SEARCH.max(want_now);
            let found = self.hnsw.search(&query, want_now, ef);
            let mut out: Vec<(TrackId, f32)> = found
                .iter()
                .filter(|nb| passes(nb.d_id))
                .map(|nb| (self.slots[nb.d_id].track, similarity(nb.distance)))
                .collect();
            if out.len() >= n.min(matching) {
                out.truncate(n);
                return Ok(out);
            }
            if want_now == self.slots.len() {
                break;
            }
            want *= 2;
        }
        Ok(self.exact_where(&query, n, passes))
    }

    /// Exact search (every track compared): what [`similar`](Self::similar) approximates.
    /// For tests and benches.
    pub fn exact<'a>(
        &self,
        probe: impl Into<Probe<'a>>,
        n: usize,
        filter: &Filter,
    ) -> Result<Vec<(TrackId, f32)>, SegueError> {
        let (query, me) = match probe.into() {
            Probe::Track(t) => (
                self.vector(t)
                    .ok_or_else(|| index_err(&self.library, format!("track {t} is not indexed")))?
                    .to_vec(),
                Some(t),
            ),
            Probe::Vector(v) => (
                unit_vector(v).ok_or_else(|| index_err(&self.library, "bad query vector"))?,
                None,
            ),
        };
        Ok(self.exact_where(&query, n, |slot| {
            let s = &self.slots[slot];
            s.alive
                && Some(s.track) != me
                && !filter.exclude.contains(&s.track)
                && filter.matches(&s.meta)
        }))
    }

    fn exact_where(
        &self,
        query: &[f32],
        n: usize,
        passes: impl Fn(usize) -> bool,
    ) -> Vec<(TrackId, f32)> {
        self.exact_over(query, n, (0..self.slots.len()).filter(|&s| passes(s)))
    }

    /// The `n` nearest of `slots` to `query`, nearest first (ties: lower slot first).
    fn exact_over(
        &self,
        query: &[f32],
        n: usize,
        slots: impl Iterator<Item = usize>,
    ) -> Vec<(TrackId, f32)> {
        let mut all: Vec<(f32, usize)> =
            slots.map(|s| (l2(query, self.slot_vector(s)), s)).collect();
        let n = n.min(all.len());
        if n == 0 {
            return Vec::new();
        }
        all.select_nth_unstable_by(n - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all.truncate(n);
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all.into_iter()
            .map(|(d, s)| (self.slots[s].track, similarity(d)))
            .collect()
    }

    /// Writes the index beside the library file (`<library>.hnsw.{graph,data,map}`): to
    /// temporary files first, renamed into place, the `.map` (which names the hashes of the
    /// other two) last. Then forgets the library's change log up to what it holds.
    pub fn save(&self, lib: &Library) -> Result<(), SegueError> {
        let (dir, name) = files(&self.library);
        let tmp = format!("{name}.tmp{}", std::process::id());
        let fail = |what: &str, e: &dyn std::fmt::Display| {
            index_err(&self.library, format!("cannot write {what}: {e}"))
        };
        // hnsw_rs panics when it cannot create its files: find out first.
        let probe = dir.join(format!("{tmp}.hnsw.graph"));
        std::fs::File::create(&probe).map_err(|e| fail(&probe.display().to_string(), &e))?;
        self.hnsw
            .file_dump(&dir, &tmp)
            .map_err(|e| fail("the HNSW graph", &e))?;
        let graph = dir.join(format!("{name}.hnsw.graph"));
        let data = dir.join(format!("{name}.hnsw.data"));
        let map = dir.join(format!("{name}.hnsw.map"));
        let tmp_graph = dir.join(format!("{tmp}.hnsw.graph"));
        let tmp_data = dir.join(format!("{tmp}.hnsw.data"));
        let tmp_map = dir.join(format!("{tmp}.hnsw.map"));
        let graph_hash = file_hash(&tmp_graph).map_err(|e| fail("the HNSW graph", &e))?;
        let data_hash = file_hash(&tmp_data).map_err(|e| fail("the HNSW data", &e))?;
        self.write_map(&tmp_map, &graph_hash, &data_hash)
            .map_err(|e| fail(&tmp_map.display().to_string(), &e))?;
        for (from, to) in [(&tmp_graph, &graph), (&tmp_data, &data), (&tmp_map, &map)] {
            std::fs::rename(from, to).map_err(|e| fail(&to.display().to_string(), &e))?;
        }
        lib.conn()
            .execute("DELETE FROM index_changes WHERE seq <= ?", [self.last_seq])
            .map_err(|e| index_err(lib.path(), e.to_string()))?;
        Ok(())
    }

    fn write_map(&self, path: &Path, graph: &[u8; 32], data: &[u8; 32]) -> std::io::Result<()> {
        let mut w = BufWriter::new(std::fs::File::create(path)?);
        w.write_all(MAP_MAGIC)?;
        w.write_all(&MAP_VERSION.to_le_bytes())?;
        w.write_all(&(COMPACT_DIMS as u32).to_le_bytes())?;
        w.write_all(&self.last_seq.to_le_bytes())?;
        w.write_all(graph)?;
        w.write_all(data)?;
        w.write_all(&(self.slots.len() as u64).to_le_bytes())?;
        for s in &self.slots {
            w.write_all(&s.track.to_le_bytes())?;
            w.write_all(&[u8::from(s.alive)])?;
            w.write_all(&s.meta.bpm.to_le_bytes())?;
            let key = s
                .meta
                .key
                .and_then(|k| Key::ALL.iter().position(|x| *x == k))
                .map_or(255u8, |i| i as u8);
            w.write_all(&[key, s.meta.energy])?;
        }
        w.write_all(&(self.skipped.len() as u64).to_le_bytes())?;
        for t in &self.skipped {
            w.write_all(&t.to_le_bytes())?;
        }
        w.flush()?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()
    }

    /// Reads the index files of `library`; `Err` says why they cannot be used.
    fn load(library: &Path) -> Result<Self, String> {
        let (dir, name) = files(library);
        let map_path = dir.join(format!("{name}.hnsw.map"));
        let graph_path = dir.join(format!("{name}.hnsw.graph"));
        let data_path = dir.join(format!("{name}.hnsw.data"));
        if !map_path.is_file() || !graph_path.is_file() || !data_path.is_file() {
            return Err("no index files beside the library yet".into());
        }
        let bad = |what: &str| format!("{}: {what}", map_path.display());
        let mut r =
            BufReader::new(std::fs::File::open(&map_path).map_err(|e| bad(&e.to_string()))?);
        let mut magic = [0u8; 8];
        r.read_exact(&mut magic).map_err(|_| bad("truncated"))?;
        if &magic != MAP_MAGIC {
            return Err(bad("not a Segue index map"));
        }
        let version = read_u32(&mut r).map_err(|_| bad("truncated"))?;
        let dims = read_u32(&mut r).map_err(|_| bad("truncated"))?;
        if version != MAP_VERSION || dims as usize != COMPACT_DIMS {
            return Err(bad(&format!(
                "format {version} with {dims} dims, this Segue writes {MAP_VERSION} with \
                 {COMPACT_DIMS}"
            )));
        }
        let last_seq = read_i64(&mut r).map_err(|_| bad("truncated"))?;
        let mut graph_hash = [0u8; 32];
        let mut data_hash = [0u8; 32];
        r.read_exact(&mut graph_hash)
            .map_err(|_| bad("truncated"))?;
        r.read_exact(&mut data_hash).map_err(|_| bad("truncated"))?;
        if file_hash(&graph_path).ok() != Some(graph_hash)
            || file_hash(&data_path).ok() != Some(data_hash)
        {
            return Err("the graph files are not the ones the map was saved with".into());
        }
        let n = read_u64(&mut r).map_err(|_| bad("truncated"))? as usize;
        let file_len = std::fs::metadata(&map_path).map_or(0, |m| m.len()) as usize;
        if n > file_len / 15 {
            return Err(bad("slot count larger than the file"));
        }
        let mut slots = Vec::with_capacity(n);
        for _ in 0..n {
            let track = read_i64(&mut r).map_err(|_| bad("truncated"))?;
            let mut b = [0u8; 1];
            r.read_exact(&mut b).map_err(|_| bad("truncated"))?;
            let bpm = f32::from_bits(read_u32(&mut r).map_err(|_| bad("truncated"))?);
            let mut ke = [0u8; 2];
            r.read_exact(&mut ke).map_err(|_| bad("truncated"))?;
            slots.push(Slot {
                track,
                alive: b[0] == 1,
                meta: TrackMeta {
                    bpm,
                    key: Key::ALL.get(ke[0] as usize).copied(),
                    energy: ke[1],
                },
            });
        }
        let n_skipped = read_u64(&mut r).map_err(|_| bad("truncated"))? as usize;
        if n_skipped > file_len / 8 {
            return Err(bad("skip count larger than the file"));
        }
        let mut skipped = BTreeSet::new();
        for _ in 0..n_skipped {
            skipped.insert(read_i64(&mut r).map_err(|_| bad("truncated"))?);
        }
        // hnsw_rs ties a loaded graph's lifetime to its loader; the loader (a folder name,
        // a basename and options: no file handles, no mmap) lives as long as the process.
        let io: &'static mut HnswIo = Box::leak(Box::new(HnswIo::new(&dir, &name)));
        let hnsw: Hnsw<'static, f32, DnaL2> = io
            .load_hnsw::<f32, DnaL2>()
            .map_err(|e| format!("cannot read the HNSW graph: {e}"))?;
        if hnsw.get_nb_point() != n {
            return Err(format!(
                "the graph holds {} points, the map {n}",
                hnsw.get_nb_point()
            ));
        }
        let mut vectors = vec![0f32; n * COMPACT_DIMS];
        let mut seen = vec![false; n];
        for p in hnsw.get_point_indexation() {
            let id = p.get_origin_id();
            let v = p.get_v();
            if id >= n || v.len() != COMPACT_DIMS || seen[id] {
                return Err("the graph's point ids do not match the map".into());
            }
            seen[id] = true;
            vectors[id * COMPACT_DIMS..(id + 1) * COMPACT_DIMS].copy_from_slice(v);
        }
        if !seen.iter().all(|s| *s) {
            return Err("the graph misses points the map lists".into());
        }
        let mut by_track = HashMap::with_capacity(n);
        for (i, s) in slots.iter().enumerate() {
            if s.alive && by_track.insert(s.track, i).is_some() {
                return Err(bad(&format!("track {} is listed twice", s.track)));
            }
        }
        Ok(Self {
            hnsw,
            slots,
            vectors,
            by_track,
            skipped,
            last_seq,
            library: library.to_path_buf(),
            exact_below: EXACT_BELOW,
        })
    }
}

/// The last sequence number the library's change log handed out (0 when none).
fn change_head(lib: &Library) -> Result<i64, SegueError> {
    lib.conn()
        .query_row(
            "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'index_changes'), 0)",
            [],
            |r| r.get(0),
        )
        .map_err(|e| index_err(lib.path(), e.to_string()))
}

fn file_hash(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut h = blake3::Hasher::new();
    h.update_reader(std::fs::File::open(path)?)?;
    Ok(*h.finalize().as_bytes())
}

fn read_u32(r: &mut impl Read) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn read_i64(r: &mut impl Read) -> std::io::Result<i64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(i64::from_le_bytes(b))
}

/// Brings the saved index of `lib` up to date with the library (what `segue library add`
/// runs after a scan): load, apply the changes, save.
pub fn update(lib: &Library) -> Result<SyncReport, SegueError> {
    SimilarityIndex::open(lib).map(|(_, r)| r)
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<SimilarityIndex>();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(bpm: f32, key: &str, energy: u8) -> TrackMeta {
        TrackMeta {
            bpm,
            key: key.parse().ok(),
            energy,
        }
    }

    #[test]
    fn tempo_filter_counts_half_and_double_tempo() {
        let f = Filter::default().bpm(120.0, 130.0);
        assert!(f.matches(&meta(125.0, "8A", 5)));
        assert!(f.matches(&meta(62.5, "8A", 5)));
        assert!(f.matches(&meta(250.0, "8A", 5)));
        assert!(!f.matches(&meta(140.0, "8A", 5)));
        assert!(
            !f.matches(&meta(0.0, "8A", 5)),
            "unknown tempo never matches a range"
        );
        assert!(!f.clone().exact_tempo().matches(&meta(62.5, "8A", 5)));
    }

    #[test]
    fn key_filter_is_the_camelot_neighbourhood() {
        let f = Filter::default().key("8A".parse().unwrap());
        for ok in ["8A", "7A", "9A", "8B"] {
            assert!(f.matches(&meta(120.0, ok, 5)), "{ok}");
        }
        for no in ["10A", "9B", "3A", "7B"] {
            assert!(!f.matches(&meta(120.0, no, 5)), "{no}");
        }
        assert!(!f.matches(&TrackMeta {
            bpm: 120.0,
            key: None,
            energy: 5
        }));
    }

    #[test]
    fn bad_vectors_are_refused() {
        assert!(unit_vector(&[0.0; COMPACT_DIMS]).is_none());
        assert!(unit_vector(&[1.0; 3]).is_none());
        let mut v = vec![1.0; COMPACT_DIMS];
        v[3] = f32::NAN;
        assert!(unit_vector(&v).is_none());
        let u = unit_vector(&[2.0; COMPACT_DIMS]).unwrap();
        assert!((u.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
    }
}
