//! Onset envelopes: how strongly something new starts at each instant.
//!
//! * `OnsetEnvelopes::full`: log-compressed spectral flux over the whole spectrum, each bin
//!   weighted by 1/frequency (every octave counts the same), with a 3-bin maximum filter on
//!   the previous frame (SuperFlux, Böck & Widmer 2013), so vibrato and glides count less
//!   than attacks; minus its local mean, half-wave rectified.
//! * `OnsetEnvelopes::low`: the same below 200 Hz: kicks and bass notes.
//! * `OnsetEnvelopes::low_linear`: linear-magnitude flux below 200 Hz, where a kick's body
//!   outweighs a snare's or a clap's by far even while an earlier kick still rings.
//! * `OnsetEnvelopes::mid`: linear-magnitude flux over 1-6 kHz: snares and claps (the
//!   backbeat).
//! * `chroma`: log-compressed pitch-class profile per frame (60-1500 Hz); its change across beats is the cue for chord
//!   changes (which mostly fall on downbeats).
//!
//! Everything works on a [`Spectrogram`]; nothing here allocates more than a few vectors of
//! one value per frame.

use super::Spectrogram;

/// Log compression constant: `ln(1 + GAMMA · magnitude)`.
const GAMMA: f32 = 100.0;

/// Upper edge of the low band, Hz.
const LOW_BAND_HZ: f64 = 200.0;

/// The snare/clap band, Hz.
const MID_BAND_HZ: (f64, f64) = (1_000.0, 6_000.0);

/// Frequencies the chroma takes in, Hz: bass line, pads and chords.
const CHROMA_HZ: (f64, f64) = (60.0, 1_500.0);

/// Half-length of the local mean subtracted from the flux, seconds.
const LOCAL_MEAN_SECS: f64 = 0.25;

/// Onset strength per spectrogram frame.
#[derive(Debug, Clone)]
pub(crate) struct OnsetEnvelopes {
    /// Frames per second.
    pub fps: f64,
    /// Whole-spectrum onset strength (≥ 0).
    pub full: Vec<f32>,
    /// Below-200 Hz onset strength (≥ 0).
    pub low: Vec<f32>,
    /// Below-200 Hz onset strength (≥ 0) on linear magnitudes: kicks.
    pub low_linear: Vec<f32>,
    /// 1-6 kHz onset strength (≥ 0) on linear magnitudes, so loud hits stand out from hat
    /// leakage: snares and claps.
    pub mid: Vec<f32>,
}

impl OnsetEnvelopes {
    /// Envelopes of `spec` (any FFT size; a 20-25 ms window and 10 ms hop suit beats).
    #[cfg(test)]
    pub fn compute(spec: &Spectrogram) -> Self {
        let mut onsets = OnsetBuilder::new(spec);
        for t in 0..spec.frames() {
            onsets.push(spec.frame(t));
        }
        onsets.finish()
    }
}

/// Frames whose flux [`OnsetBuilder`] takes together, one per lane.
const LANES: usize = 8;

/// Slots per bin in [`OnsetBuilder`]'s blocks: the frame before the block, then its frames.
const SLOTS: usize = LANES + 1;

/// [`OnsetEnvelopes`] of a spectrogram handed over frame by frame
/// ([`Spectrogram::each_frame`]), so the spectrogram is never stored. Frames are gathered
/// [`LANES`] at a time, bin by bin, and the flux of all of them is summed at once, one frame
/// per lane: each frame's sums run over the bins in the same order as one frame's loop
/// (the same values, to the bit), side by side.
pub(crate) struct OnsetBuilder {
    fps: f64,
    bins: usize,
    low_bins: usize,
    /// The snare band's bins, from the low band's top (bins below it count there).
    mid_bins: (usize, usize),
    /// 1/frequency per bin.
    weight: Vec<f32>,
    /// Linear magnitudes, bin after bin: slot 0 the frame before the block (non-finite
    /// values as 0), slots 1.. the block's frames as they came.
    lin: Vec<f32>,
    /// The log-compressed magnitudes, in the same slots.
    log: Vec<f32>,
    /// Frames in the block.
    filled: usize,
    full: Vec<f32>,
    low: Vec<f32>,
    low_linear: Vec<f32>,
    mid: Vec<f32>,
}

impl OnsetBuilder {
    /// A builder for frames of `shape`'s parameters (its magnitudes, if any, are not read).
    pub fn new(shape: &Spectrogram) -> Self {
        let bins = shape.bins;
        let bin_hz = shape.bin_hz(1).max(1e-9);
        let low_bins = ((LOW_BAND_HZ / bin_hz).ceil() as usize).clamp(2, bins);
        let mid_bins = (
            ((MID_BAND_HZ.0 / bin_hz).round() as usize).max(low_bins),
            ((MID_BAND_HZ.1 / bin_hz).round() as usize).min(bins),
        );
        // Equal weight per octave, so a broadband hat does not outweigh a kick.
        let weight: Vec<f32> = (0..bins).map(|k| 1.0 / k.max(1) as f32).collect();
        Self {
            fps: shape.frame_rate(),
            bins,
            low_bins,
            mid_bins,
            weight,
            // Frame -1 is silence, so a track starting on a beat has an onset.
            lin: vec![0.0; bins * SLOTS],
            log: vec![0.0; bins * SLOTS],
            filled: 0,
            full: Vec::new(),
            low: Vec::new(),
            low_linear: Vec::new(),
            mid: Vec::new(),
        }
    }

    /// The next frame's magnitudes (`bins` of them).
    pub fn push(&mut self, frame: &[f32]) {
        let slot = 1 + self.filled;
        for (k, &m) in frame.iter().take(self.bins).enumerate() {
            self.lin[k * SLOTS + slot] = m;
        }
        self.filled += 1;
        if self.filled == LANES {
            self.flush();
        }
    }

    /// The envelopes of the frames pushed.
    pub fn finish(mut self) -> OnsetEnvelopes {
        if self.filled > 0 {
            self.flush();
        }
        let half = (LOCAL_MEAN_SECS * self.fps).round().max(1.0) as usize;
        subtract_local_mean(&mut self.full, half);
        subtract_local_mean(&mut self.low, half);
        subtract_local_mean(&mut self.low_linear, half);
        subtract_local_mean(&mut self.mid, half);
        OnsetEnvelopes {
            fps: self.fps,
            full: self.full,
            low: self.low,
            low_linear: self.low_linear,
            mid: self.mid,
        }
    }

    /// The flux of the block's frames, then its last frame becomes the one before the next.
    fn flush(&mut self) {
        // Slot 0 too (the previous block's last frame again, the same values): one pass.
        ln_1p_scaled::<true>(&self.lin, GAMMA, &mut self.log);
        let sums = block_flux(
            &self.lin,
            &self.log,
            &self.weight,
            self.low_bins,
            self.mid_bins,
        );
        let n = self.filled;
        self.full.extend_from_slice(&sums[0][..n]);
        self.low.extend_from_slice(&sums[1][..n]);
        self.low_linear.extend_from_slice(&sums[2][..n]);
        self.mid.extend_from_slice(&sums[3][..n]);
        for k in 0..self.bins {
            let (m, l) = (self.lin[k * SLOTS + n], self.log[k * SLOTS + n]);
            self.lin[k * SLOTS] = if m.is_finite() { m } else { 0.0 };
            self.log[k * SLOTS] = l;
        }
        self.filled = 0;
    }
}

avx2_or_portable! {
    /// The four fluxes (whole spectrum, low band, low band linear, snare band) of the frames in
    /// the lanes of a block ([`OnsetBuilder`]'s `lin` and `log`).
    fn block_flux / block_flux_avx2(lin: &[f32], log: &[f32], weight: &[f32], low_bins: usize, mid_bins: (usize, usize)) -> [[f32; LANES]; 4] = block_flux_portable
}

#[inline(always)]
fn block_flux_portable(
    lin: &[f32],
    log: &[f32],
    weight: &[f32],
    low_bins: usize,
    mid_bins: (usize, usize),
) -> [[f32; LANES]; 4] {
    let bins = weight.len();
    // Bin k's slots: the previous frame of lane j in slot j, its own in slot j + 1.
    let prev = |x: &[f32], k: usize| -> [f32; LANES] {
        x[k * SLOTS..k * SLOTS + LANES]
            .try_into()
            .expect("LANES long")
    };
    let cur = |x: &[f32], k: usize| -> [f32; LANES] {
        x[k * SLOTS + 1..k * SLOTS + SLOTS]
            .try_into()
            .expect("LANES long")
    };
    // The previous linear frame with non-finite values as 0 (slot 0 already is).
    let prev_lin = |k: usize| prev(lin, k).map(|m| if m.is_finite() { m } else { 0.0 });
    let (mut f, mut l, mut ll, mut m) = (
        [0.0f32; LANES],
        [0.0f32; LANES],
        [0.0f32; LANES],
        [0.0f32; LANES],
    );
    for (k, &w) in weight.iter().enumerate().skip(1) {
        let (c, p) = (cur(log, k), prev(log, k));
        let (below, above) = (prev(log, k - 1), prev(log, (k + 1).min(bins - 1)));
        // Against the previous frame's maximum over bins k-1..=k+1 (SuperFlux).
        for j in 0..LANES {
            let d = (c[j] - below[j].max(p[j]).max(above[j])).max(0.0);
            f[j] += d * w;
        }
        if k < low_bins {
            let (cl, pl) = (cur(lin, k), prev_lin(k));
            for j in 0..LANES {
                l[j] += (c[j] - p[j]).max(0.0);
                ll[j] += (cl[j] - pl[j]).max(0.0);
            }
        } else if (mid_bins.0..mid_bins.1).contains(&k) {
            let (cl, pl) = (cur(lin, k), prev_lin(k));
            for j in 0..LANES {
                m[j] += (cl[j] - pl[j]).max(0.0);
            }
        }
    }
    [f, l, ll, m]
}

/// Natural logarithm for the log compression, about 3× faster than `f32::ln` and within
/// 1e-6 of it: ln(2^e · m) = e · ln 2 + 2 · atanh((m − 1)/(m + 1)) with m in [√½, √2).
#[inline]
pub(crate) fn fast_ln(x: f32) -> f32 {
    if x.is_nan() || x <= f32::MIN_POSITIVE || x.is_infinite() {
        return x.ln();
    }
    fast_ln_normal(x)
}

/// [`fast_ln`] of a positive normal finite `x`, without branches (so loops over it
/// vectorise).
#[inline(always)]
fn fast_ln_normal(x: f32) -> f32 {
    let bits = x.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    let m = if big { m * 0.5 } else { m };
    let e = e + big as i32;
    let z = (m - 1.0) / (m + 1.0);
    let z2 = z * z;
    let ln_m = 2.0 * z * (1.0 + z2 * (1.0 / 3.0 + z2 * (0.2 + z2 * (1.0 / 7.0))));
    e as f32 * std::f32::consts::LN_2 + ln_m
}

/// `dst[i] = fast_ln(1 + gain · src[i])` (with non-finite `src[i]` read as 0 when `CLEAN`),
/// eight at a time where every value of the eight is in [`fast_ln`]'s branch-free range:
/// the same values as the scalar loop, several times faster.
pub(crate) fn ln_1p_scaled<const CLEAN: bool>(src: &[f32], gain: f32, dst: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { ln_1p_scaled_avx2::<CLEAN>(src, gain, dst) };
        return;
    }
    ln_1p_scaled_portable::<CLEAN>(src, gain, dst);
}

/// [`ln_1p_scaled`] in AVX2 instructions, eight values at a time: [`fast_ln_normal`]'s
/// operations one for one (no fused multiply-add), so the same values to the bit.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn ln_1p_scaled_avx2<const CLEAN: bool>(src: &[f32], gain: f32, dst: &mut [f32]) {
    use std::arch::x86_64::*;
    let n = src.len().min(dst.len());
    let (src, dst) = (&src[..n], &mut dst[..n]);
    let body = n / 8 * 8;
    let one = _mm256_set1_ps(1.0);
    let gain_v = _mm256_set1_ps(gain);
    let inf = _mm256_set1_ps(f32::INFINITY);
    let abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fff_ffff));
    let min_pos = _mm256_set1_ps(f32::MIN_POSITIVE);
    let mant = _mm256_set1_epi32(0x007f_ffff);
    let unit = _mm256_set1_epi32(0x3f80_0000);
    let byte = _mm256_set1_epi32(0xff);
    let bias = _mm256_set1_epi32(127);
    let sqrt2 = _mm256_set1_ps(std::f32::consts::SQRT_2);
    let half = _mm256_set1_ps(0.5);
    let two = _mm256_set1_ps(2.0);
    let (c3, c5, c7) = (
        _mm256_set1_ps(1.0 / 3.0),
        _mm256_set1_ps(0.2),
        _mm256_set1_ps(1.0 / 7.0),
    );
    let ln2 = _mm256_set1_ps(std::f32::consts::LN_2);
    for i in (0..body).step_by(8) {
        // SAFETY: i + 8 ≤ n = src.len().
        let mut m = unsafe { _mm256_loadu_ps(src.as_ptr().add(i)) };
        if CLEAN {
            // Non-finite (NaN compares false) as 0.
            let finite = _mm256_cmp_ps::<_CMP_LT_OQ>(_mm256_and_ps(m, abs_mask), inf);
            m = _mm256_and_ps(m, finite);
        }
        let x = _mm256_add_ps(one, _mm256_mul_ps(gain_v, m));
        let normal = _mm256_and_ps(
            _mm256_cmp_ps::<_CMP_GT_OQ>(x, min_pos),
            _mm256_cmp_ps::<_CMP_LT_OQ>(x, inf),
        );
        if _mm256_movemask_ps(normal) != 0xff {
            for j in i..i + 8 {
                let v = src[j];
                let v = if CLEAN && !v.is_finite() { 0.0 } else { v };
                dst[j] = fast_ln(1.0 + gain * v);
            }
            continue;
        }
        let bits = _mm256_castps_si256(x);
        let e = _mm256_sub_epi32(_mm256_and_si256(_mm256_srli_epi32::<23>(bits), byte), bias);
        let m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, mant), unit));
        let big = _mm256_cmp_ps::<_CMP_GT_OQ>(m, sqrt2);
        let m = _mm256_blendv_ps(m, _mm256_mul_ps(m, half), big);
        // A true mask is -1: subtracting it adds one.
        let e = _mm256_sub_epi32(e, _mm256_castps_si256(big));
        let z = _mm256_div_ps(_mm256_sub_ps(m, one), _mm256_add_ps(m, one));
        let z2 = _mm256_mul_ps(z, z);
        let poly = _mm256_add_ps(c5, _mm256_mul_ps(z2, c7));
        let poly = _mm256_add_ps(c3, _mm256_mul_ps(z2, poly));
        let poly = _mm256_add_ps(one, _mm256_mul_ps(z2, poly));
        let ln_m = _mm256_mul_ps(_mm256_mul_ps(two, z), poly);
        let r = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(e), ln2), ln_m);
        // SAFETY: i + 8 ≤ n = dst.len().
        unsafe { _mm256_storeu_ps(dst.as_mut_ptr().add(i), r) };
    }
    for (d, &v) in dst[body..].iter_mut().zip(&src[body..]) {
        let v = if CLEAN && !v.is_finite() { 0.0 } else { v };
        *d = fast_ln(1.0 + gain * v);
    }
}

#[inline(always)]
fn ln_1p_scaled_portable<const CLEAN: bool>(src: &[f32], gain: f32, dst: &mut [f32]) {
    let n = src.len().min(dst.len());
    let (src, dst) = (&src[..n], &mut dst[..n]);
    let arg = |m: f32| {
        let m = if CLEAN && !m.is_finite() { 0.0 } else { m };
        1.0 + gain * m
    };
    let mut s = src.chunks_exact(8);
    let mut d = dst.chunks_exact_mut(8);
    for (s, d) in (&mut s).zip(&mut d) {
        let x: [f32; 8] = std::array::from_fn(|i| arg(s[i]));
        let normal = x.iter().fold(true, |ok, &v| {
            ok & (v > f32::MIN_POSITIVE) & (v < f32::INFINITY)
        });
        if normal {
            for i in 0..8 {
                d[i] = fast_ln_normal(x[i]);
            }
        } else {
            for i in 0..8 {
                d[i] = fast_ln(x[i]);
            }
        }
    }
    for (d, &m) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *d = fast_ln(arg(m));
    }
}

/// `x[i] -= mean(x[i-half..=i+half])`, then clamp at 0.
fn subtract_local_mean(x: &mut [f32], half: usize) {
    let n = x.len();
    if n == 0 {
        return;
    }
    let mut cum = Vec::with_capacity(n + 1);
    cum.push(0.0f64);
    for &v in x.iter() {
        cum.push(cum[cum.len() - 1] + v as f64);
    }
    for (i, v) in x.iter_mut().enumerate() {
        let a = i.saturating_sub(half);
        let b = (i + half + 1).min(n);
        let mean = (cum[b] - cum[a]) / (b - a) as f64;
        *v = (*v as f64 - mean).max(0.0) as f32;
    }
}

/// How many of the lowest bins of a spectrogram (`fft_size` at `sample_rate`) [`chroma`]
/// reads: those up to the top of its band.
pub(crate) fn chroma_bins(sample_rate: u32, fft_size: usize) -> usize {
    let bin_hz = sample_rate as f64 / fft_size.max(1) as f64;
    (CHROMA_HZ.1 / bin_hz).floor() as usize + 2
}

/// Chroma per frame of `spec` (which should resolve semitones: a window of about 90 ms or
/// more): the linear magnitudes of the bins between 130 Hz and 1.5 kHz summed per pitch
/// class (0 = A). Drums spread evenly over the classes; chords and bass notes do not.
pub(crate) fn chroma(spec: &Spectrogram) -> Vec<[f32; 12]> {
    let classes: Vec<Option<usize>> = (0..spec.bins)
        .map(|k| {
            let hz = spec.bin_hz(k);
            if !(CHROMA_HZ.0..=CHROMA_HZ.1).contains(&hz) {
                return None;
            }
            let semis = 12.0 * (hz / 440.0).log2();
            Some((semis.round() as i64).rem_euclid(12) as usize)
        })
        .collect();
    // Log-compressed relative to the loudest bin, so the loudest voice (a lead, a vocal)
    // does not drown the bass line and the pads, which carry the chord changes.
    let mut peak = 0.0f32;
    for t in 0..spec.frames() {
        for (&m, class) in spec.frame(t).iter().zip(&classes) {
            if class.is_some() && m.is_finite() {
                peak = peak.max(m);
            }
        }
    }
    let scale = if peak > 0.0 { GAMMA / peak } else { 0.0 };
    // The compressed magnitudes of a frame's bins at once (the same values as `fast_ln`'s,
    // those of non-finite magnitudes left out below), then summed per class in bin order.
    let mut logs = vec![0.0f32; spec.bins];
    (0..spec.frames())
        .map(|t| {
            let frame = spec.frame(t);
            ln_1p_scaled::<false>(frame, scale, &mut logs);
            let mut c = [0.0f32; 12];
            for ((&m, &v), class) in frame.iter().zip(&logs).zip(&classes) {
                if let (Some(pc), true) = (class, m.is_finite()) {
                    c[*pc] += v;
                }
            }
            c
        })
        .collect()
}

/// 1 − cosine similarity of two chroma vectors (0 when either is silent).
pub(crate) fn chroma_distance(a: &[f32; 12], b: &[f32; 12]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    if na <= 1e-12 || nb <= 1e-12 {
        0.0
    } else {
        (1.0 - dot / (na * nb)).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_ln_matches_ln() {
        for x in [1.0f32, 1.5, 2.0, 3.7, 10.0, 123.4, 1e4, 3e7] {
            assert!((fast_ln(x) - x.ln()).abs() < 1e-5 * x.ln().max(1.0), "{x}");
        }
    }

    #[test]
    fn ln_1p_scaled_is_the_scalar_loop_to_the_bit() {
        let src: Vec<f32> = (0..203)
            .map(|i| match i {
                17 => f32::NAN,
                40 => f32::INFINITY,
                41 => -0.5,
                90 => -1e-3,
                _ => (i as f32 * 0.37).sin().abs() * 10f32.powi(i % 9 - 6),
            })
            .collect();
        for gain in [1.0f32, 100.0, 1e3] {
            let mut fast = vec![0.0f32; src.len()];
            ln_1p_scaled::<false>(&src, gain, &mut fast);
            for (f, &m) in fast.iter().zip(&src) {
                assert_eq!(f.to_bits(), fast_ln(1.0 + gain * m).to_bits(), "{m} {gain}");
            }
            ln_1p_scaled::<true>(&src, gain, &mut fast);
            for (f, &m) in fast.iter().zip(&src) {
                let m = if m.is_finite() { m } else { 0.0 };
                assert_eq!(f.to_bits(), fast_ln(1.0 + gain * m).to_bits(), "{m} {gain}");
            }
        }
    }

    /// The envelopes as one frame's loop computes them (the code before [`OnsetBuilder`]).
    fn reference(spec: &Spectrogram) -> OnsetEnvelopes {
        let frames = spec.frames();
        let bins = spec.bins;
        let low_bins = ((LOW_BAND_HZ / spec.bin_hz(1).max(1e-9)).ceil() as usize).clamp(2, bins);
        let (mut full, mut low) = (vec![0.0f32; frames], vec![0.0f32; frames]);
        let (mut low_linear, mut mid) = (vec![0.0f32; frames], vec![0.0f32; frames]);
        let mid_bins = (
            (MID_BAND_HZ.0 / spec.bin_hz(1).max(1e-9)).round() as usize,
            ((MID_BAND_HZ.1 / spec.bin_hz(1).max(1e-9)).round() as usize).min(bins),
        );
        let mut prev = vec![0.0f32; bins];
        let mut prev_max = vec![0.0f32; bins];
        let mut prev_lin = vec![0.0f32; bins];
        let mut cur = vec![0.0f32; bins];
        let weight: Vec<f32> = (0..bins).map(|k| 1.0 / k.max(1) as f32).collect();
        for t in 0..frames {
            let frame = spec.frame(t);
            for (c, &m) in cur.iter_mut().zip(frame) {
                *c = fast_ln(1.0 + GAMMA * if m.is_finite() { m } else { 0.0 });
            }
            for k in 0..bins {
                let lo = k.saturating_sub(1);
                let hi = (k + 1).min(bins - 1);
                prev_max[k] = prev[lo].max(prev[k]).max(prev[hi]);
            }
            let (mut f, mut l, mut ll, mut m) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
            for k in 1..bins {
                let d = (cur[k] - prev_max[k]).max(0.0);
                f += d * weight[k];
                if k < low_bins {
                    l += (cur[k] - prev[k]).max(0.0);
                    ll += (frame[k] - prev_lin[k]).max(0.0);
                } else if (mid_bins.0..mid_bins.1).contains(&k) {
                    m += (frame[k] - prev_lin[k]).max(0.0);
                }
            }
            (full[t], low[t], low_linear[t], mid[t]) = (f, l, ll, m);
            std::mem::swap(&mut prev, &mut cur);
            for (p, &m) in prev_lin.iter_mut().zip(frame) {
                *p = if m.is_finite() { m } else { 0.0 };
            }
        }
        let half = (LOCAL_MEAN_SECS * spec.frame_rate()).round().max(1.0) as usize;
        for x in [&mut full, &mut low, &mut low_linear, &mut mid] {
            subtract_local_mean(x, half);
        }
        OnsetEnvelopes {
            fps: spec.frame_rate(),
            full,
            low,
            low_linear,
            mid,
        }
    }

    #[test]
    fn streamed_envelopes_are_one_frame_loops_to_the_bit() {
        let rate = 22_050;
        // Noise bursts, a chirp and silence; 203 frames (not a whole number of blocks).
        let mut seed = 7u32;
        let x: Vec<f32> = (0..203 * 221 - 100)
            .map(|i| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                let t = i as f32 / rate as f32;
                let burst = if (i / 2_000) % 3 == 0 { noise } else { 0.0 };
                burst + 0.3 * (std::f32::consts::TAU * (200.0 + 900.0 * t) * t).sin()
            })
            .collect();
        let mut spec = Spectrogram::compute(&x, rate, 512, 221);
        assert_eq!(spec.frames(), 203);
        // Non-finite magnitudes are read as silence (and as the previous frame's).
        for (i, v) in [(700, f32::NAN), (701, f32::INFINITY), (3_000, f32::NAN)] {
            spec.mags[i] = v;
        }
        for spec in [
            spec.clone(),
            Spectrogram::compute(&x[..5_000], rate, 512, 221),
        ] {
            let (got, want) = (OnsetEnvelopes::compute(&spec), reference(&spec));
            assert_eq!(got.fps.to_bits(), want.fps.to_bits());
            for (g, w) in [
                (&got.full, &want.full),
                (&got.low, &want.low),
                (&got.low_linear, &want.low_linear),
                (&got.mid, &want.mid),
            ] {
                assert_eq!(g.len(), w.len());
                assert!(g.iter().zip(w).all(|(a, b)| a.to_bits() == b.to_bits()));
            }
            assert!(want.full.iter().any(|&v| v > 0.0));
        }
    }

    #[test]
    fn ln_1p_scaled_matches_fast_ln_over_many_magnitudes() {
        // Every octave from 1e-9 to 1e9, with mantissas on both sides of √2.
        let src: Vec<f32> = (0..20_000)
            .map(|i| 10f32.powf(-9.0 + 18.0 * i as f32 / 20_000.0) * (1.0 + (i % 7) as f32 * 0.07))
            .collect();
        let mut got = vec![0.0f32; src.len()];
        ln_1p_scaled::<true>(&src, GAMMA, &mut got);
        for (g, &m) in got.iter().zip(&src) {
            assert_eq!(g.to_bits(), fast_ln(1.0 + GAMMA * m).to_bits(), "{m}");
        }
    }

    #[test]
    fn clicks_give_onsets_where_they_are() {
        let rate = 44_100;
        let mut x = vec![0.0f32; rate as usize * 2];
        for k in 0..4 {
            let at = k * 22_050 + 1_000;
            for i in 0..200 {
                x[at + i] = if i % 2 == 0 { 0.8 } else { -0.8 };
            }
        }
        let spec = Spectrogram::compute(&x, rate, 1024, 441);
        let env = OnsetEnvelopes::compute(&spec);
        for k in 0..4 {
            let t = (k * 22_050 + 1_000) as f64 / rate as f64;
            let f = (t * env.fps).round() as usize;
            let local = env.full[f.saturating_sub(3)..(f + 3).min(env.full.len())]
                .iter()
                .copied()
                .fold(0.0f32, f32::max);
            assert!(local > 0.0, "no onset near {t} s");
        }
        assert!(env.full.iter().all(|v| v.is_finite() && *v >= 0.0));
    }
}
