//! Ground truth of a demo track: the beats, bars, key and sections the synthesiser placed,
//! as the JSON file written beside the audio.

use std::path::Path;

use segue_engine::{Beatgrid, BeatgridError, Stem};
use serde::{Deserialize, Serialize};

use super::spec::{DemoSpec, SectionLabel, Style};
use crate::SegueError;

/// One section of a track, in seconds from the start of the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthSection {
    /// Start (a downbeat).
    pub start: f64,
    /// End (the next section's start, or the end of the last bar).
    pub end: f64,
    /// What the section is.
    pub label: SectionLabel,
}

/// What a demo track contains, exactly, for checking analysis against.
///
/// Times are seconds from the first sample of the file. Beat `i` is at
/// `lead_in + i · 60 / bpm`, written rounded to the nanosecond (so the JSON stays short and
/// reads back bit for bit); the synthesiser starts every event due on a beat (or on a
/// subdivision of one) at frame `round((lead_in + i · 60 / bpm) · sample_rate)`, rounding
/// half away from zero, so rendered onsets are within half a sample of these times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    /// Track name (file stem).
    pub name: String,
    /// Sample rate of the audio, Hz.
    pub sample_rate: u32,
    /// Length of the audio, seconds (frames / sample rate).
    pub duration: f64,
    /// Tempo, beats per minute (constant).
    pub bpm: f64,
    /// Every beat from the first one played (pickup included) to the last beat of the last
    /// bar.
    pub beats: Vec<f64>,
    /// The "1" of every bar; the pickup's beats are not downbeats.
    pub downbeats: Vec<f64>,
    /// Meter.
    pub beats_per_bar: u32,
    /// Key name, e.g. `"A minor"`.
    pub key: String,
    /// Camelot code, e.g. `"8A"`.
    pub camelot: String,
    /// Open Key code, e.g. `"1m"`.
    pub open_key: String,
    /// Sections in order, covering first downbeat .. end of the last bar.
    pub sections: Vec<TruthSection>,
    /// Drum pattern family.
    pub style: Style,
    /// Stem names in file/array order: drums, bass, other, vocals.
    pub stems: Vec<String>,
    /// Time of the first downbeat (after lead-in silence and pickup).
    pub first_downbeat: f64,
}

impl GroundTruth {
    /// The truth for `spec` rendered at `sample_rate` into `frames` frames.
    pub(super) fn new(spec: &DemoSpec, sample_rate: u32, frames: usize) -> GroundTruth {
        let period = spec.beat_secs();
        let t0 = spec.lead_in_silence_secs;
        let pickup = spec.pickup_beats as usize;
        let bpb = spec.beats_per_bar as usize;
        let count = pickup + spec.bars() as usize * bpb;
        let at = |beat: usize| ns(t0 + beat as f64 * period);
        let beats: Vec<f64> = (0..count).map(at).collect();
        let downbeats = beats[pickup..].iter().step_by(bpb).copied().collect();
        let mut sections = Vec::with_capacity(spec.sections.len());
        let mut bar = 0usize;
        for &(label, bars) in &spec.sections {
            sections.push(TruthSection {
                start: at(pickup + bar * bpb),
                end: at(pickup + (bar + bars as usize) * bpb),
                label,
            });
            bar += bars as usize;
        }
        GroundTruth {
            name: spec.name.clone(),
            sample_rate,
            duration: ns(frames as f64 / sample_rate as f64),
            bpm: spec.bpm,
            beats,
            downbeats,
            beats_per_bar: spec.beats_per_bar,
            key: spec.key.name(),
            camelot: spec.key.camelot(),
            open_key: spec.key.open_key(),
            sections,
            style: spec.style,
            stems: Stem::ALL.iter().map(|s| s.name().to_string()).collect(),
            first_downbeat: at(pickup),
        }
    }

    /// Index in [`Self::beats`] of the first downbeat (the pickup length in beats).
    pub fn first_downbeat_index(&self) -> usize {
        self.beats
            .iter()
            .position(|&b| b >= self.first_downbeat - 0.5 / self.sample_rate.max(1) as f64)
            .unwrap_or(0)
    }
}

/// `t` rounded to the nanosecond: few enough digits that the JSON parser reads back the
/// same `f64` (significand < 2^53 divided by 10^9 is correctly rounded).
fn ns(t: f64) -> f64 {
    (t * 1e9).round() / 1e9
}

/// The truth's beats as an engine [`Beatgrid`] in frames at `truth.sample_rate`, with the
/// first downbeat as the reference downbeat.
pub fn beatgrid(truth: &GroundTruth) -> Result<Beatgrid, BeatgridError> {
    let sr = truth.sample_rate as f64;
    let frames = truth.beats.iter().map(|b| b * sr).collect();
    Beatgrid::new(frames, truth.first_downbeat_index(), truth.beats_per_bar)
}

/// Read a ground-truth JSON file written by [`super::write_demo_set`].
pub fn load_truth(path: &Path) -> Result<GroundTruth, SegueError> {
    let text = std::fs::read_to_string(path).map_err(|e| SegueError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| SegueError::Json {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
