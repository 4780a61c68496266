//! `segue demo`: synthesise the demo tracks if needed, then render a beat-matched two-deck
//! transition between the two demo tracks closest in tempo.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use segue_decode::wav::{write_wav, WavFormat};
use segue_demo::{self as demo, GroundTruth, SectionLabel};
use segue_engine::Beatgrid;
use segue_mix::{self as mixdown, DeckTrack, Transition};

pub struct Options {
    pub generate: bool,
    pub generate_only: bool,
    pub tracks: PathBuf,
    pub out: PathBuf,
    pub rate: u32,
}

pub fn run(o: &Options) -> anyhow::Result<ExitCode> {
    let set = demo::demo_set();
    let missing = set.iter().any(|s| {
        !o.tracks.join(format!("{}.json", s.name)).exists()
            || !o.tracks.join(format!("{}.wav", s.name)).exists()
    });
    if o.generate || missing {
        println!(
            "Synthesising {} demo tracks into {} ...",
            set.len(),
            o.tracks.display()
        );
        demo::write_demo_set(&o.tracks, demo::DEFAULT_SAMPLE_RATE)?;
    }
    let truths = set
        .iter()
        .map(|s| demo::load_truth(&o.tracks.join(format!("{}.json", s.name))))
        .collect::<Result<Vec<_>, _>>()?;
    for t in &truths {
        println!(
            "  {:<24} {:>7.2} BPM  {:<9} {:<3}  {:>5.1} s  {}",
            t.name,
            t.bpm,
            t.key,
            t.camelot,
            t.duration,
            t.sections
                .iter()
                .map(|s| s.label.name())
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if o.generate_only {
        return Ok(ExitCode::SUCCESS);
    }

    let (a, b) = closest_pair(&truths).context("the demo set needs two tracks")?;
    let (ta, tb) = (&truths[a], &truths[b]);
    let deck_a = load(&o.tracks, ta, o.rate)?;
    let deck_b = load(&o.tracks, tb, o.rate)?;
    let transition = plan(ta, tb);
    println!(
        "Deck A: {} ({:.2} BPM, {} / {}); deck B: {} ({:.2} BPM, {} / {})",
        ta.name, ta.bpm, ta.key, ta.camelot, tb.name, tb.bpm, tb.key, tb.camelot
    );
    let (mix, report) = mixdown::render_transition(&deck_a, &deck_b, &transition, o.rate)?;
    if let Some(dir) = o.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_wav(&o.out, o.rate, &mix.master, WavFormat::Pcm16)?;
    println!(
        "B enters on A's beat {} at {}, synced to {:.2} BPM (rate {:.4}, key lock on), \
         blends over {} bars with a bass swap halfway; A stops at {}.",
        transition.a_out_beat,
        mmss(report.blend_start_secs),
        report.bpm,
        report.b_rate,
        transition.bars,
        mmss(report.blend_end_secs)
    );
    println!(
        "Wrote {} ({}, {} Hz, 16-bit stereo, peak {:.1} dBFS): rendered in {:.2} s, {:.0}× real time.",
        o.out.display(),
        mmss(report.duration_secs),
        o.rate,
        20.0 * report.peak.max(1e-9).log10(),
        report.render_secs,
        report.duration_secs / report.render_secs.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}

/// The two tracks closest in tempo (ties: set order).
fn closest_pair(truths: &[GroundTruth]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize, f64)> = None;
    for i in 0..truths.len() {
        for j in 0..truths.len() {
            let d = (truths[i].bpm - truths[j].bpm).abs();
            if i != j && truths[i].bpm <= truths[j].bpm && best.is_none_or(|(_, _, b)| d < b) {
                best = Some((i, j, d));
            }
        }
    }
    best.map(|(i, j, _)| (i, j))
}

/// Decode a demo track from its file (the real decode path) with its ground-truth grid.
fn load(dir: &Path, truth: &GroundTruth, rate: u32) -> anyhow::Result<DeckTrack> {
    let path = dir.join(format!("{}.wav", truth.name));
    let mut audio = segue_decode::decode_file(&path, rate)?;
    let stems =
        segue_engine::Stem::ALL.map(|s| dir.join(format!("{}.{}.wav", truth.name, s.name())));
    if stems.iter().all(|p| p.exists()) {
        let decoded = stems
            .iter()
            .map(|p| segue_decode::decode_file(p, rate).map(|t| t.mix))
            .collect::<Result<Vec<_>, _>>()?;
        let stems: [Vec<[f32; 2]>; 4] = decoded
            .try_into()
            .map_err(|_| anyhow::anyhow!("four stems expected"))?;
        audio = audio
            .with_stems(stems)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    let scale = rate as f64;
    let beats = truth.beats.iter().map(|t| t * scale).collect();
    let first_down = truth
        .beats
        .iter()
        .position(|&b| (b - truth.first_downbeat).abs() < 1e-6)
        .unwrap_or(0);
    let grid = Beatgrid::new(beats, first_down, truth.beats_per_bar)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(DeckTrack {
        name: truth.name.clone(),
        audio: Arc::new(audio),
        grid: Arc::new(grid),
    })
}

/// The blend (8 to 16 bars: as long as A's outro) starts at A's outro, or earlier if the
/// outro is shorter, so A's music lasts the whole blend; B comes in on its first downbeat.
fn plan(a: &GroundTruth, b: &GroundTruth) -> Transition {
    let beat_of =
        |t: &GroundTruth, secs: f64| t.beats.iter().position(|&x| (x - secs).abs() < 1e-6);
    let bpb = a.beats_per_bar as usize;
    let outro = a
        .sections
        .iter()
        .rev()
        .find(|s| s.label == SectionLabel::Outro);
    let outro_bars = outro.map_or(0, |s| {
        ((s.end - s.start) * a.bpm / 60.0 / bpb as f64).round() as usize
    });
    let bars = outro_bars.clamp(8, 16);
    let last_fit = a.beats.len().saturating_sub(bars * bpb);
    let a_out = outro
        .and_then(|s| beat_of(a, s.start))
        .map_or(last_fit, |i| i.min(last_fit));
    let b_in = beat_of(b, b.first_downbeat).unwrap_or(0);
    Transition {
        a_out_beat: a_out as f64,
        b_in_beat: b_in as f64,
        bars: bars as u32,
    }
}

fn mmss(secs: f64) -> String {
    format!("{}:{:04.1}", (secs / 60.0).floor() as u64, secs % 60.0)
}
