//! The whole analysis of one track, stage after stage: rhythm → key → loudness → energy →
//! structure → cues → DNA. Each stage lives in its own module; this one only wires them.

use std::path::Path;

use segue_engine::TrackAudio;

use super::{
    beats, cues, dna, energy, key, loudness, structure, Analysis, Section, Spectrogram,
    ANALYSER_VERSION,
};
use crate::SegueError;

/// Rate every track is analysed at (decoding resamples to it).
pub const ANALYSIS_RATE: u32 = 44_100;
/// Hop of the energy curve, seconds.
pub const ENERGY_HOP_SECS: f64 = 0.5;

/// Decode `path` and analyse it.
pub fn analyze_file(path: &Path) -> Result<Analysis, SegueError> {
    let audio = segue_decode::decode_file(path, ANALYSIS_RATE)?;
    Ok(analyze(&audio))
}

/// Analyse decoded audio (any rate; [`ANALYSIS_RATE`] is what the stages are tuned for).
pub fn analyze(audio: &TrackAudio) -> Analysis {
    let rate = audio.sample_rate;
    let mut mono = audio.mono();
    for v in mono.iter_mut().filter(|v| !v.is_finite()) {
        *v = 0.0;
    }
    let duration = audio.duration_secs();

    let rhythm = beats::analyse_rhythm(&mono, rate);
    let key = key::detect_key(&mono, rate);
    let loud = loudness::measure_loudness(audio);
    // One spectrogram (≈ 46 ms window, half overlap) for energy, structure and DNA.
    let fft = energy::fft_size_for(rate);
    let spec = Spectrogram::compute(&mono, rate, fft, fft / 2);
    let curve = energy::energy_curve_of(&spec, duration, ENERGY_HOP_SECS);

    let segments = structure::segment(&spec, &rhythm.downbeats, duration);
    let sections: Vec<Section> = segments
        .iter()
        .map(|g| {
            let start = rhythm.downbeats[g.start_bar];
            let end = rhythm.downbeats.get(g.end_bar).copied().unwrap_or(duration);
            Section {
                start,
                end,
                label: g.label,
                energy: energy::energy_level_between(&curve, ENERGY_HOP_SECS, start, end),
            }
        })
        .collect();
    let cues = cues::place_cues(rhythm.downbeats.first().copied(), &sections);
    let ranges: Vec<(f64, f64)> = sections.iter().map(|s| (s.start, s.end)).collect();
    let features = dna::extract_with_spectrogram(&spec, &mono, &rhythm.beats, &ranges);

    let (key_name, camelot, open_key, key_confidence) = match key {
        Some(k) => (
            k.key.name(),
            k.key.camelot(),
            k.key.open_key(),
            k.confidence,
        ),
        None => (String::new(), String::new(), String::new(), 0.0),
    };
    Analysis {
        duration,
        bpm: rhythm.bpm,
        beats: rhythm.beats,
        downbeats: rhythm.downbeats,
        beats_per_bar: rhythm.beats_per_bar,
        constant_tempo: rhythm.constant_tempo,
        key: key_name,
        camelot,
        open_key,
        key_confidence,
        lufs: loud.integrated_lufs,
        loudness_range: loud.range_lu,
        true_peak_db: loud.true_peak_db,
        energy: energy::energy_level(&curve),
        sections,
        cues,
        analyser_version: ANALYSER_VERSION,
        dna: dna::compact(&features),
        dna_version: features.version,
    }
}
