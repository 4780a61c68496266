//! Rhythm descriptors from the onset-strength curve: tempo, onset rate, a one-bar onset
//! pattern (16 steps), syncopation and pulse clarity.

/// Steps of the one-bar pattern (sixteenth notes of a 4/4 bar).
pub(super) const STEPS: usize = 16;
const STEPS_PER_BEAT: usize = 4;
const BEATS_PER_BAR: usize = STEPS / STEPS_PER_BEAT;
/// Tempo range searched when no beats are given, BPM.
const TEMPO_RANGE: (f64, f64) = (60.0, 200.0);
/// Centre of the tempo prior (log-Gaussian, one octave wide), BPM.
const TEMPO_PRIOR: f64 = 120.0;
/// Half-width of the peak-picking window, frames.
const PEAK_HALF: usize = 3;

/// Rhythm descriptors of a track.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Rhythm {
    /// Tempo in BPM (from the beats, else estimated); 0 when there is no pulse.
    pub tempo_bpm: f32,
    /// Onsets (onset-strength peaks) per second.
    pub onset_rate: f32,
    /// Autocorrelation of the onset curve at the beat period, relative to lag 0, 0..1.
    pub pulse_clarity: f32,
    /// Weighted share of the pattern on off-beats, 0..1.
    pub syncopation: f32,
    /// Mean onset strength per sixteenth of a bar, rotated so the strongest beat is step 0,
    /// relative to the strongest step.
    pub pattern: [f32; STEPS],
}

/// Describe the rhythm of an onset-strength curve sampled at `frame_rate`. `beats` (seconds)
/// may be empty: the beat grid is then estimated by autocorrelation.
pub(super) fn describe(onset: &[f32], frame_rate: f64, beats: &[f64]) -> Rhythm {
    let n = onset.len();
    let energy: f64 = onset.iter().map(|&v| (v as f64).powi(2)).sum();
    if n < 4 || energy <= 1e-12 || frame_rate <= 0.0 {
        return Rhythm::default();
    }
    let duration = n as f64 / frame_rate;
    let mean = onset.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let centred: Vec<f32> = onset.iter().map(|&v| (v as f64 - mean) as f32).collect();
    let mut grid: Vec<f64> = beats
        .iter()
        .copied()
        .filter(|b| b.is_finite() && *b >= 0.0 && *b <= duration)
        .collect();
    grid.sort_by(f64::total_cmp);
    grid.dedup_by(|a, b| (*a - *b).abs() < 1e-3);
    let period = if grid.len() >= 2 {
        let mut iv: Vec<f64> = grid.windows(2).map(|w| w[1] - w[0]).collect();
        iv.sort_by(f64::total_cmp);
        iv[iv.len() / 2]
    } else {
        match estimate_grid(onset, &centred, frame_rate) {
            Some((period, g)) => {
                grid = g;
                period
            }
            None => return Rhythm::default(),
        }
    };
    let lag = (period * frame_rate).round() as usize;
    let ac0 = autocorr(&centred, 0);
    let pulse_clarity = if lag > 0 && lag < n && ac0 > 0.0 {
        (autocorr(&centred, lag) / ac0).clamp(0.0, 1.0) as f32
    } else {
        0.0
    };
    let pattern = fold_pattern(onset, frame_rate, &grid);
    let weights = |s: usize| match s % STEPS_PER_BEAT {
        0 => 0.0,
        2 => 0.5,
        _ => 1.0,
    };
    let total: f32 = pattern.iter().sum();
    let syncopation = if total > 0.0 {
        pattern
            .iter()
            .enumerate()
            .map(|(s, v)| weights(s) * v)
            .sum::<f32>()
            / total
    } else {
        0.0
    };
    Rhythm {
        tempo_bpm: (60.0 / period) as f32,
        onset_rate: (count_onsets(onset, mean) as f64 / duration) as f32,
        pulse_clarity,
        syncopation,
        pattern,
    }
}

fn autocorr(x: &[f32], lag: usize) -> f64 {
    x.iter()
        .zip(&x[lag.min(x.len())..])
        .map(|(&a, &b)| a as f64 * b as f64)
        .sum()
}

/// Beat period (seconds) and beat times from the autocorrelation of the onset curve.
fn estimate_grid(onset: &[f32], centred: &[f32], frame_rate: f64) -> Option<(f64, Vec<f64>)> {
    let n = onset.len();
    let lmin = ((frame_rate * 60.0 / TEMPO_RANGE.1).floor() as usize).max(1);
    let lmax = ((frame_rate * 60.0 / TEMPO_RANGE.0).ceil() as usize).min(n - 1);
    if lmin + 2 > lmax {
        return None;
    }
    let ac: Vec<f64> = (lmin - 1..=lmax + 1)
        .map(|l| autocorr(centred, l.min(n - 1)))
        .collect();
    let score = |i: usize| {
        let bpm = 60.0 * frame_rate / (lmin - 1 + i) as f64;
        ac[i] * (-0.5 * (bpm / TEMPO_PRIOR).log2().powi(2)).exp()
    };
    let best = (1..ac.len() - 1).max_by(|&a, &b| score(a).total_cmp(&score(b)))?;
    if ac[best] <= 0.0 {
        return None;
    }
    // Parabolic refinement of the peak lag.
    let (a, b, c) = (ac[best - 1], ac[best], ac[best + 1]);
    let den = a - 2.0 * b + c;
    let shift = if den.abs() > 1e-12 {
        (0.5 * (a - c) / den).clamp(-0.5, 0.5)
    } else {
        0.0
    };
    let lag = (lmin - 1 + best) as f64 + shift;
    let phase = (0..lag.ceil() as usize)
        .max_by(|&p, &q| {
            let sum = |ph: usize| {
                let mut s = 0.0f64;
                let mut t = ph as f64;
                while (t.round() as usize) < n {
                    s += onset[t.round() as usize] as f64;
                    t += lag;
                }
                s
            };
            sum(p).total_cmp(&sum(q))
        })
        .unwrap_or(0);
    let mut grid = Vec::new();
    let mut t = phase as f64;
    while t < n as f64 {
        grid.push(t / frame_rate);
        t += lag;
    }
    Some((lag / frame_rate, grid))
}

/// Mean of the per-step maxima of the onset curve over all bars of the beat grid.
fn fold_pattern(onset: &[f32], frame_rate: f64, grid: &[f64]) -> [f32; STEPS] {
    let n = onset.len();
    let mut sum = [0.0f64; STEPS];
    let mut count = [0u32; STEPS];
    for (k, w) in grid.windows(2).enumerate() {
        let step = (w[1] - w[0]) / STEPS_PER_BEAT as f64;
        for s in 0..STEPS_PER_BEAT {
            let t = w[0] + step * s as f64;
            let lo = ((t - step / 2.0) * frame_rate).ceil().max(0.0) as usize;
            let hi = (((t + step / 2.0) * frame_rate).ceil().max(0.0) as usize).min(n);
            let v = onset[lo.min(n)..hi.max(lo.min(n))]
                .iter()
                .fold(0.0f32, |a, &b| a.max(b));
            let i = (k % BEATS_PER_BAR) * STEPS_PER_BEAT + s;
            sum[i] += v as f64;
            count[i] += 1;
        }
    }
    let mut pattern = [0.0f32; STEPS];
    for i in 0..STEPS {
        if count[i] > 0 {
            pattern[i] = (sum[i] / count[i] as f64) as f32;
        }
    }
    let beat = (0..BEATS_PER_BAR)
        .max_by(|&a, &b| pattern[a * STEPS_PER_BEAT].total_cmp(&pattern[b * STEPS_PER_BEAT]))
        .unwrap_or(0);
    pattern.rotate_left(beat * STEPS_PER_BEAT);
    let max = pattern.iter().fold(0.0f32, |a, &b| a.max(b));
    if max > 0.0 {
        pattern.iter_mut().for_each(|v| *v /= max);
    }
    pattern
}

/// Local maxima (±3 frames) above the mean plus half a standard deviation.
fn count_onsets(onset: &[f32], mean: f64) -> usize {
    let n = onset.len();
    let std = (onset
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n as f64)
        .sqrt();
    let threshold = (mean + 0.5 * std) as f32;
    (0..n)
        .filter(|&t| {
            let v = onset[t];
            v > threshold
                && v > 1e-6
                && onset[t.saturating_sub(PEAK_HALF)..(t + PEAK_HALF + 1).min(n)]
                    .iter()
                    .enumerate()
                    .all(|(j, &u)| u < v || (u == v && j + t.saturating_sub(PEAK_HALF) >= t))
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clicks(period_frames: usize, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| if i % period_frames == 0 { 1.0 } else { 0.0 })
            .collect()
    }

    #[test]
    fn a_click_train_has_its_tempo_and_a_clear_pulse() {
        // 50 frames per second, a click every 25 frames: 120 BPM.
        let r = describe(&clicks(25, 1_000), 50.0, &[]);
        assert!((r.tempo_bpm - 120.0).abs() < 2.0, "{}", r.tempo_bpm);
        assert!(r.pulse_clarity > 0.9);
        assert!((r.onset_rate - 2.0).abs() < 0.1, "{}", r.onset_rate);
        assert_eq!(r.pattern[0], 1.0);
        assert!(r.syncopation < 0.05);
    }

    #[test]
    fn silence_has_no_rhythm() {
        let r = describe(&[0.0; 500], 43.0, &[]);
        assert_eq!(r.tempo_bpm, 0.0);
        assert_eq!(r.pattern, [0.0; STEPS]);
    }
}
