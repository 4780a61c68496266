//! Loudness: EBU R128 / ITU-R BS.1770 integrated loudness, loudness range and true peak of
//! the stereo mix (with the `ebur128` crate), and the replay-gain trim to a target level.
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
    let Ok(mut meter) = EbuR128::new(2, rate, Mode::I | Mode::LRA | Mode::TRUE_PEAK) else {
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
    let peak = (0..2)
        .filter_map(|c| meter.true_peak(c).ok())
        .fold(0.0f64, f64::max);
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
