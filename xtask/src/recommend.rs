//! `cargo xtask eval --recommend [--tracks N] [--sessions S] [--seed K]`: offline evaluation
//! of next-track recommendations (`segue_library::graph::recommend`) with held-out
//! transitions.
//!
//! The material is synthetic but built so that neither method is handed the answer:
//! * a library of `N` tracks (a real SQLite library file in a temp folder, written through
//!   `Library::add_analysis`) in 40 styles; a track's DNA is its style's random centre plus
//!   per-track noise (so DNA tells the style, not the track);
//! * a hidden taste model: every track has three favourite follow-ups (two of its style, one
//!   of the next style: the "mix into" habit DJs have), unknown to both methods;
//! * `S` sessions (12-20 tracks) walked from random tracks: the next track is a favourite of
//!   the current one with probability 0.5, another track of its style 0.3, a track of the
//!   next style 0.15, anything 0.05;
//! * the first 80 % of sessions are imported as play history (sessions and transitions in the
//!   library); every transition of the last 20 % is a query `A → ?` whose answer `B` was
//!   never in the graph as that session's transition.
//!
//! Reported: hit-rate@10 (B among the 10 recommendations for A) for graph + DNA at several
//! blends, DNA only (blend 0), history only (blend 1) and 10 random tracks, overall and for
//! query tracks the history never saw (cold start, where graph + DNA must fall back to DNA).

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use segue_analysis::dna::COMPACT_DIMS;
use segue_analysis::music::Key;
use segue_analysis::{Analysis, ANALYSER_VERSION};
use segue_library::graph::{self, PlaySession, SessionKind, TransitionGraph};
use segue_library::index::{Filter, SimilarityIndex};
use segue_library::{Library, TrackId};

use super::{value, UsageError};

const STYLES: usize = 40;
const BLENDS: [f32; 4] = [0.3, 0.5, 0.6, 0.8];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn gauss(&mut self) -> f32 {
        let (u, v) = (self.unit().max(1e-12), self.unit());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    }
}

fn analysis(dna: Vec<f32>, rng: &mut Rng) -> Analysis {
    let key = Key::ALL[rng.below(24)];
    Analysis {
        duration: 300.0,
        bpm: 118.0 + rng.unit() * 12.0,
        beats: Vec::new(),
        downbeats: Vec::new(),
        beats_per_bar: 4,
        constant_tempo: true,
        half_time: false,
        key: key.name(),
        camelot: key.camelot(),
        open_key: key.open_key(),
        key_confidence: 0.8,
        key_runner_up: None,
        lufs: -9.0,
        loudness_range: 5.0,
        true_peak_db: -1.0,
        energy: 1 + rng.below(10) as u8,
        sections: Vec::new(),
        cues: Vec::new(),
        analyser_version: ANALYSER_VERSION,
        dna_version: 1,
        dna,
    }
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let (mut n, mut sessions, mut seed) = (2000usize, 600usize, 1u64);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let parse = |v: &str| -> anyhow::Result<u64> {
            v.parse()
                .map_err(|_| UsageError(format!("{arg} {v:?}: expected a number")).into())
        };
        match arg.as_str() {
            "--recommend" => {}
            "--tracks" => n = parse(value(&mut it, arg)?)?.max(100) as usize,
            "--sessions" => sessions = parse(value(&mut it, arg)?)?.max(10) as usize,
            "--seed" => seed = parse(value(&mut it, arg)?)?,
            other => {
                return Err(
                    UsageError(format!("eval --recommend: unknown option {other:?}")).into(),
                )
            }
        }
    }
    let t0 = Instant::now();
    let mut rng = Rng(seed);
    let dir = std::env::temp_dir().join(format!("segue-eval-recommend-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = evaluate(&dir, n, sessions, &mut rng);
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    println!("({:.1} s)", t0.elapsed().as_secs_f64());
    Ok(())
}

fn evaluate(
    dir: &std::path::Path,
    n: usize,
    n_sessions: usize,
    rng: &mut Rng,
) -> anyhow::Result<()> {
    // The library: N tracks in STYLES styles.
    let centres: Vec<Vec<f32>> = (0..STYLES)
        .map(|_| (0..COMPACT_DIMS).map(|_| rng.gauss()).collect())
        .collect();
    let style: Vec<usize> = (0..n).map(|i| i % STYLES).collect();
    let mut lib = Library::open(&dir.join("library.sqlite"))?;
    let mut ids: Vec<TrackId> = Vec::with_capacity(n);
    for (i, &s) in style.iter().enumerate() {
        let path: PathBuf = dir.join(format!("track-{i:05}.flac"));
        std::fs::write(&path, format!("synthetic track {i}"))?;
        let norm = centres[s].iter().map(|x| x * x).sum::<f32>().sqrt();
        let dna: Vec<f32> = centres[s]
            .iter()
            .map(|x| x / norm + 0.07 * rng.gauss())
            .collect();
        ids.push(lib.add_analysis(&path, &analysis(dna, rng))?);
    }
    let by_style: Vec<Vec<usize>> = (0..STYLES)
        .map(|s| (0..n).filter(|&i| style[i] == s).collect())
        .collect();
    let pick = |rng: &mut Rng, s: usize, not: usize| loop {
        let c = by_style[s][rng.below(by_style[s].len())];
        if c != not {
            return c;
        }
    };
    // The hidden taste: three favourite follow-ups per track.
    let favourites: Vec<[usize; 3]> = (0..n)
        .map(|i| {
            let s = style[i];
            [
                pick(rng, s, i),
                pick(rng, s, i),
                pick(rng, (s + 1) % STYLES, i),
            ]
        })
        .collect();
    let sessions: Vec<Vec<usize>> = (0..n_sessions)
        .map(|_| {
            let len = 12 + rng.below(9);
            let mut cur = rng.below(n);
            let mut walk = vec![cur];
            while walk.len() < len {
                let u = rng.unit();
                let next = if u < 0.5 {
                    favourites[cur][rng.below(3)]
                } else if u < 0.8 {
                    pick(rng, style[cur], cur)
                } else if u < 0.95 {
                    pick(rng, (style[cur] + 1) % STYLES, cur)
                } else {
                    rng.below(n)
                };
                if next != cur {
                    walk.push(next);
                    cur = next;
                }
            }
            walk
        })
        .collect();
    let train = n_sessions * 4 / 5;
    for (k, s) in sessions[..train].iter().enumerate() {
        let mut session =
            PlaySession::start(&lib, SessionKind::Playlist, &format!("train {k}"), None)?;
        for &t in s {
            session.played(&lib, ids[t])?;
        }
    }
    let (index, _) = SimilarityIndex::open(&lib)?;
    let g = TransitionGraph::load(&lib)?;
    let seen: HashSet<TrackId> = sessions[..train]
        .iter()
        .flatten()
        .map(|&t| ids[t])
        .collect();
    let queries: Vec<(TrackId, TrackId)> = sessions[train..]
        .iter()
        .flat_map(|s| s.windows(2).map(|w| (ids[w[0]], ids[w[1]])))
        .collect();

    struct Row {
        name: String,
        hits: usize,
        cold_hits: usize,
    }
    let mut rows: Vec<Row> = Vec::new();
    let open = Filter::default();
    let cold = queries.iter().filter(|(a, _)| !seen.contains(a)).count();
    let mut method = |name: String, f: &mut dyn FnMut(TrackId) -> Vec<TrackId>| {
        let (mut hits, mut cold_hits) = (0, 0);
        for &(a, b) in &queries {
            if f(a).contains(&b) {
                hits += 1;
                if !seen.contains(&a) {
                    cold_hits += 1;
                }
            }
        }
        rows.push(Row {
            name,
            hits,
            cold_hits,
        });
    };
    let (gr, ix, op) = (&g, &index, &open);
    let rec = |blend: f32| {
        move |a: TrackId| -> Vec<TrackId> {
            graph::recommend(gr, ix, a, 10, blend, op)
                .map(|r| r.into_iter().map(|r| r.track).collect())
                .unwrap_or_default()
        }
    };
    for b in BLENDS {
        let mut f = rec(b);
        let label = if b == graph::DEFAULT_BLEND {
            format!("graph + DNA, blend {b} (default)")
        } else {
            format!("graph + DNA, blend {b}")
        };
        method(label, &mut f);
    }
    method("history only (blend 1)".into(), &mut rec(1.0));
    method("DNA only (blend 0)".into(), &mut rec(0.0));
    let mut rrng = Rng(12345);
    method("random".into(), &mut |a| {
        let mut out = Vec::with_capacity(10);
        while out.len() < 10 {
            let t = ids[rrng.below(ids.len())];
            if t != a && !out.contains(&t) {
                out.push(t);
            }
        }
        out
    });

    println!(
        "recommendations: {n} tracks in {STYLES} styles, {train} training sessions \
         ({} transitions in the graph), {} held-out transitions ({cold} from tracks the \
         history never saw)",
        g.transitions(),
        queries.len()
    );
    println!(
        "{:<38} {:>12} {:>14}",
        "method", "hit-rate@10", "cold-start"
    );
    for r in &rows {
        println!(
            "{:<38} {:>12.3} {:>14}",
            r.name,
            r.hits as f64 / queries.len().max(1) as f64,
            if cold == 0 {
                "—".to_string()
            } else {
                format!("{:.3}", r.cold_hits as f64 / cold as f64)
            }
        );
    }
    Ok(())
}
