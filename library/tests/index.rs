//! Behaviour of the similarity index (`segue_library::index`) over real SQLite library files
//! in a scratch folder: incremental updates, deletes, re-analysis, persistence, detection of
//! index files that do not belong to the library, filters, and agreement with exact search.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use segue_analysis::dna::COMPACT_DIMS;
use segue_analysis::music::Key;
use segue_analysis::{Analysis, ANALYSER_VERSION};
use segue_library::index::{Filter, SimilarityIndex, TrackMeta};
use segue_library::{Library, TrackId};

struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("segue-index-{}-{test}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    fn db(&self) -> PathBuf {
        self.0.join("library.sqlite")
    }
    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// splitmix64: deterministic noise for the vectors.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    fn gauss(&mut self) -> f32 {
        let (u, v) = (self.unit().max(1e-7), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
    }
    fn vector(&mut self) -> Vec<f32> {
        normalise((0..COMPACT_DIMS).map(|_| self.gauss()).collect())
    }
}

fn normalise(v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

/// A synthetic analysis with DNA `dna`.
fn analysis(bpm: f64, camelot: &str, energy: u8, dna: Vec<f32>) -> Analysis {
    let key: Key = camelot.parse().unwrap();
    Analysis {
        duration: 180.0,
        bpm,
        beats: vec![0.5, 1.0],
        downbeats: vec![0.5],
        beats_per_bar: 4,
        constant_tempo: true,
        half_time: false,
        key: key.name(),
        camelot: key.camelot(),
        open_key: key.open_key(),
        key_confidence: 0.9,
        key_runner_up: None,
        lufs: -9.0,
        loudness_range: 5.0,
        true_peak_db: -1.0,
        energy,
        sections: Vec::new(),
        cues: Vec::new(),
        analyser_version: ANALYSER_VERSION,
        dna_version: 1,
        dna,
    }
}

/// Adds a track (a small file of its own content) with analysis `a`; returns its id.
fn add(lib: &mut Library, s: &Scratch, name: &str, a: &Analysis) -> TrackId {
    let path = s.file(name);
    std::fs::write(&path, name).unwrap();
    lib.add_analysis(&path, a).unwrap()
}

fn camelot(i: usize) -> String {
    format!("{}{}", i % 12 + 1, if i % 2 == 0 { 'A' } else { 'B' })
}

/// A library of `n` tracks with random DNA, tempos 60..180, all keys, energies 1..10.
fn library(s: &Scratch, n: usize, rng: &mut Rng) -> (Library, Vec<TrackId>) {
    let mut lib = Library::open(&s.db()).unwrap();
    let ids = (0..n)
        .map(|i| {
            let bpm = 60.0 + (rng.unit() * 120.0) as f64;
            let a = analysis(bpm, &camelot(i * 7), (i % 10 + 1) as u8, rng.vector());
            add(&mut lib, s, &format!("t{i}.wav"), &a)
        })
        .collect();
    (lib, ids)
}

fn ids(found: &[(TrackId, f32)]) -> Vec<TrackId> {
    found.iter().map(|f| f.0).collect()
}

#[test]
fn adding_a_track_inserts_one_point_without_a_rebuild() {
    let s = Scratch::new("add");
    let mut rng = Rng(1);
    let (mut lib, _) = library(&s, 60, &mut rng);
    let (index, first) = SimilarityIndex::open(&lib).unwrap();
    assert!(
        first.rebuilt.is_some(),
        "no files yet: built from the library"
    );
    assert_eq!(index.len(), 60);
    assert!(s.file("library.sqlite.hnsw.graph").is_file());
    assert!(s.file("library.sqlite.hnsw.data").is_file());
    assert!(s.file("library.sqlite.hnsw.map").is_file());

    let dna = rng.vector();
    let new = add(
        &mut lib,
        &s,
        "new.wav",
        &analysis(124.0, "8A", 7, dna.clone()),
    );
    let (index, report) = SimilarityIndex::open(&lib).unwrap();
    assert_eq!(report.rebuilt, None, "{report:?}");
    assert_eq!((report.inserted, report.removed, report.tracks), (1, 0, 61));
    let top = index.similar(&dna, 1, &Filter::default()).unwrap();
    assert_eq!(top[0].0, new);
    assert!(top[0].1 > 0.9999, "{top:?}");
    assert_eq!(
        index.meta(new),
        Some(TrackMeta {
            bpm: 124.0,
            key: Some("8A".parse().unwrap()),
            energy: 7
        })
    );
    // Nothing changed since: nothing to do.
    let (_, again) = SimilarityIndex::open(&lib).unwrap();
    assert!(!again.changed(), "{again:?}");
}

#[test]
fn deleted_and_reanalysed_tracks_are_followed() {
    let s = Scratch::new("delete");
    let mut rng = Rng(2);
    let (mut lib, ids_) = library(&s, 40, &mut rng);
    let (index, _) = SimilarityIndex::open(&lib).unwrap();
    let gone = ids_[5];
    let gone_dna = index.vector(gone).unwrap().to_vec();
    drop(index);

    assert!(lib.remove(gone).unwrap());
    let (index, report) = SimilarityIndex::open(&lib).unwrap();
    assert_eq!(
        (report.rebuilt.as_deref(), report.removed),
        (None, 1),
        "{report:?}"
    );
    assert!(!index.contains(gone));
    let found = index.similar(&gone_dna, 39, &Filter::default()).unwrap();
    assert!(!ids(&found).contains(&gone));
    assert!(index.similar(gone, 5, &Filter::default()).is_err());

    // Re-analyse track 7 (same file): new DNA and tempo.
    let again = ids_[7];
    let dna = rng.vector();
    let path = s.file("t7.wav");
    let id = lib
        .add_analysis(&path, &analysis(90.0, "3B", 2, dna.clone()))
        .unwrap();
    assert_eq!(id, again);
    let (index, report) = SimilarityIndex::open(&lib).unwrap();
    assert_eq!(report.rebuilt, None, "{report:?}");
    assert_eq!((report.inserted, report.tracks), (1, 39));
    let stored = index.vector(again).unwrap();
    assert!(stored.iter().zip(&dna).all(|(a, b)| (a - b).abs() < 1e-6));
    assert_eq!(index.meta(again).unwrap().bpm, 90.0);
    let top = index.similar(&dna, 1, &Filter::default()).unwrap();
    assert_eq!(top[0].0, again);
    // Its old point is a tombstone: no answer names the track twice.
    let all = index.similar(&dna, 39, &Filter::default()).unwrap();
    let mut seen = ids(&all);
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), all.len());
}

#[test]
fn many_deletions_rebuild_the_graph() {
    let s = Scratch::new("tombstones");
    let mut rng = Rng(3);
    let (lib, ids_) = library(&s, 80, &mut rng);
    SimilarityIndex::open(&lib).unwrap();
    for id in &ids_[..30] {
        lib.remove(*id).unwrap();
    }
    let (index, report) = SimilarityIndex::open(&lib).unwrap();
    let why = report.rebuilt.expect("30 of 80 tombstoned: rebuilt");
    assert!(why.contains("tombstones"), "{why}");
    assert_eq!(index.len(), 50);
}

#[test]
fn a_saved_index_loads_back_with_the_same_answers() {
    let s = Scratch::new("roundtrip");
    let mut rng = Rng(4);
    let (lib, ids_) = library(&s, 120, &mut rng);
    let (built, _) = SimilarityIndex::open(&lib).unwrap();
    let (loaded, report) = SimilarityIndex::open(&lib).unwrap();
    assert!(!report.changed(), "{report:?}");
    for &t in ids_.iter().step_by(7) {
        assert_eq!(loaded.vector(t), built.vector(t));
        assert_eq!(loaded.meta(t), built.meta(t));
        let a = built.similar(t, 10, &Filter::default()).unwrap();
        let b = loaded.similar(t, 10, &Filter::default()).unwrap();
        assert_eq!(ids(&a), ids(&b), "track {t}");
    }
}

#[test]
fn index_files_that_do_not_belong_to_the_library_are_rebuilt() {
    let s = Scratch::new("sync");
    let mut rng = Rng(5);
    let (lib, _) = library(&s, 30, &mut rng);
    SimilarityIndex::open(&lib).unwrap();

    // A torn save: the graph file is not the one the map names.
    let graph = s.file("library.sqlite.hnsw.graph");
    let mut bytes = std::fs::read(&graph).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&graph, &bytes).unwrap();
    let (index, report) = SimilarityIndex::open(&lib).unwrap();
    assert!(
        report.rebuilt.as_deref().unwrap().contains("not the ones"),
        "{report:?}"
    );
    assert_eq!(index.len(), 30);

    // A garbage map.
    std::fs::write(s.file("library.sqlite.hnsw.map"), b"hello").unwrap();
    let (_, report) = SimilarityIndex::open(&lib).unwrap();
    assert!(report.rebuilt.is_some(), "{report:?}");

    // The index of a bigger library copied beside a smaller one.
    let other = Scratch::new("sync-other");
    let (big, _) = library(&other, 45, &mut rng);
    SimilarityIndex::open(&big).unwrap();
    drop(big);
    for ext in ["graph", "data", "map"] {
        std::fs::copy(
            other.file(&format!("library.sqlite.hnsw.{ext}")),
            s.file(&format!("library.sqlite.hnsw.{ext}")),
        )
        .unwrap();
    }
    let (index, report) = SimilarityIndex::open(&lib).unwrap();
    assert!(report.rebuilt.is_some(), "{report:?}");
    assert_eq!(index.len(), 30);
}

#[test]
fn filtered_answers_pass_the_filter_and_match_exact_search() {
    let s = Scratch::new("filter");
    let mut rng = Rng(6);
    let (lib, ids_) = library(&s, 300, &mut rng);
    let (index, _) = SimilarityIndex::open(&lib).unwrap();
    let k8a: Key = "8A".parse().unwrap();
    let filters = [
        Filter::default().bpm(120.0, 130.0),
        Filter::default().bpm(120.0, 130.0).exact_tempo(),
        Filter::default().key(k8a),
        Filter::default().energy(3, 5),
        Filter::default().bpm(115.0, 135.0).key(k8a).energy(1, 10),
        Filter::default().energy(4, 4).exclude(ids_[3]),
    ];
    for f in &filters {
        for &probe in ids_.iter().step_by(37) {
            let got = index.similar(probe, 8, f).unwrap();
            let exact = index.exact(probe, 8, f).unwrap();
            assert_eq!(ids(&got), ids(&exact), "{f:?} from {probe}");
            for (t, _) in &got {
                assert_ne!(*t, probe);
                assert!(f.matches(&index.meta(*t).unwrap()), "{f:?}: {t}");
                assert!(!f.exclude.contains(t));
            }
            // Every track that passes is reachable.
            let all = index.exact(probe, 1000, f).unwrap();
            let passing = ids_
                .iter()
                .filter(|&&t| t != probe && !f.exclude.contains(&t))
                .filter(|&&t| f.matches(&index.meta(t).unwrap()))
                .count();
            assert_eq!(all.len(), passing, "{f:?}");
        }
    }
    // Half and double tempo: a 62 BPM track is found by a 120-130 range.
    let half: Vec<TrackId> = ids_
        .iter()
        .copied()
        .filter(|&t| (60.0..=65.0).contains(&index.meta(t).unwrap().bpm))
        .collect();
    assert!(!half.is_empty());
    let got = index
        .similar(ids_[0], 300, &Filter::default().bpm(120.0, 130.0))
        .unwrap();
    for t in half.iter().filter(|&&t| t != ids_[0]) {
        assert!(ids(&got).contains(t), "half-tempo track {t} missing");
    }
}

#[test]
fn approximate_search_agrees_with_exact_search() {
    // Clustered vectors like real DNA (genres), in memory: recall@10 against exact search.
    let mut rng = Rng(7);
    let centres: Vec<Vec<f32>> = (0..25).map(|_| rng.vector()).collect();
    let items: Vec<(TrackId, Vec<f32>, TrackMeta)> = (0..4000)
        .map(|i| {
            let c = &centres[i % centres.len()];
            let v = normalise(c.iter().map(|x| x + 0.08 * rng.gauss()).collect());
            let meta = TrackMeta {
                bpm: 120.0,
                key: None,
                energy: (i % 10 + 1) as u8,
            };
            (i as TrackId + 1, v, meta)
        })
        .collect();
    let (mut index, bad) = SimilarityIndex::build(Path::new("mem"), items);
    assert_eq!((bad, index.len()), (0, 4000));
    let mut hits = 0;
    let queries = 100;
    for q in 0..queries {
        let probe = (q * 37 % 4000 + 1) as TrackId;
        let a = ids(&index.similar(probe, 10, &Filter::default()).unwrap());
        let e = ids(&index.exact(probe, 10, &Filter::default()).unwrap());
        hits += a.iter().filter(|t| e.contains(t)).count();
    }
    let recall = hits as f64 / (queries * 10) as f64;
    assert!(recall >= 0.95, "recall@10 {recall:.3}");

    // A filter that passes 30 % of the tracks, answered through the graph (not exactly):
    // every answer passes, and recall against exact search holds.
    index.set_exact_below(0);
    let f = Filter::default().energy(3, 5);
    let mut hits = 0;
    for q in 0..queries {
        let probe = (q * 37 % 4000 + 1) as TrackId;
        let got = index.similar(probe, 10, &f).unwrap();
        assert_eq!(got.len(), 10);
        for (t, _) in &got {
            assert!(f.matches(&index.meta(*t).unwrap()), "{t} fails {f:?}");
            assert_ne!(*t, probe);
        }
        let e = ids(&index.exact(probe, 10, &f).unwrap());
        hits += ids(&got).iter().filter(|t| e.contains(t)).count();
    }
    let recall = hits as f64 / (queries * 10) as f64;
    assert!(recall >= 0.95, "filtered recall@10 {recall:.3}");
}

#[test]
fn bad_vectors_are_reported_not_indexed() {
    let s = Scratch::new("bad");
    let mut rng = Rng(8);
    let (mut lib, _) = library(&s, 10, &mut rng);
    let zero = add(
        &mut lib,
        &s,
        "zero.wav",
        &analysis(120.0, "1A", 5, vec![0.0; COMPACT_DIMS]),
    );
    let short = add(
        &mut lib,
        &s,
        "short.wav",
        &analysis(120.0, "1A", 5, vec![1.0; 12]),
    );
    let (index, report) = SimilarityIndex::open(&lib).unwrap();
    assert_eq!((report.skipped, index.len()), (2, 10), "{report:?}");
    assert!(!index.contains(zero) && !index.contains(short));
    // Stable: a second open does not see them as out of sync.
    let (_, again) = SimilarityIndex::open(&lib).unwrap();
    assert!(!again.changed(), "{again:?}");
    let mut index = index;
    assert!(index
        .insert(
            99,
            &[f32::NAN; COMPACT_DIMS],
            TrackMeta {
                bpm: 1.0,
                key: None,
                energy: 1
            }
        )
        .is_err());
    assert!(index.similar(&vec![0.0; 5], 3, &Filter::default()).is_err());
}
