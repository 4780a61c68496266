//! `segue library`: scan folders into the library, list, show and search it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use segue_analysis::analyze_file;
use segue_analysis::music::Key;
use segue_library::{scan, Library, LibraryEntry, Query, ScanStage, TrackRef};

/// Where the library lives unless `--db` or `SEGUE_LIBRARY` says otherwise.
pub fn default_db() -> PathBuf {
    segue_library::default_path()
}

fn ensure_parent(db: &Path) -> anyhow::Result<()> {
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(())
}

/// `segue library add DIR...`
pub fn add(
    db: &Path,
    dirs: &[PathBuf],
    jobs: Option<usize>,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    ensure_parent(db)?;
    let jobs = jobs
        .unwrap_or_else(segue_library::worker::default_threads)
        .max(1);
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed_precise} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = scan(db, dirs, jobs, analyze_file, |e| {
        bar.set_length(e.total as u64);
        bar.set_position(e.done as u64);
        if let Some(p) = &e.path {
            bar.set_message(
                p.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
        }
        if let ScanStage::Failed(reason) = &e.stage {
            bar.suspend(|| eprintln!("segue: {reason}"));
        }
    })?;
    bar.finish_and_clear();
    println!(
        "{} added, {} already analysed, {} moved, {} failed ({} with {} jobs)",
        report.added,
        report.skipped,
        report.moved,
        report.failed.len(),
        db.display(),
        jobs
    );
    Ok(if report.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn open(db: &Path) -> anyhow::Result<Library> {
    if !db.exists() {
        anyhow::bail!(
            "no library at {} yet (run `segue library add DIR` first)",
            db.display()
        );
    }
    Ok(Library::open(db)?)
}

/// `segue library list|search`
pub fn list(db: &Path, query: Option<Query>, json: bool) -> anyhow::Result<ExitCode> {
    let lib = open(db)?;
    let entries = match &query {
        Some(q) => lib.search(q)?,
        None => lib.list()?,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else {
        println!(
            "{:>5}  {:>7}  {:<4} {:>3}  {:>6}  title",
            "id", "bpm", "key", "E", "length"
        );
        for e in &entries {
            print_row(e);
        }
        println!("{} tracks", entries.len());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_row(e: &LibraryEntry) {
    let (bpm, key, energy) =
        e.analysis
            .as_ref()
            .map_or(("—".into(), "—".into(), "—".into()), |a| {
                (
                    format!("{:.2}", a.bpm),
                    a.camelot.clone(),
                    a.energy.to_string(),
                )
            });
    println!(
        "{:>5}  {:>7}  {:<4} {:>3}  {:>6}  {}",
        e.track.id,
        bpm,
        key,
        energy,
        e.track.duration.map_or("—".into(), crate::analyze::mmss),
        e.track.title
    );
}

/// `segue library show ID|PATH|HASH`
pub fn show(db: &Path, which: &str, json: bool) -> anyhow::Result<ExitCode> {
    let lib = open(db)?;
    let Some(e) = lib.get(TrackRef::from_arg(which))? else {
        anyhow::bail!("no track {which} in {}", db.display());
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&e)?);
    } else {
        println!("{} — {}", e.track.id, e.track.title);
        if let Some(p) = &e.track.path {
            println!("  path: {}", p.display());
        }
        println!("  content hash: {}", e.track.content_hash);
        println!("  played {} times", e.play_count);
        match &e.analysis {
            Some(a) => {
                println!(
                    "  {:.2} BPM · {} ({} / {}) · energy {}/10 · {:.1} LUFS · analyser v{}",
                    a.bpm, a.key, a.camelot, a.open_key, a.energy, a.lufs, a.analyser_version
                );
                let s: Vec<String> = a
                    .sections
                    .iter()
                    .map(|s| format!("{} {}", crate::analyze::mmss(s.start), s.label))
                    .collect();
                println!("  sections: {}", s.join(", "));
                let c: Vec<String> = a
                    .cues
                    .iter()
                    .map(|c| format!("{} {}", crate::analyze::mmss(c.time), c.name))
                    .collect();
                println!("  cues: {}", c.join(", "));
            }
            None => println!("  not analysed"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Parse `120-130` (or a single value) into a range.
pub fn parse_range<T: std::str::FromStr + Copy>(s: &str) -> Result<(T, T), String> {
    let parse = |x: &str| {
        x.trim()
            .parse::<T>()
            .map_err(|_| format!("'{x}' is not a number"))
    };
    match s.split_once('-') {
        Some((a, b)) => Ok((parse(a)?, parse(b)?)),
        None => {
            let v = parse(s)?;
            Ok((v, v))
        }
    }
}

/// Parse a key given as Camelot ("8A"), Open Key ("1m") or name ("A minor").
pub fn parse_key(s: &str) -> Result<Key, String> {
    s.parse::<Key>()
        .map_err(|_| format!("'{s}' is not a key (try 8A, 1m or \"A minor\")"))
}
