//! Spectral shape of one frame: centroid, bandwidth, roll-off, flatness, contrast.

/// Share of the magnitude sum below the roll-off frequency.
const ROLLOFF: f32 = 0.85;
/// Edges of the contrast bands, Hz: six octaves from 200 Hz, then the rest up to Nyquist.
const CONTRAST_EDGES: [f64; 7] = [0.0, 200.0, 400.0, 800.0, 1_600.0, 3_200.0, 6_400.0];
/// Lanes of the vectorisable sums.
const LANES: usize = 8;
/// Number of contrast bands.
pub(super) const CONTRAST_BANDS: usize = 7;
/// Share of a band's bins averaged for its peak and for its valley.
const CONTRAST_QUANTILE: f64 = 0.02;
/// Added to magnitudes before the contrast ratio (a -120 dB floor).
const CONTRAST_FLOOR: f32 = 1e-6;

/// Spectral shape of one frame.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Shape {
    pub centroid: f32,
    pub bandwidth: f32,
    pub rolloff: f32,
    pub flatness: f32,
    pub contrast: [f32; CONTRAST_BANDS],
}

/// The `k` smallest values of `band` into `low` and its `k` largest into `high`, each in
/// ascending order (`1 <= k <= band.len()`; magnitudes, so no NaN). Instead of selecting
/// over the whole band: the minimum and maximum of each block of 16 bins (into `extremes`);
/// `k` blocks have their minimum at or below the `k`-th smallest block minimum, so the `k`
/// smallest values are among the bins at or below it (a few more than `k`), all in blocks
/// whose minimum is at or below it; likewise above.
#[inline(always)]
fn smallest_and_largest(
    band: &[f32],
    k: usize,
    extremes: &mut Vec<(f32, f32)>,
    low: &mut Vec<f32>,
    high: &mut Vec<f32>,
) {
    const BLOCK: usize = 16;
    extremes.clear();
    extremes.extend(band.chunks(BLOCK).map(|b| {
        let (mut lo, mut hi) = (b[0], b[0]);
        for &v in &b[1..] {
            lo = if v < lo { v } else { lo };
            hi = if v > hi { v } else { hi };
        }
        (lo, hi)
    }));
    // The thresholds, selected among copies of the blocks' extremes in the same buffers.
    let (floor, ceiling) = if k <= extremes.len() {
        low.clear();
        low.extend(extremes.iter().map(|e| e.0));
        high.clear();
        high.extend(extremes.iter().map(|e| e.1));
        low.select_nth_unstable_by(k - 1, f32::total_cmp);
        let m = high.len();
        high.select_nth_unstable_by(m - k, f32::total_cmp);
        (low[k - 1], high[m - k])
    } else {
        (f32::INFINITY, f32::NEG_INFINITY)
    };
    low.clear();
    high.clear();
    for (b, &(lo, hi)) in band.chunks(BLOCK).zip(extremes.iter()) {
        if lo <= floor {
            low.extend(b.iter().copied().filter(|&v| v <= floor));
        }
        if hi >= ceiling {
            high.extend(b.iter().copied().filter(|&v| v >= ceiling));
        }
    }
    low.sort_unstable_by(f32::total_cmp);
    low.truncate(k);
    high.sort_unstable_by(f32::total_cmp);
    high.drain(..high.len() - k);
}

/// Precomputed bin frequencies and band ranges.
pub(super) struct ShapeAnalyser {
    freqs: Vec<f32>,
    bands: Vec<(usize, usize)>,
    /// The smallest and the largest values of a contrast band, ascending, and the extremes
    /// of its blocks: buffers of [`smallest_and_largest`].
    extremes: Vec<(f32, f32)>,
    low: Vec<f32>,
    high: Vec<f32>,
}

impl ShapeAnalyser {
    pub(super) fn new(bins: usize, bin_hz: f64) -> Self {
        let freqs = (0..bins).map(|k| (k as f64 * bin_hz) as f32).collect();
        let bin_of = |f: f64| ((f / bin_hz).round() as usize).min(bins);
        let bands = (0..CONTRAST_BANDS)
            .map(|b| {
                let lo = bin_of(CONTRAST_EDGES[b]);
                let hi = if b + 1 < CONTRAST_BANDS {
                    bin_of(CONTRAST_EDGES[b + 1])
                } else {
                    bins
                };
                (lo, hi.max(lo))
            })
            .collect();
        Self {
            freqs,
            bands,
            extremes: Vec::new(),
            low: Vec::new(),
            high: Vec::new(),
        }
    }

    /// Shape of a frame from its magnitudes and powers (`power = mag²`).
    #[inline(always)]
    pub(super) fn analyse(&mut self, mag: &[f32], power: &[f32]) -> Shape {
        // Sums over eight lanes, so the compiler can vectorise them (it may not reorder a
        // single f32 sum): magnitude, power, magnitude × frequency, log2 power.
        let floor = super::mfcc::POWER_FLOOR;
        let mut acc = [[0.0f32; LANES]; 4];
        let chunks = mag
            .chunks_exact(LANES)
            .zip(power.chunks_exact(LANES))
            .zip(self.freqs.chunks_exact(LANES));
        for ((m, p), f) in chunks {
            for j in 0..LANES {
                acc[0][j] += m[j];
                acc[1][j] += p[j];
                acc[2][j] += m[j] * f[j];
                acc[3][j] += super::fast_log2(p[j] + floor);
            }
        }
        let tail = mag.len() - mag.len() % LANES;
        let rest = mag[tail..]
            .iter()
            .zip(&power[tail..])
            .zip(&self.freqs[tail..]);
        for ((&m, &p), &f) in rest {
            acc[0][0] += m;
            acc[1][0] += p;
            acc[2][0] += m * f;
            acc[3][0] += super::fast_log2(p + floor);
        }
        let [total, total_power, weighted, log2_sum] = acc.map(|a| a.iter().sum::<f32>());
        if total_power < 1e-8 || total <= 0.0 {
            return Shape::default();
        }
        let centroid = weighted / total;
        let mut spread = [0.0f32; LANES];
        for (m, f) in mag.chunks_exact(LANES).zip(self.freqs.chunks_exact(LANES)) {
            for j in 0..LANES {
                spread[j] += m[j] * (f[j] - centroid) * (f[j] - centroid);
            }
        }
        let mut spread: f32 = spread.iter().sum();
        for (m, f) in mag[tail..].iter().zip(&self.freqs[tail..]) {
            spread += m * (f - centroid) * (f - centroid);
        }
        let bandwidth = (spread / total).max(0.0).sqrt();
        let target = ROLLOFF * total;
        let mut acc = 0.0;
        let mut rolloff = *self.freqs.last().unwrap_or(&0.0);
        for (m, f) in mag.iter().zip(&self.freqs) {
            acc += m;
            if acc >= target {
                rolloff = *f;
                break;
            }
        }
        let mean_log2 = log2_sum / power.len() as f32;
        let mean = total_power / power.len() as f32 + floor;
        let flatness = (mean_log2.exp2() / mean).clamp(0.0, 1.0);
        let mut contrast = [0.0; CONTRAST_BANDS];
        for (c, &(lo, hi)) in contrast.iter_mut().zip(&self.bands) {
            if hi <= lo {
                continue;
            }
            let band = &mag[lo..hi];
            let n = band.len();
            let k = ((CONTRAST_QUANTILE * n as f64).round() as usize).clamp(1, n);
            let (valley, peak) = if k == 1 {
                band.iter().fold((f32::INFINITY, 0.0f32), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                })
            } else if k < n {
                let (low, high) = (&mut self.low, &mut self.high);
                smallest_and_largest(band, k, &mut self.extremes, low, high);
                (
                    low.iter().sum::<f32>() / k as f32,
                    high.iter().sum::<f32>() / k as f32,
                )
            } else {
                let mean = band.iter().sum::<f32>() / n as f32;
                (mean, mean)
            };
            *c = 20.0 * ((peak + CONTRAST_FLOOR) / (valley + CONTRAST_FLOOR)).log10();
        }
        Shape {
            centroid,
            bandwidth,
            rolloff,
            flatness,
            contrast,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_and_largest_are_the_ends_of_the_sorted_band() {
        let bands: Vec<Vec<f32>> = vec![
            (0..726).map(|i| ((i * 7919) % 613) as f32 * 0.01).collect(),
            (0..726).map(|i| 1.0 / (1.0 + i as f32)).collect(),
            (0..149).map(|i| i as f32).collect(),
            (0..149).map(|i| (i % 5) as f32).collect(),
            vec![0.0; 40],
        ];
        let (mut low, mut high) = (Vec::new(), Vec::new());
        for band in &bands {
            for k in [2, 3, 15, band.len()] {
                let mut sorted = band.clone();
                sorted.sort_by(f32::total_cmp);
                smallest_and_largest(band, k, &mut Vec::new(), &mut low, &mut high);
                assert_eq!(low, sorted[..k]);
                assert_eq!(high, sorted[sorted.len() - k..]);
            }
        }
    }
}
