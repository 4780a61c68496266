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
    let piece = piece_frames(rate);
    let (integrated, range) = gated_loudness(&k_weighted_pieces(&audio.mix, rate, piece), piece);
    reading(integrated, range, true_peak(&audio.mix, rate))
}

/// The [`Loudness`] of a gated reading and a linear true peak.
fn reading(integrated: Option<f64>, range: f64, peak: f32) -> Loudness {
    let peak = peak as f64;
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

/// Frames in one 100 ms piece of the gating at `rate`.
fn piece_frames(rate: u32) -> usize {
    (rate as usize + 5) / 10
}

/// Integrated loudness (`None`: no block above the absolute gate) and loudness range (LU)
/// from the K-weighted sums of squares of the 100 ms `pieces` (`piece` frames each): see
/// the module documentation.
fn gated_loudness(pieces: &[f64], piece: usize) -> (Option<f64>, f64) {
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
    let mut out = Vec::with_capacity(mix.len() / piece);
    let mut state = KState::default();
    k_weighted_pieces_from(
        mix,
        rate,
        &k_weighting(rate as f64),
        piece,
        &mut state,
        &mut out,
    );
    out
}

/// The state of the K-weighting filter: `[stage][i][channel]`, the two states of each
/// biquad (transposed direct form II) per channel; all zeros at the start of a track.
type KState = [[[f64; 2]; 2]; 2];

/// [`k_weighted_pieces`] of the whole pieces of `mix` appended to `out`, the filter
/// starting from `state` and leaving it where it ends (so that a track given a stretch at a
/// time, each a whole number of pieces, gets the pieces of the track given at once, to
/// rounding: see [`k_weighted_parts_avx`]).
fn k_weighted_pieces_from(
    mix: &[[f32; 2]],
    rate: u32,
    stages: &[Biquad; 2],
    piece: usize,
    state: &mut KState,
    out: &mut Vec<f64>,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("fma") {
        let warm = (WARM_UP_SECS * rate as f64 / piece as f64).ceil() as usize;
        if std::arch::is_x86_feature_detected!("avx")
            && rate >= MIN_PARTS_RATE
            && stages[1].0 == [1.0, -2.0, 1.0]
            && mix.len() / piece >= 16 * warm
        {
            // SAFETY: the CPU supports AVX and FMA, checked just above.
            unsafe { k_weighted_parts_avx(mix, stages, piece, warm, state, out) };
            return;
        }
        // SAFETY: the CPU supports FMA (and so SSE2), checked just above.
        unsafe {
            let mut m = to_registers(state);
            k_weighted_pieces_fma(mix, stages, piece, &mut m, out);
            *state = from_registers(&m);
        }
        return;
    }
    k_weighted_pieces_with::<false>(mix, stages, piece, state, out);
}

/// `state` as [`k_weighted_pieces_fma`]'s registers (lane 0 left, lane 1 right).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn to_registers(state: &KState) -> [[std::arch::x86_64::__m128d; 2]; 2] {
    use std::arch::x86_64::*;
    let mut m = [[_mm_setzero_pd(); 2]; 2];
    for (m, stage) in m.iter_mut().zip(state) {
        for (m, &[l, r]) in m.iter_mut().zip(stage) {
            *m = _mm_setr_pd(l, r);
        }
    }
    m
}

/// [`to_registers`] undone.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn from_registers(m: &[[std::arch::x86_64::__m128d; 2]; 2]) -> KState {
    use std::arch::x86_64::*;
    let mut state = KState::default();
    for (stage, m) in state.iter_mut().zip(m) {
        for (s, &v) in stage.iter_mut().zip(m) {
            *s = [_mm_cvtsd_f64(v), _mm_cvtsd_f64(_mm_unpackhi_pd(v, v))];
        }
    }
    state
}

/// How far before its first piece each later part of [`k_weighted_parts_avx`] starts its
/// filter, seconds. The filter forgets its state at the rate of its slowest pole, the RLB
/// high pass's (critically damped at 38 Hz: the error of a state started at zero, relative
/// to the signal, falls like `n · e^(−2π · 38 · t)`, below 1e-40 after 0.5 s): far below
/// the rounding of the sums (1e-16), so the part goes on as the one serial filter would, to
/// rounding.
const WARM_UP_SECS: f64 = 0.5;

/// Below this rate the filter is run serially (its poles are no longer where the warm-up
/// assumes, and such tracks are short anyway).
const MIN_PARTS_RATE: u32 = 8_000;

/// The K-weighting is a chain of dependent operations per frame (each output needs the
/// previous state), so the serial filter waits on latency with most of the CPU idle. This
/// runs four stretches of the track at once, both channels of two stretches in each of two
/// 256-bit registers: part 0 from the start, parts 1 to 3 each from `warm` pieces before
/// its own first piece (those warm-up pieces are filtered and dropped, so its state has
/// converged to the serial filter's by then; see [`WARM_UP_SECS`]). Part 0's pieces are
/// the serial filter's to the bit (it starts from `state`); the others' agree to rounding
/// (about 1e-15 relative). The few pieces left over at the end continue part 3 serially,
/// and `state` is left where part 3 ends. The pieces are appended to `out`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,fma")]
fn k_weighted_parts_avx(
    mix: &[[f32; 2]],
    stages: &[Biquad; 2],
    piece: usize,
    warm: usize,
    state: &mut KState,
    out: &mut Vec<f64>,
) {
    use std::arch::x86_64::*;
    let n = mix.len() / piece;
    // Every part runs `steps` pieces; parts 1..3 drop their first `warm`.
    let steps = (n + 3 * warm) / 4;
    let starts = [0, 1, 2, 3].map(|k| k * (steps - warm));
    let covered = starts[3] + steps;
    let base = out.len();
    out.resize(base + covered, 0.0);
    let splat = |v: f64| _mm256_set1_pd(v);
    let b = stages[0].0.map(splat);
    let neg_a = stages.map(|(_, a)| a.map(|v| splat(-v)));
    let zero = _mm256_setzero_pd();
    // Frames of two parts as [left a, right a, left b, right b], non-finite samples zeroed
    // (`v - v` is 0 exactly for finite `v`).
    let load = |fa: &[f32; 2], fb: &[f32; 2]| {
        let v = _mm256_cvtps_pd(_mm_setr_ps(fa[0], fa[1], fb[0], fb[1]));
        _mm256_and_pd(v, _mm256_cmp_pd::<_CMP_EQ_OQ>(_mm256_sub_pd(v, v), zero))
    };
    // Per register: shelf states, high-pass states (transposed direct form II); part 0
    // (the low lanes of the first) starts from `state`.
    let part0 = |i: usize, stage: usize| {
        let [l, r] = state[stage][i];
        _mm256_setr_pd(l, r, 0.0, 0.0)
    };
    let mut s = [[part0(0, 0), part0(1, 0)], [zero; 2]];
    let mut t = [[part0(0, 1), part0(1, 1)], [zero; 2]];
    for step in 0..steps {
        let chunk = |k: usize| &mix[(starts[k] + step) * piece..][..piece];
        let (c0, c1, c2, c3) = (chunk(0), chunk(1), chunk(2), chunk(3));
        let mut sum = [zero; 2];
        for (((f0, f1), f2), f3) in c0.iter().zip(c1).zip(c2).zip(c3) {
            let xs = [load(f0, f1), load(f2, f3)];
            for r in 0..2 {
                // As `high_passed`, the same operations in the same order.
                let (s, t) = (&mut s[r], &mut t[r]);
                let x = xs[r];
                let y = _mm256_fmadd_pd(b[0], x, s[0]);
                s[0] = _mm256_fmadd_pd(neg_a[0][0], y, _mm256_fmadd_pd(b[1], x, s[1]));
                s[1] = _mm256_fmadd_pd(neg_a[0][1], y, _mm256_mul_pd(b[2], x));
                let x = y;
                let y = _mm256_add_pd(x, t[0]);
                t[0] = _mm256_fmadd_pd(neg_a[1][0], y, _mm256_sub_pd(t[1], _mm256_add_pd(x, x)));
                t[1] = _mm256_fmadd_pd(neg_a[1][1], y, x);
                sum[r] = _mm256_fmadd_pd(y, y, sum[r]);
            }
        }
        let tiny = splat(1e-25);
        let abs_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(i64::MAX));
        for v in s.iter_mut().chain(t.iter_mut()).flatten() {
            let below = _mm256_cmp_pd::<_CMP_LT_OQ>(_mm256_and_pd(*v, abs_mask), tiny);
            *v = _mm256_andnot_pd(below, *v);
        }
        for (r, sum) in sum.into_iter().enumerate() {
            let (lo, hi) = (_mm256_castpd256_pd128(sum), _mm256_extractf128_pd::<1>(sum));
            for (k, half) in [(2 * r, lo), (2 * r + 1, hi)] {
                if k == 0 || step >= warm {
                    out[base + starts[k] + step] =
                        _mm_cvtsd_f64(half) + _mm_cvtsd_f64(_mm_unpackhi_pd(half, half));
                }
            }
        }
    }
    // Part 3 (the high lanes of the second register) goes on over the rest.
    let mut part3 = [
        [
            _mm256_extractf128_pd::<1>(s[1][0]),
            _mm256_extractf128_pd::<1>(s[1][1]),
        ],
        [
            _mm256_extractf128_pd::<1>(t[1][0]),
            _mm256_extractf128_pd::<1>(t[1][1]),
        ],
    ];
    k_weighted_pieces_fma(&mix[covered * piece..], stages, piece, &mut part3, out);
    *state = from_registers(&part3);
}

/// [`k_weighted_pieces_with`]`::<true>` with both channels in one register (lane 0 left,
/// lane 1 right): the same fused operations in the same order, so the same values, at half
/// the instructions. The running sum of squares is a chain of dependent additions, the
/// speed limit here: everything is kept in registers for it, which is why the RLB high pass
/// (numerator `[1, -2, 1]`) is written out: `1 · x + s`, `−2 · x + s` and `1 · x` are exact
/// products rounded once, as in the fused forms, and need no registers for the taps.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "fma")]
fn k_weighted_pieces_fma(
    mix: &[[f32; 2]],
    stages: &[Biquad; 2],
    piece: usize,
    state: &mut [[std::arch::x86_64::__m128d; 2]; 2],
    out: &mut Vec<f64>,
) {
    use std::arch::x86_64::*;
    let splat = |v: f64| _mm_set1_pd(v);
    let b = stages[0].0.map(splat);
    let neg_a = stages.map(|(_, a)| a.map(|v| splat(-v)));
    let high_pass = stages[1].0 == [1.0, -2.0, 1.0];
    let b2 = stages[1].0.map(splat);
    // Transposed direct form II, two states per stage (`state`: where the filter is).
    let clean = |v: f32| if v.is_finite() { v as f64 } else { 0.0 };
    for chunk in mix.chunks_exact(piece) {
        let mut sum = _mm_setzero_pd();
        let consts = (b, neg_a);
        if high_pass && chunk.iter().all(|f| f[0].is_finite() & f[1].is_finite()) {
            // Nothing to clean: that leaves the sum a register.
            let load = |f: &[f32; 2]| _mm_cvtps_pd(_mm_set_ps(0.0, 0.0, f[1], f[0]));
            sum = high_passed(chunk, &consts, state, load);
        } else if high_pass {
            let load = |f: &[f32; 2]| _mm_set_pd(clean(f[1]), clean(f[0]));
            sum = high_passed(chunk, &consts, state, load);
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

/// The pieces of `mix` appended to `out`, the filter starting from and leaving `state`.
#[inline(always)]
fn k_weighted_pieces_with<const FMA: bool>(
    mix: &[[f32; 2]],
    stages: &[Biquad; 2],
    piece: usize,
    state: &mut KState,
    out: &mut Vec<f64>,
) {
    for chunk in mix.chunks_exact(piece) {
        let mut sum = [0.0f64; 2];
        for frame in chunk {
            for ch in 0..2 {
                let v = frame[ch];
                let mut x = if v.is_finite() { v as f64 } else { 0.0 };
                for ((b, a), s) in stages.iter().zip(state.iter_mut()) {
                    let y = madd::<FMA>(b[0], x, s[0][ch]);
                    s[0][ch] = madd::<FMA>(-a[0], y, madd::<FMA>(b[1], x, s[1][ch]));
                    s[1][ch] = madd::<FMA>(-a[1], y, b[2] * x);
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
        *m = abs_max_stereo(&mix[lo..hi]);
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
        // Padded sample p is mix[p - (TAPS - 1)]: `lead` zeros before the first sample
        // (in the first piece), the samples from `src`, zeros after the last.
        let m = n + TAPS - 1;
        let lead = (TAPS - 1).saturating_sub(first).min(m);
        let src = first + lead - (TAPS - 1);
        let count = mix.len().saturating_sub(src).min(m - lead);
        x[..lead].fill(0.0);
        for (v, f) in x[lead..lead + count].iter_mut().zip(&mix[src..src + count]) {
            *v = clean(f[ch]);
        }
        x[lead + count..m].fill(0.0);
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

/// [`measure_loudness`] of a stereo mix given a stretch at a time ([`add`](Self::add)), so
/// that the mix need not be held whole: the analysis meters a file as it decodes.
///
/// The 100 ms pieces go on from one stretch to the next (a piece cut by a stretch's end is
/// kept until the next one completes it), the K-weighting filter's state is carried across,
/// and so are the true-peak interpolator's last samples. The true peak is
/// [`measure_loudness`]'s to the bit (the same interpolated values and the same maximum).
/// The integrated loudness and range agree with it to rounding (about 1e-12 LU): each
/// stretch is K-weighted in four parts with their own warm-ups, like the whole mix is, at
/// other points ([`k_weighted_parts_avx`]). Stretches of at least a few seconds keep the
/// warm-ups cheap.
#[derive(Debug, Clone)]
pub struct LoudnessMeter {
    rate: u32,
    /// Frames in a 100 ms piece.
    piece: usize,
    stages: [Biquad; 2],
    state: KState,
    /// The K-weighted sums of squares of the pieces so far.
    pieces: Vec<f64>,
    /// The frames of a piece not yet complete (fewer than `piece`).
    partial: Vec<[f32; 2]>,
    peak: TruePeakScan,
}

impl LoudnessMeter {
    /// A meter for a mix at `rate` Hz.
    pub fn new(rate: u32) -> Self {
        let piece = piece_frames(rate).max(1);
        Self {
            rate,
            piece,
            stages: k_weighting(rate as f64),
            state: KState::default(),
            pieces: Vec::new(),
            partial: Vec::new(),
            peak: TruePeakScan::new(rate),
        }
    }

    /// Measure the next `frames` of the mix.
    pub fn add(&mut self, frames: &[[f32; 2]]) {
        if !(MIN_RATE..=MAX_RATE).contains(&self.rate) {
            return;
        }
        self.peak.add(frames);
        let mut rest = frames;
        if !self.partial.is_empty() {
            let take = (self.piece - self.partial.len()).min(rest.len());
            self.partial.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.partial.len() < self.piece {
                return;
            }
            let partial = std::mem::take(&mut self.partial);
            self.k_weight(&partial);
            self.partial = partial;
            self.partial.clear();
        }
        let whole = rest.len() - rest.len() % self.piece;
        self.k_weight(&rest[..whole]);
        self.partial.extend_from_slice(&rest[whole..]);
    }

    /// The pieces of `frames` (a whole number of them).
    fn k_weight(&mut self, frames: &[[f32; 2]]) {
        k_weighted_pieces_from(
            frames,
            self.rate,
            &self.stages,
            self.piece,
            &mut self.state,
            &mut self.pieces,
        );
    }

    /// The reading of everything added (a last partial piece does not count, as in
    /// [`measure_loudness`]).
    pub fn finish(self) -> Loudness {
        if !(MIN_RATE..=MAX_RATE).contains(&self.rate) {
            return reading(None, 0.0, 0.0);
        }
        let (integrated, range) = gated_loudness(&self.pieces, self.piece);
        reading(integrated, range, self.peak.finish())
    }
}

/// [`true_peak`] of a mix given a stretch at a time: the same interpolated values (each
/// from the same twelve samples), so the same maximum, to the bit.
///
/// Each stretch is scanned as [`true_peak`] scans the whole mix (its loudest pieces first,
/// then the others where their bound can beat the largest value so far), with the last
/// `TAPS - 1` samples of the stretch before in front of it (zeros before the first: the
/// interpolator's lead-in); [`finish`](Self::finish) adds the tail, `TAPS - 1` zeros.
#[derive(Debug, Clone)]
struct TruePeakScan {
    rate: u32,
    /// The last `TAPS - 1` frames so far (zeros at the start).
    history: [[f32; 2]; TRUE_PEAK_TAPS - 1],
    /// Largest sample magnitude so far.
    sample_peak: f32,
    /// Largest interpolated magnitude so far, in eight lanes.
    lanes: [f32; 8],
    /// Per piece of the current stretch: the bound per channel, and whether it is scanned.
    bounds: Vec<([f32; 2], [bool; 2])>,
    /// Scratch: one piece's samples and outputs.
    x: Vec<f32>,
    acc: Vec<f32>,
}

/// Taps of each phase of the true-peak interpolator.
const TRUE_PEAK_TAPS: usize = 12;

impl TruePeakScan {
    fn new(rate: u32) -> Self {
        Self {
            rate,
            history: [[0.0; 2]; TRUE_PEAK_TAPS - 1],
            sample_peak: 0.0,
            lanes: [0.0; 8],
            bounds: Vec::new(),
            x: vec![0.0; TRUE_PEAK_PIECE + TRUE_PEAK_TAPS - 1],
            acc: vec![0.0; TRUE_PEAK_PIECE],
        }
    }

    /// The outputs whose last tap is one of `frames`.
    fn add(&mut self, frames: &[[f32; 2]]) {
        const TAPS: usize = TRUE_PEAK_TAPS;
        const PIECE: usize = TRUE_PEAK_PIECE;
        const H: usize = TAPS - 1;
        let n = frames.len();
        if n == 0 {
            return;
        }
        let history = self.history;
        // The stretch read as `history` then `frames`: padded sample `p`.
        let at = |p: usize| if p < H { history[p] } else { frames[p - H] };
        // Output `j` of this stretch takes padded samples `j..j + TAPS`; piece `b` holds
        // outputs `b · PIECE ..` and so samples `b · PIECE .. b · PIECE + len + H`.
        let pieces = n.div_ceil(PIECE);
        self.bounds.clear();
        for b in 0..pieces {
            let (lo, hi) = (b * PIECE, ((b + 1) * PIECE + H).min(n + H));
            let mut m = abs_max_stereo(&frames[lo.saturating_sub(H)..hi - H]);
            if lo < H {
                let h = abs_max_stereo(&history[lo..H.min(hi)]);
                m = [m[0].max(h[0]), m[1].max(h[1])];
            }
            self.bounds.push((m, [false; 2]));
        }
        self.history = std::array::from_fn(|i| at(n + i));
        let stretch_peak = self
            .bounds
            .iter()
            .flat_map(|(m, _)| *m)
            .fold(0.0f32, f32::max);
        self.sample_peak = self.sample_peak.max(stretch_peak);
        let sample_peak = self.sample_peak;
        if self.rate >= 192_000 || stretch_peak == 0.0 {
            return;
        }
        let gain = true_peak_gain() * 1.001;
        let clean = |v: f32| if v.is_finite() { v } else { 0.0 };
        let (x, acc, lanes) = (&mut self.x, &mut self.acc, &mut self.lanes);
        let mut scan = |b: usize, ch: usize, lanes: &mut [f32; 8]| {
            let first = b * PIECE;
            let len = PIECE.min(n - first);
            // Padded samples `first .. first + len + H`: those of `history` first, if any.
            let lead = H.saturating_sub(first);
            for (v, f) in x[..lead].iter_mut().zip(&history[first.min(H)..]) {
                *v = clean(f[ch]);
            }
            let from = first + lead - H;
            for (v, f) in x[lead..len + H].iter_mut().zip(&frames[from..]) {
                *v = clean(f[ch]);
            }
            oversampled_max(&mut acc[..len], &x[..len + H], lanes);
        };
        // The loudest pieces first: the true peak is most likely in one of them.
        for (b, (bound, done)) in self.bounds.iter_mut().enumerate() {
            for ch in 0..2 {
                if bound[ch] >= 0.9 * sample_peak {
                    scan(b, ch, lanes);
                    done[ch] = true;
                }
            }
        }
        let fold = |lanes: &[f32; 8]| lanes.iter().copied().fold(sample_peak, f32::max);
        let mut best = fold(lanes);
        for (b, (bound, done)) in self.bounds.iter().enumerate() {
            for ch in 0..2 {
                if !done[ch] && bound[ch] * gain > best {
                    scan(b, ch, lanes);
                    best = fold(lanes);
                }
            }
        }
    }

    /// The true peak (linear) of everything added.
    fn finish(mut self) -> f32 {
        self.add(&[[0.0; 2]; TRUE_PEAK_TAPS - 1]);
        self.lanes.iter().copied().fold(self.sample_peak, f32::max)
    }
}

/// The largest sum of absolute taps over the four phases of the interpolator: no output
/// exceeds the largest magnitude among its taps' samples times this.
fn true_peak_gain() -> f32 {
    TRUE_PEAK_PHASES
        .iter()
        .map(|h| h.iter().map(|v| v.abs()).sum::<f32>())
        .fold(0.0f32, f32::max)
}

/// Largest magnitude per channel of `frames` (non-finite samples count as zeros).
fn abs_max_stereo(frames: &[[f32; 2]]) -> [f32; 2] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { abs_max_stereo_avx2(frames) };
    }
    abs_max_stereo_portable(frames)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn abs_max_stereo_avx2(frames: &[[f32; 2]]) -> [f32; 2] {
    abs_max_stereo_portable(frames)
}

/// [`abs_max_stereo`] over the interleaved samples, sixteen lanes (eight frames) at a time:
/// even lanes hold the left channel, odd ones the right.
#[inline(always)]
fn abs_max_stereo_portable(frames: &[[f32; 2]]) -> [f32; 2] {
    let flat = frames.as_flattened();
    let mut lanes = [0.0f32; 16];
    let mut chunks = flat.chunks_exact(16);
    for c in &mut chunks {
        for i in 0..16 {
            let v = c[i].abs();
            // NaN and infinities are zeros: `v < INFINITY` is false for both.
            let v = if v < f32::INFINITY { v } else { 0.0 };
            lanes[i] = if v > lanes[i] { v } else { lanes[i] };
        }
    }
    for (i, &v) in chunks.remainder().iter().enumerate() {
        let v = v.abs();
        let v = if v < f32::INFINITY { v } else { 0.0 };
        lanes[i] = lanes[i].max(v);
    }
    let mut m = [0.0f32; 2];
    for (i, &v) in lanes.iter().enumerate() {
        m[i % 2] = m[i % 2].max(v);
    }
    m
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
    /// A xorshift noise source, uniform in [-1, 1).
    fn xorshift(mut seed: u64) -> impl FnMut() -> f32 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        }
    }

    /// `len` frames at `rate`: `noise` under a slow envelope over a loud 45 Hz bass (in
    /// antiphase in the two channels).
    fn noise_and_bass(len: usize, rate: u32, noise: &mut impl FnMut() -> f32) -> Vec<[f32; 2]> {
        (0..len)
            .map(|i| {
                let t = i as f32 / rate as f32;
                let env = 0.05 + 0.5 * (t * 0.7).sin().abs();
                let bass = 0.4 * (std::f32::consts::TAU * 45.0 * t).sin();
                [env * noise() + bass, 0.2 * env * noise() - bass]
            })
            .collect()
    }

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
    fn the_four_part_k_weighting_is_the_serial_filter_to_rounding() {
        let mut noise = xorshift(0x5851_f42d_4c95_7f2d);
        for (rate, secs) in [
            (44_100u32, 61.3f32),
            (48_000, 40.0),
            (22_050, 9.0),
            (8_000, 30.0),
        ] {
            let len = (rate as f32 * secs) as usize;
            // Noise under a slow envelope with a loud bass, silent stretches (the states
            // decay and are flushed), NaN and infinities.
            let mut mix = noise_and_bass(len, rate, &mut noise);
            for f in &mut mix[len / 3..len / 3 + 3 * rate as usize] {
                *f = [0.0; 2];
            }
            mix[len / 4][0] = f32::NAN;
            mix[len / 2][1] = f32::NEG_INFINITY;
            mix[len / 2 + 7][0] = f32::INFINITY;
            let piece = (rate as usize + 5) / 10;
            let mut serial = Vec::new();
            let mut state = KState::default();
            let stages = k_weighting(rate as f64);
            k_weighted_pieces_with::<true>(&mix, &stages, piece, &mut state, &mut serial);
            let parts = k_weighted_pieces(&mix, rate, piece);
            assert_eq!(parts.len(), serial.len());
            // The first part is the serial filter itself; the rest agree to rounding.
            assert_eq!(parts[0].to_bits(), serial[0].to_bits());
            for (i, (a, b)) in parts.iter().zip(&serial).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-12 * b.abs() + 1e-30,
                    "{rate} Hz, piece {i}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn the_meter_given_stretches_reads_the_whole_mix_to_rounding_and_its_peak_to_the_bit() {
        let mut noise = xorshift(0x9e37_79b9_7f4a_7c15);
        // Stretch lengths (seconds): long ones K-weighted in four parts, short ones
        // serially, ones that cut pieces and single frames.
        let stretches = [9.31, 0.0, 0.51, 12.0, 1.0 / 44_100.0, 0.1, 25.7, 3.33];
        for (rate, secs) in [
            (44_100u32, 61.3f64),
            (48_000, 40.0),
            (22_050, 19.0),
            (8_000, 30.0),
            (44_100, 0.05),
            (192_000, 3.0),
            (4, 100.0),
        ] {
            let len = (rate as f64 * secs) as usize;
            let mut mix = noise_and_bass(len, rate, &mut noise);
            if len > 10 * rate as usize {
                for f in &mut mix[len / 3..len / 3 + 3 * rate as usize] {
                    *f = [0.0; 2];
                }
                mix[len / 4][0] = f32::NAN;
                mix[len / 2][1] = f32::NEG_INFINITY;
                mix[len / 2 + 7][0] = f32::INFINITY;
                mix[len / 5] = [0.99, -0.99];
            }
            let whole = measure_loudness(&TrackAudio::new(rate, mix.clone()));
            let mut meter = LoudnessMeter::new(rate);
            let mut rest = &mix[..];
            for secs in stretches.iter().cycle() {
                let n = ((secs * rate as f64) as usize).min(rest.len());
                let (now, later) = rest.split_at(n);
                meter.add(now);
                rest = later;
                if rest.is_empty() {
                    break;
                }
            }
            let streamed = meter.finish();
            let what = format!("{rate} Hz, {secs} s: {streamed:?} vs {whole:?}");
            assert!(
                (streamed.integrated_lufs - whole.integrated_lufs).abs() < 1e-9,
                "{what}"
            );
            assert!((streamed.range_lu - whole.range_lu).abs() < 1e-9, "{what}");
            assert_eq!(
                streamed.true_peak_db.to_bits(),
                whole.true_peak_db.to_bits(),
                "{what}"
            );
            assert_eq!(
                streamed.integrated_lufs == SILENCE_LUFS,
                rate < MIN_RATE || secs < 0.4,
                "{what}"
            );
        }
    }

    #[test]
    fn the_skipping_scan_is_the_full_scan_to_the_bit() {
        // Noise under a slow envelope with a few loud bursts, short and long, with NaN
        // and infinities in it; also the peak in a quiet stretch of the other channel.
        let mut noise = xorshift(0x2545_f491_4f6c_dd1d);
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
