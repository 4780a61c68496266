//! The compact vector: 128 whole-track values on fixed scales, L2-normalised.
//!
//! | dims | values | centre, scale |
//! |---|---|---|
//! | 20 | `mfcc_0` … `mfcc_19` `.mean` | -360, 40 / 80, 20 / 30, 15 / then 0, 6 (k = 3..8) and 0, 4 |
//! | 20 | `mfcc_0` … `mfcc_19` `.std` | 100, 20 / 50, 15 / 25, 10 / then 8, 4 |
//! | 12 | `mfcc_delta_1` … `mfcc_delta_12` `.std` | 1, 2 |
//! | 12 | `tonal.chroma_rel_0` … `_11` | 0.25, 0.25 |
//! | 12 | `tonnetz_*` `.mean`, then `.std` | 0, 0.2 / 0.2, 0.1 |
//! | 8 | `spectral_centroid`, `_bandwidth`, `_rolloff` `.mean` and `.std`, `spectral_flatness` `.mean` and `.std` | centroid 2500, 1000 / 2200, 800; bandwidth 3500, 1000 / 2500, 800; roll-off 6000, 2500 / 6000, 2000; flatness 0.02, 0.05 / 0.03, 0.05 |
//! | 13 | `spectral_contrast_0` … `_6` `.mean`, `_0` … `_5` `.std` | 38, 10 / 14, 5 |
//! | 2 | `zcr` `.mean`, `.std` | 0.05, 0.05 / 0, 0.05 |
//! | 4 | `rms_db` `.mean`, `.std`, `.p10`, `.p90` | -20, 10 / 5, 5 / -30, 15 / -15, 8 |
//! | 2 | `onset_strength` `.mean`, `.std` | 1.2, 0.5 / 2.8, 1 |
//! | 16 | `rhythm.step_0` … `_15` | 0.5, 0.5 |
//! | 4 | `rhythm.tempo_bpm` (as log2(bpm / 120)), `.onset_rate`, `.pulse_clarity`, `.syncopation` | 0, 0.25 / 4, 3 / 0.5, 0.25 / 0.4, 0.2 |
//! | 3 | `dynamics.dynamic_range_db`, `.crest_factor_db`, `.silence_ratio` | 15, 10 / 12, 6 / 0, 0.3 |
//!
//! The centres and scales are fixed constants (rough typical values and spreads of the
//! built-in demo set), never fitted to a collection, so vectors compare across libraries.
//!
//! Each value becomes `(v − centre) / scale`, clamped to ±4, then the vector is divided by
//! its L2 norm (a zero vector stays zero).

use super::DnaFeatures;

/// Dimensions of [`compact`]'s vector.
pub const COMPACT_DIMS: usize = 128;
/// Scaled values are clamped to this magnitude before normalisation.
const CLAMP: f32 = 4.0;

/// Centre and scale of `mfcc_k.mean`.
const MFCC_MEAN: [(f32, f32); 20] = [
    (-360.0, 40.0),
    (80.0, 20.0),
    (30.0, 15.0),
    (0.0, 6.0),
    (0.0, 6.0),
    (0.0, 6.0),
    (0.0, 6.0),
    (0.0, 6.0),
    (0.0, 6.0),
    (0.0, 4.0),
    (0.0, 4.0),
    (0.0, 4.0),
    (0.0, 4.0),
    (0.0, 4.0),
    (0.0, 4.0),
    (0.0, 4.0),
    (0.0, 4.0),
    (0.0, 4.0),
    (0.0, 4.0),
    (0.0, 4.0),
];
/// Centre and scale of `mfcc_k.std`.
const MFCC_STD: [(f32, f32); 20] = [
    (100.0, 20.0),
    (50.0, 15.0),
    (25.0, 10.0),
    (8.0, 4.0),
    (8.0, 4.0),
    (8.0, 4.0),
    (8.0, 4.0),
    (8.0, 4.0),
    (8.0, 4.0),
    (8.0, 4.0),
    (8.0, 4.0),
    (8.0, 4.0),
    (8.0, 4.0),
    (8.0, 4.0),
    (8.0, 4.0),
    (8.0, 4.0),
    (8.0, 4.0),
    (8.0, 4.0),
    (8.0, 4.0),
    (8.0, 4.0),
];
/// Centre and scale of centroid, bandwidth, roll-off (Hz) and flatness, mean then std.
const SPECTRAL: [(f32, f32); 8] = [
    (2500.0, 1000.0),
    (2200.0, 800.0),
    (3500.0, 1000.0),
    (2500.0, 800.0),
    (6000.0, 2500.0),
    (6000.0, 2000.0),
    (0.02, 0.05),
    (0.03, 0.05),
];

/// Name, centre and scale of each compact dimension, in order.
fn spec() -> Vec<(String, f32, f32)> {
    let mut s: Vec<(String, f32, f32)> = Vec::with_capacity(COMPACT_DIMS);
    let mut add = |name: String, c: f32, k: f32| s.push((name, c, k));
    for (i, &(c, k)) in MFCC_MEAN.iter().enumerate() {
        add(format!("mfcc_{i}.mean"), c, k);
    }
    for (i, &(c, k)) in MFCC_STD.iter().enumerate() {
        add(format!("mfcc_{i}.std"), c, k);
    }
    for i in 1..=12 {
        add(format!("mfcc_delta_{i}.std"), 1.0, 2.0);
    }
    for i in 0..12 {
        add(format!("tonal.chroma_rel_{i}"), 0.25, 0.25);
    }
    for (stat, c, k) in [("mean", 0.0, 0.2), ("std", 0.2, 0.1)] {
        for t in super::TONNETZ_NAMES {
            add(format!("tonnetz_{t}.{stat}"), c, k);
        }
    }
    let spectral = [
        "spectral_centroid",
        "spectral_bandwidth",
        "spectral_rolloff",
        "spectral_flatness",
    ];
    for (i, &(c, k)) in SPECTRAL.iter().enumerate() {
        let stat = if i % 2 == 0 { "mean" } else { "std" };
        add(format!("{}.{stat}", spectral[i / 2]), c, k);
    }
    for i in 0..7 {
        add(format!("spectral_contrast_{i}.mean"), 38.0, 10.0);
    }
    for i in 0..6 {
        add(format!("spectral_contrast_{i}.std"), 14.0, 5.0);
    }
    add("zcr.mean".into(), 0.05, 0.05);
    add("zcr.std".into(), 0.0, 0.05);
    add("rms_db.mean".into(), -20.0, 10.0);
    add("rms_db.std".into(), 5.0, 5.0);
    add("rms_db.p10".into(), -30.0, 15.0);
    add("rms_db.p90".into(), -15.0, 8.0);
    add("onset_strength.mean".into(), 1.2, 0.5);
    add("onset_strength.std".into(), 2.8, 1.0);
    for i in 0..super::rhythm::STEPS {
        add(format!("rhythm.step_{i}"), 0.5, 0.5);
    }
    add("rhythm.tempo_bpm".into(), 0.0, 0.25);
    add("rhythm.onset_rate".into(), 4.0, 3.0);
    add("rhythm.pulse_clarity".into(), 0.5, 0.25);
    add("rhythm.syncopation".into(), 0.4, 0.2);
    add("dynamics.dynamic_range_db".into(), 15.0, 10.0);
    add("dynamics.crest_factor_db".into(), 12.0, 6.0);
    add("dynamics.silence_ratio".into(), 0.0, 0.3);
    s
}

/// Names of the compact dimensions, in order.
pub fn compact_names() -> Vec<String> {
    spec().into_iter().map(|(n, _, _)| n).collect()
}

/// The compact, L2-normalised vector ([`COMPACT_DIMS`] values) of a track's features.
/// Values missing from `f` (another schema version) count as their centre.
pub fn compact(f: &DnaFeatures) -> Vec<f32> {
    let mut v: Vec<f32> = spec()
        .iter()
        .map(|(name, c, k)| {
            let Some(x) = f.get(name) else { return 0.0 };
            let x = if name == "rhythm.tempo_bpm" {
                if x > 0.0 {
                    (x / 120.0).log2()
                } else {
                    0.0
                }
            } else {
                x
            };
            let z = ((x - c) / k).clamp(-CLAMP, CLAMP);
            if z.is_finite() {
                z
            } else {
                0.0
            }
        })
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compact_schema_has_128_known_names() {
        let names = compact_names();
        assert_eq!(names.len(), COMPACT_DIMS);
        let all = super::super::whole_track_names();
        for n in &names {
            assert!(all.contains(n), "{n} is not a whole-track value");
        }
    }
}
