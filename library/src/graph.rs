//! Play history as a transition graph, and recommendations from it blended with DNA
//! similarity.
//!
//! * **Sessions** ([`PlaySession`]): a live set in Segue (the deck service of `segue serve`
//!   and the plugin records every track that was on air long enough, see
//!   [`crate::decks`]) or an imported playlist ([`crate::import`]). Each play in a session
//!   is stored in `play_history` with its session, and each pair of consecutive tracks as a
//!   row of `transitions(session_id, from_track, to_track)`.
//! * **The graph** ([`TransitionGraph`]): tracks are nodes; `from → to` weighs the number of
//!   sessions' transitions between them (the reverse direction counts
//!   [`REVERSE_WEIGHT`] as much: a DJ who played B after A would often play A after B).
//! * **Recommendations** ([`recommend`]): personalised PageRank from the current track
//!   (restart probability [`RESTART`], computed by local push to precision [`PUSH_EPSILON`],
//!   so the cost follows the neighbourhood, not the library size), blended with DNA
//!   similarity from the [`SimilarityIndex`]: `score = blend · graph + (1 − blend) · dna`,
//!   both scaled to 0..=1 over the candidates. With no history around the track the answer
//!   is DNA similarity alone.
//!
//! `cargo xtask eval --recommend` measures hit-rate@10 of held-out transitions for
//! graph + DNA, DNA alone and random picks (README, "Recommendations").
//!
//! ```no_run
//! use segue_library::{graph, index::{Filter, SimilarityIndex}, Library};
//! let lib = Library::open("library.sqlite".as_ref())?;
//! let (index, _) = SimilarityIndex::open(&lib)?;
//! let graph = graph::TransitionGraph::load(&lib)?;
//! for r in graph::recommend(&graph, &index, 12, 10, graph::DEFAULT_BLEND, &Filter::default())? {
//!     let timbre = r.similarity.unwrap_or(0.0);
//!     println!("{} {:.2} (played after it {}×, timbre {timbre:.2})", r.track, r.score, r.played_after);
//! }
//! # Ok::<(), segue_decode::SegueError>(())
//! ```

use std::collections::HashMap;

use rusqlite::params;
use serde::Serialize;

use crate::index::{Filter, SimilarityIndex};
use crate::store::{db_err, now};
use crate::{Library, SegueError, TrackId};

/// A session's row id.
pub type SessionId = i64;

/// Weight of `B → A` for every `A → B` transition.
pub const REVERSE_WEIGHT: f64 = 0.5;
/// Personalised PageRank restart probability.
pub const RESTART: f64 = 0.3;
/// Local-push precision of the personalised PageRank.
pub const PUSH_EPSILON: f64 = 1e-4;
/// The blend [`recommend`] callers should start from (measured best in
/// `cargo xtask eval --recommend`).
pub const DEFAULT_BLEND: f32 = 0.6;

/// Where a session's plays came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionKind {
    /// Played live in Segue (daemon or plugin).
    Live,
    /// An imported playlist or history file.
    Playlist,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            SessionKind::Live => "live",
            SessionKind::Playlist => "playlist",
        }
    }
}

/// A session being recorded: each [`played`](Self::played) track is a play, and the pair
/// (previous track → this one) a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaySession {
    id: SessionId,
    last: Option<TrackId>,
}

impl PlaySession {
    /// Starts a session named `name` (`source`: the imported file, if any).
    pub fn start(
        lib: &Library,
        kind: SessionKind,
        name: &str,
        source: Option<&str>,
    ) -> Result<Self, SegueError> {
        lib.conn()
            .execute(
                "INSERT INTO sessions (kind, name, source, started_at) VALUES (?, ?, ?, ?)",
                params![kind.as_str(), name, source, now()],
            )
            .map_err(db_err(lib.path()))?;
        Ok(Self {
            id: lib.conn().last_insert_rowid(),
            last: None,
        })
    }

    /// The session's id.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// The track played last in this session.
    pub fn last(&self) -> Option<TrackId> {
        self.last
    }

    /// Forgets the previous track: the next play starts a new chain (an unknown playlist
    /// entry, or a gap in a live session), no transition across.
    pub fn break_chain(&mut self) {
        self.last = None;
    }

    /// Records that `track` was played now, after the session's previous track (a track
    /// played twice in a row is one play, no transition). One transaction.
    pub fn played(&mut self, lib: &Library, track: TrackId) -> Result<(), SegueError> {
        if self.last == Some(track) {
            return Ok(());
        }
        let at = now();
        let conn = lib.conn();
        let run = || -> rusqlite::Result<()> {
            conn.execute_batch("SAVEPOINT played")?;
            conn.execute(
                "INSERT INTO play_history (track_id, played_at, context, session_id)
                 VALUES (?, ?, NULL, ?)",
                params![track, at, self.id],
            )?;
            if let Some(prev) = self.last {
                conn.execute(
                    "INSERT INTO transitions (session_id, from_track, to_track, at)
                     VALUES (?, ?, ?, ?)",
                    params![self.id, prev, track, at],
                )?;
            }
            conn.execute_batch("RELEASE played")
        };
        if let Err(e) = run() {
            let _ = conn.execute_batch("ROLLBACK TO played; RELEASE played");
            return Err(match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    SegueError::Library {
                        path: lib.path().to_path_buf(),
                        reason: format!("no track with id {track} (or the session is gone)"),
                    }
                }
                e => db_err(lib.path())(e),
            });
        }
        self.last = Some(track);
        Ok(())
    }
}

/// A session with its tracks in play order (an imported playlist's entries that are in the
/// library, in file order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionTracks {
    /// Row id.
    pub id: SessionId,
    /// Live set or imported playlist.
    pub kind: SessionKind,
    /// Its name (playlist file stem, rekordbox folder path, or the live set's name).
    pub name: String,
    /// Its plays, in order.
    pub tracks: Vec<TrackId>,
}

/// Every session of `kind`, oldest first, with its plays in order (what the headless
/// browser of `segue serve` lists as playlists).
pub fn sessions(lib: &Library, kind: SessionKind) -> Result<Vec<SessionTracks>, SegueError> {
    let conn = lib.conn();
    let mut stmt = conn
        .prepare("SELECT id, name FROM sessions WHERE kind = ? ORDER BY id")
        .map_err(db_err(lib.path()))?;
    let heads = stmt
        .query_map([kind.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<(SessionId, String)>>>())
        .map_err(db_err(lib.path()))?;
    let mut plays = conn
        .prepare("SELECT track_id FROM play_history WHERE session_id = ? ORDER BY id")
        .map_err(db_err(lib.path()))?;
    heads
        .into_iter()
        .map(|(id, name)| {
            let tracks = plays
                .query_map([id], |r| r.get(0))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<TrackId>>>())
                .map_err(db_err(lib.path()))?;
            Ok(SessionTracks {
                id,
                kind,
                name,
                tracks,
            })
        })
        .collect()
}

/// How often `from` was followed by `to`, over all sessions (live and imported).
pub fn transition_count(lib: &Library, from: TrackId, to: TrackId) -> Result<u32, SegueError> {
    lib.conn()
        .query_row(
            "SELECT count(*) FROM transitions WHERE from_track = ? AND to_track = ?",
            [from, to],
            |r| r.get(0),
        )
        .map_err(db_err(lib.path()))
}

/// The transition graph of a library, in memory (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct TransitionGraph {
    /// Node id → outgoing (node, weight).
    edges: Vec<Vec<(u32, f64)>>,
    /// Node id → sum of outgoing weights.
    out_weight: Vec<f64>,
    /// Directed transition counts `from → to`.
    counts: HashMap<(TrackId, TrackId), u32>,
    nodes: Vec<TrackId>,
    node_of: HashMap<TrackId, u32>,
}

impl TransitionGraph {
    /// The graph of every transition in the library.
    pub fn load(lib: &Library) -> Result<Self, SegueError> {
        let mut stmt = lib
            .conn()
            .prepare("SELECT from_track, to_track FROM transitions")
            .map_err(db_err(lib.path()))?;
        let pairs = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<(TrackId, TrackId)>>>())
            .map_err(db_err(lib.path()))?;
        Ok(Self::from_transitions(pairs))
    }

    /// The graph of the given `(from, to)` transitions.
    pub fn from_transitions(pairs: impl IntoIterator<Item = (TrackId, TrackId)>) -> Self {
        let mut g = Self::default();
        let mut weights: HashMap<(u32, u32), f64> = HashMap::new();
        for (from, to) in pairs {
            if from == to {
                continue;
            }
            *g.counts.entry((from, to)).or_default() += 1;
            let (a, b) = (g.node(from), g.node(to));
            *weights.entry((a, b)).or_default() += 1.0;
            *weights.entry((b, a)).or_default() += REVERSE_WEIGHT;
        }
        g.edges = vec![Vec::new(); g.nodes.len()];
        g.out_weight = vec![0.0; g.nodes.len()];
        let mut sorted: Vec<_> = weights.into_iter().collect();
        sorted.sort_by_key(|((a, b), _)| (*a, *b));
        for ((a, b), w) in sorted {
            g.edges[a as usize].push((b, w));
            g.out_weight[a as usize] += w;
        }
        g
    }

    fn node(&mut self, track: TrackId) -> u32 {
        if let Some(&n) = self.node_of.get(&track) {
            return n;
        }
        let n = self.nodes.len() as u32;
        self.nodes.push(track);
        self.node_of.insert(track, n);
        n
    }

    /// Number of transitions (all sessions).
    pub fn transitions(&self) -> usize {
        self.counts.values().map(|&c| c as usize).sum()
    }

    /// Number of tracks with at least one transition.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there is no transition at all.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// How often `from` was followed by `to`.
    pub fn count(&self, from: TrackId, to: TrackId) -> u32 {
        self.counts.get(&(from, to)).copied().unwrap_or(0)
    }

    /// Personalised PageRank from `from` (local push, Andersen–Chung–Lang: a node is
    /// pushed while its residual is at least [`PUSH_EPSILON`] × its weighted degree, so the
    /// work is bounded by about 1 / (ε · [`RESTART`]) pushes whatever the graph's size):
    /// track → probability mass, `from` itself left out; empty when `from` has no
    /// transitions.
    pub fn personalised_pagerank(&self, from: TrackId) -> HashMap<TrackId, f64> {
        let Some(&start) = self.node_of.get(&from) else {
            return HashMap::new();
        };
        let n = self.nodes.len();
        let mut p = vec![0f64; n];
        let mut r = vec![0f64; n];
        let mut queued = vec![false; n];
        let mut touched: Vec<u32> = vec![start];
        r[start as usize] = 1.0;
        queued[start as usize] = true;
        let mut queue = std::collections::VecDeque::from([start]);
        let threshold = |u: usize| PUSH_EPSILON * self.out_weight[u].max(1.0);
        let mut pushes = 0usize;
        while let Some(u) = queue.pop_front() {
            let u = u as usize;
            queued[u] = false;
            let ru = r[u];
            let deg = self.out_weight[u];
            if deg <= 0.0 {
                p[u] += ru; // a dead end keeps its mass
                r[u] = 0.0;
                continue;
            }
            if ru < threshold(u) {
                continue;
            }
            pushes += 1;
            if pushes > 100_000 {
                break;
            }
            p[u] += RESTART * ru;
            r[u] = 0.0;
            let spread = (1.0 - RESTART) * ru / deg;
            for &(v, w) in &self.edges[u] {
                let vi = v as usize;
                if r[vi] == 0.0 && p[vi] == 0.0 {
                    touched.push(v);
                }
                r[vi] += spread * w;
                if !queued[vi] && r[vi] >= threshold(vi) {
                    queued[vi] = true;
                    queue.push_back(v);
                }
            }
        }
        touched.sort_unstable();
        touched.dedup();
        touched
            .into_iter()
            .filter(|&v| v != start && p[v as usize] > 0.0)
            .map(|v| (self.nodes[v as usize], p[v as usize]))
            .collect()
    }
}

/// One suggested next track, with what went into its score (the explanation as data).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// The track.
    pub track: TrackId,
    /// Blended score, 0..=1, higher is better.
    pub score: f32,
    /// Graph part: personalised PageRank scaled to 0..=1 over the candidates (0 without
    /// history).
    pub graph: f32,
    /// Cosine similarity of the DNA vectors (−1..=1), when both tracks are indexed.
    pub similarity: Option<f32>,
    /// How often it was played right after the current track.
    pub played_after: u32,
}

/// The `n` best next tracks after `from`: personalised PageRank on `graph` blended with DNA
/// similarity from `index` (`blend` 0 = DNA only, 1 = history only; see the module doc),
/// among the tracks `filter` lets through (`from` never among them). Deterministic: ties go
/// to the lower track id.
///
/// Errors only when the index cannot answer (e.g. a bad stored vector); a track that is not
/// indexed gets graph-only recommendations.
pub fn recommend(
    graph: &TransitionGraph,
    index: &SimilarityIndex,
    from: TrackId,
    n: usize,
    blend: f32,
    filter: &Filter,
) -> Result<Vec<Recommendation>, SegueError> {
    let blend = f64::from(blend.clamp(0.0, 1.0));
    let pool = (n * 5).max(50);
    let dna: Vec<(TrackId, f32)> = if index.contains(from) && blend < 1.0 {
        index.similar(from, pool, filter)?
    } else {
        Vec::new()
    };
    let ppr = if blend > 0.0 {
        graph.personalised_pagerank(from)
    } else {
        HashMap::new()
    };
    let mut walk: Vec<(TrackId, f64)> = ppr
        .into_iter()
        .filter(|(t, _)| *t != from && !filter.exclude.contains(t))
        .filter(|(t, _)| filter.is_open() || index.meta(*t).is_some_and(|m| filter.matches(&m)))
        .collect();
    walk.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    walk.truncate(pool);
    let top_walk = walk.first().map_or(0.0, |w| w.1);
    let (lo, hi) = dna.iter().fold((f32::MAX, f32::MIN), |(lo, hi), d| {
        (lo.min(d.1), hi.max(d.1))
    });
    let mut cands: HashMap<TrackId, (f64, Option<f32>)> = HashMap::new();
    for &(t, m) in &walk {
        cands.entry(t).or_insert((0.0, None)).0 = m / top_walk;
    }
    for &(t, s) in &dna {
        cands.entry(t).or_insert((0.0, None)).1 = Some(s);
    }
    let from_vec = index.vector(from);
    let mut out: Vec<Recommendation> = cands
        .into_iter()
        .map(|(t, (g, s))| {
            let s = s.or_else(|| {
                let (a, b) = (from_vec?, index.vector(t)?);
                Some(a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>())
            });
            let dna_part = match s {
                Some(s) if hi > lo => f64::from(((s - lo) / (hi - lo)).clamp(0.0, 1.0)),
                Some(_) if !dna.is_empty() => 1.0,
                _ => 0.0,
            };
            // With no history around `from` the graph part is 0 for all: DNA decides.
            let score = if top_walk > 0.0 {
                blend * g + (1.0 - blend) * dna_part
            } else {
                dna_part
            };
            Recommendation {
                track: t,
                score: score as f32,
                graph: g as f32,
                similarity: s,
                played_after: graph.count(from, t),
            }
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.track.cmp(&b.track)));
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagerank_follows_the_transitions() {
        // 1 → 2 often, 1 → 3 once, 2 → 4, nothing reaches 5.
        let g = TransitionGraph::from_transitions([(1, 2), (1, 2), (1, 2), (1, 3), (2, 4), (5, 6)]);
        let p = g.personalised_pagerank(1);
        assert!(p[&2] > p[&3], "{p:?}");
        assert!(p.contains_key(&4), "two steps away is reachable: {p:?}");
        assert!(!p.contains_key(&5) && !p.contains_key(&1), "{p:?}");
        let total: f64 = p.values().sum();
        assert!(total <= 1.0 + 1e-9);
        assert!(g.personalised_pagerank(99).is_empty());
        assert_eq!((g.count(1, 2), g.count(2, 1)), (3, 0));
    }
}
