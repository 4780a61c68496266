//! Key: a pitch-class profile (chroma) of the whole track matched against 24 key profiles.
//!
//! 1. One [`Spectrogram`] with long frames (about 186 ms: 8192 samples at 44.1 kHz, half
//!    overlapped), so that low notes are resolved.
//! 2. In every frame, spectral peaks between [`MIN_HZ`] and [`MAX_HZ`] are picked above a
//!    running spectral envelope (spectral whitening: a peak's weight is its height above the
//!    envelope, so a loud bass does not drown the harmony) and their frequencies refined by
//!    parabolic interpolation. A peak on the 3rd or 5th harmonic of a lower peak (within
//!    [`OVERTONE_CENTS`]) counts [`OVERTONE_WEIGHT`] of its weight, so a bright note's
//!    fifth and major third do not vote for the dominant or the parallel major.
//! 3. The tuning (offset from A = 440 Hz, within ±half a semitone) is the weighted circular
//!    mean of every peak's deviation from the equal-tempered grid.
//! 4. Each peak adds to the pitch class it is nearest to, with a raised-cosine weight that
//!    falls to zero half a semitone away. Each frame's chroma is scaled by its *tonalness*
//!    (one minus the spectral flatness of the band), so drum hits and noise sweeps count
//!    little, and summed over the track. A second, *bass* chroma sums only each frame's
//!    bass note (its lowest strong peak below [`BASS_MAX_HZ`]).
//!    The per-frame chromas are kept ([`ChromaFrames`]) for the ending (step 6).
//! 5. The track chroma is correlated (Pearson) with the 24 rotations of a major and a minor
//!    profile for electronic music (see [`MAJOR_PROFILE`]), the bass chroma with root
//!    profiles ([`BASS_MAJOR`], [`BASS_MINOR`]: the tonic is the most frequent root); the
//!    best weighted mean ([`BASS_WEIGHT`]) names the key, and the margin over the second
//!    best gives the confidence. A minor key also scores as dorian, a major key as
//!    mixolydian ([`DORIAN_PROFILE`], [`MIXOLYDIAN_PROFILE`], less [`MODAL_PENALTY`]), so a
//!    modal track reads as the key of its tonic. Each frame's best major or minor triad
//!    ([`chord_histogram`]: a bonus when the bass is on its root, at least two of its notes
//!    sounding) also goes into a histogram, correlated with each key's chord profile
//!    ([`CHORDS_MAJOR`], [`CHORDS_MINOR`], dorian, mixolydian) and added with
//!    [`CHORD_WEIGHT`]: a ii-V-I names its I, not its V.
//! 6. When that leaves the key open (confidence below [`LOW_CONFIDENCE`]), the ending's
//!    chroma (the last [`END_SECS`] of tonal content) is correlated with each key's tonic
//!    triad and added ([`END_WEIGHT`]): tracks come to rest on their tonic chord.

use super::Spectrogram;
use crate::music::{Key, Mode};

/// Lowest frequency that counts, Hz (A1).
pub const MIN_HZ: f64 = 55.0;
/// Highest frequency that counts, Hz.
pub const MAX_HZ: f64 = 5_000.0;

/// Highest bass note, Hz.
pub const BASS_MAX_HZ: f64 = 200.0;

/// Shortest input analysed, seconds.
const MIN_SECS: f64 = 1.0;

/// Major key profile, tonic first: weight of each pitch class (in semitones above the
/// tonic) in music of that key. A sparse profile in the style of Faraldo's "bgate" profile
/// for electronic dance music: diatonic degrees only, the tonic and fifth strongest, the
/// chromatic degrees at zero (a riff or bass line in EDM rarely leaves the scale).
///
/// Chosen on the 24-key demo fixtures of `analysis/tests/tonal.rs` over Krumhansl-Kessler,
/// Temperley (Kostka-Payne), EDMA and blends: all but Temperley score 1.0 on the whole
/// tracks; on 5-second excerpts this one scores 0.98 (EDMA 0.94, Krumhansl 0.90,
/// Temperley 0.83).
pub const MAJOR_PROFILE: [f64; 12] = [
    1.00, 0.00, 0.42, 0.00, 0.53, 0.37, 0.00, 0.77, 0.00, 0.38, 0.21, 0.30,
];

/// Minor key profile, tonic first (natural minor with some weight on the raised seventh);
/// see [`MAJOR_PROFILE`].
pub const MINOR_PROFILE: [f64; 12] = [
    1.00, 0.00, 0.36, 0.39, 0.00, 0.38, 0.00, 0.74, 0.27, 0.00, 0.42, 0.23,
];

/// The key of a track and how sure the estimate is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyEstimate {
    /// The most likely key.
    pub key: Key,
    /// 0..1: how far the best key's correlation is ahead of the runner-up's, relative to
    /// the room left above the runner-up (`(r1 - r2) / (1 - r2)`). Near 0 for ambiguous
    /// material; 0.3 and above is a clear key.
    pub confidence: f64,
    /// The second best key (often the relative major/minor or a fifth away): the other
    /// reading when the confidence is low.
    pub runner_up: Key,
}

/// Weight of the bass chroma's correlation against the whole chroma's (the key score is
/// their weighted mean). The whole chroma cannot tell a key from its dominant or
/// subdominant when the progression spends more time on the fifth's chord than on the
/// tonic's (ii-V-I-I has more A than D in D major); the bass roots can: the tonic is the
/// most frequent root, and the roots of a key's neighbours stay in its scale. Chosen on the
/// tune part of the independent set (`cargo xtask eval --set indie --part tune`): 0.3-0.5
/// all score 22/24 exact keys there (0: 19/24).
pub const BASS_WEIGHT: f64 = 0.4;

/// Root profile of a major key's bass, tonic first: the tonic most, then the fourth and
/// fifth (IV, V), the sixth (vi), the second and third (ii, iii) least; chromatic roots 0.
pub const BASS_MAJOR: [f64; 12] = [1.0, 0.0, 0.3, 0.0, 0.3, 0.5, 0.0, 0.5, 0.0, 0.4, 0.0, 0.1];

/// Root profile of a minor key's bass (natural minor: i, iv, v, III, VI, VII), tonic first.
pub const BASS_MINOR: [f64; 12] = [1.0, 0.0, 0.2, 0.4, 0.0, 0.5, 0.0, 0.5, 0.4, 0.0, 0.4, 0.0];

/// Dorian profile, tonic first: [`MINOR_PROFILE`] with the major sixth instead of the minor
/// sixth (the minor mode of house, funk and disco riffs: i-IV, i-VII-IV). A dorian track is
/// in the minor key of its tonic, as annotations name it (C dorian is C minor, although its
/// notes are those of Bb major).
pub const DORIAN_PROFILE: [f64; 12] = [
    1.00, 0.00, 0.36, 0.39, 0.00, 0.38, 0.00, 0.74, 0.00, 0.38, 0.42, 0.00,
];

/// Mixolydian profile, tonic first: [`MAJOR_PROFILE`] with the minor seventh instead of the
/// major seventh (I-bVII-IV rock and EDM riffs); a mixolydian track is in the major key of
/// its tonic.
pub const MIXOLYDIAN_PROFILE: [f64; 12] = [
    1.00, 0.00, 0.42, 0.00, 0.53, 0.37, 0.00, 0.77, 0.00, 0.38, 0.30, 0.00,
];

/// Root profile of a dorian bass (i, IV, VII, v, III), tonic first.
pub const BASS_DORIAN: [f64; 12] = [1.0, 0.0, 0.2, 0.4, 0.0, 0.5, 0.0, 0.5, 0.0, 0.0, 0.4, 0.0];

/// Root profile of a mixolydian bass (I, IV, bVII, v, ii), tonic first.
pub const BASS_MIXOLYDIAN: [f64; 12] = [1.0, 0.0, 0.3, 0.0, 0.3, 0.5, 0.0, 0.5, 0.0, 0.4, 0.4, 0.0];

/// Handicap of a modal reading (dorian, mixolydian) against the plain major or minor one:
/// the modes are rarer, and a mode's notes are those of another major key, so a modal
/// reading needs the better fit to win.
pub const MODAL_PENALTY: f64 = 0.03;

/// Length of a track's ending, seconds: the last [`END_SECS`] of its tonal content (up to
/// the last frame whose chroma is above [`END_FLOOR`] of a typical frame's).
pub const END_SECS: f64 = 3.0;

/// A frame belongs to the tonal content while its chroma sums to more than this fraction
/// of the 75th percentile of all frames' sums (the decay of a final chord's reverb, or a
/// drum-only outro, falls below it).
pub const END_FLOOR: f64 = 0.1;

/// Weight of the ending's correlation with the tonic triad ([`TONIC_MAJOR`],
/// [`TONIC_MINOR`]) against the whole chroma's, when the whole and bass chromas alone leave
/// the key open (confidence below [`LOW_CONFIDENCE`]; a clear key is not clouded by a loop
/// cut off on another chord): tracks end on their tonic chord more often than on any other,
/// so the ending tells a key from its relative, dominant or subdominant when a loop spends
/// as long on each chord (III-VII-i-iv, ii-V-I-I, i-IV). Chosen on the tune part of the
/// independent set with 48 extra songs (`--part tune --extra-tune 48`): without the ending
/// 0.84 there, with it 0.97 (weights 0.3-0.6 within 0.01). With the chord histogram
/// ([`CHORD_WEIGHT`]) in the mean the ending needs 0.5 to keep its share (96 extra songs:
/// 0.990 at 0.3, 0.994 at 0.5 and 0.7).
pub const END_WEIGHT: f64 = 0.5;

/// The tonic triad of a major key as a chroma, tonic first (the fifth above the third: a
/// chord's root adds to its fifth through its third harmonic).
pub const TONIC_MAJOR: [f64; 12] = [1.0, 0.0, 0.0, 0.0, 0.7, 0.0, 0.0, 0.8, 0.0, 0.0, 0.0, 0.0];

/// The tonic triad of a minor key as a chroma, tonic first.
pub const TONIC_MINOR: [f64; 12] = [1.0, 0.0, 0.0, 0.7, 0.0, 0.0, 0.0, 0.8, 0.0, 0.0, 0.0, 0.0];

/// Overtones that move a note's pitch class ([`is_overtone`]): the 3rd harmonic (a fifth
/// above, an octave up) and the 5th (a major third above, two octaves up). A bass or a
/// sawtooth lead rich in them pulls a plain chroma towards the dominant (the root's fifth
/// outweighs the root) and a minor chord towards major (the root's major third); the
/// even harmonics only add to the note's own pitch class.
const OVERTONES: [f64; 2] = [3.0, 5.0];

/// How close (cents) a peak must lie to a lower peak's overtone to count as one: the 3rd
/// and 5th harmonics lie 2 and 14 cents from the equal-tempered fifth and third.
pub const OVERTONE_CENTS: f64 = 30.0;

/// Weight of a peak that lies on an overtone of a lower peak ([`is_overtone`]) against a
/// peak of its own: half, as it may also be a note played an octave or two above the
/// lower one (a chord's fifth over its root). Chosen on the tune part of the independent
/// set with 96 extra songs (`--part tune --extra-tune 96`) with [`CHORD_WEIGHT`]: 0.5
/// scores best there (0: many relative and subdominant misreadings, 1: the dominant and
/// parallel-major misreadings stay).
pub const OVERTONE_WEIGHT: f64 = 0.5;

/// Chord templates for [`chord_histogram`]: a major and a minor triad, root first.
const TRIADS: [[f64; 12]; 2] = [
    [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
    [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
];

/// Least share of a frame's chroma a triad's note needs to count as sounding: a frame
/// adds to [`chord_histogram`] only when two notes of its chord sound.
pub const CHORD_NOTE: f64 = 0.1;

/// Bonus of a triad whose root is the frame's bass note (its share of the bass chroma) in
/// [`chord_histogram`]: tells C major from A minor's first inversion (A-C-E over C) and
/// the like.
pub const CHORD_BASS_BONUS: f64 = 0.3;

/// Chord profile of a major key: (root in semitones above the tonic, 0 major / 1 minor
/// triad, weight). The tonic chord most, then IV and V, vi and ii, iii, and the
/// mixolydian bVII little; a chord outside the key weighs 0. A key is scored by how its
/// chords account for the track's chords ([`chord_histogram`]), which tells it from its
/// dominant where the pitch classes alone cannot: ii-V-I-I in F (Gm, C, F, F) has as much
/// C as F, and every note of it is in C mixolydian too, but Gm is not a chord of C major
/// and F (I) lasts twice as long as C (V).
pub const CHORDS_MAJOR: [(usize, usize, f64); 7] = [
    (0, 0, 1.0),
    (5, 0, 0.6),
    (7, 0, 0.6),
    (9, 1, 0.45),
    (2, 1, 0.4),
    (4, 1, 0.25),
    (10, 0, 0.2),
];

/// Chord profile of a minor key (natural minor, with the major V of harmonic minor): i,
/// then iv, VI and VII, III, v and V; see [`CHORDS_MAJOR`].
pub const CHORDS_MINOR: [(usize, usize, f64); 7] = [
    (0, 1, 1.0),
    (5, 1, 0.55),
    (8, 0, 0.5),
    (10, 0, 0.5),
    (3, 0, 0.4),
    (7, 1, 0.35),
    (7, 0, 0.35),
];

/// Chord profile of a dorian key (its major IV: i-IV, i-VII-IV); see [`CHORDS_MAJOR`].
pub const CHORDS_DORIAN: [(usize, usize, f64); 6] = [
    (0, 1, 1.0),
    (5, 0, 0.55),
    (10, 0, 0.5),
    (3, 0, 0.4),
    (7, 1, 0.35),
    (2, 1, 0.2),
];

/// Chord profile of a mixolydian key (its major bVII and minor v: I-bVII-IV, v-bVII-I);
/// see [`CHORDS_MAJOR`].
pub const CHORDS_MIXOLYDIAN: [(usize, usize, f64); 6] = [
    (0, 0, 1.0),
    (10, 0, 0.55),
    (5, 0, 0.55),
    (7, 1, 0.35),
    (2, 1, 0.3),
    (9, 1, 0.2),
];

/// Weight of the chord histogram's correlation with a key's chord profile
/// ([`CHORDS_MAJOR`]) against the whole chroma's. Chosen on the tune part of the
/// independent set with 96 extra songs (`--part tune --extra-tune 96`), with
/// [`OVERTONE_WEIGHT`]: 0.96 without chords, 0.986 at 0.6, 0.990 at 1.0, 0.976 at 1.5.
pub const CHORD_WEIGHT: f64 = 1.0;

/// Below this confidence the key is ambiguous and the analysis names the runner-up too.
pub const LOW_CONFIDENCE: f64 = 0.35;

/// Estimate the key of a mono signal. `None` for silence, for less than a second of audio,
/// or when there is no pitched content at all (pure noise, drums only).
///
/// ```
/// use segue_analysis::key::detect_key;
/// use segue_analysis::music::{Key, Mode};
///
/// // An A minor triad with a tonic bass, 3 s.
/// let rate = 22_050;
/// let notes = [110.0, 220.0, 261.63, 329.63];
/// let x: Vec<f32> = (0..3 * rate)
///     .map(|i| {
///         let t = i as f64 / rate as f64;
///         notes.iter().map(|f| (std::f64::consts::TAU * f * t).sin() as f32 * 0.2).sum()
///     })
///     .collect();
/// let est = detect_key(&x, rate).unwrap();
/// assert_eq!(est.key, Key::new(9, Mode::Minor));
/// assert!(detect_key(&vec![0.0; 3 * rate as usize], rate).is_none());
/// ```
pub fn detect_key(mono: &[f32], sample_rate: u32) -> Option<KeyEstimate> {
    let frames = chroma_frames(mono, sample_rate)?;
    let (chroma, bass) = frames.sum(0, frames.len());
    if chroma.iter().sum::<f64>() <= 0.0 {
        return None;
    }
    let ending = frames.ending();
    let chords = chord_histogram(&frames);
    let (best, confidence, runner_up) = best_key(
        &normalised(chroma),
        &normalised(bass),
        &chords,
        ending.as_ref(),
    )?;
    Some(KeyEstimate {
        key: best,
        confidence,
        runner_up,
    })
}

/// The pitch-class profile of the whole track: 12 values, C first, summing to 1. `None`
/// when the input is too short or has no pitched content.
pub fn chromagram(mono: &[f32], sample_rate: u32) -> Option<[f64; 12]> {
    chromas(mono, sample_rate).map(|c| c.0)
}

/// [`chromagram`] and the bass chroma: the same, of each frame's bass note only (the
/// lowest strong peak below [`BASS_MAX_HZ`]); zeros when there is no bass.
pub fn chromas(mono: &[f32], sample_rate: u32) -> Option<([f64; 12], [f64; 12])> {
    let frames = chroma_frames(mono, sample_rate)?;
    let (chroma, bass) = frames.sum(0, frames.len());
    let total: f64 = chroma.iter().sum();
    if !(total.is_finite() && total > 0.0) {
        return None;
    }
    Some((chroma.map(|c| c / total), normalised(bass)))
}

/// `v` scaled to sum to 1; zeros when it sums to zero (or is not finite).
fn normalised(v: [f64; 12]) -> [f64; 12] {
    let total: f64 = v.iter().sum();
    if total.is_finite() && total > 0.0 {
        v.map(|c| c / total)
    } else {
        [0.0; 12]
    }
}

/// The chroma of every analysis frame (tuning removed, scaled by the frame's tonalness):
/// what [`chromas`] sums over the whole track.
#[derive(Debug, Clone)]
pub struct ChromaFrames {
    /// Seconds between frames.
    pub hop_secs: f64,
    /// Each frame's chroma, C first (not normalised: loud tonal frames weigh more).
    pub chroma: Vec<[f32; 12]>,
    /// Each frame's bass note, as a chroma (zeros when the frame has no bass).
    pub bass: Vec<[f32; 12]>,
}

impl ChromaFrames {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.chroma.len()
    }

    /// Whether there are no frames.
    pub fn is_empty(&self) -> bool {
        self.chroma.is_empty()
    }

    /// The chroma of the track's ending: its last [`END_SECS`] of tonal content (see
    /// [`END_FLOOR`]), normalised. `None` without tonal frames.
    pub fn ending(&self) -> Option<[f64; 12]> {
        let sums: Vec<f64> = self
            .chroma
            .iter()
            .map(|c| c.iter().map(|&v| v as f64).sum())
            .collect();
        let mut sorted = sums.clone();
        sorted.sort_by(f64::total_cmp);
        let typical = *sorted.get(sorted.len() * 3 / 4)?;
        if typical <= 0.0 {
            return None;
        }
        let last = sums.iter().rposition(|&v| v > END_FLOOR * typical)?;
        let n = ((END_SECS / self.hop_secs).round() as usize).clamp(1, last + 1);
        let first = last + 1 - n;
        let (chroma, _) = self.sum(first, last + 1);
        Some(normalised(chroma))
    }

    /// The summed chroma and bass chroma of frames `a..b`.
    pub fn sum(&self, a: usize, b: usize) -> ([f64; 12], [f64; 12]) {
        let (mut c, mut bs) = ([0.0f64; 12], [0.0f64; 12]);
        let b = b.min(self.len());
        for f in a.min(b)..b {
            for i in 0..12 {
                c[i] += self.chroma[f][i] as f64;
                bs[i] += self.bass[f][i] as f64;
            }
        }
        (c, bs)
    }
}

/// The per-frame chroma of a track ([`ChromaFrames`]); `None` when the input is too short
/// or has no pitched content.
pub fn chroma_frames(mono: &[f32], sample_rate: u32) -> Option<ChromaFrames> {
    if sample_rate < 8_000 || (mono.len() as f64) < MIN_SECS * sample_rate as f64 {
        return None;
    }
    let clean = super::finite_samples(mono);
    if !clean.iter().any(|v| v.abs() > 1e-6) {
        return None;
    }
    // 8192 at 44.1 kHz, the nearest power of two elsewhere.
    let ideal = 8192.0 * sample_rate as f64 / 44_100.0;
    let fft_size = 1usize << ideal.log2().round().clamp(9.0, 16.0) as u32;
    let df = sample_rate as f64 / fft_size as f64;
    let lo = ((MIN_HZ / df).floor() as usize).max(2);
    let hi = ((MAX_HZ / df).ceil() as usize).min(fft_size / 2 - 1);
    if hi <= lo + 2 {
        return None;
    }
    // Only the bins the envelope below reads: up to bin hi + 1 and its half-width.
    let keep = hi + 2 + ((hi + 1) / 12).max(4);
    // The spectrogram's frames one after the other, as they come (not stored).
    let spec = Spectrogram::shape(sample_rate, fft_size, fft_size / 2, keep);
    let frames = clean.len().div_ceil(spec.hop).max(1);

    // Peaks of every frame: (frame, fractional MIDI note, weight).
    let mut peaks: Vec<(u32, f32, f32, bool)> = Vec::new();
    let mut tonalness = vec![0.0f64; frames];
    let mut env = vec![0.0f64; spec.bins];
    let mut prefix = vec![0.0f64; spec.bins + 1];
    // This frame's peaks: (Hz, height, envelope there), by frequency.
    let mut frame_peaks: Vec<(f64, f64, f64)> = Vec::new();
    let mut f = 0;
    spec.each_frame(&clean, |m| {
        let tonal = &mut tonalness[f];
        f += 1;
        let band = &m[lo..=hi];
        // The largest magnitude, over eight lanes (the same value as one running maximum:
        // magnitudes are finite and not negative).
        let mut lanes = [0.0f32; 8];
        for c in band.chunks(8) {
            for (l, &v) in lanes.iter_mut().zip(c) {
                *l = l.max(v);
            }
        }
        let max = lanes.iter().copied().fold(0.0f32, f32::max) as f64;
        if max <= 1e-9 {
            return;
        }
        *tonal = 1.0 - flatness(band);
        // (Only as far as the envelope below reads: up to bin hi + 1 and its half-width.)
        for k in 0..(hi + 2 + ((hi + 1) / 12).max(4)).min(spec.bins) {
            prefix[k + 1] = prefix[k] + m[k] as f64;
        }
        // Envelope: mean magnitude over about a third of an octave around each bin.
        for (k, e) in env.iter_mut().enumerate().take(hi + 2).skip(lo - 1) {
            let w = (k / 12).max(4);
            let a = k.saturating_sub(w);
            let b = (k + w + 1).min(spec.bins);
            *e = (prefix[b] - prefix[a]) / (b - a) as f64;
        }
        let floor = max * 1e-3;
        frame_peaks.clear();
        for k in lo..=hi {
            let (a, b, c) = (m[k - 1] as f64, m[k] as f64, m[k + 1] as f64);
            if !(b > a && b >= c && b > floor && b > 1.5 * env[k]) {
                continue;
            }
            let (la, lb, lc) = (a.max(1e-12).ln(), b.ln(), c.max(1e-12).ln());
            let denom = la - 2.0 * lb + lc;
            let p = if denom < 0.0 {
                (0.5 * (la - lc) / denom).clamp(-0.5, 0.5)
            } else {
                0.0
            };
            let hz = (k as f64 + p) * df;
            if !(MIN_HZ..=MAX_HZ).contains(&hz) {
                continue;
            }
            let height = (lb - 0.25 * (la - lc) * p).exp();
            frame_peaks.push((hz, height, env[k].max(1e-12)));
        }
        // The bass note: the lowest strong peak below BASS_MAX_HZ.
        let bass_max = frame_peaks
            .iter()
            .take_while(|q| q.0 < BASS_MAX_HZ)
            .map(|q| q.1)
            .fold(0.0f64, f64::max);
        let bass = frame_peaks
            .iter()
            .position(|q| q.0 < BASS_MAX_HZ && q.1 >= 0.5 * bass_max);
        for (j, &(hz, height, env_k)) in frame_peaks.iter().enumerate() {
            let mut weight = (height / env_k).ln().max(0.0) * height.sqrt();
            if is_overtone(&frame_peaks[..j], hz) {
                weight *= OVERTONE_WEIGHT;
            }
            let midi = 69.0 + 12.0 * (hz / 440.0).log2();
            peaks.push(((f - 1) as u32, midi as f32, weight as f32, bass == Some(j)));
        }
    });
    if peaks.is_empty() {
        return None;
    }

    // Tuning: weighted circular mean of the deviations from the 440 Hz grid.
    let (mut cs, mut sn) = (0.0f64, 0.0f64);
    for &(_, midi, w, _) in &peaks {
        let phase = std::f64::consts::TAU * midi as f64;
        cs += w as f64 * phase.cos();
        sn += w as f64 * phase.sin();
    }
    let tuning = sn.atan2(cs) / std::f64::consts::TAU;

    let n = frames;
    let mut chroma = vec![[0.0f32; 12]; n];
    let mut bass = vec![[0.0f32; 12]; n];
    let mut any = false;
    for &(f, midi, w, is_bass) in &peaks {
        let note = midi as f64 - tuning;
        let nearest = note.round();
        let d = note - nearest;
        let shape = (std::f64::consts::PI * d).cos().powi(2);
        let pc = (nearest as i64).rem_euclid(12) as usize;
        let v = w as f64 * shape * tonalness[f as usize];
        if !v.is_finite() {
            continue;
        }
        any |= v > 0.0;
        chroma[f as usize][pc] += v as f32;
        if is_bass {
            bass[f as usize][pc] += v as f32;
        }
    }
    if !any {
        return None;
    }
    Some(ChromaFrames {
        hop_secs: (fft_size / 2) as f64 / sample_rate as f64,
        chroma,
        bass,
    })
}

/// Spectral flatness (geometric over arithmetic mean of the power), 0 for a pure tone, 1
/// for white noise.
fn flatness(band: &[f32]) -> f64 {
    let n = band.len() as f64;
    let mut log_sum = 0.0f64;
    let mut sum = 0.0f64;
    // The log of a product of eight powers (each in 1e-20..~1e10: no under- or overflow in
    // f64) instead of eight logs.
    for eight in band.chunks(8) {
        let mut product = 1.0f64;
        for &m in eight {
            let p = (m as f64).powi(2) + 1e-20;
            product *= p;
            sum += p;
        }
        log_sum += product.ln();
    }
    ((log_sum / n).exp() / (sum / n)).clamp(0.0, 1.0)
}

/// Whether a peak at `hz` lies on the 3rd or 5th harmonic of one of the `lower` peaks
/// (sorted by frequency, all below `hz`) within [`OVERTONE_CENTS`]: an overtone that adds
/// a fifth or a major third above its note rather than a note of its own.
fn is_overtone(lower: &[(f64, f64, f64)], hz: f64) -> bool {
    let tolerance = 2f64.powf(OVERTONE_CENTS / 1200.0);
    OVERTONES.iter().any(|&h| {
        let (lo, hi) = (hz / h / tolerance, hz / h * tolerance);
        let i = lower.partition_point(|q| q.0 < lo);
        lower.get(i).is_some_and(|q| q.0 <= hi)
    })
}

/// The chord of each frame (the best of the 24 major and minor triads, [`TRIADS`], with a
/// bonus for a bass on its root, when two of its notes sound), weighted by the frame's
/// chroma and summed: 24 values,
/// C major to B major then C minor to B minor, summing to 1 (zeros without chroma).
pub fn chord_histogram(frames: &ChromaFrames) -> [f64; 24] {
    let mut hist = [0.0f64; 24];
    for (c, b) in frames.chroma.iter().zip(&frames.bass) {
        let c: [f64; 12] = c.map(|v| v as f64);
        let salience: f64 = c.iter().sum();
        if !(salience.is_finite() && salience > 0.0) {
            continue;
        }
        let bass_total: f32 = b.iter().sum();
        let (mut best, mut best_score) = (0usize, f64::NEG_INFINITY);
        for (q, triad) in TRIADS.iter().enumerate() {
            for (root, &bass) in b.iter().enumerate() {
                let mut v = correlation(&c, triad, root);
                if bass_total > 0.0 {
                    v += CHORD_BASS_BONUS * (bass / bass_total) as f64;
                }
                if v > best_score {
                    (best, best_score) = (q * 12 + root, v);
                }
            }
        }
        // A chord needs two of its notes: a lone note (a kick's boom, a bass alone) names
        // none.
        let (quality, root) = (best / 12, best % 12);
        let notes = (0..12)
            .filter(|&i| TRIADS[quality][i] > 0.0 && c[(root + i) % 12] >= CHORD_NOTE * salience)
            .count();
        if notes >= 2 {
            hist[best] += salience;
        }
    }
    let total: f64 = hist.iter().sum();
    if total > 0.0 {
        hist.map(|v| v / total)
    } else {
        hist
    }
}

/// A key's chord profile (see [`CHORDS_MAJOR`]) as 24 values in [`chord_histogram`]'s order.
fn chord_profile(tonic: usize, table: &[(usize, usize, f64)]) -> [f64; 24] {
    let mut p = [0.0f64; 24];
    for &(interval, quality, w) in table {
        p[quality * 12 + (tonic + interval) % 12] = w;
    }
    p
}

/// Pearson correlation of two equally long vectors (0 when either is constant).
fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    pearson_of(x.iter().zip(y).map(|(a, b)| (a - mx, b - my)))
}

/// Pearson correlation from the pairs' deviations from their means.
fn pearson_of(deviations: impl Iterator<Item = (f64, f64)>) -> f64 {
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in deviations {
        sxy += x * y;
        sxx += x * x;
        syy += y * y;
    }
    if sxx <= 0.0 || syy <= 0.0 {
        0.0
    } else {
        sxy / (sxx * syy).sqrt()
    }
}

/// Pearson correlation of `chroma` rotated to `tonic` with `profile`.
fn correlation(chroma: &[f64; 12], profile: &[f64; 12], tonic: usize) -> f64 {
    let mc = chroma.iter().sum::<f64>() / 12.0;
    let mp = profile.iter().sum::<f64>() / 12.0;
    pearson_of(
        profile
            .iter()
            .enumerate()
            .map(|(i, &p)| (chroma[(tonic + i) % 12] - mc, p - mp)),
    )
}

/// The best-scoring key, the confidence (see [`KeyEstimate::confidence`]) and the runner-up
/// key. A key's score is the weighted mean of the whole chroma's correlation with its
/// profile, the bass chroma's with its root profile ([`BASS_WEIGHT`]) and, when that much
/// leaves the key open (confidence below [`LOW_CONFIDENCE`]), the ending's with its tonic
/// triad ([`END_WEIGHT`]); a minor key also scores as
/// dorian and a major key as mixolydian (less [`MODAL_PENALTY`]), and keeps the better.
fn best_key(
    chroma: &[f64; 12],
    bass: &[f64; 12],
    chords: &[f64; 24],
    ending: Option<&[f64; 12]>,
) -> Option<(Key, f64, Key)> {
    let wb = if bass.iter().any(|&v| v > 0.0) {
        BASS_WEIGHT
    } else {
        0.0
    };
    let wc = if chords.iter().any(|&v| v > 0.0) {
        CHORD_WEIGHT
    } else {
        0.0
    };
    let ranked = |we: f64| {
        let score = |tonic: usize,
                     profile: &[f64; 12],
                     bass_profile: &[f64; 12],
                     chord_table: &[(usize, usize, f64)],
                     triad| {
            let mut r = correlation(chroma, profile, tonic);
            if wb > 0.0 {
                r += wb * correlation(bass, bass_profile, tonic);
            }
            if wc > 0.0 {
                r += wc * pearson(chords, &chord_profile(tonic, chord_table));
            }
            if let Some(end) = ending.filter(|_| we > 0.0) {
                r += we * correlation(end, triad, tonic);
            }
            r / (1.0 + wb + wc + we)
        };
        let mut scores: Vec<(Key, f64)> = Key::ALL
            .iter()
            .map(|&k| {
                let t = k.tonic as usize;
                let r = match k.mode {
                    Mode::Major => {
                        score(t, &MAJOR_PROFILE, &BASS_MAJOR, &CHORDS_MAJOR, &TONIC_MAJOR).max(
                            score(
                                t,
                                &MIXOLYDIAN_PROFILE,
                                &BASS_MIXOLYDIAN,
                                &CHORDS_MIXOLYDIAN,
                                &TONIC_MAJOR,
                            ) - MODAL_PENALTY,
                        )
                    }
                    Mode::Minor => {
                        score(t, &MINOR_PROFILE, &BASS_MINOR, &CHORDS_MINOR, &TONIC_MINOR).max(
                            score(
                                t,
                                &DORIAN_PROFILE,
                                &BASS_DORIAN,
                                &CHORDS_DORIAN,
                                &TONIC_MINOR,
                            ) - MODAL_PENALTY,
                        )
                    }
                };
                (k, r)
            })
            .collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1));
        let (r1, r2) = (scores[0].1, scores[1].1);
        let confidence = ((r1 - r2) / (1.0 - r2).max(1e-9)).clamp(0.0, 1.0);
        (scores[0], confidence, scores[1].0)
    };
    // The body of the track first; the ending settles what the body leaves open.
    let (mut best, mut confidence, mut runner_up) = ranked(0.0);
    if ending.is_some() && confidence < LOW_CONFIDENCE {
        (best, confidence, runner_up) = ranked(END_WEIGHT);
    }
    let (key, r1) = best;
    if !r1.is_finite() || r1 <= 0.0 {
        return None;
    }
    Some((key, confidence, runner_up))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tones(freqs: &[f64], secs: f64, rate: u32) -> Vec<f32> {
        (0..(secs * rate as f64) as usize)
            .map(|i| {
                let t = i as f64 / rate as f64;
                freqs
                    .iter()
                    .map(|f| (std::f64::consts::TAU * f * t).sin() * 0.2)
                    .sum::<f64>() as f32
            })
            .collect()
    }

    #[test]
    fn a_c_major_chord_is_c_major() {
        let x = tones(&[130.81, 261.63, 329.63, 392.0], 3.0, 44_100);
        let est = detect_key(&x, 44_100).unwrap();
        assert_eq!(est.key, Key::new(0, Mode::Major));
    }

    #[test]
    fn the_ending_is_the_last_seconds_of_tonal_content() {
        // 6 s of C major, 3 s of A minor, then 3 s of silence.
        let rate = 22_050;
        let mut x = tones(&[130.81, 261.63, 329.63, 392.0], 6.0, rate);
        x.extend(tones(&[110.0, 220.0, 261.63, 329.63], 3.0, rate));
        x.extend(vec![0.0; 3 * rate as usize]);
        let frames = chroma_frames(&x, rate).unwrap();
        let end = frames.ending().unwrap();
        // A (9) and its chord's notes, no G (7), which only the C major part has.
        assert!(end[9] > 0.15 && end[7] < 0.02, "{end:?}");
        let (whole, _) = frames.sum(0, frames.len());
        assert!(whole[7] > 0.05 * whole.iter().sum::<f64>(), "{whole:?}");
    }

    #[test]
    fn the_tuning_is_found_and_removed() {
        // A C major chord 40 cents sharp.
        let sharp = 2f64.powf(0.4 / 12.0);
        let x = tones(
            &[
                130.81 * sharp,
                261.63 * sharp,
                329.63 * sharp,
                392.0 * sharp,
            ],
            3.0,
            44_100,
        );
        let c = chromagram(&x, 44_100).unwrap();
        assert!(c[0] > c[1] && c[4] > c[5] && c[7] > c[8], "{c:?}");
    }

    #[test]
    fn silence_short_input_and_nans_give_none_without_panicking() {
        assert!(detect_key(&[], 44_100).is_none());
        assert!(detect_key(&[0.1; 100], 44_100).is_none());
        assert!(detect_key(&vec![0.0; 44_100 * 2], 44_100).is_none());
        assert!(detect_key(&vec![f32::NAN; 44_100 * 2], 44_100).is_none());
        let mut x = tones(&[220.0, 261.63, 329.63], 2.0, 44_100);
        x[1000] = f32::NAN;
        x[2000] = f32::INFINITY;
        assert!(detect_key(&x, 44_100).is_some());
        assert!(detect_key(&x, 0).is_none());
    }
}
