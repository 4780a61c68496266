//! `segue library add DIR…`: walk folders, analyse what is new on worker threads, write each
//! result in its own transaction from one writer.
//!
//! Threads: the caller's thread walks the folders and then becomes the only writer; `jobs`
//! scoped worker threads take files from a shared counter, identify them through their own
//! read-only connection (hashing when needed) and run the analyser on the ones that need it.
//! Results travel to the writer over a channel. Progress callbacks run on the writer thread
//! only, in order.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use serde::Serialize;

use super::store::{identify, record_failure, relocate, write_analysis, Identity};
use super::{schema, Library};
use crate::SegueError;
use segue_analysis::Analysis;

/// File extensions the scan treats as audio (compared case-insensitively).
pub const AUDIO_EXTENSIONS: [&str; 9] = [
    "wav", "flac", "mp3", "ogg", "m4a", "aac", "alac", "aif", "aiff",
];

/// What just happened to a file, for [`ScanEvent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "stage", content = "reason")]
pub enum ScanStage {
    /// The walk finished: `total` audio files were found (`path` is `None`).
    Found,
    /// A worker started analysing `path`.
    Analysing,
    /// `path` was analysed and committed.
    Added,
    /// `path` already had an analysis by the current analyser (perhaps under another path:
    /// then its path was updated).
    Skipped,
    /// `path` could not be analysed, for this reason; the scan goes on.
    Failed(String),
    /// The scan is over (`path` is `None`).
    Finished,
}

/// One step of a scan, with the running totals a progress bar needs: set its length to
/// `total`, its position to `done`, its message to `path`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanEvent {
    /// What happened.
    #[serde(flatten)]
    pub stage: ScanStage,
    /// The file concerned, if any.
    pub path: Option<PathBuf>,
    /// Audio files found.
    pub total: usize,
    /// Files finished so far (added + skipped + failed).
    pub done: usize,
    /// Files analysed and committed so far.
    pub added: usize,
    /// Files already analysed so far.
    pub skipped: usize,
    /// Files failed so far.
    pub failed: usize,
}

/// What a scan did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScanReport {
    /// Files analysed and committed.
    pub added: usize,
    /// Files that already had an analysis by the current analyser.
    pub skipped: usize,
    /// Of the skipped, files recognised by content under a new path (their path updated).
    pub moved: usize,
    /// Files (or folders) that could not be read or analysed, with the reason.
    pub failed: Vec<(PathBuf, String)>,
}

/// A worker's word to the writer.
enum Message {
    Analysing(PathBuf),
    Known(Box<Identity>),
    Analysed(Box<Identity>, Box<Analysis>),
    Failed(PathBuf, String),
}

/// Scans `dirs` recursively into the library at `lib_path`: every audio file (see
/// [`AUDIO_EXTENSIONS`]) without an analysis by the current analyser is analysed with
/// `analyse` on `jobs` worker threads (at least one) and committed, one transaction per track.
///
/// A file that fails (unreadable, or `analyse` returns an error or panics) is reported in
/// [`ScanReport::failed`], remembered in the library ([`Library::failures`]) and retried by
/// the next scan; the others go on. Killing the process loses only the tracks not yet
/// committed: rerunning the scan skips the committed ones and analyses the rest. Symbolic
/// links are followed; a link back into a folder already walked is not walked twice.
///
/// `progress` is called on the calling thread, in order (see [`ScanEvent`]).
///
/// Errors: only when the library itself cannot be opened or written (the scan stops at the
/// first such error; what was committed stays).
pub fn scan(
    lib_path: &Path,
    dirs: &[PathBuf],
    jobs: usize,
    analyse: impl Fn(&Path) -> Result<Analysis, SegueError> + Sync,
    progress: impl Fn(ScanEvent) + Sync,
) -> Result<ScanReport, SegueError> {
    let mut lib = Library::open(lib_path)?;
    let mut report = ScanReport::default();
    let mut files = Vec::new();
    let mut seen_dirs = HashSet::new();
    for dir in dirs {
        walk(dir, &mut seen_dirs, &mut files, &mut report.failed);
    }
    let walk_failures = report.failed.len();
    let total = files.len();
    let mut event = ScanEvent {
        stage: ScanStage::Found,
        path: None,
        total,
        done: 0,
        added: 0,
        skipped: 0,
        failed: walk_failures,
    };
    progress(event.clone());

    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<Message>();
    let files = &files;
    let analyse = &analyse;
    let outcome = std::thread::scope(|s| -> Result<(), SegueError> {
        for _ in 0..jobs.max(1) {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            s.spawn(move || worker(lib_path, files, next, stop, analyse, tx));
        }
        drop(tx);
        let result = (|| {
            for message in &rx {
                let (stage, path) = match message {
                    Message::Analysing(path) => (ScanStage::Analysing, path),
                    Message::Known(ident) => {
                        if relocate(lib.conn_mut(), lib_path, &ident)? {
                            report.moved += 1;
                        }
                        report.skipped += 1;
                        (ScanStage::Skipped, ident.path)
                    }
                    Message::Analysed(ident, analysis) => {
                        write_analysis(lib.conn_mut(), lib_path, &ident, &analysis)?;
                        report.added += 1;
                        (ScanStage::Added, ident.path)
                    }
                    Message::Failed(path, reason) => {
                        record_failure(lib.conn_mut(), lib_path, &path, &reason)?;
                        report.failed.push((path.clone(), reason.clone()));
                        (ScanStage::Failed(reason), path)
                    }
                };
                if stage != ScanStage::Analysing {
                    event.done += 1;
                }
                event.added = report.added;
                event.skipped = report.skipped;
                event.failed = report.failed.len();
                event.stage = stage;
                event.path = Some(path);
                progress(event.clone());
            }
            Ok(())
        })();
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        drop(rx);
        result
    });
    outcome?;
    event.stage = ScanStage::Finished;
    event.path = None;
    progress(event);
    Ok(report)
}

/// One worker: take the next file, find out whether it needs analysis, analyse it.
fn worker(
    lib_path: &Path,
    files: &[PathBuf],
    next: &AtomicUsize,
    stop: &AtomicBool,
    analyse: &(impl Fn(&Path) -> Result<Analysis, SegueError> + Sync),
    tx: mpsc::Sender<Message>,
) {
    let conn = match schema::open_ro(lib_path) {
        Ok(conn) => conn,
        Err(e) => {
            // Cannot look anything up: fail every remaining file with the reason.
            while let Some(path) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                let _ = tx.send(Message::Failed(path.clone(), e.to_string()));
            }
            return;
        }
    };
    while !stop.load(Ordering::Relaxed) {
        let Some(path) = files.get(next.fetch_add(1, Ordering::Relaxed)) else {
            return;
        };
        let message = match identify(&conn, lib_path, path) {
            Err(e) => Message::Failed(path.clone(), e.to_string()),
            Ok(ident) if !ident.needs_analysis() => Message::Known(Box::new(ident)),
            Ok(ident) => {
                if tx.send(Message::Analysing(path.clone())).is_err() {
                    return;
                }
                match catch_unwind(AssertUnwindSafe(|| analyse(&ident.path))) {
                    Ok(Ok(analysis)) => Message::Analysed(Box::new(ident), Box::new(analysis)),
                    Ok(Err(e)) => Message::Failed(path.clone(), e.to_string()),
                    Err(panic) => Message::Failed(
                        path.clone(),
                        format!("the analyser crashed: {}", panic_text(&panic)),
                    ),
                }
            }
        };
        if tx.send(message).is_err() {
            return;
        }
    }
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}

/// True when `path` is a track: one of the [`AUDIO_EXTENSIONS`], and not one of the stems
/// lying beside a track (`name.drums.wav`, `.bass`, `.other`, `.vocals`).
pub fn is_track_file(path: &Path) -> bool {
    let audio = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(e)));
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.rsplit_once('.'))
        .is_some_and(|(_, part)| segue_engine::Stem::from_name(part).is_some());
    audio && !stem
}

/// Appends the audio files under `dir` (sorted within each folder) to `files` (`dir` itself
/// when it is a file); folders
/// already walked (by canonical path) are not walked again, which breaks symlink loops.
fn walk(
    dir: &Path,
    seen: &mut HashSet<PathBuf>,
    files: &mut Vec<PathBuf>,
    failed: &mut Vec<(PathBuf, String)>,
) {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    if std::fs::metadata(&dir).is_ok_and(|m| m.is_file()) {
        files.push(dir); // a file named on the command line is taken whatever its extension
        return;
    }
    match std::fs::canonicalize(&dir) {
        Ok(canonical) => {
            if !seen.insert(canonical) {
                return;
            }
        }
        Err(e) => {
            failed.push((dir, e.to_string()));
            return;
        }
    }
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) => {
            failed.push((dir, e.to_string()));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut subdirs = Vec::new();
    for path in paths {
        // Follows symlinks; a dangling link is skipped.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            subdirs.push(path);
        } else if meta.is_file() && is_track_file(&path) {
            files.push(path);
        }
    }
    for sub in subdirs {
        walk(&sub, seen, files, failed);
    }
}
