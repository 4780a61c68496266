//! `segue mix` end to end on a folder of user-like files: tracks of tempos and keys that are
//! not the demo set's, two of them MP3s made with Debian's `lame` (no stems), one a WAV with
//! stems beside it, one half-time track too slow to sync, and one corrupt file. The set is
//! planned from Segue's own analysis (the synthesiser's ground truth is deleted), rendered
//! through the engine, and judged on what was rendered.

use std::path::{Path, PathBuf};
use std::process::Command;

use segue_analysis::music::{Key, Mode};
use segue_analysis::SectionLabel::*;
use segue_demo::{synthesize, write_track, DemoSpec, Style};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("segue-mix-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn spec(name: &str, bpm: f64, tonic: u8, mode: Mode, style: Style, seed: u64) -> DemoSpec {
    DemoSpec::new(name, bpm, Key::new(tonic, mode), style)
        .sections(&[(Intro, 8), (Verse, 8), (Drop, 8), (Outro, 8)])
        .seed(seed)
}

/// Write `spec` into `dir` at 44.1 kHz; as MP3 (no stems) when `mp3`. The ground truth is
/// removed so nothing can read it.
fn make(dir: &Path, spec: &DemoSpec, mp3: bool) -> bool {
    let track = synthesize(spec, 44_100);
    let wav = write_track(dir, &track).unwrap();
    std::fs::remove_file(dir.join(format!("{}.json", spec.name))).unwrap();
    if !mp3 {
        return true;
    }
    for stem in ["drums", "bass", "other", "vocals"] {
        std::fs::remove_file(dir.join(format!("{}.{stem}.wav", spec.name))).unwrap();
    }
    let ok = Command::new("lame")
        .args(["--quiet", "-b", "192"])
        .arg(&wav)
        .arg(dir.join(format!("{}.mp3", spec.name)))
        .status()
        .is_ok_and(|s| s.success());
    std::fs::remove_file(&wav).unwrap();
    ok
}

#[test]
fn mix_renders_a_measured_set_from_arbitrary_files_and_is_deterministic() {
    let dir = scratch("set");
    let music = dir.join("music");
    let mut mp3 = true;
    mp3 &= make(
        &music,
        &spec("alpha", 118.0, 9, Mode::Minor, Style::FourOnFloor, 11),
        true,
    );
    mp3 &= make(
        &music,
        &spec("bravo", 121.0, 4, Mode::Minor, Style::FourOnFloor, 12),
        true,
    );
    make(
        &music,
        &spec("charlie", 120.0, 0, Mode::Major, Style::FourOnFloor, 13),
        false,
    );
    make(
        &music,
        &spec("delta", 94.0, 2, Mode::Minor, Style::HalfTime, 14),
        false,
    );
    if !mp3 {
        eprintln!("SKIPPED (partly): `lame` is not installed; the MP3s are missing");
    }
    std::fs::write(
        music.join("broken.mp3"),
        b"ID3\x03\x00\x00\x00\x00\x00\x10not audio at all",
    )
    .unwrap();

    let run = |out: &Path| {
        let o = Command::new(env!("CARGO_BIN_EXE_segue"))
            .arg("mix")
            .arg(&music)
            .arg("--db")
            .arg(dir.join("library.sqlite"))
            .args(["--rate", "44100", "-o"])
            .arg(out)
            .output()
            .unwrap();
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.status.success(), "{text}");
        text
    };
    let first = dir.join("one/set.wav");
    let text = run(&first);
    eprintln!("{text}");
    assert!(
        text.contains("skipped") && text.contains("broken.mp3"),
        "{text}"
    );
    assert!(text.contains("4 tracks (4 analysed now"), "{text}");

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("one/set.json")).unwrap()).unwrap();
    let q = &json["quality"];
    let transitions = q["transitions"].as_array().unwrap();
    assert_eq!(transitions.len(), 3);
    // The slow half-time track cannot be synced to the others: a loop-out or an echo-out
    // (into a slower track), not a failed sync; the plan says why.
    assert!(
        transitions.iter().any(
            |t| (t["technique"] == "loop_out" || t["technique"] == "echo_out")
                && t["synced"] == false
        ),
        "{q}"
    );
    for p in json["plan"]["transitions"].as_array().unwrap() {
        if p["technique"] == "echo_out" {
            assert!(
                p["reason"].as_str().unwrap().starts_with("echo out: "),
                "{p}"
            );
            assert!(p["steps"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["do"] == "fx_setup" && s["effect"] == "echo"));
        }
    }
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    // Beat alignment inside the synced blends.
    assert!(f(&q["beat_offset_median_ms"]) <= 5.0, "{q}");
    assert!(f(&q["beat_offset_worst_ms"]) <= 20.0, "{q}");
    for t in transitions.iter().filter(|t| t["synced"] == true) {
        assert_eq!(t["bars_aligned"], true, "downbeats apart in {t}");
        assert!(f(&t["loudness_step_lu"]) <= 2.0, "loudness in {t}");
    }
    for t in transitions.iter().filter(|t| t["synced"] == false) {
        assert!(f(&t["loudness_step_lu"]) <= 2.0, "loudness in {t}");
    }
    for t in transitions {
        assert!(f(&t["level_match_lu"]) <= 2.0, "gain match in {t}");
    }
    assert!(f(&q["true_peak_db"]) <= -1.0 + 1e-3, "{q}");
    assert!(f(&q["longest_gap_secs"]) <= 1.0, "{q}");
    assert_eq!(f(&q["vocal_overlap_secs"]), 0.0, "{q}");

    // The audio itself: the set is as long as the plan says and audible throughout.
    let audio = segue_decode::decode_file(&first, 44_100).unwrap();
    assert!((audio.duration_secs() - f(&q["duration"])).abs() < 0.1);
    let body = &audio.mix[44_100..audio.mix.len() - 44_100];
    for (i, w) in body.chunks(44_100 / 2).enumerate() {
        let e = w.iter().map(|f| f[0].abs() + f[1].abs()).sum::<f32>() / w.len() as f32;
        assert!(e > 1e-4, "silent half second {i} in the set");
    }
    // Cue sheet, plan and timeline beside it.
    let cue = std::fs::read_to_string(dir.join("one/set.cue")).unwrap();
    assert_eq!(cue.matches("TRACK ").count(), 4, "{cue}");
    assert!(json["plan"]["version"] == 2 && json["plan"]["transitions"][0]["steps"].is_array());
    // The plan reads back through the versioned reader.
    segue_mix::set::SetPlan::from_json(&json["plan"].to_string()).unwrap();
    assert!(std::fs::metadata(dir.join("one/set.png")).unwrap().len() > 10_000);

    // Same inputs → the same bytes (the second run takes the analyses from the library).
    let second = dir.join("two/set.wav");
    let text = run(&second);
    assert!(
        text.contains("0 analysed now, 4 from the library"),
        "{text}"
    );
    assert!(
        std::fs::read(&first).unwrap() == std::fs::read(&second).unwrap(),
        "the two renders differ"
    );
    // `-o set.flac`: the same samples, losslessly compressed.
    let third = dir.join("three/set.flac");
    run(&third);
    let (wav, _) = segue_decode::decode_file_native(&first).unwrap();
    let (flac, info) = segue_decode::decode_file_native(&third).unwrap();
    assert_eq!(info.container, "flac");
    assert!(wav.mix == flac.mix, "the FLAC holds other samples");
    assert!(std::fs::metadata(&third).unwrap().len() < std::fs::metadata(&first).unwrap().len());
    assert!(dir.join("three/set.cue").exists());
    let _ = std::fs::remove_dir_all(&dir); // ~350 MB of tracks and sets
}

/// `segue mashup A B`: A's vocals over B's instrumental. Before A comes in, the output is
/// B without its vocals; after, A's vocals are added; without stems it is a clear error.
#[test]
fn mashup_puts_the_vocals_of_one_track_over_the_instrumental_of_another() {
    let dir = scratch("mashup");
    let music = dir.join("music");
    make(
        &music,
        &spec("vox", 122.0, 9, Mode::Minor, Style::FourOnFloor, 21),
        false,
    );
    make(
        &music,
        &spec("inst", 126.0, 11, Mode::Minor, Style::FourOnFloor, 22),
        false,
    );
    let out = dir.join("mashup.wav");
    let o = Command::new(env!("CARGO_BIN_EXE_segue"))
        .arg("mashup")
        .arg(music.join("vox.wav"))
        .arg(music.join("inst.wav"))
        .args(["--db", "off", "--rate", "44100", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{text}");
    // A minor onto B minor: two semitones up.
    assert!(text.contains("key shift +2"), "{text}");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("mashup.json")).unwrap()).unwrap();
    let entry = plan["entry_beat"].as_f64().unwrap();
    let mix = segue_decode::decode_file(&out, 44_100).unwrap().mix;
    let stem = |s: &str| {
        segue_decode::decode_file(&music.join(format!("inst.{s}.wav")), 44_100)
            .unwrap()
            .mix
    };
    let (drums, bass, other) = (stem("drums"), stem("bass"), stem("other"));
    let beat = 60.0 / 126.0;
    let entry_frame = (entry * beat * 44_100.0) as usize;
    // Before the vocals come in: B's instrumental (drums + bass + other), trimmed.
    let corr = |a: &[[f32; 2]], b: &dyn Fn(usize) -> f32, from: usize, to: usize| {
        let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
        for (i, f) in a.iter().enumerate().take(to).skip(from) {
            let (x, y) = (f[0] as f64, b(i) as f64);
            ab += x * y;
            aa += x * x;
            bb += y * y;
        }
        ab / (aa.sqrt() * bb.sqrt()).max(1e-12)
    };
    let instrumental = |i: usize| drums[i][0] + bass[i][0] + other[i][0];
    let (a0, a1) = (44_100, entry_frame.saturating_sub(4410).min(mix.len()));
    assert!(a1 > a0 + 44_100, "entry at {entry_frame}");
    let c_inst = corr(&mix, &instrumental, a0, a1);
    assert!(
        c_inst > 0.99,
        "before the vocals: {c_inst:.3} with B's instrumental"
    );
    // B's own vocals are out: where B sings, the output does not follow B's vocal stem.
    let vocals = stem("vocals");
    let sung = vocals
        .chunks(44_100)
        .position(|w| w.iter().map(|f| f[0].abs()).sum::<f32>() / w.len() as f32 > 0.01)
        .expect("B sings somewhere");
    let v = |i: usize| vocals[i][0];
    let (s0, s1) = (sung * 44_100, ((sung + 2) * 44_100).min(mix.len()));
    let c_vox = corr(&mix, &v, s0, s1);
    assert!(
        c_vox < 0.3,
        "B's vocals are still in the output ({c_vox:.3})"
    );
    // After: something was added to B's instrumental (A's vocals), in the same tempo.
    let (b0, b1) = (
        entry_frame + 44_100,
        (entry_frame + 8 * 44_100).min(mix.len()),
    );
    let c_after = corr(&mix, &instrumental, b0, b1);
    assert!(
        c_after < 0.98,
        "after the entry the output is not only B's instrumental ({c_after:.3})"
    );

    // No stems beside A: Segue separates it (DSP) and still puts vocals over B's
    // instrumental; with --no-separate that is a clear error instead.
    for s in ["drums", "bass", "other", "vocals"] {
        std::fs::remove_file(music.join(format!("vox.{s}.wav"))).unwrap();
    }
    let run = |extra: &[&str], out: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_segue"))
            .arg("mashup")
            .arg(music.join("vox.wav"))
            .arg(music.join("inst.wav"))
            .args(["--db", "off", "--rate", "44100"])
            .args(extra)
            .arg("-o")
            .arg(out)
            .output()
            .unwrap()
    };
    let sep_out = dir.join("separated.wav");
    let o = run(&[], &sep_out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("vox: no stems beside the file; separating"),
        "{err}"
    );
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("separated.json")).unwrap())
            .unwrap();
    let entry_frame = (plan["entry_beat"].as_f64().unwrap() * beat * 44_100.0) as usize;
    let mix = segue_decode::decode_file(&sep_out, 44_100).unwrap().mix;
    let (b0, b1) = (
        entry_frame + 44_100,
        (entry_frame + 8 * 44_100).min(mix.len()),
    );
    assert!(b1 > b0 + 44_100, "entry at {entry_frame} of {}", mix.len());
    let c_after = corr(&mix, &instrumental, b0, b1);
    assert!(
        c_after < 0.98,
        "separated vocals of A are added after the entry ({c_after:.3})"
    );
    let o = run(&["--no-separate"], &dir.join("x.wav"));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no stems"));
    let _ = std::fs::remove_dir_all(&dir);
}
