//! The play graph: sessions and transitions in a real SQLite library, playlist imports (M3U,
//! M3U8, rekordbox XML) and recommendations; and the deck service recording what a real
//! engine had on air.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use segue_analysis::dna::COMPACT_DIMS;
use segue_analysis::music::Key;
use segue_analysis::{Analysis, ANALYSER_VERSION};
use segue_engine::{Collector, Command, Engine, EngineConfig, EngineHandle, Outputs, Status};
use segue_library::decks::{CommandSink, DeckService, DeckServiceConfig};
use segue_library::graph::{self, PlaySession, SessionKind, TransitionGraph};
use segue_library::import::import;
use segue_library::index::{Filter, SimilarityIndex};
use segue_library::{Library, TrackId};

struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("segue-graph-{}-{test}-{n}", std::process::id()));
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

fn analysis(bpm: f64, dna: Vec<f32>) -> Analysis {
    let key: Key = "8A".parse().unwrap();
    Analysis {
        duration: 10.0,
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
        energy: 5,
        sections: Vec::new(),
        cues: Vec::new(),
        analyser_version: ANALYSER_VERSION,
        dna_version: 1,
        dna,
    }
}

/// A DNA vector pointing mostly along axis `axis`.
fn dna(axis: usize, wobble: f32) -> Vec<f32> {
    let mut v = vec![0.01; COMPACT_DIMS];
    v[axis % COMPACT_DIMS] = 1.0;
    v[(axis + 1) % COMPACT_DIMS] = wobble;
    v
}

/// `n` tracks `t0.wav`…; returns their ids.
fn tracks(lib: &mut Library, s: &Scratch, n: usize) -> Vec<TrackId> {
    (0..n)
        .map(|i| {
            let p = s.file(&format!("t{i}.wav"));
            std::fs::write(&p, format!("track {i}")).unwrap();
            lib.add_analysis(&p, &analysis(120.0, dna(i / 3, i as f32 * 0.01)))
                .unwrap()
        })
        .collect()
}

#[test]
fn a_session_records_plays_and_transitions() {
    let s = Scratch::new("session");
    let mut lib = Library::open(&s.db()).unwrap();
    let t = tracks(&mut lib, &s, 4);
    let mut session = PlaySession::start(&lib, SessionKind::Live, "friday", None).unwrap();
    for &id in &[t[0], t[1], t[1], t[2], t[0], t[1]] {
        session.played(&lib, id).unwrap();
    }
    assert_eq!(graph::transition_count(&lib, t[0], t[1]).unwrap(), 2);
    assert_eq!(graph::transition_count(&lib, t[1], t[2]).unwrap(), 1);
    assert_eq!(
        graph::transition_count(&lib, t[1], t[1]).unwrap(),
        0,
        "a repeat is no transition"
    );
    assert_eq!(lib.get(t[1]).unwrap().unwrap().play_count, 2);
    let err = session.played(&lib, 999).unwrap_err();
    assert!(err.to_string().contains("no track with id 999"), "{err}");
    // A deleted track takes its transitions with it.
    lib.remove(t[2]).unwrap();
    let g = TransitionGraph::load(&lib).unwrap();
    assert_eq!((g.count(t[1], t[2]), g.count(t[0], t[1])), (0, 2));
}

#[test]
fn m3u_and_rekordbox_imports_become_sessions() {
    let s = Scratch::new("import");
    let mut lib = Library::open(&s.db()).unwrap();
    let t = tracks(&mut lib, &s, 5);
    let dir = &s.0;
    std::fs::create_dir_all(dir.join("lists")).unwrap();
    // Relative entries, a comment, a file not in the library (breaks the chain), a URL.
    let m3u = s.file("lists/set.m3u8");
    std::fs::write(
        &m3u,
        format!(
            "#EXTM3U\n#EXTINF:10,zero\n../t0.wav\n../t1.wav\n/nowhere/x.mp3\n../t2.wav\nfile://{}\n",
            s.file("t3.wav").display().to_string().replace(' ', "%20")
        ),
    )
    .unwrap();
    let r = import(&lib, &m3u).unwrap();
    assert_eq!(
        (r.playlists, r.entries, r.matched, r.transitions),
        (1, 5, 4, 2),
        "{r:?}"
    );
    assert_eq!(r.unmatched, vec!["/nowhere/x.mp3".to_string()]);
    assert_eq!(graph::transition_count(&lib, t[0], t[1]).unwrap(), 1);
    assert_eq!(
        graph::transition_count(&lib, t[1], t[2]).unwrap(),
        0,
        "no bridge over x.mp3"
    );
    assert_eq!(graph::transition_count(&lib, t[2], t[3]).unwrap(), 1);

    // A moved file is found by its content.
    std::fs::rename(s.file("t4.wav"), s.file("moved.wav")).unwrap();
    let url = |name: &str| format!("file://localhost{}", s.file(name).display());
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<DJ_PLAYLISTS Version="1.0.0">
  <COLLECTION Entries="3">
    <TRACK TrackID="1" Location="{}"/>
    <TRACK TrackID="2" Location="{}"/>
    <TRACK TrackID="3" Location="{}"/>
  </COLLECTION>
  <PLAYLISTS>
    <NODE Type="0" Name="ROOT">
      <NODE Name="HISTORY 2026-12-01" Type="1" KeyType="0" Entries="3">
        <TRACK Key="3"/><TRACK Key="1"/><TRACK Key="2"/>
      </NODE>
    </NODE>
  </PLAYLISTS>
</DJ_PLAYLISTS>"#,
        url("t3.wav"),
        url("moved.wav"),
        url("t0.wav")
    );
    let xml_path = s.file("rekordbox.xml");
    std::fs::write(&xml_path, xml).unwrap();
    let r = import(&lib, &xml_path).unwrap();
    assert_eq!((r.playlists, r.matched, r.transitions), (1, 3, 2), "{r:?}");
    assert_eq!(graph::transition_count(&lib, t[0], t[3]).unwrap(), 1);
    assert_eq!(graph::transition_count(&lib, t[3], t[4]).unwrap(), 1);

    // Bad input: a clear error, nothing recorded.
    std::fs::write(s.file("bad.xml"), "<NML VERSION=\"19\"/>").unwrap();
    let err = import(&lib, &s.file("bad.xml")).unwrap_err();
    assert!(err.to_string().contains("rekordbox"), "{err}");
    let err = import(&lib, &s.file("t0.wav")).unwrap_err();
    assert!(err.to_string().contains(".m3u"), "{err}");
    std::fs::write(s.file("latin.m3u8"), b"\xff\xfe../t0.wav\n").unwrap();
    assert!(import(&lib, &s.file("latin.m3u8")).is_err());
    std::fs::write(s.file("latin.m3u"), b"t0.wav\nt\xe9.wav\n").unwrap();
    let r = import(&lib, &s.file("latin.m3u")).unwrap();
    assert_eq!((r.matched, r.entries), (1, 2));
    assert!(r.unmatched[0].ends_with("té.wav"), "{r:?}");
}

#[test]
fn recommendations_blend_history_with_dna() {
    let s = Scratch::new("recommend");
    let mut lib = Library::open(&s.db()).unwrap();
    let t = tracks(&mut lib, &s, 30);
    // t0 sounds like t1 and t2 (same axis); history says t0 → t20 (another sound) three times.
    let mut session = PlaySession::start(&lib, SessionKind::Playlist, "a", None).unwrap();
    for _ in 0..3 {
        session.played(&lib, t[0]).unwrap();
        session.played(&lib, t[20]).unwrap();
        session.break_chain();
    }
    let (index, _) = SimilarityIndex::open(&lib).unwrap();
    let g = TransitionGraph::load(&lib).unwrap();
    let open = Filter::default();

    let dna_only = graph::recommend(&g, &index, t[0], 3, 0.0, &open).unwrap();
    let dna_ids: Vec<TrackId> = dna_only.iter().map(|r| r.track).collect();
    assert_eq!(&dna_ids[..2], &[t[1], t[2]], "{dna_only:?}");

    let blended = graph::recommend(&g, &index, t[0], 3, graph::DEFAULT_BLEND, &open).unwrap();
    assert_eq!(blended[0].track, t[20], "{blended:?}");
    assert_eq!(blended[0].played_after, 3);
    assert!(
        blended.iter().any(|r| r.track == t[1]),
        "DNA still counts: {blended:?}"
    );

    // No history from t5: DNA alone, same as blend 0.
    let a = graph::recommend(&g, &index, t[5], 5, graph::DEFAULT_BLEND, &open).unwrap();
    let b = graph::recommend(&g, &index, t[5], 5, 0.0, &open).unwrap();
    assert_eq!(
        a.iter().map(|r| r.track).collect::<Vec<_>>(),
        b.iter().map(|r| r.track).collect::<Vec<_>>()
    );
    // Filters hold for graph candidates too.
    let none = Filter::default().bpm(60.0, 61.0).exact_tempo();
    assert!(graph::recommend(&g, &index, t[0], 5, 1.0, &none)
        .unwrap()
        .is_empty());
}

// --- the deck service records what the real engine has on air ---------------------------------

/// A real engine, processed on its own thread in blocks at about real time.
struct EngineSink {
    handle: Mutex<EngineHandle>,
    collector: Mutex<Collector>,
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl EngineSink {
    fn start() -> Arc<Self> {
        let parts = Engine::new(EngineConfig {
            decks: 2,
            ..EngineConfig::default()
        })
        .unwrap();
        let (mut engine, handle, collector) = (parts.engine, parts.handle, parts.collector);
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut l, mut r, mut cl, mut cr) = (
                vec![0f32; 256],
                vec![0f32; 256],
                vec![0f32; 256],
                vec![0f32; 256],
            );
            while !s2.load(Ordering::Relaxed) {
                let mut out = Outputs {
                    master: [&mut l, &mut r],
                    cue: [&mut cl, &mut cr],
                };
                engine.process(&mut out, 256);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Arc::new(Self {
            handle: Mutex::new(handle),
            collector: Mutex::new(collector),
            stop,
            thread: Mutex::new(Some(thread)),
        })
    }
}

impl Drop for EngineSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.lock().unwrap().take() {
            let _ = t.join();
        }
    }
}

impl CommandSink for EngineSink {
    fn send(&self, command: Command) -> bool {
        self.collector.lock().unwrap().collect();
        self.handle.lock().unwrap().send(command).is_ok()
    }
    fn status(&self) -> Status {
        self.handle.lock().unwrap().status()
    }
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(t0.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn tone(path: &Path, secs: f64, hz: f32) {
    let rate = 48_000u32;
    let frames: Vec<[f32; 2]> = (0..(secs * rate as f64) as usize)
        .map(|i| {
            let x = (i as f32 * hz * std::f32::consts::TAU / rate as f32).sin() * 0.3;
            [x, x]
        })
        .collect();
    segue_decode::wav::write_wav(path, rate, &frames, segue_decode::wav::WavFormat::Pcm16).unwrap();
}

#[test]
fn the_deck_service_records_what_was_on_air_as_a_session() {
    let s = Scratch::new("decks");
    let (a, b) = (s.file("a.wav"), s.file("b.wav"));
    tone(&a, 30.0, 440.0);
    tone(&b, 30.0, 330.0);
    let mut lib = Library::open(&s.db()).unwrap();
    // Analysed already (the deck takes the stored analysis: no analyser run here).
    let ida = lib.add_analysis(&a, &analysis(120.0, dna(1, 0.0))).unwrap();
    let idb = lib.add_analysis(&b, &analysis(121.0, dna(2, 0.0))).unwrap();
    assert_ne!(ida, idb);
    drop(lib);

    let sink = EngineSink::start();
    let service = DeckService::new(
        DeckServiceConfig {
            decks: 2,
            rate: 48_000,
            worker_threads: 1,
            library: Some(Library::open(&s.db()).unwrap()),
            auto_stems: false,
        },
        sink.clone(),
    );
    service.set_history("test set", Duration::from_millis(400));
    assert!(service.load(0, a.clone(), None));
    assert!(service.load(1, b.clone(), None));
    wait_for("both decks ready", Duration::from_secs(60), || {
        service.decks().iter().all(|d| d.analysis.is_some())
    });
    // Deck 2 plays briefly (less than the threshold): not a play.
    sink.send(Command::Play { deck: 1, on: true });
    std::thread::sleep(Duration::from_millis(150));
    sink.send(Command::Play { deck: 1, on: false });
    sink.send(Command::Play { deck: 0, on: true });
    wait_for("deck 1 counted as played", Duration::from_secs(10), || {
        service.session().is_some()
    });
    sink.send(Command::Play { deck: 1, on: true });
    sink.send(Command::Play { deck: 0, on: false });
    let count = || {
        service
            .with_library(|l| graph::transition_count(l, ida, idb).unwrap())
            .unwrap_or(0)
    };
    wait_for("the a → b transition", Duration::from_secs(10), || {
        count() == 1
    });
    let session = service.session().unwrap();
    service.shutdown();
    let lib = Library::open(&s.db()).unwrap();
    assert_eq!(graph::transition_count(&lib, idb, ida).unwrap(), 0);
    assert_eq!(lib.get(ida).unwrap().unwrap().play_count, 1);
    assert_eq!(lib.get(idb).unwrap().unwrap().play_count, 1);
    assert!(session > 0);
}

#[test]
fn the_deck_service_plays_the_stems_the_library_registered() {
    let s = Scratch::new("decks-stems");
    let (a, b) = (s.file("a.wav"), s.file("b.wav"));
    tone(&a, 5.0, 440.0);
    tone(&b, 5.0, 330.0);
    let mut lib = Library::open(&s.db()).unwrap();
    let ida = lib.add_analysis(&a, &analysis(120.0, dna(1, 0.0))).unwrap();
    let idb = lib.add_analysis(&b, &analysis(121.0, dna(2, 0.0))).unwrap();
    // Stems in a folder of their own (not beside the track), registered for a; b's
    // registered stems are one frame short, so the loader ignores them.
    let mix = segue_decode::decode_file(&a, 48_000).unwrap().mix;
    let stem_dir = s.file("stems/a");
    std::fs::create_dir_all(&stem_dir).unwrap();
    let files = ["drums", "bass", "other", "vocals"].map(|n| stem_dir.join(format!("{n}.wav")));
    for (i, f) in files.iter().enumerate() {
        let frames: Vec<[f32; 2]> = if i == 2 {
            mix.clone()
        } else {
            vec![[0.0; 2]; mix.len()]
        };
        segue_decode::wav::write_wav(f, 48_000, &frames, segue_decode::wav::WavFormat::Float32)
            .unwrap();
    }
    let short_dir = s.file("stems/b");
    std::fs::create_dir_all(&short_dir).unwrap();
    let short = ["drums", "bass", "other", "vocals"].map(|n| short_dir.join(format!("{n}.wav")));
    for f in &short {
        let frames = vec![[0.0f32; 2]; mix.len() - 1];
        segue_decode::wav::write_wav(f, 48_000, &frames, segue_decode::wav::WavFormat::Float32)
            .unwrap();
    }
    let stems = |files: [PathBuf; 4]| segue_library::StemFiles {
        files,
        separator: "dsp".into(),
        sample_rate: 48_000,
        frames: mix.len() as u64,
        separated_at: 0,
    };
    lib.set_stems(ida, &stems(files.clone())).unwrap();
    lib.set_stems(idb, &stems(short)).unwrap();
    assert_eq!(lib.stems_at(&a).unwrap().unwrap().files, files);
    assert!(lib.get(ida).unwrap().unwrap().stems.is_some());
    drop(lib);

    let sink = EngineSink::start();
    let service = DeckService::new(
        DeckServiceConfig {
            decks: 2,
            rate: 48_000,
            worker_threads: 1,
            library: Some(Library::open(&s.db()).unwrap()),
            auto_stems: false,
        },
        sink.clone(),
    );
    assert!(service.load(0, a.clone(), None));
    assert!(service.load(1, b.clone(), None));
    wait_for("both decks ready", Duration::from_secs(60), || {
        service.decks().iter().all(|d| d.analysis.is_some())
    });
    wait_for(
        "deck 1 on stems in the engine",
        Duration::from_secs(10),
        || sink.status().decks[0].has_stems,
    );
    assert!(service.deck(0).has_stems);
    assert!(
        !service.deck(1).has_stems,
        "stems of the wrong length are ignored"
    );
    assert!(!sink.status().decks[1].has_stems);
    assert_eq!(service.counters().separations.load(Ordering::Relaxed), 0);
    service.shutdown();
}
