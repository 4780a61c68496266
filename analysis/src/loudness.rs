//! Loudness: EBU R128 / ITU-R BS.1770-4 integrated loudness and EBU Tech 3342 loudness
//! range of the stereo mix, its true peak, and the replay-gain trim to a target level.
//!
//! Integrated loudness and loudness range are measured in one pass: the K-weighting filter
//! (libebur128's design, any rate) runs once over each channel, the mean squares of
//! consecutive 100 ms pieces are kept, and the 400 ms gating blocks (75 % overlap) and the
//! 3 s short-term blocks (1 s hop) are sums of those pieces — the gating, percentiles and
//! thresholds are those of BS.1770-4 and Tech 3342 as the `ebur128` crate implements them.
//! The `ebur128` crate is the reference the tests hold this to (within 0.01 LU); it is not
//! called here because its meter re-sums every filtered sample for each overlapping block
//! (7 sums per sample for I + LRA), which made loudness the costliest analysis stage.
//!
//! The true peak is BS.1770-4 Annex 2's: the signal 4× oversampled by the standard's 48-tap
//! polyphase interpolator, the largest magnitude of the result (at 192 kHz and above, the
//! sample peak). It is computed a piece and a phase at a time in a form the compiler
//! vectorises, and only where it could beat the largest value found so far (an exact bound;
//! see [`true_peak`]); the tests hold it to `ebur128`'s reading too.
//!
//! Levels follow BS.1770: a 1 kHz sine at −20 dBFS peak in *both* channels reads −20 LUFS
//! (each channel alone would read about −23); a full-scale sine in both reads about 0 LUFS.
//!
//! Silence has no loudness and no peak (the meter says −∞); instead of infinities this module
//! reports the finite sentinels [`SILENCE_LUFS`] and [`SILENCE_PEAK_DB`], so the values can
//! be stored, compared and serialised as JSON. Samples that are NaN or infinite are measured
//! as zeros.

use segue_engine::TrackAudio;

/// Integrated loudness reported for silence, LUFS: the BS.1770 absolute gate (−70 LUFS),
/// below which nothing counts.
pub const SILENCE_LUFS: f64 = -70.0;

/// True peak reported for silence, dBTP (and the floor of every true peak reading).
pub const SILENCE_PEAK_DB: f64 = -120.0;

/// Highest true peak [`replay_gain_db`] lets a trimmed track reach, dBTP.
pub const MAX_TRUE_PEAK_DB: f64 = -1.0;

/// Sample rates measured (those the `ebur128` crate accepts); anything else reads as silence.
const MIN_RATE: u32 = 16;
const MAX_RATE: u32 = 2_822_400;
/// BS.1770 absolute gate: blocks quieter than −70 LUFS do not count.
const ABSOLUTE_GATE_LUFS: f64 = -70.0;
/// BS.1770 relative gate of the integrated loudness, LU below the ungated level.
const RELATIVE_GATE_LU: f64 = -10.0;
/// Tech 3342 relative gate of the loudness range, LU.
const LRA_RELATIVE_GATE_LU: f64 = -20.0;

/// How loud a track is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loudness {
    /// EBU R128 integrated (programme) loudness, LUFS; [`SILENCE_LUFS`] for silence.
    pub integrated_lufs: f64,
    /// EBU R128 loudness range (spread of the short-term loudness, 10th to 95th
    /// percentile), LU; 0 for silence and for anything shorter than about 3 s.
    pub range_lu: f64,
    /// Highest true (inter-sample, 4× oversampled below 96 kHz) peak over both channels,
    /// dBTP; [`SILENCE_PEAK_DB`] for silence.
    pub true_peak_db: f64,
}

/// Measure the mix of `audio`.
///
/// ```
/// use segue_engine::TrackAudio;
/// use segue_analysis::loudness::{measure_loudness, SILENCE_LUFS};
///
/// let silence = TrackAudio::new(44_100, vec![[0.0; 2]; 44_100]);
/// assert_eq!(measure_loudness(&silence).integrated_lufs, SILENCE_LUFS);
/// ```
pub fn measure_loudness(audio: &TrackAudio) -> Loudness {
    let rate = audio.sample_rate;
    if !(MIN_RATE..=MAX_RATE).contains(&rate) {
        return Loudness {
            integrated_lufs: SILENCE_LUFS,
            range_lu: 0.0,
            true_peak_db: SILENCE_PEAK_DB,
        };
    }
    let (integrated, range) = gated_loudness(&audio.mix, rate);
    let peak = true_peak(&audio.mix, rate) as f64;
    Loudness {
        integrated_lufs: integrated.unwrap_or(SILENCE_LUFS).max(SILENCE_LUFS),
        range_lu: range.max(0.0),
        true_peak_db: if peak > 0.0 && peak.is_finite() {
            (20.0 * peak.log10()).max(SILENCE_PEAK_DB)
        } else {
            SILENCE_PEAK_DB
        },
    }
}

/// BS.1770 loudness of a mean square summed over the channels.
fn energy_to_lufs(energy: f64) -> f64 {
    10.0 * energy.log10() - 0.691
}

/// The mean square (summed over channels) a level in LUFS stands for.
fn lufs_to_energy(lufs: f64) -> f64 {
    10f64.powf((lufs + 0.691) / 10.0)
}

/// Integrated loudness (`None`: no block above the absolute gate) and loudness range (LU)
/// of `mix` at `rate`: see the module documentation.
fn gated_loudness(mix: &[[f32; 2]], rate: u32) -> (Option<f64>, f64) {
    let piece = (rate as usize + 5) / 10;
    let pieces = k_weighted_pieces(mix, rate, piece);
    let window = |len: usize| {
        let norm = 1.0 / (len * piece) as f64;
        move |w: &[f64]| w.iter().sum::<f64>() * norm
    };
    let gate = lufs_to_energy(ABSOLUTE_GATE_LUFS);
    // 400 ms blocks every 100 ms, 3 s blocks every second; only those above the gate.
    let blocks: Vec<f64> = pieces
        .windows(4)
        .map(window(4))
        .filter(|&e| e >= gate)
        .collect();
    let mut short: Vec<f64> = pieces
        .windows(30)
        .step_by(10)
        .map(window(30))
        .filter(|&e| e >= gate)
        .collect();

    let integrated = (!blocks.is_empty()).then(|| {
        let mean = blocks.iter().sum::<f64>() / blocks.len() as f64;
        let threshold = mean * 10f64.powf(RELATIVE_GATE_LU / 10.0);
        let (n, sum) = blocks
            .iter()
            .filter(|&&e| e >= threshold)
            .fold((0usize, 0.0f64), |(n, s), &e| (n + 1, s + e));
        energy_to_lufs(sum / n as f64)
    });

    let range = if short.is_empty() {
        0.0
    } else {
        short.sort_by(f64::total_cmp);
        let mean = short.iter().sum::<f64>() / short.len() as f64;
        let threshold = mean * 10f64.powf(LRA_RELATIVE_GATE_LU / 10.0);
        let below = short.partition_point(|&e| e < threshold);
        let kept = &short[below..];
        match kept.len().checked_sub(1) {
            Some(last) => {
                let at = |q: f64| kept[(last as f64 * q + 0.5) as usize];
                energy_to_lufs(at(0.95)) - energy_to_lufs(at(0.1))
            }
            None => 0.0,
        }
    };
    (integrated.filter(|v| v.is_finite()), range)
}

/// The K-weighted sum of squares, over both channels, of each whole `piece` frames of
/// `mix` (a trailing partial piece is dropped, as a meter would not have closed it yet).
fn k_weighted_pieces(mix: &[[f32; 2]], rate: u32, piece: usize) -> Vec<f64> {
    let stages = k_weighting(rate as f64);
    let mut out = Vec::with_capacity(mix.len() / piece);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports FMA, checked just above.
        unsafe { k_weighted_pieces_fma(mix, &stages, piece, &mut out) };
        return out;
    }
    k_weighted_pieces_with::<false>(mix, &stages, piece, &mut out);
    out
}

/// [`k_weighted_pieces_with`]`::<true>` with both channels in one register (lane 0 left,
/// lane 1 right): the same fused operations in the same order, so the same values, at half
/// the instructions. The running sum of squares is a chain of dependent additions, the
/// speed limit here: everything is kept in registers for it, which is why the RLB high pass
/// (numerator `[1, -2, 1]`) is written out: `1 · x + s`, `−2 · x + s` and `1 · x` are exact
/// products rounded once, as in the fused forms, and need no registers for the taps.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
fn k_weighted_pieces_fma(mix: &[[f32; 2]], stages: &[Biquad; 2], piece: usize, out: &mut Vec<f64>) {
    use std::arch::x86_64::*;
    let splat = |v: f64| _mm_set1_pd(v);
    let b = stages[0].0.map(splat);
    let neg_a = stages.map(|(_, a)| a.map(|v| splat(-v)));
    let high_pass = stages[1].0 == [1.0, -2.0, 1.0];
    let b2 = stages[1].0.map(splat);
    // Transposed direct form II, two states per stage.
    let mut state = [[_mm_setzero_pd(); 2]; 2];
    let clean = |v: f32| if v.is_finite() { v as f64 } else { 0.0 };
    for chunk in mix.chunks_exact(piece) {
        let mut sum = _mm_setzero_pd();
        let consts = (b, neg_a);
        if high_pass && chunk.iter().all(|f| f[0].is_finite() & f[1].is_finite()) {
            // Nothing to clean: that leaves the sum a register.
            let load = |f: &[f32; 2]| _mm_cvtps_pd(_mm_set_ps(0.0, 0.0, f[1], f[0]));
            sum = high_passed(chunk, &consts, &mut state, load);
        } else if high_pass {
            let load = |f: &[f32; 2]| _mm_set_pd(clean(f[1]), clean(f[0]));
            sum = high_passed(chunk, &consts, &mut state, load);
        } else {
            for frame in chunk {
                let mut x = _mm_set_pd(clean(frame[1]), clean(frame[0]));
                for ((b, a), s) in [&b, &b2].into_iter().zip(&neg_a).zip(state.iter_mut()) {
                    let y = _mm_fmadd_pd(b[0], x, s[0]);
                    s[0] = _mm_fmadd_pd(a[0], y, _mm_fmadd_pd(b[1], x, s[1]));
                    s[1] = _mm_fmadd_pd(a[1], y, _mm_mul_pd(b[2], x));
                    x = y;
                }
                sum = _mm_fmadd_pd(x, x, sum);
            }
        }
        // Decaying states would otherwise crawl through the (slow) subnormal range in
        // silence; at this size they are far below anything audible.
        let tiny = splat(1e-25);
        let abs_mask = _mm_castsi128_pd(_mm_set1_epi64x(i64::MAX));
        for v in state.iter_mut().flatten() {
            let below = _mm_cmplt_pd(_mm_and_pd(*v, abs_mask), tiny);
            *v = _mm_andnot_pd(below, *v);
        }
        out.push(_mm_cvtsd_f64(sum) + _mm_cvtsd_f64(_mm_unpackhi_pd(sum, sum)));
    }
}

/// One piece of [`k_weighted_pieces_fma`] with the RLB high pass written out: the sum of
/// squares of both channels, frames read by `load`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
#[inline]
fn high_passed(
    chunk: &[[f32; 2]],
    (b, neg_a): &(
        [std::arch::x86_64::__m128d; 3],
        [[std::arch::x86_64::__m128d; 2]; 2],
    ),
    state: &mut [[std::arch::x86_64::__m128d; 2]; 2],
    load: impl Fn(&[f32; 2]) -> std::arch::x86_64::__m128d,
) -> std::arch::x86_64::__m128d {
    use std::arch::x86_64::*;
    let [mut s, mut t] = *state;
    let mut sum = _mm_setzero_pd();
    for frame in chunk {
        let x = load(frame);
        let y = _mm_fmadd_pd(b[0], x, s[0]);
        s[0] = _mm_fmadd_pd(neg_a[0][0], y, _mm_fmadd_pd(b[1], x, s[1]));
        s[1] = _mm_fmadd_pd(neg_a[0][1], y, _mm_mul_pd(b[2], x));
        let x = y;
        let y = _mm_add_pd(x, t[0]);
        t[0] = _mm_fmadd_pd(neg_a[1][0], y, _mm_sub_pd(t[1], _mm_add_pd(x, x)));
        t[1] = _mm_fmadd_pd(neg_a[1][1], y, x);
        sum = _mm_fmadd_pd(y, y, sum);
    }
    *state = [s, t];
    sum
}

/// `a * b + c`, fused where `FMA` (then only called with the CPU feature enabled).
#[inline(always)]
fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

#[inline(always)]
fn k_weighted_pieces_with<const FMA: bool>(
    mix: &[[f32; 2]],
    stages: &[Biquad; 2],
    piece: usize,
    out: &mut Vec<f64>,
) {
    // Transposed direct form II, two states per stage, per channel.
    let mut state = [[[0.0f64; 2]; 2]; 2];
    for chunk in mix.chunks_exact(piece) {
        let mut sum = [0.0f64; 2];
        for frame in chunk {
            for ch in 0..2 {
                let v = frame[ch];
                let mut x = if v.is_finite() { v as f64 } else { 0.0 };
                for ((b, a), s) in stages.iter().zip(state[ch].iter_mut()) {
                    let y = madd::<FMA>(b[0], x, s[0]);
                    s[0] = madd::<FMA>(-a[0], y, madd::<FMA>(b[1], x, s[1]));
                    s[1] = madd::<FMA>(-a[1], y, b[2] * x);
                    x = y;
                }
                sum[ch] = madd::<FMA>(x, x, sum[ch]);
            }
        }
        // Decaying states would otherwise crawl through the (slow) subnormal range in
        // silence; at this size they are far below anything audible.
        for v in state.iter_mut().flatten().flatten() {
            if v.abs() < 1e-25 {
                *v = 0.0;
            }
        }
        out.push(sum[0] + sum[1]);
    }
}

/// One biquad: numerator `b0, b1, b2` and denominator `1 + a1 z⁻¹ + a2 z⁻²` as `[a1, a2]`.
pub(crate) type Biquad = ([f64; 3], [f64; 2]);

/// The BS.1770 K-weighting at `rate` as its two biquads, designed the way libebur128 does
/// for any rate: the high shelf ("pre-filter", +4 dB above ~1.7 kHz), then the RLB high
/// pass (~38 Hz).
pub(crate) fn k_weighting(rate: f64) -> [Biquad; 2] {
    use std::f64::consts::PI;
    let shelf = {
        let f0 = 1681.974450955533;
        let g = 3.999843853973347;
        let q = 0.7071752369554196;
        let k = (PI * f0 / rate).tan();
        let vh = 10f64.powf(g / 20.0);
        let vb = vh.powf(0.4996667741545416);
        let a0 = 1.0 + k / q + k * k;
        (
            [
                (vh + vb * k / q + k * k) / a0,
                2.0 * (k * k - vh) / a0,
                (vh - vb * k / q + k * k) / a0,
            ],
            [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
        )
    };
    let high_pass = {
        let f0 = 38.13547087602444;
        let q = 0.5003270373238773;
        let k = (PI * f0 / rate).tan();
        let a0 = 1.0 + k / q + k * k;
        (
            [1.0, -2.0, 1.0],
            [2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0],
        )
    };
    [shelf, high_pass]
}

/// ITU-R BS.1770-4 Annex 2: the four phases of the 4× oversampling interpolator, 12 taps
/// each.
const TRUE_PEAK_PHASES: [[f32; 12]; 4] = [
    [
        0.001_708_984_4,
        0.010_986_328,
        -0.019_653_32,
        0.033_203_125,
        -0.059_448_242,
        0.137_329_1,
        0.972_167_97,
        -0.102_294_92,
        0.047_607_42,
        -0.026_611_328,
        0.014_892_578,
        -0.008_300_781,
    ],
    [
        -0.029_174_805,
        0.029_296_875,
        -0.051_757_813,
        0.089_111_33,
        -0.166_503_9,
        0.465_087_9,
        0.779_785_16,
        -0.200_317_38,
        0.101_562_5,
        -0.058_227_54,
        0.033_081_055,
        -0.018_920_898,
    ],
    [
        -0.018_920_898,
        0.033_081_055,
        -0.058_227_54,
        0.101_562_5,
        -0.200_317_38,
        0.779_785_16,
        0.465_087_9,
        -0.166_503_9,
        0.089_111_33,
        -0.051_757_813,
        0.029_296_875,
        -0.029_174_805,
    ],
    [
        -0.008_300_781,
        0.014_892_578,
        -0.026_611_328,
        0.047_607_42,
        -0.102_294_92,
        0.972_167_97,
        0.137_329_1,
        -0.059_448_242,
        0.033_203_125,
        -0.019_653_32,
        0.010_986_328,
        0.001_708_984_4,
    ],
];

/// Interpolator outputs per piece of the true-peak scan.
const TRUE_PEAK_PIECE: usize = 512;

/// The true peak of `mix` at `rate` (linear, ≥ the sample peak): see the module
/// documentation. Non-finite samples count as zeros.
///
/// Exact, but most of the signal is never oversampled: an interpolated value is a
/// 12-tap sum, so it cannot exceed the largest sample magnitude in its taps times the
/// filter's largest absolute tap sum ([`true_peak_gain`], about 2). The scan takes the
/// sample peak of every piece of [`TRUE_PEAK_PIECE`] outputs first, oversamples the loudest
/// pieces (where the peak is likely to be), then the rest in order, skipping each piece
/// whose bound cannot beat the largest value found so far. Skipped pieces could not have
/// changed the maximum, so the result is the full scan's to the bit.
pub fn true_peak(mix: &[[f32; 2]], rate: u32) -> f32 {
    const TAPS: usize = 12;
    const PIECE: usize = TRUE_PEAK_PIECE;
    // Per channel, the signal is read as `TAPS - 1` zeros, the samples, `TAPS - 1` zeros
    // (the interpolator's tail); output `j` takes padded samples `j..j + TAPS`.
    let outputs = mix.len() + TAPS - 1;
    let pieces = outputs.div_ceil(PIECE);
    let clean = |v: f32| if v.is_finite() { v } else { 0.0 };
    // Largest magnitude of each piece's own padded samples `[b · PIECE, (b + 1) · PIECE)`.
    let mut piece_max = vec![[0.0f32; 2]; pieces + 1];
    for (b, m) in piece_max.iter_mut().enumerate() {
        let lo = (b * PIECE).saturating_sub(TAPS - 1).min(mix.len());
        let hi = ((b + 1) * PIECE).saturating_sub(TAPS - 1).min(mix.len());
        let mut lanes = [[0.0f32; 8]; 2];
        fold_abs_max_stereo(&mix[lo..hi], &mut lanes);
        for ch in 0..2 {
            m[ch] = lanes[ch].iter().copied().fold(0.0f32, f32::max);
        }
    }
    let sample_peak = piece_max.iter().flatten().copied().fold(0.0f32, f32::max);
    if rate >= 192_000 || sample_peak == 0.0 {
        return sample_peak;
    }
    // A piece's outputs take its own samples and the first TAPS - 1 of the next piece's.
    let bound = |b: usize, ch: usize| piece_max[b][ch].max(piece_max[b + 1][ch]);
    // Margin for the rounding of the 12-term sums (at most a few ulps).
    let gain = true_peak_gain() * 1.001;
    let mut lanes = [sample_peak; 8];
    let mut x = [0.0f32; PIECE + TAPS - 1];
    let mut acc = [0.0f32; PIECE];
    let mut scan = |b: usize, ch: usize, lanes: &mut [f32; 8]| {
        let first = b * PIECE;
        let n = PIECE.min(outputs - first);
        // Padded sample p is mix[p - (TAPS - 1)].
        for (i, v) in x[..n + TAPS - 1].iter_mut().enumerate() {
            let p = first + i;
            *v = match p.checked_sub(TAPS - 1).and_then(|s| mix.get(s)) {
                Some(f) => clean(f[ch]),
                None => 0.0,
            };
        }
        oversampled_max(&mut acc[..n], &x[..n + TAPS - 1], lanes);
    };
    let mut done = vec![[false; 2]; pieces];
    // The loudest pieces first: the true peak is almost always in one of them.
    for (b, done) in done.iter_mut().enumerate() {
        for (ch, done) in done.iter_mut().enumerate() {
            if bound(b, ch) >= 0.9 * sample_peak {
                scan(b, ch, &mut lanes);
                *done = true;
            }
        }
    }
    let mut best = lanes.iter().copied().fold(0.0f32, f32::max);
    for (b, done) in done.iter().enumerate() {
        for (ch, &done) in done.iter().enumerate() {
            if !done && bound(b, ch) * gain > best {
                scan(b, ch, &mut lanes);
                best = lanes.iter().copied().fold(0.0f32, f32::max);
            }
        }
    }
    best
}

/// The largest sum of absolute taps over the four phases of the interpolator: no output
/// exceeds the largest magnitude among its taps' samples times this.
fn true_peak_gain() -> f32 {
    TRUE_PEAK_PHASES
        .iter()
        .map(|h| h.iter().map(|v| v.abs()).sum::<f32>())
        .fold(0.0f32, f32::max)
}

/// Largest magnitudes per channel of `frames` (non-finite samples count as zeros), folded
/// into eight lanes per channel.
fn fold_abs_max_stereo(frames: &[[f32; 2]], lanes: &mut [[f32; 8]; 2]) {
    let mut chunks = frames.chunks_exact(8);
    for c in &mut chunks {
        for ch in 0..2 {
            for i in 0..8 {
                let v = c[i][ch].abs();
                // NaN and infinities are zeros: `v < INFINITY` is false for both.
                let v = if v < f32::INFINITY { v } else { 0.0 };
                lanes[ch][i] = if v > lanes[ch][i] { v } else { lanes[ch][i] };
            }
        }
    }
    for (i, f) in chunks.remainder().iter().enumerate() {
        for ch in 0..2 {
            let v = f[ch].abs();
            let v = if v < f32::INFINITY { v } else { 0.0 };
            lanes[ch][i] = lanes[ch][i].max(v);
        }
    }
}

/// The largest magnitudes of the four interpolator phases over the samples `x` (`acc.len()`
/// outputs; `x` holds `TAPS - 1` more samples than that; `acc` is scratch), folded into
/// eight `lanes`; eight lanes at a time where the CPU has AVX2.
fn oversampled_max(acc: &mut [f32], x: &[f32], lanes: &mut [f32; 8]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { oversampled_max_avx2(acc, x, lanes) };
        return;
    }
    oversampled_max_portable(acc, x, lanes);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn oversampled_max_avx2(acc: &mut [f32], x: &[f32], lanes: &mut [f32; 8]) {
    oversampled_max_portable(acc, x, lanes);
}

#[inline(always)]
fn oversampled_max_portable(acc: &mut [f32], x: &[f32], lanes: &mut [f32; 8]) {
    const TAPS: usize = 12;
    let n = acc.len();
    // Eight outputs of all four phases at a time, in registers.
    let whole = n - n % 8;
    for j in (0..whole).step_by(8) {
        let mut y = [[0.0f32; 8]; 4];
        for k in 0..TAPS {
            let Some(xs) = x.get(j + k..j + k + 8) else {
                return;
            };
            for (yp, hp) in y.iter_mut().zip(&TRUE_PEAK_PHASES) {
                for i in 0..8 {
                    yp[i] += hp[k] * xs[i];
                }
            }
        }
        for yp in &y {
            fold_abs_max(yp, lanes);
        }
    }
    // The last few outputs one by one.
    for (j, a) in acc.iter_mut().enumerate().skip(whole) {
        let mut m = 0.0f32;
        for hp in &TRUE_PEAK_PHASES {
            let y: f32 = hp.iter().zip(&x[j..j + TAPS]).map(|(h, v)| h * v).sum();
            m = m.max(y.abs());
        }
        *a = m;
    }
    fold_abs_max(&acc[whole..], lanes);
}

#[inline(always)]
fn fold_abs_max(v: &[f32], lanes: &mut [f32; 8]) {
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        for i in 0..8 {
            let a = c[i].abs();
            lanes[i] = if a > lanes[i] { a } else { lanes[i] };
        }
    }
    for (i, &x) in chunks.remainder().iter().enumerate() {
        lanes[i] = lanes[i].max(x.abs());
    }
}

/// The gain in dB that brings a track measured as `l` to `target_lufs` (negative: turn it
/// down), reduced where needed so that its true peak stays at or below
/// [`MAX_TRUE_PEAK_DB`] (−1 dBTP). A silent track (at [`SILENCE_LUFS`]) gets 0 dB: there is
/// nothing to bring up.
///
/// ```
/// use segue_analysis::loudness::{replay_gain_db, Loudness};
///
/// let loud = Loudness { integrated_lufs: -8.0, range_lu: 4.0, true_peak_db: 0.5 };
/// assert_eq!(replay_gain_db(&loud, -14.0), -6.0);
/// // +6 dB would push the peak to +4 dBTP: only +1 dB is allowed.
/// let peaky = Loudness { integrated_lufs: -20.0, range_lu: 12.0, true_peak_db: -2.0 };
/// assert_eq!(replay_gain_db(&peaky, -14.0), 1.0);
/// ```
pub fn replay_gain_db(l: &Loudness, target_lufs: f64) -> f64 {
    if !l.integrated_lufs.is_finite() || l.integrated_lufs <= SILENCE_LUFS {
        return 0.0;
    }
    let gain = target_lufs - l.integrated_lufs;
    let headroom = MAX_TRUE_PEAK_DB - l.true_peak_db.max(SILENCE_PEAK_DB);
    let gain = if l.true_peak_db.is_finite() {
        gain.min(headroom)
    } else {
        gain
    };
    if gain.is_finite() {
        gain
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The true peak with every output oversampled, nothing skipped.
    fn full_scan(mix: &[[f32; 2]]) -> f32 {
        const TAPS: usize = 12;
        let mut lanes = [0.0f32; 8];
        for ch in 0..2 {
            let mut x = vec![0.0f32; TAPS - 1];
            x.extend(
                mix.iter()
                    .map(|f| if f[ch].is_finite() { f[ch] } else { 0.0 }),
            );
            x.extend([0.0; TAPS - 1]);
            fold_abs_max(&x, &mut lanes);
            let mut acc = vec![0.0f32; x.len() - (TAPS - 1)];
            oversampled_max(&mut acc, &x, &mut lanes);
        }
        lanes.iter().copied().fold(0.0f32, f32::max)
    }

    #[test]
    fn the_skipping_scan_is_the_full_scan_to_the_bit() {
        // Noise under a slow envelope with a few loud bursts, short and long, with NaN
        // and infinities in it; also the peak in a quiet stretch of the other channel.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut noise = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        };
        for len in [0usize, 1, 5, 11, 12, 511, 512, 523, 4_099, 100_000] {
            let mut mix: Vec<[f32; 2]> = (0..len)
                .map(|i| {
                    let env = 0.05 + 0.4 * (i as f32 / 3_000.0).sin().abs();
                    [env * noise(), 0.01 * noise()]
                })
                .collect();
            if len > 1_000 {
                for f in &mut mix[len / 3..len / 3 + 40] {
                    f[0] = 0.9 * noise().signum();
                }
                mix[len / 2][1] = 0.97;
                mix[len / 2 + 1][1] = -0.97;
                mix[len / 4][0] = f32::NAN;
                mix[len / 5][1] = f32::INFINITY;
            }
            assert_eq!(
                true_peak(&mix, 44_100).to_bits(),
                full_scan(&mix).to_bits(),
                "{len}"
            );
        }
    }
}
