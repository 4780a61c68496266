//! Chroma (pitch-class energy) and tonnetz (tonal centroid) of one frame.

/// Pitch-class names in chroma order (C first), as in the feature names.
pub(super) const PITCH_CLASSES: [&str; 12] = [
    "C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B",
];
/// Names of the six tonnetz dimensions.
pub(super) const TONNETZ_NAMES: [&str; 6] = [
    "fifths_sin",
    "fifths_cos",
    "minor3_sin",
    "minor3_cos",
    "major3_sin",
    "major3_cos",
];
/// Bins outside this range (Hz) do not count towards chroma.
const CHROMA_RANGE: (f64, f64) = (100.0, 5_000.0);

/// Each bin in range → its nearest pitch class.
pub(super) struct ChromaMap {
    first: usize,
    classes: Vec<u8>,
    tonnetz: [[f32; 12]; 6],
}

impl ChromaMap {
    pub(super) fn new(bins: usize, bin_hz: f64) -> Self {
        let first = ((CHROMA_RANGE.0 / bin_hz).ceil() as usize).clamp(1, bins);
        let last = ((CHROMA_RANGE.1 / bin_hz).floor() as usize).min(bins.saturating_sub(1));
        let classes = (first..=last.max(first))
            .filter(|&k| k < bins)
            .map(|k| {
                // Semitones above C4 (261.63 Hz), rounded to the nearest.
                let semis = 12.0 * (k as f64 * bin_hz / 261.625_565).log2();
                (semis.round() as i64).rem_euclid(12) as u8
            })
            .collect();
        // Harte et al. (2006): circle of fifths, of minor thirds, of major thirds.
        let mut tonnetz = [[0.0; 12]; 6];
        let rings = [(7.0 / 6.0, 1.0), (3.0 / 2.0, 1.0), (2.0 / 3.0, 0.5)];
        for (r, &(angle, radius)) in rings.iter().enumerate() {
            let a = |n: usize| std::f64::consts::PI * angle * n as f64;
            tonnetz[2 * r] = std::array::from_fn(|n| (radius * a(n).sin()) as f32);
            tonnetz[2 * r + 1] = std::array::from_fn(|n| (radius * a(n).cos()) as f32);
        }
        Self {
            first,
            classes,
            tonnetz,
        }
    }

    /// Chroma of one power spectrum, scaled so its largest class is 1 (all 0 when silent).
    #[inline(always)]
    pub(super) fn chroma(&self, power: &[f32]) -> [f32; 12] {
        let mut c = [0.0f32; 12];
        for (p, &pc) in power[self.first.min(power.len())..]
            .iter()
            .zip(&self.classes)
        {
            c[pc as usize] += p;
        }
        let max = c.iter().fold(0.0f32, |a, &b| a.max(b));
        if max > 1e-10 {
            c.iter_mut().for_each(|v| *v /= max);
        } else {
            c = [0.0; 12];
        }
        c
    }

    /// Tonnetz of a chroma vector (L1-normalised first; all 0 for a zero chroma).
    #[inline(always)]
    pub(super) fn tonnetz(&self, chroma: &[f32; 12]) -> [f32; 6] {
        let sum: f32 = chroma.iter().sum();
        let mut t = [0.0; 6];
        if sum > 0.0 {
            for (o, row) in t.iter_mut().zip(&self.tonnetz) {
                *o = row.iter().zip(chroma).map(|(a, b)| a * b).sum::<f32>() / sum;
            }
        }
        t
    }
}

/// Krumhansl–Kessler major key profile (C major).
const MAJOR_PROFILE: [f32; 12] = [
    6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88,
];
/// Krumhansl–Kessler minor key profile (C minor).
const MINOR_PROFILE: [f32; 12] = [
    6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17,
];

/// The key whose profile best matches a chroma vector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct KeyMatch {
    /// Tonic pitch class, 0 = C.
    pub tonic: usize,
    /// Minor rather than major.
    pub minor: bool,
    /// Pearson correlation with the profile (0 for a flat chroma).
    pub strength: f32,
}

fn pearson(a: &[f32; 12], b: impl Fn(usize) -> f32) -> f32 {
    let ma = a.iter().sum::<f32>() / 12.0;
    let mb = (0..12).map(&b).sum::<f32>() / 12.0;
    let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
    for (i, &x) in a.iter().enumerate() {
        let (x, y) = (x - ma, b(i) - mb);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa > 1e-12 && bb > 1e-12 {
        ab / (aa * bb).sqrt()
    } else {
        0.0
    }
}

/// Best-matching key of a (mean) chroma vector; C major with strength 0 when it is flat.
pub(super) fn estimate_key(chroma: &[f32; 12]) -> KeyMatch {
    let mut best = KeyMatch {
        tonic: 0,
        minor: false,
        strength: 0.0,
    };
    for (minor, profile) in [(false, &MAJOR_PROFILE), (true, &MINOR_PROFILE)] {
        for tonic in 0..12 {
            let r = pearson(chroma, |i| profile[(i + 12 - tonic) % 12]);
            if r > best.strength {
                best = KeyMatch {
                    tonic,
                    minor,
                    strength: r,
                };
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minor_triad_scale_matches_its_key() {
        // A natural minor scale, tonic and fifth stressed.
        let mut c = [0.0f32; 12];
        for (pc, w) in [
            (9, 1.0),
            (11, 0.4),
            (0, 0.7),
            (2, 0.4),
            (4, 0.8),
            (5, 0.4),
            (7, 0.4),
        ] {
            c[pc] = w;
        }
        let k = estimate_key(&c);
        assert_eq!((k.tonic, k.minor), (9, true), "{k:?}");
        assert_eq!(estimate_key(&[0.0; 12]).strength, 0.0);
    }
}
