//! `segue library`: scan folders into the library, list, show and search it, find similar
//! tracks, recommend the next one and import playlists as play history.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use segue_analysis::analyze_file;
use segue_analysis::music::Key;
use segue_library::{scan, Library, LibraryEntry, Query, ScanStage, StemFiles, TrackRef};

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

/// Where and how `segue library add --stems` writes stems.
pub struct StemsTo {
    /// The folder (default: `stems/` beside the library file).
    pub dir: Option<PathBuf>,
    /// The file format.
    pub format: crate::separate::StemFormat,
}

/// `segue library add DIR... [--stems]`
pub fn add(
    db: &Path,
    dirs: &[PathBuf],
    jobs: Option<usize>,
    quiet: bool,
    stems: Option<StemsTo>,
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
    match Library::open(db).and_then(|lib| segue_library::index::update(&lib)) {
        Ok(r) if r.changed() && !quiet => eprintln!(
            "similarity index: {} tracks ({})",
            r.tracks,
            r.rebuilt.map_or_else(
                || format!("{} added, {} removed", r.inserted, r.removed),
                |why| format!("built: {why}")
            )
        ),
        Ok(_) => {}
        Err(e) => eprintln!("segue: {e}"),
    }
    println!(
        "{} added, {} already analysed, {} moved, {} failed ({} with {} jobs)",
        report.added,
        report.skipped,
        report.moved,
        report.failed.len(),
        db.display(),
        jobs
    );
    let stems_ok = match stems {
        Some(to) => add_stems(db, dirs, &to, quiet)?,
        None => true,
    };
    Ok(if report.failed.is_empty() && stems_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `--stems`: separate every library track under `dirs` whose stems are not registered (or
/// whose files are gone) into `to`, and register them. A track that fails is reported and
/// the others go on; false if any failed.
fn add_stems(db: &Path, dirs: &[PathBuf], to: &StemsTo, quiet: bool) -> anyhow::Result<bool> {
    use crate::separate::{progress_bar, register, separate_to};
    use segue_separate::{DspSeparator, Stem};
    let lib = Library::open(db)?;
    let out = match &to.dir {
        Some(d) => d.clone(),
        None => db
            .parent()
            .map_or_else(|| PathBuf::from("stems"), |p| p.join("stems")),
    };
    let roots: Vec<PathBuf> = dirs
        .iter()
        .map(std::path::absolute)
        .collect::<std::io::Result<_>>()?;
    let mut have = 0;
    let todo: Vec<(PathBuf, String)> = lib
        .list()?
        .into_iter()
        .filter_map(|e| {
            let path = e
                .track
                .path
                .filter(|p| roots.iter().any(|r| p.starts_with(r)))?;
            if e.stems.as_ref().is_some_and(StemFiles::exist) {
                have += 1;
                return None;
            }
            Some((path, e.track.content_hash))
        })
        .collect();
    let (mut done, mut failed) = (0, 0);
    let mut sep = DspSeparator::default();
    for (i, (path, hash)) in todo.iter().enumerate() {
        let name = path
            .file_stem()
            .map_or_else(|| "track".into(), |s| s.to_string_lossy().into_owned());
        let folder = out.join(format!("{name}-{}", &hash[..hash.len().min(12)]));
        let paths = Stem::ALL.map(|s| folder.join(format!("{}.{}", s.name(), to.format.ext())));
        let bar = progress_bar(quiet, path);
        bar.set_prefix(format!("{}/{} ", i + 1, todo.len()));
        let result = separate_to(&mut sep, path, &paths, to.format, &bar)
            .and_then(|s| register(&lib, path, &paths, "dsp", &s));
        bar.finish_and_clear();
        match result {
            Ok(Some(_)) => done += 1,
            Ok(None) => {
                failed += 1;
                eprintln!("segue: {}: not in the library any more", path.display());
            }
            Err(e) => {
                failed += 1;
                eprintln!("segue: stems of {}: {e:#}", path.display());
            }
        }
    }
    println!(
        "stems: {done} separated, {have} already registered, {failed} failed (in {})",
        out.display()
    );
    Ok(failed == 0)
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
        if let Some(s) = &e.stems {
            println!(
                "  stems ({}{}): {}",
                s.separator,
                if s.exist() { "" } else { ", files missing" },
                s.files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
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

/// The filters of `segue library similar`.
pub struct SimilarFilter {
    pub bpm: Option<(f64, f64)>,
    pub key: Option<Key>,
    pub energy: Option<(u8, u8)>,
    pub mixable: bool,
}

/// One line of `similar` / `recommend` output.
#[derive(serde::Serialize)]
struct Hit {
    id: segue_library::TrackId,
    title: String,
    similarity: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    played_after: Option<u32>,
    bpm: Option<f64>,
    key: Option<String>,
    energy: Option<u8>,
    path: Option<PathBuf>,
}

fn hit(lib: &Library, id: segue_library::TrackId) -> anyhow::Result<Hit> {
    let e = lib.get(id)?;
    let a = e.as_ref().and_then(|e| e.analysis.as_ref());
    Ok(Hit {
        id,
        title: e
            .as_ref()
            .map(|e| e.track.title.clone())
            .unwrap_or_default(),
        similarity: None,
        score: None,
        played_after: None,
        bpm: a.map(|a| a.bpm),
        key: a.map(|a| a.camelot.clone()),
        energy: a.map(|a| a.energy),
        path: e.and_then(|e| e.track.path),
    })
}

fn print_hits(hits: &[Hit], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(hits)?);
        return Ok(());
    }
    println!(
        "{:>5}  {:>6}  {:>6}  {:>7}  {:<4} {:>3}  title",
        "id", "score", "timbre", "bpm", "key", "E"
    );
    for h in hits {
        println!(
            "{:>5}  {:>6}  {:>6}  {:>7}  {:<4} {:>3}  {}{}",
            h.id,
            h.score.map_or("—".into(), |s| format!("{s:.3}")),
            h.similarity.map_or("—".into(), |s| format!("{s:.3}")),
            h.bpm.map_or("—".into(), |b| format!("{b:.2}")),
            h.key.as_deref().unwrap_or("—"),
            h.energy.map_or("—".into(), |e| e.to_string()),
            h.title,
            match h.played_after {
                Some(0) | None => String::new(),
                Some(1) => "  · played after it once".into(),
                Some(k) => format!("  · played after it {k}×"),
            }
        );
    }
    Ok(())
}

/// `segue library similar ID|PATH|HASH|FILE`
pub fn similar(
    db: &Path,
    which: &str,
    n: usize,
    f: &SimilarFilter,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use segue_library::index::{Filter, SimilarityIndex};
    let lib = open(db)?;
    let (index, _) = SimilarityIndex::open(&lib)?;
    let known = lib.get(TrackRef::from_arg(which))?;
    // A track of the library, or a file analysed now.
    let (probe_id, analysis) = match known {
        Some(e) => {
            let Some(a) = e.analysis else {
                anyhow::bail!("track {which} is in the library but not analysed yet");
            };
            (Some(e.track.id), a)
        }
        None => {
            let path = Path::new(which);
            if !path.is_file() {
                anyhow::bail!("no track {which} in {} and no such file", db.display());
            }
            if !json {
                eprintln!("{} is not in the library: analysing it", path.display());
            }
            (None, analyze_file(path)?)
        }
    };
    let mut filter = Filter {
        bpm: f.bpm,
        key: f.key,
        energy: f.energy,
        ..Filter::default()
    };
    if f.mixable {
        filter = filter.bpm_around(analysis.bpm, 8.0);
        if let Ok(k) = analysis.camelot.parse::<Key>() {
            filter = filter.key(k);
        }
    }
    let found = match probe_id.filter(|id| index.contains(*id)) {
        Some(id) => index.similar(id, n, &filter)?,
        None => {
            if let Some(id) = probe_id {
                filter = filter.exclude(id);
            }
            index.similar(&analysis.dna, n, &filter)?
        }
    };
    let hits = found
        .into_iter()
        .map(|(id, s)| {
            let mut h = hit(&lib, id)?;
            h.similarity = Some(s);
            Ok(h)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    print_hits(&hits, json)?;
    Ok(ExitCode::SUCCESS)
}

/// `segue library recommend ID|PATH|HASH`
pub fn recommend(
    db: &Path,
    which: &str,
    n: usize,
    blend: f32,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use segue_library::graph::{self, TransitionGraph};
    use segue_library::index::{Filter, SimilarityIndex};
    let lib = open(db)?;
    let Some(e) = lib.get(TrackRef::from_arg(which))? else {
        anyhow::bail!("no track {which} in {}", db.display());
    };
    let (index, _) = SimilarityIndex::open(&lib)?;
    let g = TransitionGraph::load(&lib)?;
    let recs = graph::recommend(&g, &index, e.track.id, n, blend, &Filter::default())?;
    let hits = recs
        .into_iter()
        .map(|r| {
            let mut h = hit(&lib, r.track)?;
            h.similarity = r.similarity;
            h.score = Some(r.score);
            h.played_after = Some(r.played_after);
            Ok(h)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    print_hits(&hits, json)?;
    Ok(ExitCode::SUCCESS)
}

/// `segue library import FILE...`
pub fn import(db: &Path, files: &[PathBuf], json: bool) -> anyhow::Result<ExitCode> {
    let lib = open(db)?;
    let mut reports = Vec::new();
    for f in files {
        let r = segue_library::import::import(&lib, f)?;
        if !json {
            println!(
                "{}: {} playlists, {} of {} entries in the library, {} transitions",
                f.display(),
                r.playlists,
                r.matched,
                r.entries,
                r.transitions
            );
            for u in &r.unmatched {
                println!("  not in the library: {u}");
            }
        }
        reports.push(r);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    Ok(ExitCode::SUCCESS)
}
