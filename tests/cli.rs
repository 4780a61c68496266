//! End-to-end tests of the `segue` binary.

use std::path::PathBuf;
use std::process::Command;

fn segue() -> Command {
    Command::new(env!("CARGO_BIN_EXE_segue"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("segue-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn version_and_help_answer() {
    let v = segue().arg("--version").output().unwrap();
    assert!(v.status.success());
    assert!(String::from_utf8_lossy(&v.stdout).contains(env!("CARGO_PKG_VERSION")));
    let h = segue().arg("--help").output().unwrap();
    assert!(h.status.success());
    assert!(String::from_utf8_lossy(&h.stdout).contains("demo"));
}

#[test]
fn demo_renders_a_beat_matched_mix_to_wav() {
    let dir = scratch("demo");
    let out = dir.join("out/mix.wav");
    let run = segue()
        .args(["demo", "--tracks"])
        .arg(dir.join("tracks"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("synced to"), "{stdout}");
    // The mix is real audio: 48 kHz stereo, long enough for A + B, never clipping, and
    // audible throughout (no dropout longer than 100 ms before the tail).
    let mix = segue_decode::decode_file(&out, 48_000).unwrap();
    assert!(mix.duration_secs() > 90.0, "{} s", mix.duration_secs());
    let peak = mix
        .mix
        .iter()
        .flat_map(|f| f.iter())
        .fold(0.0f32, |m, s| m.max(s.abs()));
    assert!(peak > 0.3 && peak <= 1.0, "peak {peak}");
    let window = 4800;
    let body = &mix.mix[48_000 * 2..mix.mix.len() - 48_000 * 5];
    for (i, w) in body.chunks(window).enumerate() {
        let e = w.iter().map(|f| f[0].abs() + f[1].abs()).sum::<f32>() / w.len() as f32;
        assert!(e > 1e-3, "silent 100 ms window {i} in the mix");
    }
    // The demo tracks and their ground truth were written beside it.
    assert!(dir.join("tracks/house-122.json").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn decode_reports_a_bad_file_by_name_and_still_decodes_the_others() {
    let dir = scratch("decode");
    let bad = dir.join("broken.mp3");
    std::fs::write(&bad, b"this is not audio at all").unwrap();
    let good = dir.join("tone.wav");
    let tone: Vec<[f32; 2]> = (0..44_100)
        .map(|i| [(i as f32 * 0.05).sin() * 0.3; 2])
        .collect();
    segue_decode::wav::write_wav(&good, 44_100, &tone, segue_decode::wav::WavFormat::Pcm16)
        .unwrap();
    let run = segue().arg("decode").arg(&bad).arg(&good).output().unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("broken.mp3"), "{stderr}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("tone.wav") && stdout.contains("48000 Hz"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two short synthesised tracks (with ground truth) and a corrupt file in a folder.
fn small_collection(dir: &std::path::Path) -> Vec<segue_demo::GroundTruth> {
    use segue_analysis::music::{Key, Mode};
    use segue_demo::{synthesize, write_track, DemoSpec, SectionLabel::*, Style};
    let specs = [
        DemoSpec::new(
            "house-a",
            124.0,
            Key::new(9, Mode::Minor),
            Style::FourOnFloor,
        )
        .sections(&[(Intro, 4), (Drop, 8), (Break, 4), (Drop, 8), (Outro, 4)]),
        DemoSpec::new("dnb-b", 174.0, Key::new(0, Mode::Major), Style::Breakbeat).sections(&[
            (Intro, 8),
            (Drop, 16),
            (Outro, 8),
        ]),
    ];
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(
        dir.join("sub/corrupt.mp3"),
        b"ID3 but not really an mp3 at all",
    )
    .unwrap();
    specs
        .iter()
        .map(|s| {
            let t = synthesize(s, 44_100);
            // Mix only (stems would be scanned as tracks too).
            let mut mix_only = t.clone();
            mix_only.audio.stems = None;
            write_track(dir, &mix_only).unwrap();
            std::fs::remove_file(dir.join(format!("{}.json", s.name))).unwrap();
            t.truth
        })
        .collect()
}

#[test]
fn analyze_prints_json_with_the_documented_keys_and_draws_a_picture() {
    let dir = scratch("analyze");
    let truths = small_collection(&dir);
    let bad = dir.join("sub/corrupt.mp3");
    let png = dir.join("house-a.png");
    let run = segue()
        .arg("analyze")
        .arg(dir.join("house-a.wav"))
        .arg(&bad)
        .arg("--json")
        .arg("--plot")
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        !run.status.success(),
        "a bad file makes the exit status non-zero"
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("corrupt.mp3"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let a = &v.as_array().expect("an array for several files")[0];
    for key in [
        "path",
        "duration",
        "bpm",
        "beats",
        "downbeats",
        "key",
        "camelot",
        "lufs",
        "true_peak_db",
        "energy",
        "sections",
        "cues",
        "dna_version",
        "seconds",
    ] {
        assert!(a.get(key).is_some(), "missing key {key}");
    }
    let bpm = a["bpm"].as_f64().unwrap();
    assert!((bpm - truths[0].bpm).abs() < 0.5, "bpm {bpm}");
    assert_eq!(a["key"], truths[0].key.as_str());
    assert_eq!(a["camelot"], truths[0].camelot.as_str());
    assert!(!a["sections"].as_array().unwrap().is_empty());
    assert!(!a["cues"].as_array().unwrap().is_empty());
    // The picture of the first file (numbered because two files were given).
    let pic = std::fs::read(dir.join("house-a-1.png")).unwrap();
    assert_eq!(&pic[..8], b"\x89PNG\r\n\x1a\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn analyze_bpm_range_moves_the_tempo_octave_and_rejects_a_bad_range() {
    let dir = scratch("bpm-range");
    let truths = small_collection(&dir);
    let json = |range: Option<&str>| {
        let mut cmd = segue();
        cmd.arg("analyze").arg(dir.join("dnb-b.wav")).arg("--json");
        if let Some(r) = range {
            cmd.args(["--bpm-range", r]);
        }
        let run = cmd.output().unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&run.stdout).unwrap()
    };
    let plain = json(None);
    let folded = json(Some("70-120"));
    let (b0, b1) = (
        plain["bpm"].as_f64().unwrap(),
        folded["bpm"].as_f64().unwrap(),
    );
    assert!((b0 - truths[1].bpm).abs() < 0.5, "bpm {b0}");
    assert!((b1 - truths[1].bpm / 2.0).abs() < 0.25, "folded bpm {b1}");
    let n0 = plain["beats"].as_array().unwrap().len();
    let n1 = folded["beats"].as_array().unwrap().len();
    assert!(n1.abs_diff(n0 / 2) <= 1, "{n0} beats, {n1} at half tempo");
    assert_eq!(plain["downbeats"], folded["downbeats"]);
    assert!(folded.get("half_time").is_some() && folded.get("beats_per_bar").is_some());
    for bad in ["140-70", "fast", "10-500"] {
        let run = segue()
            .arg("analyze")
            .arg(dir.join("dnb-b.wav"))
            .args(["--bpm-range", bad])
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "--bpm-range {bad}");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains("--bpm-range"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn library_add_then_list_search_and_show() {
    let dir = scratch("library");
    let music = dir.join("music");
    let truths = small_collection(&music);
    let db = dir.join("lib.sqlite");
    let add = segue()
        .args(["library", "add", "--quiet", "--db"])
        .arg(&db)
        .arg(&music)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&add.stdout);
    assert!(!add.status.success(), "the corrupt file is reported: {out}");
    assert!(out.contains("2 added") && out.contains("1 failed"), "{out}");
    // Rerun: nothing new to analyse.
    let again = segue()
        .args(["library", "add", "--quiet", "--db"])
        .arg(&db)
        .arg(&music)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 added, 2 already analysed"));

    let list = segue()
        .args(["library", "list", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(list.status.success());
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);

    let search = segue()
        .args(["library", "search", "--bpm", "122-126", "--json", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&search.stdout).unwrap();
    let found = v.as_array().unwrap();
    assert_eq!(found.len(), 1, "{v}");
    assert_eq!(found[0]["title"], "house-a");
    // Key search includes compatible keys: 8A (A minor) finds the A minor track; 8B (C major)
    // is compatible with 8A, so it finds both.
    let by_key = |k: &str| -> usize {
        let r = segue()
            .args(["library", "search", "--key", k, "--json", "--db"])
            .arg(&db)
            .output()
            .unwrap();
        serde_json::from_slice::<serde_json::Value>(&r.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(truths[0].camelot, "8A");
    assert_eq!(by_key("3A"), 0);
    assert_eq!(by_key("A minor"), 2);
    // The compact DNA vector went into the library with the analysis.
    let lib = segue_library::Library::open(&db).unwrap();
    let (version, dna) = lib
        .dna_vector(1)
        .unwrap()
        .expect("a DNA vector for track 1");
    assert_eq!(
        (version, dna.len()),
        (segue_analysis::dna::DNA_VERSION, 128)
    );
    drop(lib);
    let show = segue()
        .args(["library", "show", "1", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&show.stdout).contains("BPM"),
        "{}",
        String::from_utf8_lossy(&show.stdout)
    );
    let bad = segue()
        .args(["library", "search", "--bpm", "fast", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(
        bad.status.code(),
        Some(2),
        "a malformed filter is a usage error"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn separate_writes_stems_the_deck_loader_reads_and_reports_bad_files() {
    let dir = scratch("separate");
    let track = dir.join("tone mix.wav");
    let mix: Vec<[f32; 2]> = (0..22_050)
        .map(|i| {
            let t = i as f32 / 22_050.0;
            let kick = if i % 5512 < 300 { 0.3 } else { 0.0 };
            [(t * 55.0 * std::f32::consts::TAU).sin() * 0.3 + kick; 2]
        })
        .collect();
    segue_decode::wav::write_wav(&track, 22_050, &mix, segue_decode::wav::WavFormat::Float32)
        .unwrap();
    let bad = dir.join("broken.mp3");
    std::fs::write(&bad, b"not audio").unwrap();
    let run = segue()
        .arg("separate")
        .arg(&bad)
        .arg(&track)
        .output()
        .unwrap();
    assert!(!run.status.success(), "a bad file fails the run");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("broken.mp3"), "{stderr}");
    // The good file was still separated, into the names the deck loader looks for.
    let stems: Vec<_> = ["drums", "bass", "other", "vocals"]
        .iter()
        .map(|s| segue_decode::decode_file(&dir.join(format!("tone mix.{s}.wav")), 22_050).unwrap())
        .collect();
    for (i, m) in mix.iter().enumerate() {
        let sum =
            ((stems[0].mix[i][0] + stems[1].mix[i][0]) + stems[2].mix[i][0]) + stems[3].mix[i][0];
        assert_eq!(sum, m[0], "frame {i}");
    }
    let deck = segue_library::decks::decode_for_deck(&track, 22_050).unwrap();
    assert!(
        deck.deck.stems.is_some(),
        "the deck loader picks the stems up"
    );
    // -o DIR, and clear errors for an unknown device and a missing model.
    let out = dir.join("out");
    let run = segue()
        .arg("separate")
        .arg(&track)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(out.join("tone mix/vocals.wav").is_file());
    let run = segue()
        .args(["separate", "--device", "tpu"])
        .arg(&track)
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("auto, cpu or cuda"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A 16-bit WAV of a short demo track (drums, bass, chords, voice) at 44.1 kHz.
fn pcm16_demo_track(path: &std::path::Path, bars: u32) -> Vec<[f32; 2]> {
    use segue_analysis::music::{Key, Mode};
    use segue_demo::{synthesize, DemoSpec, SectionLabel::*, Style};
    let spec = DemoSpec::new("t", 124.0, Key::new(9, Mode::Minor), Style::FourOnFloor)
        .sections(&[(Intro, bars / 2), (Drop, bars - bars / 2)]);
    let mix = synthesize(&spec, 44_100).audio.mix;
    segue_decode::wav::write_wav(path, 44_100, &mix, segue_decode::wav::WavFormat::Pcm16).unwrap();
    segue_decode::decode_file_native(path).unwrap().0.mix
}

/// The four stem files decoded, checked to sum to `mix` exactly (f32, the engine's order).
fn assert_stems_sum_to(files: &[PathBuf], mix: &[[f32; 2]]) {
    let stems: Vec<_> = files
        .iter()
        .map(|f| segue_decode::decode_file_native(f).unwrap().0.mix)
        .collect();
    assert_eq!(stems.len(), 4);
    for (i, m) in mix.iter().enumerate() {
        for c in 0..2 {
            let sum = ((stems[0][i][c] + stems[1][i][c]) + stems[2][i][c]) + stems[3][i][c];
            assert_eq!(sum, m[c], "frame {i} channel {c}");
        }
    }
    // Not everything went to one stem.
    let energy = |s: &[[f32; 2]]| s.iter().map(|f| f[0] * f[0] + f[1] * f[1]).sum::<f32>();
    let total: f32 = energy(mix);
    assert!(stems.iter().all(|s| energy(s) < 0.95 * total));
}

#[test]
fn separate_writes_flac_stems_that_sum_to_the_mix_and_decks_play() {
    let dir = scratch("separate-flac");
    let track = dir.join("loop.wav");
    let mix = pcm16_demo_track(&track, 4);
    let bad = dir.join("empty.flac");
    std::fs::write(&bad, b"").unwrap();
    let run = segue()
        .args(["separate", "--no-library", "--format", "flac"])
        .arg(&bad)
        .arg(&track)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("empty.flac") && !stderr.contains("panicked"),
        "{stderr}"
    );
    let files: Vec<PathBuf> = ["drums", "bass", "other", "vocals"]
        .iter()
        .map(|s| dir.join(format!("loop.{s}.flac")))
        .collect();
    for f in &files {
        let (_, info) = segue_decode::decode_file_native(f).unwrap();
        assert_eq!(info.container, "flac");
    }
    // 24-bit FLAC of a 16-bit source: the stems still sum to the mix exactly.
    assert_stems_sum_to(&files, &mix);
    let deck = segue_library::decks::decode_for_deck(&track, 44_100).unwrap();
    assert!(
        deck.deck.stems.is_some(),
        "the deck loader reads FLAC stems"
    );
    let run = segue()
        .args(["separate", "--format", "ogg"])
        .arg(&track)
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("flac"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn library_add_stems_registers_stems_that_the_deck_loader_plays() {
    let dir = scratch("library-stems");
    let music = dir.join("music");
    std::fs::create_dir_all(&music).unwrap();
    let track = music.join("one.wav");
    let mix = pcm16_demo_track(&track, 16);
    std::fs::write(music.join("bad.mp3"), b"ID3 not an mp3").unwrap();
    let db = dir.join("lib.sqlite");
    let add = |extra: &[&str]| {
        segue()
            .args(["library", "add", "--quiet", "--stems", "--db"])
            .arg(&db)
            .args(extra)
            .arg(&music)
            .output()
            .unwrap()
    };
    let run = add(&[]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(!run.status.success(), "the bad file fails the run");
    assert!(
        stdout.contains("1 added")
            && stdout.contains("stems: 1 separated, 0 already registered, 0 failed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // The library reports them (JSON and text), FLAC files in stems/ beside the library.
    let show = segue()
        .args(["library", "show", "--json", "--db"])
        .arg(&db)
        .arg(&track)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    let files: Vec<PathBuf> = v["stems"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| PathBuf::from(f.as_str().unwrap()))
        .collect();
    assert_eq!(v["stems"]["separator"], "dsp");
    assert_eq!(v["stems"]["frames"], mix.len());
    assert!(files[0].starts_with(dir.join("stems")), "{files:?}");
    assert!(files[3].ends_with("vocals.flac"), "{files:?}");
    assert_stems_sum_to(&files, &mix);
    // The deck loader: nothing beside the track, the library's stems are played.
    let lib = segue_library::Library::open(&db).unwrap();
    let registered = lib.stems_at(&track).unwrap().unwrap();
    assert!(segue_library::decks::decode_for_deck(&track, 44_100)
        .unwrap()
        .deck
        .stems
        .is_none());
    let deck =
        segue_library::decks::decode_for_deck_with(&track, 44_100, Some(&registered)).unwrap();
    assert!(deck.deck.stems.is_some());
    drop(lib);
    // A second scan separates nothing again.
    let run = add(&[]);
    assert!(
        String::from_utf8_lossy(&run.stdout).contains("stems: 0 separated, 1 already registered")
    );
    // `segue separate` registers what it writes for a track of the library.
    let out = dir.join("out");
    let run = segue()
        .args(["separate", "--quiet", "--db"])
        .arg(&db)
        .arg(&track)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success() && stdout.contains("registered in the library"),
        "{stdout}"
    );
    let lib = segue_library::Library::open(&db).unwrap();
    let now = lib.stems_at(&track).unwrap().unwrap();
    assert_eq!(now.files[0], out.join("one/drums.wav"));
    // Not in the library: said, and the stems are still written.
    let other = dir.join("two.wav");
    pcm16_demo_track(&other, 2);
    let run = segue()
        .args(["separate", "--quiet", "--db"])
        .arg(&db)
        .arg(&other)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success() && stdout.contains("not in the library"),
        "{stdout}"
    );
    assert!(dir.join("two.drums.wav").is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn separate_with_an_onnx_model_or_a_clear_error_without_the_runtime() {
    let dir = scratch("separate-onnx");
    let track = dir.join("clip.wav");
    let mix: Vec<[f32; 2]> = (0..30_000)
        .map(|i| {
            [
                ((i % 97) as f32 / 97.0 - 0.5) * 0.4,
                ((i % 61) as f32 / 61.0 - 0.5) * 0.3,
            ]
        })
        .collect();
    segue_decode::wav::write_wav(&track, 48_000, &mix, segue_decode::wav::WavFormat::Float32)
        .unwrap();
    let model =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("separate/tests/fixtures/tiny_sep.onnx");
    // No library where ORT_DYLIB_PATH points: an error naming it, exit 1, no panic.
    let run = segue()
        .arg("separate")
        .arg(&track)
        .arg("--model")
        .arg(&model)
        .env("ORT_DYLIB_PATH", dir.join("libonnxruntime.so.1.99"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("ONNX Runtime") && stderr.contains("ORT_DYLIB_PATH"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let runtime = segue_separate::find_runtime().or_else(|| {
        segue_separate::venv_lib(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/onnxruntime"),
        )
    });
    let Some(runtime) = runtime else {
        assert!(
            std::env::var_os("SEGUE_REQUIRE_ORT").is_none(),
            "SEGUE_REQUIRE_ORT: no libonnxruntime"
        );
        eprintln!(
            "SKIPPED the ONNX half: no libonnxruntime (scripts/setup.sh makes target/onnxruntime/)"
        );
        let _ = std::fs::remove_dir_all(&dir);
        return;
    };
    // With the runtime: stems at the track's rate (48 kHz, resampled to 44.1 and back),
    // summing exactly to the mix; auto says it runs on the CPU, cuda is a clear error.
    let run = segue()
        .arg("separate")
        .arg(&track)
        .args(["--model"])
        .arg(&model)
        .env("ORT_DYLIB_PATH", &runtime)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("running on the CPU"), "{stderr}");
    assert!(String::from_utf8_lossy(&run.stdout).contains("(onnx)"));
    let stems: Vec<_> = ["drums", "bass", "other", "vocals"]
        .iter()
        .map(|s| segue_decode::decode_file(&dir.join(format!("clip.{s}.wav")), 48_000).unwrap())
        .collect();
    for (i, m) in mix.iter().enumerate() {
        for (c, &want) in m.iter().enumerate() {
            let sum = ((stems[0].mix[i][c] + stems[1].mix[i][c]) + stems[2].mix[i][c])
                + stems[3].mix[i][c];
            assert_eq!(sum, want, "frame {i}");
        }
    }
    let run = segue()
        .arg("separate")
        .arg(&track)
        .arg("--model")
        .arg(&model)
        .args(["--device", "cuda"])
        .env("ORT_DYLIB_PATH", &runtime)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    if !run.status.success() {
        assert!(stderr.contains("CUDA"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn library_similar_import_and_recommend() {
    let dir = scratch("similar");
    let music = dir.join("music");
    small_collection(&music);
    let db = dir.join("lib.sqlite");
    let add = segue()
        .args(["library", "add", "--quiet", "--db"])
        .arg(&db)
        .arg(&music)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&add.stdout).contains("2 added"));
    // The similarity index was written beside the library by the scan.
    for ext in ["graph", "data", "map"] {
        assert!(
            dir.join(format!("lib.sqlite.hnsw.{ext}")).is_file(),
            "{ext}"
        );
    }
    let json = |args: &[&str]| -> serde_json::Value {
        let out = segue()
            .args(["library"])
            .args(args)
            .args(["--json", "--db"])
            .arg(&db)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    // Ids by title (the scan's order is the library's business).
    let list = json(&["list"]);
    let id_of = |title: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|e| e["title"] == title)
            .unwrap_or_else(|| panic!("{title} in {list}"))["id"]
            .as_i64()
            .unwrap()
    };
    let (house, dnb) = (id_of("house-a"), id_of("dnb-b"));
    let (house_s, dnb_s) = (house.to_string(), dnb.to_string());
    let v = json(&["similar", &house_s, "-n", "5"]);
    let hits = v.as_array().unwrap();
    assert_eq!(hits.len(), 1, "the other track: {v}");
    assert_eq!(hits[0]["id"], dnb);
    let s = hits[0]["similarity"].as_f64().unwrap();
    assert!((-1.0..1.0).contains(&s), "{v}");
    // A file outside the library is analysed and compared: a copy of house-a finds it.
    let copy = dir.join("copy-of-house.wav");
    std::fs::copy(music.join("house-a.wav"), &copy).unwrap();
    let v = json(&["similar", copy.to_str().unwrap(), "-n", "2"]);
    assert_eq!(v[0]["title"], "house-a", "{v}");
    assert!(v[0]["similarity"].as_f64().unwrap() > 0.999, "{v}");
    // Filters: house-a is 124 BPM, dnb-b 174: a 170-178 range from house-a finds dnb-b,
    // 120-128 finds nothing else.
    let v = json(&["similar", &house_s, "--bpm", "170-178"]);
    assert_eq!(v[0]["id"], dnb, "{v}");
    assert!(json(&["similar", &house_s, "--bpm", "120-128"])
        .as_array()
        .unwrap()
        .is_empty());

    // Play history: a playlist dnb-b → house-a.
    let m3u = dir.join("set.m3u");
    std::fs::write(
        &m3u,
        "#EXTM3U\nmusic/dnb-b.wav\nmusic/house-a.wav\nmusic/gone.wav\n",
    )
    .unwrap();
    let v = json(&["import", m3u.to_str().unwrap()]);
    assert_eq!(v[0]["transitions"], 1, "{v}");
    assert_eq!(v[0]["matched"], 2, "{v}");
    let v = json(&["recommend", &dnb_s, "-n", "3"]);
    assert_eq!(v[0]["id"], house, "{v}");
    assert_eq!(v[0]["played_after"], 1, "{v}");

    let bad = segue()
        .args(["library", "import", "--db"])
        .arg(&db)
        .arg(dir.join("nothing.m3u"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("nothing.m3u"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A 16-bit WAV of `frames` stereo frames from `f(i)`.
fn wav16(path: &std::path::Path, frames: usize, f: impl Fn(usize) -> f32) {
    let mut w = hound::WavWriter::create(
        path,
        hound::WavSpec {
            channels: 2,
            sample_rate: 44_100,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        },
    )
    .unwrap();
    for i in 0..frames {
        let v = (f(i).clamp(-1.0, 1.0) * 32767.0) as i16;
        w.write_sample(v).unwrap();
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
}

fn encode(cmd: &mut Command) {
    let out = cmd.output().expect("run the encoder");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Analyse one file as JSON: (exit success, the object, stdout + stderr).
fn analyse_json(path: &std::path::Path) -> (bool, serde_json::Value, String) {
    let run = segue()
        .arg("analyze")
        .arg(path)
        .arg("--json")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&run.stdout));
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    (run.status.success(), v, text)
}

/// Audio too short, silent, without a beat, or cut short of its header's length gets an
/// honest answer: the reason instead of zeros, `null` in JSON, a failure exit when nothing
/// could be analysed, and a note when the file ends before its header says it does.
#[test]
fn analyze_says_too_short_silent_no_beat_and_truncated() {
    use segue_analysis::music::{Key, Mode};
    use segue_demo::{synthesize, write_track, DemoSpec, SectionLabel::*, Style};
    let dir = scratch("honest");
    let spec = DemoSpec::new("beat", 124.0, Key::new(9, Mode::Minor), Style::FourOnFloor)
        .sections(&[(Intro, 2), (Drop, 4)]);
    let mut t = synthesize(&spec, 44_100);
    t.audio.stems = None;
    let wav = write_track(&dir, &t).unwrap();

    // A 5 KB prefix of an MP3 (LAME writes its length in the Info header): 0.1 s or so.
    let mp3 = dir.join("beat.mp3");
    encode(
        Command::new("lame")
            .args(["--quiet", "-b", "192"])
            .arg(&wav)
            .arg(&mp3),
    );
    let prefix = dir.join("prefix.mp3");
    std::fs::write(&prefix, &std::fs::read(&mp3).unwrap()[..5_000]).unwrap();
    let (ok, v, text) = analyse_json(&prefix);
    assert!(!ok, "nothing analysed must be a failure exit: {text}");
    assert!(v["bpm"].is_null() && v["key"].is_null(), "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(reason.starts_with("too short to analyse (0."), "{reason}");
    let secs = v["duration"].as_f64().unwrap();
    assert!(secs > 0.05 && secs < 0.3, "{secs} s");
    let note = v["truncated"].as_str().unwrap_or_else(|| panic!("{v}"));
    assert!(note.contains("header states"), "{note}");
    // The summary says the same in words.
    let run = segue().arg("analyze").arg(&prefix).output().unwrap();
    assert!(!run.status.success());
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("too short to analyse (0."), "{out}");
    assert!(out.contains("note: the file ends after"), "{out}");
    assert!(!out.contains("BPM"), "{out}");

    // Five seconds of digital silence; five seconds of a steady tone.
    let silent = dir.join("silent.wav");
    wav16(&silent, 5 * 44_100, |_| 0.0);
    let (ok, v, _) = analyse_json(&silent);
    assert!(!ok);
    assert!(v["bpm"].is_null(), "{v}");
    assert!(v["reason"].as_str().unwrap().starts_with("silent"), "{v}");
    let tone = dir.join("tone.wav");
    wav16(&tone, 5 * 44_100, |i| {
        (std::f32::consts::TAU * 220.0 * i as f32 / 44_100.0).sin() * 0.5
    });
    let (ok, v, _) = analyse_json(&tone);
    assert!(!ok);
    assert!(v["bpm"].is_null(), "{v}");
    assert_eq!(v["reason"], "no beat found", "{v}");

    // A FLAC cut at 70 %: analysed (its beat is there), with the truncation noted.
    let flac = dir.join("beat.flac");
    // (flac reads integer PCM only: a 16-bit copy of the float demo WAV.)
    let wav16 = dir.join("beat16.wav");
    segue_decode::wav::write_wav(
        &wav16,
        44_100,
        &t.audio.mix,
        segue_decode::wav::WavFormat::Pcm16,
    )
    .unwrap();
    encode(
        Command::new("flac")
            .args(["-s", "-f", "-o"])
            .arg(&flac)
            .arg(&wav16),
    );
    let bytes = std::fs::read(&flac).unwrap();
    let cut = dir.join("cut.flac");
    std::fs::write(&cut, &bytes[..bytes.len() * 7 / 10]).unwrap();
    let (ok, v, text) = analyse_json(&cut);
    assert!(ok, "{text}");
    assert!((v["bpm"].as_f64().unwrap() - 124.0).abs() < 0.5, "{v}");
    let stated = t.audio.duration_secs();
    let note = v["truncated"].as_str().unwrap();
    assert!(
        note.contains(&format!("before the {stated:.2} s its header states")),
        "{note}"
    );
    // The whole file: no note.
    let (ok, v, _) = analyse_json(&flac);
    assert!(ok && v.get("truncated").is_none(), "{v}");
    let _ = std::fs::remove_dir_all(&dir);
}
