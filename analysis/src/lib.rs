//! Musical analysis of a track ("Musical DNA"): tempo and beatgrid, downbeats, key,
//! loudness, energy, structure, cue points and feature vectors.
//!
//! One stage per file, energy, structure and DNA sharing one [`Spectrogram`] of the
//! track; [`Analysis`] is the record they fill (`pipeline.rs` wires them).

pub use segue_decode::SegueError;

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

pub use pipeline::{analyze, analyze_file, ANALYSIS_RATE, ENERGY_HOP_SECS};
pub use stft::Spectrogram;

/// `x` with NaN and infinite samples as zeros: borrowed when already clean (as the
/// pipeline hands it over), copied only when there is something to clean.
pub(crate) fn finite_samples(x: &[f32]) -> std::borrow::Cow<'_, [f32]> {
    if x.iter().all(|v| v.is_finite()) {
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
pub const ANALYSER_VERSION: u32 = 1;

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
    /// Key name, e.g. `"A minor"`.
    pub key: String,
    /// Camelot code, e.g. `"8A"`.
    pub camelot: String,
    /// Open Key code, e.g. `"1m"`.
    pub open_key: String,
    /// Key confidence 0..1.
    pub key_confidence: f64,
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
