//! Track data handed to the engine: decoded audio (mix + optional stems) and beatgrids.
//!
//! Both are built off the audio thread and arrive inside a [`crate::Command`] as an `Arc`;
//! the engine only reads them.

/// The four stems a separated track carries, in this fixed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stem {
    /// Kick, snare, hats, percussion.
    Drums = 0,
    /// Bass line.
    Bass = 1,
    /// Everything that is neither drums, bass nor vocals (synths, pads, guitars...).
    Other = 2,
    /// Lead and backing vocals.
    Vocals = 3,
}

impl Stem {
    /// All stems in index order.
    pub const ALL: [Stem; 4] = [Stem::Drums, Stem::Bass, Stem::Other, Stem::Vocals];

    /// Lower-case name used in files, OSC addresses and JSON (`"drums"`...).
    pub fn name(self) -> &'static str {
        match self {
            Stem::Drums => "drums",
            Stem::Bass => "bass",
            Stem::Other => "other",
            Stem::Vocals => "vocals",
        }
    }

    /// The stem for a lower-case name, if any.
    pub fn from_name(name: &str) -> Option<Stem> {
        Stem::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One stereo frame, `[left, right]`.
pub type Frame = [f32; 2];

/// Decoded, resampled audio of one track: the stereo mix plus optional stems, all at
/// `sample_rate` and all the same length.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackAudio {
    /// Sample rate in Hz (the engine rate: decoding resamples to it).
    pub sample_rate: u32,
    /// The full mix, one stereo frame per sample.
    pub mix: Vec<Frame>,
    /// Separated stems in [`Stem`] order (drums, bass, other, vocals), each as long as `mix`.
    pub stems: Option<Box<[Vec<Frame>; 4]>>,
}

impl TrackAudio {
    /// A track with a mix only.
    pub fn new(sample_rate: u32, mix: Vec<Frame>) -> Self {
        Self {
            sample_rate,
            mix,
            stems: None,
        }
    }

    /// Attach stems; they must be exactly as long as the mix.
    pub fn with_stems(mut self, stems: [Vec<Frame>; 4]) -> Result<Self, StemLengthMismatch> {
        if stems.iter().any(|s| s.len() != self.mix.len()) {
            return Err(StemLengthMismatch);
        }
        self.stems = Some(Box::new(stems));
        Ok(self)
    }

    /// Length in frames.
    pub fn frames(&self) -> usize {
        self.mix.len()
    }

    /// Length in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.mix.len() as f64 / self.sample_rate.max(1) as f64
    }

    /// Mono downmix of the mix, for analysis.
    pub fn mono(&self) -> Vec<f32> {
        self.mix.iter().map(|f| 0.5 * (f[0] + f[1])).collect()
    }

    /// [`mono`](Self::mono) with NaN and infinite samples as zeros, and the largest
    /// magnitude in it, in one pass over the mix.
    pub fn mono_finite(&self) -> (Vec<f32>, f32) {
        let mut mono = vec![0.0f32; self.mix.len()];
        let mut lanes = [0.0f32; 8];
        let mut out = mono.chunks_exact_mut(8);
        let mut frames = self.mix.chunks_exact(8);
        for (o, f) in (&mut out).zip(&mut frames) {
            let f: &[Frame; 8] = f.try_into().expect("chunks of eight");
            *<&mut [f32; 8]>::try_from(o).expect("chunks of eight") = mono_of_eight(f, &mut lanes);
        }
        for (o, f) in out.into_remainder().iter_mut().zip(frames.remainder()) {
            *o = finite_mono(f);
            lanes[0] = lanes[0].max(o.abs());
        }
        (mono, lanes.into_iter().fold(0.0, f32::max))
    }

    /// [`mono_finite`](Self::mono_finite) written over the mix's own memory (no new
    /// buffer: a 4-minute track's mono is 42 MB of fresh pages otherwise); the stems are
    /// dropped.
    pub fn into_mono_finite(self) -> (Vec<f32>, f32) {
        let frames = self.mix.len();
        let mut flat = self.mix.into_flattened();
        let mut lanes = [0.0f32; 8];
        // Mono sample `i` is written over flat sample `i`, after frame `i` (flat samples
        // `2i`, `2i + 1`) has been read: eight at a time, frames `8k..8k + 8` (flat
        // `16k..16k + 16`) are read before mono `8k..8k + 8` is written, which overlaps
        // only what was already read.
        let whole = frames - frames % 8;
        for k in (0..whole).step_by(8) {
            let src: &[f32; 16] = flat[2 * k..2 * k + 16].try_into().expect("sixteen");
            let eight: [Frame; 8] = std::array::from_fn(|i| [src[2 * i], src[2 * i + 1]]);
            let m = mono_of_eight(&eight, &mut lanes);
            flat[k..k + 8].copy_from_slice(&m);
        }
        for i in whole..frames {
            let m = finite_mono(&[flat[2 * i], flat[2 * i + 1]]);
            lanes[0] = lanes[0].max(m.abs());
            flat[i] = m;
        }
        flat.truncate(frames);
        flat.shrink_to_fit();
        (flat, lanes.into_iter().fold(0.0, f32::max))
    }
}

/// [`TrackAudio::mono_finite`] of `frames` appended to `mono`, their magnitudes folded
/// into `lanes` (the peak is the largest lane): a mix given a stretch at a time gets the
/// same samples and the same peak as given at once.
pub fn append_mono_finite(frames: &[Frame], mono: &mut Vec<f32>, lanes: &mut [f32; 8]) {
    let start = mono.len();
    mono.resize(start + frames.len(), 0.0);
    let mut out = mono[start..].chunks_exact_mut(8);
    let mut eights = frames.chunks_exact(8);
    for (o, f) in (&mut out).zip(&mut eights) {
        let f: &[Frame; 8] = f.try_into().expect("chunks of eight");
        *<&mut [f32; 8]>::try_from(o).expect("chunks of eight") = mono_of_eight(f, lanes);
    }
    for (o, f) in out.into_remainder().iter_mut().zip(eights.remainder()) {
        *o = finite_mono(f);
        lanes[0] = lanes[0].max(o.abs());
    }
}

/// One frame's mono sample, zero if not finite.
#[inline(always)]
fn finite_mono(f: &Frame) -> f32 {
    let m = 0.5 * (f[0] + f[1]);
    if m.is_finite() {
        m
    } else {
        0.0
    }
}

/// Eight frames' [`finite_mono`] samples; their magnitudes folded into `lanes`.
#[inline(always)]
fn mono_of_eight(f: &[Frame; 8], lanes: &mut [f32; 8]) -> [f32; 8] {
    let mut m = [0.0f32; 8];
    for i in 0..8 {
        m[i] = finite_mono(&f[i]);
        let a = m[i].abs();
        lanes[i] = if a > lanes[i] { a } else { lanes[i] };
    }
    m
}

/// Four stems in [`Stem`] order (drums, bass, other, vocals), each as long as the mix of the
/// track they belong to: what [`crate::Command::AttachStems`] hands a deck.
pub type StemAudio = [Vec<Frame>; 4];

/// Names the track a deck holds, by the address of its `Arc<TrackAudio>`: plain data, so a
/// command can say "for this track only" ([`crate::Command::AttachStems`]). The engine
/// compares it with the deck's track and never dereferences it. Whoever builds one keeps a
/// clone of that `Arc` alive until the command is applied or moot (the deck loaded again),
/// so the address cannot be reused by another track meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrackRef(usize);

impl TrackRef {
    /// The reference of `track`.
    pub fn of(track: &std::sync::Arc<TrackAudio>) -> Self {
        Self(std::sync::Arc::as_ptr(track) as usize)
    }
}

/// Stems given to [`TrackAudio::with_stems`] were not as long as the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StemLengthMismatch;

impl std::fmt::Display for StemLengthMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("every stem must have exactly as many frames as the mix")
    }
}

impl std::error::Error for StemLengthMismatch {}

/// Beat positions of a track, in frames of the track's audio (fractional), plus the bar
/// phase. Handles constant and variable tempo alike: positions between two beats are
/// interpolated linearly, positions outside the list are extrapolated with the first/last
/// beat interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Beatgrid {
    beats: Vec<f64>,
    /// Index into `beats` of a downbeat ("1" of a bar).
    downbeat: usize,
    /// Beats per bar (4 for 4/4).
    beats_per_bar: u32,
}

/// Why a beatgrid could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeatgridError {
    /// Fewer than two beats: no tempo can be derived.
    TooFewBeats,
    /// Beat positions must be finite and strictly increasing.
    NotIncreasing,
    /// `beats_per_bar` must be 1..=16 and the downbeat index inside the beat list.
    BadMeter,
}

impl std::fmt::Display for BeatgridError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BeatgridError::TooFewBeats => "a beatgrid needs at least two beats",
            BeatgridError::NotIncreasing => "beat positions must be finite and strictly increasing",
            BeatgridError::BadMeter => {
                "beats per bar must be 1..=16 and the downbeat a listed beat"
            }
        })
    }
}

impl std::error::Error for BeatgridError {}

impl Beatgrid {
    /// A grid from explicit beat positions (frames).
    pub fn new(
        beats: Vec<f64>,
        downbeat: usize,
        beats_per_bar: u32,
    ) -> Result<Self, BeatgridError> {
        if beats.len() < 2 {
            return Err(BeatgridError::TooFewBeats);
        }
        if beats.iter().any(|b| !b.is_finite()) || beats.windows(2).any(|w| w[1] <= w[0]) {
            return Err(BeatgridError::NotIncreasing);
        }
        if !(1..=16).contains(&beats_per_bar) || downbeat >= beats.len() {
            return Err(BeatgridError::BadMeter);
        }
        Ok(Self {
            beats,
            downbeat,
            beats_per_bar,
        })
    }

    /// A constant-tempo grid: first beat at `first_beat` frames, `bpm` at `sample_rate`,
    /// covering `frames` frames; the first beat is a downbeat.
    pub fn constant(
        bpm: f64,
        first_beat: f64,
        sample_rate: u32,
        frames: usize,
    ) -> Result<Self, BeatgridError> {
        if !(bpm.is_finite() && bpm > 0.0 && first_beat.is_finite()) {
            return Err(BeatgridError::NotIncreasing);
        }
        let period = 60.0 * sample_rate as f64 / bpm;
        let count = (((frames as f64 - first_beat) / period).ceil().max(0.0) as usize + 1).max(2);
        let beats = (0..count).map(|i| first_beat + i as f64 * period).collect();
        Self::new(beats, 0, 4)
    }

    /// Beat positions in frames.
    pub fn beats(&self) -> &[f64] {
        &self.beats
    }

    /// Beats per bar.
    pub fn beats_per_bar(&self) -> u32 {
        self.beats_per_bar
    }

    /// Index of the reference downbeat in [`Self::beats`].
    pub fn downbeat_index(&self) -> usize {
        self.downbeat
    }

    /// Fractional beat index at a position in frames (0.0 = first listed beat).
    /// Never allocates; `O(log n)`.
    pub fn beat_at(&self, frame: f64) -> f64 {
        let b = &self.beats;
        let n = b.len();
        if frame <= b[0] {
            return (frame - b[0]) / (b[1] - b[0]);
        }
        if frame >= b[n - 1] {
            return (n - 1) as f64 + (frame - b[n - 1]) / (b[n - 1] - b[n - 2]);
        }
        // First index whose beat is > frame; it is in 1..n.
        let i = b.partition_point(|&x| x <= frame);
        (i - 1) as f64 + (frame - b[i - 1]) / (b[i] - b[i - 1])
    }

    /// Position in frames of a fractional beat index (inverse of [`Self::beat_at`]).
    pub fn frame_at(&self, beat: f64) -> f64 {
        let b = &self.beats;
        let n = b.len();
        if !beat.is_finite() {
            return b[0];
        }
        if beat <= 0.0 {
            return b[0] + beat * (b[1] - b[0]);
        }
        if beat >= (n - 1) as f64 {
            return b[n - 1] + (beat - (n - 1) as f64) * (b[n - 1] - b[n - 2]);
        }
        let i = beat.floor() as usize;
        b[i] + (beat - i as f64) * (b[i + 1] - b[i])
    }

    /// Length in frames of the beat that contains `frame` (local tempo).
    pub fn beat_length_at(&self, frame: f64) -> f64 {
        let bi = self.beat_at(frame).floor();
        let n = self.beats.len() as f64;
        let i = bi.clamp(0.0, n - 2.0) as usize;
        self.beats[i + 1] - self.beats[i]
    }

    /// Local tempo in BPM at `frame`, for audio at `sample_rate`.
    pub fn bpm_at(&self, frame: f64, sample_rate: u32) -> f64 {
        60.0 * sample_rate as f64 / self.beat_length_at(frame)
    }

    /// Position inside the bar at a fractional beat index: 0.0 on a downbeat,
    /// up to `beats_per_bar` (exclusive).
    pub fn bar_phase(&self, beat: f64) -> f64 {
        (beat - self.downbeat as f64).rem_euclid(self.beats_per_bar as f64)
    }

    /// Bar number (0 = the bar that starts on the reference downbeat) of a fractional beat.
    pub fn bar_at(&self, beat: f64) -> f64 {
        ((beat - self.downbeat as f64) / self.beats_per_bar as f64).floor()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fused_mono_is_the_scrubbed_mono_to_the_bit() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut noise = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        };
        for len in [0usize, 1, 7, 8, 9, 16, 17, 1_000, 4_103] {
            let mut mix: Vec<Frame> = (0..len).map(|_| [noise(), 0.3 * noise()]).collect();
            if len > 100 {
                mix[3][0] = f32::NAN;
                mix[40][1] = f32::INFINITY;
                mix[41] = [f32::MAX, f32::MAX];
                mix[len - 1] = [-2.5, 0.5];
            }
            let audio = TrackAudio::new(44_100, mix);
            let want: Vec<u32> = audio
                .mono()
                .into_iter()
                .map(|v| if v.is_finite() { v } else { 0.0 }.to_bits())
                .collect();
            let peak = audio
                .mono()
                .into_iter()
                .filter(|v| v.is_finite())
                .fold(0.0f32, |m, v| m.max(v.abs()));
            let (mono, p) = audio.mono_finite();
            assert_eq!(mono.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want);
            assert_eq!(p.to_bits(), peak.to_bits(), "{len}");
            // A stretch at a time, of sizes that do and do not fall on eights.
            let (mut mono, mut lanes, mut at) = (Vec::new(), [0.0f32; 8], 0);
            for step in [3usize, 8, 1, 29, 16, 700].into_iter().cycle() {
                let end = (at + step).min(len);
                append_mono_finite(&audio.mix[at..end], &mut mono, &mut lanes);
                at = end;
                if at == len {
                    break;
                }
            }
            let p = lanes.into_iter().fold(0.0f32, f32::max);
            assert_eq!(mono.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want);
            assert_eq!(p.to_bits(), peak.to_bits(), "{len}");
            let (mono, p) = audio.into_mono_finite();
            assert_eq!(mono.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want);
            assert_eq!(p.to_bits(), peak.to_bits(), "{len}");
        }
    }

    #[test]
    fn constant_grid_round_trips_frames_and_beats() {
        let g = Beatgrid::constant(120.0, 1000.0, 48_000, 48_000 * 10).unwrap();
        assert_eq!(g.beat_at(1000.0), 0.0);
        assert!((g.beat_at(1000.0 + 24_000.0 * 2.5) - 2.5).abs() < 1e-12);
        assert!((g.frame_at(7.25) - (1000.0 + 7.25 * 24_000.0)).abs() < 1e-9);
        assert!((g.bpm_at(50_000.0, 48_000) - 120.0).abs() < 1e-9);
        // Extrapolation before the first and after the last beat.
        assert!((g.beat_at(1000.0 - 12_000.0) + 0.5).abs() < 1e-12);
        let far = 48_000.0 * 100.0;
        assert!((g.frame_at(g.beat_at(far)) - far).abs() < 1e-6);
    }

    #[test]
    fn variable_grid_interpolates_between_beats() {
        let g = Beatgrid::new(vec![0.0, 100.0, 300.0, 600.0], 1, 4).unwrap();
        assert_eq!(g.beat_at(200.0), 1.5);
        assert_eq!(g.frame_at(2.5), 450.0);
        assert_eq!(g.beat_length_at(450.0), 300.0);
        assert_eq!(g.bar_phase(1.0), 0.0);
        assert_eq!(g.bar_phase(0.0), 3.0);
    }

    #[test]
    fn bad_grids_are_rejected() {
        assert_eq!(
            Beatgrid::new(vec![1.0], 0, 4),
            Err(BeatgridError::TooFewBeats)
        );
        assert_eq!(
            Beatgrid::new(vec![1.0, 1.0], 0, 4),
            Err(BeatgridError::NotIncreasing)
        );
        assert_eq!(
            Beatgrid::new(vec![0.0, f64::NAN], 0, 4),
            Err(BeatgridError::NotIncreasing)
        );
        assert_eq!(
            Beatgrid::new(vec![0.0, 1.0], 2, 4),
            Err(BeatgridError::BadMeter)
        );
        assert_eq!(
            Beatgrid::new(vec![0.0, 1.0], 0, 0),
            Err(BeatgridError::BadMeter)
        );
    }
}
