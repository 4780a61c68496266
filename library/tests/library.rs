//! Behaviour of `segue_library`: real SQLite files in a scratch folder, a stand-in
//! analyser (the test double is the *analysis*, never the database).
//!
//! The "audio" files here are small text files `bpm camelot energy [BAD|PANIC]`: the
//! stand-in analyser reads them back into an `Analysis`, fails on `BAD` and panics on
//! `PANIC`. The crash test runs this test binary again as a child process
//! (`child_scan`, guarded by `SEGUE_LIB_CHILD`), kills it with SIGKILL in the middle of a
//! scan and checks what is left.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use segue_analysis::music::Key;
use segue_analysis::{Analysis, Cue, Section, ANALYSER_VERSION};
use segue_decode::SegueError;
use segue_library::{
    content_hash, scan, Library, Query, ScanEvent, ScanStage, TrackRef, SCHEMA_VERSION,
};

// --- scratch folders and material -------------------------------------------------------------

/// A fresh folder under the system temp dir, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("segue-library-{}-{test}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn db(&self) -> PathBuf {
        self.path("library.db")
    }

    /// Writes a stand-in track file (creating folders) and returns its path.
    fn track(&self, name: &str, bpm: f64, camelot: &str, energy: u8) -> PathBuf {
        let path = self.path(name);
        write(&path, &format!("{bpm} {camelot} {energy}"));
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A synthetic analysis record.
fn analysis(bpm: f64, camelot: &str, energy: u8) -> Analysis {
    let key: Key = camelot.parse().unwrap();
    Analysis {
        duration: 180.0,
        bpm,
        beats: vec![0.5, 1.0, 1.5],
        downbeats: vec![0.5],
        beats_per_bar: 4,
        constant_tempo: true,
        half_time: false,
        key: key.name(),
        camelot: key.camelot(),
        open_key: key.open_key(),
        key_confidence: 0.9,
        key_runner_up: None,
        lufs: -9.5,
        loudness_range: 6.0,
        true_peak_db: -0.8,
        energy,
        sections: vec![Section {
            start: 0.5,
            end: 180.0,
            label: segue_analysis::SectionLabel::Drop,
            energy,
        }],
        cues: vec![Cue {
            time: 0.5,
            name: "first downbeat".into(),
        }],
        analyser_version: ANALYSER_VERSION,
        dna_version: 1,
        dna: Vec::new(),
    }
}

/// The stand-in analyser: reads `bpm camelot energy [BAD|PANIC]` back from the file.
fn fake_analyse(path: &Path) -> Result<Analysis, SegueError> {
    let text = std::fs::read_to_string(path).map_err(|e| SegueError::io(path, e))?;
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.get(3) == Some(&"BAD") {
        return Err(SegueError::Corrupt {
            path: path.to_path_buf(),
            reason: "stand-in bad file".into(),
        });
    }
    if words.get(3) == Some(&"PANIC") {
        panic!("stand-in analyser panic");
    }
    let bpm = words[0].parse().unwrap();
    let energy = words[2].parse().unwrap();
    Ok(analysis(bpm, words[1], energy))
}

fn titles(entries: &[segue_library::LibraryEntry]) -> Vec<String> {
    entries.iter().map(|e| e.track.title.clone()).collect()
}

fn read_only(db: &Path) -> Connection {
    Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap()
}

fn pragma_text(conn: &Connection, pragma: &str) -> String {
    conn.query_row(&format!("PRAGMA {pragma}"), [], |r| r.get(0))
        .unwrap()
}

// --- opening and migrations -------------------------------------------------------------------

#[test]
fn fresh_library_is_at_schema_version_3_in_wal_mode() {
    let s = Scratch::new("fresh");
    let lib = Library::open(&s.db()).unwrap();
    assert_eq!(SCHEMA_VERSION, 3);
    let conn = read_only(&s.db());
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(pragma_text(&conn, "journal_mode"), "wal");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        tables,
        [
            "analyses",
            "dna_vectors",
            "index_changes",
            "play_history",
            "scan_state",
            "sessions",
            "sqlite_sequence",
            "stems",
            "tracks",
            "transitions"
        ]
    );
    assert_eq!(lib.check().unwrap(), "ok");
    assert!(lib.list().unwrap().is_empty());
}

#[test]
fn stems_are_registered_listed_replaced_and_go_with_their_track() {
    let s = Scratch::new("stems");
    let a = s.track("a.flac", 124.0, "8A", 7);
    let b = s.track("b.flac", 125.0, "9A", 6);
    let mut lib = Library::open(&s.db()).unwrap();
    let ida = lib.add_analysis(&a, &analysis(124.0, "8A", 7)).unwrap();
    let idb = lib.add_analysis(&b, &analysis(125.0, "9A", 6)).unwrap();
    let files = ["d", "b", "o", "v"].map(|n| s.path(&format!("stems/{n}.wav")));
    let stems = segue_library::StemFiles {
        files: files.clone(),
        separator: "dsp".into(),
        sample_rate: 44_100,
        frames: 1234,
        separated_at: 0,
    };
    assert_eq!(lib.stems(ida).unwrap(), None);
    lib.set_stems(ida, &stems).unwrap();
    let got = lib.stems(ida).unwrap().unwrap();
    assert_eq!(got.files, files);
    assert_eq!((got.sample_rate, got.frames), (44_100, 1234));
    assert!(got.separated_at > 0);
    assert!(!got.exist(), "the files were never written");
    assert_eq!(lib.stems_at(&a).unwrap().unwrap().files, files);
    assert_eq!(lib.stems_at(&b).unwrap(), None);
    // In `get`/`list` (and their JSON); a track without stems has no "stems" key.
    assert_eq!(lib.get(ida).unwrap().unwrap().stems.unwrap().files, files);
    let listed = lib.list().unwrap();
    assert!(listed
        .iter()
        .any(|e| e.track.id == idb && e.stems.is_none()));
    let json = serde_json::to_value(lib.get(idb).unwrap().unwrap()).unwrap();
    assert!(json.get("stems").is_none());
    // Replaced, then gone with the track; an unknown track is an error naming it.
    let onnx = segue_library::StemFiles {
        separator: "onnx".into(),
        ..stems.clone()
    };
    lib.set_stems(ida, &onnx).unwrap();
    assert_eq!(lib.stems(ida).unwrap().unwrap().separator, "onnx");
    assert!(lib.remove(ida).unwrap());
    assert_eq!(lib.stems(ida).unwrap(), None);
    let err = lib.set_stems(ida, &stems).unwrap_err().to_string();
    assert!(err.contains(&format!("no track with id {ida}")), "{err}");
    assert!(lib.set_stems(idb, &stems).is_ok());
    assert!(lib.remove_stems(idb).unwrap());
    assert!(!lib.remove_stems(idb).unwrap());
}

#[test]
fn reopening_is_a_no_op() {
    let s = Scratch::new("reopen");
    let a = s.track("a.flac", 124.0, "8A", 7);
    let id = {
        let mut lib = Library::open(&s.db()).unwrap();
        lib.add_analysis(&a, &analysis(124.0, "8A", 7)).unwrap()
    };
    let lib = Library::open(&s.db()).unwrap();
    let lib2 = Library::open(&s.db()).unwrap();
    let version: u32 = read_only(&s.db())
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(lib.list().unwrap().len(), 1);
    assert_eq!(lib2.get(id).unwrap().unwrap().track.id, id);
}

#[test]
fn a_library_from_a_newer_segue_is_refused() {
    let s = Scratch::new("newer");
    drop(Library::open(&s.db()).unwrap());
    Connection::open(s.db())
        .unwrap()
        .execute_batch(&format!("PRAGMA user_version = {}", SCHEMA_VERSION + 1))
        .unwrap();
    let err = Library::open(&s.db()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, SegueError::Library { .. }), "{err:?}");
    assert!(text.contains("newer Segue"), "{text}");
    assert!(text.contains(&s.db().display().to_string()), "{text}");
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_error() {
    let s = Scratch::new("notdb");
    write(&s.db(), &"this is not SQLite ".repeat(100));
    let err = Library::open(&s.db()).unwrap_err();
    assert!(matches!(err, SegueError::Library { .. }), "{err:?}");
    assert!(err.to_string().contains("library.db"), "{err}");
}

// --- tracks ------------------------------------------------------------------------------------

#[test]
fn added_tracks_are_found_by_id_path_and_hash_and_listed() {
    let s = Scratch::new("add");
    let mut lib = Library::open(&s.db()).unwrap();
    let a = s.track("b/Alpha.flac", 124.0, "8A", 7);
    let b = s.track("a/beta.mp3", 174.0, "3B", 9);
    let ia = lib.add_analysis(&a, &analysis(124.0, "8A", 7)).unwrap();
    let ib = lib.add_analysis(&b, &analysis(174.0, "3B", 9)).unwrap();
    assert_ne!(ia, ib);

    let by_id = lib.get(ia).unwrap().unwrap();
    assert_eq!(by_id.track.title, "Alpha");
    assert_eq!(by_id.track.path.as_deref(), Some(a.as_path()));
    assert_eq!(by_id.track.content_hash, content_hash(&a).unwrap());
    assert_eq!(by_id.track.duration, Some(180.0));
    assert_eq!(by_id.analysis, Some(analysis(124.0, "8A", 7)));
    assert_eq!(lib.get(&a).unwrap().unwrap(), by_id);
    let hash = by_id.track.content_hash.to_uppercase();
    assert_eq!(lib.get(TrackRef::Hash(&hash)).unwrap().unwrap(), by_id);
    assert_eq!(
        lib.get(TrackRef::from_arg(&ib.to_string()))
            .unwrap()
            .unwrap()
            .track
            .id,
        ib
    );
    assert!(lib.get(9999).unwrap().is_none());
    assert!(lib.get(&s.path("nope.wav")).unwrap().is_none());

    // Ordered by title, case-insensitively.
    assert_eq!(titles(&lib.list().unwrap()), ["Alpha", "beta"]);

    // Adding the same file again replaces the analysis, not the track.
    let again = lib.add_analysis(&a, &analysis(125.0, "8A", 7)).unwrap();
    assert_eq!(again, ia);
    assert_eq!(lib.list().unwrap().len(), 2);
    assert_eq!(lib.get(ia).unwrap().unwrap().analysis.unwrap().bpm, 125.0);

    // The JSON the CLI prints for `--json`.
    let json = serde_json::to_value(lib.get(ia).unwrap().unwrap()).unwrap();
    for key in [
        "id",
        "content_hash",
        "path",
        "title",
        "analysis",
        "play_count",
    ] {
        assert!(json.get(key).is_some(), "missing {key} in {json}");
    }
    assert_eq!(json["analysis"]["camelot"], "8A");
}

#[test]
fn a_moved_file_keeps_its_analysis() {
    let s = Scratch::new("moved");
    let mut lib = Library::open(&s.db()).unwrap();
    let old = s.track("old/track.wav", 128.0, "5A", 6);
    let id = lib.add_analysis(&old, &analysis(128.0, "5A", 6)).unwrap();
    lib.record_play(id).unwrap();

    let new = s.path("new/renamed.wav");
    std::fs::create_dir_all(new.parent().unwrap()).unwrap();
    std::fs::rename(&old, &new).unwrap();
    assert!(
        !lib.needs_analysis(&new).unwrap(),
        "same content: nothing to do"
    );

    let again = lib.add_analysis(&new, &analysis(128.0, "5A", 6)).unwrap();
    assert_eq!(again, id, "same hash, same track");
    let entry = lib.get(id).unwrap().unwrap();
    assert_eq!(entry.track.path.as_deref(), Some(new.as_path()));
    assert_eq!(entry.track.title, "renamed");
    assert_eq!(entry.play_count, 1, "history kept");
    assert!(lib.get(&old).unwrap().is_none());
    assert_eq!(lib.list().unwrap().len(), 1);
}

#[test]
fn changed_content_is_a_new_track() {
    let s = Scratch::new("changed");
    let mut lib = Library::open(&s.db()).unwrap();
    let path = s.track("t.flac", 120.0, "1A", 5);
    let first = lib.add_analysis(&path, &analysis(120.0, "1A", 5)).unwrap();
    assert!(!lib.needs_analysis(&path).unwrap());

    write(&path, "121 1A 5 (remastered)");
    assert!(lib.needs_analysis(&path).unwrap(), "content changed");
    let second = lib.add_analysis(&path, &analysis(121.0, "1A", 5)).unwrap();
    assert_ne!(first, second);

    assert_eq!(lib.get(&path).unwrap().unwrap().track.id, second);
    let old = lib.get(first).unwrap().unwrap();
    assert_eq!(
        old.track.path, None,
        "the old content is no longer at that path"
    );
    assert_eq!(old.analysis.unwrap().bpm, 120.0, "its analysis is kept");
    assert_eq!(lib.list().unwrap().len(), 2);
}

#[test]
fn a_duplicate_copy_keeps_the_first_path() {
    let s = Scratch::new("dup");
    let mut lib = Library::open(&s.db()).unwrap();
    let a = s.track("a.wav", 100.0, "2B", 4);
    let copy = s.path("copy.wav");
    std::fs::copy(&a, &copy).unwrap();
    let id = lib.add_analysis(&a, &analysis(100.0, "2B", 4)).unwrap();
    assert!(!lib.needs_analysis(&copy).unwrap());
    assert_eq!(
        lib.add_analysis(&copy, &analysis(100.0, "2B", 4)).unwrap(),
        id
    );
    assert_eq!(
        lib.get(id).unwrap().unwrap().track.path.as_deref(),
        Some(a.as_path())
    );
}

#[test]
fn needs_analysis_after_an_analyser_version_bump() {
    let s = Scratch::new("version");
    let mut lib = Library::open(&s.db()).unwrap();
    let current = s.track("current.wav", 120.0, "8A", 5);
    let stale = s.track("stale.wav", 122.0, "8A", 5);
    let unknown = s.track("unknown.wav", 124.0, "8A", 5);
    lib.add_analysis(&current, &analysis(120.0, "8A", 5))
        .unwrap();
    let old = Analysis {
        analyser_version: ANALYSER_VERSION - 1,
        ..analysis(122.0, "8A", 5)
    };
    lib.add_analysis(&stale, &old).unwrap();

    assert!(!lib.needs_analysis(&current).unwrap());
    assert!(
        lib.needs_analysis(&stale).unwrap(),
        "analysed by an older analyser"
    );
    assert!(lib.needs_analysis(&unknown).unwrap(), "not in the library");
    assert!(matches!(
        lib.needs_analysis(&s.path("missing.wav")),
        Err(SegueError::Io { .. })
    ));
}

// --- search ------------------------------------------------------------------------------------

fn search_fixture(s: &Scratch) -> Library {
    let mut lib = Library::open(&s.db()).unwrap();
    for (name, bpm, camelot, energy) in [
        ("Deep House Roller", 122.0, "8A", 5),
        ("Peak Time", 128.5, "9A", 8),
        ("Warm Up", 118.0, "7A", 3),
        ("Relative Major", 126.0, "8B", 6),
        ("Far Key", 126.0, "10A", 6),
        ("Other Ring", 127.0, "9B", 7),
        ("Neurofunk", 174.0, "8A", 9),
        ("Ünïcödé Groove", 124.0, "3A", 6),
    ] {
        let path = s.track(&format!("{name}.flac"), bpm, camelot, energy);
        lib.add_analysis(&path, &analysis(bpm, camelot, energy))
            .unwrap();
    }
    lib
}

#[test]
fn search_by_bpm_range() {
    let s = Scratch::new("bpm");
    let lib = search_fixture(&s);
    let q = Query {
        bpm: Some((120.0, 127.0)),
        ..Query::default()
    };
    assert_eq!(
        titles(&lib.search(&q).unwrap()),
        [
            "Deep House Roller",
            "Far Key",
            "Other Ring",
            "Relative Major",
            "Ünïcödé Groove"
        ]
    );
    let reversed = Query {
        bpm: Some((127.0, 120.0)),
        ..Query::default()
    };
    assert_eq!(lib.search(&reversed).unwrap().len(), 5);
}

#[test]
fn key_search_includes_the_compatible_keys() {
    let s = Scratch::new("key");
    let lib = search_fixture(&s);
    let q = Query {
        key: Some("8A".parse().unwrap()),
        ..Query::default()
    };
    // 8A itself, 7A and 9A (a fifth either way) and 8B (relative major); not 10A or 9B.
    assert_eq!(
        titles(&lib.search(&q).unwrap()),
        [
            "Deep House Roller",
            "Neurofunk",
            "Peak Time",
            "Relative Major",
            "Warm Up"
        ]
    );
    let by_name = Query {
        key: Some("A minor".parse().unwrap()),
        ..Query::default()
    };
    assert_eq!(lib.search(&by_name).unwrap(), lib.search(&q).unwrap());
}

#[test]
fn search_by_energy_and_text_and_all_together() {
    let s = Scratch::new("energy");
    let lib = search_fixture(&s);
    let energy = Query {
        energy: Some((6, 8)),
        ..Query::default()
    };
    assert_eq!(
        titles(&lib.search(&energy).unwrap()),
        [
            "Far Key",
            "Other Ring",
            "Peak Time",
            "Relative Major",
            "Ünïcödé Groove"
        ]
    );
    let text = Query {
        text: Some("HOUSE".into()),
        ..Query::default()
    };
    assert_eq!(titles(&lib.search(&text).unwrap()), ["Deep House Roller"]);
    let unicode = Query {
        text: Some("ÜNÏCÖDÉ".into()),
        ..Query::default()
    };
    assert_eq!(titles(&lib.search(&unicode).unwrap()), ["Ünïcödé Groove"]);
    let by_folder = Query {
        text: Some(".FLAC".into()),
        ..Query::default()
    };
    assert_eq!(lib.search(&by_folder).unwrap().len(), 8, "path matches too");
    let all = Query {
        bpm: Some((120.0, 130.0)),
        key: Some("8A".parse().unwrap()),
        energy: Some((6, 8)),
        text: Some("e".into()),
    };
    assert_eq!(
        titles(&lib.search(&all).unwrap()),
        ["Peak Time", "Relative Major"]
    );
    assert_eq!(lib.search(&Query::default()).unwrap().len(), 8);
}

// --- plays and DNA vectors ---------------------------------------------------------------------

#[test]
fn plays_are_counted_and_an_unknown_track_is_an_error() {
    let s = Scratch::new("plays");
    let mut lib = Library::open(&s.db()).unwrap();
    let a = s.track("a.wav", 120.0, "8A", 5);
    let id = lib.add_analysis(&a, &analysis(120.0, "8A", 5)).unwrap();
    assert_eq!(lib.get(id).unwrap().unwrap().play_count, 0);
    lib.record_play(id).unwrap();
    lib.record_play_with_context(id, "friday set, deck A")
        .unwrap();
    let entry = lib.get(id).unwrap().unwrap();
    assert_eq!(entry.play_count, 2);
    assert!(entry.last_played.is_some());
    let err = lib.record_play(id + 100).unwrap_err();
    assert!(err.to_string().contains("no track with id"), "{err}");
}

#[test]
fn dna_vectors_round_trip_as_little_endian_f32() {
    let s = Scratch::new("dna");
    let mut lib = Library::open(&s.db()).unwrap();
    let a = s.track("a.wav", 120.0, "8A", 5);
    let id = lib.add_analysis(&a, &analysis(120.0, "8A", 5)).unwrap();
    assert_eq!(lib.dna_vector(id).unwrap(), None);
    let v: Vec<f32> = (0..128).map(|i| i as f32 * 0.25 - 3.0).collect();
    lib.set_dna_vector(id, 1, &v).unwrap();
    assert_eq!(lib.dna_vector(id).unwrap(), Some((1, v.clone())));
    let blob: Vec<u8> = read_only(&s.db())
        .query_row(
            "SELECT vector FROM dna_vectors WHERE track_id = ?",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(blob.len(), 512);
    assert_eq!(blob[..4], v[0].to_le_bytes());
    assert!(lib.set_dna_vector(id + 1, 1, &v).is_err());
}

// --- scanning ----------------------------------------------------------------------------------

/// Every event a scan sent, for checking.
#[derive(Default)]
struct Events(Mutex<Vec<ScanEvent>>);

impl Events {
    fn push(&self, e: ScanEvent) {
        self.0.lock().unwrap().push(e);
    }
    fn take(&self) -> Vec<ScanEvent> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

#[test]
fn scan_analyses_audio_files_in_parallel_and_reports_bad_ones() {
    let s = Scratch::new("scan");
    let music = s.path("music");
    let dirs = [music.clone()];
    for i in 0..12 {
        s.track(
            &format!("music/set{}/t{i:02}.flac", i % 3),
            120.0 + i as f64,
            "8A",
            5,
        );
    }
    s.track("music/UPPER.WAV", 99.0, "1B", 2);
    s.track("music/set0/ignored.txt", 99.0, "1B", 2);
    s.track("music/cover.jpg", 99.0, "1B", 2);
    write(&s.path("music/bad1.mp3"), "1 8A 1 BAD");
    write(&s.path("music/set1/bad2.ogg"), "1 8A 1 BAD");
    write(&s.path("music/set2/crash.m4a"), "1 8A 1 PANIC");
    // A symlink loop: the walk must not go round it.
    std::os::unix::fs::symlink(&music, s.path("music/set0/loop")).unwrap();

    let calls = AtomicUsize::new(0);
    let analyse = |p: &Path| {
        calls.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(3));
        fake_analyse(p)
    };
    let events = Events::default();
    let report = scan(&s.db(), &dirs, 2, analyse, |e| events.push(e)).unwrap();
    assert_eq!(report.added, 13);
    assert_eq!(report.skipped, 0);
    let mut failed: Vec<_> = report.failed.iter().map(|(p, _)| p.clone()).collect();
    failed.sort();
    assert_eq!(
        failed,
        [
            s.path("music/bad1.mp3"),
            s.path("music/set1/bad2.ogg"),
            s.path("music/set2/crash.m4a")
        ]
    );
    let reason = &report
        .failed
        .iter()
        .find(|(p, _)| p.ends_with("bad1.mp3"))
        .unwrap()
        .1;
    assert!(reason.contains("stand-in bad file"), "{reason}");
    let crash = &report
        .failed
        .iter()
        .find(|(p, _)| p.ends_with("crash.m4a"))
        .unwrap()
        .1;
    assert!(crash.contains("analyser crashed"), "{crash}");
    assert_eq!(calls.load(Ordering::Relaxed), 16);

    let events = events.take();
    assert_eq!(events[0].stage, ScanStage::Found);
    assert_eq!(events[0].total, 16);
    let last = events.last().unwrap();
    assert_eq!(last.stage, ScanStage::Finished);
    assert_eq!((last.done, last.added, last.failed), (16, 13, 3));
    assert!(events.windows(2).all(|w| w[0].done <= w[1].done));
    assert_eq!(
        events
            .iter()
            .filter(|e| e.stage == ScanStage::Analysing)
            .count(),
        16
    );

    let lib = Library::open(&s.db()).unwrap();
    assert_eq!(lib.list().unwrap().len(), 13);
    let bpm = lib
        .get(&s.path("music/set2/t05.flac"))
        .unwrap()
        .unwrap()
        .analysis
        .unwrap()
        .bpm;
    assert_eq!(bpm, 125.0);
    assert_eq!(lib.failures().unwrap().len(), 3);

    // A rerun skips everything analysed and retries only the failures.
    calls.store(0, Ordering::Relaxed);
    let again = scan(&s.db(), &dirs, 2, analyse, |_| {}).unwrap();
    assert_eq!((again.added, again.skipped, again.failed.len()), (0, 13, 3));
    assert_eq!(calls.load(Ordering::Relaxed), 3);

    // Fixing a bad file clears its failure.
    write(&s.path("music/bad1.mp3"), "140 4A 8");
    let fixed = scan(&s.db(), &dirs, 1, analyse, |_| {}).unwrap();
    assert_eq!((fixed.added, fixed.skipped, fixed.failed.len()), (1, 13, 2));
    assert_eq!(lib.failures().unwrap().len(), 2);
    assert_eq!(lib.check().unwrap(), "ok");
}

#[test]
fn scan_recognises_moved_files_and_reanalyses_after_a_version_bump() {
    let s = Scratch::new("scanmove");
    let dirs = [s.path("music")];
    let a = s.track("music/a.wav", 120.0, "8A", 5);
    let b = s.track("music/b.wav", 121.0, "8A", 5);
    let report = scan(&s.db(), &dirs, 2, fake_analyse, |_| {}).unwrap();
    assert_eq!(report.added, 2);
    let lib = Library::open(&s.db()).unwrap();
    let id_a = lib.get(&a).unwrap().unwrap().track.id;

    let moved = s.path("music/sub/a moved.wav");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(&a, &moved).unwrap();
    let calls = AtomicUsize::new(0);
    let counting = |p: &Path| {
        calls.fetch_add(1, Ordering::Relaxed);
        fake_analyse(p)
    };
    let report = scan(&s.db(), &dirs, 2, counting, |_| {}).unwrap();
    assert_eq!((report.added, report.skipped, report.moved), (0, 2, 1));
    assert_eq!(calls.load(Ordering::Relaxed), 0);
    let entry = lib.get(id_a).unwrap().unwrap();
    assert_eq!(entry.track.path.as_deref(), Some(moved.as_path()));
    assert_eq!(entry.track.title, "a moved");

    // Track b was analysed by an older analyser: the next scan redoes it, and only it.
    let mut lib = lib;
    let old = Analysis {
        analyser_version: ANALYSER_VERSION - 1,
        ..analysis(121.0, "8A", 5)
    };
    lib.add_analysis(&b, &old).unwrap();
    let report = scan(&s.db(), &dirs, 2, counting, |_| {}).unwrap();
    assert_eq!((report.added, report.skipped), (1, 1));
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    let analysed = lib.get(&b).unwrap().unwrap().analysis.unwrap();
    assert_eq!(analysed.analyser_version, ANALYSER_VERSION);
}

#[test]
fn a_touched_file_keeps_its_track_and_its_new_time_is_recorded() {
    let s = Scratch::new("touch");
    let a = s.track("music/a.wav", 120.0, "8A", 5);
    let dirs = [s.path("music")];
    scan(&s.db(), &dirs, 1, fake_analyse, |_| {}).unwrap();
    let lib = Library::open(&s.db()).unwrap();
    let before = lib.get(&a).unwrap().unwrap().track;

    let later = std::time::SystemTime::now() + Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&a)
        .unwrap()
        .set_modified(later)
        .unwrap();
    assert!(!lib.needs_analysis(&a).unwrap(), "same content");
    let report = scan(&s.db(), &dirs, 1, fake_analyse, |_| {}).unwrap();
    assert_eq!((report.added, report.skipped, report.moved), (0, 1, 0));
    let after = lib.get(&a).unwrap().unwrap().track;
    assert_eq!(after.id, before.id);
    assert_ne!(after.mtime_ns, before.mtime_ns, "the new time is stored");
    assert_eq!(lib.list().unwrap().len(), 1);
}

#[test]
fn scan_reports_a_missing_folder_and_goes_on() {
    let s = Scratch::new("missing");
    s.track("music/a.wav", 120.0, "8A", 5);
    let dirs = [s.path("no such folder"), s.path("music")];
    let report = scan(&s.db(), &dirs, 1, fake_analyse, |_| {}).unwrap();
    assert_eq!(report.added, 1);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, s.path("no such folder"));
}

// --- crash safety: a real kill -9 ------------------------------------------------------------------

const CHILD_ENV: &str = "SEGUE_LIB_CHILD";
const CRASH_TRACKS: usize = 40;

/// The child side of `scan_survives_kill_9_and_resumes`: does nothing unless `SEGUE_LIB_CHILD`
/// names the scratch folder, then scans it slowly until it is killed.
#[test]
fn child_scan() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let slow = |p: &Path| {
        std::thread::sleep(Duration::from_millis(80));
        fake_analyse(p)
    };
    scan(
        &dir.join("library.db"),
        &[dir.join("music")],
        2,
        slow,
        |_| {},
    )
    .unwrap();
}

/// Rows committed so far, read through a read-only connection (0 before the schema exists).
fn committed(db: &Path) -> usize {
    if !db.exists() {
        return 0;
    }
    let Ok(conn) = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY) else {
        return 0;
    };
    conn.query_row("SELECT count(*) FROM analyses", [], |r| r.get::<_, i64>(0))
        .map_or(0, |n| n as usize)
}

#[test]
fn scan_survives_kill_9_and_resumes() {
    let s = Scratch::new("kill9");
    for i in 0..CRASH_TRACKS {
        s.track(&format!("music/t{i:02}.flac"), 100.0 + i as f64, "8A", 5);
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_scan", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &s.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while committed(&s.db()) < 5 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "child made no progress"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("child exited early: {status}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was killed, not finished");

    // The file is intact and holds what was committed, no more.
    let conn = Connection::open(s.db()).unwrap();
    assert_eq!(pragma_text(&conn, "integrity_check"), "ok");
    let before: BTreeMap<String, (String, i64)> = conn
        .prepare(
            "SELECT t.content_hash, a.analysis_json, a.analysed_at
             FROM tracks t JOIN analyses a ON a.track_id = t.id",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(conn);
    let done = before.len();
    assert!(
        (5..CRASH_TRACKS).contains(&done),
        "{done} tracks committed when killed"
    );
    let lib = Library::open(&s.db()).unwrap();
    assert_eq!(lib.check().unwrap(), "ok");
    for entry in lib.list().unwrap() {
        let analysis = entry
            .analysis
            .expect("every committed track has its analysis");
        let expected: f64 = std::fs::read_to_string(entry.track.path.unwrap())
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(analysis.bpm, expected);
    }

    // The rerun analyses only what was not committed.
    let calls = AtomicUsize::new(0);
    let counting = |p: &Path| {
        calls.fetch_add(1, Ordering::Relaxed);
        fake_analyse(p)
    };
    let report = scan(&s.db(), &[s.path("music")], 2, counting, |_| {}).unwrap();
    assert_eq!(report.skipped, done);
    assert_eq!(report.added, CRASH_TRACKS - done);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(calls.load(Ordering::Relaxed), CRASH_TRACKS - done);
    assert_eq!(lib.list().unwrap().len(), CRASH_TRACKS);
    assert_eq!(lib.check().unwrap(), "ok");

    // What was committed before the kill is untouched.
    let conn = read_only(&s.db());
    for (hash, (json, at)) in before {
        let now: (String, i64) = conn
            .query_row(
                "SELECT a.analysis_json, a.analysed_at FROM tracks t
                 JOIN analyses a ON a.track_id = t.id WHERE t.content_hash = ?",
                [&hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(now, (json, at));
    }
}

/// With the real analyser, audio that is too short, silent or has no beat is recorded as a
/// failure with the reason, and nothing (no zeros) is stored for it.
#[test]
fn scan_records_too_short_silent_and_beatless_audio_as_unanalysable() {
    use segue_decode::wav::{write_wav, WavFormat};
    let s = Scratch::new("unanalysable");
    let music = s.path("music");
    std::fs::create_dir_all(&music).unwrap();
    let rate = 44_100u32;
    let tone = |secs: f64, amp: f32| -> Vec<[f32; 2]> {
        (0..(secs * rate as f64) as usize)
            .map(|i| {
                let v = (std::f32::consts::TAU * 330.0 * i as f32 / rate as f32).sin() * amp;
                [v, v]
            })
            .collect()
    };
    write_wav(
        &music.join("short.wav"),
        rate,
        &tone(0.5, 0.5),
        WavFormat::Pcm16,
    )
    .unwrap();
    write_wav(
        &music.join("silent.wav"),
        rate,
        &tone(4.0, 0.0),
        WavFormat::Pcm16,
    )
    .unwrap();
    write_wav(
        &music.join("drone.wav"),
        rate,
        &tone(4.0, 0.5),
        WavFormat::Pcm16,
    )
    .unwrap();
    let report = scan(
        &s.db(),
        std::slice::from_ref(&music),
        2,
        segue_analysis::analyze_file,
        |_| {},
    )
    .unwrap();
    assert_eq!(report.added, 0, "{report:?}");
    let reason = |name: &str| {
        report
            .failed
            .iter()
            .find(|(p, _)| p.ends_with(name))
            .unwrap_or_else(|| panic!("{name} not reported: {report:?}"))
            .1
            .clone()
    };
    assert!(
        reason("short.wav").contains("too short to analyse (0.50 s"),
        "{report:?}"
    );
    assert!(reason("silent.wav").contains("silent"), "{report:?}");
    assert!(reason("drone.wav").contains("no beat found"), "{report:?}");
    let lib = Library::open(&s.db()).unwrap();
    assert!(lib.list().unwrap().is_empty());
    let failures = lib.failures().unwrap();
    assert_eq!(failures.len(), 3);
    assert!(failures
        .iter()
        .any(|(p, r)| p.ends_with("short.wav") && r.contains("too short")));
}
