//! The whole analysis of one track, stage after stage: rhythm → key → loudness → energy →
//! structure → cues → DNA. Each stage lives in its own module; this one only wires them.

use std::path::Path;

use segue_decode::FrameSink;
use segue_engine::{Frame, TrackAudio};

use super::{
    beats, cues, dna, energy, key, loudness, structure, Analysis, Section, Spectrogram,
    ANALYSER_VERSION,
};
use crate::{SegueError, Unanalysable};

/// Rate every track is analysed at (decoding resamples to it).
pub const ANALYSIS_RATE: u32 = 44_100;
/// Hop of the energy curve, seconds.
pub const ENERGY_HOP_SECS: f64 = 0.5;

/// Shortest audio analysed, seconds (the beat tracker needs a few beats).
pub const MIN_ANALYSIS_SECS: f64 = 2.0;

/// Below this sample peak (−80 dBFS) a track counts as silent.
const SILENCE_PEAK: f32 = 1e-4;

/// Frames of stereo a file is decoded into at a time for the analysis (4 MB, 11.9 s at
/// 44.1 kHz): metered and mixed to mono, then written over by the next ones. Long enough
/// for the loudness meter's four-part K-weighting (its warm-ups: 8 s and more), short
/// enough to stay a small buffer that is reused instead of the whole track's stereo.
const STREAM_CHUNK_FRAMES: usize = 1 << 19;

/// Decode `path` and analyse it. Audio with nothing to analyse in it (shorter than
/// [`MIN_ANALYSIS_SECS`], silent, or without a beat) is [`SegueError::Unanalysable`], with a
/// note when the file is also cut short of its header's stated length.
pub fn analyze_file(path: &Path) -> Result<Analysis, SegueError> {
    analyze_file_with_info(path).map(|(a, _)| a)
}

/// [`analyze_file`], also returning what the decoder learnt about the file (its own rate,
/// codec, and whether it ends before its header's stated length).
///
/// A file at [`ANALYSIS_RATE`] (other than MP4) is analysed as it decodes: each stretch of
/// [`STREAM_CHUNK_FRAMES`] is metered ([`loudness::LoudnessMeter`]) and mixed to mono, and
/// only the mono mix is kept, never the whole stereo. Other files are decoded whole
/// (resampled) and go through [`analyze`]'s steps. The results are [`analyze`]'s of the
/// decoded track, the loudness to rounding (about 1e-12 LU; the true peak to the bit).
pub fn analyze_file_with_info(
    path: &Path,
) -> Result<(Analysis, segue_decode::DecodedInfo), SegueError> {
    let mut sink = MixMeter::new(ANALYSIS_RATE);
    let (audio, info) = segue_decode::decode_file_streamed(path, ANALYSIS_RATE, &mut sink)?;
    let analysed = match audio {
        Some(audio) => analyze_owned(audio),
        None => analyze_metered(sink),
    };
    match analysed {
        Ok(a) => Ok((a, info)),
        Err(reason) => Err(SegueError::Unanalysable {
            path: path.to_path_buf(),
            reason,
            note: info.truncation_note(),
        }),
    }
}

/// [`analyze_file`] with the tempo moved into a preferred range, when one is given
/// ([`Analysis::with_bpm_range`]).
pub fn analyze_file_with(
    path: &Path,
    range: Option<super::BpmRange>,
) -> Result<Analysis, SegueError> {
    let a = analyze_file(path)?;
    Ok(match range {
        Some(r) => a.with_bpm_range(r),
        None => a,
    })
}

/// Analyse decoded audio (any rate; [`ANALYSIS_RATE`] is what the stages are tuned for).
/// Audio shorter than [`MIN_ANALYSIS_SECS`], silent (peak below −80 dBFS) or without a
/// beat the tracker can follow gets the reason instead of an analysis of zeros.
pub fn analyze(audio: &TrackAudio) -> Result<Analysis, Unanalysable> {
    let duration = too_short(audio.frames(), audio.sample_rate)?;
    let (mono, peak) = audio.mono_finite();
    if peak < SILENCE_PEAK {
        return Err(Unanalysable::Silent);
    }
    let loud = loudness::measure_loudness(audio);
    analyze_mono(&mono, audio.sample_rate, duration, loud)
}

/// [`analyze`] of audio it may consume: the loudness is measured first, then the mono
/// mix is written over the stereo mix's memory (no fresh buffer for it). The same results.
fn analyze_owned(audio: TrackAudio) -> Result<Analysis, Unanalysable> {
    let duration = too_short(audio.frames(), audio.sample_rate)?;
    let rate = audio.sample_rate;
    let loud = loudness::measure_loudness(&audio);
    let (mono, peak) = audio.into_mono_finite();
    if peak < SILENCE_PEAK {
        return Err(Unanalysable::Silent);
    }
    analyze_mono(&mono, rate, duration, loud)
}

/// [`analyze`] of the track a [`MixMeter`] was given: the same results, the loudness to
/// rounding.
fn analyze_metered(sink: MixMeter) -> Result<Analysis, Unanalysable> {
    let rate = sink.rate;
    let (mono, peak, loud) = sink.finish();
    let duration = too_short(mono.len(), rate)?;
    if peak < SILENCE_PEAK {
        return Err(Unanalysable::Silent);
    }
    analyze_mono(&mono, rate, duration, loud)
}

/// Where a file is decoded to for the analysis: a stretch of stereo at a time
/// ([`STREAM_CHUNK_FRAMES`]), metered and mixed to mono (NaN and infinities zeroed, as
/// [`TrackAudio::mono_finite`] does) as it fills; only the mono mix is kept.
struct MixMeter {
    rate: u32,
    /// Decoded frames not yet metered and mixed.
    chunk: Vec<Frame>,
    meter: loudness::LoudnessMeter,
    mono: Vec<f32>,
    /// The mono mix's peak, in eight lanes.
    lanes: [f32; 8],
}

impl MixMeter {
    fn new(rate: u32) -> Self {
        Self {
            rate,
            chunk: Vec::new(),
            meter: loudness::LoudnessMeter::new(rate),
            mono: Vec::new(),
            lanes: [0.0; 8],
        }
    }

    /// Meter and mix the frames waiting in `chunk`.
    fn flush(&mut self) {
        self.meter.add(&self.chunk);
        segue_engine::append_mono_finite(&self.chunk, &mut self.mono, &mut self.lanes);
        self.chunk.clear();
    }

    /// The mono mix, its peak and the loudness of the stereo mix.
    fn finish(mut self) -> (Vec<f32>, f32, loudness::Loudness) {
        self.flush();
        self.mono.shrink_to_fit();
        let peak = self.lanes.into_iter().fold(0.0, f32::max);
        (self.mono, peak, self.meter.finish())
    }
}

impl FrameSink for MixMeter {
    fn append(&mut self, n: usize) -> &mut [Frame] {
        if self.chunk.len() + n > STREAM_CHUNK_FRAMES && !self.chunk.is_empty() {
            self.flush();
        }
        if self.chunk.capacity() == 0 {
            self.chunk.reserve_exact(STREAM_CHUNK_FRAMES.max(n));
        }
        let start = self.chunk.len();
        self.chunk.resize(start + n, [0.0; 2]);
        &mut self.chunk[start..]
    }

    fn reserve(&mut self, frames: usize) {
        self.mono.reserve_exact(frames);
    }

    fn reset(&mut self) {
        self.chunk.clear();
        self.meter = loudness::LoudnessMeter::new(self.rate);
        self.mono.clear();
        self.lanes = [0.0; 8];
    }
}

/// The duration of `frames` at `rate`, seconds, unless shorter than [`MIN_ANALYSIS_SECS`].
fn too_short(frames: usize, rate: u32) -> Result<f64, Unanalysable> {
    let duration = frames as f64 / rate.max(1) as f64;
    if duration < MIN_ANALYSIS_SECS {
        return Err(Unanalysable::TooShort {
            secs: duration,
            min_secs: MIN_ANALYSIS_SECS,
        });
    }
    Ok(duration)
}

/// The analysis from the mono mix (NaN and infinities zeroed, not silent) and the stereo
/// mix's loudness.
fn analyze_mono(
    mono: &[f32],
    rate: u32,
    duration: f64,
    loud: loudness::Loudness,
) -> Result<Analysis, Unanalysable> {
    let rhythm = beats::analyse_rhythm(mono, rate);
    if rhythm.beats.is_empty() || rhythm.bpm.is_nan() || rhythm.bpm <= 0.0 {
        return Err(Unanalysable::NoBeat);
    }
    let key = key::detect_key(mono, rate);
    let (curve, segments, dna_frames) = spectral_frames(mono, rate, duration, &rhythm.downbeats);
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
    let features = match dna_frames {
        Some(frames) => frames.finish(&rhythm.beats, &ranges),
        None => dna::extract(mono, rate, &rhythm.beats, &ranges),
    };

    let (key_name, camelot, open_key, key_confidence) = match key {
        Some(k) => (
            k.key.name(),
            k.key.camelot(),
            k.key.open_key(),
            k.confidence,
        ),
        None => (String::new(), String::new(), String::new(), 0.0),
    };
    let key_runner_up = key
        .filter(|k| k.confidence < key::LOW_CONFIDENCE)
        .map(|k| k.runner_up.name());
    Ok(Analysis {
        duration,
        bpm: rhythm.bpm,
        beats: rhythm.beats,
        downbeats: rhythm.downbeats,
        beats_per_bar: rhythm.beats_per_bar,
        constant_tempo: rhythm.constant_tempo,
        half_time: rhythm.half_time,
        key: key_name,
        camelot,
        open_key,
        key_confidence,
        key_runner_up,
        lufs: loud.integrated_lufs,
        loudness_range: loud.range_lu,
        true_peak_db: loud.true_peak_db,
        energy: energy::energy_level(&curve),
        sections,
        cues,
        analyser_version: ANALYSER_VERSION,
        dna: dna::compact(&features),
        dna_version: features.version,
    })
}

/// One spectrogram (≈ 46 ms window, half overlap) for energy, structure and DNA, streamed:
/// each frame is handed to the three stages' per-frame reductions and dropped (the stored
/// spectrogram was 43 MB of fresh memory for a 4-minute track, read three times). The
/// energy curve, the sections and the DNA's per-frame features, with the values of
/// [`energy::energy_curve_of`], [`structure::segment`] and
/// [`dna::extract_with_spectrogram`] given the stored spectrogram.
fn spectral_frames<'a>(
    mono: &'a [f32],
    rate: u32,
    duration: f64,
    downbeats: &[f64],
) -> (
    Vec<f32>,
    Vec<structure::Segment>,
    Option<dna::DnaFrames<'a>>,
) {
    let fft = energy::fft_size_for(rate);
    let shape = Spectrogram::shape(rate, fft, fft / 2, usize::MAX);
    let mut energy = energy::EnergyFrames::new(&shape);
    let mut bars = structure::BarFrames::new(&shape);
    let mut dna = dna::DnaFrames::new(&shape, mono);
    shape.each_frame(mono, |m| {
        energy.push(m);
        bars.push(m);
        if let Some(d) = dna.as_mut() {
            d.push(m);
        }
    });
    let curve = energy.curve(duration, ENERGY_HOP_SECS);
    let segments = structure::segment_frames(bars, downbeats, duration);
    (curve, segments, dna)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(secs: f64, amp: f32) -> TrackAudio {
        let n = (secs * ANALYSIS_RATE as f64) as usize;
        let mix = (0..n)
            .map(|i| {
                let v = (std::f32::consts::TAU * 330.0 * i as f32 / ANALYSIS_RATE as f32).sin();
                [v * amp; 2]
            })
            .collect();
        TrackAudio::new(ANALYSIS_RATE, mix)
    }

    #[test]
    fn too_short_silent_and_beatless_audio_gets_the_reason_not_zeros() {
        match analyze(&tone(0.13, 0.5)) {
            Err(Unanalysable::TooShort { secs, min_secs }) => {
                assert!((secs - 0.13).abs() < 1e-3);
                assert_eq!(min_secs, MIN_ANALYSIS_SECS);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            Unanalysable::TooShort {
                secs: 0.13,
                min_secs: 2.0
            }
            .to_string(),
            "too short to analyse (0.13 s; the analysis needs 2 s)"
        );
        assert_eq!(analyze(&tone(3.0, 0.0)).unwrap_err(), Unanalysable::Silent);
        assert_eq!(analyze(&tone(3.0, 5e-5)).unwrap_err(), Unanalysable::Silent);
        assert_eq!(analyze(&tone(4.0, 0.5)).unwrap_err(), Unanalysable::NoBeat);
        for t in [tone(0.13, 0.5), tone(3.0, 5e-5), tone(4.0, 0.5)] {
            assert_eq!(analyze_owned(t.clone()), analyze(&t));
        }
    }

    #[test]
    fn the_streamed_frames_give_the_stored_spectrogram_s_results() {
        // Noise bursts on a beat grid over a tone, louder in the second half (two sections).
        let rate = ANALYSIS_RATE;
        let mut state = 0x5eed_1234u32;
        let secs = 40.0;
        let mono: Vec<f32> = (0..(secs * rate as f64) as usize)
            .map(|i| {
                let t = i as f64 / rate as f64;
                let hit = (-(t % 0.5) * 30.0).exp() as f32;
                let noise = crate::test_uniform(&mut state) - 0.5;
                let tone = (std::f64::consts::TAU * 220.0 * t).sin() as f32;
                let gain = if t < 20.0 { 0.2 } else { 0.8 };
                gain * (hit * noise + 0.3 * tone)
            })
            .collect();
        let beats: Vec<f64> = (0..80).map(|b| 0.5 * b as f64).collect();
        let downbeats: Vec<f64> = beats.iter().copied().step_by(4).collect();
        let (curve, segments, frames) = spectral_frames(&mono, rate, secs, &downbeats);

        let fft = energy::fft_size_for(rate);
        let spec = Spectrogram::compute(&mono, rate, fft, fft / 2);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let stored_curve = energy::energy_curve_of(&spec, secs, ENERGY_HOP_SECS);
        assert_eq!(stored_curve.len(), 80);
        assert_eq!(bits(&curve), bits(&stored_curve));
        let stored_segments = structure::segment(&spec, &downbeats, secs);
        assert!(stored_segments.len() >= 2, "{stored_segments:?}");
        assert_eq!(segments.len(), stored_segments.len());
        for (a, b) in segments.iter().zip(&stored_segments) {
            assert_eq!(
                (a.start_bar, a.end_bar, a.label, a.level_db.to_bits()),
                (b.start_bar, b.end_bar, b.label, b.level_db.to_bits())
            );
        }
        let ranges: Vec<(f64, f64)> = segments
            .iter()
            .map(|g| {
                (
                    downbeats[g.start_bar],
                    downbeats.get(g.end_bar).copied().unwrap_or(secs),
                )
            })
            .collect();
        let dna = frames.unwrap().finish(&beats, &ranges);
        let stored_dna = dna::extract_with_spectrogram(&spec, &mono, &beats, &ranges);
        assert_eq!(dna.names, stored_dna.names);
        assert_eq!(bits(&dna.values), bits(&stored_dna.values));
    }
}
