//! Energy: how intense the music feels over time, on one absolute scale so that tracks can
//! be compared ("play something at energy 7 next").
//!
//! The curve combines two things a listener hears as energy, measured on one shared
//! [`Spectrogram`] (about 46 ms frames, half overlapped):
//!
//! * **Loudness** `l`: the K-weighted (BS.1770 pre-filter, evaluated per FFT bin) power,
//!   expressed in LUFS as if the mono signal were played on both channels, mapped linearly
//!   from [`QUIET_LUFS`] (0) to [`LOUD_LUFS`] (1).
//! * **Activity** `a`: the positive spectral flux of log-compressed magnitudes (how much new
//!   sound starts per frame: drum hits, note onsets, noise), whose log compression is
//!   anchored to full scale so that quiet material cannot fake activity; mapped from 0 to
//!   [`FULL_FLUX`] (full-scale white noise).
//!
//! Both are averaged over [`SMOOTH_SECS`] around each curve point (so the curve follows
//! sections, not single beats) and combined as
//! `v = LOUDNESS_WEIGHT · l + (1 − LOUDNESS_WEIGHT) · a · √l`: activity counts for less in
//! quiet passages.
//!
//! ## The scale
//!
//! A curve value `v` is 0..1; a level is `1 + round(9 · v)`, 1..=10, where `v` is the 75th
//! percentile of the curve over the track or section (the body of the music, not its
//! quietest intro or loudest hit). As a guide, with the loudness that gives each level at a
//! moderate activity (a groove of drums and bass, `a` ≈ 0.5):
//!
//! | level | what it sounds like                                    | loudness, LUFS |
//! |-------|--------------------------------------------------------|----------------|
//! | 1     | silence, room tone                                     | below −43      |
//! | 2-3   | quiet ambient, a near-silent intro                     | −43..−34       |
//! | 4-5   | a soft pad breakdown, a sparse intro                   | −34..−23       |
//! | 6-7   | a groove, a verse; the unmastered demo drops (−15)     | −23..−12       |
//! | 8-10  | a mastered peak-time drop: loud and dense              | above −12      |
//!
//! Sparse material (a steady tone, `a` ≈ 0) tops out at 7 even at full scale; dense
//! material sits about one level higher than moderate material of the same loudness.
//! Full-scale white noise reads 10.

use super::onset::ln_1p_scaled;
use super::Spectrogram;

/// Loudness (LUFS) that maps to 0.
pub const QUIET_LUFS: f64 = -45.0;
/// Loudness (LUFS) that maps to 1.
pub const LOUD_LUFS: f64 = -5.0;
/// Mean positive log-spectral flux per frame (in the units of this module) that maps to 1.
pub const FULL_FLUX: f64 = 0.3;
/// Share of loudness in the curve (the rest is activity).
pub const LOUDNESS_WEIGHT: f64 = 0.7;
/// Length of the smoothing window, seconds (or the hop when that is longer).
pub const SMOOTH_SECS: f64 = 1.5;

/// Shortest hop accepted, seconds (shorter ones are raised to it).
const MIN_HOP_SECS: f64 = 0.01;
/// Magnitudes are compressed as `ln(1 + GAMMA · a)`, `a` the amplitude relative to a
/// full-scale sine: −60 dBFS is the knee.
const GAMMA: f64 = 1_000.0;
/// Band of the flux, Hz.
const FLUX_LO_HZ: f64 = 30.0;
const FLUX_HI_HZ: f64 = 16_000.0;

/// The energy of `mono` every `hop_secs` seconds: point `i` describes the time around
/// `(i + 0.5) · hop_secs`, there are `ceil(duration / hop_secs)` points, each in 0..1 on the
/// absolute scale of this module. Empty for empty input or a rate of 0; NaN and infinite
/// samples count as silence.
///
/// ```
/// use segue_analysis::energy::{energy_curve, energy_level};
///
/// let rate = 22_050;
/// let silence = vec![0.0f32; 4 * rate as usize];
/// let curve = energy_curve(&silence, rate, 0.5);
/// assert_eq!(curve.len(), 8);
/// assert_eq!(energy_level(&curve), 1);
/// ```
pub fn energy_curve(mono: &[f32], sample_rate: u32, hop_secs: f64) -> Vec<f32> {
    if mono.is_empty() || sample_rate == 0 {
        return Vec::new();
    }
    let clean = super::finite_samples(mono);
    let fft_size = fft_size_for(sample_rate);
    let spec = Spectrogram::compute(&clean, sample_rate, fft_size, fft_size / 2);
    energy_curve_of(&spec, mono.len() as f64 / sample_rate as f64, hop_secs)
}

/// The FFT size [`energy_curve`] analyses at `sample_rate` (about 46 ms), with a hop of half
/// of it: a spectrogram of that shape can be shared with [`energy_curve_of`].
pub fn fft_size_for(sample_rate: u32) -> usize {
    let ideal = 2048.0 * sample_rate as f64 / 44_100.0;
    1usize << ideal.log2().round().clamp(7.0, 14.0) as u32
}

/// [`energy_curve`] from a spectrogram of the (finite) signal already computed with a
/// Hann window of [`fft_size_for`] its rate (any size works; that one is calibrated), for a
/// track of `duration` seconds.
pub fn energy_curve_of(spec: &Spectrogram, duration: f64, hop_secs: f64) -> Vec<f32> {
    if spec.sample_rate == 0 || duration.is_nan() || duration <= 0.0 {
        return Vec::new();
    }
    let mut frames = EnergyFrames::new(spec);
    for f in 0..spec.frames() {
        frames.push(spec.frame(f));
    }
    frames.curve(duration, hop_secs)
}

/// The per-frame quantities of [`energy_curve_of`] (K-weighted mean-square level, positive
/// log-spectral flux), gathered one spectrogram frame at a time as the frames come: from a
/// stored spectrogram, or streamed by [`Spectrogram::each_frame`] (the pipeline), with the
/// same values.
pub(crate) struct EnergyFrames {
    sample_rate: u32,
    frame_rate: f64,
    /// K-weighting power gain per bin.
    k_weight: Vec<f32>,
    /// One-sided power sum of a frame to the mean square of the signal.
    to_ms: f64,
    /// Gain of the flux's log compression.
    gain: f32,
    /// Bins of the flux.
    lo: usize,
    hi: usize,
    /// The last frame's and this frame's log-compressed magnitudes (bins `lo..=hi`).
    prev: Vec<f32>,
    cur: Vec<f32>,
    power: Vec<f64>,
    flux: Vec<f64>,
}

impl EnergyFrames {
    /// For the frames of spectrograms shaped like `shape` (its FFT size, hop, rate and
    /// bins; its magnitudes are not read).
    pub(crate) fn new(shape: &Spectrogram) -> Self {
        let n = shape.fft_size as f64;
        let rate = shape.sample_rate as f64;
        let bins = shape.bins;
        let k_weight: Vec<f64> = (0..bins)
            .map(|k| k_weighting_power(shape.bin_hz(k), rate))
            .collect();
        // One-sided spectrum of a Hann-windowed frame to the mean square of the signal:
        // sum |X|² (both sides) = N · sum (w x)², sum w² = 3N/8.
        let to_ms = 2.0 / (n * 3.0 * n / 8.0);
        // A full-scale sine peaks at N/4 in its bin.
        let to_fs = 4.0 / n;
        let lo = ((FLUX_LO_HZ * n / rate).ceil() as usize).max(1);
        let hi = ((FLUX_HI_HZ * n / rate).floor() as usize).min(bins - 1);
        let (lo, hi) = (lo.min(bins - 1), hi.max(lo).min(bins - 1));
        Self {
            sample_rate: shape.sample_rate,
            frame_rate: shape.frame_rate(),
            k_weight: k_weight.iter().map(|&w| w as f32).collect(),
            to_ms,
            gain: (GAMMA * to_fs) as f32,
            lo,
            hi,
            prev: vec![0.0f32; bins],
            cur: vec![0.0f32; bins],
            power: Vec::new(),
            flux: Vec::new(),
        }
    }

    /// The next frame's magnitudes (all the shape's bins).
    pub(crate) fn push(&mut self, mags: &[f32]) {
        push_frame(self, mags);
    }

    /// The energy curve of the frames pushed, for a track of `duration` seconds: see
    /// [`energy_curve`].
    pub(crate) fn curve(&self, duration: f64, hop_secs: f64) -> Vec<f32> {
        if self.sample_rate == 0 || duration.is_nan() || duration <= 0.0 {
            return Vec::new();
        }
        let hop_secs = if hop_secs.is_finite() {
            hop_secs.max(MIN_HOP_SECS)
        } else {
            MIN_HOP_SECS
        };
        let (power, flux) = (&self.power, &self.flux);
        let points = ((duration / hop_secs).ceil() as usize).max(1);
        let half = 0.5 * SMOOTH_SECS.max(hop_secs);
        let fps = self.frame_rate;
        let last = power.len().saturating_sub(1);
        (0..points)
            .map(|i| {
                let centre = (i as f64 + 0.5) * hop_secs;
                let a = (((centre - half) * fps).round().max(0.0) as usize).min(last);
                let b = (((centre + half) * fps).round().max(0.0) as usize).clamp(a, last);
                let n = (b - a + 1) as f64;
                let ms = power[a..=b].iter().sum::<f64>() / n;
                let fl = flux[a..=b].iter().sum::<f64>() / n;
                let lufs = -0.691 + 10.0 * (2.0 * ms).max(1e-20).log10();
                let loud = ((lufs - QUIET_LUFS) / (LOUD_LUFS - QUIET_LUFS)).clamp(0.0, 1.0);
                let act = (fl / FULL_FLUX).clamp(0.0, 1.0);
                (LOUDNESS_WEIGHT * loud + (1.0 - LOUDNESS_WEIGHT) * act * loud.sqrt()) as f32
            })
            .collect()
    }
}

avx2_or_portable! {
    /// One spectrogram frame's K-weighted mean-square level and positive log-spectral flux,
    /// appended to `e`'s.
    fn push_frame / push_frame_avx2(e: &mut EnergyFrames, m: &[f32]) = push_frame_with
}

#[inline(always)]
fn push_frame_with(e: &mut EnergyFrames, m: &[f32]) {
    let bins = e.k_weight.len();
    let first = e.power.is_empty();
    // Per frame in f32 (1025 terms at most, over eight lanes so that the sums vectorise),
    // accumulated over frames in f64.
    let inner = 1..bins.saturating_sub(1);
    let p = lane_sum(&m[inner.clone()], &e.k_weight[inner], |m, w| m * m * w);
    e.power.push(p as f64 * e.to_ms);
    let (lo, hi) = (e.lo, e.hi);
    ln_1p_scaled::<false>(&m[lo..=hi], e.gain, &mut e.cur[lo..=hi]);
    let rise = if first {
        0.0
    } else {
        lane_sum(&e.cur[lo..=hi], &e.prev[lo..=hi], |c, p| (c - p).max(0.0))
    };
    e.flux.push(rise as f64 / (hi + 1 - lo) as f64);
    std::mem::swap(&mut e.prev, &mut e.cur);
}

/// The sum of `term(a[i], b[i])`, over eight lanes (so the compiler vectorises it).
#[inline(always)]
fn lane_sum(a: &[f32], b: &[f32], term: impl Fn(f32, f32) -> f32) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (mut a8, mut b8) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut a8).zip(&mut b8) {
        for i in 0..8 {
            lanes[i] += term(x[i], y[i]);
        }
    }
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(&x, &y)| term(x, y))
        .sum();
    lanes.iter().sum::<f32>() + tail
}

/// Power gain of the BS.1770 K-weighting (high shelf then high pass, designed for `rate`
/// the way libebur128 does) at `hz`.
fn k_weighting_power(hz: f64, rate: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / rate;
    super::loudness::k_weighting(rate)
        .into_iter()
        .map(|stage| biquad_power(stage, w))
        .product()
}

/// |H(e^{jw})|² of a biquad with numerator `b` and denominator `1 + a1 z⁻¹ + a2 z⁻²`.
fn biquad_power((b, a): ([f64; 3], [f64; 2]), w: f64) -> f64 {
    let (c1, s1, c2, s2) = (w.cos(), w.sin(), (2.0 * w).cos(), (2.0 * w).sin());
    let nr = b[0] + b[1] * c1 + b[2] * c2;
    let ni = -(b[1] * s1 + b[2] * s2);
    let dr = 1.0 + a[0] * c1 + a[1] * c2;
    let di = -(a[0] * s1 + a[1] * s2);
    (nr * nr + ni * ni) / (dr * dr + di * di).max(1e-30)
}

/// The energy level 1..=10 of a whole track from its [`energy_curve`]: the 75th percentile
/// of the curve on the scale in the module docs. 1 for an empty curve.
pub fn energy_level(curve: &[f32]) -> u8 {
    level(curve)
}

/// The energy level 1..=10 of the part of a track between `start` and `end` seconds, from
/// its [`energy_curve`] computed with `hop_secs`. Points whose centre lies in the range
/// count (the nearest point when the range is shorter than a hop); 1 when the range is
/// empty, reversed or outside the curve.
pub fn energy_level_between(curve: &[f32], hop_secs: f64, start: f64, end: f64) -> u8 {
    if curve.is_empty()
        || !(hop_secs.is_finite() && hop_secs > 0.0)
        || !(start.is_finite() && end.is_finite())
        || end <= start
    {
        return 1;
    }
    let hop = hop_secs.max(MIN_HOP_SECS);
    let first = ((start / hop - 0.5).ceil().max(0.0)) as usize;
    let past = (((end / hop - 0.5).ceil().max(0.0)) as usize).min(curve.len());
    if first < past {
        level(&curve[first..past])
    } else {
        let nearest = (((start + end) / 2.0 / hop - 0.5).round().max(0.0)) as usize;
        curve.get(nearest).map_or(1, |&v| level(&[v]))
    }
}

/// `1 + round(9 · p75)` of the finite values.
fn level(values: &[f32]) -> u8 {
    let mut v: Vec<f32> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 1;
    }
    v.sort_by(f32::total_cmp);
    let p75 = v[((v.len() - 1) as f64 * 0.75).round() as usize].clamp(0.0, 1.0);
    1 + (9.0 * p75 as f64).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k_weighting_is_about_0_7_db_at_1_khz_and_cuts_the_deep_bass() {
        let db = |hz: f64| 10.0 * k_weighting_power(hz, 48_000.0).log10();
        assert!((db(997.0) - 0.691).abs() < 0.05, "{}", db(997.0));
        assert!(db(20.0) < -10.0);
        assert!((db(10_000.0) - 4.0).abs() < 0.5);
    }

    #[test]
    fn a_sine_reads_its_bs1770_loudness() {
        // -20 dBFS 1 kHz sine, mono duplicated: -20 LUFS, inside the linear part of the
        // scale.
        let rate = 44_100;
        let x: Vec<f32> = (0..rate * 4)
            .map(|i| 0.1 * (std::f64::consts::TAU * 997.0 * i as f64 / rate as f64).sin() as f32)
            .collect();
        let c = energy_curve(&x, rate, 1.0);
        let loud = (-20.0 - QUIET_LUFS) / (LOUD_LUFS - QUIET_LUFS);
        let v = c[1] as f64;
        assert!(
            v >= LOUDNESS_WEIGHT * loud - 0.01 && v < LOUDNESS_WEIGHT * loud + 0.05,
            "{c:?}"
        );
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        assert!(energy_curve(&[], 44_100, 0.5).is_empty());
        assert!(energy_curve(&[0.5], 0, 0.5).is_empty());
        assert_eq!(energy_curve(&[0.5; 10], 44_100, 0.5).len(), 1);
        assert!(!energy_curve(&[0.5; 10], 44_100, f64::NAN).is_empty());
        assert!(!energy_curve(&[0.5; 10], 44_100, -1.0).is_empty());
        let c = energy_curve(&[f32::NAN; 4410], 44_100, 0.05);
        assert!(c.iter().all(|v| *v == 0.0));
        assert_eq!(energy_level(&[]), 1);
        assert_eq!(energy_level(&[f32::NAN]), 1);
        assert_eq!(energy_level(&[2.0]), 10);
        assert_eq!(energy_level_between(&[0.5; 4], 0.5, 3.0, 1.0), 1);
        assert_eq!(energy_level_between(&[0.5; 4], 0.5, 0.1, 0.2), 6);
        assert_eq!(energy_level_between(&[0.5; 4], 0.5, 10.0, 20.0), 1);
        assert_eq!(energy_level_between(&[0.5; 4], f64::NAN, 0.0, 1.0), 1);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_frame_features_are_the_portable_ones_to_the_bit() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let rate = 44_100;
        let mut state = 0x1234_5678u32;
        let x: Vec<f32> = (0..rate as usize * 3)
            .map(|i| {
                let noise = crate::test_uniform(&mut state) - 0.5;
                noise * (1.0 + (i as f32 * 0.001).sin())
            })
            .collect();
        let spec = Spectrogram::compute(&x, rate, 2048, 1024);
        let (mut portable, mut avx2) = (EnergyFrames::new(&spec), EnergyFrames::new(&spec));
        for f in 0..spec.frames() {
            push_frame_with(&mut portable, spec.frame(f));
            // SAFETY: the CPU supports AVX2, checked above.
            unsafe { push_frame_avx2(&mut avx2, spec.frame(f)) };
        }
        let bits = |v: &Vec<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(portable.power.len(), spec.frames());
        assert_eq!(
            (bits(&portable.power), bits(&portable.flux)),
            (bits(&avx2.power), bits(&avx2.flux))
        );
    }

    #[test]
    fn streamed_frames_give_the_stored_spectrogram_s_curve() {
        let rate = 22_050;
        let mut state = 0x0bad_cafeu32;
        let x: Vec<f32> = (0..rate as usize * 5)
            .map(|i| (crate::test_uniform(&mut state) - 0.5) * (i as f32 * 1e-4).sin())
            .collect();
        let fft = fft_size_for(rate);
        let spec = Spectrogram::compute(&x, rate, fft, fft / 2);
        let shape = Spectrogram::shape(rate, fft, fft / 2, usize::MAX);
        let mut streamed = EnergyFrames::new(&shape);
        shape.each_frame(&x, |m| streamed.push(m));
        let bits = |v: Vec<f32>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let stored = energy_curve_of(&spec, 5.0, 0.25);
        assert_eq!(stored.len(), 20);
        assert_eq!(bits(streamed.curve(5.0, 0.25)), bits(stored));
        assert_eq!(
            bits(energy_curve(&x, rate, 0.25)),
            bits(streamed.curve(5.0, 0.25))
        );
    }
}
