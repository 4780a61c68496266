//! Evaluation of the analysis against ground truth: the standard MIR metrics and the
//! fixture set they are measured on. Used by the accuracy tests and `cargo xtask eval`.

use crate::{DemoSpec, SectionLabel, Style};
use segue_analysis::music::Key;

/// Tempo Acc1: within 4 % of the true tempo.
pub fn tempo_acc1(est: f64, truth: f64) -> bool {
    truth > 0.0 && (est - truth).abs() <= 0.04 * truth
}

/// Tempo Acc2: Acc1, or within 4 % of 2×, 3×, ½ or ⅓ of the truth (octave errors allowed).
pub fn tempo_acc2(est: f64, truth: f64) -> bool {
    [1.0, 2.0, 3.0, 0.5, 1.0 / 3.0]
        .iter()
        .any(|m| tempo_acc1(est, truth * m))
}

/// F-measure of event times (beats, downbeats, boundaries) with a ± `tol` seconds window;
/// each estimate matches at most one truth. Both lists must be sorted (greedy matching in
/// time order, which is optimal when windows do not overlap). Two empty lists score 1.
pub fn f_measure(est: &[f64], truth: &[f64], tol: f64) -> f64 {
    if est.is_empty() && truth.is_empty() {
        return 1.0;
    }
    if est.is_empty() || truth.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut hits) = (0, 0, 0usize);
    while i < est.len() && j < truth.len() {
        let d = est[i] - truth[j];
        if d.abs() <= tol {
            hits += 1;
            i += 1;
            j += 1;
        } else if d < 0.0 {
            i += 1;
        } else {
            j += 1;
        }
    }
    if hits == 0 {
        return 0.0;
    }
    let p = hits as f64 / est.len() as f64;
    let r = hits as f64 / truth.len() as f64;
    2.0 * p * r / (p + r)
}

/// MIREX weighted key score: 1 same key, 0.5 a perfect fifth away (same mode), 0.3 relative
/// major/minor, 0.2 parallel major/minor, else 0.
pub fn key_score(est: Key, truth: Key) -> f64 {
    if est == truth {
        return 1.0;
    }
    if est.mode == truth.mode {
        let up = (truth.tonic + 7) % 12;
        let down = (truth.tonic + 5) % 12;
        return if est.tonic == up || est.tonic == down {
            0.5
        } else {
            0.0
        };
    }
    if est == truth.relative() {
        return 0.3;
    }
    if est.tonic == truth.tonic {
        return 0.2;
    }
    0.0
}

/// The ground-truth fixture set: 32 short tracks covering 70-180 BPM (fractional tempos,
/// half-time trap and hip-hop, drum & bass), all 24 keys, pickups, leading silence,
/// drum-less intros and several section layouts. Deterministic.
pub fn fixture_set() -> Vec<DemoSpec> {
    use SectionLabel::*;
    let bpms = [
        70.0, 74.5, 80.0, 85.0, 88.0, 90.0, 93.5, 97.0, 100.0, 105.0, 110.0, 115.5, 118.0, 120.0,
        122.0, 123.7, 124.0, 125.0, 126.0, 127.5, 128.0, 130.0, 133.0, 136.0, 138.0, 140.0, 145.0,
        150.0, 160.0, 170.0, 171.5, 174.0,
    ];
    let layouts: [&[(SectionLabel, u32)]; 4] = [
        &[(Intro, 8), (Drop, 8), (Break, 4), (Drop, 8), (Outro, 4)],
        &[(Intro, 4), (Verse, 8), (Build, 4), (Drop, 8), (Outro, 4)],
        &[
            (Intro, 8),
            (Build, 4),
            (Drop, 8),
            (Break, 4),
            (Build, 4),
            (Drop, 8),
            (Outro, 4),
        ],
        &[(Intro, 4), (Verse, 8), (Drop, 8), (Outro, 4)],
    ];
    bpms.iter()
        .enumerate()
        .map(|(i, &bpm)| {
            let key = Key::ALL[(i * 7) % 24];
            let style = if bpm >= 165.0 {
                Style::Breakbeat
            } else if bpm <= 100.0 {
                Style::HalfTime
            } else {
                Style::FourOnFloor
            };
            let tempo = format!("{bpm}").replace('.', "-");
            let name = format!("fx{i:02}-{tempo}-{}", key.camelot().to_lowercase());
            let mut s = DemoSpec::new(&name, bpm, key, style)
                .sections(layouts[i % 4])
                .seed(1000 + i as u64);
            if i % 5 == 1 {
                s = s.lead_in(0.5 + (i % 3) as f64);
            }
            if i % 7 == 3 {
                s = s.pickup(1 + (i % 3) as u32);
            }
            if i % 6 == 2 {
                s = s.drumless_intro();
            }
            s
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use segue_analysis::music::Mode;

    #[test]
    fn metrics_behave_like_the_mir_definitions() {
        assert!(tempo_acc1(124.0, 125.0) && !tempo_acc1(62.0, 125.0) && tempo_acc2(62.5, 125.0));
        assert_eq!(
            f_measure(&[1.0, 2.0, 3.0], &[1.05, 2.0, 3.1], 0.07),
            2.0 / 3.0
        );
        assert_eq!(f_measure(&[], &[], 0.07), 1.0);
        let am = Key::new(9, Mode::Minor);
        assert_eq!(key_score(am, am), 1.0);
        assert_eq!(key_score(Key::new(4, Mode::Minor), am), 0.5);
        assert_eq!(key_score(Key::new(0, Mode::Major), am), 0.3);
        assert_eq!(key_score(Key::new(9, Mode::Major), am), 0.2);
        assert_eq!(key_score(Key::new(1, Mode::Major), am), 0.0);
    }

    #[test]
    fn the_fixture_set_covers_what_it_promises() {
        let set = fixture_set();
        assert!(set.len() >= 30);
        let mut keys: Vec<Key> = set.iter().map(|s| s.key).collect();
        keys.sort_by_key(|k| (k.tonic, k.mode == Mode::Minor));
        keys.dedup();
        assert_eq!(keys.len(), 24, "all 24 keys");
        assert!(set.iter().any(|s| s.bpm < 75.0) && set.iter().any(|s| s.bpm > 170.0));
        assert!(set.iter().any(|s| s.pickup_beats > 0));
        assert!(set.iter().any(|s| s.lead_in_silence_secs > 0.0));
        assert!(set.iter().any(|s| s.drumless_intro));
        for s in &set {
            s.validate().unwrap();
        }
    }
}
