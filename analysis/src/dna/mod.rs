//! Musical DNA: a named feature set describing how a track sounds (timbre, harmony, spectral
//! shape, rhythm, dynamics), plus a compact normalised vector for the similarity index.
//!
//! [`extract`] (or [`extract_with_spectrogram`], reusing the pipeline's) computes one
//! [`Spectrogram`] (Hann, FFT 2048 / hop 1024 at 44.1 kHz; sizes
//! scale with the rate, about 46 ms / 23 ms) and derives every per-frame feature from it and
//! from the samples. Per-frame features are summarised over the whole track, then per section.
//! [`compact`] picks 128 whole-track values, scales each with fixed constants and L2-normalises
//! them, so Euclidean and cosine distances compare across tracks and runs.
//!
//! Never panics: silence, empty input, NaN or infinite samples (read as 0) all give finite
//! values. Input magnitudes are clamped to ±1000.
//!
//! # Schema (version [`DNA_VERSION`] = 1)
//!
//! Magnitudes are scaled so a full-scale sine peaks at 1 in its bin; dB are relative to that.
//!
//! **Per-frame features** (73), in this order:
//!
//! | group | names | meaning |
//! |---|---|---|
//! | MFCC | `mfcc_0` … `mfcc_19` | DCT-II (orthonormal) of 40 HTK-mel log energies (dB, floor -100), 20 Hz–16 kHz |
//! | MFCC deltas | `mfcc_delta_0` … `mfcc_delta_19` | per-frame slope, regression over ±4 frames |
//! | chroma | `chroma_C`, `chroma_C#`, `chroma_D`, `chroma_Eb`, `chroma_E`, `chroma_F`, `chroma_F#`, `chroma_G`, `chroma_Ab`, `chroma_A`, `chroma_Bb`, `chroma_B` | power per pitch class (bins 100 Hz–5 kHz, nearest class), max = 1 per frame |
//! | tonnetz | `tonnetz_fifths_sin`, `_fifths_cos`, `_minor3_sin`, `_minor3_cos`, `_major3_sin`, `_major3_cos` | tonal centroid of the L1-normalised chroma (Harte et al. 2006) |
//! | spectral | `spectral_centroid`, `spectral_bandwidth`, `spectral_rolloff` | magnitude-weighted mean frequency, spread around it, frequency below which 85 % of the magnitude lies (Hz) |
//! | spectral | `spectral_flatness` | geometric / arithmetic mean of the power spectrum, 0 (tonal) … 1 (noise) |
//! | contrast | `spectral_contrast_0` … `spectral_contrast_6` | peak vs valley (mean of top / bottom 2 % of bins) in dB, bands 0–200, 200–400, …, 3.2–6.4 kHz, 6.4 kHz–Nyquist |
//! | time domain | `zcr`, `rms`, `rms_db` | zero-crossing rate per sample, RMS over the frame window, its dB (floor -100) |
//! | onset | `onset_strength` | mean over mel bands of the rise of log-mel energy (dB, floor -80) since the last frame |
//!
//! Silent frames (total power < 1e-8) have spectral shape, contrast, chroma and tonnetz 0.
//!
//! **Whole-track values** ([`WHOLE_TRACK_VALUES`] = 698), in this order:
//!
//! 1. For each per-frame feature `F` in the order above, `F.mean`, `F.std`, `F.min`, `F.max`,
//!    `F.median`, `F.p10`, `F.p90`, `F.skew`, `F.kurtosis` (excess; skew and kurtosis are 0
//!    for a constant): 73 × 9 = 657 values, starting `mfcc_0.mean`, `mfcc_0.std`, ….
//! 2. `track.duration` (s).
//! 3. Rhythm: `rhythm.tempo_bpm` (from the beats, else autocorrelation of the onset curve in
//!    60–200 BPM with a prior around 120), `rhythm.onset_rate` (onset peaks per second),
//!    `rhythm.pulse_clarity` (autocorrelation at the beat period / at lag 0, 0..1),
//!    `rhythm.syncopation` (share of the pattern off the beat: eighth off-beats weigh 0.5,
//!    sixteenths 1), `rhythm.step_0` … `rhythm.step_15` (mean onset-strength maximum per
//!    sixteenth of a 4-beat bar over the beat grid, rotated so the strongest beat is step 0,
//!    relative to the strongest step).
//! 4. Dynamics: `dynamics.loudness_db` (RMS of the track), `dynamics.peak_db`,
//!    `dynamics.crest_factor_db` (peak over RMS), `dynamics.dynamic_range_db` (p95 − p5 of
//!    `rms_db` over frames above -70 dB), `dynamics.silence_ratio` (share of frames below
//!    -60 dB).
//! 5. Tonal: `tonal.key_tonic` (0 = C … 11 = B), `tonal.key_minor` (1 or 0) and
//!    `tonal.key_strength` (Pearson correlation, -1..1) of the Krumhansl–Kessler key profile
//!    that best matches the mean chroma; `tonal.chroma_rel_0` … `tonal.chroma_rel_11` (mean
//!    chroma rotated so the tonic of the key's major scale, the relative major for a minor
//!    key, is 0: transposition-invariant, and stable when relative keys are confused).
//!
//! **Per section** `k` (0-based, in the order given), appended after the whole track:
//! `section_k.start`, `section_k.duration`, then `section_k.F.mean` and `section_k.F.std`
//! for each per-frame feature `F`: 2 + 73 × 2 = 148 values per section.
//!
//! Any change of names, order or meaning bumps [`DNA_VERSION`]; a test pins the count and
//! the first names.

mod chroma;
mod compact;
mod mfcc;
mod rhythm;
mod spectral;
mod stats;

pub use compact::{compact, compact_names, COMPACT_DIMS};

use std::borrow::Cow;

use super::Spectrogram;
use chroma::TONNETZ_NAMES;
use chroma::{ChromaMap, PITCH_CLASSES};
use mfcc::{Dct, MelBank, MEL_BANDS, MFCC_COUNT};
use spectral::{ShapeAnalyser, CONTRAST_BANDS};

/// Version of the DNA schema (names, order and meaning of the values).
pub const DNA_VERSION: u32 = 1;

/// Number of per-frame features summarised.
pub const FRAME_FEATURES: usize = 2 * MFCC_COUNT + 12 + 6 + 4 + CONTRAST_BANDS + 4;

/// Number of whole-track values (the part before the sections).
pub const WHOLE_TRACK_VALUES: usize = FRAME_FEATURES * stats::STAT_NAMES.len() + SCALARS;

/// Number of values per section.
pub const SECTION_VALUES: usize = 2 + FRAME_FEATURES * stats::SECTION_STAT_NAMES.len();

/// Whole-track scalars after the per-frame statistics.
const SCALARS: usize = 1 + 4 + rhythm::STEPS + 5 + 3 + 12;

/// Largest magnitude accepted for a sample.
const SAMPLE_LIMIT: f32 = 1_000.0;
/// Floor of the log-mel energies in the onset curve, dB.
const ONSET_FLOOR_DB: f32 = -80.0;
/// Floor of dB values.
const DB_FLOOR: f32 = -100.0;

/// A track's named DNA feature values.
#[derive(Debug, Clone, PartialEq)]
pub struct DnaFeatures {
    /// Schema version ([`DNA_VERSION`]).
    pub version: u32,
    /// Name of each value, in schema order (see the module docs).
    pub names: Vec<String>,
    /// The values, all finite.
    pub values: Vec<f32>,
}

impl DnaFeatures {
    /// The value named `name`, if any.
    pub fn get(&self, name: &str) -> Option<f32> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.values[i])
    }
}

/// Names of the per-frame features, in schema order.
pub fn frame_feature_names() -> Vec<String> {
    let mut names = Vec::with_capacity(FRAME_FEATURES);
    names.extend((0..MFCC_COUNT).map(|i| format!("mfcc_{i}")));
    names.extend((0..MFCC_COUNT).map(|i| format!("mfcc_delta_{i}")));
    names.extend(PITCH_CLASSES.iter().map(|p| format!("chroma_{p}")));
    names.extend(TONNETZ_NAMES.iter().map(|t| format!("tonnetz_{t}")));
    names.extend(
        [
            "spectral_centroid",
            "spectral_bandwidth",
            "spectral_rolloff",
            "spectral_flatness",
        ]
        .map(String::from),
    );
    names.extend((0..CONTRAST_BANDS).map(|i| format!("spectral_contrast_{i}")));
    names.extend(["zcr", "rms", "rms_db", "onset_strength"].map(String::from));
    names
}

/// Names of the whole-track values, in schema order.
pub fn whole_track_names() -> Vec<String> {
    let mut names = Vec::with_capacity(WHOLE_TRACK_VALUES);
    for f in frame_feature_names() {
        names.extend(stats::STAT_NAMES.iter().map(|s| format!("{f}.{s}")));
    }
    names.push("track.duration".into());
    names.extend(
        [
            "rhythm.tempo_bpm",
            "rhythm.onset_rate",
            "rhythm.pulse_clarity",
            "rhythm.syncopation",
        ]
        .map(String::from),
    );
    names.extend((0..rhythm::STEPS).map(|i| format!("rhythm.step_{i}")));
    names.extend(
        [
            "dynamics.loudness_db",
            "dynamics.peak_db",
            "dynamics.crest_factor_db",
            "dynamics.dynamic_range_db",
            "dynamics.silence_ratio",
            "tonal.key_tonic",
            "tonal.key_minor",
            "tonal.key_strength",
        ]
        .map(String::from),
    );
    names.extend((0..12).map(|i| format!("tonal.chroma_rel_{i}")));
    names
}

/// Fast base-2 logarithm of a positive normal float (absolute error about 1e-4).
#[inline(always)]
fn fast_log2(x: f32) -> f32 {
    let bits = x.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let p = -1.741_793_9
        + (2.821_202_6 + (-1.469_956_8 + (0.447_179_55 - 0.056_570_85 * m) * m) * m) * m;
    e as f32 + p
}

fn db(amplitude: f64) -> f32 {
    if amplitude > 0.0 {
        (20.0 * amplitude.log10()).max(DB_FLOOR as f64) as f32
    } else {
        DB_FLOOR
    }
}

/// FFT size and hop for a sample rate: about 46 ms and 23 ms (2048 / 1024 at 44.1 kHz).
fn frame_sizes(sample_rate: u32) -> (usize, usize) {
    let fft = ((sample_rate as f64 * 0.0464).round() as usize)
        .clamp(256, 16_384)
        .next_power_of_two();
    let fft = if fft as f64 > sample_rate as f64 * 0.07 {
        fft / 2
    } else {
        fft
    };
    let fft = fft.max(256);
    (fft, fft / 2)
}

/// Extract the DNA of a mono track. `beats` (seconds, may be empty) give the beat grid for
/// the rhythm pattern; `sections` (start, end in seconds, may be empty) get their own
/// summaries, appended in the given order.
pub fn extract(
    mono: &[f32],
    sample_rate: u32,
    beats: &[f64],
    sections: &[(f64, f64)],
) -> DnaFeatures {
    let rate = sample_rate.max(1);
    let x = sanitise(mono);
    let (fft_size, hop) = frame_sizes(rate);
    let spec = Spectrogram::compute(&x, rate, fft_size, hop);
    features(&x, &spec, beats, sections)
}

/// [`extract`] reusing a spectrogram of the same `mono` that the caller already has (the
/// analysis pipeline's), which saves computing it again. Gives the same values as
/// [`extract`] when `spec` has the sizes [`extract`] would choose (FFT 2048, hop 1024 at
/// 44.1 kHz); a spectrogram whose FFT is not two hops, or whose frame count does not match
/// `mono`, is ignored and a suitable one computed.
pub fn extract_with_spectrogram(
    spec: &Spectrogram,
    mono: &[f32],
    beats: &[f64],
    sections: &[(f64, f64)],
) -> DnaFeatures {
    let fits = spec.sample_rate > 0
        && spec.hop > 0
        && spec.fft_size == 2 * spec.hop
        && spec.bins == spec.fft_size / 2 + 1
        && spec.frames() == mono.len().div_ceil(spec.hop).max(1);
    if !fits {
        return extract(mono, spec.sample_rate, beats, sections);
    }
    features(&sanitise(mono), spec, beats, sections)
}

/// The per-frame features of a track's DNA, gathered one spectrogram frame at a time as the
/// frames come (from a stored spectrogram, or streamed by [`Spectrogram::each_frame`]: the
/// pipeline), then summarised by [`DnaFrames::finish`]: the values of
/// [`extract_with_spectrogram`] given the stored spectrogram.
pub(crate) struct DnaFrames<'a> {
    /// The sanitised samples.
    x: Cow<'a, [f32]>,
    sample_rate: u32,
    fft_size: usize,
    hop: usize,
    frame_rate: f64,
    /// Frames expected (the spectrogram's).
    frames: usize,
    mel: MelBank,
    dct: Dct,
    chroma_map: ChromaMap,
    shape: ShapeAnalyser,
    /// Magnitude scale: a full-scale sine peaks at 1 in its bin.
    scale: f32,
    /// One column per feature, in schema order (the deltas filled by `finish`).
    cols: Vec<Vec<f32>>,
    mag: Vec<f32>,
    power: Vec<f32>,
    prev_onset_db: [f32; MEL_BANDS],
    /// Per hop-sized block: sum of squares, zero crossings inside, length. The frame window
    /// (fft_size = 2 hops, centred on i * hop) is blocks i - 1 and i.
    blocks: Vec<(f64, usize, usize)>,
    sum_sq: f64,
    peak: f32,
}

impl<'a> DnaFrames<'a> {
    /// For the frames of `mono`'s spectrogram shaped like `shape` (FFT two hops, every
    /// bin: the shape [`extract_with_spectrogram`] accepts; its magnitudes are not read).
    /// `None` for another shape.
    pub(crate) fn new(shape: &Spectrogram, mono: &'a [f32]) -> Option<Self> {
        let fits = shape.sample_rate > 0
            && shape.hop > 0
            && shape.fft_size == 2 * shape.hop
            && shape.bins == shape.fft_size / 2 + 1;
        fits.then(|| Self::with_samples(shape, sanitise(mono)))
    }

    /// For sanitised samples `x`.
    fn with_samples(spec: &Spectrogram, x: Cow<'a, [f32]>) -> Self {
        let frames = x.len().div_ceil(spec.hop).max(1);
        let bins = spec.bins;
        let bin_hz = spec.bin_hz(1);
        let nyquist = spec.sample_rate as f64 / 2.0;
        let hop = spec.hop;
        let mut peak = 0.0f32;
        let blocks: Vec<(f64, usize, usize)> = (0..frames)
            .map(|b| {
                let w = &x[(b * hop).min(x.len())..((b + 1) * hop).min(x.len())];
                let (sq, top) = block_energy(w);
                peak = peak.max(top);
                let c = w
                    .windows(2)
                    .filter(|p| (p[0] >= 0.0) != (p[1] >= 0.0))
                    .count();
                (sq, c, w.len())
            })
            .collect();
        let sum_sq = blocks.iter().map(|b| b.0).sum();
        Self {
            sample_rate: spec.sample_rate,
            fft_size: spec.fft_size,
            hop,
            frame_rate: spec.frame_rate(),
            frames,
            mel: MelBank::new(bins, bin_hz, nyquist),
            dct: Dct::new(),
            chroma_map: ChromaMap::new(bins, bin_hz),
            shape: ShapeAnalyser::new(bins, bin_hz),
            // A full-scale sine peaks at 1 in its bin: the Hann window sums to fft_size / 2.
            scale: 4.0 / spec.fft_size as f32,
            cols: (0..FRAME_FEATURES)
                .map(|_| Vec::with_capacity(frames))
                .collect(),
            mag: vec![0.0f32; bins],
            power: vec![0.0f32; bins],
            prev_onset_db: [ONSET_FLOOR_DB; MEL_BANDS],
            blocks,
            sum_sq,
            peak,
            x,
        }
    }

    /// The next frame's magnitudes (all the shape's bins).
    pub(crate) fn push(&mut self, mags: &[f32]) {
        push_frame(self, mags);
    }

    /// The DNA of the frames pushed (every frame of the samples' spectrogram), with the
    /// beat grid and the sections as [`extract`] takes them.
    pub(crate) fn finish(mut self, beats: &[f64], sections: &[(f64, f64)]) -> DnaFeatures {
        debug_assert_eq!(self.cols[0].len(), self.frames);
        for k in 0..MFCC_COUNT {
            self.cols[MFCC_COUNT + k] = mfcc::delta(&self.cols[k]);
        }
        summarise(&self, beats, sections)
    }
}

/// Samples with NaN and infinities as 0 and magnitudes clamped to [`SAMPLE_LIMIT`]
/// (borrowed when nothing needs fixing).
fn sanitise(mono: &[f32]) -> Cow<'_, [f32]> {
    let clean = |v: f32| v.is_finite() && v.abs() <= SAMPLE_LIMIT;
    if mono.iter().all(|&v| clean(v)) {
        return Cow::Borrowed(mono);
    }
    Cow::Owned(
        mono.iter()
            .map(|&v| {
                if clean(v) {
                    v
                } else if v.is_finite() {
                    v.signum() * SAMPLE_LIMIT
                } else {
                    0.0
                }
            })
            .collect(),
    )
}

/// The DNA of sanitised samples `x` from their spectrogram.
fn features(x: &[f32], spec: &Spectrogram, beats: &[f64], sections: &[(f64, f64)]) -> DnaFeatures {
    let mut frames = DnaFrames::with_samples(spec, Cow::Borrowed(x));
    for i in 0..spec.frames() {
        frames.push(spec.frame(i));
    }
    frames.finish(beats, sections)
}

/// The DNA from the per-frame features of every frame.
fn summarise(d: &DnaFrames, beats: &[f64], sections: &[(f64, f64)]) -> DnaFeatures {
    let x = &d.x;
    let rate = d.sample_rate.max(1);
    let frames = d.frames;
    let frame_rate = d.frame_rate;
    let (cols, sum_sq, peak) = (&d.cols, d.sum_sq, d.peak);

    let mut values = Vec::with_capacity(WHOLE_TRACK_VALUES + sections.len() * SECTION_VALUES);
    let mut scratch = Vec::with_capacity(frames);
    for col in cols {
        stats::full(col, &mut scratch, &mut values);
    }
    values.push((x.len() as f64 / rate as f64) as f32);

    let onset = &cols[FRAME_FEATURES - 1];
    let r = rhythm::describe(onset, frame_rate, beats);
    values.extend([r.tempo_bpm, r.onset_rate, r.pulse_clarity, r.syncopation]);
    values.extend(r.pattern);

    let rms = (sum_sq / x.len().max(1) as f64).sqrt();
    let peak = peak as f64;
    let rms_db = &cols[FRAME_FEATURES - 2];
    let mut loud: Vec<f32> = rms_db.iter().copied().filter(|&v| v > -70.0).collect();
    loud.sort_unstable_by(f32::total_cmp);
    let range = stats::percentile_sorted(&loud, 0.95) - stats::percentile_sorted(&loud, 0.05);
    let silent = rms_db.iter().filter(|&&v| v < -60.0).count() as f32 / frames.max(1) as f32;
    let crest = if rms > 1e-9 { db(peak / rms) } else { 0.0 };
    values.extend([db(rms), db(peak), crest, range, silent]);

    let chroma_first = 2 * MFCC_COUNT;
    let mean_chroma: Vec<f32> = (0..12)
        .map(|c| stats::mean_std(&cols[chroma_first + c]).0)
        .collect();
    let mean_chroma: [f32; 12] = std::array::from_fn(|c| mean_chroma[c]);
    let key = chroma::estimate_key(&mean_chroma);
    let major_tonic = (key.tonic + if key.minor { 3 } else { 0 }) % 12;
    values.extend([key.tonic as f32, key.minor as u8 as f32, key.strength]);
    values.extend((0..12).map(|i| mean_chroma[(major_tonic + i) % 12]));
    debug_assert_eq!(values.len(), WHOLE_TRACK_VALUES);

    let mut names = whole_track_names();
    let frame_names = frame_feature_names();
    for (k, &(start, end)) in sections.iter().enumerate() {
        let (start, end) = (
            if start.is_finite() { start } else { 0.0 },
            if end.is_finite() { end } else { 0.0 },
        );
        names.push(format!("section_{k}.start"));
        names.push(format!("section_{k}.duration"));
        values.push(start as f32);
        values.push((end - start).max(0.0) as f32);
        let lo = ((start * frame_rate).ceil().max(0.0) as usize).min(frames);
        let hi = ((end * frame_rate).ceil().max(0.0) as usize).clamp(lo, frames);
        for (f, col) in frame_names.iter().zip(cols) {
            let (m, s) = stats::mean_std(&col[lo..hi]);
            for (stat, v) in stats::SECTION_STAT_NAMES.iter().zip([m, s]) {
                names.push(format!("section_{k}.{f}.{stat}"));
                values.push(v);
            }
        }
    }
    for v in &mut values {
        if !v.is_finite() {
            *v = 0.0;
        }
    }
    DnaFeatures {
        version: DNA_VERSION,
        names,
        values,
    }
}

avx2_or_portable! {
    /// Every per-frame feature of the next frame (its magnitudes `raw`), appended to `d`'s
    /// columns in schema order (the deltas as 0: [`DnaFrames::finish`] fills them).
    fn push_frame / push_frame_avx2(d: &mut DnaFrames, raw: &[f32]) = push_frame_with
}

#[inline(always)]
fn push_frame_with(d: &mut DnaFrames, raw: &[f32]) {
    let i = d.cols[0].len();
    let x: &[f32] = &d.x;
    let (hop, scale) = (d.hop, d.scale);
    let cols = &mut d.cols;
    let (mag, power) = (&mut d.mag, &mut d.power);
    for ((m, p), &raw) in mag.iter_mut().zip(power.iter_mut()).zip(raw) {
        *m = if raw.is_finite() { raw * scale } else { 0.0 };
        *p = *m * *m;
    }
    let mut mel_db = [0.0f32; MEL_BANDS];
    let mut mfcc = [0.0f32; MFCC_COUNT];
    d.mel.log_energies(power, &mut mel_db);
    d.dct.apply(&mel_db, &mut mfcc);
    let mut c = 0;
    let mut push = |cols: &mut Vec<Vec<f32>>, v: f32| {
        cols[c].push(v);
        c += 1;
    };
    for &v in &mfcc {
        push(cols, v);
    }
    for _ in 0..MFCC_COUNT {
        push(cols, 0.0); // deltas, filled by `finish`
    }
    let silent = below_in_sequence(power, SILENT_POWER);
    let chroma = if silent {
        [0.0; 12]
    } else {
        d.chroma_map.chroma(power)
    };
    for v in chroma {
        push(cols, v);
    }
    for v in d.chroma_map.tonnetz(&chroma) {
        push(cols, v);
    }
    let s = d.shape.analyse(mag, power);
    for v in [s.centroid, s.bandwidth, s.rolloff, s.flatness] {
        push(cols, v);
    }
    for v in s.contrast {
        push(cols, v);
    }
    // Time domain over the same window as the spectrum frame: blocks i - 1 and i.
    let blocks = &d.blocks;
    let (sq, crossings, len) = match i {
        0 => blocks[0],
        _ => {
            let (a, b) = (blocks[i - 1], blocks[i]);
            let edge = i * hop;
            let joined = edge < x.len() && (x[edge - 1] >= 0.0) != (x[edge] >= 0.0);
            (a.0 + b.0, a.1 + b.1 + joined as usize, a.2 + b.2)
        }
    };
    let zcr = crossings as f32 / len.max(1) as f32;
    let rms = (sq / d.fft_size as f64).sqrt();
    push(cols, zcr);
    push(cols, rms as f32);
    push(cols, db(rms));
    let mut rise = 0.0;
    for (prev, &e) in d.prev_onset_db.iter_mut().zip(&mel_db) {
        let e = e.max(ONSET_FLOOR_DB);
        rise += (e - *prev).max(0.0);
        *prev = e;
    }
    push(cols, if i == 0 { 0.0 } else { rise / MEL_BANDS as f32 });
}

/// A frame whose power sums below this is silent (no chroma).
const SILENT_POWER: f32 = 1e-8;

/// Whether the sum of the non-negative `v`, added first to last in f32, is below `limit`.
/// The first-to-last sum is a chain of dependent additions. A sum over eight lanes and the
/// chain are each within `n · 2⁻²⁴` of the exact sum (relative; non-negative values), under
/// 6 % for fewer than a million values, so only a lane sum within a factor of two of
/// `limit` needs the chain.
#[inline(always)]
fn below_in_sequence(v: &[f32], limit: f32) -> bool {
    let mut lanes = [0.0f32; 8];
    for c in v.chunks_exact(8) {
        for j in 0..8 {
            lanes[j] += c[j];
        }
    }
    let rough = lanes.iter().sum::<f32>() + v[v.len() / 8 * 8..].iter().sum::<f32>();
    if v.len() < 1_000_000 && (rough < 0.5 * limit || rough > 2.0 * limit) {
        rough < limit
    } else {
        v.iter().sum::<f32>() < limit
    }
}

/// Sum of squares and largest magnitude of a block, over eight lanes (vectorisable).
#[inline(always)]
fn block_energy(w: &[f32]) -> (f64, f32) {
    let mut sq = [0.0f32; 8];
    let mut top = [0.0f32; 8];
    for c in w.chunks_exact(8) {
        for j in 0..8 {
            sq[j] += c[j] * c[j];
            top[j] = top[j].max(c[j].abs());
        }
    }
    let tail = w.len() / 8 * 8;
    let mut sum: f64 = sq.iter().map(|&v| v as f64).sum();
    let mut max = top.iter().fold(0.0f32, |a, &b| a.max(b));
    for &v in &w[tail..] {
        sum += v as f64 * v as f64;
        max = max.max(v.abs());
    }
    (sum, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic noise with a few tones and silent stretches (every feature path).
    fn signal(rate: u32, secs: f64) -> Vec<f32> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        (0..(secs * rate as f64) as usize)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let t = i as f32 / rate as f32;
                let noise = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
                let tone = (std::f32::consts::TAU * 220.0 * t).sin()
                    + 0.5 * (std::f32::consts::TAU * 3_520.0 * t).sin();
                if (t as usize) % 4 == 3 {
                    0.0
                } else {
                    0.3 * tone + 0.2 * noise
                }
            })
            .collect()
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_frame_features_are_the_portable_ones_to_the_bit() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let rate = 44_100;
        let x = signal(rate, 9.0);
        let (fft, hop) = frame_sizes(rate);
        let spec = Spectrogram::compute(&x, rate, fft, hop);
        let mut portable = DnaFrames::new(&spec, &x).unwrap();
        let mut avx2 = DnaFrames::new(&spec, &x).unwrap();
        for i in 0..spec.frames() {
            push_frame_with(&mut portable, spec.frame(i));
            // SAFETY: the CPU supports AVX2, checked above.
            unsafe { push_frame_avx2(&mut avx2, spec.frame(i)) };
        }
        assert_eq!(portable.sum_sq.to_bits(), avx2.sum_sq.to_bits());
        assert_eq!(portable.peak.to_bits(), avx2.peak.to_bits());
        assert_eq!(portable.cols[0].len(), spec.frames());
        for (a, b) in portable.cols.iter().zip(&avx2.cols) {
            let bits = |c: &Vec<f32>| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(a), bits(b));
        }
    }

    #[test]
    fn streamed_frames_give_the_stored_spectrogram_s_dna() {
        let rate = 44_100;
        let x = signal(rate, 9.0);
        let (fft, hop) = frame_sizes(rate);
        let spec = Spectrogram::compute(&x, rate, fft, hop);
        let beats: Vec<f64> = (0..18).map(|b| 0.25 + 0.5 * b as f64).collect();
        let sections = [(0.0, 4.0), (4.0, 9.0)];
        let stored = extract_with_spectrogram(&spec, &x, &beats, &sections);
        let shape = Spectrogram::shape(rate, fft, hop, usize::MAX);
        let mut streamed = DnaFrames::new(&shape, &x).unwrap();
        shape.each_frame(&x, |m| streamed.push(m));
        let streamed = streamed.finish(&beats, &sections);
        let bits = |d: &DnaFeatures| d.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(streamed.names, stored.names);
        assert_eq!(bits(&streamed), bits(&stored));
        assert_eq!(bits(&extract(&x, rate, &beats, &sections)), bits(&stored));
        // Only the shape of extract_with_spectrogram is taken.
        let other = Spectrogram::shape(rate, fft, hop / 2, usize::MAX);
        assert!(DnaFrames::new(&other, &x).is_none());
    }

    #[test]
    fn below_in_sequence_is_the_chained_sum_compared() {
        let mut state = 7u32;
        for n in [1usize, 7, 8, 9, 1025, 4097] {
            for scale in [1e-12f32, 1e-9, 4e-9, 9e-9, 1e-8, 1.1e-8, 3e-8, 1e-6] {
                let v: Vec<f32> = (0..n)
                    .map(|_| crate::test_uniform(&mut state) * 2.0 * scale / n as f32)
                    .collect();
                let chained = v.iter().sum::<f32>() < SILENT_POWER;
                assert_eq!(below_in_sequence(&v, SILENT_POWER), chained, "{n} {scale}");
            }
        }
    }
}
