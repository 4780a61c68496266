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
    let mix = segue_models::decode::decode_file(&out, 48_000).unwrap();
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
    segue_models::wav::write_wav(&good, 44_100, &tone, segue_models::wav::WavFormat::Pcm16)
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
