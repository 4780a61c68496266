//! Loudness: EBU R128 / ITU-R BS.1770 integrated loudness and loudness range of the stereo
//! mix (with the `ebur128` crate), its true peak, and the replay-gain trim to a target level.
//!
//! The true peak is BS.1770-4 Annex 2's: the signal 4× oversampled by the standard's 48-tap
//! polyphase interpolator, the largest magnitude of the result (at 192 kHz and above, the
//! sample peak). It is computed here, a block and a phase at a time in a form the compiler
//! vectorises, because the `ebur128` crate's scanner cost a third of the whole analysis;
//! the tests hold it to `ebur128`'s reading.
//!
//! Levels follow BS.1770: a 1 kHz sine at −20 dBFS peak in *both* channels reads −20 LUFS
//! (each channel alone would read about −23); a full-scale sine in both reads about 0 LUFS.
//!
//! Silence has no loudness and no peak (the meter says −∞); instead of infinities this module
//! reports the finite sentinels [`SILENCE_LUFS`] and [`SILENCE_PEAK_DB`], so the values can
//! be stored, compared and serialised as JSON. Samples that are NaN or infinite are measured
//! as zeros.

use ebur128::{EbuR128, Mode};
use segue_engine::TrackAudio;

/// Integrated loudness reported for silence, LUFS: the BS.1770 absolute gate (−70 LUFS),
/// below which nothing counts.
pub const SILENCE_LUFS: f64 = -70.0;

/// True peak reported for silence, dBTP (and the floor of every true peak reading).
pub const SILENCE_PEAK_DB: f64 = -120.0;

/// Highest true peak [`replay_gain_db`] lets a trimmed track reach, dBTP.
pub const MAX_TRUE_PEAK_DB: f64 = -1.0;

/// Frames fed to the meter per call.
const CHUNK_FRAMES: usize = 16_384;

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
/// use segue_models::analysis::loudness::{measure_loudness, SILENCE_LUFS};
///
/// let silence = TrackAudio::new(44_100, vec![[0.0; 2]; 44_100]);
/// assert_eq!(measure_loudness(&silence).integrated_lufs, SILENCE_LUFS);
/// ```
pub fn measure_loudness(audio: &TrackAudio) -> Loudness {
    let silent = Loudness {
        integrated_lufs: SILENCE_LUFS,
        range_lu: 0.0,
        true_peak_db: SILENCE_PEAK_DB,
    };
    let rate = audio.sample_rate;
    let Ok(mut meter) = EbuR128::new(2, rate, Mode::I | Mode::LRA) else {
        // Only an unsupported sample rate gets here.
        return silent;
    };
    let mut buf: Vec<f32> = Vec::with_capacity(2 * CHUNK_FRAMES);
    for chunk in audio.mix.chunks(CHUNK_FRAMES) {
        buf.clear();
        buf.extend(
            chunk
                .iter()
                .flatten()
                .map(|&v| if v.is_finite() { v } else { 0.0 }),
        );
        if meter.add_frames_f32(&buf).is_err() {
            return silent;
        }
    }
    let integrated = meter.loudness_global().unwrap_or(f64::NEG_INFINITY);
    let range = meter.loudness_range().unwrap_or(0.0);
    let peak = true_peak(&audio.mix, rate) as f64;
    Loudness {
        integrated_lufs: if integrated.is_finite() {
            integrated.max(SILENCE_LUFS)
        } else {
            SILENCE_LUFS
        },
        range_lu: if range.is_finite() {
            range.max(0.0)
        } else {
            0.0
        },
        true_peak_db: if peak > 0.0 && peak.is_finite() {
            (20.0 * peak.log10()).max(SILENCE_PEAK_DB)
        } else {
            SILENCE_PEAK_DB
        },
    }
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

/// Frames per block of the true-peak scan.
const TRUE_PEAK_BLOCK: usize = 4096;

/// The true peak of `mix` at `rate` (linear, ≥ the sample peak): see the module
/// documentation. Non-finite samples count as zeros.
pub fn true_peak(mix: &[[f32; 2]], rate: u32) -> f32 {
    const TAPS: usize = 12;
    let oversample = rate < 192_000;
    let mut lanes = [0.0f32; 8];
    // Per channel: `x` holds the last TAPS - 1 samples of the previous block, then the block.
    let mut x = vec![0.0f32; TRUE_PEAK_BLOCK + TAPS - 1];
    let mut acc = vec![0.0f32; TRUE_PEAK_BLOCK + TAPS - 1];
    for ch in 0..2 {
        x[..TAPS - 1].fill(0.0);
        let mut filled = TAPS - 1;
        // One block of trailing zeros flushes the interpolator's tail.
        for block in mix.chunks(TRUE_PEAK_BLOCK).map(Some).chain([None]) {
            x.copy_within(filled - (TAPS - 1)..filled, 0);
            let n = block.map_or(TAPS - 1, <[_]>::len);
            filled = n + TAPS - 1;
            let x = &mut x[..filled];
            match block {
                Some(block) => {
                    for (d, f) in x[TAPS - 1..].iter_mut().zip(block) {
                        *d = if f[ch].is_finite() { f[ch] } else { 0.0 };
                    }
                }
                None => x[TAPS - 1..].fill(0.0),
            }
            scan_block(&mut acc[..n], x, oversample, &mut lanes);
        }
    }
    lanes.iter().copied().fold(0.0f32, f32::max)
}

/// One block of the true-peak scan: the largest magnitudes of the samples `x[TAPS - 1..]`
/// and, when `oversample`, of the four interpolator phases over them (`acc` is scratch of
/// the block's length), folded into eight `lanes`; eight lanes at a time where the CPU has
/// AVX2.
fn scan_block(acc: &mut [f32], x: &[f32], oversample: bool, lanes: &mut [f32; 8]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { scan_block_avx2(acc, x, oversample, lanes) };
        return;
    }
    scan_block_portable(acc, x, oversample, lanes);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scan_block_avx2(acc: &mut [f32], x: &[f32], oversample: bool, lanes: &mut [f32; 8]) {
    scan_block_portable(acc, x, oversample, lanes);
}

#[inline(always)]
fn scan_block_portable(acc: &mut [f32], x: &[f32], oversample: bool, lanes: &mut [f32; 8]) {
    const TAPS: usize = 12;
    let n = acc.len();
    fold_abs_max(&x[x.len() - n..], lanes);
    if !oversample {
        return;
    }
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
/// use segue_models::analysis::loudness::{replay_gain_db, Loudness};
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
