//! `segue mix`: an automixed set from files, a folder, the library or the built-in demo
//! tracks — order them, analyse what is not analysed yet, plan each transition, render the
//! set through the engine, write the audio, a cue sheet, the JSON plan and a PNG timeline,
//! and print the quality measured on what was rendered.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use segue_analysis::Analysis;
use segue_decode::wav::write_audio;
use segue_library::Library;
use segue_mix::compat::{EnergyFlow, Prefs, TrackFacts};
use segue_mix::plan::{PlanOptions, TARGET_LUFS};
use segue_mix::set::{mmss, plan_set, render_set, SetPlan, SetRender, SetTrack};

#[derive(Args, Debug)]
pub struct MixArgs {
    /// Audio files and folders (searched recursively), in play order for `--order given`.
    pub tracks: Vec<PathBuf>,
    /// Mix the built-in demo tracks (synthesised into `--demo-dir` if missing).
    #[arg(long)]
    pub demo: bool,
    /// Where the demo tracks are (made if missing).
    #[arg(long, default_value = "demo/tracks")]
    pub demo_dir: PathBuf,
    /// Take the tracks from the library, optionally only those whose title or path
    /// contains QUERY.
    #[arg(long, value_name = "QUERY", num_args = 0..=1, default_missing_value = "")]
    pub from_library: Option<String>,
    /// Library file (default: $SEGUE_LIBRARY or the XDG data directory); analyses are
    /// cached there. `off` analyses without a library.
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Longest set, e.g. `60m`, `90s`, `1h30m` (tracks are dropped from the end of the
    /// order until it fits).
    #[arg(long, value_parser = parse_length)]
    pub length: Option<f64>,
    /// Energy flow of the set.
    #[arg(long, default_value = "steady")]
    pub energy: EnergyFlow,
    /// `auto`: order by compatibility and energy flow; `given`: as listed.
    #[arg(long, default_value = "auto", value_parser = ["auto", "given"])]
    pub order: String,
    /// Pitch range for beat-matching, percent (further apart: loop-out).
    #[arg(long, default_value_t = 8.0)]
    pub pitch_range: f64,
    /// Allow key shifts of up to N semitones (with key lock) to make mixes harmonic.
    #[arg(long, default_value_t = 0)]
    pub key_shift: u8,
    /// Loudness every track is matched to, LUFS.
    #[arg(long, default_value_t = TARGET_LUFS, allow_negative_numbers = true)]
    pub target_lufs: f64,
    /// Sample rate of the set.
    #[arg(long, default_value_t = 48_000)]
    pub rate: u32,
    /// The set's audio (`.wav` or `.flac`, 16-bit; `.cue`, `.json` and `.png` are written
    /// beside it).
    #[arg(short, long, default_value = "set.wav")]
    pub out: PathBuf,
}

/// `60m`, `90s`, `1h30m`, `45` (minutes) → seconds.
fn parse_length(s: &str) -> Result<f64, String> {
    let mut total = 0.0;
    let mut num = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let v: f64 = num.parse().map_err(|_| format!("length `{s}`: e.g. 60m"))?;
        num.clear();
        total += v * match c {
            'h' => 3600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => return Err(format!("length `{s}`: units are h, m and s")),
        };
    }
    if !num.is_empty() {
        total += num.parse::<f64>().map_err(|_| format!("length `{s}`"))? * 60.0;
    }
    if total <= 0.0 {
        return Err(format!("length `{s}` is not positive"));
    }
    Ok(total)
}

/// The output formats `-o` takes, checked before any work.
fn check_audio_out(out: &Path) -> anyhow::Result<()> {
    match out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
    {
        Some(e) if e == "wav" || e == "flac" => Ok(()),
        _ => anyhow::bail!("{}: write the audio as .wav or .flac", out.display()),
    }
}

pub fn run(a: &MixArgs) -> anyhow::Result<ExitCode> {
    check_audio_out(&a.out)?;
    let t0 = Instant::now();
    let mut files = Vec::new();
    if a.demo {
        files.extend(demo_files(&a.demo_dir)?);
    }
    for p in &a.tracks {
        collect(p, &mut files);
    }
    let mut library = open_library(a.db.as_deref());
    if let Some(query) = &a.from_library {
        let lib = library
            .as_ref()
            .context("--from-library needs a library (--db FILE)")?;
        let q = query.to_lowercase();
        for e in lib.list()? {
            let Some(path) = e.track.path.clone() else {
                continue;
            };
            let text = format!("{} {}", e.track.title, path.display()).to_lowercase();
            if q.is_empty() || text.contains(&q) {
                files.push(path);
            }
        }
    }
    if files.is_empty() {
        anyhow::bail!("no tracks: give files or folders, --from-library or --demo");
    }

    // Decode each file once and analyse what the library does not know yet.
    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut tracks = Vec::new();
    let mut analysed = 0;
    for path in &files {
        bar.set_message(
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        );
        match prepare(path, a.rate, library.as_mut()) {
            Ok((t, fresh)) => {
                analysed += fresh as usize;
                tracks.push(t);
            }
            Err(e) => bar.suspend(|| eprintln!("skipped {}: {e}", path.display())),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if tracks.is_empty() {
        anyhow::bail!("none of the {} files could be used", files.len());
    }
    println!(
        "{} tracks ({} analysed now, {} from the library) in {:.1} s",
        tracks.len(),
        analysed,
        tracks.len() - analysed,
        t0.elapsed().as_secs_f64()
    );

    let prefs = Prefs {
        pitch_range: a.pitch_range,
        max_key_shift: a.key_shift,
        flow: a.energy,
    };
    if a.order == "auto" {
        let facts: Vec<TrackFacts> = tracks.iter().map(|t| TrackFacts::of(&t.analysis)).collect();
        let order = segue_mix::order::order(&facts, a.energy, &prefs, &|_, _| 0);
        let mut slots: Vec<Option<SetTrack>> = tracks.into_iter().map(Some).collect();
        tracks = order.iter().filter_map(|&i| slots[i].take()).collect();
    }
    let options = PlanOptions {
        prefs,
        target_lufs: a.target_lufs,
        ..PlanOptions::default()
    };
    let mut plan = plan_set(&tracks, &options);
    if let Some(max) = a.length {
        while tracks.len() > 1 && estimated_length(&tracks, &plan) > max {
            tracks.pop();
            plan = plan_set(&tracks, &options);
        }
    }
    for (i, t) in tracks.iter().enumerate() {
        println!(
            "  {:>2}. {:<28} {:>7.2} BPM  {:<3} energy {:>2}  {:>6.1} LUFS",
            i + 1,
            t.name,
            t.analysis.bpm,
            t.analysis.camelot,
            t.analysis.energy,
            t.analysis.lufs
        );
        if let Some(p) = plan.transitions.get(i) {
            println!("      ↳ {}  [{}]", p.compat.line, p.reason);
        }
    }

    let render = render_set(&tracks, &plan)?;
    write_outputs(&a.out, &tracks, &plan, &render)?;
    let q = &render.quality;
    println!(
        "Rendered {} in {:.1} s ({:.0}× real time): {}",
        mmss(q.duration),
        render.render_secs,
        q.duration / render.render_secs.max(1e-9),
        a.out.display()
    );
    println!("{}", q.summary());
    let failures = q.failures();
    if failures.is_empty() {
        println!("Every quality target is met.");
    } else {
        println!("Quality targets missed: {}", failures.join("; "));
    }
    let stem = a.out.with_extension("");
    println!(
        "Wrote {}, {}.cue, {}.json, {}.png (total {:.1} s)",
        a.out.display(),
        stem.display(),
        stem.display(),
        stem.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// The demo tracks' audio files (synthesised first if missing). Their ground truth is not
/// read: the set is planned from Segue's own analysis.
fn demo_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let set = segue_demo::demo_set();
    let files: Vec<PathBuf> = set
        .iter()
        .map(|s| dir.join(format!("{}.wav", s.name)))
        .collect();
    if files.iter().any(|f| !f.exists()) {
        println!(
            "Synthesising {} demo tracks into {} ...",
            set.len(),
            dir.display()
        );
        segue_demo::write_demo_set(dir, segue_demo::DEFAULT_SAMPLE_RATE)?;
    }
    Ok(files)
}

/// Files under `p` (recursively, sorted), or `p` itself. Stem files beside a track
/// (`name.vocals.wav`) are not tracks.
fn collect(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                collect(&e, out);
            } else if segue_library::is_track_file(&e) {
                out.push(e);
            }
        }
    } else {
        out.push(p.to_path_buf());
    }
}

fn open_library(db: Option<&Path>) -> Option<Library> {
    let path = match db {
        Some(p) if p.as_os_str() == "off" => return None,
        Some(p) => p.to_path_buf(),
        None => segue_library::default_path(),
    };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match Library::open(&path) {
        Ok(l) => Some(l),
        Err(e) => {
            eprintln!("segue: no library cache ({e}); analysing every track");
            None
        }
    }
}

/// Decode `path` once (with stems beside it), take its analysis from the library or make
/// it (and store it). Returns the track and whether it was analysed now.
fn prepare(path: &Path, rate: u32, lib: Option<&mut Library>) -> anyhow::Result<(SetTrack, bool)> {
    let audio = segue_library::decks::decode_for_deck(path, rate).map_err(anyhow::Error::msg)?;
    let cached: Option<Analysis> = lib.as_ref().and_then(|l| {
        if l.needs_analysis(path).unwrap_or(true) {
            None
        } else {
            l.get(path).ok().flatten().and_then(|e| e.analysis)
        }
    });
    let (analysis, fresh) = match cached {
        Some(a) => (a, false),
        None => {
            let a = segue_library::decks::analyse_decoded(&audio.native, path)?;
            if let Some(l) = lib {
                if let Err(e) = l.add_analysis(path, &a) {
                    eprintln!("segue: {}: not cached in the library: {e}", path.display());
                }
            }
            (a, true)
        }
    };
    let name = path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    Ok((SetTrack::new(name, analysis, audio.deck)?, fresh))
}

/// The set's length if performed as planned, seconds.
fn estimated_length(tracks: &[SetTrack], plan: &SetPlan) -> f64 {
    let mut total = 0.0;
    let mut from_beat = 0.0;
    for (i, t) in tracks.iter().enumerate() {
        let beat = 60.0 / t.analysis.bpm.max(1.0);
        let end = plan.transitions.get(i).map_or(t.analysis.duration, |p| {
            t.analysis.beats.first().copied().unwrap_or(0.0) + p.end_beat * beat
        });
        let start = t.analysis.beats.first().copied().unwrap_or(0.0) + from_beat * beat;
        total += (end - start).max(0.0);
        if let Some(p) = plan.transitions.get(i) {
            total -= (p.end_beat - p.in_start_beat) * beat;
            from_beat = p.in_beat;
        }
    }
    total
}

fn write_outputs(
    out: &Path,
    tracks: &[SetTrack],
    plan: &SetPlan,
    render: &SetRender,
) -> anyhow::Result<()> {
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_audio(out, render.sample_rate, &render.master)?;
    let stem = out.with_extension("");
    let file_name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    std::fs::write(
        stem.with_extension("cue"),
        cue_sheet(&file_name, tracks, render),
    )?;
    let json = serde_json::json!({
        "plan": plan,
        "quality": render.quality,
        "tracks": render.tracks,
    });
    std::fs::write(
        stem.with_extension("json"),
        serde_json::to_string_pretty(&json)?,
    )?;
    crate::plot::draw_set(&stem.with_extension("png"), tracks, plan, render)?;
    Ok(())
}

/// A cue sheet: one TRACK per track at the moment it starts playing.
fn cue_sheet(file: &str, tracks: &[SetTrack], render: &SetRender) -> String {
    let mut s = format!("TITLE \"Segue set\"\nPERFORMER \"Segue\"\nFILE \"{file}\" WAVE\n");
    for (i, (t, span)) in tracks.iter().zip(&render.tracks).enumerate() {
        let frames = (span.start * 75.0).round() as u64;
        s.push_str(&format!(
            "  TRACK {:02} AUDIO\n    TITLE \"{}\"\n    PERFORMER \"Segue\"\n    REM BPM {:.2}\n    REM KEY {}\n    INDEX 01 {:02}:{:02}:{:02}\n",
            i + 1,
            t.name.replace('"', "'"),
            t.analysis.bpm,
            t.analysis.camelot,
            frames / 75 / 60,
            frames / 75 % 60,
            frames % 75
        ));
    }
    s
}

#[derive(Args, Debug)]
pub struct MashupArgs {
    /// The track whose vocals are heard.
    pub vocals: PathBuf,
    /// The track whose instrumental (drums, bass, other) carries them.
    pub instrumental: PathBuf,
    /// Library file for cached analyses (`off`: analyse without one).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// Sample rate.
    #[arg(long, default_value_t = 48_000)]
    pub rate: u32,
    /// The mashup's audio (a `.json` plan is written beside it).
    #[arg(short, long, default_value = "mashup.wav")]
    pub out: PathBuf,
    /// Use only stems beside the files (`NAME.{drums,bass,other,vocals}.wav`, as `segue
    /// separate` writes them): a track without them is an error instead of being separated
    /// with the DSP separator.
    #[arg(long)]
    pub no_separate: bool,
}

/// `t` with stems: its own (from beside the file), or, unless `no_separate`, the DSP
/// separator's (said on stderr; they are not written to disk — `segue separate` does that).
fn with_stems(t: SetTrack, no_separate: bool) -> anyhow::Result<SetTrack> {
    if t.audio.stems.is_some() || no_separate {
        return Ok(t);
    }
    eprintln!(
        "segue: {}: no stems beside the file; separating it with the DSP separator",
        t.name
    );
    let mut sep = segue_separate::DspSeparator::default();
    let audio = segue_separate::separate_track(&mut sep, (*t.audio).clone())
        .with_context(|| format!("{}: separation failed", t.name))?;
    Ok(SetTrack::new(
        t.name,
        t.analysis,
        std::sync::Arc::new(audio),
    )?)
}

/// `segue mashup A B`.
pub fn mashup(a: &MashupArgs) -> anyhow::Result<ExitCode> {
    check_audio_out(&a.out)?;
    let mut library = open_library(a.db.as_deref());
    let (va, _) = prepare(&a.vocals, a.rate, library.as_mut())?;
    let (ib, _) = prepare(&a.instrumental, a.rate, library.as_mut())?;
    let va = with_stems(va, a.no_separate)?;
    let ib = with_stems(ib, a.no_separate)?;
    let (audio, plan) = segue_mix::mashup::render_mashup(&va, &ib)?;
    if let Some(dir) = a.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    write_audio(&a.out, a.rate, &audio)?;
    std::fs::write(
        a.out.with_extension("json"),
        serde_json::to_string_pretty(&plan)?,
    )?;
    println!(
        "Vocals of {} ({}) over {} ({}, {:.2} BPM): key shift {:+} semitones, its bar at beat {} \
         on B's beat {}. Wrote {} ({}) and its plan.",
        plan.vocals_from,
        plan.keys.0,
        plan.instrumental_from,
        plan.keys.1,
        plan.bpm,
        plan.key_shift,
        plan.vocals_beat,
        plan.entry_beat,
        a.out.display(),
        mmss(audio.len() as f64 / a.rate as f64)
    );
    Ok(ExitCode::SUCCESS)
}
