//! Deterministic demo material with ground truth: short synthetic electronic tracks, their
//! four stems, and exactly where their beats, bars, key and sections are.
//!
//! A [`DemoSpec`] (tempo, key, style, section layout, lead-in, pickup, seed) renders through
//! [`synthesize`] into a [`DemoTrack`]: a [`TrackAudio`] whose stems (drums, bass, other,
//! vocals) sum *exactly* to the mix (per sample, `drums + bass + other + vocals` in f32, in
//! that order), and a [`GroundTruth`] to test analysis against. [`demo_set`] is the built-in
//! set and [`write_demo_set`] writes it as WAV + JSON (what `cargo xtask demo` runs).
//!
//! Guarantees:
//! * **Deterministic**: the same spec and sample rate give the same bytes on every run and
//!   every machine. No threads, no clocks, no hash-map order; randomness comes from a seeded
//!   SplitMix64, and the oscillators use only basic IEEE-754 arithmetic (no libm `sin`/`exp`,
//!   whose last bits differ between platforms).
//! * **Exact beats**: beat `i` is at `lead_in + i · 60 / bpm` seconds in the truth, and every
//!   event due on a beat (or a subdivision) starts at frame `round(t · sample_rate)`.
//! * **Headroom**: all stems are scaled by one common gain so the mix peaks at 0.7
//!   (about -3.1 dBFS); nothing clips.
//!
//! ```
//! use segue_demo::{self as demo, DemoSpec, SectionLabel, Style};
//! use segue_analysis::music::Key;
//!
//! let spec = DemoSpec::new("doc-example", 128.0, "A minor".parse::<Key>().unwrap(), Style::FourOnFloor)
//!     .sections(&[(SectionLabel::Intro, 1), (SectionLabel::Drop, 1)]);
//! let track = demo::synthesize(&spec, 22_050);
//! assert_eq!(track.truth.camelot, "8A");
//! assert_eq!(track.truth.beats.len(), 8);
//! assert!(track.audio.stems.is_some());
//! ```

#![forbid(unsafe_code)]

pub use segue_decode::SegueError;

mod dsp;
pub mod eval;
mod spec;
mod synth;
mod truth;
mod voices;

use std::path::{Path, PathBuf};

use segue_engine::{Stem, TrackAudio};

use segue_decode::wav::{write_wav, WavFormat};

pub use spec::{
    bench_track, demo_set, DemoSpec, InvalidSpec, SectionLabel, Style, MAX_DURATION_SECS,
};
pub use synth::{PEAK, TAIL_SECS};
pub use truth::{beatgrid, load_truth, GroundTruth, TruthSection};

/// Sample rate `cargo xtask demo` renders at unless told otherwise.
pub const DEFAULT_SAMPLE_RATE: u32 = 44_100;

/// One rendered demo track.
#[derive(Debug, Clone)]
pub struct DemoTrack {
    /// What it was rendered from.
    pub spec: DemoSpec,
    /// The mix with its four stems.
    pub audio: TrackAudio,
    /// Where everything is.
    pub truth: GroundTruth,
}

/// Render `spec` at `sample_rate`.
///
/// # Panics
/// If the spec is invalid (see [`DemoSpec::validate`]) or `sample_rate` is outside
/// 8 000..=384 000 Hz: specs are program data, so this is a programming error.
pub fn synthesize(spec: &DemoSpec, sample_rate: u32) -> DemoTrack {
    if let Err(e) = spec.validate() {
        panic!("{e}");
    }
    assert!(
        (8_000..=384_000).contains(&sample_rate),
        "demo sample rate {sample_rate} Hz is outside 8000..=384000"
    );
    let stems = synth::render(spec, sample_rate);
    let mix = synth::mix(&stems);
    let truth = GroundTruth::new(spec, sample_rate, mix.len());
    let audio = TrackAudio::new(sample_rate, mix)
        .with_stems(stems)
        .expect("every stem is rendered with the mix's length");
    DemoTrack {
        spec: spec.clone(),
        audio,
        truth,
    }
}

/// Write one track into `dir` (created if missing): `<name>.wav` (the mix, 32-bit float),
/// `<name>.<stem>.wav` for drums, bass, other and vocals, and `<name>.json` (the
/// [`GroundTruth`], pretty-printed). Returns the mix's path.
pub fn write_track(dir: &Path, track: &DemoTrack) -> Result<PathBuf, SegueError> {
    std::fs::create_dir_all(dir).map_err(|e| SegueError::io(dir, e))?;
    let name = &track.spec.name;
    let rate = track.audio.sample_rate;
    let mix_path = dir.join(format!("{name}.wav"));
    write_wav(&mix_path, rate, &track.audio.mix, WavFormat::Float32)?;
    if let Some(stems) = &track.audio.stems {
        for stem in Stem::ALL {
            let path = dir.join(format!("{name}.{}.wav", stem.name()));
            write_wav(&path, rate, &stems[stem as usize], WavFormat::Float32)?;
        }
    }
    let json_path = dir.join(format!("{name}.json"));
    let json = serde_json::to_string_pretty(&track.truth).map_err(|e| SegueError::Json {
        path: json_path.clone(),
        reason: e.to_string(),
    })?;
    std::fs::write(&json_path, json + "\n").map_err(|e| SegueError::io(&json_path, e))?;
    Ok(mix_path)
}

/// Render every track of [`demo_set`] at `sample_rate` and write it into `dir` with
/// [`write_track`]. Returns the mix paths in set order.
pub fn write_demo_set(dir: &Path, sample_rate: u32) -> Result<Vec<PathBuf>, SegueError> {
    demo_set()
        .iter()
        .map(|spec| write_track(dir, &synthesize(spec, sample_rate)))
        .collect()
}
