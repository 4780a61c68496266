//! `segue analyze`: analyse files and print a summary, JSON, or a picture.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use segue_analysis::{analyze_file, Analysis, Cue, Section};
use serde::Serialize;

/// One file's `--json` object (the keys are documented in the README).
#[derive(Serialize)]
struct Report<'a> {
    path: &'a Path,
    duration: f64,
    bpm: f64,
    beats: &'a [f64],
    downbeats: &'a [f64],
    key: &'a str,
    camelot: &'a str,
    open_key: &'a str,
    key_confidence: f64,
    lufs: f64,
    loudness_range: f64,
    true_peak_db: f64,
    energy: u8,
    sections: &'a [Section],
    cues: &'a [Cue],
    dna_version: u32,
    analyser_version: u32,
    seconds: f64,
}

pub fn run(files: &[PathBuf], json: bool, plot: Option<&Path>) -> anyhow::Result<ExitCode> {
    let mut failed = 0;
    let mut done: Vec<(PathBuf, Analysis, f64)> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let t = Instant::now();
        match analyze_file(f) {
            Ok(a) => {
                let secs = t.elapsed().as_secs_f64();
                if !json {
                    print_summary(f, &a, secs);
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
                done.push((f.clone(), a, secs));
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
            .map(|(p, a, secs)| Report {
                path: p,
                duration: a.duration,
                bpm: a.bpm,
                beats: &a.beats,
                downbeats: &a.downbeats,
                key: &a.key,
                camelot: &a.camelot,
                open_key: &a.open_key,
                key_confidence: a.key_confidence,
                lufs: a.lufs,
                loudness_range: a.loudness_range,
                true_peak_db: a.true_peak_db,
                energy: a.energy,
                sections: &a.sections,
                cues: &a.cues,
                dna_version: a.dna_version,
                analyser_version: a.analyser_version,
                seconds: *secs,
            })
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
    println!(
        "  {:.2} BPM{} · {} ({} / {}, confidence {:.2}) · energy {}/10 · {:.1} LUFS, LRA {:.1} LU, true peak {:.1} dBTP",
        a.bpm,
        if a.constant_tempo { "" } else { " (variable)" },
        a.key,
        a.camelot,
        a.open_key,
        a.key_confidence,
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
