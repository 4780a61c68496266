//! `segue analyze`: analyse files and print a summary, JSON, or a picture.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use segue_analysis::{
    analyze_file_with_info, Analysis, BpmRange, Cue, DecodedInfo, Section, SegueError,
};
use serde::Serialize;

/// One file's `--json` object (the keys are documented in the README). A file with nothing
/// to analyse in it (too short, silent, no beat) has `null` tempo and key and a `reason`;
/// `truncated` says when the file ends before its header's stated length.
#[derive(Serialize)]
struct Report<'a> {
    path: &'a Path,
    duration: f64,
    bpm: Option<f64>,
    beats: &'a [f64],
    downbeats: &'a [f64],
    key: Option<&'a str>,
    camelot: Option<&'a str>,
    open_key: Option<&'a str>,
    key_confidence: Option<f64>,
    /// The runner-up key when the key is unsure (confidence below 0.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    key_runner_up: Option<&'a str>,
    /// Beats per bar.
    beats_per_bar: Option<u32>,
    /// True when the groove is half-time at `bpm` (backbeat on 3).
    half_time: Option<bool>,
    lufs: Option<f64>,
    loudness_range: Option<f64>,
    true_peak_db: Option<f64>,
    energy: Option<u8>,
    sections: &'a [Section],
    cues: &'a [Cue],
    dna_version: Option<u32>,
    analyser_version: Option<u32>,
    seconds: f64,
    /// Why `bpm` (and the rest) is `null`, or why `key` is `null` ("no key found").
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    /// The decoder's note when the file ends before its header's stated length.
    #[serde(skip_serializing_if = "Option::is_none")]
    truncated: Option<String>,
}

/// What became of one file.
enum Outcome {
    Analysed(Box<Analysis>, DecodedInfo),
    /// Decoded, but nothing to analyse: the reason, the seconds of audio, the decoder's note.
    Unanalysable(String, f64, Option<String>),
}

/// Analyse `files`; with `bpm_range` each tempo is moved by octaves into it
/// ([`Analysis::with_bpm_range`]).
pub fn run(
    files: &[PathBuf],
    json: bool,
    plot: Option<&Path>,
    bpm_range: Option<BpmRange>,
) -> anyhow::Result<ExitCode> {
    let mut failed = 0;
    let mut done: Vec<(PathBuf, Outcome, f64)> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let t = Instant::now();
        match analyze_file_with_info(f) {
            Ok((a, info)) => {
                let a = match bpm_range {
                    Some(r) => a.with_bpm_range(r),
                    None => a,
                };
                let secs = t.elapsed().as_secs_f64();
                if !json {
                    print_summary(f, &a, secs);
                    if let Some(note) = info.truncation_note() {
                        println!("  note: {note}");
                    }
                }
                if let Some(p) = plot {
                    let out = plot_path(p, i, files.len());
                    match crate::plot::draw(f, &a, &out) {
                        Ok(()) => eprintln!("picture: {}", out.display()),
                        Err(e) => {
                            eprintln!(
                                "segue: {}: cannot draw {}: {e:#}",
                                f.display(),
                                out.display()
                            );
                            failed += 1;
                        }
                    }
                }
                done.push((f.clone(), Outcome::Analysed(Box::new(a), info), secs));
            }
            Err(SegueError::Unanalysable { reason, note, .. }) => {
                // Nothing could be analysed: said as such (and a failure exit), never zeros.
                failed += 1;
                let audio_secs = match reason {
                    segue_analysis::Unanalysable::TooShort { secs, .. } => secs,
                    _ => f64::NAN,
                };
                let text = reason.to_string();
                if json {
                    eprintln!("segue: {}: {text}", f.display());
                } else {
                    println!("{}", f.display());
                    println!("  {text}");
                    if let Some(n) = &note {
                        println!("  note: {n}");
                    }
                }
                let secs = t.elapsed().as_secs_f64();
                done.push((
                    f.clone(),
                    Outcome::Unanalysable(text, audio_secs, note),
                    secs,
                ));
            }
            Err(e) => {
                eprintln!("segue: {e}");
                failed += 1;
            }
        }
    }
    if json {
        let reports: Vec<Report> = done
            .iter()
            .map(|(p, o, secs)| report(p, o, *secs))
            .collect();
        let text = if files.len() == 1 && reports.len() == 1 {
            serde_json::to_string_pretty(&reports[0])?
        } else {
            serde_json::to_string_pretty(&reports)?
        };
        println!("{text}");
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn report<'a>(path: &'a Path, outcome: &'a Outcome, seconds: f64) -> Report<'a> {
    match outcome {
        Outcome::Analysed(a, info) => {
            let has_key = !a.key.is_empty();
            let key = |s: &'a str| has_key.then_some(s);
            Report {
                path,
                duration: a.duration,
                bpm: Some(a.bpm),
                beats: &a.beats,
                downbeats: &a.downbeats,
                key: key(&a.key),
                camelot: key(&a.camelot),
                open_key: key(&a.open_key),
                key_confidence: has_key.then_some(a.key_confidence),
                key_runner_up: a.key_runner_up.as_deref().filter(|_| has_key),
                beats_per_bar: Some(a.beats_per_bar),
                half_time: Some(a.half_time),
                lufs: Some(a.lufs),
                loudness_range: Some(a.loudness_range),
                true_peak_db: Some(a.true_peak_db),
                energy: Some(a.energy),
                sections: &a.sections,
                cues: &a.cues,
                dna_version: Some(a.dna_version),
                analyser_version: Some(a.analyser_version),
                seconds,
                reason: (!has_key).then(|| "no key found".to_string()),
                truncated: info.truncation_note(),
            }
        }
        Outcome::Unanalysable(reason, audio_secs, note) => Report {
            path,
            duration: *audio_secs,
            bpm: None,
            beats: &[],
            downbeats: &[],
            key: None,
            camelot: None,
            open_key: None,
            key_confidence: None,
            key_runner_up: None,
            beats_per_bar: None,
            half_time: None,
            lufs: None,
            loudness_range: None,
            true_peak_db: None,
            energy: None,
            sections: &[],
            cues: &[],
            dna_version: None,
            analyser_version: None,
            seconds,
            reason: Some(reason.clone()),
            truncated: note.clone(),
        },
    }
}

fn plot_path(p: &Path, i: usize, n: usize) -> PathBuf {
    if n <= 1 {
        return p.to_path_buf();
    }
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = p
        .extension()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "svg".into());
    p.with_file_name(format!("{stem}-{}.{ext}", i + 1))
}

fn print_summary(path: &Path, a: &Analysis, secs: f64) {
    println!("{}", path.display());
    let key = if a.key.is_empty() {
        "no key found".to_string()
    } else {
        format!(
            "{} ({} / {}, confidence {:.2}{})",
            a.key,
            a.camelot,
            a.open_key,
            a.key_confidence,
            a.key_runner_up
                .as_deref()
                .map_or(String::new(), |r| format!(", or {r}"))
        )
    };
    println!(
        "  {:.2} BPM{}{} · {key} · energy {}/10 · {:.1} LUFS, LRA {:.1} LU, true peak {:.1} dBTP",
        a.bpm,
        if a.constant_tempo { "" } else { " (variable)" },
        if a.half_time { " (half-time)" } else { "" },
        a.energy,
        a.lufs,
        a.loudness_range,
        a.true_peak_db
    );
    println!(
        "  {} beats, {} bars, first downbeat {}, length {}",
        a.beats.len(),
        a.downbeats.len(),
        a.downbeats.first().map_or("—".into(), |t| mmss(*t)),
        mmss(a.duration)
    );
    let sections: Vec<String> = a
        .sections
        .iter()
        .map(|s| format!("{} {} (E{})", mmss(s.start), s.label, s.energy))
        .collect();
    println!("  sections: {}", sections.join(", "));
    let cues: Vec<String> = a
        .cues
        .iter()
        .map(|c| format!("{} {}", mmss(c.time), c.name))
        .collect();
    println!("  cues: {}", cues.join(", "));
    println!("  analysed in {secs:.2} s");
}

pub fn mmss(secs: f64) -> String {
    format!("{}:{:05.2}", (secs / 60.0).floor() as u64, secs % 60.0)
}
