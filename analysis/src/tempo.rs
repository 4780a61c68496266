//! Tempo: the periodicity of the onset envelope.
//!
//! The autocorrelation of the onset envelope, weighted by a broad log-normal prior around
//! 120 BPM (with a comb over four multiples of each lag), names the strongest beat periods;
//! each becomes a metrical family, its octaves within [`MIN_BPM`]..=[`MAX_BPM`]. Which family
//! and which octave is *the* tempo is decided in [`super::beats`], from beat grids fitted at
//! each (onset strength on the beats, where the backbeat falls).

/// Slowest tempo considered.
pub const MIN_BPM: f64 = 55.0;
/// Fastest tempo considered.
pub const MAX_BPM: f64 = 215.0;

/// Centre of the tempo prior, BPM.
const PRIOR_BPM: f64 = 120.0;
/// Width of the tempo prior, octaves (one standard deviation).
const PRIOR_OCTAVES: f64 = 1.0;
/// Autocorrelation peaks considered for the metrical family.
const TOP_PEAKS: usize = 5;

/// One candidate beat period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TempoCandidate {
    /// Beat period in frames (fractional).
    pub period: f64,
    /// Normalised autocorrelation at that period, 0..1.
    pub strength: f64,
    /// Strength times the tempo prior.
    pub score: f64,
}

impl TempoCandidate {
    /// Tempo in BPM at `fps` frames per second.
    pub fn bpm(&self, fps: f64) -> f64 {
        60.0 * fps / self.period
    }
}

/// Unbiased autocorrelation of `env` (mean removed) for lags `0..=max_lag`, normalised so
/// lag 0 is 1 (all zeros for a flat envelope).
pub(crate) fn autocorrelation(env: &[f32], max_lag: usize) -> Vec<f64> {
    let n = env.len();
    let mut acf = vec![0.0f64; max_lag + 1];
    if n < 2 {
        return acf;
    }
    let mean = env.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let x: Vec<f64> = env.iter().map(|&v| v as f64 - mean).collect();
    lagged_sums(&x, &mut acf[..(max_lag + 1).min(n)]);
    for (lag, a) in acf.iter_mut().enumerate().take(n) {
        *a /= (n - lag) as f64;
    }
    let zero = acf[0];
    if zero > 0.0 {
        for a in acf.iter_mut() {
            *a /= zero;
        }
    } else {
        acf.iter_mut().for_each(|a| *a = 0.0);
    }
    acf
}

/// Lags computed together by [`lagged_sums`].
const LAGS: usize = 16;

avx2_or_portable! {
    /// `sums[lag] = Σ_i x[i] · x[i + lag]` for every lag below `sums.len()` (≤ `x.len()`), each
    /// summed in order of `i` (the same value, to the bit, as the plain loop), [`LAGS`] lags at
    /// a time: their independent sums keep the CPU's adders busy where one sum waits on its
    /// previous addition.
    fn lagged_sums / lagged_sums_avx2(x: &[f64], sums: &mut [f64]) = lagged_sums_portable
}

#[inline(always)]
fn lagged_sums_portable(x: &[f64], sums: &mut [f64]) {
    let n = x.len();
    let lags = sums.len().min(n);
    let mut lag = 0;
    while lag < lags {
        if lag + LAGS > lags {
            // The last few lags, one at a time.
            sums[lag] = x[..n - lag].iter().zip(&x[lag..]).map(|(a, b)| a * b).sum();
            lag += 1;
            continue;
        }
        // Lags lag..lag + LAGS: all of them over the terms the longest lag has, then each
        // one's own last terms, in the same order as one lag's loop.
        let common = n - (lag + LAGS - 1);
        // -0.0: the start of `Iterator::sum` (so an all-zero sum keeps its sign too).
        let mut acc = [-0.0f64; LAGS];
        for (i, &xi) in x[..common].iter().enumerate() {
            let y: &[f64; LAGS] = x[i + lag..i + lag + LAGS].try_into().expect("LAGS long");
            for j in 0..LAGS {
                acc[j] += xi * y[j];
            }
        }
        for (j, a) in acc.iter_mut().enumerate() {
            for i in common..n - lag - j {
                *a += x[i] * x[i + lag + j];
            }
            sums[lag + j] = *a;
        }
        lag += LAGS;
    }
}

/// The prior weight of `bpm`, 0..1.
pub(crate) fn prior(bpm: f64) -> f64 {
    let z = (bpm / PRIOR_BPM).log2() / PRIOR_OCTAVES;
    (-0.5 * z * z).exp()
}

/// Value of `acf` at fractional lag `lag` (linear interpolation; 0 outside).
fn acf_at(acf: &[f64], lag: f64) -> f64 {
    if lag.is_nan() || lag < 0.0 || lag >= (acf.len() - 1) as f64 {
        return 0.0;
    }
    let i = lag.floor() as usize;
    let f = lag - i as f64;
    acf[i] * (1.0 - f) + acf[i + 1] * f
}

/// Beat-period candidates for onset envelope `env` at `fps` frames per second, grouped in
/// metrical families (a period and its octaves in range, fastest first), one per strong
/// prior-weighted autocorrelation peak, strongest first. Empty when the envelope has no
/// periodicity.
pub(crate) fn candidates(env: &[f32], fps: f64) -> Vec<Vec<TempoCandidate>> {
    if fps.is_nan() || fps <= 0.0 {
        return Vec::new();
    }
    let min_lag = (60.0 * fps / MAX_BPM).floor().max(1.0) as usize;
    let max_lag = (60.0 * fps / MIN_BPM).ceil() as usize;
    if env.len() < 4 * max_lag {
        return Vec::new();
    }
    let acf = autocorrelation(env, 8 * max_lag + 8);
    // Local maxima of acf · prior, with a comb over 4 multiples of the lag (periods whose
    // multiples are periodic too score higher).
    let mut peaks: Vec<(f64, f64)> = Vec::new();
    for lag in min_lag.max(2)..=max_lag {
        let a = acf[lag];
        if a <= 0.0 || a < acf[lag - 1] || a < acf[lag + 1] {
            continue;
        }
        let (y0, y1, y2) = (acf[lag - 1], a, acf[lag + 1]);
        let den = y0 - 2.0 * y1 + y2;
        let shift = if den < 0.0 {
            (0.5 * (y0 - y2) / den).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        let p = lag as f64 + shift;
        let comb = (1..=4).map(|k| acf_at(&acf, k as f64 * p)).sum::<f64>() / 4.0;
        peaks.push((p, comb.max(0.0) * prior(60.0 * fps / p)));
    }
    peaks.sort_by(|a, b| b.1.total_cmp(&a.1));
    let make = |p: f64| {
        let strength = acf_at(&acf, p).max(0.0);
        TempoCandidate {
            period: p,
            strength,
            score: strength * prior(60.0 * fps / p),
        }
    };
    // Each strong peak's metrical family: its octaves in range, fastest first.
    let mut families: Vec<Vec<TempoCandidate>> = Vec::new();
    for &(p0, s) in peaks.iter().take(TOP_PEAKS) {
        if s <= 0.0 {
            break;
        }
        let mut p = p0;
        while 60.0 * fps / (p / 2.0) <= MAX_BPM {
            p /= 2.0;
        }
        let same = |f: &Vec<TempoCandidate>| (f[0].period / p - 1.0).abs() < 0.03;
        if families.iter().any(same) {
            continue;
        }
        let mut family = Vec::new();
        while 60.0 * fps / p >= MIN_BPM {
            if 60.0 * fps / p <= MAX_BPM {
                family.push(make(p));
            }
            p *= 2.0;
        }
        if !family.is_empty() {
            families.push(family);
        }
    }
    families
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pulse_train_gives_its_period() {
        let fps = 100.0;
        let env: Vec<f32> = (0..3000)
            .map(|i| if i % 50 == 0 { 1.0 } else { 0.0 })
            .collect();
        let c = candidates(&env, fps);
        assert!(!c.is_empty());
        assert!((c[0][0].bpm(fps) - 120.0).abs() < 1.0, "{:?}", c);
    }

    #[test]
    fn lagged_sums_are_the_plain_loop_to_the_bit() {
        for n in [1usize, 5, 17, 40, 333] {
            let x: Vec<f64> = (0..n)
                .map(|i| ((i * 7919 % 101) as f64 * 0.37).sin() * 1e3f64.powf((i % 5) as f64 - 2.0))
                .collect();
            for lags in [0usize, 1, 15, 16, 17, 40, n] {
                let lags = lags.min(n);
                let mut got = vec![f64::NAN; lags];
                lagged_sums(&x, &mut got);
                for (lag, g) in got.iter().enumerate() {
                    let want: f64 = x[..n - lag].iter().zip(&x[lag..]).map(|(a, b)| a * b).sum();
                    assert_eq!(g.to_bits(), want.to_bits(), "n {n} lag {lag}");
                }
            }
        }
    }

    #[test]
    fn flat_or_short_envelopes_give_nothing() {
        assert!(candidates(&[0.0; 5000], 100.0).is_empty());
        assert!(candidates(&[1.0; 10], 100.0).is_empty());
        assert!(candidates(&[], 0.0).is_empty());
    }
}
