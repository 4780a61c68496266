//! Mel filterbank, log-mel energies, MFCCs (DCT-II) and their deltas.

/// Number of mel bands.
pub(super) const MEL_BANDS: usize = 40;
/// Number of cepstral coefficients kept.
pub(super) const MFCC_COUNT: usize = 20;
/// Lowest mel band edge, Hz.
const MEL_FMIN: f64 = 20.0;
/// Highest mel band edge, Hz (or Nyquist when lower).
const MEL_FMAX: f64 = 16_000.0;
/// Floor of band powers before the logarithm (-100 dB).
pub(super) const POWER_FLOOR: f32 = 1e-10;
/// Half-width of the delta regression window, frames (librosa's `width = 9`).
const DELTA_HALF: usize = 4;

fn hz_to_mel(f: f64) -> f64 {
    2595.0 * (1.0 + f / 700.0).log10()
}

fn mel_to_hz(m: f64) -> f64 {
    700.0 * (10f64.powf(m / 2595.0) - 1.0)
}

/// Triangular HTK-mel filters over power-spectrum bins, each peaking at 1, stored sparsely.
pub(super) struct MelBank {
    /// Per band: first bin and the weights from there on.
    bands: Vec<(usize, Vec<f32>)>,
}

impl MelBank {
    /// Filters for spectra of `bins` bins spaced `bin_hz` apart.
    pub(super) fn new(bins: usize, bin_hz: f64, nyquist: f64) -> Self {
        let fmax = MEL_FMAX.min(nyquist).max(MEL_FMIN * 2.0);
        let (lo, hi) = (hz_to_mel(MEL_FMIN), hz_to_mel(fmax));
        let edges: Vec<f64> = (0..MEL_BANDS + 2)
            .map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (MEL_BANDS + 1) as f64))
            .collect();
        let bands = (0..MEL_BANDS)
            .map(|b| {
                let (l, c, r) = (edges[b], edges[b + 1], edges[b + 2]);
                let first = ((l / bin_hz).ceil().max(0.0) as usize).min(bins);
                let last = ((r / bin_hz).floor().max(0.0) as usize).min(bins.saturating_sub(1));
                let mut w: Vec<f32> = (first..=last.max(first))
                    .filter(|&k| k < bins)
                    .map(|k| {
                        let f = k as f64 * bin_hz;
                        let v = if f <= c {
                            (f - l) / (c - l)
                        } else {
                            (r - f) / (r - c)
                        };
                        v.clamp(0.0, 1.0) as f32
                    })
                    .collect();
                if w.iter().all(|&v| v == 0.0) {
                    // A band narrower than a bin: take the bin nearest its centre.
                    let k = ((c / bin_hz).round() as usize).min(bins.saturating_sub(1));
                    return (k, vec![1.0]);
                }
                while w.last() == Some(&0.0) {
                    w.pop();
                }
                (first, w)
            })
            .collect();
        Self { bands }
    }

    /// Band powers of one power spectrum, in dB (floored at -100 dB).
    #[inline(always)]
    pub(super) fn log_energies(&self, power: &[f32], out: &mut [f32; MEL_BANDS]) {
        for (o, (first, w)) in out.iter_mut().zip(&self.bands) {
            let e = dot(&power[*first..*first + w.len()], w);
            *o = 10.0 * std::f32::consts::LOG10_2 * super::fast_log2(e.max(POWER_FLOOR));
        }
    }
}

/// Dot product over eight lanes (vectorisable).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for j in 0..8 {
            acc[j] += x[j] * y[j];
        }
    }
    let tail = a.len().min(b.len()) / 8 * 8;
    let rest: f32 = a[tail..].iter().zip(&b[tail..]).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + rest
}

/// Orthonormal DCT-II from [`MEL_BANDS`] log energies to [`MFCC_COUNT`] coefficients.
pub(super) struct Dct {
    table: Vec<f32>,
}

impl Dct {
    pub(super) fn new() -> Self {
        let n = MEL_BANDS as f64;
        let mut table = Vec::with_capacity(MFCC_COUNT * MEL_BANDS);
        for k in 0..MFCC_COUNT {
            let scale = if k == 0 {
                (1.0 / n).sqrt()
            } else {
                (2.0 / n).sqrt()
            };
            for i in 0..MEL_BANDS {
                let v = scale * (std::f64::consts::PI * k as f64 * (i as f64 + 0.5) / n).cos();
                table.push(v as f32);
            }
        }
        Self { table }
    }

    /// Coefficients of one frame's log-mel energies.
    #[inline(always)]
    pub(super) fn apply(&self, mel_db: &[f32; MEL_BANDS], out: &mut [f32]) {
        for (o, row) in out.iter_mut().zip(self.table.chunks_exact(MEL_BANDS)) {
            *o = dot(row, mel_db);
        }
    }
}

/// Local slope of a curve by linear regression over ±4 frames (edges clamped).
pub(super) fn delta(x: &[f32]) -> Vec<f32> {
    let n = x.len();
    if n == 0 {
        return Vec::new();
    }
    let denom: f32 = 2.0 * (1..=DELTA_HALF).map(|d| (d * d) as f32).sum::<f32>();
    (0..n)
        .map(|t| {
            let mut acc = 0.0;
            for d in 1..=DELTA_HALF {
                let a = x[(t + d).min(n - 1)];
                let b = x[t.saturating_sub(d)];
                acc += d as f32 * (a - b);
            }
            acc / denom
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_spectrum_has_only_a_zeroth_coefficient() {
        let dct = Dct::new();
        let mut out = [0.0; MFCC_COUNT];
        dct.apply(&[-30.0; MEL_BANDS], &mut out);
        assert!((out[0] + 30.0 * (MEL_BANDS as f32).sqrt()).abs() < 1e-3);
        assert!(out[1..].iter().all(|v| v.abs() < 1e-3));
    }

    #[test]
    fn the_delta_of_a_ramp_is_its_slope() {
        let x: Vec<f32> = (0..20).map(|i| 2.0 * i as f32).collect();
        let d = delta(&x);
        assert!((d[10] - 2.0).abs() < 1e-5);
    }

    #[test]
    fn every_band_has_weights() {
        let bank = MelBank::new(1025, 44_100.0 / 2048.0, 22_050.0);
        assert_eq!(bank.bands.len(), MEL_BANDS);
        assert!(bank.bands.iter().all(|(_, w)| !w.is_empty()));
    }
}
