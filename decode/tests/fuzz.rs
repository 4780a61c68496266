//! Mutation fuzzing of the decoder on stable Rust: small real files (WAV written here; FLAC,
//! MP3, OGG Vorbis, AAC and ALAC in M4A made by the Debian encoders) are mutated by a seeded
//! proptest runner — bytes overwritten (in the header or anywhere), runs duplicated or
//! removed, the file cut — and decoded. Every case must end within a time limit, without a
//! panic, with audio or a typed error naming the file.
//!
//! 10 000 cases per run (a few seconds in a debug build: the inputs are 0.1 s of audio);
//! `SEGUE_FUZZ_CASES=N` runs N instead, `SEGUE_FUZZ_SEED=S` another seed.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use segue_decode::{decode_file_native, SegueError};

/// Longest one decode may take (debug build, loaded machine) before it counts as a hang.
const HANG: Duration = Duration::from_secs(20);

fn cases() -> u32 {
    std::env::var("SEGUE_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn runner(cases: u32) -> TestRunner {
    let seed = std::env::var("SEGUE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5e9e_f022);
    TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    })
}

/// 0.1 s of a two-tone stereo signal as a 16-bit WAV at 44.1 kHz.
fn write_wav(path: &Path) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..4_410 {
        let t = i as f64 / 44_100.0;
        for hz in [440.0, 1_000.0] {
            let v = (std::f64::consts::TAU * hz * t).sin() * 0.5;
            w.write_sample((v * 32767.0) as i16).unwrap();
        }
    }
    w.finalize().unwrap();
}

fn tool(cmd: &mut Command) -> bool {
    matches!(cmd.output(), Ok(o) if o.status.success())
}

/// The seed files: (extension, bytes). The WAV always; the others when their encoder is
/// installed (under `CI` a missing encoder fails the test).
fn seeds(dir: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let wav = dir.join("seed.wav");
    write_wav(&wav);
    let ffmpeg = |out: &Path, args: &[&str]| {
        let mut c = Command::new("ffmpeg");
        c.args(["-nostdin", "-loglevel", "error", "-y", "-i"])
            .arg(&wav)
            .args(args)
            .arg(out);
        c
    };
    let made: Vec<(&'static str, PathBuf, Command)> = vec![
        ("flac", dir.join("seed.flac"), {
            let mut c = Command::new("flac");
            c.args(["-s", "-f", "-o"])
                .arg(dir.join("seed.flac"))
                .arg(&wav);
            c
        }),
        ("mp3", dir.join("seed.mp3"), {
            let mut c = Command::new("lame");
            c.args(["--quiet", "-b", "128"])
                .arg(&wav)
                .arg(dir.join("seed.mp3"));
            c
        }),
        ("ogg", dir.join("seed.ogg"), {
            let mut c = Command::new("oggenc");
            c.args(["-Q", "-q", "2", "-o"])
                .arg(dir.join("seed.ogg"))
                .arg(&wav);
            c
        }),
        (
            "m4a",
            dir.join("seed-aac.m4a"),
            ffmpeg(&dir.join("seed-aac.m4a"), &["-c:a", "aac", "-b:a", "96k"]),
        ),
        (
            "m4a",
            dir.join("seed-alac.m4a"),
            ffmpeg(&dir.join("seed-alac.m4a"), &["-c:a", "alac"]),
        ),
    ];
    let mut out = vec![("wav", std::fs::read(&wav).unwrap())];
    for (ext, path, mut cmd) in made {
        if tool(&mut cmd) {
            out.push((ext, std::fs::read(&path).unwrap()));
        } else {
            assert!(
                std::env::var_os("CI").is_none(),
                "{cmd:?} failed: install the encoder"
            );
            eprintln!("skipping {}: {cmd:?} failed", path.display());
        }
    }
    out
}

/// One mutation of a seed file.
#[derive(Debug, Clone)]
enum Edit {
    /// Overwrite the byte at this position (modulo the length; in the first 256 bytes when
    /// `header`).
    Set { at: usize, byte: u8, header: bool },
    /// Flip one bit.
    Flip { at: usize, bit: u8 },
    /// Duplicate a run of bytes in place.
    Repeat { at: usize, len: usize },
    /// Remove a run of bytes.
    Remove { at: usize, len: usize },
    /// Keep only this share (of 256) of the file.
    Cut { keep: u8 },
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>(), any::<bool>())
            .prop_map(|(at, byte, header)| Edit::Set { at, byte, header }),
        2 => (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Edit::Flip { at, bit }),
        1 => (any::<usize>(), 1usize..64).prop_map(|(at, len)| Edit::Repeat { at, len }),
        1 => (any::<usize>(), 1usize..256).prop_map(|(at, len)| Edit::Remove { at, len }),
        1 => any::<u8>().prop_map(|keep| Edit::Cut { keep }),
    ]
}

fn apply(bytes: &mut Vec<u8>, e: &Edit) {
    let n = bytes.len();
    if n == 0 {
        return;
    }
    match *e {
        Edit::Set { at, byte, header } => {
            let span = if header { n.min(256) } else { n };
            bytes[at % span] = byte;
        }
        Edit::Flip { at, bit } => bytes[at % n] ^= 1 << bit,
        Edit::Repeat { at, len } => {
            let at = at % n;
            let run: Vec<u8> = bytes[at..(at + len).min(n)].to_vec();
            bytes.splice(at..at, run);
        }
        Edit::Remove { at, len } => {
            let at = at % n;
            bytes.drain(at..(at + len).min(n));
        }
        Edit::Cut { keep } => bytes.truncate(n * keep as usize / 256),
    }
}

/// Decode `path` on its own thread: the result, or `None` if it ran past [`HANG`].
fn decode_bounded(path: PathBuf) -> Option<Result<usize, SegueError>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = decode_file_native(&path).map(|(audio, _)| audio.frames());
        let _ = tx.send(r);
    });
    rx.recv_timeout(HANG).ok()
}

#[test]
fn mutated_audio_files_decode_or_give_a_typed_error() {
    let dir = std::env::temp_dir().join(format!("segue-decode-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let seeds = seeds(&dir);
    let n = seeds.len();
    let strategy = (0..n, proptest::collection::vec(edit(), 1..6));
    let mut runner = runner(cases());
    let outcomes = [Cell::new(0usize), Cell::new(0usize)];
    let result = runner.run(&strategy, |(which, edits)| {
        let (ext, seed) = &seeds[which];
        let mut bytes = seed.clone();
        for e in &edits {
            apply(&mut bytes, e);
        }
        let path = dir.join(format!("case-{which}.{ext}"));
        std::fs::write(&path, &bytes).unwrap();
        match decode_bounded(path.clone()) {
            None => Err(TestCaseError::fail(format!(
                "{ext}: decode hung: {edits:?}"
            ))),
            Some(Ok(frames)) => {
                prop_assert!(frames > 0, "{ext}: Ok with no audio");
                outcomes[0].set(outcomes[0].get() + 1);
                Ok(())
            }
            Some(Err(e)) => {
                let text = e.to_string();
                prop_assert!(
                    text.contains(path.to_str().unwrap()),
                    "{ext}: the error does not name the file: {text}"
                );
                outcomes[1].set(outcomes[1].get() + 1);
                Ok(())
            }
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        panic!("{e}");
    }
    let [decoded, errors] = outcomes.map(Cell::into_inner);
    // Both kinds of outcome occur: the mutations are neither all harmless nor all fatal.
    assert!(
        decoded > 0 && errors > 0,
        "{decoded} decoded, {errors} errors"
    );
    eprintln!(
        "{} cases over {n} formats: {decoded} decoded, {errors} typed errors",
        decoded + errors
    );
}
