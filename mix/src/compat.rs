//! "B after A": a score from harmony, tempo, energy flow, timbre (DNA) and play history,
//! with its explanation as data and as one line a DJ reads at a glance:
//! `8A → 9A · 124 → 126 BPM (+1.6 %) · energy 6 → 7 · timbre 0.83 · played after it twice`.

use serde::{Deserialize, Serialize};

use segue_analysis::music::Key;
use segue_analysis::Analysis;

/// What the score needs to know of a track (taken from its analysis).
#[derive(Debug, Clone, PartialEq)]
pub struct TrackFacts {
    /// Tempo, BPM.
    pub bpm: f64,
    /// Key, if the analysis found one.
    pub key: Option<Key>,
    /// Energy 1..=10.
    pub energy: u8,
    /// Compact DNA vector (unit length; empty when unknown).
    pub dna: Vec<f32>,
}

impl TrackFacts {
    /// The facts of an analysed track.
    pub fn of(a: &Analysis) -> TrackFacts {
        TrackFacts {
            bpm: a.bpm,
            key: a.key.parse().ok(),
            energy: a.energy,
            dna: a.dna.clone(),
        }
    }
}

/// Where the set's energy should go next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnergyFlow {
    /// Build: one level up is best.
    Up,
    /// Hold the level.
    #[default]
    Steady,
    /// Wind down: one level down is best.
    Down,
    /// Peak time: the highest energy is best.
    Peak,
}

impl std::str::FromStr for EnergyFlow {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "up" => Ok(EnergyFlow::Up),
            "steady" => Ok(EnergyFlow::Steady),
            "down" => Ok(EnergyFlow::Down),
            "peak" => Ok(EnergyFlow::Peak),
            _ => Err(format!("energy flow `{s}`: use up, steady, down or peak")),
        }
    }
}

/// How B's key relates to A's on the Camelot wheel (after B's key shift, if any).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Harmony {
    /// The same key.
    Same,
    /// One step clockwise (a fifth up).
    Up,
    /// One step anticlockwise (a fifth down).
    Down,
    /// Relative major/minor (same number, other letter).
    Relative,
    /// Two steps clockwise: the "energy boost" (a whole tone up).
    Boost,
    /// Not a harmonic mix.
    Clash,
    /// One of the two keys is unknown.
    Unknown,
}

impl Harmony {
    /// Between A's key and B's.
    pub fn between(a: Option<Key>, b: Option<Key>) -> Harmony {
        let (Some(a), Some(b)) = (a, b) else {
            return Harmony::Unknown;
        };
        let [same, up, down, relative] = a.compatible();
        if b == same {
            Harmony::Same
        } else if b == up {
            Harmony::Up
        } else if b == down {
            Harmony::Down
        } else if b == relative {
            Harmony::Relative
        } else if b == Key::new(a.tonic + 2, a.mode) {
            Harmony::Boost
        } else {
            Harmony::Clash
        }
    }

    /// 0..1.
    pub fn score(self) -> f64 {
        match self {
            Harmony::Same => 1.0,
            Harmony::Up | Harmony::Down => 0.9,
            Harmony::Relative => 0.85,
            Harmony::Boost => 0.65,
            Harmony::Unknown => 0.5,
            Harmony::Clash => 0.0,
        }
    }

    /// A harmonic mix (unknown keys are not).
    pub fn compatible(self) -> bool {
        !matches!(self, Harmony::Clash | Harmony::Unknown)
    }
}

/// What the score may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prefs {
    /// The deck's pitch range, percent: tempos further apart than this (after half/double
    /// time) cannot be beat-matched and get an echo/loop-out transition.
    pub pitch_range: f64,
    /// Key shift B by up to this many semitones (key lock keeps the tempo) when that makes
    /// the mix harmonic; 0 = never.
    pub max_key_shift: u8,
    /// Where the energy should go.
    pub flow: EnergyFlow,
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            pitch_range: 8.0,
            max_key_shift: 0,
            flow: EnergyFlow::Steady,
        }
    }
}

/// The score of B after A and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compat {
    /// 0..1, higher is better.
    pub score: f64,
    /// A's Camelot code (or `?`).
    pub from_key: String,
    /// B's Camelot code after its key shift (or `?`).
    pub to_key: String,
    /// Harmonic relation.
    pub harmony: Harmony,
    /// Semitones B is shifted by (key lock on).
    pub key_shift: i8,
    /// A's tempo.
    pub from_bpm: f64,
    /// B's tempo, folded to half/double time when that is closer.
    pub to_bpm: f64,
    /// B's tempo change to match A, percent.
    pub tempo_change: f64,
    /// The tempos can be matched within the pitch range.
    pub tempo_matchable: bool,
    /// Energy levels.
    pub energy: (u8, u8),
    /// DNA (timbre, harmony, rhythm) cosine similarity, if both have DNA.
    pub timbre: Option<f64>,
    /// Times B followed A in past sessions and imported playlists.
    pub history: u32,
    /// The one-line explanation.
    pub line: String,
}

/// B's tempo folded to half or double time when that is closer to A's; returns the folded
/// tempo and the fold factor (B beats per A beat is its inverse).
pub fn fold_tempo(a_bpm: f64, b_bpm: f64) -> (f64, f64) {
    if a_bpm <= 0.0 || b_bpm <= 0.0 {
        return (b_bpm, 1.0);
    }
    let ratio = a_bpm / b_bpm;
    let k = if ratio > 1.5 {
        2.0
    } else if ratio < 0.75 {
        0.5
    } else {
        1.0
    };
    (b_bpm * k, k)
}

/// Cosine similarity of two vectors of the same length (None otherwise or when zero).
pub fn cosine(a: &[f32], b: &[f32]) -> Option<f64> {
    if a.is_empty() || a.len() != b.len() {
        return None;
    }
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (*x as f64, *y as f64);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    (aa > 0.0 && bb > 0.0).then(|| ab / (aa.sqrt() * bb.sqrt()))
}

/// Weights of the parts of the score (they sum to 1).
const W_HARMONY: f64 = 0.30;
const W_TEMPO: f64 = 0.25;
const W_ENERGY: f64 = 0.15;
const W_TIMBRE: f64 = 0.20;
const W_HISTORY: f64 = 0.10;

/// Score B after A. `history` is how often B followed A before.
pub fn score(a: &TrackFacts, b: &TrackFacts, history: u32, prefs: &Prefs) -> Compat {
    // Harmony, trying key shifts of B when allowed (a shift costs a little).
    let mut best = (Harmony::between(a.key, b.key), 0i8, b.key);
    let mut best_score = best.0.score();
    if let Some(bk) = b.key.filter(|_| prefs.max_key_shift > 0) {
        let m = prefs.max_key_shift.min(6) as i8;
        for s in (-m..=m).filter(|s| *s != 0) {
            let shifted = Key::new((bk.tonic as i8 + s).rem_euclid(12) as u8, bk.mode);
            let h = Harmony::between(a.key, Some(shifted));
            let sc = h.score() - 0.08 * s.unsigned_abs() as f64;
            if h.compatible() && sc > best_score {
                best = (h, s, Some(shifted));
                best_score = sc;
            }
        }
    }
    let (harmony, key_shift, to_key) = best;

    let (to_bpm, _) = fold_tempo(a.bpm, b.bpm);
    let tempo_change = if to_bpm > 0.0 {
        (a.bpm / to_bpm - 1.0) * 100.0
    } else {
        0.0
    };
    let tempo_matchable = a.bpm > 0.0 && to_bpm > 0.0 && tempo_change.abs() <= prefs.pitch_range;
    let tempo_score = if tempo_matchable {
        1.0 - 0.6 * tempo_change.abs() / prefs.pitch_range.max(1e-6)
    } else {
        0.0
    };

    let (ea, eb) = (a.energy as i32, b.energy as i32);
    let want = match prefs.flow {
        EnergyFlow::Up => ea + 1,
        EnergyFlow::Steady => ea,
        EnergyFlow::Down => ea - 1,
        EnergyFlow::Peak => 10,
    };
    let energy_score = (1.0 - (eb - want).abs() as f64 / 4.0).max(0.0);

    let timbre = cosine(&a.dna, &b.dna);
    let timbre_score = timbre.map_or(0.5, |c| c.max(0.0));
    let history_score = (history as f64 / 3.0).min(1.0);

    let score = W_HARMONY * best_score.max(0.0)
        + W_TEMPO * tempo_score
        + W_ENERGY * energy_score
        + W_TIMBRE * timbre_score
        + W_HISTORY * history_score;

    let code = |k: Option<Key>| k.map_or_else(|| "?".to_string(), |k| k.camelot());
    let mut c = Compat {
        score,
        from_key: code(a.key),
        to_key: code(to_key),
        harmony,
        key_shift,
        from_bpm: a.bpm,
        to_bpm,
        tempo_change,
        tempo_matchable,
        energy: (a.energy, b.energy),
        timbre,
        history,
        line: String::new(),
    };
    c.line = explain(&c);
    c
}

/// `8A → 9A · 124 → 126 BPM (+1.6 %) · energy 6 → 7 · timbre 0.83 · played after it twice`.
fn explain(c: &Compat) -> String {
    let mut parts = Vec::new();
    let shift = match c.key_shift {
        0 => String::new(),
        s => format!(" (key {s:+})"),
    };
    let clash = if c.harmony == Harmony::Clash {
        " (clash)"
    } else {
        ""
    };
    parts.push(format!("{} → {}{shift}{clash}", c.from_key, c.to_key));
    // The change B makes to meet A, as the DJ sees it: B's tempo relative to A's.
    let change = (c.to_bpm / c.from_bpm.max(1e-9) - 1.0) * 100.0;
    let tempo = format!("{:.0} → {:.0} BPM ({:+.1} %)", c.from_bpm, c.to_bpm, change);
    parts.push(if c.tempo_matchable {
        tempo
    } else {
        format!("{tempo}, too far to sync")
    });
    parts.push(format!("energy {} → {}", c.energy.0, c.energy.1));
    if let Some(t) = c.timbre {
        parts.push(format!("timbre {t:.2}"));
    }
    match c.history {
        0 => {}
        1 => parts.push("played after it once".into()),
        2 => parts.push("played after it twice".into()),
        n => parts.push(format!("played after it {n} times")),
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(bpm: f64, key: &str, energy: u8) -> TrackFacts {
        TrackFacts {
            bpm,
            key: key.parse().ok(),
            energy,
            dna: vec![],
        }
    }

    #[test]
    fn harmony_follows_the_camelot_wheel() {
        let k = |s: &str| s.parse::<Key>().ok();
        assert_eq!(Harmony::between(k("8A"), k("8A")), Harmony::Same);
        assert_eq!(Harmony::between(k("8A"), k("9A")), Harmony::Up);
        assert_eq!(Harmony::between(k("8A"), k("7A")), Harmony::Down);
        assert_eq!(Harmony::between(k("8A"), k("8B")), Harmony::Relative);
        assert_eq!(Harmony::between(k("8A"), k("10A")), Harmony::Boost);
        assert_eq!(Harmony::between(k("8A"), k("3B")), Harmony::Clash);
        assert_eq!(Harmony::between(None, k("3B")), Harmony::Unknown);
        assert_eq!(Harmony::between(k("12B"), k("1B")), Harmony::Up);
    }

    #[test]
    fn tempo_folds_to_half_and_double_time() {
        assert_eq!(fold_tempo(174.0, 87.0), (174.0, 2.0));
        assert_eq!(fold_tempo(87.0, 174.0), (87.0, 0.5));
        assert_eq!(fold_tempo(124.0, 126.0), (126.0, 1.0));
    }

    #[test]
    fn the_line_explains_the_score() {
        let mut a = facts(124.0, "8A", 6);
        let mut b = facts(126.0, "9A", 7);
        a.dna = vec![1.0, 0.0];
        b.dna = vec![0.83, (1.0f32 - 0.83 * 0.83).sqrt()];
        let c = score(
            &a,
            &b,
            2,
            &Prefs {
                flow: EnergyFlow::Up,
                ..Prefs::default()
            },
        );
        assert_eq!(
            c.line,
            "8A → 9A · 124 → 126 BPM (+1.6 %) · energy 6 → 7 · timbre 0.83 · played after it twice"
        );
        assert!(c.tempo_matchable);
        assert!(c.score > 0.8, "{}", c.score);
    }

    #[test]
    fn better_matches_score_higher() {
        let p = Prefs::default();
        let a = facts(124.0, "8A", 6);
        let good = score(&a, &facts(125.0, "8A", 6), 0, &p).score;
        let far_key = score(&a, &facts(125.0, "3B", 6), 0, &p).score;
        let far_tempo = score(&a, &facts(140.0, "8A", 6), 0, &p);
        assert!(good > far_key && good > far_tempo.score);
        assert!(!far_tempo.tempo_matchable);
        assert!(
            far_tempo.line.contains("too far to sync"),
            "{}",
            far_tempo.line
        );
        // Peak time prefers the higher-energy track.
        let peak = Prefs {
            flow: EnergyFlow::Peak,
            ..p
        };
        assert!(
            score(&a, &facts(125.0, "8A", 9), 0, &peak).score
                > score(&a, &facts(125.0, "8A", 5), 0, &peak).score
        );
    }

    #[test]
    fn a_key_shift_makes_a_clash_harmonic_when_allowed() {
        let a = facts(124.0, "8A", 6); // A minor
        let b = facts(124.0, "A# minor", 6); // 3A: a clash
        assert_eq!(score(&a, &b, 0, &Prefs::default()).harmony, Harmony::Clash);
        let c = score(
            &a,
            &b,
            0,
            &Prefs {
                max_key_shift: 2,
                ..Prefs::default()
            },
        );
        assert_eq!((c.harmony, c.key_shift), (Harmony::Same, -1));
        assert!(c.line.starts_with("8A → 8A (key -1)"), "{}", c.line);
    }
}
