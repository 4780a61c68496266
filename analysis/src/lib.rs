//! Musical analysis of a track ("Musical DNA"): tempo and beatgrid, downbeats, key,
//! loudness, energy, structure, cue points and feature vectors.
//!
//! One stage per file, energy, structure and DNA sharing one [`Spectrogram`] of the
//! track (streamed: each frame reduced by the three and dropped); [`Analysis`] is the
//! record they fill (`pipeline.rs` wires them).

pub use segue_decode::{DecodedInfo, SegueError, Unanalysable};

/// `fn $name(args) -> ret`, which runs `$body(args)` (an `#[inline(always)]` kernel written
/// with explicit lanes) compiled for AVX2 where the CPU has it (a runtime check) and as
/// portable code elsewhere; `$avx2` is the AVX2 build (each use has a test that it gives the
/// portable values to the bit: LLVM neither contracts nor reorders float arithmetic).
macro_rules! avx2_or_portable {
    ($(#[$attr:meta])* fn $name:ident / $avx2:ident ($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = $body:ident) => {
        $(#[$attr])*
        fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked just above.
                return unsafe { $avx2($($arg),*) };
            }
            $body($($arg),*)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn $avx2($($arg: $ty),*) $(-> $ret)? {
            $body($($arg),*)
        }
    };
}

/// Deterministic uniform noise in [0, 1) for the tests: a 32-bit LCG step on `state`.
#[cfg(test)]
pub(crate) fn test_uniform(state: &mut u32) -> f32 {
    *state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    (*state >> 8) as f32 / (1u32 << 24) as f32
}

pub mod beats;
pub mod cues;
pub mod dna;
pub mod energy;
pub mod key;
pub mod loudness;
pub mod music;
pub mod onset;
mod pipeline;
mod stft;
pub mod structure;
pub mod tempo;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use pipeline::{
    analyze, analyze_file, analyze_file_with, analyze_file_with_info, ANALYSIS_RATE,
    ENERGY_HOP_SECS, MIN_ANALYSIS_SECS,
};
pub use stft::Spectrogram;

/// `x` with NaN and infinite samples as zeros: borrowed when already clean (as the
/// pipeline hands it over), copied only when there is something to clean.
pub(crate) fn finite_samples(x: &[f32]) -> std::borrow::Cow<'_, [f32]> {
    // Checked 64 samples at a time without stopping early inside them: a loop the compiler
    // vectorises, several times faster than stopping at the first bad sample.
    let finite = |c: &[f32]| c.iter().fold(true, |ok, v| ok & v.is_finite());
    if x.chunks(64).all(finite) {
        x.into()
    } else {
        x.iter()
            .map(|&v| if v.is_finite() { v } else { 0.0 })
            .collect::<Vec<f32>>()
            .into()
    }
}

/// Version of the analysis algorithms: a library entry analysed by an older version is
/// re-analysed on demand. Bump it whenever a stage changes its results.
pub const ANALYSER_VERSION: u32 = 7;

/// A preferred tempo range, BPM (`LO-HI`, e.g. `70-140` or `85-170`): the tempo octave a
/// DJ wants to see. [`Analysis::with_bpm_range`] moves the detected tempo by octaves (× 2,
/// ÷ 2) into it; without one the analysis reports the tempo the groove is written in (the
/// backbeat on 2 and 4, or half-time with the backbeat on 3 below 80 BPM when the hats run
/// in sixteenths; see `beats.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BpmRange {
    /// Lowest tempo, BPM.
    pub lo: f64,
    /// Highest tempo, BPM.
    pub hi: f64,
}

impl BpmRange {
    /// A range; `None` unless `20 <= lo < hi <= 400`.
    pub fn new(lo: f64, hi: f64) -> Option<BpmRange> {
        (lo.is_finite() && hi.is_finite() && (20.0..=400.0).contains(&lo) && lo < hi && hi <= 400.0)
            .then_some(BpmRange { lo, hi })
    }

    /// The octave of `bpm` (`bpm · 2^k`) inside the range, or the one nearest to it (in
    /// octaves) when the range is narrower than an octave; `bpm` itself when it is 0.
    pub fn fold(&self, bpm: f64) -> f64 {
        if !(bpm > 0.0 && bpm.is_finite()) {
            return bpm;
        }
        let mut best = bpm;
        let dist = |b: f64| {
            if b < self.lo {
                (self.lo / b).log2()
            } else if b > self.hi {
                (b / self.hi).log2()
            } else {
                0.0
            }
        };
        for k in -4..=4 {
            let b = bpm * 2f64.powi(k);
            if dist(b) < dist(best) - 1e-12 {
                best = b;
            }
        }
        best
    }
}

impl std::str::FromStr for BpmRange {
    type Err = String;

    /// `"70-140"`, `"85-170"`, `"85.5-171"`.
    fn from_str(s: &str) -> Result<BpmRange, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("{s:?}: expected LO-HI, e.g. 70-140"))?;
        let lo: f64 = a
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: {a:?} is not a number"))?;
        let hi: f64 = b
            .trim()
            .parse()
            .map_err(|_| format!("{s:?}: {b:?} is not a number"))?;
        BpmRange::new(lo, hi).ok_or_else(|| format!("{s:?}: expected 20 <= LO < HI <= 400"))
    }
}

impl Analysis {
    /// Index in `beats` of the first downbeat (0 without downbeats): where the deck's grid
    /// starts counting bars.
    pub fn first_downbeat_index(&self) -> usize {
        self.downbeats
            .first()
            .and_then(|d| self.beats.iter().position(|b| (b - d).abs() < 1e-3))
            .unwrap_or(0)
    }

    /// The engine beatgrid of these beats at `sample_rate` (None without usable beats).
    pub fn beatgrid(&self, sample_rate: u32) -> Option<segue_engine::Beatgrid> {
        let rate = sample_rate as f64;
        let beats: Vec<f64> = self.beats.iter().map(|t| t * rate).collect();
        segue_engine::Beatgrid::new(
            beats,
            self.first_downbeat_index(),
            self.beats_per_bar.max(1),
        )
        .ok()
    }

    /// This analysis with its tempo moved by octaves into `range` ([`BpmRange::fold`]): at
    /// half the tempo every other beat is kept (the downbeats among them), at double tempo a
    /// beat is added between each two. Downbeats stay where they are (the bar does not
    /// change), so `beats_per_bar` halves or doubles; `half_time` holds at the new tempo
    /// (a half-time groove counted at half its tempo has its backbeat on 2 and 4 again).
    pub fn with_bpm_range(mut self, range: BpmRange) -> Analysis {
        let target = range.fold(self.bpm);
        let ratio = target / self.bpm;
        if !(ratio.is_finite()) || (ratio - 1.0).abs() < 1e-9 || self.beats.len() < 2 {
            return self;
        }
        let mut bpb = self.beats_per_bar as f64;
        let mut r = ratio;
        while r < 0.99 {
            // Halve: keep the beats of the downbeats' phase.
            let phase = self
                .downbeats
                .first()
                .and_then(|d| self.beats.iter().position(|b| (b - d).abs() < 1e-6))
                .unwrap_or(0);
            self.beats = self
                .beats
                .iter()
                .skip(phase % 2)
                .step_by(2)
                .copied()
                .collect();
            if self.half_time {
                self.half_time = false;
            }
            bpb /= 2.0;
            r *= 2.0;
        }
        while r > 1.01 {
            let mut beats = Vec::with_capacity(self.beats.len() * 2);
            for w in self.beats.windows(2) {
                beats.push(w[0]);
                beats.push(0.5 * (w[0] + w[1]));
            }
            beats.extend(self.beats.last().copied());
            self.beats = beats;
            bpb *= 2.0;
            r /= 2.0;
        }
        self.beats_per_bar = bpb.round().max(1.0) as u32;
        self.bpm = target;
        self
    }
}

/// What a part of a track is, for a DJ: where to mix in and out, where the energy peaks.
/// The analysis labels every [`Section`] with one; the demo synthesiser decides from it which
/// instruments play and how loud. Serialised in lower case (`"intro"`, `"drop"`...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SectionLabel {
    /// Opening bars for mixing in (a DJ-friendly intro: drums and pads, no full arrangement).
    Intro,
    /// The groove below the peak: bass, backbeat, vocals.
    Verse,
    /// Tension leading into a drop (snare roll, riser, kick out).
    Build,
    /// Full energy: the loudest part, with kick.
    Drop,
    /// Breakdown between drops: no drums, the quietest part.
    Break,
    /// Closing bars for mixing out.
    Outro,
}

impl SectionLabel {
    /// Every label.
    pub const ALL: [SectionLabel; 6] = [
        SectionLabel::Intro,
        SectionLabel::Verse,
        SectionLabel::Build,
        SectionLabel::Drop,
        SectionLabel::Break,
        SectionLabel::Outro,
    ];

    /// Lower-case name, as in JSON (`"intro"`, `"drop"`...).
    pub fn name(self) -> &'static str {
        match self {
            SectionLabel::Intro => "intro",
            SectionLabel::Verse => "verse",
            SectionLabel::Build => "build",
            SectionLabel::Drop => "drop",
            SectionLabel::Break => "break",
            SectionLabel::Outro => "outro",
        }
    }
}

impl fmt::Display for SectionLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A labelled part of a track, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// Start (a downbeat).
    pub start: f64,
    /// End.
    pub end: f64,
    /// What the part is.
    pub label: SectionLabel,
    /// Energy level 1..=10 of the section.
    pub energy: u8,
}

/// A named cue point on a downbeat, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cue {
    /// Position.
    pub time: f64,
    /// What it is for (`first downbeat`, `mix in`, `drop 1`, `break`, `mix out`...).
    pub name: String,
}

/// Everything Segue knows about a track's music (field names are the `--json` keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Length in seconds.
    pub duration: f64,
    /// Tempo in BPM (fractional).
    pub bpm: f64,
    /// Beat times in seconds.
    pub beats: Vec<f64>,
    /// Downbeat times in seconds.
    pub downbeats: Vec<f64>,
    /// Beats per bar.
    pub beats_per_bar: u32,
    /// True when the beats follow one constant tempo.
    pub constant_tempo: bool,
    /// True when the groove is half-time at `bpm`: the backbeat falls once a bar, on 3
    /// (dubstep at 140, half-time drum & bass); see [`BpmRange`] for the octave policy.
    #[serde(default)]
    pub half_time: bool,
    /// Key name, e.g. `"A minor"`.
    pub key: String,
    /// Camelot code, e.g. `"8A"`.
    pub camelot: String,
    /// Open Key code, e.g. `"1m"`.
    pub open_key: String,
    /// Key confidence 0..1.
    pub key_confidence: f64,
    /// The runner-up key (e.g. the relative major/minor or a fifth away) when the key
    /// confidence is below [`key::LOW_CONFIDENCE`]; `None` when the key is clear.
    #[serde(default)]
    pub key_runner_up: Option<String>,
    /// EBU R128 integrated loudness, LUFS.
    pub lufs: f64,
    /// EBU R128 loudness range, LU.
    pub loudness_range: f64,
    /// True peak, dBTP.
    pub true_peak_db: f64,
    /// Track energy level 1..=10.
    pub energy: u8,
    /// Sections in order.
    pub sections: Vec<Section>,
    /// Cue points in time order.
    pub cues: Vec<Cue>,
    /// Analyser version that produced this.
    pub analyser_version: u32,
    /// DNA schema version.
    pub dna_version: u32,
    /// The compact Musical DNA vector ([`dna::COMPACT_DIMS`] values, unit length) used by
    /// the similarity index; the full named feature set comes from [`dna::extract`].
    #[serde(default)]
    pub dna: Vec<f32>,
}
